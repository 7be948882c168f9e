//! Symbolic differentiation over the whole expression language.
//!
//! `diff(e, var, ctx)` returns the derivative, the piecewise kinks it passed (where the result
//! is not valid: "relu is not differentiable at z = 0"), and optionally a trace of named rules
//! for `--steps`. Results are built with light local simplification (no `0·x`, no `1·x`), and
//! each distinct subterm is differentiated once (memo per shared node), so the derivative of a
//! deep composition is a DAG whose size grows linearly with the depth.
//!
//! Deliberately not here: canonical forms and readable rewriting (`simplify`). Named
//! quantities (`let A = σ(Z)`) are differentiated through their definitions but kept as
//! symbols in the result, so results read in the user's names.

mod rules;

pub use rules::{builtin_rule, sigmoid_prime, BuiltinRule};

use rustc_hash::FxHashMap;

use crate::expr::{Builtin, Expr, Func, Node, Symbol};
use crate::limits::{LimitKind, LimitReached, Limits};
use crate::program::{substitute, Program};

/// What `diff` needs besides the expression: the definitions in scope and the limits.
pub struct DiffCtx<'a> {
    /// Definitions (functions, declared derivatives, quantities).
    pub program: &'a Program,
    /// User functions that were verified equal to a built-in (`let σ(z) = 1/(1+exp(-z))`);
    /// they are differentiated with the built-in's rule and keep the user's name.
    pub aliases: FxHashMap<std::sync::Arc<str>, Builtin>,
    /// Limits on depth and growth.
    pub limits: &'a Limits,
    /// Record the rules applied (for `--steps`).
    pub trace: bool,
}

impl<'a> DiffCtx<'a> {
    /// A context without aliases and without trace.
    pub fn new(program: &'a Program, limits: &'a Limits) -> Self {
        DiffCtx {
            program,
            aliases: FxHashMap::default(),
            limits,
            trace: false,
        }
    }
}

/// A point where a piecewise function is not differentiable: `at` vanishes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kink {
    /// The function (`relu`, `abs`, `max`, ...).
    pub func: &'static str,
    /// An expression that is zero exactly at the kink (`z` for relu(z); `a − b` for max).
    pub at: Expr,
}

/// One application of a named rule.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    /// Stable rule name (`d-product`, `d-chain`, `d-sigmoid`, ...).
    pub rule: &'static str,
    /// The expression differentiated.
    pub input: Expr,
    /// Its derivative (before simplification).
    pub output: Expr,
}

/// The result of `diff`.
#[derive(Debug, Clone)]
pub struct Derivative {
    /// The derivative (lightly simplified, in the user's names).
    pub expr: Expr,
    /// Kinks passed on the way.
    pub kinks: Vec<Kink>,
    /// Rules applied, innermost first (empty unless `DiffCtx::trace`).
    pub trace: Vec<TraceEntry>,
}

/// Why differentiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// A limit was reached.
    #[error("{0}")]
    Limit(#[from] LimitReached),
    /// A function without a definition or rule.
    #[error("cannot differentiate `{0}`: no definition or derivative rule")]
    UnknownFunction(String),
    /// Differentiation with respect to a bound index or an expression that is not a symbol.
    #[error("cannot differentiate: {0}")]
    Unsupported(String),
}

/// d`e`/d`var`.
pub fn diff(e: &Expr, var: &Symbol, ctx: &DiffCtx) -> Result<Derivative, DiffError> {
    // Sized like `resolve`'s memo: one entry per distinct node of `e` at most.
    let capacity = usize::try_from(e.tree_size().min(256)).unwrap_or(0);
    let mut d = Differ {
        ctx,
        var,
        memo: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
        dep: FxHashMap::default(),
        kinks: Vec::new(),
        trace: Vec::new(),
    };
    let res = d.d(e, 0)?;
    // The DAG is never larger than the tree (whose size is cached), so the walk that counts
    // distinct nodes is needed only when the tree is over the limit.
    let max = ctx.limits.max_growth;
    if usize::try_from(res.tree_size()).map_or(true, |t| t > max) && res.dag_size() > max {
        return Err(LimitReached {
            which: LimitKind::Growth,
            at: "differentiation",
        }
        .into());
    }
    Ok(Derivative {
        expr: res,
        kinks: d.kinks,
        trace: d.trace,
    })
}

/// Replaces every unevaluated derivative (`Node::Deriv`) and every primed call (`σ'(z)`) by its
/// value, innermost first. The result contains neither.
pub fn resolve(e: &Expr, ctx: &DiffCtx) -> Result<(Expr, Vec<Kink>), DiffError> {
    // The memo is sized for the tree's nodes (capped), so that a small expression never
    // rehashes it while it fills: most resolved expressions are claims' sides of a few dozen
    // nodes, and growing the table from empty was a third of the walk.
    let capacity = usize::try_from(e.tree_size().min(256)).unwrap_or(0);
    let mut r = Resolver {
        ctx,
        memo: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
        kinks: Vec::new(),
    };
    let res = r.go(e, 0)?;
    Ok((res, r.kinks))
}

struct Resolver<'a, 'b> {
    ctx: &'a DiffCtx<'b>,
    memo: FxHashMap<Expr, Expr>,
    kinks: Vec<Kink>,
}

impl Resolver<'_, '_> {
    fn go(&mut self, e: &Expr, depth: usize) -> Result<Expr, DiffError> {
        if depth > self.ctx.limits.max_depth * 16 {
            return Err(depth_limit("resolving derivatives"));
        }
        if let Some(r) = self.memo.get(e) {
            return Ok(r.clone());
        }
        let inner = e.try_map_children(|c| self.go(c, depth + 1))?;
        let res = match inner.node() {
            Node::Deriv(body, var) => {
                let d = diff(body, var, self.ctx)?;
                push_kinks(&mut self.kinks, d.kinks);
                d.expr
            }
            Node::Call(f @ Func::Prime(_), args) => {
                let (v, kinks) = prime_value(f, args, self.ctx)?;
                push_kinks(&mut self.kinks, kinks);
                v
            }
            _ => inner,
        };
        self.memo.insert(e.clone(), res.clone());
        Ok(res)
    }
}

fn push_kinks(into: &mut Vec<Kink>, from: Vec<Kink>) {
    for k in from {
        if !into.contains(&k) {
            into.push(k);
        }
    }
}

/// The value of `f'(args)` (any number of primes) as an expression without primes.
fn prime_value(f: &Func, args: &[Expr], ctx: &DiffCtx) -> Result<(Expr, Vec<Kink>), DiffError> {
    let Func::Prime(inner) = f else {
        return Ok((Expr::apply(f.clone(), args.to_vec()), Vec::new()));
    };
    if unknown_base(f, ctx.program).is_some() {
        // The derivative of a generic function is an unknown of its own.
        return Ok((Expr::apply(f.clone(), args.to_vec()), Vec::new()));
    }
    let [arg] = args else {
        return Err(DiffError::Unsupported(format!("`{f}` takes one argument")));
    };
    // f'(u) = d/dt f(t) at t = u, with a parameter t that does not occur in u.
    let t = fresh_symbol(arg);
    let (value, mut kinks) = match &**inner {
        Func::User(name) => match ctx.program.declared_derivative(name) {
            Some(decl) if decl.params.len() == 1 => {
                (substitute(&decl.body, &decl.params, args), Vec::new())
            }
            _ => {
                let d = diff(
                    &Expr::apply((**inner).clone(), vec![Expr::sym(t.clone())]),
                    &t,
                    ctx,
                )?;
                (substitute(&d.expr, std::slice::from_ref(&t), args), d.kinks)
            }
        },
        _ => {
            let d = diff(
                &Expr::apply((**inner).clone(), vec![Expr::sym(t.clone())]),
                &t,
                ctx,
            )?;
            (substitute(&d.expr, std::slice::from_ref(&t), args), d.kinks)
        }
    };
    for k in &mut kinks {
        k.at = substitute(&k.at, std::slice::from_ref(&t), args);
    }
    // The value may itself contain primes (f'' through a declared f'): resolve them too.
    let (value, more) = resolve(&value, ctx)?;
    push_kinks(&mut kinks, more);
    Ok((value, kinks))
}

fn fresh_symbol(avoid: &Expr) -> Symbol {
    let mut i = 0usize;
    loop {
        let s = Symbol::with_sub("t", Some(&format!("arg{i}")));
        if !avoid.contains_sym(&s) {
            return s;
        }
        i += 1;
    }
}

fn depth_limit(at: &'static str) -> DiffError {
    DiffError::Limit(LimitReached {
        which: LimitKind::Depth,
        at,
    })
}

struct Differ<'a, 'b> {
    ctx: &'a DiffCtx<'b>,
    var: &'a Symbol,
    memo: FxHashMap<Expr, Expr>,
    dep: FxHashMap<Expr, bool>,
    kinks: Vec<Kink>,
    trace: Vec<TraceEntry>,
}

impl Differ<'_, '_> {
    /// Whether `e` depends on the variable, through quantities and user functions too.
    fn depends(&mut self, e: &Expr, depth: usize) -> Result<bool, DiffError> {
        if depth > self.ctx.limits.max_depth * 16 {
            return Err(depth_limit("dependency analysis"));
        }
        if let Some(&b) = self.dep.get(e) {
            return Ok(b);
        }
        let res = match e.node() {
            Node::Num(_) | Node::Const(_) => false,
            Node::Sym(s) => {
                if crate::index::symbol_derivative(s, self.var).is_some() {
                    true
                } else if let Some(body) = self.ctx.program.quantity_body(s) {
                    // Guard against `let x = x + 1` style cycles through the depth bound.
                    self.depends(&body, depth + 1)?
                } else if let Some(dep) = self.ctx.program.dependence(s) {
                    // E depends on what its family z_k (k free) depends on.
                    let family = Expr::sym(dep.family.clone());
                    self.depends(&family, depth + 1)?
                } else {
                    false
                }
            }
            Node::Call(Func::User(name), args) => {
                let mut any = false;
                for a in args {
                    if self.depends(a, depth + 1)? {
                        any = true;
                        break;
                    }
                }
                if !any {
                    // The body may mention free symbols besides its parameters.
                    if let Some(def) = self.ctx.program.function(name) {
                        let body = def.body.clone();
                        let params = def.params.clone();
                        if !params.contains(self.var) {
                            any = self.depends(&body, depth + 1)?;
                        }
                    }
                }
                any
            }
            Node::Sum { index, .. } if index == self.var => false,
            n => {
                let mut any = false;
                for c in n.children() {
                    if self.depends(c, depth + 1)? {
                        any = true;
                        break;
                    }
                }
                any
            }
        };
        self.dep.insert(e.clone(), res);
        Ok(res)
    }

    fn record(&mut self, rule: &'static str, input: &Expr, output: &Expr) {
        if self.ctx.trace {
            self.trace.push(TraceEntry {
                rule,
                input: input.clone(),
                output: output.clone(),
            });
        }
    }

    fn add_kink(&mut self, func: &'static str, at: Expr) {
        let k = Kink { func, at };
        if !self.kinks.contains(&k) {
            self.kinks.push(k);
        }
    }

    fn d(&mut self, e: &Expr, depth: usize) -> Result<Expr, DiffError> {
        if depth > self.ctx.limits.max_depth * 16 {
            return Err(depth_limit("differentiation"));
        }
        if let Some(r) = self.memo.get(e) {
            return Ok(r.clone());
        }
        let res = if !self.depends(e, depth)? {
            Expr::zero()
        } else {
            self.d_node(e, depth)?
        };
        self.memo.insert(e.clone(), res.clone());
        Ok(res)
    }

    fn d_node(&mut self, e: &Expr, depth: usize) -> Result<Expr, DiffError> {
        let res = match e.node() {
            Node::Num(_) | Node::Const(_) => Expr::zero(),
            Node::Sym(s) => {
                if let Some(d) = crate::index::symbol_derivative(s, self.var) {
                    // ∂x/∂x = 1; ∂x_i/∂x_k = δ_{ik} for entries of one indexed family.
                    if !d.is_one() {
                        self.record("d-index-delta", e, &d);
                    }
                    d
                } else if let Some(body) = self.ctx.program.quantity_body(s) {
                    // d A/dz through A's definition; the result keeps A's name where the
                    // definition's value reappears (refolded later by `simplify`).
                    let r = self.d(&body, depth + 1)?;
                    self.record("d-definition", e, &r);
                    r
                } else if let Some(dep) = self.ctx.program.dependence(s) {
                    self.d_dependence(e, dep, depth)?
                } else {
                    Expr::zero()
                }
            }
            Node::Add(terms) => {
                let mut out = Vec::with_capacity(terms.len());
                for t in terms {
                    out.push(self.d(t, depth + 1)?);
                }
                let r = add_s(out);
                self.record("d-sum", e, &r);
                r
            }
            Node::Mul(factors) => {
                // Product rule: Σ_i f_i' · Π_{j≠i} f_j, skipping constant factors.
                let mut terms = Vec::new();
                for (i, f) in factors.iter().enumerate() {
                    let df = self.d(f, depth + 1)?;
                    if df.is_zero() {
                        continue;
                    }
                    let mut prod = Vec::with_capacity(factors.len());
                    for (j, g) in factors.iter().enumerate() {
                        if i == j {
                            prod.push(df.clone());
                        } else {
                            prod.push(g.clone());
                        }
                    }
                    terms.push(mul_s(prod));
                }
                let r = add_s(terms);
                let rule = if factors.iter().filter(|f| f.as_num().is_none()).count() > 1 {
                    "d-product"
                } else {
                    "d-constant-multiple"
                };
                self.record(rule, e, &r);
                r
            }
            Node::Pow(base, exp) => self.d_pow(e, base, exp, depth)?,
            Node::Call(func, args) => self.d_call(e, func, args, depth)?,
            Node::Deriv(body, v) => {
                // d/dz (d/dv f): evaluate the inner derivative first.
                let inner = diff(body, v, self.ctx)?;
                for k in inner.kinks {
                    if !self.kinks.contains(&k) {
                        self.kinks.push(k);
                    }
                }
                self.d(&inner.expr, depth + 1)?
            }
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => {
                if self.depends(lo, depth + 1)? || self.depends(hi, depth + 1)? {
                    return Err(DiffError::Unsupported(
                        "a sum whose bounds depend on the variable".into(),
                    ));
                }
                // ∂/∂w_{oi} of Σ_i w_{oi}·h_i: the variable's own index i is free, so the bound
                // i is renamed first (Σ_j w_{oj}·h_j), giving Σ_j δ_{ij}·h_j = h_i.
                let var_indices = crate::index::symbol_indices(self.var);
                let (index, body) = if var_indices.iter().any(|v| v == index.name()) {
                    let fresh = crate::index::fresh_index(|c| {
                        var_indices.iter().any(|v| v == c) || crate::index::mentions(body, c)
                    });
                    let renamed = crate::index::subst_index(
                        body,
                        index.name(),
                        &crate::index::IndexValue::Name(fresh.clone()),
                    );
                    (Symbol::new(&fresh), renamed)
                } else {
                    (index.clone(), body.clone())
                };
                let db = self.d(&body, depth + 1)?;
                let r = if db.is_zero() {
                    Expr::zero()
                } else {
                    Expr::new(Node::Sum {
                        index,
                        lo: lo.clone(),
                        hi: hi.clone(),
                        body: db,
                    })
                };
                self.record("d-sum-over-index", e, &r);
                r
            }
            Node::Delta(..) => Expr::zero(),
        };
        Ok(res)
    }

    /// Rule `d-given-dependence`: for `assume ∂E/∂z_k = δ_k for k = lo..hi` (E an unknown
    /// function of z_lo, …, z_hi), ∂E/∂x = Σ_{k=lo}^{hi} δ_k·∂z_k/∂x. The sum's index is the
    /// stated one unless the variable uses it (∂E/∂z_k: then a fresh one, giving
    /// Σ_j δ_j·δ_{jk} = δ_k).
    fn d_dependence(
        &mut self,
        e: &Expr,
        dep: &crate::program::Dependence,
        depth: usize,
    ) -> Result<Expr, DiffError> {
        let k = dep.index.name();
        let var_indices = crate::index::symbol_indices(self.var);
        let mut family = Expr::sym(dep.family.clone());
        let mut partial = Expr::sym(dep.partial.clone());
        let index = if var_indices.iter().any(|v| v == k) {
            let others = [&dep.family, &dep.partial];
            let fresh = crate::index::fresh_index(|c| {
                var_indices.iter().any(|v| v == c)
                    || others
                        .iter()
                        .any(|s| crate::index::symbol_indices(s).iter().any(|x| x == c))
            });
            let value = crate::index::IndexValue::Name(fresh.clone());
            family = crate::index::subst_index(&family, k, &value);
            partial = crate::index::subst_index(&partial, k, &value);
            Symbol::new(&fresh)
        } else {
            dep.index.clone()
        };
        let inner = self.d(&family, depth + 1)?;
        let r = if inner.is_zero() {
            Expr::zero()
        } else {
            Expr::new(Node::Sum {
                index,
                lo: dep.lo.clone(),
                hi: dep.hi.clone(),
                body: mul_s(vec![partial, inner]),
            })
        };
        self.record("d-given-dependence", e, &r);
        Ok(r)
    }

    fn d_pow(
        &mut self,
        e: &Expr,
        base: &Expr,
        exp: &Expr,
        depth: usize,
    ) -> Result<Expr, DiffError> {
        let base_dep = self.depends(base, depth + 1)?;
        let exp_dep = self.depends(exp, depth + 1)?;
        if matches!(base.node(), Node::Const(crate::expr::Constant::E)) {
            // d/dz e^u = e^u · u'
            let du = self.d(exp, depth + 1)?;
            let r = mul_s(vec![Expr::call(Builtin::Exp, vec![exp.clone()]), du]);
            self.record("d-exp", e, &r);
            return Ok(r);
        }
        let r = match (base_dep, exp_dep) {
            (false, false) => Expr::zero(),
            (true, false) => {
                // d/dz b^n = n · b^(n−1) · b'
                let db = self.d(base, depth + 1)?;
                let n_minus_1 = match exp.as_num() {
                    Some(n) => Expr::num(n - crate::expr::Rational::from_integer(1.into())),
                    None => add_s(vec![exp.clone(), Expr::int(-1)]),
                };
                let power = if n_minus_1.is_one() {
                    base.clone()
                } else if n_minus_1.is_zero() {
                    Expr::one()
                } else {
                    Expr::pow(base.clone(), n_minus_1)
                };
                let r = mul_s(vec![exp.clone(), power, db]);
                self.record("d-power", e, &r);
                return Ok(r);
            }
            (false, true) => {
                // d/dz b^u = b^u · log(b) · u'
                let du = self.d(exp, depth + 1)?;
                let r = mul_s(vec![
                    e.clone(),
                    Expr::call(Builtin::Log, vec![base.clone()]),
                    du,
                ]);
                self.record("d-exponential", e, &r);
                return Ok(r);
            }
            (true, true) => {
                // d/dz b^u = b^u · (u' · log(b) + u · b'/b)
                let db = self.d(base, depth + 1)?;
                let du = self.d(exp, depth + 1)?;
                let r = mul_s(vec![
                    e.clone(),
                    add_s(vec![
                        mul_s(vec![du, Expr::call(Builtin::Log, vec![base.clone()])]),
                        mul_s(vec![
                            exp.clone(),
                            db,
                            Expr::pow(base.clone(), Expr::int(-1)),
                        ]),
                    ]),
                ]);
                self.record("d-general-power", e, &r);
                return Ok(r);
            }
        };
        Ok(r)
    }

    fn d_call(
        &mut self,
        e: &Expr,
        func: &Func,
        args: &[Expr],
        depth: usize,
    ) -> Result<Expr, DiffError> {
        let builtin = match func {
            Func::Builtin(b) => Some(*b),
            Func::User(name) => self.ctx.aliases.get(name).copied(),
            Func::Prime(_) => None,
        };
        if let Some(b) = builtin {
            // The rule is stated for the built-in; for an alias, the user's function is put
            // back in place of the built-in so the result reads in the user's names.
            let Some(rule) = builtin_rule(b, args) else {
                return Err(DiffError::Unsupported(format!(
                    "`{func}` called with {} arguments",
                    args.len()
                )));
            };
            let user_name = match func {
                Func::User(name) => Some(name.clone()),
                _ => None,
            };
            let rename = |x: Expr| match &user_name {
                Some(name) => rename_builtin(&x, b, name),
                None => x,
            };
            for k in &rule.kinks {
                self.add_kink(b.name(), rename(k.clone()));
            }
            let mut terms = Vec::with_capacity(args.len());
            for (a, partial) in args.iter().zip(rule.partials) {
                let da = self.d(a, depth + 1)?;
                if da.is_zero() || partial.is_zero() {
                    continue;
                }
                terms.push(mul_s(vec![rename(partial), da]));
            }
            let r = add_s(terms);
            let chain = args.iter().any(|a| a.as_sym() != Some(self.var));
            self.record(rule.name, e, &r);
            if chain {
                self.record("d-chain", e, &r);
            }
            return Ok(r);
        }
        if let (Some(_), [arg]) = (unknown_base(func, self.ctx.program), args) {
            // d/dx f(u) = f'(u)·u' for a generic f (and f'' for f', …): f' stays an unknown.
            let fprime = Expr::apply(Func::Prime(Box::new(func.clone())), args.to_vec());
            let da = self.d(arg, depth + 1)?;
            let r = mul_s(vec![fprime, da]);
            self.record("d-unknown-function", e, &r);
            return Ok(r);
        }
        match func {
            Func::User(name) => {
                if let (Some(decl), [arg]) = (self.ctx.program.declared_derivative(name), args) {
                    if decl.params.len() == 1 {
                        // f'(u) · u' with the declared f'.
                        let fprime =
                            Expr::apply(Func::Prime(Box::new(func.clone())), args.to_vec());
                        let da = self.d(arg, depth + 1)?;
                        let r = mul_s(vec![fprime, da]);
                        self.record("d-declared", e, &r);
                        return Ok(r);
                    }
                }
                let Some(def) = self.ctx.program.function(name) else {
                    return Err(DiffError::UnknownFunction(name.to_string()));
                };
                if def.params.len() != args.len() {
                    return Err(DiffError::Unsupported(format!(
                        "`{name}` takes {} arguments, called with {}",
                        def.params.len(),
                        args.len()
                    )));
                }
                let body = substitute(&def.body, &def.params, args);
                let r = self.d(&body, depth + 1)?;
                self.record("d-definition", e, &r);
                Ok(r)
            }
            Func::Prime(_) => {
                let (value, kinks) = prime_value(func, args, self.ctx)?;
                for k in kinks {
                    if !self.kinks.contains(&k) {
                        self.kinks.push(k);
                    }
                }
                self.d(&value, depth + 1)
            }
            Func::Builtin(_) => Err(DiffError::UnknownFunction(func.to_string())),
        }
    }
}

/// Whether `f` is a generic function (`DefKind::Unknown`) or a derivative of one: its calls
/// are unknowns that `resolve` leaves in place.
pub fn is_generic(f: &Func, program: &crate::program::Program) -> bool {
    unknown_base(f, program).is_some()
}

/// The generic function under the primes of `f` (`f` of `f''`), when it is one
/// (`DefKind::Unknown`).
fn unknown_base<'f>(f: &'f Func, program: &crate::program::Program) -> Option<&'f str> {
    match f {
        Func::User(name) if program.is_unknown_function(name) => Some(name),
        Func::Prime(inner) => unknown_base(inner, program),
        _ => None,
    }
}

/// Replaces calls of built-in `b` by calls of the user's alias `name`.
fn rename_builtin(e: &Expr, b: Builtin, name: &std::sync::Arc<str>) -> Expr {
    let mut memo: FxHashMap<Expr, Expr> = FxHashMap::default();
    rename_rec(e, b, name, &mut memo)
}

fn rename_rec(
    e: &Expr,
    b: Builtin,
    name: &std::sync::Arc<str>,
    memo: &mut FxHashMap<Expr, Expr>,
) -> Expr {
    if let Some(r) = memo.get(e) {
        return r.clone();
    }
    let inner = e.map_children(|c| rename_rec(c, b, name, memo));
    let res = match inner.node() {
        Node::Call(Func::Builtin(c), args) if *c == b => {
            Expr::apply(Func::User(name.clone()), args.clone())
        }
        _ => inner,
    };
    memo.insert(e.clone(), res.clone());
    res
}

/// A sum without zero terms (0 if none, the term itself if one).
pub fn add_s(terms: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = terms.into_iter().filter(|t| !t.is_zero()).collect();
    match out.len() {
        0 => Expr::zero(),
        1 => out.pop().unwrap_or_else(Expr::zero),
        _ => Expr::add(out),
    }
}

/// A product without unit factors, 0 if any factor is 0, numeric factors multiplied into one
/// leading coefficient, nested products flattened one level.
pub fn mul_s(factors: Vec<Expr>) -> Expr {
    // Rational products reduce by a gcd; a unit factor needs none.
    fn times(coeff: &mut crate::expr::Rational, r: &crate::expr::Rational) {
        if num_traits::One::is_one(coeff) {
            coeff.clone_from(r);
        } else if !num_traits::One::is_one(r) {
            *coeff *= r;
        }
    }
    let mut coeff = crate::expr::Rational::from_integer(1.into());
    let mut rest = Vec::with_capacity(factors.len());
    for f in factors {
        match f.node() {
            Node::Num(r) => times(&mut coeff, r),
            Node::Mul(inner) => {
                for g in inner {
                    match g.node() {
                        Node::Num(r) => times(&mut coeff, r),
                        _ => rest.push(g.clone()),
                    }
                }
            }
            _ => rest.push(f),
        }
    }
    if num_traits::Zero::is_zero(&coeff) {
        return Expr::zero();
    }
    if !num_traits::One::is_one(&coeff) || rest.is_empty() {
        rest.insert(0, Expr::num(coeff));
    }
    match rest.len() {
        1 => rest.pop().unwrap_or_else(Expr::one),
        _ => Expr::mul(rest),
    }
}
