//! Domain facts from `assume` lines, and samplers of points inside the domain.
//!
//! A `Domain` keeps, per free symbol, the bounds and sets the file states (`0 < A < 1`,
//! `y ∈ {0, 1}`, `n ∈ ℕ`), and every fact as a predicate to re-check after sampling (facts about
//! expressions such as `0 < 1 − x` or about named quantities). Sampling draws short rationals
//! (1/2, 3/4, −5/3, …) so counterexamples are readable, from a seeded generator so reports are
//! reproducible.
//!
//! Deliberately not here: deciding whether a fact is consistent, or using facts to simplify
//! (`canon` asks for positivity by name).

use num_bigint::BigInt;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rustc_hash::FxHashMap;

use crate::expr::{Expr, Node, Rational, Symbol};
use crate::program::{Fact, NumberSet, Program, Rel};
use crate::source::Span;

/// What is known about one symbol.
#[derive(Debug, Clone, Default)]
pub struct SymbolDomain {
    /// Lower bound and whether it is strict.
    pub lo: Option<(Rational, bool)>,
    /// Upper bound and whether it is strict.
    pub hi: Option<(Rational, bool)>,
    /// A finite set of allowed values.
    pub set: Option<Vec<Rational>>,
    /// Integer-valued.
    pub integer: bool,
}

/// One fact, kept for re-checking at sampled points and for citing in reports.
#[derive(Debug, Clone)]
pub struct StatedFact {
    /// The fact.
    pub fact: Fact,
    /// Where it was stated.
    pub span: Span,
    /// Symbols it mentions.
    pub symbols: Vec<Symbol>,
}

/// All domain knowledge of a file.
#[derive(Debug, Clone, Default)]
pub struct Domain {
    /// Per-symbol bounds and sets.
    pub symbols: FxHashMap<Symbol, SymbolDomain>,
    /// Every fact, in source order.
    pub facts: Vec<StatedFact>,
}

fn rat(n: i64, d: i64) -> Rational {
    reduced(i128::from(n), i128::from(d))
        .unwrap_or_else(|| Rational::new(BigInt::from(n), BigInt::from(d)))
}

/// n/d in lowest terms with a positive denominator: the value `Rational::new` builds, with
/// the gcd taken on machine integers (`None` for d = 0). Drawing points is on the checker's
/// hot path, and a gcd of big integers costs more than the rest of a coordinate.
pub(crate) fn reduced(n: i128, d: i128) -> Option<Rational> {
    if d == 0 {
        return None;
    }
    let negative = (n < 0) != (d < 0) && n != 0;
    let (n_abs, d_abs) = (n.unsigned_abs(), d.unsigned_abs());
    // Most coordinates fit in 64 bits, where the gcd's remainders are single machine
    // divisions rather than calls of the 128-bit division routine: the same gcd.
    let (n_mag, d_mag) = match (u64::try_from(n_abs), u64::try_from(d_abs)) {
        (Ok(n64), Ok(d64)) => {
            let (mut a, mut b) = (n64, d64);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            // a ≥ 1: d ≠ 0.
            (BigInt::from(n64 / a), BigInt::from(d64 / a))
        }
        _ => {
            let (mut a, mut b) = (n_abs, d_abs);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            // a ≥ 1: d ≠ 0. Dividing magnitudes keeps them representable (i128::MIN has
            // none).
            (BigInt::from(n_abs / a), BigInt::from(d_abs / a))
        }
    };
    let num = if negative { -n_mag } else { n_mag };
    Some(Rational::new_raw(num, d_mag))
}

/// A rational with numerator and denominator in i64, as an exact pair.
fn small(r: &Rational) -> Option<(i128, i128)> {
    Some((
        i128::from(r.numer().to_i64()?),
        i128::from(r.denom().to_i64()?),
    ))
}

/// a/b + sign·(c/d) on machine integers, reduced; `None` on overflow (the caller then uses
/// big rationals: the same value).
fn add_small((a, b): (i128, i128), (c, d): (i128, i128), sign: i128) -> Option<Rational> {
    let n = a
        .checked_mul(d)?
        .checked_add(sign.checked_mul(c)?.checked_mul(b)?)?;
    reduced(n, b.checked_mul(d)?)
}

impl Domain {
    /// The domain stated by the program's `assume` lines.
    pub fn from_program(p: &Program) -> Domain {
        let mut d = Domain::default();
        for a in p.assumptions() {
            d.add(&a.fact, a.span);
        }
        d
    }

    /// Adds one fact.
    pub fn add(&mut self, fact: &Fact, span: Span) {
        let mut symbols = Vec::new();
        match fact {
            Fact::Compare(exprs, rels) => {
                for e in exprs {
                    symbols.extend(e.free_symbols());
                }
                for (i, rel) in rels.iter().enumerate() {
                    let (Some(a), Some(b)) = (exprs.get(i), exprs.get(i + 1)) else {
                        continue;
                    };
                    self.bound(a, *rel, b);
                }
            }
            Fact::Member(e, set) => {
                symbols.extend(e.free_symbols());
                if let Some(s) = e.as_sym() {
                    let entry = self.symbols.entry(s.clone()).or_default();
                    match set {
                        NumberSet::Reals => {}
                        NumberSet::Integers => entry.integer = true,
                        NumberSet::Naturals => {
                            entry.integer = true;
                            tighten_lo(entry, Rational::one(), false);
                        }
                        NumberSet::Finite(values) => {
                            let vals: Vec<Rational> =
                                values.iter().filter_map(|v| v.as_num().cloned()).collect();
                            if vals.len() == values.len() && !vals.is_empty() {
                                entry.set = Some(vals);
                            }
                        }
                    }
                }
            }
        }
        symbols.sort();
        symbols.dedup();
        self.facts.push(StatedFact {
            fact: fact.clone(),
            span,
            symbols,
        });
    }

    fn bound(&mut self, a: &Expr, rel: Rel, b: &Expr) {
        // Only `symbol rel number` and `number rel symbol` become bounds; everything else is
        // checked by rejection after sampling.
        match (a.as_sym(), b.as_num(), a.as_num(), b.as_sym()) {
            (Some(s), Some(n), _, _) => {
                let e = self.symbols.entry(s.clone()).or_default();
                match rel {
                    Rel::Lt => tighten_hi(e, n.clone(), true),
                    Rel::Le => tighten_hi(e, n.clone(), false),
                    Rel::Gt => tighten_lo(e, n.clone(), true),
                    Rel::Ge => tighten_lo(e, n.clone(), false),
                    Rel::Eq => e.set = Some(vec![n.clone()]),
                }
            }
            (_, _, Some(n), Some(s)) => {
                let e = self.symbols.entry(s.clone()).or_default();
                match rel {
                    Rel::Lt => tighten_lo(e, n.clone(), true),
                    Rel::Le => tighten_lo(e, n.clone(), false),
                    Rel::Gt => tighten_hi(e, n.clone(), true),
                    Rel::Ge => tighten_hi(e, n.clone(), false),
                    Rel::Eq => e.set = Some(vec![n.clone()]),
                }
            }
            _ => {}
        }
    }

    /// Facts that mention any of `symbols` (to cite in a verdict that sampled them).
    pub fn facts_about<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> impl Iterator<Item = &'a StatedFact> {
        self.facts
            .iter()
            .filter(move |f| f.symbols.iter().any(|s| symbols.contains(s)))
    }

    /// Whether a symbol is known to be positive (used by `canon` for log rules).
    pub fn is_positive(&self, s: &Symbol) -> bool {
        self.symbols.get(s).is_some_and(|d| {
            d.lo.as_ref()
                .is_some_and(|(lo, strict)| lo.is_positive() || (lo.is_zero() && *strict))
                || d.set
                    .as_ref()
                    .is_some_and(|v| v.iter().all(Signed::is_positive))
        })
    }
}

fn tighten_lo(d: &mut SymbolDomain, v: Rational, strict: bool) {
    let replace = match &d.lo {
        None => true,
        Some((old, old_strict)) => v > *old || (v == *old && strict && !old_strict),
    };
    if replace {
        d.lo = Some((v, strict));
    }
}

fn tighten_hi(d: &mut SymbolDomain, v: Rational, strict: bool) {
    let replace = match &d.hi {
        None => true,
        Some((old, old_strict)) => v < *old || (v == *old && strict && !old_strict),
    };
    if replace {
        d.hi = Some((v, strict));
    }
}

/// A small deterministic generator (SplitMix64): reports must be reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; 0 gives 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }
}

/// Short positive rationals, roughly in order of how readable they are. None is an integer
/// below 2, so common kinks (0, ±1) are never sampled.
const NICE: &[(i64, i64)] = &[
    (1, 2),
    (3, 2),
    (1, 3),
    (2, 3),
    (3, 4),
    (5, 4),
    (5, 2),
    (2, 1),
    (1, 4),
    (4, 3),
    (5, 3),
    (7, 4),
    (3, 1),
    (2, 5),
    (3, 5),
    (7, 5),
    (9, 4),
    (7, 3),
    (5, 6),
    (7, 6),
    (11, 4),
    (1, 5),
    (4, 5),
    (6, 5),
    (9, 5),
    (13, 6),
    (8, 3),
    (7, 8),
    (11, 8),
    (13, 8),
];

/// One sampled point: a value for each symbol.
pub type Point = Vec<(Symbol, Rational)>;

impl Domain {
    /// A value for `s` inside its stated domain. `scales` are magnitudes that occur in the
    /// expressions being compared (constants such as the 6 of hard-sigmoid): unbounded
    /// symbols are sometimes drawn near them, so kinks and features far from 0 are reached.
    pub fn sample_symbol_near(&self, s: &Symbol, scales: &[Rational], rng: &mut Rng) -> Rational {
        // Looked up once for both (drawing points is on the checker's hot path).
        let d = self.symbols.get(s).unwrap_or(&UNBOUNDED);
        let bounded = d.set.is_some() || d.integer || d.lo.is_some() || d.hi.is_some();
        if !bounded && !scales.is_empty() && rng.below(3) == 0 {
            if let Some(c) = scales.get(rng.below(scales.len())) {
                let t = NICE
                    .get(rng.below(8))
                    .map(|&(n, q)| rat(n, q))
                    .unwrap_or_else(|| rat(1, 2));
                // c ± t, or −c ± t: both sides of the constant.
                let negate = rng.below(2) != 0;
                let plus = rng.below(2) == 0;
                let fast = small(c).zip(small(&t)).and_then(|((cn, cd), tt)| {
                    let base = if negate { (-cn, cd) } else { (cn, cd) };
                    add_small(base, tt, if plus { 1 } else { -1 })
                });
                if let Some(v) = fast {
                    return v;
                }
                let base = if negate { -c.clone() } else { c.clone() };
                return if plus { base + t } else { base - t };
            }
        }
        sample_in(d, rng)
    }

    /// A value for `s` inside its stated domain.
    pub fn sample_symbol(&self, s: &Symbol, rng: &mut Rng) -> Rational {
        sample_in(self.symbols.get(s).unwrap_or(&UNBOUNDED), rng)
    }
}

/// What is known about a symbol without stated facts: nothing.
static UNBOUNDED: SymbolDomain = SymbolDomain {
    lo: None,
    hi: None,
    set: None,
    integer: false,
};

/// A value inside the domain `d` (see [`Domain::sample_symbol`]).
fn sample_in(d: &SymbolDomain, rng: &mut Rng) -> Rational {
    if let Some(set) = &d.set {
        if let Some(v) = set.get(rng.below(set.len())) {
            return v.clone();
        }
    }
    if d.integer {
        let lo =
            d.lo.as_ref()
                .map(|(v, strict)| {
                    let f = v.floor();
                    if *strict || f < *v {
                        f + Rational::one()
                    } else {
                        f
                    }
                })
                .unwrap_or_else(|| rat(-3, 1));
        let span =
            d.hi.as_ref()
                .map(|(h, _)| (h - &lo).to_integer().to_i64().unwrap_or(5).clamp(0, 5))
                .unwrap_or(5);
        return lo + rat(rng.below(span as usize + 1) as i64, 1);
    }
    // The pair first, the rational once (in the same order of draws as always, so the
    // points and the reports do not change): each rational costs a gcd, and drawing
    // points is on the checker's hot path.
    let (nice_n, nice_q) = NICE.get(rng.below(NICE.len())).copied().unwrap_or((1, 2));
    let nice = || rat(nice_n, nice_q);
    match (&d.lo, &d.hi) {
        (Some((lo, _)), Some((hi, _))) => {
            // A point strictly inside, at a short fraction of the interval.
            // Chosen among the pairs before any rational is built: drawing a point is
            // on the checker's hot path, and each rational costs a gcd.
            let (n, q) = NICE
                .iter()
                .copied()
                .filter(|&(n, q)| n > 0 && n < q)
                .nth(rng.below(12))
                .unwrap_or((1, 2));
            // lo + (hi − lo)·n/q = (a·d·q + (c·b − a·d)·n) / (b·d·q) for lo = a/b, hi = c/d.
            let fast = small(lo).zip(small(hi)).and_then(|((a, b), (c, d))| {
                let (n, q) = (i128::from(n), i128::from(q));
                let ad = a.checked_mul(d)?;
                let num = ad
                    .checked_mul(q)?
                    .checked_add(c.checked_mul(b)?.checked_sub(ad)?.checked_mul(n)?)?;
                reduced(num, b.checked_mul(d)?.checked_mul(q)?)
            });
            if let Some(v) = fast {
                return v;
            }
            let t = rat(n, q);
            lo + (hi - lo) * t
        }
        (Some((lo, _)), None) => lo + nice(),
        (None, Some((hi, _))) => hi - nice(),
        (None, None) => {
            // Mostly short values near 0; sometimes larger ones.
            let scale = match rng.below(8) {
                0 => 4,
                1 => 16,
                _ => 1,
            };
            let sign = if rng.below(2) == 0 { -1 } else { 1 };
            rat(sign * scale * nice_n, nice_q)
        }
    }
}

impl Domain {
    /// Whether every stated fact holds at a point, given an evaluator for expressions there
    /// (`None` from the evaluator — undefined — counts as violated).
    pub fn holds(&self, eval: &mut dyn FnMut(&Expr) -> Option<f64>) -> bool {
        self.facts.iter().all(|f| match &f.fact {
            Fact::Compare(exprs, rels) => rels.iter().enumerate().all(|(i, rel)| {
                let (Some(a), Some(b)) = (exprs.get(i), exprs.get(i + 1)) else {
                    return true;
                };
                match (eval(a), eval(b)) {
                    (Some(x), Some(y)) => match rel {
                        Rel::Lt => x < y,
                        Rel::Le => x <= y,
                        Rel::Gt => x > y,
                        Rel::Ge => x >= y,
                        Rel::Eq => (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs())),
                    },
                    _ => false,
                }
            }),
            Fact::Member(e, set) => match eval(e) {
                None => false,
                Some(x) => match set {
                    NumberSet::Reals => true,
                    NumberSet::Integers => x.fract() == 0.0,
                    NumberSet::Naturals => x.fract() == 0.0 && x >= 1.0,
                    NumberSet::Finite(vals) => vals.iter().any(|v| match v.node() {
                        Node::Num(r) => r.to_f64().is_some_and(|r| (r - x).abs() < 1e-12),
                        _ => eval(v).is_some_and(|r| (r - x).abs() < 1e-12),
                    }),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: i64, d: i64) -> Rational {
        Rational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn machine_integer_rationals_are_the_big_ones() {
        let pairs = [
            (6, 4),
            (-6, 4),
            (6, -4),
            (-6, -4),
            (0, -5),
            (7, 1),
            (i64::MAX, 2),
        ];
        for (n, d) in pairs {
            let r = reduced(i128::from(n), i128::from(d));
            assert_eq!(r.as_ref(), Some(&big(n, d)), "{n}/{d}");
            // Same representation, not only the same value: printed reports use it.
            assert_eq!(r.map(|r| r.to_string()), Some(big(n, d).to_string()));
        }
        assert_eq!(reduced(1, 0), None);
        // At and beyond 64 bits (the gcd on u64 and on u128).
        let wide: [(i128, i128); 7] = [
            (i128::from(u64::MAX), 3),
            (-i128::from(u64::MAX), i128::from(u64::MAX)),
            (i128::from(u64::MAX) + 1, 6),
            (6, -(i128::from(u64::MAX) + 1)),
            (i128::MAX, 7),
            (i128::MIN + 1, -3),
            (i128::from(i64::MIN), 4),
        ];
        for (n, d) in wide {
            let want = Rational::new(BigInt::from(n), BigInt::from(d));
            let r = reduced(n, d);
            assert_eq!(r.as_ref(), Some(&want), "{n}/{d}");
            assert_eq!(r.map(|r| r.to_string()), Some(want.to_string()));
        }
        for (a, b, c, d) in [
            (1, 2, 3, 4),
            (-5, 3, 1, 6),
            (7, 1, -7, 1),
            (i64::MAX, 1, 1, 3),
        ] {
            for sign in [1, -1] {
                let want = if sign == 1 {
                    big(a, b) + big(c, d)
                } else {
                    big(a, b) - big(c, d)
                };
                let got = add_small(
                    (i128::from(a), i128::from(b)),
                    (i128::from(c), i128::from(d)),
                    sign,
                );
                assert_eq!(got.map(|r| r.to_string()), Some(want.to_string()));
            }
        }
    }

    #[test]
    fn points_inside_bounds_are_the_big_rational_ones() {
        // lo + (hi − lo)·t for the bounded case, against big-rational arithmetic.
        let mut d = Domain::default();
        let s = Symbol::new("A");
        d.symbols.insert(
            s.clone(),
            SymbolDomain {
                lo: Some((big(-1, 3), true)),
                hi: Some((big(5, 7), true)),
                ..SymbolDomain::default()
            },
        );
        let mut rng = Rng::new(7);
        for _ in 0..50 {
            let v = d.sample_symbol(&s, &mut rng);
            assert!(v > big(-1, 3) && v < big(5, 7), "{v}");
            assert_eq!(Rational::new(v.numer().clone(), v.denom().clone()), v);
            assert_eq!(v.reduced().to_string(), v.to_string());
        }
    }

    #[test]
    fn without_scales_a_point_near_is_the_plain_draw() {
        // Bounded, integer and unbounded symbols, and one the domain does not know: the same
        // draws in the same order either way.
        let mut d = Domain::default();
        let (a, n, u, unknown) = (
            Symbol::new("a"),
            Symbol::new("n"),
            Symbol::new("u"),
            Symbol::new("w"),
        );
        let bounds = SymbolDomain {
            lo: Some((big(0, 1), true)),
            hi: Some((big(3, 2), false)),
            ..SymbolDomain::default()
        };
        let integer = SymbolDomain {
            lo: Some((big(1, 1), false)),
            integer: true,
            ..SymbolDomain::default()
        };
        d.symbols.insert(a.clone(), bounds);
        d.symbols.insert(n.clone(), integer);
        d.symbols.insert(u.clone(), SymbolDomain::default());
        let (mut r1, mut r2) = (Rng::new(11), Rng::new(11));
        for _ in 0..40 {
            for s in [&a, &n, &u, &unknown] {
                assert_eq!(
                    d.sample_symbol_near(s, &[], &mut r1),
                    d.sample_symbol(s, &mut r2)
                );
            }
        }
        assert_eq!(r1.next_u64(), r2.next_u64());
    }
}
