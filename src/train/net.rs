//! The network: fully connected layers, each `Z = W·A_prev + b`, `A = f(Z)`, with the matrix
//! products done by [`matmul`](super::matmul) (the `gemm` crate), and the backward pass made of
//! the compiled formulas of [`formulas`](super::formulas):
//!
//! - output layer: `δ_L = fused(A_L, Y)/n` when a fused delta was found, else
//!   `δ_L = (∂L/∂A)(A_L, Y)/n · f'` (the activation's backward tape multiplies);
//! - hidden layers: `δ_l = (W_{l+1}ᵀ·δ_{l+1}) · f_l'` (the backward tape again);
//! - `∂E/∂W_l = δ_l·A_{l−1}ᵀ`, `∂E/∂b_l = Σ_columns δ_l`.
//!
//! `E = (1/n)·Σ_samples Σ_outputs L(o, y)`: the mean over samples of the summed loss. The
//! `1/n` of the mean is the only number here that is not from a formula file.
//!
//! Matrices are row-major `units × samples`, so an activation runs over one contiguous
//! buffer: a whole layer of a whole batch is one pass of its tape.
//!
//! An output that couples the units of a sample (softmax, [`IndexedHead`]) takes the `n_out`
//! rows of `Z` as `n_out` input columns of its tape (each row is contiguous) and writes the
//! `n_out` rows of `A`, in place of the one elementwise pass; its loss reads the rows of `A`
//! and `Y`, and its output delta (O − y, proved from the files) is one more tape over them.
use super::formulas::{Activation, FusedDelta, Loss, LossFromZ};
use super::indexed::{IndexedHead, IndexedScratch};
use super::matmul::{affine_par, matmul_par, row_sums_par, Mat, Write};
use super::par::Pool;
use super::rng::Rng;
use crate::eval::{Real, TapeScratch};

/// Most parameters a network may have (weights and biases): 10 million, 80 MB in `f64`, about
/// 0.4 GB with their gradients and Adam's two moments. Above it [`Network::new`] refuses, so
/// that a mistyped `--layers` is an error and not an allocation that aborts the process.
pub const MAX_PARAMETERS: usize = 10_000_000;

/// Most values one pass over a batch may hold: Σ over layers of units × samples, 50 million
/// (0.4 GB for pre-activations, 0.8 GB with the activations, in `f64`).
/// [`Network::forward`] refuses larger batches.
pub const MAX_BATCH_VALUES: usize = 50_000_000;

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// He for rectifier-like activations, Xavier otherwise (see [`Init::for_activation`]).
    Auto,
    /// Glorot/Xavier uniform: U(−√(6/(in + out)), √(6/(in + out))).
    Xavier,
    /// He normal: N(0, 2/in).
    He,
}

impl Init {
    /// He when the activation is rectifier-like, judged from its own derivative:
    /// |f'(−2)| < |f'(2)|/4 (relu, elu, silu, gelu, softplus); Xavier otherwise (σ, tanh).
    pub fn for_activation(act: &Activation) -> Init {
        let (l, r) = (act.derivative_at(-2.0).abs(), act.derivative_at(2.0).abs());
        if l.is_finite() && r.is_finite() && l < r / 4.0 {
            Init::He
        } else {
            Init::Xavier
        }
    }
}

/// One fully connected layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Inputs.
    pub n_in: usize,
    /// Units.
    pub n_out: usize,
    /// `n_out × n_in`, row-major.
    pub weights: Vec<f64>,
    /// `n_out`.
    pub bias: Vec<f64>,
}

/// The gradient of every parameter, shaped as the layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients {
    /// Per layer: (∂E/∂W, ∂E/∂b).
    pub layers: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Why a forward or backward pass stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetError {
    /// A value became NaN or infinite.
    #[error("{what} of layer {layer} became NaN or infinite")]
    NonFinite {
        /// 1-based layer.
        layer: usize,
        /// `activations`, `pre-activations`, `gradient`, `loss`.
        what: &'static str,
    },
    /// Shapes do not fit.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A network or a batch above [`MAX_PARAMETERS`] or [`MAX_BATCH_VALUES`].
    #[error("{0}")]
    TooLarge(String),
}

/// A network with its formulas.
#[derive(Debug, Clone)]
pub struct Network {
    /// Layers, input side first.
    pub layers: Vec<Layer>,
    /// One activation per elementwise layer: every layer (the last is the output activation)
    /// with [`Head::Elementwise`], every hidden layer with [`Head::Indexed`].
    pub activations: Vec<Activation>,
    /// The output layer's loss (and the coupled output activation).
    pub head: Head,
}

/// What follows the last layer's pre-activations.
#[derive(Debug, Clone)]
pub enum Head {
    /// The last of [`Network::activations`], then an elementwise loss.
    Elementwise {
        /// The loss.
        loss: Loss,
        /// The fused output delta, when found.
        fused: Option<FusedDelta>,
        /// The loss from the pre-activations without a logarithm of σ, when found: what
        /// [`Network::loss`] falls back on where the loss read from the output is not finite.
        from_z: Option<LossFromZ>,
    },
    /// An output that couples the units (softmax) with its loss.
    Indexed(IndexedHead),
}

impl Network {
    /// The elementwise loss, if the head is elementwise.
    pub fn loss_fn(&self) -> Option<&Loss> {
        match &self.head {
            Head::Elementwise { loss, .. } => Some(loss),
            Head::Indexed(_) => None,
        }
    }

    /// The fused elementwise output delta, if any.
    pub fn fused(&self) -> Option<&FusedDelta> {
        match &self.head {
            Head::Elementwise { fused, .. } => fused.as_ref(),
            Head::Indexed(_) => None,
        }
    }

    /// The coupled output, if any.
    pub fn indexed(&self) -> Option<&IndexedHead> {
        match &self.head {
            Head::Indexed(h) => Some(h),
            Head::Elementwise { .. } => None,
        }
    }

    /// The loss's name.
    pub fn loss_name(&self) -> &str {
        match &self.head {
            Head::Elementwise { loss, .. } => &loss.name,
            Head::Indexed(h) => &h.loss_name,
        }
    }

    /// The activation names per layer (the coupled output's file name last).
    pub fn activation_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.activations.iter().map(|a| a.name.clone()).collect();
        if let Head::Indexed(h) = &self.head {
            v.push(h.name.clone());
        }
        v
    }
}

/// Buffers of one pass in `T` (`f64`, or `f32` for faster batch passes), reused between
/// batches.
#[derive(Debug, Clone)]
pub struct Workspace<T = f64> {
    /// Per layer: pre-activations `n_out × n`.
    z: Vec<Vec<T>>,
    /// Per layer: activations `n_out × n`.
    a: Vec<Vec<T>>,
    /// Per layer: the weights rounded to `T` by the last forward pass (empty for `f64`,
    /// whose passes read the parameters themselves).
    w: Vec<Vec<T>>,
    /// A weight gradient in `T` before it is widened into [`Gradients`] (unused for `f64`).
    gw: Vec<T>,
    back: BackBuffers<T>,
    /// ∂L/∂A of the output when the delta is not fused.
    g: Vec<T>,
    tmp: Vec<T>,
    scratch: TapeScratch<T>,
    /// One scratch per part of an elementwise pass cut over the pool's threads.
    scratches: Vec<TapeScratch<T>>,
    indexed: IndexedScratch<T>,
    pool: Pool,
    n: usize,
    /// How many layers' activations, from the first, the last forward pass computed and left
    /// unchecked ([`Network::forward_for_backward`]): errors after them report for them.
    unchecked: usize,
}

/// The backward pass's buffers, one per layer, so that each keeps its length from one step to
/// the next and is never cleared and refilled (one shared δ buffer alternated between 10 and
/// 128 rows on the digits network: a memset of every δ per step).
#[derive(Debug, Clone)]
struct BackBuffers<T> {
    /// δ of layer l.
    deltas: Vec<Vec<T>>,
    /// W_lᵀ·δ_l, for l ≥ 1.
    gs: Vec<Vec<T>>,
}

impl<T> Default for BackBuffers<T> {
    fn default() -> Self {
        BackBuffers {
            deltas: Vec::new(),
            gs: Vec::new(),
        }
    }
}

impl<T> Default for Workspace<T> {
    fn default() -> Self {
        Workspace {
            z: Vec::new(),
            a: Vec::new(),
            w: Vec::new(),
            gw: Vec::new(),
            back: BackBuffers::default(),
            g: Vec::new(),
            tmp: Vec::new(),
            scratch: TapeScratch::default(),
            scratches: Vec::new(),
            indexed: IndexedScratch::default(),
            pool: Pool::default(),
            n: 0,
            unchecked: 0,
        }
    }
}

impl<T: Real> Workspace<T> {
    /// Empty buffers; they grow on first use. Everything runs on the calling thread.
    pub fn new() -> Workspace<T> {
        Workspace::default()
    }

    /// Empty buffers, the passes run on `pool` (the results are the same bits as with
    /// [`Workspace::new`]; see [`par`](super::par)).
    pub fn with_pool(pool: Pool) -> Workspace<T> {
        Workspace {
            pool,
            ..Workspace::default()
        }
    }

    /// The threads the passes run on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The network's output after [`Network::forward`], `n_out × n`.
    pub fn output(&self) -> &[T] {
        self.a.last().map_or(&[], |v| v.as_slice())
    }
}

/// Σ values in `f64`, with Neumaier's compensation: within about one ulp of the exact sum
/// whatever the number of values. A plain sum of a loss over a batch (hundreds of terms near
/// 0.7 for BCE over ten outputs) carries a rounding error of several ulp that changes from one
/// point to the next; `--gradcheck` divides that noise by its 2·10⁻⁴ step, and on the digits
/// network (64 → 128 → 10, σ + BCE) it was 1.6·10⁻¹⁰ in a gradient of 5·10⁻⁵: a false
/// "FAILED" at 2·10⁻⁶.
///
/// Four interleaved compensated sums (value i goes to lane i mod 4 of its slice), added
/// with compensation at the end: the same accuracy as one, without one long chain of
/// dependent additions (a single chain cost 3 ns per value, 3 % of a digits epoch). The
/// result depends on the values and on how they are cut into slices, nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CompensatedSum {
    sums: [f64; 4],
    errors: [f64; 4],
}

impl CompensatedSum {
    /// Adds `values`, in order. On a CPU with AVX2 the four lanes are one 256-bit vector
    /// (the loop compiled for AVX2, with run-time dispatch as in
    /// [`vector`](crate::eval::vector)); the operations are the same IEEE ones without fused
    /// multiply-add, so the bits are the same either way (unit test). In the x86-64 baseline
    /// the lanes took two SSE registers and the comparisons did not vectorise: 23
    /// instructions per value, a third of the trainer's loss on iris.
    pub(crate) fn add<T: Real>(&mut self, values: &[T]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 was detected just above.
                unsafe { self.add_avx2(values) };
                return;
            }
        }
        self.add_baseline(values);
    }

    /// [`CompensatedSum::add`] compiled with AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn add_avx2<T: Real>(&mut self, values: &[T]) {
        self.add_baseline(values);
    }

    #[inline(always)]
    fn add_baseline<T: Real>(&mut self, values: &[T]) {
        let (mut sums, mut errors) = (self.sums, self.errors);
        let chunks = values.chunks_exact(4);
        let rest = chunks.remainder();
        for chunk in chunks {
            for ((s, c), v) in sums.iter_mut().zip(&mut errors).zip(chunk) {
                neumaier(s, c, v.to_f64());
            }
        }
        for ((s, c), v) in sums.iter_mut().zip(&mut errors).zip(rest) {
            neumaier(s, c, v.to_f64());
        }
        (self.sums, self.errors) = (sums, errors);
    }

    /// The sum of everything added.
    pub(crate) fn total(&self) -> f64 {
        let (mut s, mut c) = (0.0, 0.0);
        for (&lane, &err) in self.sums.iter().zip(&self.errors) {
            neumaier(&mut s, &mut c, lane);
            c += err;
        }
        s + c
    }
}

/// One step of Neumaier's sum: `s + v` into `s`, its rounding error into `c`.
#[inline(always)]
fn neumaier(s: &mut f64, c: &mut f64, v: f64) {
    let t = *s + v;
    let (big, small) = if s.abs() >= v.abs() { (*s, v) } else { (v, *s) };
    *c += (big - t) + small;
    *s = t;
}

/// Σ `values` ([`CompensatedSum`] over one slice).
pub(crate) fn compensated_sum<T: Real>(values: &[T]) -> f64 {
    let mut sum = CompensatedSum::default();
    sum.add(values);
    sum.total()
}

/// A layer's weights as `T`: the parameters themselves for `f64`, else the copy the forward
/// pass rounded into `copy`.
fn weights_as<'a, T: Real>(layer: &'a Layer, copy: Option<&'a Vec<T>>) -> &'a [T] {
    T::as_f64_slice(&layer.weights).unwrap_or_else(|| copy.map_or(&[], Vec::as_slice))
}

/// The error [`Network::forward`] would have returned before `err`: the first of the layers
/// the last forward pass left unchecked whose activations are not finite, else `err`.
fn first_error<T: Real>(ws: &Workspace<T>, err: NetError) -> NetError {
    unchecked_error(ws).unwrap_or(err)
}

/// The first of the layers the last forward pass left unchecked whose activations are not
/// finite, as the error [`Network::forward`] returns for it.
fn unchecked_error<T: Real>(ws: &Workspace<T>) -> Option<NetError> {
    let li =
        ws.a.iter()
            .take(ws.unchecked)
            .position(|a| !all_finite(a))?;
    Some(NetError::NonFinite {
        layer: li + 1,
        what: "activations",
    })
}

/// Every value finite. It runs on every layer of every batch, so it is written to vectorise:
/// v·0 is ±0 for a finite v and NaN for ±∞ and NaN, and a NaN survives any sum, so a block
/// is finite exactly when the sum of its v·0 (in eight interleaved partial sums) is 0.
/// Blocks of 512 values let it stop early. (The earlier form, a fold of `is_finite` over
/// booleans, cost as much as the activation function on a small layer.)
pub(crate) fn all_finite<T: Real>(values: &[T]) -> bool {
    values.chunks(512).all(|block| {
        let mut acc = [T::ZERO; 8];
        let chunks = block.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += v * T::ZERO;
            }
        }
        let mut total = T::ZERO;
        for &v in rest {
            total += v * T::ZERO;
        }
        for a in acc {
            total += a;
        }
        total == T::ZERO
    })
}

impl Network {
    /// A network with layer widths `sizes` (input first), initial weights drawn from `seed`.
    ///
    /// # Errors
    ///
    /// [`NetError::Shape`] when there are fewer than two sizes, a size is 0, or the number
    /// of activations is not one per layer.
    pub fn new(
        sizes: &[usize],
        activations: Vec<Activation>,
        head: Head,
        init: Init,
        seed: u64,
    ) -> Result<Network, NetError> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(NetError::Shape(
                "layers need at least an input and an output width, none of them 0".into(),
            ));
        }
        let n_params = sizes.windows(2).try_fold(0usize, |acc, w| {
            let (i, o) = (w.first().copied()?, w.get(1).copied()?);
            acc.checked_add(i.checked_mul(o)?.checked_add(o)?)
        });
        if n_params.is_none_or(|p| p > MAX_PARAMETERS) {
            return Err(NetError::TooLarge(format!(
                "layers {} have {} parameters; a network may have at most {MAX_PARAMETERS}",
                sizes
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                n_params.map_or_else(|| "too many".to_string(), |p| p.to_string())
            )));
        }
        let n_elementwise = match &head {
            Head::Elementwise { .. } => sizes.len() - 1,
            Head::Indexed(_) => sizes.len() - 2,
        };
        if activations.len() != n_elementwise {
            return Err(NetError::Shape(format!(
                "{} layers need {} elementwise activations, found {}",
                sizes.len() - 1,
                n_elementwise,
                activations.len()
            )));
        }
        if let (Head::Indexed(h), Some(&k)) = (&head, sizes.last()) {
            if h.classes != k {
                return Err(NetError::Shape(format!(
                    "the output {} is compiled for {} classes, the last layer has {k}",
                    h.name, h.classes
                )));
            }
        }
        let mut rng = Rng::new(seed);
        let mut layers = Vec::new();
        for (li, w) in sizes.windows(2).enumerate() {
            let act = activations.get(li);
            let [n_in, n_out] = [
                w.first().copied().unwrap_or(1),
                w.get(1).copied().unwrap_or(1),
            ];
            let kind = match (init, act) {
                (Init::Auto, Some(act)) => Init::for_activation(act),
                (Init::Auto, None) => Init::Xavier,
                (k, _) => k,
            };
            let weights = (0..n_in * n_out)
                .map(|_| match kind {
                    Init::He => rng.normal() * (2.0 / n_in as f64).sqrt(),
                    _ => {
                        let r = (6.0 / (n_in + n_out) as f64).sqrt();
                        rng.range(-r, r)
                    }
                })
                .collect();
            layers.push(Layer {
                n_in,
                n_out,
                weights,
                bias: vec![0.0; n_out],
            });
        }
        Ok(Network {
            layers,
            activations,
            head,
        })
    }

    /// Input width.
    pub fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.n_in)
    }

    /// Output width.
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out)
    }

    /// Whether a pass over a batch of `n` on `pool` is cut into parts for its threads: the
    /// batch itself ([`step::sample_parts`](super::step::sample_parts)), any product of the
    /// forward or backward pass, or any elementwise pass. When none is, running
    /// the batch on a worker of the pool ([`Pool::install`]) only costs the hand-over.
    pub fn runs_parallel(&self, pool: &Pool, n: usize) -> bool {
        use super::par::product_parts;
        pool.threads() > 1
            && (super::step::sample_parts(self, n) > 1
                || self.layers.iter().any(|l| {
                    product_parts(l.n_out, n, l.n_in) > 1
                        || product_parts(l.n_out, l.n_in, n) > 1
                        || product_parts(l.n_in, n, l.n_out) > 1
                        || pool.elementwise_parts(l.n_out.saturating_mul(n)) > 1
                }))
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.bias.len())
            .sum()
    }

    /// A batch of `n` samples fits in [`MAX_BATCH_VALUES`].
    ///
    /// # Errors
    ///
    /// [`NetError::TooLarge`] when it does not.
    pub(crate) fn check_batch(&self, n: usize) -> Result<(), NetError> {
        let units: usize = self.layers.iter().map(|l| l.n_out).sum();
        if units.checked_mul(n).is_none_or(|v| v > MAX_BATCH_VALUES) {
            return Err(NetError::TooLarge(format!(
                "a batch of {n} samples through {units} units holds more than the \
                 {MAX_BATCH_VALUES} values a pass may hold: use a smaller --batch-size"
            )));
        }
        Ok(())
    }

    /// Forward pass over `x` (`n_inputs × n`), keeping what the backward pass needs, in `T`
    /// (for `f32`, the weights are rounded to `f32` first; the parameters stay `f64`).
    ///
    /// # Errors
    ///
    /// [`NetError::NonFinite`] naming the first layer whose activations are not finite.
    pub fn forward<T: Real>(
        &self,
        x: &[T],
        n: usize,
        ws: &mut Workspace<T>,
    ) -> Result<(), NetError> {
        self.forward_in(self.input(x, n)?, ws, false)
    }

    /// `x` as the input matrix of `n` samples.
    fn input<'x, T: Real>(&self, x: &'x [T], n: usize) -> Result<Mat<'x, T>, NetError> {
        if x.len() != self.n_inputs() * n {
            return Err(NetError::Shape(format!(
                "input has {} values, expected {}×{n}",
                x.len(),
                self.n_inputs()
            )));
        }
        Mat::new(x, self.n_inputs(), n)
    }

    /// [`Network::forward`] for a training step, to be followed by [`Network::loss`] and
    /// [`Network::backward`]: the activations of the hidden layers are not checked here (one
    /// pass over each of them fewer). Every error is still the one [`Network::forward`] would
    /// have returned first: when this pass, the loss or the backward pass fails, for whatever
    /// reason, the hidden activations are checked then, and the first layer found not finite
    /// is the error. None is missed: a non-finite activation of layer l makes the weight
    /// gradient of layer l + 1 not finite (each of its entries adds δ·a over the samples, and
    /// 0·∞, x·NaN and ∞ − ∞ are NaN), which the backward pass checks (a layer's weight
    /// gradient is much smaller than the activations below it: 64 values against 442 × 64 on
    /// the diabetes network).
    ///
    /// # Errors
    ///
    /// As [`Network::forward`].
    pub fn forward_for_backward<T: Real>(
        &self,
        x: &[T],
        n: usize,
        ws: &mut Workspace<T>,
    ) -> Result<(), NetError> {
        self.forward_in(self.input(x, n)?, ws, true)
    }

    /// [`Network::forward`] over the input matrix `x` (`n_inputs × n`, possibly a range of
    /// a larger batch's columns); with `defer`, as [`Network::forward_for_backward`].
    pub(crate) fn forward_in<T: Real>(
        &self,
        x: Mat<'_, T>,
        ws: &mut Workspace<T>,
        defer: bool,
    ) -> Result<(), NetError> {
        ws.unchecked = 0;
        self.forward_layers(x, ws, defer)
            .map_err(|e| first_error(ws, e))
    }

    /// The layers of [`Network::forward_in`]; with `defer`, the hidden layers' activations
    /// are not checked.
    fn forward_layers<T: Real>(
        &self,
        x: Mat<'_, T>,
        ws: &mut Workspace<T>,
        defer: bool,
    ) -> Result<(), NetError> {
        let n = x.cols();
        if x.rows() != self.n_inputs() {
            return Err(NetError::Shape(format!(
                "input has {} rows, expected {}",
                x.rows(),
                self.n_inputs()
            )));
        }
        self.check_batch(n)?;
        let n_layers = self.layers.len();
        ws.z.resize_with(n_layers, Vec::new);
        ws.a.resize_with(n_layers, Vec::new);
        ws.w.resize_with(n_layers, Vec::new);
        ws.n = n;
        for (li, layer) in self.layers.iter().enumerate() {
            let mut z = ws.z.get_mut(li).map(std::mem::take).unwrap_or_default();
            {
                let a_prev = if li == 0 {
                    x
                } else {
                    Mat::new(
                        ws.a.get(li - 1).map_or(&[], |v| v.as_slice()),
                        layer.n_in,
                        n,
                    )?
                };
                if let Some(copy) = ws.w.get_mut(li) {
                    T::narrow_into(&layer.weights, copy);
                }
                let w = Mat::new(weights_as(layer, ws.w.get(li)), layer.n_out, layer.n_in)?;
                affine_par(&ws.pool, &mut z, w, a_prev, &layer.bias)?;
            }
            let mut a = ws.a.get_mut(li).map(std::mem::take).unwrap_or_default();
            let finite = match (&self.head, self.activations.get(li)) {
                (Head::Indexed(h), _) if li + 1 == n_layers => {
                    h.forward(&z, n, &mut a, &mut ws.indexed);
                    all_finite(&a)
                }
                (_, Some(act)) => {
                    let check = !defer || li + 1 == n_layers;
                    act.forward_par(&ws.pool, &z, &mut a, &mut ws.scratches, check)
                }
                (_, None) => {
                    return Err(NetError::Shape(format!(
                        "layer {} has no activation",
                        li + 1
                    )))
                }
            };
            if let Some(slot) = ws.z.get_mut(li) {
                *slot = z;
            }
            if let Some(slot) = ws.a.get_mut(li) {
                *slot = a;
            }
            if li + 1 < n_layers && defer {
                ws.unchecked = li + 1;
            }
            if !finite {
                return Err(NetError::NonFinite {
                    layer: li + 1,
                    what: "activations",
                });
            }
        }
        Ok(())
    }

    /// The mean loss `E` of the last forward pass against `y` (`n_outputs × n`), the
    /// per-sample losses added in `f64` with compensation (`compensated_sum`).
    ///
    /// # Errors
    ///
    /// [`NetError::NonFinite`] when the loss is not finite.
    pub fn loss<T: Real>(&self, y: &[T], ws: &mut Workspace<T>) -> Result<f64, NetError> {
        Ok(self.loss_sum(y, ws)? / ws.n.max(1) as f64)
    }

    /// The sum over samples of the loss of the last forward pass against `y`
    /// ([`Network::loss`] before the division by `n`).
    ///
    /// # Errors
    ///
    /// As [`Network::loss`].
    pub(crate) fn loss_sum<T: Real>(
        &self,
        y: &[T],
        ws: &mut Workspace<T>,
    ) -> Result<f64, NetError> {
        self.output_loss_sum(y, ws).map_err(|e| first_error(ws, e))
    }

    /// [`Network::loss_sum`] from the outputs (or the pre-activations) alone.
    fn output_loss_sum<T: Real>(&self, y: &[T], ws: &mut Workspace<T>) -> Result<f64, NetError> {
        let out = ws.a.last().map(|v| v.as_slice()).unwrap_or(&[]);
        if out.len() != y.len() {
            return Err(NetError::Shape(format!(
                "targets have {} values, expected {}",
                y.len(),
                out.len()
            )));
        }
        let mut vals = std::mem::take(&mut ws.tmp);
        match &self.head {
            Head::Elementwise { loss, .. } => loss.value(out, y, &mut vals, &mut ws.scratch),
            Head::Indexed(h) => h.loss(out, y, ws.n, &mut vals, &mut ws.indexed),
        }
        ws.tmp = vals;
        let mut sum = compensated_sum(&ws.tmp);
        if !sum.is_finite() {
            // Outputs at exactly 0 or 1 under a logarithm: the loss from the pre-activations
            // instead, where the loss has such a form (see `LossFromZ` and
            // `IndexedHead::loss_from_z`).
            if let Some(z) = ws.z.last() {
                let mut vals = std::mem::take(&mut ws.tmp);
                let found = match &self.head {
                    Head::Elementwise {
                        from_z: Some(f), ..
                    } => {
                        f.eval(z, y, &mut vals, &mut ws.scratch);
                        true
                    }
                    Head::Elementwise { from_z: None, .. } => false,
                    Head::Indexed(h) => h.loss_from_z(z, y, ws.n, &mut vals, &mut ws.indexed),
                };
                if found {
                    sum = compensated_sum(&vals);
                }
                ws.tmp = vals;
            }
        }
        if sum.is_finite() {
            Ok(sum)
        } else {
            Err(NetError::NonFinite {
                layer: self.layers.len(),
                what: "loss",
            })
        }
    }

    /// Backward pass after [`Network::forward`]: the gradient of `E` with respect to every
    /// parameter, written into `grads` (allocated on first use), computed in `T` and stored
    /// in `f64`.
    ///
    /// # Errors
    ///
    /// [`NetError::NonFinite`] naming the layer whose gradient is not finite.
    pub fn backward<T: Real>(
        &self,
        x: &[T],
        y: &[T],
        ws: &mut Workspace<T>,
        grads: &mut Gradients,
    ) -> Result<(), NetError> {
        let x = Mat::new(x, self.n_inputs(), ws.n)?;
        self.backward_in(x, y, ws, grads, 1.0 / ws.n.max(1) as f64)
    }

    /// [`Network::backward`] over the input matrix `x` (as given to
    /// [`Network::forward_in`]), with the loss scaled by `inv_n` (`1/n` of the mean over
    /// the whole batch, when `x` is one part of it) instead of `1/ws.n`.
    pub(crate) fn backward_in<T: Real>(
        &self,
        x: Mat<'_, T>,
        y: &[T],
        ws: &mut Workspace<T>,
        grads: &mut Gradients,
        inv_n: f64,
    ) -> Result<(), NetError> {
        let n = ws.n;
        if x.rows() != self.n_inputs() || x.cols() != n {
            return Err(first_error(
                ws,
                NetError::Shape(format!(
                    "input is {}×{}, the forward pass was {}×{n}",
                    x.rows(),
                    x.cols(),
                    self.n_inputs()
                )),
            ));
        }
        let n_layers = self.layers.len();
        grads.layers.resize_with(n_layers, Default::default);
        let mut back = std::mem::take(&mut ws.back);
        back.deltas.resize_with(n_layers, Vec::new);
        back.gs.resize_with(n_layers, Vec::new);
        let result = self.backward_layers(x, y, ws, grads, T::from_f64(inv_n), &mut back);
        ws.back = back;
        result.map_err(|e| first_error(ws, e))
    }

    /// The layers of [`Network::backward_in`], into `back` (one buffer per layer).
    fn backward_layers<T: Real>(
        &self,
        x: Mat<'_, T>,
        y: &[T],
        ws: &mut Workspace<T>,
        grads: &mut Gradients,
        inv_n: T,
        back: &mut BackBuffers<T>,
    ) -> Result<(), NetError> {
        let BackBuffers { deltas, gs } = back;
        let n = ws.n;
        let n_layers = self.layers.len();
        // Output layer.
        {
            let li = n_layers - 1;
            let (z, a) = (
                ws.z.get(li).map_or(&[][..], |v| v.as_slice()),
                ws.a.get(li).map_or(&[][..], |v| v.as_slice()),
            );
            if a.len() != y.len() {
                return Err(NetError::Shape(format!(
                    "targets have {} values, expected {}",
                    y.len(),
                    a.len()
                )));
            }
            let Some(delta) = deltas.get_mut(li) else {
                return Err(NetError::Shape("no output layer".to_string()));
            };
            match &self.head {
                Head::Indexed(h) => {
                    h.delta(z, a, y, n, delta, &mut ws.indexed);
                    delta.iter_mut().for_each(|d| *d *= inv_n);
                }
                Head::Elementwise { fused: Some(f), .. } => {
                    f.eval(a, y, delta, &mut ws.scratch);
                    delta.iter_mut().for_each(|d| *d *= inv_n);
                }
                Head::Elementwise {
                    loss, fused: None, ..
                } => {
                    let g = &mut ws.g;
                    loss.gradient(a, y, g, &mut ws.scratch);
                    g.iter_mut().for_each(|d| *d *= inv_n);
                    if let Some(act) = self.activations.get(li) {
                        act.backward(z, a, g, delta, &mut ws.scratch);
                    }
                }
            }
        }
        for li in (0..n_layers).rev() {
            let Some(layer) = self.layers.get(li) else {
                continue;
            };
            let a_prev = if li == 0 {
                x
            } else {
                Mat::new(
                    ws.a.get(li - 1).map_or(&[], |v| v.as_slice()),
                    layer.n_in,
                    n,
                )?
            };
            let Some((gw, gb)) = grads.layers.get_mut(li) else {
                continue;
            };
            // δ of this layer, and the buffer of the layer below it.
            let (below, this_and_above) = deltas.split_at_mut(li);
            let Some(delta) = this_and_above.first() else {
                continue;
            };
            {
                let d = Mat::new(delta, layer.n_out, n)?;
                // Into the gradient itself for f64; for f32 into `ws.gw`, then widened.
                let (into, widen) = match T::as_f64_vec(gw) {
                    Some(own) => (own, false),
                    None => (&mut ws.gw, true),
                };
                into.resize(layer.weights.len(), T::ZERO);
                matmul_par(&ws.pool, into, d, a_prev.t(), Write::Overwrite)?;
                // The activations below, left unchecked by the forward pass, are not finite
                // if this gradient is not (see `Network::forward_for_backward`): then the
                // error is theirs. (Otherwise δ is not finite, which the bias gradient below
                // reports, or the sum overflowed, which the checked passes do not report.)
                if li > 0 && li <= ws.unchecked && !all_finite(into) {
                    if let Some(err) = unchecked_error(ws) {
                        return Err(err);
                    }
                }
                if widen {
                    gw.clear();
                    gw.extend(ws.gw.iter().map(|v| v.to_f64()));
                }
            }
            row_sums_par(&ws.pool, delta, n, gb);
            // A NaN or ±∞ anywhere in δ makes its row sum NaN or ±∞, so checking the bias
            // gradients (one value per unit) checks all of δ.
            if !all_finite(gb) {
                return Err(NetError::NonFinite {
                    layer: li + 1,
                    what: "gradient",
                });
            }
            let (Some(prev), Some(g)) = (below.last_mut(), gs.get_mut(li)) else {
                break;
            };
            // g = Wᵀ·δ, then δ_prev = g·f'(z_prev).
            // Overwritten by the product: only new elements need a value.
            g.resize(layer.n_in * n, T::ZERO);
            {
                let w = Mat::new(weights_as(layer, ws.w.get(li)), layer.n_out, layer.n_in)?;
                let d = Mat::new(delta, layer.n_out, n)?;
                matmul_par(&ws.pool, g, w.t(), d, Write::Overwrite)?;
            }
            let (z, a) = (
                ws.z.get(li - 1).map_or(&[][..], |v| v.as_slice()),
                ws.a.get(li - 1).map_or(&[][..], |v| v.as_slice()),
            );
            if let Some(act) = self.activations.get(li - 1) {
                act.backward_par(&ws.pool, z, a, g, prev, &mut ws.scratches);
            }
        }
        Ok(())
    }

    /// Outputs for `x` (`n_inputs × n`), `n_outputs × n`.
    ///
    /// # Errors
    ///
    /// As [`Network::forward`].
    pub fn predict(&self, x: &[f64], n: usize) -> Result<Vec<f64>, NetError> {
        let mut ws = Workspace::new();
        self.forward(x, n, &mut ws)?;
        Ok(ws.output().to_vec())
    }

    /// Every parameter, layer by layer (weights row-major, then biases), for optimisers.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut [f64]> {
        self.layers
            .iter_mut()
            .flat_map(|l| [l.weights.as_mut_slice(), l.bias.as_mut_slice()])
    }
}

impl Gradients {
    /// Every gradient, in the order of [`Network::params_mut`].
    pub fn slices(&self) -> impl Iterator<Item = &[f64]> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.as_slice(), b.as_slice()])
    }
}

/// Where a network's formulas come from: `(file name, .dc text)` per hidden layer (one entry
/// is used for every hidden layer), for the output layer and for the loss.
#[derive(Debug, Clone)]
pub struct NetSpec<'a> {
    /// Layer widths, input first.
    pub sizes: Vec<usize>,
    /// Hidden activations: one for all hidden layers, or one per hidden layer.
    pub hidden: Vec<(&'a str, &'a str)>,
    /// Output activation.
    pub output: (&'a str, &'a str),
    /// Loss.
    pub loss: (&'a str, &'a str),
    /// Values of the files' free parameters.
    pub formulas: super::formulas::FormulaConfig,
    /// Use the fused output delta when the simplifier finds one.
    pub fuse: bool,
}

/// Why a network could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// A formula file.
    #[error("{0}")]
    Formula(#[from] super::formulas::FormulaError),
    /// The layer list.
    #[error("{0}")]
    Net(#[from] NetError),
}

impl Network {
    /// Compiles the formulas of `spec` and draws initial weights.
    ///
    /// # Errors
    ///
    /// A formula that cannot be read, derived or compiled; a bad layer list; a number of
    /// hidden activations that is neither 1 nor one per hidden layer.
    pub fn from_spec(spec: &NetSpec, init: Init, seed: u64) -> Result<Network, BuildError> {
        let n_hidden = spec.sizes.len().saturating_sub(2);
        if !(spec.hidden.len() == n_hidden
            || (spec.hidden.len() == 1 && n_hidden > 0)
            || n_hidden == 0)
        {
            return Err(NetError::Shape(format!(
                "{n_hidden} hidden layer(s) need 1 or {n_hidden} activations, found {}",
                spec.hidden.len()
            ))
            .into());
        }
        let indexed_out =
            super::indexed::IndexedHead::is_indexed_output(spec.output.0, spec.output.1);
        let mut compiled: Vec<(&str, Activation)> = Vec::new();
        let mut acts = Vec::new();
        for i in 0..n_hidden {
            let (name, text) = spec
                .hidden
                .get(i)
                .or(spec.hidden.first())
                .copied()
                .unwrap_or(("identity.dc", super::formulas::IDENTITY_SOURCE));
            let act = match compiled.iter().find(|(n, _)| *n == name) {
                Some((_, a)) => a.clone(),
                None => {
                    let a = Activation::from_source(name, text, &spec.formulas)?;
                    compiled.push((name, a.clone()));
                    a
                }
            };
            acts.push(act);
        }
        let head = if indexed_out {
            let classes = spec.sizes.last().copied().unwrap_or(0);
            Head::Indexed(IndexedHead::from_sources(
                spec.output,
                spec.loss,
                classes,
                &spec.formulas,
                spec.fuse,
            )?)
        } else {
            acts.push(Activation::from_source(
                spec.output.0,
                spec.output.1,
                &spec.formulas,
            )?);
            let loss = Loss::from_source(spec.loss.0, spec.loss.1, &spec.formulas)?;
            let fused = if spec.fuse {
                FusedDelta::find(spec.output, spec.loss, &spec.formulas)?
            } else {
                None
            };
            let from_z = LossFromZ::find(spec.output, spec.loss, &spec.formulas)?;
            Head::Elementwise {
                loss,
                fused,
                from_z,
            }
        };
        Ok(Network::new(&spec.sizes, acts, head, init, seed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{all_finite, compensated_sum, CompensatedSum};
    use crate::train::rng::Rng;

    #[test]
    fn the_compensated_sum_is_exact_where_a_plain_sum_is_not() {
        // Multiples of 2⁻⁴⁰ near 0.7 whose exact sum is representable: the compensated sum
        // gives it to the last bit, the plain sum does not.
        let mut rng = Rng::new(7);
        let ks: Vec<i64> = (0..100_003)
            .map(|_| (rng.range(0.5, 0.9) * (1u64 << 40) as f64) as i64)
            .collect();
        let unit = 2f64.powi(-40);
        let values: Vec<f64> = ks.iter().map(|&k| k as f64 * unit).collect();
        let exact = ks.iter().sum::<i64>() as f64 * unit;
        assert_eq!(compensated_sum(&values), exact);
        assert_ne!(values.iter().sum::<f64>(), exact);
        // Cut into slices of any length, and in f32.
        let mut sum = CompensatedSum::default();
        for part in values.chunks(777) {
            sum.add(part);
        }
        assert_eq!(sum.total(), exact);
        let small: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        // f32 values near 0.7 are multiples of 2⁻²⁴: their exact sum is representable too.
        let k32: i64 = small
            .iter()
            .map(|&v| (f64::from(v) * 2f64.powi(24)) as i64)
            .sum();
        assert_eq!(compensated_sum(&small), k32 as f64 * 2f64.powi(-24));
        // Cancellation: 1e16 + 1 − 1e16 + 1 = 2.
        assert_eq!(compensated_sum(&[1e16, 1.0, -1e16, 1.0, 0.0]), 2.0);
        assert_eq!(compensated_sum::<f64>(&[]), 0.0);
    }

    #[test]
    fn the_compensated_sum_gives_the_same_bits_with_and_without_avx2() {
        // Values of mixed signs and magnitudes (so that both branches of Neumaier's step and
        // the cancellations occur), cut into slices of uneven lengths.
        let mut rng = Rng::new(11);
        let values: Vec<f64> = (0..10_007)
            .map(|i| rng.range(-1.0, 1.0) * 10f64.powi(i % 17 - 8))
            .collect();
        let (mut plain, mut avx2) = (CompensatedSum::default(), CompensatedSum::default());
        for part in values.chunks(333) {
            plain.add_baseline(part);
            avx2.add(part);
        }
        assert_eq!(plain.total().to_bits(), avx2.total().to_bits());
        assert_eq!(plain.sums.map(f64::to_bits), avx2.sums.map(f64::to_bits));
        assert_eq!(
            plain.errors.map(f64::to_bits),
            avx2.errors.map(f64::to_bits)
        );
        let small: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let (mut plain, mut avx2) = (CompensatedSum::default(), CompensatedSum::default());
        plain.add_baseline(&small);
        avx2.add(&small);
        assert_eq!(plain.total().to_bits(), avx2.total().to_bits());
    }

    #[test]
    fn all_finite_finds_any_non_finite_value_at_any_position() {
        assert!(all_finite::<f64>(&[]));
        let mut v: Vec<f64> = (0..1300).map(|i| (i as f64 - 650.0) * 1e305).collect();
        v.extend([f64::MAX, f64::MIN, 5e-324, -0.0]);
        assert!(all_finite(&v));
        let w32: Vec<f32> = (0..1300).map(|i| (i as f32 - 650.0) * 1e35).collect();
        assert!(all_finite(&w32));
        // In the first block, at a block edge, in the 8-wide part and in the tail of a block.
        for at in [0, 7, 8, 511, 512, 1299, v.len() - 1] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut w = v.clone();
                w[at] = bad;
                assert!(!all_finite(&w), "{bad} at {at}");
                let mut w = w32.clone();
                if let Some(x) = w.get_mut(at) {
                    *x = bad as f32;
                    assert!(!all_finite(&w), "f32 {bad} at {at}");
                }
            }
        }
    }
}
