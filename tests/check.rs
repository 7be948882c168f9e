//! The checker on corpora of files:
//! - `derivations/`: every claim and step is correct;
//! - `tests/wrong/*.dc`: the markers at the end of a checked line say what the checker must
//!   report for it, one assertion per line:
//!   - `#! incorrect: <text>`: flagged incorrect with a hint containing the text (`#! incorrect`
//!     alone: any hint);
//!   - `#! first wrong: <text>`: a derivation step flagged incorrect, noted as the first wrong
//!     step of its derivation, with a hint containing the text (if given);
//!   - `#! returns: <text>`: a step after a wrong one that equals the start again, noted as a
//!     compensating error (the note contains the text, e.g. `step 2`);
//!   - `#! follows: <text>`: a step after a wrong one that follows from the previous line, and
//!     whose note says the chain is wrong since the step named in the text;
//!   - no marker: correct, and no chain note.
//! - `tests/right/*.dc`: right-but-unusual forms, all correct, without a chain note;
//!   `#! assumes: <facts>` says the verdict relied on exactly these `assume` lines (joined by
//!   "; ", e.g. `0 < a < 1; y ∈ {0, 1}`), and unmarked lines are not checked for assumptions.

use std::path::{Path, PathBuf};

use derivcheck::check::{CheckConfig, Checker, StepKind, StepReport, Verdict};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::print::Format;
use derivcheck::report::hint_text;
use derivcheck::source::SourceFile;

fn dc_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dc"))
        .collect();
    files.sort();
    files
}

fn check_file(path: &Path) -> (SourceFile, Vec<StepReport>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let src = SourceFile::new(path.display().to_string(), text);
    let loaded = load(&src, &Limits::default());
    assert!(
        loaded.errors.is_empty(),
        "{}: input errors {:?}",
        path.display(),
        loaded.errors
    );
    let config = CheckConfig::default();
    let steps = Checker::new(&loaded.program, &config).check_program();
    (src, steps)
}

fn describe(src: &SourceFile, s: &StepReport) -> String {
    let lc = src.line_col(s.span.start);
    format!(
        "{}:{}: {} ({:?}), hint {:?}",
        src.name(),
        lc.line,
        s.outcome.verdict.word(),
        s.outcome.verdict,
        s.outcome.hint.as_ref().map(|h| hint_text(h, Format::Ascii))
    )
}

#[test]
fn bundled_derivations_check_clean() {
    let files = dc_files("derivations");
    assert!(
        files.len() >= 30,
        "only {} files in derivations/",
        files.len()
    );
    for f in files {
        let (src, steps) = check_file(&f);
        assert!(!steps.is_empty(), "{} has nothing to check", f.display());
        for s in &steps {
            assert!(s.outcome.verdict.is_correct(), "{}", describe(&src, s));
        }
    }
}

/// What a line's `#!` marker asks for.
#[derive(Debug, PartialEq)]
enum Marker {
    Incorrect,
    FirstWrong,
    Returns,
    Follows,
    Assumes,
}

/// The marker of a source line and its text (`#! first wrong: step 2` → first wrong, "step 2").
fn marker(line: &str) -> Option<(Marker, String)> {
    let (_, rest) = line.split_once("#!")?;
    let (word, text) = match rest.split_once(':') {
        Some((w, t)) => (w.trim(), t.trim()),
        None => (rest.trim(), ""),
    };
    let m = match word {
        "incorrect" => Marker::Incorrect,
        "first wrong" => Marker::FirstWrong,
        "returns" => Marker::Returns,
        "follows" => Marker::Follows,
        "assumes" => Marker::Assumes,
        other => panic!("unknown marker {other:?} in {line:?}"),
    };
    Some((m, text.to_string()))
}

fn hint_of(s: &StepReport) -> String {
    s.outcome
        .hint
        .as_ref()
        .map(|h| hint_text(h, Format::Ascii))
        .unwrap_or_default()
}

/// The hint kinds (by variant name) seen on marked lines, to check that the corpus exercises
/// every kind of slip.
fn hint_kind(s: &StepReport) -> Option<String> {
    let h = s.outcome.hint.as_ref()?;
    let d = format!("{h:?}");
    Some(
        d.split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Checks one file of `tests/wrong/` against its markers; returns (marked lines, hint kinds).
fn check_marked_file(f: &Path) -> (usize, Vec<String>) {
    let (src, steps) = check_file(f);
    let lines: Vec<&str> = src.text().lines().collect();
    let mut marked = 0;
    let mut kinds = Vec::new();
    for s in &steps {
        let line = src.line_col(s.span.start).line;
        // A step or claim may span several lines; its marker is on its last line.
        let end = src.line_col(s.span.end.saturating_sub(1)).line;
        let found = (line..=end)
            .filter_map(|l| lines.get(l - 1).copied())
            .find_map(marker);
        let note = s.chain_note.clone().unwrap_or_default();
        let is_step = matches!(s.kind, StepKind::Step { .. });
        let Some((m, want)) = found else {
            assert!(
                s.outcome.verdict.is_correct() && s.chain_note.is_none(),
                "expected correct, without a chain note: {}, note {:?}",
                describe(&src, s),
                s.chain_note
            );
            continue;
        };
        marked += 1;
        match m {
            Marker::Incorrect | Marker::FirstWrong => {
                assert!(
                    matches!(s.outcome.verdict, Verdict::Incorrect(_)),
                    "expected incorrect: {}",
                    describe(&src, s)
                );
                let hint = hint_of(s);
                assert!(
                    hint.contains(&want),
                    "hint {hint:?} lacks {want:?}: {}",
                    describe(&src, s)
                );
                kinds.extend(hint_kind(s));
                if m == Marker::FirstWrong {
                    assert!(
                        is_step && note.contains("first wrong step"),
                        "expected the first wrong step: {}, note {note:?}",
                        describe(&src, s)
                    );
                }
            }
            Marker::Returns => assert!(
                is_step && note.contains("compensating error") && note.contains(&want),
                "expected a compensating error ({want:?}): {}, note {note:?}",
                describe(&src, s)
            ),
            Marker::Follows => assert!(
                is_step
                    && s.outcome.verdict.is_correct()
                    && note.contains("the chain is wrong since")
                    && note.contains(&want),
                "expected a correct step in a wrong chain ({want:?}): {}, note {note:?}",
                describe(&src, s)
            ),
            Marker::Assumes => panic!("`#! assumes` belongs in tests/right: {}", describe(&src, s)),
        }
    }
    (marked, kinds)
}

#[test]
fn wrong_derivations_are_flagged_at_the_marked_lines() {
    let files = dc_files("tests/wrong");
    assert!(
        files.len() >= 20,
        "only {} files in tests/wrong",
        files.len()
    );
    let (mut marked, mut kinds) = (0, Vec::new());
    for f in &files {
        let (n, k) = check_marked_file(f);
        assert!(n > 0, "{} marks no line", f.display());
        marked += n;
        kinds.extend(k);
    }
    kinds.sort();
    kinds.dedup();
    eprintln!(
        "tests/wrong: {} files, {marked} marked lines, hint kinds {kinds:?}",
        files.len()
    );
    // Every kind of slip the hints can name occurs in the corpus.
    for k in [
        "Factor",
        "SignFlipped",
        "MissingChainFactor",
        "WrongVariable",
        "PowerOff",
        "MissingFactor",
        "ExtraFactor",
        "DroppedTerm",
        "ExtraTerm",
        "InTerm",
        "AtStepSwitch",
        "Expected",
    ] {
        assert!(
            kinds.iter().any(|x| x == k),
            "no marked line with a {k} hint"
        );
    }
    assert!(marked >= 150, "only {marked} marked lines");
}

#[test]
fn markers_are_read_as_written() {
    assert_eq!(
        marker("x #! incorrect"),
        Some((Marker::Incorrect, String::new()))
    );
    assert_eq!(
        marker("  = A − y   #! returns: step 2"),
        Some((Marker::Returns, "step 2".into()))
    );
    assert_eq!(
        marker("= a #! first wrong: the sign is flipped"),
        Some((Marker::FirstWrong, "the sign is flipped".into()))
    );
    assert_eq!(marker("= a # a comment"), None);
}

#[test]
#[should_panic(expected = "unknown marker")]
fn a_misspelt_marker_is_an_error() {
    let _ = marker("claim x = y #! incorect: factor");
}

#[test]
fn right_but_unusual_forms_are_not_flagged() {
    let files = dc_files("tests/right");
    let (mut checked, mut with_assumptions) = (0, 0);
    for f in &files {
        let (src, steps) = check_file(f);
        let lines: Vec<&str> = src.text().lines().collect();
        for s in &steps {
            checked += 1;
            assert!(
                s.outcome.verdict.is_correct() && s.chain_note.is_none(),
                "{}",
                describe(&src, s)
            );
            let end = src.line_col(s.span.end.saturating_sub(1)).line;
            match lines.get(end - 1).copied().and_then(marker) {
                None => {}
                Some((Marker::Assumes, want)) => {
                    let stated: Vec<&str> = s
                        .outcome
                        .assumptions
                        .iter()
                        .map(|a| src.slice(*a).trim_start_matches("assume").trim())
                        .collect();
                    assert_eq!(
                        stated.join("; "),
                        want,
                        "the assumptions the verdict relied on: {}",
                        describe(&src, s)
                    );
                    with_assumptions += 1;
                }
                Some((m, _)) => panic!("marker {m:?} in tests/right: {}", describe(&src, s)),
            }
        }
    }
    eprintln!(
        "tests/right: {} files, {checked} right forms, {with_assumptions} relying on stated assumptions",
        files.len()
    );
    assert!(checked >= 80, "only {checked} right forms");
    assert!(
        with_assumptions >= 5,
        "only {with_assumptions} `#! assumes` lines"
    );
}

/// A function defined nowhere (log of 0·z, √ of a negative constant) has no derivative to
/// check: the claim is undecided, never "proved" through a derivative that simplified to 0.
#[test]
fn claims_about_functions_defined_nowhere_are_undecided() {
    let text = "claim d/dz log(0*z) = 0\nclaim d/dz sqrt(-1 + 0*z) = 0\nclaim d/dz log(z) = 1/z\n";
    let src = SourceFile::new("nowhere.dc", text.to_owned());
    let loaded = load(&src, &Limits::default());
    let config = CheckConfig::default();
    let words: Vec<&str> = Checker::new(&loaded.program, &config)
        .check_program()
        .iter()
        .map(|s| s.outcome.verdict.word())
        .collect();
    assert_eq!(words, ["undecided", "undecided", "correct"]);
}
