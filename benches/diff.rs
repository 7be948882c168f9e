//! Speed of differentiation + readable simplification (issue 3):
//! - every function of the bundled library (`derivations/`): diff + readable, per function;
//! - deep compositions σ(w_k·σ(…) + b_k) at depth 1, 2, 4, …, 32: time, DAG size and printed
//!   size must grow at most linearly.
//!
//! Run: `cargo bench --bench diff`. The SymPy comparison is `benches/sympy_diff.py`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use derivcheck::check::{CheckConfig, Checker};
use derivcheck::diff::diff;
use derivcheck::expr::{Builtin, Expr, Symbol};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::program::{DefKind, Program};
use derivcheck::simplify::readable::refold_builtins;
use derivcheck::source::SourceFile;

/// (file name, program, the file's main function applied to its parameters, the variable).
pub fn library() -> Vec<(String, Program, Expr, Symbol)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("derivations");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_none_or(|x| x != "dc") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let src = SourceFile::new(path.display().to_string(), text);
        let loaded = load(&src, &Limits::default());
        let Some(def) = loaded
            .program
            .definitions()
            .find(|d| d.kind == DefKind::Function)
        else {
            continue;
        };
        let Some(var) = def.params.first().cloned() else {
            continue;
        };
        let call = Expr::apply(
            derivcheck::expr::Func::User(def.name.clone()),
            def.params.iter().cloned().map(Expr::sym).collect(),
        );
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, loaded.program.clone(), call, var));
    }
    out
}

/// σ(w_k·σ(… σ(w_1·x + b_1) …) + b_k), nested `depth` deep.
pub fn deep(depth: usize) -> Expr {
    let mut e = Expr::var("x");
    for k in 1..=depth {
        let w = Expr::sym(Symbol::with_sub("w", Some(&k.to_string())));
        let b = Expr::sym(Symbol::with_sub("b", Some(&k.to_string())));
        e = Expr::call(
            Builtin::Sigmoid,
            vec![Expr::add(vec![Expr::mul(vec![w, e]), b])],
        );
    }
    e
}

fn bench(c: &mut Criterion) {
    let config = CheckConfig::default();
    let mut group = c.benchmark_group("diff+readable/library");
    for (name, program, call, var) in library() {
        let checker = Checker::new(&program, &config);
        group.bench_function(&name, |b| {
            b.iter(|| {
                let ctx = checker.diff_ctx();
                let d = diff(black_box(&refold_builtins(&call)), &var, &ctx).ok();
                d.and_then(|d| checker.readable(&d.expr).ok())
            })
        });
    }
    group.finish();
    let program = Program::default();
    let checker = Checker::new(&program, &config);
    let x = Symbol::new("x");
    let mut group = c.benchmark_group("diff+readable/deep");
    for depth in [1usize, 2, 4, 8, 16, 32] {
        let e = deep(depth);
        group.bench_with_input(BenchmarkId::from_parameter(depth), &e, |b, e| {
            b.iter(|| {
                let d = diff(black_box(e), &x, &checker.diff_ctx()).ok();
                d.and_then(|d| checker.readable(&d.expr).ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
