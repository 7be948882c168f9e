//! Hints: when a claim is wrong, name the slip the way an instructor would.
//!
//! All tests are numeric, at points inside the domain where every compared expression is
//! defined: the claimed value C against the true value T.
//! - a constant ratio C/T: "off by a factor of 2", or "the sign is flipped";
//! - C equals the derivative with respect to another variable;
//! - T = C · du/dz for an inner function u: a missing chain-rule factor;
//! - C/T = b^k for a base b of the expression: a wrong power;
//! - T − C (or C − T) is one term of the derivative: a dropped (or extra) term;
//! - otherwise, for derivative claims, the correct derivative.

use num_bigint::BigInt;

use super::Checker;
use crate::assume::{Point, Rng};
use crate::diff::diff;
use crate::expr::{Expr, Func, Node, Rational, Symbol};

/// The likely slip in a wrong claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    /// claimed = factor · true.
    Factor(Rational),
    /// claimed = −true.
    SignFlipped,
    /// claimed · factor = true, where factor = d(inner)/d(var).
    MissingChainFactor {
        /// The inner function.
        inner: Expr,
        /// Its derivative (readable).
        factor: Expr,
    },
    /// claimed = the derivative with respect to `used` instead of `wanted`.
    WrongVariable {
        /// The variable the claim differentiated by.
        used: Symbol,
        /// The variable asked for.
        wanted: Symbol,
    },
    /// claimed = true · base^k.
    PowerOff {
        /// The base.
        base: Expr,
        /// The exponent of the extra factor.
        k: i64,
    },
    /// true − claimed is this term of the derivative.
    DroppedTerm(Expr),
    /// claimed − true is this term.
    ExtraTerm(Expr),
    /// The correct value (readable), when no slip fits.
    Expected(Expr),
}

const POINTS: usize = 6;

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7 * 1f64.max(a.abs()).max(b.abs())
}

/// A small rational close to `x` (denominator ≤ 100), if any.
fn small_rational(x: f64) -> Option<Rational> {
    if !x.is_finite() {
        return None;
    }
    // Continued fractions.
    let (mut h0, mut h1, mut k0, mut k1) = (0i64, 1i64, 1i64, 0i64);
    let mut v = x;
    for _ in 0..20 {
        let a = v.floor();
        if a.abs() > 1e9 {
            return None;
        }
        let a = a as i64;
        let h2 = a.checked_mul(h1)?.checked_add(h0)?;
        let k2 = a.checked_mul(k1)?.checked_add(k0)?;
        if k2 > 100 {
            return None;
        }
        if approx(h2 as f64 / k2 as f64, x) {
            return Some(Rational::new(BigInt::from(h2), BigInt::from(k2)));
        }
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let frac = v - v.floor();
        if frac.abs() < 1e-12 {
            return None;
        }
        v = 1.0 / frac;
    }
    None
}

/// Finds a hint for `claimed ≠ truth`, where `original` is the left side as written (used to
/// find the variable and the inner functions of a derivative).
pub fn find(
    checker: &Checker,
    original: &Expr,
    truth: &Expr,
    claimed: &Expr,
    _agreeing: &[Point],
) -> Option<Hint> {
    let points = defined_points(checker, &[truth, claimed]);
    if points.len() < 3 {
        return None;
    }
    let values =
        |e: &Expr| -> Option<Vec<f64>> { points.iter().map(|p| checker.eval_at(e, p)).collect() };
    let t = values(truth)?;
    let c = values(claimed)?;
    // A missing chain-rule factor is the most specific explanation, even when the factor is
    // a constant (d/dz σ(3z) claimed as σ(3z)·(1 − σ(3z))).
    if let Some(h) = chain_factor(checker, original, &t, &c, &values) {
        return Some(h);
    }
    // A constant ratio.
    if t.iter().all(|x| x.abs() > 1e-9) {
        let ratios: Vec<f64> = c.iter().zip(&t).map(|(c, t)| c / t).collect();
        if let Some(&r0) = ratios.first() {
            if ratios.iter().all(|r| approx(*r, r0)) {
                if approx(r0, -1.0) {
                    return Some(Hint::SignFlipped);
                }
                if let Some(q) = small_rational(r0) {
                    return Some(Hint::Factor(q));
                }
            }
        }
    }
    let Node::Deriv(f, var) = original.node() else {
        return dropped_term(checker, truth, &t, &c, &points, original);
    };
    let ctx = checker.diff_ctx();
    // The function differentiated, through one level of definitions.
    let body = match f.node() {
        Node::Sym(s) => checker
            .program
            .quantity(s)
            .map(|d| d.body.clone())
            .unwrap_or_else(|| f.clone()),
        _ => f.clone(),
    };
    // Wrong variable.
    let mut others: Vec<Symbol> = body.free_symbols();
    if let Ok(p) = checker.prepare(&body) {
        others.extend(p.expr.free_symbols());
    }
    others.sort();
    others.dedup();
    for v in others.iter().filter(|v| *v != var) {
        let Ok(dv) = checker.prepare(&Expr::deriv(f.clone(), v.clone())) else {
            continue;
        };
        if let Some(vals) = values(&dv.expr) {
            if vals.iter().zip(&c).all(|(a, b)| approx(*a, *b))
                && !vals.iter().zip(&t).all(|(a, b)| approx(*a, *b))
            {
                return Some(Hint::WrongVariable {
                    used: v.clone(),
                    wanted: var.clone(),
                });
            }
        }
    }
    // A wrong power: C/T = b^k.
    if t.iter().all(|x| x.abs() > 1e-9) {
        let mut bases: Vec<Expr> = others.iter().cloned().map(Expr::sym).collect();
        bases.extend(inner_functions(&body, var));
        for b in bases {
            let Ok(pb) = checker.prepare(&b) else {
                continue;
            };
            let Some(bv) = values(&pb.expr) else { continue };
            for k in [1i64, -1, 2, -2] {
                let ok = bv
                    .iter()
                    .zip(&c)
                    .zip(&t)
                    .all(|((b, c), t)| approx(c / t, b.powi(k as i32)));
                if ok {
                    return Some(Hint::PowerOff { base: b, k });
                }
            }
        }
    }
    if let Some(h) = dropped_term(checker, truth, &t, &c, &points, original) {
        return Some(h);
    }
    let resolved = diff(f, var, &ctx).ok()?;
    Some(Hint::Expected(checker.readable(&resolved.expr).ok()?))
}

/// The function a derivative claim differentiates, through one level of definitions.
fn differentiated(checker: &Checker, original: &Expr) -> Option<(Expr, Symbol)> {
    let Node::Deriv(f, var) = original.node() else {
        return None;
    };
    let body = match f.node() {
        Node::Sym(s) => checker
            .program
            .quantity(s)
            .map(|d| d.body.clone())
            .unwrap_or_else(|| f.clone()),
        _ => f.clone(),
    };
    Some((body, var.clone()))
}

/// T = C · du/dz for an inner function u of the differentiated function.
fn chain_factor(
    checker: &Checker,
    original: &Expr,
    t: &[f64],
    c: &[f64],
    values: &dyn Fn(&Expr) -> Option<Vec<f64>>,
) -> Option<Hint> {
    let (body, var) = differentiated(checker, original)?;
    for inner in inner_functions(&body, &var) {
        let Ok(du) = checker.prepare(&Expr::deriv(inner.clone(), var.clone())) else {
            continue;
        };
        let Some(dv) = values(&du.expr) else { continue };
        if dv.iter().all(|x| approx(*x, 1.0)) {
            continue;
        }
        if dv.iter().zip(c).zip(t).all(|((d, c), t)| approx(d * c, *t)) {
            let factor = diff(&inner, &var, &checker.diff_ctx())
                .ok()
                .and_then(|d| checker.readable(&d.expr).ok())
                .unwrap_or(du.expr);
            return Some(Hint::MissingChainFactor { inner, factor });
        }
    }
    None
}

/// true − claimed (or claimed − true) equals one term of the true value's derivative terms.
fn dropped_term(
    checker: &Checker,
    truth: &Expr,
    t: &[f64],
    c: &[f64],
    points: &[Point],
    original: &Expr,
) -> Option<Hint> {
    // Terms as the student sees them: of the raw derivative for a derivative claim, else of
    // the previous line.
    let terms: Vec<Expr> = match original.node() {
        Node::Deriv(f, var) => match diff(f, var, &checker.diff_ctx()).ok()?.expr.node() {
            Node::Add(ts) => ts.clone(),
            _ => Vec::new(),
        },
        Node::Add(ts) => ts.clone(),
        _ => match truth.node() {
            Node::Add(ts) => ts.clone(),
            _ => Vec::new(),
        },
    };
    for term in terms {
        let Ok(p) = checker.prepare(&term) else {
            continue;
        };
        let Some(vals): Option<Vec<f64>> = points
            .iter()
            .map(|pt| checker.eval_at(&p.expr, pt))
            .collect()
        else {
            continue;
        };
        if vals.iter().all(|v| approx(*v, 0.0)) {
            continue;
        }
        let shown = checker.readable(&term).unwrap_or(term);
        if vals
            .iter()
            .zip(t)
            .zip(c)
            .all(|((v, t), c)| approx(t - c, *v))
        {
            return Some(Hint::DroppedTerm(shown));
        }
        if vals
            .iter()
            .zip(t)
            .zip(c)
            .all(|((v, t), c)| approx(c - t, *v))
        {
            return Some(Hint::ExtraTerm(shown));
        }
    }
    None
}

/// Arguments of calls and bases of powers inside `e` that depend on `var` and are not `var`
/// itself, outermost first.
fn inner_functions(e: &Expr, var: &Symbol) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    let mut stack = vec![e.clone()];
    while let Some(x) = stack.pop() {
        if out.len() > 16 {
            break;
        }
        let candidates: Vec<Expr> = match x.node() {
            Node::Call(Func::Builtin(_) | Func::User(_), args) => args.clone(),
            Node::Pow(b, _) => vec![b.clone()],
            _ => Vec::new(),
        };
        for c in candidates {
            if c.as_sym() != Some(var) && c.contains_sym(var) && !out.contains(&c) {
                out.push(c.clone());
            }
        }
        stack.extend(x.node().children().cloned());
    }
    out
}

/// Points inside the domain where every expression is defined.
fn defined_points(checker: &Checker, exprs: &[&Expr]) -> Vec<Point> {
    let mut symbols: Vec<Symbol> = exprs.iter().flat_map(|e| e.free_symbols()).collect();
    symbols.sort();
    symbols.dedup();
    let mut rng = Rng::new(0x4817 ^ exprs.iter().fold(0, |h, e| h ^ e.hash_value()));
    let mut out = Vec::new();
    for _ in 0..POINTS * 8 {
        if out.len() >= POINTS {
            break;
        }
        let point: Point = symbols
            .iter()
            .map(|s| (s.clone(), checker.domain.sample_symbol(s, &mut rng)))
            .collect();
        if exprs.iter().all(|e| checker.eval_at(e, &point).is_some()) {
            out.push(point);
        }
    }
    out
}
