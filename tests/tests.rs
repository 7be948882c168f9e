//! The one integration test binary: a module per area.

mod check;
mod cli;
mod diff;
mod eval;
mod homework;
mod hostile;
mod index;
mod latex;
mod matrix;
mod mutation;
mod parse;
mod print;
mod props;
mod train;
