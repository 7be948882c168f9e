//! Mutation test: every claim of `derivations/` is mutated mechanically (sign, factor,
//! exponent, swapped symbols, dropped factor, dropped term). Every original must check correct
//! and every mutant that really changes the value must be flagged incorrect. A mutant whose
//! value equals the original at every probe point (an equivalent mutant, e.g. swapping the
//! symbols of a symmetric expression) is counted and skipped; the oracle for that is plain
//! f64 evaluation, independent of the checker's canonical forms. Sign and factor mutants must
//! also get their hint ("the sign is flipped", "off by a constant factor of 2"). The counts
//! per kind are printed (`--nocapture`) and have minimums, so the test cannot shrink silently.

use std::collections::BTreeMap;
use std::path::Path;

use derivcheck::check::{CheckConfig, Checker, Hint, Verdict};
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

/// The free symbols of the bounds of the sums in `e`.
fn sum_bounds(e: &Expr) -> Vec<Symbol> {
    let mut out = Vec::new();
    if let Node::Sum { lo, hi, .. } = e.node() {
        out.extend(lo.free_symbols());
        out.extend(hi.free_symbols());
    }
    for c in e.node().children() {
        out.extend(sum_bounds(c));
    }
    out
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
    // Sizes (the bounds of sums) and indices are not swapped with entries: Σ_{k=1}^{o_k} and
    // δ_{O_k k} are malformed input, not slips.
    let sizes = sum_bounds(rhs);
    let syms: Vec<Symbol> = rhs
        .free_symbols()
        .into_iter()
        .filter(|s| !sizes.contains(s))
        // Bare index letters (the i, k of δ_{ik}) are indices, not entries.
        .filter(|s| s.sub().is_some() || !derivcheck::index::is_index_name(s.name()))
        .collect();
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
        // Resolve again after expanding: a definition may hold a prime (`σ'(z1_i)`).
        let (r, _) = derivcheck::diff::resolve(e, &checker.diff_ctx()).ok()?;
        let x = p.expand(&r, 100_000).ok()?;
        let (r, _) = derivcheck::diff::resolve(&x, &checker.diff_ctx()).ok()?;
        p.expand(&r, 100_000).ok()
    };
    let (Some(a), Some(b)) = (prep(a), prep(b)) else {
        return false;
    };
    // In index notation: equal at size 3 for every value of the free indices (δ_{ik}·O_k and
    // δ_{ik}·O_i are one value).
    let mut free = derivcheck::index::free_indices(&a);
    free.extend(derivcheck::index::free_indices(&b));
    free.sort();
    free.dedup();
    let sizes: Vec<Symbol> = sum_bounds(&a).into_iter().chain(sum_bounds(&b)).collect();
    if !free.is_empty() || !sizes.is_empty() {
        let table = sizes
            .iter()
            .map(|s| (Expr::sym(s.clone()), Expr::int(3)))
            .collect();
        let n = free.len().min(3) as u32;
        return (0..3usize.pow(n)).all(|code| {
            let at = |e: &Expr| {
                let mut x = e.replace_all(&table);
                for (pos, i) in free.iter().enumerate() {
                    let v = (code / 3usize.pow(pos as u32)) % 3 + 1;
                    x = derivcheck::index::subst_index(
                        &x,
                        i,
                        &derivcheck::index::IndexValue::Int(v as i64),
                    );
                }
                derivcheck::index::expand_concrete(&x, 10_000).ok()
            };
            match (at(&a), at(&b)) {
                (Some(x), Some(y)) => scalar_equal(&x, &y),
                _ => false,
            }
        });
    }
    scalar_equal(&a, &b)
}

/// Whether two scalar expressions agree at every probe point where both are defined.
fn scalar_equal(a: &Expr, b: &Expr) -> bool {
    let (a, b) = (a.clone(), b.clone());
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

/// Per mutation kind: mutants generated, flagged incorrect, skipped as equivalent.
#[derive(Default, Debug)]
struct Counts {
    generated: usize,
    flagged: usize,
    equivalent: usize,
}

/// The hint a mutant of a kind must get, when the kind has one slip: a negated claim has its
/// sign flipped, a doubled one is off by a factor of 2.
fn expected_hint(kind: &str, hint: Option<&Hint>) -> Result<(), String> {
    let two = derivcheck::expr::Rational::from_integer(2.into());
    match (kind, hint) {
        ("sign", Some(Hint::SignFlipped)) => Ok(()),
        ("factor", Some(Hint::Factor(q))) if *q == two => Ok(()),
        ("sign" | "factor", h) => Err(format!("{kind} mutant hinted {h:?}")),
        _ => Ok(()),
    }
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
    let mut originals = 0;
    let mut counts: BTreeMap<&'static str, Counts> = BTreeMap::new();
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
                let n = counts.entry(kind).or_default();
                n.generated += 1;
                if numerically_equal(&loaded.program, &checker, &c.rhs, &m) {
                    eprintln!("equivalent {kind} mutant: {} ~ {m}", c.rhs);
                    n.equivalent += 1;
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
                if let Err(e) = expected_hint(kind, o.hint.as_ref()) {
                    panic!("{}: {} = {m}: {e}", path.display(), c.lhs);
                }
                n.flagged += 1;
            }
        }
    }
    let flagged: usize = counts.values().map(|n| n.flagged).sum();
    let generated: usize = counts.values().map(|n| n.generated).sum();
    eprintln!(
        "mutation test: {originals} claims correct, {generated} mutants, {flagged} flagged incorrect"
    );
    for (kind, n) in &counts {
        eprintln!(
            "  {kind:<12} {:>4} generated {:>4} flagged {:>3} equivalent (skipped)",
            n.generated, n.flagged, n.equivalent
        );
    }
    // The library and the mutation operators must not shrink silently: at least 50 claims,
    // 240 flagged mutants, and every kind of mutation applied and flagged many times.
    assert!(originals >= 50, "only {originals} claims");
    assert!(flagged >= 240, "only {flagged} mutants flagged");
    for kind in [
        "sign",
        "factor",
        "exponent",
        "swap",
        "drop-factor",
        "drop-term",
    ] {
        let n = counts.get(kind).map(|n| n.flagged).unwrap_or(0);
        assert!(n >= 10, "only {n} {kind} mutants flagged");
    }
}

/// Every step of every library derivation, negated in turn: that step must be reported as the
/// first wrong step, the steps before it correct, and every later step (each equal to the
/// start, the derivation being right) as a compensating error naming that step.
#[test]
fn a_negated_step_is_the_first_wrong_one_and_later_steps_are_compensating_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("derivations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dc"))
        .collect();
    paths.sort();
    let config = CheckConfig::default();
    let (mut derivations, mut mutated, mut compensating) = (0, 0, 0);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let loaded = load(
            &SourceFile::new(path.display().to_string(), text),
            &Limits::default(),
        );
        let context: Vec<Item> = loaded
            .program
            .items
            .iter()
            .filter(|i| matches!(i, Item::Def(_) | Item::Assume(_) | Item::Depends(_)))
            .cloned()
            .collect();
        for item in &loaded.program.items {
            let Item::Derive(d) = item else { continue };
            derivations += 1;
            for k in 0..d.steps.len() {
                let mut wrong = d.clone();
                let Some(step) = wrong.steps.get_mut(k) else {
                    continue;
                };
                step.expr = Expr::neg(step.expr.clone());
                let program = Program {
                    items: context
                        .iter()
                        .cloned()
                        .chain([Item::Derive(wrong)])
                        .collect(),
                    ..Program::default()
                };
                let reports = Checker::new(&program, &config).check_program();
                let at = |i: usize| {
                    format!(
                        "{}: derivation of {}, step {} negated, report of step {}",
                        path.display(),
                        d.start,
                        k + 1,
                        i + 1
                    )
                };
                assert_eq!(reports.len(), d.steps.len(), "{}", at(k));
                for (i, r) in reports.iter().enumerate() {
                    let note = r.chain_note.clone().unwrap_or_default();
                    match i.cmp(&k) {
                        std::cmp::Ordering::Less => assert!(
                            r.outcome.verdict.is_correct() && r.chain_note.is_none(),
                            "{}: {:?} {note:?}",
                            at(i),
                            r.outcome.verdict
                        ),
                        std::cmp::Ordering::Equal => assert!(
                            matches!(r.outcome.verdict, Verdict::Incorrect(_))
                                && note.contains("first wrong step"),
                            "{}: {:?} {note:?}",
                            at(i),
                            r.outcome.verdict
                        ),
                        std::cmp::Ordering::Greater => {
                            assert!(
                                note.contains("compensating error")
                                    && note.contains(&format!("step {}", k + 1)),
                                "{}: {note:?}",
                                at(i)
                            );
                            compensating += 1;
                        }
                    }
                }
                mutated += 1;
            }
        }
    }
    eprintln!(
        "step mutation: {derivations} derivations, {mutated} negated steps flagged first wrong, \
         {compensating} later steps reported as compensating errors"
    );
    assert!(derivations >= 39 && mutated >= 100 && compensating >= 100);
}
