//! derivcheck: a symbolic derivation checker for the calculus of neural networks.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod assume;
pub mod check;
pub mod diff;
pub mod eval;
pub mod expr;
pub mod limits;
pub mod lower;
pub mod print;
pub mod program;
pub mod report;
pub mod simplify;
pub mod source;
pub mod syntax;
