//! The table of atoms: the non-polynomial pieces (symbols, exp(…), log(…), other calls) of an
//! expression, each numbered by a polynomial variable, and the way back from a polynomial to
//! an `Expr` in the one total order of terms.

use rustc_hash::FxHashMap;

use super::poly::{Poly, Var};
use super::ratfunc::RatFunc;
use crate::expr::Expr;

/// Atoms numbered in order of first appearance; `Var` numbers index `exprs`.
#[derive(Debug, Default, Clone)]
pub struct AtomTable {
    exprs: Vec<Expr>,
    index: FxHashMap<Expr, Var>,
    /// For `log(u)` atoms: the canonical form of `u` (used by exp(log u) = u).
    pub log_args: FxHashMap<Var, RatFunc>,
}

impl AtomTable {
    /// The variable of an atom, adding it if new.
    pub fn var(&mut self, atom: Expr) -> Var {
        if let Some(&v) = self.index.get(&atom) {
            return v;
        }
        let v = self.exprs.len() as Var;
        self.exprs.push(atom.clone());
        self.index.insert(atom, v);
        v
    }

    /// The variable of an atom already in the table.
    pub fn lookup(&self, atom: &Expr) -> Option<Var> {
        self.index.get(atom).copied()
    }

    /// The atom of a variable.
    pub fn expr(&self, v: Var) -> Option<&Expr> {
        self.exprs.get(v as usize)
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.exprs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }

    /// A polynomial as an expression: a sum of `coefficient · Π atom^k` terms, sorted by the
    /// total order of expressions so the result does not depend on atom numbering.
    pub fn poly_to_expr(&self, p: &Poly) -> Expr {
        let power = |&(v, k): &(Var, u32)| {
            let base = self.expr(v).cloned().unwrap_or_else(Expr::zero);
            if k == 1 {
                base
            } else {
                Expr::pow(base, Expr::int(i64::from(k)))
            }
        };
        let mut terms: Vec<Expr> = p
            .terms()
            .iter()
            .map(|(mono, coeff)| match (mono.pairs(), coeff.is_one()) {
                ([], _) => Expr::num(coeff.to_rational()),
                // One factor and a coefficient one (the commonest term): the factor itself.
                ([pair], true) => power(pair),
                (pairs, _) => {
                    let mut factors: Vec<Expr> = Vec::with_capacity(pairs.len() + 1);
                    factors.extend(pairs.iter().map(power));
                    factors.sort();
                    // A coefficient one is not turned into a big rational.
                    if !coeff.is_one() {
                        factors.insert(0, Expr::num(coeff.to_rational()));
                    }
                    if factors.len() == 1 {
                        factors.pop().unwrap_or_else(Expr::one)
                    } else {
                        Expr::mul(factors)
                    }
                }
            })
            .collect();
        terms.sort();
        match terms.len() {
            0 => Expr::zero(),
            1 => terms.pop().unwrap_or_else(Expr::zero),
            _ => Expr::add(terms),
        }
    }

    /// A rational function as an expression `num · den^(−1)` (or `num` when den = 1).
    pub fn ratfunc_to_expr(&self, r: &RatFunc) -> Expr {
        let num = self.poly_to_expr(r.num());
        if r.den().is_one() {
            num
        } else {
            Expr::mul(vec![
                num,
                Expr::pow(self.poly_to_expr(r.den()), Expr::int(-1)),
            ])
        }
    }
}
