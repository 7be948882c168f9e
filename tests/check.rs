//! The checker on corpora of files:
//! - `derivations/`: every claim and step is correct;
//! - `tests/wrong/*.dc`: every line marked `#! incorrect: <hint text>` is flagged incorrect with
//!   a hint containing that text (`#! incorrect` alone: any hint), and every unmarked claim or
//!   step is correct;
//! - `tests/right/*.dc`: right-but-unusual forms, all correct.

use std::path::{Path, PathBuf};

use derivcheck::check::{CheckConfig, Checker, StepReport, Verdict};
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

#[test]
fn wrong_derivations_are_flagged_at_the_marked_lines() {
    let files = dc_files("tests/wrong");
    assert!(!files.is_empty());
    for f in files {
        let (src, steps) = check_file(&f);
        let lines: Vec<&str> = src.text().lines().collect();
        let mut flagged = 0;
        for s in &steps {
            let line = src.line_col(s.span.start).line;
            let text = lines.get(line - 1).copied().unwrap_or("");
            match text.split_once("#! incorrect") {
                Some((_, rest)) => {
                    flagged += 1;
                    assert!(
                        matches!(s.outcome.verdict, Verdict::Incorrect(_)),
                        "expected incorrect: {}",
                        describe(&src, s)
                    );
                    let want = rest.trim_start_matches(':').trim();
                    if !want.is_empty() {
                        let hint = s
                            .outcome
                            .hint
                            .as_ref()
                            .map(|h| hint_text(h, Format::Ascii))
                            .unwrap_or_default();
                        assert!(
                            hint.contains(want),
                            "hint {hint:?} lacks {want:?}: {}",
                            describe(&src, s)
                        );
                    }
                }
                None => assert!(
                    s.outcome.verdict.is_correct() || s.chain_note.is_some(),
                    "expected correct: {}",
                    describe(&src, s)
                ),
            }
        }
        assert!(flagged > 0, "{} marks no line", f.display());
    }
}

#[test]
fn right_but_unusual_forms_are_not_flagged() {
    for f in dc_files("tests/right") {
        let (src, steps) = check_file(&f);
        for s in &steps {
            assert!(s.outcome.verdict.is_correct(), "{}", describe(&src, s));
        }
    }
}
