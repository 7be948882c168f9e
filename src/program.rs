//! A lowered `.dc` file (or document): definitions, assumptions, claims and derivations, each
//! with the `Span` it came from beside its `Expr`s.
//!
//! Also owns the scope questions every later stage asks: is a name a function, what is the
//! definition of a quantity, and the expansion of definitions into their bodies.

use std::sync::Arc;

use crate::expr::{Builtin, Expr, Func, Node, Symbol};
use crate::limits::{LimitKind, LimitReached};
use crate::source::Span;

/// What a `let` defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefKind {
    /// `let f(x, y) = ...`: a function of its parameters.
    Function,
    /// `let f'(x) = ...`: the declared derivative of a one-argument function `f`.
    Derivative,
    /// `let A = ...`: a named quantity, which may depend on other symbols.
    Quantity,
    /// A generic one-argument function with no definition, such as the f and g of a rule
    /// stated in a homework's list of rules ((f∘g)' = f'(g)·g'): f(u) and f'(u) are unknowns,
    /// and d/dx f(u) = f'(u)·u' (rule `d-unknown-function`). `body` is unused (0).
    Unknown,
}

/// One `let`.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Function name (ASCII spelling, without primes) or the quantity's symbol name.
    pub name: Arc<str>,
    /// For quantities: the symbol defined (with its subscript).
    pub symbol: Option<Symbol>,
    /// Parameters (empty for quantities).
    pub params: Vec<Symbol>,
    /// The right-hand side.
    pub body: Expr,
    /// Kind of definition.
    pub kind: DefKind,
    /// The whole statement.
    pub span: Span,
}

/// A relation in an assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    /// <
    Lt,
    /// ≤
    Le,
    /// >
    Gt,
    /// ≥
    Ge,
    /// =
    Eq,
}

/// A set named in `x ∈ S`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberSet {
    /// ℝ (a no-op, accepted for completeness).
    Reals,
    /// ℤ.
    Integers,
    /// ℕ, the positive integers 1, 2, 3, ...
    Naturals,
    /// An explicit finite set `{0, 1}`.
    Finite(Vec<Expr>),
}

/// A domain fact.
#[derive(Debug, Clone)]
pub enum Fact {
    /// A chain `e0 r0 e1 r1 e2 ...`, e.g. `0 < A < 1`.
    Compare(Vec<Expr>, Vec<Rel>),
    /// `x ∈ S`.
    Member(Expr, NumberSet),
}

/// One `assume`.
#[derive(Debug, Clone)]
pub struct Assumption {
    /// The fact.
    pub fact: Fact,
    /// The statement's span.
    pub span: Span,
}

/// `assume ∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k} for k = lo..hi`: the quantity `E` is not defined; it is an
/// unknown function of the family `z_{ℓ+1,k}`, k = lo, …, hi (and of nothing else that the
/// file defines), and its partial derivatives there are the unknowns `δ_{ℓ+1,k}`. This is what
/// the layer recurrence of backpropagation rests on: the loss depends on layer ℓ only through
/// layer ℓ + 1. Differentiation then applies the chain rule through the family (rule
/// `d-given-dependence`): ∂E/∂x = Σ_{k=lo}^{hi} δ_{ℓ+1,k}·∂z_{ℓ+1,k}/∂x.
#[derive(Debug, Clone)]
pub struct Dependence {
    /// The undefined quantity (`E`).
    pub quantity: Symbol,
    /// The family member at the index (`z_{ℓ+1,k}`).
    pub family: Symbol,
    /// The partial derivative's name at the index (`δ_{ℓ+1,k}`).
    pub partial: Symbol,
    /// The family index (`k`).
    pub index: Symbol,
    /// Lower bound of the index.
    pub lo: Expr,
    /// Upper bound of the index.
    pub hi: Expr,
    /// The statement's span.
    pub span: Span,
}

/// One `claim lhs = rhs`.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Left side.
    pub lhs: Expr,
    /// Right side.
    pub rhs: Expr,
    /// Span of the left side.
    pub lhs_span: Span,
    /// Span of the right side.
    pub rhs_span: Span,
    /// The whole statement.
    pub span: Span,
}

/// One line `= expr` of a derivation.
#[derive(Debug, Clone)]
pub struct Step {
    /// The expression after `=`.
    pub expr: Expr,
    /// Span of the expression.
    pub span: Span,
}

/// `derive start` followed by steps, each claimed equal to the previous line.
#[derive(Debug, Clone)]
pub struct Derivation {
    /// The starting expression.
    pub start: Expr,
    /// Its span.
    pub start_span: Span,
    /// The steps in order.
    pub steps: Vec<Step>,
    /// The whole statement (start line to last step).
    pub span: Span,
}

/// One item, in source order.
#[derive(Debug, Clone)]
pub enum Item {
    /// `let`
    Def(Definition),
    /// `assume`
    Assume(Assumption),
    /// `assume ∂E/∂z_k = δ_k for k = 1..M`
    Depends(Dependence),
    /// `claim`
    Claim(Claim),
    /// `derive`
    Derive(Derivation),
}

/// The layout convention of a derivative of a vector by a vector (README, "Matrix and vector
/// notation"). For z ∈ ℝ^M and h ∈ ℝ^N, ∂z/∂h has the entries ∂z_i/∂h_k in either layout; it
/// is M×N with entry (i, k) in numerator layout (the Jacobian) and N×M with entry (k, i) in
/// denominator layout (the convention in which ∂(β + Ω·h)/∂h = Ωᵀ and gradients are columns).
/// The derivative of a scalar by a vector or matrix has the variable's shape in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// ∂z/∂h is M×N, entry (i, k) = ∂z_i/∂h_k.
    Numerator,
    /// ∂z/∂h is N×M, entry (k, i) = ∂z_i/∂h_k (the default).
    #[default]
    Denominator,
}

/// A claim whose index form depends on the layout: both forms, and which item holds one.
#[derive(Debug, Clone)]
pub struct LayoutClaim {
    /// Position of the claim in `Program::items`.
    pub item: usize,
    /// The claim in numerator layout.
    pub numerator: Claim,
    /// The claim in denominator layout.
    pub denominator: Claim,
}

/// A lowered file.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// Items in source order.
    pub items: Vec<Item>,
    /// Claims of matrix derivatives whose index form depends on the layout; `items` holds
    /// the denominator form until `set_layout` says otherwise.
    pub layout_claims: Vec<LayoutClaim>,
    /// Shapes declared (`assume Ω ∈ ℝ^{M×N}`) or defined (`let z = β + Ω·h`), in source
    /// order, so that expressions lowered later in this program's scope (`--defs`) see them.
    pub shapes: Vec<(Symbol, crate::matrix::Shape)>,
}

impl Program {
    /// Puts every layout-dependent claim in its form for `layout`.
    pub fn set_layout(&mut self, layout: Layout) {
        for lc in &self.layout_claims {
            let claim = match layout {
                Layout::Numerator => lc.numerator.clone(),
                Layout::Denominator => lc.denominator.clone(),
            };
            if let Some(item) = self.items.get_mut(lc.item) {
                *item = Item::Claim(claim);
            }
        }
    }

    /// Definitions in source order.
    pub fn definitions(&self) -> impl Iterator<Item = &Definition> {
        self.items.iter().filter_map(|i| match i {
            Item::Def(d) => Some(d),
            _ => None,
        })
    }

    /// Assumptions in source order.
    pub fn assumptions(&self) -> impl Iterator<Item = &Assumption> {
        self.items.iter().filter_map(|i| match i {
            Item::Assume(a) => Some(a),
            _ => None,
        })
    }

    /// The last stated dependence of the undefined quantity `s` (`assume ∂E/∂z_k = δ_k for k =
    /// 1..M`), unless a later definition of `s` replaces it.
    pub fn dependence(&self, s: &Symbol) -> Option<&Dependence> {
        self.items.iter().rev().find_map(|i| match i {
            Item::Depends(d) if &d.quantity == s => Some(Some(d)),
            Item::Def(d) if d.symbol.as_ref() == Some(s) => Some(None),
            _ => None,
        })?
    }

    /// The last function definition named `name` (`DefKind::Function`).
    pub fn function(&self, name: &str) -> Option<&Definition> {
        self.definitions()
            .filter(|d| d.kind == DefKind::Function && &*d.name == name)
            .last()
    }

    /// Whether `name` is a generic function without definition (`DefKind::Unknown`) that no
    /// later definition replaces.
    pub fn is_unknown_function(&self, name: &str) -> bool {
        self.definitions()
            .filter(|d| &*d.name == name && d.kind != DefKind::Quantity)
            .last()
            .is_some_and(|d| d.kind == DefKind::Unknown)
    }

    /// The declared derivative `let name'(x) = ...`, if any.
    pub fn declared_derivative(&self, name: &str) -> Option<&Definition> {
        self.definitions()
            .filter(|d| d.kind == DefKind::Derivative && &*d.name == name)
            .last()
    }

    /// The last definition of the quantity `s`.
    pub fn quantity(&self, s: &Symbol) -> Option<&Definition> {
        self.definitions()
            .filter(|d| d.kind == DefKind::Quantity && d.symbol.as_ref() == Some(s))
            .last()
    }

    /// The value of the quantity `s`: the body of its last definition, or, for an entry of
    /// an indexed family, the family's definition at that entry (`let O_i = …` gives `O_k`
    /// with i := k and `O_2` with i := 2, capture-avoiding).
    pub fn quantity_body(&self, s: &Symbol) -> Option<Expr> {
        if let Some(d) = self.quantity(s) {
            return Some(d.body.clone());
        }
        let sub = s.sub()?;
        let want = crate::index::slots(sub);
        let family = self
            .definitions()
            .filter(|d| d.kind == DefKind::Quantity)
            .filter_map(|d| d.symbol.as_ref().map(|sym| (d, sym)))
            .filter(|(_, sym)| sym.name() == s.name())
            .filter_map(|(d, sym)| {
                let have = crate::index::slots(sym.sub()?);
                let fits = have.len() == want.len()
                    && have.iter().zip(&want).all(|(h, w)| {
                        h == w || (crate::index::is_index_name(h) && is_slot_value(w))
                    });
                fits.then_some((d, have))
            })
            .last()?;
        let (def, have) = family;
        // Simultaneous substitution of the family's indices: through fresh names first, so
        // `let w_{ij}` at `w_{ji}` swaps rather than collapses.
        let mut body = def.body.clone();
        let mut renames = Vec::new();
        for (h, w) in have.iter().zip(&want) {
            if h != w && crate::index::is_index_name(h) {
                let tmp = format!("_{h}");
                body = crate::index::subst_index(
                    &body,
                    h,
                    &crate::index::IndexValue::Name(tmp.clone()),
                );
                renames.push((tmp, w.clone()));
            }
        }
        for (tmp, w) in renames {
            let value = match w.parse::<i64>() {
                Ok(v) => crate::index::IndexValue::Int(v),
                Err(_) => crate::index::IndexValue::Name(w),
            };
            body = crate::index::subst_index(&body, &tmp, &value);
        }
        Some(body)
    }

    /// True when `name` is a user-defined function or a built-in.
    pub fn is_function(&self, name: &str) -> bool {
        self.function(name).is_some() || Builtin::from_name(name).is_some()
    }

    /// Adds the definitions of `other` (used for `--defs FILE`).
    pub fn extend_definitions(&mut self, other: &Program) {
        self.items.extend(
            other
                .items
                .iter()
                .filter(|i| matches!(i, Item::Def(_) | Item::Assume(_) | Item::Depends(_)))
                .cloned(),
        );
        self.shapes.extend(other.shapes.iter().cloned());
    }

    /// Replaces user-defined function calls and named quantities by their definitions, until
    /// none is left (definitions may refer to earlier ones). Calls of primed user functions
    /// are kept (the differentiator resolves them). Cycles and runaway growth are bounded by
    /// `max_rounds` substitution rounds and `max_nodes` DAG nodes.
    pub fn expand(&self, e: &Expr, max_nodes: usize) -> Result<Expr, LimitReached> {
        let mut cur = e.clone();
        for _ in 0..32 {
            // Sized for the tree's nodes (capped), so that a small side never grows it.
            let capacity = usize::try_from(cur.tree_size().min(256)).unwrap_or(0);
            let mut memo =
                rustc_hash::FxHashMap::with_capacity_and_hasher(capacity, Default::default());
            let next = self.expand_once(&cur, &mut memo, 0)?;
            if next == cur {
                return Ok(next);
            }
            // A DAG has at most as many distinct nodes as its tree: the count is needed only
            // for a tree above the limit.
            if usize::try_from(next.tree_size()).map_or(true, |t| t > max_nodes)
                && next.dag_size() > max_nodes
            {
                return Err(LimitReached {
                    which: LimitKind::Growth,
                    at: "expanding definitions",
                });
            }
            // The pass that would find nothing left to expand, without rebuilding: it would
            // return an equal expression.
            if self.nothing_to_expand(&next) {
                return Ok(next);
            }
            cur = next;
        }
        Err(LimitReached {
            which: LimitKind::Depth,
            at: "expanding definitions (cyclic definitions?)",
        })
    }

    /// True when `expand_once(e)` would return an expression equal to `e` without error:
    /// `e` is not deeper than it may walk, and it has no quantity with a body and no call
    /// of a defined function of its arity.
    fn nothing_to_expand(&self, e: &Expr) -> bool {
        usize::try_from(e.depth()).is_ok_and(|d| d <= EXPAND_MAX_DEPTH)
            && Expr::visit_distinct(&[e], |x| match x.node() {
                Node::Sym(s) => self.quantity_body(s).is_none(),
                Node::Call(Func::User(name), args) => self
                    .function(name)
                    .is_none_or(|d| d.params.len() != args.len()),
                _ => true,
            })
    }

    fn expand_once(
        &self,
        e: &Expr,
        memo: &mut rustc_hash::FxHashMap<Expr, Expr>,
        depth: usize,
    ) -> Result<Expr, LimitReached> {
        if depth > EXPAND_MAX_DEPTH {
            return Err(LimitReached {
                which: LimitKind::Depth,
                at: "expanding definitions",
            });
        }
        if let Some(r) = memo.get(e) {
            return Ok(r.clone());
        }
        let res = match e.node() {
            Node::Sym(s) => self.quantity_body(s).unwrap_or_else(|| e.clone()),
            Node::Call(Func::User(name), args) => {
                let args = args
                    .iter()
                    .map(|a| self.expand_once(a, memo, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                match self.function(name) {
                    Some(d) if d.params.len() == args.len() => {
                        substitute(&d.body, &d.params, &args)
                    }
                    _ => Expr::apply(Func::User(name.clone()), args),
                }
            }
            _ => e.try_map_children(|c| self.expand_once(c, memo, depth + 1))?,
        };
        memo.insert(e.clone(), res.clone());
        Ok(res)
    }
}

/// Deepest node [`Program::expand`] visits: a node deeper than this is the depth limit.
pub(crate) const EXPAND_MAX_DEPTH: usize = 4096;

/// Whether a subscript slot can stand for an index's value: an index name or a number.
fn is_slot_value(w: &str) -> bool {
    crate::index::is_index_name(w) || (!w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
}

/// Simultaneous substitution of `params[i]` by `args[i]` (free occurrences only).
pub fn substitute(body: &Expr, params: &[Symbol], args: &[Expr]) -> Expr {
    // Sized for the body's nodes (capped), as in `expand`: no rehashing while it fills.
    let capacity = usize::try_from(body.tree_size().min(256)).unwrap_or(0);
    let mut memo = rustc_hash::FxHashMap::with_capacity_and_hasher(capacity, Default::default());
    subst_rec(body, params, args, &mut memo)
}

fn subst_rec(
    e: &Expr,
    params: &[Symbol],
    args: &[Expr],
    memo: &mut rustc_hash::FxHashMap<Expr, Expr>,
) -> Expr {
    if let Some(r) = memo.get(e) {
        return r.clone();
    }
    let res = match e.node() {
        Node::Sym(s) => match params.iter().position(|p| p == s) {
            Some(i) => args.get(i).cloned().unwrap_or_else(|| e.clone()),
            None => e.clone(),
        },
        Node::Sum { index, .. } if params.contains(index) => {
            // The index shadows a parameter inside the body: substitute in bounds only.
            let (ps, xs): (Vec<Symbol>, Vec<Expr>) = params
                .iter()
                .zip(args)
                .filter(|(p, _)| *p != index)
                .map(|(p, a)| (p.clone(), a.clone()))
                .unzip();
            let mut inner = rustc_hash::FxHashMap::default();
            e.map_children(|c| subst_rec(c, &ps, &xs, &mut inner))
        }
        _ => e.map_children(|c| subst_rec(c, params, args, memo)),
    };
    memo.insert(e.clone(), res.clone());
    res
}
