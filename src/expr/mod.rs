//! The expression model: `Expr`, a cheap handle to a shared, immutable node with a cached
//! hash, size and depth; `Node`, the enum of node kinds; exact rational constants.
//!
//! Constructors are structural: `Expr::add(vec![a, b])` builds exactly that sum and keeps the
//! user's form. Flattening, sorting and folding are explicit passes in `simplify`.
//!
//! Shared subterms are shared nodes (`Arc`), so a derivative of a deep composition is a DAG
//! whose size grows linearly. Equality first compares pointers, then cached hashes, then
//! structure. Dropping a deep expression does not recurse.
//!
//! This module knows nothing of spans, files, output formats or JSON.

mod func;
mod symbol;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use num_bigint::BigInt;

/// Recursion bound of [`Expr::replace_all`] (trees from the parser are far shallower).
const MAX_REPLACE_DEPTH: usize = 10_000;
use num_traits::{One, Signed, Zero};

pub use func::{Builtin, BuiltinInfo, Func, BUILTINS};
pub use symbol::{greek_ascii, greek_latex, greek_unicode, Symbol, GREEK};

/// Exact rational constant.
pub type Rational = num_rational::BigRational;

/// Named mathematical constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constant {
    /// Euler's number e.
    E,
    /// π.
    Pi,
}

/// One node. Children are `Expr` handles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// An exact rational number.
    Num(Rational),
    /// A named constant.
    Const(Constant),
    /// A variable or named quantity.
    Sym(Symbol),
    /// n-ary sum (n ≥ 0; the empty sum is 0).
    Add(Vec<Expr>),
    /// n-ary product (n ≥ 0; the empty product is 1).
    Mul(Vec<Expr>),
    /// base ^ exponent.
    Pow(Expr, Expr),
    /// A function call.
    Call(Func, Vec<Expr>),
    /// An unevaluated derivative d/d`var` of the body.
    Deriv(Expr, Symbol),
    /// Σ_{index = lo}^{hi} body, with `index` bound in `body`.
    Sum {
        /// The bound index.
        index: Symbol,
        /// Lower bound (inclusive).
        lo: Expr,
        /// Upper bound (inclusive).
        hi: Expr,
        /// The summand.
        body: Expr,
    },
    /// Kronecker delta δ_{ab}, also written as the indicator 1{a = b}.
    Delta(Expr, Expr),
}

struct NodeData {
    node: Node,
    hash: u64,
    /// Tree size (shared nodes counted every time), saturating.
    tree_size: u64,
    depth: u32,
    /// The [`Contains`] bits of the node and every node below it.
    contains: u32,
}

/// Kinds of node an expression has somewhere (itself, or below it through `children`),
/// found once when it is built: walks that look for one kind can stop before they start.
struct Contains;

impl Contains {
    /// A derivative, or a call of a primed or a user function.
    const DERIVATIVE_OR_CALL: u32 = 1;
    /// A symbol.
    const SYMBOL: u32 = 2;
    /// A call of a piecewise built-in.
    const PIECEWISE: u32 = 4;
    /// A call of `log` or `sqrt`.
    const LOG_OR_SQRT: u32 = 8;

    fn of(node: &Node) -> u32 {
        match node {
            Node::Deriv(..) | Node::Call(Func::Prime(_) | Func::User(_), _) => {
                Contains::DERIVATIVE_OR_CALL
            }
            Node::Sym(_) => Contains::SYMBOL,
            Node::Call(Func::Builtin(b), _) => {
                let log_or_sqrt = matches!(b, Builtin::Log | Builtin::Sqrt);
                (if log_or_sqrt {
                    Contains::LOG_OR_SQRT
                } else {
                    0
                }) | (if b.info().piecewise {
                    Contains::PIECEWISE
                } else {
                    0
                })
            }
            _ => 0,
        }
    }
}

/// A shared, immutable expression.
#[derive(Clone)]
pub struct Expr(Arc<NodeData>);

fn placeholder() -> Expr {
    static PLACEHOLDER: OnceLock<Expr> = OnceLock::new();
    PLACEHOLDER
        .get_or_init(|| Expr::new(Node::Num(Rational::zero())))
        .clone()
}

/// Below this height, a node is dropped by the ordinary (recursive) drop glue: the recursion
/// is at most this deep, and it needs no allocation.
const RECURSIVE_DROP_HEIGHT: u32 = 64;

impl Drop for Expr {
    /// Drops deep expressions without recursion: the children of a node that is about to be
    /// freed are moved to an explicit stack first. Nodes lower than `RECURSIVE_DROP_HEIGHT`
    /// are left to the drop glue, which recurses at most that deep.
    fn drop(&mut self) {
        // The height first: it needs no atomic operation, and it settles almost every drop
        // (`Arc::get_mut` is a compare-and-swap on the weak count, paid on every handle).
        if self.0.depth < RECURSIVE_DROP_HEIGHT {
            return;
        }
        let Some(data) = Arc::get_mut(&mut self.0) else {
            return;
        };
        let mut stack = Vec::new();
        take_children(&mut data.node, &mut stack);
        while let Some(mut child) = stack.pop() {
            if let Some(data) = Arc::get_mut(&mut child.0) {
                if data.depth >= RECURSIVE_DROP_HEIGHT {
                    take_children(&mut data.node, &mut stack);
                }
            }
        }
    }
}

fn take_children(node: &mut Node, out: &mut Vec<Expr>) {
    match node {
        Node::Num(_) | Node::Const(_) | Node::Sym(_) => {}
        Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => out.append(xs),
        Node::Pow(a, b) | Node::Delta(a, b) => {
            out.push(std::mem::replace(a, placeholder()));
            out.push(std::mem::replace(b, placeholder()));
        }
        Node::Deriv(a, _) => out.push(std::mem::replace(a, placeholder())),
        Node::Sum { lo, hi, body, .. } => {
            out.push(std::mem::replace(lo, placeholder()));
            out.push(std::mem::replace(hi, placeholder()));
            out.push(std::mem::replace(body, placeholder()));
        }
    }
}

impl Expr {
    /// Wraps a node, computing its hash, size and depth from its children's cached values.
    pub fn new(node: Node) -> Expr {
        let mut hasher = rustc_hash::FxHasher::default();
        std::mem::discriminant(&node).hash(&mut hasher);
        let mut tree_size: u64 = 1;
        let mut depth: u32 = 0;
        let mut contains = Contains::of(&node);
        match &node {
            Node::Num(r) => hash_rational(r, &mut hasher),
            Node::Const(c) => c.hash(&mut hasher),
            Node::Sym(s) => s.hash(&mut hasher),
            Node::Call(f, _) => f.hash(&mut hasher),
            Node::Deriv(_, v) => v.hash(&mut hasher),
            Node::Sum { index, .. } => index.hash(&mut hasher),
            Node::Add(_) | Node::Mul(_) | Node::Pow(..) | Node::Delta(..) => {}
        }
        for child in node.children() {
            hasher.write_u64(child.0.hash);
            tree_size = tree_size.saturating_add(child.0.tree_size);
            depth = depth.max(child.0.depth);
            contains |= child.0.contains;
        }
        let depth = if node.children().next().is_some() {
            depth.saturating_add(1)
        } else {
            0
        };
        Expr(Arc::new(NodeData {
            node,
            hash: hasher.finish(),
            tree_size,
            depth,
            contains,
        }))
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.0.node
    }

    /// Cached structural hash.
    pub fn hash_value(&self) -> u64 {
        self.0.hash
    }

    /// Size as a tree (shared subterms counted each time they occur), saturating at `u64::MAX`.
    pub fn tree_size(&self) -> u64 {
        self.0.tree_size
    }

    /// Height of the tree: 0 for a leaf.
    pub fn depth(&self) -> u32 {
        self.0.depth
    }

    /// Whether a derivative, or a call of a primed or a user function, occurs (as a node the
    /// walks over `children` meet).
    pub fn has_derivative_or_call(&self) -> bool {
        self.0.contains & Contains::DERIVATIVE_OR_CALL != 0
    }

    /// Whether a symbol occurs.
    pub fn has_symbol(&self) -> bool {
        self.0.contains & Contains::SYMBOL != 0
    }

    /// Whether a call of a piecewise built-in (relu, abs, sign, max, min, H) occurs.
    pub fn has_piecewise_call(&self) -> bool {
        self.0.contains & Contains::PIECEWISE != 0
    }

    /// Whether a call of `log` or `sqrt` occurs.
    pub fn has_log_or_sqrt(&self) -> bool {
        self.0.contains & Contains::LOG_OR_SQRT != 0
    }

    /// Visits each distinct subexpression of `roots` (distinct by value), a node before its
    /// children, without recursion, until `f` returns false. False when `f` stopped the walk.
    ///
    /// A large walk visits each distinct subexpression once. Roots of at most
    /// `SMALL_WALK` nodes in all (as trees) are walked as trees: a repeated subexpression is
    /// visited again where it recurs, which costs less than remembering what was seen. So `f`
    /// must not depend on how often it sees a subexpression (every caller collects distinct
    /// values or tests a property); the order in which subexpressions are first seen is the
    /// same either way.
    pub fn visit_distinct<'e>(roots: &[&'e Expr], mut f: impl FnMut(&'e Expr) -> bool) -> bool {
        let size = tree_size_of(roots);
        let small = size <= SMALL_WALK;
        let mut stack: Vec<&'e Expr> =
            Vec::with_capacity(usize::try_from(size.min(SMALL_WALK)).unwrap_or(0));
        stack.extend_from_slice(roots);
        // No set for a small walk (see above).
        let mut seen = (!small).then(|| walk_set(roots));
        while let Some(x) = stack.pop() {
            if seen.as_mut().is_some_and(|seen| !seen.insert(x)) {
                continue;
            }
            if !f(x) {
                return false;
            }
            stack.extend(x.node().children());
        }
        true
    }

    /// Number of distinct nodes (as a DAG), computed without recursion.
    pub fn dag_size(&self) -> usize {
        let mut seen = walk_set(&[self]);
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if seen.insert(Arc::as_ptr(&e.0) as usize) {
                stack.extend(e.node().children());
            }
        }
        seen.len()
    }

    /// True when other handles point at this node too. A node that is not shared has exactly
    /// one parent in any DAG it is part of, so a walk meets it once and need not memoise it.
    /// (Another thread may clone it meanwhile; that only costs a memo entry.)
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }

    /// True when both handles point at the same node.
    pub fn ptr_eq(&self, other: &Expr) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    // ---- structural constructors -------------------------------------------------------

    /// An exact rational.
    pub fn num(r: Rational) -> Expr {
        Expr::new(Node::Num(r))
    }

    /// An integer.
    pub fn int(i: i64) -> Expr {
        Expr::num(Rational::from_integer(BigInt::from(i)))
    }

    /// The fraction `n/d`; `d = 0` gives 0/1 never, so callers pass `d ≠ 0` (it is clamped to 1).
    pub fn frac(n: i64, d: i64) -> Expr {
        let d = if d == 0 { 1 } else { d };
        Expr::num(Rational::new(BigInt::from(n), BigInt::from(d)))
    }

    /// 0 (one shared node: passes build many zeros and ones).
    pub fn zero() -> Expr {
        static ZERO: OnceLock<Expr> = OnceLock::new();
        ZERO.get_or_init(|| Expr::int(0)).clone()
    }

    /// 1 (one shared node).
    pub fn one() -> Expr {
        static ONE: OnceLock<Expr> = OnceLock::new();
        ONE.get_or_init(|| Expr::int(1)).clone()
    }

    /// A symbol.
    pub fn sym(s: Symbol) -> Expr {
        Expr::new(Node::Sym(s))
    }

    /// A symbol by name, without subscript.
    pub fn var(name: &str) -> Expr {
        Expr::sym(Symbol::new(name))
    }

    /// A named constant.
    pub fn constant(c: Constant) -> Expr {
        Expr::new(Node::Const(c))
    }

    /// n-ary sum.
    pub fn add(terms: Vec<Expr>) -> Expr {
        Expr::new(Node::Add(terms))
    }

    /// n-ary product.
    pub fn mul(factors: Vec<Expr>) -> Expr {
        Expr::new(Node::Mul(factors))
    }

    /// base ^ exponent.
    pub fn pow(base: Expr, exp: Expr) -> Expr {
        Expr::new(Node::Pow(base, exp))
    }

    /// −a, as the product (−1)·a.
    #[allow(clippy::should_implement_trait)] // structural, not arithmetic: no operator sugar
    pub fn neg(a: Expr) -> Expr {
        Expr::mul(vec![Expr::int(-1), a])
    }

    /// a − b, as a + (−1)·b.
    #[allow(clippy::should_implement_trait)] // structural, not arithmetic: no operator sugar
    pub fn sub(a: Expr, b: Expr) -> Expr {
        Expr::add(vec![a, Expr::neg(b)])
    }

    /// a / b, as a·b^(−1).
    #[allow(clippy::should_implement_trait)] // structural, not arithmetic: no operator sugar
    pub fn div(a: Expr, b: Expr) -> Expr {
        Expr::mul(vec![a, Expr::pow(b, Expr::int(-1))])
    }

    /// A call of a built-in.
    pub fn call(b: Builtin, args: Vec<Expr>) -> Expr {
        Expr::new(Node::Call(Func::Builtin(b), args))
    }

    /// A call of any function.
    pub fn apply(f: Func, args: Vec<Expr>) -> Expr {
        Expr::new(Node::Call(f, args))
    }

    /// An unevaluated derivative.
    pub fn deriv(body: Expr, var: Symbol) -> Expr {
        Expr::new(Node::Deriv(body, var))
    }

    // ---- queries -----------------------------------------------------------------------

    /// The rational value, if this is a number.
    pub fn as_num(&self) -> Option<&Rational> {
        match self.node() {
            Node::Num(r) => Some(r),
            _ => None,
        }
    }

    /// The symbol, if this is one.
    pub fn as_sym(&self) -> Option<&Symbol> {
        match self.node() {
            Node::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// True for the number 0.
    pub fn is_zero(&self) -> bool {
        self.as_num().is_some_and(Zero::is_zero)
    }

    /// True for the number 1.
    pub fn is_one(&self) -> bool {
        self.as_num().is_some_and(One::is_one)
    }

    /// True for a negative number.
    pub fn is_negative_num(&self) -> bool {
        self.as_num().is_some_and(Signed::is_negative)
    }

    /// Whether `s` occurs free in the expression (not as the bound index of a sum).
    pub fn contains_sym(&self, s: &Symbol) -> bool {
        let mut stack = vec![self];
        let mut seen = walk_set(&[self]);
        while let Some(e) = stack.pop() {
            if !seen.insert(Arc::as_ptr(&e.0) as usize) {
                continue;
            }
            match e.node() {
                Node::Sym(t) if t == s => return true,
                Node::Sum {
                    index,
                    lo,
                    hi,
                    body,
                } => {
                    stack.push(lo);
                    stack.push(hi);
                    if index != s {
                        stack.push(body);
                    }
                }
                Node::Deriv(body, v) => {
                    // d/dv f depends on v (it is evaluated at v), and on what f depends on.
                    if v == s {
                        return true;
                    }
                    stack.push(body);
                }
                n => stack.extend(n.children()),
            }
        }
        false
    }

    /// All free symbols, sorted and deduplicated.
    pub fn free_symbols(&self) -> Vec<Symbol> {
        let mut out = Vec::new();
        let mut stack = vec![(self, Vec::<Symbol>::new())];
        // A small tree is walked as a tree (see `visit_distinct`): the list is sorted and
        // deduplicated below either way.
        let mut seen = (self.tree_size() > SMALL_WALK).then(|| walk_set(&[self]));
        while let Some((e, bound)) = stack.pop() {
            let met =
                |seen: &mut rustc_hash::FxHashSet<usize>| !seen.insert(Arc::as_ptr(&e.0) as usize);
            if bound.is_empty() && seen.as_mut().is_some_and(met) {
                continue;
            }
            match e.node() {
                Node::Sym(t) => {
                    if !bound.contains(t) {
                        out.push(t.clone());
                    }
                }
                Node::Sum {
                    index,
                    lo,
                    hi,
                    body,
                } => {
                    stack.push((lo, bound.clone()));
                    stack.push((hi, bound.clone()));
                    let mut inner = bound.clone();
                    inner.push(index.clone());
                    stack.push((body, inner));
                }
                n => {
                    for c in n.children() {
                        stack.push((c, bound.clone()));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// `self` with every occurrence of a key of `table` replaced by its value (outermost
    /// first: a replaced subterm is not searched further). Shared subterms are visited once;
    /// deeper than `MAX_REPLACE_DEPTH` the expression is kept as it is.
    pub fn replace_all(&self, table: &rustc_hash::FxHashMap<Expr, Expr>) -> Expr {
        fn go(
            e: &Expr,
            table: &rustc_hash::FxHashMap<Expr, Expr>,
            memo: &mut rustc_hash::FxHashMap<Expr, Expr>,
            depth: usize,
        ) -> Expr {
            if let Some(v) = table.get(e) {
                return v.clone();
            }
            if depth > MAX_REPLACE_DEPTH {
                return e.clone();
            }
            // Only a node with several owners can be met twice.
            let shared = e.is_shared();
            if let Some(r) = shared.then(|| memo.get(e)).flatten() {
                return r.clone();
            }
            let r = e.map_children(|c| go(c, table, memo, depth + 1));
            if shared {
                memo.insert(e.clone(), r.clone());
            }
            r
        }
        if table.is_empty() {
            return self.clone();
        }
        go(self, table, &mut rustc_hash::FxHashMap::default(), 0)
    }

    /// `map_children` with a fallible `f`: the first error stops the mapping (the remaining
    /// children are left as they are) and is returned.
    pub fn try_map_children<E>(
        &self,
        mut f: impl FnMut(&Expr) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        let mut err = None;
        let r = self.map_children(|c| {
            if err.is_some() {
                return c.clone();
            }
            match f(c) {
                Ok(x) => x,
                Err(e) => {
                    err = Some(e);
                    c.clone()
                }
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(r),
        }
    }

    /// Replaces children bottom-up with `f` applied to each child, rebuilding only where
    /// something changed. Used by passes that are not recursive by nature.
    pub fn map_children(&self, mut f: impl FnMut(&Expr) -> Expr) -> Expr {
        let changed = |old: &Expr, new: &Expr| !old.ptr_eq(new);
        match self.node() {
            Node::Num(_) | Node::Const(_) | Node::Sym(_) => self.clone(),
            Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => {
                // The new children are collected only from the first one that changed, so an
                // unchanged node (the common case) allocates nothing.
                let mut new: Option<Vec<Expr>> = None;
                for (i, x) in xs.iter().enumerate() {
                    let y = f(x);
                    match &mut new {
                        Some(v) => v.push(y),
                        None if changed(x, &y) => {
                            let mut v = Vec::with_capacity(xs.len());
                            v.extend(xs.iter().take(i).cloned());
                            v.push(y);
                            new = Some(v);
                        }
                        None => {}
                    }
                }
                let Some(new) = new else {
                    return self.clone();
                };
                match self.node() {
                    Node::Add(_) => Expr::add(new),
                    Node::Mul(_) => Expr::mul(new),
                    Node::Call(func, _) => Expr::apply(func.clone(), new),
                    _ => self.clone(),
                }
            }
            Node::Pow(a, b) => {
                let (na, nb) = (f(a), f(b));
                if !changed(a, &na) && !changed(b, &nb) {
                    return self.clone();
                }
                Expr::pow(na, nb)
            }
            Node::Delta(a, b) => {
                let (na, nb) = (f(a), f(b));
                if !changed(a, &na) && !changed(b, &nb) {
                    return self.clone();
                }
                Expr::new(Node::Delta(na, nb))
            }
            Node::Deriv(a, v) => {
                let na = f(a);
                if !changed(a, &na) {
                    return self.clone();
                }
                Expr::deriv(na, v.clone())
            }
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => {
                let (nl, nh, nb) = (f(lo), f(hi), f(body));
                if !changed(lo, &nl) && !changed(hi, &nh) && !changed(body, &nb) {
                    return self.clone();
                }
                Expr::new(Node::Sum {
                    index: index.clone(),
                    lo: nl,
                    hi: nh,
                    body: nb,
                })
            }
        }
    }
}

/// Feeds `state` exactly what `Ratio`'s own `Hash` feeds it (the terms of the continued
/// fraction of n/d, then the final zero), with the divisions on machine integers when n and d
/// fit: the same hash values, so the same sample points and orders, without a big-integer
/// division per term.
fn hash_rational<H: Hasher>(r: &Rational, state: &mut H) {
    use num_integer::Integer;
    use num_traits::ToPrimitive;
    // Most numbers fit in 64 bits, where each step is one machine division rather than a
    // call of the 128-bit division routine: the same terms.
    if let (Some(mut n), Some(mut d)) = (r.numer().to_i64(), r.denom().to_i64()) {
        while d != 0 {
            let (q, rem) = n.div_mod_floor(&d);
            BigInt::from(q).hash(state);
            (n, d) = (d, rem);
        }
        BigInt::from(0).hash(state);
        return;
    }
    let (Some(mut n), Some(mut d)) = (r.numer().to_i128(), r.denom().to_i128()) else {
        r.hash(state);
        return;
    };
    // d > 0 on entry and the floor remainder keeps the divisor's sign, so no division
    // overflows; each step shrinks d, so the loop ends.
    while d != 0 {
        let (q, rem) = n.div_mod_floor(&d);
        BigInt::from(q).hash(state);
        (n, d) = (d, rem);
    }
    BigInt::from(0).hash(state);
}

/// The seen-set of a walk over `roots`, sized for their distinct nodes (at most their tree
/// size, capped at `WALK_SET_CAPACITY`) so that small walks never grow it.
fn walk_set<T>(roots: &[&Expr]) -> rustc_hash::FxHashSet<T> {
    let size = tree_size_of(roots);
    let capacity = usize::try_from(size.min(WALK_SET_CAPACITY)).unwrap_or(0);
    rustc_hash::FxHashSet::with_capacity_and_hasher(capacity, Default::default())
}

/// The nodes of `roots` as trees, in all (saturating).
fn tree_size_of(roots: &[&Expr]) -> u64 {
    roots
        .iter()
        .map(|e| e.tree_size())
        .fold(0u64, u64::saturating_add)
}

/// Most nodes (as trees, in all) that [`Expr::visit_distinct`] and [`Expr::free_symbols`]
/// walk as trees, without a set of what they have seen.
const SMALL_WALK: u64 = 64;

/// Largest capacity [`walk_set`] reserves before the walk.
const WALK_SET_CAPACITY: u64 = 256;

impl Node {
    /// The children in order.
    pub fn children(&self) -> Children<'_> {
        match self {
            Node::Num(_) | Node::Const(_) | Node::Sym(_) => Children::Slice([].iter()),
            Node::Add(xs) | Node::Mul(xs) | Node::Call(_, xs) => Children::Slice(xs.iter()),
            Node::Pow(a, b) | Node::Delta(a, b) => Children::Fixed([Some(a), Some(b), None], 0),
            Node::Deriv(a, _) => Children::Fixed([Some(a), None, None], 0),
            Node::Sum { lo, hi, body, .. } => Children::Fixed([Some(lo), Some(hi), Some(body)], 0),
        }
    }

    /// Rank of the node kind in the total order of expressions.
    fn rank(&self) -> u8 {
        match self {
            Node::Num(_) => 0,
            Node::Const(_) => 1,
            Node::Sym(_) => 2,
            Node::Pow(..) => 3,
            Node::Mul(_) => 4,
            Node::Add(_) => 5,
            Node::Call(..) => 6,
            Node::Delta(..) => 7,
            Node::Sum { .. } => 8,
            Node::Deriv(..) => 9,
        }
    }
}

/// The children of a node in order ([`Node::children`]): its list, or its up to three fixed
/// operands.
///
/// A type of its own rather than a chain of iterators so that its length is exact: the walks
/// of this crate push children onto a stack with `Vec::extend`, which then reserves once
/// instead of growing child by child (about 3 % of the instructions of a checked claim,
/// benches/RESULTS.md, round 17).
#[derive(Debug, Clone)]
pub enum Children<'a> {
    /// The operands of a sum, product or call.
    Slice(std::slice::Iter<'a, Expr>),
    /// The fixed operands, the `None`s last, and the index of the next one.
    Fixed([Option<&'a Expr>; 3], usize),
}

impl<'a> Iterator for Children<'a> {
    type Item = &'a Expr;

    #[inline]
    fn next(&mut self) -> Option<&'a Expr> {
        match self {
            Children::Slice(xs) => xs.next(),
            Children::Fixed(xs, at) => {
                let x = xs.get(*at).copied().flatten()?;
                *at += 1;
                Some(x)
            }
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Children<'_> {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Children::Slice(xs) => xs.len(),
            Children::Fixed(xs, at) => xs
                .get(*at..)
                .map_or(0, |rest| rest.iter().filter(|x| x.is_some()).count()),
        }
    }
}

impl std::iter::FusedIterator for Children<'_> {}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.ptr_eq(other)
            || (self.0.hash == other.0.hash
                && match (&self.0.node, &other.0.node) {
                    (Node::Num(x), Node::Num(y)) => eq_rational(x, y),
                    (a, b) => a == b,
                })
    }
}

impl Eq for Expr {}

impl Hash for Expr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

/// The one total order of expressions: numbers, constants, symbols (by name, then subscript),
/// then compound nodes by kind and children. Every printer and the canonical form use it, which
/// makes output deterministic.
impl Ord for Expr {
    fn cmp(&self, other: &Expr) -> Ordering {
        if self.ptr_eq(other) {
            return Ordering::Equal;
        }
        let (a, b) = (self.node(), other.node());
        a.rank().cmp(&b.rank()).then_with(|| match (a, b) {
            (Node::Num(x), Node::Num(y)) => cmp_rational(x, y),
            (Node::Const(x), Node::Const(y)) => x.cmp(y),
            (Node::Sym(x), Node::Sym(y)) => x.cmp(y),
            (Node::Call(f, xs), Node::Call(g, ys)) => f.cmp(g).then_with(|| xs.cmp(ys)),
            (Node::Deriv(x, v), Node::Deriv(y, w)) => v.cmp(w).then_with(|| x.cmp(y)),
            (Node::Sum { index: i, .. }, Node::Sum { index: j, .. }) => {
                i.cmp(j).then_with(|| a.children().cmp(b.children()))
            }
            _ => a.children().cmp(b.children()),
        })
    }
}

/// `x.cmp(y)`, by cross-multiplying in `i128` when both fit in `i64` with a positive
/// denominator (the same order: n/d < m/e ⇔ n·e < m·d for d, e > 0, and the products cannot
/// overflow); `Ratio`'s own comparison, which divides big integers term by term, otherwise.
pub(crate) fn cmp_rational(x: &Rational, y: &Rational) -> Ordering {
    use num_traits::ToPrimitive;
    if let (Some(n), Some(d), Some(m), Some(e)) = (
        x.numer().to_i64(),
        x.denom().to_i64(),
        y.numer().to_i64(),
        y.denom().to_i64(),
    ) {
        if d > 0 && e > 0 {
            return (i128::from(n) * i128::from(e)).cmp(&(i128::from(m) * i128::from(d)));
        }
    }
    x.cmp(y)
}

/// `x == y` (`Ratio`'s equality is its comparison), by [`cmp_rational`].
pub(crate) fn eq_rational(x: &Rational, y: &Rational) -> bool {
    cmp_rational(x, y) == Ordering::Equal
}

impl PartialOrd for Expr {
    fn partial_cmp(&self, other: &Expr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node() {
            Node::Num(r) => write!(f, "{r}"),
            Node::Const(c) => write!(f, "{c:?}"),
            Node::Sym(s) => write!(f, "{s}"),
            Node::Add(xs) => f.debug_tuple("Add").field(xs).finish(),
            Node::Mul(xs) => f.debug_tuple("Mul").field(xs).finish(),
            Node::Pow(a, b) => f.debug_tuple("Pow").field(a).field(b).finish(),
            Node::Call(func, xs) => write!(f, "{func}{xs:?}"),
            Node::Deriv(a, v) => f.debug_tuple("Deriv").field(a).field(v).finish(),
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => f
                .debug_struct("Sum")
                .field("index", index)
                .field("lo", lo)
                .field("hi", hi)
                .field("body", body)
                .finish(),
            Node::Delta(a, b) => f.debug_tuple("Delta").field(a).field(b).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_as_ratio_does() {
        // Small and large numerators and denominators, both signs, both sides of the i64
        // limit (past it the comparison is Ratio's own).
        let big = BigInt::from(i64::MAX);
        let ints = [
            BigInt::from(0),
            BigInt::from(1),
            BigInt::from(-1),
            BigInt::from(7),
            BigInt::from(-12),
            BigInt::from(i64::MIN),
            big.clone(),
            &big + BigInt::from(1),
            -(&big + BigInt::from(2)),
        ];
        let dens = [
            BigInt::from(1),
            BigInt::from(3),
            BigInt::from(10),
            big.clone(),
            &big + BigInt::from(5),
        ];
        let mut rs = Vec::new();
        for n in &ints {
            for d in &dens {
                rs.push(Rational::new(n.clone(), d.clone()));
            }
        }
        for x in &rs {
            for y in &rs {
                assert_eq!(cmp_rational(x, y), x.cmp(y), "{x} against {y}");
                assert_eq!(eq_rational(x, y), x == y, "{x} against {y}");
                assert_eq!(Expr::num(x.clone()) == Expr::num(y.clone()), x == y);
                assert_eq!(Expr::num(x.clone()).cmp(&Expr::num(y.clone())), x.cmp(y));
            }
        }
    }

    #[test]
    fn equal_structure_is_equal() {
        let a = Expr::add(vec![Expr::var("x"), Expr::int(1)]);
        let b = Expr::add(vec![Expr::var("x"), Expr::int(1)]);
        assert_eq!(a, b);
        assert_eq!(a.hash_value(), b.hash_value());
        assert_ne!(a, Expr::add(vec![Expr::int(1), Expr::var("x")]));
    }
    /// Every kind of node gives its children in order, with an exact length at each step.
    #[test]
    fn children_in_order_with_exact_length() {
        let (x, y, k) = (Expr::var("x"), Expr::var("y"), Expr::var("k"));
        let nodes = [
            (Node::Num(Rational::from_integer(3.into())), vec![]),
            (Node::Sym(Symbol::new("x")), vec![]),
            (
                Node::Add(vec![x.clone(), y.clone(), k.clone()]),
                vec![&x, &y, &k],
            ),
            (Node::Mul(vec![]), vec![]),
            (
                Node::Call(Func::Builtin(Builtin::Tanh), vec![y.clone()]),
                vec![&y],
            ),
            (Node::Pow(x.clone(), y.clone()), vec![&x, &y]),
            (Node::Delta(y.clone(), x.clone()), vec![&y, &x]),
            (Node::Deriv(y.clone(), Symbol::new("x")), vec![&y]),
            (
                Node::Sum {
                    index: Symbol::new("k"),
                    lo: x.clone(),
                    hi: y.clone(),
                    body: k.clone(),
                },
                vec![&x, &y, &k],
            ),
        ];
        for (node, want) in &nodes {
            let mut it = node.children();
            let mut got = Vec::new();
            assert_eq!(it.len(), want.len(), "{node:?}");
            while let Some(c) = it.next() {
                got.push(c);
                assert_eq!(
                    it.size_hint(),
                    (want.len() - got.len(), Some(want.len() - got.len()))
                );
            }
            assert_eq!(&got, want, "{node:?}");
            assert!(it.next().is_none(), "fused: {node:?}");
        }
    }

    #[test]
    fn a_number_hashes_as_ratio_does() {
        use std::hash::BuildHasher;
        let build = rustc_hash::FxBuildHasher;
        let big = num_bigint::BigInt::from(10).pow(40);
        let mut values: Vec<Rational> = Vec::new();
        for (n, d) in [
            (0, 1),
            (1, 1),
            (-1, 1),
            (7, 3),
            (-7, 3),
            (1, 1000),
            (-355, 113),
        ] {
            values.push(Rational::new(n.into(), d.into()));
        }
        values.push(Rational::new(i64::MAX.into(), (i64::MAX - 1).into()));
        values.push(Rational::new(i64::MIN.into(), 3.into()));
        values.push(Rational::new(big.clone() + 1, big.clone()));
        values.push(Rational::new(-big.clone(), 7.into()));
        // Beyond 64 bits but within 128.
        let wide = num_bigint::BigInt::from(10).pow(20);
        values.push(Rational::new(wide.clone() + 1, 3.into()));
        values.push(Rational::new((-wide.clone()) * 7, wide.clone() + 3));
        values.push(Rational::new(i64::MIN.into(), 1.into()));
        for r in values {
            let mut ours = build.build_hasher();
            hash_rational(&r, &mut ours);
            assert_eq!(ours.finish(), build.hash_one(&r), "{r}");
        }
    }

    #[test]
    fn greek_spellings_are_one_symbol() {
        assert_eq!(Symbol::new("η"), Symbol::new("eta"));
    }

    #[test]
    fn deep_expression_drops_without_overflow() {
        let mut e = Expr::var("x");
        for _ in 0..1_000_000 {
            e = Expr::call(Builtin::Exp, vec![e]);
        }
        assert_eq!(e.depth(), 1_000_000);
        drop(e);
    }

    /// The distinct subexpressions in the order the walk with a set of seen ones meets them.
    fn first_seen_by_set(roots: &[&Expr]) -> Vec<Expr> {
        let mut seen = rustc_hash::FxHashSet::default();
        let mut out = Vec::new();
        let mut stack: Vec<&Expr> = roots.to_vec();
        while let Some(x) = stack.pop() {
            if seen.insert(x.clone()) {
                out.push(x.clone());
                stack.extend(x.node().children());
            }
        }
        out
    }

    #[test]
    fn the_kinds_an_expression_contains_are_those_a_walk_meets() {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        let walk =
            |e: &Expr, kind: fn(&Node) -> bool| !Expr::visit_distinct(&[e], |x| !kind(x.node()));
        let terms: Vec<String> = (1..30).map(|k| format!("{k}*z^{k}")).collect();
        let long = format!("({})*log(1 + relu(z))", terms.join(" + "));
        for text in [
            "3",
            "pi",
            "z",
            "sigma(z)*(1 - sigma(z))",
            "d/dz tanh(z)",
            "f(z) + 1",
            "sigma'(z) + 1",
            "sqrt(z) + abs(z)",
            "max(0, z)*log(1/2)",
            "sum(i, 1, 3, x_i*sqrt(i))",
            "heaviside(z - 3)*exp(-z)",
            long.as_str(),
        ] {
            let e = parse(text);
            assert_eq!(
                e.has_derivative_or_call(),
                walk(&e, |n| matches!(
                    n,
                    Node::Deriv(..) | Node::Call(Func::Prime(_) | Func::User(_), _)
                )),
                "{text}"
            );
            assert_eq!(
                e.has_symbol(),
                walk(&e, |n| matches!(n, Node::Sym(_))),
                "{text}"
            );
            assert_eq!(
                e.has_piecewise_call(),
                walk(
                    &e,
                    |n| matches!(n, Node::Call(Func::Builtin(b), _) if b.info().piecewise)
                ),
                "{text}"
            );
            assert_eq!(
                e.has_log_or_sqrt(),
                walk(&e, |n| matches!(
                    n,
                    Node::Call(Func::Builtin(Builtin::Log | Builtin::Sqrt), _)
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn small_and_large_walks_meet_subexpressions_in_one_order() {
        let z = Expr::var("z");
        let s = Expr::call(Builtin::Sigmoid, vec![z.clone()]);
        let one_minus = Expr::add(vec![Expr::int(1), Expr::neg(s.clone())]);
        // σ(z)·(1 − σ(z)) + σ(z), with a copy of σ(z) built apart (equal by value only).
        let apart = Expr::call(Builtin::Sigmoid, vec![Expr::var("z")]);
        let small = Expr::add(vec![Expr::mul(vec![s.clone(), one_minus]), apart]);
        assert!(small.tree_size() <= SMALL_WALK);
        // A sum of many such terms is past the small walk.
        let large = Expr::add(
            (1..40)
                .map(|k| Expr::mul(vec![Expr::int(k), small.clone(), z.clone()]))
                .collect(),
        );
        assert!(large.tree_size() > SMALL_WALK);
        for roots in [vec![&small], vec![&large], vec![&small, &z, &small]] {
            let mut met: Vec<Expr> = Vec::new();
            assert!(Expr::visit_distinct(&roots, |x| {
                if !met.contains(x) {
                    met.push(x.clone());
                }
                true
            }));
            assert_eq!(met, first_seen_by_set(&roots));
            // Stopped at the first σ call met, after the same subexpressions.
            let mut before: Vec<Expr> = Vec::new();
            let finished = Expr::visit_distinct(&roots, |x| {
                if matches!(x.node(), Node::Call(..)) {
                    return false;
                }
                if !before.contains(x) {
                    before.push(x.clone());
                }
                true
            });
            assert!(!finished);
            let order = first_seen_by_set(&roots);
            let stop = order
                .iter()
                .position(|x| matches!(x.node(), Node::Call(..)));
            assert_eq!(Some(before.len()), stop);
            assert_eq!(before.as_slice(), &order[..before.len()]);
        }
        assert_eq!(small.free_symbols(), vec![Symbol::new("z")]);
        assert_eq!(large.free_symbols(), vec![Symbol::new("z")]);
    }

    #[test]
    fn shared_nodes_keep_dag_small() {
        let mut e = Expr::var("x");
        for _ in 0..64 {
            e = Expr::mul(vec![e.clone(), e]);
        }
        assert_eq!(e.dag_size(), 65);
        assert_eq!(e.tree_size(), u64::MAX);
    }

    #[test]
    fn free_symbols_skip_bound_index() {
        let body = Expr::sym(Symbol::with_sub("x", Some("j")));
        let j = Symbol::new("j");
        let s = Expr::new(Node::Sum {
            index: j.clone(),
            lo: Expr::int(1),
            hi: Expr::var("C"),
            body,
        });
        assert!(!s.contains_sym(&j));
        assert_eq!(
            s.free_symbols(),
            vec![Symbol::new("C"), Symbol::with_sub("x", Some("j"))]
        );
    }
}
