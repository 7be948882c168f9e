//! Checking claims and derivations: one verdict per claim and per step, each backed by
//! evidence.
//!
//! - `Verdict::Proved`: equal canonical forms (`simplify::canon`). Only this module can build
//!   a `Proof`, and only from a canonical equality.
//! - `Verdict::ByEvidence`: not proved, but equal at N sampled points inside the assumed
//!   domain, to a stated relative tolerance.
//! - `Verdict::Incorrect`: a counterexample point inside the domain where both sides are
//!   defined, finite and clearly different (exactly different where exact evaluation applies).
//! - `Verdict::Undecided`: neither within the limits; the reason says which limit or why.
//!
//! Deliberately not here: rendering (`report`), reading files (`cli`).

mod hint;

pub use hint::Hint;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::assume::{Domain, Point, Rng};
use crate::diff::{self, DiffCtx, Kink};
use crate::eval::{eval_exact, eval_f64, eval_interval, rational_to_f64, Tape, TapeScratch};
use crate::expr::{Builtin, Expr, Node, Rational, Symbol};
use crate::limits::{Deadline, LimitReached, Limits};
use crate::program::{DefKind, Item, Program};
use crate::simplify::canon::{CanonError, Canonicalizer};
use crate::simplify::readable::{readable, ReadableCtx};
use crate::source::Span;

/// How checks are run.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Limits on sizes and time per step.
    pub limits: Limits,
    /// Points that must agree for "correct, by evidence". Default 24; claims with piecewise
    /// functions (relu, abs, max, min, sign, H) need `samples_piecewise`, default 96, because
    /// a wrong kink location shows only on part of the line.
    pub samples: usize,
    /// Points that must agree when a piecewise function occurs.
    pub samples_piecewise: usize,
    /// Relative tolerance for numeric agreement. Default 1e-9.
    pub tolerance: f64,
    /// Seed of the point sampler (reports are reproducible). Default 0x5eed.
    pub seed: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            limits: Limits::default(),
            samples: 24,
            samples_piecewise: 96,
            tolerance: 1e-9,
            seed: 0x5eed,
        }
    }
}

/// A proof by canonical form. Its field is private: only `check` builds one, and only after
/// two canonical forms compared equal.
#[derive(Debug, Clone)]
pub struct Proof {
    canonical: Expr,
}

impl Proof {
    /// The common canonical form of both sides.
    pub fn canonical(&self) -> &Expr {
        &self.canonical
    }
}

/// Numeric evidence of equality.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Points at which both sides agreed.
    pub points: usize,
    /// The relative tolerance used.
    pub tolerance: f64,
}

/// A point where the two sides differ.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The values of the free symbols.
    pub point: Point,
    /// Left side's value.
    pub left: f64,
    /// Right side's value.
    pub right: f64,
    /// Exact values, when both sides evaluate exactly.
    pub exact: Option<(Rational, Rational)>,
}

/// The verdict on one equality.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Equal by canonical form.
    Proved(Proof),
    /// Equal at sampled points.
    ByEvidence(Evidence),
    /// Different at a point.
    Incorrect(Counterexample),
    /// Neither within the limits.
    Undecided(String),
}

impl Verdict {
    /// "correct", "incorrect" or "undecided".
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Proved(_) | Verdict::ByEvidence(_) => "correct",
            Verdict::Incorrect(_) => "incorrect",
            Verdict::Undecided(_) => "undecided",
        }
    }

    /// "canonical", "numeric", "counterexample" or "limit" (the JSON `method`).
    pub fn method(&self) -> &'static str {
        match self {
            Verdict::Proved(_) => "canonical",
            Verdict::ByEvidence(_) => "numeric",
            Verdict::Incorrect(_) => "counterexample",
            Verdict::Undecided(_) => "limit",
        }
    }

    /// Correct by either method.
    pub fn is_correct(&self) -> bool {
        matches!(self, Verdict::Proved(_) | Verdict::ByEvidence(_))
    }
}

/// Everything known about one checked equality.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// The likely slip, when incorrect.
    pub hint: Option<Hint>,
    /// Points where a piecewise function in the claim is not differentiable.
    pub kinks: Vec<Kink>,
    /// Spans of the `assume` lines the verdict relied on (sampling domain).
    pub assumptions: Vec<Span>,
}

/// What was checked: a claim, or a step of a derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// `claim lhs = rhs`.
    Claim,
    /// Step `index` (1-based) of the derivation that starts at `start`.
    Step {
        /// 1-based index.
        index: usize,
        /// Span of the derivation's start expression.
        start: Span,
    },
}

/// The report on one claim or step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Claim or step.
    pub kind: StepKind,
    /// Span of the checked expression (a claim's statement, a step's expression).
    pub span: Span,
    /// Left side (the previous line for a step).
    pub lhs: Expr,
    /// Right side.
    pub rhs: Expr,
    /// The outcome of `lhs = rhs`.
    pub outcome: Outcome,
    /// For steps: how the chain stands (first wrong step, compensating errors).
    pub chain_note: Option<String>,
}

/// Checks equalities in the context of one program.
pub struct Checker<'a> {
    program: &'a Program,
    domain: Domain,
    aliases: FxHashMap<Arc<str>, Builtin>,
    config: &'a CheckConfig,
}

/// An expression ready for canonical forms and evaluation: derivatives resolved, definitions
/// expanded.
struct Prepared {
    expr: Expr,
    kinks: Vec<Kink>,
}

impl<'a> Checker<'a> {
    /// A checker for the program's definitions and assumptions. User functions named like a
    /// built-in (`let σ(z) = 1/(1 + exp(-z))`) are differentiated with the built-in's rule
    /// only when their definition is proved equal to it.
    pub fn new(program: &'a Program, config: &'a CheckConfig) -> Checker<'a> {
        let mut checker = Checker {
            program,
            domain: Domain::from_program(program),
            aliases: FxHashMap::default(),
            config,
        };
        let mut aliases = FxHashMap::default();
        for d in program.definitions() {
            if d.kind != DefKind::Function {
                continue;
            }
            let Some(b) = Builtin::from_name(&d.name) else {
                continue;
            };
            if b.arity() != d.params.len() {
                continue;
            }
            let builtin = Expr::call(b, d.params.iter().cloned().map(Expr::sym).collect());
            let body = match program.expand(&d.body, config.limits.max_growth) {
                Ok(b) => b,
                Err(_) => continue,
            };
            let mut canon = Canonicalizer::new(
                &config.limits,
                Deadline::after(config.limits.timeout_per_step),
            );
            if canon.equal(&body, &builtin).unwrap_or(false) {
                aliases.insert(d.name.clone(), b);
            }
        }
        checker.aliases = aliases;
        checker
    }

    /// The domain from the program's assumptions.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// A differentiation context over this program.
    pub fn diff_ctx(&self) -> DiffCtx<'_> {
        DiffCtx {
            program: self.program,
            aliases: self.aliases.clone(),
            limits: &self.config.limits,
            trace: false,
        }
    }

    /// The readable form of an expression in this program's names.
    pub fn readable(&self, e: &Expr) -> Result<Expr, LimitReached> {
        let ctx = ReadableCtx {
            program: self.program,
            limits: &self.config.limits,
            deadline: Deadline::after(self.config.limits.timeout_per_step),
        };
        readable(e, &ctx)
    }

    fn prepare(&self, e: &Expr) -> Result<Prepared, String> {
        let ctx = self.diff_ctx();
        let mut cur = e.clone();
        let mut kinks = Vec::new();
        for _ in 0..4 {
            let (resolved, k) = diff::resolve(&cur, &ctx).map_err(|e| e.to_string())?;
            for x in k {
                if !kinks.contains(&x) {
                    kinks.push(x);
                }
            }
            let expanded = self
                .program
                .expand(&resolved, self.config.limits.max_growth)
                .map_err(|e| e.to_string())?;
            if !has_unresolved(&expanded) {
                return Ok(Prepared {
                    expr: expanded,
                    kinks,
                });
            }
            cur = expanded;
        }
        Err("definitions refer to derivatives too deeply".into())
    }

    /// Checks `lhs = rhs`.
    pub fn check_equal(&self, lhs: &Expr, rhs: &Expr) -> Outcome {
        let undecided = |reason: String| Outcome {
            verdict: Verdict::Undecided(reason),
            hint: None,
            kinks: Vec::new(),
            assumptions: Vec::new(),
        };
        let (l, r) = match (self.prepare(lhs), self.prepare(rhs)) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => return undecided(e),
        };
        let mut kinks = l.kinks.clone();
        for k in &r.kinks {
            if !kinks.contains(k) {
                kinks.push(k.clone());
            }
        }
        let limits = &self.config.limits;
        let mut canon = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
        let canon_result = canon
            .canonical(&l.expr)
            .and_then(|cl| canon.canonical(&r.expr).map(|cr| (cl, cr)));
        let mut limit_note = None;
        match canon_result {
            Ok((cl, cr)) if cl == cr => {
                return Outcome {
                    verdict: Verdict::Proved(Proof {
                        canonical: canon.to_expr(&cl),
                    }),
                    hint: None,
                    kinks,
                    assumptions: Vec::new(),
                };
            }
            Ok(_) => {}
            Err(CanonError::Limit(lr)) => limit_note = Some(lr.to_string()),
            Err(e) => limit_note = Some(e.to_string()),
        }
        let sampled = self.sample(&l.expr, &r.expr);
        let symbols = sampled.symbols.clone();
        let assumptions: Vec<Span> = self.domain.facts_about(&symbols).map(|f| f.span).collect();
        let verdict = match sampled.result {
            SampleResult::Agree(points) => Verdict::ByEvidence(Evidence {
                points,
                tolerance: self.config.tolerance,
            }),
            SampleResult::Differ(cx) => Verdict::Incorrect(cx),
            SampleResult::Inconclusive(reason) => Verdict::Undecided(match limit_note {
                Some(n) => format!("{reason}; canonical form: {n}"),
                None => reason,
            }),
        };
        let hint = match &verdict {
            Verdict::Incorrect(_) => hint::find(self, lhs, &l.expr, &r.expr, &sampled.points),
            _ => None,
        };
        Outcome {
            verdict,
            hint,
            kinks,
            assumptions,
        }
    }

    /// Evaluates a prepared expression at a point (`None`: undefined or not finite).
    fn eval_at(&self, e: &Expr, point: &Point) -> Option<f64> {
        let env = |s: &Symbol| {
            point
                .iter()
                .find(|(t, _)| t == s)
                .map(|(_, v)| rational_to_f64(v))
        };
        eval_f64(e, &env).ok().filter(|v| v.is_finite())
    }

    fn sample(&self, l: &Expr, r: &Expr) -> Sampled {
        let mut symbols = l.free_symbols();
        symbols.extend(r.free_symbols());
        // Facts about quantities constrain the sample through their definitions; each fact's
        // expressions are prepared once.
        let mut prepared_facts: FxHashMap<Expr, Option<Expr>> = FxHashMap::default();
        for f in &self.domain.facts {
            for s in &f.symbols {
                if let Ok(p) = self.prepare(&Expr::sym(s.clone())) {
                    symbols.extend(p.expr.free_symbols());
                }
            }
        }
        symbols.sort();
        symbols.dedup();
        let mut rng = Rng::new(self.config.seed ^ l.hash_value().rotate_left(17) ^ r.hash_value());
        let mut agree = Vec::new();
        let wanted = if has_piecewise(l) || has_piecewise(r) {
            self.config.samples_piecewise
        } else {
            self.config.samples
        };
        let tries = wanted * 8;
        let scales = constants(&[l, r]);
        let deadline = Deadline::after(self.config.limits.timeout_per_step);
        let mut outside = 0usize;
        let mut undefined = 0usize;
        let mut unclear = 0usize;
        let mut ill_conditioned = 0usize;
        // Both sides are compiled once and evaluated over batches of points; the tape gives
        // the values `eval_f64` gives, bit for bit. Points are drawn in batches (1, 2, 4, …,
        // never more than are still wanted) in the same order as one by one, so the verdict
        // and the reported points do not depend on the batching. Without a tape (sums with
        // symbolic bounds, very large sides), each point is evaluated on its own.
        let tape = Tape::compile(&[l.clone(), r.clone()], &symbols).ok();
        let mut batch = SampleBatch::default();
        let mut drawn = 0usize;
        let mut next_batch = 1usize;
        let mut queue: std::collections::VecDeque<(Point, Option<(f64, f64)>)> =
            std::collections::VecDeque::new();
        loop {
            if queue.is_empty() {
                if drawn >= tries || deadline.check("sampling").is_err() {
                    break;
                }
                // Drawing a point costs about as much as evaluating it, so batches start at
                // one point (a wrong claim usually differs at the first) and double.
                let n = wanted
                    .saturating_sub(agree.len())
                    .min(next_batch)
                    .clamp(1, tries - drawn);
                next_batch = next_batch.saturating_mul(2);
                drawn += n;
                let mut points = Vec::with_capacity(n);
                for _ in 0..n {
                    let point: Point = symbols
                        .iter()
                        .map(|s| {
                            (
                                s.clone(),
                                self.domain.sample_symbol_near(s, &scales, &mut rng),
                            )
                        })
                        .collect();
                    let inside = self.domain.holds(&mut |e: &Expr| {
                        let p = prepared_facts
                            .entry(e.clone())
                            .or_insert_with(|| self.prepare(e).ok().map(|p| p.expr))
                            .clone()?;
                        self.eval_at(&p, &point)
                    });
                    points.push((point, inside));
                }
                let values = tape
                    .as_ref()
                    .and_then(|t| batch.eval(t, points.iter().filter(|p| p.1).map(|p| &p.0)));
                let mut values = values.map(Vec::into_iter);
                for (point, inside) in points {
                    if !inside {
                        queue.push_back((point, None));
                        outside += 1;
                        continue;
                    }
                    let v = match values.as_mut() {
                        Some(vs) => vs.next().flatten(),
                        None => match (self.eval_at(l, &point), self.eval_at(r, &point)) {
                            (Some(a), Some(b)) => Some((a, b)),
                            _ => None,
                        },
                    };
                    if v.is_none() {
                        undefined += 1;
                    }
                    queue.push_back((point, v));
                }
            }
            let Some((point, values)) = queue.pop_front() else {
                break;
            };
            let Some((a, b)) = values else {
                continue;
            };
            let scale = 1f64.max(a.abs()).max(b.abs());
            if scale > 1e12 {
                // Too close to a singularity to trust either value.
                undefined += 1;
                continue;
            }
            let diff = (a - b).abs();
            if diff <= self.config.tolerance * scale {
                agree.push(point);
                if agree.len() >= wanted {
                    break;
                }
            } else if diff > 1e-6 * scale {
                let exact = self.exact_pair(l, r, &point);
                match &exact {
                    Some((x, y)) if x == y => {
                        // f64 rounding made equal values look different.
                        agree.push(point);
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        // Only a certain difference is a counterexample: the guaranteed
                        // enclosures of both sides must be disjoint.
                        let env =
                            |s: &Symbol| point.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone());
                        let certain = match (eval_interval(l, &env), eval_interval(r, &env)) {
                            (Some(a), Some(b)) => a.disjoint(&b),
                            _ => false,
                        };
                        if !certain {
                            ill_conditioned += 1;
                            continue;
                        }
                    }
                }
                // Report only the symbols the two sides use (facts may add others).
                let used: Vec<Symbol> = {
                    let mut u = l.free_symbols();
                    u.extend(r.free_symbols());
                    u
                };
                let point: Point = point
                    .into_iter()
                    .filter(|(s, _)| used.contains(s))
                    .collect();
                return Sampled {
                    symbols,
                    points: agree,
                    result: SampleResult::Differ(Counterexample {
                        point,
                        left: a,
                        right: b,
                        exact,
                    }),
                };
            } else {
                unclear += 1;
            }
        }
        let n = agree.len();
        let result = if n >= wanted {
            SampleResult::Agree(n)
        } else {
            SampleResult::Inconclusive(format!(
                "only {n} of {wanted} sample points were usable ({outside} outside the assumed \
                 domain, {undefined} undefined or near a singularity, {unclear} within rounding \
                 error, {ill_conditioned} where f64 values differ but rounding cannot be ruled out)"
            ))
        };
        Sampled {
            symbols,
            points: agree,
            result,
        }
    }

    fn exact_pair(&self, l: &Expr, r: &Expr, point: &Point) -> Option<(Rational, Rational)> {
        let env = |s: &Symbol| point.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone());
        let limits = &self.config.limits;
        let a = eval_exact(l, &env, limits).ok()??;
        let b = eval_exact(r, &env, limits).ok()??;
        Some((a, b))
    }

    /// Checks every claim and derivation step of the program, in source order.
    pub fn check_program(&self) -> Vec<StepReport> {
        let mut out = Vec::new();
        for item in &self.program.items {
            match item {
                Item::Claim(c) => out.push(StepReport {
                    kind: StepKind::Claim,
                    span: c.span,
                    lhs: c.lhs.clone(),
                    rhs: c.rhs.clone(),
                    outcome: self.check_equal(&c.lhs, &c.rhs),
                    chain_note: None,
                }),
                Item::Derive(d) => {
                    let mut prev = d.start.clone();
                    let mut first_wrong: Option<usize> = None;
                    for (i, step) in d.steps.iter().enumerate() {
                        let index = i + 1;
                        let outcome = self.check_equal(&prev, &step.expr);
                        let mut note = None;
                        if let Some(k) = first_wrong {
                            // Does this line return to the value of the start?
                            let back = self.check_equal(&d.start, &step.expr);
                            if back.verdict.is_correct() {
                                note = Some(format!(
                                    "this line equals the start again, but step {k} was wrong: \
                                     a compensating error"
                                ));
                            } else if outcome.verdict.is_correct() {
                                note = Some(format!(
                                    "follows from the previous line, but the chain is wrong since \
                                     step {k}"
                                ));
                            }
                        } else if matches!(outcome.verdict, Verdict::Incorrect(_)) {
                            first_wrong = Some(index);
                            note = Some("first wrong step of this derivation".into());
                        }
                        out.push(StepReport {
                            kind: StepKind::Step {
                                index,
                                start: d.start_span,
                            },
                            span: step.span,
                            lhs: prev.clone(),
                            rhs: step.expr.clone(),
                            outcome,
                            chain_note: note,
                        });
                        prev = step.expr.clone();
                    }
                }
                Item::Def(_) | Item::Assume(_) => {}
            }
        }
        out
    }
}

/// Working memory for evaluating both sides of a claim over a batch of points with a tape.
#[derive(Default)]
struct SampleBatch {
    columns: Vec<Vec<f64>>,
    outputs: Vec<Vec<f64>>,
    scratch: TapeScratch,
}

impl SampleBatch {
    /// The values of the tape's two outputs at each point (`None` where one is not finite),
    /// or `None` when the tape cannot run.
    fn eval<'p>(
        &mut self,
        tape: &Tape,
        points: impl Iterator<Item = &'p Point>,
    ) -> Option<Vec<Option<(f64, f64)>>> {
        let n_inputs = tape.inputs().len();
        self.columns.resize_with(n_inputs, Vec::new);
        self.columns.iter_mut().for_each(Vec::clear);
        let mut n = 0usize;
        for point in points {
            // Points list the tape's inputs in order (both come from the same symbol list).
            if point.len() != n_inputs {
                return None;
            }
            for (col, (_, v)) in self.columns.iter_mut().zip(point) {
                col.push(rational_to_f64(v));
            }
            n += 1;
        }
        if n == 0 {
            return Some(Vec::new());
        }
        self.outputs.resize_with(2, Vec::new);
        let cols: Vec<&[f64]> = self.columns.iter().map(Vec::as_slice).collect();
        tape.eval(&cols, &mut self.outputs, &mut self.scratch)
            .ok()?;
        let (ls, rs) = (self.outputs.first()?, self.outputs.get(1)?);
        // A tape without inputs evaluates one row, the value at every point.
        let at = |vs: &Vec<f64>, i: usize| {
            vs.get(i)
                .or_else(|| vs.first().filter(|_| n_inputs == 0))
                .copied()
        };
        Some(
            (0..n)
                .map(|i| match (at(ls, i), at(rs, i)) {
                    (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Some((a, b)),
                    _ => None,
                })
                .collect(),
        )
    }
}

struct Sampled {
    symbols: Vec<Symbol>,
    points: Vec<Point>,
    result: SampleResult,
}

enum SampleResult {
    Agree(usize),
    Differ(Counterexample),
    Inconclusive(String),
}

/// Magnitudes of the numeric constants in the expressions (other than 0 and 1), at most 8.
fn constants(exprs: &[&Expr]) -> Vec<Rational> {
    use num_traits::{One, Signed, Zero};
    let mut out: Vec<Rational> = Vec::new();
    let mut stack: Vec<&Expr> = exprs.to_vec();
    let mut seen = rustc_hash::FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        if let Node::Num(r) = x.node() {
            let a = r.abs();
            if !a.is_zero()
                && !a.is_one()
                && a.numer().bits() < 32
                && a.denom().bits() < 32
                && !out.contains(&a)
            {
                out.push(a);
            }
        }
        stack.extend(x.node().children());
    }
    out.sort();
    out.truncate(8);
    out
}

/// Whether a piecewise built-in (relu, abs, sign, max, min, H) occurs.
fn has_piecewise(e: &Expr) -> bool {
    let mut stack = vec![e];
    let mut seen = rustc_hash::FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        if let Node::Call(crate::expr::Func::Builtin(b), _) = x.node() {
            if b.info().piecewise {
                return true;
            }
        }
        stack.extend(x.node().children());
    }
    false
}

fn has_unresolved(e: &Expr) -> bool {
    let mut stack = vec![e];
    let mut seen = rustc_hash::FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        match x.node() {
            Node::Deriv(..) => return true,
            Node::Call(crate::expr::Func::Prime(_), _) => return true,
            n => stack.extend(n.children()),
        }
    }
    false
}
