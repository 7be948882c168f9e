//! The one integration test binary: a module per area.

mod eval;
mod print;
mod props;
