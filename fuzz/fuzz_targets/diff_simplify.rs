//! Differentiation and simplification: the first byte picks the variable, the rest is one
//! expression; `api::diff` and `api::simplify` run on it, and the results are printed in
//! every format.
#![no_main]

use derivcheck::expr::Symbol;
use derivcheck::print;
use derivcheck::program::Program;

const VARS: [&str; 6] = ["x", "z", "y", "A", "W", "σ"];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(e) = derivcheck::parse(text) else {
        return;
    };
    let var = Symbol::new(
        VARS.get(usize::from(first) % VARS.len())
            .copied()
            .unwrap_or("x"),
    );
    let program = Program::default();
    if let Ok(d) = derivcheck::diff(&e, &var, &program) {
        let _ = print::unicode(&d.expr);
        let _ = print::ascii(&d.expr);
        let _ = print::latex(&d.expr);
    }
    if let Ok(s) = derivcheck::simplify(&e, &program) {
        let _ = print::ascii(&s);
    }
});
