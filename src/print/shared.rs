//! Printing with names for shared subterms: `expr where u₁ = …, u₂ = …`.
//!
//! Derivatives of deep compositions are DAGs whose shared parts are repeated when printed as a
//! tree: the derivative of σ(w₃·σ(w₂·σ(w₁·x + b₁) + b₂) + b₃) holds each inner activation in
//! several factors, so the printed size grows with the square of the depth although the DAG
//! grows linearly. A person writes such a result with names for the inner quantities; so does
//! this printer. Every subterm that occurs more than once and is not tiny gets a name, inner
//! ones first, and each is printed once, so the printed size is linear in the DAG.
//!
//! The names are `u` with a subscript (`u₁`, `u_1` in ASCII), or another letter when the
//! expression already uses `u`. Nothing here changes the expression: substituting the names
//! back gives the same `Expr`.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{to_string, Format, PrintOptions};
use crate::expr::{Expr, Node, Symbol};

/// Subterms smaller than this (as a tree) are printed in place even when shared: naming
/// `σ(z)` or `1 − a` would not save anything.
const MIN_NAMED_SIZE: u64 = 8;

/// Most names introduced (a bound on the `where` list).
const MAX_NAMES: usize = 200;

/// `e` with names for its shared subterms: the expression over the names, and the named
/// subterms in definition order (each may use the names before it).
pub fn name_shared(e: &Expr) -> (Expr, Vec<(Symbol, Expr)>) {
    // Parents per node, counting each distinct parent edge once per occurrence in the DAG.
    let mut uses: FxHashMap<Expr, usize> = FxHashMap::default();
    let mut order: Vec<Expr> = Vec::new();
    let mut seen: FxHashSet<Expr> = FxHashSet::default();
    // Iterative post-order over the DAG.
    let mut stack: Vec<(Expr, bool)> = vec![(e.clone(), false)];
    while let Some((x, expanded)) = stack.pop() {
        if expanded {
            order.push(x);
            continue;
        }
        if !seen.insert(x.clone()) {
            continue;
        }
        stack.push((x.clone(), true));
        for c in x.node().children() {
            *uses.entry(c.clone()).or_insert(0) += 1;
            stack.push((c.clone(), false));
        }
    }
    let letter = free_letter(e);
    let mut names: FxHashMap<Expr, Expr> = FxHashMap::default();
    let mut defs: Vec<(Symbol, Expr)> = Vec::new();
    for x in &order {
        let shared = uses.get(x).copied().unwrap_or(0) >= 2;
        if !shared || x.tree_size() < MIN_NAMED_SIZE || defs.len() >= MAX_NAMES || x == e {
            continue;
        }
        if matches!(x.node(), Node::Sym(_) | Node::Num(_) | Node::Const(_)) {
            continue;
        }
        let body = replace(x, &names);
        let sym = Symbol::with_sub(letter, Some(&(defs.len() + 1).to_string()));
        names.insert(x.clone(), Expr::sym(sym.clone()));
        defs.push((sym, body));
    }
    let top = replace(e, &names);
    (top, defs)
}

/// `e` with the named subterms below it replaced by their names (`e` itself is kept: a
/// definition's body is not its own name).
fn replace(e: &Expr, names: &FxHashMap<Expr, Expr>) -> Expr {
    e.map_children(|c| c.replace_all(names))
}

/// A letter for the names that the expression does not use as a symbol name.
fn free_letter(e: &Expr) -> &'static str {
    let used: Vec<Symbol> = e.free_symbols();
    ["u", "v", "t", "s", "q", "r"]
        .into_iter()
        .find(|l| used.iter().all(|s| s.name() != *l))
        .unwrap_or("ξ")
}

/// `e` printed with a `where` list when naming shared subterms makes it shorter; otherwise as
/// `to_string` prints it.
pub fn to_string_named(e: &Expr, format: Format, opts: &PrintOptions) -> String {
    let plain = to_string(e, format, opts);
    let (top, defs) = name_shared(e);
    if defs.is_empty() {
        return plain;
    }
    let mut out = to_string(&top, format, opts);
    let (where_word, sep) = match format {
        Format::Latex => ("\\quad\\text{where } ", ",\\ "),
        _ => ("  where ", "\n        "),
    };
    out.push('\n');
    out.push_str(where_word);
    for (i, (name, body)) in defs.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&to_string(&Expr::sym(name.clone()), format, opts));
        out.push_str(" = ");
        out.push_str(&to_string(body, format, opts));
    }
    if out.chars().count() < plain.chars().count() {
        out
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Builtin;

    fn deep(depth: usize) -> Expr {
        let mut e = Expr::var("x");
        for k in 1..=depth {
            let w = Expr::sym(Symbol::with_sub("w", Some(&k.to_string())));
            let b = Expr::sym(Symbol::with_sub("b", Some(&k.to_string())));
            e = Expr::call(
                Builtin::Sigmoid,
                vec![Expr::add(vec![Expr::mul(vec![w, e]), b])],
            );
        }
        e
    }

    /// Substitutes the definitions back, last first.
    fn expand(top: &Expr, defs: &[(Symbol, Expr)]) -> Expr {
        let mut e = top.clone();
        for (name, body) in defs.iter().rev() {
            e = crate::program::substitute(
                &e,
                std::slice::from_ref(name),
                std::slice::from_ref(body),
            );
        }
        e
    }

    #[test]
    fn names_expand_back_to_the_expression() {
        let e = Expr::mul(vec![
            deep(4),
            Expr::add(vec![Expr::one(), deep(4)]),
            deep(3),
        ]);
        let (top, defs) = name_shared(&e);
        assert!(!defs.is_empty());
        assert_eq!(expand(&top, &defs), e);
    }

    #[test]
    fn printed_size_grows_linearly_with_depth() {
        let size = |n: usize| {
            let d = crate::api::diff(&deep(n), &Symbol::new("x"), &Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            to_string_named(&d.expr, Format::Ascii, &PrintOptions { width: usize::MAX })
                .chars()
                .count()
        };
        // Doubling the depth doubles the levels; subscripts grow a digit (w₉ → w₁₀), so a
        // little more than twice, never four times as a tree print does.
        let (s8, s16, s32) = (size(8), size(16), size(32));
        assert!(s16 * 10 <= s8 * 24, "{s8} {s16}");
        assert!(s32 * 10 <= s16 * 24, "{s16} {s32}");
    }

    #[test]
    fn small_expressions_print_as_they_are() {
        let e = Expr::mul(vec![Expr::var("a"), Expr::var("a")]);
        assert_eq!(
            to_string_named(&e, Format::Ascii, &PrintOptions::default()),
            "a*a"
        );
    }
}
