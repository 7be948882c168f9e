//! Reports for people and programs: text diagnostics for parse and lowering errors
//! (`diagnostic`), and later verdict reports and JSON wire types.
//!
//! Only `report` and `cli` know the diagnostics crate; the error types it renders carry just a
//! kind and a span.
pub mod diagnostic;
