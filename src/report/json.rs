//! The JSON wire format (stable: autograders depend on it; extend, never rename).
//!
//! `derivcheck check --format json`:
//! ```text
//! {"files": [{"path": "...", "steps": [Step, ...], "errors": [{"line", "column", "message"}]}],
//!  "summary": {"correct": 0, "incorrect": 0, "undecided": 0, "proved": 0, "by_evidence": 0}}
//! ```
//! `Step`: `{"line": 3, "column": 5, "text": "...", "kind": "claim|step", "verdict":
//! "correct|incorrect|undecided", "method": "canonical|numeric|counterexample|limit",
//! "counterexample": {"z": "1/2"} or null, "left": "...", "right": "...", "hint": "..." or null,
//! "evidence": "...", "left_value": "..." or null, "right_value": "..." or null,
//! "assumptions": ["0 < A < 1", ...], "kinks": ["relu is not differentiable where z = 0"],
//! "note": "..." or null}`. `left`/`right` are the two sides in ASCII (for a step: the previous
//! line and this line).
//!
//! `derivcheck claim --format json`: one `Step` plus `"derivative": {"ascii", "unicode",
//! "latex"}`. `derivcheck diff --format json`: `{"input", "wrt", "derivative": {...}}`;
//! `simplify`: `{"input", "result": {...}}`.

use serde::Serialize;

use super::{hint_text, show_float, show_rational, FileReport, Summary};
use crate::check::{Counterexample, StepKind, StepReport, Verdict};
use crate::expr::{Expr, Rational};
use crate::homework::{EquationKind, EquationReport};
use crate::print::{self, Format};
use crate::source::SourceFile;

/// A formula in the three printed forms.
#[derive(Debug, Clone, Serialize)]
pub struct Formula {
    /// ASCII (parses back).
    pub ascii: String,
    /// Unicode.
    pub unicode: String,
    /// LaTeX.
    pub latex: String,
}

impl Formula {
    /// All three forms of `e`.
    pub fn of(e: &Expr) -> Formula {
        Formula {
            ascii: print::ascii(e),
            unicode: print::unicode(e),
            latex: print::latex(e),
        }
    }
}

/// One checked claim or step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The source text checked.
    pub text: String,
    /// "claim" or "step".
    pub kind: String,
    /// "correct", "incorrect" or "undecided".
    pub verdict: &'static str,
    /// "canonical", "numeric", "counterexample" or "limit".
    pub method: &'static str,
    /// Symbol → value (exact rational), for incorrect verdicts.
    pub counterexample: Option<serde_json::Map<String, serde_json::Value>>,
    /// Left side, ASCII.
    pub left: String,
    /// Right side, ASCII.
    pub right: String,
    /// The likely slip.
    pub hint: Option<String>,
    /// The evidence in words.
    pub evidence: String,
    /// Left side's value at the counterexample.
    pub left_value: Option<String>,
    /// Right side's value at the counterexample.
    pub right_value: Option<String>,
    /// Assumptions the verdict relied on (their source text).
    pub assumptions: Vec<String>,
    /// Kinks of piecewise functions involved.
    pub kinks: Vec<String>,
    /// Chain status (first wrong step, compensating error); for a homework document's
    /// definitions and equations not understood, what was defined or why.
    pub note: Option<String>,
    /// Homework documents only: the definitions the verdict used, as `name (line N)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definitions: Option<Vec<String>>,
}

/// An input error.
#[derive(Debug, Clone, Serialize)]
pub struct Error {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The message.
    pub message: String,
}

/// One file.
#[derive(Debug, Clone, Serialize)]
pub struct File {
    /// The path as given.
    pub path: String,
    /// Its checks.
    pub steps: Vec<Step>,
    /// Its input errors.
    pub errors: Vec<Error>,
}

/// Verdict counts.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryJson {
    /// Correct (proved + by evidence).
    pub correct: usize,
    /// Incorrect.
    pub incorrect: usize,
    /// Undecided.
    pub undecided: usize,
    /// Correct by canonical form.
    pub proved: usize,
    /// Correct by numeric evidence.
    pub by_evidence: usize,
    /// Files with input errors.
    pub files_with_errors: usize,
    /// Equations of homework documents that were not understood.
    pub not_understood: usize,
}

/// The whole `check` report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Files in the order checked.
    pub files: Vec<File>,
    /// Totals.
    pub summary: SummaryJson,
}

/// The evidence of a verdict in words.
pub fn evidence_text(v: &Verdict) -> String {
    match v {
        Verdict::Proved(p) if !p.cases().is_empty() => {
            let atoms: Vec<String> = p.cases().iter().map(print::unicode).collect();
            let domain = match (p.within_assumptions(), p.off_kinks()) {
                (true, true) => {
                    " inside the assumed domain, except at the kinks (where the derivative does \
                     not exist)"
                }
                (true, false) => " inside the assumed domain",
                (false, true) => " except at the kinks (where the derivative does not exist)",
                (false, false) => "",
            };
            format!(
                "proved by cases on {} ∈ {{0, ½, 1}}: the difference of the two canonical forms \
                 vanishes in every case that can occur{domain}",
                atoms.join(", ")
            )
        }
        Verdict::Proved(p) => {
            let form = print::to_string(
                p.canonical(),
                Format::Unicode,
                &print::PrintOptions { width: usize::MAX },
            );
            if form.chars().count() <= 100 {
                format!("proved: both sides have the canonical form {form}")
            } else {
                format!(
                    "proved: both sides reduce to the same canonical form (a rational function \
                     over exp/log atoms; {} characters, not shown)",
                    form.chars().count()
                )
            }
        }
        Verdict::ByEvidence(e) => match &e.instances {
            Some(inst) => format!(
                "not proved for every size; checked at {inst}{}",
                if e.points > 0 {
                    format!(
                        ", the others equal at {} random points inside the assumed domain \
                         (relative tolerance {:e})",
                        e.points, e.tolerance
                    )
                } else {
                    String::new()
                }
            ),
            None => format!(
                "not proved symbolically; equal at {} random points inside the assumed domain \
                 (relative tolerance {:e})",
                e.points, e.tolerance
            ),
        },
        Verdict::Incorrect(cx) => {
            let point = cx
                .point
                .iter()
                .map(|(s, v)| {
                    format!(
                        "{} = {}",
                        print::unicode(&Expr::sym(s.clone())),
                        show_rational(v)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let (l, r) = side_values(cx);
            let at = if point.is_empty() {
                String::new()
            } else {
                format!("at {point}: ")
            };
            let is = |v: &str| {
                if v.starts_with('≈') {
                    v.to_string()
                } else {
                    format!("= {v}")
                }
            };
            format!(
                "{at}left side {}, right side {} (difference {})",
                is(&l),
                is(&r),
                show_float(cx.left - cx.right)
            )
        }
        Verdict::Undecided(reason) => format!("undecided: {reason}"),
    }
}

/// The values of both sides at a counterexample: exact where exact evaluation applied and the
/// fraction is short enough to read (`27/16`), otherwise the float (`≈ 4.32001` for a long
/// exact fraction, which is then only shown rounded).
fn side_values(cx: &Counterexample) -> (String, String) {
    const MAX_EXACT_CHARS: usize = 24;
    let show = |exact: Option<&Rational>, float: f64| match exact {
        Some(q) => {
            let text = show_rational(q);
            if text.len() <= MAX_EXACT_CHARS {
                text
            } else {
                format!("≈ {}", show_float(float))
            }
        }
        None => show_float(float),
    };
    let (l, r) = match &cx.exact {
        Some((a, b)) => (show(Some(a), cx.left), show(Some(b), cx.right)),
        None => (show(None, cx.left), show(None, cx.right)),
    };
    if l == r && cx.left != cx.right {
        // Six digits hide a difference far out (a claim off by a factor 1 + 1e-10): all the
        // digits f64 has, in Rust's shortest round-trip form.
        (format!("{}", cx.left), format!("{}", cx.right))
    } else {
        (l, r)
    }
}

/// A step as JSON.
pub fn step(s: &StepReport, src: &SourceFile) -> Step {
    let lc = src.line_col(s.span.start);
    let (counterexample, left_value, right_value) = match &s.outcome.verdict {
        Verdict::Incorrect(cx) => {
            let map = cx
                .point
                .iter()
                .map(|(sym, v)| (sym.to_string(), serde_json::Value::String(show_rational(v))))
                .collect();
            let (l, r) = side_values(cx);
            (Some(map), Some(l), Some(r))
        }
        _ => (None, None, None),
    };
    Step {
        line: lc.line,
        column: lc.column,
        text: src.slice(s.span).trim().to_string(),
        kind: match s.kind {
            StepKind::Claim => "claim".into(),
            StepKind::Step { .. } => "step".into(),
        },
        verdict: s.outcome.verdict.word(),
        method: s.outcome.verdict.method(),
        counterexample,
        left: print::ascii(&s.lhs),
        right: print::ascii(&s.rhs),
        hint: s.outcome.hint.as_ref().map(|h| hint_text(h, Format::Ascii)),
        evidence: evidence_text(&s.outcome.verdict),
        left_value,
        right_value,
        assumptions: s
            .outcome
            .assumptions
            .iter()
            .map(|sp| assumption_text(src, *sp))
            .collect(),
        kinks: s.outcome.kinks.iter().map(kink_text).collect(),
        note: s.chain_note.clone(),
        definitions: None,
    }
}

/// One equation of a homework document as a `Step`: checked ones as `step` gives them, with
/// their kind (`claim`, `step`, `update`) and the definitions used; definitions with verdict
/// `"none"` and method `"definition"`; equations not understood with verdict `"undecided"`
/// and method `"not_understood"`, the reason in `note`.
pub fn equation(e: &EquationReport, src: &SourceFile) -> Step {
    let used: Vec<String> = e
        .used
        .iter()
        .map(|(n, line)| format!("{n} (line {line})"))
        .collect();
    if let Some(check) = &e.check {
        let mut st = step(check, src);
        st.kind = e.kind.name().into();
        st.definitions = Some(used);
        if !e.note.is_empty() {
            st.note = Some(e.note.clone());
        }
        return st;
    }
    let lc = src.line_col(e.span.start);
    let (verdict, method) = match e.kind {
        EquationKind::Definition => ("none", "definition"),
        _ => ("undecided", "not_understood"),
    };
    Step {
        line: lc.line,
        column: lc.column,
        text: src.slice(e.span).trim().to_string(),
        kind: e.kind.name().into(),
        verdict,
        method,
        counterexample: None,
        left: String::new(),
        right: String::new(),
        hint: None,
        evidence: String::new(),
        left_value: None,
        right_value: None,
        assumptions: Vec::new(),
        kinks: Vec::new(),
        note: Some(e.note.clone()),
        definitions: Some(used),
    }
}

/// The text of an `assume` line without the keyword.
pub fn assumption_text(src: &SourceFile, span: crate::source::Span) -> String {
    let t = src.slice(span).trim();
    t.strip_prefix("assume").unwrap_or(t).trim().to_string()
}

/// "relu is not differentiable where z = 0".
pub fn kink_text(k: &crate::diff::Kink) -> String {
    format!(
        "{} is not differentiable where {} = 0",
        k.func,
        print::unicode(&k.at)
    )
}

/// The whole report.
pub fn check_report(files: &[FileReport]) -> CheckReport {
    let mut summary = Summary::default();
    let files = files
        .iter()
        .map(|f| {
            summary.add(f);
            File {
                path: f.source.name().to_string(),
                steps: if f.equations.is_empty() {
                    f.steps.iter().map(|s| step(s, &f.source)).collect()
                } else {
                    f.equations.iter().map(|e| equation(e, &f.source)).collect()
                },
                errors: f
                    .errors
                    .iter()
                    .map(|e| Error {
                        line: e.line,
                        column: e.column,
                        message: e.message.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    CheckReport {
        files,
        summary: SummaryJson {
            correct: summary.correct(),
            incorrect: summary.incorrect,
            undecided: summary.undecided,
            proved: summary.proved,
            by_evidence: summary.by_evidence,
            files_with_errors: summary.files_with_errors,
            not_understood: summary.not_understood,
        },
    }
}
