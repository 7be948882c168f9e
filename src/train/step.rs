//! One training step's passes — forward, loss, backward — over a batch cut by samples into
//! parts that run at the same time.
//!
//! Why by samples: cutting each product and each elementwise pass of a step between the
//! threads ([`par`]) costs a fork and a join per pass, nine per step on the digits
//! network, and between passes the other thread idles; on this machine an idle worker falls
//! asleep within about 50 µs, and the forking thread then runs the handed-over half itself.
//! Two threads gave 1.0–1.4× on a step. Cut by samples, a step has one fork and one join:
//! each part runs the whole forward and backward pass of its columns (`Mat::columns` of the
//! input, no copy), and the parts' gradients are added at the end.
//!
//! The number of parts, [`sample_parts`], depends on the network's shape and the batch size
//! only, never on the thread count, and the parts' gradients are added in part order, so a
//! seeded run gives the same bits with 1, 2 or more threads (with one thread the parts run one
//! after the other). A batch too small to be worth cutting is one part, computed exactly as
//! [`Network::forward`], [`Network::loss`] and [`Network::backward`] compute it.
//!
//! With several parts, the mean loss is the compensated sum of the parts' compensated sums of
//! their per-sample values, in part order, over the whole batch's `n`, and each part's backward pass scales by that
//! `1/n`, so that the sum of the parts' gradients is the gradient of the batch's mean loss. A
//! weight's gradient is then a sum of `parts` partial products instead of one product over
//! all samples: the same value up to rounding, not the same bits as one part.

use super::matmul::Mat;
use super::net::{CompensatedSum, Gradients, NetError, Network, Workspace};
use super::par::{self, Pool};
use crate::eval::Real;

/// Most parts a batch is cut into: two, for the two-core machine these figures come from
/// (see [`par::MAX_PRODUCT_PARTS`]; changing it changes the bits of a run, not their
/// reproducibility).
pub const MAX_SAMPLE_PARTS: usize = 2;

/// Multiply-adds of a step's products (about 3·n·Σ units·inputs) before its batch is cut:
/// about 100 µs of one core in `f64`. A digits full batch (1437 samples through 64 → 128 →
/// 10) needs 41 million and is cut; a digits minibatch of 32 (0.9 million) and a diabetes full
/// batch (0.75 million) are not: their passes are too short for a hand-over to pay.
pub const STEP_PART_WORK: usize = 1 << 22;

/// Parts a step over `n` samples of `net` is cut into: a function of the shape only.
pub fn sample_parts(net: &Network, n: usize) -> usize {
    let per_sample: usize = net
        .layers
        .iter()
        .map(|l| l.n_out.saturating_mul(l.n_in))
        .fold(0, usize::saturating_add);
    let work = per_sample.saturating_mul(3).saturating_mul(n);
    if work >= STEP_PART_WORK {
        MAX_SAMPLE_PARTS.min(n.max(1))
    } else {
        1
    }
}

/// The buffers of one part: its own workspace and gradients, its targets' columns.
#[derive(Debug)]
struct Part<T> {
    ws: Workspace<T>,
    grads: Gradients,
    y: Vec<T>,
    /// Columns `lo..hi` of the batch.
    lo: usize,
    hi: usize,
    result: Result<(), NetError>,
    /// The sum of the part's per-sample loss values.
    loss_sum: f64,
}

/// A training step's passes over a batch, cut by samples ([`sample_parts`]) and run on a
/// pool. It keeps its buffers between steps.
#[derive(Debug)]
pub struct Step<T> {
    pool: Pool,
    parts: Vec<Part<T>>,
}

impl<T: Real> Step<T> {
    /// Empty buffers (they grow on first use); the parts run on `pool`.
    pub fn new(pool: Pool) -> Step<T> {
        Step {
            pool,
            parts: Vec::new(),
        }
    }

    /// Forward, loss and backward over `x` (`n_inputs × n`) against `y` (`n_outputs × n`):
    /// writes the gradient of the batch's mean loss into `grads` and returns that loss.
    ///
    /// # Errors
    ///
    /// As [`Network::forward`], [`Network::loss`] and [`Network::backward`] on the whole
    /// batch: the error those would report first (an earlier layer's activations before a
    /// later one's, activations before the loss, the loss before a gradient, a later layer's
    /// gradient before an earlier one's), whichever part it arose in.
    pub fn run(
        &mut self,
        net: &Network,
        x: &[T],
        y: &[T],
        n: usize,
        grads: &mut Gradients,
    ) -> Result<f64, NetError> {
        let x = Mat::new(x, net.n_inputs(), n)?;
        if y.len() != net.n_outputs().saturating_mul(n) {
            return Err(NetError::Shape(format!(
                "targets have {} values, expected {}×{n}",
                y.len(),
                net.n_outputs()
            )));
        }
        net.check_batch(n)?;
        let n_parts = sample_parts(net, n);
        let pool = &self.pool;
        self.parts.resize_with(n_parts, || Part {
            ws: Workspace::with_pool(pool.clone()),
            grads: Gradients { layers: Vec::new() },
            y: Vec::new(),
            lo: 0,
            hi: 0,
            result: Ok(()),
            loss_sum: 0.0,
        });
        self.parts.truncate(n_parts);
        if n_parts == 1 {
            // One part: exactly the whole-batch passes.
            if let Some(part) = self.parts.first_mut() {
                let ws = &mut part.ws;
                net.forward_in(x, ws, true)?;
                let loss = net.loss(y, ws)?;
                net.backward_in(x, y, ws, grads, 1.0 / n.max(1) as f64)?;
                return Ok(loss);
            }
        }
        let inv_n = 1.0 / n.max(1) as f64;
        let n_out = net.n_outputs();
        for (p, part) in self.parts.iter_mut().enumerate() {
            (part.lo, part.hi) = par::range(n, n_parts, p);
        }
        self.pool.run(&mut self.parts, |part| {
            part.result = run_part(net, x, y, n, n_out, inv_n, part);
        });
        let n_layers = net.layers.len();
        let first_error = self
            .parts
            .iter()
            .filter_map(|p| p.result.as_ref().err())
            .min_by_key(|e| error_rank(e, n_layers));
        // Shapes, activations and a part's own loss come before the batch's loss.
        if let Some(err) = first_error.filter(|e| error_rank(e, n_layers).0 <= LOSS_RANK) {
            return Err(err.clone());
        }
        let mut sum = CompensatedSum::default();
        sum.add(&self.parts.iter().map(|p| p.loss_sum).collect::<Vec<f64>>());
        let loss = sum.total() / n as f64;
        if !loss.is_finite() {
            return Err(NetError::NonFinite {
                layer: n_layers,
                what: "loss",
            });
        }
        if let Some(err) = first_error {
            return Err(err.clone());
        }
        add_gradients(&self.parts, grads);
        Ok(loss)
    }
}

/// Forward, loss values and backward of one part, its backward pass scaled by the whole
/// batch's `inv_n`.
fn run_part<T: Real>(
    net: &Network,
    x: Mat<'_, T>,
    y: &[T],
    n: usize,
    n_out: usize,
    inv_n: f64,
    part: &mut Part<T>,
) -> Result<(), NetError> {
    let (lo, hi) = (part.lo, part.hi);
    let xp = x.columns(lo, hi)?;
    part.y.clear();
    for r in 0..n_out {
        part.y
            .extend_from_slice(y.get(r * n + lo..r * n + hi).unwrap_or(&[]));
    }
    net.forward_in(xp, &mut part.ws, true)?;
    part.loss_sum = net.loss_sum(&part.y, &mut part.ws)?;
    net.backward_in(xp, &part.y, &mut part.ws, &mut part.grads, inv_n)
}

/// [`error_rank`] of a non-finite loss.
const LOSS_RANK: u8 = 2;

/// The order in which the whole-batch passes would have met `err`: shapes first, then
/// activations layer by layer, the loss, and gradients from the last layer back.
fn error_rank(err: &NetError, n_layers: usize) -> (u8, usize) {
    match err {
        NetError::Shape(_) | NetError::TooLarge(_) => (0, 0),
        NetError::NonFinite { what: "loss", .. } => (LOSS_RANK, 0),
        NetError::NonFinite {
            what: "gradient",
            layer,
        } => (3, n_layers.saturating_sub(*layer)),
        NetError::NonFinite { layer, .. } => (1, *layer),
    }
}

/// `grads` = Σ over parts (in part order) of the parts' gradients.
fn add_gradients<T>(parts: &[Part<T>], grads: &mut Gradients) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    grads.layers.clone_from(&first.grads.layers);
    for part in rest {
        for ((gw, gb), (pw, pb)) in grads.layers.iter_mut().zip(&part.grads.layers) {
            gw.iter_mut().zip(pw).for_each(|(g, p)| *g += p);
            gb.iter_mut().zip(pb).for_each(|(g, p)| *g += p);
        }
    }
}
