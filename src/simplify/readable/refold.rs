//! Refolding: rewriting expanded patterns back into the names people use.
//!
//! Rules (each an identity):
//! - `refold-sigmoid`: (1 + exp(−u))^(−1) → σ(u)
//! - `refold-softplus`: log(1 + exp(u)) → softplus(u)
//! - `refold-quantity`: the body of `let A = …` → A (structural match)

use rustc_hash::FxHashMap;

use crate::expr::{Builtin, Expr, Func, Node};
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
        _ => inner.clone(),
    };
    if shared {
        memo.insert(e.clone(), res.clone());
    }
    res
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
    }
    if table.is_empty() {
        return e.clone();
    }
    let mut memo = FxHashMap::default();
    replace_rec(e, &table, &mut memo, 0)
}

fn replace_rec(
    e: &Expr,
    table: &FxHashMap<Expr, Expr>,
    memo: &mut FxHashMap<Expr, Expr>,
    depth: usize,
) -> Expr {
    if let Some(r) = table.get(e) {
        return r.clone();
    }
    if depth > 10_000 {
        return e.clone();
    }
    let shared = e.is_shared();
    if let Some(r) = shared.then(|| memo.get(e)).flatten() {
        return r.clone();
    }
    let res = e.map_children(|c| replace_rec(c, table, memo, depth + 1));
    if shared {
        memo.insert(e.clone(), res.clone());
    }
    res
}
