//! The homework front end: a Markdown or LaTeX document (first byte even: Markdown, odd:
//! LaTeX) read by `check_document` with tight limits, then rendered as text and JSON.
#![no_main]

use std::time::Duration;

use derivcheck::check::CheckConfig;
use derivcheck::homework::check_document;
use derivcheck::limits::Limits;
use derivcheck::report::{json, text, FileReport};
use derivcheck::source::SourceFile;
use derivcheck::syntax::{decode, document::DocKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kind = if first % 2 == 0 {
        DocKind::Markdown
    } else {
        DocKind::Latex
    };
    let config = CheckConfig {
        limits: Limits {
            timeout_per_step: Duration::from_millis(200),
            ..Limits::default()
        },
        samples: 8,
        samples_piecewise: 16,
        ..CheckConfig::default()
    };
    let Ok(text) = decode(rest, &config.limits) else {
        return;
    };
    let src = SourceFile::new("fuzz.md", text);
    let equations = check_document(&src, kind, &config);
    let report = FileReport::document(src, equations);
    let _ = text::file(&report, text::Style { color: false });
    let _ = serde_json::to_string(&json::check_report(std::slice::from_ref(&report)));
});
