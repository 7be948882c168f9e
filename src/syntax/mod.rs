//! Reading `.dc` text: a spanned syntax tree in the user's spelling, and parse errors.
//!
//! `parse_dc` reads a whole file and never gives up: it returns every statement it could read
//! together with every error. `parse_expr` reads one expression (command line). `decode`
//! checks raw bytes (size limit, UTF-8) before either.
//!
//! This module knows spelling and grammar only. What a name means — a call of a built-in, a
//! user function, or a factor of an implicit product — is decided by `lower`, which also
//! turns literals into exact rationals. The only things taken from `expr` are tables
//! (`GREEK`).

pub mod ast;
mod dc;
pub mod document;
pub mod error;
pub mod latex;
pub mod spelling;

pub use dc::{decode, parse_dc, parse_expr};
pub use error::{Found, ParseError, ParseErrorKind};
