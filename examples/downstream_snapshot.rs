//! How another crate uses derivcheck in its own tests: differentiate a function written in the
//! `.dc` language and pin the printed derivative with an insta snapshot.
//!
//! Run it: `cargo run --example downstream_snapshot`; its tests run with `cargo test`
//! (the snapshots live in `examples/snapshots/`).

use derivcheck::expr::Symbol;
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::Program;
use derivcheck::source::SourceFile;

/// The definitions a downstream crate might keep next to its model code.
const DEFS: &str = "\
let σ(z) = 1 / (1 + exp(-z))
let A = σ(Z)
let L = -y·log(A) - (1 - y)·log(1 - A)
";

/// The definitions as a program, or the first input error as text.
fn program() -> Result<Program, String> {
    let loaded = load(&SourceFile::new("defs.dc", DEFS), &Limits::default());
    match loaded.errors.first() {
        Some(e) => Err(e.message()),
        None => Ok(loaded.program),
    }
}

/// d`expr`/d`wrt` in readable form, printed in `format`.
fn derivative(expr: &str, wrt: &str, format: Format) -> Result<String, String> {
    let p = program()?;
    let e = derivcheck::load::parse_expression(expr, &p, &Limits::default())
        .map_err(|errs| errs.first().map(|e| e.message()).unwrap_or_default())?;
    let d = derivcheck::diff(&e, &Symbol::new(wrt), &p).map_err(|e| e.to_string())?;
    Ok(print::to_string(&d.expr, format, &PrintOptions::default()))
}

fn main() {
    for (expr, wrt) in [("σ(z)", "z"), ("L", "A"), ("L", "Z")] {
        match derivative(expr, wrt, Format::Unicode) {
            Ok(d) => println!("d/d{wrt} {expr} = {d}"),
            Err(e) => eprintln!("{expr}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_derivative_snapshot() {
        insta::assert_snapshot!(derivative("σ(z)", "z", Format::Unicode).unwrap(), @"σ(z)·(1 − σ(z))");
    }

    #[test]
    fn bce_through_sigmoid_is_a_minus_y() {
        insta::assert_snapshot!(derivative("L", "Z", Format::Ascii).unwrap(), @"A - y");
    }

    #[test]
    fn bce_on_probabilities_in_latex() {
        insta::assert_snapshot!(derivative("L", "A", Format::Latex).unwrap());
    }
}
