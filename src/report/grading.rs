//! Output for graders: Gradescope's autograder `results.json`, and a CSV table with one row per
//! file (one student's submission).
//!
//! Gradescope: one test per equation (per claim and step for a `.dc` file). A correct one
//! scores 1 of 1; an incorrect one 0 of 1. Undecided, not understood and definitions carry no
//! points (max_score 0): a student does not lose marks for what derivcheck could not decide,
//! and the output says why. The top-level `score` is the sum.

use serde::Serialize;

use super::json::{equation, step, Step};
use super::FileReport;

/// Gradescope's `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Sum of the test scores.
    pub score: f64,
    /// One test per equation.
    pub tests: Vec<Test>,
}

/// One Gradescope test.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    /// `file:line: text`.
    pub name: String,
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: &'static str,
    /// What derivcheck says: verdict, evidence, hint.
    pub output: String,
}

/// The results for all files.
pub fn gradescope(files: &[FileReport]) -> Results {
    let mut tests = Vec::new();
    for f in files {
        let steps: Vec<Step> = if f.equations.is_empty() {
            f.steps.iter().map(|s| step(s, &f.source)).collect()
        } else {
            f.equations.iter().map(|e| equation(e, &f.source)).collect()
        };
        for s in steps {
            let (score, max_score) = match s.verdict {
                "correct" => (1.0, 1.0),
                "incorrect" => (0.0, 1.0),
                _ => (0.0, 0.0),
            };
            let mut output = match s.method {
                "definition" => format!("definition: {}", s.note.clone().unwrap_or_default()),
                "not_understood" => format!(
                    "not understood (not graded): {}",
                    s.note.clone().unwrap_or_default()
                ),
                _ => format!("{}: {}", s.verdict, s.evidence),
            };
            if let Some(h) = &s.hint {
                output.push_str(&format!("\nhint: {h}"));
            }
            if s.verdict == "undecided" && s.method != "not_understood" {
                output.push_str("\n(not graded)");
            }
            tests.push(Test {
                name: format!("{}:{}: {}", f.source.name(), s.line, s.text),
                score,
                max_score,
                status: if s.verdict == "incorrect" {
                    "failed"
                } else {
                    "passed"
                },
                output,
            });
        }
    }
    let score = tests.iter().map(|t| t.score).sum();
    Results { score, tests }
}

/// One CSV row per file: `path,equations,correct,incorrect,undecided,not_understood,decided_percent`.
pub fn csv(files: &[FileReport]) -> String {
    let mut out =
        String::from("path,equations,correct,incorrect,undecided,not_understood,decided_percent\n");
    for f in files {
        let mut one = super::Summary::default();
        one.add(f);
        let checked = one.correct() + one.incorrect + one.undecided;
        let total = checked + one.not_understood;
        let decided = one.correct() + one.incorrect;
        let percent = if total == 0 {
            100.0
        } else {
            100.0 * decided as f64 / total as f64
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{:.1}\n",
            csv_field(f.source.name()),
            total,
            one.correct(),
            one.incorrect,
            one.undecided,
            one.not_understood,
            percent
        ));
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
