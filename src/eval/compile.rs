//! Compiled formulas: a [`Tape`] is a flat instruction program that evaluates a set of output
//! expressions over whole columns of inputs (a batch).
//!
//! Compilation walks the DAG once. Every distinct node becomes at most one instruction, and
//! instructions are hash-consed, so equal subterms are computed once even when they are
//! separate nodes. Subterms without inputs are folded to `f64` constants. Sums with constant
//! bounds are unrolled. Each instruction then runs one tight loop over a chunk of the batch
//! (256 rows; all instructions run on one chunk before the next, so intermediate columns stay
//! in the L1 cache), which the compiler can vectorise where the operation allows. Columns are
//! kept in registers that are reused once their value is dead, so memory grows with the widest
//! point of the program and not with its length.
//!
//! The instructions call the same functions as [`eval_f64`](super::eval_f64), in the same
//! order (sums and products folded left to right), so a tape agrees with `eval_f64` bit for bit.
//! A tape also runs over `f32` columns ([`Real`]): `+`, `−`, `·`, `/` and squares in `f32`,
//! other functions in `f64` on the widened argument (for the trainer's `f32` passes; the
//! checker only evaluates in `f64`).
//!
//! `a + (−1)·b` runs as one subtraction `a − b` (the same bits in IEEE 754), which saves a
//! pass for every `1 − a` and `a − y` of a derivative; instructions that no output needs
//! afterwards are dropped.
//!
//! A tape does not simplify. Constant folding never reassociates: in `(x + 1) + 2`, the `1` and
//! `2` are not combined, because that could change the rounding. Sums whose bounds depend on an
//! input cannot be unrolled and are rejected.

use std::fmt;

use rustc_hash::FxHashMap;

use super::{
    constant_f64, dispatch_binary, dispatch_unary, is_opaque, rational_to_f64, resolve, special,
    sum_bounds, walk, Binary, Bindings, DagFold, EvalError, Real, Resolved, Unary,
    MAX_SUM_ITERATIONS, MAX_SUM_NESTING, MAX_WORK,
};
use crate::expr::{Expr, Func, Node, Symbol};

/// Bytes of one register's chunk of rows (see [`Tape::eval`]): 512 `f64` or 1024 `f32` rows,
/// so that eight registers fit a 32 KiB L1 cache. (It was 256 `f64` rows; each instruction
/// costs a fixed dispatch per chunk, which at 256 rows was as much as the vectorised work of a
/// cheap instruction.) The chunk size changes no value: every row is computed by the same
/// operations whatever the chunk.
const CHUNK_BYTES: usize = 4096;

/// Rows of `T` evaluated together.
fn chunk_rows<T>() -> usize {
    CHUNK_BYTES
        .checked_div(std::mem::size_of::<T>())
        .unwrap_or(CHUNK_BYTES)
}

/// Most instructions in one tape. Above it, compilation fails with [`EvalError::TooLarge`].
pub const MAX_TAPE_INSTRUCTIONS: usize = 1_000_000;

/// Where an operand comes from: an input column, or the value of an earlier instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Src {
    Input(u32),
    Value(u32),
}

/// An `f64` compared and hashed by its bits, so instructions with constants can be
/// hash-consed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Bits(u64);

impl Bits {
    fn of(x: f64) -> Bits {
        Bits(x.to_bits())
    }

    fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// One instruction: it computes one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// A constant column (only for constants that are an output or an operand of an
    /// operation without a constant form).
    Const(Bits),
    /// f(a).
    Unary(Unary, Src),
    /// a op b.
    Binary(Binary, Src, Src),
    /// a op c.
    BinaryConst(Binary, Src, Bits),
    /// c op b.
    ConstBinary(Binary, Bits, Src),
    /// aⁿ with `|n| ≤ MAX_POWI_EXPONENT`.
    PowInt(Src, i32),
    /// a − b: what `a + (−1)·b` computes, in one instruction (IEEE 754 defines a − b as
    /// a + (−b), and −1·b = −b exactly, so the bits are the same).
    Sub(Src, Src),
    /// c − b, likewise for `c + (−1)·b`.
    ConstSub(Bits, Src),
}

impl Op {
    fn operands(self) -> [Option<Src>; 2] {
        match self {
            Op::Const(_) => [None, None],
            Op::Unary(_, a)
            | Op::BinaryConst(_, a, _)
            | Op::ConstBinary(_, _, a)
            | Op::PowInt(a, _)
            | Op::ConstSub(_, a) => [Some(a), None],
            Op::Binary(_, a, b) | Op::Sub(a, b) if a == b => [Some(a), None],
            Op::Binary(_, a, b) | Op::Sub(a, b) => [Some(a), Some(b)],
        }
    }

    /// The same operation with every operand passed through `f`.
    fn map_operands(self, f: impl Fn(Src) -> Src) -> Op {
        match self {
            Op::Const(c) => Op::Const(c),
            Op::Unary(u, a) => Op::Unary(u, f(a)),
            Op::Binary(b, x, y) => Op::Binary(b, f(x), f(y)),
            Op::BinaryConst(b, x, c) => Op::BinaryConst(b, f(x), c),
            Op::ConstBinary(b, c, y) => Op::ConstBinary(b, c, f(y)),
            Op::PowInt(x, k) => Op::PowInt(f(x), k),
            Op::Sub(x, y) => Op::Sub(f(x), f(y)),
            Op::ConstSub(c, y) => Op::ConstSub(c, f(y)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Instr {
    op: Op,
    /// The register (column of the scratch space) the result is written to.
    reg: u32,
}

/// A compiled set of formulas over a list of input symbols. See the module documentation.
///
/// ```
/// use derivcheck::eval::{Tape, TapeScratch};
/// use derivcheck::expr::{Builtin, Expr, Symbol};
///
/// // σ(z)·(1 − σ(z)), with σ(z) computed once.
/// let s = Expr::call(Builtin::Sigmoid, vec![Expr::var("z")]);
/// let f = Expr::mul(vec![s.clone(), Expr::sub(Expr::one(), s)]);
/// let tape = Tape::compile(&[f], &[Symbol::new("z")])?;
/// let mut out = vec![Vec::new()];
/// tape.eval(&[&[0.0, 100.0]], &mut out, &mut TapeScratch::new())?;
/// assert_eq!(out[0][0], 0.25);
/// # Ok::<(), derivcheck::eval::EvalError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tape {
    inputs: Vec<Symbol>,
    instrs: Vec<Instr>,
    outputs: Vec<Src>,
    n_regs: usize,
    /// Per instruction: the output it writes into directly, when its value is an output that
    /// no instruction reads (so it needs no register copy).
    direct: Vec<Option<u32>>,
}

/// Which definitions of eˣ, tanh, σ and ln a batch evaluation uses ([`Tape::eval_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Elementwise {
    /// The functions of [`special`](super::special), which [`eval_f64`](super::eval_f64)
    /// uses: the tape agrees with it bit for bit. The checker relies on this.
    #[default]
    Std,
    /// eˣ, tanh, σ and ln from [`vector`](super::vector): vectorised, within 3 ulp of `Std`,
    /// the same bits on every x86-64 CPU. Every other operation is as in `Std`. For training,
    /// where glibc's scalar `tanh` took half of an epoch (and `ln`, in the losses, a tenth).
    Vectorised,
}

/// Reusable working memory for [`Tape::eval`] in `T` (`f64` or `f32`). Once it has held a
/// batch of some length, later batches up to that length allocate nothing.
#[derive(Debug, Clone)]
pub struct TapeScratch<T = f64> {
    regs: Vec<Vec<T>>,
}

impl<T> Default for TapeScratch<T> {
    fn default() -> Self {
        TapeScratch { regs: Vec::new() }
    }
}

impl<T: Real> TapeScratch<T> {
    /// Empty scratch space. It grows on first use.
    pub fn new() -> Self {
        TapeScratch::default()
    }
}

impl Tape {
    /// Compiles `outputs` as functions of `inputs`. The order of `inputs` is the order of the
    /// columns passed to [`Tape::eval`]. If a symbol appears twice, its first column is used.
    ///
    /// # Errors
    ///
    /// [`EvalError::UnboundSymbol`] for a free symbol that is not among `inputs`.
    /// [`EvalError::Unsupported`] for user functions, primed functions, derivatives and sums
    /// whose bounds depend on inputs. [`EvalError::TooLarge`] when the tape would exceed
    /// [`MAX_TAPE_INSTRUCTIONS`], or sums would unroll past [`MAX_SUM_ITERATIONS`] iterations.
    /// Also the sum and arity errors of [`eval_f64`](super::eval_f64).
    pub fn compile(outputs: &[Expr], inputs: &[Symbol]) -> Result<Tape, EvalError> {
        Tape::compile_by(outputs, inputs, SMALL_COMPILE)
    }

    /// [`Tape::compile`], with outputs of at most `small` nodes compiled by
    /// [`compile_small`] and the others by the walk (the same tape either way).
    fn compile_by(outputs: &[Expr], inputs: &[Symbol], small: u64) -> Result<Tape, EvalError> {
        let mut input_index = FxHashMap::default();
        for (i, s) in inputs.iter().enumerate() {
            let i = u32::try_from(i).map_err(|_| EvalError::TooLarge("tape inputs"))?;
            input_index.entry(s.clone()).or_insert(i);
        }
        // At most one instruction per distinct node: sized for the trees (up to 256 nodes),
        // so that small tapes (most of the checker's) never rehash their table.
        let nodes = outputs
            .iter()
            .fold(0u64, |acc, e| acc.saturating_add(e.tree_size()))
            .min(256) as usize;
        let mut c = Compiler {
            input_index,
            ops: Vec::with_capacity(nodes),
            dedup: FxHashMap::with_capacity_and_hasher(nodes, Default::default()),
            work: 0,
            sum_iterations: 0,
        };
        let mut outs = Vec::with_capacity(outputs.len());
        for e in outputs {
            let v = if e.tree_size() <= small {
                compile_small(&mut c, e)?
            } else {
                walk(&mut c, e, &Vec::new())?
            };
            outs.push(c.materialize(v)?);
        }
        let (ops, outs) = remove_dead(&c.ops, &outs);
        let (instrs, n_regs) = allocate_registers(&ops, &outs);
        let direct = direct_outputs(&ops, &outs);
        Ok(Tape {
            inputs: inputs.to_vec(),
            instrs,
            outputs: outs,
            n_regs,
            direct,
        })
    }

    /// The input symbols, in column order.
    pub fn inputs(&self) -> &[Symbol] {
        &self.inputs
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Number of instructions.
    pub fn len(&self) -> usize {
        self.instrs.len()
    }

    /// True when the tape has no instructions (every output is an input column).
    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// Number of column registers the tape needs (at most one per instruction).
    pub fn n_registers(&self) -> usize {
        self.n_regs
    }

    /// Evaluates the tape over a batch. `inputs` holds one column per input symbol, all of the
    /// same length `n`. Each vector of `outputs` (one per output) is overwritten with `n`
    /// values. Without inputs, the batch has one row. NaN and infinities are values, as in
    /// [`eval_f64`](super::eval_f64): check them with [`all_finite`](super::all_finite).
    ///
    /// # Errors
    ///
    /// [`EvalError::Shape`] when the number of input columns or outputs differs from the tape's,
    /// or the input columns differ in length.
    pub fn eval<T: Real>(
        &self,
        inputs: &[&[T]],
        outputs: &mut [Vec<T>],
        scratch: &mut TapeScratch<T>,
    ) -> Result<(), EvalError> {
        self.eval_with(inputs, outputs, scratch, Elementwise::Std)
    }

    /// [`Tape::eval`] with a choice of elementwise functions (see [`Elementwise`]).
    ///
    /// # Errors
    ///
    /// As [`Tape::eval`].
    pub fn eval_with<T: Real>(
        &self,
        inputs: &[&[T]],
        outputs: &mut [Vec<T>],
        scratch: &mut TapeScratch<T>,
        elementwise: Elementwise,
    ) -> Result<(), EvalError> {
        let n = self.batch_len(inputs, outputs.len())?;
        for out in outputs.iter_mut() {
            // Every value is written below; a buffer of the right length is not cleared first.
            if out.len() != n {
                out.clear();
                out.resize(n, T::ZERO);
            }
        }
        match outputs {
            [one] => self.eval_into(inputs, &mut [one.as_mut_slice()], scratch, elementwise),
            [a, b] => self.eval_into(
                inputs,
                &mut [a.as_mut_slice(), b.as_mut_slice()],
                scratch,
                elementwise,
            ),
            _ => {
                let mut outs: Vec<&mut [T]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
                self.eval_into(inputs, &mut outs, scratch, elementwise)
            }
        }
    }

    /// The batch length of `inputs` (the common length of the input columns; 1 without
    /// inputs), after checking the numbers of input and output columns against the tape.
    fn batch_len<T>(&self, inputs: &[&[T]], n_outputs: usize) -> Result<usize, EvalError> {
        if inputs.len() != self.inputs.len() {
            return Err(EvalError::Shape {
                what: "input columns",
                expected: self.inputs.len(),
                found: inputs.len(),
            });
        }
        if n_outputs != self.outputs.len() {
            return Err(EvalError::Shape {
                what: "output columns",
                expected: self.outputs.len(),
                found: n_outputs,
            });
        }
        let n = inputs.first().map_or(1, |c| c.len());
        if let Some(bad) = inputs.iter().find(|c| c.len() != n) {
            return Err(EvalError::Shape {
                what: "values in every input column",
                expected: n,
                found: bad.len(),
            });
        }
        Ok(n)
    }

    /// [`Tape::eval_with`] into output slices that already have the batch length (the part of
    /// a larger buffer a worker thread owns, for instance). Each row is computed by the same
    /// operations as in [`Tape::eval_with`].
    ///
    /// # Errors
    ///
    /// As [`Tape::eval`], and [`EvalError::Shape`] when an output slice does not have the
    /// length of the input columns.
    pub fn eval_into<T: Real>(
        &self,
        inputs: &[&[T]],
        outputs: &mut [&mut [T]],
        scratch: &mut TapeScratch<T>,
        elementwise: Elementwise,
    ) -> Result<(), EvalError> {
        let n = self.batch_len(inputs, outputs.len())?;
        if let Some(bad) = outputs.iter().find(|c| c.len() != n) {
            return Err(EvalError::Shape {
                what: "values in every output column",
                expected: n,
                found: bad.len(),
            });
        }
        if scratch.regs.len() < self.n_regs {
            scratch.regs.resize_with(self.n_regs, Vec::new);
        }
        // The batch runs in chunks of `chunk_rows` rows, every instruction over one chunk before
        // the next, so that the registers stay in the L1 cache however long the batch is.
        // Each row is computed by the same operations either way.
        let mut lo = 0;
        loop {
            let hi = (lo + chunk_rows::<T>()).min(n);
            for (instr, direct) in self.instrs.iter().zip(&self.direct) {
                if let Some(out) = direct
                    .and_then(|j| outputs.get_mut(j as usize))
                    .and_then(|o| o.get_mut(lo..hi))
                {
                    self.run(instr.op, out, inputs, &scratch.regs, (lo, hi), elementwise)?;
                    continue;
                }
                let reg = instr.reg as usize;
                // The result column is taken out of the scratch space while the operands are
                // read from it. The register allocator never gives an instruction the register
                // of a live operand.
                let mut out = scratch
                    .regs
                    .get_mut(reg)
                    .map(std::mem::take)
                    .unwrap_or_default();
                out.resize(hi - lo, T::ZERO);
                let res = self.run(
                    instr.op,
                    &mut out,
                    inputs,
                    &scratch.regs,
                    (lo, hi),
                    elementwise,
                );
                if let Some(slot) = scratch.regs.get_mut(reg) {
                    *slot = out;
                }
                res?;
            }
            for (j, (out, src)) in outputs.iter_mut().zip(&self.outputs).enumerate() {
                let written = match src {
                    Src::Value(v) => self.direct.get(*v as usize).copied().flatten(),
                    Src::Input(_) => None,
                };
                if written.is_some_and(|w| w as usize == j) {
                    continue;
                }
                let col = self.column(*src, inputs, &scratch.regs, lo, hi)?;
                if let Some(dst) = out.get_mut(lo..hi) {
                    dst.copy_from_slice(col);
                }
            }
            if hi >= n {
                break;
            }
            lo = hi;
        }
        Ok(())
    }

    /// Evaluates the tape at one point: `inputs` holds one value per input symbol. A
    /// convenience that allocates. Use [`Tape::eval`] for batches.
    ///
    /// # Errors
    ///
    /// As [`Tape::eval`].
    pub fn eval_scalar(&self, inputs: &[f64]) -> Result<Vec<f64>, EvalError> {
        let cols: Vec<&[f64]> = inputs.iter().map(std::slice::from_ref).collect();
        let mut outputs = vec![Vec::new(); self.outputs.len()];
        self.eval(&cols, &mut outputs, &mut TapeScratch::new())?;
        Ok(outputs
            .into_iter()
            .map(|o| o.first().copied().unwrap_or(f64::NAN))
            .collect())
    }

    /// The column an operand reads, rows `lo..hi` of the batch (registers hold just those).
    fn column<'a, T: Real>(
        &self,
        src: Src,
        inputs: &[&'a [T]],
        regs: &'a [Vec<T>],
        lo: usize,
        hi: usize,
    ) -> Result<&'a [T], EvalError> {
        let n = hi - lo;
        let col = match src {
            Src::Input(i) => inputs.get(i as usize).and_then(|c| c.get(lo..hi)),
            Src::Value(v) => self
                .instrs
                .get(v as usize)
                .and_then(|ins| regs.get(ins.reg as usize))
                .map(Vec::as_slice),
        };
        let col = col.unwrap_or(&[]);
        // Every column read has the batch length; a short one would mean a register was reused
        // while still live.
        debug_assert_eq!(col.len(), n);
        if col.len() == n {
            Ok(col)
        } else {
            Err(EvalError::Shape {
                what: "values in an intermediate column",
                expected: n,
                found: col.len(),
            })
        }
    }

    /// Runs one instruction over rows `lo..hi`. With [`Elementwise::Vectorised`] on a CPU
    /// with AVX2, the loops are compiled for AVX2 (four `f64` lanes instead of two, eight `f32`
    /// instead of four); without fused multiply-add either way, so the bits are the same.
    fn run<T: Real>(
        &self,
        op: Op,
        out: &mut [T],
        inputs: &[&[T]],
        regs: &[Vec<T>],
        rows: (usize, usize),
        elementwise: Elementwise,
    ) -> Result<(), EvalError> {
        #[cfg(target_arch = "x86_64")]
        {
            if elementwise == Elementwise::Vectorised && std::arch::is_x86_feature_detected!("avx2")
            {
                // SAFETY: AVX2 was detected just above.
                return unsafe { self.run_avx2(op, out, inputs, regs, rows, elementwise) };
            }
        }
        self.run_body(op, out, inputs, regs, rows, elementwise)
    }

    /// [`Tape::run`] compiled with AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2<T: Real>(
        &self,
        op: Op,
        out: &mut [T],
        inputs: &[&[T]],
        regs: &[Vec<T>],
        rows: (usize, usize),
        elementwise: Elementwise,
    ) -> Result<(), EvalError> {
        self.run_body(op, out, inputs, regs, rows, elementwise)
    }

    #[inline(always)]
    fn run_body<T: Real>(
        &self,
        op: Op,
        out: &mut [T],
        inputs: &[&[T]],
        regs: &[Vec<T>],
        (lo, hi): (usize, usize),
        elementwise: Elementwise,
    ) -> Result<(), EvalError> {
        let col = |s: Src| self.column(s, inputs, regs, lo, hi);
        // `+`, `·` and `−` run in `T`; every other function in `f64` (the identity for `f64`,
        // where these are exactly `eval_f64`'s operations; see `Real`).
        match op {
            Op::Const(c) => out.fill(T::from_f64(c.get())),
            Op::Unary(u, a) => {
                let a = col(a)?;
                match (elementwise, u) {
                    (Elementwise::Vectorised, Unary::Exp) => T::exp_slice(a, out),
                    (Elementwise::Vectorised, Unary::Tanh) => T::tanh_slice(a, out),
                    (Elementwise::Vectorised, Unary::Sigmoid) => T::sigmoid_slice(a, out),
                    (Elementwise::Vectorised, Unary::Log) => T::ln_slice(a, out),
                    _ => dispatch_unary!(u, f => map1(out, a, |v| T::from_f64(f(v.to_f64())))),
                }
            }
            Op::Binary(b, x, y) => {
                let (x, y) = (col(x)?, col(y)?);
                match b {
                    Binary::Add => map2(out, x, y, |a, b| a + b),
                    Binary::Mul => map2(out, x, y, |a, b| a * b),
                    _ => dispatch_binary!(b, f => map2(out, x, y, |a, b| {
                        T::from_f64(f(a.to_f64(), b.to_f64()))
                    })),
                }
            }
            Op::BinaryConst(b, x, c) => {
                let (x, c) = (col(x)?, c.get());
                let ct = T::from_f64(c);
                match b {
                    Binary::Add => map1(out, x, |v| v + ct),
                    Binary::Mul => map1(out, x, |v| v * ct),
                    _ => dispatch_binary!(b, f => map1(out, x, |v| T::from_f64(f(v.to_f64(), c)))),
                }
            }
            Op::ConstBinary(b, c, y) => {
                let (c, y) = (c.get(), col(y)?);
                let ct = T::from_f64(c);
                match b {
                    Binary::Add => map1(out, y, |v| ct + v),
                    Binary::Mul => map1(out, y, |v| ct * v),
                    _ => dispatch_binary!(b, f => map1(out, y, |v| T::from_f64(f(c, v.to_f64())))),
                }
            }
            Op::Sub(x, y) => {
                let (x, y) = (col(x)?, col(y)?);
                map2(out, x, y, |a, b| a - b);
            }
            Op::ConstSub(c, y) => {
                let (c, y) = (T::from_f64(c.get()), col(y)?);
                map1(out, y, |v| c - v);
            }
            Op::PowInt(x, k) => {
                let x = col(x)?;
                // The special cases are `powi`'s own results (1·x·x and 1/(1·x)), written so
                // the loop vectorises.
                match k {
                    2 => map1(out, x, |v| v * v),
                    -1 => map1(out, x, |v| T::ONE / v),
                    _ => map1(out, x, |v| T::from_f64(special::powi(v.to_f64(), k))),
                }
            }
        }
        Ok(())
    }

    fn fmt_src(&self, f: &mut fmt::Formatter<'_>, s: Src) -> fmt::Result {
        match s {
            Src::Input(i) => match self.inputs.get(i as usize) {
                Some(sym) => write!(f, "{sym}"),
                None => write!(f, "in{i}"),
            },
            Src::Value(v) => write!(f, "v{v}"),
        }
    }
}

#[inline(always)]
fn map1<T: Copy>(out: &mut [T], a: &[T], f: impl Fn(T) -> T) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
}

#[inline(always)]
fn map2<T: Copy>(out: &mut [T], a: &[T], b: &[T], f: impl Fn(T, T) -> T) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

/// Drops the instructions no output depends on (a negation folded into a subtraction leaves
/// one behind) and renumbers the rest, keeping their order.
fn remove_dead(ops: &[Op], outputs: &[Src]) -> (Vec<Op>, Vec<Src>) {
    let mut live = vec![false; ops.len()];
    let mark = |s: Src, live: &mut Vec<bool>| {
        if let Src::Value(v) = s {
            if let Some(l) = live.get_mut(v as usize) {
                *l = true;
            }
        }
    };
    for s in outputs {
        mark(*s, &mut live);
    }
    // Operands come before their users, so one backward sweep finds everything live.
    for i in (0..ops.len()).rev() {
        if live.get(i).copied().unwrap_or(false) {
            if let Some(op) = ops.get(i) {
                for s in op.operands().into_iter().flatten() {
                    mark(s, &mut live);
                }
            }
        }
    }
    let mut new_index = vec![0u32; ops.len()];
    let mut kept = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        if live.get(i).copied().unwrap_or(false) {
            if let Some(slot) = new_index.get_mut(i) {
                *slot = kept.len() as u32;
            }
            kept.push(*op);
        }
    }
    let remap = |s: Src| match s {
        Src::Value(v) => Src::Value(new_index.get(v as usize).copied().unwrap_or(v)),
        input => input,
    };
    let kept = kept.into_iter().map(|op| op.map_operands(remap)).collect();
    (kept, outputs.iter().map(|s| remap(*s)).collect())
}

/// Per instruction: `Some(j)` when its value is output `j` and no other output, and no
/// instruction reads it, so that it can be written straight into that output.
fn direct_outputs(ops: &[Op], outputs: &[Src]) -> Vec<Option<u32>> {
    // Uses of each value: by instructions and by outputs.
    let mut uses = vec![0usize; ops.len()];
    let sources = ops
        .iter()
        .flat_map(|op| op.operands().into_iter().flatten())
        .chain(outputs.iter().copied());
    for s in sources {
        if let Src::Value(v) = s {
            if let Some(u) = uses.get_mut(v as usize) {
                *u += 1;
            }
        }
    }
    let mut direct = vec![None; ops.len()];
    for (j, s) in outputs.iter().enumerate() {
        if let Src::Value(v) = s {
            let v = *v as usize;
            if let (Some(1), Some(slot), Ok(j)) =
                (uses.get(v).copied(), direct.get_mut(v), u32::try_from(j))
            {
                *slot = Some(j);
            }
        }
    }
    direct
}

/// Gives each instruction a register: a fresh one, or one whose value has had its last use.
/// Outputs keep their registers to the end. Returns the instructions and the register count.
fn allocate_registers(ops: &[Op], outputs: &[Src]) -> (Vec<Instr>, usize) {
    const FOREVER: usize = usize::MAX;
    let mut last_use: Vec<Option<usize>> = vec![None; ops.len()];
    let mut mark = |s: Src, at: usize| {
        if let Src::Value(v) = s {
            if let Some(slot) = last_use.get_mut(v as usize) {
                *slot = Some(at);
            }
        }
    };
    for (i, op) in ops.iter().enumerate() {
        for s in op.operands().into_iter().flatten() {
            mark(s, i);
        }
    }
    for s in outputs {
        mark(*s, FOREVER);
    }
    let mut free: Vec<u32> = Vec::new();
    let mut n_regs: u32 = 0;
    let mut instrs: Vec<Instr> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let reg = free.pop().unwrap_or_else(|| {
            n_regs += 1;
            n_regs - 1
        });
        instrs.push(Instr { op: *op, reg });
        for s in op.operands().into_iter().flatten() {
            if let Src::Value(v) = s {
                let v = v as usize;
                if last_use.get(v).copied().flatten() == Some(i) {
                    if let Some(ins) = instrs.get(v) {
                        free.push(ins.reg);
                    }
                }
            }
        }
        if last_use.get(i).copied().flatten().is_none() {
            // Never read: the register is free again at once.
            free.push(reg);
        }
    }
    (instrs, n_regs as usize)
}

/// Most nodes (as a tree) of an output compiled by [`compile_small`].
const SMALL_COMPILE: u64 = 64;

/// What `walk(c, e, &Vec::new())` gives, for a small tree, by plain recursion: each child in
/// order, then the node, as the walk does, and the same first error. The walk computes a
/// shared node once; this computes it again where it recurs, and gets the same columns,
/// because every instruction goes through [`Compiler::emit`], which returns the column of an
/// equal instruction already emitted (so the tape is the same, instruction for instruction).
/// The recursion is bounded by the tree's size; a sum, whose body is evaluated under its own
/// bindings, goes to the walk.
fn compile_small(c: &mut Compiler, e: &Expr) -> Result<Val, EvalError> {
    const NO_SCOPE: &Bindings = &Vec::new();
    if is_opaque(e) {
        return c.unsupported(e);
    }
    match e.node() {
        Node::Sum { .. } => walk(c, e, NO_SCOPE),
        Node::Num(_) | Node::Const(_) | Node::Sym(_) | Node::Deriv(..) => {
            c.tick()?;
            c.node(e, &[], NO_SCOPE)
        }
        Node::Pow(a, b) | Node::Delta(a, b) => {
            let x = compile_small(c, a)?;
            let y = compile_small(c, b)?;
            c.tick()?;
            c.node(e, &[x, y], NO_SCOPE)
        }
        Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => {
            let mut few = [Val::Const(0.0); 8];
            if xs.len() <= few.len() {
                for (slot, x) in few.iter_mut().zip(xs) {
                    *slot = compile_small(c, x)?;
                }
                c.tick()?;
                c.node(e, few.get(..xs.len()).unwrap_or_default(), NO_SCOPE)
            } else {
                let args = xs
                    .iter()
                    .map(|x| compile_small(c, x))
                    .collect::<Result<Vec<Val>, EvalError>>()?;
                c.tick()?;
                c.node(e, &args, NO_SCOPE)
            }
        }
    }
}

/// The value of a node during compilation: a constant, or a column.
#[derive(Debug, Clone, Copy)]
enum Val {
    Const(f64),
    Src(Src),
}

struct Compiler {
    input_index: FxHashMap<Symbol, u32>,
    ops: Vec<Op>,
    dedup: FxHashMap<Op, u32>,
    work: u64,
    sum_iterations: u64,
}

impl Compiler {
    fn emit(&mut self, op: Op) -> Result<Val, EvalError> {
        if let Some(&id) = self.dedup.get(&op) {
            return Ok(Val::Src(Src::Value(id)));
        }
        if self.ops.len() >= MAX_TAPE_INSTRUCTIONS {
            return Err(EvalError::TooLarge("tape instructions"));
        }
        let id = u32::try_from(self.ops.len()).map_err(|_| EvalError::TooLarge("tape"))?;
        self.ops.push(op);
        self.dedup.insert(op, id);
        Ok(Val::Src(Src::Value(id)))
    }

    fn materialize(&mut self, v: Val) -> Result<Src, EvalError> {
        match v {
            Val::Src(s) => Ok(s),
            Val::Const(c) => match self.emit(Op::Const(Bits::of(c)))? {
                Val::Src(s) => Ok(s),
                Val::Const(_) => Err(EvalError::TooLarge("tape")),
            },
        }
    }

    fn unary(&mut self, u: Unary, a: Val) -> Result<Val, EvalError> {
        match a {
            Val::Const(x) => Ok(Val::Const(u.apply(x))),
            Val::Src(s) => self.emit(Op::Unary(u, s)),
        }
    }

    /// `x` when `v` is the column `x·(−1)`.
    fn negated(&self, v: Val) -> Option<Src> {
        let Val::Src(Src::Value(id)) = v else {
            return None;
        };
        match self.ops.get(id as usize)? {
            Op::BinaryConst(Binary::Mul, x, c) if c.get() == -1.0 => Some(*x),
            _ => None,
        }
    }

    fn binary(&mut self, op: Binary, a: Val, b: Val) -> Result<Val, EvalError> {
        if op == Binary::Add {
            // a + (−1)·x → a − x (same bits; see `Op::Sub`).
            match (a, b, self.negated(a), self.negated(b)) {
                (Val::Src(p), _, _, Some(x)) => return self.emit(Op::Sub(p, x)),
                (_, Val::Src(q), Some(x), None) => return self.emit(Op::Sub(q, x)),
                (Val::Const(c), _, _, Some(x)) | (_, Val::Const(c), Some(x), _) => {
                    return self.emit(Op::ConstSub(Bits::of(c), x))
                }
                _ => {}
            }
        }
        match (a, b) {
            (Val::Const(x), Val::Const(y)) => Ok(Val::Const(op.apply(x, y))),
            (Val::Src(s), Val::Const(c)) => {
                if op == Binary::Pow {
                    if let Some(k) = special::small_int_exponent(c) {
                        return self.emit(Op::PowInt(s, k));
                    }
                }
                self.emit(Op::BinaryConst(op, s, Bits::of(c)))
            }
            (Val::Const(c), Val::Src(s)) => {
                if op.commutes() {
                    self.emit(Op::BinaryConst(op, s, Bits::of(c)))
                } else {
                    self.emit(Op::ConstBinary(op, Bits::of(c), s))
                }
            }
            (Val::Src(x), Val::Src(y)) => {
                let (x, y) = if op.commutes() && y < x {
                    (y, x)
                } else {
                    (x, y)
                };
                self.emit(Op::Binary(op, x, y))
            }
        }
    }

    /// Left fold, as `eval_f64` does it.
    fn fold(&mut self, op: Binary, args: &[Val], empty: f64) -> Result<Val, EvalError> {
        let Some((first, rest)) = args.split_first() else {
            return Ok(Val::Const(empty));
        };
        let mut acc = *first;
        for a in rest {
            acc = self.binary(op, acc, *a)?;
        }
        Ok(acc)
    }
}

impl DagFold for Compiler {
    type Value = Val;
    type Error = EvalError;

    fn unsupported(&mut self, e: &Expr) -> Result<Val, EvalError> {
        Err(EvalError::Unsupported(super::describe_unsupported(e)))
    }

    fn node(&mut self, e: &Expr, args: &[Val], scope: &Bindings) -> Result<Val, EvalError> {
        match e.node() {
            Node::Num(r) => Ok(Val::Const(rational_to_f64(r))),
            Node::Const(c) => Ok(Val::Const(constant_f64(*c))),
            Node::Sym(s) => match resolve(s, scope) {
                // Sum indices are far below 2^53 (see `sum_bounds`), so this is exact.
                #[allow(clippy::cast_precision_loss)]
                Resolved::Index(k) => Ok(Val::Const(k as f64)),
                Resolved::Symbol(s) => match self.input_index.get(s.as_ref()) {
                    Some(&i) => Ok(Val::Src(Src::Input(i))),
                    None => Err(EvalError::UnboundSymbol(s.into_owned())),
                },
            },
            Node::Add(_) => self.fold(Binary::Add, args, 0.0),
            Node::Mul(_) => self.fold(Binary::Mul, args, 1.0),
            Node::Pow(..) | Node::Delta(..) => {
                let op = if matches!(e.node(), Node::Pow(..)) {
                    Binary::Pow
                } else {
                    Binary::Delta
                };
                match args {
                    [a, b] => self.binary(op, *a, *b),
                    _ => Err(EvalError::Unsupported("a malformed node".to_string())),
                }
            }
            Node::Call(Func::Builtin(b), _) => {
                let arity_error = || EvalError::Arity {
                    func: b.name(),
                    expected: b.arity(),
                    found: args.len(),
                };
                if let Some(u) = Unary::of(*b) {
                    match args {
                        [x] => self.unary(u, *x),
                        _ => Err(arity_error()),
                    }
                } else if let Some(op) = Binary::of(*b) {
                    match args {
                        [x, y] => self.binary(op, *x, *y),
                        _ => Err(arity_error()),
                    }
                } else {
                    Err(arity_error())
                }
            }
            Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } => self.unsupported(e),
        }
    }

    fn sum(
        &mut self,
        index: &Symbol,
        lo: &Val,
        hi: &Val,
        body: &Expr,
        scope: &Bindings,
    ) -> Result<Val, EvalError> {
        let (Val::Const(lo), Val::Const(hi)) = (*lo, *hi) else {
            return Err(EvalError::Unsupported(
                "a sum whose bounds depend on the inputs".to_string(),
            ));
        };
        let (lo, hi, count) = sum_bounds(lo, hi)?;
        self.sum_iterations = self.sum_iterations.saturating_add(count);
        if self.sum_iterations > MAX_SUM_ITERATIONS {
            return Err(EvalError::TooLarge("sum iterations"));
        }
        let mut inner = scope.clone();
        inner.push((index.clone(), lo));
        let mut acc: Option<Val> = None;
        for k in lo..=hi {
            if let Some(last) = inner.last_mut() {
                last.1 = k;
            }
            let term = walk(self, body, &inner)?;
            acc = Some(match acc {
                None => term,
                Some(a) => self.binary(Binary::Add, a, term)?,
            });
        }
        Ok(acc.unwrap_or(Val::Const(0.0)))
    }

    fn tick(&mut self) -> Result<(), EvalError> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(EvalError::TooLarge("compilation work"));
        }
        Ok(())
    }

    fn too_deep(&self) -> EvalError {
        EvalError::TooDeep(MAX_SUM_NESTING)
    }
}

/// One line per instruction, `v3 = v1 * v2`, then one line per output, `out0 = v3`. Inputs
/// appear by name and constants in full precision.
impl fmt::Display for Tape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, instr) in self.instrs.iter().enumerate() {
            write!(f, "v{i} = ")?;
            match instr.op {
                Op::Const(c) => write!(f, "{}", c.get())?,
                Op::Unary(u, a) => {
                    write!(f, "{}(", u.name())?;
                    self.fmt_src(f, a)?;
                    f.write_str(")")?;
                }
                Op::Binary(b, x, y) => {
                    self.fmt_binary(f, b, |f| self.fmt_src(f, x), |f| self.fmt_src(f, y))?;
                }
                Op::BinaryConst(b, x, c) => {
                    self.fmt_binary(f, b, |f| self.fmt_src(f, x), |f| write!(f, "{}", c.get()))?;
                }
                Op::ConstBinary(b, c, y) => {
                    self.fmt_binary(f, b, |f| write!(f, "{}", c.get()), |f| self.fmt_src(f, y))?;
                }
                Op::PowInt(x, k) => {
                    self.fmt_src(f, x)?;
                    write!(f, " ^ {k}")?;
                }
                Op::Sub(x, y) => {
                    self.fmt_src(f, x)?;
                    f.write_str(" - ")?;
                    self.fmt_src(f, y)?;
                }
                Op::ConstSub(c, y) => {
                    write!(f, "{} - ", c.get())?;
                    self.fmt_src(f, y)?;
                }
            }
            writeln!(f)?;
        }
        for (i, s) in self.outputs.iter().enumerate() {
            write!(f, "out{i} = ")?;
            self.fmt_src(f, *s)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

impl Tape {
    fn fmt_binary(
        &self,
        f: &mut fmt::Formatter<'_>,
        op: Binary,
        a: impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result,
        b: impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let infix = match op {
            Binary::Add => Some(" + "),
            Binary::Mul => Some(" * "),
            Binary::Pow => Some(" ^ "),
            Binary::Max | Binary::Min | Binary::Delta => None,
        };
        match infix {
            Some(sep) => {
                a(f)?;
                f.write_str(sep)?;
                b(f)
            }
            None => {
                let name = match op {
                    Binary::Max => "max",
                    Binary::Min => "min",
                    _ => "delta",
                };
                write!(f, "{name}(")?;
                a(f)?;
                f.write_str(", ")?;
                b(f)?;
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_trees_compile_to_the_walks_tape() {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let (y, z) = (Symbol::new("y"), Symbol::new("z"));
        let sigma = parse("sigmoid(z)");
        // A node shared by handles, and equal nodes apart (as parsed).
        let shared = Expr::mul(vec![
            sigma.clone(),
            Expr::sub(Expr::one(), sigma),
            parse("sigmoid(z)"),
        ]);
        let texts = [
            "sigmoid(z)*(1 - sigmoid(z)) + sigmoid(z)^2",
            "z*y - y*z + 3/7*exp(-z^2/2) + abs(z) + max(z, y)",
            "(1 + z)^-2 + (1 + z)^(1/2) + (2 + 3)*z + a + b + c + d + e + f + g + h + z",
            "Σ_{j=1}^{3} z^j + z",
            "tanh(z) - tanh(z) + heaviside(z - 1/3)*relu(y)",
            "(1 + z)^(y - 1) + (2*y)^(z + 1)",
            "f(z) + z",
            "unbound + z",
            "d/dz z^2",
        ];
        let inputs = [z.clone(), y.clone()];
        let mut exprs: Vec<Expr> = texts.iter().map(|t| parse(t)).collect();
        exprs.push(shared);
        let mut compiled = 0;
        for e in &exprs {
            assert!(e.tree_size() <= SMALL_COMPILE, "{e}");
            let small = Tape::compile_by(std::slice::from_ref(e), &inputs, SMALL_COMPILE);
            let walked = Tape::compile_by(std::slice::from_ref(e), &inputs, 0);
            assert_eq!(format!("{small:?}"), format!("{walked:?}"), "{e}");
            compiled += usize::from(small.is_ok());
        }
        // Both sides of a pair, as the sampler compiles them.
        let two = Tape::compile_by(&exprs[..2], &inputs, SMALL_COMPILE);
        let two_walked = Tape::compile_by(&exprs[..2], &inputs, 0);
        assert_eq!(format!("{two:?}"), format!("{two_walked:?}"));
        // Some compile and some do not (a user function, an unbound symbol, a derivative).
        assert!(compiled >= 5 && compiled < exprs.len(), "{compiled}");
    }

    fn x() -> Expr {
        Expr::var("x")
    }

    #[test]
    fn long_batches_run_in_chunks_and_agree_row_by_row() {
        // σ(x)·(1 − σ(x)) + x² over 1000 rows (several chunks, a partial last one).
        let s = Expr::call(crate::expr::Builtin::Sigmoid, vec![x()]);
        let f = Expr::add(vec![
            Expr::mul(vec![s.clone(), Expr::sub(Expr::one(), s)]),
            Expr::pow(x(), Expr::int(2)),
        ]);
        let tape = Tape::compile(&[f.clone(), x()], &[Symbol::new("x")]).unwrap();
        let xs: Vec<f64> = (0..1000).map(|i| (i as f64 - 500.0) / 37.0).collect();
        let mut out = vec![Vec::new(), Vec::new()];
        let mut scratch = TapeScratch::new();
        tape.eval(&[&xs], &mut out, &mut scratch).unwrap();
        assert_eq!(out[0].len(), 1000);
        assert_eq!(out[1], xs);
        for (i, &v) in xs.iter().enumerate() {
            assert_eq!(
                out[0][i].to_bits(),
                tape.eval_scalar(&[v]).unwrap()[0].to_bits()
            );
        }
        // A shorter batch afterwards reuses the scratch space.
        tape.eval(&[&xs[..3]], &mut out, &mut scratch).unwrap();
        assert_eq!(out[0].len(), 3);
    }

    #[test]
    fn outputs_written_directly_or_copied_agree_with_eval_f64() {
        // exp(x) is an output and read by a later instruction, exp(x) + x is output twice
        // (both copied from their registers), exp(x)·x once (written directly); x is an
        // input.
        let e = Expr::call(crate::expr::Builtin::Exp, vec![x()]);
        let f = Expr::add(vec![e.clone(), x()]);
        let g = Expr::mul(vec![e.clone(), x()]);
        let outs = [e.clone(), f.clone(), f.clone(), x(), g];
        let tape = Tape::compile(&outs, &[Symbol::new("x")]).unwrap();
        let xs: Vec<f64> = (0..1300).map(|i| (i as f64 - 650.0) / 100.0).collect();
        let mut out = vec![Vec::new(); 5];
        let mut scratch = TapeScratch::new();
        for n in [1300, 7, 1300] {
            tape.eval(&[&xs[..n]], &mut out, &mut scratch).unwrap();
            for (i, &v) in xs[..n].iter().enumerate() {
                let want = [v.exp(), v.exp() + v, v.exp() + v, v, v.exp() * v];
                for (o, w) in out.iter().zip(want) {
                    assert_eq!(o.len(), n);
                    assert_eq!(o[i].to_bits(), w.to_bits(), "at {v}");
                }
            }
        }
    }

    #[test]
    fn vectorised_elementwise_functions_are_close_and_the_rest_identical() {
        let fs = [
            Expr::call(crate::expr::Builtin::Tanh, vec![x()]),
            Expr::call(crate::expr::Builtin::Sigmoid, vec![x()]),
            Expr::call(crate::expr::Builtin::Exp, vec![x()]),
            Expr::call(
                crate::expr::Builtin::Log,
                vec![Expr::add(vec![Expr::pow(x(), Expr::int(2)), Expr::one()])],
            ),
            Expr::call(crate::expr::Builtin::Sin, vec![x()]),
            // Arithmetic (run with AVX2 where the CPU has it): the same bits.
            Expr::add(vec![
                Expr::pow(x(), Expr::int(2)),
                Expr::sub(Expr::one(), Expr::mul(vec![x(), Expr::frac(1, 3)])),
                Expr::pow(x(), Expr::int(-1)),
            ]),
        ];
        let tape = Tape::compile(&fs, &[Symbol::new("x")]).unwrap();
        let xs: Vec<f64> = (0..2000).map(|i| (i as f64 - 1000.0) / 3.0).collect();
        let (mut a, mut b) = (vec![Vec::new(); 6], vec![Vec::new(); 6]);
        let mut scratch = TapeScratch::new();
        tape.eval(&[&xs], &mut a, &mut scratch).unwrap();
        tape.eval_with(&[&xs], &mut b, &mut scratch, Elementwise::Vectorised)
            .unwrap();
        for (k, (p, q)) in a.iter().zip(&b).enumerate() {
            for (u, v) in p.iter().zip(q) {
                if k >= 4 {
                    assert_eq!(u.to_bits(), v.to_bits());
                } else {
                    assert!((u - v).abs() <= 4.0 * f64::EPSILON * u.abs(), "{u} vs {v}");
                }
            }
        }
    }

    #[test]
    fn plus_minus_one_times_becomes_a_subtraction_with_the_same_bits() {
        // 1 − x, x − y, (−x) + y and 2 − 3x, each one instruction fewer than written.
        let (y, two) = (Expr::var("y"), Expr::int(2));
        let cases = [
            (Expr::sub(Expr::one(), x()), 1),
            (Expr::sub(x(), y.clone()), 1),
            (Expr::add(vec![Expr::neg(x()), y.clone()]), 1),
            (Expr::sub(two, Expr::mul(vec![Expr::int(3), x()])), 2),
        ];
        let syms = [Symbol::new("x"), Symbol::new("y")];
        for (e, n_instrs) in cases {
            let tape = Tape::compile(std::slice::from_ref(&e), &syms).unwrap();
            assert_eq!(tape.len(), n_instrs, "{e}:\n{tape}");
            for (xv, yv) in [(0.1, 0.7), (-3.5, 1e-17), (1e300, -1e300), (f64::NAN, 2.0)] {
                let want = super::super::eval_f64(&e, &|s: &Symbol| {
                    Some(if s.name() == "x" { xv } else { yv })
                })
                .unwrap();
                let got = tape.eval_scalar(&[xv, yv]).unwrap()[0];
                assert_eq!(got.to_bits(), want.to_bits(), "{e} at ({xv}, {yv})");
            }
        }
    }

    #[test]
    fn equal_subterms_become_one_instruction() {
        // Two separately built copies of exp(x), and x·x written twice.
        let e1 = Expr::call(crate::expr::Builtin::Exp, vec![x()]);
        let e2 = Expr::call(crate::expr::Builtin::Exp, vec![x()]);
        let f = Expr::add(vec![e1, e2]);
        let tape = Tape::compile(&[f], &[Symbol::new("x")]).unwrap();
        assert_eq!(tape.to_string(), "v0 = exp(x)\nv1 = v0 + v0\nout0 = v1\n");
    }

    #[test]
    fn constants_fold_without_reassociating() {
        let f = Expr::add(vec![x(), Expr::int(1), Expr::int(2)]);
        let g = Expr::add(vec![Expr::int(1), Expr::int(2), x()]);
        let tape = Tape::compile(&[f, g], &[Symbol::new("x")]).unwrap();
        assert_eq!(
            tape.to_string(),
            "v0 = x + 1\nv1 = v0 + 2\nv2 = x + 3\nout0 = v1\nout1 = v2\n"
        );
    }

    #[test]
    fn registers_are_reused_after_last_use() {
        // A chain of 100 exps needs only two registers: the current and the next.
        let mut e = x();
        for _ in 0..100 {
            e = Expr::call(crate::expr::Builtin::Exp, vec![e]);
        }
        let tape = Tape::compile(&[e], &[Symbol::new("x")]).unwrap();
        assert_eq!(tape.len(), 100);
        assert_eq!(tape.n_registers(), 2);
    }

    #[test]
    fn constant_output_is_materialised() {
        let tape = Tape::compile(&[Expr::frac(1, 2)], &[]).unwrap();
        assert_eq!(tape.to_string(), "v0 = 0.5\nout0 = v0\n");
        assert_eq!(tape.eval_scalar(&[]).unwrap(), vec![0.5]);
    }
}
