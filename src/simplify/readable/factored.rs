//! The factored normal form used for printing: coefficient · Π factor^k.

use num_traits::{One, Signed, ToPrimitive, Zero};
use rustc_hash::FxHashMap;

use super::ReadableCtx;
use crate::expr::{Expr, Node, Rational};
use crate::limits::{LimitKind, LimitReached};
use crate::simplify::canon::atoms::AtomTable;
use crate::simplify::canon::poly::{Coeff, Poly};

/// coefficient · Π factors[i].0 ^ factors[i].1, where every factor is a normalised polynomial
/// (primitive over ℤ, positive leading coefficient, and either a single atom or a sum without
/// monomial content). The zero value has coefficient 0 and no factors.
#[derive(Clone, Debug)]
struct Factored {
    coeff: Rational,
    factors: Vec<(Poly, i64)>,
}

impl Factored {
    fn constant(c: Rational) -> Factored {
        Factored {
            coeff: c,
            factors: Vec::new(),
        }
    }

    fn is_zero(&self) -> bool {
        self.coeff.is_zero()
    }

    fn mul(&self, other: &Factored) -> Factored {
        if self.is_zero() || other.is_zero() {
            return Factored::constant(Rational::zero());
        }
        let mut factors = self.factors.clone();
        for (p, k) in &other.factors {
            merge_factor(&mut factors, p, *k);
        }
        Factored {
            // A unit coefficient (the usual case) needs no rational product and its gcd.
            coeff: if self.coeff.is_one() {
                other.coeff.clone()
            } else if other.coeff.is_one() {
                self.coeff.clone()
            } else {
                &self.coeff * &other.coeff
            },
            factors,
        }
    }

    fn powi(&self, n: i64) -> Factored {
        if self.is_zero() {
            return self.clone();
        }
        let coeff = pow_rational(&self.coeff, n);
        Factored {
            coeff,
            factors: self
                .factors
                .iter()
                .map(|(p, k)| (p.clone(), k.saturating_mul(n)))
                .filter(|(_, k)| *k != 0)
                .collect(),
        }
    }
}

fn pow_rational(c: &Rational, n: i64) -> Rational {
    let r = num_traits::pow::pow(c.clone(), n.unsigned_abs() as usize);
    if n < 0 {
        if r.is_zero() {
            r
        } else {
            r.recip()
        }
    } else {
        r
    }
}

fn merge_factor(factors: &mut Vec<(Poly, i64)>, p: &Poly, k: i64) {
    if let Some(pos) = factors.iter().position(|(q, _)| q == p) {
        if let Some(slot) = factors.get_mut(pos) {
            slot.1 += k;
            if slot.1 == 0 {
                factors.remove(pos);
            }
        }
    } else if k != 0 {
        factors.push((p.clone(), k));
    }
}

struct Builder<'a, 'b> {
    ctx: &'a ReadableCtx<'b>,
    atoms: AtomTable,
    memo: FxHashMap<Expr, Factored>,
    args_memo: FxHashMap<Expr, Expr>,
    /// Nodes since the clock was last read: it is read every `DEADLINE_EVERY` nodes, as it
    /// costs about as much as a small node.
    unchecked: std::cell::Cell<u32>,
}

/// Nodes between two reads of the clock (the first node reads it).
const DEADLINE_EVERY: u32 = 32;

/// The factored readable form of `e`, as an expression.
pub fn simplify(e: &Expr, ctx: &ReadableCtx) -> Result<Expr, LimitReached> {
    let mut b = Builder {
        ctx,
        atoms: AtomTable::default(),
        memo: FxHashMap::default(),
        args_memo: FxHashMap::default(),
        unchecked: std::cell::Cell::new(DEADLINE_EVERY - 1),
    };
    b.expr(e, 0)
}

impl Builder<'_, '_> {
    fn expr(&mut self, e: &Expr, depth: usize) -> Result<Expr, LimitReached> {
        let f = self.factored(e, depth)?;
        Ok(self.to_expr(&f))
    }

    fn check_depth(&self, depth: usize) -> Result<(), LimitReached> {
        if depth > self.ctx.limits.max_depth * 16 {
            return Err(LimitReached {
                which: LimitKind::Depth,
                at: "readable form",
            });
        }
        let n = self.unchecked.get() + 1;
        if n < DEADLINE_EVERY {
            self.unchecked.set(n);
            return Ok(());
        }
        self.unchecked.set(0);
        self.ctx.deadline.check("readable form")
    }

    fn atom(&mut self, e: Expr) -> Factored {
        let v = self.atoms.var(e);
        Factored {
            coeff: Rational::one(),
            factors: vec![(Poly::var(v), 1)],
        }
    }

    /// An atom with readable children (arguments of calls, bases of fractional powers).
    fn atom_with_readable_children(
        &mut self,
        e: &Expr,
        depth: usize,
    ) -> Result<Factored, LimitReached> {
        if let Some(r) = self.args_memo.get(e) {
            let r = r.clone();
            return Ok(self.atom(r));
        }
        let rebuilt = e.try_map_children(|c| self.expr(c, depth + 1))?;
        self.args_memo.insert(e.clone(), rebuilt.clone());
        Ok(self.atom(rebuilt))
    }

    fn factored(&mut self, e: &Expr, depth: usize) -> Result<Factored, LimitReached> {
        self.check_depth(depth)?;
        // Only a shared node can be met again (`Expr::is_shared`); the others skip the memo.
        let shared = e.is_shared();
        if let Some(f) = shared.then(|| self.memo.get(e)).flatten() {
            return Ok(f.clone());
        }
        let res = match e.node() {
            Node::Num(r) => Factored::constant(r.clone()),
            Node::Sym(_) | Node::Const(_) => self.atom(e.clone()),
            Node::Mul(fs) => {
                let mut acc = Factored::constant(Rational::one());
                for f in fs {
                    let x = self.factored(f, depth + 1)?;
                    acc = acc.mul(&x);
                }
                acc
            }
            Node::Pow(base, x) => {
                let small = x
                    .as_num()
                    .filter(|n| n.is_integer())
                    .and_then(|n| n.to_integer().to_i64())
                    .filter(|n| n.unsigned_abs() <= u64::from(self.ctx.limits.max_exponent));
                match small {
                    Some(n) => {
                        let b = self.factored(base, depth + 1)?;
                        if b.is_zero() && n < 0 {
                            self.atom_with_readable_children(e, depth)?
                        } else {
                            b.powi(n)
                        }
                    }
                    None => self.atom_with_readable_children(e, depth)?,
                }
            }
            Node::Add(terms) => {
                let mut parts = Vec::with_capacity(terms.len());
                for t in terms {
                    let x = self.factored(t, depth + 1)?;
                    if !x.is_zero() {
                        parts.push(x);
                    }
                }
                self.sum(parts)?
            }
            Node::Call(..) | Node::Deriv(..) | Node::Sum { .. } | Node::Delta(..) => {
                self.atom_with_readable_children(e, depth)?
            }
        };
        if shared {
            self.memo.insert(e.clone(), res.clone());
        }
        Ok(res)
    }

    /// Σ parts: pull out common factors and common denominators, expand the cofactors, and
    /// normalise the resulting polynomial into factors.
    fn sum(&mut self, parts: Vec<Factored>) -> Result<Factored, LimitReached> {
        if parts.is_empty() {
            return Ok(Factored::constant(Rational::zero()));
        }
        if parts.len() == 1 {
            return Ok(parts
                .into_iter()
                .next()
                .unwrap_or_else(|| Factored::constant(Rational::zero())));
        }
        // Common part: each factor to the minimum exponent over all parts (0 where absent).
        let mut common: Vec<(Poly, i64)> = Vec::new();
        let mut candidates: Vec<Poly> = Vec::new();
        for part in &parts {
            for (p, _) in &part.factors {
                if !candidates.contains(p) {
                    candidates.push(p.clone());
                }
            }
        }
        for p in candidates {
            let min = parts
                .iter()
                .map(|part| {
                    part.factors
                        .iter()
                        .find(|(q, _)| *q == p)
                        .map(|(_, k)| *k)
                        .unwrap_or(0)
                })
                .min()
                .unwrap_or(0);
            if min != 0 {
                common.push((p, min));
            }
        }
        let limits = self.ctx.limits;
        let mut total = Poly::zero();
        for part in &parts {
            let mut term = Poly::constant(Coeff::from_rational(&part.coeff));
            // The cofactor part / common: every factor of the part, and every common factor
            // the part lacks (a common denominator), to a non-negative power.
            let absent = common
                .iter()
                .filter(|(q, _)| !part.factors.iter().any(|(p, _)| p == q))
                .map(|(q, _)| (q.clone(), 0));
            let all: Vec<(Poly, i64)> = part.factors.iter().cloned().chain(absent).collect();
            for (p, k) in &all {
                let c = common
                    .iter()
                    .find(|(q, _)| q == p)
                    .map(|(_, m)| *m)
                    .unwrap_or(0);
                let e = k - c;
                if e > 0 {
                    let pe = p.pow(e as u32, limits, &self.ctx.deadline)?;
                    term = term.mul(&pe, limits, &self.ctx.deadline)?;
                    if term.n_terms() > limits.max_terms {
                        return Err(LimitReached {
                            which: LimitKind::Terms,
                            at: "readable form",
                        });
                    }
                }
            }
            total = &total + &term;
        }
        if total.is_zero() {
            return Ok(Factored::constant(Rational::zero()));
        }
        let mut res = self.normalise(&total);
        // Cancel denominator factors of the common part that divide the new numerator.
        let mut common_out = Vec::new();
        for (p, mut k) in common {
            while k < 0 {
                let Some(pos) = res
                    .factors
                    .iter()
                    .position(|(q, e)| *e > 0 && q.n_terms() > 1)
                else {
                    break;
                };
                let Some((q, e)) = res.factors.get(pos).cloned() else {
                    break;
                };
                match q.div_exact(&p, limits, &self.ctx.deadline)? {
                    Some(quot) => {
                        res.factors.remove(pos);
                        if e > 1 {
                            res.factors.push((q, e - 1));
                        }
                        let n = self.normalise(&quot);
                        res = res.mul(&n);
                        k += 1;
                    }
                    None => break,
                }
            }
            if k != 0 {
                common_out.push((p, k));
            }
        }
        let common = Factored {
            coeff: Rational::one(),
            factors: common_out,
        };
        Ok(common.mul(&res))
    }

    /// A polynomial as coefficient · monomial factors · primitive remainder.
    fn normalise(&mut self, p: &Poly) -> Factored {
        if let Some(c) = p.constant_value() {
            return Factored::constant(c.to_rational());
        }
        let content = p.integer_content().to_rational();
        let prim = p.primitive_part();
        let mono = prim.monomial_content();
        let rest = prim.div_monomial(&mono).unwrap_or_else(|| prim.clone());
        let mut out = Factored::constant(content);
        for &(v, k) in mono.pairs() {
            merge_factor(&mut out.factors, &Poly::var(v), i64::from(k));
        }
        if let Some(c) = rest.constant_value() {
            out.coeff *= c.to_rational();
        } else {
            merge_factor(&mut out.factors, &rest, 1);
        }
        out
    }

    /// Back to an expression, choosing signs of sum factors as the module doc says.
    fn to_expr(&self, f: &Factored) -> Expr {
        if f.is_zero() {
            return Expr::zero();
        }
        let mut sign_negative = f.coeff.is_negative();
        // Orientation of each sum factor: true = flipped.
        let mut oriented: Vec<(Poly, i64, bool)> = f
            .factors
            .iter()
            .map(|(p, k)| {
                let flip = prefers_flip(p);
                if flip && k.rem_euclid(2) == 1 {
                    sign_negative = !sign_negative;
                }
                (p.clone(), *k, flip)
            })
            .collect();
        if sign_negative {
            // Absorb the minus into a sum factor with an odd power whose flip costs nothing.
            let pick = oriented
                .iter()
                .position(|(p, k, flip)| {
                    k.rem_euclid(2) == 1 && is_tie(p) && !has_constant(p) && !*flip
                })
                .or_else(|| {
                    oriented
                        .iter()
                        .position(|(p, k, _)| k.rem_euclid(2) == 1 && is_tie(p) && !has_constant(p))
                })
                .or_else(|| {
                    oriented
                        .iter()
                        .position(|(p, k, _)| k.rem_euclid(2) == 1 && is_tie(p))
                });
            if let Some(i) = pick {
                if let Some(slot) = oriented.get_mut(i) {
                    slot.2 = !slot.2;
                    sign_negative = false;
                }
            }
        }
        let coeff = if sign_negative {
            -f.coeff.abs()
        } else {
            f.coeff.abs()
        };
        let mut num: Vec<(Expr, i64)> = Vec::new();
        let mut den: Vec<(Expr, i64)> = Vec::new();
        for (p, k, flip) in &oriented {
            let p = if *flip { -p } else { p.clone() };
            let e = self.poly_expr(&p);
            if *k > 0 {
                num.push((e, *k));
            } else {
                den.push((e, -*k));
            }
        }
        // Atoms first, then sums; each group in the total order.
        let key = |(e, _): &(Expr, i64)| (matches!(e.node(), Node::Add(_)), e.clone());
        num.sort_by_key(key);
        den.sort_by_key(key);
        let mut factors = Vec::new();
        let (cn, cd) = (coeff.numer().clone(), coeff.denom().clone());
        if cn != num_bigint::BigInt::one() || (num.is_empty() && den.is_empty()) {
            factors.push(Expr::num(Rational::from_integer(cn)));
        }
        for (e, k) in num {
            factors.push(if k == 1 {
                e
            } else {
                Expr::pow(e, Expr::int(k))
            });
        }
        // One denominator: (A − y)/(A·(1 − A)), not (A − y)/A/(1 − A).
        let mut den_factors = Vec::new();
        if cd != num_bigint::BigInt::one() {
            den_factors.push(Expr::num(Rational::from_integer(cd)));
        }
        for (e, k) in den {
            den_factors.push(if k == 1 {
                e
            } else {
                Expr::pow(e, Expr::int(k))
            });
        }
        match den_factors.len() {
            0 => {}
            1 => {
                let d = den_factors.pop().unwrap_or_else(Expr::one);
                // A lone power in the denominator reads as x^(−k) when nothing stands above
                // the bar (`(1 + exp(−z))⁻²`), and as a quotient otherwise
                // (`exp(−z)/(1 + exp(−z))²`, not `exp(−z)·(1 + exp(−z))⁻²`).
                let nothing_above = factors.is_empty();
                factors.push(match d.node() {
                    Node::Pow(b, k) if nothing_above && k.as_num().is_some() => Expr::pow(
                        b.clone(),
                        Expr::num(-k.as_num().cloned().unwrap_or_default()),
                    ),
                    _ => Expr::pow(d, Expr::int(-1)),
                });
            }
            _ => factors.push(Expr::pow(Expr::mul(den_factors), Expr::int(-1))),
        }
        // A leading −1 with more factors folds into a −1 coefficient the printer shows as "−".
        match factors.len() {
            0 => Expr::one(),
            1 => factors.pop().unwrap_or_else(Expr::one),
            _ => Expr::mul(factors),
        }
    }

    /// A polynomial as a sum: positive terms first, then negative ones, each group in the
    /// total order of expressions.
    fn poly_expr(&self, p: &Poly) -> Expr {
        let mut pos = Vec::new();
        let mut neg = Vec::new();
        for (mono, coeff) in p.terms() {
            let mut fs: Vec<Expr> = mono
                .pairs()
                .iter()
                .map(|&(v, k)| {
                    let b = self.atoms.expr(v).cloned().unwrap_or_else(Expr::zero);
                    if k == 1 {
                        b
                    } else {
                        Expr::pow(b, Expr::int(i64::from(k)))
                    }
                })
                .collect();
            fs.sort();
            let c: Rational = coeff.to_rational();
            let is_neg = c.is_negative();
            let term = if fs.is_empty() {
                Expr::num(c)
            } else {
                if !c.is_one() {
                    fs.insert(0, Expr::num(c));
                }
                if fs.len() == 1 {
                    fs.pop().unwrap_or_else(Expr::one)
                } else {
                    Expr::mul(fs)
                }
            };
            if is_neg {
                neg.push(term);
            } else {
                pos.push(term);
            }
        }
        let by_order = |a: &Expr, b: &Expr| strip_coeff(a).cmp(&strip_coeff(b));
        pos.sort_by(by_order);
        neg.sort_by(by_order);
        pos.extend(neg);
        match pos.len() {
            0 => Expr::zero(),
            1 => pos.pop().unwrap_or_else(Expr::zero),
            _ => Expr::add(pos),
        }
    }
}

/// The term without its numeric coefficient, for ordering terms (1 before z before z·σ(z)).
fn strip_coeff(e: &Expr) -> Expr {
    match e.node() {
        Node::Mul(fs) if fs.first().is_some_and(|f| f.as_num().is_some()) => {
            let rest: Vec<Expr> = fs.iter().skip(1).cloned().collect();
            if rest.len() == 1 {
                rest.into_iter().next().unwrap_or_else(Expr::one)
            } else {
                Expr::mul(rest)
            }
        }
        _ => e.clone(),
    }
}

fn negative_terms(p: &Poly) -> usize {
    p.terms().iter().filter(|(_, c)| c.is_negative()).count()
}

fn has_constant(p: &Poly) -> bool {
    p.terms().iter().any(|(m, _)| m.is_one())
}

fn constant_negative(p: &Poly) -> bool {
    p.terms().iter().any(|(m, c)| m.is_one() && c.is_negative())
}

/// Flipping changes nothing in the count of negative terms.
fn is_tie(p: &Poly) -> bool {
    p.n_terms() > 1 && 2 * negative_terms(p) == p.n_terms()
}

/// Whether the flipped polynomial reads better: fewer negative terms, then a positive constant.
fn prefers_flip(p: &Poly) -> bool {
    if p.n_terms() < 2 {
        return false;
    }
    let n = p.n_terms();
    let neg = negative_terms(p);
    if 2 * neg != n {
        return 2 * neg > n;
    }
    constant_negative(p)
}
