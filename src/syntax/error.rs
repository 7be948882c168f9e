//! `ParseError`: what the parser could not read, as a kind and a span.
//!
//! Messages are lower-case, say what was expected and what was found, and have no trailing
//! period. Rendering (source line, caret, colour, hints) is `report::diagnostic`'s job; this
//! module only names the problem.

use std::fmt;

use thiserror::Error;

use crate::source::Span;

/// What the parser found where it expected something else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Found {
    /// A token, as written (shortened if very long).
    Token(String),
    /// The end of the statement's line.
    EndOfLine,
    /// The end of a one-expression input (command line).
    EndOfInput,
    /// Whitespace where a token had to follow directly (`x_ 1`, `d/d z`).
    Space,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Token(t) => write!(f, "`{t}`"),
            Found::EndOfLine => f.write_str("end of line"),
            Found::EndOfInput => f.write_str("end of input"),
            Found::Space => f.write_str("a space"),
        }
    }
}

/// A character as shown in a message: `` `@` (U+0040) ``, or only the code point for control
/// and invisible formatting characters, which must not reach a terminal raw.
struct ShownChar(char);

impl fmt::Display for ShownChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let code = u32::from(c);
        if is_invisible(c) {
            write!(f, "U+{code:04X}")
        } else {
            write!(f, "`{c}` (U+{code:04X})")
        }
    }
}

/// Control characters and the invisible formatting characters (zero-width spaces, bidi
/// overrides) that can make a line display differently from what it contains.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One problem found while reading a `.dc` file or an expression.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Where: the offending text, or an empty span where something is missing.
    pub span: Span,
}

impl ParseError {
    /// An error of `kind` at `span`.
    pub fn new(kind: ParseErrorKind, span: Span) -> Self {
        ParseError { kind, span }
    }
}

/// The kinds of parse error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    /// The input is larger than `Limits::max_input_bytes`.
    #[error("input is too large: expected at most {limit} bytes, found {size}")]
    InputTooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not UTF-8.
    #[error("invalid UTF-8: expected text, found the byte 0x{byte:02x}")]
    InvalidUtf8 {
        /// The first byte that is not part of a valid UTF-8 sequence.
        byte: u8,
    },
    /// A character that the language does not use anywhere.
    #[error(
        "invalid character {shown}: expected an expression, an operator or end of line",
        shown = ShownChar(*ch)
    )]
    InvalidCharacter {
        /// The character.
        ch: char,
    },
    /// A line that does not start with a statement keyword.
    #[error("expected a statement (`let`, `assume`, `claim` or `derive`), found {found}")]
    UnknownStatement {
        /// The first word of the line.
        found: Found,
    },
    /// An operand is missing, e.g. after an operator.
    #[error("expected an expression, found {found}")]
    ExpectedExpression {
        /// What was there instead.
        found: Found,
    },
    /// An opening bracket is never closed.
    #[error("expected `{close}` to close the `{open_char}`, found {found}")]
    UnclosedParen {
        /// Where the bracket was opened.
        open: Span,
        /// The opening bracket.
        open_char: char,
        /// The closing bracket that was expected.
        close: char,
        /// What was there instead.
        found: Found,
    },
    /// A closing bracket without an opening one.
    #[error(
        "expected an operator or end of line, found `{ch}` without a matching opening bracket"
    )]
    UnmatchedClose {
        /// The closing bracket.
        ch: char,
    },
    /// Something follows a complete statement.
    #[error("expected an operator or end of line, found {found}")]
    ExpectedEnd {
        /// What was there instead.
        found: Found,
    },
    /// A claim has no `=`.
    #[error("expected `=` in claim, found {found}")]
    ClaimWithoutEquals {
        /// What was there instead.
        found: Found,
    },
    /// A claim has more than one top-level `=`.
    #[error("expected one `=` in claim, found a second `=`")]
    ClaimExtraEquals,
    /// A `= expr` line that does not follow a `derive`.
    #[error("expected a `derive` line before this `=` step, found none")]
    StepWithoutDerive,
    /// A malformed `let` head.
    #[error("expected {expected}, found {found}")]
    BadLetHead {
        /// What the head needed.
        expected: &'static str,
        /// What was there instead.
        found: Found,
    },
    /// `_` with nothing usable after it.
    #[error("expected a subscript after `_`, found {found}")]
    EmptySubscript {
        /// What was there instead.
        found: Found,
    },
    /// An `assume` that is neither a comparison chain nor a membership.
    #[error("expected a comparison (`<`, `≤`, `>`, `≥`, `=`) or `∈` in assume, found {found}")]
    BadAssume {
        /// What was there instead.
        found: Found,
    },
    /// `∈` not followed by a set.
    #[error("expected a set after `∈` (`{{…}}`, `ℕ`, `ℤ` or `ℝ`), found {found}")]
    ExpectedSet {
        /// What was there instead.
        found: Found,
    },
    /// Brackets and operators nested deeper than `Limits::max_depth`.
    #[error(
        "nesting is too deep: expected at most {limit} levels of brackets and operators, found more"
    )]
    NestTooDeep {
        /// The limit.
        limit: usize,
    },
    /// An expression with more nodes than `Limits::max_nodes`.
    #[error("expression is too large: expected at most {limit} nodes, found more")]
    TooManyNodes {
        /// The limit.
        limit: usize,
    },
    /// A construct that is recognised but not read (yet): `\pm` in a LaTeX rule statement, a
    /// sum without bounds, a transpose. Reported rather than guessed at.
    #[error("`{construct}` is not understood: {reason}")]
    NotUnderstood {
        /// The construct as written (shortened if very long).
        construct: String,
        /// Why it is not read, and what to write instead where there is a way.
        reason: &'static str,
    },
    /// Any other missing piece of syntax.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What was needed, as a phrase (`a variable after `d/d``).
        expected: &'static str,
        /// What was there instead.
        found: Found,
    },
}

impl ParseErrorKind {
    /// Stable kebab-case name of the kind, shown as the diagnostic code and in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::InputTooLarge { .. } => "input-too-large",
            ParseErrorKind::InvalidUtf8 { .. } => "invalid-utf8",
            ParseErrorKind::InvalidCharacter { .. } => "invalid-character",
            ParseErrorKind::UnknownStatement { .. } => "unknown-statement",
            ParseErrorKind::ExpectedExpression { .. } => "expected-expression",
            ParseErrorKind::UnclosedParen { .. } => "unclosed-paren",
            ParseErrorKind::UnmatchedClose { .. } => "unmatched-close",
            ParseErrorKind::ExpectedEnd { .. } => "expected-end",
            ParseErrorKind::ClaimWithoutEquals { .. } => "claim-without-equals",
            ParseErrorKind::ClaimExtraEquals => "claim-extra-equals",
            ParseErrorKind::StepWithoutDerive => "step-without-derive",
            ParseErrorKind::BadLetHead { .. } => "bad-let-head",
            ParseErrorKind::EmptySubscript { .. } => "empty-subscript",
            ParseErrorKind::BadAssume { .. } => "bad-assume",
            ParseErrorKind::ExpectedSet { .. } => "expected-set",
            ParseErrorKind::NestTooDeep { .. } => "nest-too-deep",
            ParseErrorKind::TooManyNodes { .. } => "too-many-nodes",
            ParseErrorKind::NotUnderstood { .. } => "not-understood",
            ParseErrorKind::Expected { .. } => "syntax",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_expected_and_found_without_period() {
        let e = ParseError::new(
            ParseErrorKind::UnclosedParen {
                open: Span::new(0, 1),
                open_char: '(',
                close: ')',
                found: Found::EndOfLine,
            },
            Span::new(5, 5),
        );
        assert_eq!(
            e.to_string(),
            "expected `)` to close the `(`, found end of line"
        );
        let e = ParseErrorKind::InvalidCharacter { ch: '@' };
        assert_eq!(
            e.to_string(),
            "invalid character `@` (U+0040): expected an expression, an operator or end of line"
        );
        let e = ParseErrorKind::InvalidCharacter { ch: '\u{1b}' };
        assert_eq!(
            e.to_string(),
            "invalid character U+001B: expected an expression, an operator or end of line"
        );
        let e = ParseErrorKind::ExpectedSet {
            found: Found::Token("Q".into()),
        };
        assert_eq!(
            e.to_string(),
            "expected a set after `∈` (`{…}`, `ℕ`, `ℤ` or `ℝ`), found `Q`"
        );
    }
}
