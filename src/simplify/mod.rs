//! Simplification: `canon` decides equality, `readable` chooses what to print.
pub mod canon;
pub mod readable;
