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
pub fn parse(text: &str) -> Result<Expr, Error> {
    parse_expression(text, &Program::default(), &Limits::default()).map_err(Error::Input)
}

/// d`e`/d`var` in readable form, with the definitions of `program` in scope.
pub fn diff(e: &Expr, var: &Symbol, program: &Program) -> Result<ReadableDerivative, Error> {
    let config = CheckConfig::default();
    let checker = Checker::new(program, &config);
    let d = crate::diff::diff(&refold_builtins(e), var, &checker.diff_ctx())?;
    let expr = checker.readable(&d.expr)?;
    Ok(ReadableDerivative {
        expr,
        kinks: checker.readable_kinks(&d.kinks),
    })
}

/// The readable form of `e`, with the definitions of `program` in scope.
pub fn simplify(e: &Expr, program: &Program) -> Result<Expr, Error> {
    let config = CheckConfig::default();
    let checker = Checker::new(program, &config);
    Ok(checker.readable(&refold_builtins(e))?)
}
