//! Homework as it is handed in: every equation of a Markdown or LaTeX document, read in order
//! the way a reader builds context, and checked.
//!
//! The rules a reader follows, and this module with them:
//! - An equation `X = …` whose left side is a plain symbol not defined yet defines it from
//!   there on (`E = ½(o − y)²`, `z_o = w·h + b_o`); one whose left side is `f(x)` with `f` not a
//!   built-in defines a function. A symbol already defined is not silently redefined: a later
//!   `X = …` is a claim about it.
//! - A derivative stated of a quantity the document never defines (`∂o₁/∂z_o = o₁(1 − o₁)`,
//!   where `o₁` is "the sigmoid output" in prose) is taken as given — reported as such, never
//!   as correct — and used where that derivative appears later.
//! - Every other equation is a claim, and a chain `a = b = c` is checked link by link.
//! - An update `w ← w − η·X` is the claim `X = ∂E/∂w` for the loss in play (the last of `E`,
//!   `L`, `J`, `C` the document defined).
//! - Symbols with different subscripts are different symbols (`o` and `o₁`): nothing is
//!   linked behind the student's back. Where a derivative means something only with them
//!   linked (E defined in o, differentiated by o₁, or by w through a stated ∂o₁/∂z_o), the
//!   linked reading is checked too; a verdict it alone reaches says so in the report
//!   ("decided by reading o₁ as o"), and two readings that disagree give "undecided". Each
//!   verdict lists the definitions it used.
//! - Matrix form, as in `.dc` files: `W \in \mathbb{R}^{n \times m}` declares a shape; an
//!   equation that involves a name with a shape, a transpose or `\odot` is lowered as the
//!   `.dc` matrix statements are (`lower::lower_statement`): a definition `z = β + Ωh` defines
//!   the entries z_i; `∂E/∂z^{ℓ+1} = δ^{ℓ+1}` with E undefined states the dependence; a claim
//!   is checked at the entry (i, k) of both sides, a vector-by-vector derivative in
//!   denominator layout or, when only that holds, numerator layout (said so); `W ← W − η·X`
//!   is the claim ∂E/∂W = X. A shape mismatch is not understood, with both shapes.
//! - A statement with `\pm`/`\mp` is read as two, one per sign, and holds when both do.
//! - Generic functions (the f and g of a list of rules: (f∘g)' = f'(g)·g') are unknowns: a
//!   rule is proved as an identity in them, or refuted with concrete functions named in the
//!   report (f(t) = t³ + 2·t, g(t) = exp(t/2)).
//! - What is not understood (a parse error, a case of a piecewise statement in prose, a
//!   relation other than `=` and `←`) is listed with the reason, never skipped.
//!
//! This module does no IO: it takes the document's text and returns one report per equation.

use rustc_hash::FxHashMap;

use crate::check::{CheckConfig, Checker, Outcome, StepKind, StepReport};
use crate::expr::{Expr, Func, Node, Symbol};
use crate::limits::Limits;
use crate::lower::{is_matrix_expr, lower_expr, lower_statement};
use crate::program::{DefKind, Definition, Item, Program};
use crate::source::{SourceFile, Span};
use crate::syntax::ast;
use crate::syntax::document::{math_blocks, DocKind};
use crate::syntax::latex::{parse_condition, parse_display, CondRel, MathRel, MathRow};

/// What an equation of a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EquationKind {
    /// Defines a symbol or a function (or states a derivative of an undefined quantity,
    /// taken as given).
    Definition,
    /// A claimed equality (the first link of a chain).
    Claim,
    /// A later link of a chain `a = b = c`, checked against the previous item.
    Step,
    /// An update rule `w ← w − η·X`, checked as `X = ∂E/∂w`.
    Update,
    /// Not understood; the reason is given.
    NotUnderstood,
}

impl EquationKind {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            EquationKind::Definition => "definition",
            EquationKind::Claim => "claim",
            EquationKind::Step => "step",
            EquationKind::Update => "update",
            EquationKind::NotUnderstood => "not_understood",
        }
    }
}

/// The report on one equation (or one link of a chain).
#[derive(Debug, Clone)]
pub struct EquationReport {
    /// What it is.
    pub kind: EquationKind,
    /// Where it is in the document.
    pub span: Span,
    /// The checked equality, for claims, steps and updates.
    pub check: Option<StepReport>,
    /// For definitions: what was defined, read back (`E = 1/2·(o − y)²`); for equations not
    /// understood: the reason.
    pub note: String,
    /// Names of the definitions the verdict used, with the line of each.
    pub used: Vec<(String, usize)>,
}

/// Reports on every equation of `src`, in document order.
pub fn check_document(
    src: &SourceFile,
    kind: DocKind,
    config: &CheckConfig,
) -> Vec<EquationReport> {
    let mut reader = Reader {
        src,
        config,
        program: Program::default(),
        givens: FxHashMap::default(),
        def_lines: FxHashMap::default(),
        opaque: FxHashMap::default(),
        edges: Vec::new(),
        under_condition: false,
        scoped_definition: None,
        chain_kinks: Vec::new(),
        out: Vec::new(),
    };
    let text = src.text();
    let blocks = math_blocks(text, kind);
    reader.declare_document_generics(text, &blocks);
    let mut cases: Vec<Case> = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        if block.conditional {
            match reader.case(block) {
                Some(case) => {
                    cases.push(case);
                    // The cases of one definition are consecutive: the last one defines.
                    let next_continues = blocks.get(n + 1).is_some_and(|b| b.conditional);
                    if !next_continues {
                        reader.piecewise(std::mem::take(&mut cases));
                    }
                }
                None => {
                    for c in std::mem::take(&mut cases) {
                        reader.not_understood(c.span, CASE_REASON);
                    }
                    reader.not_understood(block.span, CASE_REASON);
                }
            }
            continue;
        }
        for c in std::mem::take(&mut cases) {
            reader.not_understood(c.span, CASE_REASON);
        }
        if has_plus_minus(text, block.body) && reader.plus_minus(text, block.body) {
            continue;
        }
        let (rows, errors) = parse_display(text, block.body, &config.limits);
        for e in errors {
            reader.not_understood(e.span, &e.to_string());
        }
        for row in rows {
            reader.row(&row);
        }
    }
    let mut out = reader.out;
    out.sort_by_key(|r| r.span.start);
    out
}

const CASE_REASON: &str = "one case of a piecewise statement in prose (\"… if …\"): only \
     cases of the form `$A = …$ if $Z > 0$` that together define one symbol are read";

/// One case of a piecewise definition in prose: `$A = Z$ if $Z > 0$`.
struct Case {
    symbol: Symbol,
    value: Expr,
    /// The indicator of the condition, with H(0) = ½.
    indicator: Expr,
    shown: String,
    span: Span,
}

/// The indicator of `lhs rel rhs` as a Heaviside step (H(0) = ½, so at the boundary itself
/// the cases are averaged).
fn indicator(lhs: &Expr, rel: CondRel, rhs: &Expr) -> Expr {
    let d = if rhs.is_zero() {
        lhs.clone()
    } else {
        Expr::sub(lhs.clone(), rhs.clone())
    };
    let h = |u: Expr| Expr::call(crate::expr::Builtin::Heaviside, vec![u]);
    match rel {
        CondRel::Gt | CondRel::Ge => h(d),
        CondRel::Lt | CondRel::Le => h(Expr::neg(d)),
    }
}

fn cond_fact(lhs: &Expr, rel: CondRel, rhs: &Expr) -> crate::program::Fact {
    let rel = match rel {
        CondRel::Lt => crate::program::Rel::Lt,
        CondRel::Le => crate::program::Rel::Le,
        CondRel::Gt => crate::program::Rel::Gt,
        CondRel::Ge => crate::program::Rel::Ge,
    };
    crate::program::Fact::Compare(vec![lhs.clone(), rhs.clone()], vec![rel])
}

struct Reader<'s> {
    src: &'s SourceFile,
    config: &'s CheckConfig,
    program: Program,
    /// Derivatives of undefined quantities the document states (taken as given).
    givens: FxHashMap<Expr, Expr>,
    /// Line of the definition of each name.
    def_lines: FxHashMap<String, usize>,
    /// Base names of symbols whose definition was not understood, with its line: later
    /// equations about them are not understood either, rather than read with a guess.
    opaque: FxHashMap<String, usize>,
    /// (S, X) for every ∂S/∂X the document has written so far with S not defined: the
    /// document's own statement that S is a function of X (A of Z in ∂L/∂Z = ∂L/∂A·∂A/∂Z).
    edges: Vec<(Symbol, Symbol)>,
    /// A row under a condition (`\text{if } Z > 0, …`) is being read: its equations are
    /// claims checked under the condition.
    under_condition: bool,
    /// The index in `program.items` of a definition read from cases in prose, which lasts
    /// until the next equation without a condition.
    scoped_definition: Option<usize>,
    /// The kinks the links of the chain being checked reported so far (empty outside a
    /// chain): every item of a chain stands for the same value, which a derivative's kink
    /// leaves undefined (see `Checker::check_equal_after`).
    chain_kinks: Vec<crate::diff::Kink>,
    out: Vec<EquationReport>,
}

/// The part of a `Reader` that equations change (see `Reader::context`).
#[derive(Clone)]
struct Context {
    program: Program,
    givens: FxHashMap<Expr, Expr>,
    def_lines: FxHashMap<String, usize>,
    opaque: FxHashMap<String, usize>,
    edges: Vec<(Symbol, Symbol)>,
    scoped_definition: Option<usize>,
}

impl Reader<'_> {
    fn line(&self, span: Span) -> usize {
        self.src.line_col(span.start).line
    }

    fn not_understood(&mut self, span: Span, why: &str) {
        self.out.push(EquationReport {
            kind: EquationKind::NotUnderstood,
            span,
            check: None,
            note: why.to_string(),
            used: Vec::new(),
        });
    }

    /// A conditional inline equation as one case `symbol = value if condition`.
    fn case(&self, block: &crate::syntax::document::MathBlock) -> Option<Case> {
        let limits = &self.config.limits;
        let text = self.src.text();
        let cond_span = block.condition?;
        let cond = parse_condition(text, cond_span, limits).ok()?;
        let (rows, errors) = parse_display(text, block.body, limits);
        let ([row], true) = (rows.as_slice(), errors.is_empty()) else {
            return None;
        };
        let ([lhs, value], [MathRel::Eq]) = (row.items.as_slice(), row.rels.as_slice()) else {
            return None;
        };
        let lower = |e| lower_expr(e, &self.program, limits).ok();
        let (lhs, value) = (lower(lhs)?, lower(value)?);
        let (cl, cr) = (lower(&cond.lhs)?, lower(&cond.rhs)?);
        let symbol = lhs.as_sym()?.clone();
        Some(Case {
            shown: format!(
                "{} = {} if {}",
                show_sym(&symbol),
                crate::print::unicode(&value),
                self.src.slice(cond_span)
            ),
            symbol,
            value,
            indicator: indicator(&cl, cond.rel, &cr),
            span: Span::new(block.span.start, cond_span.end + 1),
        })
    }

    /// Consecutive cases that define one symbol: the definition Σ value·indicator, reported at
    /// each case.
    fn piecewise(&mut self, cases: Vec<Case>) {
        let same = cases
            .first()
            .is_some_and(|c| cases.iter().all(|d| d.symbol == c.symbol));
        let (true, Some(last)) = (same && cases.len() >= 2, cases.last()) else {
            for c in &cases {
                self.not_understood(c.span, CASE_REASON);
            }
            return;
        };
        let body = Expr::add(
            cases
                .iter()
                .map(|c| Expr::mul(vec![c.value.clone(), c.indicator.clone()]))
                .collect(),
        );
        let symbol = last.symbol.clone();
        let span = cases.first().map_or(last.span, |f| f.span.to(last.span));
        let shown: Vec<String> = cases.iter().map(|c| c.shown.clone()).collect();
        self.define(Definition {
            name: symbol.to_string().as_str().into(),
            symbol: Some(symbol.clone()),
            params: Vec::new(),
            body: body.clone(),
            kind: DefKind::Quantity,
            span,
        });
        // Cases in prose ("assume ReLU here: $A = 0$ if …") are an alternative for the
        // equations under conditions that follow, not a redefinition for the rest of the
        // document: the definition lasts until the next equation without a condition.
        self.scoped_definition = Some(self.program.items.len() - 1);
        for c in &cases {
            self.definition_report(
                c.span,
                format!(
                    "{} (one case of {} = {}, read from the cases {}; at the boundary the \
                     cases are averaged)",
                    c.shown,
                    show_sym(&symbol),
                    crate::print::unicode(&body),
                    shown.join(", ")
                ),
            );
        }
    }

    /// What the reader knows at this point of the document.
    fn context(&self) -> Context {
        Context {
            program: self.program.clone(),
            givens: self.givens.clone(),
            def_lines: self.def_lines.clone(),
            opaque: self.opaque.clone(),
            edges: self.edges.clone(),
            scoped_definition: self.scoped_definition,
        }
    }

    /// Back to a context saved by `context`.
    fn set_context(&mut self, c: Context) {
        self.program = c.program;
        self.givens = c.givens;
        self.def_lines = c.def_lines;
        self.opaque = c.opaque;
        self.edges = c.edges;
        self.scoped_definition = c.scoped_definition;
    }

    /// A block with `\pm`/`\mp`, read as two statements, one per sign: the block is parsed
    /// twice with the signs written out (same byte positions), the two readings are checked
    /// one after the other from the same context, and each equation gets one report: correct
    /// when both readings are, otherwise the reading that is not, named by its sign. False
    /// (nothing reported, the context unchanged) when the two readings do not give the same
    /// equations, or when one defines something.
    fn plus_minus(&mut self, text: &str, body: Span) -> bool {
        let variants = [
            signs_written_out(text, body, '+'),
            signs_written_out(text, body, '-'),
        ];
        let saved = self.context();
        let n_out = self.out.len();
        let mut readings: Vec<Vec<EquationReport>> = Vec::new();
        for variant in &variants {
            let (rows, errors) = parse_display(variant, body, &self.config.limits);
            if !errors.is_empty() {
                break;
            }
            self.set_context(saved.clone());
            for row in rows {
                self.row(&row);
            }
            readings.push(self.out.split_off(n_out));
        }
        let [plus, minus] = readings.as_slice() else {
            self.set_context(saved);
            return false;
        };
        let checked = |r: &EquationReport| {
            r.check.is_some()
                && matches!(
                    r.kind,
                    EquationKind::Claim | EquationKind::Step | EquationKind::Update
                )
        };
        let fits = plus.len() == minus.len()
            && plus
                .iter()
                .zip(minus)
                .all(|(p, m)| checked(p) && checked(m) && p.span == m.span);
        if !fits {
            self.set_context(saved);
            return false;
        }
        for (p, m) in plus.iter().zip(minus) {
            let (Some(pc), Some(mc)) = (&p.check, &m.check) else {
                continue;
            };
            let (pick, note) = match (
                pc.outcome.verdict.is_correct(),
                mc.outcome.verdict.is_correct(),
            ) {
                (true, true) => (
                    p,
                    format!(
                        "± read as two statements, one per sign; both hold (with −: {} = {})",
                        crate::print::unicode(&mc.lhs),
                        crate::print::unicode(&mc.rhs)
                    ),
                ),
                (false, _) if matches!(pc.outcome.verdict, crate::check::Verdict::Incorrect(_)) => {
                    (
                        p,
                        "± read as two statements, one per sign: the one with + fails".to_owned(),
                    )
                }
                (_, false) if matches!(mc.outcome.verdict, crate::check::Verdict::Incorrect(_)) => {
                    (
                        m,
                        "± read as two statements, one per sign: the one with − fails".to_owned(),
                    )
                }
                (false, _) => (
                    p,
                    "± read as two statements, one per sign: the one with + is undecided"
                        .to_owned(),
                ),
                (_, false) => (
                    m,
                    "± read as two statements, one per sign: the one with − is undecided"
                        .to_owned(),
                ),
            };
            let mut report = pick.clone();
            if let Some(c) = report.check.as_mut() {
                c.chain_note = Some(match c.chain_note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                });
            }
            self.out.push(report);
        }
        true
    }

    /// The names the document applies with a prime anywhere (`f'(x)` in a list of rules) and
    /// never defines are generic functions from the start: `y = f(x)` before the rules is then
    /// y = f(x), not the product f·x.
    fn declare_document_generics(
        &mut self,
        text: &str,
        blocks: &[crate::syntax::document::MathBlock],
    ) {
        let mut names: Vec<String> = Vec::new();
        let mut plain: Vec<String> = Vec::new();
        for block in blocks.iter().filter(|b| !b.conditional) {
            let signs;
            let doc = if has_plus_minus(text, block.body) {
                signs = signs_written_out(text, block.body, '+');
                signs.as_str()
            } else {
                text
            };
            let (rows, _) = parse_display(doc, block.body, &self.config.limits);
            for row in &rows {
                for name in primed_names(row) {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                plain.extend(plain_names(row));
            }
        }
        for name in names {
            // A name also used plainly (`A = \sigma(Z)`, then `A'(Z)`) is a quantity, not a
            // generic function: its prime is the document's own business.
            if self.program.is_function(&name) || plain.contains(&name) {
                continue;
            }
            self.program
                .items
                .push(generic_definition(&name, Span::new(0, 0)));
        }
    }

    /// One row, with the generic functions it names (`f` and `g` of `f'(g(x))·g'(x)`)
    /// declared for the row only.
    fn row(&mut self, row: &MathRow<'_>) {
        let generic = generic_functions(row, &self.program);
        let n_before = self.program.items.len();
        for name in &generic {
            self.program.items.push(generic_definition(name, row.span));
        }
        // The generic functions this row applies: its own, and those of the whole document
        // (declared at its start) that it applies.
        let mut involved = generic.clone();
        for name in applied_names(row, false) {
            if !involved.contains(&name) && self.program.is_unknown_function(&name) {
                involved.push(name);
            }
        }
        let n_out = self.out.len();
        self.row_body(row);
        if !involved.is_empty() {
            self.refute_generic(&involved, n_out);
        }
        if !generic.is_empty() {
            let mut n = 0usize;
            self.program.items.retain(|i| {
                n += 1;
                n <= n_before
                    || !matches!(i, Item::Def(d) if d.kind == DefKind::Unknown && d.span == row.span)
            });
        }
    }

    /// The undecided reports from `n_out` on that involve generic functions, checked again
    /// with each generic function replaced by a concrete one (`GENERIC_INSTANCES`): a rule
    /// that fails for one choice of functions is not a rule, and the counterexample names the
    /// choice. One that holds for the choice stays undecided (one choice proves nothing).
    fn refute_generic(&mut self, generic: &[String], n_out: usize) {
        let mut concrete = Program {
            items: self
                .program
                .items
                .iter()
                .filter(|i| !matches!(i, Item::Def(d) if d.kind == DefKind::Unknown))
                .cloned()
                .collect(),
            ..self.program.clone()
        };
        let t = Symbol::new("t");
        let mut chosen = Vec::new();
        for (name, text) in generic.iter().zip(GENERIC_INSTANCES) {
            let Some(body) = concrete_body(text, &self.config.limits) else {
                return;
            };
            chosen.push(format!("{name}(t) = {}", crate::print::unicode(&body)));
            concrete.items.push(Item::Def(Definition {
                name: name.as_str().into(),
                symbol: None,
                params: vec![t.clone()],
                body,
                kind: DefKind::Function,
                span: Span::new(0, 0),
            }));
        }
        if chosen.len() < generic.len() {
            return;
        }
        let checker = Checker::new(&concrete, self.config);
        for report in self.out.iter_mut().skip(n_out) {
            let Some(step) = report.check.as_mut() else {
                continue;
            };
            if !matches!(step.outcome.verdict, crate::check::Verdict::Undecided(_)) {
                continue;
            }
            // Only where each generic name is a function throughout: a definition that reads
            // `f(x)` as the product f·x (written before f' appeared) makes f a variable there,
            // and replacing the function alone would refute a correct step.
            let limits = &self.config.limits;
            let quantity = generic.iter().any(|g| {
                self.program
                    .definitions()
                    .any(|d| d.kind == DefKind::Quantity && &*d.name == g.as_str())
            });
            let as_variable = quantity
                || [&step.lhs, &step.rhs].iter().any(|e| {
                    self.program.expand(e, limits.max_growth).map_or(true, |x| {
                        x.free_symbols()
                            .iter()
                            .any(|s| s.sub().is_none() && generic.iter().any(|g| g == s.name()))
                    })
                });
            if as_variable {
                continue;
            }
            let mut outcome = checker.check_equal(&step.lhs, &step.rhs);
            if matches!(outcome.verdict, crate::check::Verdict::Incorrect(_)) {
                // "The correct value" in the generic functions, not in the chosen ones.
                if let (Some(crate::check::Hint::Expected(_)), Node::Deriv(body, var)) =
                    (&outcome.hint, step.lhs.node())
                {
                    let generic_checker = Checker::new(&self.program, self.config);
                    let truth = crate::diff::diff(body, var, &generic_checker.diff_ctx())
                        .ok()
                        .and_then(|d| generic_checker.readable_derivative(&d.expr).ok());
                    outcome.hint = truth.map(crate::check::Hint::Expected);
                }
                let note = format!(
                    "not a rule: it fails for {} (a counterexample with concrete functions)",
                    chosen.join(", ")
                );
                step.outcome = outcome;
                step.chain_note = Some(match step.chain_note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                });
            }
        }
    }

    fn row_body(&mut self, row: &MathRow<'_>) {
        if let Some(cond) = &row.condition {
            // The equations of `\text{if } Z > 0, …` are checked under the condition, as
            // claims (they define nothing).
            let limits = &self.config.limits;
            let sides = (
                lower_expr(&cond.lhs, &self.program, limits),
                lower_expr(&cond.rhs, &self.program, limits),
            );
            let (Ok(cl), Ok(cr)) = sides else {
                self.not_understood(cond.span, "the condition is not understood");
                return;
            };
            let n_items = self.program.items.len();
            self.program
                .items
                .push(Item::Assume(crate::program::Assumption {
                    fact: cond_fact(&cl, cond.rel, &cr),
                    span: cond.span,
                }));
            self.under_condition = true;
            self.row_inner(row);
            self.under_condition = false;
            self.program.items.truncate(n_items);
            return;
        }
        if let Some(at) = self.scoped_definition.take() {
            if at < self.program.items.len() {
                let removed = self.program.items.remove(at);
                if let Item::Def(d) = removed {
                    if let Some(line) = self.previous_def_line(&d) {
                        self.def_lines.insert(d.name.to_string(), line);
                    }
                }
            }
        }
        self.row_inner(row);
    }

    /// The line of the definition of `d`'s name in force before `d`, if any.
    fn previous_def_line(&self, d: &Definition) -> Option<usize> {
        self.program
            .definitions()
            .filter(|e| e.name == d.name)
            .last()
            .map(|e| self.line(e.span))
    }

    fn row_inner(&mut self, row: &MathRow<'_>) {
        if self.matrix_row(row) {
            return;
        }
        let limits: &Limits = &self.config.limits;
        let mut items: Vec<Expr> = Vec::with_capacity(row.items.len());
        for item in &row.items {
            match lower_expr(item, &self.program, limits) {
                Ok(e) => items.push(e),
                Err(errs) => {
                    let why = errs
                        .first()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "not understood".into());
                    self.not_understood(item.span, &why);
                    return;
                }
            }
        }
        if items.len() < 2 {
            self.not_understood(row.span, "not an equation (no `=` or `←`)");
            return;
        }
        if let Some(why) = self.unreadable(&items) {
            // A definition that is not understood makes its symbol opaque from here on.
            if let Some(s) = items.first().and_then(Expr::as_sym) {
                let line = self.line(row.span);
                self.opaque.entry(s.name().to_string()).or_insert(line);
            }
            self.not_understood(row.span, &why);
            return;
        }
        if let Some(MathRel::Other(at)) = row.rels.iter().find(|r| matches!(r, MathRel::Other(_))) {
            let shown = self.src.slice(*at).to_string();
            self.not_understood(row.span, &format!("the relation `{shown}` is not checked"));
            return;
        }
        let spans: Vec<Span> = row.items.iter().map(|i| i.span).collect();
        let first = matches!(row.rels.first(), Some(MathRel::Leftarrow));
        if self.under_condition {
            let spans: Vec<Span> = row.items.iter().map(|i| i.span).collect();
            self.chain(row.span, &items, &spans, EquationKind::Claim);
            return;
        }
        if first {
            self.update(row.span, &items, &spans);
            return;
        }
        if items.len() == 2 && self.try_define(row.span, &items) {
            return;
        }
        // `∂L/∂A = ∂/∂A (−y·log(A) − …) = …` with L not defined: the first link says what L
        // is, as a reader takes it; the rest of the chain is checked against that.
        if let (Some(first), Some(second)) = (items.first(), items.get(1)) {
            if let (Node::Deriv(q, v), Node::Deriv(body, w)) = (first.node(), second.node()) {
                if let Some(qs) = q
                    .as_sym()
                    .filter(|s| self.program.quantity_body(s).is_none())
                {
                    if v == w && !body.free_symbols().contains(qs) {
                        let name = qs.to_string();
                        let span = spans.get(1).copied().unwrap_or(row.span);
                        self.define(Definition {
                            name: name.as_str().into(),
                            symbol: Some(qs.clone()),
                            params: Vec::new(),
                            body: body.clone(),
                            kind: DefKind::Quantity,
                            span: row.span,
                        });
                        self.definition_report(
                            row.span,
                            format!(
                                "{} = {} (read from {} = {})",
                                show_sym(qs),
                                crate::print::unicode(body),
                                crate::print::unicode(first),
                                crate::print::unicode(second)
                            ),
                        );
                        if items.len() > 2 {
                            self.chain(
                                span,
                                items.get(1..).unwrap_or(&[]),
                                spans.get(1..).unwrap_or(&[]),
                                EquationKind::Step,
                            );
                        }
                        return;
                    }
                }
            }
        }
        self.chain(row.span, &items, &spans, EquationKind::Claim);
    }

    /// A row in matrix form, read as the `.dc` matrix statements are (`lower_statement`): a
    /// shape declaration (`\Omega \in \mathbb{R}^{n \times m}`); a definition `z = β + Ωh` of
    /// a name by a matrix expression (its entries, in index form); a stated gradient of an
    /// undefined loss by a vector (`\frac{\partial E}{\partial z^{\ell+1}} = \delta^{\ell+1}`:
    /// E depends on that layer only through z, δ its gradient there); or a chain of claims,
    /// each link checked at the entry (i, k) of both sides. A derivative of a vector by a
    /// vector is read in denominator layout (∂z/∂h = Ωᵀ), and in numerator layout (∂z/∂h =
    /// Ω) when only that holds, which the report says. False (nothing reported) when the row
    /// is not in matrix form.
    fn matrix_row(&mut self, row: &MathRow<'_>) -> bool {
        let limits = &self.config.limits;
        let text = self.src.text();
        if let ([lhs, set], [MathRel::Other(at)]) = (row.items.as_slice(), row.rels.as_slice()) {
            if text.get(at.start..at.end) == Some("\\in") {
                if let Some(dims) = shape_dims(set) {
                    let stmt = ast::Stmt {
                        kind: ast::StmtKind::Assume(ast::Assume::Member {
                            lhs: lhs.clone(),
                            set: ast::SetExpr::Shape(dims, set.span),
                        }),
                        span: row.span,
                    };
                    match lower_statement(&stmt, &self.program, limits) {
                        Ok(l) => {
                            let shown: Vec<String> = l
                                .shapes
                                .iter()
                                .map(|(s, shape)| {
                                    format!("{} ∈ {}", show_sym(s), show_shape(shape))
                                })
                                .collect();
                            self.program.items.push(l.item);
                            self.program.shapes.extend(l.shapes);
                            self.definition_report(row.span, shown.join(", "));
                        }
                        Err(errs) => self.lower_errors(row.span, &errs),
                    }
                    return true;
                }
                if matches!(&set.kind, ast::ExprKind::Pow(p)
                    if matches!(&p.base.kind, ast::ExprKind::Name(n) if n.ident == "ℝ"))
                {
                    self.not_understood(
                        row.span,
                        "each dimension of a shape is a name or an integer (`\\mathbb{R}^{n}`, \
                         `\\mathbb{R}^{n \\times m}`)",
                    );
                    return true;
                }
            }
        }
        if self.src.slice(row.span).contains("\\mathbb{R}") {
            self.not_understood(
                row.span,
                "ℝ is read only in a shape declaration (`h \\in \\mathbb{R}^{m}`, `W \\in \
                 \\mathbb{R}^{n \\times m}`)",
            );
            return true;
        }
        let program = &self.program;
        if !row.items.iter().any(|e| is_matrix_expr(e, program, limits)) {
            return false;
        }
        if let ([target, rule], [MathRel::Leftarrow]) = (row.items.as_slice(), row.rels.as_slice())
        {
            if let Some(claim) = self.matrix_update(target, rule, row.span) {
                match lower_statement(&claim, &self.program, limits) {
                    Ok(l) => match &l.item {
                        Item::Claim(c) => self.check(
                            row.span,
                            EquationKind::Update,
                            StepKind::Claim,
                            &c.lhs,
                            &c.rhs,
                        ),
                        _ => self.not_understood(row.span, "not an update"),
                    },
                    Err(errs) => self.lower_errors(row.span, &errs),
                }
                return true;
            }
        }
        if row.rels.iter().any(|r| !matches!(r, MathRel::Eq)) || row.condition.is_some() {
            self.not_understood(
                row.span,
                "in matrix form only equations are read (for an update `W \\leftarrow W - \\eta \
                 X`, state `\\frac{\\partial E}{\\partial W} = X`)",
            );
            return true;
        }
        if let [lhs, body] = row.items.as_slice() {
            if let Some(stmt) = self.matrix_definition(lhs, body, row.span) {
                match lower_statement(&stmt, &self.program, limits) {
                    Ok(l) => self.matrix_defined(row.span, l),
                    Err(errs) => self.lower_errors(row.span, &errs),
                }
                return true;
            }
        }
        self.matrix_chain(row);
        true
    }

    /// The statement a two-item matrix row defines, if it defines one: `z = …` for a name
    /// without a shape or definition yet (`let`), or `∂E/∂z = δ` (either way round) for an
    /// undefined E, a vector z and an undefined δ (the stated dependence).
    fn matrix_definition<'a>(
        &self,
        lhs: &ast::Expr<'a>,
        body: &ast::Expr<'a>,
        span: Span,
    ) -> Option<ast::Stmt<'a>> {
        let limits = &self.config.limits;
        let undefined = |e: &ast::Expr<'a>| {
            !is_matrix_expr(e, &self.program, limits)
                && lower_expr(e, &self.program, limits)
                    .ok()
                    .and_then(|x| x.as_sym().cloned())
                    .is_some_and(|s| self.program.quantity_body(&s).is_none())
        };
        let dependence = |d: &ast::Expr<'a>, v: &ast::Expr<'a>| match (&d.kind, &v.kind) {
            (ast::ExprKind::DerivFrac(f), ast::ExprKind::Name(_))
                if undefined(&ast_name(f.num)) && undefined(v) =>
            {
                Some(ast::Stmt {
                    kind: ast::StmtKind::Assume(ast::Assume::Compare {
                        first: d.clone(),
                        rest: vec![(
                            ast::Rel {
                                op: crate::syntax::spelling::RelOp::Eq,
                                span,
                            },
                            v.clone(),
                        )],
                    }),
                    span,
                })
            }
            _ => None,
        };
        if let Some(stmt) = dependence(lhs, body).or_else(|| dependence(body, lhs)) {
            return Some(stmt);
        }
        let ast::ExprKind::Name(name) = &lhs.kind else {
            return None;
        };
        if lhs.parens > 0 || !undefined(lhs) {
            return None;
        }
        Some(ast::Stmt {
            kind: ast::StmtKind::Let {
                head: ast::LetHead {
                    name: *name,
                    primes: 0,
                    params: None,
                    span: lhs.span,
                },
                body: body.clone(),
            },
            span,
        })
    }

    /// `W ← W − η·X` in matrix form: the claim ∂E/∂W = X for the loss in play (the last of
    /// E, L, J, C defined, or with a stated dependence); `W ← W + η·X` claims ∂E/∂W = −X.
    /// `None` when the rule is not written as the parameter plus or minus η times a step.
    fn matrix_update<'a>(
        &self,
        target: &ast::Expr<'a>,
        rule: &ast::Expr<'a>,
        span: Span,
    ) -> Option<ast::Stmt<'a>> {
        let ast::ExprKind::Name(w) = &target.kind else {
            return None;
        };
        let ast::ExprKind::Sum(terms) = &rule.kind else {
            return None;
        };
        let [first, second] = terms.as_slice() else {
            return None;
        };
        let same = matches!(&first.body.kind, ast::ExprKind::Name(n) if n.ident == w.ident && n.sub == w.sub);
        let minus = second.sign.is_some_and(|s| s.negative);
        if !same || first.sign.is_some_and(|s| s.negative) {
            return None;
        }
        let ast::ExprKind::Product(fs) = &second.body.kind else {
            return None;
        };
        let is_eta = |f: &ast::Factor<'a>| {
            matches!(&f.expr.kind, ast::ExprKind::Name(n)
                if n.sub.is_none() && matches!(n.ident, "η" | "eta" | "α" | "alpha"))
        };
        let at = fs.iter().position(is_eta)?;
        if fs.iter().any(|f| {
            f.op != ast::MulOp::First && f.op != ast::MulOp::Times && f.op != ast::MulOp::Implicit
        }) {
            return None;
        }
        let mut rest: Vec<ast::Factor<'a>> = fs
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != at)
            .map(|(_, f)| f.clone())
            .collect();
        if let Some(f) = rest.first_mut() {
            f.op = ast::MulOp::First;
        }
        let step = match rest.as_slice() {
            [one] => one.expr.clone(),
            [] => return None,
            _ => ast::Expr {
                kind: ast::ExprKind::Product(rest),
                span: second.body.span,
                parens: 0,
                bracket: None,
            },
        };
        // W + η·X steps by −X.
        let step = if minus {
            step
        } else {
            ast::Expr {
                span: step.span,
                kind: ast::ExprKind::Neg(Box::new(step)),
                parens: 0,
                bracket: None,
            }
        };
        let loss = ["E", "L", "J", "C"]
            .into_iter()
            .filter(|n| {
                let s = Symbol::new(n);
                self.program.quantity_body(&s).is_some() || self.program.dependence(&s).is_some()
            })
            .max_by_key(|n| self.def_lines.get(*n).copied().unwrap_or(0))?;
        let frac = ast::DerivFrac {
            num: ast::Name {
                ident: loss,
                sub: None,
                span: target.span,
            },
            var: *w,
            style: ast::DerivStyle::Partial,
        };
        Some(ast::Stmt {
            kind: ast::StmtKind::Claim {
                lhs: ast::Expr {
                    kind: ast::ExprKind::DerivFrac(Box::new(frac)),
                    span: target.span,
                    parens: 0,
                    bracket: None,
                },
                rhs: step,
            },
            span,
        })
    }

    /// A lowered matrix definition or stated dependence: in the program, and reported.
    fn matrix_defined(&mut self, span: Span, l: crate::lower::LoweredStatement) {
        self.program.shapes.extend(l.shapes);
        match l.item {
            Item::Def(d) => {
                if let Some(s) = &d.symbol {
                    self.def_lines.insert(s.to_string(), self.line(span));
                }
                let shown = format!(
                    "{} = {} (entries in index form)",
                    crate::print::unicode(&Expr::sym(
                        d.symbol.clone().unwrap_or_else(|| Symbol::new(&d.name))
                    )),
                    crate::print::unicode(&d.body)
                );
                self.define(d);
                self.definition_report(span, shown);
            }
            Item::Depends(dep) => {
                let shown = format!(
                    "∂{}/∂{} = {} for {} = {}..{} (taken as given: {} is not defined in the \
                     document; it depends on these only through the vector)",
                    show_sym(&dep.quantity),
                    show_sym(&dep.family),
                    show_sym(&dep.partial),
                    show_sym(&dep.index),
                    crate::print::unicode(&dep.lo),
                    crate::print::unicode(&dep.hi),
                    show_sym(&dep.quantity)
                );
                self.program.items.push(Item::Depends(dep));
                self.definition_report(span, shown);
            }
            other => self.program.items.push(other),
        }
    }

    /// The first input error of a statement, as the row's reason for not being understood.
    fn lower_errors(&mut self, span: Span, errs: &[crate::lower::LowerError]) {
        let why = errs
            .first()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "not understood".into());
        self.not_understood(span, &why);
    }

    /// `a = b = c` in matrix form: each link a claim at the entry (i, k) of both sides, with
    /// the chain's notes as in `chain`.
    fn matrix_chain(&mut self, row: &MathRow<'_>) {
        let limits = &self.config.limits;
        let claim = |reader: &Self, a: &ast::Expr<'_>, b: &ast::Expr<'_>| {
            let stmt = ast::Stmt {
                kind: ast::StmtKind::Claim {
                    lhs: a.clone(),
                    rhs: b.clone(),
                },
                span: row.span,
            };
            lower_statement(&stmt, &reader.program, limits)
        };
        let mut first_wrong: Option<usize> = None;
        for (k, pair) in row.items.windows(2).enumerate() {
            let [prev, next] = pair else { continue };
            let (kind, step_kind, span) = if k == 0 {
                (EquationKind::Claim, StepKind::Claim, row.span)
            } else {
                let start = row.items.first().map_or(row.span, |f| f.span);
                (
                    EquationKind::Step,
                    StepKind::Step { index: k, start },
                    next.span,
                )
            };
            let lowered = match claim(self, prev, next) {
                Ok(l) => l,
                Err(errs) => {
                    self.lower_errors(span, &errs);
                    return;
                }
            };
            let Item::Claim(den) = &lowered.item else {
                self.not_understood(span, "not a claim");
                return;
            };
            self.check(span, kind, step_kind.clone(), &den.lhs, &den.rhs);
            if let Some((num, _)) = &lowered.layouts {
                let holds = |r: Option<&EquationReport>| {
                    r.and_then(|r| r.check.as_ref())
                        .is_some_and(|c| c.outcome.verdict.is_correct())
                };
                if !holds(self.out.last()) {
                    let denominator = self.out.pop();
                    self.check(span, kind, step_kind, &num.lhs, &num.rhs);
                    if holds(self.out.last()) {
                        if let Some(r) = self.out.last_mut() {
                            let more = "in numerator layout (∂z/∂h with row i the gradient of \
                                        z_i), not in denominator layout";
                            r.note = if r.note.is_empty() {
                                more.to_string()
                            } else {
                                format!("{}; {more}", r.note)
                            };
                        }
                    } else {
                        self.out.pop();
                        self.out.extend(denominator);
                    }
                }
            }
            let wrong = self
                .out
                .last()
                .and_then(|r| r.check.as_ref())
                .is_some_and(|c| matches!(c.outcome.verdict, crate::check::Verdict::Incorrect(_)));
            let back = |reader: &Self| {
                let first = row.items.first()?;
                let l = claim(reader, first, next).ok()?;
                let Item::Claim(c) = l.item else { return None };
                let checker = Checker::new(&reader.program, reader.config);
                Some(checker.check_equal(&c.lhs, &c.rhs).verdict.is_correct())
            };
            let note = chain_note(&mut first_wrong, k, wrong, row.items.len(), || {
                back(self).unwrap_or(false)
            });
            if let Some(c) = self.out.last_mut().and_then(|r| r.check.as_mut()) {
                c.chain_note = note;
            }
        }
    }

    /// Why the items cannot be checked: a symbol whose definition was not understood.
    fn unreadable(&self, items: &[Expr]) -> Option<String> {
        let mut why = None;
        let roots: Vec<&Expr> = items.iter().collect();
        // The items only: a definition in force was readable when it was made.
        each_node(&Program::default(), &roots, |x| {
            why = match x.node() {
                Node::Sym(s) => self.opaque.get(s.name()).map(|line| {
                    format!(
                        "uses {}, whose definition at line {line} was not understood",
                        show_sym(s)
                    )
                }),
                _ => None,
            };
            why.is_none()
        });
        why
    }

    /// `X = body` as a definition, when X is an undefined plain symbol or `f(params)` with
    /// `f` not a built-in; a derivative of an undefined quantity, as a given.
    fn try_define(&mut self, span: Span, items: &[Expr]) -> bool {
        let (Some(lhs), Some(body)) = (items.first(), items.get(1)) else {
            return false;
        };
        match lhs.node() {
            Node::Sym(s)
                if self.program.quantity_body(s).is_none() && !body.free_symbols().contains(s) =>
            {
                let name = s.to_string();
                self.define(Definition {
                    name: name.as_str().into(),
                    symbol: Some(s.clone()),
                    params: Vec::new(),
                    body: body.clone(),
                    kind: DefKind::Quantity,
                    span,
                });
                self.report_definition(span, lhs, body);
                true
            }
            // `Σ_i y_i = 1`: the document states a one-hot (or probability) target.
            Node::Sum { .. } if body.as_num().is_some() => {
                self.program
                    .items
                    .push(Item::Assume(crate::program::Assumption {
                        fact: crate::program::Fact::Compare(
                            vec![lhs.clone(), body.clone()],
                            vec![crate::program::Rel::Eq],
                        ),
                        span,
                    }));
                self.definition_report(
                    span,
                    format!(
                        "{} = {} (taken as an assumption about the target)",
                        crate::print::unicode(lhs),
                        crate::print::unicode(body)
                    ),
                );
                true
            }
            Node::Call(Func::User(f), args)
                if self.program.function(f).is_none()
                    && args.iter().all(|a| a.as_sym().is_some()) =>
            {
                let params: Vec<Symbol> = args.iter().filter_map(|a| a.as_sym().cloned()).collect();
                self.define(Definition {
                    name: f.clone(),
                    symbol: None,
                    params,
                    body: body.clone(),
                    kind: DefKind::Function,
                    span,
                });
                self.report_definition(span, lhs, body);
                true
            }
            Node::Deriv(of, _)
                if of
                    .as_sym()
                    .is_some_and(|s| self.program.quantity_body(s).is_none()) =>
            {
                self.givens.insert(lhs.clone(), body.clone());
                // A stated derivative is the document's word that S is a function of X.
                if let (Some(s), Node::Deriv(_, v)) = (of.as_sym(), lhs.node()) {
                    let edge = (s.clone(), v.clone());
                    if !self.edges.contains(&edge) {
                        self.edges.push(edge);
                    }
                }
                let name = crate::print::unicode(lhs);
                self.def_lines.insert(name.clone(), self.line(span));
                self.definition_report(
                    span,
                    format!(
                        "{} = {} (taken as given: {} is not defined in the document)",
                        name,
                        crate::print::unicode(body),
                        crate::print::unicode(of)
                    ),
                );
                true
            }
            _ => false,
        }
    }

    fn define(&mut self, d: Definition) {
        // Once a quantity is defined, its definition rules and the givens about it are
        // dropped. (Givens are applied at check time, after expansion, so a body that uses
        // one sees the givens in force when it is used.)
        if let Some(s) = &d.symbol {
            self.givens
                .retain(|k, _| !matches!(k.node(), Node::Deriv(of, _) if of.as_sym() == Some(s)));
        }
        self.def_lines.insert(d.name.to_string(), self.line(d.span));
        self.program.items.push(Item::Def(d));
    }

    /// A definition's report: what was defined or taken as given, no verdict.
    fn definition_report(&mut self, span: Span, note: String) {
        self.out.push(EquationReport {
            kind: EquationKind::Definition,
            span,
            check: None,
            note,
            used: Vec::new(),
        });
    }

    fn report_definition(&mut self, span: Span, lhs: &Expr, body: &Expr) {
        self.definition_report(
            span,
            format!(
                "{} = {}",
                crate::print::unicode(lhs),
                crate::print::unicode(body)
            ),
        );
    }

    /// `items[0] = items[1] = …`, link by link. As in a `.dc` derivation, the first wrong link
    /// is named, and a later link that returns to the value of the first item is marked as a
    /// compensating error rather than passed silently.
    fn chain(&mut self, span: Span, items: &[Expr], spans: &[Span], first_kind: EquationKind) {
        let mut first_wrong: Option<usize> = None;
        self.chain_kinks.clear();
        for (k, pair) in items.windows(2).enumerate() {
            let [prev, next] = pair else { continue };
            let at = spans.get(k + 1).copied().unwrap_or(span);
            let kind = if k == 0 {
                first_kind
            } else {
                EquationKind::Step
            };
            let step_kind = if k == 0 {
                StepKind::Claim
            } else {
                StepKind::Step {
                    index: k,
                    start: spans.first().copied().unwrap_or(span),
                }
            };
            let report_span = if k == 0 { span } else { at };
            // `… = x = A_{previous}`: a new name for the previous item (notation), not a claim.
            if let Some(s) = next.as_sym().filter(|s| {
                k > 0
                    && self.program.quantity_body(s).is_none()
                    && !prev.free_symbols().contains(s)
                    && !self.opaque.contains_key(s.name())
            }) {
                let name = s.to_string();
                self.define(Definition {
                    name: name.as_str().into(),
                    symbol: Some(s.clone()),
                    params: Vec::new(),
                    body: prev.clone(),
                    kind: DefKind::Quantity,
                    span: report_span,
                });
                self.definition_report(
                    report_span,
                    format!(
                        "{} = {} (a name for the previous item)",
                        show_sym(s),
                        crate::print::unicode(prev)
                    ),
                );
                continue;
            }
            self.check(report_span, kind, step_kind, prev, next);
            if let Some(c) = self.out.last().and_then(|r| r.check.as_ref()) {
                for k in &c.outcome.kinks {
                    if !self.chain_kinks.contains(k) {
                        self.chain_kinks.push(k.clone());
                    }
                }
            }
            let wrong = self
                .out
                .last()
                .and_then(|r| r.check.as_ref())
                .is_some_and(|c| matches!(c.outcome.verdict, crate::check::Verdict::Incorrect(_)));
            let back = || {
                items.first().is_some_and(|start| {
                    Checker::new(&self.program, self.config)
                        .check_equal(&self.with_givens(start), &self.with_givens(next))
                        .verdict
                        .is_correct()
                })
            };
            let note = chain_note(&mut first_wrong, k, wrong, items.len(), back);
            if let Some(c) = self.out.last_mut().and_then(|r| r.check.as_mut()) {
                c.chain_note = note;
            }
        }
        self.chain_kinks.clear();
    }

    fn check(&mut self, span: Span, kind: EquationKind, step: StepKind, lhs: &Expr, rhs: &Expr) {
        for (body, v) in derivatives(&self.program, &[lhs, rhs]) {
            if let Some(s) = body.as_sym() {
                let edge = (s.clone(), v);
                if self.program.quantity_body(s).is_none() && !self.edges.contains(&edge) {
                    self.edges.push(edge);
                }
            }
        }
        // The givens in force now apply in the sides and inside the definitions they use.
        let base = map_program(&self.program, |e| self.with_givens(e));
        let (l, r) = (self.reading(&base, lhs, &[]), self.reading(&base, rhs, &[]));
        let (written, written_unknown) = self.decide(&base, &l, &r);
        let used = self.used(&[lhs, rhs]);
        let mut note = self.independence_note(&l);
        let links = unlinked(
            &base,
            &[&self.with_givens(lhs), &self.with_givens(rhs)],
            &self.edges,
        );
        let mut outcome = written;
        if !links.is_empty() {
            // The verdict as written, and as it would be with the subscripts linked (o₁ read
            // as o): the document decides, not derivcheck. When the two agree the verdict
            // stands, with the hint of the linked reading. When the equation says nothing as
            // written (a derivative of a quantity by a symbol it does not involve) and the
            // linked reading decides it, that verdict stands and the report says under which
            // reading. Otherwise it is undecided, with both verdicts.
            let linked_program = map_program(&base, |e| self.linked(&link(e, &links), &links));
            let ll = self.reading(&base, lhs, &links);
            let rl = self.reading(&base, rhs, &links);
            let (linked, linked_unknown) = self.decide(&linked_program, &ll, &rl);
            let names: Vec<String> = links
                .iter()
                .map(|(a, b)| format!("{} as {}", show_sym(a), show_sym(b)))
                .collect();
            let reading = format!("reading {}", names.join(", "));
            let join = |note: &str, more: String| {
                if note.is_empty() {
                    more
                } else {
                    format!("{note}; {more}")
                }
            };
            if let (true, crate::check::Verdict::Undecided(_)) = (written_unknown, &linked.verdict)
            {
                // Undecided either way: the linked reading's reason is the one left to fix.
                note = join(&note, format!("undecided as written and {reading}"));
                outcome = linked;
            } else if linked.verdict.word() == outcome.verdict.word() {
                if linked.hint.is_some() {
                    outcome.hint = linked.hint;
                }
                note = join(&note, format!("{reading} gives the same verdict"));
            } else if written_unknown
                && !linked_unknown
                && !matches!(linked.verdict, crate::check::Verdict::Undecided(_))
            {
                let why = match &outcome.verdict {
                    crate::check::Verdict::Undecided(why) => why.clone(),
                    _ => String::new(),
                };
                // The independence note, when there is one, already says why.
                note = if note.is_empty() {
                    format!("decided by {reading}; as written it is undecided: {why}")
                } else {
                    format!("{note}; decided by {reading}")
                };
                outcome = linked;
            } else {
                outcome = Outcome {
                    verdict: crate::check::Verdict::Undecided(format!(
                        "{} as written; {} if {reading} (the document does not say so)",
                        outcome.verdict.word(),
                        linked.verdict.word()
                    )),
                    hint: linked.hint,
                    kinks: linked.kinks,
                    assumptions: linked.assumptions,
                };
            }
        }
        // A claim that holds only for a target summing to 1 is the usual one-hot reading,
        // which documents state in prose: not a mistake, and not proved either.
        if let Some(crate::check::Hint::NeedsSumAssumption(sum)) = &outcome.hint {
            outcome = Outcome {
                verdict: crate::check::Verdict::Undecided(format!(
                    "this holds only if {} = 1 (a one-hot or probability target), which the \
                     document does not state in its equations (write it: ${} = 1$)",
                    crate::print::unicode(sum),
                    crate::print::latex(sum)
                )),
                hint: None,
                kinks: outcome.kinks,
                assumptions: outcome.assumptions,
            };
        }
        self.out.push(EquationReport {
            kind,
            span,
            check: Some(StepReport {
                kind: step,
                span,
                lhs: lhs.clone(),
                rhs: rhs.clone(),
                outcome,
                chain_note: None,
            }),
            note,
            used,
        });
    }

    /// One side as the checker reads it under `links` (none: as written): the givens in
    /// force, the chain rule through the document's edges (renamed by the links), the
    /// givens as the linked reading states them (∂o/∂z_o for a given ∂o₁/∂z_o), and the
    /// bodies of derivatives by quantities written in the quantities.
    fn reading(&self, base: &Program, e: &Expr, links: &[(Symbol, Symbol)]) -> Expr {
        let rename = |x: &Symbol| {
            links
                .iter()
                .find(|(p, _)| p == x)
                .map_or_else(|| x.clone(), |(_, q)| q.clone())
        };
        let edges: Vec<(Symbol, Symbol)> = self
            .edges
            .iter()
            .map(|(a, b)| (rename(a), rename(b)))
            .collect();
        // Givens first: they are stated about the symbols as written (∂o₁/∂z_o).
        let chained = chain_through_edges(
            base,
            &link(&self.with_givens(e), links),
            &edges,
            self.config,
        );
        let linked = self.linked(&link(&self.with_givens(&chained), links), links);
        self.by_quantities(&linked)
    }

    /// `e` (already renamed by `links`) with the givens restated under the links: a given
    /// ∂o₁/∂z_o = o₁·(1 − o₁) read as ∂o/∂z_o = o·(1 − o).
    fn linked(&self, e: &Expr, links: &[(Symbol, Symbol)]) -> Expr {
        if links.is_empty() {
            return e.clone();
        }
        let table: FxHashMap<Expr, Expr> = self
            .givens
            .iter()
            .map(|(k, v)| (link(k, links), link(v, links)))
            .collect();
        e.replace_all(&table)
    }

    /// The checker's verdict on `l = r` under `program`, and whether it is undecided because
    /// the sides hold a derivative the document never connects.
    ///
    /// A derivative of a quantity by a symbol its definition does not involve (after any
    /// link) is 0 only if the document's definitions are complete; homework leaves such
    /// relations implicit (o₁ = σ(z_o) is "the sigmoid output"), so no verdict is given.
    /// Such a derivative is an unknown: the sides are checked with it as an opaque symbol,
    /// and only a proof (which holds whatever its value) stands.
    fn decide(&self, program: &Program, l: &Expr, r: &Expr) -> (Outcome, bool) {
        let outcome = Checker::new(program, self.config).check_equal_after(l, r, &self.chain_kinks);
        let unknowns = independent_derivatives(program, &[l, r]);
        let Some((first, v)) = unknowns.first() else {
            return (outcome, false);
        };
        let unknown_program = map_program(program, |e| opaque(e, &unknowns));
        let with_unknowns = Checker::new(&unknown_program, self.config).check_equal_after(
            &opaque(l, &unknowns),
            &opaque(r, &unknowns),
            &self.chain_kinks,
        );
        if matches!(with_unknowns.verdict, crate::check::Verdict::Proved(_)) {
            return (with_unknowns, false);
        }
        let of = crate::print::unicode(first);
        let why = match first.as_sym() {
            Some(q) if self.program.quantity_body(q).is_none() => format!(
                "{} is not defined in the document, so ∂{}/∂{} is not known",
                show_sym(q),
                show_sym(q),
                show_sym(v)
            ),
            _ => format!(
                "the document does not say how {of} depends on {}: its definition does not \
                 involve it",
                show_sym(v)
            ),
        };
        let undecided = Outcome {
            verdict: crate::check::Verdict::Undecided(why),
            hint: None,
            kinks: outcome.kinks,
            assumptions: outcome.assumptions,
        };
        (undecided, true)
    }

    /// For ∂q/∂v where the definition of q does not involve v: say so, since that is most
    /// often a subscript the document never linked (E defined through o, differentiated by
    /// o₁).
    fn independence_note(&self, lhs: &Expr) -> String {
        let Node::Deriv(of, v) = lhs.node() else {
            return String::new();
        };
        let Some(q) = of.as_sym() else {
            return String::new();
        };
        if self.program.quantity_body(q).is_none() {
            return String::new();
        }
        let Ok(expanded) = self.program.expand(of, self.config.limits.max_growth) else {
            return String::new();
        };
        if depends_on(&self.program, of, v) {
            return String::new();
        }
        let line = self.def_lines.get(&q.to_string()).copied().unwrap_or(0);
        let shown = |s: &Symbol| crate::print::unicode(&Expr::sym(s.clone()));
        let same_base: Vec<String> = expanded
            .free_symbols()
            .iter()
            .filter(|s| s.name() == v.name() && *s != v)
            .map(shown)
            .collect();
        let link = match same_base.first() {
            Some(o) => format!(
                "; {o} and {} are different symbols unless the document links them",
                shown(v)
            ),
            None => String::new(),
        };
        format!(
            "{} as defined at line {line} does not depend on {}{link}",
            shown(q),
            shown(v)
        )
    }

    /// `w ← w − η·X (= …)`: the claim X = ∂E/∂w, then the rest of the chain.
    fn update(&mut self, span: Span, items: &[Expr], spans: &[Span]) {
        let (Some(target), Some(rule)) = (items.first(), items.get(1)) else {
            return;
        };
        let Some(w) = target.as_sym() else {
            self.not_understood(span, "the left side of an update must be a parameter");
            return;
        };
        let eta = rule
            .free_symbols()
            .into_iter()
            .find(|s| matches!(&*s.to_string(), "η" | "eta" | "α" | "alpha" | "lr"));
        let Some(eta) = eta else {
            self.not_understood(span, "an update without a learning rate (η)");
            return;
        };
        let Some(loss) = ["E", "L", "J", "C"]
            .iter()
            .map(|n| Symbol::new(n))
            .filter(|s| self.program.quantity_body(s).is_some())
            .max_by_key(|s| self.def_lines.get(&s.to_string()).copied().unwrap_or(0))
        else {
            self.not_understood(
                span,
                "an update, but no loss (E, L, J or C) is defined before it",
            );
            return;
        };
        // X as the student wrote it when the rule reads w − η·X; else (w − rule)/η.
        let step = written_step(rule, w, &eta).unwrap_or_else(|| {
            Expr::div(
                Expr::sub(Expr::sym(w.clone()), rule.clone()),
                Expr::sym(eta),
            )
        });
        let gradient = Expr::deriv(Expr::sym(loss), w.clone());
        self.check(
            span,
            EquationKind::Update,
            StepKind::Claim,
            &gradient,
            &step,
        );
        if items.len() > 2 {
            self.chain(
                span,
                items.get(1..).unwrap_or(&[]),
                spans.get(1..).unwrap_or(&[]),
                EquationKind::Step,
            );
        }
    }

    /// `e` with the body of each derivative by a defined quantity written in terms of the
    /// quantities: ∂/∂A of (1 + e^(−Z))⁻¹ with A = σ(Z) is ∂A/∂A = 1, as a reader takes it,
    /// not 0 because the body does not mention A.
    fn by_quantities(&self, e: &Expr) -> Expr {
        fn go(e: &Expr, program: &Program, depth: usize) -> Expr {
            if depth > 10_000 {
                return e.clone();
            }
            match e.node() {
                Node::Deriv(body, v) if program.quantity_body(v).is_some() => {
                    let refolded = crate::simplify::readable::refold_quantities(
                        &crate::simplify::readable::refold_builtins(body),
                        program,
                    );
                    Expr::deriv(go(&refolded, program, depth + 1), v.clone())
                }
                _ => e.map_children(|c| go(c, program, depth + 1)),
            }
        }
        go(e, &self.program, 0)
    }

    /// `e` with every derivative the document took as given replaced by its stated value.
    fn with_givens(&self, e: &Expr) -> Expr {
        e.replace_all(&self.givens)
    }

    /// The definitions a check used: those of the symbols and functions in the sides, and of
    /// what their bodies use in turn.
    fn used(&self, sides: &[&Expr]) -> Vec<(String, usize)> {
        let mut names: Vec<String> = Vec::new();
        each_node(&self.program, sides, |e| {
            match e.node() {
                Node::Sym(s) if self.program.quantity_body(s).is_some() => {
                    // An entry of a family (O_i of `O_k = …`) is cited by the family's name.
                    let family = self
                        .program
                        .definitions()
                        .filter(|d| d.kind == DefKind::Quantity)
                        .filter_map(|d| d.symbol.as_ref())
                        .filter(|d| *d == s || (d.name() == s.name() && d.sub().is_some()))
                        .last()
                        .cloned();
                    names.push(family.unwrap_or_else(|| s.clone()).to_string())
                }
                Node::Call(Func::User(f), _) if self.program.function(f).is_some() => {
                    names.push(f.to_string())
                }
                _ => {}
            }
            true
        });
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|n| {
                let line = self.def_lines.get(&n).copied().unwrap_or(0);
                (n, line)
            })
            .collect()
    }
}

/// X from `w − η·X` as written: the sum [w, (−1)·η·f₁·…] gives f₁·…; `None` for any other shape.
fn written_step(rule: &Expr, w: &Symbol, eta: &Symbol) -> Option<Expr> {
    let Node::Add(terms) = rule.node() else {
        return None;
    };
    let [first, second] = terms.as_slice() else {
        return None;
    };
    if first.as_sym() != Some(w) {
        return None;
    }
    let Node::Mul(factors) = second.node() else {
        return None;
    };
    let minus_one = -crate::expr::Rational::from_integer(1.into());
    let (sign, rest) = factors.split_first()?;
    if sign.as_num() != Some(&minus_one) {
        return None;
    }
    let at = rest.iter().position(|f| f.as_sym() == Some(eta))?;
    let mut x: Vec<Expr> = rest.to_vec();
    x.remove(at);
    match x.len() {
        0 => Some(Expr::one()),
        1 => x.pop(),
        _ => Some(Expr::mul(x)),
    }
}

fn show_sym(s: &Symbol) -> String {
    crate::print::unicode(&Expr::sym(s.clone()))
}

/// Whether `e` involves `v`, directly or through the definitions of `program` (L through A
/// in `L = −y·log(A) …` with `A = σ(Z)`).
fn depends_on(program: &Program, e: &Expr, v: &Symbol) -> bool {
    reaches(&reachable_symbols(program, e), v)
}

/// Whether one of `reach` is `v` or an entry of the same indexed family (z_i and z_k: their
/// derivative is δ_ik, not 0).
fn reaches(reach: &[Symbol], v: &Symbol) -> bool {
    reach
        .iter()
        .any(|s| crate::index::symbol_derivative(s, v).is_some())
}

/// Visits every node of `roots` and of the definitions of `program` they use, transitively,
/// each once (at most 10,000), until `f` returns false.
fn each_node(program: &Program, roots: &[&Expr], mut f: impl FnMut(&Expr) -> bool) {
    let mut stack: Vec<Expr> = roots.iter().map(|e| (*e).clone()).collect();
    let mut seen = rustc_hash::FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.clone()) || seen.len() > 10_000 {
            continue;
        }
        if !f(&x) {
            return;
        }
        match x.node() {
            // An undefined quantity with a stated dependence involves its family (E through
            // z_{ℓ+1,k}).
            Node::Sym(s) => match program.dependence(s) {
                Some(d) if program.quantity_body(s).is_none() => {
                    stack.push(Expr::sym(d.family.clone()))
                }
                _ => stack.extend(program.quantity_body(s)),
            },
            Node::Call(Func::User(name), _) => {
                stack.extend(program.function(name).map(|d| d.body.clone()))
            }
            _ => {}
        }
        stack.extend(x.node().children().cloned());
    }
}

/// The symbols of `e` and of the definitions it uses, transitively.
fn reachable_symbols(program: &Program, e: &Expr) -> Vec<Symbol> {
    let mut out: Vec<Symbol> = Vec::new();
    each_node(program, &[e], |x| {
        if let Node::Sym(s) = x.node() {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        true
    });
    out
}

/// `program` with every definition's body mapped by `f`.
fn map_program(program: &Program, f: impl Fn(&Expr) -> Expr) -> Program {
    Program {
        layout_claims: Vec::new(),
        shapes: program.shapes.clone(),
        items: program
            .items
            .iter()
            .map(|i| match i {
                Item::Def(d) => {
                    let mut d = d.clone();
                    d.body = f(&d.body);
                    Item::Def(d)
                }
                other => other.clone(),
            })
            .collect(),
    }
}

/// `e` with each derivative ∂f/∂v extended by the chain rule through the undefined symbols
/// the document has made functions of v: for every S that f involves (through definitions)
/// and every edge (S, X) with X = v or X depending on v, the term ∂f/∂S·∂S/∂X·∂X/∂v, where
/// ∂S/∂X stays a derivative (a given, or an unknown that only a proof survives). The part of
/// ∂f/∂v with S held fixed is kept when f involves v itself.
fn chain_through_edges(
    program: &Program,
    e: &Expr,
    edges: &[(Symbol, Symbol)],
    config: &CheckConfig,
) -> Expr {
    if edges.is_empty() {
        return e.clone();
    }
    // The checker (whose construction proves the aliases of every function) only when an
    // edge applies: most equations have none.
    let mut checker: Option<Checker<'_>> = None;
    let mut table: FxHashMap<Expr, Expr> = FxHashMap::default();
    for (body, v) in derivatives(program, &[e]) {
        let reach = reachable_symbols(program, &body);
        let mut terms = Vec::new();
        for (s, x) in edges {
            // A symbol defined since the edge was written is differentiated through its
            // definition, not through the edge.
            // A stated dependence (E through z_{ℓ+1,k}) is the whole story of its quantity:
            // an edge from it would count that path twice.
            if s == &v
                || !reach.contains(s)
                || x == s
                || program.quantity_body(s).is_some()
                || program.dependence(s).is_some()
            {
                continue;
            }
            let through_x = x == &v || depends_on(program, &Expr::sym(x.clone()), &v);
            if !through_x {
                continue;
            }
            let ctx = checker
                .get_or_insert_with(|| Checker::new(program, config))
                .diff_ctx();
            let Ok(df) = crate::diff::diff(&body, s, &ctx) else {
                continue;
            };
            if df.expr.is_zero() {
                continue;
            }
            let dx = if x == &v {
                Expr::one()
            } else {
                match crate::diff::diff(&Expr::sym(x.clone()), &v, &ctx) {
                    Ok(d) => d.expr,
                    Err(_) => continue,
                }
            };
            terms.push(Expr::mul(vec![
                df.expr,
                Expr::deriv(Expr::sym(s.clone()), x.clone()),
                dx,
            ]));
        }
        if terms.is_empty() {
            continue;
        }
        if reach.contains(&v) {
            terms.insert(0, Expr::deriv(body.clone(), v.clone()));
        }
        table.insert(Expr::deriv(body, v), Expr::add(terms));
    }
    e.replace_all(&table)
}

/// The derivatives ∂f/∂v in `sides` and in the definitions they use, as written.
fn derivatives(program: &Program, sides: &[&Expr]) -> Vec<(Expr, Symbol)> {
    let mut out: Vec<(Expr, Symbol)> = Vec::new();
    each_node(program, sides, |x| {
        if let Node::Deriv(body, v) = x.node() {
            if !out.iter().any(|(b, w)| b == body && w == v) {
                out.push((body.clone(), v.clone()));
            }
        }
        true
    });
    out
}

/// Derivatives ∂f/∂v where f does not involve v (through the definitions) but does involve a
/// symbol of the same name with another subscript: the pairs (v, that symbol), each v once
/// (∂/∂o₁ of E = ½(o − y)²: o₁ as o). Likewise through the document's edges: f involves o,
/// the document made o₁ a function of X (∂o₁/∂z_o written), and X involves v (z_o defined
/// through w): (o₁, o), so that the linked reading reaches v through o₁'s edge.
fn unlinked(
    program: &Program,
    sides: &[&Expr],
    edges: &[(Symbol, Symbol)],
) -> Vec<(Symbol, Symbol)> {
    let mut out: Vec<(Symbol, Symbol)> = Vec::new();
    for (body, v) in derivatives(program, sides) {
        let reach = reachable_symbols(program, &body);
        if reaches(&reach, &v) {
            continue;
        }
        if !out.iter().any(|(a, _)| *a == v) {
            if let Some(other) = reach.iter().find(|s| s.name() == v.name() && **s != v) {
                out.push((v.clone(), other.clone()));
                continue;
            }
        }
        for (s, x) in edges {
            if out.iter().any(|(a, _)| a == s)
                || reach.contains(s)
                || program.quantity_body(s).is_some()
            {
                continue;
            }
            let Some(other) = reach
                .iter()
                .find(|o| o.name() == s.name() && *o != s && program.quantity_body(o).is_none())
            else {
                continue;
            };
            if x == &v || depends_on(program, &Expr::sym(x.clone()), &v) {
                out.push((s.clone(), other.clone()));
            }
        }
    }
    out
}

/// `e` with each symbol `a` of `links` renamed `b`, derivative variables included.
fn link(e: &Expr, links: &[(Symbol, Symbol)]) -> Expr {
    if links.is_empty() {
        return e.clone();
    }
    fn go(e: &Expr, links: &[(Symbol, Symbol)], depth: usize) -> Expr {
        if depth > 10_000 {
            return e.clone();
        }
        match e.node() {
            Node::Sym(s) => match links.iter().find(|(a, _)| a == s) {
                Some((_, b)) => Expr::sym(b.clone()),
                None => e.clone(),
            },
            Node::Deriv(body, v) => {
                let v = links
                    .iter()
                    .find(|(a, _)| a == v)
                    .map_or_else(|| v.clone(), |(_, b)| b.clone());
                Expr::deriv(go(body, links, depth + 1), v)
            }
            _ => e.map_children(|c| go(c, links, depth + 1)),
        }
    }
    go(e, links, 0)
}

/// The derivatives ∂f/∂v in `sides` and the definitions they use whose body f (not a
/// constant) does not involve v, through the definitions either, as (f, v).
fn independent_derivatives(program: &Program, sides: &[&Expr]) -> Vec<(Expr, Symbol)> {
    derivatives(program, sides)
        .into_iter()
        .filter(|(body, v)| {
            let reach = reachable_symbols(program, body);
            !reach.is_empty() && !reaches(&reach, v)
        })
        .collect()
}

/// The declaration of a generic function `name` (`DefKind::Unknown`), for the document (an
/// empty span) or for one row (its span, by which it is taken back).
fn generic_definition(name: &str, span: Span) -> Item {
    Item::Def(Definition {
        name: name.into(),
        symbol: None,
        params: vec![Symbol::new("t")],
        body: Expr::zero(),
        kind: DefKind::Unknown,
        span,
    })
}

/// The concrete functions a generic rule is tried with, in the order the row names its generic
/// functions: smooth, defined everywhere, and different enough that a wrong rule shows.
const GENERIC_INSTANCES: [&str; 4] = ["t^3 + 2*t", "exp(t/2)", "t^2 + 3*t + 1", "tanh(t) + t"];

/// One of `GENERIC_INSTANCES` as an expression in t.
fn concrete_body(text: &str, limits: &Limits) -> Option<Expr> {
    let src = SourceFile::new("<generic>", format!("claim {text} = 0"));
    let loaded = crate::load::load(&src, limits);
    match loaded.program.items.first() {
        Some(Item::Claim(c)) if loaded.errors.is_empty() => Some(c.lhs.clone()),
        _ => None,
    }
}

/// Whether the math in `body` has `\pm` or `\mp` as commands (not `\pmb`).
fn has_plus_minus(text: &str, body: Span) -> bool {
    let Some(math) = text.get(body.start..body.end) else {
        return false;
    };
    ["\\pm", "\\mp"].iter().any(|cmd| {
        math.match_indices(cmd).any(|(at, _)| {
            !math
                .get(at + cmd.len()..)
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_ascii_alphabetic())
        })
    })
}

/// `text` with each `\pm` in `body` written as `sign` and each `\mp` as the other sign, padded
/// with spaces to the same length, so that every byte position stays where it was.
fn signs_written_out(text: &str, body: Span, sign: char) -> String {
    let other = if sign == '+' { '-' } else { '+' };
    let (Some(before), Some(math), Some(after)) = (
        text.get(..body.start),
        text.get(body.start..body.end),
        text.get(body.end..),
    ) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(before);
    let mut rest = math;
    while let Some(at) = rest.find('\\') {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let cmd: String = tail
            .chars()
            .skip(1)
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let written = match cmd.as_str() {
            "pm" => Some(sign),
            "mp" => Some(other),
            _ => None,
        };
        match written {
            Some(c) => {
                out.push(c);
                out.push_str("  ");
                rest = tail.get(3..).unwrap_or("");
            }
            None => {
                let n = 1 + cmd.len();
                out.push_str(tail.get(..n).unwrap_or(tail));
                rest = tail.get(n..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out.push_str(after);
    out
}

/// The names applied with a prime in a row (`f` and `g` of `f'(g(x))·g'(x)`), without
/// subscript, in order of first appearance.
fn primed_names(row: &MathRow<'_>) -> Vec<String> {
    applied_names(row, true)
}

/// The names applied to arguments in a row (with a prime only, when `primed`), without
/// subscript, in order of first appearance.
fn applied_names(row: &MathRow<'_>, primed: bool) -> Vec<String> {
    fn walk(e: &crate::syntax::ast::Expr<'_>, primed: bool, out: &mut Vec<String>, depth: usize) {
        use crate::syntax::ast::ExprKind as K;
        if depth > 256 {
            return;
        }
        match &e.kind {
            K::Num(_) | K::Ratio { .. } | K::Name(_) | K::DerivFrac(_) => {}
            K::Sum(terms) => terms
                .iter()
                .for_each(|t| walk(&t.body, primed, out, depth + 1)),
            K::Product(fs) => fs
                .iter()
                .for_each(|f| walk(&f.expr, primed, out, depth + 1)),
            K::Neg(x) | K::Transpose(x) => walk(x, primed, out, depth + 1),
            K::Pow(p) => {
                walk(&p.base, primed, out, depth + 1);
                walk(&p.exp, primed, out, depth + 1);
            }
            K::Apply(a) => {
                if (a.primes > 0 || !primed) && a.name.sub.is_none() {
                    let name = crate::syntax::spelling::ascii_name(a.name.ident).to_owned();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                a.args().for_each(|x| walk(x, primed, out, depth + 1));
            }
            K::Deriv(d) => walk(&d.body, primed, out, depth + 1),
            K::BigSum(b) => {
                walk(&b.lo, primed, out, depth + 1);
                walk(&b.hi, primed, out, depth + 1);
                walk(&b.body, primed, out, depth + 1);
            }
            K::Indicator(p) => {
                walk(&p.0, primed, out, depth + 1);
                walk(&p.1, primed, out, depth + 1);
            }
        }
    }
    let mut names = Vec::new();
    for item in &row.items {
        walk(item, primed, &mut names, 0);
    }
    names
}

/// The identifiers a row uses as plain names, not applied (`A` in `A = \sigma(Z)` or in
/// `A(1 - A)` read as a product is applied, but `A` alone is plain).
fn plain_names(row: &MathRow<'_>) -> Vec<String> {
    fn push(out: &mut Vec<String>, n: &crate::syntax::ast::Name<'_>) {
        let name = crate::syntax::spelling::ascii_name(n.ident).to_owned();
        if n.sub.is_none() && !out.contains(&name) {
            out.push(name);
        }
    }
    fn walk(e: &crate::syntax::ast::Expr<'_>, out: &mut Vec<String>, depth: usize) {
        use crate::syntax::ast::ExprKind as K;
        if depth > 256 {
            return;
        }
        let d = depth + 1;
        match &e.kind {
            K::Num(_) | K::Ratio { .. } => {}
            K::Name(n) => push(out, n),
            K::DerivFrac(f) => {
                push(out, &f.num);
                push(out, &f.var);
            }
            K::Sum(terms) => terms.iter().for_each(|t| walk(&t.body, out, d)),
            K::Product(fs) => fs.iter().for_each(|f| walk(&f.expr, out, d)),
            K::Neg(x) | K::Transpose(x) => walk(x, out, d),
            K::Pow(p) => {
                walk(&p.base, out, d);
                walk(&p.exp, out, d);
            }
            K::Apply(a) => a.args().for_each(|x| walk(x, out, d)),
            K::Deriv(v) => {
                push(out, &v.var);
                walk(&v.body, out, d);
            }
            K::BigSum(b) => {
                walk(&b.lo, out, d);
                walk(&b.hi, out, d);
                walk(&b.body, out, d);
            }
            K::Indicator(p) => {
                walk(&p.0, out, d);
                walk(&p.1, out, d);
            }
        }
    }
    let mut names = Vec::new();
    for item in &row.items {
        walk(item, &mut names, 0);
    }
    names
}

/// The names a row uses as generic functions: applied with a prime somewhere in the row
/// (`f'(g(x))`, `g'(x)`), without subscript, and neither a built-in nor defined. The rules a
/// homework lists (the chain rule (f∘g)' = f'(g)·g', the sum rule) are written with them.
fn generic_functions(row: &MathRow<'_>, program: &Program) -> Vec<String> {
    let mut names = primed_names(row);
    // In a row with a generic function, the conventional function letters f, g and h applied
    // to an argument are functions too (the g of f'(g(x)) in a chain rule without g').
    if !names.is_empty() {
        let mut applied = Vec::new();
        for item in &row.items {
            applied_letters(item, &mut applied, 0);
        }
        for a in applied {
            if !names.contains(&a) {
                names.push(a);
            }
        }
    }
    names.retain(|n| {
        !program.is_function(n)
            && program.declared_derivative(n).is_none()
            && !program.definitions().any(|d| &*d.name == n.as_str())
    });
    names
}

/// The letters f, g, h applied to an argument (`g(x)`) anywhere in `e`.
fn applied_letters(e: &crate::syntax::ast::Expr<'_>, out: &mut Vec<String>, depth: usize) {
    use crate::syntax::ast::ExprKind as K;
    if depth > 256 {
        return;
    }
    let mut go = |x: &crate::syntax::ast::Expr<'_>| applied_letters(x, out, depth + 1);
    match &e.kind {
        K::Num(_) | K::Ratio { .. } | K::Name(_) | K::DerivFrac(_) => {}
        K::Sum(terms) => terms.iter().for_each(|t| go(&t.body)),
        K::Product(fs) => fs.iter().for_each(|f| go(&f.expr)),
        K::Neg(x) | K::Transpose(x) => go(x),
        K::Pow(p) => {
            go(&p.base);
            go(&p.exp);
        }
        K::Apply(a) => {
            a.args().for_each(&mut go);
            let name = a.name.ident;
            if a.name.sub.is_none() && a.n_args() == 1 && matches!(name, "f" | "g" | "h") {
                let name = name.to_owned();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        K::Deriv(d) => go(&d.body),
        K::BigSum(b) => {
            go(&b.lo);
            go(&b.hi);
            go(&b.body);
        }
        K::Indicator(p) => {
            go(&p.0);
            go(&p.1);
        }
    }
}

/// `e` with each derivative of `unknowns` replaced by an opaque symbol of its own.
fn opaque(e: &Expr, unknowns: &[(Expr, Symbol)]) -> Expr {
    let table: FxHashMap<Expr, Expr> = unknowns
        .iter()
        .enumerate()
        .map(|(i, (body, v))| {
            let name = format!("unknown{}", i + 1);
            (
                Expr::deriv(body.clone(), v.clone()),
                Expr::sym(Symbol::with_sub("∂", Some(&name))),
            )
        })
        .collect();
    e.replace_all(&table)
}

/// The note of link `k` of a chain: the first wrong link (recorded in `first_wrong`); after
/// it, a link whose item equals the first side again (`back`: a compensating error), or one
/// that follows from a wrong previous item.
fn chain_note(
    first_wrong: &mut Option<usize>,
    k: usize,
    wrong: bool,
    n_items: usize,
    back: impl FnOnce() -> bool,
) -> Option<String> {
    match *first_wrong {
        Some(j) if k > 0 => {
            if back() {
                Some(format!(
                    "this equals the first side again, but link {j} of the chain was wrong: a \
                     compensating error"
                ))
            } else if !wrong {
                Some(format!(
                    "follows from the previous item, but the chain is wrong since link {j}"
                ))
            } else {
                None
            }
        }
        _ if wrong => {
            *first_wrong = Some(k + 1);
            (n_items > 2).then(|| "first wrong link of this chain".to_string())
        }
        _ => None,
    }
}

/// The dimensions of `\mathbb{R}^{n \times m}` (n and m) or `\mathbb{R}^{n}` (n), as
/// written; `None` for anything else.
fn shape_dims<'a>(set: &ast::Expr<'a>) -> Option<Vec<ast::Expr<'a>>> {
    let ast::ExprKind::Pow(p) = &set.kind else {
        return None;
    };
    if !matches!(&p.base.kind, ast::ExprKind::Name(n) if n.ident == "ℝ" && n.sub.is_none()) {
        return None;
    }
    let dims: Vec<ast::Expr<'a>> = match &p.exp.kind {
        ast::ExprKind::Product(fs) if fs.iter().skip(1).all(|f| f.op == ast::MulOp::Times) => {
            fs.iter().map(|f| f.expr.clone()).collect()
        }
        _ => vec![p.exp.clone()],
    };
    // As in `.dc`: each dimension a name without subscript or an integer literal.
    let dimension = |d: &ast::Expr<'a>| match &d.kind {
        ast::ExprKind::Name(n) => n.sub.is_none(),
        ast::ExprKind::Num(ast::NumLit::Decimal(t)) => t.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    dims.iter().all(dimension).then_some(dims)
}

/// `ℝ^n` or `ℝ^{m×n}`.
fn show_shape(shape: &crate::matrix::Shape) -> String {
    match shape {
        crate::matrix::Shape::Vector(n) => format!("ℝ^{n}"),
        crate::matrix::Shape::Matrix(m, n) => format!("ℝ^{{{m}×{n}}}"),
    }
}

/// A name as an expression of its own.
fn ast_name(name: ast::Name<'_>) -> ast::Expr<'_> {
    ast::Expr {
        kind: ast::ExprKind::Name(name),
        span: name.span,
        parens: 0,
        bracket: None,
    }
}
