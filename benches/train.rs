//! Trainer speed: time per epoch of the formula path (backward pass on the compiled derivative
//! formulas) against a hand-written reference backprop on the same network, data, products
//! and optimiser, and against the forward pass alone; and the epoch as `train` runs it
//! (`trainer`: [`Step::run`], the batch cut by samples into parts that run at the same time,
//! the loss included).
//!
//! Data: `../shared/data/{diabetes,iris,digits}.csv` (fixed `split` column), so that
//! comparisons with other implementations use the same samples; the bundled diabetes and iris
//! stand in when the folder is missing. Configurations:
//! - diabetes 10→64 σ→1, identity + MSE, full batch and minibatch 32;
//! - iris 4→16 tanh→3, σ + BCE per class, full batch;
//! - digits 64→128 tanh→10, softmax + cross-entropy (the reference configuration; the formula
//!   path runs softmax.dc/softmaxce.dc), and σ + BCE per class for comparison, full batch and
//!   minibatch 32.
//!
//! `TRAIN_BENCH_PRECISION=f32` runs every path (the formula path, the reference and the
//! forward pass) with `f32` batch passes (`--precision f32`), parameters and Adam in `f64`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, Criterion};

use derivcheck::eval::Real;
use derivcheck::train::data::{self, CsvOptions, Prepared};
use derivcheck::train::matmul::{affine_par, matmul_par, row_sums_par, Mat, Write};
use derivcheck::train::net::{Gradients, NetSpec, Workspace};
use derivcheck::train::optim::OptimizerState;
use derivcheck::train::par::{split_mut, Pool};
use derivcheck::train::step::Step;
use derivcheck::train::{library, FormulaConfig, Init, Network, Optimizer, Task};

#[path = "common/cpu_time.rs"]
mod cpu_time;

fn shared(name: &str, target: &str, ignore: &[&str]) -> Option<Prepared> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    let text = std::fs::read_to_string(p).ok()?;
    let opts = CsvOptions {
        target: target.into(),
        ignore: ignore.iter().map(|s| s.to_string()).collect(),
        task: Task::Auto,
    };
    let d = data::from_csv(name, &text, &opts).ok()?;
    data::prepare(&d, 0.2, 0).ok()
}

fn bundled(name: &str) -> Prepared {
    data::prepare(&data::builtin(name, 0).expect("bundled"), 0.2, 0).expect("prepared")
}

fn network(sizes: &[usize], hidden: &str, output: &str, loss: &str) -> Network {
    let spec = NetSpec {
        sizes: sizes.to_vec(),
        hidden: vec![(hidden, library::activation(hidden).expect("activation"))],
        output: (output, library::output(output).expect("output")),
        loss: (loss, library::loss(loss).expect("loss")),
        formulas: FormulaConfig::default(),
        fuse: true,
    };
    Network::from_spec(&spec, Init::Auto, 0).expect("network")
}

/// Columns `lo..hi` of a `rows × n` matrix.
fn columns<T: Real>(m: &[T], rows: usize, n: usize, lo: usize, hi: usize, out: &mut Vec<T>) {
    out.clear();
    for r in 0..rows {
        out.extend_from_slice(&m[r * n + lo..r * n + hi]);
    }
}

/// The training split in `T`, converted once (as `train::fit` does).
struct Data<T> {
    x: Vec<T>,
    y: Vec<T>,
    n: usize,
    n_features: usize,
    n_outputs: usize,
}

impl<T: Real> Data<T> {
    fn of(d: &Prepared) -> Data<T> {
        Data {
            x: T::cast(&d.train.x).into_owned(),
            y: T::cast(&d.train.y).into_owned(),
            n: d.train.n,
            n_features: d.n_features,
            n_outputs: d.n_outputs,
        }
    }

    /// Calls `f(x, y, n)` on each minibatch of `bs` samples (`bs = 0`: the whole set, read in
    /// place), in order; a minibatch's columns are copied into `buf`.
    fn for_each_batch(
        &self,
        bs: usize,
        buf: &mut (Vec<T>, Vec<T>),
        mut f: impl FnMut(&[T], &[T], usize),
    ) {
        let n = self.n;
        let bs = if bs == 0 { n } else { bs };
        let mut lo = 0;
        while lo < n {
            let hi = (lo + bs).min(n);
            if bs == n {
                f(&self.x, &self.y, n);
            } else {
                columns(&self.x, self.n_features, n, lo, hi, &mut buf.0);
                columns(&self.y, self.n_outputs, n, lo, hi, &mut buf.1);
                f(&buf.0, &buf.1, hi - lo);
            }
            lo = hi;
        }
    }
}

/// One epoch of the formula path: forward (as a training step runs it, the hidden layers'
/// activations checked through the backward pass: `Network::forward_for_backward`), backward
/// on the compiled formulas, Adam step. (Not inlined, here and in the other paths' epochs, so that callgrind counts each path's
/// instructions under its own name.)
#[inline(never)]
fn epoch_formulas<T: Real>(
    net: &mut Network,
    d: &Data<T>,
    bs: usize,
    opt: &mut OptimizerState,
    ws: &mut Workspace<T>,
    grads: &mut Gradients,
    buf: &mut (Vec<T>, Vec<T>),
) {
    d.for_each_batch(bs, buf, |x, y, n| {
        net.forward_for_backward(x, n, ws).expect("forward");
        net.backward(x, y, ws, grads).expect("backward");
        opt.step(net.params_mut(), grads.slices());
    });
}

/// One epoch as `train` runs it: [`Step::run`] (the batch cut by samples, the loss
/// included), then the Adam step.
#[inline(never)]
fn epoch_trainer<T: Real>(
    net: &mut Network,
    d: &Data<T>,
    bs: usize,
    opt: &mut OptimizerState,
    step: &mut Step<T>,
    grads: &mut Gradients,
    buf: &mut (Vec<T>, Vec<T>),
) {
    d.for_each_batch(bs, buf, |x, y, n| {
        black_box(step.run(net, x, y, n, grads).expect("step"));
        opt.step(net.params_mut(), grads.slices());
    });
}

/// One epoch of forward passes only (the floor under any backward pass).
#[inline(never)]
fn epoch_forward<T: Real>(
    net: &Network,
    d: &Data<T>,
    bs: usize,
    ws: &mut Workspace<T>,
    buf: &mut Vec<T>,
) {
    let n = d.n;
    let bs = if bs == 0 { n } else { bs };
    let mut lo = 0;
    while lo < n {
        let hi = (lo + bs).min(n);
        let x: &[T] = if bs == n {
            &d.x
        } else {
            columns(&d.x, d.n_features, n, lo, hi, buf);
            buf
        };
        net.forward(x, hi - lo, ws).expect("forward");
        lo = hi;
    }
}

/// The output layer and loss of a configuration.
#[derive(Clone, Copy)]
enum Out {
    /// Identity + MSE.
    Mse,
    /// σ per class + BCE.
    SigmoidBce,
    /// Softmax + cross-entropy.
    SoftmaxCe,
}

impl Out {
    fn files(self, hidden: Hidden) -> (&'static str, &'static str, &'static str) {
        let h = match hidden {
            Hidden::Sigmoid => "sigmoid",
            Hidden::Tanh => "tanh",
        };
        match self {
            Out::Mse => (h, "identity", "mse"),
            Out::SigmoidBce => (h, "sigmoid", "bce"),
            Out::SoftmaxCe => (h, "softmax", "ce"),
        }
    }
}

#[derive(Clone, Copy)]
enum Hidden {
    Sigmoid,
    Tanh,
}

/// `f(lo, part)` over the parts of `out` (the cut of the formula path's elementwise passes).
fn par_map<T: Real>(pool: &Pool, out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let parts = pool.elementwise_parts(out.len());
    if parts <= 1 {
        f(0, out);
        return;
    }
    let mut cut = split_mut(out, parts);
    pool.run(&mut cut, |(lo, part)| f(*lo, part));
}

/// The hand-written reference: same layout and products (`train::matmul`), the same elementwise σ and
/// tanh as the formula path (`eval::vector` through `Real`), their derivatives written out
/// (a·(1 − a), 1 − a²), output delta written out
/// (2·(o − y) for identity + MSE, a − y for σ + BCE and for softmax + CE; the softmax is
/// exp(z − max z)/Σ_j exp(z_j − max z) per sample). In `T`, with the weights rounded to
/// `T` per step and the gradients widened to `f64`, as the formula path does. Kept in
/// benches and tests only.
struct Reference<T> {
    pool: Pool,
    hidden: Hidden,
    out: Out,
    e: Vec<T>,
    z: Vec<Vec<T>>,
    a: Vec<Vec<T>>,
    w: Vec<Vec<T>>,
    gw: Vec<T>,
    delta: Vec<T>,
    g: Vec<T>,
    grads: Gradients,
}

impl<T: Real> Reference<T> {
    fn new(hidden: Hidden, out: Out, pool: Pool) -> Reference<T> {
        Reference {
            pool,
            hidden,
            out,
            e: Vec::new(),
            z: Vec::new(),
            a: Vec::new(),
            w: Vec::new(),
            gw: Vec::new(),
            delta: Vec::new(),
            g: Vec::new(),
            grads: Gradients { layers: Vec::new() },
        }
    }

    fn step(&mut self, net: &mut Network, x: &[T], y: &[T], n: usize, opt: &mut OptimizerState) {
        let nl = net.layers.len();
        self.z.resize_with(nl, Vec::new);
        self.a.resize_with(nl, Vec::new);
        self.w.resize_with(nl, Vec::new);
        for li in 0..nl {
            let l = &net.layers[li];
            T::narrow_into(&l.weights, &mut self.w[li]);
            let w = T::as_f64_slice(&l.weights).unwrap_or(&self.w[li]);
            let z = &mut self.z[li];
            let input: &[T] = if li == 0 { x } else { &self.a[li - 1] };
            affine_par(
                &self.pool,
                z,
                Mat::new(w, l.n_out, l.n_in).unwrap(),
                Mat::new(input, l.n_in, n).unwrap(),
                &l.bias,
            )
            .unwrap();
            let last = li + 1 == nl;
            let a = &mut self.a[li];
            a.resize(z.len(), T::ZERO);
            if last {
                match self.out {
                    Out::Mse => a.copy_from_slice(z),
                    Out::SigmoidBce => T::sigmoid_slice(z, a),
                    Out::SoftmaxCe => {
                        let k = l.n_out;
                        let e = &mut self.e;
                        e.clear();
                        e.resize(n, T::NEG_INFINITY);
                        for r in 0..k {
                            for (m, v) in e.iter_mut().zip(&z[r * n..(r + 1) * n]) {
                                *m = m.max(*v);
                            }
                        }
                        for r in 0..k {
                            for (o, (v, m)) in a[r * n..(r + 1) * n]
                                .iter_mut()
                                .zip(z[r * n..(r + 1) * n].iter().zip(e.iter()))
                            {
                                *o = *v - *m;
                            }
                        }
                        let shifted = a.clone();
                        T::exp_slice(&shifted, a);
                        e.iter_mut().for_each(|s| *s = T::ZERO);
                        for r in 0..k {
                            for (s, &o) in e.iter_mut().zip(&a[r * n..(r + 1) * n]) {
                                *s += o;
                            }
                        }
                        for r in 0..k {
                            for (o, &s) in a[r * n..(r + 1) * n].iter_mut().zip(e.iter()) {
                                *o = *o / s;
                            }
                        }
                    }
                }
            } else {
                let f = match self.hidden {
                    Hidden::Sigmoid => T::sigmoid_slice,
                    Hidden::Tanh => T::tanh_slice,
                };
                par_map(&self.pool, a, |lo, part| f(&z[lo..lo + part.len()], part));
            }
        }
        let inv_n = T::from_f64(1.0 / n as f64);
        let two = T::from_f64(2.0);
        let out = &self.a[nl - 1];
        self.delta.clear();
        if !matches!(self.out, Out::Mse) {
            self.delta
                .extend(out.iter().zip(y).map(|(&a, &t)| (a - t) * inv_n));
        } else {
            self.delta
                .extend(out.iter().zip(y).map(|(&o, &t)| two * (o - t) * inv_n));
        }
        self.grads.layers.resize_with(nl, Default::default);
        for li in (0..nl).rev() {
            let l = &net.layers[li];
            let input: &[T] = if li == 0 { x } else { &self.a[li - 1] };
            let (gw, gb) = &mut self.grads.layers[li];
            let d = Mat::new(&self.delta, l.n_out, n).unwrap();
            let widen = T::as_f64_vec(gw).is_none();
            let into = T::as_f64_vec(gw).unwrap_or(&mut self.gw);
            into.resize(l.weights.len(), T::ZERO);
            matmul_par(
                &self.pool,
                into,
                d,
                Mat::new(input, l.n_in, n).unwrap().t(),
                Write::Overwrite,
            )
            .unwrap();
            if widen {
                gw.clear();
                gw.extend(self.gw.iter().map(|v| v.to_f64()));
            }
            row_sums_par(&self.pool, &self.delta, n, gb);
            if li == 0 {
                break;
            }
            self.g.clear();
            self.g.resize(l.n_in * n, T::ZERO);
            let w = T::as_f64_slice(&l.weights).unwrap_or(&self.w[li]);
            matmul_par(
                &self.pool,
                &mut self.g,
                Mat::new(w, l.n_out, l.n_in).unwrap().t(),
                d,
                Write::Overwrite,
            )
            .unwrap();
            let a = &self.a[li - 1];
            let g = &self.g;
            self.delta.resize(g.len(), T::ZERO);
            let hidden = self.hidden;
            par_map(&self.pool, &mut self.delta, |lo, part| {
                let (g, a) = (&g[lo..lo + part.len()], &a[lo..lo + part.len()]);
                match hidden {
                    Hidden::Sigmoid => {
                        for ((d, &g), &a) in part.iter_mut().zip(g).zip(a) {
                            *d = g * a * (T::ONE - a);
                        }
                    }
                    Hidden::Tanh => {
                        for ((d, &g), &a) in part.iter_mut().zip(g).zip(a) {
                            *d = g * (T::ONE - a * a);
                        }
                    }
                }
            });
        }
        opt.step(net.params_mut(), self.grads.slices());
    }

    #[inline(never)]
    fn epoch(
        &mut self,
        net: &mut Network,
        d: &Data<T>,
        bs: usize,
        opt: &mut OptimizerState,
        buf: &mut (Vec<T>, Vec<T>),
    ) {
        d.for_each_batch(bs, buf, |x, y, n| self.step(net, x, y, n, opt));
    }
}

struct Case {
    name: &'static str,
    data: Prepared,
    sizes: Vec<usize>,
    hidden: Hidden,
    out: Out,
    batch: usize,
}

fn cases() -> Vec<Case> {
    let diabetes = shared("diabetes.csv", "y", &["y_raw"]).unwrap_or_else(|| bundled("diabetes"));
    let iris = shared("iris.csv", "label", &[]).unwrap_or_else(|| bundled("iris"));
    let mut v = vec![
        Case {
            name: "diabetes_10-64sigmoid-1_mse_full",
            data: diabetes.clone(),
            sizes: vec![10, 64, 1],
            hidden: Hidden::Sigmoid,
            out: Out::Mse,
            batch: 0,
        },
        Case {
            name: "diabetes_10-64sigmoid-1_mse_mb32",
            data: diabetes,
            sizes: vec![10, 64, 1],
            hidden: Hidden::Sigmoid,
            out: Out::Mse,
            batch: 32,
        },
        Case {
            name: "iris_4-16tanh-3_bce_full",
            data: iris,
            sizes: vec![4, 16, 3],
            hidden: Hidden::Tanh,
            out: Out::SigmoidBce,
            batch: 0,
        },
    ];
    if let Some(digits) = shared("digits.csv", "label", &[]) {
        for (name, out, batch) in [
            ("digits_64-128tanh-10_softmaxce_full", Out::SoftmaxCe, 0),
            ("digits_64-128tanh-10_softmaxce_mb32", Out::SoftmaxCe, 32),
            ("digits_64-128tanh-10_bce_full", Out::SigmoidBce, 0),
            ("digits_64-128tanh-10_bce_mb32", Out::SigmoidBce, 32),
        ] {
            v.push(Case {
                name,
                data: digits.clone(),
                sizes: vec![64, 128, 10],
                hidden: Hidden::Tanh,
                out,
                batch,
            });
        }
    }
    v
}

/// The pool of `TRAIN_BENCH_THREADS` threads (default 1; 0 = one per core), shared by
/// both paths.
fn bench_pool() -> Pool {
    let threads = std::env::var("TRAIN_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    Pool::new(threads).expect("threads")
}

/// `TRAIN_BENCH_PRECISION=f32` for `f32` batch passes; `f64` otherwise.
fn f32_passes() -> bool {
    std::env::var("TRAIN_BENCH_PRECISION").is_ok_and(|p| p == "f32")
}

fn bench_train(c: &mut Criterion) {
    if f32_passes() {
        bench_train_in::<f32>(c, "train_epoch_f32");
    } else {
        bench_train_in::<f64>(c, "train_epoch");
    }
}

/// Epochs after which a criterion path starts training again from the initial network.
const RESTART_EPOCHS: usize = 50;

/// A network and its optimiser, put back to the initial network and a fresh Adam every
/// [`RESTART_EPOCHS`] epochs, the same for every path. Criterion runs thousands of epochs:
/// trained that long, σ outputs reach exactly 0 or 1 in floating point, where the loss
/// value (which the trainer path computes) is not finite and the step fails.
struct Restarts<'a> {
    base: &'a Network,
    net: Network,
    opt: OptimizerState,
    epochs: usize,
}

impl<'a> Restarts<'a> {
    fn new(base: &'a Network) -> Restarts<'a> {
        Restarts {
            base,
            net: base.clone(),
            opt: OptimizerState::new(Optimizer::adam(1e-3)),
            epochs: 0,
        }
    }

    /// The network and optimiser for the next epoch (restarted when due).
    fn next(&mut self) -> (&mut Network, &mut OptimizerState) {
        if self.epochs == RESTART_EPOCHS {
            self.net.clone_from(self.base);
            self.opt = OptimizerState::new(Optimizer::adam(1e-3));
            self.epochs = 0;
        }
        self.epochs += 1;
        (&mut self.net, &mut self.opt)
    }
}

fn bench_train_in<T: Real>(c: &mut Criterion, group: &str) {
    let pool = bench_pool();
    for case in cases() {
        let (hidden, output, loss) = case.out.files(case.hidden);
        let mut g = c.benchmark_group(format!("{group}/{}", case.name));
        g.sample_size(30);
        let base = network(&case.sizes, hidden, output, loss);
        let data = Data::<T>::of(&case.data);

        let mut run = Restarts::new(&base);
        let (mut ws, mut grads, mut buf) = (
            Workspace::<T>::with_pool(pool.clone()),
            Gradients { layers: Vec::new() },
            (Vec::new(), Vec::new()),
        );
        g.bench_function("formulas", |b| {
            b.iter(|| {
                let (net, opt) = run.next();
                pool.install(|| {
                    epoch_formulas(net, &data, case.batch, opt, &mut ws, &mut grads, &mut buf)
                });
                black_box(&net.layers);
            })
        });

        let mut run = Restarts::new(&base);
        let mut reference = Reference::<T>::new(case.hidden, case.out, pool.clone());
        g.bench_function("hand_written", |b| {
            b.iter(|| {
                let (net, opt) = run.next();
                pool.install(|| reference.epoch(net, &data, case.batch, opt, &mut buf));
                black_box(&net.layers);
            })
        });

        let mut run = Restarts::new(&base);
        let mut step = Step::<T>::new(pool.clone());
        g.bench_function("trainer", |b| {
            b.iter(|| {
                let (net, opt) = run.next();
                pool.install(|| {
                    epoch_trainer(net, &data, case.batch, opt, &mut step, &mut grads, &mut buf)
                });
                black_box(&net.layers);
            })
        });

        let net = base.clone();
        let mut fbuf = Vec::new();
        g.bench_function("forward_only", |b| {
            b.iter(|| {
                pool.install(|| epoch_forward(&net, &data, case.batch, &mut ws, &mut fbuf));
                black_box(ws.output());
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_train);

/// Under load from other processes, criterion's separate runs drift apart; this mode runs
/// the three paths in turn, 40 rounds, and keeps each one's fastest round in wall-clock and
/// in CPU time, so that the ratio compares like with like
/// (`TRAIN_BENCH_INTERLEAVED=1 cargo bench --bench train`; `TRAIN_BENCH_FILTER=digits`
/// keeps the cases whose name contains the string; `TRAIN_BENCH_THREADS=2` runs both paths
/// on two threads, 0 on one per core, 1 by default; `TRAIN_BENCH_ROUNDS=2` runs two rounds
/// instead of 40, for callgrind, where each path's epoch is a function of its own:
/// `epoch_formulas`, `Reference::epoch`, `epoch_forward`, `epoch_trainer`).
fn interleaved() {
    if f32_passes() {
        interleaved_in::<f32>();
    } else {
        interleaved_in::<f64>();
    }
}

fn interleaved_in<T: Real>() {
    let filter = std::env::var("TRAIN_BENCH_FILTER").unwrap_or_default();
    let rounds = std::env::var("TRAIN_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
        .unwrap_or(40);
    let pool = bench_pool();
    println!("threads: {}, batch passes in {}", pool.threads(), T::NAME);
    for case in cases()
        .into_iter()
        .filter(|c| c.name.contains(filter.as_str()))
    {
        let (hidden, output, loss) = case.out.files(case.hidden);
        let base = network(&case.sizes, hidden, output, loss);
        let data = Data::<T>::of(&case.data);
        let mut net_f = base.clone();
        let mut net_h = base.clone();
        let net_o = base.clone();
        let mut net_t = base.clone();
        let mut opt_t = OptimizerState::new(Optimizer::adam(1e-3));
        let mut step = Step::<T>::new(pool.clone());
        let mut opt_f = OptimizerState::new(Optimizer::adam(1e-3));
        let mut opt_h = OptimizerState::new(Optimizer::adam(1e-3));
        let (mut ws, mut grads, mut buf) = (
            Workspace::<T>::with_pool(pool.clone()),
            Gradients { layers: Vec::new() },
            (Vec::new(), Vec::new()),
        );
        let mut reference = Reference::<T>::new(case.hidden, case.out, pool.clone());
        let mut fbuf = Vec::new();
        // Epochs per round: one for digits, so that the fastest round can be one in which
        // the other processes left both cores free.
        let k = if case.name.starts_with("digits") {
            1
        } else {
            30
        };
        // Per path: fastest round in wall-clock time and in CPU time (all threads).
        let mut best = [(f64::INFINITY, f64::INFINITY); 4];
        let mut time = |slot: usize, run: &mut dyn FnMut()| {
            let (t, c) = (std::time::Instant::now(), cpu_seconds());
            for _ in 0..k {
                run();
            }
            let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
            if let Some(b) = best.get_mut(slot) {
                b.0 = b.0.min(wall / k as f64);
                b.1 = b.1.min(cpu / k as f64);
            }
        };
        // Each path's epoch runs on a worker of the pool when its passes are cut, as
        // `train::fit` runs its epochs.
        let bs = if case.batch == 0 {
            case.data.train.n
        } else {
            case.batch
        };
        let par = base.runs_parallel(&pool, bs);
        let install = |f: &mut (dyn FnMut() + Send)| {
            if par {
                pool.install(f)
            } else {
                f()
            }
        };
        for _ in 0..rounds {
            time(0, &mut || {
                install(&mut || {
                    epoch_formulas(
                        &mut net_f, &data, case.batch, &mut opt_f, &mut ws, &mut grads, &mut buf,
                    )
                })
            });
            time(1, &mut || {
                install(&mut || {
                    reference.epoch(&mut net_h, &data, case.batch, &mut opt_h, &mut buf)
                })
            });
            time(2, &mut || {
                install(&mut || epoch_forward(&net_o, &data, case.batch, &mut ws, &mut fbuf))
            });
            time(3, &mut || {
                install(&mut || {
                    epoch_trainer(
                        &mut net_t, &data, case.batch, &mut opt_t, &mut step, &mut grads, &mut buf,
                    )
                })
            });
        }
        let [(bf, cf), (bh, ch), (bo, co), (bt, ct)] = best;
        black_box(&net_f.layers);
        black_box(&net_h.layers);
        black_box(&net_t.layers);
        println!(
            "{:32} wall: formulas {:7.1} us  hand {:7.1} us  ratio {:.3}  forward {:7.1} us  \
             trainer {:7.1} us",
            case.name,
            bf * 1e6,
            bh * 1e6,
            bf / bh,
            bo * 1e6,
            bt * 1e6
        );
        println!(
            "{:32}  cpu: formulas {:7.1} us  hand {:7.1} us  ratio {:.3}  forward {:7.1} us  \
             trainer {:7.1} us",
            "",
            cf * 1e6,
            ch * 1e6,
            cf / ch,
            co * 1e6,
            ct * 1e6
        );
    }
}

/// CPU time of this process (every thread); 0 where the clock cannot be read.
fn cpu_seconds() -> f64 {
    cpu_time::process_cpu_seconds().unwrap_or(0.0)
}

fn main() {
    if std::env::var_os("TRAIN_BENCH_INTERLEAVED").is_some() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
