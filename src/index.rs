//! Index notation: how subscripts are read as index slots, and the operations on indices that
//! differentiation, canonical forms and numeric instantiation share.
//!
//! A symbol keeps its subscript as written (`w_{oi}`, `O_k`, `x_1`, `A_previous`); this module
//! reads it as a list of *slots*:
//! - `"1,0"` (with commas) → `["1", "0"]`; `"10"` (all digits) → `["10"]`;
//! - a short subscript of letters and digits (at most three characters, not a word such as
//!   `in` or `out`) → one slot per character: `"ij"` → `["i", "j"]`, `"oi"` → `["o", "i"]`;
//! - anything else (`"previous"`) is one slot, a label.
//!
//! A slot is an *index* when it is an index name: one of the letters in [`INDEX_LETTERS`]
//! (`i j k l m n p q r s t b c d`); it is a *number* when it is all digits; otherwise it is a
//! *label* (`o` in `z_o`, `h` in `w_{hi}`). Labels name different quantities: `z_o` and `z_h`
//! are unrelated. Indices range over the integers: ∂x_i/∂x_k = δ_{ik}, and `x_i` at i = 2 is
//! `x_2`.
//!
//! A sum `Σ_{i=lo}^{hi}` binds its index in its body; every operation here is capture-avoiding
//! (a bound index that would capture a substituted one is renamed first).
//!
//! Deliberately not here: canonical forms of sums (`simplify::canon`), checking indexed claims
//! at instantiated sizes (`check::indexed`).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::expr::{Expr, Node, Symbol};
use crate::limits::{LimitKind, LimitReached};

/// The letters read as indices in subscripts (and as index variables elsewhere).
pub const INDEX_LETTERS: &[&str] = &[
    "i", "j", "k", "l", "m", "n", "p", "q", "r", "s", "t", "b", "c", "d",
];

/// Short subscripts that are words (labels), not one slot per letter.
const LABEL_WORDS: &[&str] = &["in", "out", "old", "new", "max", "min", "avg", "std"];

/// Bound on the recursion of the walks here (trees from the parser are far shallower).
const MAX_DEPTH: usize = 4096;

/// The slots of a subscript (see the module doc).
pub fn slots(sub: &str) -> Vec<String> {
    if sub.contains(',') {
        return sub.split(',').map(|s| s.trim().to_owned()).collect();
    }
    if sub.chars().all(|c| c.is_ascii_digit()) {
        return vec![sub.to_owned()];
    }
    let n = sub.chars().count();
    if n <= 3 && sub.chars().all(|c| c.is_ascii_alphanumeric()) && !LABEL_WORDS.contains(&sub) {
        return sub.chars().map(String::from).collect();
    }
    vec![sub.to_owned()]
}

/// A braced subscript as written, in the form symbols keep: `−` as `-`, and `ell` (the ASCII
/// spelling of the layer letter ℓ) as `ℓ` where it is a whole slot or the start of one
/// (`{ell+1,k}` → `ℓ+1,k`). A layer slot such as `ℓ`, `ℓ+1` or `ℓ-1` is a label: layers ℓ and
/// ℓ + 1 are different quantities.
pub fn normalize_sub(text: &str) -> String {
    let text = text.replace('\u{2212}', "-");
    if !text.contains("ell") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for (i, slot) in text.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        match slot.strip_prefix("ell") {
            Some(rest) if rest.is_empty() || rest.starts_with(['+', '-']) => {
                out.push('\u{2113}');
                out.push_str(rest);
            }
            _ => out.push_str(slot),
        }
    }
    out
}

/// A layer written as a LaTeX superscript (`l`, `l+1`, `\ell - 1`, `L`, `2`), as the layer
/// slot symbols keep: spaces dropped, `\ell` and a lone `l` as `ℓ` (the layer letter), other
/// letters and numbers as written (`L-1`, `2`).
pub fn normalize_layer(text: &str) -> String {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.replace("\\ell", "\u{2113}");
    match compact.strip_prefix('l') {
        Some(rest) if rest.is_empty() || rest.starts_with(['+', '-']) => format!("\u{2113}{rest}"),
        _ => compact,
    }
}

/// The subscript that reads back as these slots: concatenated when every slot is one
/// character and not all are digits (`ik`, `1k`), comma-separated otherwise (`1,2`, `10,k`).
/// Concatenated only when that reads back as the same slots: eight one-letter slots are
/// comma-separated (`w_{1,j,k,l,m,n,p,q}`), since `1jklmnpq` would read as one label and
/// every entry of the family would become the same symbol.
pub fn join_slots(sl: &[String]) -> String {
    let all_digits = sl.iter().all(|s| s.chars().all(|c| c.is_ascii_digit()));
    if sl.iter().all(|s| s.chars().count() == 1) && (sl.len() < 2 || !all_digits) {
        let cat = sl.concat();
        if slots(&cat) == sl {
            return cat;
        }
    }
    sl.join(",")
}

/// Whether `s` is an index name.
pub fn is_index_name(s: &str) -> bool {
    INDEX_LETTERS.contains(&s)
}

/// Whether a slot is a number.
fn is_number_slot(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// A slot as an expression: an index name as a symbol, a number as an integer.
fn slot_expr(s: &str) -> Option<Expr> {
    if is_index_name(s) {
        return Some(Expr::var(s));
    }
    if is_number_slot(s) {
        return s.parse::<i64>().ok().map(Expr::int);
    }
    None
}

/// The index slots (index names) of a symbol's subscript, in order, with repeats.
pub fn symbol_indices(s: &Symbol) -> Vec<String> {
    match s.sub() {
        None => Vec::new(),
        Some(sub) => slots(sub)
            .into_iter()
            .filter(|x| is_index_name(x))
            .collect(),
    }
}

/// Whether the symbol has at least one index or number slot (so it is an entry of an indexed
/// family such as `x_i`, `w_{oi}` or `x_2`).
pub fn is_indexed(s: &Symbol) -> bool {
    s.sub().is_some_and(|sub| {
        slots(sub)
            .iter()
            .any(|x| is_index_name(x) || is_number_slot(x))
    })
}

/// Whether a subscript is an index subscript (`i`, `ik`, `2`, `1,0`), as in `∂O_i/∂z_k`.
pub fn is_indexed_sub(sub: &str) -> bool {
    slots(sub)
        .iter()
        .all(|x| is_index_name(x) || is_number_slot(x))
}

/// ∂s/∂var for two symbols, with indices: `None` when `s` does not depend on `var` (different
/// names, labels or numbers), `Some(1)` when they are the same symbol, and otherwise the
/// product of Kronecker deltas of the slots that differ (∂w_{oi}/∂w_{oj} = δ_{ij},
/// ∂x_1/∂x_k = δ_{1k}).
pub fn symbol_derivative(s: &Symbol, var: &Symbol) -> Option<Expr> {
    if s == var {
        return Some(Expr::one());
    }
    if s.name() != var.name() {
        return None;
    }
    let (a, b) = (slots(s.sub()?), slots(var.sub()?));
    if a.len() != b.len() {
        return None;
    }
    let mut deltas = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        if x == y {
            continue;
        }
        let (Some(ex), Some(ey)) = (slot_expr(x), slot_expr(y)) else {
            // A label against anything else: different quantities.
            return None;
        };
        if ex.as_num().is_some() && ey.as_num().is_some() {
            return None;
        }
        deltas.push(delta(ex, ey));
    }
    Some(match deltas.len() {
        0 => Expr::one(),
        1 => deltas.pop().unwrap_or_else(Expr::one),
        _ => Expr::mul(deltas),
    })
}

/// δ_{ab}, with its arguments in the one total order.
pub fn delta(a: Expr, b: Expr) -> Expr {
    if a <= b {
        Expr::new(Node::Delta(a, b))
    } else {
        Expr::new(Node::Delta(b, a))
    }
}

/// Whether the index name occurs free in `e`: as a symbol, in a subscript slot, or in the
/// bounds of a sum (a sum over it binds it in its body).
pub fn mentions(e: &Expr, index: &str) -> bool {
    let mut stack = vec![e];
    let mut seen = FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.clone()) {
            continue;
        }
        match x.node() {
            Node::Sym(s) => {
                if (s.sub().is_none() && s.name() == index)
                    || s.sub()
                        .is_some_and(|sub| slots(sub).iter().any(|t| t == index))
                {
                    return true;
                }
            }
            Node::Sum {
                index: i,
                lo,
                hi,
                body,
            } => {
                stack.push(lo);
                stack.push(hi);
                if i.name() != index {
                    stack.push(body);
                }
            }
            n => stack.extend(n.children()),
        }
    }
    false
}

/// The free index names of `e`, sorted: index slots of subscripts, and bare index letters
/// as arguments of a delta.
pub fn free_indices(e: &Expr) -> Vec<String> {
    let mut out = FxHashSet::default();
    collect_free(e, &mut Vec::new(), &mut out, 0);
    let mut v: Vec<String> = out.into_iter().collect();
    v.sort();
    v
}

fn collect_free(e: &Expr, bound: &mut Vec<String>, out: &mut FxHashSet<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match e.node() {
        // A bare letter is an index as a delta's argument; elsewhere (`b`, `n`) a variable.
        Node::Delta(a, b) => {
            for x in [a, b] {
                match x.as_sym() {
                    Some(s) if s.sub().is_none() && is_index_name(s.name()) => {
                        if !bound.iter().any(|b| b == s.name()) {
                            out.insert(s.name().to_owned());
                        }
                    }
                    _ => collect_free(x, bound, out, depth + 1),
                }
            }
        }
        Node::Sym(s) => {
            for i in symbol_indices(s) {
                if !bound.contains(&i) {
                    out.insert(i);
                }
            }
        }
        Node::Sum {
            index,
            lo,
            hi,
            body,
        } => {
            collect_free(lo, bound, out, depth + 1);
            collect_free(hi, bound, out, depth + 1);
            bound.push(index.name().to_owned());
            collect_free(body, bound, out, depth + 1);
            bound.pop();
        }
        n => {
            for c in n.children() {
                collect_free(c, bound, out, depth + 1);
            }
        }
    }
}

/// The order in which bound indices are named: `j` first, then letters less often free
/// (`i` and `k` are the usual free indices of a claim, as in ∂L/∂z_k), so that a canonical
/// Σ_j exp(z_j) reads as it is usually written.
const BOUND_ORDER: &[&str] = &[
    "j", "m", "n", "p", "q", "r", "s", "t", "i", "k", "l", "b", "c", "d",
];

/// The first index letter (in the order bound indices are named) for which `taken` is false.
pub fn fresh_index(taken: impl Fn(&str) -> bool) -> String {
    BOUND_ORDER
        .iter()
        .find(|l| !taken(l))
        .map(|l| (*l).to_owned())
        .unwrap_or_else(|| {
            (1..)
                .map(|n| format!("i{n}"))
                .find(|s| !taken(s))
                .unwrap_or_else(|| "i0".to_owned())
        })
}

/// `e` with the Kronecker deltas that a sum's index meets eliminated, bottom-up: Σ_m a_m·δ_{jm}
/// = a_j when the summand is a product with the factor δ_{jm} (or δ_{mj}) and j is another
/// index name or an integer (rule `sum-delta` of the canonical form, applied here to a
/// readable expression so that a value keeps its shape). Walks at most `MAX_DEPTH` levels;
/// deeper parts are left as they are.
pub fn eliminate_deltas(e: &Expr) -> Expr {
    rewrite_bottom_up(e, &eliminate_at)
}

/// `e` with `rule` applied to every node after its children, shared nodes once. Walks at
/// most [`MAX_DEPTH`] levels; deeper parts are left as they are.
fn rewrite_bottom_up(e: &Expr, rule: &dyn Fn(Expr) -> Expr) -> Expr {
    fn go(
        e: &Expr,
        rule: &dyn Fn(Expr) -> Expr,
        memo: &mut FxHashMap<Expr, Expr>,
        depth: usize,
    ) -> Expr {
        if depth > MAX_DEPTH || e.tree_size() == 1 {
            return e.clone();
        }
        if let Some(r) = memo.get(e) {
            return r.clone();
        }
        let r = rule(e.map_children(|c| go(c, rule, memo, depth + 1)));
        if e.is_shared() {
            memo.insert(e.clone(), r.clone());
        }
        r
    }
    go(e, rule, &mut FxHashMap::default(), 0)
}

/// The factors of a product, nested products flattened, in order (`e` itself if it is not
/// a product).
fn flat_factors(e: &Expr) -> Vec<Expr> {
    let mut fs = Vec::new();
    let mut pending = vec![e.clone()];
    while let Some(f) = pending.pop() {
        match f.node() {
            Node::Mul(inner) => pending.extend(inner.iter().rev().cloned()),
            _ => fs.push(f),
        }
    }
    fs
}

/// One step of [`eliminate_deltas`] at a node whose children are done.
fn eliminate_at(e2: Expr) -> Expr {
    match e2.node() {
        Node::Sum { index, body, .. } => {
            let i = index.name();
            let fs = flat_factors(body);
            let picked = match body.node() {
                Node::Mul(_) => fs.iter().enumerate().find_map(|(n, f)| {
                    let Node::Delta(a, b) = f.node() else {
                        return None;
                    };
                    let other = match (a.as_sym(), b.as_sym()) {
                        (Some(x), _) if x.sub().is_none() && x.name() == i => b,
                        (_, Some(y)) if y.sub().is_none() && y.name() == i => a,
                        _ => return None,
                    };
                    let value = match (other.as_sym(), other.as_num()) {
                        (Some(s), _) if s.sub().is_none() && s.name() != i => {
                            IndexValue::Name(s.name().to_owned())
                        }
                        (_, Some(v)) if v.is_integer() => {
                            IndexValue::Int(v.numer().try_into().ok()?)
                        }
                        _ => return None,
                    };
                    Some((n, value))
                }),
                _ => None,
            };
            match picked {
                Some((n, value)) => {
                    let rest: Vec<Expr> = fs
                        .iter()
                        .enumerate()
                        .filter(|(m, _)| *m != n)
                        .map(|(_, f)| f.clone())
                        .collect();
                    subst_index(&Expr::mul(rest), i, &value)
                }
                None => e2.clone(),
            }
        }
        _ => e2.clone(),
    }
}

/// `e` with the factors of each sum's summand that do not mention its index written before
/// the sum, bottom-up: Σ_k a_j·w_{kj}·δ_k = a_j·Σ_k w_{kj}·δ_k (rule `sum-linear` read back,
/// for a readable form). Walks at most `MAX_DEPTH` levels.
pub fn pull_out_factors(e: &Expr) -> Expr {
    rewrite_bottom_up(e, &|x| fold_product(&pull_at(x)))
}

/// One step of [`pull_out_factors`] at a node whose children are done.
fn pull_at(e2: Expr) -> Expr {
    match e2.node() {
        Node::Sum {
            index,
            lo,
            hi,
            body,
        } => match body.node() {
            Node::Mul(fs) => {
                let (inside, outside): (Vec<Expr>, Vec<Expr>) =
                    fs.iter().cloned().partition(|f| mentions(f, index.name()));
                if outside.is_empty() || inside.is_empty() {
                    e2.clone()
                } else {
                    let sum = Expr::new(Node::Sum {
                        index: index.clone(),
                        lo: lo.clone(),
                        hi: hi.clone(),
                        body: Expr::mul(inside),
                    });
                    Expr::mul(outside.into_iter().chain([sum]).collect())
                }
            }
            _ => e2.clone(),
        },
        _ => e2.clone(),
    }
}

/// A product with its nested products flattened and its numbers multiplied into one leading
/// number (dropped when it is 1): ½·(2·a·b) = a·b.
fn fold_product(e: &Expr) -> Expr {
    let Node::Mul(fs) = e.node() else {
        return e.clone();
    };
    if !fs
        .iter()
        .any(|f| matches!(f.node(), Node::Mul(_)) || f.as_num().is_some())
    {
        return e.clone();
    }
    let mut number = crate::expr::Rational::from_integer(1.into());
    let mut rest = Vec::with_capacity(fs.len());
    for f in flat_factors(e) {
        match f.as_num() {
            Some(n) => number *= n,
            None => rest.push(f),
        }
    }
    if number != crate::expr::Rational::from_integer(1.into()) {
        rest.insert(0, Expr::num(number));
    }
    Expr::mul(rest)
}

/// A value an index takes: another index name, or an integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexValue {
    /// An index name.
    Name(String),
    /// A concrete integer.
    Int(i64),
}

impl IndexValue {
    fn slot(&self) -> String {
        match self {
            IndexValue::Name(n) => n.clone(),
            IndexValue::Int(v) => v.to_string(),
        }
    }

    fn expr(&self) -> Expr {
        match self {
            IndexValue::Name(n) => Expr::var(n),
            IndexValue::Int(v) => Expr::int(*v),
        }
    }
}

/// `e` with the free index `from` replaced by `to` everywhere: in subscripts (`x_i` → `x_k`,
/// `w_{ij}` → `w_{2,j}`), as a symbol (δ_{ik} → δ_{2k}) and in sum bounds. A sum that binds
/// `from` is left alone inside; one that binds `to` is renamed first, so nothing is captured.
pub fn subst_index(e: &Expr, from: &str, to: &IndexValue) -> Expr {
    let mut memo = FxHashMap::default();
    subst_rec(e, from, to, &mut memo, 0)
}

fn subst_symbol(s: &Symbol, from: &str, to: &IndexValue) -> Option<Expr> {
    if s.sub().is_none() && s.name() == from {
        return Some(to.expr());
    }
    let sub = s.sub()?;
    let mut sl = slots(sub);
    if !sl.iter().any(|x| x == from) {
        return None;
    }
    for x in &mut sl {
        if x == from {
            *x = to.slot();
        }
    }
    Some(Expr::sym(Symbol::with_sub(
        s.name(),
        Some(&join_slots(&sl)),
    )))
}

fn subst_rec(
    e: &Expr,
    from: &str,
    to: &IndexValue,
    memo: &mut FxHashMap<Expr, Expr>,
    depth: usize,
) -> Expr {
    if depth > MAX_DEPTH {
        return e.clone();
    }
    if let Some(r) = memo.get(e) {
        return r.clone();
    }
    let res = match e.node() {
        Node::Sym(s) => subst_symbol(s, from, to).unwrap_or_else(|| e.clone()),
        Node::Sum {
            index,
            lo,
            hi,
            body,
        } => {
            let lo2 = subst_rec(lo, from, to, memo, depth + 1);
            let hi2 = subst_rec(hi, from, to, memo, depth + 1);
            if index.name() == from || !mentions(body, from) {
                // Bound here (or absent): the body is untouched.
                rebuild_sum(e, index.clone(), lo2, hi2, body.clone())
            } else if matches!(to, IndexValue::Name(n) if n == index.name()) {
                // `to` would be captured: rename the bound index first.
                let fresh = fresh_index(|c| {
                    c == from || c == index.name() || mentions(body, c) || c == to.slot()
                });
                let renamed = subst_index(body, index.name(), &IndexValue::Name(fresh.clone()));
                let mut inner = FxHashMap::default();
                let b2 = subst_rec(&renamed, from, to, &mut inner, depth + 1);
                Expr::new(Node::Sum {
                    index: Symbol::new(&fresh),
                    lo: lo2,
                    hi: hi2,
                    body: b2,
                })
            } else {
                let mut inner = FxHashMap::default();
                let b2 = subst_rec(body, from, to, &mut inner, depth + 1);
                rebuild_sum(e, index.clone(), lo2, hi2, b2)
            }
        }
        _ => e.map_children(|c| subst_rec(c, from, to, memo, depth + 1)),
    };
    memo.insert(e.clone(), res.clone());
    res
}

fn rebuild_sum(orig: &Expr, index: Symbol, lo: Expr, hi: Expr, body: Expr) -> Expr {
    if let Node::Sum {
        lo: l0,
        hi: h0,
        body: b0,
        ..
    } = orig.node()
    {
        if l0.ptr_eq(&lo) && h0.ptr_eq(&hi) && b0.ptr_eq(&body) {
            return orig.clone();
        }
    }
    Expr::new(Node::Sum {
        index,
        lo,
        hi,
        body,
    })
}

/// `e` with every sum whose bounds are integers written out as a sum of its terms and every
/// Kronecker delta of two integers evaluated; `max_terms` bounds the terms written out in all.
/// What is left indexed (free indices, symbolic bounds) stays as it is.
pub fn expand_concrete(e: &Expr, max_terms: usize) -> Result<Expr, LimitReached> {
    let mut budget = max_terms;
    expand_rec(e, &mut budget, &mut FxHashMap::default(), 0)
}

fn expand_rec(
    e: &Expr,
    budget: &mut usize,
    memo: &mut FxHashMap<Expr, Expr>,
    depth: usize,
) -> Result<Expr, LimitReached> {
    let limit = |at| LimitReached {
        which: LimitKind::Terms,
        at,
    };
    if depth > MAX_DEPTH {
        return Err(LimitReached {
            which: LimitKind::Depth,
            at: "writing out sums",
        });
    }
    if let Some(r) = memo.get(e) {
        return Ok(r.clone());
    }
    let res = match e.node() {
        Node::Sum {
            index,
            lo,
            hi,
            body,
        } => {
            let lo = expand_rec(lo, budget, memo, depth + 1)?;
            let hi = expand_rec(hi, budget, memo, depth + 1)?;
            match (as_int(&lo), as_int(&hi)) {
                (Some(a), Some(b)) => {
                    // In i128: b − a + 1 overflows i64 for bounds near ±2⁶³ (and wrapped
                    // to a count of 0, so the loop below ran over 2⁶⁴ terms).
                    let n = (i128::from(b) - i128::from(a) + 1).max(0);
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    if n > *budget {
                        return Err(limit("writing out sums (too many terms)"));
                    }
                    *budget -= n;
                    let mut terms = Vec::with_capacity(n);
                    // One memo for all terms: the expansion of a subterm depends only on the
                    // subterm, and the parts of the body free of the index (the Σ_j exp(z_j)
                    // of a softmax) are the same node in every term, written out once.
                    for v in a..=b {
                        let inst = subst_index(body, index.name(), &IndexValue::Int(v));
                        terms.push(expand_rec(&inst, budget, memo, depth + 1)?);
                    }
                    if terms.is_empty() {
                        Expr::zero()
                    } else {
                        Expr::add(terms)
                    }
                }
                _ => {
                    let body = expand_rec(body, budget, memo, depth + 1)?;
                    Expr::new(Node::Sum {
                        index: index.clone(),
                        lo,
                        hi,
                        body,
                    })
                }
            }
        }
        Node::Delta(a, b) => {
            let a = expand_rec(a, budget, memo, depth + 1)?;
            let b = expand_rec(b, budget, memo, depth + 1)?;
            match (as_int(&a), as_int(&b)) {
                (Some(x), Some(y)) => Expr::int(i64::from(x == y)),
                _ => Expr::new(Node::Delta(a, b)),
            }
        }
        _ => e.try_map_children(|c| expand_rec(c, budget, memo, depth + 1))?,
    };
    memo.insert(e.clone(), res.clone());
    Ok(res)
}

/// The integer value of a number node (sums of integers too, for bounds such as `C − 1 + 1`
/// after substitution).
pub fn as_int(e: &Expr) -> Option<i64> {
    use num_traits::ToPrimitive;
    match e.node() {
        Node::Num(r) if r.is_integer() => r.to_integer().to_i64(),
        Node::Add(xs) => xs
            .iter()
            .map(as_int)
            .try_fold(0i64, |acc, v| acc.checked_add(v?)),
        Node::Mul(xs) => xs
            .iter()
            .map(as_int)
            .try_fold(1i64, |acc, v| acc.checked_mul(v?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, sub: &str) -> Symbol {
        Symbol::with_sub(name, Some(sub))
    }

    #[test]
    fn subscripts_read_as_slots() {
        assert_eq!(slots("ij"), vec!["i", "j"]);
        assert_eq!(slots("oi"), vec!["o", "i"]);
        assert_eq!(slots("10"), vec!["10"]);
        assert_eq!(slots("10,j"), vec!["10", "j"]);
        assert_eq!(slots("previous"), vec!["previous"]);
        assert_eq!(slots("in"), vec!["in"]);
        assert_eq!(join_slots(&["10".into(), "j".into()]), "10,j");
        assert_eq!(join_slots(&["k".into(), "j".into()]), "kj");
    }

    /// Found by the hostile corpus: `w_{i,j,k,l}` at j = 1 was joined as `i1kl`, which reads
    /// back as one label, so every entry of the family became the same symbol.
    #[test]
    fn joined_slots_read_back_as_the_same_slots() {
        for sl in [
            vec!["i", "1", "k", "l"],
            vec!["1", "j", "k", "l", "m", "n", "p", "q"],
            vec!["i", "n"],
            vec!["1", "2"],
            vec!["o", "u", "t"],
        ] {
            let sl: Vec<String> = sl.into_iter().map(String::from).collect();
            assert_eq!(slots(&join_slots(&sl)), sl, "{sl:?}");
        }
        let e = Expr::sym(sym("w", "i,j,k,l"));
        let at = subst_index(&e, "j", &IndexValue::Int(1));
        assert_eq!(at, Expr::sym(sym("w", "i,1,k,l")));
        assert_ne!(
            subst_index(&at, "i", &IndexValue::Int(1)),
            subst_index(&at, "i", &IndexValue::Int(2))
        );
    }

    /// Found by the hostile corpus: the term count b − a + 1 of a sum over
    /// −(2⁶³ − 1)..2⁶³ − 1 overflowed (wrapped to 0 in release, so the loop ran on).
    #[test]
    fn sums_with_extreme_bounds_reach_the_term_limit() {
        let body = Expr::sym(sym("x", "i"));
        for (lo, hi) in [(-i64::MAX, i64::MAX), (i64::MIN, i64::MAX), (1, i64::MAX)] {
            let e = Expr::new(Node::Sum {
                index: Symbol::new("i"),
                lo: Expr::int(lo),
                hi: Expr::int(hi),
                body: body.clone(),
            });
            let r = expand_concrete(&e, 4_000);
            assert!(
                matches!(
                    r,
                    Err(LimitReached {
                        which: LimitKind::Terms,
                        ..
                    })
                ),
                "{lo}..{hi}: {r:?}"
            );
        }
    }

    #[test]
    fn derivative_of_entries_is_a_delta() {
        let d = symbol_derivative(&sym("x", "i"), &sym("x", "k"));
        assert_eq!(d, Some(delta(Expr::var("i"), Expr::var("k"))));
        assert_eq!(symbol_derivative(&sym("z", "o"), &sym("z", "h")), None);
        assert_eq!(symbol_derivative(&sym("x", "1"), &sym("x", "2")), None);
        assert_eq!(symbol_derivative(&sym("w", "oi"), &sym("w", "hi")), None);
        assert_eq!(
            symbol_derivative(&sym("w", "oi"), &sym("w", "oj")),
            Some(delta(Expr::var("i"), Expr::var("j")))
        );
        assert_eq!(symbol_derivative(&Symbol::new("o"), &sym("o", "1")), None);
    }

    #[test]
    fn substitution_avoids_capture() {
        // Σ_k x_k·y_i with i := k must not capture: Σ_j x_j·y_k.
        let body = Expr::mul(vec![Expr::sym(sym("x", "k")), Expr::sym(sym("y", "i"))]);
        let s = Expr::new(Node::Sum {
            index: Symbol::new("k"),
            lo: Expr::one(),
            hi: Expr::var("C"),
            body,
        });
        let r = subst_index(&s, "i", &IndexValue::Name("k".into()));
        assert_eq!(free_indices(&r), vec!["k".to_owned()]);
        assert!(mentions(&r, "k"));
    }

    #[test]
    fn concrete_sums_are_written_out() {
        let s = Expr::new(Node::Sum {
            index: Symbol::new("i"),
            lo: Expr::one(),
            hi: Expr::int(3),
            body: Expr::mul(vec![
                Expr::sym(sym("x", "i")),
                delta(Expr::var("i"), Expr::int(2)),
            ]),
        });
        let r = expand_concrete(&s, 100).expect("small");
        let env = |s: &Symbol| match s.sub() {
            Some("1") => Some(10.0),
            Some("2") => Some(20.0),
            Some("3") => Some(30.0),
            _ => None,
        };
        assert_eq!(crate::eval::eval_f64(&r, &env).ok(), Some(20.0));
        assert!(expand_concrete(&s, 2).is_err());
    }
}
