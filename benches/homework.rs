//! Checking a whole homework document (issue 6; target: a 20-page document in under a
//! second). The document is generated from the homework corpus of `tests/homework/` and the
//! two real documents of `../shared/examples/` (when present), repeated to about 20 pages
//! (3,000 characters a page, 60 kB). Each repetition starts a new section, so the reader's
//! context — definitions in force, givens — grows and is redefined as in a real document.
//!
//! Run: `cargo bench --bench homework`. The setup prints the number of equations, and how many
//! were decided, so speed is never bought with fewer checks.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use derivcheck::check::CheckConfig;
use derivcheck::homework::check_document;
use derivcheck::source::SourceFile;
use derivcheck::syntax::document::DocKind;

const PAGE: usize = 3_000;

fn twenty_pages() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut parts: Vec<String> = Vec::new();
    for dir in [root.join("tests/homework"), root.join("../shared/examples")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "md") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    parts.push(t);
                }
            }
        }
    }
    let mut doc = String::new();
    let mut i = 0usize;
    while doc.len() < 20 * PAGE && !parts.is_empty() {
        if let Some(p) = parts.get(i % parts.len()) {
            doc.push_str(&format!("\n\n## Part {}\n\n", i + 1));
            doc.push_str(p);
        }
        i += 1;
    }
    doc
}

fn bench(c: &mut Criterion) {
    let doc = twenty_pages();
    let src = SourceFile::new("twenty-pages.md", doc);
    let config = CheckConfig::default();
    let reports = check_document(&src, DocKind::Markdown, &config);
    let checked = reports.iter().filter(|r| r.check.is_some()).count();
    let decided = reports
        .iter()
        .filter_map(|r| r.check.as_ref())
        .filter(|c| !matches!(c.outcome.verdict, derivcheck::check::Verdict::Undecided(_)))
        .count();
    eprintln!(
        "document: {} bytes (~{} pages), {} equations reported, {checked} checked, {decided} decided",
        src.text().len(),
        src.text().len() / PAGE,
        reports.len()
    );
    let mut group = c.benchmark_group("homework");
    group.sample_size(10);
    group.bench_function("check 20-page document", |b| {
        b.iter(|| black_box(check_document(&src, DocKind::Markdown, &config)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
