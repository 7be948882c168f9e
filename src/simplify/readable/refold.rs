//! Refolding: rewriting expanded patterns back into the names people use.
//!
//! Rules (each an identity):
//! - `refold-sigmoid`: (1 + exp(−u))^(−1) → σ(u)
//! - `refold-softplus`: log(1 + exp(u)) → softplus(u)
//! - `refold-tanh`: sinh(u)^k·cosh(u)^(−k) → tanh(u)^k
//! - `merge-powers`: x·x^(−1) → 1, x·x → x² among the factors of one product
//! - `flatten-sum`, `flatten-product`: a + (b + c) → a + b + c, a·(b·c) → a·b·c
//! - `fold-numbers`: numbers of one sum or product combined, 1·(1/2)·x → x/2, 0·x → 0
//! - `refold-quantity`: the body of `let A = …` → A (structural match)

use rustc_hash::FxHashMap;

use num_traits::{One, Zero};

use crate::expr::{Builtin, Expr, Func, Node, Rational, Symbol};
use crate::program::{DefKind, Program};

/// −u, with the sign folded into a leading numeric factor where there is one.
pub fn negate(u: &Expr) -> Expr {
    match u.node() {
        Node::Num(r) => Expr::num(-r.clone()),
        Node::Mul(fs) => match fs.split_first() {
            Some((first, rest)) if first.as_num().is_some() => {
                let c = -first.as_num().cloned().unwrap_or_default();
                if num_traits::One::is_one(&c) {
                    if rest.len() == 1 {
                        return rest.first().cloned().unwrap_or_else(Expr::one);
                    }
                    return Expr::mul(rest.to_vec());
                }
                let mut v = vec![Expr::num(c)];
                v.extend(rest.iter().cloned());
                Expr::mul(v)
            }
            _ => Expr::neg(u.clone()),
        },
        _ => Expr::neg(u.clone()),
    }
}

/// `1 + exp(v)` (in either order) → `Some(v)`.
fn one_plus_exp(e: &Expr) -> Option<Expr> {
    let Node::Add(terms) = e.node() else {
        return None;
    };
    let [a, b] = terms.as_slice() else {
        return None;
    };
    let (one, ex) = if a.is_one() { (a, b) } else { (b, a) };
    if !one.is_one() {
        return None;
    }
    match ex.node() {
        Node::Call(Func::Builtin(Builtin::Exp), args) => args.first().cloned(),
        Node::Pow(base, x) if matches!(base.node(), Node::Const(crate::expr::Constant::E)) => {
            Some(x.clone())
        }
        _ => None,
    }
}

/// Rewrites built-in patterns bottom-up.
pub fn refold_builtins(e: &Expr) -> Expr {
    let mut memo = FxHashMap::default();
    refold_rec(e, &mut memo, 0)
}

fn refold_rec(e: &Expr, memo: &mut FxHashMap<Expr, Expr>, depth: usize) -> Expr {
    if depth > 10_000 {
        return e.clone();
    }
    // Only a shared node can be met again (`Expr::is_shared`); the others skip the memo.
    let shared = e.is_shared();
    if let Some(r) = shared.then(|| memo.get(e)).flatten() {
        return r.clone();
    }
    let inner = e.map_children(|c| refold_rec(c, memo, depth + 1));
    let res = match inner.node() {
        Node::Pow(base, x)
            if x.as_num()
                .is_some_and(|n| *n == -crate::expr::Rational::from_integer(1.into())) =>
        {
            match one_plus_exp(base) {
                Some(v) => Expr::call(Builtin::Sigmoid, vec![negate(&v)]),
                None => inner.clone(),
            }
        }
        Node::Call(Func::Builtin(Builtin::Log), args) => {
            match args.first().and_then(one_plus_exp) {
                Some(v) => Expr::call(Builtin::Softplus, vec![v]),
                None => inner.clone(),
            }
        }
        Node::Add(terms) => {
            let flat = splice(terms, |t| match t.node() {
                Node::Add(inner) => Some(inner),
                _ => None,
            });
            match fold_numbers(&flat, Rational::zero(), |a, b| a + b) {
                Some(folded) => rebuild(folded, Expr::add, Expr::zero),
                None if flat.len() != terms.len() => Expr::add(flat),
                None => inner.clone(),
            }
        }
        Node::Mul(factors) => {
            let flat = splice(factors, |f| match f.node() {
                Node::Mul(inner) => Some(inner),
                _ => None,
            });
            if flat.iter().any(|f| f.as_num().is_some_and(Zero::is_zero)) {
                return Expr::zero();
            }
            let folded = fold_numbers(&flat, Rational::one(), |a, b| a * b).map(|mut v| {
                // 1/z keeps its 1: a product that starts with a reciprocal prints as a power.
                let is_reciprocal = |e: &Expr| match e.node() {
                    Node::Pow(_, k) => k.as_num().is_some_and(|k| (-k).is_one()),
                    _ => false,
                };
                if v.first().is_some_and(is_reciprocal) {
                    v.insert(0, Expr::one());
                }
                v
            });
            let mut changed = folded.is_some() || flat.len() != factors.len();
            let mut flat = folded.unwrap_or(flat);
            if let Some(merged) = merge_powers(&flat) {
                changed = true;
                flat = merged;
            }
            match refold_tanh(&flat) {
                Some(folded) => rebuild(folded, Expr::mul, Expr::one),
                None if changed => rebuild(flat, Expr::mul, Expr::one),
                None => inner.clone(),
            }
        }
        _ => inner.clone(),
    };
    if shared {
        memo.insert(e.clone(), res.clone());
    }
    res
}

/// `flatten-sum` / `flatten-product`: the items of nested sums (products) spliced into the
/// outer one, a + (b + c) → a + b + c, which is what people write and what the printer expects.
fn splice(items: &[Expr], nested: impl Fn(&Expr) -> Option<&Vec<Expr>>) -> Vec<Expr> {
    let mut out = Vec::with_capacity(items.len() + 2);
    for item in items {
        match nested(item) {
            Some(inner) => out.extend(inner.iter().cloned()),
            None => out.push(item.clone()),
        }
    }
    out
}

/// `fold-numbers`: the numbers among `items` combined into one (first), the identity dropped:
/// 1·(1/2)·x → x/2, z + 1 − 3/2 → −1/2 + z. `None` when there is at most one number and it
/// is not the identity (nothing to fold). Numbers too large to combine cheaply are left alone.
fn fold_numbers(
    items: &[Expr],
    identity: Rational,
    op: impl Fn(&Rational, &Rational) -> Rational,
) -> Option<Vec<Expr>> {
    let small = |r: &Rational| r.numer().bits() <= 256 && r.denom().bits() <= 256;
    let nums: Vec<&Rational> = items
        .iter()
        .filter_map(Expr::as_num)
        .filter(|r| small(r))
        .collect();
    if nums.len() < 2 && !nums.iter().any(|r| **r == identity) {
        return None;
    }
    let acc = nums.iter().fold(identity.clone(), |acc, r| op(&acc, r));
    let mut out: Vec<Expr> = Vec::with_capacity(items.len());
    if acc != identity {
        out.push(Expr::num(acc));
    }
    out.extend(
        items
            .iter()
            .filter(|e| !e.as_num().is_some_and(small))
            .cloned(),
    );
    Some(out)
}

/// A sum (product) of `items`, or the single item, or 0 (1) for none.
fn rebuild(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr, empty: fn() -> Expr) -> Expr {
    match items.len() {
        0 => empty(),
        1 => items.pop().unwrap_or_else(empty),
        _ => make(items),
    }
}

/// `merge-powers`: factors of a product with the same base combined, x·x^(−1) → 1,
/// sinh(z)·…·sinh(z) → sinh(z)² (numeric exponents only; first occurrence keeps its place).
/// `None` when no two factors share a base.
fn merge_powers(factors: &[Expr]) -> Option<Vec<Expr>> {
    let split = |f: &Expr| -> (Expr, Rational) {
        match f.node() {
            Node::Pow(b, k) if k.as_num().is_some() && f.as_num().is_none() => {
                (b.clone(), k.as_num().cloned().unwrap_or_else(Rational::one))
            }
            _ => (f.clone(), Rational::one()),
        }
    };
    let mut merged: Vec<(Expr, Rational)> = Vec::with_capacity(factors.len());
    let mut any = false;
    for f in factors {
        if f.as_num().is_some() {
            merged.push((f.clone(), Rational::one()));
            continue;
        }
        let (base, k) = split(f);
        match merged.iter_mut().find(|(b, _)| *b == base) {
            Some((_, acc)) => {
                *acc += k;
                any = true;
            }
            None => merged.push((base, k)),
        }
    }
    if !any {
        return None;
    }
    Some(
        merged
            .into_iter()
            .filter(|(_, k)| !k.is_zero())
            .map(|(b, k)| {
                if k.is_one() {
                    b
                } else {
                    Expr::pow(b, Expr::num(k))
                }
            })
            .collect(),
    )
}

/// `refold-tanh`: sinh(u)^k·cosh(u)^(−k) → tanh(u)^k among the factors of a product (the
/// first such pair; the rest of the product is kept in order). `None` when there is no pair.
fn refold_tanh(factors: &[Expr]) -> Option<Vec<Expr>> {
    // (argument, exponent) of a factor sinh(u)^k or cosh(u)^k.
    fn of(f: &Expr, which: Builtin) -> Option<(&Expr, Rational)> {
        let (base, k) = match f.node() {
            Node::Pow(b, k) => (b, k.as_num()?.clone()),
            _ => (f, Rational::one()),
        };
        match base.node() {
            Node::Call(Func::Builtin(b), args) if *b == which && args.len() == 1 => {
                Some((args.first()?, k))
            }
            _ => None,
        }
    }
    let (sinh_idx, cosh_idx, u, k) = factors.iter().enumerate().find_map(|(i, f)| {
        let (u, k) = of(f, Builtin::Sinh)?;
        let j = factors
            .iter()
            .position(|g| of(g, Builtin::Cosh).is_some_and(|(v, m)| v == u && m == -k.clone()))?;
        Some((i, j, u.clone(), k))
    })?;
    let tanh = Expr::call(Builtin::Tanh, vec![u]);
    let tanh = if k.is_one() {
        tanh
    } else {
        Expr::pow(tanh, Expr::num(k))
    };
    let mut out: Vec<Expr> = Vec::with_capacity(factors.len().saturating_sub(1));
    for (i, f) in factors.iter().enumerate() {
        if i == sinh_idx {
            out.push(tanh.clone());
        } else if i != cosh_idx {
            out.push(f.clone());
        }
    }
    Some(out)
}

/// Replaces occurrences of quantity definitions by the quantity's symbol.
pub fn refold_quantities(e: &Expr, program: &Program) -> Expr {
    let mut table: FxHashMap<Expr, Expr> = FxHashMap::default();
    for d in program.definitions() {
        if d.kind != DefKind::Quantity {
            continue;
        }
        let Some(sym) = &d.symbol else { continue };
        if matches!(d.body.node(), Node::Sym(_) | Node::Num(_) | Node::Const(_)) {
            continue;
        }
        table.insert(d.body.clone(), Expr::sym(sym.clone()));
        table.insert(refold_builtins(&d.body), Expr::sym(sym.clone()));
        // An indexed family (`let O_i = …`): its entries at the free indices of `e` too.
        let own = crate::index::symbol_indices(sym);
        if let ([_], Some(sub)) = (own.as_slice(), sym.sub()) {
            if crate::index::slots(sub).len() == 1 {
                for x in crate::index::free_indices(e) {
                    let entry = Symbol::with_sub(sym.name(), Some(&x));
                    if let Some(body) = program.quantity_body(&entry) {
                        table.insert(refold_builtins(&body), Expr::sym(entry.clone()));
                        table.insert(body, Expr::sym(entry));
                    }
                }
            }
        }
    }
    e.replace_all(&table)
}
