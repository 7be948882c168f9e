//! Text → `Program`: parsing and lowering together, with every input error collected.
//!
//! This is the entry point for front ends: the CLI, tests and downstream crates call `load`
//! for a file and `parse_expression` for one expression. Errors are values with spans; the
//! `report` module renders them.

use crate::expr::Expr;
use crate::limits::Limits;
use crate::lower::{self, LowerError};
use crate::program::Program;
use crate::source::{SourceFile, Span};
use crate::syntax::{self, ParseError};

/// One input error, from the parser or from lowering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The text does not parse.
    Parse(ParseError),
    /// The text parses but does not make sense (not a function, wrong arity, ...).
    Lower(LowerError),
}

impl InputError {
    /// Stable code of the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Parse(e) => e.kind.code(),
            InputError::Lower(e) => e.kind.code(),
        }
    }

    /// Where.
    pub fn span(&self) -> Span {
        match self {
            InputError::Parse(e) => e.span,
            InputError::Lower(e) => e.span,
        }
    }

    /// What (lower-case, says what was expected and what was found).
    pub fn message(&self) -> String {
        match self {
            InputError::Parse(e) => e.to_string(),
            InputError::Lower(e) => e.to_string(),
        }
    }
}

/// A loaded file: the program that could be read, and every error.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// What was read (statements with errors are left out).
    pub program: Program,
    /// Parse and lowering errors, in source order.
    pub errors: Vec<InputError>,
}

/// Parses and lowers a `.dc` file. Never gives up: returns what it read plus every error.
pub fn load(src: &SourceFile, limits: &Limits) -> Loaded {
    let (ast, parse_errors) = syntax::parse_dc(src, limits);
    let (program, lower_errors) = lower::lower(&ast, limits);
    let mut errors: Vec<InputError> = parse_errors
        .into_iter()
        .map(InputError::Parse)
        .chain(lower_errors.into_iter().map(InputError::Lower))
        .collect();
    errors.sort_by_key(|e| (e.span().start, e.span().end));
    Loaded { program, errors }
}

/// Decodes bytes (UTF-8, size limit) and loads them.
pub fn load_bytes(name: &str, bytes: &[u8], limits: &Limits) -> (SourceFile, Loaded) {
    match syntax::decode(bytes, limits) {
        Ok(text) => {
            let src = SourceFile::new(name, text);
            let loaded = load(&src, limits);
            (src, loaded)
        }
        Err(mut e) => {
            // Keep the valid prefix so the error can point at its line and column.
            let prefix_len = e.span.start.min(bytes.len());
            let prefix =
                String::from_utf8_lossy(bytes.get(..prefix_len).unwrap_or(&[])).into_owned();
            let src = SourceFile::new(name, prefix);
            e.span = Span::new(src.text().len(), src.text().len());
            (
                src,
                Loaded {
                    program: Program::default(),
                    errors: vec![InputError::Parse(e)],
                },
            )
        }
    }
}

/// Parses and lowers one expression, with the functions and quantities of `scope` in scope.
pub fn parse_expression(
    text: &str,
    scope: &Program,
    limits: &Limits,
) -> Result<Expr, Vec<InputError>> {
    let ast = syntax::parse_expr(text, limits)
        .map_err(|errs| errs.into_iter().map(InputError::Parse).collect::<Vec<_>>())?;
    lower::lower_expr(&ast, scope, limits)
        .map_err(|errs| errs.into_iter().map(InputError::Lower).collect())
}
