//! Homework documents as handed in (Markdown with display math), checked equation by equation.
//!
//! `tests/homework/*.md`: every line that holds equations ends with
//! `<!-- expect: KIND [VERDICT][: hint text]; … -->`, one entry per report on that line in
//! order (`definition`, `claim correct`, `step incorrect: sign`, `update correct`,
//! `not_understood`); a report on a line without expectations fails the test.
//! `../shared/examples/*.md`: the two real homework documents, read from where they are.

use std::path::{Path, PathBuf};

use derivcheck::check::{CheckConfig, Verdict};
use derivcheck::homework::{check_document, EquationKind, EquationReport};
use derivcheck::print::Format;
use derivcheck::report::hint_text;
use derivcheck::source::SourceFile;
use derivcheck::syntax::document::DocKind;

fn md_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

fn check(path: &Path) -> (SourceFile, Vec<EquationReport>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let src = SourceFile::new(path.display().to_string(), text);
    let reports = check_document(&src, DocKind::Markdown, &CheckConfig::default());
    (src, reports)
}

/// `kind verdict: hint` of one report, in the marker's words.
fn describe(r: &EquationReport) -> (String, String, String) {
    let kind = r.kind.name().to_string();
    let (verdict, hint) = match &r.check {
        Some(c) => (
            c.outcome.verdict.word().to_string(),
            c.outcome
                .hint
                .as_ref()
                .map(|h| hint_text(h, Format::Ascii))
                .unwrap_or_default(),
        ),
        None => (String::new(), r.note.clone()),
    };
    (kind, verdict, hint)
}

#[test]
fn homework_documents_get_the_marked_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/homework");
    let files = md_files(&dir);
    assert!(files.len() >= 6, "only {} homework documents", files.len());
    let mut n_expected = 0;
    let mut failures = Vec::new();
    for f in files {
        n_expected += marked(&f, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n_expected >= 40, "only {n_expected} expectations");
}

/// Matrix-form rows that are malformed (dimensions that are not names or integers, three
/// dimensions, shapes that do not fit, transposes of scalars, updates that are not
/// `W − η·X`): each reported with its reason, no panic; `tests/hostile/matrix_rows.md`.
#[test]
fn malformed_matrix_rows_say_why() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/matrix_rows.md");
    let mut failures = Vec::new();
    let n = marked(&f, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 15, "only {n} expectations");
}

/// Checks the `<!-- expect: … -->` markers of one document, pushing each mismatch to
/// `failures`; the number of expectations.
fn marked(f: &Path, failures: &mut Vec<String>) -> usize {
    let mut n_expected = 0;
    let (src, reports) = check(f);
    let lines: Vec<&str> = src.text().lines().collect();
    let mut by_line: Vec<(usize, Vec<&EquationReport>)> = Vec::new();
    for r in &reports {
        let line = src.line_col(r.span.start).line;
        match by_line.last_mut() {
            Some((l, v)) if *l == line => v.push(r),
            _ => by_line.push((line, vec![r])),
        }
    }
    for (idx, text) in lines.iter().enumerate() {
        let line = idx + 1;
        let got: Vec<&EquationReport> = by_line
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let Some((_, marker)) = text.split_once("<!-- expect:") else {
            if !got.is_empty() {
                failures.push(format!(
                    "{}:{line}: reports without expectations: {:?}",
                    f.display(),
                    got.iter().map(|r| describe(r)).collect::<Vec<_>>()
                ));
            }
            continue;
        };
        let marker = marker.trim_end().trim_end_matches("-->").trim();
        let wants: Vec<&str> = marker.split(';').map(str::trim).collect();
        if wants.len() != got.len() {
            failures.push(format!(
                "{}:{line}: expected {} reports ({marker}), got {:?}",
                f.display(),
                wants.len(),
                got.iter().map(|r| describe(r)).collect::<Vec<_>>()
            ));
            continue;
        }
        for (want, r) in wants.iter().zip(&got) {
            n_expected += 1;
            let (head, hint_want) = want.split_once(':').unwrap_or((want, ""));
            let mut words = head.split_whitespace();
            let kind_want = words.next().unwrap_or("");
            let verdict_want = words.next().unwrap_or("");
            let (kind, verdict, hint) = describe(r);
            let ok = kind == kind_want
                && (verdict_want.is_empty() || verdict == verdict_want)
                && hint.contains(hint_want.trim());
            if !ok {
                failures.push(format!(
                    "{}:{line}: expected `{want}`, got {kind} {verdict}: {hint}",
                    f.display()
                ));
            }
        }
    }
    n_expected
}

/// The two real documents: every mathematical mistake in them is flagged at its line with a
/// fitting hint, nothing else is flagged, and what is not decided says why.
///
/// sigmoid-mse-output-layer.md: E = ½(o − y)² is followed by ∂E/∂o₁ = 2·(o₁ − y) (three
/// times, lines 63, 67, 95: the factor 2 is wrong for the ½ of E), and by δ_o = 2·(o₁ − y)·o₁·
/// (1 − o₁) at line 147, which carries the same factor; d/dz (1 + e^(−z)) = 0 + (−e^(−z))·(−1)
/// at line 117 applies the chain factor −1 twice. bce-sigmoid-relu.md: line 18 turns ∂/∂Z into
/// ∂/∂A in the middle of the sigmoid derivative, and line 20 expands −y(1 − A) as −y − Ay
/// before reaching A − y again (a compensating error).
/// A shared document: its name, its mistakes (line, hint), the share decided (percent).
type Expected = (&'static str, &'static [(usize, &'static str)], usize);

#[test]
fn shared_examples_flag_exactly_their_mistakes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples");
    // Per document: the mistakes, and the share decided that must not fall (in percent; the
    // issue's target is 90). sigmoid-mse writes its loss in o and its derivatives in o₁ and
    // never links them: its equations about ∂E/∂w_{oi} and ∂E/∂b_o are decided by reading o₁
    // as o (the report says so); the update at line 155 comes before z_o is defined and
    // stays undecided.
    let expected: &[Expected] = &[
        (
            "bce-sigmoid-relu.md",
            &[
                (18, "the correct value is"),
                (18, "with respect to Z instead of A"),
                (20, ""),
                (20, ""),
            ],
            90,
        ),
        (
            "sigmoid-mse-output-layer.md",
            &[
                (63, "factor of 2"),
                (67, "factor of 2"),
                (95, "factor of 2"),
                (117, ""),
                (147, "factor of 2"),
            ],
            97,
        ),
    ];
    for (name, flagged, percent) in expected {
        let (src, reports) = check(&dir.join(name));
        let mut got: Vec<(usize, String)> = Vec::new();
        let (mut decided, mut total) = (0usize, 0usize);
        for r in &reports {
            match (&r.check, r.kind) {
                (_, EquationKind::Definition) => {}
                (None, _) => total += 1,
                (Some(c), _) => {
                    total += 1;
                    match &c.outcome.verdict {
                        Verdict::Incorrect(_) => {
                            decided += 1;
                            let hint = c
                                .outcome
                                .hint
                                .as_ref()
                                .map(|h| hint_text(h, Format::Ascii))
                                .unwrap_or_default();
                            got.push((src.line_col(r.span.start).line, hint));
                        }
                        Verdict::Undecided(why) => assert!(!why.is_empty()),
                        _ => decided += 1,
                    }
                }
            }
        }
        assert_eq!(got.len(), flagged.len(), "{name}: flagged {got:?}");
        for ((line, hint), (want_line, want_hint)) in got.iter().zip(flagged.iter()) {
            assert_eq!(line, want_line, "{name}: {got:?}");
            assert!(hint.contains(want_hint), "{name}:{line}: hint {hint:?}");
        }
        // Reported in the issue note; asserted so that it cannot silently fall.
        eprintln!("{name}: {decided} of {total} equations decided");
        assert!(
            decided * 100 >= total * percent,
            "{name}: only {decided} of {total} decided (at least {percent}% wanted)"
        );
    }
}

/// A verdict reached only by reading o₁ as o (the loss in o, the derivatives in o₁, never
/// linked by an equation) names that reading, and the as-written reading, where it decides
/// nothing, is not reported as a verdict of its own.
#[test]
fn a_verdict_under_a_linked_reading_names_the_reading() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/homework/linked_outputs.md");
    let (src, reports) = check(&path);
    let mut n = 0;
    for r in &reports {
        let Some(c) = &r.check else { continue };
        n += 1;
        let line = src.line_col(r.span.start).line;
        assert!(
            !matches!(c.outcome.verdict, Verdict::Undecided(_)),
            "line {line}: {:?}",
            c.outcome.verdict
        );
        assert!(
            r.note.contains("decided by reading o₁ as o"),
            "line {line}: note {:?}",
            r.note
        );
    }
    assert_eq!(n, 8);
    // The sigmoid-mse document's update before z_o is defined: undecided either way, and the
    // reason is the linked reading's (E is not known to depend on w_{oi} at that point).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples");
    let (src, reports) = check(&dir.join("sigmoid-mse-output-layer.md"));
    let at_155 = reports
        .iter()
        .find(|r| src.line_col(r.span.start).line == 155)
        .and_then(|r| r.check.as_ref().map(|c| (r, c)));
    let Some((r, c)) = at_155 else {
        panic!("no check at line 155");
    };
    match &c.outcome.verdict {
        Verdict::Undecided(why) => assert!(why.contains("depends on w_{oi}"), "{why}"),
        v => panic!("line 155: {v:?}"),
    }
    assert!(
        r.note.contains("undecided as written and reading o₁ as o"),
        "{}",
        r.note
    );
}
