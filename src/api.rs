//! The convenience API for downstream crates: parse, differentiate and simplify in one call
//! each, with results in their readable form.

use crate::check::{CheckConfig, Checker};
use crate::diff::{DiffError, Kink};
use crate::expr::{Expr, Symbol};
use crate::limits::{LimitReached, Limits};
use crate::load::{parse_expression, InputError};
use crate::program::Program;
use crate::simplify::readable::refold_builtins;

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text did not parse.
    #[error("{}", .0.first().map(|e| e.message()).unwrap_or_else(|| "input error".into()))]
    Input(Vec<InputError>),
    /// Differentiation failed.
    #[error("{0}")]
    Diff(#[from] DiffError),
    /// A limit was reached.
    #[error("{0}")]
    Limit(#[from] LimitReached),
}

/// A derivative in readable form, with the kinks it passed.
#[derive(Debug, Clone)]
pub struct ReadableDerivative {
    /// The derivative, simplified to the form people write.
    pub expr: Expr,
    /// Where piecewise functions are not differentiable.
    pub kinks: Vec<Kink>,
}

/// Parses one expression with the built-in functions in scope.
///
/// Unicode and ASCII spellings read the same, and decimals are exact:
///
/// ```
/// let a = derivcheck::parse("½·(o − y)²").unwrap();
/// let b = derivcheck::parse("0.5*(o - y)^2").unwrap();
/// assert_eq!(a, b);
/// assert!(derivcheck::parse("(1 +").is_err());
/// ```
pub fn parse(text: &str) -> Result<Expr, Error> {
    parse_expression(text, &Program::default(), &Limits::default()).map_err(Error::Input)
}

/// d`e`/d`var` in readable form, with the definitions of `program` in scope.
///
/// ```
/// use derivcheck::{diff, parse, print, expr::Symbol, program::Program};
///
/// let tanh = parse("tanh(z)").unwrap();
/// let d = diff(&tanh, &Symbol::new("z"), &Program::default()).unwrap();
/// assert_eq!(print::unicode(&d.expr), "1 − tanh(z)²");
///
/// // Piecewise functions say where they are not differentiable.
/// let relu = parse("relu(z)").unwrap();
/// let d = diff(&relu, &Symbol::new("z"), &Program::default()).unwrap();
/// assert_eq!(print::ascii(&d.expr), "heaviside(z)");
/// assert_eq!(print::unicode(&d.kinks[0].at), "z");
/// ```
pub fn diff(e: &Expr, var: &Symbol, program: &Program) -> Result<ReadableDerivative, Error> {
    let config = CheckConfig::default();
    let checker = Checker::new(program, &config);
    let d = crate::diff::diff(&refold_builtins(e), var, &checker.diff_ctx())?;
    // In index notation the readable form alone keeps the deltas and sums of the raw
    // derivative; their canonical form eliminates them (Σ_i y_i·δ_{ik} = y_k).
    let expr = checker.readable_derivative(&d.expr)?;
    Ok(ReadableDerivative {
        expr,
        kinks: checker.readable_kinks(&d.kinks),
    })
}

/// The readable form of `e`, with the definitions of `program` in scope.
///
/// ```
/// use derivcheck::{parse, print, simplify, program::Program};
///
/// let e = parse("-y/A + (1 - y)/(1 - A)").unwrap();
/// let s = simplify(&e, &Program::default()).unwrap();
/// assert_eq!(print::unicode(&s), "(A − y)/(A·(1 − A))");
/// assert_eq!(print::latex(&s), r"\frac{A - y}{A\left(1 - A\right)}");
/// ```
pub fn simplify(e: &Expr, program: &Program) -> Result<Expr, Error> {
    let config = CheckConfig::default();
    let checker = Checker::new(program, &config);
    Ok(checker.readable(&refold_builtins(e))?)
}
