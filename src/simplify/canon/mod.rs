//! The canonical form that decides equality; `poly` and `ratfunc` are its arithmetic.
pub mod atoms;
pub mod form;
pub mod poly;
pub mod ratfunc;

pub use form::{CanonError, Canonicalizer};
