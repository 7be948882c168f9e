//! Property tests of the mathematics (bounded so the suite stays fast):
//! - the symbolic derivative agrees with central finite differences;
//! - the readable form keeps the value;
//! - the canonical form keeps the value (every rewrite is an identity): this is what makes a
//!   "proved" verdict sound.

use derivcheck::check::{CheckConfig, Checker};
use derivcheck::diff::diff;
use derivcheck::eval::{eval_f64, eval_interval};
use derivcheck::expr::Rational;
use derivcheck::expr::{Builtin, Expr, Symbol};
use derivcheck::limits::{Deadline, Limits};
use derivcheck::program::Program;
use derivcheck::simplify::canon::Canonicalizer;
use proptest::prelude::*;

/// Random smooth expressions in x and y.
fn smooth() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::var("x")),
        Just(Expr::var("y")),
        (-3i64..=3).prop_map(Expr::int),
        (1i64..=4, 2i64..=3).prop_map(|(n, d)| Expr::frac(n, d)),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::add),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::mul),
            (inner.clone(), 1i64..=3).prop_map(|(b, n)| Expr::pow(b, Expr::int(n))),
            inner.clone().prop_map(|b| Expr::pow(b, Expr::int(-1))),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Exp, vec![a])),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Sigmoid, vec![a])),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Tanh, vec![a])),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Softplus, vec![a])),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Sin, vec![a])),
            inner
                .clone()
                .prop_map(|a| Expr::call(Builtin::Cosh, vec![a])),
            inner.clone().prop_map(|a| Expr::call(
                Builtin::Log,
                vec![Expr::add(vec![
                    Expr::int(2),
                    Expr::call(Builtin::Sigmoid, vec![a])
                ])]
            )),
        ]
    })
}

/// Random expressions that also use the piecewise functions.
fn piecewise() -> impl Strategy<Value = Expr> {
    smooth().prop_flat_map(|e| {
        prop_oneof![
            Just(Expr::call(Builtin::Relu, vec![e.clone()])),
            Just(Expr::call(Builtin::Abs, vec![e.clone()])),
            Just(Expr::call(Builtin::Max, vec![e.clone(), Expr::var("y")])),
            Just(Expr::call(Builtin::Min, vec![Expr::var("x"), e.clone()])),
            Just(Expr::call(Builtin::Sign, vec![e.clone()])),
            Just(Expr::call(Builtin::Heaviside, vec![Expr::neg(e.clone())])),
        ]
    })
}

fn at(e: &Expr, x: f64, y: f64) -> Option<f64> {
    let env = |s: &Symbol| match s.name() {
        "x" => Some(x),
        "y" => Some(y),
        _ => None,
    };
    eval_f64(e, &env)
        .ok()
        .filter(|v| v.is_finite() && v.abs() < 1e6)
}

/// Whether the guaranteed enclosures of `a` and `b` at the point overlap (or are unknown).
/// f64 alone is no oracle next to a jump: H(log((1 + X)/X)) with X = 1e21 rounds to H(0).
fn enclosures_overlap(a: &Expr, b: &Expr, x: f64, y: f64) -> bool {
    let env = |s: &Symbol| match s.name() {
        "x" => Some(Rational::from_float(x)?),
        "y" => Some(Rational::from_float(y)?),
        _ => None,
    };
    match (eval_interval(a, &env), eval_interval(b, &env)) {
        (Some(i), Some(j)) => !i.disjoint(&j),
        _ => true,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

const POINTS: [(f64, f64); 5] = [
    (0.7, -1.3),
    (-0.45, 0.8),
    (1.6, 0.35),
    (-1.1, -0.6),
    (0.3, 2.2),
];

proptest! {
    // A fixed seed keeps CI reproducible; run with PROPTEST_RNG_SEED=random to explore more.
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed),
        ..ProptestConfig::default()
    })]

    #[test]
    fn derivative_agrees_with_finite_differences(e in smooth()) {
        let program = Program::default();
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let x = Symbol::new("x");
        let Ok(d) = diff(&e, &x, &checker.diff_ctx()) else { return Ok(()) };
        let readable = checker.readable(&d.expr).ok();
        for (x0, y0) in POINTS {
            let h = 1e-5;
            let (Some(fp), Some(fm), Some(dv)) = (at(&e, x0 + h, y0), at(&e, x0 - h, y0), at(&d.expr, x0, y0)) else { continue };
            let fd = (fp - fm) / (2.0 * h);
            prop_assert!(close(fd, dv, 1e-4), "f = {e}, f' = {}, fd = {fd}, symbolic = {dv} at x = {x0}", d.expr);
            if let Some(r) = &readable {
                if let Some(rv) = at(r, x0, y0) {
                    prop_assert!(close(rv, dv, 1e-8), "readable {r} = {rv} but raw {} = {dv}", d.expr);
                }
            }
        }
    }

    #[test]
    fn readable_form_keeps_the_value(e in piecewise()) {
        let program = Program::default();
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let Ok(r) = checker.readable(&e) else { return Ok(()) };
        for (x0, y0) in POINTS {
            if let (Some(a), Some(b)) = (at(&e, x0, y0), at(&r, x0, y0)) {
                prop_assert!(
                    close(a, b, 1e-8) || enclosures_overlap(&e, &r, x0, y0),
                    "{e} = {a} but readable {r} = {b}"
                );
            }
        }
    }

    #[test]
    fn canonical_form_keeps_the_value(e in piecewise()) {
        let limits = Limits::default();
        let mut canon = Canonicalizer::new(&limits, Deadline::never());
        let Ok(c) = canon.canonical(&e) else { return Ok(()) };
        let back = canon.to_expr(&c);
        for (x0, y0) in POINTS {
            if let (Some(a), Some(b)) = (at(&e, x0, y0), at(&back, x0, y0)) {
                prop_assert!(
                    close(a, b, 1e-7) || enclosures_overlap(&e, &back, x0, y0),
                    "{e} = {a} but its canonical form {back} = {b}"
                );
            }
        }
    }

    #[test]
    fn smooth_canonical_form_keeps_the_value(e in smooth()) {
        let limits = Limits::default();
        let mut canon = Canonicalizer::new(&limits, Deadline::never());
        let Ok(c) = canon.canonical(&e) else { return Ok(()) };
        let back = canon.to_expr(&c);
        for (x0, y0) in POINTS {
            if let (Some(a), Some(b)) = (at(&e, x0, y0), at(&back, x0, y0)) {
                prop_assert!(
                    close(a, b, 1e-7) || enclosures_overlap(&e, &back, x0, y0),
                    "{e} = {a} but its canonical form {back} = {b}"
                );
            }
        }
    }
}
