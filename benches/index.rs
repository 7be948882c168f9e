//! Index notation (issue 5): checking softmax + cross-entropy symbolically, and the numeric
//! instantiation at sizes up to 100.
//!
//! - `symbolic/C`: `Checker::check_program` on the softmax + cross-entropy file (one-hot
//!   assumption, two claims and a four-step derivation), with the class count written as the
//!   symbol C and as the numbers 10 and 100. Every verdict is a canonical proof, and a proof
//!   over Σ_{j=1}^{C} does not write the sum out, so the three times must be the same.
//! - `instantiate/N`: the derivative ∂L/∂z_k at C = N, k = 1, with the sums written out
//!   (`index::expand_concrete`) and both sides evaluated at one point in f64: the work a
//!   numeric check does per instance and point, which grows with N.
//!
//! Run: `cargo bench --bench index -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use derivcheck::check::{CheckConfig, Checker};
use derivcheck::expr::{Expr, Symbol};
use derivcheck::index::{expand_concrete, subst_index, IndexValue};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::program::Program;
use derivcheck::source::SourceFile;

fn program(text: &str) -> Program {
    let src = SourceFile::new("bench.dc", text.to_owned());
    let loaded = load(&src, &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.program
}

fn softmax_ce(c: &str) -> String {
    format!(
        "let O_i = exp(z_i)/sum(j, 1, {c}, exp(z_j))\n\
         let L = -sum(i, 1, {c}, y_i·log(O_i))\n\
         assume sum(i, 1, {c}, y_i) = 1\n\
         claim ∂L/∂O_k = -y_k/O_k\n\
         claim ∂L/∂z_k = O_k − y_k\n\
         derive ∂L/∂z_k\n\
         \x20 = -sum(i, 1, {c}, y_i/O_i·O_i·(δ_{{ik}} − O_k))\n\
         \x20 = -sum(i, 1, {c}, y_i·δ_{{ik}}) + O_k·sum(i, 1, {c}, y_i)\n\
         \x20 = -y_k + O_k·sum(i, 1, {c}, y_i)\n\
         \x20 = O_k − y_k\n"
    )
}

fn symbolic(c: &mut Criterion) {
    let config = CheckConfig::default();
    let mut group = c.benchmark_group("symbolic");
    for size in ["C", "10", "100"] {
        let p = program(&softmax_ce(size));
        let checker = Checker::new(&p, &config);
        let reports = checker.check_program();
        assert!(
            reports
                .iter()
                .all(|r| matches!(r.outcome.verdict, derivcheck::check::Verdict::Proved(_))),
            "every verdict is a proof at C = {size}"
        );
        group.bench_with_input(BenchmarkId::from_parameter(size), &p, |b, p| {
            b.iter(|| {
                let checker = Checker::new(p, &config);
                black_box(checker.check_program())
            })
        });
    }
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let p = program(&softmax_ce("C"));
    let config = CheckConfig::default();
    let checker = Checker::new(&p, &config);
    let l = Expr::deriv(Expr::var("L"), Symbol::with_sub("z", Some("k")));
    let (d, _) = derivcheck::diff::resolve(&l, &checker.diff_ctx()).expect("derivative");
    let d = p.expand(&d, 1 << 20).expect("expand");
    let claim = p
        .expand(&derivcheck::parse("O_k - y_k").expect("parse"), 1 << 20)
        .expect("expand");
    let mut group = c.benchmark_group("instantiate");
    for n in [10i64, 50, 100] {
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let table = [(Expr::var("C"), Expr::int(n))].into_iter().collect();
                let at = |e: &Expr| {
                    let e = subst_index(&e.replace_all(&table), "k", &IndexValue::Int(1));
                    expand_concrete(&e, 1 << 20).expect("small")
                };
                let (a, b2) = (at(&d), at(&claim));
                let env = |s: &Symbol| {
                    let m: f64 = s.sub().and_then(|m| m.parse().ok()).unwrap_or(1.0);
                    Some(match s.name() {
                        "z" => (m * 0.37).sin(),
                        // A one-hot target at class 1: Σ y = 1.
                        "y" => f64::from(u8::from(m == 1.0)),
                        _ => 0.5,
                    })
                };
                let va = derivcheck::eval::eval_f64(&a, &env).expect("finite");
                let vb = derivcheck::eval::eval_f64(&b2, &env).expect("finite");
                assert!((va - vb).abs() < 1e-9, "{va} vs {vb}");
                black_box((va, vb))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, symbolic, instantiate);
criterion_main!(benches);
