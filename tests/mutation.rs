//! Mutation test: every claim of `derivations/` is mutated mechanically (sign, factor,
//! exponent, swapped symbols, dropped factor, dropped term). Every original must check correct
//! and every mutant that really changes the value must be flagged incorrect. A mutant whose
//! value equals the original at every probe point (an equivalent mutant, e.g. swapping the
//! symbols of a symmetric expression) is counted and skipped; the oracle for that is plain
//! f64 evaluation, independent of the checker's canonical forms.

use std::path::Path;

use derivcheck::check::{CheckConfig, Checker, Verdict};
use derivcheck::eval::eval_f64;
use derivcheck::expr::{Expr, Node, Symbol};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::program::{Item, Program};
use derivcheck::source::SourceFile;

fn first_map(e: &Expr, f: &dyn Fn(&Expr) -> Option<Expr>) -> Option<Expr> {
    if let Some(r) = f(e) {
        return Some(r);
    }
    let children: Vec<Expr> = e.node().children().cloned().collect();
    for (i, c) in children.iter().enumerate() {
        if let Some(new) = first_map(c, f) {
            let mut k = 0;
            return Some(e.map_children(|x| {
                let out = if k == i { new.clone() } else { x.clone() };
                k += 1;
                out
            }));
        }
    }
    None
}

fn swap(e: &Expr, a: &Symbol, b: &Symbol) -> Expr {
    match e.node() {
        Node::Sym(s) if s == a => Expr::sym(b.clone()),
        Node::Sym(s) if s == b => Expr::sym(a.clone()),
        _ => e.map_children(|c| swap(c, a, b)),
    }
}

fn mutants(rhs: &Expr) -> Vec<(&'static str, Expr)> {
    let mut out = vec![
        ("sign", Expr::neg(rhs.clone())),
        ("factor", Expr::mul(vec![Expr::int(2), rhs.clone()])),
    ];
    if let Some(m) = first_map(rhs, &|e| match e.node() {
        Node::Pow(b, x) => x.as_num().map(|n| {
            Expr::pow(
                b.clone(),
                Expr::num(n + derivcheck::expr::Rational::from_integer(1.into())),
            )
        }),
        _ => None,
    }) {
        out.push(("exponent", m));
    }
    let syms = rhs.free_symbols();
    if let [a, b, ..] = syms.as_slice() {
        out.push(("swap", swap(rhs, a, b)));
    }
    if let Some(m) = first_map(rhs, &|e| match e.node() {
        Node::Mul(fs) if fs.len() >= 2 => {
            let kept: Vec<Expr> = fs[..fs.len() - 1].to_vec();
            Some(if kept.len() == 1 {
                kept[0].clone()
            } else {
                Expr::mul(kept)
            })
        }
        _ => None,
    }) {
        out.push(("drop-factor", m));
    }
    if let Some(m) = first_map(rhs, &|e| match e.node() {
        Node::Add(ts) if ts.len() >= 2 => {
            let kept: Vec<Expr> = ts[..ts.len() - 1].to_vec();
            Some(if kept.len() == 1 {
                kept[0].clone()
            } else {
                Expr::add(kept)
            })
        }
        _ => None,
    }) {
        out.push(("drop-term", m));
    }
    out
}

/// Whether `a` and `b` (after expanding definitions) agree at every probe point where both
/// are defined.
fn numerically_equal(p: &Program, checker: &Checker, a: &Expr, b: &Expr) -> bool {
    let prep = |e: &Expr| -> Option<Expr> {
        let (r, _) = derivcheck::diff::resolve(e, &checker.diff_ctx()).ok()?;
        p.expand(&r, 100_000).ok()
    };
    let (Some(a), Some(b)) = (prep(a), prep(b)) else {
        return false;
    };
    let mut syms = a.free_symbols();
    syms.extend(b.free_symbols());
    let mut defined = 0;
    for k in 0..64 {
        let env = |s: &Symbol| {
            let i = syms.iter().position(|t| t == s)? as f64;
            // Probe values in (−2.5, 2.5) for even points and (−12, 12) for odd ones,
            // different per symbol and per point; points where an expression is undefined
            // (log of a negative) are skipped.
            let width = if k % 2 == 0 { 5.0 } else { 24.0 };
            Some(width * (((k as f64 * 0.618_034 + i * 0.414_213 + 0.1) % 1.0) - 0.5))
        };
        match (eval_f64(&a, &env), eval_f64(&b, &env)) {
            (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
                defined += 1;
                if (x - y).abs() > 1e-9 * (1.0 + x.abs().max(y.abs())) {
                    return false;
                }
            }
            _ => {}
        }
    }
    defined > 0
}

#[test]
fn every_mutant_of_every_library_claim_is_flagged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("derivations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dc"))
        .collect();
    paths.sort();
    let (mut originals, mut flagged, mut equivalent) = (0, 0, 0);
    let config = CheckConfig::default();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let loaded = load(
            &SourceFile::new(path.display().to_string(), text),
            &Limits::default(),
        );
        let checker = Checker::new(&loaded.program, &config);
        for item in &loaded.program.items {
            let Item::Claim(c) = item else { continue };
            originals += 1;
            let o = checker.check_equal(&c.lhs, &c.rhs);
            assert!(
                o.verdict.is_correct(),
                "{}: original claim {} = {} not correct",
                path.display(),
                c.lhs,
                c.rhs
            );
            for (kind, m) in mutants(&c.rhs) {
                if numerically_equal(&loaded.program, &checker, &c.rhs, &m) {
                    eprintln!("equivalent {kind} mutant: {} ~ {m}", c.rhs);
                    equivalent += 1;
                    continue;
                }
                let o = checker.check_equal(&c.lhs, &m);
                assert!(
                    matches!(o.verdict, Verdict::Incorrect(_)),
                    "{}: {kind} mutant {m} of {} was {:?}",
                    path.display(),
                    c.rhs,
                    o.verdict
                );
                flagged += 1;
            }
        }
    }
    eprintln!("mutation test: {originals} claims correct, {flagged} mutants flagged, {equivalent} equivalent mutants skipped");
    assert!(
        originals >= 30 && flagged >= 100,
        "{originals} claims, {flagged} mutants"
    );
}
