//! Lowering: the syntax tree of `syntax::ast` becomes a `Program` of `Expr`s.
//!
//! This is where names get their meaning. `name(args)` is a call exactly when `name` names a
//! function: a function defined by `let name(…)` anywhere in the file (so lowering runs in
//! two passes: collect the heads, then lower the statements), or a built-in. Otherwise
//! `x(1 + y)` is the implicit product `x·(1 + y)`, spliced into the surrounding product chain
//! so that the chain stays flat. Number literals become exact rationals, refusing literals
//! whose exact value would exceed `Limits::max_digits` digits (`1e100000` is never
//! allocated).
//!
//! Scope rules, in the order they are applied to `name(…)`:
//! 1. A function the file defines (`let name(…) = …`) — this shadows a built-in of the same
//!    spelling (`let σ(z) = …` makes `σ(z)` a `Func::User("sigma")`; other spellings such as
//!    `sigmoid(z)` still mean the built-in).
//! 2. A quantity the file defines (`let H = …`) is not a function, even when a built-in has
//!    that name: `H(1 − H)` is then a product.
//! 3. `sum(j, lo, hi, body)` with four arguments is a `Σ`; `delta(a, b)` / `δ(a, b)` with two
//!    is a Kronecker delta. With other argument counts these are ordinary names.
//! 4. A built-in (`Builtin::from_name`).
//! 5. Anything else, and any subscripted name, is not a function.
//!
//! Reserved names: `e`, `pi`/`π`, `d` and `in` cannot be defined (by `let` or as parameters)
//! because the language gives them a fixed meaning (`e`, `π` constants, `d/dz`, `x in S`).
//! Every other name, built-ins included, can be redefined.
//!
//! The lowering follows the contract in the language reference to the letter, because the
//! ASCII printer inverts it: parentheses add no node, a sum chain is one flat `Add`, a product
//! chain one flat `Mul` with `/ f` as `Pow(f, -1)`, a negated term whose first factor is a
//! number literal negates the literal, and any other negated term gets a leading `-1` factor.

use std::sync::Arc;

use num_bigint::BigInt;
use num_traits::{Num as _, Pow as _, Zero as _};
use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

use crate::expr::{Builtin, Constant, Expr, Func, Node, Rational, Symbol};
use crate::limits::Limits;
use crate::matrix::{Dim, Mat, MatKind, Shape};
use crate::program::{
    Assumption, Claim, DefKind, Definition, Dependence, Derivation, Fact, Item, LayoutClaim,
    NumberSet, Program, Rel, Step,
};
use crate::source::Span;
use crate::syntax::ast::{self, ExprKind, NumLit, StmtKind, SubscriptForm};
use crate::syntax::spelling::{self, RelOp, SetName};

/// A problem found while giving the syntax tree its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct LowerError {
    /// What is wrong.
    pub kind: LowerErrorKind,
    /// Where.
    pub span: Span,
}

/// The kinds of lowering error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LowerErrorKind {
    /// `x(a, b)` where `x` is not a function.
    #[error(
        "expected a function before a list of {n_args} arguments, found `{name}`, which is not a function"
    )]
    NotAFunction {
        /// The name as written.
        name: String,
        /// Number of arguments.
        n_args: usize,
    },
    /// `x'(a)` where `x` is not a function.
    #[error("expected a function before `'`, found `{name}`, which is not a function")]
    PrimeOfNonFunction {
        /// The name as written.
        name: String,
    },
    /// A known function called with the wrong number of arguments.
    #[error("expected {expected} argument{s} for `{name}`, found {found}", s = plural(*expected))]
    WrongArity {
        /// The function as written (with primes).
        name: String,
        /// Its arity.
        expected: usize,
        /// Arguments given.
        found: usize,
    },
    /// `let e = …`, `let pi(x) = …`, `let f(d) = …`.
    #[error("expected a name that can be defined, found the reserved name `{name}`")]
    ReservedName {
        /// The name as written.
        name: String,
    },
    /// `let f(x, x) = …`.
    #[error("expected distinct parameter names, found `{name}` twice")]
    DuplicateParameter {
        /// The repeated parameter.
        name: String,
    },
    /// A symbol was required (before `∈`, as the index of `sum`).
    #[error("expected a symbol {context}, found an expression")]
    ExpectedSymbol {
        /// Where the symbol was required (`before `∈``).
        context: &'static str,
    },
    /// A literal whose exact value has too many digits.
    #[error(
        "number is too large: expected at most {limit} digits, found {shown}",
        shown = DigitCount(*digits)
    )]
    NumberTooLarge {
        /// Digits of the exact value (saturating).
        digits: usize,
        /// `Limits::max_digits`.
        limit: usize,
    },
    /// An expression with more nodes than `Limits::max_nodes`.
    #[error("expression is too large: expected at most {limit} nodes, found {nodes}")]
    TooManyNodes {
        /// Nodes (as a tree).
        nodes: u64,
        /// `Limits::max_nodes`.
        limit: usize,
    },
    /// `let f_1(x) = …`.
    #[error("expected a function name without subscript, found `{name}`")]
    SubscriptedFunction {
        /// The name as written.
        name: String,
    },
    /// `let f''(x) = …`.
    #[error("expected one prime in a derivative declaration `let f'(x) = …`, found {primes}")]
    HigherDerivativeDecl {
        /// Primes written.
        primes: u8,
    },
    /// The same name defined as a function and as a quantity.
    #[error("expected `{name}` to be defined either as a function or as a quantity, found both")]
    ConflictingDefinition {
        /// The name.
        name: String,
    },
    /// An `assume ∂E/∂z_k = δ_k for k = 1..M` that is not of that shape.
    #[error("expected `assume ∂E/∂z_k = δ_k for k = 1..M`: {message}")]
    Dependence {
        /// What is wrong.
        message: String,
    },
    /// A matrix or vector expression whose shapes do not fit (`matrix::ShapeError`).
    #[error("shapes do not fit: {message}")]
    Shape {
        /// What is wrong.
        message: String,
    },
}

/// A digit count in a message; `usize::MAX` stands for "too many to count" (an exponent of
/// more than 18 digits).
struct DigitCount(usize);

impl std::fmt::Display for DigitCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == usize::MAX {
            f.write_str("more than 10^18")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl LowerErrorKind {
    /// Stable kebab-case name of the kind, shown as the diagnostic code and in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            LowerErrorKind::NotAFunction { .. } => "not-a-function",
            LowerErrorKind::PrimeOfNonFunction { .. } => "prime-of-non-function",
            LowerErrorKind::WrongArity { .. } => "wrong-arity",
            LowerErrorKind::ReservedName { .. } => "reserved-name",
            LowerErrorKind::DuplicateParameter { .. } => "duplicate-parameter",
            LowerErrorKind::ExpectedSymbol { .. } => "expected-symbol",
            LowerErrorKind::NumberTooLarge { .. } => "number-too-large",
            LowerErrorKind::TooManyNodes { .. } => "too-many-nodes",
            LowerErrorKind::SubscriptedFunction { .. } => "subscripted-function",
            LowerErrorKind::HigherDerivativeDecl { .. } => "higher-derivative-declaration",
            LowerErrorKind::ConflictingDefinition { .. } => "conflicting-definition",
            LowerErrorKind::Shape { .. } => "shape",
            LowerErrorKind::Dependence { .. } => "bad-dependence",
        }
    }
}

/// The name of the placeholder of an elementwise function's template (not a name the
/// parser can read, so it cannot clash).
const MAP_PARAM: &str = "_entry";

/// Names that cannot be defined.
const RESERVED: &[&str] = &["e", "pi", "d", "in"];

/// The names in scope: what `lower` collects in its first pass, or what a `Program` defines.
#[derive(Debug, Default)]
struct Scope {
    /// User functions (ASCII name) with their arity.
    functions: FxHashMap<String, usize>,
    /// Functions with a declared derivative `let f'(x) = …`.
    derivatives: FxHashSet<String>,
    /// Quantities without subscript (`let H = …`), which shadow built-ins.
    quantities: FxHashSet<String>,
}

impl Scope {
    fn of_file(file: &ast::File<'_>) -> Scope {
        let mut scope = Scope::default();
        for stmt in &file.stmts {
            let StmtKind::Let { head, .. } = &stmt.kind else {
                continue;
            };
            let name = spelling::ascii_name(head.name.ident).to_owned();
            match (&head.params, head.primes) {
                (Some(_), _) if head.name.sub.is_some() => {}
                (Some(params), 0) => {
                    scope.functions.insert(name, params.len());
                }
                (Some(_), _) => {
                    scope.derivatives.insert(name);
                }
                (None, _) if head.name.sub.is_none() => {
                    scope.quantities.insert(name);
                }
                (None, _) => {}
            }
        }
        scope
    }

    fn of_program(program: &Program) -> Scope {
        let mut scope = Scope::default();
        for d in program.definitions() {
            match d.kind {
                DefKind::Function | DefKind::Unknown => {
                    scope.functions.insert(d.name.to_string(), d.params.len());
                }
                DefKind::Derivative => {
                    scope.derivatives.insert(d.name.to_string());
                }
                DefKind::Quantity => {
                    if d.symbol.as_ref().is_some_and(|s| s.sub().is_none()) {
                        scope.quantities.insert(d.name.to_string());
                    }
                }
            }
        }
        scope
    }
}

/// What `name(…)` means.
enum Callee {
    Func(Func, Option<usize>),
    Sum,
    Delta,
    NotFunction,
}

/// Lowers a whole file. Statements with errors are left out of the program; every error is
/// returned.
pub fn lower(file: &ast::File<'_>, limits: &Limits) -> (Program, Vec<LowerError>) {
    let scope = Scope::of_file(file);
    let mut cx = Lowerer::new(&scope, limits);
    let mut program = Program::default();
    program.items.reserve(file.stmts.len());
    for stmt in &file.stmts {
        let n_errors = cx.errors.len();
        let item = cx.statement(stmt);
        let alternative = cx.layout_forms.take();
        if cx.errors.len() == n_errors {
            if let Some((numerator, denominator)) = alternative {
                program.layout_claims.push(LayoutClaim {
                    item: program.items.len(),
                    numerator,
                    denominator,
                });
            }
            program.items.push(item);
        }
    }
    program.shapes = cx.shape_log;
    (program, cx.errors)
}

/// One statement lowered in the scope of a program (`lower_statement`).
#[derive(Debug, Clone)]
pub struct LoweredStatement {
    /// The item (an index-form definition or claim for a statement in matrix form).
    pub item: Item,
    /// For a claim of a vector-by-vector derivative: its numerator and denominator forms
    /// (`item` holds the denominator form).
    pub layouts: Option<(Claim, Claim)>,
    /// The shapes the statement declares (`assume Ω ∈ ℝ^{M×N}`) or defines (`let z = Ω·h`).
    pub shapes: Vec<(Symbol, Shape)>,
}

/// Lowers one statement with the functions, quantities and shapes of `scope` in scope, as
/// `lower` lowers it in a file (the homework reader's matrix-form equations).
pub fn lower_statement(
    stmt: &ast::Stmt<'_>,
    scope: &Program,
    limits: &Limits,
) -> Result<LoweredStatement, Vec<LowerError>> {
    in_scope(scope, limits, |cx| {
        let item = cx.statement(stmt);
        if !cx.errors.is_empty() {
            return Err(std::mem::take(&mut cx.errors));
        }
        Ok(LoweredStatement {
            item,
            layouts: cx.layout_forms.take(),
            shapes: std::mem::take(&mut cx.shape_log),
        })
    })
}

/// True when `e` is read in matrix form in the scope of `scope`: it mentions a name with a
/// shape, a transpose or `⊙`.
pub fn is_matrix_expr(e: &ast::Expr<'_>, scope: &Program, limits: &Limits) -> bool {
    in_scope(scope, limits, |cx| cx.is_matrix(e))
}

/// `f` run by a lowerer with the functions, quantities and shapes of `scope` in scope.
fn in_scope<'a, R>(
    scope: &Program,
    limits: &Limits,
    f: impl for<'s> FnOnce(&mut Lowerer<'s, 'a>) -> R,
) -> R {
    let shapes = &scope.shapes;
    let scope = Scope::of_program(scope);
    let mut cx = Lowerer::new(&scope, limits);
    for (sym, shape) in shapes {
        cx.shapes.insert(shape_key(sym), shape.clone());
    }
    f(&mut cx)
}

/// Lowers one expression with the functions and quantities `scope` defines in scope.
pub fn lower_expr(
    e: &ast::Expr<'_>,
    scope: &Program,
    limits: &Limits,
) -> Result<Expr, Vec<LowerError>> {
    in_scope(scope, limits, |cx| {
        let res = cx.top(e);
        if cx.errors.is_empty() {
            Ok(res)
        } else {
            Err(std::mem::take(&mut cx.errors))
        }
    })
}

struct Lowerer<'s, 'a> {
    scope: &'s Scope,
    max_digits: usize,
    max_nodes: usize,
    errors: Vec<LowerError>,
    /// Symbols already built, by (identifier, subscript) as written, so that repeated names
    /// share one node.
    symbols: FxHashMap<SymbolKey<'a>, Expr>,
    /// Names with a shape so far (ASCII spelling, no subscript).
    shapes: FxHashMap<String, Shape>,
    /// The shapes in the order they were declared or defined.
    shape_log: Vec<(Symbol, Shape)>,
    /// The numerator and denominator forms of the claim just lowered, when they differ.
    layout_forms: Option<(Claim, Claim)>,
}

impl<'s, 'a> Lowerer<'s, 'a> {
    fn new(scope: &'s Scope, limits: &Limits) -> Self {
        Lowerer {
            scope,
            max_digits: limits.max_digits,
            max_nodes: limits.max_nodes,
            errors: Vec::new(),
            symbols: FxHashMap::default(),
            shapes: FxHashMap::default(),
            shape_log: Vec::new(),
            layout_forms: None,
        }
    }

    fn error(&mut self, kind: LowerErrorKind, span: Span) -> Expr {
        self.errors.push(LowerError { kind, span });
        Expr::zero()
    }

    // ---- statements --------------------------------------------------------------------

    fn statement(&mut self, stmt: &ast::Stmt<'a>) -> Item {
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Let { head, body }
                if head.params.is_none() && self.shapeable(&head.name) && self.is_matrix(body) =>
            {
                Item::Def(self.matrix_definition(head, body, span))
            }
            StmtKind::Claim { lhs, rhs } if self.is_matrix(lhs) || self.is_matrix(rhs) => {
                Item::Claim(self.matrix_claim(lhs, rhs, span))
            }
            StmtKind::Derive { start, .. } if self.is_matrix(start) => {
                let e = self.error(
                    LowerErrorKind::Shape {
                        message: "derivations in matrix form are not read yet: state each \
                                  step as a claim, or write the steps in index form"
                            .to_owned(),
                    },
                    start.span,
                );
                Item::Claim(Claim {
                    lhs: e.clone(),
                    rhs: e,
                    lhs_span: start.span,
                    rhs_span: start.span,
                    span,
                })
            }
            StmtKind::Let { head, body } => Item::Def(self.definition(head, body, span)),
            StmtKind::Assume(ast::Assume::Depends(d)) => match self.dependence(d, span) {
                Some(d) => Item::Depends(d),
                None => Item::Assume(Assumption {
                    fact: Fact::Compare(Vec::new(), Vec::new()),
                    span,
                }),
            },
            StmtKind::Assume(ast::Assume::Compare { first, rest })
                if self.vector_dependence_form(first, rest).is_some() =>
            {
                match self.vector_dependence(first, rest, span) {
                    Some(d) => Item::Depends(d),
                    None => Item::Assume(Assumption {
                        fact: Fact::Compare(Vec::new(), Vec::new()),
                        span,
                    }),
                }
            }
            StmtKind::Assume(a) => Item::Assume(Assumption {
                fact: self.fact(a),
                span,
            }),
            StmtKind::Claim { lhs, rhs } => Item::Claim(Claim {
                lhs: self.top(lhs),
                rhs: self.top(rhs),
                lhs_span: lhs.span,
                rhs_span: rhs.span,
                span,
            }),
            StmtKind::Derive { start, steps } => Item::Derive(Derivation {
                start: self.top(start),
                start_span: start.span,
                steps: steps
                    .iter()
                    .map(|s| Step {
                        expr: self.top(&s.expr),
                        span: s.expr.span,
                    })
                    .collect(),
                span,
            }),
        }
    }

    fn check_definable(&mut self, name: &ast::Name<'a>) {
        let ascii = spelling::ascii_name(name.ident);
        if name.sub.is_none() && RESERVED.contains(&ascii) {
            self.error(
                LowerErrorKind::ReservedName {
                    name: name.ident.to_owned(),
                },
                name.span,
            );
        }
    }

    fn definition(
        &mut self,
        head: &ast::LetHead<'a>,
        body: &ast::Expr<'a>,
        span: Span,
    ) -> Definition {
        self.check_definable(&head.name);
        let name: Arc<str> = Arc::from(spelling::ascii_name(head.name.ident));
        let Some(params_ast) = &head.params else {
            if self.scope.functions.contains_key(&*name) && head.name.sub.is_none() {
                self.error(
                    LowerErrorKind::ConflictingDefinition {
                        name: head.name.ident.to_owned(),
                    },
                    head.name.span,
                );
            }
            return Definition {
                name,
                symbol: Some(self.symbol(&head.name)),
                params: Vec::new(),
                body: self.top(body),
                kind: DefKind::Quantity,
                span,
            };
        };
        if head.name.sub.is_some() {
            self.error(
                LowerErrorKind::SubscriptedFunction {
                    name: head.name.ident.to_owned(),
                },
                head.name.span,
            );
        }
        let mut params: Vec<Symbol> = Vec::with_capacity(params_ast.len());
        for p in params_ast {
            self.check_definable(p);
            let s = self.symbol(p);
            if params.contains(&s) {
                self.error(
                    LowerErrorKind::DuplicateParameter {
                        name: p.ident.to_owned(),
                    },
                    p.span,
                );
            }
            params.push(s);
        }
        let kind = if head.primes == 0 {
            DefKind::Function
        } else {
            if head.primes > 1 {
                self.error(
                    LowerErrorKind::HigherDerivativeDecl {
                        primes: head.primes,
                    },
                    head.span,
                );
            }
            if params.len() != 1 {
                self.error(
                    LowerErrorKind::WrongArity {
                        name: format!("{}'", head.name.ident),
                        expected: 1,
                        found: params.len(),
                    },
                    head.span,
                );
            }
            DefKind::Derivative
        };
        Definition {
            name,
            symbol: None,
            params,
            body: self.top(body),
            kind,
            span,
        }
    }

    /// `assume ∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k} for k = lo..hi` (see `program::Dependence`), or `None`
    /// with the error recorded.
    fn dependence(&mut self, d: &ast::Depends<'a>, span: Span) -> Option<Dependence> {
        let ast::Depends {
            deriv,
            value,
            index,
            lo,
            hi,
        } = d;
        let fail = |this: &mut Self, message: &str, at: Span| {
            this.error(
                LowerErrorKind::Dependence {
                    message: message.to_owned(),
                },
                at,
            );
            None
        };
        let idx = self.symbol(index);
        if index.sub.is_some() || !crate::index::is_index_name(idx.name()) {
            return fail(
                self,
                "the name after `for` must be an index letter",
                index.span,
            );
        }
        let d = self.top(deriv);
        let Node::Deriv(body, family) = d.node() else {
            return fail(
                self,
                "the left side must be a derivative ∂E/∂z_k",
                deriv.span,
            );
        };
        let Some(quantity) = body.as_sym().cloned() else {
            return fail(
                self,
                "the left side must differentiate a name (∂E/∂z_k)",
                deriv.span,
            );
        };
        if quantity.sub().is_none() && self.scope.quantities.contains(quantity.name()) {
            return fail(
                self,
                "the differentiated name is defined by a `let`; a stated dependence is for an \
                 undefined quantity",
                deriv.span,
            );
        }
        if !crate::index::symbol_indices(family).contains(&idx.name().to_owned()) {
            return fail(
                self,
                "the variable of the derivative must carry the index after `for` (z_k)",
                deriv.span,
            );
        }
        let v = self.top(value);
        let Some(partial) = v.as_sym().cloned() else {
            return fail(self, "the right side must be a name (δ_k)", value.span);
        };
        if !crate::index::symbol_indices(&partial).contains(&idx.name().to_owned()) {
            return fail(
                self,
                "the right side must carry the index after `for` (δ_k)",
                value.span,
            );
        }
        Some(Dependence {
            quantity,
            family: family.clone(),
            partial,
            index: idx,
            lo: self.top(lo),
            hi: self.top(hi),
            span,
        })
    }

    /// `assume ∂E/∂z = δ` with `z` a vector: the derivative and the value's name, if the
    /// statement has that form.
    fn vector_dependence_form<'b>(
        &self,
        first: &'b ast::Expr<'a>,
        rest: &'b [(ast::Rel, ast::Expr<'a>)],
    ) -> Option<(&'b ast::DerivFrac<'a>, &'b ast::Name<'a>, Dim)> {
        let ExprKind::DerivFrac(frac) = &first.kind else {
            return None;
        };
        let [(rel, value)] = rest else {
            return None;
        };
        let ExprKind::Name(name) = &value.kind else {
            return None;
        };
        match (rel.op, self.shape_of(&frac.var)) {
            (RelOp::Eq, Some(Shape::Vector(n))) => Some((frac, name, n)),
            _ => None,
        }
    }

    /// `assume ∂E/∂z_{ℓ+1} = δ_{ℓ+1}` for a vector z_{ℓ+1} ∈ ℝ^M: the dependence `∂E/∂z_{ℓ+1,k}
    /// = δ_{ℓ+1,k} for k = 1..M`, and δ_{ℓ+1} gets z's shape.
    fn vector_dependence(
        &mut self,
        first: &ast::Expr<'a>,
        rest: &[(ast::Rel, ast::Expr<'a>)],
        span: Span,
    ) -> Option<Dependence> {
        let (frac, value, dim) = self.vector_dependence_form(first, rest)?;
        let (frac, value) = (frac.clone(), *value);
        let quantity = self.symbol(&frac.num);
        if !self.shapeable(&value) || self.shape_of(&frac.num).is_some() {
            self.error(
                LowerErrorKind::Dependence {
                    message: "with a vector z, the sides are a scalar's derivative and a name \
                              for the gradient (`assume ∂E/∂z = δ`)"
                        .to_owned(),
                },
                first.span,
            );
            return None;
        }
        if quantity.sub().is_none() && self.scope.quantities.contains(quantity.name()) {
            self.error(
                LowerErrorKind::Dependence {
                    message: "the differentiated name is defined by a `let`; a stated \
                              dependence is for an undefined quantity"
                        .to_owned(),
                },
                first.span,
            );
            return None;
        }
        let (var, partial) = (self.symbol(&frac.var), self.symbol(&value));
        let entry = |s: &Symbol| {
            let mut slots = label_slots(s);
            slots.push("k".to_owned());
            Symbol::with_sub(s.name(), Some(&crate::index::join_slots(&slots)))
        };
        let hi = match &dim {
            Dim::One => Expr::one(),
            Dim::Size(e) => e.clone(),
        };
        self.record_shape(partial.clone(), Shape::Vector(dim));
        Some(Dependence {
            quantity,
            family: entry(&var),
            partial: entry(&partial),
            index: Symbol::new("k"),
            lo: Expr::one(),
            hi,
            span,
        })
    }

    fn fact(&mut self, a: &ast::Assume<'a>) -> Fact {
        match a {
            // Lowered by `dependence` (never reaches here).
            ast::Assume::Depends(_) => Fact::Compare(Vec::new(), Vec::new()),
            ast::Assume::Compare { first, rest } => {
                let has_derivative = std::iter::once(first)
                    .chain(rest.iter().map(|(_, e)| e))
                    .any(|e| matches!(e.kind, ExprKind::Deriv(_) | ExprKind::DerivFrac(_)));
                if has_derivative {
                    // A derivative has no value at a sample point: such a fact would exclude
                    // every point. The one fact about derivatives is a stated dependence.
                    self.error(
                        LowerErrorKind::Dependence {
                            message: "an assumption about a derivative states a dependence, \
                                      with an index and its range (or ∂E/∂z = δ for a vector z)"
                                .to_owned(),
                        },
                        first.span,
                    );
                    return Fact::Compare(Vec::new(), Vec::new());
                }
                let mut exprs = vec![self.top(first)];
                let mut rels = Vec::with_capacity(rest.len());
                for (rel, e) in rest {
                    rels.push(match rel.op {
                        RelOp::Lt => Rel::Lt,
                        RelOp::Le => Rel::Le,
                        RelOp::Gt => Rel::Gt,
                        RelOp::Ge => Rel::Ge,
                        RelOp::Eq => Rel::Eq,
                    });
                    exprs.push(self.top(e));
                }
                Fact::Compare(exprs, rels)
            }
            ast::Assume::Member { lhs, set } => {
                let element = self.top(lhs);
                if element.as_sym().is_none() {
                    self.error(
                        LowerErrorKind::ExpectedSymbol {
                            context: "before `∈`",
                        },
                        lhs.span,
                    );
                }
                let set = match set {
                    ast::SetExpr::Shape(dims, span) => {
                        self.declare_shape(lhs, dims, *span);
                        NumberSet::Reals
                    }
                    ast::SetExpr::Finite(elems, _) => {
                        NumberSet::Finite(elems.iter().map(|e| self.top(e)).collect())
                    }
                    ast::SetExpr::Named(SetName::Naturals, _) => NumberSet::Naturals,
                    ast::SetExpr::Named(SetName::Integers, _) => NumberSet::Integers,
                    ast::SetExpr::Named(SetName::Reals, _) => NumberSet::Reals,
                };
                Fact::Member(element, set)
            }
        }
    }

    // ---- expressions -------------------------------------------------------------------

    /// A whole expression of a statement, checked against `max_nodes`.
    fn top(&mut self, e: &ast::Expr<'a>) -> Expr {
        let res = self.expr(e);
        if res.tree_size() > self.max_nodes as u64 {
            return self.error(
                LowerErrorKind::TooManyNodes {
                    nodes: res.tree_size(),
                    limit: self.max_nodes,
                },
                e.span,
            );
        }
        res
    }

    /// The expression `e` stands for. Brackets around `e` itself add nothing here; they only
    /// matter to the product chain `e` sits in (see `factors_into`).
    fn expr(&mut self, e: &ast::Expr<'a>) -> Expr {
        match &e.kind {
            ExprKind::Num(lit) => self.number(lit, e.span),
            ExprKind::Ratio { num, den } => self.ratio(num, den, e.span),
            ExprKind::Name(name) => self.name_expr(name),
            ExprKind::Sum(terms) => {
                if let [t] = terms.as_slice() {
                    return self.term(t);
                }
                Expr::add(terms.iter().map(|t| self.term(t)).collect())
            }
            ExprKind::Product(_)
            | ExprKind::Neg(_)
            | ExprKind::Pow(_)
            | ExprKind::Deriv(_)
            | ExprKind::Apply(_) => {
                let mut factors = Vec::new();
                self.chain_bare(e, &mut factors);
                product(factors)
            }
            ExprKind::DerivFrac(frac) => {
                let body = self.name_expr(&frac.num);
                Expr::deriv(body, self.symbol(&frac.var))
            }
            ExprKind::BigSum(sum) => Expr::new(Node::Sum {
                index: self.symbol(&sum.index),
                lo: self.expr(&sum.lo),
                hi: self.expr(&sum.hi),
                body: self.expr(&sum.body),
            }),
            ExprKind::Indicator(pair) => {
                Expr::new(Node::Delta(self.expr(&pair.0), self.expr(&pair.1)))
            }
            ExprKind::Transpose(_) => self.error(
                LowerErrorKind::Shape {
                    message: "a transpose of a value without a shape (declare it: \
                              `assume W ∈ ℝ^{M×N}`)"
                        .to_owned(),
                },
                e.span,
            ),
        }
    }

    /// A term of a sum: its product chain, with the sign rule of the contract.
    fn term(&mut self, t: &ast::Term<'a>) -> Expr {
        let mut factors = Vec::new();
        self.chain_into(&t.body, &mut factors);
        if t.sign.is_some_and(|s| s.negative) {
            let first_ast = match &t.body.kind {
                ExprKind::Product(fs) if t.body.parens == 0 => fs.first().map(|f| &f.expr),
                _ => Some(&t.body),
            };
            negate_first(first_ast.is_some_and(is_literal), &mut factors);
        }
        product(factors)
    }

    /// The factors of a product chain (or of a single factor) in order; a bracketed `e` is
    /// one factor.
    fn chain_into(&mut self, e: &ast::Expr<'a>, out: &mut Vec<Expr>) {
        if e.parens > 0 {
            out.push(self.expr(e));
        } else {
            self.chain_bare(e, out);
        }
    }

    /// Like `chain_into`, ignoring brackets around `e` itself.
    fn chain_bare(&mut self, e: &ast::Expr<'a>, out: &mut Vec<Expr>) {
        let ExprKind::Product(factors) = &e.kind else {
            self.factors_bare(e, out);
            return;
        };
        for f in factors {
            let start = out.len();
            self.factors_into(&f.expr, out);
            if f.op == ast::MulOp::Divide {
                map_at(out, start, |first| Expr::pow(first, Expr::int(-1)));
            }
            if f.op == ast::MulOp::Hadamard {
                self.error(
                    LowerErrorKind::Shape {
                        message: "an elementwise product ⊙ of values without shapes (declare \
                                  them: `assume h ∈ ℝ^N`)"
                            .to_owned(),
                    },
                    f.expr.span,
                );
            }
        }
    }

    /// The factors one syntactic factor contributes to its product chain: one, or two when
    /// an `Apply` of a non-function turns out to be a juxtaposition (`x(1 + y)` is the two
    /// factors `x` and `1 + y`). A bracketed factor is always one.
    fn factors_into(&mut self, e: &ast::Expr<'a>, out: &mut Vec<Expr>) {
        if e.parens > 0 {
            out.push(self.expr(e));
        } else {
            self.factors_bare(e, out);
        }
    }

    /// Like `factors_into`, ignoring brackets around `e` itself. Operators around an `Apply`
    /// that is a product bind as the tokens say: prefix ones (`^` from the left, `d/dz`,
    /// unary minus) to the name, postfix powers to the group (`2^x(1+y)^3` is
    /// `2^x · (1+y)^3`).
    fn factors_bare(&mut self, e: &ast::Expr<'a>, out: &mut Vec<Expr>) {
        let start = out.len();
        match &e.kind {
            ExprKind::Apply(apply) => self.apply_into(apply, e.span, out),
            ExprKind::Pow(pow) => {
                let is_e = pow.base.parens == 0
                    && matches!(&pow.base.kind, ExprKind::Name(n) if n.ident == "e" && n.sub.is_none());
                if is_e {
                    self.factors_into(&pow.exp, out);
                    map_at(out, start, |x| Expr::call(Builtin::Exp, vec![x]));
                } else {
                    self.factors_into(&pow.base, out);
                    let last_base = out.pop().unwrap_or_else(Expr::one);
                    let at = out.len();
                    self.factors_into(&pow.exp, out);
                    map_at(out, at, |exp| Expr::pow(last_base, exp));
                }
            }
            ExprKind::Deriv(deriv) => {
                self.factors_into(&deriv.body, out);
                let var = self.symbol(&deriv.var);
                map_at(out, start, |body| Expr::deriv(body, var));
            }
            ExprKind::Neg(operand) => {
                self.factors_into(operand, out);
                if is_literal(operand) {
                    if let Some(r) = out.get(start).and_then(Expr::as_num) {
                        let negated = Expr::num(-r.clone());
                        map_at(out, start, |_| negated);
                        return;
                    }
                }
                map_at(out, start, Expr::neg);
            }
            _ => out.push(self.expr(e)),
        }
    }

    fn resolve(&self, name: &ast::Name<'a>, n_args: usize, primes: u8) -> Callee {
        if name.sub.is_some() {
            return Callee::NotFunction;
        }
        let ascii = spelling::ascii_name(name.ident);
        if let Some(&arity) = self.scope.functions.get(ascii) {
            return Callee::Func(Func::User(Arc::from(ascii)), Some(arity));
        }
        if self.scope.quantities.contains(ascii) {
            return Callee::NotFunction;
        }
        if primes == 0 && ascii == "sum" && n_args == 4 {
            return Callee::Sum;
        }
        if primes == 0 && ascii == "delta" && n_args == 2 {
            return Callee::Delta;
        }
        if let Some(b) = Builtin::from_name(ascii) {
            return Callee::Func(Func::Builtin(b), Some(b.arity()));
        }
        if primes > 0 && self.scope.derivatives.contains(ascii) {
            return Callee::Func(Func::User(Arc::from(ascii)), Some(1));
        }
        Callee::NotFunction
    }

    fn apply_into(&mut self, apply: &ast::Apply<'a>, span: Span, out: &mut Vec<Expr>) {
        let (name, primes) = (&apply.name, apply.primes);
        let n_args = apply.n_args();
        let (first, rest) = (&apply.first, apply.rest.as_slice());
        let written = || {
            let mut s = name.ident.to_owned();
            s.push_str(&"'".repeat(usize::from(primes)));
            s
        };
        let lowered = match self.resolve(name, n_args, primes) {
            Callee::NotFunction if primes > 0 => self.error(
                LowerErrorKind::PrimeOfNonFunction {
                    name: name.ident.to_owned(),
                },
                name.span,
            ),
            Callee::NotFunction => match rest {
                [] => {
                    out.push(self.name_expr(name));
                    self.expr(first)
                }
                _ => self.error(
                    LowerErrorKind::NotAFunction {
                        name: name.ident.to_owned(),
                        n_args,
                    },
                    span,
                ),
            },
            Callee::Func(func, arity) => {
                let expected = if primes > 0 { Some(1) } else { arity };
                match expected {
                    Some(n) if n != n_args => self.error(
                        LowerErrorKind::WrongArity {
                            name: written(),
                            expected: n,
                            found: n_args,
                        },
                        span,
                    ),
                    _ => {
                        let func = (0..primes).fold(func, |f, _| Func::Prime(Box::new(f)));
                        let args = apply.args().map(|a| self.expr(a)).collect();
                        Expr::apply(func, args)
                    }
                }
            }
            Callee::Sum => match rest {
                [lo, hi, body] => match &first.kind {
                    ExprKind::Name(n) => Expr::new(Node::Sum {
                        index: self.symbol(n),
                        lo: self.expr(lo),
                        hi: self.expr(hi),
                        body: self.expr(body),
                    }),
                    _ => self.error(
                        LowerErrorKind::ExpectedSymbol {
                            context: "as the index of `sum`",
                        },
                        first.span,
                    ),
                },
                _ => Expr::zero(),
            },
            Callee::Delta => match rest {
                [b] => Expr::new(Node::Delta(self.expr(first), self.expr(b))),
                _ => Expr::zero(),
            },
        };
        out.push(lowered);
    }

    /// A name as an expression: `e` and `pi`/`π` (without subscript) are constants, anything
    /// else a symbol.
    fn name_expr(&mut self, name: &ast::Name<'a>) -> Expr {
        if name.sub.is_none() {
            match spelling::ascii_name(name.ident) {
                "e" => return Expr::constant(Constant::E),
                "pi" => return Expr::constant(Constant::Pi),
                _ => {}
            }
        }
        let key = (name.ident, name.sub.map(|s| (s.text, s.layer)));
        if let Some(e) = self.symbols.get(&key) {
            return e.clone();
        }
        let sym = self.symbol(name);
        let e = kronecker(&sym).unwrap_or_else(|| Expr::sym(sym));
        self.symbols.insert(key, e.clone());
        e
    }

    fn symbol(&self, name: &ast::Name<'a>) -> Symbol {
        let ascii = spelling::ascii_name(name.ident);
        match name.sub {
            None => Symbol::new(ascii),
            Some(sub) if sub.form == SubscriptForm::Unicode => {
                let digits: String = sub
                    .text
                    .chars()
                    .filter_map(spelling::subscript_digit)
                    .map(|d| char::from(b'0' + d))
                    .collect();
                Symbol::with_sub(ascii, Some(&digits))
            }
            Some(sub) => match sub.layer {
                None => Symbol::with_sub(ascii, Some(&crate::index::normalize_sub(sub.text))),
                Some(layer) => {
                    let layer = crate::index::normalize_layer(layer);
                    let rest = crate::index::normalize_sub(sub.text);
                    let slots = if rest.is_empty() {
                        layer
                    } else {
                        // One slot per index of a short subscript (`jk` → `j,k`).
                        let mut all = vec![layer];
                        all.extend(crate::index::slots(&rest));
                        all.join(",")
                    };
                    Symbol::with_sub(ascii, Some(&slots))
                }
            },
        }
    }

    // ---- numbers -----------------------------------------------------------------------

    fn too_large(&mut self, digits: usize, span: Span) -> Expr {
        self.error(
            LowerErrorKind::NumberTooLarge {
                digits,
                limit: self.max_digits,
            },
            span,
        )
    }

    fn number(&mut self, lit: &NumLit<'a>, span: Span) -> Expr {
        match *lit {
            NumLit::Decimal(_) => {
                let (int, frac, exp) = lit.decimal_parts().unwrap_or(("0", "", ""));
                self.decimal(int, frac, exp, span)
            }
            NumLit::Vulgar { num, den } => Expr::frac(i64::from(num), i64::from(den)),
            NumLit::Superscript { negative, digits } => {
                let ascii: String = digits
                    .chars()
                    .filter_map(spelling::superscript_digit)
                    .map(|d| char::from(b'0' + d))
                    .collect();
                match self.integer(&ascii, span) {
                    Some(n) if negative => Expr::num(Rational::from_integer(-n)),
                    Some(n) => Expr::num(Rational::from_integer(n)),
                    None => Expr::zero(),
                }
            }
        }
    }

    /// Decimal digits as an integer, within `max_digits` (leading zeros are not counted).
    fn integer(&mut self, digits: &str, span: Span) -> Option<BigInt> {
        let significant = digits.trim_start_matches('0').len();
        if significant > self.max_digits {
            self.too_large(significant, span);
            return None;
        }
        Some(BigInt::from_str_radix(digits, 10).unwrap_or_default())
    }

    fn ratio(&mut self, num: &str, den: &str, span: Span) -> Expr {
        let (Some(n), Some(d)) = (self.integer(num, span), self.integer(den, span)) else {
            return Expr::zero();
        };
        if d.is_zero() {
            // `1/0` is not a number: keep the user's division for the checker to judge.
            return Expr::mul(vec![
                Expr::num(Rational::from_integer(n)),
                Expr::pow(Expr::num(Rational::from_integer(d)), Expr::int(-1)),
            ]);
        }
        Expr::num(Rational::new(n, d))
    }

    /// `int.frac e exp` as an exact rational, refusing values of more than `max_digits`
    /// digits before computing them.
    fn decimal(&mut self, int: &str, frac: &str, exp: &str, span: Span) -> Expr {
        let mut digits = String::with_capacity(int.len() + frac.len());
        digits.push_str(int);
        digits.push_str(frac);
        let Some(mantissa) = self.integer(&digits, span) else {
            return Expr::zero();
        };
        if mantissa.is_zero() {
            return Expr::zero();
        }
        let (negative_exp, exp_digits) = match exp.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, exp.strip_prefix('+').unwrap_or(exp)),
        };
        let exp_digits = exp_digits.trim_start_matches('0');
        // An exponent of more than 18 digits could not be represented, let alone allowed.
        let exponent: i128 = if exp_digits.len() > 18 {
            return self.too_large(usize::MAX, span);
        } else {
            let magnitude = exp_digits.parse::<i128>().unwrap_or(0);
            if negative_exp {
                -magnitude
            } else {
                magnitude
            }
        };
        let scale = exponent - frac.len() as i128;
        let significant = digits.trim_start_matches('0').len();
        let size = (significant as u128).saturating_add(scale.unsigned_abs());
        if size > self.max_digits as u128 {
            return self.too_large(usize::try_from(size).unwrap_or(usize::MAX), span);
        }
        let power = BigInt::from(10u8).pow(u32::try_from(scale.unsigned_abs()).unwrap_or(0));
        let value = if scale >= 0 {
            Rational::from_integer(mantissa * power)
        } else {
            Rational::new(mantissa, power)
        };
        Expr::num(value)
    }
}

// ---- matrix and vector notation (see `matrix`) ---------------------------------------

/// The indices of the free slots of a value of dimensions `d`: `row` and `col`, or the
/// integer 1 for a dimension 1.
fn entry_indices(d: Option<&crate::matrix::Dims>, row: &str, col: &str) -> (Expr, Expr) {
    let pick = |dim: Option<&Dim>, name: &str| match dim {
        Some(Dim::Size(_)) => crate::matrix::index_sym(name),
        _ => Expr::one(),
    };
    (pick(d.map(|d| &d.rows), row), pick(d.map(|d| &d.cols), col))
}

/// The claim `lhs = rhs` with the spans of `proto`.
fn claim_like(proto: &Claim, lhs: Expr, rhs: Expr) -> Claim {
    Claim {
        lhs,
        rhs,
        ..proto.clone()
    }
}

impl<'s, 'a> Lowerer<'s, 'a> {
    fn shape_of(&self, name: &ast::Name<'a>) -> Option<Shape> {
        if self.shapes.is_empty() {
            return None;
        }
        match name.sub {
            None => self.shapes.get(spelling::ascii_name(name.ident)).cloned(),
            Some(_) => self.shapes.get(&shape_key(&self.symbol(name))).cloned(),
        }
    }

    fn record_shape(&mut self, sym: Symbol, shape: Shape) {
        self.shapes.insert(shape_key(&sym), shape.clone());
        self.shape_log.push((sym, shape));
    }

    /// Whether a name can carry a shape: no subscript, or one of labels only (`W_{ℓ+1}`,
    /// `z_ℓ`), never an entry (`W_{ij}`, `z_2`).
    fn shapeable(&self, name: &ast::Name<'a>) -> bool {
        name.sub.is_none() || !crate::index::is_indexed(&self.symbol(name))
    }

    fn shape_error(&mut self, message: String, span: Span) {
        self.error(LowerErrorKind::Shape { message }, span);
    }

    /// True when `e` mentions a name with a shape, a transpose or `⊙`: it is read as a matrix
    /// or vector expression.
    fn is_matrix(&self, e: &ast::Expr<'a>) -> bool {
        match &e.kind {
            ExprKind::Num(_) | ExprKind::Ratio { .. } => false,
            ExprKind::Name(n) => self.shape_of(n).is_some(),
            ExprKind::Sum(terms) => terms.iter().any(|t| self.is_matrix(&t.body)),
            ExprKind::Product(fs) => fs
                .iter()
                .any(|f| f.op == ast::MulOp::Hadamard || self.is_matrix(&f.expr)),
            ExprKind::Neg(x) => self.is_matrix(x),
            ExprKind::Pow(p) => self.is_matrix(&p.base) || self.is_matrix(&p.exp),
            ExprKind::Apply(a) => {
                self.shape_of(&a.name).is_some() || a.args().any(|x| self.is_matrix(x))
            }
            ExprKind::Deriv(d) => self.shape_of(&d.var).is_some() || self.is_matrix(&d.body),
            ExprKind::DerivFrac(f) => {
                self.shape_of(&f.num).is_some() || self.shape_of(&f.var).is_some()
            }
            ExprKind::BigSum(b) => {
                self.is_matrix(&b.lo) || self.is_matrix(&b.hi) || self.is_matrix(&b.body)
            }
            ExprKind::Indicator(p) => self.is_matrix(&p.0) || self.is_matrix(&p.1),
            ExprKind::Transpose(_) => true,
        }
    }

    /// `assume W ∈ ℝ^{M×N}`: records the shape of `W`.
    fn declare_shape(&mut self, lhs: &ast::Expr<'a>, dims: &[ast::Expr<'a>], span: Span) {
        let ExprKind::Name(name) = &lhs.kind else {
            return;
        };
        if !self.shapeable(name) {
            self.shape_error(
                "a shape is declared for a name without subscript (`assume W ∈ ℝ^{M×N}`) or \
                 with a label (`assume W_{ℓ+1} ∈ ℝ^{M×N}`); its entries are then written \
                 `W_{ij}` (`W_{ℓ+1,i,j}`)"
                    .to_owned(),
                lhs.span,
            );
            return;
        }
        let dims: Vec<Dim> = dims.iter().map(|d| Dim::of(self.expr(d))).collect();
        let shape = match dims.as_slice() {
            [n] => Shape::Vector(n.clone()),
            [m, n] => Shape::Matrix(m.clone(), n.clone()),
            _ => {
                self.shape_error(
                    format!(
                        "expected one dimension (a vector) or two (a matrix), found {}",
                        dims.len()
                    ),
                    span,
                );
                return;
            }
        };
        let sym = self.symbol(name);
        self.record_shape(sym, shape);
    }

    /// The matrix expression `e` stands for (a `Scalar` leaf where nothing has a shape).
    fn mat(&mut self, e: &ast::Expr<'a>) -> Mat {
        let span = e.span;
        if !self.is_matrix(e) {
            return Mat::new(MatKind::Scalar(self.expr(e)), span);
        }
        let kind = match &e.kind {
            ExprKind::Name(n) => match self.shape_of(n) {
                Some(shape) => MatKind::Var(self.symbol(n), shape),
                None => MatKind::Scalar(self.expr(e)),
            },
            ExprKind::Sum(terms) => {
                if let [t] = terms.as_slice() {
                    if !t.sign.is_some_and(|s| s.negative) {
                        return self.mat(&t.body);
                    }
                }
                MatKind::Add(
                    terms
                        .iter()
                        .map(|t| (t.sign.is_some_and(|s| s.negative), self.mat(&t.body)))
                        .collect(),
                )
            }
            ExprKind::Product(fs) => {
                let mut acc: Option<Mat> = None;
                for f in fs {
                    let m = self.mat(&f.expr);
                    acc = Some(match acc {
                        None => m,
                        Some(a) => {
                            let at = Span::new(a.span.start, m.span.end);
                            let (a, m) = (Box::new(a), Box::new(m));
                            let kind = match f.op {
                                ast::MulOp::Divide => MatKind::Div(a, m),
                                ast::MulOp::Hadamard => MatKind::Hadamard(a, m),
                                _ => MatKind::Mul(a, m),
                            };
                            Mat::new(kind, at)
                        }
                    });
                }
                return acc.unwrap_or_else(|| Mat::new(MatKind::Scalar(Expr::zero()), span));
            }
            ExprKind::Neg(x) => MatKind::Mul(
                Box::new(Mat::new(MatKind::Scalar(Expr::int(-1)), span)),
                Box::new(self.mat(x)),
            ),
            ExprKind::Pow(p)
                if matches!(&p.exp.kind, ExprKind::Name(n) if n.ident == "T" && n.sub.is_none())
                    && p.op == ast::PowOp::Caret
                    && self.is_matrix(&p.base) =>
            {
                MatKind::Transpose(Box::new(self.mat(&p.base)))
            }
            // `δ (a)^T` is read as δ applied to a, transposed: a name with a shape is never a
            // function, and the superscript binds to the bracket, so it is δ·(aᵀ).
            ExprKind::Transpose(x) => match &x.kind {
                ExprKind::Apply(a)
                    if x.parens == 0
                        && a.primes == 0
                        && a.rest.is_empty()
                        && self.shape_of(&a.name).is_some() =>
                {
                    let shape = self.shape_of(&a.name).unwrap_or(Shape::Vector(Dim::One));
                    let left = Mat::new(MatKind::Var(self.symbol(&a.name), shape), a.name.span);
                    let right = Mat::new(
                        MatKind::Transpose(Box::new(self.mat(&a.first))),
                        a.first.span,
                    );
                    MatKind::Mul(Box::new(left), Box::new(right))
                }
                _ => MatKind::Transpose(Box::new(self.mat(x))),
            },
            ExprKind::Apply(a) => self.mat_apply(a, span),
            _ => {
                self.shape_error(
                    "a matrix or vector inside a power, a sum, a derivative operator or an \
                     indicator is not read in matrix form (write it in index form)"
                        .to_owned(),
                    span,
                );
                MatKind::Scalar(Expr::zero())
            }
        };
        Mat::new(kind, span)
    }

    /// `f(A)` elementwise, or `W(x)` / `s(x)` as a product.
    fn mat_apply(&mut self, a: &ast::Apply<'a>, span: Span) -> MatKind {
        if a.primes == 0 && a.rest.is_empty() {
            if let Some(shape) = self.shape_of(&a.name) {
                let left = Mat::new(MatKind::Var(self.symbol(&a.name), shape), a.name.span);
                return MatKind::Mul(Box::new(left), Box::new(self.mat(&a.first)));
            }
        }
        match self.resolve(&a.name, a.n_args(), a.primes) {
            Callee::Func(func, arity)
                if a.rest.is_empty() && (a.primes > 0 || arity.is_none_or(|n| n == 1)) =>
            {
                let func = (0..a.primes).fold(func, |f, _| Func::Prime(Box::new(f)));
                let param = Symbol::new(MAP_PARAM);
                let template = Expr::apply(func, vec![Expr::sym(param.clone())]);
                MatKind::Map {
                    template,
                    param,
                    arg: Box::new(self.mat(&a.first)),
                }
            }
            Callee::NotFunction if a.primes == 0 && a.rest.is_empty() => {
                let left = Mat::new(MatKind::Scalar(self.name_expr(&a.name)), a.name.span);
                MatKind::Mul(Box::new(left), Box::new(self.mat(&a.first)))
            }
            _ => {
                self.shape_error(
                    "a matrix or vector as the argument of a function of several arguments \
                     (or of `sum`/`delta`) is not read in matrix form (write it in index form)"
                        .to_owned(),
                    span,
                );
                MatKind::Scalar(Expr::zero())
            }
        }
    }

    /// The dimensions of `m`, reporting a shape error.
    fn mat_dims(&mut self, m: &Mat) -> Result<Option<crate::matrix::Dims>, ()> {
        m.dims().map_err(|e| self.shape_error(e.message, e.span))
    }

    /// `let z = β + Ω·h`: the family `z_i = β_i + Σ_j Ω_{ij}·h_j` (`z_{ik}` for a matrix),
    /// and z gets the shape of the body.
    fn matrix_definition(
        &mut self,
        head: &ast::LetHead<'a>,
        body: &ast::Expr<'a>,
        span: Span,
    ) -> Definition {
        self.check_definable(&head.name);
        let name: Arc<str> = Arc::from(spelling::ascii_name(head.name.ident));
        let m = self.mat(body);
        let dims = self.mat_dims(&m).ok().flatten();
        let (r, c) = entry_indices(dims.as_ref(), "i", "k");
        let mut taken = vec!["i".to_owned(), "k".to_owned()];
        let value = m.entry(&r, &c, &mut taken);
        let plain = self.symbol(&head.name);
        let symbol = match dims.as_ref().map(|d| d.shape()) {
            Some(Shape::Vector(Dim::One)) | None => plain,
            Some(shape) => {
                let mut slots = label_slots(&plain);
                match &shape {
                    Shape::Vector(_) => slots.push(r.to_string()),
                    Shape::Matrix(..) => slots.extend([r.to_string(), c.to_string()]),
                }
                self.record_shape(plain.clone(), shape);
                Symbol::with_sub(plain.name(), Some(&crate::index::join_slots(&slots)))
            }
        };
        Definition {
            name,
            symbol: Some(symbol),
            params: Vec::new(),
            body: value,
            kind: DefKind::Quantity,
            span,
        }
    }

    /// A claim in matrix form, checked entrywise: a derivative `∂z/∂h`, `∂E/∂W`, or two
    /// matrix expressions of one shape.
    fn matrix_claim(&mut self, lhs: &ast::Expr<'a>, rhs: &ast::Expr<'a>, span: Span) -> Claim {
        let proto = Claim {
            lhs: Expr::zero(),
            rhs: Expr::zero(),
            lhs_span: lhs.span,
            rhs_span: rhs.span,
            span,
        };
        if let ExprKind::DerivFrac(frac) = &lhs.kind {
            let (num, var) = (self.shape_of(&frac.num), self.shape_of(&frac.var));
            if num.is_some() || var.is_some() {
                return self.matrix_derivative_claim(frac, num, var, rhs, proto);
            }
        }
        let (l, r) = (self.mat(lhs), self.mat(rhs));
        let (Ok(dl), Ok(dr)) = (self.mat_dims(&l), self.mat_dims(&r)) else {
            return proto;
        };
        // A 1×1 product (hᵀ·h) is a scalar.
        let scalar = |d: Option<crate::matrix::Dims>| {
            d.filter(|d| !(d.rows == Dim::One && d.cols == Dim::One))
        };
        let (dl, dr) = (scalar(dl), scalar(dr));
        if dl != dr {
            let show = |d: &Option<crate::matrix::Dims>| {
                d.as_ref().map_or("a scalar".to_owned(), |d| d.to_string())
            };
            self.shape_error(
                format!(
                    "the sides of the claim have different shapes ({} and {})",
                    show(&dl),
                    show(&dr)
                ),
                span,
            );
            return proto;
        }
        let (i, k) = entry_indices(dl.as_ref(), "i", "k");
        let mut taken = vec!["i".to_owned(), "k".to_owned()];
        let (le, re) = (l.entry(&i, &k, &mut taken), r.entry(&i, &k, &mut taken));
        claim_like(&proto, le, re)
    }

    /// `∂E/∂W` (scalar by vector or matrix: the gradient has W's shape in either layout) or
    /// `∂z/∂h` (vector by vector: entry (i, k) = ∂z_i/∂h_k in numerator layout, (k, i) in
    /// denominator layout); both forms are kept in `layout_forms`.
    fn matrix_derivative_claim(
        &mut self,
        frac: &ast::DerivFrac<'a>,
        num: Option<Shape>,
        var: Option<Shape>,
        rhs: &ast::Expr<'a>,
        proto: Claim,
    ) -> Claim {
        let r = self.mat(rhs);
        let Ok(rd) = self.mat_dims(&r) else {
            return proto;
        };
        let (num_sym, var_sym) = (self.symbol(&frac.num), self.symbol(&frac.var));
        let entry_sym = |s: &Symbol, slots: &[&str]| {
            let mut all = label_slots(s);
            all.extend(slots.iter().map(|s| (*s).to_owned()));
            Symbol::with_sub(s.name(), Some(&crate::index::join_slots(&all)))
        };
        let mut taken = vec!["i".to_owned(), "k".to_owned(), "l".to_owned()];
        let show = |d: &Option<crate::matrix::Dims>| {
            d.as_ref().map_or("a scalar".to_owned(), |d| d.to_string())
        };
        match (num, var) {
            (None, Some(vs)) => {
                let want = vs.dims();
                if rd.as_ref() != Some(&want) {
                    self.shape_error(
                        format!(
                            "∂{0}/∂{1} has the shape of {1} ({2}) in either layout; the right \
                             side is {3}",
                            frac.num.ident,
                            frac.var.ident,
                            want,
                            show(&rd)
                        ),
                        proto.rhs_span,
                    );
                    return proto;
                }
                let (slots, (rr, cc)): (&[&str], _) = match vs {
                    Shape::Vector(_) => (&["k"], entry_indices(Some(&want), "k", "l")),
                    Shape::Matrix(..) => (&["k", "l"], entry_indices(Some(&want), "k", "l")),
                };
                let lhs = Expr::deriv(Expr::sym(num_sym), entry_sym(&var_sym, slots));
                let rhs = r.entry(&rr, &cc, &mut taken);
                claim_like(&proto, lhs, rhs)
            }
            (Some(Shape::Vector(m)), Some(Shape::Vector(n))) => {
                let numerator = crate::matrix::Dims {
                    rows: m.clone(),
                    cols: n.clone(),
                };
                let denominator = numerator.transposed();
                if rd.as_ref() != Some(&numerator) && rd.as_ref() != Some(&denominator) {
                    self.shape_error(
                        format!(
                            "∂{}/∂{} is {} in numerator layout and {} in denominator layout; \
                             the right side is {}",
                            frac.num.ident,
                            frac.var.ident,
                            numerator,
                            denominator,
                            show(&rd)
                        ),
                        proto.rhs_span,
                    );
                    return proto;
                }
                let lhs = Expr::deriv(
                    Expr::sym(entry_sym(&num_sym, &["i"])),
                    entry_sym(&var_sym, &["k"]),
                );
                let idx = |name: &str, d: &Dim| match d {
                    Dim::One => Expr::one(),
                    Dim::Size(_) => crate::matrix::index_sym(name),
                };
                let (i, k) = (idx("i", &m), idx("k", &n));
                let num_rhs = r.entry(&i, &k, &mut taken);
                let den_rhs = r.entry(&k, &i, &mut taken);
                let num_claim = claim_like(&proto, lhs.clone(), num_rhs);
                let den_claim = claim_like(&proto, lhs, den_rhs);
                self.layout_forms = Some((num_claim, den_claim.clone()));
                den_claim
            }
            _ => {
                self.shape_error(
                    "the derivatives read in matrix form are of a scalar by a vector or a \
                     matrix (∂E/∂W) and of a vector by a vector (∂z/∂h); write this one in \
                     index form"
                        .to_owned(),
                    proto.lhs_span,
                );
                proto
            }
        }
    }
}

/// True for a number literal as written (the first factor of a negated term whose sign
/// goes into the literal).
fn is_literal(e: &ast::Expr<'_>) -> bool {
    e.parens == 0
        && matches!(
            e.kind,
            ExprKind::Num(NumLit::Decimal(_) | NumLit::Vulgar { .. }) | ExprKind::Ratio { .. }
        )
}

/// Applies a minus sign to a list of factors: into the first factor when it is a literal
/// number, else as a leading `-1` factor.
fn negate_first(first_is_literal: bool, factors: &mut Vec<Expr>) {
    if first_is_literal {
        if let Some(first) = factors.first_mut() {
            if let Some(r) = first.as_num() {
                *first = Expr::num(-r.clone());
                return;
            }
        }
    }
    factors.insert(0, Expr::int(-1));
}

/// Replaces `factors[at]` by `f(factors[at])`. A syntactic factor always contributes at
/// least one factor, so `at` is in range; out of range, `f(1)` is pushed to stay total.
fn map_at(factors: &mut Vec<Expr>, at: usize, f: impl FnOnce(Expr) -> Expr) {
    match factors.get_mut(at) {
        Some(slot) => {
            let old = std::mem::replace(slot, Expr::one());
            *slot = f(old);
        }
        None => factors.push(f(Expr::one())),
    }
}

/// A product chain: the factor itself when there is one, else a flat `Mul`.
fn product(mut factors: Vec<Expr>) -> Expr {
    if factors.len() == 1 {
        if let Some(f) = factors.pop() {
            return f;
        }
    }
    Expr::mul(factors)
}

/// `δ_{ik}`, `δ_{1k}`, `delta_ij`: a delta with a two-slot subscript of indices or numbers is
/// the Kronecker delta; `δ_o` (one slot, the error term of unit o) stays a symbol.
/// A name as written, for the table of symbols already built: identifier, and subscript text
/// with the layer written as a superscript.
type SymbolKey<'a> = (&'a str, Option<(&'a str, Option<&'a str>)>);

/// The key of a name with a shape: its ASCII name, with the label subscript if any (`W`,
/// `W_{ℓ+1}`).
fn shape_key(sym: &Symbol) -> String {
    match sym.sub() {
        None => sym.name().to_owned(),
        Some(sub) => format!("{}_{{{sub}}}", sym.name()),
    }
}

/// The label slots of a shaped name (`ℓ+1` of `W_{ℓ+1}`), which its entries keep before
/// their indices (`W_{ℓ+1,i,k}`).
fn label_slots(sym: &Symbol) -> Vec<String> {
    sym.sub().map(crate::index::slots).unwrap_or_default()
}

fn kronecker(sym: &Symbol) -> Option<Expr> {
    if sym.name() != "delta" {
        return None;
    }
    let slots = crate::index::slots(sym.sub()?);
    let [a, b] = slots.as_slice() else {
        return None;
    };
    let value = |s: &str| {
        if crate::index::is_index_name(s) {
            Some(Expr::var(s))
        } else {
            s.parse::<i64>().ok().map(Expr::int)
        }
    };
    Some(Expr::new(Node::Delta(value(a)?, value(b)?)))
}
