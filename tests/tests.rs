//! The one integration test binary: a module per area.

mod check;
mod diff;
mod eval;
mod mutation;
mod print;
mod props;
