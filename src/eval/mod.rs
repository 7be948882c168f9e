//! Exact and floating-point evaluation of expressions, and compiled formulas over batches.
//!
//! Three evaluators share one set of special-function definitions ([`special`]) and one
//! non-recursive walk over the expression DAG:
//!
//! - [`eval_f64`] evaluates at one point in `f64`. The checker uses it to compare both sides of
//!   a claim at sampled points.
//! - [`eval_exact`] gives the exact rational value when the expression allows it (`(1/2 + 1/3)·6`
//!   is exactly 5; `exp(1)` is not rational).
//! - [`Tape`] compiles expressions into a flat instruction program run over whole columns of
//!   inputs. The trainer uses it for batched derivative formulas.
//!
//! # Numeric conventions
//!
//! These hold in all three evaluators, and the `f64` ones share the same functions, so a tape
//! and [`eval_f64`] agree bit for bit:
//!
//! - `sign(0) = 0`, `relu(0) = 0`, and `heaviside(0) = 1/2`. With `H(0) = 1/2`, the identity
//!   `max(a, b) = a·H(a − b) + b·H(b − a)` also holds when `a = b`.
//! - `sigmoid` and `softplus` are computed stably for large `|z|`, so `σ(−800) = 0` and
//!   `softplus(800) = 800` instead of NaN or ∞.
//! - `max`, `min`, `sign`, `relu`, `heaviside` and `δ` give NaN for a NaN argument rather than
//!   ignoring it.
//! - `a^b` with an integer `b` and `|b| ≤ 64` is repeated multiplication (so `x^2` is exactly
//!   `x·x`, and a negative base is fine). Other exponents use `powf`, which gives NaN for a
//!   negative base.
//! - `n`-ary sums and products are folded left to right. The empty sum is 0, and the empty
//!   product is 1.
//! - Non-finite results (NaN, ±∞) are returned as values: the caller decides what they mean.
//!   [`require_finite`] turns them into an error when that is what the caller wants.
//!
//! # Sums and indexed symbols
//!
//! `Σ_{j=lo}^{hi} body` needs integer bounds. The body is evaluated once per `j`, with `j`
//! bound to that integer. While `j` is bound, a symbol whose subscript is `j` (such as `x_j`)
//! names the symbol with the value as its subscript: with `j = 3`, `x_j` is looked up as `x_3`.
//! A subscript of several one-letter parts (`w_{ij}`) is read letter by letter. The bound letters
//! are replaced, and all the parts are joined with commas: with `i = 2` and `j = 3`, `w_{ij}` is
//! looked up as `w_{2,3}`. The caller's environment provides values for these names. A
//! closure can make them up on demand, for example with a seeded hash of the symbol.
//!
//! # What this module does not do
//!
//! It does not expand user definitions, take derivatives, or resolve primed functions. The
//! evaluators report [`EvalError::Unsupported`] for them, and the exact evaluator returns
//! `None`. Callers expand definitions and derivatives first. It does not choose sample points
//! or decide whether a non-finite value is a counterexample.

mod compile;
mod exact;
mod interval;
mod real;
pub mod vector;

use std::borrow::Cow;

use num_traits::ToPrimitive;
use rustc_hash::FxHashMap;

use crate::expr::{Builtin, Constant, Expr, Func, Node, Symbol};

pub use compile::{Elementwise, Tape, TapeScratch, MAX_TAPE_INSTRUCTIONS};
pub use exact::{eval_exact, exact_value};
pub use interval::{eval_interval, eval_interval_at, eval_interval_in, point_intervals, Interval};
pub use real::Real;

/// Most sum iterations one evaluation may run, counted over all sums together (nested sums
/// multiply). Above it, evaluation stops with [`EvalError::TooLarge`].
pub const MAX_SUM_ITERATIONS: u64 = 1_000_000;

/// Most node evaluations in one call of [`eval_f64`], sum iterations included. This bounds the
/// time a hostile expression can take (about a second).
pub const MAX_WORK: u64 = 20_000_000;

/// Deepest nesting of sums inside sums. Each nested sum needs one more level of the (otherwise
/// non-recursive) walk, so this bounds recursion as well.
pub const MAX_SUM_NESTING: usize = 64;

/// Largest `|n|` for which `x^n` is computed by repeated multiplication rather than `powf`.
pub const MAX_POWI_EXPONENT: i32 = 64;

/// Why an expression could not be evaluated numerically.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A free symbol has no value in the environment (or is not an input of the tape).
    #[error("no value for the symbol `{0}`")]
    UnboundSymbol(Symbol),
    /// A node that must be expanded before evaluation: a user-defined function, a primed
    /// function, or an unevaluated derivative. Sums whose bounds depend on tape inputs are
    /// also reported here. The string says what was found.
    #[error("cannot evaluate {0} numerically; expand it first")]
    Unsupported(String),
    /// A built-in was called with the wrong number of arguments.
    #[error("`{func}` takes {expected} argument(s), found {found}")]
    Arity {
        /// The built-in's name.
        func: &'static str,
        /// Its arity.
        expected: usize,
        /// The number of arguments given.
        found: usize,
    },
    /// A sum bound is not an integer (or not finite).
    #[error("sum bound is not an integer: found {0}")]
    SumBound(f64),
    /// The work would exceed a bound: [`MAX_SUM_ITERATIONS`], [`MAX_WORK`], or the size of a
    /// tape. The string names the bound.
    #[error("too large to evaluate: {0}")]
    TooLarge(&'static str),
    /// Sums are nested deeper than [`MAX_SUM_NESTING`].
    #[error("sums nested deeper than {0}")]
    TooDeep(usize),
    /// A value is NaN or infinite (only from [`require_finite`]).
    #[error("value is not finite: found {0}")]
    NonFinite(f64),
    /// Tape inputs or outputs do not have the shape the tape was compiled for.
    #[error("wrong batch shape: expected {expected} {what}, found {found}")]
    Shape {
        /// What was counted (`input columns`, `values in an input column`, ...).
        what: &'static str,
        /// What the tape needs.
        expected: usize,
        /// What was given.
        found: usize,
    },
}

/// Evaluates `e` in `f64` at the point given by `env`, which maps each free symbol to its value
/// (`None` for a symbol it does not know).
///
/// Each distinct node of the DAG is evaluated once. The walk uses an explicit stack, so deep
/// expressions do not overflow the call stack. Only nested sums recurse, and that nesting is
/// bounded by [`MAX_SUM_NESTING`]. See the module documentation for the conventions. NaN and
/// infinities are returned as values.
///
/// # Errors
///
/// [`EvalError::UnboundSymbol`] for a symbol `env` does not know. [`EvalError::Unsupported`] for
/// user functions, primed functions and derivatives. [`EvalError::SumBound`],
/// [`EvalError::TooLarge`] and [`EvalError::TooDeep`] for sums that cannot be run, and
/// [`EvalError::Arity`] for a malformed call.
pub fn eval_f64(e: &Expr, env: &dyn Fn(&Symbol) -> Option<f64>) -> Result<f64, EvalError> {
    let mut ev = FloatEval {
        env,
        work: 0,
        sum_iterations: 0,
    };
    walk(&mut ev, e, &Vec::new())
}

/// Trees up to this size (counted as trees, shared subterms each time) are evaluated by
/// [`eval_f64_value`] without a memo: a node more than once costs less there than the memo.
const SMALL_TREE: u64 = 128;

/// The value [`eval_f64`] gives at `env`, or `None` where it gives an error.
///
/// Small trees without sums are evaluated by a plain recursion, each occurrence of a shared
/// subterm again: the same operations in the same order on the same values as `eval_f64`'s
/// walk (children left to right, sums and products folded left, the same [`special`]
/// functions and conversions), so the same bits, and an error exactly where the walk meets
/// one (it cannot reach [`MAX_WORK`] within `SMALL_TREE` nodes). Larger trees and sums go
/// through [`eval_f64`].
pub fn eval_f64_value(e: &Expr, env: &dyn Fn(&Symbol) -> Option<f64>) -> Option<f64> {
    if e.tree_size() <= SMALL_TREE {
        match small_f64(e, env) {
            Small::Value(v) => return Some(v),
            Small::Error => return None,
            Small::Sum => {}
        }
    }
    eval_f64(e, env).ok()
}

/// What [`small_f64`] found.
enum Small {
    Value(f64),
    /// `eval_f64` gives an error.
    Error,
    /// A sum, left to `eval_f64`.
    Sum,
}

/// The recursion of [`eval_f64_value`]: depth at most [`SMALL_TREE`].
fn small_f64(e: &Expr, env: &dyn Fn(&Symbol) -> Option<f64>) -> Small {
    // A child's value, or the enclosing call's answer.
    macro_rules! value {
        ($x:expr) => {
            match small_f64($x, env) {
                Small::Value(v) => v,
                other => return other,
            }
        };
    }
    let fold_in = |xs: &[Expr], empty: f64, op: fn(f64, f64) -> f64| -> Small {
        let Some((first, rest)) = xs.split_first() else {
            return Small::Value(empty);
        };
        let mut acc = value!(first);
        for x in rest {
            acc = op(acc, value!(x));
        }
        Small::Value(acc)
    };
    match e.node() {
        Node::Num(r) => Small::Value(rational_to_f64(r)),
        Node::Const(c) => Small::Value(constant_f64(*c)),
        // Outside sums a symbol is itself (`resolve` with no bindings).
        Node::Sym(s) => env(s).map_or(Small::Error, Small::Value),
        Node::Add(xs) => fold_in(xs, 0.0, |a, b| a + b),
        Node::Mul(xs) => fold_in(xs, 1.0, |a, b| a * b),
        Node::Pow(a, b) => {
            let a = value!(a);
            Small::Value(special::pow(a, value!(b)))
        }
        Node::Delta(a, b) => {
            let a = value!(a);
            Small::Value(special::delta(a, value!(b)))
        }
        Node::Call(Func::Builtin(b), xs) => {
            let mut args = [0.0; 4];
            let Some(slots) = args.get_mut(..xs.len()) else {
                return match eval_f64(e, env) {
                    Ok(v) => Small::Value(v),
                    Err(_) => Small::Error,
                };
            };
            for (slot, x) in slots.iter_mut().zip(xs) {
                *slot = value!(x);
            }
            match apply_builtin(*b, slots) {
                Ok(v) => Small::Value(v),
                Err(_) => Small::Error,
            }
        }
        Node::Call(..) | Node::Deriv(..) => Small::Error,
        Node::Sum { .. } => Small::Sum,
    }
}

/// `Ok(value)` when `value` is finite, else [`EvalError::NonFinite`].
pub fn require_finite(value: f64) -> Result<f64, EvalError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(EvalError::NonFinite(value))
    }
}

/// True when every value of the column is finite (for checking a tape's output).
pub fn all_finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

/// The numeric definitions of the built-in functions, shared by [`eval_f64`] and [`Tape`].
///
/// Each function is total on `f64`. NaN in gives NaN out, and overflow gives ±∞.
pub mod special {
    /// eˣ.
    #[inline]
    pub fn exp(x: f64) -> f64 {
        x.exp()
    }

    /// Natural logarithm. NaN for `x < 0`, and −∞ at 0.
    #[inline]
    pub fn log(x: f64) -> f64 {
        x.ln()
    }

    /// Square root. NaN for `x < 0`.
    #[inline]
    pub fn sqrt(x: f64) -> f64 {
        x.sqrt()
    }

    /// |x|.
    #[inline]
    pub fn abs(x: f64) -> f64 {
        x.abs()
    }

    /// −1, 0 or 1. Unlike `f64::signum`, `sign(0) = sign(−0) = 0`.
    #[inline]
    pub fn sign(x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else if x == 0.0 {
            0.0
        } else {
            f64::NAN
        }
    }

    /// sin x.
    #[inline]
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }

    /// cos x.
    #[inline]
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }

    /// tanh x.
    #[inline]
    pub fn tanh(x: f64) -> f64 {
        x.tanh()
    }

    /// sinh x.
    #[inline]
    pub fn sinh(x: f64) -> f64 {
        x.sinh()
    }

    /// cosh x.
    #[inline]
    pub fn cosh(x: f64) -> f64 {
        x.cosh()
    }

    /// σ(x) = 1 / (1 + e⁻ˣ). For negative `x` it is computed as eˣ / (1 + eˣ), so it does not
    /// overflow: σ(−800) = 0, not NaN.
    ///
    /// Both cases share e = e^(−|x|) and one division, with a select instead of a branch on
    /// the sign (a batch of mixed signs would mispredict half the time); the results are the
    /// same bits as the two-branch form.
    #[inline]
    pub fn sigmoid(x: f64) -> f64 {
        let e = (-x.abs()).exp();
        let num = if x >= 0.0 { 1.0 } else { e };
        num / (1.0 + e)
    }

    /// relu(x) = max(x, 0), with relu(0) = 0.
    #[inline]
    pub fn relu(x: f64) -> f64 {
        if x > 0.0 || x.is_nan() {
            x
        } else {
            0.0
        }
    }

    /// softplus(x) = log(1 + eˣ), computed as log1p(e^(−|x|)) + max(x, 0) so that it neither
    /// overflows for large `x` (softplus(800) = 800) nor loses precision for very negative `x`.
    #[inline]
    pub fn softplus(x: f64) -> f64 {
        (-x.abs()).exp().ln_1p() + relu(x)
    }

    /// The error function (from `libm`).
    #[inline]
    pub fn erf(x: f64) -> f64 {
        libm::erf(x)
    }

    /// Heaviside step: 0 for `x < 0`, 1 for `x > 0`, and 1/2 at 0. Because H(0) = 1/2, the
    /// identity max(a, b) = a·H(a − b) + b·H(b − a) holds exactly, also when a = b.
    #[inline]
    pub fn heaviside(x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            0.0
        } else if x == 0.0 {
            0.5
        } else {
            f64::NAN
        }
    }

    /// The larger of `a` and `b`. NaN if either is NaN (`f64::max` would drop the NaN).
    #[inline]
    pub fn max(a: f64, b: f64) -> f64 {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if a >= b {
            a
        } else {
            b
        }
    }

    /// The smaller of `a` and `b`. NaN if either is NaN.
    #[inline]
    pub fn min(a: f64, b: f64) -> f64 {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if a <= b {
            a
        } else {
            b
        }
    }

    /// Kronecker delta: 1 if `a == b`, else 0. NaN if either is NaN.
    #[inline]
    pub fn delta(a: f64, b: f64) -> f64 {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if a == b {
            1.0
        } else {
            0.0
        }
    }

    /// xⁿ by repeated squaring. It is written out, not `f64::powi`, because the precision of
    /// `powi` is unspecified and may differ between a scalar call and a vectorised loop.
    #[inline]
    pub fn powi(x: f64, n: i32) -> f64 {
        let mut k = n.unsigned_abs();
        let mut base = x;
        let mut acc = 1.0;
        while k > 0 {
            if k & 1 == 1 {
                acc *= base;
            }
            k >>= 1;
            if k > 0 {
                base *= base;
            }
        }
        if n < 0 {
            1.0 / acc
        } else {
            acc
        }
    }

    /// The integer exponent for which [`pow`] uses [`powi`], if `e` is one.
    #[inline]
    pub fn small_int_exponent(e: f64) -> Option<i32> {
        let bound = f64::from(super::MAX_POWI_EXPONENT);
        if e.fract() == 0.0 && e.abs() <= bound {
            // Exact: `e` is an integer within ±64.
            #[allow(clippy::cast_possible_truncation)]
            Some(e as i32)
        } else {
            None
        }
    }

    /// bᵉ: [`powi`] for an integer exponent with `|e| ≤ 64`, `powf` otherwise.
    #[inline]
    pub fn pow(b: f64, e: f64) -> f64 {
        match small_int_exponent(e) {
            Some(n) => powi(b, n),
            None => b.powf(e),
        }
    }
}

// ---- built-ins as operations ------------------------------------------------------------

/// The one-argument built-ins, as operations the tape can run over a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Unary {
    Exp,
    Log,
    Sqrt,
    Abs,
    Sign,
    Sin,
    Cos,
    Tanh,
    Sinh,
    Cosh,
    Sigmoid,
    Relu,
    Softplus,
    Erf,
    Heaviside,
}

/// Two-argument operations: arithmetic and the two-argument built-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Binary {
    Add,
    Mul,
    Pow,
    Max,
    Min,
    Delta,
}

/// Runs `$body` with `$f` bound to the `special` function of the unary operation `$u`. Each
/// arm binds a different function item, so a generic loop in `$body` is specialised (and
/// inlined) per function. This is how the tape and `eval_f64` share one definition.
macro_rules! dispatch_unary {
    ($u:expr, $f:ident => $body:expr) => {{
        use $crate::eval::special as sp;
        use $crate::eval::Unary as U;
        match $u {
            U::Exp => {
                let $f = sp::exp;
                $body
            }
            U::Log => {
                let $f = sp::log;
                $body
            }
            U::Sqrt => {
                let $f = sp::sqrt;
                $body
            }
            U::Abs => {
                let $f = sp::abs;
                $body
            }
            U::Sign => {
                let $f = sp::sign;
                $body
            }
            U::Sin => {
                let $f = sp::sin;
                $body
            }
            U::Cos => {
                let $f = sp::cos;
                $body
            }
            U::Tanh => {
                let $f = sp::tanh;
                $body
            }
            U::Sinh => {
                let $f = sp::sinh;
                $body
            }
            U::Cosh => {
                let $f = sp::cosh;
                $body
            }
            U::Sigmoid => {
                let $f = sp::sigmoid;
                $body
            }
            U::Relu => {
                let $f = sp::relu;
                $body
            }
            U::Softplus => {
                let $f = sp::softplus;
                $body
            }
            U::Erf => {
                let $f = sp::erf;
                $body
            }
            U::Heaviside => {
                let $f = sp::heaviside;
                $body
            }
        }
    }};
}

/// Like `dispatch_unary!`, for the two-argument operations.
macro_rules! dispatch_binary {
    ($op:expr, $f:ident => $body:expr) => {{
        use $crate::eval::special as sp;
        use $crate::eval::Binary as B;
        match $op {
            B::Add => {
                let $f = |a: f64, b: f64| a + b;
                $body
            }
            B::Mul => {
                let $f = |a: f64, b: f64| a * b;
                $body
            }
            B::Pow => {
                let $f = sp::pow;
                $body
            }
            B::Max => {
                let $f = sp::max;
                $body
            }
            B::Min => {
                let $f = sp::min;
                $body
            }
            B::Delta => {
                let $f = sp::delta;
                $body
            }
        }
    }};
}

pub(crate) use dispatch_binary;
pub(crate) use dispatch_unary;

impl Unary {
    /// The unary operation of a one-argument built-in.
    pub(crate) fn of(b: Builtin) -> Option<Unary> {
        Some(match b {
            Builtin::Exp => Unary::Exp,
            Builtin::Log => Unary::Log,
            Builtin::Sqrt => Unary::Sqrt,
            Builtin::Abs => Unary::Abs,
            Builtin::Sign => Unary::Sign,
            Builtin::Sin => Unary::Sin,
            Builtin::Cos => Unary::Cos,
            Builtin::Tanh => Unary::Tanh,
            Builtin::Sinh => Unary::Sinh,
            Builtin::Cosh => Unary::Cosh,
            Builtin::Sigmoid => Unary::Sigmoid,
            Builtin::Relu => Unary::Relu,
            Builtin::Softplus => Unary::Softplus,
            Builtin::Erf => Unary::Erf,
            Builtin::Heaviside => Unary::Heaviside,
            Builtin::Max | Builtin::Min => return None,
        })
    }

    /// Its name, as the built-in is spelled in ASCII.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Unary::Exp => Builtin::Exp.name(),
            Unary::Log => Builtin::Log.name(),
            Unary::Sqrt => Builtin::Sqrt.name(),
            Unary::Abs => Builtin::Abs.name(),
            Unary::Sign => Builtin::Sign.name(),
            Unary::Sin => Builtin::Sin.name(),
            Unary::Cos => Builtin::Cos.name(),
            Unary::Tanh => Builtin::Tanh.name(),
            Unary::Sinh => Builtin::Sinh.name(),
            Unary::Cosh => Builtin::Cosh.name(),
            Unary::Sigmoid => Builtin::Sigmoid.name(),
            Unary::Relu => Builtin::Relu.name(),
            Unary::Softplus => Builtin::Softplus.name(),
            Unary::Erf => Builtin::Erf.name(),
            Unary::Heaviside => Builtin::Heaviside.name(),
        }
    }

    /// Applies it to one value.
    #[inline]
    pub(crate) fn apply(self, x: f64) -> f64 {
        dispatch_unary!(self, f => f(x))
    }
}

impl Binary {
    /// The binary operation of a two-argument built-in.
    pub(crate) fn of(b: Builtin) -> Option<Binary> {
        match b {
            Builtin::Max => Some(Binary::Max),
            Builtin::Min => Some(Binary::Min),
            _ => None,
        }
    }

    /// Whether `a op b` and `b op a` are the same value, bit for bit (true of IEEE `+` and `·`).
    pub(crate) fn commutes(self) -> bool {
        matches!(self, Binary::Add | Binary::Mul)
    }

    /// Applies it to two values.
    #[inline]
    pub(crate) fn apply(self, a: f64, b: f64) -> f64 {
        dispatch_binary!(self, f => f(a, b))
    }
}

/// Applies a built-in to argument values, checking the arity.
pub(crate) fn apply_builtin(b: Builtin, args: &[f64]) -> Result<f64, EvalError> {
    let arity_error = || EvalError::Arity {
        func: b.name(),
        expected: b.arity(),
        found: args.len(),
    };
    if let Some(u) = Unary::of(b) {
        match args {
            [x] => Ok(u.apply(*x)),
            _ => Err(arity_error()),
        }
    } else if let Some(op) = Binary::of(b) {
        match args {
            [x, y] => Ok(op.apply(*x, *y)),
            _ => Err(arity_error()),
        }
    } else {
        Err(arity_error())
    }
}

/// The value of a named constant.
pub(crate) fn constant_f64(c: Constant) -> f64 {
    match c {
        Constant::E => std::f64::consts::E,
        Constant::Pi => std::f64::consts::PI,
    }
}

/// The nearest `f64` to an exact rational (±∞ beyond the `f64` range).
pub(crate) fn rational_to_f64(r: &crate::expr::Rational) -> f64 {
    // Fast path: numerator and denominator exact in f64 (|n|, d ≤ 2^53). IEEE division of two
    // exact values is the correctly rounded quotient, the same value `to_f64` computes.
    const EXACT: i64 = 1 << 53;
    if let (Some(n), Some(d)) = (r.numer().to_i64(), r.denom().to_i64()) {
        if (-EXACT..=EXACT).contains(&n) && (1..=EXACT).contains(&d) {
            // Exact conversions: both magnitudes are at most 2^53.
            #[allow(clippy::cast_precision_loss)]
            return n as f64 / d as f64;
        }
    }
    r.to_f64().unwrap_or(f64::NAN)
}

/// Checks integer sum bounds in `f64` and returns them with the number of iterations.
pub(crate) fn sum_bounds(lo: f64, hi: f64) -> Result<(i64, i64, u64), EvalError> {
    // Integers up to 2^53 are exact in f64; beyond that a bound could not be iterated anyway.
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    let check = |v: f64| {
        if v.is_finite() && v.fract() == 0.0 && v.abs() <= LIMIT {
            // Exact: an integer of magnitude at most 2^53.
            #[allow(clippy::cast_possible_truncation)]
            Ok(v as i64)
        } else {
            Err(EvalError::SumBound(v))
        }
    };
    let (lo, hi) = (check(lo)?, check(hi)?);
    let count = if hi < lo {
        0
    } else {
        hi.abs_diff(lo).saturating_add(1)
    };
    Ok((lo, hi, count))
}

/// A short description of a node that must be expanded before evaluation.
pub(crate) fn describe_unsupported(e: &Expr) -> String {
    match e.node() {
        Node::Deriv(_, v) => format!("the derivative d/d{v}"),
        Node::Call(Func::User(name), _) => format!("the user-defined function `{name}`"),
        Node::Call(f @ Func::Prime(_), _) => format!("the derivative `{f}`"),
        _ => "this expression".to_string(),
    }
}

// ---- index bindings ---------------------------------------------------------------------

/// Sum indices in scope with their current values, innermost last.
pub(crate) type Bindings = Vec<(Symbol, i64)>;

/// What a symbol means under the bindings of the enclosing sums.
pub(crate) enum Resolved<'a> {
    /// It is a bound sum index, with this value.
    Index(i64),
    /// It is this symbol (its subscript may have been rewritten by the bindings).
    Symbol(Cow<'a, Symbol>),
}

/// Resolves a symbol under the sum indices in scope: a bound index gives its value, and a
/// subscript naming bound indices is rewritten (see the module documentation).
pub(crate) fn resolve<'a>(s: &'a Symbol, scope: &[(Symbol, i64)]) -> Resolved<'a> {
    if let Some((_, k)) = scope.iter().rev().find(|(index, _)| index == s) {
        return Resolved::Index(*k);
    }
    let borrowed = Resolved::Symbol(Cow::Borrowed(s));
    let Some(sub) = s.sub() else {
        return borrowed;
    };
    if scope.is_empty() {
        return borrowed;
    }
    let plain_index = |name: &str| {
        scope
            .iter()
            .rev()
            .find(|(index, _)| index.sub().is_none() && index.name() == name)
            .map(|(_, k)| *k)
    };
    if let Some(k) = plain_index(sub) {
        let sub = k.to_string();
        return Resolved::Symbol(Cow::Owned(Symbol::with_sub(s.name(), Some(&sub))));
    }
    if sub.chars().nth(1).is_none() {
        return borrowed;
    }
    let mut any_bound = false;
    let parts: Vec<String> = sub
        .chars()
        .map(|c| {
            let mut buf = [0u8; 4];
            match plain_index(c.encode_utf8(&mut buf)) {
                Some(k) => {
                    any_bound = true;
                    k.to_string()
                }
                None => c.to_string(),
            }
        })
        .collect();
    if any_bound {
        let sub = parts.join(",");
        Resolved::Symbol(Cow::Owned(Symbol::with_sub(s.name(), Some(&sub))))
    } else {
        borrowed
    }
}

// ---- the shared DAG walk ----------------------------------------------------------------

/// An evaluation that the shared walk drives: it gives a value to each node from its
/// children's values.
pub(crate) trait DagFold {
    /// The value of a node.
    type Value: Clone;
    /// Why evaluation stopped.
    type Error;

    /// The value of a node that cannot be evaluated (a derivative, a user or primed function).
    /// Called instead of walking its children.
    fn unsupported(&mut self, e: &Expr) -> Result<Self::Value, Self::Error>;

    /// The value of any node except a sum, given its children's values in order.
    fn node(
        &mut self,
        e: &Expr,
        args: &[Self::Value],
        scope: &Bindings,
    ) -> Result<Self::Value, Self::Error>;

    /// The value of a sum, given the values of its bounds. Typically calls [`walk`] on the
    /// body once per index value, with the index added to `scope`.
    fn sum(
        &mut self,
        index: &Symbol,
        lo: &Self::Value,
        hi: &Self::Value,
        body: &Expr,
        scope: &Bindings,
    ) -> Result<Self::Value, Self::Error>;

    /// Called once per node evaluated, to count work or check a deadline.
    fn tick(&mut self) -> Result<(), Self::Error>;

    /// The error for sums nested deeper than `max_nesting`.
    fn too_deep(&self) -> Self::Error;

    /// Deepest nesting of sums allowed.
    fn max_nesting(&self) -> usize {
        MAX_SUM_NESTING
    }
}

/// Whether the walk must not descend into a node (it is reported by `DagFold::unsupported`).
fn is_opaque(e: &Expr) -> bool {
    matches!(
        e.node(),
        Node::Deriv(..) | Node::Call(Func::User(_) | Func::Prime(_), _)
    )
}

/// Schedules the children a node's value is computed from, so that they are evaluated in
/// order, and returns how many there are. That is all the children, except a sum's body,
/// which `DagFold::sum` evaluates under its own bindings.
fn push_operands<'e>(e: &'e Expr, tasks: &mut Vec<Task<'e>>) -> usize {
    // Pushed last child first, so that the first child is popped (and evaluated) first. The
    // order is that of `Node::children`.
    match e.node() {
        Node::Num(_) | Node::Const(_) | Node::Sym(_) => 0,
        Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => {
            tasks.extend(xs.iter().rev().map(Task::Visit));
            xs.len()
        }
        Node::Pow(a, b) | Node::Delta(a, b) => {
            tasks.push(Task::Visit(b));
            tasks.push(Task::Visit(a));
            2
        }
        Node::Deriv(a, _) => {
            tasks.push(Task::Visit(a));
            1
        }
        Node::Sum { lo, hi, .. } => {
            tasks.push(Task::Visit(hi));
            tasks.push(Task::Visit(lo));
            2
        }
    }
}

/// Identity of a node: the address of its (shared, immutable) `Node`. It is stable while the
/// expression is alive. Unlike `Expr` equality, it never compares structure, which would
/// recurse on deep expressions.
fn node_key(e: &Expr) -> usize {
    std::ptr::from_ref::<Node>(e.node()) as usize
}

enum Task<'e> {
    Visit(&'e Expr),
    Build(&'e Expr, usize),
}

/// Evaluates `root` bottom-up with an explicit stack, once per distinct node, under the sum
/// bindings `scope`.
pub(crate) fn walk<F: DagFold>(
    f: &mut F,
    root: &Expr,
    scope: &Bindings,
) -> Result<F::Value, F::Error> {
    if scope.len() >= f.max_nesting() {
        return Err(f.too_deep());
    }
    // Sized up front (most expressions share at least their symbols), so the memo and the
    // stacks do not grow step by step.
    let size = usize::try_from(root.tree_size())
        .unwrap_or(usize::MAX)
        .min(64);
    let mut memo: FxHashMap<usize, F::Value> =
        FxHashMap::with_capacity_and_hasher(size / 2, Default::default());
    let mut tasks = Vec::with_capacity(size);
    tasks.push(Task::Visit(root));
    let mut values: Vec<F::Value> = Vec::with_capacity(size / 2);
    while let Some(task) = tasks.pop() {
        match task {
            Task::Visit(e) => {
                // Only shared nodes can be met twice (see `Expr::is_shared`), so only they are
                // looked up and memoised.
                let shared = e.is_shared();
                let hit = if shared { memo.get(&node_key(e)) } else { None };
                if let Some(v) = hit {
                    values.push(v.clone());
                } else if is_opaque(e) {
                    let v = f.unsupported(e)?;
                    if shared {
                        memo.insert(node_key(e), v.clone());
                    }
                    values.push(v);
                } else {
                    // The `Build` goes below the children, so it runs after all of them. Its
                    // operand count is filled in once they are pushed.
                    let at = tasks.len();
                    tasks.push(Task::Build(e, 0));
                    let n_args = push_operands(e, &mut tasks);
                    if let Some(task) = tasks.get_mut(at) {
                        *task = Task::Build(e, n_args);
                    }
                }
            }
            Task::Build(e, n_args) => {
                f.tick()?;
                // The children's values are the last `n_args` on the stack: each `Visit`
                // pushes exactly one value.
                debug_assert!(values.len() >= n_args);
                let start = values.len().saturating_sub(n_args);
                let args = values.get(start..).unwrap_or_default();
                let v = match (e.node(), args) {
                    (Node::Sum { index, body, .. }, [lo, hi]) => {
                        f.sum(index, lo, hi, body, scope)?
                    }
                    _ => f.node(e, args, scope)?,
                };
                values.truncate(start);
                if e.is_shared() {
                    memo.insert(node_key(e), v.clone());
                }
                values.push(v);
            }
        }
    }
    debug_assert_eq!(values.len(), 1);
    match values.pop() {
        Some(v) => Ok(v),
        None => f.unsupported(root),
    }
}

// ---- f64 evaluation ---------------------------------------------------------------------

struct FloatEval<'a> {
    env: &'a dyn Fn(&Symbol) -> Option<f64>,
    work: u64,
    sum_iterations: u64,
}

impl DagFold for FloatEval<'_> {
    type Value = f64;
    type Error = EvalError;

    fn unsupported(&mut self, e: &Expr) -> Result<f64, EvalError> {
        Err(EvalError::Unsupported(describe_unsupported(e)))
    }

    fn node(&mut self, e: &Expr, args: &[f64], scope: &Bindings) -> Result<f64, EvalError> {
        match e.node() {
            Node::Num(r) => Ok(rational_to_f64(r)),
            Node::Const(c) => Ok(constant_f64(*c)),
            Node::Sym(s) => match resolve(s, scope) {
                // Sum indices are far below 2^53 (see `sum_bounds`), so this is exact.
                #[allow(clippy::cast_precision_loss)]
                Resolved::Index(k) => Ok(k as f64),
                Resolved::Symbol(s) => {
                    (self.env)(&s).ok_or_else(|| EvalError::UnboundSymbol(s.into_owned()))
                }
            },
            Node::Add(_) => Ok(fold(args, 0.0, |a, b| a + b)),
            Node::Mul(_) => Ok(fold(args, 1.0, |a, b| a * b)),
            Node::Pow(..) => match args {
                [b, x] => Ok(special::pow(*b, *x)),
                _ => Err(EvalError::Unsupported("a malformed power".to_string())),
            },
            Node::Delta(..) => match args {
                [a, b] => Ok(special::delta(*a, *b)),
                _ => Err(EvalError::Unsupported("a malformed delta".to_string())),
            },
            Node::Call(Func::Builtin(b), _) => apply_builtin(*b, args),
            Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } => self.unsupported(e),
        }
    }

    fn sum(
        &mut self,
        index: &Symbol,
        lo: &f64,
        hi: &f64,
        body: &Expr,
        scope: &Bindings,
    ) -> Result<f64, EvalError> {
        let (lo, hi, count) = sum_bounds(*lo, *hi)?;
        self.sum_iterations = self.sum_iterations.saturating_add(count);
        if self.sum_iterations > MAX_SUM_ITERATIONS {
            return Err(EvalError::TooLarge("sum iterations"));
        }
        let mut inner = scope.clone();
        inner.push((index.clone(), lo));
        let mut acc: Option<f64> = None;
        for k in lo..=hi {
            if let Some(last) = inner.last_mut() {
                last.1 = k;
            }
            let term = walk(self, body, &inner)?;
            acc = Some(match acc {
                None => term,
                Some(a) => a + term,
            });
        }
        Ok(acc.unwrap_or(0.0))
    }

    fn tick(&mut self) -> Result<(), EvalError> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(EvalError::TooLarge("evaluation work"));
        }
        Ok(())
    }

    fn too_deep(&self) -> EvalError {
        EvalError::TooDeep(MAX_SUM_NESTING)
    }
}

/// Left fold of `n`-ary sums and products: the first value, then each next one combined with
/// the accumulator; `empty` when there are none. The tape emits the same order.
#[inline]
pub(crate) fn fold(args: &[f64], empty: f64, op: impl Fn(f64, f64) -> f64) -> f64 {
    match args.split_first() {
        None => empty,
        Some((first, rest)) => rest.iter().fold(*first, |acc, x| op(acc, *x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_tree_evaluated_without_the_memo_gives_eval_f64s_bits_and_errors() {
        use crate::expr::Rational;
        let (x, y) = (Symbol::new("x"), Symbol::new("y"));
        let env = |s: &Symbol| {
            if *s == x {
                Some(0.3)
            } else if *s == y {
                Some(-1.7)
            } else {
                None
            }
        };
        let (ex, ey) = (Expr::sym(x.clone()), Expr::sym(y.clone()));
        // Shared subterms (evaluated again by the recursion, once by the walk).
        let shared = Expr::call(
            Builtin::Sigmoid,
            vec![Expr::add(vec![ex.clone(), ey.clone()])],
        );
        let mut big = Expr::mul(vec![
            shared.clone(),
            Expr::num(Rational::new(3.into(), 7.into())),
        ]);
        for _ in 0..6 {
            // Doubles the tree size each time: from some point on it is not small.
            big = Expr::add(vec![big.clone(), Expr::pow(big, ey.clone())]);
        }
        assert!(big.tree_size() > SMALL_TREE);
        let sum = Expr::new(Node::Sum {
            index: Symbol::new("k"),
            lo: Expr::num(Rational::from_integer(1.into())),
            hi: Expr::num(Rational::from_integer(3.into())),
            body: Expr::mul(vec![Expr::var("k"), ex.clone()]),
        });
        let cases = [
            Expr::add(vec![
                shared.clone(),
                Expr::mul(vec![shared.clone(), ey.clone()]),
            ]),
            Expr::add(vec![]),
            Expr::mul(vec![]),
            Expr::pow(ey.clone(), Expr::num(Rational::new(1.into(), 2.into()))),
            Expr::new(Node::Delta(ex.clone(), ex.clone())),
            Expr::call(Builtin::Max, vec![ex.clone(), ey.clone()]),
            Expr::call(Builtin::Max, vec![ex.clone()]),
            Expr::add(vec![ex.clone(), Expr::var("unbound")]),
            Expr::add(vec![ex.clone(), sum.clone()]),
            Expr::add(vec![Expr::var("unbound"), sum]),
            Expr::add(vec![ex.clone(), Expr::constant(Constant::Pi)]),
            big,
        ];
        for e in &cases {
            let full = eval_f64(e, &env);
            assert_eq!(
                full.as_ref().ok().map(|v| v.to_bits()),
                eval_f64_value(e, &env).map(f64::to_bits),
                "{e:?}: {full:?}"
            );
        }
    }

    #[test]
    fn powi_matches_multiplication_for_small_exponents() {
        let x = 1.1_f64;
        assert_eq!(special::powi(x, 0), 1.0);
        assert_eq!(special::powi(x, 1), x);
        assert_eq!(special::powi(x, 2), x * x);
        assert_eq!(special::powi(x, -1), 1.0 / x);
        assert_eq!(special::powi(-2.0, 3), -8.0);
        assert_eq!(special::powi(2.0, -2), 0.25);
    }

    #[test]
    fn pow_uses_powf_for_fractional_and_large_exponents() {
        assert_eq!(special::pow(4.0, 0.5), 2.0);
        assert!(special::pow(-4.0, 0.5).is_nan());
        assert_eq!(special::pow(-2.0, 3.0), -8.0);
        assert_eq!(special::pow(2.0, 100.0), 2f64.powf(100.0));
    }

    #[test]
    fn rational_fast_path_rounds_like_to_f64() {
        let big = 1i64 << 53;
        let cases = [
            (1, 3),
            (-2, 7),
            (1, 10),
            (22, 7),
            (big, 3),
            (-big, big - 1),
            (big - 1, 1_000_003),
            (123_456_789_012_345, 98_765),
            (big + 1, 3),
        ];
        for (n, d) in cases {
            let r = crate::expr::Rational::new(n.into(), d.into());
            assert_eq!(
                rational_to_f64(&r).to_bits(),
                r.to_f64().unwrap_or(f64::NAN).to_bits(),
                "{n}/{d}"
            );
        }
    }

    #[test]
    fn sum_bounds_reject_fractions_and_count_iterations() {
        assert_eq!(sum_bounds(1.0, 3.0), Ok((1, 3, 3)));
        assert_eq!(sum_bounds(3.0, 1.0), Ok((3, 1, 0)));
        assert_eq!(sum_bounds(0.5, 3.0), Err(EvalError::SumBound(0.5)));
        assert!(sum_bounds(f64::INFINITY, 3.0).is_err());
    }

    #[test]
    fn subscripts_naming_bound_indices_are_rewritten() {
        let j = Symbol::new("j");
        let i = Symbol::new("i");
        let scope = vec![(i.clone(), 2), (j.clone(), 3)];
        let sym = |name: &str, sub: &str| Symbol::with_sub(name, Some(sub));
        let resolved = |s: &Symbol| match resolve(s, &scope) {
            Resolved::Index(k) => format!("index {k}"),
            Resolved::Symbol(s) => s.to_string(),
        };
        assert_eq!(resolved(&j), "index 3");
        assert_eq!(resolved(&sym("x", "j")), "x_3");
        assert_eq!(resolved(&sym("w", "ij")), "w_{2,3}");
        assert_eq!(resolved(&sym("w", "kj")), "w_{k,3}");
        assert_eq!(resolved(&sym("A", "prev")), "A_{prev}");
        assert_eq!(resolved(&Symbol::new("x")), "x");
    }

    #[test]
    fn inner_binding_shadows_outer() {
        let j = Symbol::new("j");
        let scope = vec![(j.clone(), 1), (j.clone(), 5)];
        assert!(matches!(resolve(&j, &scope), Resolved::Index(5)));
    }
}
