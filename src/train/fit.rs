//! The training loop: seeded minibatches, one optimiser step per batch, the test loss and
//! metric after every epoch, early stop on a test-loss plateau, NaN detection with the epoch
//! and layer where it happened. Progress goes to a callback; this module prints nothing.

use super::data::{Prepared, Split};
use super::net::{Gradients, Layer, NetError, Network, Workspace};
use super::optim::{Optimizer, OptimizerState};
use super::par::Pool;
use super::rng::Rng;
use super::step::Step;
use crate::eval::Real;

/// The floating-point type of the batch passes (forward, loss, backward). Parameters, the
/// optimiser, the gradient check and the final metrics are `f64` either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// `f64` passes: the default.
    #[default]
    F64,
    /// `f32` passes: weights rounded to `f32` at each forward pass, products, tapes and
    /// deltas in `f32`, gradients widened to `f64` for the optimiser. About twice the
    /// throughput of `f64` on the large products (eight lanes instead of four).
    F32,
}

impl Precision {
    /// `f64` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => f64::NAME,
            Precision::F32 => f32::NAME,
        }
    }
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Epochs (at most).
    pub epochs: usize,
    /// Samples per batch; 0 for the full batch.
    pub batch_size: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Seed of the batch order.
    pub seed: u64,
    /// Stop when the test loss has not improved by a relative `min_delta` for this many
    /// epochs (and restore the best weights); `None` trains all epochs.
    pub patience: Option<usize>,
    /// Relative improvement that counts (default 1e-4).
    pub min_delta: f64,
    /// The threads the passes run on (one by default); the results are the same bits with
    /// any number of threads (see [`par`](super::par)).
    pub pool: Pool,
    /// The floating-point type of the batch passes.
    pub precision: Precision,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 200,
            batch_size: 32,
            optimizer: Optimizer::adam(0.01),
            seed: 0,
            patience: None,
            min_delta: 1e-4,
            pool: Pool::single(),
            precision: Precision::F64,
        }
    }
}

/// The quality measure of the task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Fraction of samples classified right (argmax over outputs; one output: > ½).
    Accuracy(f64),
    /// Coefficient of determination 1 − SS_res/SS_tot.
    R2(f64),
}

impl Metric {
    /// The value.
    pub fn value(self) -> f64 {
        match self {
            Metric::Accuracy(v) | Metric::R2(v) => v,
        }
    }

    /// `accuracy` or `r2`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy(_) => "accuracy",
            Metric::R2(_) => "r2",
        }
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Loss on the test split after the epoch.
    pub test_loss: f64,
    /// Metric on the test split after the epoch.
    pub test_metric: Metric,
}

/// What training did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Every epoch.
    pub history: Vec<EpochStats>,
    /// Epoch whose weights the network holds at the end.
    pub best_epoch: usize,
    /// True when the plateau rule stopped training.
    pub stopped_early: bool,
}

/// What to say after a non-finite `what`. The activations and the gradients grow past the
/// floating-point range when a run diverges; the loss value (computed after finite
/// activations) also where an output rounds to a value at which the loss's formula is
/// infinite or undefined, such as σ(z) to exactly 0 or 1 (|z| beyond about 37 in f64, 17 in
/// f32) under a logarithm, which a long run with a large learning rate reaches without
/// diverging.
fn advice(what: &str) -> &'static str {
    if what == "loss" {
        "at finite outputs: an output rounded to a value where the loss's formula is infinite \
         or undefined, such as σ = 0 or 1 under a log, or a target outside the loss's domain; \
         try a smaller learning rate or fewer epochs"
    } else {
        "try a smaller learning rate"
    }
}

/// Why training stopped with an error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// A value became NaN or infinite.
    #[error("epoch {epoch}: {what} of layer {layer} became NaN or infinite ({})", advice(.what))]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based layer.
        layer: usize,
        /// What became non-finite.
        what: &'static str,
    },
    /// Shapes do not fit the data.
    #[error("{0}")]
    Shape(String),
}

fn at_epoch(epoch: usize) -> impl Fn(NetError) -> TrainError {
    move |e| match e {
        NetError::NonFinite { layer, what } => TrainError::NonFinite { epoch, layer, what },
        NetError::Shape(s) | NetError::TooLarge(s) => TrainError::Shape(s),
    }
}

/// Copies the columns `idx` of a `rows × n` matrix into `out` (`rows × idx.len()`).
fn gather<T: Real>(src: &[T], rows: usize, n: usize, idx: &[usize], out: &mut Vec<T>) {
    out.clear();
    for r in 0..rows {
        let row = src.get(r * n..(r + 1) * n).unwrap_or(&[]);
        out.extend(idx.iter().map(|&i| row.get(i).copied().unwrap_or(T::ZERO)));
    }
}

/// The loss and metric of `net` on a split, in `f64`.
///
/// # Errors
///
/// Non-finite values or shapes, as [`Network::forward`].
pub fn evaluate(
    net: &Network,
    split: &Split,
    ws: &mut Workspace,
) -> Result<(f64, Metric), NetError> {
    evaluate_in(net, split, &split.x, &split.y, ws)
}

/// [`evaluate`] in `T`, with the split's inputs and targets already as `T` (`x`, `y`).
fn evaluate_in<T: Real>(
    net: &Network,
    split: &Split,
    x: &[T],
    y: &[T],
    ws: &mut Workspace<T>,
) -> Result<(f64, Metric), NetError> {
    net.forward(x, split.n, ws)?;
    let loss = net.loss(y, ws)?;
    let out = ws.output();
    let metric = match &split.labels {
        Some(labels) => {
            let pred = classes(out, net.n_outputs(), split.n);
            let right = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
            Metric::Accuracy(right as f64 / split.n.max(1) as f64)
        }
        None => Metric::R2(r2(out, &split.y)),
    };
    Ok((loss, metric))
}

/// Class per sample from outputs `k × n`: argmax, or `> ½` for one output.
pub fn classes<T: Real>(out: &[T], k: usize, n: usize) -> Vec<usize> {
    let at = |i: usize| out.get(i).map_or(f64::NEG_INFINITY, |v| v.to_f64());
    (0..n)
        .map(|j| {
            if k == 1 {
                usize::from(at(j) > 0.5)
            } else {
                (0..k)
                    .max_by(|&a, &b| at(a * n + j).total_cmp(&at(b * n + j)))
                    .unwrap_or(0)
            }
        })
        .collect()
}

/// R² of predictions against targets (any consistent scaling).
pub fn r2<T: Real>(pred: &[T], y: &[f64]) -> f64 {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let ss_tot: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let ss_res: f64 = pred
        .iter()
        .zip(y)
        .map(|(p, v)| (p.to_f64() - v) * (p.to_f64() - v))
        .sum();
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        0.0
    }
}

/// Trains `net` on `data.train`, evaluating on `data.test` after every epoch and calling
/// `on_epoch` with the figures.
///
/// # Errors
///
/// [`TrainError::NonFinite`] with the epoch and layer where a value stopped being finite;
/// [`TrainError::Shape`] when the network does not fit the data.
pub fn train(
    net: &mut Network,
    data: &Prepared,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<TrainReport, TrainError> {
    match cfg.precision {
        Precision::F64 => train_in::<f64>(net, data, cfg, on_epoch),
        Precision::F32 => train_in::<f32>(net, data, cfg, on_epoch),
    }
}

/// [`train`] with batch passes in `T`. The data is converted to `T` once (borrowed for
/// `f64`).
fn train_in<T: Real>(
    net: &mut Network,
    data: &Prepared,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<TrainReport, TrainError> {
    if net.n_inputs() != data.n_features || net.n_outputs() != data.n_outputs {
        return Err(TrainError::Shape(format!(
            "the network maps {} inputs to {} outputs; the data has {} features and needs {} outputs",
            net.n_inputs(),
            net.n_outputs(),
            data.n_features,
            data.n_outputs
        )));
    }
    let train = &data.train;
    let (train_x, train_y) = (T::cast(&train.x), T::cast(&train.y));
    let (test_x, test_y) = (T::cast(&data.test.x), T::cast(&data.test.y));
    let n = train.n;
    let bs = if cfg.batch_size == 0 || cfg.batch_size > n {
        n
    } else {
        cfg.batch_size
    };
    let mut rng = Rng::new(cfg.seed ^ 0xba7c_4000);
    let mut order: Vec<usize> = (0..n).collect();
    let mut opt = OptimizerState::new(cfg.optimizer);
    let mut step = Step::<T>::new(cfg.pool.clone());
    let mut eval_ws = Workspace::<T>::with_pool(cfg.pool.clone());
    let mut grads = Gradients { layers: Vec::new() };
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Vec<Layer>)> = None;
    let mut since_best = 0usize;
    let mut stopped_early = false;
    for epoch in 1..=cfg.epochs {
        let err = at_epoch(epoch);
        if bs < n {
            rng.shuffle(&mut order);
        }
        // The epoch's passes run on a worker of the pool when they are cut for its threads
        // (see `par`): the same bits, fewer wake-ups of sleeping threads.
        let parallel =
            net.runs_parallel(&cfg.pool, bs) || net.runs_parallel(&cfg.pool, data.test.n);
        let mut epoch_body = || -> Result<_, TrainError> {
            let mut loss_sum = 0.0;
            for chunk in order.chunks(bs) {
                let (x, y): (&[T], &[T]) = if bs == n {
                    (&train_x, &train_y)
                } else {
                    gather(&train_x, data.n_features, n, chunk, &mut xb);
                    gather(&train_y, data.n_outputs, n, chunk, &mut yb);
                    (&xb, &yb)
                };
                let loss = step.run(net, x, y, chunk.len(), &mut grads).map_err(&err)?;
                loss_sum += loss * chunk.len() as f64;
                opt.step(net.params_mut(), grads.slices());
            }
            let test =
                evaluate_in(net, &data.test, &test_x, &test_y, &mut eval_ws).map_err(&err)?;
            Ok((loss_sum, test))
        };
        let (loss_sum, test) = if parallel {
            cfg.pool.install(epoch_body)?
        } else {
            epoch_body()?
        };
        let (test_loss, test_metric) = test;
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / n.max(1) as f64,
            test_loss,
            test_metric,
        };
        on_epoch(&stats);
        history.push(stats);
        if let Some(patience) = cfg.patience {
            let improved = best
                .as_ref()
                .is_none_or(|(b, _, _)| test_loss < b - cfg.min_delta * b.abs());
            if improved {
                best = Some((test_loss, epoch, net.layers.clone()));
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= patience {
                    stopped_early = true;
                    break;
                }
            }
        }
    }
    let last = history.last().map_or(0, |s| s.epoch);
    let best_epoch = match best {
        Some((_, e, layers)) if stopped_early => {
            net.layers = layers;
            e
        }
        _ => last,
    };
    Ok(TrainReport {
        history,
        best_epoch,
        stopped_early,
    })
}
