//! The canonical form that decides equality: `form` maps an expression to a rational function
//! over ℚ in atoms (`atoms`); `poly` and `ratfunc` are its arithmetic.
pub mod atoms;
pub mod form;
pub mod poly;
pub mod ratfunc;
mod sums;

pub use form::{CanonError, Canonicalizer};
