//! Interval evaluation: a guaranteed enclosure of an expression's value at a point.
//!
//! The checker uses it to make counterexamples rigorous. f64 evaluation can be badly wrong
//! near cancellations (log(1 − σ(36)) loses every digit), so a point where the f64 values of
//! two sides differ is only called a counterexample when the enclosures of the two sides are
//! disjoint.
//!
//! Each operation rounds outward by a relative margin of a few ulps (libm's functions are
//! accurate to about one ulp) plus the smallest normal number, so the true value is inside the
//! interval. Monotone functions map endpoints; `sin`, `cos`, `cosh`, `abs` look at their
//! critical points. Anything undefined or unsupported (a sum, a user function, division by an
//! interval containing 0, log of an interval reaching 0) gives `None`: no enclosure, so no
//! claim about the value.

use num_traits::ToPrimitive;

use super::special;
use super::{is_opaque, rational_to_f64, resolve, walk, Bindings, DagFold, Resolved};
use crate::expr::{Builtin, Constant, Expr, Func, Node, Rational, Symbol};

/// A closed interval [lo, hi] with lo ≤ hi, both finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

const REL: f64 = 8.0 * f64::EPSILON;

fn down(x: f64) -> f64 {
    x - x.abs() * REL - f64::MIN_POSITIVE
}

fn up(x: f64) -> f64 {
    x + x.abs() * REL + f64::MIN_POSITIVE
}

impl Interval {
    /// [lo, hi] widened outward; `None` when not finite or reversed.
    fn new(lo: f64, hi: f64) -> Option<Interval> {
        let (lo, hi) = (down(lo), up(hi));
        (lo.is_finite() && hi.is_finite() && lo <= hi).then_some(Interval { lo, hi })
    }

    /// A point value computed with rounding (widened).
    fn point(x: f64) -> Option<Interval> {
        Interval::new(x, x)
    }

    /// Whether the two intervals share no point.
    pub fn disjoint(&self, other: &Interval) -> bool {
        self.hi < other.lo || other.hi < self.lo
    }

    fn contains_zero(&self) -> bool {
        self.lo <= 0.0 && self.hi >= 0.0
    }

    fn add(a: Interval, b: Interval) -> Option<Interval> {
        Interval::new(a.lo + b.lo, a.hi + b.hi)
    }

    fn mul(a: Interval, b: Interval) -> Option<Interval> {
        let ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
        let lo = ps.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Interval::new(lo, hi)
    }

    fn recip(a: Interval) -> Option<Interval> {
        if a.contains_zero() {
            return None;
        }
        Interval::new(1.0 / a.hi, 1.0 / a.lo)
    }

    fn powi(a: Interval, n: i64) -> Option<Interval> {
        if n < 0 {
            return Interval::recip(Interval::powi(a, -n)?);
        }
        let mut acc = Interval { lo: 1.0, hi: 1.0 };
        for _ in 0..n {
            acc = Interval::mul(acc, a)?;
        }
        if n % 2 == 0 && n > 0 && acc.lo < 0.0 {
            // Even powers are non-negative.
            acc.lo = 0.0;
        }
        Some(acc)
    }

    /// Image under an increasing function.
    fn increasing(a: Interval, f: impl Fn(f64) -> f64) -> Option<Interval> {
        Interval::new(f(a.lo), f(a.hi))
    }
}

struct IntervalEval<'a> {
    /// The enclosure of each free symbol's value.
    env: &'a dyn Fn(&Symbol) -> Option<Interval>,
    work: u64,
}

/// The rounded value widened (`rational_to_f64` gives the bits `to_f64` gives; NaN where
/// that has none, which `Interval::point` refuses).
fn rational_interval(r: &Rational) -> Option<Interval> {
    Interval::point(rational_to_f64(r))
}

impl DagFold for IntervalEval<'_> {
    type Value = Option<Interval>;
    type Error = ();

    fn unsupported(&mut self, _e: &Expr) -> Result<Option<Interval>, ()> {
        Ok(None)
    }

    fn node(
        &mut self,
        e: &Expr,
        args: &[Option<Interval>],
        scope: &Bindings,
    ) -> Result<Option<Interval>, ()> {
        Ok(node_value(e, args, scope, self.env))
    }

    fn sum(
        &mut self,
        _index: &Symbol,
        _lo: &Option<Interval>,
        _hi: &Option<Interval>,
        _body: &Expr,
        _scope: &Bindings,
    ) -> Result<Option<Interval>, ()> {
        Ok(None)
    }

    fn tick(&mut self) -> Result<(), ()> {
        self.work += 1;
        if self.work > super::MAX_WORK {
            Err(())
        } else {
            Ok(())
        }
    }

    fn too_deep(&self) {}
}

fn node_value(
    e: &Expr,
    args: &[Option<Interval>],
    scope: &Bindings,
    env: &dyn Fn(&Symbol) -> Option<Interval>,
) -> Option<Interval> {
    let all = || args.iter().copied().collect::<Option<Vec<Interval>>>();
    match e.node() {
        Node::Num(r) => rational_interval(r),
        Node::Const(Constant::E) => Interval::point(std::f64::consts::E),
        Node::Const(Constant::Pi) => Interval::point(std::f64::consts::PI),
        Node::Sym(s) => match resolve(s, scope) {
            Resolved::Index(k) => Interval::point(k as f64),
            Resolved::Symbol(s) => env(&s),
        },
        // Folded in order, `None` at the first operand without an enclosure (the same
        // operations in the same order as collecting the operands first).
        Node::Add(_) => args
            .iter()
            .try_fold(Interval { lo: 0.0, hi: 0.0 }, |acc, a| {
                Interval::add(acc, (*a)?)
            }),
        Node::Mul(_) => args
            .iter()
            .try_fold(Interval { lo: 1.0, hi: 1.0 }, |acc, a| {
                Interval::mul(acc, (*a)?)
            }),
        Node::Pow(_, x) => match (args, x.as_num()) {
            ([Some(b), _], Some(n)) if n.is_integer() => {
                let n = n.to_integer().to_i64().filter(|n| n.unsigned_abs() <= 64)?;
                Interval::powi(*b, n)
            }
            ([Some(b), Some(x)], _) if b.lo > 0.0 => {
                // b^x = exp(x·log b) for b > 0.
                let l = Interval::increasing(*b, special::log)?;
                Interval::increasing(Interval::mul(*x, l)?, special::exp)
            }
            _ => None,
        },
        Node::Call(Func::Builtin(b), _) => match args {
            [Some(a)] => builtin(*b, &[*a]),
            [Some(a), Some(c)] => builtin(*b, &[*a, *c]),
            _ => all().and_then(|v| builtin(*b, &v)),
        },
        Node::Delta(..) => match all().as_deref() {
            Some([a, b]) if a.disjoint(b) => Interval::point(0.0),
            Some([a, b]) if a == b && a.hi - a.lo < 1e-300 => Interval::point(1.0),
            _ => Some(Interval { lo: 0.0, hi: 1.0 }),
        },
        Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } => None,
    }
}

fn builtin(b: Builtin, v: &[Interval]) -> Option<Interval> {
    let a = *v.first()?;
    match b {
        Builtin::Exp => Interval::increasing(a, special::exp),
        Builtin::Log => (a.lo > 0.0)
            .then(|| Interval::increasing(a, special::log))
            .flatten(),
        Builtin::Sqrt => (a.lo >= 0.0)
            .then(|| Interval::increasing(a, special::sqrt))
            .flatten(),
        Builtin::Tanh => Interval::increasing(a, special::tanh),
        Builtin::Sinh => Interval::increasing(a, special::sinh),
        Builtin::Sigmoid => Interval::increasing(a, special::sigmoid),
        Builtin::Softplus => Interval::increasing(a, special::softplus),
        Builtin::Erf => Interval::increasing(a, special::erf),
        Builtin::Relu => Interval::increasing(a, special::relu),
        Builtin::Heaviside => {
            // H jumps at 0 (H(0) = 1/2); exact values need no widening.
            let h = |x: f64| special::heaviside(x);
            Some(Interval {
                lo: h(a.lo),
                hi: h(a.hi),
            })
        }
        Builtin::Sign => Some(Interval {
            lo: special::sign(a.lo),
            hi: special::sign(a.hi),
        }),
        Builtin::Cosh => {
            let m = special::cosh(a.lo).max(special::cosh(a.hi));
            let lo = if a.contains_zero() {
                1.0
            } else {
                special::cosh(a.lo).min(special::cosh(a.hi))
            };
            Interval::new(lo, m)
        }
        Builtin::Abs => {
            let m = a.lo.abs().max(a.hi.abs());
            let lo = if a.contains_zero() {
                0.0
            } else {
                a.lo.abs().min(a.hi.abs())
            };
            Interval::new(lo, m)
        }
        Builtin::Max | Builtin::Min => {
            let c = *v.get(1)?;
            if b == Builtin::Max {
                Interval::new(a.lo.max(c.lo), a.hi.max(c.hi))
            } else {
                Interval::new(a.lo.min(c.lo), a.hi.min(c.hi))
            }
        }
        Builtin::Sin | Builtin::Cos => {
            if a.hi - a.lo >= std::f64::consts::TAU {
                return Interval::new(-1.0, 1.0);
            }
            let f = if b == Builtin::Sin {
                special::sin
            } else {
                special::cos
            };
            let (mut lo, mut hi) = (f(a.lo).min(f(a.hi)), f(a.lo).max(f(a.hi)));
            // Critical points: sin at π/2 + kπ, cos at kπ.
            let offset = if b == Builtin::Sin {
                std::f64::consts::FRAC_PI_2
            } else {
                0.0
            };
            let pi = std::f64::consts::PI;
            let mut k = ((a.lo - offset) / pi).floor() - 1.0;
            while offset + k * pi <= a.hi + 1e-12 {
                let x = offset + k * pi;
                if x >= a.lo - 1e-12 {
                    let y = f(x).round();
                    lo = lo.min(y);
                    hi = hi.max(y);
                }
                k += 1.0;
            }
            Interval::new(lo.max(-1.0), hi.min(1.0))
        }
    }
}

/// An enclosure of `e`'s value at the point given by `env` (exact rational coordinates), or
/// `None` when no finite enclosure is available.
pub fn eval_interval(e: &Expr, env: &dyn Fn(&Symbol) -> Option<Rational>) -> Option<Interval> {
    enclose(e, &|s: &Symbol| env(s).and_then(|r| rational_interval(&r)))
}

/// [`eval_interval`] at a point listing each symbol's value (the first entry of a symbol
/// counts), without copying the coordinates.
pub fn eval_interval_at(e: &Expr, point: &[(Symbol, Rational)]) -> Option<Interval> {
    enclose(e, &|s: &Symbol| {
        point
            .iter()
            .find(|(t, _)| t == s)
            .and_then(|(_, v)| rational_interval(v))
    })
}

/// The enclosures of a point's coordinates, in its order (what [`eval_interval_at`] makes
/// of a coordinate at each occurrence of its symbol), for [`eval_interval_in`].
pub fn point_intervals(point: &[(Symbol, Rational)]) -> Vec<(Symbol, Option<Interval>)> {
    point
        .iter()
        .map(|(s, v)| (s.clone(), rational_interval(v)))
        .collect()
}

/// [`eval_interval_at`] with the coordinates' enclosures made once ([`point_intervals`]):
/// the same enclosure, when several expressions are enclosed at one point.
pub fn eval_interval_in(e: &Expr, coordinates: &[(Symbol, Option<Interval>)]) -> Option<Interval> {
    enclose(e, &|s: &Symbol| {
        coordinates
            .iter()
            .find(|(t, _)| t == s)
            .and_then(|(_, v)| *v)
    })
}

/// Largest tree size evaluated by [`direct`] recursion instead of the DAG walk.
const DIRECT_TREE_SIZE: u64 = 256;

fn enclose(e: &Expr, env: &dyn Fn(&Symbol) -> Option<Interval>) -> Option<Interval> {
    if e.tree_size() <= DIRECT_TREE_SIZE {
        return direct(e, env);
    }
    let mut ev = IntervalEval { env, work: 0 };
    walk(&mut ev, e, &Vec::new()).ok().flatten()
}

/// The walk's value of a small expression, by plain recursion: each node's value is a
/// function of its operands' alone (`node_value`), so evaluating a shared node once per
/// parent gives the same value, and for a tree of at most `DIRECT_TREE_SIZE` nodes it costs
/// no more than that many nodes and that depth, without the walk's memo and stacks. A sum
/// has no enclosure (as in the walk); opaque nodes have none either.
fn direct(e: &Expr, env: &dyn Fn(&Symbol) -> Option<Interval>) -> Option<Interval> {
    const NO_SCOPE: &Bindings = &Vec::new();
    if is_opaque(e) {
        return None;
    }
    // Each arm computes what `node_value` computes from the operands' values, in the same
    // operations and order (the enclosures are bit for bit the walk's); an operand without an
    // enclosure gives none at once, as `node_value` does once it meets it (evaluating the
    // rest first changed nothing: each value is a function of its node alone).
    match e.node() {
        Node::Num(r) => rational_interval(r),
        // Without sum indices in scope a symbol is itself (`resolve` with no bindings).
        Node::Sym(s) => env(s),
        Node::Add(xs) => xs.iter().try_fold(Interval { lo: 0.0, hi: 0.0 }, |acc, x| {
            Interval::add(acc, direct(x, env)?)
        }),
        Node::Mul(xs) => xs.iter().try_fold(Interval { lo: 1.0, hi: 1.0 }, |acc, x| {
            Interval::mul(acc, direct(x, env)?)
        }),
        Node::Pow(a, b) => match b.as_num() {
            // An integer power never reads the exponent's enclosure.
            Some(n) if n.is_integer() => {
                let base = direct(a, env)?;
                let n = n.to_integer().to_i64().filter(|n| n.unsigned_abs() <= 64)?;
                Interval::powi(base, n)
            }
            _ => node_value(e, &[direct(a, env), direct(b, env)], NO_SCOPE, env),
        },
        Node::Call(Func::Builtin(f), xs) => match xs.as_slice() {
            [a] => builtin(*f, &[direct(a, env)?]),
            [a, c] => builtin(*f, &[direct(a, env)?, direct(c, env)?]),
            _ => {
                let v: Option<Vec<Interval>> = xs.iter().map(|x| direct(x, env)).collect();
                builtin(*f, &v?)
            }
        },
        Node::Const(_) => node_value(e, &[], NO_SCOPE, env),
        // User functions and derivatives are opaque (above).
        Node::Call(..) => None,
        Node::Delta(a, b) => node_value(e, &[direct(a, env), direct(b, env)], NO_SCOPE, env),
        Node::Deriv(..) | Node::Sum { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(e: &Expr, z: f64) -> Option<Interval> {
        let r = Rational::from_float(z);
        eval_interval(e, &|_| r.clone())
    }

    #[test]
    fn enclosures_from_coordinates_made_once_are_the_same() {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let (y, z) = (Symbol::new("y"), Symbol::new("z"));
        let q = |n: i64, d: i64| Rational::new(n.into(), d.into());
        let point = vec![(z.clone(), q(-7, 3)), (y, q(1, 10)), (z, q(5, 1))];
        let coordinates = point_intervals(&point);
        for text in [
            "6 - z*heaviside(z)",
            "z^3*y - 1/3",
            "heaviside(z + 3)*(z + 3) - 6*heaviside(y - z)",
            "exp(z)*y",
            "w + z",
        ] {
            let e = parse(text);
            assert_eq!(
                eval_interval_in(&e, &coordinates),
                eval_interval_at(&e, &point),
                "{text}"
            );
        }
    }

    #[test]
    fn small_expressions_enclosed_directly_are_enclosed_as_by_the_walk() {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let q = |n: i64, d: i64| Rational::new(n.into(), d.into());
        let (w, z) = (Symbol::new("w"), Symbol::new("z"));
        let mut enclosed = 0;
        for (zv, wv) in [
            (q(1, 2), q(-3, 7)),
            (q(-5, 1), q(2, 1)),
            (q(0, 1), q(1, 1000)),
        ] {
            let point = vec![(z.clone(), zv), (w.clone(), wv)];
            let coordinates = point_intervals(&point);
            let env = |s: &Symbol| {
                coordinates
                    .iter()
                    .find(|(t, _)| t == s)
                    .and_then(|(_, v)| *v)
            };
            for text in [
                "sigmoid(z)*(1 - sigmoid(z)) + 3*z^2 - 1/3",
                "exp(-z^2/2)/sqrt(2*pi) + erf(z/sqrt(2))",
                "z^(-3) + w^100 + z^65 + (z^2 + 1)^(1/2) + w^(3/2) + 2^z",
                "max(z, w) - min(z, 1) + abs(z - w)*sign(z)",
                "heaviside(z)*relu(w) + delta(z, w) + tanh(z + w + e)",
                "log(z) + log(w)*cos(z) + sin(w)^2 + cosh(z) + sinh(w)",
                "f(z) + z",
                "z*w*(z + w + 1)*(z - 1)*(w + 2) + z + w + 1 + z*w",
            ] {
                let e = parse(text);
                let walked = walk(&mut IntervalEval { env: &env, work: 0 }, &e, &Vec::new())
                    .ok()
                    .flatten();
                assert_eq!(direct(&e, &env), walked, "{text} at {point:?}");
                enclosed += usize::from(walked.is_some());
            }
        }
        // Most have enclosures (log of a negative number, f(z), 0^(−3) have none).
        assert!(enclosed >= 12, "{enclosed}");
    }

    #[test]
    fn cancellation_gives_a_wide_enclosure() {
        // log(1 − σ(36)): f64 gives about −36.04; the truth is about −36.
        let z = Expr::var("z");
        let e = Expr::call(
            Builtin::Log,
            vec![Expr::sub(
                Expr::one(),
                Expr::call(Builtin::Sigmoid, vec![z]),
            )],
        );
        match at(&e, 36.0) {
            None => {}
            Some(i) => assert!(i.lo <= -36.0 && i.hi >= -36.0, "{i:?}"),
        }
    }

    #[test]
    fn well_conditioned_values_are_tight() {
        let z = Expr::var("z");
        let e = Expr::call(Builtin::Sigmoid, vec![z]);
        let i = at(&e, 0.5).unwrap_or(Interval { lo: 0.0, hi: 1.0 });
        assert!(i.hi - i.lo < 1e-14 && i.lo < 0.6224593312018546 && i.hi > 0.6224593312018546);
    }

    #[test]
    fn sine_over_its_maximum() {
        let e = Expr::call(Builtin::Sin, vec![Expr::var("z")]);
        let r = Rational::new(3.into(), 2.into());
        let i = eval_interval(&e, &|_| Some(r.clone())).unwrap_or(Interval { lo: 0.0, hi: 0.0 });
        assert!(i.lo <= 0.9974949866040544 && i.hi >= 0.9974949866040544);
    }
}
