//! Reports: text diagnostics in the style of compiler output, and the JSON wire format.
//!
//! Only `report` and `cli` know serde, colour and the diagnostics crate; the library's core
//! types stay free of them. The JSON types in `json` are the stable schema that autograders
//! read: fields are added, never renamed.

pub mod diagnostic;
pub mod grading;
pub mod json;
pub mod text;

use crate::check::{Hint, StepReport, Verdict};
use crate::expr::{Expr, Rational};
use crate::homework::{EquationKind, EquationReport};
use crate::print::{self, Format};
use crate::source::SourceFile;

/// The checks of one file, with what is needed to render them.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file (name and text).
    pub source: SourceFile,
    /// One report per claim and per step.
    pub steps: Vec<StepReport>,
    /// Errors that stopped parts of the file from being read, already rendered as
    /// (line, column, message).
    pub errors: Vec<InputError>,
    /// For a homework document (Markdown, LaTeX): every equation in order, definitions and
    /// equations not understood included; `steps` holds the checked ones among them.
    pub equations: Vec<EquationReport>,
}

impl FileReport {
    /// The report on a homework document: `steps` are the checks among `equations`.
    pub fn document(source: SourceFile, equations: Vec<EquationReport>) -> FileReport {
        let steps = equations.iter().filter_map(|e| e.check.clone()).collect();
        FileReport {
            source,
            steps,
            errors: Vec::new(),
            equations,
        }
    }

    /// Equations of a document that were not understood.
    pub fn not_understood(&self) -> usize {
        self.equations
            .iter()
            .filter(|e| e.kind == EquationKind::NotUnderstood)
            .count()
    }
}

/// An input error with its position.
#[derive(Debug, Clone)]
pub struct InputError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The message.
    pub message: String,
    /// The rendered diagnostic (with source line and caret).
    pub rendered: String,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Correct by canonical form.
    pub proved: usize,
    /// Correct by numeric evidence.
    pub by_evidence: usize,
    /// Incorrect.
    pub incorrect: usize,
    /// Undecided.
    pub undecided: usize,
    /// Files with input errors.
    pub files_with_errors: usize,
    /// Equations of homework documents that were not understood.
    pub not_understood: usize,
}

impl Summary {
    /// Adds one file's verdicts.
    pub fn add(&mut self, f: &FileReport) {
        for s in &f.steps {
            match s.outcome.verdict {
                Verdict::Proved(_) => self.proved += 1,
                Verdict::ByEvidence(_) => self.by_evidence += 1,
                Verdict::Incorrect(_) => self.incorrect += 1,
                Verdict::Undecided(_) => self.undecided += 1,
            }
        }
        if !f.errors.is_empty() {
            self.files_with_errors += 1;
        }
        self.not_understood += f.not_understood();
    }

    /// Correct by either method.
    pub fn correct(&self) -> usize {
        self.proved + self.by_evidence
    }

    /// Everything correct and no input errors.
    pub fn all_correct(&self) -> bool {
        self.incorrect == 0
            && self.undecided == 0
            && self.files_with_errors == 0
            && self.not_understood == 0
    }
}

/// A rational for humans: `1/2`, `-3`, `0.25` is shown as `1/4`.
pub fn show_rational(r: &Rational) -> String {
    print::rational_to_string(r, Format::Ascii)
}

/// A float for humans: up to 6 significant digits, no trailing zeros.
pub fn show_float(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() >= 1e6 || x.abs() < 1e-4 {
        return format!("{x:.5e}");
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The hint as an instructor would write it.
pub fn hint_text(h: &Hint, format: Format) -> String {
    let show = |e: &Expr| print::to_string(e, format, &print::PrintOptions::default());
    match h {
        Hint::Factor(q) => format!(
            "off by a constant factor of {}: the claim is {} times the true value",
            show_rational(q),
            show_rational(q)
        ),
        Hint::SignFlipped => "the sign is flipped".into(),
        Hint::MissingChainFactor { inner, factor } => format!(
            "missing chain-rule factor: multiply by the derivative of the inner function {}, which is {}",
            show(inner),
            show(factor)
        ),
        Hint::WrongVariable { used, wanted } => format!(
            "this is the derivative with respect to {used} instead of {wanted}"
        ),
        Hint::PowerOff { base, k } => {
            let factor = if *k == 1 {
                show(base)
            } else {
                format!("({})^{k}", show(base))
            };
            format!(
                "off by a factor of {factor}: check the exponent (the power rule lowers it by one)"
            )
        }
        Hint::MissingFactor(f) => format!("a factor is missing: {}", show(f)),
        Hint::ExtraFactor(f) => format!("an extra factor: {}", show(f)),
        Hint::DroppedTerm(t) => format!("a term is missing: {}", show(t)),
        Hint::ExtraTerm(t) => format!("an extra term: {}", show(t)),
        Hint::InTerm { term, slip } => {
            format!("in the term {}: {}", show(term), hint_text(slip, format))
        }
        Hint::NeedsSumAssumption(sum) => format!(
            "this holds only if {} = 1 (a one-hot or probability target), which is not assumed: \
             state `assume {} = 1`",
            show(sum),
            print::to_string(sum, Format::Ascii, &print::PrintOptions::default())
        ),
        Hint::FreeIndices {
            only_left,
            only_right,
        } => {
            let side = |v: &[String], which: &str| match v {
                [] => None,
                [one] => Some(format!("index {one} is free on the {which} side only")),
                many => Some(format!("indices {} are free on the {which} side only", many.join(", "))),
            };
            let parts: Vec<String> = [side(only_left, "left"), side(only_right, "right")]
                .into_iter()
                .flatten()
                .collect();
            format!("the free indices do not match: {}", parts.join("; "))
        }
        Hint::AtStepSwitch(steps) => {
            let steps: Vec<String> = steps.iter().map(show).collect();
            format!(
                "the sides agree at every sample point but differ at this point, where {} \
                 switches (a step's value at 0 is 1/2)",
                steps.join(", ")
            )
        }
        Hint::Expected(e) => format!("the correct value is {}", show(e)),
    }
}
