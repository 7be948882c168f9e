//! The text report: one diagnostic-like block per claim or step, then a summary line.
//!
//! ```text
//! derivations/sigmoid.dc:4:7: ✓ correct: claim d/dz σ(z) = σ(z)·(1 − σ(z))
//!   proved: both sides have the canonical form …
//! ```

use std::fmt::Write as _;

use super::json::{assumption_text, evidence_text, kink_text};
use super::{hint_text, FileReport, Summary};
use crate::check::{StepKind, StepReport, Verdict};
use crate::homework::{EquationKind, EquationReport};
use crate::print::{self, Format};

/// Colours (ANSI) or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Emit ANSI colour codes.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Renders one file's report.
pub fn file(f: &FileReport, style: Style) -> String {
    let mut out = String::new();
    for e in &f.errors {
        out.push_str(&e.rendered);
        if !e.rendered.ends_with('\n') {
            out.push('\n');
        }
    }
    if !f.equations.is_empty() {
        for e in &f.equations {
            equation(&mut out, f, e, style);
        }
        return out;
    }
    for s in &f.steps {
        let what = match &s.kind {
            StepKind::Claim => format!(
                "claim {} = {}",
                print::unicode(&s.lhs),
                print::unicode(&s.rhs)
            ),
            StepKind::Step { index, start } => {
                let start_line = f.source.line_col(start.start).line;
                format!(
                    "step {index} of the derivation at line {start_line}: = {}",
                    print::unicode(&s.rhs)
                )
            }
        };
        checked(&mut out, f, s, &what, style);
    }
    out
}

/// One equation of a homework document.
fn equation(out: &mut String, f: &FileReport, e: &EquationReport, style: Style) {
    let lc = f.source.line_col(e.span.start);
    let at = format!("{}:{}:{}", f.source.name(), lc.line, lc.column);
    match (&e.check, e.kind) {
        (Some(s), kind) => {
            let what = format!(
                "{} {} = {}",
                kind.name(),
                print::unicode(&s.lhs),
                print::unicode(&s.rhs)
            );
            checked(out, f, s, &what, style);
            if !e.used.is_empty() {
                let used: Vec<String> = e
                    .used
                    .iter()
                    .map(|(n, line)| format!("{n} (line {line})"))
                    .collect();
                let _ = writeln!(out, "  using the definitions of {}", used.join(", "));
            }
            if !e.note.is_empty() {
                let _ = writeln!(out, "  note: {}", e.note);
            }
        }
        (None, EquationKind::Definition) => {
            let _ = writeln!(
                out,
                "{at}: {} definition: {}",
                style.paint("34", "≔"),
                e.note
            );
        }
        (None, _) => {
            let text: String = f
                .source
                .slice(e.span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                out,
                "{at}: {} not understood: {}",
                style.paint("33", "–"),
                e.note
            );
            let _ = writeln!(out, "  {}", text.chars().take(120).collect::<String>());
        }
    }
}

/// The block of one checked equality: verdict line, evidence, assumptions, kinks, hint, chain.
fn checked(out: &mut String, f: &FileReport, s: &StepReport, what: &str, style: Style) {
    let lc = f.source.line_col(s.span.start);
    let (mark, word) = match &s.outcome.verdict {
        Verdict::Proved(_) | Verdict::ByEvidence(_) => {
            (style.paint("32", "✓"), style.paint("32", "correct"))
        }
        Verdict::Incorrect(_) => (style.paint("31;1", "✗"), style.paint("31;1", "incorrect")),
        Verdict::Undecided(_) => (style.paint("33", "?"), style.paint("33", "undecided")),
    };
    let _ = writeln!(
        out,
        "{}:{}:{}: {mark} {word}: {what}",
        f.source.name(),
        lc.line,
        lc.column
    );
    let _ = writeln!(out, "  {}", evidence_text(&s.outcome.verdict));
    if !s.outcome.assumptions.is_empty() {
        let a: Vec<String> = s
            .outcome
            .assumptions
            .iter()
            .map(|sp| assumption_text(&f.source, *sp))
            .collect();
        let _ = writeln!(out, "  assuming {}", a.join(", "));
    }
    for k in &s.outcome.kinks {
        let _ = writeln!(out, "  note: {}", kink_text(k));
    }
    if let Some(h) = &s.outcome.hint {
        let _ = writeln!(
            out,
            "  {}: {}",
            style.paint("36", "hint"),
            hint_text(h, Format::Unicode)
        );
    }
    if let Some(n) = &s.chain_note {
        let _ = writeln!(out, "  note: {n}");
    }
}

/// The summary line.
pub fn summary(s: &Summary, n_files: usize) -> String {
    let files = if n_files == 1 { "file" } else { "files" };
    let mut line = format!(
        "summary: {n_files} {files}, {} correct ({} proved, {} by numeric evidence), {} incorrect, {} undecided",
        s.correct(),
        s.proved,
        s.by_evidence,
        s.incorrect,
        s.undecided
    );
    if s.not_understood > 0 {
        let _ = write!(line, ", {} not understood", s.not_understood);
    }
    if s.files_with_errors > 0 {
        let _ = write!(line, ", {} with input errors", s.files_with_errors);
    }
    line
}
