//! Hints: when a claim is wrong, name the slip the way an instructor would.
//!
//! All tests are numeric, at points inside the domain where every compared expression is
//! defined: the claimed value C against the true value T.
//! - a constant ratio C/T: "off by a factor of 2", or "the sign is flipped";
//! - C equals the derivative with respect to another variable;
//! - T = C · du/dz for an inner function u: a missing chain-rule factor;
//! - C/T = b^k for a base b of the expression: a wrong power when the claim raises b to a
//!   power, else a missing factor b^(−k) (k < 0, or b has a negative power in the truth) or an
//!   extra factor b^k;
//! - T − C (or C − T) is one term of the derivative: a dropped (or extra) term;
//! - otherwise, for derivative claims, the correct derivative.

use num_bigint::BigInt;

use super::Checker;
use crate::assume::{Point, Rng};
use crate::diff::diff;
use crate::expr::{Expr, Func, Node, Rational, Symbol};
use crate::program::substitute;

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
    /// claimed · factor = true, where factor is not a power of a base the claim raises to a
    /// power (a factor of the product rule or of the delta rule left out).
    MissingFactor(Expr),
    /// claimed = true · factor.
    ExtraFactor(Expr),
    /// true − claimed is this term of the derivative.
    DroppedTerm(Expr),
    /// claimed − true is this term.
    ExtraTerm(Expr),
    /// The correct value (readable), when no slip fits.
    Expected(Expr),
}

/// Points used for a hint; claims with piecewise functions need more, because a slip that
/// fits on one side of a kink (a constant ratio outside the Huber threshold) need not fit on
/// the other.
const POINTS: usize = 12;
const POINTS_PIECEWISE: usize = 32;

/// Values this small say nothing about a ratio (σ(z)·(1 − σ(z)) underflows for large |z|).
const TINY: f64 = 1e-6;

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7 * 1f64.max(a.abs()).max(b.abs())
}

/// Whether a ≈ b at every point, and at least 3 points are informative (not both tiny).
/// Slips are tested as products (c ≈ r·t, t ≈ c·du/dz), never as quotients, so that points
/// where the true value underflows neither fail nor pass a test on their own.
fn fits(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(a, b)| approx(*a, *b))
        && a.iter()
            .zip(b)
            .filter(|(a, b)| a.abs().max(b.abs()) >= TINY)
            .count()
            >= 3
}

fn times(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a * b).collect()
}

/// The constant ratio c/t, if c = r·t at every point.
fn constant_ratio(t: &[f64], c: &[f64]) -> Option<f64> {
    let (t0, c0) = t
        .iter()
        .zip(c)
        .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))?;
    if t0.abs() < TINY {
        return None;
    }
    let r0 = c0 / t0;
    fits(c, &times(t, &vec![r0; t.len()])).then_some(r0)
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
    let wanted = if super::has_piecewise(truth) || super::has_piecewise(claimed) {
        POINTS_PIECEWISE
    } else {
        POINTS
    };
    let points = defined_points(checker, &[truth, claimed], wanted);
    if points.len() < 3 {
        return None;
    }
    let values =
        |e: &Expr| -> Option<Vec<f64>> { points.iter().map(|p| checker.eval_at(e, p)).collect() };
    let t = values(truth)?;
    let c = values(claimed)?;
    let diffed = differentiated(checker, original);
    // A missing chain-rule factor is the most specific explanation, even when the factor is
    // a constant (d/dz σ(3z) claimed as σ(3z)·(1 − σ(3z))).
    if let Some(h) = chain_factor(checker, diffed.as_ref(), &t, &c, &values) {
        return Some(h);
    }
    // A constant ratio.
    if let Some(r0) = constant_ratio(&t, &c) {
        if approx(r0, -1.0) {
            return Some(Hint::SignFlipped);
        }
        if let Some(q) = small_rational(r0) {
            return Some(Hint::Factor(q));
        }
    }
    // Wrong variable.
    if let (Node::Deriv(f, var), Some((bodies, _))) = (original.node(), &diffed) {
        let mut others: Vec<Symbol> = Vec::new();
        for body in bodies {
            others.extend(body.free_symbols());
            if let Ok(p) = checker.prepare(body) {
                others.extend(p.expr.free_symbols());
            }
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
    }
    // The raw derivative, in the student's terms (sums of product-rule terms).
    let raw = match original.node() {
        Node::Deriv(f, var) => diff(f, var, &checker.diff_ctx()).ok().map(|d| d.expr),
        _ => None,
    };
    let shown_truth = checker.readable(truth).ok();
    let shown_claim = checker.readable(claimed).ok();
    if let Some(h) = dropped_term(checker, truth, &t, &c, &points, original) {
        return Some(h);
    }
    if let Some(h) = factor_or_power(
        checker,
        &[
            diffed.as_ref().map(|d| d.0.as_slice()).unwrap_or(&[]),
            std::slice::from_ref(original),
        ]
        .concat(),
        &[raw.as_ref(), shown_truth.as_ref()],
        shown_claim.as_ref(),
        &t,
        &c,
        &values,
    ) {
        return Some(h);
    }
    let Node::Deriv(f, var) = original.node() else {
        return None;
    };
    let resolved = diff(f, var, &checker.diff_ctx()).ok()?;
    Some(Hint::Expected(checker.readable(&resolved.expr).ok()?))
}

/// The function a derivative claim differentiates: as written, then through one level of
/// definitions (a named quantity's body, or a user function's body with the arguments
/// substituted), with the variable.
fn differentiated(checker: &Checker, original: &Expr) -> Option<(Vec<Expr>, Symbol)> {
    let Node::Deriv(f, var) = original.node() else {
        return None;
    };
    let mut bodies = vec![f.clone()];
    match f.node() {
        Node::Sym(s) => {
            if let Some(d) = checker.program.quantity(s) {
                bodies.push(d.body.clone());
            }
        }
        Node::Call(Func::User(name), args) => {
            if let Some(d) = checker.program.function(name) {
                bodies.push(substitute(&d.body, &d.params, args));
            }
        }
        _ => {}
    }
    Some((bodies, var.clone()))
}

/// `e` with every occurrence of `target` replaced by `with`.
fn replace(e: &Expr, target: &Expr, with: &Expr) -> Expr {
    if e == target {
        return with.clone();
    }
    e.map_children(|c| replace(c, target, with))
}

/// T = C · du/dz for an inner function u of the differentiated function. A constant du/dz
/// (−1 for u = −z) explains the slip only when the function as written depends on z through
/// u alone:
/// otherwise (y − A)/(A·(1 − A)) against (A − y)/(A·(1 − A)) would be blamed on the inner
/// function 1 − A instead of a flipped sign.
fn chain_factor(
    checker: &Checker,
    diffed: Option<&(Vec<Expr>, Symbol)>,
    t: &[f64],
    c: &[f64],
    values: &dyn Fn(&Expr) -> Option<Vec<f64>>,
) -> Option<Hint> {
    let (bodies, var) = diffed?;
    let mut tried: Vec<Expr> = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        // A constant factor is blamed on an inner function only of the function as written
        // (σ(3z)), not of its definition (σ(z)·(σ(z) − 1) is a flipped sign, not the −1 of
        // the −z inside 1/(1 + exp(−z))).
        let as_written = i == 0;
        for inner in inner_functions(body, var) {
            if tried.contains(&inner) {
                continue;
            }
            tried.push(inner.clone());
            let Ok(du) = checker.prepare(&Expr::deriv(inner.clone(), var.clone())) else {
                continue;
            };
            let Some(dv) = values(&du.expr) else { continue };
            if dv.iter().all(|x| approx(*x, 1.0)) {
                continue;
            }
            let constant = dv
                .iter()
                .all(|x| dv.first().is_some_and(|d0| approx(*x, *d0)));
            if constant && (!as_written || replace(body, &inner, &Expr::int(7)).contains_sym(var)) {
                continue;
            }
            if fits(t, &times(c, &dv)) {
                let factor = diff(&inner, var, &checker.diff_ctx())
                    .ok()
                    .and_then(|d| checker.readable(&d.expr).ok())
                    .unwrap_or(du.expr);
                return Some(Hint::MissingChainFactor { inner, factor });
            }
        }
    }
    None
}

/// Candidate bases of a factor slip in `e`: symbols, calls and their arguments, bases of
/// powers and factors of products, outermost first, at most 24.
fn bases_of(e: &Expr, out: &mut Vec<Expr>) {
    let mut stack = vec![e.clone()];
    while let Some(x) = stack.pop() {
        if out.len() >= 24 {
            return;
        }
        let candidates: Vec<Expr> = match x.node() {
            Node::Sym(_) => vec![x.clone()],
            Node::Call(_, args) => [x.clone()].into_iter().chain(args.clone()).collect(),
            Node::Pow(b, _) => vec![b.clone()],
            Node::Mul(fs) => fs
                .iter()
                .map(|f| match f.node() {
                    Node::Pow(b, _) => b.clone(),
                    _ => f.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        for c in candidates {
            if c.as_num().is_none() && !out.contains(&c) {
                out.push(c);
            }
        }
        stack.extend(x.node().children().cloned());
    }
}

/// Whether `e` raises `base` to a power (`base^n` with n ≠ 1, or 1/base) outside the
/// arguments of calls: the power the power rule acts on, not the z² inside tanh(z²).
fn raises(e: &Expr, base: &Expr, negative_only: bool) -> bool {
    let mut stack = vec![e.clone()];
    while let Some(x) = stack.pop() {
        match x.node() {
            Node::Pow(b, k) if b == base && (!negative_only || k.is_negative_num()) => {
                return true;
            }
            Node::Call(..) => {}
            n => stack.extend(n.children().cloned()),
        }
    }
    false
}

/// C/T = b^k for a base b of the differentiated function, of the truth or of the claim,
/// k ∈ {1, −1, 2, −2}: a wrong power if the claim raises b to a power, else a missing or an
/// extra factor.
fn factor_or_power(
    checker: &Checker,
    functions: &[Expr],
    truths: &[Option<&Expr>],
    claim: Option<&Expr>,
    t: &[f64],
    c: &[f64],
    values: &dyn Fn(&Expr) -> Option<Vec<f64>>,
) -> Option<Hint> {
    let mut bases = Vec::new();
    for e in truths
        .iter()
        .flatten()
        .copied()
        .chain(claim)
        .chain(functions)
    {
        bases_of(e, &mut bases);
    }
    for b in bases {
        let Ok(pb) = checker.prepare(&b) else {
            continue;
        };
        let Some(bv) = values(&pb.expr) else { continue };
        if bv.iter().any(|x| x.abs() < TINY) {
            continue;
        }
        // A missing factor before an extra one: for sign(u) = 1/sign(u) both fit.
        for k in [-1i64, 1, -2, 2] {
            let g: Vec<f64> = bv.iter().map(|b| b.powi(k as i32)).collect();
            if !fits(c, &times(t, &g)) {
                continue;
            }
            if claim.is_some_and(|cl| raises(cl, &b, false)) {
                return Some(Hint::PowerOff { base: b, k });
            }
            let negative_in_truth = truths.iter().flatten().any(|e| raises(e, &b, true));
            let factor = |k: i64| match k {
                1 => b.clone(),
                -1 => Expr::div(Expr::one(), b.clone()),
                _ => Expr::pow(b.clone(), Expr::int(k)),
            };
            return Some(if k < 0 || negative_in_truth {
                Hint::MissingFactor(factor(-k))
            } else {
                Hint::ExtraFactor(factor(k))
            });
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

/// Largest magnitude of a value a hint trusts: near a singularity (1/(1 − σ(z)) for large z)
/// f64 cancellation spoils the ratios.
const LARGE: f64 = 1e6;

/// Points inside the domain where every expression is defined and not near a singularity.
fn defined_points(checker: &Checker, exprs: &[&Expr], wanted: usize) -> Vec<Point> {
    let mut symbols: Vec<Symbol> = exprs.iter().flat_map(|e| e.free_symbols()).collect();
    symbols.sort();
    symbols.dedup();
    let mut rng = Rng::new(0x4817 ^ exprs.iter().fold(0, |h, e| h ^ e.hash_value()));
    let mut out = Vec::new();
    for _ in 0..wanted * 8 {
        if out.len() >= wanted {
            break;
        }
        let point: Point = symbols
            .iter()
            .map(|s| (s.clone(), checker.domain.sample_symbol(s, &mut rng)))
            .collect();
        if exprs
            .iter()
            .all(|e| checker.eval_at(e, &point).is_some_and(|v| v.abs() <= LARGE))
        {
            out.push(point);
        }
    }
    out
}
