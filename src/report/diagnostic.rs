//! Text diagnostics for parse and lowering errors, rendered like rustc's with
//! codespan-reporting: `error[code]: message`, then `file:line:column`, the source line, and
//! a caret under the offending text, with secondary labels and help notes where they help.
//!
//! The error types carry only kind and span; everything about presentation — label texts,
//! hints, colour — lives here, and this is the only module that knows the diagnostics crate.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor, Config};

use crate::lower::{LowerError, LowerErrorKind};
use crate::source::{SourceFile, Span};
use crate::syntax::error::is_invisible;
use crate::syntax::{ParseError, ParseErrorKind};

/// A diagnostic over one source file (file ids are not needed: one file is rendered at a time).
pub type FileDiagnostic = Diagnostic<()>;

/// Errors that can be shown as a diagnostic.
pub trait AsDiagnostic {
    /// The diagnostic: severity, code, message, labels and notes.
    fn to_diagnostic(&self) -> FileDiagnostic;
}

/// How to render.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Emit ANSI colour escapes.
    pub color: bool,
}

fn primary(span: Span, message: impl std::fmt::Display) -> Label<()> {
    Label::primary((), span.range()).with_message(message)
}

fn secondary(span: Span, message: impl std::fmt::Display) -> Label<()> {
    Label::secondary((), span.range()).with_message(message)
}

impl AsDiagnostic for ParseError {
    fn to_diagnostic(&self) -> FileDiagnostic {
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        let here = match &self.kind {
            ParseErrorKind::InputTooLarge { .. } => "",
            ParseErrorKind::InvalidUtf8 { .. } => "not UTF-8",
            ParseErrorKind::InvalidCharacter { .. } => "invalid character",
            ParseErrorKind::UnknownStatement { .. } => {
                notes.push(
                    "help: every statement starts with `let`, `assume`, `claim` or `derive`"
                        .to_owned(),
                );
                "unknown statement"
            }
            ParseErrorKind::ExpectedExpression { .. } => "expected an expression here",
            ParseErrorKind::UnclosedParen {
                open, open_char, ..
            } => {
                labels.push(secondary(
                    *open,
                    format!("unclosed `{open_char}` opened here"),
                ));
                "expected the closing bracket here"
            }
            ParseErrorKind::UnmatchedClose { .. } => "no matching opening bracket",
            ParseErrorKind::ExpectedEnd { .. } => "expected an operator or end of line here",
            ParseErrorKind::ClaimWithoutEquals { .. } => {
                notes.push("help: a claim states an equality: `claim lhs = rhs`".to_owned());
                "expected `=` here"
            }
            ParseErrorKind::ClaimExtraEquals => {
                notes.push(
                    "help: for a chain `a = b = c`, use `derive a` followed by `= b` and `= c` lines"
                        .to_owned(),
                );
                "second `=`"
            }
            ParseErrorKind::StepWithoutDerive => {
                notes.push(
                    "help: a `= expr` line continues the `derive` statement right before it"
                        .to_owned(),
                );
                "step without a derivation"
            }
            ParseErrorKind::BadLetHead { .. } => {
                notes.push(
                    "help: write `let A = …`, `let f(x, y) = …` or `let f'(x) = …`".to_owned(),
                );
                "unexpected here"
            }
            ParseErrorKind::EmptySubscript { .. } => {
                notes.push("help: subscripts are written `x_1`, `w_ij` or `w_{ij}`".to_owned());
                "expected a subscript here"
            }
            ParseErrorKind::BadAssume { .. } => {
                notes.push(
                    "help: write a comparison like `assume 0 < A < 1` or a membership like `assume y ∈ {0, 1}`"
                        .to_owned(),
                );
                "expected a comparison here"
            }
            ParseErrorKind::ExpectedSet { .. } => "expected a set here",
            ParseErrorKind::NestTooDeep { .. } => "too deep from here",
            ParseErrorKind::TooManyNodes { .. } => "too large from here",
            ParseErrorKind::NotUnderstood { .. } => "not understood",
            ParseErrorKind::Expected { .. } => "unexpected here",
        };
        if !(self.span == Span::default()
            && matches!(self.kind, ParseErrorKind::InputTooLarge { .. }))
        {
            labels.insert(0, primary(self.span, here));
        }
        Diagnostic::error()
            .with_code(self.kind.code())
            .with_message(self.kind.to_string())
            .with_labels(labels)
            .with_notes(notes)
    }
}

impl AsDiagnostic for LowerError {
    fn to_diagnostic(&self) -> FileDiagnostic {
        let mut notes = Vec::new();
        let here = match &self.kind {
            LowerErrorKind::NotAFunction { name, .. } => {
                notes.push(format!(
                    "help: define it first, e.g. `let {name}(x, y) = …`; with one argument `{name}(…)` is a product"
                ));
                "not a function"
            }
            LowerErrorKind::PrimeOfNonFunction { .. } => "not a function",
            LowerErrorKind::WrongArity { .. } => "wrong number of arguments",
            LowerErrorKind::ReservedName { .. } => {
                notes.push(
                    "note: `e`, `pi`/`π`, `d` and `in` have a fixed meaning and cannot be defined"
                        .to_owned(),
                );
                "reserved name"
            }
            LowerErrorKind::DuplicateParameter { .. } => "repeated parameter",
            LowerErrorKind::ExpectedSymbol { .. } => "expected a symbol here",
            LowerErrorKind::NumberTooLarge { .. } => "number too large",
            LowerErrorKind::TooManyNodes { .. } => "expression too large",
            LowerErrorKind::SubscriptedFunction { .. } => "subscripted function name",
            LowerErrorKind::HigherDerivativeDecl { .. } => "more than one prime",
            LowerErrorKind::ConflictingDefinition { .. } => "defined both ways",
            LowerErrorKind::Shape { .. } => "shapes do not fit",
            LowerErrorKind::Dependence { .. } => "not a stated dependence",
        };
        Diagnostic::error()
            .with_code(self.kind.code())
            .with_message(self.kind.to_string())
            .with_labels(vec![primary(self.span, here)])
            .with_notes(notes)
    }
}

/// Renders `errors` against `src`, one diagnostic after another.
pub fn render<E: AsDiagnostic>(errors: &[E], src: &SourceFile, options: &RenderOptions) -> String {
    let diagnostics: Vec<FileDiagnostic> = errors.iter().map(AsDiagnostic::to_diagnostic).collect();
    render_diagnostics(&diagnostics, src, options)
}

/// Renders ready-made diagnostics against `src`. Labels whose span does not fit the text
/// (out of range, or not on character boundaries) are moved to the nearest valid position
/// rather than failing.
pub fn render_diagnostics(
    diagnostics: &[FileDiagnostic],
    src: &SourceFile,
    options: &RenderOptions,
) -> String {
    render_separately(diagnostics, src, options).concat()
}

/// Renders `errors` against `src`, each to its own string (in order). The source is prepared
/// once for all of them, so a file with thousands of errors renders in linear time.
pub fn render_each<E: AsDiagnostic>(
    errors: &[E],
    src: &SourceFile,
    options: &RenderOptions,
) -> Vec<String> {
    let diagnostics: Vec<FileDiagnostic> = errors.iter().map(AsDiagnostic::to_diagnostic).collect();
    render_separately(&diagnostics, src, options)
}

fn render_separately(
    diagnostics: &[FileDiagnostic],
    src: &SourceFile,
    options: &RenderOptions,
) -> Vec<String> {
    let shown = printable(src.text());
    let file = SimpleFile::new(src.name(), shown.as_str());
    let config = Config::default();
    let mut out = Vec::with_capacity(diagnostics.len());
    for diagnostic in diagnostics {
        let diagnostic = clamp_labels(diagnostic.clone(), &shown);
        let res = if options.color {
            let mut writer = termcolor::Ansi::new(Vec::new());
            term::emit_to_write_style(&mut writer, &config, &file, &diagnostic)
                .map(|()| String::from_utf8_lossy(&writer.into_inner()).into_owned())
        } else {
            term::emit_into_string(&config, &file, &diagnostic)
        };
        match res {
            Ok(text) => out.push(text),
            // The file cannot fail to be found (it is the only one); keep the message anyway.
            Err(e) => out.push(format!(
                "error: {}\n  (could not show the source: {e})\n",
                diagnostic.message
            )),
        }
    }
    out
}

/// The text with control and invisible formatting characters replaced, so that a hostile
/// file cannot send escape sequences to the terminal or reorder the displayed line. The
/// replacement has the same length in bytes (`?` for one-byte controls, `�` for three-byte
/// formatting characters, `?` repeated otherwise), so spans stay valid. Tabs and line ends
/// are kept.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\t' | '\n' | '\r') || !is_invisible(c) {
            out.push(c);
        } else if c.len_utf8() == 3 {
            out.push('\u{fffd}');
        } else {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        }
    }
    out
}

fn clamp_labels(mut diagnostic: FileDiagnostic, text: &str) -> FileDiagnostic {
    let fix = |mut at: usize| {
        at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    for label in &mut diagnostic.labels {
        let start = fix(label.range.start);
        let end = fix(label.range.end).max(start);
        label.range = start..end;
    }
    diagnostic
}

impl AsDiagnostic for crate::load::InputError {
    fn to_diagnostic(&self) -> FileDiagnostic {
        match self {
            crate::load::InputError::Parse(e) => e.to_diagnostic(),
            crate::load::InputError::Lower(e) => e.to_diagnostic(),
        }
    }
}

/// Renders one input error against its source, with or without colour.
pub fn render_input_error(src: &SourceFile, e: &crate::load::InputError, color: bool) -> String {
    render(std::slice::from_ref(e), src, &RenderOptions { color })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_overrides_are_not_shown_raw() {
        let text = "a\u{1b}[31m\u{202e}b\n";
        let shown = printable(text);
        assert_eq!(shown, "a?[31m\u{fffd}b\n");
        assert_eq!(shown.len(), text.len());
    }

    #[test]
    fn each_error_renders_as_it_does_alone() {
        let src = SourceFile::new("f.dc", "claim (x = 1\nclaim = \nclaim y)\n");
        let (_, errors) = crate::syntax::parse_dc(&src, &crate::limits::Limits::default());
        assert_eq!(errors.len(), 3);
        let options = RenderOptions { color: false };
        let each = render_each(&errors, &src, &options);
        let alone: Vec<String> = errors
            .iter()
            .map(|e| render(std::slice::from_ref(e), &src, &options))
            .collect();
        assert_eq!(each, alone);
        assert_eq!(each.concat(), render(&errors, &src, &options));
    }

    #[test]
    fn labels_off_char_boundaries_are_clamped() {
        let d = Diagnostic::error().with_labels(vec![Label::primary((), 1..50)]);
        let fixed = clamp_labels(d, "σx");
        assert_eq!(fixed.labels[0].range, 0..3);
    }
}
