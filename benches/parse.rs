//! Parser throughput on a large generated file of typical statements (target: at least
//! 20 MB/s for `parse_dc`). Run with `cargo bench --bench parse`; criterion reports MiB/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use derivcheck::limits::Limits;
use derivcheck::lower::lower;
use derivcheck::source::SourceFile;
use derivcheck::syntax::parse_dc;

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

fn bench_parse(c: &mut Criterion) {
    let text = generated_file(3 << 20);
    let file = SourceFile::new("bench.dc", text);
    let limits = Limits::default();
    let (ast, errors) = parse_dc(&file, &limits);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(lower(&ast, &limits).1.is_empty());

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
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
