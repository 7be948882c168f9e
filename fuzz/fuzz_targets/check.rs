//! The checker: a `.dc` program loaded and every claim and step checked with a tight
//! deadline and few samples, then rendered as text and JSON like `derivcheck check`.
#![no_main]

use std::time::Duration;

use derivcheck::check::{CheckConfig, Checker};
use derivcheck::limits::Limits;
use derivcheck::load::load_bytes;
use derivcheck::report::{json, text, FileReport};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let config = CheckConfig {
        limits: Limits {
            timeout_per_step: Duration::from_millis(200),
            ..Limits::default()
        },
        samples: 8,
        samples_piecewise: 16,
        ..CheckConfig::default()
    };
    let (src, loaded) = load_bytes("fuzz.dc", data, &config.limits);
    let steps = Checker::new(&loaded.program, &config).check_program();
    let report = FileReport {
        source: src,
        steps,
        errors: Vec::new(),
        equations: Vec::new(),
    };
    let _ = text::file(&report, text::Style { color: false });
    let _ = serde_json::to_string(&json::check_report(std::slice::from_ref(&report)));
});
