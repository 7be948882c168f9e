//! Canonical forms of sums Σ_{i=lo}^{hi} body over an index.
//!
//! Rewrites, each an identity for every size `hi − lo + 1 ≥ 0` and every value of the free
//! indices inside the sum's range (the index convention: a free index such as `k` in ∂L/∂z_k
//! ranges over the same units as the sums it meets):
//! - `sum-linear`: Σ_i (a + b) = Σ_i a + Σ_i b, and Σ_i c·a_i = c·Σ_i a_i for c free of i;
//! - `sum-constant`: Σ_{i=lo}^{hi} c = (hi − lo + 1)·c for c free of i;
//! - `sum-delta`: Σ_i δ_{ik}·a_i = a_k (the Kronecker delta picks one term); for a concrete k
//!   outside concrete bounds the term is 0;
//! - `sum-rename`: the bound index is renamed to the first letter (j, m, n, p, …; see
//!   [`crate::index::fresh_index`]) that is not free in the sum (Σ_i a_i = Σ_j a_j);
//! - `sum-fact`: a sum stated equal to a value by an assumption (`assume Σ_i y_i = 1`) is
//!   replaced by the value — an identity only under that assumption, which the checker cites.
//!
//! After these, a canonical sum is an atom Σ_i m_i whose summand is one monomial in atoms that
//! all depend on i, with coefficient 1. A summand whose denominator depends on i stays a whole
//! atom (Σ_i a_i/b_i is not split).

use super::form::{CanonError, Canonicalizer};
use super::poly::{Monomial, Poly};
use super::ratfunc::RatFunc;
use crate::expr::{Expr, Node, Symbol};
use crate::index::{self, IndexValue};

impl Canonicalizer<'_> {
    /// The canonical form of Σ_{index=lo}^{hi} body.
    pub(super) fn sum_of(
        &mut self,
        index: &Symbol,
        lo: &Expr,
        hi: &Expr,
        body: &Expr,
        depth: usize,
    ) -> Result<RatFunc, CanonError> {
        let lo = self.canon_expr(lo, depth)?;
        let hi = self.canon_expr(hi, depth)?;
        let i = index.name().to_owned();
        let b = self.go(body, depth + 1)?;
        let depends =
            |this: &Self, v: u32| this.atoms().expr(v).is_some_and(|a| index::mentions(a, &i));
        // A summand whose denominator depends on i is not split into monomials (Σ_i a_i/b_i
        // is one atom), except for its terms with a delta, which pick their one term.
        let den_depends = b.den().vars().into_iter().any(|v| depends(self, v));
        let den = RatFunc::from_poly(b.den().clone());
        let count = if den_depends {
            RatFunc::zero()
        } else {
            self.go(
                &Expr::add(vec![hi.clone(), Expr::neg(lo.clone()), Expr::one()]),
                depth + 1,
            )?
        };
        let mut acc = RatFunc::zero();
        let mut undivided = Vec::new();
        for (mono, coeff) in b.num().terms().to_vec() {
            let (mut outside, mut inside) = (Vec::new(), Vec::new());
            for &(v, k) in mono.pairs() {
                if depends(self, v) {
                    inside.push((v, k));
                } else {
                    outside.push((v, k));
                }
            }
            if let Some((pos, target)) = self.delta_on(&inside, &i) {
                // Σ_i δ_{ik}·a_i = a_k (δ^n = δ, so the whole power goes).
                let in_range = match (&target, index::as_int(&lo), index::as_int(&hi)) {
                    (IndexValue::Int(t), Some(a), Some(z)) => (a..=z).contains(t),
                    _ => true,
                };
                if !in_range {
                    continue;
                }
                let mut factors: Vec<Expr> = inside
                    .iter()
                    .chain(&outside)
                    .enumerate()
                    .filter(|(n, _)| *n != pos)
                    .map(|(_, &(v, k))| self.atom_power(v, k))
                    .collect();
                factors.push(Expr::num(coeff.to_rational()));
                if !den.is_one() {
                    factors.push(Expr::pow(self.to_expr(&den), Expr::int(-1)));
                }
                let picked = index::subst_index(&Expr::mul(factors), &i, &target);
                let picked = self.go(&picked, depth + 1)?;
                acc = self.add(&acc, &picked)?;
                continue;
            }
            if den_depends {
                undivided.push((mono, coeff));
                continue;
            }
            let Some(out_mono) = Monomial::from_pairs(outside) else {
                return Err(CanonError::Unresolved("monomial"));
            };
            let out = RatFunc::from_poly(Poly::term(out_mono, coeff));
            let inner = if inside.is_empty() {
                count.clone()
            } else {
                let prod: Vec<Expr> = inside.iter().map(|&(v, k)| self.atom_power(v, k)).collect();
                let prod = match prod.len() {
                    1 => prod.into_iter().next().unwrap_or_else(Expr::one),
                    _ => Expr::mul(prod),
                };
                self.sum_atom(&i, lo.clone(), hi.clone(), prod, depth)?
            };
            let term = self.mul(&out, &inner)?;
            let term = self.div(&term, &den)?;
            acc = self.add(&acc, &term)?;
        }
        if !undivided.is_empty() {
            let rest = RatFunc::from_poly(Poly::from_terms(undivided));
            let whole = self.div(&rest, &den)?;
            let whole = self.to_expr(&whole);
            let atom = self.sum_atom(&i, lo, hi, whole, depth)?;
            acc = self.add(&acc, &atom)?;
        }
        Ok(acc)
    }

    /// The position of a Kronecker delta δ_{i x} (or δ_{x i}) among the atoms, with x free of
    /// i and an index name or an integer.
    fn delta_on(&self, atoms: &[(u32, u32)], i: &str) -> Option<(usize, IndexValue)> {
        atoms.iter().enumerate().find_map(|(pos, &(v, _))| {
            let Node::Delta(a, b) = self.atoms().expr(v)?.node() else {
                return None;
            };
            let is_i = |e: &Expr| {
                e.as_sym()
                    .is_some_and(|s| s.sub().is_none() && s.name() == i)
            };
            let other = if is_i(a) {
                b
            } else if is_i(b) {
                a
            } else {
                return None;
            };
            let value = match (other.as_sym(), index::as_int(other)) {
                (Some(s), _) if s.sub().is_none() && index::is_index_name(s.name()) => {
                    IndexValue::Name(s.name().to_owned())
                }
                (_, Some(n)) => IndexValue::Int(n),
                _ => return None,
            };
            Some((pos, value))
        })
    }

    fn atom_power(&self, v: u32, k: u32) -> Expr {
        let base = self.atoms().expr(v).cloned().unwrap_or_else(Expr::zero);
        if k == 1 {
            base
        } else {
            Expr::pow(base, Expr::int(i64::from(k)))
        }
    }

    /// The atom Σ_{c=lo}^{hi} body with the bound index renamed to its canonical name c, or
    /// the value an assumption gives that sum.
    fn sum_atom(
        &mut self,
        i: &str,
        lo: Expr,
        hi: Expr,
        body: Expr,
        depth: usize,
    ) -> Result<RatFunc, CanonError> {
        let c = index::fresh_index(|x| x != i && index::mentions(&body, x));
        // The summand is rebuilt in canonical form either way: as assembled from atoms its
        // factors are in the order the atoms were met, which depends on the input.
        let body = if c == i {
            body
        } else {
            index::subst_index(&body, i, &IndexValue::Name(c.clone()))
        };
        let body = self.canon_expr(&body, depth)?;
        let atom = Expr::new(Node::Sum {
            index: Symbol::new(&c),
            lo,
            hi,
            body,
        });
        if let Some(value) = self.sum_fact(&atom) {
            return Ok(value);
        }
        Ok(self.atom(atom))
    }
}
