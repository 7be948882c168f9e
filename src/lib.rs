//! derivcheck: a symbolic derivation checker for the calculus of neural networks.
//!
//! It reads the math students write when they derive the derivatives of activations and
//! losses (`.dc` files), differentiates and simplifies to the forms people write, and checks
//! every claim and derivation step, with a proof (equal canonical forms), numeric evidence, or
//! a counterexample and a hint.
//!
//! ```
//! use derivcheck::{diff, parse, print, program::Program, expr::Symbol};
//!
//! let e = parse("log(1 + exp(z))").unwrap();
//! let d = diff(&e, &Symbol::new("z"), &Program::default()).unwrap();
//! assert_eq!(print::unicode(&d.expr), "σ(z)");
//!
//! let bce = parse("-y*log(A) - (1 - y)*log(1 - A)").unwrap();
//! let d = diff(&bce, &Symbol::new("A"), &Program::default()).unwrap();
//! assert_eq!(print::unicode(&d.expr), "(A − y)/(A·(1 − A))");
//! ```
//!
//! # Input safety
//!
//! Inputs can be hostile (student files). Every stage is bounded by [`limits::Limits`]:
//! input size, nesting depth, expression nodes, digits of numbers, exponents, polynomial
//! terms, growth during differentiation and simplification, and time per step. Reaching a
//! limit is a value (`LimitReached`, or the verdict "undecided: limit reached"), never a panic;
//! deep expressions are dropped without recursion.
//!
//! # Error reporting
//!
//! Parsing never gives up on a file: [`load::load`] returns the program it could read and
//! every error with its span; [`report`] renders errors like compiler diagnostics and checks
//! as text or JSON. The library does no IO and never ends the process.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod api;
pub mod assume;
pub mod check;
pub mod diff;
pub mod eval;
pub mod expr;
pub mod heap;
pub mod homework;
pub mod index;
pub mod limits;
pub mod load;
pub mod lower;
pub mod matrix;
pub mod print;
pub mod program;
pub mod report;
pub mod simplify;
pub mod source;
pub mod syntax;
pub mod train;

pub use api::{diff, parse, simplify, Error, ReadableDerivative};
