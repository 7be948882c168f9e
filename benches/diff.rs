//! Speed of differentiation + readable simplification (issue 3):
//! - every function of the bundled library (`derivations/`): diff + readable, per function;
//! - deep compositions σ(w_k·σ(…) + b_k) at depth 1, 2, 4, …, 32: time, DAG size and printed
//!   size must grow at most linearly.
//!
//! Before timing, the bench prints the depth table (DAG size and printed size of the
//! readable derivative per depth) and writes `target/bench-diff.json` (the same expressions
//! with definitions expanded, in ASCII), which `benches/sympy_diff.py` reads.
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
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::{DefKind, Program};
use derivcheck::simplify::readable::refold_builtins;
use derivcheck::source::SourceFile;

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

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

/// Writes the expressions for `benches/sympy_diff.py` and prints the depth table.
fn export(config: &CheckConfig) {
    let mut functions = Vec::new();
    for (name, program, call, var) in library() {
        let Ok(body) = program.expand(&call, config.limits.max_growth) else {
            continue;
        };
        functions.push(serde_json::json!({
            "name": name,
            "var": ascii_line(&Expr::sym(var)),
            "expr": ascii_line(&body),
        }));
    }
    let program = Program::default();
    let checker = Checker::new(&program, config);
    let x = Symbol::new("x");
    let mut deep_rows = Vec::new();
    eprintln!("depth  input DAG  d/dx DAG  readable DAG  readable tree  printed chars");
    for depth in DEPTHS {
        let e = deep(depth);
        let d = diff(&e, &x, &checker.diff_ctx()).ok();
        let r = d.as_ref().and_then(|d| checker.readable(&d.expr).ok());
        let (Some(d), Some(r)) = (d, r) else {
            eprintln!("{depth:>5}  (failed)");
            continue;
        };
        let printed = print::to_string(&r, Format::Unicode, &PrintOptions { width: usize::MAX });
        eprintln!(
            "{depth:>5}  {:>9}  {:>8}  {:>12}  {:>13}  {:>13}",
            e.dag_size(),
            d.expr.dag_size(),
            r.dag_size(),
            r.tree_size(),
            printed.chars().count()
        );
        deep_rows.push(serde_json::json!({
            "depth": depth,
            "var": "x",
            "expr": ascii_line(&e),
            "dag": r.dag_size(),
            "printed": printed.chars().count(),
        }));
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bench-diff.json");
    let json = serde_json::json!({"functions": functions, "deep": deep_rows});
    match std::fs::write(&path, json.to_string()) {
        Ok(()) => eprintln!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// ASCII on one line (the form the parser and SymPy read back).
fn ascii_line(e: &Expr) -> String {
    print::to_string(e, Format::Ascii, &PrintOptions { width: usize::MAX })
}

const DEPTHS: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// Mean CPU time per call of `f` over at least `budget` CPU-seconds (`None` where the
/// thread's clock cannot be read).
fn cpu_time_per_call(budget: f64, mut f: impl FnMut()) -> Option<f64> {
    let start = thread_cpu_seconds()?;
    let mut calls = 0u64;
    let mut spent = 0.0;
    while spent < budget {
        for _ in 0..64 {
            f();
        }
        calls += 64;
        spent = thread_cpu_seconds()? - start;
    }
    Some(spent / calls as f64)
}

/// CPU time per function (not wall time: on a machine shared with other jobs, criterion's
/// wall-clock figures include waiting for a core), and their median.
fn cpu_table(config: &CheckConfig) {
    let mut times = Vec::new();
    for (name, program, call, var) in library() {
        let checker = Checker::new(&program, config);
        let t = cpu_time_per_call(0.2, || {
            let ctx = checker.diff_ctx();
            let d = diff(black_box(&refold_builtins(&call)), &var, &ctx).ok();
            black_box(d.and_then(|d| checker.readable(&d.expr).ok()));
        });
        let Some(t) = t else { return };
        eprintln!("CPU time {name:<14} {:8.2} µs", t * 1e6);
        times.push(t);
    }
    times.sort_by(f64::total_cmp);
    if let Some(m) = times.get(times.len() / 2) {
        eprintln!(
            "CPU time: median {:.2} µs per library function ({} functions)",
            m * 1e6,
            times.len()
        );
    }
    let program = Program::default();
    let checker = Checker::new(&program, config);
    let x = Symbol::new("x");
    for depth in DEPTHS {
        let e = deep(depth);
        if let Some(t) = cpu_time_per_call(0.2, || {
            let d = diff(black_box(&e), &x, &checker.diff_ctx()).ok();
            black_box(d.and_then(|d| checker.readable(&d.expr).ok()));
        }) {
            eprintln!("CPU time depth {depth:>2}: {:9.2} µs", t * 1e6);
        }
    }
}

fn bench(c: &mut Criterion) {
    let config = CheckConfig::default();
    export(&config);
    cpu_table(&config);
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
    for depth in DEPTHS {
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
