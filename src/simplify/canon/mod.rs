//! The canonical form that decides equality; `poly` and `ratfunc` are its arithmetic.
pub mod poly;
pub mod ratfunc;
