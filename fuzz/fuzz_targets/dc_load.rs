//! The `.dc` front end: bytes → decode → parse → lower (`load_bytes`), then every error
//! rendered as the CLI does and the program printed back as `fmt` does.
#![no_main]

use derivcheck::limits::Limits;
use derivcheck::load::load_bytes;
use derivcheck::print::{program, Format};
use derivcheck::report::diagnostic::render_input_error;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let (src, loaded) = load_bytes("fuzz.dc", data, &limits);
    for e in &loaded.errors {
        let _ = render_input_error(&src, e, false);
    }
    if loaded.errors.is_empty() {
        let _ = program::file(&src, &loaded.program, Format::Ascii);
        let _ = program::file(&src, &loaded.program, Format::Unicode);
    }
});
