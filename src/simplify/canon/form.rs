//! Expression → canonical rational function over ℚ in atoms.
//!
//! Rewrites applied on the way, each an identity wherever both sides are defined:
//! - `exp-sum`: exp(a + b) = exp(a)·exp(b); `exp-neg`: exp(−a) = 1/exp(a); integer multiples
//!   exp(k·m) = exp(m)^k; `exp-log`: exp(k·log u) = u^k; `e-power`: e^x = exp(x).
//! - `log-exp`: log(c·Π exp(m_i)^k_i) = log c + Σ k_i·m_i (valid for every real m_i).
//! - `sigmoid-to-exp`: σ(u) = 1/(1 + exp(−u)); `tanh-to-exp`: tanh(u) = (exp(2u) − 1)/(exp(2u) + 1);
//!   `sinh-to-exp`, `cosh-to-exp`; `softplus-to-log`: softplus(u) = log(1 + exp(u)).
//! - Piecewise functions through the Heaviside step with H(0) = 1/2: relu(u) = u·H(u),
//!   sign(u) = 2·H(u) − 1, |u| = u·sign(u), max(a, b) = a·H(a − b) + b·H(b − a),
//!   min(a, b) = a·H(b − a) + b·H(a − b), H(−u) = 1 − H(u), H(c·u) = H(u) for c > 0.
//!   Each holds at every point, kinks included.
//! - Sums over an index (`sum-linear`, `sum-constant`, `sum-delta`, `sum-rename`, `sum-fact`)
//!   and the Kronecker delta (δ_ab = 1 or 0 when a − b is a constant): see `sums`.
//!
//! Atoms are treated as independent indeterminates. A polynomial identity in independent
//! indeterminates holds under every substitution, so equal canonical forms prove equality
//! (wherever both sides are defined). The converse does not hold: relations between atoms
//! that these rules do not know (sin² + cos² = 1) leave two equal expressions with different
//! forms, and the checker then falls back to numeric evidence, never to a guess.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rustc_hash::FxHashMap;

use super::atoms::AtomTable;
use super::poly::{Coeff, Monomial, Poly, Term};
use super::ratfunc::ArithError;
use super::ratfunc::RatFunc;
use crate::expr::{Builtin, Constant, Expr, Func, Node, Rational};
use crate::limits::{Deadline, LimitKind, LimitReached, Limits};

/// Why an expression has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    /// A limit was reached.
    #[error("{0}")]
    Limit(#[from] LimitReached),
    /// Division by an expression whose canonical form is zero.
    #[error("division by zero")]
    DivisionByZero,
    /// A node that must be resolved first (unevaluated derivative, primed call).
    #[error("unresolved {0}")]
    Unresolved(&'static str),
}

/// Builds canonical forms, sharing one atom table so forms of different expressions compare.
pub struct Canonicalizer<'a> {
    atoms: AtomTable,
    memo: FxHashMap<Expr, RatFunc>,
    /// Sums with a value stated by an assumption (`assume Σ_i y_i = 1`), by canonical atom.
    sum_facts: FxHashMap<Expr, RatFunc>,
    limits: &'a Limits,
    deadline: Deadline,
    /// Nodes built since the deadline was last checked (reading the clock costs about as much
    /// as building a small node, so it is read every `DEADLINE_EVERY` nodes).
    unchecked: u32,
}

/// Nodes between two reads of the clock.
const DEADLINE_EVERY: u32 = 32;

/// The integer constant `k` (no big integers on the way: most constants of a form are small).
fn int(k: i64) -> RatFunc {
    RatFunc::constant(Coeff::from_i64(k))
}

/// The constant ½ (H(0), and the halves of sinh and cosh).
fn half() -> RatFunc {
    RatFunc::constant(Coeff::new(1, 2).unwrap_or_else(Coeff::one))
}

impl<'a> Canonicalizer<'a> {
    /// A canonicalizer with an empty atom table.
    pub fn new(limits: &'a Limits, deadline: Deadline) -> Self {
        Canonicalizer {
            atoms: AtomTable::default(),
            memo: FxHashMap::default(),
            sum_facts: FxHashMap::default(),
            limits,
            deadline,
            // The first node reads the clock.
            unchecked: DEADLINE_EVERY - 1,
        }
    }

    /// A copy of this canonicalizer (its atoms, memo and stated sums) running to a new
    /// deadline: the copy continues exactly where this one stands, so forms it builds are the
    /// forms this one would build next (the checker keeps one per claimed derivative, taken
    /// right after the derivative's form, and continues a copy for each claim about it).
    pub fn fork(&self, deadline: Deadline) -> Self {
        Canonicalizer {
            atoms: self.atoms.clone(),
            memo: self.memo.clone(),
            sum_facts: self.sum_facts.clone(),
            limits: self.limits,
            deadline,
            // The first node reads the clock, as in a new one.
            unchecked: DEADLINE_EVERY - 1,
        }
    }

    /// The atom table (for printing canonical forms).
    pub fn atoms(&self) -> &AtomTable {
        &self.atoms
    }

    /// The limits its forms are made within.
    pub fn limits(&self) -> &'a Limits {
        self.limits
    }

    /// The canonical form of `e`, which must be free of unevaluated derivatives and primed
    /// calls (see `diff::resolve`) and of user definitions (see `Program::expand`).
    pub fn canonical(&mut self, e: &Expr) -> Result<RatFunc, CanonError> {
        self.go(e, 0)
    }

    /// Whether `a` and `b` have the same canonical form (a proof of `a = b` where both are
    /// defined). `Ok(false)` means "not proved", not "different".
    pub fn equal(&mut self, a: &Expr, b: &Expr) -> Result<bool, CanonError> {
        let ca = self.canonical(a)?;
        let cb = self.canonical(b)?;
        Ok(ca == cb)
    }

    /// The canonical form printed back as an expression.
    pub fn to_expr(&self, r: &RatFunc) -> Expr {
        self.atoms.ratfunc_to_expr(r)
    }

    pub(super) fn atom(&mut self, e: Expr) -> RatFunc {
        let v = self.atoms.var(e);
        RatFunc::from_poly(Poly::var(v))
    }

    fn constant(r: &Rational) -> RatFunc {
        RatFunc::constant(Coeff::from_rational(r))
    }

    pub(super) fn add(&self, a: &RatFunc, b: &RatFunc) -> Result<RatFunc, CanonError> {
        Ok(a.add(b, self.limits, &self.deadline)?)
    }

    pub(super) fn mul(&self, a: &RatFunc, b: &RatFunc) -> Result<RatFunc, CanonError> {
        Ok(a.mul(b, self.limits, &self.deadline)?)
    }

    pub(super) fn div(&self, a: &RatFunc, b: &RatFunc) -> Result<RatFunc, CanonError> {
        a.div(b, self.limits, &self.deadline).map_err(|e| match e {
            ArithError::DivisionByZero => CanonError::DivisionByZero,
            ArithError::Limit(l) => CanonError::Limit(l),
        })
    }

    /// The value an assumption gives the canonical sum atom `atom`, if any.
    pub(super) fn sum_fact(&self, atom: &Expr) -> Option<RatFunc> {
        self.sum_facts.get(atom).cloned()
    }

    /// Registers `sum = value` (from `assume Σ_i y_i = 1`): from now on the canonical sum of
    /// `sum` is replaced by `value` (rule `sum-fact`). Returns false, registering nothing, when
    /// the canonical form of `sum` is not a constant multiple of one sum atom.
    pub fn assume_sum(&mut self, sum: &Expr, value: &Expr) -> Result<bool, CanonError> {
        let r = self.canonical(sum)?;
        let v = self.canonical(value)?;
        let (Some(den), [(mono, coeff)]) = (r.den().constant_value(), r.num().terms()) else {
            return Ok(false);
        };
        let [(var, 1)] = mono.pairs() else {
            return Ok(false);
        };
        let Some(atom) = self.atoms.expr(*var).cloned() else {
            return Ok(false);
        };
        if !matches!(atom.node(), Node::Sum { .. }) {
            return Ok(false);
        }
        // c·S/d = v  ⇒  S = v·d/c.
        let scale = RatFunc::constant(den).div(
            &RatFunc::constant(coeff.clone()),
            self.limits,
            &self.deadline,
        );
        let Ok(scale) = scale else {
            return Ok(false);
        };
        let value = self.mul(&v, &scale)?;
        self.sum_facts.insert(atom, value);
        // Forms computed so far may hold the atom.
        self.memo.clear();
        Ok(true)
    }

    fn powi(&self, a: &RatFunc, n: i64) -> Result<RatFunc, CanonError> {
        if a.is_zero() && n < 0 {
            return Err(CanonError::DivisionByZero);
        }
        a.powi(n, self.limits, &self.deadline).map_err(|e| match e {
            ArithError::DivisionByZero => CanonError::DivisionByZero,
            ArithError::Limit(l) => CanonError::Limit(l),
        })
    }

    pub(super) fn go(&mut self, e: &Expr, depth: usize) -> Result<RatFunc, CanonError> {
        if depth > self.limits.max_depth * 16 {
            return Err(LimitReached {
                which: LimitKind::Depth,
                at: "canonical form",
            }
            .into());
        }
        // Only a shared node can be met again through the same handle (`Expr::is_shared`);
        // the others are not looked up or stored, which saves a hash lookup and a clone of
        // the form per node. Calls are the exception: a claim as parsed repeats σ(z) in
        // distinct nodes, and a call's form (its atom, its arguments' forms) costs more than
        // the lookup. The memo is keyed by value either way.
        let shared = e.is_shared() || matches!(e.node(), Node::Call(..));
        if let Some(r) = shared.then(|| self.memo.get(e)).flatten() {
            return Ok(r.clone());
        }
        self.unchecked += 1;
        if self.unchecked >= DEADLINE_EVERY {
            self.unchecked = 0;
            self.deadline.check("canonical form")?;
        }
        let res = match e.node() {
            Node::Num(r) => Self::constant(r),
            Node::Const(Constant::E) => self.exp_of(&int(1))?,
            Node::Const(Constant::Pi) => self.atom(e.clone()),
            Node::Sym(_) => self.atom(e.clone()),
            Node::Add(terms) => {
                // 0 + c is c itself: the first term starts the sum.
                let mut acc: Option<RatFunc> = None;
                for t in terms {
                    let c = self.go(t, depth + 1)?;
                    acc = Some(match acc {
                        None => c,
                        Some(a) => self.add(&a, &c)?,
                    });
                }
                acc.unwrap_or_else(RatFunc::zero)
            }
            Node::Mul(factors) => {
                // 1 · c is c itself, with the limits a product checks (`RatFunc::mul`).
                let mut acc: Option<RatFunc> = None;
                for f in factors {
                    let c = self.go(f, depth + 1)?;
                    acc = Some(match acc {
                        None => {
                            c.check_product_limits(self.limits)?;
                            c
                        }
                        Some(a) => self.mul(&a, &c)?,
                    });
                }
                acc.unwrap_or_else(RatFunc::one)
            }
            Node::Pow(base, exp) => self.pow(base, exp, depth)?,
            Node::Call(Func::Builtin(b), args) => self.call(*b, args, e, depth)?,
            Node::Call(Func::User(_), args) => {
                // An undefined function: opaque, with canonical arguments.
                let args = self.canonical_args(args, depth)?;
                let Node::Call(f, _) = e.node() else {
                    return Err(CanonError::Unresolved("call"));
                };
                self.atom(Expr::apply(f.clone(), args))
            }
            // A primed call that reaches here unresolved is the derivative of a generic
            // function (f' of a homework's rule; the checker resolves all others first):
            // opaque like the function itself. Equal atoms are equal values, so this is sound.
            Node::Call(f @ Func::Prime(_), args) if prime_of_user(f) => {
                let args = self.canonical_args(args, depth)?;
                self.atom(Expr::apply(f.clone(), args))
            }
            Node::Call(Func::Prime(_), _) => return Err(CanonError::Unresolved("primed call")),
            Node::Deriv(..) => return Err(CanonError::Unresolved("derivative")),
            Node::Delta(a, b) => {
                let (ca, cb) = (self.go(a, depth + 1)?, self.go(b, depth + 1)?);
                let diff = ca.sub(&cb, self.limits, &self.deadline)?;
                if let Some(c) = diff.constant_value() {
                    int(i64::from(c.is_zero()))
                } else {
                    let (x, y) = (self.to_expr(&ca), self.to_expr(&cb));
                    let (x, y) = if x <= y { (x, y) } else { (y, x) };
                    self.atom(Expr::new(Node::Delta(x, y)))
                }
            }
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => self.sum_of(index, lo, hi, body, depth)?,
        };
        if shared {
            self.memo.insert(e.clone(), res.clone());
        }
        Ok(res)
    }

    pub(super) fn canon_expr(&mut self, e: &Expr, depth: usize) -> Result<Expr, CanonError> {
        let c = self.go(e, depth + 1)?;
        Ok(self.to_expr(&c))
    }

    fn canonical_args(&mut self, args: &[Expr], depth: usize) -> Result<Vec<Expr>, CanonError> {
        args.iter().map(|a| self.canon_expr(a, depth)).collect()
    }

    fn pow(&mut self, base: &Expr, exp: &Expr, depth: usize) -> Result<RatFunc, CanonError> {
        if matches!(base.node(), Node::Const(Constant::E)) {
            let x = self.go(exp, depth + 1)?;
            return self.exp_of(&x);
        }
        let b = self.go(base, depth + 1)?;
        let x = self.go(exp, depth + 1)?;
        if let Some(n) = x.constant_value() {
            if n.is_integer() {
                // Every integer that fits an i64 (but i64::MIN, which is beyond any exponent
                // limit) is stored inline.
                let small = n
                    .as_small_integer()
                    .filter(|k| k.unsigned_abs() <= u64::from(self.limits.max_exponent));
                if let Some(k) = small {
                    return self.powi(&b, k);
                }
                let n = n.to_rational();
                if b.constant_value()
                    .map(|c| c.to_rational())
                    .is_some_and(|c| c.is_zero() || c.abs().is_one())
                {
                    // 0^n, 1^n, (−1)^n need no expansion.
                    let c = b
                        .constant_value()
                        .map(|c| c.to_rational())
                        .unwrap_or_else(Rational::zero);
                    let odd = n.to_integer().is_odd();
                    return Ok(int(if c.is_zero() {
                        if n.is_negative() {
                            return Err(CanonError::DivisionByZero);
                        }
                        0
                    } else if c.is_negative() && odd {
                        -1
                    } else {
                        1
                    }));
                }
                return Err(LimitReached {
                    which: LimitKind::Exponent,
                    at: "canonical form",
                }
                .into());
            }
            if b.is_one_const() {
                return Ok(int(1));
            }
        }
        // b^x with x not an integer: an atom of canonical base and exponent.
        let (be, xe) = (self.to_expr(&b), self.to_expr(&x));
        Ok(self.atom(Expr::pow(be, xe)))
    }

    fn call(
        &mut self,
        b: Builtin,
        args: &[Expr],
        e: &Expr,
        depth: usize,
    ) -> Result<RatFunc, CanonError> {
        let arg = |i: usize| args.get(i).ok_or(CanonError::Unresolved("argument"));
        Ok(match b {
            Builtin::Exp => {
                let u = self.go(arg(0)?, depth + 1)?;
                self.exp_of(&u)?
            }
            Builtin::Log => {
                let u = self.go(arg(0)?, depth + 1)?;
                self.log_of(&u)?
            }
            Builtin::Sigmoid => {
                // σ(u) = 1/(1 + exp(−u))
                let u = self.go(arg(0)?, depth + 1)?;
                let neg = u.neg();
                let ex = self.exp_of(&neg)?;
                let den = self.add(&int(1), &ex)?;
                self.powi(&den, -1)?
            }
            Builtin::Tanh => {
                // tanh(u) = (exp(2u) − 1)/(exp(2u) + 1)
                let u = self.go(arg(0)?, depth + 1)?;
                let two_u = self.mul(&int(2), &u)?;
                let ex = self.exp_of(&two_u)?;
                let num = self.add(&ex, &int(-1))?;
                let den = self.add(&ex, &int(1))?;
                let inv = self.powi(&den, -1)?;
                self.mul(&num, &inv)?
            }
            Builtin::Sinh | Builtin::Cosh => {
                // sinh(u) = (exp(u) − exp(−u))/2, cosh(u) = (exp(u) + exp(−u))/2
                let u = self.go(arg(0)?, depth + 1)?;
                let ep = self.exp_of(&u)?;
                let em = self.exp_of(&u.neg())?;
                let sign = if b == Builtin::Sinh { -1 } else { 1 };
                let em = self.mul(&em, &int(sign))?;
                let s = self.add(&ep, &em)?;
                self.mul(&s, &half())?
            }
            Builtin::Softplus => {
                // softplus(u) = log(1 + exp(u))
                let u = self.go(arg(0)?, depth + 1)?;
                let ex = self.exp_of(&u)?;
                let s = self.add(&int(1), &ex)?;
                self.log_of(&s)?
            }
            Builtin::Heaviside => {
                let u = self.go(arg(0)?, depth + 1)?;
                self.heaviside_of(&u)?
            }
            Builtin::Sign => {
                // sign(u) = 2·H(u) − 1
                let u = self.go(arg(0)?, depth + 1)?;
                self.sign_of(&u)?
            }
            Builtin::Relu => {
                // relu(u) = u·H(u)
                let u = self.go(arg(0)?, depth + 1)?;
                let h = self.heaviside_of(&u)?;
                self.mul(&u, &h)?
            }
            Builtin::Abs => {
                // |u| = u·sign(u)
                let u = self.go(arg(0)?, depth + 1)?;
                let s = self.sign_of(&u)?;
                self.mul(&u, &s)?
            }
            Builtin::Max | Builtin::Min => {
                // max(a, b) = a·H(a − b) + b·H(b − a); min swaps the steps.
                let a = self.go(arg(0)?, depth + 1)?;
                let c = self.go(arg(1)?, depth + 1)?;
                let a_minus_c = a.sub(&c, self.limits, &self.deadline)?;
                let h_ac = self.heaviside_of(&a_minus_c)?;
                let h_ca = self.heaviside_of(&a_minus_c.neg())?;
                let (ha, hc) = if b == Builtin::Max {
                    (h_ac, h_ca)
                } else {
                    (h_ca, h_ac)
                };
                let t1 = self.mul(&a, &ha)?;
                let t2 = self.mul(&c, &hc)?;
                self.add(&t1, &t2)?
            }
            Builtin::Sqrt => {
                let u = self.go(arg(0)?, depth + 1)?;
                if let Some(r) = u
                    .constant_value()
                    .map(|c| c.to_rational())
                    .and_then(|c| exact_sqrt(&c))
                {
                    Self::constant(&r)
                } else {
                    let ue = self.to_expr(&u);
                    self.atom(Expr::call(Builtin::Sqrt, vec![ue]))
                }
            }
            Builtin::Sin | Builtin::Cos | Builtin::Erf => {
                let u = self.go(arg(0)?, depth + 1)?;
                if u.is_zero() {
                    int(i64::from(b == Builtin::Cos))
                } else {
                    let ue = self.to_expr(&u);
                    let _ = e;
                    self.atom(Expr::call(b, vec![ue]))
                }
            }
        })
    }

    /// exp of a canonical form.
    fn exp_of(&mut self, u: &RatFunc) -> Result<RatFunc, CanonError> {
        if !u.den().is_one() {
            let ue = self.to_expr(u);
            return Ok(self.atom(Expr::call(Builtin::Exp, vec![ue])));
        }
        let mut acc = int(1);
        // A copy of the terms: `exp_term` adds atoms, which needs `self` mutably.
        let terms: Vec<Term> = u.num().terms().to_vec();
        for (mono, coeff) in &terms {
            let factor = self.exp_term(mono, coeff)?;
            acc = self.mul(&acc, &factor)?;
        }
        Ok(acc)
    }

    /// exp(c·m) for one monomial m with coefficient c.
    fn exp_term(&mut self, mono: &Monomial, coeff: &Coeff) -> Result<RatFunc, CanonError> {
        let k = coeff
            .as_small_integer()
            .filter(|k| k.unsigned_abs() <= u64::from(self.limits.max_exponent));
        // exp(k·log u) = u^k
        if let ([(v, 1)], Some(k)) = (mono.pairs(), k) {
            if let Some(arg) = self.atoms.log_args.get(v).cloned() {
                return self.powi(&arg, k);
            }
        }
        let mono_expr = self
            .atoms
            .poly_to_expr(&Poly::term(mono.clone(), Coeff::one()));
        match k {
            // exp(m)^k with the atom exp(m) (exp(1) = e for the constant term).
            Some(k) => {
                let a = self.atom(Expr::call(Builtin::Exp, vec![mono_expr]));
                self.powi(&a, k)
            }
            None => {
                // A non-integer multiple: split off the integer part and keep the
                // fractional multiple as its own atom, exp(m·p/q) = exp(m/q)^p.
                let coeff = coeff.to_rational();
                let (p, q) = (coeff.numer().clone(), coeff.denom().clone());
                let inner = Expr::mul(vec![
                    Expr::num(Rational::new(BigInt::from(1), q)),
                    mono_expr,
                ]);
                let p = p
                    .to_i64()
                    .filter(|p| p.unsigned_abs() <= u64::from(self.limits.max_exponent));
                let a = self.atom(Expr::call(Builtin::Exp, vec![inner]));
                match p {
                    Some(p) => self.powi(&a, p),
                    None => Err(LimitReached {
                        which: LimitKind::Exponent,
                        at: "canonical form (exp)",
                    }
                    .into()),
                }
            }
        }
    }

    /// log of a canonical form.
    fn log_of(&mut self, u: &RatFunc) -> Result<RatFunc, CanonError> {
        if u.constant_value().is_some_and(|c| c.is_one()) {
            return Ok(int(0));
        }
        // log(c · Π exp(m_i)^k_i) = log(c) + Σ k_i·m_i, when every atom of a monomial
        // numerator and denominator is an exp atom.
        if let (Some((nm, nc)), Some((dm, dc))) = (as_monomial(u.num()), as_monomial(u.den())) {
            let all_exp = nm
                .iter()
                .chain(dm.iter())
                .all(|(v, _)| self.is_exp_atom(*v));
            let c = nc / dc;
            if all_exp && c.is_positive() {
                let mut acc = if c.is_one() {
                    int(0)
                } else {
                    let ce = Expr::num(c);
                    self.log_atom(ce, None)
                };
                for (v, k, sign) in nm
                    .iter()
                    .map(|&(v, k)| (v, k, 1i64))
                    .chain(dm.iter().map(|&(v, k)| (v, k, -1i64)))
                {
                    let arg = self.exp_atom_arg(v)?;
                    let scaled = self.mul(&arg, &int(sign * i64::from(k)))?;
                    acc = self.add(&acc, &scaled)?;
                }
                return Ok(acc);
            }
        }
        let ue = self.to_expr(u);
        Ok(self.log_atom(ue, Some(u.clone())))
    }

    fn log_atom(&mut self, arg: Expr, canon: Option<RatFunc>) -> RatFunc {
        let v = self.atoms.var(Expr::call(Builtin::Log, vec![arg]));
        if let Some(c) = canon {
            self.atoms.log_args.insert(v, c);
        }
        RatFunc::from_poly(Poly::var(v))
    }

    fn is_exp_atom(&self, v: u32) -> bool {
        matches!(
            self.atoms.expr(v).map(Expr::node),
            Some(Node::Call(Func::Builtin(Builtin::Exp), _))
        )
    }

    fn exp_atom_arg(&mut self, v: u32) -> Result<RatFunc, CanonError> {
        match self.atoms.expr(v).map(|e| e.node().clone()) {
            Some(Node::Call(Func::Builtin(Builtin::Exp), args)) => match args.first() {
                Some(a) => {
                    let a = a.clone();
                    self.go(&a, 0)
                }
                None => Err(CanonError::Unresolved("exp argument")),
            },
            _ => Err(CanonError::Unresolved("exp atom")),
        }
    }

    /// H(u) with H(0) = 1/2, normalised so the argument's leading coefficient is 1:
    /// H(−u) = 1 − H(u) and H(c·u) = H(u) for c > 0.
    fn heaviside_of(&mut self, u: &RatFunc) -> Result<RatFunc, CanonError> {
        if let Some(c) = u.constant_value() {
            return Ok(if c.is_negative() {
                int(0)
            } else if c.is_zero() {
                half()
            } else {
                int(1)
            });
        }
        // den is monic, so the sign of u's leading coefficient is the numerator's when the
        // denominator is a polynomial that cannot change sign... which we cannot know. Only
        // normalise when the denominator is constant; otherwise keep the atom as it is.
        if !u.den().is_one() {
            let ue = self.to_expr(u);
            return Ok(self.atom(Expr::call(Builtin::Heaviside, vec![ue])));
        }
        let lc = u.num().leading_coeff().cloned().unwrap_or_else(Coeff::one);
        let scale = RatFunc::constant(lc.recip().unwrap_or_else(Coeff::one));
        let normalized = self.mul(u, &scale)?;
        let ue = self.to_expr(&normalized);
        let h = self.atom(Expr::call(Builtin::Heaviside, vec![ue]));
        if lc.is_negative() {
            // u = lc·n with lc < 0, so H(u) = H(−n) = 1 − H(n).
            Ok(int(1).sub(&h, self.limits, &self.deadline)?)
        } else {
            Ok(h)
        }
    }

    fn sign_of(&mut self, u: &RatFunc) -> Result<RatFunc, CanonError> {
        let h = self.heaviside_of(u)?;
        let two_h = self.mul(&h, &int(2))?;
        self.add(&two_h, &int(-1))
    }
}

/// The single term of a one-term polynomial: its variable powers and coefficient.
fn as_monomial(p: &Poly) -> Option<(Vec<(u32, u32)>, Rational)> {
    match p.terms() {
        [(m, c)] => Some((m.pairs().to_vec(), c.to_rational())),
        _ => None,
    }
}

/// The exact square root of a non-negative rational that is a perfect square.
fn exact_sqrt(c: &Rational) -> Option<Rational> {
    if c.is_negative() {
        return None;
    }
    let (n, d) = (c.numer(), c.denom());
    let (rn, rd) = (n.sqrt(), d.sqrt());
    (&rn * &rn == *n && &rd * &rd == *d).then(|| Rational::new(rn, rd))
}

trait IsOneConst {
    fn is_one_const(&self) -> bool;
}

impl IsOneConst for RatFunc {
    fn is_one_const(&self) -> bool {
        self.constant_value().is_some_and(|c| c.is_one())
    }
}

/// Whether `f` is `g'`, `g''`, … of a user function `g`.
fn prime_of_user(f: &Func) -> bool {
    match f {
        Func::Prime(inner) => matches!(**inner, Func::User(_)) || prime_of_user(inner),
        _ => false,
    }
}
