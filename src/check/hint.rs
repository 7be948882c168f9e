//! Hints: when a claim is wrong, name the slip the way an instructor would.
//!
//! All tests are numeric, at points where every compared expression is defined and not near a
//! singularity: the claimed value C against the true value T, tested as products (C = r·T,
//! never C/T), and tried in this order, the most specific first:
//! - T = C · du/dz for an inner function u: a missing chain-rule factor (a constant du/dz only
//!   for an inner function of the function as written, through which alone it depends on z);
//! - C = r·T for a constant r: "the sign is flipped", or "off by a constant factor of 2" (r a
//!   small rational, or the number the claim as written multiplies by: 1.001·σ(z)·(1 − σ(z)));
//! - C equals the derivative with respect to another variable;
//! - C − T is a term the claim wrote, or T − C (C − T) a term of the raw derivative (of the
//!   previous line, for a step): an extra (dropped) term;
//! - all terms of the claim but one equal terms of the raw derivative: the slip of that term,
//!   found by the same tests ("in the term z*sigma(z): ...");
//! - C = b^k·T, k ∈ {−1, 1, −2, 2}, for a base b of the truth, the claim or the function: a wrong
//!   power when the claim, as written, has a factor b^n (or the truth b^n, n > 1), else a missing
//!   factor b^(−k) (k < 0, or the truth divides by b) or an extra factor b^k (never a sum that
//!   only the claim has: that is a slip inside it);
//! - otherwise the correct value: the derivative, or for a step the previous line's value.
//!
//! No hint is given when the points show no difference (a kink moved between two of them).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use num_bigint::BigInt;
use rustc_hash::FxHashMap;

use super::{Checker, PairShape, HINT_BASES};
use crate::assume::{Point, Rng};
use crate::diff::diff;
use crate::eval::{rational_to_f64, Tape, TapeScratch};
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
    /// One term of the claim (as written) is wrong, the others are right: its slip.
    InTerm {
        /// The wrong term of the claim.
        term: Expr,
        /// What is wrong with it.
        slip: Box<Hint>,
    },
    /// The claim holds only when this sum of entries is 1 (a one-hot or probability target),
    /// which the file does not assume.
    NeedsSumAssumption(Expr),
    /// The two sides have different free indices.
    FreeIndices {
        /// Free on the left side only.
        only_left: Vec<String>,
        /// Free on the right side only.
        only_right: Vec<String>,
    },
    /// The sides agree at the sample points but differ at a point where these steps switch
    /// (their argument is 0, so each is ½ there): H(u) against H(u)², say.
    AtStepSwitch(Vec<Expr>),
    /// The correct value (readable), when no slip fits.
    Expected(Expr),
}

/// Points used for a hint; claims with piecewise functions need more, because a slip that
/// fits on one side of a kink (a constant ratio outside the Huber threshold) need not fit on
/// the other.
const POINTS: usize = 12;
const POINTS_PIECEWISE: usize = 32;

/// Most values a [`Pool`] keeps (emptied when full).
const POOL_MEMO: usize = 1024;

/// Values this small say nothing about a ratio (σ(z)·(1 − σ(z)) underflows for large |z|).
const TINY: f64 = 1e-6;

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7 * 1f64.max(a.abs()).max(b.abs())
}

/// Whether a ≈ b at every point, and at least 3 points are informative (not both tiny).
/// Slips are tested as products (c ≈ r·t, t ≈ c·du/dz), never as quotients, so that points
/// where the true value underflows neither fail nor pass a test on their own.
#[cfg(test)]
fn fits(a: &[f64], b: &[f64]) -> bool {
    fits_pairs(a.iter().copied().zip(b.iter().copied()))
}

/// [`fits`] over (a, b) pairs, without collecting them.
fn fits_pairs(pairs: impl Iterator<Item = (f64, f64)>) -> bool {
    let mut informative = 0usize;
    for (a, b) in pairs {
        if !approx(a, b) {
            return false;
        }
        if a.abs().max(b.abs()) >= TINY {
            informative += 1;
        }
    }
    informative >= 3
}

/// Whether a ≈ b·g (see [`fits`]), skipping points where |g| is huge: there the value b was
/// computed by cancellation (1 − σ(z) for z = 30) and the product says nothing.
fn fits_times(a: &[f64], b: &[f64], g: &[f64]) -> bool {
    fits_times_by(a, b, g.iter().copied())
}

/// [`fits_times`] with the factors computed as they are needed (and not past a mismatch).
fn fits_times_by(a: &[f64], b: &[f64], g: impl Iterator<Item = f64>) -> bool {
    fits_pairs(
        a.iter()
            .zip(b)
            .zip(g)
            .filter(|(_, g)| g.abs() <= LARGE)
            .map(|((a, b), g)| (*a, b * g)),
    )
}

/// Whether the point (a, b, g) alone makes [`fits_times`] fail: a point it does not skip
/// where a ≉ b·g.
fn misfit_times(a: f64, b: f64, g: f64) -> bool {
    g.abs() <= LARGE && !approx(a, b * g)
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
    fits_times(c, t, &vec![r0; t.len()]).then_some(r0)
}

/// C = r·T for a constant r ≠ 1: "the sign is flipped" (r = −1), or "off by a constant
/// factor of r" when r is a small rational or the number the claim, as written, multiplies
/// by (the 1.001 of 1.001·σ(z)·(1 − σ(z)), which no small rational is).
fn ratio_slip(t: &[f64], c: &[f64], written: &Expr) -> Option<Hint> {
    let r = constant_ratio(t, c).filter(|r| !approx(*r, 1.0))?;
    if approx(r, -1.0) {
        return Some(Hint::SignFlipped);
    }
    small_rational(r)
        .or_else(|| {
            written_coefficient(written)
                .filter(|q| approx(rational_to_f64(q), r))
                .cloned()
        })
        .map(Hint::Factor)
}

/// The number a product, as written, multiplies by, if it has exactly one numeric factor.
fn written_coefficient(e: &Expr) -> Option<&Rational> {
    let Node::Mul(fs) = e.node() else {
        return None;
    };
    let mut numbers = fs.iter().filter_map(|f| f.as_num());
    match (numbers.next(), numbers.next()) {
        (Some(q), None) => Some(q),
        _ => None,
    }
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
/// find the variable and the inner functions of a derivative) and `written` the right side as
/// written (its terms and factors are named in the hint as the student wrote them).
pub fn find(
    checker: &Checker,
    original: &Expr,
    written: &Expr,
    truth: &Expr,
    claimed: &Expr,
    pair: &PairShape,
    _agreeing: &[Point],
) -> Option<Hint> {
    let wanted = if pair.piecewise {
        POINTS_PIECEWISE
    } else {
        POINTS
    };
    let basis = Basis::of(checker, original, truth);
    // The points of the hints about this left side, when the claim can use them (see
    // [`Pool`]); otherwise points drawn for this claim, as for any other.
    let own_memo = RefCell::new(Memo::default());
    let pooled = Some(basis.pool(checker, truth)).filter(|pool| {
        pool.wanted == wanted
            && pool.symbols == pair.symbols
            && (!pair.piecewise
                || pool.scales == pair.scales
                || switches_near(claimed, &pool.scales))
            && pool.points.len() >= 3
    });
    let mut at_points = None;
    if let Some(pool) = pooled {
        let values = Values::new(
            checker,
            &pool.points,
            (pool.symbols.clone(), pool.coordinates.clone()),
            Vec::new(),
            &pool.memo,
        );
        let usable = values
            .get(claimed)
            .is_some_and(|c| c.iter().all(|v| v.abs() <= LARGE));
        if usable {
            at_points = Some(values);
        }
    }
    let drawn;
    let values = match at_points {
        Some(v) => v,
        None => {
            drawn = defined_points(
                checker,
                &[truth, claimed],
                (pair.symbols.clone(), &pair.scales),
                wanted,
            );
            if drawn.points.len() < 3 {
                return None;
            }
            let known = drawn.known.clone();
            Values::new(
                checker,
                &drawn.points,
                (drawn.symbols.clone(), drawn.coordinates.clone()),
                known,
                &own_memo,
            )
        }
    };
    let values = &values;
    let t = values.get(truth)?;
    let c = values.get(claimed)?;
    // A hint explains a difference: points where the claim equals the truth everywhere (a
    // kink moved by ¼ and no point between) would make any relation "fit", even a factor 1.
    if t.iter().zip(c.iter()).all(|(t, c)| approx(*t, *c)) {
        return None;
    }
    // A missing chain-rule factor is the most specific explanation, even when the factor is
    // a constant (d/dz σ(3z) claimed as σ(3z)·(1 − σ(3z))).
    if let Some(h) = chain_factor(checker, &basis, &t, &c, values) {
        return Some(h);
    }
    // A constant ratio.
    if let Some(h) = ratio_slip(&t, &c, written) {
        return Some(h);
    }
    // Wrong variable.
    if let Some((_, var)) = &basis.diffed {
        let c0 = c.first().copied().unwrap_or_default();
        for (v, dv) in basis.other_variables(checker, original) {
            // The claim's value at the first point rules most variables out.
            if values.first(dv).is_none_or(|v0| !approx(v0, c0)) {
                continue;
            }
            if let Some(vals) = values.get(dv) {
                if vals.iter().zip(c.iter()).all(|(a, b)| approx(*a, *b))
                    && !vals.iter().zip(t.iter()).all(|(a, b)| approx(*a, *b))
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
    let raw = basis.raw(checker, original);
    if let Some(h) = dropped_term(
        checker,
        basis.truth_terms(checker, original, truth),
        written,
        (&t, &c),
        values,
    ) {
        return Some(h);
    }
    if let Some(h) = wrong_term(checker, &basis, raw.unwrap_or(original), written, values) {
        return Some(h);
    }
    let (shown_truth, truth_bases) = basis.truth_bases(checker, original, truth);
    if let Some(h) = factor_or_power(
        checker,
        &basis.functions,
        (&[raw, shown_truth.as_ref()], truth_bases),
        Some(written),
        &t,
        &c,
        values,
    ) {
        return Some(h);
    }
    // Otherwise the correct value: the derivative, or for a step the previous line's value.
    let expected = match original.node() {
        Node::Deriv(..) => raw?.clone(),
        _ => truth.clone(),
    };
    Some(Hint::Expected(checker.readable(&expected).ok()?))
}

/// Whether every constant in the arguments of `claimed`'s piecewise built-ins (where it may
/// switch, [`super::cases::switch_arguments`]) is one of `scales`, the constants the pool's
/// points are drawn near: a claim whose own constants stand elsewhere (a factor of 1.001, a
/// term 0.001 added) switches only where the pool's points look. A kink moved to z = −1/4
/// does not pass: it shows only near its own constant, so the claim draws points of its own.
fn switches_near(claimed: &Expr, scales: &[Rational]) -> bool {
    let arguments = super::cases::switch_arguments(&[claimed]);
    let arguments: Vec<&Expr> = arguments.iter().collect();
    super::all_constants(&arguments)
        .iter()
        .all(|c| scales.iter().any(|s| crate::expr::eq_rational(s, c)))
}

/// What the hints of the wrong claims about one left side share (an autograder checks several
/// claims about one derivative): the function differentiated, and each list of candidates
/// with its prepared forms, found the first time a hint asks for it (a hint that stops at the
/// chain rule never takes the raw derivative). Kept per checker: every part is a pure
/// function of the left side as written, its prepared form and the program (and `prepare`,
/// `readable` and `raw_derivative` are), so a kept part is the one a new hint would find.
pub(super) struct Basis {
    /// [`differentiated`] of the left side.
    diffed: Option<(Vec<Expr>, Symbol)>,
    /// The bodies differentiated and the left side itself (whose bases [`factor_or_power`]
    /// tries).
    functions: Vec<Expr>,
    /// See [`Basis::inners`].
    inners: OnceLock<Vec<Inner>>,
    /// See [`Basis::other_variables`].
    others: OnceLock<Vec<(Symbol, Expr)>>,
    /// See [`Basis::raw`].
    raw: OnceLock<Option<Expr>>,
    /// See [`Basis::truth_terms`].
    truth_terms: OnceLock<Option<Vec<(Expr, Expr)>>>,
    /// See [`Basis::truth_bases`].
    truth_bases: OnceLock<(Option<Expr>, Vec<Expr>)>,
    /// See [`Basis::pool`].
    pool: OnceLock<Pool>,
}

/// The points of the hints about one left side: drawn as [`defined_points`] draws a claim's,
/// but for the truth alone (its symbols, constants and number of points), where the truth is
/// defined. A claim whose two sides have the truth's symbols and number of points, which is
/// defined at every one of them and, when piecewise, has no constant the truth lacks where it
/// switches ([`switches_near`]: a kink moved to z = −1/4 shows only near its own constants),
/// is compared there; the values of every expression a hint asks about at these points are
/// kept, so the candidates found from the left side (its bases, terms, inner functions and
/// other variables) are evaluated once for all the claims about it. Any other claim draws
/// points of its own, as before.
pub(super) struct Pool {
    wanted: usize,
    symbols: Vec<Symbol>,
    /// The constants the points are drawn near (the truth's).
    scales: Vec<Rational>,
    points: Vec<Point>,
    coordinates: Vec<Vec<f64>>,
    memo: RefCell<Memo>,
}

/// An inner function u of the differentiated function, a candidate of [`chain_factor`].
struct Inner {
    inner: Expr,
    /// du/dz, prepared.
    du: Expr,
    /// The body it was found in.
    body: Expr,
    /// Found in the function as written (not in its definition).
    as_written: bool,
    /// Whether the body depends on z other than through u (asked only for a constant du/dz).
    elsewhere: OnceLock<bool>,
}

impl Basis {
    /// The basis of the hints about `original` (prepared: `truth`), kept per checker.
    fn of(checker: &Checker, original: &Expr, truth: &Expr) -> Rc<Basis> {
        let key = (original.clone(), truth.clone());
        if let Some(b) = checker.hint_bases.borrow().get(&key) {
            return b.clone();
        }
        let diffed = differentiated(checker, original);
        let functions = [
            diffed.as_ref().map(|d| d.0.as_slice()).unwrap_or(&[]),
            std::slice::from_ref(original),
        ]
        .concat();
        let basis = Rc::new(Basis {
            diffed,
            functions,
            inners: OnceLock::new(),
            others: OnceLock::new(),
            raw: OnceLock::new(),
            truth_terms: OnceLock::new(),
            truth_bases: OnceLock::new(),
            pool: OnceLock::new(),
        });
        let mut kept = checker.hint_bases.borrow_mut();
        if kept.len() >= HINT_BASES {
            kept.clear();
        }
        kept.insert(key, basis.clone());
        basis
    }

    /// The inner functions of the bodies differentiated, each once, outermost first, with
    /// their derivatives prepared (those that cannot be prepared are left out).
    fn inners(&self, checker: &Checker) -> &[Inner] {
        self.inners.get_or_init(|| {
            let Some((bodies, var)) = &self.diffed else {
                return Vec::new();
            };
            let mut tried: Vec<Expr> = Vec::new();
            let mut out = Vec::new();
            for (i, body) in bodies.iter().enumerate() {
                for inner in inner_functions(body, var) {
                    if tried.contains(&inner) {
                        continue;
                    }
                    tried.push(inner.clone());
                    let Ok(du) = checker.prepare(&Expr::deriv(inner.clone(), var.clone())) else {
                        continue;
                    };
                    out.push(Inner {
                        inner,
                        du: du.expr,
                        body: body.clone(),
                        as_written: i == 0,
                        elsewhere: OnceLock::new(),
                    });
                }
            }
            out
        })
    }

    /// For a derivative d/dz f: the other symbols v of the bodies (as written and prepared),
    /// sorted, with d/dv f prepared (those that cannot be prepared are left out).
    fn other_variables(&self, checker: &Checker, original: &Expr) -> &[(Symbol, Expr)] {
        self.others.get_or_init(|| {
            let (Node::Deriv(f, var), Some((bodies, _))) = (original.node(), &self.diffed) else {
                return Vec::new();
            };
            let mut others: Vec<Symbol> = Vec::new();
            for body in bodies {
                others.extend(body.free_symbols());
                // The prepared body's symbols are its shape's, found once per checker.
                if let Ok(p) = checker.prepare(body) {
                    others.extend(p.shape().symbols.iter().cloned());
                }
            }
            others.sort();
            others.dedup();
            others
                .into_iter()
                .filter(|v| v != var)
                .filter_map(|v| {
                    let dv = checker.prepare(&Expr::deriv(f.clone(), v.clone())).ok()?;
                    Some((v, dv.expr))
                })
                .collect()
        })
    }

    /// The raw derivative of a derivative claim's function, in the student's terms.
    fn raw(&self, checker: &Checker, original: &Expr) -> Option<&Expr> {
        self.raw
            .get_or_init(|| match original.node() {
                Node::Deriv(f, var) => checker.raw_derivative(f, var),
                _ => None,
            })
            .as_ref()
    }

    /// The true terms a claim can have dropped or added (see [`dropped_term`]), each with its
    /// prepared form (those that cannot be prepared are left out); `None` for a derivative
    /// whose raw derivative cannot be taken.
    fn truth_terms(
        &self,
        checker: &Checker,
        original: &Expr,
        truth: &Expr,
    ) -> Option<&[(Expr, Expr)]> {
        self.truth_terms
            .get_or_init(|| {
                let terms: Vec<Expr> = match original.node() {
                    Node::Deriv(..) => match self.raw(checker, original)?.node() {
                        Node::Add(ts) => ts.clone(),
                        _ => Vec::new(),
                    },
                    Node::Add(ts) => ts.clone(),
                    _ => match truth.node() {
                        Node::Add(ts) => ts.clone(),
                        _ => Vec::new(),
                    },
                };
                Some(prepared_terms(checker, terms))
            })
            .as_deref()
    }

    /// The [`Pool`] of points of the hints about this left side (`truth` prepared), drawn the
    /// first time a hint asks.
    fn pool(&self, checker: &Checker, truth: &Expr) -> &Pool {
        self.pool.get_or_init(|| {
            let mut symbols = truth.free_symbols();
            symbols.sort();
            symbols.dedup();
            let wanted = if truth.has_piecewise_call() {
                POINTS_PIECEWISE
            } else {
                POINTS
            };
            let mut scales = super::all_constants(&[truth]);
            scales.truncate(super::MAX_CONSTANTS);
            let drawn = defined_points(checker, &[truth], (symbols, &scales), wanted);
            Pool {
                wanted,
                scales,
                symbols: drawn.symbols,
                points: drawn.points,
                coordinates: drawn.coordinates,
                memo: RefCell::new(Memo {
                    values: drawn
                        .known
                        .into_iter()
                        .map(|(e, v)| (e, Some(v.into())))
                        .collect(),
                    firsts: FxHashMap::default(),
                }),
            }
        })
    }

    /// The truth in readable form, and the bases [`factor_or_power`] finds in the raw
    /// derivative and in it.
    fn truth_bases(
        &self,
        checker: &Checker,
        original: &Expr,
        truth: &Expr,
    ) -> (&Option<Expr>, &[Expr]) {
        let (shown, bases) = self.truth_bases.get_or_init(|| {
            let shown = checker.readable(truth).ok();
            let raw = self.raw(checker, original);
            let bases = bases_of_all(&[raw, shown.as_ref()]);
            (shown, bases)
        });
        (shown, bases)
    }
}

/// Each term with its prepared form, those that cannot be prepared left out.
fn prepared_terms(checker: &Checker, terms: Vec<Expr>) -> Vec<(Expr, Expr)> {
    terms
        .into_iter()
        .filter_map(|x| {
            let p = checker.prepare(&x).ok()?;
            Some((x, p.expr))
        })
        .collect()
}

/// [`bases_of`] (with arguments) of each expression in turn, into one list.
fn bases_of_all(exprs: &[Option<&Expr>]) -> Vec<Expr> {
    let mut bases = Vec::new();
    for e in exprs.iter().flatten().copied() {
        bases_of(e, &mut bases, true);
    }
    bases
}

/// One term of a sum is wrong and the others are right (a product-rule term of SiLU, GELU or
/// mish with its own slip): the slip of that term, named with the term as the claim wrote it.
/// The true terms are those of the raw derivative (or of the previous line, for a step); the
/// claim must have as many terms, all but one equal to a true term.
fn wrong_term(
    checker: &Checker,
    basis: &Basis,
    true_sum: &Expr,
    claimed: &Expr,
    values: &Values,
) -> Option<Hint> {
    let (Node::Add(true_terms), Node::Add(claim_terms)) = (true_sum.node(), claimed.node()) else {
        return None;
    };
    if true_terms.len() != claim_terms.len() || true_terms.len() > 8 {
        return None;
    }
    let term_values = |ts: &[Expr]| -> Option<Vec<Rc<[f64]>>> {
        ts.iter()
            .map(|x| checker.prepared_expr(x).ok().and_then(|p| values.get(&p)))
            .collect()
    };
    let tv = term_values(true_terms)?;
    let cv = term_values(claim_terms)?;
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| approx(*a, *b));
    let mut matched = vec![false; tv.len()];
    let mut wrong = Vec::new();
    for (j, c) in cv.iter().enumerate() {
        let free = matched
            .iter_mut()
            .zip(&tv)
            .find(|(m, t)| !**m && same(t, c));
        match free {
            Some((m, _)) => *m = true,
            None => wrong.push(j),
        }
    }
    let ([j], Some(i)) = (wrong.as_slice(), matched.iter().position(|m| !m)) else {
        return None;
    };
    let (t, c) = (tv.get(i)?, cv.get(*j)?);
    let (true_term, claim_term) = (true_terms.get(i)?, claim_terms.get(*j)?);
    let slip = chain_factor(checker, basis, t, c, values)
        .or_else(|| ratio_slip(t, c, claim_term))
        .or_else(|| {
            // The readable term only now: a chain factor or a ratio needs none.
            let shown_true = checker.readable(true_term).ok();
            let truths = [Some(true_term), shown_true.as_ref()];
            factor_or_power(
                checker,
                &basis.functions,
                (&truths, &bases_of_all(&truths)),
                Some(claim_term),
                t,
                c,
                values,
            )
        })
        .unwrap_or_else(|| {
            // The true term with its derivatives worked out (a step's previous line may still
            // have d/dz in it).
            let resolved = checker
                .prepare(true_term)
                .ok()
                .and_then(|p| checker.readable(&p.expr).ok());
            Hint::Expected(resolved.unwrap_or_else(|| true_term.clone()))
        });
    Some(Hint::InTerm {
        term: claim_term.clone(),
        slip: Box::new(slip),
    })
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
    basis: &Basis,
    t: &[f64],
    c: &[f64],
    values: &Values,
) -> Option<Hint> {
    let (_, var) = basis.diffed.as_ref()?;
    let (t0, c0) = (*t.first()?, *c.first()?);
    for cand in basis.inners(checker) {
        // A constant factor is blamed on an inner function only of the function as written
        // (σ(3z)), not of its definition (σ(z)·(σ(z) − 1) is a flipped sign, not the −1 of
        // the −z inside 1/(1 + exp(−z))).
        // T = C·du/dz fails at the first point for most u (see `Values::first`).
        if values
            .first(&cand.du)
            .is_none_or(|d0| misfit_times(t0, c0, d0))
        {
            continue;
        }
        let Some(dv) = values.get(&cand.du) else {
            continue;
        };
        if dv.iter().all(|x| approx(*x, 1.0)) {
            continue;
        }
        let constant = dv
            .iter()
            .all(|x| dv.first().is_some_and(|d0| approx(*x, *d0)));
        if constant
            && (!cand.as_written
                || *cand.elsewhere.get_or_init(|| {
                    replace(&cand.body, &cand.inner, &Expr::int(7)).contains_sym(var)
                }))
        {
            continue;
        }
        if fits_times(t, c, &dv) {
            let factor = diff(&cand.inner, var, &checker.diff_ctx())
                .ok()
                .and_then(|d| checker.readable(&d.expr).ok())
                .unwrap_or_else(|| cand.du.clone());
            return Some(Hint::MissingChainFactor {
                inner: cand.inner.clone(),
                factor,
            });
        }
    }
    None
}

/// Candidate bases of a factor slip in `e`: symbols, calls (and their arguments), bases of
/// powers and factors of products, outermost first, at most 24 from one expression.
fn bases_of(e: &Expr, out: &mut Vec<Expr>, with_args: bool) {
    let limit = out.len() + 24;
    // Each candidate in the order of the node's list, without building the list.
    let add = |out: &mut Vec<Expr>, c: &Expr| {
        if c.as_num().is_none() && !out.contains(c) {
            out.push(c.clone());
        }
    };
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if out.len() >= limit {
            return;
        }
        match x.node() {
            Node::Sym(_) => add(out, x),
            Node::Call(_, args) if with_args => {
                add(out, x);
                for a in args {
                    add(out, a);
                }
            }
            Node::Call(..) => add(out, x),
            Node::Pow(b, _) => add(out, b),
            Node::Mul(fs) => {
                for f in fs {
                    match f.node() {
                        Node::Pow(b, _) => add(out, b),
                        _ => add(out, f),
                    }
                }
            }
            _ => {}
        }
        stack.extend(x.node().children());
    }
}

/// Which exponents [`raises`] looks for.
#[derive(Clone, Copy)]
enum Exponent {
    Any,
    Negative,
    /// Numbers above 1 (the z² of 3·z² after the power rule).
    AbovePositive,
}

/// Whether `e` is a product with a factor `base^n` (n ≠ 1, or 1/base): the power the power
/// rule acts on. Not the z² inside tanh(z²), nor the 1/(1 − A) inside one term of a sum.
fn raises(e: &Expr, base: &Expr, which: Exponent) -> bool {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x.node() {
            Node::Pow(b, k) if b == base && exponent_is(k, which) => {
                return true;
            }
            // 1/b³ as written: (b³)^(−1).
            Node::Pow(b, k) if k.as_num().is_some() && matches!(b.node(), Node::Pow(..)) => {
                stack.push(b);
            }
            Node::Mul(fs) => stack.extend(fs),
            _ => {}
        }
    }
    false
}

fn exponent_is(k: &Expr, which: Exponent) -> bool {
    match which {
        Exponent::Any => true,
        Exponent::Negative => k.is_negative_num(),
        Exponent::AbovePositive => k
            .as_num()
            .is_some_and(|n| *n > Rational::from_integer(1.into())),
    }
}

/// C/T = b^k for a base b of the differentiated function, of the truth or of the claim,
/// k ∈ {1, −1, 2, −2}: a wrong power if the claim raises b to a power, else a missing or an
/// extra factor.
fn factor_or_power(
    checker: &Checker,
    functions: &[Expr],
    (truths, truth_bases): (&[Option<&Expr>], &[Expr]),
    claim: Option<&Expr>,
    t: &[f64],
    c: &[f64],
    values: &Values,
) -> Option<Hint> {
    // The bases of the truths (`bases_of_all(truths)`, kept for a claim's left side).
    let mut bases = truth_bases.to_vec();
    // A sum found only in the claim is never "an extra factor": (cosh² + sinh²)/cosh² is a
    // slip in the numerator, not an extra factor cosh² + sinh². It can be a missing one (the
    // 1 − A of σ' cut from (−y/A + (1 − y)/(1 − A))·A).
    let mut from_claim = Vec::new();
    if let Some(cl) = claim {
        bases_of(cl, &mut from_claim, true);
    }
    let mut claim_sums = Vec::new();
    for b in from_claim {
        if !bases.contains(&b) {
            if matches!(b.node(), Node::Add(_)) {
                claim_sums.push(b.clone());
            }
            bases.push(b);
        }
    }
    // Of the function itself, not the arguments of its calls: 1 + exp(z) inside softplus is
    // no factor of its derivative σ(z).
    for e in functions {
        bases_of(e, &mut bases, false);
    }
    let power_of = |b: &Expr| {
        claim.is_some_and(|cl| raises(cl, b, Exponent::Any))
            || truths
                .iter()
                .flatten()
                .any(|e| raises(e, b, Exponent::AbovePositive))
    };
    // A base that is 0 at the first point, or fits no power there, is skipped wherever the
    // order puts it, so it is ruled out before the order is found: the bases left keep their
    // order, and only they are asked whether the claim or the truth raises them.
    let (t0, c0) = (*t.first()?, *c.first()?);
    let mut left: Vec<(bool, Expr, Expr)> = bases
        .into_iter()
        .filter_map(|b| {
            let pb = checker.prepared_expr(&b).ok()?;
            let rejected = values.first(&pb).is_none_or(|b0| {
                b0 == 0.0
                    || [-1i32, 1, -2, 2]
                        .iter()
                        .all(|k| misfit_times(c0, t0, b0.powi(*k)))
            });
            (!rejected).then(|| (power_of(&b), b, pb))
        })
        .collect();
    // Bases raised to a power first: exp(−z)/(1 + exp(−z))³ has the wrong power of
    // 1 + exp(−z), though it is also σ(z) times the truth. (The sort is stable.)
    left.sort_by_key(|(raised, ..)| !raised);
    for (raised, b, pb) in left {
        let Some(bv) = values.get(&pb) else {
            continue;
        };
        if bv.contains(&0.0) {
            continue;
        }
        // A missing factor before an extra one: for sign(u) = 1/sign(u) both fit.
        for k in [-1i64, 1, -2, 2] {
            if !fits_times_by(c, t, bv.iter().map(|b| b.powi(k as i32))) {
                continue;
            }
            if raised {
                return Some(Hint::PowerOff { base: b, k });
            }
            let negative_in_truth = truths
                .iter()
                .flatten()
                .any(|e| raises(e, &b, Exponent::Negative));
            // The readable form when it prints shorter (it tidies the max rule's 1 − y·o − 1·0).
            let shown = checker
                .readable(&b)
                .ok()
                .filter(|r| r.to_string().len() < b.to_string().len())
                .unwrap_or_else(|| b.clone());
            let factor = |k: i64| match k {
                1 => shown.clone(),
                -1 => Expr::div(Expr::one(), shown.clone()),
                _ => Expr::pow(shown.clone(), Expr::int(k)),
            };
            if k < 0 || negative_in_truth {
                return Some(Hint::MissingFactor(factor(-k)));
            }
            if !claim_sums.contains(&b) {
                return Some(Hint::ExtraFactor(factor(k)));
            }
        }
    }
    None
}

/// true − claimed (or claimed − true) equals one term of the true value's derivative terms.
/// `truth_terms`: the terms of the raw derivative for a derivative claim, else of the
/// previous line, prepared (`None`: the raw derivative cannot be taken; no hint).
fn dropped_term(
    checker: &Checker,
    truth_terms: Option<&[(Expr, Expr)]>,
    written: &Expr,
    (t, c): (&[f64], &[f64]),
    values: &Values,
) -> Option<Hint> {
    let truth_terms = truth_terms?;
    // Terms as the student sees them: first the claim's own terms, as written, which can only
    // be extra (the + 2·y of 2·o − 2·y + 2·y, the constant of 2·z + 3 + 1); then the terms of
    // the raw derivative for a derivative claim, else of the previous line, which can be
    // dropped or extra.
    let claim_terms = match written.node() {
        Node::Add(ts) => ts.as_slice(),
        _ => &[],
    };
    // The claim's terms prepared one by one, as they are tried.
    let candidates = claim_terms
        .iter()
        .filter_map(|x| Some((x, checker.prepared_expr(x).ok()?, true)))
        .chain(truth_terms.iter().map(|(x, p)| (x, p.clone(), false)));
    let (t0, c0) = (*t.first()?, *c.first()?);
    for (term, prepared, from_claim) in candidates {
        // The gaps at the first point rule most terms out (see `Values::first`); ±1·x is
        // ±x exactly, as `gap` computes it.
        let rejected = values
            .first(&prepared)
            .is_none_or(|v0| (from_claim || !approx(-(c0 - t0), v0)) && !approx(c0 - t0, v0));
        if rejected {
            continue;
        }
        let Some(vals) = values.get(&prepared) else {
            continue;
        };
        if vals.iter().all(|v| approx(*v, 0.0)) {
            continue;
        }
        let shown = || {
            if from_claim {
                term.clone()
            } else {
                checker.readable(term).unwrap_or_else(|_| term.clone())
            }
        };
        let gap = |sign: f64| {
            vals.iter()
                .zip(t)
                .zip(c)
                .all(|((v, t), c)| approx(sign * (c - t), *v))
        };
        if !from_claim && gap(-1.0) {
            return Some(Hint::DroppedTerm(shown()));
        }
        if gap(1.0) {
            return Some(Hint::ExtraTerm(shown()));
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

/// Points inside the domain where every expression is defined and not near a singularity,
/// their symbols (every point lists them in this order), and the values of `exprs` there.
///
/// Candidates are drawn one after another as before, but evaluated in batches on one tape
/// (as many as are still wanted, so never more are drawn than one at a time would draw).
/// `exprs` are the claim's two sides (or a left side's truth alone, for a [`Pool`]), drawn in
/// `symbols` near the constants `scales`.
fn defined_points(
    checker: &Checker,
    exprs: &[&Expr],
    (symbols, scales): (Vec<Symbol>, &[Rational]),
    wanted: usize,
) -> HintPoints {
    let mut rng = Rng::new(0x4817 ^ exprs.iter().fold(0, |h, e| h ^ e.hash_value()));
    let owned: Vec<Expr> = exprs.iter().map(|e| (*e).clone()).collect();
    // One tape per expression, compiled once per checker (the sampler compiled the claim's
    // two sides with these inputs already, unless facts add symbols there).
    let tapes: Option<Vec<Arc<Tape>>> =
        exprs.iter().map(|e| checker.tape_of(e, &symbols)).collect();
    let mut out = Vec::new();
    let mut known: Vec<Vec<f64>> = vec![Vec::new(); exprs.len()];
    let mut coords: Vec<Vec<f64>> = vec![Vec::with_capacity(wanted); symbols.len()];
    let tries = wanted * 8;
    let mut drawn = 0usize;
    while drawn < tries && out.len() < wanted {
        let n = (wanted - out.len()).min(tries - drawn);
        drawn += n;
        let batch: Vec<Point> = (0..n)
            .map(|_| {
                symbols
                    .iter()
                    .map(|s| {
                        (
                            s.clone(),
                            checker.domain.sample_symbol_near(s, scales, &mut rng),
                        )
                    })
                    .collect()
            })
            .collect();
        // The points' coordinates in f64, one column per symbol (every point lists the
        // symbols in order): the tapes' inputs, and the hint's (`Values`).
        let inputs = coordinates(&batch, symbols.len());
        // One column of values per expression (a vector per point cost an allocation each).
        let columns = tapes
            .as_ref()
            .and_then(|t| {
                checker.with_scratch(|scratch| eval_columns(t, &inputs, batch.len(), scratch))
            })
            .unwrap_or_else(|| {
                exprs
                    .iter()
                    .map(|e| batch.iter().map(|p| checker.eval_at(e, p)).collect())
                    .collect()
            });
        let value = |col: &Vec<Option<f64>>, i: usize| col.get(i).copied().flatten();
        for (i, point) in batch.into_iter().enumerate() {
            let ok = columns
                .iter()
                .all(|col| value(col, i).is_some_and(|v| v.abs() <= LARGE));
            if ok {
                for (k, col) in known.iter_mut().zip(&columns) {
                    k.push(value(col, i).unwrap_or_default());
                }
                for (c, col) in coords.iter_mut().zip(&inputs) {
                    c.push(col.get(i).copied().unwrap_or(f64::NAN));
                }
                out.push(point);
            }
        }
    }
    HintPoints {
        points: out,
        coordinates: coords,
        symbols,
        known: owned.into_iter().zip(known).collect(),
    }
}

/// The points' coordinates in f64 (`rational_to_f64`, as [`Checker::eval_at`] converts them),
/// one column per symbol, for points that list `n_symbols` symbols in one order.
fn coordinates(points: &[Point], n_symbols: usize) -> Vec<Vec<f64>> {
    (0..n_symbols)
        .map(|k| {
            points
                .iter()
                .map(|p| p.get(k).map_or(f64::NAN, |(_, v)| rational_to_f64(v)))
                .collect()
        })
        .collect()
}

/// The points of a hint (see [`defined_points`]).
struct HintPoints {
    points: Vec<Point>,
    /// The points' coordinates in f64, one column per symbol.
    coordinates: Vec<Vec<f64>>,
    /// The symbols every point lists, in its order.
    symbols: Vec<Symbol>,
    /// The values of the expressions the points were chosen for.
    known: Vec<(Expr, Vec<f64>)>,
}

/// The values of the tapes' outputs, one after another, each at every point, `None` where
/// one is not finite (what [`Checker::eval_at`] gives, bit for bit); `None` when a tape
/// cannot run. The tapes have the same inputs.
fn eval_columns(
    tapes: &[Arc<Tape>],
    columns: &[Vec<f64>],
    n_points: usize,
    scratch: &mut TapeScratch,
) -> Option<Vec<Vec<Option<f64>>>> {
    let n_inputs = tapes.first()?.inputs().len();
    if tapes.iter().any(|t| t.inputs().len() != n_inputs) || columns.len() != n_inputs {
        return None;
    }
    let cols: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let mut outputs = Vec::new();
    for tape in tapes {
        let mut out = vec![Vec::new(); tape.n_outputs()];
        tape.eval(&cols, &mut out, scratch).ok()?;
        outputs.extend(out);
    }
    // A tape without inputs evaluates one row, the value at every point.
    let at = |vs: &Vec<f64>, i: usize| {
        vs.get(i)
            .or_else(|| vs.first().filter(|_| n_inputs == 0))
            .copied()
            .filter(|v| v.is_finite())
    };
    Some(
        outputs
            .iter()
            .map(|o| (0..n_points).map(|i| at(o, i)).collect())
            .collect(),
    )
}

/// The values of expressions at the hint's points, each expression compiled and evaluated
/// once (the tests of a hint ask for the same bases and terms again and again).
struct Values<'c, 'k, 'p> {
    checker: &'c Checker<'k>,
    points: &'p [Point],
    symbols: Vec<Symbol>,
    /// The points' coordinates in f64, one column per symbol (the tapes' inputs).
    columns: Vec<Vec<f64>>,
    /// The values found so far: this hint's, or those of every hint on the points of a
    /// [`Pool`] (each a pure function of the expression and the points).
    memo: &'p RefCell<Memo>,
}

/// What [`Values`] found: each expression's values at the points, and its value at the first
/// point where only that was asked (each a pure function of the expression and the points).
#[derive(Default)]
struct Memo {
    values: FxHashMap<Expr, Option<Rc<[f64]>>>,
    firsts: FxHashMap<Expr, Option<f64>>,
}

impl<'c, 'k, 'p> Values<'c, 'k, 'p> {
    /// `columns`: the points' [`coordinates`]; `known`: values already computed, put in
    /// `memo`.
    fn new(
        checker: &'c Checker<'k>,
        points: &'p [Point],
        (symbols, columns): (Vec<Symbol>, Vec<Vec<f64>>),
        known: Vec<(Expr, Vec<f64>)>,
        memo: &'p RefCell<Memo>,
    ) -> Self {
        {
            let mut m = memo.borrow_mut();
            // Bounded: a pool's memo serves every hint about its left side.
            if m.values.len() >= POOL_MEMO {
                m.values.clear();
            }
            if m.firsts.len() >= POOL_MEMO {
                m.firsts.clear();
            }
            m.values
                .extend(known.into_iter().map(|(e, v)| (e, Some(v.into()))));
        }
        // Every point lists the symbols in order (`defined_points`); a point that does not
        // leaves no columns, and each value is then computed point by point.
        let columns = if points.iter().all(|p| p.len() == symbols.len())
            && columns.len() == symbols.len()
            && columns.iter().all(|c| c.len() == points.len())
        {
            columns
        } else {
            Vec::new()
        };
        Values {
            checker,
            points,
            symbols,
            columns,
            memo,
        }
    }

    /// The tape's first output at every point (`None` inside where one is not finite), as
    /// [`eval_columns`] gives it, from the columns computed once; `None` when it cannot run.
    fn eval_tape(&self, tape: &Tape) -> Option<Option<Vec<f64>>> {
        let n_inputs = tape.inputs().len();
        if n_inputs != self.symbols.len() || self.columns.len() != n_inputs {
            return None;
        }
        let cols: Vec<&[f64]> = self.columns.iter().map(Vec::as_slice).collect();
        let mut outputs = vec![Vec::new(); tape.n_outputs()];
        self.checker
            .with_scratch(|scratch| tape.eval(&cols, &mut outputs, scratch))
            .ok()?;
        let Some(out) = outputs.into_iter().next() else {
            return Some(if self.points.is_empty() {
                Some(Vec::new())
            } else {
                None
            });
        };
        // With inputs the output has a value per point (the columns are the points'): the
        // values themselves, unless one is not finite.
        if n_inputs > 0 && out.len() == self.points.len() {
            return Some(out.iter().all(|v| v.is_finite()).then_some(out));
        }
        // A tape without inputs evaluates one row, the value at every point.
        let at = |i: usize| {
            out.get(i)
                .or_else(|| out.first().filter(|_| n_inputs == 0))
                .copied()
                .filter(|v| v.is_finite())
        };
        Some((0..self.points.len()).map(at).collect())
    }

    /// The value of `e` at the first point, as [`Values::get`] has it there; `None` where it
    /// is undefined or not finite, and then `get` gives `None`. From the memo when `e` was
    /// evaluated, else by [`Checker::eval_at`], which gives a tape's value bit for bit: most
    /// candidates of a hint fail their test at the first point, and then need no tape.
    fn first(&self, e: &Expr) -> Option<f64> {
        {
            let memo = self.memo.borrow();
            if let Some(v) = memo.values.get(e) {
                return v.as_ref().and_then(|v| v.first().copied());
            }
            if let Some(v) = memo.firsts.get(e) {
                return *v;
            }
        }
        let v = self.checker.eval_at(e, self.points.first()?);
        self.memo.borrow_mut().firsts.insert(e.clone(), v);
        v
    }

    /// The value of `e` at every point, or `None` if it is undefined at one of them (shared
    /// with the memo: the tests of a hint read the same values again and again).
    fn get(&self, e: &Expr) -> Option<Rc<[f64]>> {
        if let Some(v) = self.memo.borrow().values.get(e) {
            return v.clone();
        }
        let tape = self.checker.tape_of(e, &self.symbols);
        let v: Option<Rc<[f64]>> = match tape.as_deref().and_then(|t| self.eval_tape(t)) {
            Some(v) => v.map(Rc::from),
            None => self
                .points
                .iter()
                .map(|p| self.checker.eval_at(e, p))
                .collect(),
        };
        self.memo.borrow_mut().values.insert(e.clone(), v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{parse_in, program_of};

    #[test]
    fn a_ratio_test_ignores_points_where_both_sides_underflow() {
        // σ'(z) and 2·σ'(z) at z = 0, 1, 2, 40: at 40 both are below 1e-17.
        let s = |z: f64| {
            let e = 1.0 / (1.0 + (-z).exp());
            e * (1.0 - e)
        };
        let t: Vec<f64> = [0.0, 1.0, 2.0, 40.0].iter().map(|z| s(*z)).collect();
        let c: Vec<f64> = t.iter().map(|x| 2.0 * x).collect();
        assert_eq!(constant_ratio(&t, &c), Some(2.0));
        // Where the truth vanishes but the claim does not, no ratio fits.
        let mut c2 = c.clone();
        if let Some(last) = c2.last_mut() {
            *last = 0.5;
        }
        assert_eq!(constant_ratio(&t, &c2), None);
    }

    #[test]
    fn a_fit_needs_three_informative_points() {
        assert!(!fits(&[0.0, 0.0, 1.0], &[0.0, 0.0, 1.0]));
        assert!(fits(&[0.5, 0.25, 1.0], &[0.5, 0.25, 1.0]));
        // A huge multiplier is skipped, not trusted.
        assert!(fits_times(
            &[1.0, 2.0, 3.0, 1.0],
            &[1.0, 2.0, 3.0, 1e-14],
            &[1.0, 1.0, 1.0, 7e13]
        ));
    }

    /// A program with f(x) = x·σ(x), whose derivative the hint tests claim.
    fn silu_program() -> crate::program::Program {
        program_of("let f(x) = x*sigmoid(x)\n")
    }

    #[test]
    fn a_kept_basis_gives_the_hints_a_fresh_checker_gives() {
        let program = silu_program();
        let config = crate::check::CheckConfig::default();
        let parse = |t: &str| parse_in(&program, t);
        let lhs = parse("d/dz f(z)");
        // A sign, a dropped term, a slip in one term and no slip at all, about one derivative.
        let claims = [
            "-(sigmoid(z) + z*sigmoid(z)*(1 - sigmoid(z)))",
            "sigmoid(z)",
            "sigmoid(z) + 2*z*sigmoid(z)*(1 - sigmoid(z))",
            "1.001*(sigmoid(z) + z*sigmoid(z)*(1 - sigmoid(z)))",
        ];
        let kept = Checker::new(&program, &config);
        for claim in claims {
            let rhs = parse(claim);
            let fresh = Checker::new(&program, &config).check_equal(&lhs, &rhs).hint;
            assert!(fresh.is_some(), "{claim}: no hint");
            assert_eq!(kept.check_equal(&lhs, &rhs).hint, fresh, "{claim}");
        }
        assert_eq!(kept.hint_bases.borrow().len(), 1);
    }

    /// Checks `d/dz f(z) = claim` for each claim with one checker of `program`, and asserts
    /// whether its hint compared it at the pool's points (`wanted` of them).
    fn assert_pooled(program: &crate::program::Program, wanted: usize, claims: &[(&str, bool)]) {
        let config = crate::check::CheckConfig::default();
        let parse = |t: &str| parse_in(program, t);
        let lhs = parse("d/dz f(z)");
        let checker = Checker::new(program, &config);
        for &(claim, pooled) in claims {
            let rhs = parse(claim);
            let outcome = checker.check_equal(&lhs, &rhs);
            assert!(outcome.hint.is_some(), "{claim}: no hint");
            let Ok(prepared) = checker.prepare(&rhs) else {
                panic!("{claim}: not prepared")
            };
            let bases = checker.hint_bases.borrow();
            let Some(basis) = bases.values().next() else {
                panic!("{claim}: no basis")
            };
            let Some(pool) = basis.pool.get() else {
                panic!("{claim}: no pool")
            };
            assert_eq!(pool.points.len(), wanted, "{claim}");
            let memo = pool.memo.borrow();
            // Compared there, the claim's hint tried candidates at the pool's first point.
            if pooled {
                assert!(!memo.firsts.is_empty(), "{claim}: no candidate tried");
            }
            // A claim compared elsewhere leaves no values in the pool's memo, except where
            // it is undefined at one of its points (its values there are `None`).
            let kept = memo.values.get(&prepared.expr);
            assert_eq!(kept.is_some_and(Option::is_some), pooled, "{claim}");
        }
    }

    #[test]
    fn a_claim_defined_at_the_pool_points_is_compared_there_and_any_other_at_its_own() {
        // (claim, compared at the pool's points): the second is undefined where z ≤ 0, the
        // third has a symbol the truth has not.
        assert_pooled(
            &silu_program(),
            POINTS,
            &[
                ("sigmoid(z)", true),
                ("2*(sigmoid(z) + z*sigmoid(z)*(1 - sigmoid(z)))", true),
                ("sigmoid(z) + log(z)", false),
                ("sigmoid(z) + w", false),
            ],
        );
    }

    #[test]
    fn a_piecewise_claim_is_compared_at_the_pool_points_when_it_switches_where_they_look() {
        // d/dz relu(z − 1/3) = H(z − 1/3): the pool's points are drawn near 1/3. Constants
        // outside the arguments of the claim's piecewise calls (a factor, a term) do not move
        // where it switches, nor does max(z, 1/3), which switches at 1/3 too; a kink moved to
        // −1/4, 1/4 or 1/3 + 1/5, or a second one at 7, shows only near the claim's own
        // constants.
        let program = program_of("let f(x) = relu(x - 1/3)\n");
        assert_pooled(
            &program,
            POINTS_PIECEWISE,
            &[
                ("1001/1000*heaviside(z - 1/3)", true),
                ("heaviside(z - 1/3) + 1/1000", true),
                ("5*heaviside(z - 1/3)", true),
                ("heaviside(z + 1/4)", false),
                ("heaviside(z - 1/3 - 1/5)", false),
                ("heaviside(z - 1/3)*heaviside(7 - z)", false),
                ("max(z, 1/3) - z", true),
                ("max(z, 1/4) - z", false),
            ],
        );
    }

    #[test]
    fn the_first_value_is_the_first_of_the_values() {
        let program = crate::program::Program::default();
        let config = crate::check::CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let z = Symbol::new("z");
        let points: Vec<Point> = [(3, 7), (-5, 2), (1, 1)]
            .iter()
            .map(|(n, d)| vec![(z.clone(), Rational::new((*n).into(), (*d).into()))])
            .collect();
        let columns = coordinates(&points, 1);
        let memo = RefCell::new(Memo::default());
        let values = Values::new(
            &checker,
            &points,
            (vec![z.clone()], columns),
            Vec::new(),
            &memo,
        );
        for text in [
            "sigmoid(z)*(1 - sigmoid(z))",
            "exp(-z^2/2)/sqrt(2*pi)",
            "1/3",
            "log(z)",
        ] {
            let e = parse(text);
            // Before the values are memoised (evaluated at the point) and after (read).
            let before = values.first(&e);
            let all = values.get(&e);
            let after = values.first(&e);
            match all {
                Some(v) => {
                    let first = v.first().map(|x| x.to_bits());
                    assert_eq!(first, before.map(f64::to_bits), "{text}");
                    assert_eq!(first, after.map(f64::to_bits), "{text}");
                }
                // log(z) is undefined at z = −5/2, not at 3/7; once that is known, the first
                // value says so too (the candidate is skipped either way).
                None => assert!(text == "log(z)" && before.is_some() && after.is_none()),
            }
        }
        assert_eq!(values.first(&parse("log(z - 1)")), None);
    }

    #[test]
    fn a_point_misfits_where_it_is_not_skipped() {
        assert!(misfit_times(1.0, 1.0, 2.0));
        assert!(!misfit_times(2.0, 1.0, 2.0));
        // A huge factor is skipped by `fits_times`, so it rules nothing out.
        assert!(!misfit_times(1.0, 1e-14, 7e13));
        assert!(!misfit_times(1.0, 1.0, f64::NAN));
    }

    #[test]
    fn small_rationals_are_recognised() {
        assert_eq!(
            small_rational(0.5),
            Some(Rational::new(BigInt::from(1), BigInt::from(2)))
        );
        assert_eq!(small_rational(std::f64::consts::SQRT_2), None);
    }
}
