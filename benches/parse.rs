//! Parser throughput on a large generated file of typical statements (issue 2; target: at
//! least 20 MB/s). Measured: `parse` (text → AST), `parse+lower` (→ `Program`) and
//! `parse+lower+print` (every expression of the program printed back in Unicode, as `fmt`
//! does), each as MB of input per second. Run with `cargo bench --bench parse`; criterion
//! reports the throughput in MiB/s (1 MiB = 1.048576 MB).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use derivcheck::limits::Limits;
use derivcheck::lower::lower;
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::{Fact, Item, Program};
use derivcheck::source::SourceFile;
use derivcheck::syntax::parse_dc;

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

/// One block of statements in the style of the course's derivations, in both spellings.
const BLOCK: &str = "\
# logistic regression, one example
let σ(z) = 1 / (1 + exp(-z))
let sigma'(z) = sigma(z)*(1 - sigma(z))
let A_1 = σ(W_1 x + b_1)
let L = -(y log(A_1) + (1 − y) log(1 − A_1))
assume 0 < A_1 < 1
assume y ∈ {0, 1}
claim d/dz σ(z) = σ(z)·(1 − σ(z))
claim ∂L/∂A_1 = -y/A_1 + (1 - y)/(1 - A_1)
claim d/dx tanh(x)^2 = 2 tanh(x) (1 − tanh(x)²)
claim d/dw_{ij} Σ_{k=1}^{C} w_{ik} x_k = 1{j = k} x_j
derive d/dz σ(z)
  = -(1 + exp(-z))^(-2) · d/dz (1 + exp(-z))
  = exp(-z) / (1 + exp(-z))^2
  = σ(z)(1 − σ(z))
derive d/dx (3x^2 + 2.5e-1 x - 1/3)
  = 6x + 0.25
";

fn generated_file(target_bytes: usize) -> String {
    let mut text = String::with_capacity(target_bytes + BLOCK.len());
    while text.len() < target_bytes {
        text.push_str(BLOCK);
    }
    text
}

/// Prints every expression of the program (Unicode, 100 columns), returning the bytes written.
fn print_program(program: &Program) -> usize {
    let opts = PrintOptions::default();
    let show = |e: &derivcheck::expr::Expr| print::to_string(e, Format::Unicode, &opts).len();
    let mut n = 0;
    for item in &program.items {
        n += match item {
            Item::Def(d) => show(&d.body),
            Item::Assume(a) => match &a.fact {
                Fact::Compare(es, _) => es.iter().map(show).sum(),
                Fact::Member(e, _) => show(e),
            },
            Item::Depends(d) => show(&d.lo) + show(&d.hi),
            Item::Claim(c) => show(&c.lhs) + show(&c.rhs),
            Item::Derive(d) => {
                show(&d.start) + d.steps.iter().map(|s| show(&s.expr)).sum::<usize>()
            }
        };
    }
    n
}

fn bench_parse(c: &mut Criterion) {
    let text = generated_file(3 << 20);
    let file = SourceFile::new("bench.dc", text);
    let limits = Limits::default();
    let (ast, errors) = parse_dc(&file, &limits);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(lower(&ast, &limits).1.is_empty());

    // Throughput per CPU-second of this thread (criterion's figures are wall clock, which on a
    // machine shared with other jobs includes waiting for a core).
    let mb = file.text().len() as f64 / 1e6;
    let cpu = |f: &dyn Fn()| {
        let start = thread_cpu_seconds()?;
        let mut runs = 0u32;
        let mut spent = 0.0;
        while spent < 2.0 {
            f();
            runs += 1;
            spent = thread_cpu_seconds()? - start;
        }
        Some(mb * f64::from(runs) / spent)
    };
    let rates = [
        ("parse", cpu(&|| drop(black_box(parse_dc(&file, &limits))))),
        (
            "parse+lower",
            cpu(&|| {
                let (ast, _) = parse_dc(&file, &limits);
                drop(black_box(lower(&ast, &limits)));
            }),
        ),
        (
            "parse+lower+print",
            cpu(&|| {
                let (ast, _) = parse_dc(&file, &limits);
                let (program, _) = lower(&ast, &limits);
                black_box(print_program(&program));
            }),
        ),
    ];
    for (name, rate) in rates {
        if let Some(r) = rate {
            eprintln!("CPU time: {name:<18} {r:6.2} MB per CPU-second ({mb:.2} MB file)");
        }
    }

    let mut group = c.benchmark_group("dc");
    group.throughput(Throughput::Bytes(file.text().len() as u64));
    group.sample_size(20);
    group.bench_function("parse", |b| {
        b.iter(|| black_box(parse_dc(black_box(&file), &limits)))
    });
    group.bench_function("parse+lower", |b| {
        b.iter(|| {
            let (ast, _) = parse_dc(black_box(&file), &limits);
            black_box(lower(&ast, &limits))
        })
    });
    group.bench_function("parse+lower+print", |b| {
        b.iter(|| {
            let (ast, _) = parse_dc(black_box(&file), &limits);
            let (program, _) = lower(&ast, &limits);
            black_box(print_program(&program))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
