//! Exact evaluation over the rationals.
//!
//! `eval_exact` gives the exact value of an expression when every step stays rational:
//! arithmetic, integer powers, roots of perfect powers, the piecewise built-ins, δ and sums. It
//! also knows the rational values of the transcendental functions at their rational points,
//! such as `exp(0) = 1`, `log(1) = 0` and `σ(0) = 1/2`. Anything else gives `None`: a
//! transcendental value, a division by zero, an unbound symbol or an unexpanded function. It
//! never approximates: `None` means "no exact value from here", and the caller falls back to
//! `f64`.
//!
//! Work is bounded by `Limits`. Exponents above `max_exponent`, numbers above `max_digits`,
//! sums longer than `max_terms` in total and runs past `timeout_per_step` stop with
//! `LimitReached`.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::{resolve, walk, Bindings, DagFold, Resolved};
use crate::expr::{Builtin, Expr, Func, Node, Rational, Symbol};
use crate::limits::{Deadline, LimitKind, LimitReached, Limits};

/// Stage name in `LimitReached`.
const AT: &str = "exact evaluation";

/// How many nodes are evaluated between two deadline checks.
const TICKS_PER_DEADLINE_CHECK: u64 = 256;

/// Evaluates `e` exactly, with `env` giving the rational value of each free symbol (`None` for
/// a symbol it does not know, which makes the result `None`).
///
/// Returns `Ok(Some(value))` when the value is rational and was computed exactly. Returns
/// `Ok(None)` when it is not rational, is undefined (division by zero, `log` of 0), or depends
/// on something that cannot be evaluated (an unbound symbol, `e`, `π`, a user function, a
/// derivative). Sums and indexed symbols follow the rules in the module documentation of
/// `eval`.
///
/// # Errors
///
/// `LimitReached` when an integer exponent exceeds `limits.max_exponent`, a number would exceed
/// `limits.max_digits` digits, sums would run more than `limits.max_terms` terms in all, sums
/// nest deeper than `limits.max_depth` (at most `MAX_SUM_NESTING`), or the run takes longer
/// than `limits.timeout_per_step`.
pub fn eval_exact(
    e: &Expr,
    env: &dyn Fn(&Symbol) -> Option<Rational>,
    limits: &Limits,
) -> Result<Option<Rational>, LimitReached> {
    let mut ev = ExactEval::new(env, limits);
    walk(&mut ev, e, &Vec::new())
}

/// The exact value of `e` at a point, or `None`: what `eval_exact(e, env, limits)` gives, with
/// a reached limit also `None` (for callers that only use a value when there is one).
///
/// Every node's value is undefined as soon as one operand's is (a sum, a product, a power, a
/// call, δ: see `ExactEval::node`), so a small tree is evaluated by plain recursion that stops
/// at the first operand without a value: exp(z) in z·exp(z) + 1 ends it before the other
/// terms are computed in big rationals. A tree of at most `DIRECT_TREE_SIZE` nodes without
/// sums bounds the recursion and the work; anything else goes through `eval_exact`. Such a
/// tree is first evaluated in `i128` fractions (`small`, the same rules), and in big
/// rationals only when a number leaves `i128`.
pub fn exact_value(
    e: &Expr,
    env: &dyn Fn(&Symbol) -> Option<Rational>,
    limits: &Limits,
) -> Option<Rational> {
    // The clock is read only when the big-rational evaluation starts: `small` never checks
    // the time (it is bounded by the tree's size and the exponent limit), and most trees end
    // there.
    let mut ev = ExactEval::new_untimed(env, limits);
    let small_tree = e.tree_size() <= DIRECT_TREE_SIZE;
    // Machine integers first, where every number on the way fits (see `small`).
    if small_tree && limits.max_digits >= SMALL_MAX_DIGITS {
        match small(&ev, e) {
            // Reduced with a positive denominator already: `Rational::new` would take the gcd
            // again, on big integers.
            Small::Value((n, d)) => return Some(Rational::new_raw(n.into(), d.into())),
            Small::Undefined => return None,
            Small::Unknown => {}
        }
    }
    ev.deadline = Deadline::after(limits.timeout_per_step);
    if small_tree {
        match direct(&mut ev, e) {
            Ok(Direct::Value(v)) => return Some(v),
            Ok(Direct::Undefined) | Err(_) => return None,
            Ok(Direct::HasSum) => {}
        }
    }
    walk(&mut ev, e, &Vec::new()).ok().flatten()
}

/// Largest tree size [`exact_value`] evaluates by recursion.
const DIRECT_TREE_SIZE: u64 = 256;

/// The digit limit below which [`small`] is not used: an `i128` has at most 39 digits, so
/// above this no value of [`small`] reaches `max_digits`, and none is refused as too long.
const SMALL_MAX_DIGITS: usize = 40;

/// A value by [`small`].
enum Small {
    /// n/d, reduced, d > 0.
    Value((i128, i128)),
    /// No exact value: what the walk gives as `Ok(None)`.
    Undefined,
    /// A number past `i128`, or a node `small` leaves to the big-rational evaluation.
    Unknown,
}

/// n/d reduced with a positive denominator; `Undefined` for d = 0.
fn small_ratio(n: i128, d: i128) -> Small {
    if d == 0 {
        return Small::Undefined;
    }
    let g = n.gcd(&d);
    let (n, d) = if g > 1 { (n / g, d / g) } else { (n, d) };
    if d > 0 {
        return Small::Value((n, d));
    }
    match (n.checked_neg(), d.checked_neg()) {
        (Some(n), Some(d)) => Small::Value((n, d)),
        _ => Small::Unknown,
    }
}

fn small_add((a, b): (i128, i128), (c, d): (i128, i128)) -> Small {
    let n = a
        .checked_mul(d)
        .zip(c.checked_mul(b))
        .and_then(|(x, y)| x.checked_add(y));
    match (n, b.checked_mul(d)) {
        (Some(n), Some(d)) => small_ratio(n, d),
        _ => Small::Unknown,
    }
}

fn small_mul((a, b): (i128, i128), (c, d): (i128, i128)) -> Small {
    match (a.checked_mul(c), b.checked_mul(d)) {
        (Some(n), Some(d)) => small_ratio(n, d),
        _ => Small::Unknown,
    }
}

fn small_of(r: &Rational) -> Option<(i128, i128)> {
    Some((r.numer().to_i128()?, r.denom().to_i128()?))
}

/// The exact value of a tree in machine-integer fractions: the same value, by the same rules
/// (`ExactEval::node`, and `ExactEval::builtin` itself for calls), as [`direct`] computes in
/// big rationals, or `Unknown` as soon as a number leaves `i128` or a node is one it does not
/// handle (a sum, a fractional power), and the caller evaluates in big rationals instead.
/// Operands are evaluated in order and the first without a value ends the node, as in
/// [`direct`]. Numbers of sample points and derivatives are mostly short, and an `i128`
/// fraction costs a few machine operations where a big rational allocates.
fn small(ev: &ExactEval<'_>, e: &Expr) -> Small {
    if super::is_opaque(e) {
        return Small::Undefined;
    }
    // Combined as they come: an operand without a value still ends the node first, and a
    // combination past `i128` only sends the whole tree to the big-rational evaluation.
    let fold = |xs: &[Expr], start: (i128, i128), op: fn((i128, i128), (i128, i128)) -> Small| {
        let mut acc = Small::Value(start);
        for x in xs {
            let v = match small(ev, x) {
                Small::Value(v) => v,
                other => return other,
            };
            if let Small::Value(a) = acc {
                acc = op(a, v);
            }
        }
        acc
    };
    match e.node() {
        Node::Num(r) => small_of(r).map_or(Small::Unknown, Small::Value),
        Node::Const(_) => Small::Undefined,
        // Outside a sum the scope is empty: a symbol is looked up as it is.
        Node::Sym(x) => match (ev.env)(x) {
            Some(v) => small_of(&v).map_or(Small::Unknown, Small::Value),
            None => Small::Undefined,
        },
        Node::Add(xs) => fold(xs, (0, 1), small_add),
        // 0·x is 0 only when x is a value: every factor is evaluated first.
        Node::Mul(xs) => fold(xs, (1, 1), small_mul),
        Node::Pow(b, k) => {
            let (b, k) = match (small(ev, b), small(ev, k)) {
                (Small::Value(b), Small::Value(k)) => (b, k),
                (Small::Value(_), other) | (other, _) => return other,
            };
            // An integer exponent within the limit (`ExactEval::int_pow`); others are left
            // to the big-rational evaluation.
            let (k, 1) = k else {
                return Small::Unknown;
            };
            let Ok(k) = i32::try_from(k) else {
                return Small::Unknown;
            };
            if k.unsigned_abs() > ev.limits.max_exponent.min(64) {
                return Small::Unknown;
            }
            match b {
                (0, _) => match k.signum() {
                    -1 => Small::Undefined,
                    0 => Small::Value((1, 1)),
                    _ => Small::Value((0, 1)),
                },
                (n, d) => {
                    let base = if k < 0 { (d, n) } else { (n, d) };
                    let mut acc = small_ratio(1, 1);
                    for _ in 0..k.unsigned_abs() {
                        acc = match acc {
                            Small::Value(a) => small_mul(a, base),
                            other => return other,
                        };
                    }
                    match acc {
                        // (d, n) may have a negative denominator: normalised here.
                        Small::Value((n, d)) => small_ratio(n, d),
                        other => other,
                    }
                }
            }
        }
        Node::Delta(a, b) => match (small(ev, a), small(ev, b)) {
            (Small::Value(a), Small::Value(b)) => Small::Value((i128::from(a == b), 1)),
            (Small::Value(_), other) | (other, _) => other,
        },
        Node::Call(Func::Builtin(b), xs) => {
            let mut args = Vec::with_capacity(xs.len());
            for x in xs {
                match small(ev, x) {
                    // Reduced, positive denominator (see `Small::Value`).
                    Small::Value((n, d)) => args.push(Rational::new_raw(n.into(), d.into())),
                    other => return other,
                }
            }
            match ev.builtin(*b, &args) {
                Ok(Some(v)) => small_of(&v).map_or(Small::Unknown, Small::Value),
                Ok(None) => Small::Undefined,
                Err(_) => Small::Unknown,
            }
        }
        Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } => Small::Unknown,
    }
}

/// A value by [`direct`] recursion.
enum Direct {
    Value(Rational),
    /// No exact value (as `Ok(None)` of the walk).
    Undefined,
    /// A sum occurs: evaluate with the walk instead.
    HasSum,
}

fn direct(ev: &mut ExactEval<'_>, e: &Expr) -> Result<Direct, LimitReached> {
    const NO_SCOPE: &Bindings = &Vec::new();
    if super::is_opaque(e) {
        return Ok(Direct::Undefined);
    }
    let mut args: Vec<Option<Rational>> = Vec::new();
    match e.node() {
        Node::Num(_) | Node::Const(_) | Node::Sym(_) => {}
        Node::Sum { .. } => return Ok(Direct::HasSum),
        Node::Deriv(..) => return Ok(Direct::Undefined),
        Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => {
            args.reserve(xs.len());
            for x in xs {
                match direct(ev, x)? {
                    Direct::Value(v) => args.push(Some(v)),
                    other => return Ok(other),
                }
            }
        }
        Node::Pow(a, b) | Node::Delta(a, b) => {
            for x in [a, b] {
                match direct(ev, x)? {
                    Direct::Value(v) => args.push(Some(v)),
                    other => return Ok(other),
                }
            }
        }
    }
    ev.tick()?;
    Ok(match ev.node(e, &args, NO_SCOPE)? {
        Some(v) => Direct::Value(v),
        None => Direct::Undefined,
    })
}

struct ExactEval<'a> {
    env: &'a dyn Fn(&Symbol) -> Option<Rational>,
    limits: &'a Limits,
    deadline: Deadline,
    ticks: u64,
    sum_terms: u64,
}

impl<'a> ExactEval<'a> {
    /// An evaluation at the point `env`, with the step's time limit starting now.
    fn new(env: &'a dyn Fn(&Symbol) -> Option<Rational>, limits: &'a Limits) -> Self {
        ExactEval {
            deadline: Deadline::after(limits.timeout_per_step),
            ..ExactEval::new_untimed(env, limits)
        }
    }

    /// As [`ExactEval::new`], without a time limit (the caller sets `deadline` before any
    /// evaluation that ticks).
    fn new_untimed(env: &'a dyn Fn(&Symbol) -> Option<Rational>, limits: &'a Limits) -> Self {
        ExactEval {
            env,
            limits,
            deadline: Deadline::never(),
            ticks: 0,
            sum_terms: 0,
        }
    }
}

fn limit(which: LimitKind) -> LimitReached {
    LimitReached { which, at: AT }
}

fn int(i: i64) -> Rational {
    Rational::from_integer(BigInt::from(i))
}

impl ExactEval<'_> {
    /// `Err` when `r` has more than `max_digits` decimal digits in its numerator or
    /// denominator. Digits are estimated from the bit length (one bit is log10(2) digits).
    fn check_digits(&self, r: &Rational) -> Result<(), LimitReached> {
        let bits = r.numer().bits().max(r.denom().bits());
        if digits_of_bits(bits) > self.limits.max_digits as f64 + 1.0 {
            return Err(limit(LimitKind::Digits));
        }
        Ok(())
    }

    fn checked(&self, r: Rational) -> Result<Option<Rational>, LimitReached> {
        self.check_digits(&r)?;
        Ok(Some(r))
    }

    /// bᵉ for rational `e`. An integer exponent is computed exactly within the limits. A
    /// fractional exponent p/q gives a value only when `b` is a perfect q-th power.
    fn pow(&self, b: &Rational, e: &Rational) -> Result<Option<Rational>, LimitReached> {
        if e.is_integer() {
            return self.int_pow(b, e.numer());
        }
        if b.is_zero() {
            return Ok(if e.is_positive() {
                Some(Rational::zero())
            } else {
                None
            });
        }
        let Some(q) = e.denom().to_u32() else {
            return Ok(None);
        };
        if q > self.limits.max_exponent {
            // A root of such a high order is almost never rational, and computing it would
            // be costly. This is not a limit on the result, so it is simply not evaluated.
            return Ok(None);
        }
        let Some(root) = nth_root_exact(b, q) else {
            return Ok(None);
        };
        self.int_pow(&root, e.numer())
    }

    fn int_pow(&self, b: &Rational, n: &BigInt) -> Result<Option<Rational>, LimitReached> {
        if b.is_zero() {
            return Ok(match n.sign() {
                num_bigint::Sign::Minus => None,
                num_bigint::Sign::NoSign => Some(Rational::one()),
                num_bigint::Sign::Plus => Some(Rational::zero()),
            });
        }
        if b.is_one() {
            return Ok(Some(Rational::one()));
        }
        if *b == -Rational::one() {
            return Ok(Some(if n.is_even() {
                Rational::one()
            } else {
                -Rational::one()
            }));
        }
        let Some(n) = n.to_i32() else {
            return Err(limit(LimitKind::Exponent));
        };
        if n.unsigned_abs() > self.limits.max_exponent {
            return Err(limit(LimitKind::Exponent));
        }
        let bits = b.numer().bits().max(b.denom().bits());
        let result_bits = bits.saturating_mul(u64::from(n.unsigned_abs()));
        if digits_of_bits(result_bits) > self.limits.max_digits as f64 + 1.0 {
            return Err(limit(LimitKind::Digits));
        }
        self.checked(b.pow(n))
    }

    fn builtin(&self, b: Builtin, args: &[Rational]) -> Result<Option<Rational>, LimitReached> {
        let zero = Rational::zero();
        let one = Rational::one();
        // Built reduced (`new` would take a gcd on big integers at every call).
        let half = Rational::new_raw(BigInt::from(1), BigInt::from(2));
        let res = match (b, args) {
            (Builtin::Exp | Builtin::Cos | Builtin::Cosh, [x]) => x.is_zero().then_some(one),
            (Builtin::Log, [x]) => x.is_one().then_some(zero),
            (Builtin::Sin | Builtin::Tanh | Builtin::Sinh | Builtin::Erf, [x]) => {
                x.is_zero().then_some(zero)
            }
            (Builtin::Sigmoid, [x]) => x.is_zero().then_some(half),
            // softplus(x) = log(1 + eˣ) is irrational at every rational x (at 0 it is ln 2).
            (Builtin::Softplus, [_]) => None,
            (Builtin::Sqrt, [x]) => {
                if x.is_negative() {
                    None
                } else {
                    nth_root_exact(x, 2)
                }
            }
            (Builtin::Abs, [x]) => Some(x.abs()),
            (Builtin::Sign, [x]) => Some(x.signum()),
            (Builtin::Relu, [x]) => Some(if x.is_positive() { x.clone() } else { zero }),
            (Builtin::Heaviside, [x]) => Some(if x.is_positive() {
                one
            } else if x.is_negative() {
                zero
            } else {
                half
            }),
            (Builtin::Max, [x, y]) => Some(x.max(y).clone()),
            (Builtin::Min, [x, y]) => Some(x.min(y).clone()),
            // Wrong arity: not a value (the evaluator is not the place to report it).
            _ => None,
        };
        Ok(res)
    }
}

/// Decimal digits of a number with `bits` binary digits, approximately.
fn digits_of_bits(bits: u64) -> f64 {
    // Bit lengths are far below 2^52, so the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let bits = bits as f64;
    bits * std::f64::consts::LOG10_2
}

/// The rational `r` with `r^q = x`, when there is one (a negative `x` needs an odd `q`).
fn nth_root_exact(x: &Rational, q: u32) -> Option<Rational> {
    if q == 0 {
        return None;
    }
    if x.is_negative() && q % 2 == 0 {
        return None;
    }
    let root_of = |n: &BigInt| -> Option<BigInt> {
        // Roots are taken of the magnitude, so `nth_root` never sees a negative number.
        let r = n.abs().nth_root(q);
        (r.pow(q) == n.abs()).then(|| if n.is_negative() { -r } else { r })
    };
    let n = root_of(x.numer())?;
    let d = root_of(x.denom())?;
    Some(Rational::new(n, d))
}

impl DagFold for ExactEval<'_> {
    type Value = Option<Rational>;
    type Error = LimitReached;

    fn unsupported(&mut self, _e: &Expr) -> Result<Option<Rational>, LimitReached> {
        // Not a limit: the expression needs expanding first, which the caller may not have done.
        Ok(None)
    }

    fn node(
        &mut self,
        e: &Expr,
        args: &[Option<Rational>],
        scope: &Bindings,
    ) -> Result<Option<Rational>, LimitReached> {
        match e.node() {
            Node::Num(r) => self.checked(r.clone()),
            Node::Const(_) => Ok(None),
            Node::Sym(s) => Ok(match resolve(s, scope) {
                Resolved::Index(k) => Some(int(k)),
                Resolved::Symbol(s) => (self.env)(&s),
            }),
            Node::Add(_) => {
                let mut acc = Rational::zero();
                for a in args {
                    let Some(a) = a else { return Ok(None) };
                    acc += a;
                    self.check_digits(&acc)?;
                }
                Ok(Some(acc))
            }
            Node::Mul(_) => {
                // 0·x is 0 only when x is a value: 0·(1/0) stays undefined.
                let Some(values) = args.iter().cloned().collect::<Option<Vec<_>>>() else {
                    return Ok(None);
                };
                if values.iter().any(Zero::is_zero) {
                    return Ok(Some(Rational::zero()));
                }
                let mut acc = Rational::one();
                for v in &values {
                    acc *= v;
                    self.check_digits(&acc)?;
                }
                Ok(Some(acc))
            }
            Node::Pow(..) => match args {
                [Some(b), Some(x)] => self.pow(b, x),
                _ => Ok(None),
            },
            Node::Delta(..) => match args {
                [Some(a), Some(b)] => Ok(Some(if a == b {
                    Rational::one()
                } else {
                    Rational::zero()
                })),
                _ => Ok(None),
            },
            Node::Call(Func::Builtin(b), _) => {
                let Some(values) = args.iter().cloned().collect::<Option<Vec<_>>>() else {
                    return Ok(None);
                };
                self.builtin(*b, &values)
            }
            Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } => Ok(None),
        }
    }

    fn sum(
        &mut self,
        index: &Symbol,
        lo: &Option<Rational>,
        hi: &Option<Rational>,
        body: &Expr,
        scope: &Bindings,
    ) -> Result<Option<Rational>, LimitReached> {
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(None);
        };
        if !lo.is_integer() || !hi.is_integer() {
            return Ok(None);
        }
        let (lo, hi) = (lo.to_integer(), hi.to_integer());
        if hi < lo {
            return Ok(Some(Rational::zero()));
        }
        let count = (&hi - &lo + 1u32).to_u64().unwrap_or(u64::MAX);
        self.sum_terms = self.sum_terms.saturating_add(count);
        if self.sum_terms > self.limits.max_terms as u64 {
            return Err(limit(LimitKind::Terms));
        }
        let (Some(lo), Some(hi)) = (lo.to_i64(), hi.to_i64()) else {
            return Err(limit(LimitKind::Digits));
        };
        let mut inner = scope.clone();
        inner.push((index.clone(), lo));
        let mut acc = Rational::zero();
        for k in lo..=hi {
            if let Some(last) = inner.last_mut() {
                last.1 = k;
            }
            let Some(term) = walk(self, body, &inner)? else {
                return Ok(None);
            };
            acc += term;
            self.check_digits(&acc)?;
        }
        Ok(Some(acc))
    }

    fn tick(&mut self) -> Result<(), LimitReached> {
        self.ticks += 1;
        if self.ticks % TICKS_PER_DEADLINE_CHECK == 0 {
            self.deadline.check(AT)?;
        }
        Ok(())
    }

    fn too_deep(&self) -> LimitReached {
        limit(LimitKind::Depth)
    }

    fn max_nesting(&self) -> usize {
        self.limits.max_depth.min(super::MAX_SUM_NESTING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> Rational {
        Rational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn nth_root_of_perfect_powers_only() {
        assert_eq!(nth_root_exact(&q(4, 9), 2), Some(q(2, 3)));
        assert_eq!(nth_root_exact(&q(-8, 27), 3), Some(q(-2, 3)));
        assert_eq!(nth_root_exact(&q(-4, 1), 2), None);
        assert_eq!(nth_root_exact(&q(2, 1), 2), None);
    }

    #[test]
    fn exact_value_is_eval_exact_without_the_limit() {
        let limits = Limits::default();
        let exprs = [
            "z*exp(z) + 1",
            "z^2 - 3*z + 1/7",
            "heaviside(z - 1/2)*(z + 1)^3",
            "sqrt(z^2)",
            "exp(z) - 1",
            "sigmoid(z)*(1 - sigmoid(z))",
            "max(z, 1/3) - relu(z)*sign(z)",
            "1/(z - 1/2)",
            "log(z) + pi",
            "z^(1/2)",
            // Machine-integer values (`small`) against the walk's big rationals.
            "heaviside(z*heaviside(z) - 6) + heaviside(-3/2 - z/2 + z*heaviside(z))",
            "abs(z - 1/3) - min(z, 2)*max(z, -1) + relu(-z)",
            "z^0 + (z - 1/2)^(-2) + (z - 1/2)^0",
            "0*(1/(z - 1)) + 0*z",
            "z^64 + 1",
            "z^65",
            "123456789012345678901234567890*z - 1/98765432109876543210",
            "100000000000000000000000000000000000000000*z",
            "exp(z - z) + sigmoid(0*z) + cos(z) + log(z/z)",
            "sqrt(4*z^2) + softplus(z)",
            "(-1)^1000 + 1^1000",
        ];
        let parsed = exprs
            .iter()
            .map(|text| {
                let e = crate::api::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
                (text.to_string(), e)
            })
            // A sum goes through the walk: Σ_{k=1}^{3} k·z + z².
            .chain([(
                "sum".to_string(),
                Expr::add(vec![
                    Expr::new(Node::Sum {
                        index: Symbol::new("k"),
                        lo: Expr::one(),
                        hi: Expr::int(3),
                        body: Expr::mul(vec![Expr::var("k"), Expr::var("z")]),
                    }),
                    Expr::pow(Expr::var("z"), Expr::int(2)),
                ]),
            )])
            .chain([(
                "delta".to_string(),
                Expr::new(Node::Delta(Expr::var("z"), Expr::frac(1, 2))),
            )]);
        let big = BigInt::from(10).pow(30);
        let points = [
            q(0, 1),
            q(1, 2),
            q(-3, 4),
            q(1, 1),
            q(4, 1),
            q(6, 1),
            q(-3, 1),
            q(1, 3),
            Rational::new(big.clone() + 1, big.clone()),
            Rational::new(-big.clone() * 7, big.clone() + 3),
        ];
        for (text, e) in parsed {
            for z in &points {
                let env = |s: &Symbol| (s.to_string() == "z").then(|| z.clone());
                let want = eval_exact(&e, &env, &limits).ok().flatten();
                let got = exact_value(&e, &env, &limits);
                assert_eq!(got, want, "{text} at {z}");
                // The same representation too (reduced, positive denominator), not only the
                // same value: reports print numerator and denominator as stored.
                let parts = |r: Option<Rational>| r.map(|r| (r.numer().clone(), r.denom().clone()));
                assert_eq!(parts(got), parts(want), "{text} at {z}");
            }
        }
    }

    #[test]
    fn digits_estimate_is_close() {
        // 2^10 = 1024 has 4 digits; 11 bits give about 3.3.
        let d = digits_of_bits(11);
        assert!((3.0..4.0).contains(&d));
    }
}
