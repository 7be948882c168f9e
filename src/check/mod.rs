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

mod cases;
mod hint;
mod indexed;

pub use hint::Hint;

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use num_traits::Zero;
use rustc_hash::FxHashMap;

use crate::assume::{Domain, Point, Rng};
use crate::diff::{self, DiffCtx, Kink};
use crate::eval::{
    eval_f64_value, eval_interval_in, exact_value, point_intervals, rational_to_f64, Tape,
    TapeScratch,
};
use crate::expr::{cmp_rational, eq_rational, Builtin, Expr, Node, Rational, Symbol};
use crate::limits::{Deadline, LimitReached, Limits};
use crate::program::{DefKind, Fact, Item, Program, Rel};
use crate::simplify::canon::ratfunc::RatFunc;
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
    /// Layout of matrix derivatives (`∂z/∂h` of vectors); applied to a loaded program with
    /// `Program::set_layout`. Default: denominator layout.
    pub layout: crate::program::Layout,
    /// Whether a wrong scalar claim gets a hint (the likely slip). Default true (the command line
    /// always shows them). A grader that needs only the verdict and its counterexample may
    /// turn it off: on the speed bench's wrong claims the hint costs about as much as the
    /// rest of the check. Verdicts, methods and counterexamples do not depend on it.
    pub hints: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            limits: Limits::default(),
            samples: 24,
            samples_piecewise: 96,
            tolerance: 1e-9,
            seed: 0x5eed,
            layout: crate::program::Layout::Denominator,
            hints: true,
        }
    }
}

/// A proof by canonical form. Its field is private: only `check` builds one, and only after
/// two canonical forms compared equal.
#[derive(Debug, Clone)]
pub struct Proof {
    canonical: Expr,
    cases: Vec<Expr>,
    /// A proof by cases that left out the places outside the assumed domain.
    in_domain: bool,
    /// A proof by cases that left out the points at the reported kinks.
    off_kinks: bool,
}

/// What a proof by cases left out (see `Checker::restrict_to_domain`).
#[derive(Default)]
struct Restriction {
    /// The spans of the facts whose outside was left out.
    facts: Vec<Span>,
    /// Whether the points at reported kinks were left out.
    at_kinks: bool,
}

impl Proof {
    /// The common canonical form of both sides (for a proof by cases: the left side's).
    pub fn canonical(&self) -> &Expr {
        &self.canonical
    }

    /// The H(u) atoms of a proof by cases (see `cases`); empty for a plain canonical proof.
    pub fn cases(&self) -> &[Expr] {
        &self.cases
    }

    /// Whether the proof by cases holds only inside the assumed domain (the cases of places
    /// outside it were left out); the outcome's `assumptions` name the facts.
    pub fn within_assumptions(&self) -> bool {
        self.in_domain
    }

    /// Whether the proof by cases left out the points at the reported kinks, where the
    /// derivative does not exist.
    pub fn off_kinks(&self) -> bool {
        self.off_kinks
    }
}

/// Numeric evidence of equality.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Points at which both sides agreed.
    pub points: usize,
    /// The relative tolerance used.
    pub tolerance: f64,
    /// For claims in index notation: the instances of sizes and free indices at which the
    /// points were drawn (`5 instances of the sizes and indices (C = 1, k = 1 … C = 5, k = 3)`).
    pub instances: Option<String>,
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
    /// Sums stated equal to a value (`assume Σ_i y_i = 1`): (sum, value, where stated), with
    /// definitions expanded. Canonical forms use them (rule `sum-fact`).
    sum_facts: Vec<(Expr, Expr, Span)>,
    /// Whether the program defines a named quantity ([`has_quantities`]).
    quantities: bool,
    /// `prepare` results: an autograder checks many claims about the same derivative, and a
    /// check prepares the same facts and hint candidates again and again. Pure (resolving
    /// and expanding read only the program), so a cached result is the result; cleared when
    /// it holds `PREPARED_CACHE` entries, so memory stays bounded.
    prepared: RefCell<FxHashMap<Expr, Result<Prepared, String>>>,
    /// The free symbols of each fact symbol's prepared form (`None`: it cannot be
    /// prepared), asked for by every check; as many entries as the facts have symbols.
    fact_symbols: RefCell<FxHashMap<Symbol, Option<Vec<Symbol>>>>,
    /// `natural_domain` of one side (pure, like `prepared`, and bounded the same way): the
    /// claims about one derivative share their left side.
    natural: RefCell<FxHashMap<Expr, Vec<Expr>>>,
    /// `Program::expand` of each expression expanded so far (pure, bounded like `prepared`):
    /// a claim's right side without derivatives is expanded by `prepare` and again, as
    /// written, by `natural_of`. Keyed by value: the expansion's value and sharing depend on
    /// the input's value only (its memo is keyed by value), so a cached expansion is the one
    /// a new call would make.
    expanded: RefCell<FxHashMap<Expr, Result<Expr, LimitReached>>>,
    /// Readable forms computed so far (successful ones only; bounded like `prepared`): the
    /// hints of the wrong claims about one derivative show its readable truth again and again.
    readable_forms: RefCell<FxHashMap<Expr, Expr>>,
    /// Raw derivatives (`diff` of the function as written, successful ones only) the hints
    /// asked for, keyed by the derivative claimed.
    raw_derivatives: RefCell<FxHashMap<Expr, Expr>>,
    /// The place of each kink as `light_kinks` reports it (pure, bounded like `prepared`):
    /// every claim about one derivative reports the left side's kinks again.
    light_places: RefCell<FxHashMap<Expr, Expr>>,
    /// For a prepared left side without `log`/`sqrt` arguments: the canonicalizer right after
    /// the stated sums and the side's canonical form, and that form (successful ones only;
    /// bounded by `LEFT_FORMS`). Every claim about one derivative starts from this state, so a
    /// copy of it ([`Canonicalizer::fork`]) gives the forms, atoms and proofs a new
    /// canonicalizer would. With them, the form as an expression, made the first time a claim
    /// about the side is proved (what `Canonicalizer::to_expr` gives from any copy: it reads
    /// only the atoms of the form, which a copy keeps as they are).
    left_forms: RefCell<FxHashMap<Expr, KeptLeft<'a>>>,
    /// Tapes of single expressions (each side of a claim, the hints' candidates), by
    /// expression and inputs (`None`: it does not compile; at most `TAPES`): the left side,
    /// the candidate bases, inner functions and terms of the wrong claims about one
    /// derivative are the same expressions again. Keyed by the expression alone, so that a
    /// lookup builds no key.
    tapes: RefCell<FxHashMap<Expr, TapesOf>>,
    /// The cuts of step atoms whose arguments are piecewise linear (`cases::Pieces`), by
    /// atom (`None`: no pieces with it; at most `PREPARED_CACHE`): the claims about one
    /// derivative share the left side's atoms, and an atom's cuts are a function of it alone.
    piece_cuts: RefCell<FxHashMap<Expr, Option<Vec<Rational>>>>,
    /// What the hints of the wrong claims about one left side share (its derivative's
    /// candidates, prepared), by the left side as written and prepared (at most
    /// `HINT_BASES`): pure functions of both and the program, like `prepared`.
    hint_bases: RefCell<FxHashMap<(Expr, Expr), Rc<hint::Basis>>>,
    /// The sample's working memory (input columns and outputs; the tapes' registers are
    /// `tape_scratch`), kept between samples so that its buffers are allocated once per checker rather than grown
    /// again by every sample's batches. It holds no value from one batch to the next: every
    /// buffer is overwritten before it is read.
    sample_batch: RefCell<SampleBatch>,
    /// The registers of the sample's and the hints' tape evaluations, kept like
    /// `sample_batch` (see [`Checker::with_scratch`]).
    tape_scratch: RefCell<TapeScratch>,
}

/// Most distinct nodes of a side's expansion searched for `log` and `sqrt` arguments.
const NATURAL_WALK: usize = 10_000;

/// Most cached hint bases per checker (one per left side a wrong claim was made about).
const HINT_BASES: usize = 256;

/// Most expressions with cached tapes per checker; with at most `TAPES_PER_EXPR` input lists
/// each, at most 1,024 tapes (a tape of a claim's side is about a kilobyte).
const TAPES: usize = 512;

/// The cached tapes of one expression: each list of inputs it was compiled for (almost
/// always one), with its tape.
type TapesOf = Vec<(Vec<Symbol>, Option<Arc<Tape>>)>;

/// What [`Checker`] keeps of a left side's canonical form: the canonicalizer right after it,
/// the form, and the form as an expression once a proof has asked for it.
type KeptLeft<'a> = (Canonicalizer<'a>, RatFunc, Rc<OnceCell<Expr>>);

/// Most input lists cached for one expression.
const TAPES_PER_EXPR: usize = 2;

/// Most cached left-side canonicalizers per checker (each holds its atoms and memo).
const LEFT_FORMS: usize = 256;

/// Most cached `prepare` results per checker.
const PREPARED_CACHE: usize = 4096;

/// An expression ready for canonical forms and evaluation: derivatives resolved, definitions
/// expanded.
#[derive(Clone)]
struct Prepared {
    expr: Expr,
    kinks: Vec<Kink>,
    /// `expr`'s [`Shape`], found the first time a check asks (shared by the cached copies).
    shape: Arc<OnceLock<Shape>>,
}

impl Prepared {
    fn shape(&self) -> &Shape {
        self.shape.get_or_init(|| Shape::of(&self.expr))
    }
}

/// What every check asks about each prepared side, found once per prepared expression: the
/// claims about one derivative share their left side.
#[derive(Debug)]
struct Shape {
    /// `Expr::free_symbols`.
    symbols: Vec<Symbol>,
    /// `indexed::needs_instances`.
    instances: bool,
    /// [`Expr::has_piecewise_call`].
    piecewise: bool,
    /// [`all_constants`]: sorted, distinct, not yet cut to the eight [`constants`] keeps.
    constants: Vec<Rational>,
    /// [`cases::switch_arguments`]: where the piecewise built-ins switch, for the probe.
    switches: Vec<Expr>,
}

impl Shape {
    /// One walk over `e` when it has no sum or delta (every single-variable claim): the
    /// symbols met, whether one is indexed, whether a piecewise built-in occurs, and the
    /// constants; the same as the four walks of [`Shape::separately`], which run otherwise.
    fn of(e: &Expr) -> Shape {
        let mut symbols = Vec::new();
        let mut instances = false;
        let mut piecewise = false;
        let mut constants: Vec<Rational> = Vec::new();
        let mut switches: Vec<Expr> = Vec::new();
        let flat = Expr::visit_distinct(&[e], |x| {
            match x.node() {
                Node::Sum { .. } | Node::Delta(..) => return false,
                Node::Sym(s) => {
                    instances |= !crate::index::symbol_indices(s).is_empty();
                    symbols.push(s.clone());
                }
                Node::Num(r) => push_probe_constant(&mut constants, r),
                Node::Call(crate::expr::Func::Builtin(b), _) if b.info().piecewise => {
                    piecewise = true;
                    if let Some(u) = cases::switch_argument(x) {
                        if !switches.contains(&u) {
                            switches.push(u);
                        }
                    }
                }
                _ => {}
            }
            true
        });
        if !flat {
            return Shape::separately(e);
        }
        symbols.sort();
        symbols.dedup();
        constants.sort();
        Shape {
            symbols,
            instances,
            piecewise,
            constants,
            switches,
        }
    }

    /// The four walks one by one.
    fn separately(e: &Expr) -> Shape {
        Shape {
            symbols: e.free_symbols(),
            instances: indexed::needs_instances(e),
            piecewise: e.has_piecewise_call(),
            constants: all_constants(&[e]),
            switches: cases::switch_arguments(&[e]),
        }
    }
}

/// What the sampler and the hint ask about the two sides of a claim together, from their
/// shapes: the same values as [`Expr::has_piecewise_call`] and [`constants`] of both.
pub(crate) struct PairShape {
    /// Either side has a piecewise built-in.
    pub piecewise: bool,
    /// `constants(&[l, r])`.
    pub scales: Vec<Rational>,
    /// The free symbols of both, sorted and distinct.
    pub symbols: Vec<Symbol>,
}

impl PairShape {
    fn of(l: &Shape, r: &Shape) -> PairShape {
        let mut scales = l.constants.clone();
        for c in &r.constants {
            if !scales.iter().any(|s| eq_rational(s, c)) {
                scales.push(c.clone());
            }
        }
        scales.sort_by(cmp_rational);
        scales.truncate(MAX_CONSTANTS);
        let mut symbols = l.symbols.clone();
        symbols.extend(r.symbols.iter().cloned());
        symbols.sort();
        symbols.dedup();
        PairShape {
            piecewise: l.piecewise || r.piecewise,
            scales,
            symbols,
        }
    }
}

impl<'a> Checker<'a> {
    /// A checker for the program's definitions and assumptions. User functions named like a
    /// built-in (`let σ(z) = 1/(1 + exp(-z))`) are differentiated with the built-in's rule
    /// only when their definition is proved equal to it.
    pub fn new(program: &'a Program, config: &'a CheckConfig) -> Checker<'a> {
        // Facts about entries and sums hold for every instance of the indices: they constrain
        // the samples of indexed claims (`indexed`), not of scalar ones, where a free index
        // has no value.
        let mut domain = Domain::default();
        let mut sum_facts = Vec::new();
        for a in program.assumptions() {
            let exprs: Vec<&Expr> = match &a.fact {
                crate::program::Fact::Compare(es, _) => es.iter().collect(),
                crate::program::Fact::Member(e, _) => vec![e],
            };
            if let (crate::program::Fact::Compare(es, rels), true) = (
                &a.fact,
                exprs.iter().any(|e| matches!(e.node(), Node::Sum { .. })),
            ) {
                if let ([sum, value], [crate::program::Rel::Eq]) = (es.as_slice(), rels.as_slice())
                {
                    let expand = |e: &Expr| program.expand(e, config.limits.max_growth).ok();
                    if let (Some(sum), Some(value)) = (expand(sum), expand(value)) {
                        sum_facts.push((sum, value, a.span));
                    }
                }
            }
            if !exprs.iter().any(|e| indexed::needs_instances(e)) {
                domain.add(&a.fact, a.span);
            }
        }
        let mut checker = Checker {
            program,
            domain,
            aliases: FxHashMap::default(),
            config,
            sum_facts,
            quantities: has_quantities(program),
            prepared: RefCell::new(FxHashMap::default()),
            fact_symbols: RefCell::new(FxHashMap::default()),
            natural: RefCell::new(FxHashMap::default()),
            expanded: RefCell::new(FxHashMap::default()),
            readable_forms: RefCell::new(FxHashMap::default()),
            raw_derivatives: RefCell::new(FxHashMap::default()),
            light_places: RefCell::new(FxHashMap::default()),
            left_forms: RefCell::new(FxHashMap::default()),
            tapes: RefCell::new(FxHashMap::default()),
            piece_cuts: RefCell::new(FxHashMap::default()),
            hint_bases: RefCell::new(FxHashMap::default()),
            sample_batch: RefCell::default(),
            tape_scratch: RefCell::default(),
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

    /// `Tape::compile(&[e], inputs)`, compiled once per checker (a tape is a pure function
    /// of the expression and its inputs).
    pub(crate) fn tape_of(&self, e: &Expr, inputs: &[Symbol]) -> Option<Arc<Tape>> {
        if let Some(t) = self.cached_tape(e, inputs) {
            return t;
        }
        let tape = Tape::compile(std::slice::from_ref(e), inputs)
            .ok()
            .map(Arc::new);
        let mut tapes = self.tapes.borrow_mut();
        if tapes.len() >= TAPES {
            tapes.clear();
        }
        let of_e = tapes.entry(e.clone()).or_default();
        if of_e.len() >= TAPES_PER_EXPR {
            of_e.clear();
        }
        of_e.push((inputs.to_vec(), tape.clone()));
        tape
    }

    /// The tape `tape_of` would give, when it is cached already (`Some(None)`: it does not
    /// compile); `None` when it is not. Looked up by the expression, then the inputs among
    /// its few lists, without building a key.
    fn cached_tape(&self, e: &Expr, inputs: &[Symbol]) -> Option<Option<Arc<Tape>>> {
        let tapes = self.tapes.borrow();
        let of_e = tapes.get(e)?;
        of_e.iter()
            .find(|(i, _)| i.as_slice() == inputs)
            .map(|(_, t)| t.clone())
    }

    /// Runs `f` with the checker's tape registers, allocated once per checker and grown to
    /// the largest tape, or with fresh ones while they are in use. A tape overwrites every
    /// register it reads before reading it, so no value passes from one run to the next.
    pub(crate) fn with_scratch<R>(&self, f: impl FnOnce(&mut TapeScratch) -> R) -> R {
        match self.tape_scratch.try_borrow_mut() {
            Ok(mut scratch) => f(&mut scratch),
            Err(_) => f(&mut TapeScratch::new()),
        }
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
        if let Some(r) = self.readable_forms.borrow().get(e) {
            return Ok(r.clone());
        }
        let ctx = ReadableCtx {
            program: self.program,
            limits: &self.config.limits,
            deadline: Deadline::after(self.config.limits.timeout_per_step),
        };
        // Pure given the program and the limits; a limit reached is not remembered (another
        // call may have the time).
        let r = readable(e, &ctx)?;
        remember(&self.readable_forms, e, &r);
        Ok(r)
    }

    /// The raw derivative d/d`var` `f` as `diff` gives it (before expanding definitions),
    /// `None` when it cannot be taken; successful ones are cached.
    pub(crate) fn raw_derivative(&self, f: &Expr, var: &Symbol) -> Option<Expr> {
        let key = Expr::deriv(f.clone(), var.clone());
        if let Some(d) = self.raw_derivatives.borrow().get(&key) {
            return Some(d.clone());
        }
        let d = diff::diff(f, var, &self.diff_ctx()).ok()?.expr;
        remember(&self.raw_derivatives, &key, &d);
        Some(d)
    }

    /// The kinks with the place of each in readable form (`z = 0`, not `0 − (−z) = 0`), each
    /// place once.
    pub fn readable_kinks<'k>(&self, kinks: impl IntoIterator<Item = &'k Kink>) -> Vec<Kink> {
        let mut out: Vec<Kink> = Vec::new();
        for k in kinks {
            // The user's own spelling (`w·x + b`) unless the readable form is smaller.
            let at = match self.readable(&k.at) {
                Ok(r) if r.tree_size() < k.at.tree_size() => r,
                _ => k.at.clone(),
            };
            let k = Kink {
                func: k.func,
                at: without_constant_factors(&at),
            };
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// The kinks as `readable_kinks` gives them, but only lightly simplified (numbers folded,
    /// sums flattened: `z − 1/2` for `z − 1·(1/2)`): every check reports its kinks, and the
    /// full readable form of each would cost more than the rest of the check.
    fn light_kinks<'k>(&self, kinks: impl IntoIterator<Item = &'k Kink>) -> Vec<Kink> {
        let mut out: Vec<Kink> = Vec::new();
        for k in kinks {
            let k = Kink {
                func: k.func,
                at: self.light_place(&k.at),
            };
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// A kink's place as [`Checker::light_kinks`] reports it, found once per checker.
    fn light_place(&self, at: &Expr) -> Expr {
        if let Some(p) = self.light_places.borrow().get(at) {
            return p.clone();
        }
        let light = crate::simplify::readable::refold_builtins(at);
        let place = if light.tree_size() < at.tree_size() {
            light
        } else {
            at.clone()
        };
        let place = without_constant_factors(&place);
        remember(&self.light_places, at, &place);
        place
    }

    /// The expression of [`Checker::prepare`]'s result alone: a cached one without copying
    /// its kinks and shape (the hints ask for many candidates' prepared forms, again and
    /// again).
    fn prepared_expr(&self, e: &Expr) -> Result<Expr, String> {
        if let Some(p) = self.prepared.borrow().get(e) {
            return match p {
                Ok(p) => Ok(p.expr.clone()),
                Err(m) => Err(m.clone()),
            };
        }
        self.prepare(e).map(|p| p.expr)
    }

    fn prepare(&self, e: &Expr) -> Result<Prepared, String> {
        if let Some(p) = self.prepared.borrow().get(e) {
            return p.clone();
        }
        let p = self.prepare_uncached(e);
        let mut cache = self.prepared.borrow_mut();
        if cache.len() >= PREPARED_CACHE {
            cache.clear();
        }
        cache.insert(e.clone(), p.clone());
        p
    }

    /// `Program::expand` with this checker's growth limit, cached per checker.
    fn expand(&self, e: &Expr) -> Result<Expr, LimitReached> {
        if let Some(x) = self.expanded.borrow().get(e) {
            return x.clone();
        }
        let x = self.program.expand(e, self.config.limits.max_growth);
        let mut cache = self.expanded.borrow_mut();
        if cache.len() >= PREPARED_CACHE {
            cache.clear();
        }
        cache.insert(e.clone(), x.clone());
        x
    }

    fn prepare_uncached(&self, e: &Expr) -> Result<Prepared, String> {
        let ctx = self.diff_ctx();
        let mut kinks = Vec::new();
        match preparation(e, self.program, self.quantities, &self.config.limits) {
            Preparation::Rounds => {}
            // `e` is its own prepared form: resolving returns it (every node maps to itself)
            // and so does expanding that.
            Preparation::Nothing => {
                self.remember_expanded(e);
                return Ok(Prepared {
                    expr: e.clone(),
                    kinks: Vec::new(),
                    shape: Arc::default(),
                });
            }
            Preparation::ResolveOnly => {
                // The same value, kinks and errors as the rounds, without the expansion
                // and the walk for unresolved derivatives.
                let (resolved, k) = diff::resolve(e, &ctx).map_err(|e| e.to_string())?;
                for x in k {
                    if !kinks.contains(&x) {
                        kinks.push(x);
                    }
                }
                self.remember_expanded(&resolved);
                return Ok(Prepared {
                    expr: resolved,
                    kinks,
                    shape: Arc::default(),
                });
            }
        }
        self.prepare_by_rounds(e)
    }

    /// Records that `e` expands to itself (it has nothing to expand, or only equal nodes to
    /// merge, which gives an equal expression; see [`preparation`]), for `natural_of`.
    fn remember_expanded(&self, e: &Expr) {
        let mut cache = self.expanded.borrow_mut();
        if cache.len() >= PREPARED_CACHE {
            cache.clear();
        }
        cache.insert(e.clone(), Ok(e.clone()));
    }

    /// Resolving and expanding in turn until nothing is left unresolved (definitions may
    /// refer to derivatives), at most four rounds.
    fn prepare_by_rounds(&self, e: &Expr) -> Result<Prepared, String> {
        let ctx = self.diff_ctx();
        let mut kinks = Vec::new();
        let mut cur = e.clone();
        for _ in 0..4 {
            let (resolved, k) = diff::resolve(&cur, &ctx).map_err(|e| e.to_string())?;
            for x in k {
                if !kinks.contains(&x) {
                    kinks.push(x);
                }
            }
            let expanded = self.expand(&resolved).map_err(|e| e.to_string())?;
            if !has_unresolved(&expanded, self.program) {
                return Ok(Prepared {
                    expr: expanded,
                    kinks,
                    shape: Arc::default(),
                });
            }
            cur = expanded;
        }
        Err("definitions refer to derivatives too deeply".into())
    }

    /// Checks `lhs = rhs`.
    pub fn check_equal(&self, lhs: &Expr, rhs: &Expr) -> Outcome {
        self.check_equal_after(lhs, rhs, &[])
    }

    /// Checks `lhs = rhs` as a line of a chain whose earlier lines reported `earlier_kinks`:
    /// every line of a chain stands for the same derivative, which does not exist at those
    /// kinks, so a line is not refuted by its value there (see `gap_at_cuts`).
    pub fn check_equal_after(&self, lhs: &Expr, rhs: &Expr, earlier_kinks: &[Kink]) -> Outcome {
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
        let kinks = self.light_kinks(l.kinks.iter().chain(&r.kinks));
        // The kinks of these sides and of the chain's earlier lines: the derivative does not
        // exist there, so neither the sample nor the cuts compare the sides there.
        let at_kinks: Vec<&Kink> = kinks.iter().chain(earlier_kinks).collect();
        let limits = &self.config.limits;
        let natural = self.natural_domain(&[lhs, rhs]);
        let deadline = Deadline::after(limits.timeout_per_step);
        // Without natural-domain arguments, the canonicalizer's state after the left side
        // depends on the left side alone: continue a copy of the one kept for it.
        let canonicalizer = || {
            let kept = if natural.is_empty() {
                self.left_forms
                    .borrow()
                    .get(&l.expr)
                    .map(|(c, form, shown)| (c.fork(deadline), (form.clone(), shown.clone())))
            } else {
                None
            };
            match kept {
                Some((c, form)) => (c, Some(form)),
                None => {
                    let mut canon = Canonicalizer::new(limits, deadline);
                    self.assume_sums(&mut canon);
                    (canon, None)
                }
            }
        };
        // Made before the probe only when the natural domain needs it (a claim the probe
        // refutes needs none).
        let mut made = None;
        let sum_facts_used = !self.sum_facts.is_empty();
        if !natural.is_empty() {
            let (mut canon, kept_left) = canonicalizer();
            // A claim about a function defined nowhere (log(0·z), √(−1 − z²) written as a
            // constant) is vacuous: no verdict, whatever its derivative's form.
            if let Some(arg) = natural.iter().find(|a| {
                canon
                    .canonical(a)
                    .ok()
                    .and_then(|c| c.constant_value())
                    .is_some_and(|c| c.is_negative() || c.is_zero())
            }) {
                return undecided(format!(
                    "the claim involves log or √ of {}, which is never positive: the functions \
                     are defined nowhere (or at one point), so there is nothing to check",
                    crate::print::unicode(arg)
                ));
            }
            made = Some((canon, kept_left));
        }
        let mut limit_note = None;
        let mut split = cases::Cases::default();
        // A claim without stated sums or index notation is probed before its canonical forms.
        // Where the probe finds a counterexample, the forms cannot be equal (every canonical
        // rewrite is an identity wherever both sides are defined, and a counterexample is a
        // point where both are defined and certainly differ): the claim is incorrect without
        // them, and the sample goes on from that point exactly as the full one would;
        // otherwise the check goes on as before.
        // - Without piecewise functions the canonical difference has no H atom, so the sample
        //   has no case seeds and is the same before or after the forms. The probe is its
        //   first point (`Reach::WhileDiffering`).
        // - With them the sample starts from the cases' seeds, which come from the canonical
        //   difference. The probe starts from the seeds of the places where the sides'
        //   piecewise built-ins switch (`cases::switch_seeds`, found without forms), usually
        //   the same seeds (the exception is an atom that cancels in the difference), and
        //   covers the first `CASE_PROBE_POINTS` points, as the sample before the cases does.
        //   With the same seeds it *is* that sample, which is then not drawn again.
        // The symbols of both sides (listed once for the sampler and the facts) and the
        // pair's shape, when the probe found them.
        let mut probed: Option<(Vec<Symbol>, PairShape)> = None;
        let mut probe_seeds = Vec::new();
        let mut probed_piecewise = false;
        if !sum_facts_used {
            let (l_shape, r_shape) = (l.shape(), r.shape());
            if !(l_shape.instances || r_shape.instances) {
                let mut side_symbols = l_shape.symbols.clone();
                side_symbols.extend(r_shape.symbols.iter().cloned());
                let pair = PairShape::of(l_shape, r_shape);
                if pair.piecewise {
                    let mut args: Vec<&Expr> = l_shape.switches.iter().collect();
                    for u in &r_shape.switches {
                        if !args.contains(&u) {
                            args.push(u);
                        }
                    }
                    probe_seeds = cases::switch_seeds(&args, &pair.symbols, limits);
                    probed_piecewise = true;
                }
                probed = Some((side_symbols, pair));
            }
        }
        let refuted = probed.as_ref().and_then(|(side_symbols, pair)| {
            self.sample(
                &l.expr,
                &r.expr,
                side_symbols,
                pair,
                &probe_seeds,
                &natural,
                &at_kinks,
                if pair.piecewise {
                    Reach::Within(CASE_PROBE_POINTS)
                } else {
                    Reach::WhileDiffering
                },
            )
        });
        // The canonicalizer of the forms (none when the probe refuted the claim).
        let mut canon_slot: Option<Canonicalizer> = None;
        let (side_symbols, pair, sampled) = match (refuted, probed) {
            (Some(sampled), Some((side_symbols, pair))) => (side_symbols, pair, sampled),
            (_, probed) => {
                let (canon, kept_left) = made.take().unwrap_or_else(canonicalizer);
                let canon = canon_slot.insert(canon);
                // The left side's form as an expression, kept with the form when it is kept.
                let mut left_shown: Option<Rc<OnceCell<Expr>>> = None;
                let left = match kept_left {
                    Some((form, shown)) => {
                        left_shown = Some(shown);
                        Ok(form)
                    }
                    None => {
                        let form = canon.canonical(&l.expr);
                        if let (true, Ok(f)) = (natural.is_empty(), &form) {
                            let shown = Rc::new(OnceCell::new());
                            let mut kept = self.left_forms.borrow_mut();
                            if kept.len() >= LEFT_FORMS {
                                kept.clear();
                            }
                            kept.insert(
                                l.expr.clone(),
                                (canon.fork(deadline), f.clone(), shown.clone()),
                            );
                            left_shown = Some(shown);
                        }
                        form
                    }
                };
                // `to_expr` of the left side's form, made once per kept form.
                let shown_left = |canon: &Canonicalizer, cl: &RatFunc| match &left_shown {
                    Some(shown) => shown.get_or_init(|| canon.to_expr(cl)).clone(),
                    None => canon.to_expr(cl),
                };
                let canon_result = left.and_then(|cl| canon.canonical(&r.expr).map(|cr| (cl, cr)));
                // The left side's form, for a proof by cases.
                let mut proof_form = None;
                match canon_result {
                    Ok((cl, cr)) if cl == cr => {
                        let assumptions = if sum_facts_used {
                            self.sum_facts_needed(&l.expr, &r.expr)
                        } else {
                            Vec::new()
                        };
                        return Outcome {
                            verdict: Verdict::Proved(Proof {
                                canonical: shown_left(canon, &cl),
                                cases: Vec::new(),
                                in_domain: false,
                                off_kinks: false,
                            }),
                            hint: None,
                            kinks,
                            assumptions,
                        };
                    }
                    Ok((cl, cr)) => {
                        // Without an H atom anywhere in the table the split finds no atoms
                        // (`Cases::default()`), so the difference is not needed.
                        if cases::has_steps(canon) {
                            if let Ok(d) =
                                cl.sub(&cr, limits, &Deadline::after(limits.timeout_per_step))
                            {
                                split = cases::split_undecided(canon, &d);
                            }
                        }
                        proof_form = Some(cl);
                    }
                    Err(CanonError::Limit(lr)) => limit_note = Some(lr.to_string()),
                    Err(e) => limit_note = Some(e.to_string()),
                }
                // The outcome when the sides are equal by cases (see `cases`), decided at most
                // once.
                let mut by_cases = |split: &mut cases::Cases, canon: &mut Canonicalizer| {
                    if split.atoms.is_empty() {
                        return None;
                    }
                    // With atoms piecewise linear in one symbol, the cases of the places
                    // between their cuts are all the cases that can occur.
                    {
                        let mut known = self.piece_cuts.borrow_mut();
                        if known.len() >= PREPARED_CACHE {
                            known.clear();
                        }
                        split.find_feasible_places(limits, &mut known, &deadline);
                    }
                    split.decide(canon);
                    // Otherwise only the places inside the assumed domain and off the kinks
                    // need to vanish (a proof everywhere says more, so it is tried first).
                    let mut left_out = Restriction::default();
                    if !split.proved {
                        left_out = self.restrict_to_domain(split, &at_kinks);
                        if left_out.at_kinks || !left_out.facts.is_empty() {
                            split.decide(canon);
                        }
                    }
                    let cl = proof_form.take().filter(|_| split.proved)?;
                    Some(Outcome {
                        verdict: Verdict::Proved(Proof {
                            canonical: shown_left(canon, &cl),
                            cases: std::mem::take(&mut split.atoms),
                            in_domain: !left_out.facts.is_empty(),
                            off_kinks: left_out.at_kinks,
                        }),
                        hint: None,
                        kinks: kinks.clone(),
                        assumptions: left_out.facts,
                    })
                };
                let (l_shape, r_shape) = (l.shape(), r.shape());
                if l_shape.instances || r_shape.instances {
                    if let Some(proved) = by_cases(&mut split, canon) {
                        return proved;
                    }
                    let mut out = self.check_instances(lhs, rhs, &l.expr, &r.expr);
                    out.kinks = kinks;
                    return out;
                }
                let (side_symbols, pair) = probed.unwrap_or_else(|| {
                    let mut side_symbols = l_shape.symbols.clone();
                    side_symbols.extend(r_shape.symbols.iter().cloned());
                    (side_symbols, PairShape::of(l_shape, r_shape))
                });
                let sample = |seeds: &[(Symbol, Rational)], reach| {
                    self.sample(
                        &l.expr,
                        &r.expr,
                        &side_symbols,
                        &pair,
                        seeds,
                        &natural,
                        &at_kinks,
                        reach,
                    )
                };
                // The cases are decided only when the sample's first points hold no
                // counterexample: a proof by cases and a counterexample cannot both exist
                // (the cases' proof holds wherever both sides are defined, and a
                // counterexample is a point where both are defined and certainly differ), so
                // a refuted claim never needs them, and a claim they prove needs no sample
                // (its result would be discarded). A sample that refutes among its first
                // `CASE_PROBE_POINTS` goes on exactly as the full one; otherwise the full
                // sample is drawn after the cases, from the same seeds (it does not depend on them: its seeds come
                // from `split_undecided`).
                // The probe above was this sample when its seeds were the cases' (the same
                // sides, seeds and reach draw the same points): it found no counterexample.
                let probed_already = probed_piecewise && probe_seeds == split.seeds;
                let refuted = if split.atoms.is_empty() || probed_already {
                    None
                } else {
                    sample(&split.seeds, Reach::Within(CASE_PROBE_POINTS))
                };
                let sampled = match refuted {
                    Some(sampled) => sampled,
                    None => {
                        if let Some(proved) = by_cases(&mut split, canon) {
                            return proved;
                        }
                        let Some(sampled) = sample(&split.seeds, Reach::All) else {
                            return undecided("the sample stopped before its end".into());
                        };
                        sampled
                    }
                };
                (side_symbols, pair, sampled)
            }
        };
        let assumptions = self.relevant_facts_of(&side_symbols);
        let verdict = match sampled.result {
            SampleResult::Agree(points) => {
                // Only agreement needs the cases with a constant difference.
                let sampled_at = sampled.points.iter().chain(&sampled.too_large);
                // A refuted claim has no canonicalizer, but neither does it agree.
                let canon = canon_slot.get_or_insert_with(|| canonicalizer().0);
                match self.constant_gap(&mut split, canon, sampled_at) {
                    Some(gap) => Verdict::Undecided(gap),
                    None => {
                        match self.gap_at_cuts(
                            &mut split,
                            canon,
                            (&l.expr, &r.expr),
                            &side_symbols,
                            &natural,
                            &sampled.points,
                            &at_kinks,
                        ) {
                            Some((verdict, hint)) => {
                                return Outcome {
                                    verdict,
                                    hint,
                                    kinks,
                                    assumptions,
                                }
                            }
                            None => Verdict::ByEvidence(Evidence {
                                points,
                                tolerance: self.config.tolerance,
                                instances: None,
                            }),
                        }
                    }
                }
            }
            SampleResult::Differ(cx) => Verdict::Incorrect(cx),
            SampleResult::Inconclusive(reason) => Verdict::Undecided(match limit_note {
                Some(n) => format!("{reason}; canonical form: {n}"),
                None => reason,
            }),
        };
        let hint = match &verdict {
            Verdict::Incorrect(_) if self.config.hints => {
                hint::find(self, lhs, rhs, &l.expr, &r.expr, &pair, &sampled.points)
            }
            _ => None,
        };
        Outcome {
            verdict,
            hint,
            kinks,
            assumptions,
        }
    }

    /// Registers the stated sums with a canonicalizer; true when there were any.
    fn assume_sums(&self, canon: &mut Canonicalizer<'_>) -> bool {
        for (sum, value, _) in &self.sum_facts {
            // A sum whose canonical form is not one sum atom states nothing usable.
            let _ = canon.assume_sum(sum, value);
        }
        !self.sum_facts.is_empty()
    }

    /// The spans of the stated sums a canonical proof of `l = r` needed: none when the forms
    /// are equal without them.
    fn sum_facts_needed(&self, l: &Expr, r: &Expr) -> Vec<Span> {
        let limits = &self.config.limits;
        let mut plain = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
        match plain.equal(l, r) {
            Ok(true) => Vec::new(),
            _ => self.sum_facts.iter().map(|(_, _, span)| *span).collect(),
        }
    }

    /// For a wrong claim in index notation: the hint that it holds once a sum of entries is
    /// 1 (a one-hot or probability target), when that is so.
    fn sum_assumption_hint(&self, lhs: &Expr, rhs: &Expr) -> Option<Hint> {
        let (l, r) = (self.prepare(lhs).ok()?, self.prepare(rhs).ok()?);
        let limits = &self.config.limits;
        let mut canon = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
        self.assume_sums(&mut canon);
        let (cl, cr) = (
            canon.canonical(&l.expr).ok()?,
            canon.canonical(&r.expr).ok()?,
        );
        let d = cl
            .sub(&cr, limits, &Deadline::after(limits.timeout_per_step))
            .ok()?;
        let diff = canon.to_expr(&d);
        // Candidate sums: Σ_i y_i over one family's entries, in the difference.
        let mut candidates: Vec<Expr> = Vec::new();
        let mut stack = vec![diff];
        while let Some(x) = stack.pop() {
            if let Node::Sum { body, .. } = x.node() {
                if body.as_sym().is_some() && !candidates.contains(&x) {
                    candidates.push(x.clone());
                }
            }
            stack.extend(x.node().children().cloned());
        }
        candidates.into_iter().find_map(|sum| {
            let mut c = Canonicalizer::new(limits, Deadline::after(limits.timeout_per_step));
            self.assume_sums(&mut c);
            c.assume_sum(&sum, &Expr::one()).ok().filter(|&ok| ok)?;
            c.equal(&l.expr, &r.expr)
                .ok()
                .filter(|&eq| eq)
                .map(|_| Hint::NeedsSumAssumption(sum))
        })
    }

    /// The spans of the facts a check of `l = r` relies on: those about a symbol of either
    /// side, directly or through a named quantity's definition (0 < A < 1 with A = σ(Z)
    /// constrains Z). Facts about other symbols restrict the sample too, but not the verdict.
    fn relevant_facts(&self, l: &Expr, r: &Expr) -> Vec<Span> {
        let mut used = l.free_symbols();
        used.extend(r.free_symbols());
        self.relevant_facts_of(&used)
    }

    /// [`Checker::relevant_facts`] given the symbols of both sides.
    fn relevant_facts_of(&self, used: &[Symbol]) -> Vec<Span> {
        self.domain
            .facts
            .iter()
            .filter(|f| {
                f.symbols.iter().any(|s| {
                    used.contains(s)
                        || self
                            .prepared_symbols(s)
                            .is_some_and(|ts| ts.iter().any(|t| used.contains(t)))
                })
            })
            .map(|f| f.span)
            .collect()
    }

    /// The free symbols of `s` prepared (a quantity through its definition), `None` when it
    /// cannot be prepared; computed once per symbol.
    fn prepared_symbols(&self, s: &Symbol) -> Option<Vec<Symbol>> {
        if let Some(v) = self.fact_symbols.borrow().get(s) {
            return v.clone();
        }
        let v = self
            .prepare(&Expr::sym(s.clone()))
            .ok()
            .map(|p| p.expr.free_symbols());
        self.fact_symbols.borrow_mut().insert(s.clone(), v.clone());
        v
    }

    /// Evaluates a prepared expression at a point (`None`: undefined or not finite).
    fn eval_at(&self, e: &Expr, point: &Point) -> Option<f64> {
        let env = |s: &Symbol| {
            point
                .iter()
                .find(|(t, _)| t == s)
                .map(|(_, v)| rational_to_f64(v))
        };
        eval_f64_value(e, &env).filter(|v| v.is_finite())
    }

    /// When a sampled point lies in a case where the sides differ by a nonzero constant (see
    /// `cases`), numeric agreement there is f64 rounding, not evidence: the reason to say so.
    fn constant_gap<'p>(
        &self,
        split: &mut cases::Cases,
        canon: &mut Canonicalizer,
        points: impl Iterator<Item = &'p Point>,
    ) -> Option<String> {
        // With linear atoms the cases that can occur are few and known: when none has a gap,
        // no point needs its case.
        if split.atoms.is_empty() || split.no_gap_in_any_case(canon) {
            return None;
        }
        let limits = &self.config.limits;
        // With piecewise linear atoms, the places between the cuts whose case is known to
        // have no gap (every point of a place lies in its case): a point there is passed over.
        let mut clear_places: Vec<usize> = Vec::new();
        {
            let mut known = self.piece_cuts.borrow_mut();
            if known.len() >= PREPARED_CACHE {
                known.clear();
            }
            split.find_pieces(limits, &mut known);
        }
        for point in points {
            let place = split.piece_place(point, limits);
            if place.is_some_and(|p| clear_places.contains(&p)) {
                continue;
            }
            let Some(at) = split.assignment_at(point, limits) else {
                continue;
            };
            let gap = match split.gap_in(canon, &at) {
                Ok(gap) => gap,
                Err(why) => {
                    return Some(format!(
                        "whether left minus right is a nonzero constant where the samples lie \
                         is not known ({why})"
                    ))
                }
            };
            if let (None, Some(p)) = (&gap, place) {
                clear_places.push(p);
            }
            if let Some(c) = gap {
                let place = point
                    .iter()
                    .map(|(s, v)| format!("{} = {v}", crate::print::unicode(&Expr::sym(s.clone()))))
                    .collect::<Vec<_>>()
                    .join(", ");
                let steps: Vec<String> = split.atoms.iter().map(crate::print::unicode).collect();
                return Some(format!(
                    "left minus right is exactly {} at {place} (and wherever {} take the same \
                     values), a difference f64 evaluation cannot resolve at the sides' size",
                    crate::print::rational_to_string(&c, crate::print::Format::Unicode),
                    steps.join(", ")
                ));
            }
        }
        None
    }

    /// Restricts a proof by cases to the places inside the assumed domain (see
    /// [`cases::Cases::restrict_to_domain`]), using the facts about the atoms' one symbol
    /// alone that are linear comparisons (z > 0, 0 ≤ z ≤ 6): their roots become cuts, so each
    /// place lies wholly inside or outside each of them. Other facts restrict nothing. The
    /// spans of the facts used, when some place was left out; empty otherwise.
    ///
    /// The places at a reported kink (`kinks`, when its place is linear in the symbol) are
    /// left out as well: the derivative does not exist there (see `gap_at_cuts`). Their roots
    /// are cuts too, so such a place is the one point.
    fn restrict_to_domain(&self, split: &mut cases::Cases, kinks: &[&Kink]) -> Restriction {
        let none = Restriction::default();
        if (self.domain.facts.is_empty() && kinks.is_empty()) || split.atoms.is_empty() {
            return none;
        }
        let limits = &self.config.limits;
        let Some((symbol, _)) = split.cut_points(limits, &mut self.piece_cuts.borrow_mut()) else {
            return none;
        };
        let kink_roots: Vec<Rational> = kinks
            .iter()
            .filter_map(|k| cases::linear_root(&k.at, &symbol, limits).flatten())
            .collect();
        // The usable facts: (span, prepared sides, relations) of comparisons whose sides are
        // linear in the symbol alone.
        let mut usable: Vec<(Span, Vec<Expr>, Vec<Rel>)> = Vec::new();
        let mut bounds: Vec<Rational> = Vec::new();
        for f in &self.domain.facts {
            let Fact::Compare(exprs, rels) = &f.fact else {
                continue;
            };
            let Some(sides) = exprs
                .iter()
                .map(|e| self.prepare(e).ok().map(|p| p.expr))
                .collect::<Option<Vec<Expr>>>()
            else {
                continue;
            };
            let mut roots = Vec::new();
            let linear = sides.windows(2).all(|pair| match pair {
                [a, b] => {
                    match cases::linear_root(&Expr::sub(a.clone(), b.clone()), &symbol, limits) {
                        Some(root) => {
                            roots.extend(root);
                            true
                        }
                        None => false,
                    }
                }
                _ => true,
            });
            let about = sides.iter().any(|e| e.free_symbols().contains(&symbol));
            if linear && about {
                bounds.extend(roots);
                usable.push((f.span, sides, rels.clone()));
            }
        }
        if usable.is_empty() && kink_roots.is_empty() {
            return none;
        }
        bounds.extend(kink_roots.iter().cloned());
        let mut at_kink = false;
        let mut in_domain = false;
        // A place outside the domain is left out for that reason, whether or not a kink
        // lies there; a kink's point inside it, for being a kink.
        let mut inside = |t: &Rational| -> Option<bool> {
            let env = |s: &Symbol| (*s == symbol).then(|| t.clone());
            let mut all = true;
            for (_, sides, rels) in &usable {
                for (i, rel) in rels.iter().enumerate() {
                    let a = exact_value(sides.get(i)?, &env, limits)?;
                    let b = exact_value(sides.get(i + 1)?, &env, limits)?;
                    all &= match rel {
                        Rel::Lt => a < b,
                        Rel::Le => a <= b,
                        Rel::Gt => a > b,
                        Rel::Ge => a >= b,
                        Rel::Eq => a == b,
                    };
                }
            }
            in_domain |= !all;
            if all && kink_roots.contains(t) {
                at_kink = true;
                return Some(false);
            }
            Some(all)
        };
        if !split.restrict_to_domain(&bounds, &mut inside, limits) {
            return none;
        }
        Restriction {
            facts: if in_domain {
                usable.into_iter().map(|(span, _, _)| span).collect()
            } else {
                Vec::new()
            },
            at_kinks: at_kink,
        }
    }

    /// After a sample that agreed: whether the sides differ at a cut, an exact point where a
    /// step switches (H(z − 1/7) at z = 1/7), which a sample of random points never meets.
    /// H(0) = ½ there, so H(u) and H(u)² differ by ¼ at that one point and nowhere else.
    ///
    /// Each cut (see [`cases::Cases::cut_points`]) is tried with the other symbols' values of
    /// a few agreeing sample points, when it lies inside the assumed and natural domains and
    /// no kink lies there: neither one this check reports nor one of the chain's earlier
    /// lines (`kinks`). At a kink the derivative does not exist, and its value H(0) = ½ is a
    /// convention, so "∂A/∂Z = 0 for Z ≤ 0" with A = relu(Z) is not refuted at Z = 0. The
    /// sides are evaluated there with every piecewise call's exact value (f64 would put
    /// H(z − 1/7) on either side of its switch); the point is a counterexample when the
    /// exact values differ or, without them, when the guaranteed enclosures are disjoint.
    ///
    /// Where neither decides but the case of the cut has a nonzero constant difference c
    /// (see [`cases::Cases::gap_in`]), the sides differ there by exactly c wherever both are
    /// defined, and the answer is "undecided" rather than numeric evidence.
    ///
    /// `Some((verdict, hint))`: incorrect at a cut (the hint names the steps that switch
    /// there), or undecided. `None`: no difference at any cut that matters.
    #[allow(clippy::too_many_arguments)]
    fn gap_at_cuts(
        &self,
        split: &mut cases::Cases,
        canon: &mut Canonicalizer,
        (l, r): (&Expr, &Expr),
        side_symbols: &[Symbol],
        natural: &[Expr],
        agreed: &[Point],
        kinks: &[&Kink],
    ) -> Option<(Verdict, Option<Hint>)> {
        if split.atoms.is_empty() {
            return None;
        }
        let limits = &self.config.limits;
        let (symbol, cuts) = {
            let mut known = self.piece_cuts.borrow_mut();
            if known.len() >= PREPARED_CACHE {
                known.clear();
            }
            split.cut_points(limits, &mut known)?
        };
        // The other symbols' values (facts may bring more) from the points that agreed; with
        // the cut's symbol alone, the cut is the point.
        let mut bases: Vec<Point> = agreed.iter().take(4).cloned().collect();
        if bases.is_empty() {
            bases.push(vec![(symbol.clone(), Rational::zero())]);
        }
        let show =
            |c: &Rational| crate::print::rational_to_string(c, crate::print::Format::Unicode);
        for t in cuts {
            // The atoms' values at the cut (for its case's gap and the hint).
            let digits = split.assignment_at(&[(symbol.clone(), t.clone())], limits);
            for base in &bases {
                let mut point = base.clone();
                match point.iter_mut().find(|(s, _)| *s == symbol) {
                    Some(slot) => slot.1 = t.clone(),
                    None => point.push((symbol.clone(), t.clone())),
                }
                if !self.inside_exactly(&point, natural) {
                    continue;
                }
                // A kink at the point, or one whose place cannot be told there: nothing is
                // compared at this cut.
                if kinks
                    .iter()
                    .any(|k| !self.certainly_away_from(&k.at, &point))
                {
                    break;
                }
                let sides = self
                    .with_exact_steps(l, &point)
                    .zip(self.with_exact_steps(r, &point));
                let place = format!(
                    "{} = {}",
                    crate::print::unicode(&Expr::sym(symbol.clone())),
                    show(&t)
                );
                let Some((le, re)) = sides else {
                    // A step whose side of its switch f64 cannot tell: only the case's
                    // constant difference, if it has one, says anything.
                    match digits.as_ref().map(|d| split.gap_in(canon, d)) {
                        Some(Ok(Some(gap))) => {
                            return Some((
                                Verdict::Undecided(format!(
                                    "left minus right is exactly {} at {place}, where a step \
                                     switches, but the value of a side there is not known",
                                    show(&gap)
                                )),
                                None,
                            ))
                        }
                        _ => continue,
                    }
                };
                let values = self.eval_at(&le, &point).zip(self.eval_at(&re, &point));
                let Some((a, b)) = values.filter(|(a, b)| a.abs().max(b.abs()) <= 1e12) else {
                    continue;
                };
                let exact = self.exact_pair(&le, &re, &point);
                let differs = match &exact {
                    Some((x, y)) => x != y,
                    None => self.certainly_differ(&le, &re, &point),
                };
                if !differs {
                    let gap = digits.as_ref().map(|d| split.gap_in(canon, d));
                    if let (None, Some(Ok(Some(gap)))) = (&exact, gap) {
                        return Some((
                            Verdict::Undecided(format!(
                                "left minus right is exactly {} at {place}, where a step \
                                 switches, a difference f64 evaluation cannot resolve at the \
                                 sides' size",
                                show(&gap)
                            )),
                            None,
                        ));
                    }
                    continue;
                }
                let hint = self.config.hints.then(|| {
                    let mut steps = self.switching_steps(&[l, r], &point);
                    if let (true, Some(d)) = (steps.is_empty(), &digits) {
                        steps = split.atoms_at_half(d);
                    }
                    Hint::AtStepSwitch(steps)
                });
                let shown: Point = point
                    .into_iter()
                    .filter(|(s, _)| side_symbols.contains(s))
                    .collect();
                return Some((
                    Verdict::Incorrect(Counterexample {
                        point: shown,
                        left: a,
                        right: b,
                        exact,
                    }),
                    hint,
                ));
            }
        }
        None
    }

    /// Whether `point` satisfies every stated fact and makes every natural-domain argument
    /// positive, with exact values where they exist (a cut often lies on the boundary of an
    /// assumed interval, where f64 rounding could decide either way) and f64 otherwise.
    fn inside_exactly(&self, point: &Point, natural: &[Expr]) -> bool {
        let limits = &self.config.limits;
        let env = exact_env(point);
        let mut value = |e: &Expr| -> Option<f64> {
            let p = self.prepare(e).ok()?.expr;
            match exact_value(&p, &env, limits) {
                Some(v) => Some(rational_to_f64(&v)),
                None => self.eval_at(&p, point),
            }
        };
        let positive = |u: &Expr| match exact_value(u, &env, limits) {
            Some(v) => v > Rational::zero(),
            None => self.eval_at(u, point).is_some_and(|v| v > 1e-9),
        };
        self.domain.holds(&mut value) && natural.iter().all(positive)
    }

    /// The H and sign calls of `sides` whose argument is exactly 0 at `point` (each once, in
    /// the order met): the steps that switch there, as the sides write them.
    fn switching_steps(&self, sides: &[&Expr], point: &Point) -> Vec<Expr> {
        let mut out: Vec<Expr> = Vec::new();
        Expr::visit_distinct(sides, |x| {
            if let Node::Call(
                crate::expr::Func::Builtin(Builtin::Heaviside | Builtin::Sign),
                args,
            ) = x.node()
            {
                if args.iter().all(|u| self.exactly_at(u, point)) && !out.contains(x) {
                    out.push(x.clone());
                }
            }
            true
        });
        out
    }

    /// Whether `at` (a kink's place) is exactly 0 at `point`. A place whose f64 value is far
    /// from 0 is not 0 (a kink's place is a short expression of the point's short rationals,
    /// whose f64 error is near 10⁻¹⁶ of its terms), which spares the exact evaluation at
    /// most points.
    fn exactly_at(&self, at: &Expr, point: &Point) -> bool {
        if self.eval_at(at, point).is_some_and(|v| v.abs() > 1e-6) {
            return false;
        }
        let env = exact_env(point);
        exact_value(at, &env, &self.config.limits).is_some_and(|v| v.is_zero())
    }

    /// Whether `at` (a kink's place: zero exactly at the kink) is certainly nonzero at
    /// `point`: exactly, or in f64 well away from 0.
    fn certainly_away_from(&self, at: &Expr, point: &Point) -> bool {
        let env = exact_env(point);
        match exact_value(at, &env, &self.config.limits) {
            Some(v) => !v.is_zero(),
            None => self.eval_at(at, point).is_some_and(|v| v.abs() > 1e-6),
        }
    }

    /// `e` with every piecewise call (H, relu, abs, sign, max, min) that has an exact value
    /// at `point` replaced by it: at a cut f64 would put H and sign on either side of their
    /// switch, where the argument is exactly 0 but rounds to ±10⁻¹⁷. `None`: an H or sign
    /// call without an exact value whose argument may be 0 there.
    fn with_exact_steps(&self, e: &Expr, point: &Point) -> Option<Expr> {
        let limits = &self.config.limits;
        let env = exact_env(point);
        let mut table: FxHashMap<Expr, Expr> = FxHashMap::default();
        let mut known = true;
        Expr::visit_distinct(&[e], |x| {
            let Node::Call(crate::expr::Func::Builtin(b), args) = x.node() else {
                return true;
            };
            if !b.info().piecewise {
                return true;
            }
            match exact_value(x, &env, limits) {
                Some(v) => {
                    table.insert(x.clone(), Expr::num(v));
                }
                // relu, abs, max and min are continuous: f64 is as good as elsewhere. H and
                // sign jump at 0, so f64 decides them only away from it.
                None => {
                    if matches!(b, Builtin::Heaviside | Builtin::Sign)
                        && !args.iter().all(|u| self.certainly_away_from(u, point))
                    {
                        known = false;
                    }
                }
            }
            true
        });
        known.then(|| e.replace_all(&table))
    }

    /// The arguments of `log` and `sqrt` in the sides as written (definitions expanded,
    /// derivatives not yet taken), prepared for evaluation: the functions a claim is about
    /// live where these are positive, and so do their derivatives, even where the derivative
    /// formula alone would be defined (d/dz log(z) = 1/z says nothing about z < 0).
    fn natural_domain(&self, sides: &[&Expr]) -> Vec<Expr> {
        let mut out: Vec<Expr> = Vec::new();
        for side in sides {
            for p in self.natural_of(side) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The prepared `log`/`sqrt` arguments of one side, in the order `natural_domain` meets
    /// them (each once); cached per checker.
    fn natural_of(&self, side: &Expr) -> Vec<Expr> {
        if let Some(v) = self.natural.borrow().get(side) {
            return v.clone();
        }
        let mut out: Vec<Expr> = Vec::new();
        // Nothing to find where no `log` or `sqrt` occurs. At most `NATURAL_WALK` distinct
        // nodes are looked at, in the order `visit_distinct` first meets them (a tree small
        // enough to be walked without a set has far fewer nodes, repeats included).
        if let Some(expanded) = self.expand(side).ok().filter(Expr::has_log_or_sqrt) {
            let mut met = 0usize;
            Expr::visit_distinct(&[&expanded], |x| {
                met += 1;
                if met > NATURAL_WALK {
                    return false;
                }
                if let Node::Call(crate::expr::Func::Builtin(Builtin::Log | Builtin::Sqrt), args) =
                    x.node()
                {
                    for a in args {
                        if let Ok(p) = self.prepared_expr(a) {
                            if !out.contains(&p) {
                                out.push(p);
                            }
                        }
                    }
                }
                true
            });
        }
        let mut cache = self.natural.borrow_mut();
        if cache.len() >= PREPARED_CACHE {
            cache.clear();
        }
        cache.insert(side.clone(), out.clone());
        out
    }

    /// Samples `l` against `r` (see [`Sampled`]). With [`Reach::WhileDiffering`] it stops
    /// (`None`) at its first point unless that point is a counterexample; from there on it
    /// goes as with [`Reach::All`], which always gives `Some`.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &self,
        l: &Expr,
        r: &Expr,
        side_symbols: &[Symbol],
        pair: &PairShape,
        seeds: &[(Symbol, Rational)],
        natural: &[Expr],
        kinks: &[&Kink],
        reach: Reach,
    ) -> Option<Sampled> {
        // Whether the sample still stops at its first point that is not a counterexample.
        // How many more points may pass without a counterexample before the sample stops
        // (`None`: it goes to its end). Until then every point is handled as in the full
        // sample, so a sample that finds a counterexample in time goes on as the full one.
        let mut probe_left = match reach {
            Reach::All => None,
            Reach::WhileDiffering => Some(1usize),
            Reach::Within(n) => Some(n.max(1)),
        };
        // Whether this point ends the probe (no counterexample among the points allowed).
        let probe_ends = |probe_left: &mut Option<usize>| match probe_left {
            Some(left) => {
                *left = left.saturating_sub(1);
                *left == 0
            }
            None => false,
        };
        // At a reported kink the derivative does not exist (see below).
        let at_kink = |point: &Point| kinks.iter().any(|k| self.exactly_at(&k.at, point));
        let mut symbols = side_symbols.to_vec();
        // Facts about quantities constrain the sample through their definitions; each fact's
        // expressions are prepared once.
        let mut prepared_facts: FxHashMap<Expr, Option<Expr>> = FxHashMap::default();
        for f in &self.domain.facts {
            for s in &f.symbols {
                if let Some(ts) = self.prepared_symbols(s) {
                    symbols.extend(ts);
                }
            }
        }
        symbols.sort();
        symbols.dedup();
        let mut rng = Rng::new(self.config.seed ^ l.hash_value().rotate_left(17) ^ r.hash_value());
        let mut agree = Vec::new();
        let piecewise = pair.piecewise;
        let wanted = if piecewise {
            self.config.samples_piecewise
        } else {
            self.config.samples
        };
        let tries = wanted * 8 + seeds.len();
        let scales = &pair.scales;
        // A kink moved by less than the sampler's smallest step (H(z − 1/100) for relu') is
        // between two constants of the claim (0 and 1/100): piecewise claims are also probed
        // there.
        // Smooth claims are probed at their constants and a hundredth off them, so a feature
        // narrower than the sampler's offsets (2·z·(1 + exp(−1000·(z − 0.3)²))) is seen; at
        // a piecewise claim's constants sit its kinks, so it is probed between them instead.
        let probes = Probes::of(scales, piecewise);
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
        let mut too_large = Vec::new();
        // Counterexamples found, each with whether its exact pair is still to be computed.
        let mut small_difference: Option<(Counterexample, bool)> = None;
        let mut plain: Option<(Counterexample, bool)> = None;
        let mut plain_budget = 8usize;
        // One tape per side, each compiled once per checker (the claims about one derivative
        // share the left side, and the hint evaluates both sides again), when a batch of more
        // than one point first needs them: the first batch is one point, and a wrong claim
        // usually differs there, so it is evaluated by `eval_at` unless both tapes are
        // compiled already (`eval_f64` gives the tapes' values bit for bit).
        let mut tape: Option<Option<[Arc<Tape>; 2]>> = None;
        // The checker's working memory when no other sample holds it (none does: a sample
        // does not sample again), else memory of its own.
        let mut own_batch = None;
        let mut kept_batch = self.sample_batch.try_borrow_mut().ok();
        let batch: &mut SampleBatch = match kept_batch.as_deref_mut() {
            Some(b) => b,
            None => own_batch.get_or_insert_with(SampleBatch::default),
        };
        let mut drawn = 0usize;
        let mut next_batch = 1usize;
        let mut queue: std::collections::VecDeque<(Point, Option<(f64, f64)>)> =
            std::collections::VecDeque::new();
        // The limit that stopped the sample before its end, if one did.
        let mut stopped = None;
        loop {
            if queue.is_empty() {
                if drawn >= tries {
                    break;
                }
                if let Err(limit) = deadline.check("sampling") {
                    stopped = Some(limit);
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
                for attempt in drawn - n..drawn {
                    // The case seeds first (one point in every interval between kinks), then
                    // random points, some of them probes at or between the constants.
                    let seed = seeds.get(attempt);
                    let point: Point = symbols
                        .iter()
                        .map(|s| {
                            let probe = if probes.is_empty() || rng.below(4) != 0 {
                                None
                            } else {
                                probes.get(rng.below(probes.len()))
                            };
                            let v = match seed {
                                Some((t, v)) if t == s => v.clone(),
                                _ => probe.unwrap_or_else(|| {
                                    self.domain.sample_symbol_near(s, scales, &mut rng)
                                }),
                            };
                            (s.clone(), v)
                        })
                        .collect();
                    let inside = self.domain.holds(&mut |e: &Expr| {
                        let p = prepared_facts
                            .entry(e.clone())
                            .or_insert_with(|| self.prepare(e).ok().map(|p| p.expr))
                            .clone()?;
                        self.eval_at(&p, &point)
                    }) && natural
                        .iter()
                        .all(|u| self.eval_at(u, &point).is_some_and(|v| v > 0.0));
                    points.push((point, inside));
                }
                let tapes = match &tape {
                    Some(t) => t.as_ref(),
                    None if n == 1 => {
                        match (self.cached_tape(l, &symbols), self.cached_tape(r, &symbols)) {
                            (Some(a), Some(b)) => {
                                tape.get_or_insert(a.zip(b).map(|(a, b)| [a, b])).as_ref()
                            }
                            _ => None,
                        }
                    }
                    None => tape
                        .get_or_insert_with(|| {
                            match (self.tape_of(l, &symbols), self.tape_of(r, &symbols)) {
                                (Some(a), Some(b)) => Some([a, b]),
                                _ => None,
                            }
                        })
                        .as_ref(),
                };
                let values = tapes.and_then(|t| {
                    self.with_scratch(|scratch| {
                        batch.eval(t, points.iter().filter(|p| p.1).map(|p| &p.0), scratch)
                    })
                });
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
                if probe_ends(&mut probe_left) {
                    return None;
                }
                continue;
            };
            let scale = 1f64.max(a.abs()).max(b.abs());
            if scale > 1e12 {
                if probe_ends(&mut probe_left) {
                    return None;
                }
                // Too close to a singularity to trust either value.
                undefined += 1;
                too_large.push(point);
                continue;
            }
            let diff = (a - b).abs();
            let close = diff <= self.config.tolerance * scale;
            // Exact values decide whenever both sides have them and the f64 values are not
            // identical: 2·z + 10⁻¹² against 2·z agrees in f64 at every point.
            // Exact evaluation costs more than the rest of a point; below 10⁻¹⁴ of the sides'
            // size a difference is f64 rounding in either case, so it is only paid above.
            // The rounding floor is relative to the sides themselves, not floored at 1 like
            // `scale`: z²/10³⁰ against 0 differs by 2·10⁻³⁰ and is decided exactly.
            let size = a.abs().max(b.abs());
            // Past a plain counterexample only a point with shorter numbers can change the
            // report, so a point whose numbers are no shorter is not certified: it counts as
            // agreeing when its f64 values are close, and spends the search's budget when
            // they differ plainly (by more than 10⁻⁶ of `scale`, off the kinks), as a
            // certified difference would. Either way the verdict is the counterexample
            // already found.
            if let Some((best, _)) = &plain {
                if height_of(&point, side_symbols) >= height(&best.point) {
                    if close {
                        agree.push(point);
                        if agree.len() >= wanted {
                            break;
                        }
                    } else if diff > 1e-6 * scale && !at_kink(&point) {
                        if plain_budget == 0 {
                            break;
                        }
                        plain_budget -= 1;
                    }
                    continue;
                }
            }
            // The rule: exact values decide where both sides have them; otherwise only a
            // certain difference is a counterexample, the guaranteed enclosures of both sides
            // disjoint. Also inside the tolerance but above f64 rounding (exp(z)·(1 + 10⁻¹⁰)
            // against exp(z): the tolerance allows for rounding, not for a claim off in the
            // tenth digit), and for differences between the tolerance and 10⁻⁶, which used
            // to be skipped (exp(z)·(1 + 10⁻⁷) against exp(z) then "agreed" at the points
            // where both are below 10⁻²).
            // Computed in the cheaper order with the same answer: disjoint enclosures mean the
            // true values differ, so exact values, where they exist, differ too; the exact
            // pair is then computed only for the counterexample reported (`exact_due`).
            let (differs, exact, exact_due) = if diff <= 1e-14 * size {
                (!close && self.certainly_differ(l, r, &point), None, false)
            } else if self.certainly_differ(l, r, &point) {
                (true, None, true)
            } else {
                let exact = self.exact_pair(l, r, &point);
                (exact.as_ref().is_some_and(|(x, y)| x != y), exact, false)
            };
            if !differs {
                if probe_ends(&mut probe_left) {
                    return None;
                }
                if close || exact.is_some() {
                    // Equal in f64, or exactly equal (f64 rounding made them look different).
                    agree.push(point);
                    if agree.len() >= wanted {
                        break;
                    }
                } else if diff > 1e-6 * scale {
                    ill_conditioned += 1;
                } else {
                    unclear += 1;
                }
                continue;
            }
            // At a reported kink the derivative does not exist: the sides' values there
            // (H(0) = ½) are a convention, not a counterexample. Only a point that would be
            // one is looked at (agreement there proves nothing either way, and costs nothing).
            if at_kink(&point) {
                if probe_ends(&mut probe_left) {
                    return None;
                }
                undefined += 1;
                continue;
            }
            probe_left = None;
            {
                // Report only the symbols the two sides use (facts may add others).
                let point: Point = point
                    .into_iter()
                    .filter(|(s, _)| side_symbols.contains(s))
                    .collect();
                let cx = Counterexample {
                    point,
                    left: a,
                    right: b,
                    exact,
                };
                // A difference hidden in the last digits is a real counterexample, but a poor
                // one to show: keep looking for a plain one a while, and fall back on it.
                if diff <= 1e-6 * scale {
                    if small_difference.is_none() {
                        small_difference = Some((cx, exact_due));
                    }
                    continue;
                }
                // A plain counterexample: look a few points further for one with shorter
                // numbers (z = 1/2 reads better than z = −1.99 or 11/3).
                let better = plain
                    .as_ref()
                    .is_none_or(|(best, _): &(Counterexample, bool)| {
                        height(&cx.point) < height(&best.point)
                    });
                if better {
                    plain = Some((cx, exact_due));
                }
                let done = plain
                    .as_ref()
                    .is_some_and(|(best, _)| height(&best.point) <= 2 * best.point.len());
                if done || plain_budget == 0 {
                    break;
                }
                plain_budget -= 1;
            }
        }
        if let Some((mut cx, exact_due)) = plain.or(small_difference) {
            if exact_due {
                // The point lists the sides' symbols, the only ones l and r read.
                cx.exact = self.exact_pair(l, r, &cx.point);
            }
            return Some(Sampled {
                points: agree,
                too_large,
                result: SampleResult::Differ(cx),
            });
        }
        let n = agree.len();
        let result = if n >= wanted {
            SampleResult::Agree(n)
        } else {
            let usable = format!(
                "only {n} of {wanted} sample points were usable ({outside} outside the assumed \
                 domain, {undefined} undefined or near a singularity, {unclear} within rounding \
                 error, {ill_conditioned} where f64 values differ but rounding cannot be ruled out)"
            );
            SampleResult::Inconclusive(match stopped {
                Some(limit) => format!("{limit} after {drawn} points drawn: {usable}"),
                None => usable,
            })
        };
        if probe_left.is_some() {
            return None;
        }
        Some(Sampled {
            points: agree,
            too_large,
            result,
        })
    }

    /// Whether the guaranteed interval enclosures of `l` and `r` at `point` are disjoint.
    fn certainly_differ(&self, l: &Expr, r: &Expr, point: &Point) -> bool {
        // The coordinates' enclosures made once for both sides (the same enclosures as
        // `eval_interval_at`'s).
        let coordinates = point_intervals(point);
        match (
            eval_interval_in(l, &coordinates),
            eval_interval_in(r, &coordinates),
        ) {
            (Some(a), Some(b)) => a.disjoint(&b),
            _ => false,
        }
    }

    fn exact_pair(&self, l: &Expr, r: &Expr, point: &Point) -> Option<(Rational, Rational)> {
        let env = exact_env(point);
        let limits = &self.config.limits;
        let a = exact_value(l, &env, limits)?;
        let b = exact_value(r, &env, limits)?;
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
                    // The kinks of the lines so far: every line stands for the derivative
                    // the chain starts from.
                    let mut chain_kinks: Vec<Kink> = Vec::new();
                    for (i, step) in d.steps.iter().enumerate() {
                        let index = i + 1;
                        let outcome = self.check_equal_after(&prev, &step.expr, &chain_kinks);
                        for k in &outcome.kinks {
                            if !chain_kinks.contains(k) {
                                chain_kinks.push(k.clone());
                            }
                        }
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
                Item::Def(_) | Item::Assume(_) | Item::Depends(_) => {}
            }
        }
        out
    }
}

/// The coordinates of `point` as the environment of exact evaluation.
fn exact_env(point: &[(Symbol, Rational)]) -> impl Fn(&Symbol) -> Option<Rational> + '_ {
    |s| point.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone())
}

/// Stores `value` for `key` in a per-checker cache, emptied when it holds `PREPARED_CACHE`
/// entries (memory stays bounded).
fn remember(cache: &RefCell<FxHashMap<Expr, Expr>>, key: &Expr, value: &Expr) {
    let mut cache = cache.borrow_mut();
    if cache.len() >= PREPARED_CACHE {
        cache.clear();
    }
    cache.insert(key.clone(), value.clone());
}

/// Working memory for evaluating both sides of a claim over a batch of points with a tape.
#[derive(Default)]
struct SampleBatch {
    columns: Vec<Vec<f64>>,
    outputs: Vec<Vec<f64>>,
}

impl SampleBatch {
    /// The values of the two tapes' outputs (left and right side, with the same inputs) at
    /// each point (`None` where one is not finite), or `None` when a tape cannot run.
    fn eval<'p>(
        &mut self,
        tapes: &[Arc<Tape>; 2],
        points: impl Iterator<Item = &'p Point>,
        scratch: &mut TapeScratch,
    ) -> Option<Vec<Option<(f64, f64)>>> {
        let [left, right] = tapes;
        let n_inputs = left.inputs().len();
        if right.inputs().len() != n_inputs {
            return None;
        }
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
        let (lo, ro) = self.outputs.split_at_mut(1);
        left.eval(&cols, lo, scratch).ok()?;
        right.eval(&cols, ro, scratch).ok()?;
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
    points: Vec<Point>,
    /// Points inside the domain skipped because a side was too large to compare in f64.
    too_large: Vec<Point>,
    result: SampleResult,
}

/// How many points a piecewise claim's sample draws before its cases are decided: the first
/// three batches (1, 2 and 4 points). A wrong claim is refuted among them without the cases
/// (a slip ×1.001 of a derivative that is 0 on a half-line can agree at the first point);
/// a claim its cases prove draws no more (measured: 1, 3, 7, 15 and 31 points, 7 the
/// cheapest).
const CASE_PROBE_POINTS: usize = 7;

/// How far [`Checker::sample`] goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// To its end: the points it wants, a counterexample, or its tries.
    All,
    /// As [`Reach::All`] once its first point is a counterexample; otherwise it stops there
    /// (`None`).
    WhileDiffering,
    /// As [`Reach::All`] once one of its first `n` points is a counterexample; otherwise it
    /// stops after them (`None`). `Within(1)` is [`Reach::WhileDiffering`].
    Within(usize),
}

enum SampleResult {
    Agree(usize),
    Differ(Counterexample),
    Inconclusive(String),
}

/// How hard a point's numbers are to read: digits of numerator and denominator, plus one for
/// a value beyond ±3, summed over the coordinates (z = 1/2 → 2, z = 11/3 → 4, z = −9 → 3,
/// z = 199/100 → 6).
fn height(point: &Point) -> usize {
    point.iter().map(|(_, v)| coordinate_height(v)).sum()
}

/// [`height`] of the coordinates of `point` in `symbols` alone.
fn height_of(point: &Point, symbols: &[Symbol]) -> usize {
    point
        .iter()
        .filter(|(s, _)| symbols.contains(s))
        .map(|(_, v)| coordinate_height(v))
        .sum()
}

/// [`height`] of one coordinate.
fn coordinate_height(v: &Rational) -> usize {
    use num_traits::{Signed, ToPrimitive};
    // |n/d| > 3 as |n| > 3·d on machine integers where they fit (d > 0 in a `Rational`),
    // without the two big rationals of `abs() > 3`.
    let beyond_three = |v: &Rational| match (
        v.numer().magnitude().to_u64(),
        v.denom().magnitude().to_u64(),
    ) {
        (Some(n), Some(d)) => u128::from(n) > 3 * u128::from(d),
        _ => v.abs() > Rational::from_integer(3.into()),
    };
    let digits = |n: &num_bigint::BigInt| match n.magnitude().to_u64() {
        // Decimal digits without printing (0 has one digit, as printed).
        Some(m) => m.checked_ilog10().map_or(1, |d| d as usize + 1),
        None => n.magnitude().to_string().len(),
    };
    digits(v.numer()) + digits(v.denom()) + usize::from(beyond_three(v))
}

/// Most constants a claim is probed at and sampled near.
const MAX_CONSTANTS: usize = 8;

/// Magnitudes of the numeric constants in the expressions (other than 0 and 1), at most 8.
#[cfg(test)]
fn constants(exprs: &[&Expr]) -> Vec<Rational> {
    let mut out = all_constants(exprs);
    out.truncate(MAX_CONSTANTS);
    out
}

/// Magnitudes of the numeric constants in the expressions (other than 0 and 1, with
/// numerator and denominator below 2^32), sorted and distinct.
fn all_constants(exprs: &[&Expr]) -> Vec<Rational> {
    let mut out: Vec<Rational> = Vec::new();
    Expr::visit_distinct(exprs, |x| {
        if let Node::Num(r) = x.node() {
            push_probe_constant(&mut out, r);
        }
        true
    });
    out.sort_by(cmp_rational);
    out
}

/// Adds |r| to `constants` when it counts as a constant of the claim ([`probe_constant`])
/// and is not there yet: the same list as pushing `probe_constant(r)` when not contained.
/// Numbers that fit in i64 with a positive denominator (every reduced one that can count)
/// are tested and compared without building |r|, by cross-multiplying in i128; most numbers
/// met are in the list already.
fn push_probe_constant(constants: &mut Vec<Rational>, r: &Rational) {
    use num_traits::ToPrimitive;
    let small = |q: &Rational| {
        q.numer()
            .to_i64()
            .zip(q.denom().to_i64())
            .filter(|(_, d)| *d > 0)
    };
    let Some((n, d)) = small(r) else {
        if let Some(a) = probe_constant(r) {
            if !constants.contains(&a) {
                constants.push(a);
            }
        }
        return;
    };
    // probe_constant's test: |r| ≠ 0, |r| ≠ 1, both parts of fewer than 32 bits.
    let n = i128::from(n).abs();
    let d = i128::from(d);
    if n == 0 || n == d || n >= 1 << 31 || d >= 1 << 31 {
        return;
    }
    let known = constants.iter().any(|c| match small(c) {
        Some((m, e)) => i128::from(m) * d == n * i128::from(e),
        None => *c == num_traits::Signed::abs(r),
    });
    if !known {
        constants.push(num_traits::Signed::abs(r));
    }
}

/// |r| when it counts as a constant of the claim: not 0 or 1, numerator and denominator
/// below 2^32.
fn probe_constant(r: &Rational) -> Option<Rational> {
    use num_traits::{One, Signed, Zero};
    let a = r.abs();
    (!a.is_zero() && !a.is_one() && a.numer().bits() < 32 && a.denom().bits() < 32).then_some(a)
}

/// A rational as (numerator, denominator > 0) in lowest terms on machine integers: the
/// probes below are computed so (the constants have at most 31 bits, so every product fits),
/// then built as big rationals once; the values, and their order, are the same.
type Small = (i128, i128);

fn small_of(r: &Rational) -> Option<Small> {
    use num_traits::ToPrimitive;
    Some((
        i128::from(r.numer().to_i64()?),
        i128::from(r.denom().to_i64()?),
    ))
}

/// (a·d + c·b, b·d) reduced, then divided by `div` (1 or 2); `None` on overflow.
fn small_add((a, b): Small, (c, d): Small, div: i128) -> Option<Small> {
    let n = a.checked_mul(d)?.checked_add(c.checked_mul(b)?)?;
    let den = b.checked_mul(d)?.checked_mul(div)?;
    let (mut x, mut y) = (n.unsigned_abs(), den.unsigned_abs());
    while y != 0 {
        (x, y) = (y, x % y);
    }
    let g = i128::try_from(x.max(1)).ok()?;
    Some((n / g, den / g))
}

fn small_cmp((a, b): &Small, (c, d): &Small) -> std::cmp::Ordering {
    // Denominators are positive and the magnitudes below 2^64: exact.
    (a * d).cmp(&(c * b))
}

/// The sampler's probe values ([`between_constants`] for a piecewise claim, else
/// [`at_constants`]), each computed only when it is drawn (a wrong claim is usually decided
/// before more than one or two are): on machine integers where the numbers fit, else in big
/// rationals; the same values in the same order as those lists.
enum Probes<'s> {
    /// ±c and ±c ± 1/100 for each constant c, the first 32.
    At(&'s [Rational]),
    /// The midpoints of neighbours among the constants, their negatives, 0 and ±1 (sorted
    /// and distinct), the first 32. Each midpoint lies strictly between two neighbours, so it
    /// is none of them, and never 0, which is one of them.
    Between(Neighbours),
}

/// The sorted, distinct constants, negatives, 0 and ±1 of [`Probes::Between`]: on machine
/// integers when every constant fits.
enum Neighbours {
    Small(Vec<Small>),
    Big(Vec<Rational>),
}

impl<'s> Probes<'s> {
    fn of(scales: &'s [Rational], piecewise: bool) -> Probes<'s> {
        if !piecewise {
            return Probes::At(scales);
        }
        Probes::Between(match neighbours_small(scales) {
            Some(ks) => Neighbours::Small(ks),
            None => Neighbours::Big(neighbours_big(scales)),
        })
    }

    fn len(&self) -> usize {
        let n = match self {
            Probes::At(scales) => scales.len().saturating_mul(6),
            Probes::Between(Neighbours::Small(ks)) => ks.len().saturating_sub(1),
            Probes::Between(Neighbours::Big(ks)) => ks.len().saturating_sub(1),
        };
        n.min(32)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, i: usize) -> Option<Rational> {
        if i >= self.len() {
            return None;
        }
        match self {
            Probes::At(scales) => {
                let (c, k) = (scales.get(i / 6)?, i % 6);
                at_constant_small(c, k)
                    .and_then(|(n, d)| crate::assume::reduced(n, d))
                    .or_else(|| Some(at_constant_big(c, k)))
            }
            Probes::Between(Neighbours::Small(ks)) => {
                let (a, b) = (*ks.get(i)?, *ks.get(i + 1)?);
                small_add(a, b, 2)
                    .and_then(|(n, d)| crate::assume::reduced(n, d))
                    .or_else(|| {
                        let a = crate::assume::reduced(a.0, a.1)?;
                        let b = crate::assume::reduced(b.0, b.1)?;
                        Some((a + b) / Rational::from_integer(2.into()))
                    })
            }
            Probes::Between(Neighbours::Big(ks)) => {
                let (a, b) = (ks.get(i)?, ks.get(i + 1)?);
                Some((a + b) / Rational::from_integer(2.into()))
            }
        }
    }

    /// All of them, as rationals.
    #[cfg(test)]
    fn all(&self) -> Vec<Rational> {
        (0..self.len()).filter_map(|i| self.get(i)).collect()
    }
}

/// Probe values between the constants of a piecewise claim and 0, ±1 (midpoints of
/// neighbours, never a constant itself, where a kink may sit), at most 32.
#[cfg(test)]
fn between_constants(scales: &[Rational]) -> Vec<Rational> {
    Probes::of(scales, true).all()
}

/// The neighbours of [`Probes::Between`] on machine integers, `None` when a number does not
/// fit.
fn neighbours_small(scales: &[Rational]) -> Option<Vec<Small>> {
    let mut ks: Vec<Small> = Vec::with_capacity(2 * scales.len() + 3);
    for c in scales {
        let (n, d) = small_of(c)?;
        ks.push((n, d));
        ks.push((-n, d));
    }
    ks.extend([(0, 1), (1, 1), (-1, 1)]);
    ks.sort_by(small_cmp);
    ks.dedup();
    Some(ks)
}

fn neighbours_big(scales: &[Rational]) -> Vec<Rational> {
    use num_traits::Zero;
    let mut ks: Vec<Rational> = scales
        .iter()
        .flat_map(|c| [c.clone(), -c.clone()])
        .collect();
    // constants() leaves out 0 and 1, where kinks are most common.
    ks.push(Rational::zero());
    ks.push(Rational::from_integer(1.into()));
    ks.push(Rational::from_integer((-1).into()));
    ks.sort();
    ks.dedup();
    ks
}

/// [`between_constants`] computed at once in big rationals, as the sampler once did (the
/// reference the probes are tested against).
#[cfg(test)]
fn between_constants_big(scales: &[Rational]) -> Vec<Rational> {
    use num_traits::Zero;
    let ks = neighbours_big(scales);
    let two = Rational::from_integer(2.into());
    let mut out: Vec<Rational> = ks
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some((a + b) / &two),
            _ => None,
        })
        .filter(|m| !m.is_zero() && !ks.contains(m))
        .collect();
    out.truncate(32);
    out
}

/// ±c and ±c ± 1/100 for each constant c (at most 32 values).
#[cfg(test)]
fn at_constants(scales: &[Rational]) -> Vec<Rational> {
    Probes::of(scales, false).all()
}

/// The `k`-th of c, c + 1/100, c − 1/100, −c, −c + 1/100, −c − 1/100 on machine integers,
/// `None` when a number does not fit.
fn at_constant_small(c: &Rational, k: usize) -> Option<Small> {
    let (n, d) = small_of(c)?;
    let step: Small = (1, 100);
    let minus_step: Small = (-1, 100);
    match k {
        0 => Some((n, d)),
        1 => small_add((n, d), step, 1),
        2 => small_add((n, d), minus_step, 1),
        3 => Some((-n, d)),
        4 => small_add((-n, d), step, 1),
        _ => small_add((-n, d), minus_step, 1),
    }
}

/// [`at_constant_small`] in big rationals.
fn at_constant_big(c: &Rational, k: usize) -> Rational {
    let step = Rational::new(1.into(), 100.into());
    match k {
        0 => c.clone(),
        1 => c + &step,
        2 => c - &step,
        3 => -c.clone(),
        4 => -c + &step,
        _ => -c - &step,
    }
}

/// [`at_constants`] computed at once in big rationals, as the sampler once did (the
/// reference the probes are tested against).
#[cfg(test)]
fn at_constants_big(scales: &[Rational]) -> Vec<Rational> {
    let step = Rational::new(1.into(), 100.into());
    let mut out: Vec<Rational> = scales
        .iter()
        .flat_map(|c| {
            [
                c.clone(),
                c + &step,
                c - &step,
                -c.clone(),
                -c + &step,
                -c - &step,
            ]
        })
        .collect();
    out.truncate(32);
    out
}

/// What `prepare` has to do with an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preparation {
    /// Resolve and expand in rounds (`Checker::prepare_by_rounds`).
    Rounds,
    /// Resolve only: the expression has no derivative, no primed call, no call of a user
    /// function and no symbol with a definition, and is within `Program::expand`'s depth
    /// limit, but deeper than the resolver takes: resolving gives the error the rounds give.
    ResolveOnly,
    /// Nothing: as for `ResolveOnly`, within the resolver's depth limit. The expression is
    /// then its own prepared form. The rounds would only merge its equal nodes (the
    /// resolver's memo is keyed by value; expanding and the walk for unresolved derivatives
    /// then change nothing), which gives an equal expression: every later stage looks at
    /// values (memo tables are keyed by value, and a walk memoises a shared node only to save
    /// work), so the verdicts, points and hints are the same. What merging would save is the
    /// work on a repeated subexpression, which this walk does not pay for: a parsed claim
    /// repeats a few small ones (σ(z) in σ(z)·(1 − σ(z))), and merging cost more than
    /// they do.
    Nothing,
}

/// Whether `program` defines a named quantity: without one, no symbol has a body
/// (`Program::quantity_body` reads only the quantities' definitions).
fn has_quantities(program: &Program) -> bool {
    program.definitions().any(|d| d.kind == DefKind::Quantity)
}

/// [`Preparation`] of `e`, found in one walk (`quantities`: [`has_quantities`] of
/// `program`). No walk is needed when `e` has no derivative or call of a primed or user
/// function, and no symbol or no quantity a symbol could be.
fn preparation(e: &Expr, program: &Program, quantities: bool, limits: &Limits) -> Preparation {
    let depth = usize::try_from(e.depth()).unwrap_or(usize::MAX);
    if depth > crate::program::EXPAND_MAX_DEPTH {
        return Preparation::Rounds;
    }
    let walk_needed = e.has_derivative_or_call() || (quantities && e.has_symbol());
    let prepared = !walk_needed
        || Expr::visit_distinct(&[e], |x| match x.node() {
            Node::Deriv(..)
            | Node::Call(crate::expr::Func::Prime(_) | crate::expr::Func::User(_), _) => false,
            Node::Sym(s) => program.quantity_body(s).is_none(),
            _ => true,
        });
    if !prepared {
        return Preparation::Rounds;
    }
    // The resolver refuses nodes deeper than 16 times `max_depth`.
    if limits.max_depth.checked_mul(16).is_some_and(|m| depth <= m) {
        Preparation::Nothing
    } else {
        Preparation::ResolveOnly
    }
}

fn has_unresolved(e: &Expr, program: &Program) -> bool {
    !Expr::visit_distinct(&[e], |x| match x.node() {
        Node::Deriv(..) => false,
        // The derivative of a generic function f' is an unknown, not unresolved.
        Node::Call(f @ crate::expr::Func::Prime(_), _) => diff::is_generic(f, program),
        _ => true,
    })
}

/// `u` without its nonzero constant factors: u = 0 exactly where c·u = 0, so a kink at
/// `−(3 + z)/6 = 0` is reported at `3 + z = 0`.
fn without_constant_factors(u: &Expr) -> Expr {
    let is_constant = |f: &Expr| match f.node() {
        Node::Num(r) => !r.is_zero(),
        Node::Pow(b, x) => b.as_num().is_some_and(|r| !r.is_zero()) && x.as_num().is_some(),
        _ => false,
    };
    match u.node() {
        Node::Mul(fs) if fs.iter().any(is_constant) => {
            let mut rest: Vec<Expr> = fs.iter().filter(|f| !is_constant(f)).cloned().collect();
            match rest.len() {
                0 => u.clone(),
                1 => rest.pop().unwrap_or_else(|| u.clone()),
                _ => Expr::mul(rest),
            }
        }
        _ => u.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> Rational {
        Rational::new(n.into(), d.into())
    }

    fn parse(t: &str) -> Expr {
        crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t` parsed with `program`'s definitions in scope (`f(z)` a call of its f).
    pub(super) fn parse_in(program: &Program, t: &str) -> Expr {
        crate::load::parse_expression(t, program, &Limits::default())
            .unwrap_or_else(|e| panic!("{t}: {e:?}"))
    }

    /// The program of a `.dc` text.
    pub(super) fn program_of(text: &str) -> Program {
        crate::load::load(
            &crate::source::SourceFile::new("t.dc", text),
            &crate::limits::Limits::default(),
        )
        .program
    }

    /// `l` sampled against `r` as `check_equal` samples a claim without case seeds: the
    /// prepared sides, their symbols and shapes, and the natural domain.
    fn sample_claim(checker: &Checker, l: &Expr, r: &Expr, reach: Reach) -> Option<Sampled> {
        let (lp, rp) = match (checker.prepare(l), checker.prepare(r)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => panic!("{l} = {r} does not prepare"),
        };
        let natural = checker.natural_domain(&[l, r]);
        let mut symbols = lp.shape().symbols.clone();
        symbols.extend(rp.shape().symbols.iter().cloned());
        let pair = PairShape::of(lp.shape(), rp.shape());
        checker.sample(
            &lp.expr,
            &rp.expr,
            &symbols,
            &pair,
            &[],
            &natural,
            &[],
            reach,
        )
    }

    #[test]
    fn probe_constants_are_pushed_as_probe_constant_gives_them() {
        let two32 = 1i64 << 32;
        let mut numbers = Vec::new();
        let two31 = 1i64 << 31;
        let edges = [two31 - 1, two31, two32 - 1, two32];
        for n in [0, 1, -1, 2, -2, 3, 7, -12, -two31 + 1, -two31, i64::MAX]
            .into_iter()
            .chain(edges)
        {
            for d in [1, 2, 3, 7, 12].into_iter().chain(edges) {
                numbers.push(Rational::new(n.into(), d.into()));
            }
        }
        numbers.push(Rational::new(
            num_bigint::BigInt::from(i64::MAX) * 5,
            3.into(),
        ));
        numbers.push(Rational::new_raw(2.into(), 2.into()));
        numbers.push(Rational::new_raw(4.into(), 6.into()));
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        // Twice over, so that each number is also met when its magnitude is in the list.
        for r in numbers.iter().chain(&numbers) {
            push_probe_constant(&mut fast, r);
            if let Some(a) = probe_constant(r) {
                if !slow.contains(&a) {
                    slow.push(a);
                }
            }
            assert_eq!(fast, slow, "after {r}");
        }
        assert!(fast.len() > 10);
    }

    #[test]
    fn prepare_without_definitions_is_prepare_by_rounds() {
        let program = program_of("let A = 2*w\nlet f(x) = x^2 + A\n");
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let sigma = parse("sigmoid(z)");
        // Equal nodes that are distinct (resolving merges them), and one shared node.
        let shared = Expr::mul(vec![
            sigma.clone(),
            Expr::sub(Expr::one(), sigma.clone()),
            parse("sigmoid(z)"),
            Expr::sub(Expr::one(), parse("sigmoid(z)")),
        ]);
        let cases = [
            parse("sigmoid(z)*(1 - sigmoid(z)) + relu(z - 1/100)"),
            parse("Σ_{j=1}^{C} x_j^2 + 3*x_j"),
            shared,
            // Not free of definitions or derivatives: the rounds, as before (f(z) a call of
            // the program's f).
            parse_in(&program, "f(z) + A"),
            parse_in(&program, "d/dz f(z)"),
            parse("sigmoid'(z) + w"),
        ];
        for e in &cases {
            let fast = checker.prepare_uncached(e);
            let rounds = checker.prepare_by_rounds(e);
            match (fast, rounds) {
                (Ok(a), Ok(b)) => {
                    // Equal (the rounds merge equal nodes, which the fast path leaves).
                    assert!(a.expr == b.expr, "{e}: {} against {}", a.expr, b.expr);
                    assert_eq!(a.kinks, b.kinks, "{e}");
                }
                (a, b) => panic!("{e}: {:?} against {:?}", a.err(), b.err()),
            }
        }
        // The first three have nothing to expand (the first and third have equal nodes the
        // rounds would merge, the second none); the last three need the rounds.
        let limits = &config.limits;
        let kinds: Vec<Preparation> = cases
            .iter()
            .map(|e| preparation(e, &program, has_quantities(&program), limits))
            .collect();
        use Preparation::{Nothing, ResolveOnly, Rounds};
        assert_eq!(kinds, [Nothing, Nothing, Nothing, Rounds, Rounds, Rounds]);
        for e in &cases[..3] {
            let fast = checker
                .prepare_uncached(e)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(fast.expr.ptr_eq(e), "{e}");
        }
        // Past the resolver's depth (16 times `max_depth`) but not `expand`'s: resolving, for
        // the rounds' error.
        let shallow = CheckConfig {
            limits: Limits {
                max_depth: 4,
                ..Limits::default()
            },
            ..CheckConfig::default()
        };
        let mut deep = parse("z");
        for _ in 0..70 {
            deep = Expr::call(Builtin::Exp, vec![deep]);
        }
        assert_eq!(
            preparation(&deep, &program, has_quantities(&program), &shallow.limits),
            ResolveOnly
        );
        let shallow_checker = Checker::new(&program, &shallow);
        assert_eq!(
            shallow_checker.prepare_uncached(&deep).err(),
            shallow_checker.prepare_by_rounds(&deep).err()
        );
        assert!(shallow_checker.prepare_uncached(&deep).is_err());
        // A prepared form, and a sum sharing one node, are their own prepared forms.
        let sigma = parse("sigmoid(z)");
        let own = [
            checker
                .prepare_by_rounds(&cases[0])
                .unwrap_or_else(|e| panic!("{e}"))
                .expr,
            Expr::add(vec![sigma.clone(), Expr::mul(vec![Expr::int(3), sigma])]),
            parse("z + 1"),
        ];
        for e in &own {
            assert_eq!(
                preparation(e, &program, has_quantities(&program), limits),
                Nothing,
                "{e}"
            );
            let fast = checker
                .prepare_uncached(e)
                .unwrap_or_else(|e| panic!("{e}"));
            let rounds = checker
                .prepare_by_rounds(e)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(fast.expr.ptr_eq(e) && rounds.expr.ptr_eq(e), "{e}");
            assert_eq!(fast.kinks, rounds.kinks, "{e}");
        }
    }

    #[test]
    fn a_pair_shape_is_the_shape_of_both_sides() {
        let pairs = [
            ("z^2/3 + 5", "2*z/3"),
            ("relu(z - 1/100)", "heaviside(z)"),
            ("sigmoid(z)", "exp(-z)/(1 + exp(-z))^2 + 7/2"),
            (
                "1/2 + 3/2*z + 5/3*z^2 + 7/4*z^3 + 9/5*z^4",
                "11/6 + 13/7*y + 15/8*z + 17/9*z + 19/10 + 21/11 + 23/12",
            ),
            ("max(z, 4294967296) + abs(-5/2*x_i)", "min(z, 1)*sign(z)"),
            ("Σ_{j=1}^{C} x_j + 3", "delta(i, k)*2/3"),
        ];
        for (l, r) in pairs {
            let (l, r) = (parse(l), parse(r));
            for e in [&l, &r] {
                let (one, four) = (Shape::of(e), Shape::separately(e));
                assert_eq!(format!("{one:?}"), format!("{four:?}"), "{e}");
            }
            let pair = PairShape::of(&Shape::of(&l), &Shape::of(&r));
            assert_eq!(pair.scales, constants(&[&l, &r]), "{l} = {r}");
            assert_eq!(
                pair.piecewise,
                l.has_piecewise_call() || r.has_piecewise_call()
            );
            let mut symbols: Vec<Symbol> = l.free_symbols();
            symbols.extend(r.free_symbols());
            symbols.sort();
            symbols.dedup();
            assert_eq!(pair.symbols, symbols);
        }
    }

    #[test]
    fn a_sample_cut_short_by_the_time_limit_names_the_limit() {
        let program = Program::default();
        let mut config = CheckConfig::default();
        config.limits.timeout_per_step = std::time::Duration::ZERO;
        let checker = Checker::new(&program, &config);
        let e = parse("exp(z)");
        let sampled =
            sample_claim(&checker, &e, &e, Reach::All).unwrap_or_else(|| panic!("no sample"));
        match sampled.result {
            SampleResult::Inconclusive(reason) => assert!(
                reason.starts_with(
                    "limit reached (time-per-step, in sampling) after 0 points drawn: only 0 of"
                ),
                "{reason}"
            ),
            _ => panic!("a sample with no time left is inconclusive"),
        }
    }

    #[test]
    fn a_sample_stopped_at_a_first_point_that_agrees_goes_on_as_the_full_one() {
        let program = program_of("assume 0 < w < 3\n");
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let claims = [
            // Wrong: the first point is a counterexample (plain, or found exactly).
            (
                "sigmoid(z)*(1 - sigmoid(z))",
                "sigmoid(z)*(1 + sigmoid(z))",
                true,
            ),
            ("2*z + 10^(-12)", "2*z", true),
            ("exp(z)*(1 + 10^(-10))", "exp(z)", true),
            ("log(w)/w", "1/w^2", true),
            ("tanh(z)^2", "1 - tanh(z)", true),
            // Right: the first point agrees, and the probe stops there.
            (
                "sigmoid(z)*(1 - sigmoid(z))",
                "exp(-z)/(1 + exp(-z))^2",
                false,
            ),
            ("z*w + z", "z*(w + 1)", false),
            ("log(w)/w", "log(w)/w", false),
        ];
        for (l, r, wrong) in claims {
            let (l, r) = (parse(l), parse(r));
            let run = |reach| sample_claim(&checker, &l, &r, reach);
            let full = run(Reach::All).unwrap_or_else(|| panic!("{l} = {r}: no full sample"));
            let outcome = checker.check_equal(&l, &r);
            match run(Reach::WhileDiffering) {
                Some(probe) => {
                    assert!(wrong, "{l} = {r}: a counterexample to a right claim");
                    let (SampleResult::Differ(a), SampleResult::Differ(b)) =
                        (&probe.result, &full.result)
                    else {
                        panic!("{l} = {r}: the probe went on without a counterexample");
                    };
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{l} = {r}");
                    assert_eq!(format!("{:?}", probe.points), format!("{:?}", full.points));
                    assert_eq!(
                        format!("{:?}", probe.too_large),
                        format!("{:?}", full.too_large)
                    );
                    assert_eq!(
                        format!("{:?}", outcome.verdict),
                        format!("{:?}", Verdict::Incorrect(b.clone())),
                        "{l} = {r}"
                    );
                }
                None => {
                    assert!(!wrong, "{l} = {r}: the first point is not a counterexample");
                    assert!(
                        outcome.verdict.is_correct(),
                        "{l} = {r}: {:?}",
                        outcome.verdict
                    );
                }
            }
        }
    }

    /// A plain counterexample is reported at short numbers and certified, although the
    /// search for shorter ones past the first does not certify the points that are no
    /// shorter (round 16): the reported point's two sides are exactly unequal, or their
    /// guaranteed enclosures are disjoint.
    #[test]
    fn a_plain_counterexample_is_short_and_certified() {
        let program = program_of("assume 0 < w < 3\n");
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let claims = [
            ("3*z^2", "2*z^2"),
            ("sigmoid(z)*(1 - sigmoid(z))", "sigmoid(z)*(1 + sigmoid(z))"),
            ("1 - tanh(z)^2", "1 + tanh(z)^2"),
            ("exp(z)", "2*exp(z)"),
            ("log(w)/w", "1/w^2"),
            ("z*w + z", "z*w + 2*z"),
            ("exp(-z)/(1 + exp(-z))^2", "exp(-z)/(1 + exp(-z))"),
        ];
        for (l, r) in claims {
            let (l, r) = (parse(l), parse(r));
            let sampled = sample_claim(&checker, &l, &r, Reach::All)
                .unwrap_or_else(|| panic!("{l} = {r}: no sample"));
            let SampleResult::Differ(cx) = &sampled.result else {
                panic!("{l} = {r}: no counterexample");
            };
            // At most two printed digits and no magnitude over 3 a coordinate, the search's
            // own goal (z = 1/2, w = 2).
            assert!(
                height(&cx.point) <= 2 * cx.point.len(),
                "{l} = {r}: {:?}",
                cx.point
            );
            let certified = match &cx.exact {
                Some((x, y)) => x != y,
                None => checker.certainly_differ(&l, &r, &cx.point),
            };
            assert!(certified, "{l} = {r}: {cx:?} is not certified");
            assert!((cx.left - cx.right).abs() > 1e-6, "{l} = {r}: {cx:?}");
        }
    }

    #[test]
    fn a_sample_stopped_after_its_first_points_goes_on_as_the_full_one() {
        let program = program_of("assume 0 < w < 3\n");
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        let claims = [
            (
                "sigmoid(z)*(1 - sigmoid(z))",
                "sigmoid(z)*(1 + sigmoid(z))",
                true,
            ),
            ("tanh(z)^2", "1 - tanh(z)", true),
            // Equal where z < 0: the first points can agree.
            ("heaviside(z)", "1001/1000*heaviside(z)", true),
            ("relu(z)", "relu(z) + 1/1000*relu(z - 1)", true),
            ("z*w + z", "z*(w + 1)", false),
            ("abs(z)", "z*sign(z)", false),
        ];
        for (l, r, wrong) in claims {
            let (l, r) = (parse(l), parse(r));
            let full = sample_claim(&checker, &l, &r, Reach::All)
                .unwrap_or_else(|| panic!("{l} = {r}: no full sample"));
            for n in [1, 2, 7, 200] {
                match sample_claim(&checker, &l, &r, Reach::Within(n)) {
                    Some(probe) => {
                        assert!(wrong, "{l} = {r}: a counterexample to a right claim");
                        let (SampleResult::Differ(a), SampleResult::Differ(b)) =
                            (&probe.result, &full.result)
                        else {
                            panic!("{l} = {r}: the probe went on without a counterexample");
                        };
                        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{l} = {r}, {n} points");
                        assert_eq!(format!("{:?}", probe.points), format!("{:?}", full.points));
                    }
                    None => assert!(
                        !wrong || n < 200,
                        "{l} = {r}: no counterexample in the whole sample"
                    ),
                }
            }
            // Within 1 is the probe of the first point.
            assert_eq!(
                sample_claim(&checker, &l, &r, Reach::Within(1)).is_some(),
                sample_claim(&checker, &l, &r, Reach::WhileDiffering).is_some()
            );
        }
    }

    #[test]
    fn a_claim_proved_by_cases_is_proved_after_its_first_points_and_a_refuted_one_decides_no_cases()
    {
        let config = CheckConfig::default();
        // A fresh checker for the one claim of `claim`, and that claim's outcome.
        let check = |claim: &str, body: &dyn Fn(&Checker, &crate::program::Claim, Outcome)| {
            let program = program_of(&format!("let hardtanh(z) = max(-1, min(1, z))\n{claim}\n"));
            let checker = Checker::new(&program, &config);
            let Some(Item::Claim(c)) = program.items.last() else {
                panic!("{claim}: no claim")
            };
            body(&checker, c, checker.check_equal(&c.lhs, &c.rhs));
        };
        // Proved by its cases once the first points hold no counterexample (those points are
        // all the sample draws: the probe stops there).
        for claim in [
            "claim relu(z)*heaviside(z - 1) = relu(z - 1) + heaviside(z - 1)",
            "claim d/dz hardtanh(z) = heaviside(1 - abs(z))",
            "claim d/dz hardtanh(z) = heaviside(z + 1) - heaviside(z - 1)",
        ] {
            check(claim, &|_, _, outcome| {
                let Verdict::Proved(proof) = &outcome.verdict else {
                    panic!("{claim}: {:?}", outcome.verdict)
                };
                assert!(!proof.cases().is_empty(), "{claim}");
            });
        }
        // Refuted among the first points: the cases of the nested steps are never decided
        // (no cuts looked for). The first is wrong everywhere; the second only where |z| < 1,
        // and its first point lies outside.
        for (claim, first_differs) in [
            ("claim d/dz hardtanh(z) = heaviside(1 - abs(z)) + 1", true),
            ("claim d/dz hardtanh(z) = 3/2*heaviside(1 - abs(z))", false),
        ] {
            check(claim, &|checker, c, outcome| {
                assert!(
                    matches!(outcome.verdict, Verdict::Incorrect(_)),
                    "{claim}: {:?}",
                    outcome.verdict
                );
                assert!(checker.piece_cuts.borrow().is_empty(), "{claim}");
                // Nested steps give no seeds: the claim's sample is the one without them.
                let first = sample_claim(checker, &c.lhs, &c.rhs, Reach::WhileDiffering);
                assert_eq!(first.is_some(), first_differs, "{claim}");
            });
        }
        // Right but not proved by its cases (steps in two symbols: every one of the 3^k
        // cases must vanish, and the infeasible ones do not): the full sample is drawn after
        // them.
        let two_symbols = "claim heaviside((z - w)*heaviside(z - w) - 6) = heaviside(z - w - 6)";
        check(two_symbols, &|checker, _, outcome| {
            assert!(
                matches!(outcome.verdict, Verdict::ByEvidence(_)),
                "{:?}",
                outcome.verdict
            );
            assert!(!checker.tapes.borrow().is_empty());
        });
    }

    #[test]
    fn the_natural_domain_lists_each_log_and_sqrt_argument_once_in_the_order_met() {
        let config = CheckConfig::default();
        let program = program_of("claim 1 = 1\n");
        let checker = Checker::new(&program, &config);
        let parse = |s: &str| parse_in(&program, s);
        let prepared = |s: &str| {
            checker
                .prepare(&parse(s))
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .expr
        };
        // Repeated arguments, in a small side and in one past the set-free walk of
        // `Expr::visit_distinct`.
        let small = parse("log(z)*sqrt(1 + z) + sqrt(1 + z)/log(2 + z) + log(z)");
        let wanted = [prepared("z"), prepared("2 + z"), prepared("1 + z")];
        assert_eq!(checker.natural_of(&small), wanted);
        let terms: Vec<String> = (1..40).map(|k| format!("{k}*z^{k}")).collect();
        let large = parse(&format!(
            "({})*log(z) + sqrt(1 + z)*log(z)",
            terms.join(" + ")
        ));
        assert!(large.tree_size() > 64);
        assert_eq!(
            checker.natural_of(&large),
            [prepared("z"), prepared("1 + z")]
        );
    }

    #[test]
    fn proofs_from_a_kept_left_form_cite_the_form_a_fresh_checker_cites() {
        let config = CheckConfig::default();
        // Proved by canonical form, by cases, and refuted, about two left sides.
        let claims = [
            "claim d/dz tanh(z) = 1 - tanh(z)^2",
            "claim d/dz tanh(z) = (1 - tanh(z))*(1 + tanh(z))",
            "claim d/dz tanh(z) = 1 + tanh(z)^2",
            "claim d/dz relu(z - 2) = heaviside(z - 2)",
            "claim d/dz relu(z - 2) = heaviside(z - 2)^2",
        ];
        let program = program_of(&(claims.join("\n") + "\n"));
        let shared = Checker::new(&program, &config);
        let mut proved = 0;
        for item in &program.items {
            let Item::Claim(c) = item else { continue };
            let kept = shared.check_equal(&c.lhs, &c.rhs);
            let fresh = Checker::new(&program, &config).check_equal(&c.lhs, &c.rhs);
            assert_eq!(format!("{kept:?}"), format!("{fresh:?}"), "{}", c.rhs);
            if let Verdict::Proved(p) = &kept.verdict {
                proved += 1;
                // The kept form's expression is the one cited.
                let forms = shared.left_forms.borrow();
                let shown = forms
                    .values()
                    .find_map(|(_, _, shown)| shown.get().filter(|e| *e == p.canonical()).cloned());
                assert!(shown.is_some(), "{}: {:?}", c.rhs, p.canonical());
            }
        }
        assert_eq!(proved, 4);
    }

    #[test]
    fn a_piecewise_claim_refuted_by_its_probe_needs_no_canonical_form() {
        let config = CheckConfig::default();
        let check = |claim: &str, body: &dyn Fn(&Checker, Outcome)| {
            let program = program_of(&format!("{claim}\n"));
            let checker = Checker::new(&program, &config);
            let Some(Item::Claim(c)) = program.items.last() else {
                panic!("{claim}: no claim")
            };
            body(&checker, checker.check_equal(&c.lhs, &c.rhs));
        };
        // Refuted at a seed between the places where the steps switch (z = −1 left of 0),
        // though the step cancels in the difference (the cases would give no seed): no left
        // form is made.
        for (claim, at) in [
            ("claim d/dz relu(z) = heaviside(z) + 1/1000", "-1"),
            ("claim d/dz relu(z - 2) = 2*heaviside(z - 2)", "3"),
            ("claim d/dz abs(z) = sign(z)*1001/1000", "-1"),
        ] {
            check(claim, &|checker, outcome| {
                let Verdict::Incorrect(cx) = &outcome.verdict else {
                    panic!("{claim}: {:?}", outcome.verdict)
                };
                let point: Vec<String> = cx.point.iter().map(|(_, v)| v.to_string()).collect();
                assert_eq!(point, [at], "{claim}");
                assert!(checker.left_forms.borrow().is_empty(), "{claim}");
            });
        }
        // A right claim goes on to its forms and cases, as before.
        check(
            "claim d/dz relu(z - 2) = heaviside(z - 2)",
            &|checker, outcome| {
                assert!(
                    matches!(outcome.verdict, Verdict::Proved(_)),
                    "{:?}",
                    outcome.verdict
                );
                assert!(!checker.left_forms.borrow().is_empty());
            },
        );
    }

    #[test]
    fn a_kink_place_is_found_once_and_as_before() {
        let program = Program::default();
        let config = CheckConfig::default();
        let checker = Checker::new(&program, &config);
        for t in ["z - 1*(1/2)", "2*(w*x + b)", "0 - (-z)", "z", "3*z^2 - 3"] {
            let at = parse(t);
            // The uncached computation, as `light_kinks` made it before the cache.
            let light = crate::simplify::readable::refold_builtins(&at);
            let expect = without_constant_factors(if light.tree_size() < at.tree_size() {
                &light
            } else {
                &at
            });
            assert_eq!(checker.light_place(&at), expect, "{t}");
            assert_eq!(checker.light_place(&at), expect, "{t} (cached)");
        }
        assert_eq!(checker.light_places.borrow().len(), 5);
    }

    #[test]
    fn height_counts_the_printed_digits() {
        use num_traits::Signed;
        let printed = |point: &Point| -> usize {
            let three = Rational::from_integer(3.into());
            point
                .iter()
                .map(|(_, v)| {
                    v.numer().magnitude().to_string().len()
                        + v.denom().magnitude().to_string().len()
                        + usize::from(v.abs() > three)
                })
                .sum()
        };
        let z = Symbol::new("z");
        let big = Rational::new(
            num_bigint::BigInt::from(u64::MAX) * 1000,
            num_bigint::BigInt::from(7),
        );
        let values = [
            q(0, 1),
            q(1, 2),
            q(-9, 1),
            q(10, 1),
            q(-99, 100),
            q(199, 100),
            q(1_000_000_007, 999_999_999),
            Rational::from_integer(u64::MAX.into()),
            big,
            // At and around ±3, where `height` compares on machine integers.
            q(3, 1),
            q(-3, 1),
            q(3_000_001, 1_000_000),
            q(-2_999_999, 1_000_000),
            Rational::new(
                num_bigint::BigInt::from(u64::MAX) * 3 + 1,
                num_bigint::BigInt::from(u64::MAX),
            ),
            Rational::new(
                num_bigint::BigInt::from(u64::MAX) * 3 - 1,
                num_bigint::BigInt::from(u64::MAX),
            ),
        ];
        for v in values {
            let point = vec![(z.clone(), v.clone())];
            assert_eq!(height(&point), printed(&point), "{v}");
        }
        assert_eq!(height(&vec![(z.clone(), q(1, 2)), (z, q(11, 3))]), 6);
    }

    #[test]
    fn probes_on_machine_integers_are_the_big_rational_ones() {
        let sets = [
            vec![],
            vec![q(6, 1)],
            vec![q(1, 100), q(1, 2), q(3, 1)],
            vec![q(1, 3), q(2, 3), q(5, 4), q(6, 1), q(7, 2), q(1_000_003, 7)],
            vec![q(2_147_483_647, 3), q(1, 2_147_483_646)],
            // More than 32 of each (the first 32 are drawn).
            (1..=20).map(|k| q(k, 7)).collect(),
        ];
        for scales in sets {
            let show = |v: Vec<Rational>| v.iter().map(|r| r.to_string()).collect::<Vec<_>>();
            assert_eq!(
                show(between_constants(&scales)),
                show(between_constants_big(&scales)),
                "{scales:?}"
            );
            assert_eq!(
                show(at_constants(&scales)),
                show(at_constants_big(&scales)),
                "{scales:?}"
            );
        }
        // Numbers beyond i64 take the big path.
        let huge = vec![Rational::new(
            num_bigint::BigInt::from(1u128 << 100),
            3.into(),
        )];
        assert_eq!(between_constants(&huge), between_constants_big(&huge));
        assert_eq!(at_constants(&huge), at_constants_big(&huge));
        // Past the list, nothing; the lengths are those of the lists.
        for piecewise in [false, true] {
            let probes = Probes::of(&huge, piecewise);
            assert_eq!(probes.get(probes.len()), None);
        }
        assert_eq!(Probes::of(&[], false).len(), 0);
        assert_eq!(Probes::of(&[], true).len(), 2);
    }
}
