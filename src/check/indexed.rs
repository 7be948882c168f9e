//! Numeric evidence for claims in index notation: instantiate the sizes and the free indices,
//! write the sums out, and check the scalar equality that results at each instance.
//!
//! A claim such as ∂L/∂z_k = O_k − y_k, with sums over 1..C, is not proved by a finite set of
//! sizes, so what this module returns is evidence, and the verdict says so: "equal at sizes
//! C = 1, 2, 3, 4, 5 and every k ≤ 3". A counterexample names the sizes, the index values and
//! the values of the entries (C = 2, k = 1, z_1 = 1/2, …).
//!
//! - Size symbols are the free symbols of sum bounds (C in Σ_{j=1}^{C}); each takes 1 to 5.
//! - A free index takes every value from 1 to the size of the sums it meets (the index
//!   convention of `simplify::canon::sums`), at most 3; an index that meets no sum ranges over
//!   1..3.
//! - `assume` facts about entries (`0 < O_i < 1`, `y_i ∈ {0, 1}`) hold for every entry; a fact
//!   `Σ_i y_i = 1` is met by eliminating the last entry (y_C = 1 − y_1 − … ), and the facts
//!   about that entry are then checked through its value.
//!
//! Deliberately not here: the symbolic side of sums (`simplify::canon::sums`), index slots
//! (`index`).

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Checker, Counterexample, Evidence, Hint, Outcome, Verdict};
use crate::assume::Domain;
use crate::expr::{Expr, Node, Rational, Symbol};
use crate::index::{self, IndexValue};
use crate::limits::Deadline;
use crate::limits::LimitReached;
use crate::program::DefKind;
use crate::program::Fact;
use crate::simplify::canon::poly::Poly;
use crate::simplify::canon::ratfunc::RatFunc;
use crate::simplify::canon::Canonicalizer;

/// Terms written out per side and instance.
const MAX_TERMS: usize = 4_000;
/// Instances checked per claim.
const MAX_INSTANCES: usize = 24;

/// Whether an expression needs index instantiation: a sum, a delta, or a free index.
pub(super) fn needs_instances(e: &Expr) -> bool {
    let mut stack = vec![e];
    let mut seen = FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.clone()) {
            continue;
        }
        match x.node() {
            Node::Sum { .. } | Node::Delta(..) => return true,
            // A bare letter (`b`, `n`, `p`) is a variable here; it is an index only as the
            // argument of a delta or inside a sum, and those are caught above.
            Node::Sym(s) => {
                if !index::symbol_indices(s).is_empty() {
                    return true;
                }
            }
            n => stack.extend(n.children()),
        }
    }
    false
}

/// The sizes of one size set, the ranges of the free indices there, and the number of
/// assignments of those indices.
type SizeSet = (Vec<(Symbol, i64)>, Vec<i64>, u128);

/// One assignment of sizes and free indices.
#[derive(Debug, Clone)]
struct Instance {
    sizes: Vec<(Symbol, i64)>,
    indices: Vec<(String, i64)>,
}

impl Instance {
    fn describe(&self) -> String {
        self.sizes
            .iter()
            .map(|(s, v)| format!("{} = {v}", crate::print::unicode(&Expr::sym(s.clone()))))
            .chain(self.indices.iter().map(|(i, v)| format!("{i} = {v}")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `e` at this instance: sizes and indices substituted, sums written out.
    fn apply(&self, e: &Expr) -> Result<Expr, LimitReached> {
        // A size written as an index letter (Σ_{j=1}^{k}) is substituted like an index, so
        // that a sum binding the same letter elsewhere keeps its own.
        let (letters, others): (Vec<_>, Vec<_>) = self
            .sizes
            .iter()
            .partition(|(s, _)| s.sub().is_none() && index::is_index_name(s.name()));
        let table: FxHashMap<Expr, Expr> = others
            .iter()
            .map(|(s, v)| (Expr::sym(s.clone()), Expr::int(*v)))
            .collect();
        let mut x = e.replace_all(&table);
        for (s, v) in letters {
            x = index::subst_index(&x, s.name(), &IndexValue::Int(*v));
        }
        for (i, v) in &self.indices {
            x = index::subst_index(&x, i, &IndexValue::Int(*v));
        }
        index::expand_concrete(&x, MAX_TERMS)
    }
}

/// The size symbols of `e` (free symbols of sum bounds) and, per free index, the size symbol
/// of a sum over the same slot of the same family, when there is one.
fn sizes_and_links(exprs: &[&Expr]) -> (Vec<Symbol>, FxHashMap<String, Vec<Symbol>>) {
    let mut sizes = Vec::new();
    // (family, slot position) → size symbol of a sum over that slot.
    let mut slot_size: FxHashMap<(String, usize), Symbol> = FxHashMap::default();
    // Each node with the index letters bound around it: a bound letter in an inner sum's
    // bounds (the i of Σ_i Σ_{j=1}^{i}) is not a size.
    let mut stack: Vec<(Expr, Vec<String>)> =
        exprs.iter().map(|e| ((*e).clone(), Vec::new())).collect();
    let mut seen = FxHashSet::default();
    while let Some((x, bound_here)) = stack.pop() {
        if !seen.insert((x.clone(), bound_here.clone())) {
            continue;
        }
        if let Node::Sum {
            index: i,
            lo,
            hi,
            body,
        } = x.node()
        {
            let bound: Vec<Symbol> = lo
                .free_symbols()
                .into_iter()
                .chain(hi.free_symbols())
                .filter(|s| s.sub().is_some() || !bound_here.iter().any(|b| b == s.name()))
                .collect();
            for s in &bound {
                if !sizes.contains(s) {
                    sizes.push(s.clone());
                }
            }
            if let Some(size) = hi.as_sym() {
                for (family, pos) in slot_uses(body, i.name()) {
                    slot_size
                        .entry((family, pos))
                        .or_insert_with(|| size.clone());
                }
            }
            stack.push((lo.clone(), bound_here.clone()));
            stack.push((hi.clone(), bound_here.clone()));
            let mut inner = bound_here;
            inner.push(i.name().to_owned());
            stack.push((body.clone(), inner));
            continue;
        }
        stack.extend(x.node().children().map(|c| (c.clone(), bound_here.clone())));
    }
    sizes.sort();
    let mut links: FxHashMap<String, Vec<Symbol>> = FxHashMap::default();
    let mut free = Vec::new();
    for e in exprs {
        free.extend(index::free_indices(e));
    }
    for i in free {
        for e in exprs {
            for (family, pos) in slot_uses(e, &i) {
                if let Some(size) = slot_size.get(&(family, pos)) {
                    let linked = links.entry(i.clone()).or_default();
                    if !linked.contains(size) {
                        linked.push(size.clone());
                    }
                }
            }
        }
    }
    (sizes, links)
}

/// The family of an entry: its name and its label slots, with each index or number slot as
/// `*` (`a_{ℓ−1,k}` → `a|ℓ-1,*`): `a_{ℓ,j}` and `a_{ℓ−1,i}`, or `w_{oi}` and `w_{hi}`, are
/// different families with different sizes.
fn family_key(s: &Symbol) -> String {
    let slots: Vec<String> = s
        .sub()
        .map(index::slots)
        .unwrap_or_default()
        .into_iter()
        .map(|x| {
            if index::is_index_name(&x) || (!x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
            {
                "*".to_owned()
            } else {
                x
            }
        })
        .collect();
    format!("{}|{}", s.name(), slots.join(","))
}

/// The (family, slot position) pairs where `index` occurs in subscripts of `e`.
fn slot_uses(e: &Expr, index: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![e.clone()];
    let mut seen = FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.clone()) {
            continue;
        }
        if let Node::Sym(s) = x.node() {
            if let Some(sub) = s.sub() {
                for (pos, slot) in index::slots(sub).iter().enumerate() {
                    if slot == index {
                        out.push((family_key(s), pos));
                    }
                }
            }
        }
        stack.extend(x.node().children().cloned());
    }
    out
}

/// The instances to check: every size from 1 to 5 (several size symbols: equal sizes 1 to 4
/// and a few unequal pairs), and every value of the free indices up to 3.
fn instances(l: &Expr, r: &Expr) -> Vec<Instance> {
    let (sizes, links) = sizes_and_links(&[l, r]);
    let mut free = index::free_indices(l);
    free.extend(index::free_indices(r));
    free.sort();
    free.dedup();
    // Sizes that are also free indices (a bound written as `k`) are sizes.
    free.retain(|i| !sizes.iter().any(|s| s.sub().is_none() && s.name() == i));
    let size_sets: Vec<Vec<i64>> = match sizes.len() {
        0 => vec![Vec::new()],
        // Size 1 last but for 4 and 5: a counterexample at C = 1 is degenerate (one class).
        1 => [2, 3, 1, 4, 5].into_iter().map(|v| vec![v]).collect(),
        n => {
            let mut sets: Vec<Vec<i64>> = [2, 3, 1, 4].into_iter().map(|v| vec![v; n]).collect();
            for k in 0..n {
                let mut a = vec![2; n];
                if let Some(x) = a.get_mut(k) {
                    *x = 3;
                }
                sets.push(a);
            }
            sets
        }
    };
    // Each size set with its ranges of the free indices; the instances are numbered across
    // all sets (odometer order, the first index fastest) and only every `step`-th one is
    // built: 14 free indices are 3¹⁴ ≈ 4.8 million assignments, too many to list.
    let mut per_set: Vec<SizeSet> = Vec::new();
    for set in size_sets {
        let assigned: Vec<(Symbol, i64)> = sizes.iter().cloned().zip(set.iter().copied()).collect();
        let smallest = set.iter().copied().min().unwrap_or(3);
        let ranges: Vec<i64> = free
            .iter()
            .map(|i| {
                // An index linked to several sizes stays inside all of them.
                let linked = links.get(i).and_then(|sizes| {
                    sizes
                        .iter()
                        .filter_map(|s| assigned.iter().find(|(t, _)| t == s).map(|(_, v)| *v))
                        .min()
                });
                linked.unwrap_or(smallest).clamp(1, 3)
            })
            .collect();
        let count = ranges
            .iter()
            .try_fold(1u128, |acc, r| acc.checked_mul(u128::try_from(*r).ok()?))
            .unwrap_or(u128::MAX);
        per_set.push((assigned, ranges, count));
    }
    let total = per_set
        .iter()
        .fold(0u128, |acc, (_, _, c)| acc.saturating_add(*c));
    // Spread the instances over the sizes when there are too many.
    let max = MAX_INSTANCES as u128;
    let step = if total > max { total.div_ceil(max) } else { 1 };
    let mut out = Vec::new();
    let mut start = 0u128;
    let mut next = 0u128;
    for (assigned, ranges, count) in &per_set {
        while next < start.saturating_add(*count) && out.len() < MAX_INSTANCES {
            // Digits of `next − start` in the mixed radix of the ranges.
            let mut rest = next - start;
            let values = ranges.iter().map(|r| {
                let r = u128::try_from(*r).unwrap_or(1).max(1);
                let v = rest % r;
                rest /= r;
                i64::try_from(v).unwrap_or(0) + 1
            });
            out.push(Instance {
                sizes: assigned.clone(),
                indices: free.iter().cloned().zip(values).collect(),
            });
            next = next.saturating_add(step);
        }
        start = start.saturating_add(*count);
    }
    out
}

impl Checker<'_> {
    /// Checks `l = r` (prepared: derivatives taken, definitions expanded) at instances of
    /// sizes and indices. Called when no canonical proof was found.
    pub(super) fn check_instances(&self, lhs: &Expr, rhs: &Expr, l: &Expr, r: &Expr) -> Outcome {
        let insts = instances(l, r);
        let mut points = 0usize;
        let mut proved_sizes = 0usize;
        let mut undecided: Option<String> = None;
        // One `timeout_per_step` for all the instances together: each instance's check gets
        // what is left of it (24 instances each given the whole timeout took 24 times as
        // long). Past it, the claim is undecided, naming how many instances were checked.
        let budget = self.config.limits.timeout_per_step;
        let start = std::time::Instant::now();
        let deadline = Deadline::after(budget);
        for (done, inst) in insts.iter().enumerate() {
            if let Err(e) = deadline.check("checking instances of the sizes and indices") {
                undecided.get_or_insert(format!("{e} after {done} of {} instances", insts.len()));
                break;
            }
            let mut config = self.config.clone();
            config.limits.timeout_per_step = budget
                .saturating_sub(start.elapsed())
                .max(std::time::Duration::from_millis(1));
            let (li, ri) = match (inst.apply(l), inst.apply(r)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    let at = inst.describe();
                    undecided.get_or_insert(if at.is_empty() {
                        e.to_string()
                    } else {
                        format!("{e} at {at}")
                    });
                    continue;
                }
            };
            if needs_instances(&li) || needs_instances(&ri) {
                undecided.get_or_insert(format!(
                    "an index or sum is left after instantiating {}",
                    inst.describe()
                ));
                continue;
            }
            let (domain, elim) = self.instance_domain(inst);
            let (li, ri) = (li.replace_all(&elim), ri.replace_all(&elim));
            let sub = Checker {
                program: self.program,
                domain,
                aliases: self.aliases.clone(),
                config: &config,
                sum_facts: Vec::new(),
                quantities: self.quantities,
                prepared: std::cell::RefCell::new(FxHashMap::default()),
                fact_symbols: std::cell::RefCell::new(FxHashMap::default()),
                natural: std::cell::RefCell::new(FxHashMap::default()),
                expanded: std::cell::RefCell::new(FxHashMap::default()),
                readable_forms: std::cell::RefCell::new(FxHashMap::default()),
                raw_derivatives: std::cell::RefCell::new(FxHashMap::default()),
                light_places: std::cell::RefCell::new(FxHashMap::default()),
                left_forms: std::cell::RefCell::new(FxHashMap::default()),
                tapes: std::cell::RefCell::new(FxHashMap::default()),
                piece_cuts: std::cell::RefCell::new(FxHashMap::default()),
                hint_bases: std::cell::RefCell::new(FxHashMap::default()),
                sample_batch: std::cell::RefCell::default(),
                tape_scratch: std::cell::RefCell::default(),
            };
            let out = sub.check_equal(&li, &ri);
            match out.verdict {
                Verdict::Proved(_) => proved_sizes += 1,
                Verdict::ByEvidence(e) => points += e.points,
                Verdict::Incorrect(mut cx) => {
                    let mut point: Vec<(Symbol, Rational)> =
                        inst.sizes
                            .iter()
                            .map(|(s, v)| (s.clone(), Rational::from_integer((*v).into())))
                            .chain(inst.indices.iter().map(|(i, v)| {
                                (Symbol::new(i), Rational::from_integer((*v).into()))
                            }))
                            .collect();
                    point.append(&mut cx.point);
                    // A hint in the instance's entries (z₁, z₂) reads poorly where it is a
                    // whole value: the correct value is given in index notation instead.
                    let hint = self
                        .index_mismatch_hint(l, r)
                        .or_else(|| self.sum_assumption_hint(lhs, rhs))
                        .or_else(|| self.symbolic_factor_hint(l, r))
                        .or(match out.hint {
                            Some(Hint::Expected(_)) => Some(Hint::Expected(self.indexed_value(l))),
                            // A dropped or extra term, or a factor, written in the instance's
                            // entries (w_{2,1}) says little about the claim at every size.
                            Some(
                                Hint::DroppedTerm(e)
                                | Hint::ExtraTerm(e)
                                | Hint::MissingFactor(e)
                                | Hint::ExtraFactor(e),
                            ) if mentions_instance_entries(&e, l, r) => {
                                Some(Hint::Expected(self.indexed_value(l)))
                            }
                            h => h,
                        });
                    let mut assumptions = out.assumptions;
                    assumptions.sort_by_key(|s| (s.start, s.end));
                    assumptions.dedup();
                    return Outcome {
                        verdict: Verdict::Incorrect(Counterexample { point, ..cx }),
                        hint,
                        kinks: out.kinks,
                        assumptions,
                    };
                }
                // One undecided instance makes the claim undecided; the others would only
                // repeat the work (a domain that leaves no usable points leaves none at the
                // next size either). A counterexample at a later instance is given up: the
                // verdict stays honest, and a claim that is wrong at every size is refuted at
                // the first one, which is the usual case.
                Verdict::Undecided(why) => {
                    undecided = Some(format!("{why} (at {})", inst.describe()));
                    break;
                }
            }
        }
        let verdict = match undecided {
            Some(why) => Verdict::Undecided(why),
            None => Verdict::ByEvidence(Evidence {
                points,
                tolerance: self.config.tolerance,
                instances: Some(format!(
                    "{} instances of the sizes and indices ({}{}){}",
                    insts.len(),
                    insts.first().map(Instance::describe).unwrap_or_default(),
                    insts
                        .last()
                        .filter(|_| insts.len() > 1)
                        .map(|i| format!(" … {}", i.describe()))
                        .unwrap_or_default(),
                    match proved_sizes {
                        0 => String::new(),
                        n if n == insts.len() => ", each proved by canonical form".to_owned(),
                        n => format!(", {n} of them proved by canonical form"),
                    }
                )),
            }),
        };
        Outcome {
            verdict,
            hint: None,
            kinks: Vec::new(),
            assumptions: self.relevant_facts(l, r),
        }
    }

    /// The hint for sides whose free indices differ (δ_{ij} where the claim is about k).
    fn index_mismatch_hint(&self, l: &Expr, r: &Expr) -> Option<Hint> {
        let (fl, fr) = (index::free_indices(l), index::free_indices(r));
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        let (only_left, only_right) = (only(&fl, &fr), only(&fr, &fl));
        (!only_left.is_empty() || !only_right.is_empty()).then_some(Hint::FreeIndices {
            only_left,
            only_right,
        })
    }

    /// claimed = true · q for a small q free of indices (n when the 1/n of a mean is
    /// dropped): the hint names the missing factor 1/q, in the file's symbols.
    fn symbolic_factor_hint(&self, l: &Expr, r: &Expr) -> Option<Hint> {
        let limits = &self.config.limits;
        let mut canon = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
        self.assume_sums(&mut canon);
        let (cl, cr) = (canon.canonical(l).ok()?, canon.canonical(r).ok()?);
        if cl.is_zero() {
            return None;
        }
        let q = cr
            .div(&cl, limits, &Deadline::after(limits.timeout_per_step))
            .ok()?;
        if q.constant_value().is_some() {
            return None;
        }
        let qe = canon.to_expr(&q);
        if qe.tree_size() <= 5 && !needs_instances(&qe) {
            // Written 1/q (the 1/n of a mean), not q⁻¹.
            return Some(Hint::MissingFactor(Expr::div(Expr::one(), qe)));
        }
        // A factor that reads short once the entries of families are folded back in: the σ'
        // of a layer, a_{ℓ,j}·(1 − a_{ℓ,j}).
        let inv = cl
            .div(&cr, limits, &Deadline::after(limits.timeout_per_step))
            .ok()?;
        let factor = self.indexed_value(&canon.to_expr(&inv));
        let unfit = |e: &Expr| {
            let mut stack = vec![e.clone()];
            while let Some(x) = stack.pop() {
                // A sum, or a quotient (a_{ℓ−1,i}/a_{ℓ,i} says "wrong entry", not "missing").
                let quotient = matches!(x.node(), Node::Pow(_, n) if n.as_num().is_some_and(|n| *n < Rational::from_integer(0.into())));
                if quotient || matches!(x.node(), Node::Sum { .. }) {
                    return true;
                }
                stack.extend(x.node().children().cloned());
            }
            false
        };
        (factor.tree_size() <= 12 && !unfit(&factor)).then_some(Hint::MissingFactor(factor))
    }

    /// Whether `e` is in index notation (a sum, a delta or a free index).
    pub fn is_indexed(&self, e: &Expr) -> bool {
        needs_instances(e)
    }

    /// The readable form of a derivative: `indexed_value` in index notation, the readable
    /// form otherwise.
    pub fn readable_derivative(&self, e: &Expr) -> Result<Expr, LimitReached> {
        if needs_instances(e) {
            Ok(self.indexed_value(e))
        } else {
            self.readable(e)
        }
    }

    /// A value in index notation as a reader wants it: the smallest readable form among `e`
    /// itself and the canonical forms of `e` and of `e` with definitions expanded (deltas
    /// eliminated, sums merged), each also written term by term over its denominator and with
    /// the entries of indexed families factored back out (exp(z_k)/Σ_j exp(z_j) → O_k, and
    /// h_j·(1 − h_j) for a sigmoid layer).
    pub fn indexed_value(&self, e: &Expr) -> Expr {
        let limits = &self.config.limits;
        let mut canon = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
        self.assume_sums(&mut canon);
        let mut best = self.readable(e).unwrap_or_else(|_| e.clone());
        let entries = self.family_entries(e, &mut canon);
        let eliminated = index::eliminate_deltas(e);
        if let Ok(r) = self.readable(&eliminated) {
            if r.tree_size() <= best.tree_size() {
                best = r;
            }
        }
        let sources = [
            Some(e.clone()),
            self.program.expand(e, limits.max_growth).ok(),
        ];
        for src in sources.into_iter().flatten() {
            let Ok(c) = canon.canonical(&src) else {
                continue;
            };
            for cand in value_candidates(&canon, &c, &entries, limits) {
                for cand in [merge_sums(&cand), cand] {
                    if let Ok(r) = self.readable(&cand) {
                        if r.tree_size() <= best.tree_size() {
                            best = r;
                        }
                    }
                }
            }
        }
        // What does not depend on a sum's index is written before it (σ'·Σ_k w_kj·δ_k).
        index::pull_out_factors(&best)
    }

    /// The entries of single-index families at the free indices of `e` (O_k, h_j), and one
    /// minus each, with their canonical forms.
    fn family_entries(&self, e: &Expr, canon: &mut Canonicalizer<'_>) -> Vec<(Expr, RatFunc)> {
        let limits = &self.config.limits;
        let mut out = Vec::new();
        for d in self.program.definitions() {
            let Some(sym) = d.symbol.as_ref().filter(|_| d.kind == DefKind::Quantity) else {
                continue;
            };
            // One index slot; any others are labels (h_j, a_{ℓ,j}).
            let own = match index::symbol_indices(sym).as_slice() {
                [own] => own.clone(),
                _ => continue,
            };
            let Some(slots) = sym.sub().map(index::slots) else {
                continue;
            };
            for x in index::free_indices(e) {
                let at: Vec<String> = slots
                    .iter()
                    .map(|s| if *s == own { x.clone() } else { s.clone() })
                    .collect();
                let entry = Symbol::with_sub(sym.name(), Some(&index::join_slots(&at)));
                let Some(body) = self.program.quantity_body(&entry) else {
                    continue;
                };
                let Ok(body) = self.program.expand(&body, limits.max_growth) else {
                    continue;
                };
                let Ok(f) = canon.canonical(&body) else {
                    continue;
                };
                let one_minus =
                    RatFunc::one().sub(&f, limits, &Deadline::after(limits.timeout_per_step));
                out.push((Expr::sym(entry.clone()), f));
                if let Ok(g) = one_minus {
                    out.push((Expr::sub(Expr::one(), Expr::sym(entry)), g));
                }
            }
        }
        out
    }

    /// The domain at an instance: every fact at every entry, and the substitution that
    /// eliminates one entry of each stated sum (`Σ_i y_i = 1` → y_C = 1 − y_1 − …).
    fn instance_domain(&self, inst: &Instance) -> (Domain, FxHashMap<Expr, Expr>) {
        let mut domain = Domain::default();
        let mut elim: FxHashMap<Expr, Expr> = FxHashMap::default();
        let top = inst.sizes.iter().map(|(_, v)| *v).max().unwrap_or(3).max(1);
        let mut facts: Vec<(Fact, crate::source::Span)> = Vec::new();
        for a in self.program.assumptions() {
            let exprs: Vec<&Expr> = match &a.fact {
                Fact::Compare(es, _) => es.iter().collect(),
                Fact::Member(e, _) => vec![e],
            };
            let mut free: Vec<String> = exprs.iter().flat_map(|e| index::free_indices(e)).collect();
            free.sort();
            free.dedup();
            // Every entry: each free index of the fact over 1..top.
            let mut assignments: Vec<Vec<(String, i64)>> = vec![Vec::new()];
            for i in &free {
                assignments = assignments
                    .into_iter()
                    .flat_map(|a| {
                        (1..=top).map(move |v| {
                            let mut a = a.clone();
                            a.push((i.clone(), v));
                            a
                        })
                    })
                    .collect();
            }
            for assignment in assignments {
                let at = Instance {
                    sizes: inst.sizes.clone(),
                    indices: assignment,
                };
                let map = |e: &Expr| at.apply(e).ok();
                let fact = match &a.fact {
                    Fact::Compare(es, rels) => {
                        let Some(es) = es.iter().map(map).collect::<Option<Vec<_>>>() else {
                            continue;
                        };
                        Fact::Compare(es, rels.clone())
                    }
                    Fact::Member(e, set) => {
                        let Some(e) = map(e) else { continue };
                        Fact::Member(e, set.clone())
                    }
                };
                facts.push((fact, a.span));
            }
        }
        // Stated sums: `a_1 + … + a_n = v` with symbols a_i.
        for (fact, _) in &facts {
            let Fact::Compare(es, rels) = fact else {
                continue;
            };
            let ([lhs, value], [crate::program::Rel::Eq]) = (es.as_slice(), rels.as_slice()) else {
                continue;
            };
            let terms: Vec<&Expr> = match lhs.node() {
                Node::Add(ts) => ts.iter().collect(),
                Node::Sym(_) => vec![lhs],
                _ => continue,
            };
            if !terms.iter().all(|t| t.as_sym().is_some()) || value.as_num().is_none() {
                continue;
            }
            let Some((last, rest)) = terms.split_last() else {
                continue;
            };
            if elim.contains_key(*last) {
                continue;
            }
            let mut v = vec![(*value).clone()];
            v.extend(rest.iter().map(|t| Expr::neg((*t).clone())));
            elim.insert((*last).clone(), Expr::add(v));
        }
        for (fact, span) in facts {
            let fact = match fact {
                Fact::Compare(es, rels) => {
                    Fact::Compare(es.iter().map(|e| e.replace_all(&elim)).collect(), rels)
                }
                Fact::Member(e, set) => Fact::Member(e.replace_all(&elim), set),
            };
            domain.add(&fact, span);
        }
        (domain, elim)
    }
}

/// Whether `e` mentions an entry at a concrete position (`w_{ℓ+1,2,1}`, `z_2`) that neither
/// side of the claim names: a value written in one instance's entries.
fn mentions_instance_entries(e: &Expr, l: &Expr, r: &Expr) -> bool {
    let named: FxHashSet<Symbol> = l
        .free_symbols()
        .into_iter()
        .chain(r.free_symbols())
        .collect();
    e.free_symbols().into_iter().any(|s| {
        !named.contains(&s)
            && s.sub().is_some_and(|sub| {
                index::slots(sub)
                    .iter()
                    .any(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
            })
    })
}

/// Candidate forms of the canonical value `c`: itself, with entries factored out, and term by
/// term over its denominator with entries factored out of each term.
fn value_candidates(
    canon: &Canonicalizer<'_>,
    c: &RatFunc,
    entries: &[(Expr, RatFunc)],
    limits: &crate::limits::Limits,
) -> Vec<Expr> {
    let mut out = vec![canon.to_expr(c), refold_entries(canon, c, entries, limits)];
    if c.num().n_terms() > 1 && !c.den().is_one() {
        let den = RatFunc::from_poly(c.den().clone());
        let deadline = Deadline::after(limits.timeout_per_step);
        let parts: Option<Vec<Expr>> = c
            .num()
            .terms()
            .iter()
            .map(|t| {
                let term = RatFunc::from_poly(Poly::from_terms([t.clone()]));
                let part = term.div(&den, limits, &deadline).ok()?;
                Some(refold_entries(canon, &part, entries, limits))
            })
            .collect();
        if let Some(parts) = parts {
            out.push(Expr::add(parts));
        }
    }
    out
}

/// p = Π F^k · q with q smaller than p, F among the entries, chosen greedily (the largest
/// reduction first, at most six factors): the entries a value is made of.
fn refold_entries(
    canon: &Canonicalizer<'_>,
    p: &RatFunc,
    entries: &[(Expr, RatFunc)],
    limits: &crate::limits::Limits,
) -> Expr {
    let deadline = Deadline::after(limits.timeout_per_step);
    let mut p = p.clone();
    let mut factors: Vec<Expr> = Vec::new();
    for _ in 0..6 {
        let size = canon.to_expr(&p).tree_size();
        let mut pick: Option<(u64, RatFunc, bool, &Expr)> = None;
        for (entry, f) in entries {
            for (q, divided) in [
                (p.div(f, limits, &deadline).ok(), true),
                (p.mul(f, limits, &deadline).ok(), false),
            ] {
                let Some(q) = q else { continue };
                let n = canon.to_expr(&q).tree_size();
                if n + 2 < size && pick.as_ref().is_none_or(|(m, ..)| n < *m) {
                    pick = Some((n, q, divided, entry));
                }
            }
        }
        let Some((_, q, divided, entry)) = pick else {
            break;
        };
        p = q;
        factors.push(if divided {
            entry.clone()
        } else {
            Expr::pow(entry.clone(), Expr::int(-1))
        });
    }
    factors.push(canon.to_expr(&p));
    Expr::mul(factors)
}

/// Sums over the same index and bounds in one sum, merged: Σ_m a_m − Σ_m b_m → Σ_m (a_m − b_m)
/// (the reverse of `sum-linear`, which the canonical form applies), everywhere in `e`.
fn merge_sums(e: &Expr) -> Expr {
    let e = e.map_children(merge_sums);
    let Node::Add(terms) = e.node() else {
        return e;
    };
    // (index, lo, hi) → summands, in order of first appearance.
    let mut groups: Vec<((Symbol, Expr, Expr), Vec<Expr>)> = Vec::new();
    let mut rest = Vec::new();
    for t in terms {
        let (coeff, sum) = match t.node() {
            Node::Mul(fs) => match fs.as_slice() {
                [c, s] if c.as_num().is_some() && matches!(s.node(), Node::Sum { .. }) => {
                    (Some(c.clone()), s)
                }
                _ => {
                    rest.push(t.clone());
                    continue;
                }
            },
            Node::Sum { .. } => (None, t),
            _ => {
                rest.push(t.clone());
                continue;
            }
        };
        let Node::Sum {
            index,
            lo,
            hi,
            body,
        } = sum.node()
        else {
            rest.push(t.clone());
            continue;
        };
        let body = match coeff {
            Some(c) => Expr::mul(vec![c, body.clone()]),
            None => body.clone(),
        };
        let key = (index.clone(), lo.clone(), hi.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(body),
            None => groups.push((key, vec![body])),
        }
    }
    if groups.iter().all(|(_, v)| v.len() < 2) {
        return e;
    }
    for ((index, lo, hi), bodies) in groups {
        let body = match bodies.len() {
            1 => bodies.into_iter().next().unwrap_or_else(Expr::zero),
            _ => Expr::add(bodies),
        };
        rest.push(Expr::new(Node::Sum {
            index,
            lo,
            hi,
            body,
        }));
    }
    match rest.len() {
        1 => rest.pop().unwrap_or_else(Expr::zero),
        _ => Expr::add(rest),
    }
}
