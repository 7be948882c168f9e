//! Case analysis over the Heaviside atoms of a canonical difference.
//!
//! Canonical forms write every piecewise built-in through the step H with H(0) = ½ (relu,
//! abs, sign, max, min), and treat each H(u) as an independent atom. Two sides whose forms
//! differ may still be equal — relu'(z) against (1 + sign(z))/2, say, is fine, but
//! H(z)·H(−z) = ¼·[z = 0] is not an identity of independent atoms — or may differ only on a
//! sliver that random sampling never hits (H(z) against H(z − 1/1000)). This module decides
//! what it can by cases:
//!
//! - Every H(u) takes one of the values 0, ½, 1 at every point. If the difference of the two
//!   canonical forms becomes the zero rational function under each of the 3^k assignments,
//!   the sides are equal wherever both are defined: a proof, feasible cases or not.
//! - When every u is linear in one and the same symbol s (u = a·s + b: relu(z), hardtanh,
//!   max(z, 1/1000)), the feasible assignments are exactly those met at the roots −b/a, between
//!   consecutive roots and beyond the outer ones; those points are the `seeds` for sampling,
//!   so no interval between kinks goes untested, and if the difference vanishes under every
//!   feasible assignment the sides are proved equal.
//! - When the arguments are piecewise linear in one symbol (nested steps: hardsigmoid's
//!   H(3 − |z|), relu6's H(6 − max(0, z))), the feasible assignments are those of the places
//!   between the exact cuts of [`Pieces`] (each cut, each open interval between two, beyond
//!   the ends), each found exactly at one point of its place; the cuts hold every root of
//!   every argument and every kink of the steps inside it, so every point lies in one place
//!   and the same proof applies. Otherwise every one of the 3^k assignments must vanish.
//! - A case whose difference is a nonzero constant c, met at a sample point, means the sides
//!   differ there by exactly c even if f64 cannot see it (exp(z) against exp(z) + H(z − 50));
//!   the checker then refuses numeric evidence. The case of each sample point is needed for
//!   that: for linear atoms it is read from the roots; when the arguments are piecewise
//!   linear in one symbol (nested steps such as H(z·H(z) − 6)), from the
//!   places between the exact points where some atom can change value, found once
//!   (`Pieces`); otherwise each argument is evaluated at the point.
//!
//! At most `MAX_ATOMS` atoms are split on (3^5 = 243 cases); beyond that nothing is decided
//! here and the checker samples as before.

use num_traits::{One, Signed, Zero};
use rustc_hash::FxHashMap;

use crate::eval::{eval_interval_in, exact_value, point_intervals};
use crate::expr::{Builtin, Expr, Func, Node, Rational, Symbol};
use crate::limits::Limits;
use crate::simplify::canon::atoms::AtomTable;
use crate::simplify::canon::poly::{Coeff, Monomial, Poly, Var};
use crate::simplify::canon::ratfunc::RatFunc;
use crate::simplify::canon::{CanonError, Canonicalizer};

/// Most H atoms split on.
const MAX_ATOMS: usize = 5;

/// What the case analysis found about `left − right`.
#[derive(Debug, Default)]
pub(crate) struct Cases {
    /// The H(u) atoms split on (empty: nothing to split on, or too many).
    pub atoms: Vec<Expr>,
    /// The difference vanishes in every case that can occur: the sides are equal.
    pub proved: bool,
    /// Values of one symbol that visit every feasible case (univariate linear atoms only).
    pub seeds: Vec<(Symbol, Rational)>,
    /// Cases in which the difference is a nonzero constant: (the atoms' values, the constant).
    /// Filled only by `analyse` (tests); the checker asks [`Cases::gap_in`] case by case.
    #[cfg(test)]
    pub constant_gaps: Vec<(Vec<Rational>, Rational)>,
    /// The cases put in canonical form so far (as [`Digit`]s), with their constant gap if
    /// any: those `split` put in canonical form (successfully), then those
    /// [`Cases::gap_in`] was asked for.
    seen: Vec<(Vec<Digit>, Option<Rational>)>,
    /// Every case that can occur (as [`Digit`]s), when known: with `linear` atoms found by
    /// `split_undecided` (one per root and per interval), with piecewise linear ones by
    /// [`Cases::find_feasible_places`] (one per place between the [`Pieces`] cuts). Every
    /// point's case is one of them. Empty: not known (every case must then vanish).
    feasible: Vec<Vec<Digit>>,
    /// The difference as an expression (the cases substitute into it).
    diff: Option<Expr>,
    /// The difference's canonical form, in the table of the canonicalizer that `decide` is
    /// given (a case whose substitution into it vanishes needs no canonical form).
    form: Option<RatFunc>,
    /// The atoms' arguments, when all are linear in one symbol.
    linear: Option<Linear>,
    /// Per atom (when not `linear`): whether its argument is built only from numbers,
    /// symbols, sums, products, small integer powers and H (see `rational_in_steps`), decided
    /// once rather than at every point.
    in_steps: Vec<bool>,
    /// When the atoms are not `linear` but each argument is piecewise linear in one symbol
    /// (see [`Pieces`]): the places where a case can change, found once at the first point
    /// asked about. `None`: not tried yet; `Some(None)`: the arguments are not of that kind.
    pieces: Option<Option<Pieces>>,
}

/// Splits `diff` (the canonical `left − right`, not zero) on its H atoms, and finds every
/// case in which the difference is a nonzero constant.
#[cfg(test)]
pub(crate) fn analyse(canon: &mut Canonicalizer, diff: &RatFunc, _limits: &Limits) -> Cases {
    let mut cases = split(canon, diff);
    cases.find_constant_gaps(canon);
    cases
}

/// Splits `diff` (the canonical `left − right`, not zero) on its H atoms and decides whether
/// it vanishes in every case that can occur: [`split_undecided`], then [`Cases::decide`].
/// `constant_gaps` is left empty: the checker needs it only when the samples agree, and
/// calls [`Cases::find_constant_gaps`] then.
#[cfg(test)]
pub(crate) fn split(canon: &mut Canonicalizer, diff: &RatFunc) -> Cases {
    let mut cases = split_undecided(canon, diff);
    let limits = Limits::default();
    cases.find_feasible_places(
        &limits,
        &mut FxHashMap::default(),
        &crate::limits::Deadline::never(),
    );
    cases.decide(canon);
    cases
}

/// The first half of [`split`]: the H atoms of `diff` (the canonical `left − right`, not
/// zero), with univariate linear atoms their roots and the `seeds` between them, and the
/// feasible cases; no case is put in canonical form yet, and `proved` is false until
/// [`Cases::decide`]. The checker samples with the seeds first: a counterexample among them
/// settles the claim (a proof by cases and a counterexample cannot both exist), and then the
/// cases are never needed.
pub(crate) fn split_undecided(canon: &mut Canonicalizer, diff: &RatFunc) -> Cases {
    let expr = canon.to_expr(diff);
    let atoms = heaviside_atoms(&expr);
    if atoms.is_empty() || atoms.len() > MAX_ATOMS {
        return Cases::default();
    }
    let linear = linear_args(canon, &atoms);
    let feasible: Vec<Vec<Digit>> = match &linear {
        Some(lin) => {
            let mut seen: Vec<Vec<Digit>> = Vec::new();
            for t in probe_points(&lin.roots()) {
                let a: Vec<Digit> = lin
                    .assignment_at(&t)
                    .iter()
                    .map(step_digit_of_value)
                    .collect();
                if !seen.contains(&a) {
                    seen.push(a);
                }
            }
            seen
        }
        None => Vec::new(),
    };
    let seeds = match &linear {
        Some(lin) => interval_points(&lin.roots())
            .into_iter()
            .map(|t| (lin.symbol.clone(), t))
            .collect(),
        None => Vec::new(),
    };
    let in_steps = match &linear {
        Some(_) => Vec::new(),
        None => atoms
            .iter()
            .map(|a| heaviside_arg(a).is_some_and(rational_in_steps))
            .collect(),
    };
    Cases {
        atoms,
        proved: false,
        seeds,
        #[cfg(test)]
        constant_gaps: Vec::new(),
        seen: Vec::new(),
        feasible,
        diff: Some(expr),
        form: Some(diff.clone()),
        linear,
        in_steps,
        pieces: None,
    }
}

/// The argument at whose zero a piecewise built-in switches, when `x` is a call of one:
/// `u` of H(u), sign(u), relu(u) and |u|, `a − c` of max(a, c) and min(a, c) (see
/// [`switch_seeds`]).
pub(crate) fn switch_argument(x: &Expr) -> Option<Expr> {
    let Node::Call(Func::Builtin(b), a) = x.node() else {
        return None;
    };
    if !b.info().piecewise {
        return None;
    }
    match (b, a.as_slice()) {
        (Builtin::Max | Builtin::Min, [p, q]) => {
            Some(Expr::add(vec![p.clone(), Expr::neg(q.clone())]))
        }
        (_, [u]) => Some(u.clone()),
        _ => None,
    }
}

/// The distinct [`switch_argument`]s of `sides`.
pub(crate) fn switch_arguments(sides: &[&Expr]) -> Vec<Expr> {
    let mut args: Vec<Expr> = Vec::new();
    Expr::visit_distinct(sides, |x| {
        if let Some(u) = switch_argument(x) {
            if !args.contains(&u) {
                args.push(u);
            }
        }
        true
    });
    args
}

/// Seeds for the first points of a piecewise claim, found from its prepared sides'
/// [`switch_arguments`] (`args`, in `symbols`) without canonical forms, so that a wrong
/// claim is refuted before any form is made: the places where its piecewise built-ins switch (H(u), sign(u), relu(u) and |u| at u = 0, max(a, c) and
/// min(a, c) at a = c), each argument linear in one symbol, and the [`interval_points`]
/// between them. These are the seeds [`split_undecided`] finds whenever the atoms of the
/// canonical difference switch at the same places (the usual case: an atom that cancels in
/// the difference is the exception), so the sample, and the counterexample it reports, are
/// then the same. Empty, as there, when an argument is not linear in the one symbol (or holds
/// a piecewise call itself). Only where to sample first: any point is checked like any other,
/// so the seeds need no proof; linearity is tested exactly at s = 0, 1, 2 and the root
/// checked exactly.
pub(crate) fn switch_seeds(
    args: &[&Expr],
    symbols: &[Symbol],
    limits: &Limits,
) -> Vec<(Symbol, Rational)> {
    // A piecewise call inside an argument (one walk over all of them).
    let nested = !Expr::visit_distinct(
        args,
        |y| !matches!(y.node(), Node::Call(Func::Builtin(c), _) if c.info().piecewise),
    );
    if nested {
        return Vec::new();
    }
    let ints: Vec<Rational> = (0..3).map(|k| Rational::from_integer(k.into())).collect();
    let mut symbol: Option<Symbol> = None;
    let mut roots: Vec<Rational> = Vec::new();
    for u in args {
        // With one symbol in the sides every argument is in that one or constant (a constant
        // argument evaluates to one number at every point, and its step is a number).
        let s = match symbols {
            [] => return Vec::new(),
            [s] => s.clone(),
            _ => match u.free_symbols().as_slice() {
                [] => continue,
                [s] if symbol.as_ref().is_none_or(|t| t == s) => s.clone(),
                _ => return Vec::new(),
            },
        };
        let at = |t: &Rational| exact_value(u, &|x: &Symbol| (*x == s).then(|| t.clone()), limits);
        let Some(values) = ints.iter().map(at).collect::<Option<Vec<Rational>>>() else {
            return Vec::new();
        };
        let [u0, u1, u2] = values.as_slice() else {
            return Vec::new();
        };
        let slope = u1 - u0;
        if u2 - u1 != slope {
            return Vec::new();
        }
        if slope.is_zero() {
            continue;
        }
        let root = -u0 / &slope;
        if !at(&root).is_some_and(|v| v.is_zero()) {
            return Vec::new();
        }
        symbol = Some(s);
        roots.push(root);
    }
    let Some(symbol) = symbol else {
        return Vec::new();
    };
    roots.sort();
    roots.dedup();
    interval_points(&roots)
        .into_iter()
        .map(|t| (symbol.clone(), t))
        .collect()
}

/// Whether the canonical form `form` (`N/D` over the variables of `table`) of a difference
/// vanishes in the case where the step atoms `atoms` take the values `values`: every atom that
/// is a variable of the form is replaced by its value, and the numerator then has no term left
/// while the denominator keeps one. This is a proof for the case. The form equals the
/// difference wherever the sides are defined, with each atom standing for its value there. In
/// the case, the steps take these values. A numerator that is zero as a polynomial in the
/// other variables is zero whatever values the other atoms take, including the ones they take
/// in the case (an atom that holds a step, such as exp(z·H(z)), is one of them). False when
/// this does not decide: the numerator keeps a term (a case may still vanish once put in
/// canonical form, when other atoms simplify with the steps' values), the denominator
/// vanishes, or no step atom is a variable of the form.
fn vanishes_in_form(
    table: &AtomTable,
    form: &RatFunc,
    atoms: &[Expr],
    values: &[Rational],
    limits: &Limits,
) -> bool {
    let replaced: Vec<(Var, Coeff)> = atoms
        .iter()
        .zip(values)
        .filter_map(|(a, v)| Some((table.lookup(a)?, Coeff::from_rational(v))))
        .collect();
    if replaced.is_empty() {
        return false;
    }
    // The polynomial with the atoms replaced, term by term: Σ c·Π value^k · (the rest).
    let substituted = |p: &Poly| -> Option<FxHashMap<Monomial, Coeff>> {
        let mut out: FxHashMap<Monomial, Coeff> = FxHashMap::default();
        for (m, c) in p.terms() {
            let mut c = c.clone();
            let mut rest = Vec::with_capacity(m.pairs().len());
            for &(v, k) in m.pairs() {
                match replaced.iter().find(|(w, _)| *w == v) {
                    // The steps' values are 0, ½ and 1: ½^k is the only power computed, within
                    // the digit limit (past it the case is left to its canonical form).
                    Some((_, value)) if value.is_zero() => c = Coeff::zero(),
                    Some((_, value)) if value.is_one() => {}
                    Some((_, value)) => c = &c * &value.pow_bounded(k, limits.max_digits)?,
                    None => rest.push((v, k)),
                }
            }
            if c.is_zero() {
                continue;
            }
            let rest = Monomial::from_pairs(rest)?;
            let slot = out.entry(rest).or_insert_with(Coeff::zero);
            *slot = &*slot + &c;
        }
        out.retain(|_, c| !c.is_zero());
        Some(out)
    };
    let (Some(num), Some(den)) = (substituted(form.num()), substituted(form.den())) else {
        return false;
    };
    num.is_empty() && !den.is_empty()
}

/// The value of one atom in a case, as a digit: 0 for 0, 1 for ½, 2 for 1 (the digits of
/// [`assignment_of`]). The constant-gap check finds the case of each of ~100 points; digits
/// compare and store without big rationals.
pub(crate) type Digit = u8;

/// The atom values of `digits`.
fn values_of(digits: &[Digit]) -> Vec<Rational> {
    digits.iter().map(|d| value_of_digit(*d)).collect()
}

fn value_of_digit(d: Digit) -> Rational {
    match d {
        0 => Rational::zero(),
        // ½ built reduced: `new` would take a gcd on big integers every time.
        1 => Rational::new_raw(1.into(), 2.into()),
        _ => Rational::one(),
    }
}

/// The digit of H(v): 2 for v > 0, 0 for v < 0, 1 (H(0) = ½) for v = 0.
fn step_digit(v: &Rational) -> Digit {
    if v.is_positive() {
        2
    } else if v.is_negative() {
        0
    } else {
        1
    }
}

/// Whether an atom of `canon`'s table contains a step H(u) (at any depth). A canonical form
/// printed back (`Canonicalizer::to_expr`) is built from numbers and the table's atoms, so
/// when this is false [`split`] finds no atoms in any difference of forms of this table.
pub(crate) fn has_steps(canon: &Canonicalizer) -> bool {
    let table = canon.atoms();
    let mut seen = rustc_hash::FxHashSet::default();
    let mut stack: Vec<&Expr> = (0..table.len())
        .filter_map(|v| u32::try_from(v).ok().and_then(|v| table.expr(v)))
        .collect();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        if heaviside_arg(x).is_some() {
            return true;
        }
        stack.extend(x.node().children());
    }
    false
}

/// 3^k: the assignments of k atoms.
fn n_cases(atoms: &[Expr]) -> usize {
    3usize.pow(atoms.len() as u32)
}

/// Assignment number `case` of `n` atoms: digit i (base 3) is the value of atom i, 0, ½ or 1.
fn assignment_of(case: usize, n: usize) -> Vec<Rational> {
    let values = [
        Rational::zero(),
        Rational::new_raw(1.into(), 2.into()),
        Rational::one(),
    ];
    (0..n)
        .map(|i| {
            let digit = (case / 3usize.pow(i as u32)) % 3;
            values.get(digit).cloned().unwrap_or_default()
        })
        .collect()
}

impl Cases {
    /// The second half of [`split`]: whether the difference vanishes in every case that can
    /// occur (`proved`). Cases are canonicalized only until the answer is known: with
    /// univariate linear atoms the feasible cases alone decide (the first that does not
    /// vanish refutes, all vanishing proves), otherwise every case must vanish and the first
    /// that does not refutes. The verdict is the one of looking at all 3^k cases. Each case
    /// put in canonical form is remembered with its gap, for [`Cases::gap_in`].
    pub(crate) fn decide(&mut self, canon: &mut Canonicalizer) {
        let Some(expr) = self.diff.clone() else {
            return;
        };
        let atoms = std::mem::take(&mut self.atoms);
        // Each case put in canonical form, with its constant gap if any, as `gap_in` finds
        // it: the constant-gap check asks again for the cases of the sample points.
        let seen = &mut self.seen;
        let form = self.form.as_ref();
        let mut vanishes = |canon: &mut Canonicalizer, assignment: &[Rational]| {
            // First the substitution into the difference's form: when it vanishes the case
            // does (see `vanishes_in_form`), with no gap, and nothing else is needed.
            let (zero, gap) = if form.is_some_and(|f| {
                vanishes_in_form(canon.atoms(), f, &atoms, assignment, canon.limits())
            }) {
                (true, None)
            } else {
                // A case that cannot be put in canonical form (a denominator that
                // vanishes in it) proves nothing (and is not remembered: `gap_in` tells
                // a limit from the rest).
                let Ok(d) = canon.canonical(&replace_atoms(&expr, &atoms, assignment)) else {
                    return false;
                };
                let zero = d.is_zero();
                let gap = if zero {
                    None
                } else {
                    d.constant_value().map(|c| c.to_rational())
                };
                (zero, gap)
            };
            let digits: Vec<Digit> = assignment.iter().map(step_digit_of_value).collect();
            if !seen.iter().any(|(a, _)| *a == digits) {
                seen.push((digits, gap));
            }
            zero
        };
        self.proved = if self.feasible.is_empty() {
            // No feasible case found (not linear, or an argument that does not evaluate
            // exactly at the probes): every case must vanish.
            (0..n_cases(&atoms)).all(|case| vanishes(canon, &assignment_of(case, atoms.len())))
        } else {
            self.feasible
                .iter()
                .all(|digits| vanishes(canon, &values_of(digits)))
        };
        self.atoms = atoms;
    }

    /// The values of the atoms at `point`, as digits (see [`assignment_at_point`]); for
    /// linear arguments a·s + b computed from a and b, without evaluating the arguments.
    ///
    /// Otherwise, when every argument is piecewise linear in one symbol, the case is the one
    /// met before at the same place between the [`Pieces`] cuts (the first point of each place
    /// is evaluated as below); else each argument is enclosed and, where that does not
    /// decide, evaluated exactly at the point.
    pub(crate) fn assignment_at(
        &mut self,
        point: &[(Symbol, Rational)],
        limits: &Limits,
    ) -> Option<Vec<Digit>> {
        if let Some(lin) = &self.linear {
            let t = point.iter().find(|(s, _)| *s == lin.symbol)?;
            return Some(lin.digits_at(&t.1));
        }
        let (atoms, in_steps) = (&self.atoms, &self.in_steps);
        let pieces = self
            .pieces
            .get_or_insert_with(|| Pieces::of(atoms, in_steps, limits, &mut FxHashMap::default()));
        let Some(pieces) = pieces else {
            return assignment_at_point(atoms, in_steps, point, limits);
        };
        let place = pieces.place(point)?;
        if let Some(Some(digits)) = pieces.met.get(place) {
            return Some(digits.clone());
        }
        let digits = assignment_at_point(atoms, in_steps, point, limits)?;
        if let Some(slot) = pieces.met.get_mut(place) {
            *slot = Some(digits.clone());
        }
        Some(digits)
    }

    /// When the atoms are not linear but piecewise linear in one symbol (see [`Pieces`]): the
    /// cases that can occur, one per place between the cuts (each cut, each open interval
    /// between two, and beyond the ends), for [`Cases::decide`]. Every point of a place lies
    /// in one case, so every point where the sides are defined lies in one of these: when
    /// the difference vanishes in each, the sides are equal wherever both are defined.
    ///
    /// Each place's case is that of one point of it (the cut itself; the midpoint of an
    /// interval; a cut ∓ 1 beyond the ends), computed from the arguments' exact values (no
    /// f64, no enclosure). When one place's case is not found (an argument undefined there,
    /// a limit, the deadline), none is kept: `decide` then needs every case to vanish.
    pub(crate) fn find_feasible_places(
        &mut self,
        limits: &Limits,
        known: &mut FxHashMap<Expr, Option<Vec<Rational>>>,
        deadline: &crate::limits::Deadline,
    ) {
        if self.linear.is_some() || !self.feasible.is_empty() || self.atoms.is_empty() {
            return;
        }
        self.find_pieces(limits, known);
        let Some(Some(pieces)) = &self.pieces else {
            return;
        };
        let mut feasible: Vec<Vec<Digit>> = Vec::new();
        for t in pieces.representatives() {
            if deadline.check("case analysis").is_err() {
                return;
            }
            let point: Vec<(Symbol, Rational)> = pieces
                .symbol
                .iter()
                .map(|s| (s.clone(), t.clone()))
                .collect();
            let Some(digits) = exact_assignment_at_point(&self.atoms, &point, limits) else {
                return;
            };
            if !feasible.contains(&digits) {
                feasible.push(digits);
            }
        }
        self.feasible = feasible;
    }

    /// Finds the [`Pieces`] now (when the atoms are not linear and they were not tried yet),
    /// with the cuts of atoms met before in `known` (and those found added): what
    /// [`Cases::assignment_at`] or [`Cases::piece_place`] would find at its first call.
    pub(crate) fn find_pieces(
        &mut self,
        limits: &Limits,
        known: &mut FxHashMap<Expr, Option<Vec<Rational>>>,
    ) {
        if self.linear.is_some() || self.pieces.is_some() || self.atoms.is_empty() {
            return;
        }
        self.pieces = Some(Pieces::of(&self.atoms, &self.in_steps, limits, known));
    }

    /// When the atoms are not linear but piecewise linear in one symbol (see [`Pieces`]):
    /// the place of `point` between the cuts, found as [`Cases::assignment_at`] finds it
    /// (the pieces made at the first call of either). Every point of one place lies in the
    /// same case, so a caller that met the place before knows its case's answer. `None`:
    /// linear atoms, no pieces, or no value for the symbol.
    pub(crate) fn piece_place(
        &mut self,
        point: &[(Symbol, Rational)],
        limits: &Limits,
    ) -> Option<usize> {
        if self.linear.is_some() {
            return None;
        }
        let (atoms, in_steps) = (&self.atoms, &self.in_steps);
        let pieces = self
            .pieces
            .get_or_insert_with(|| Pieces::of(atoms, in_steps, limits, &mut FxHashMap::default()));
        pieces.as_ref()?.place(point)
    }

    /// The exact points where some atom is ½ or may change value, when the atoms are in one
    /// symbol: the roots of linear arguments, or the cuts of piecewise linear ones (the
    /// [`Pieces`] found as [`Cases::find_pieces`] finds them). Each is a place of its own,
    /// one point wide, so a sample almost never falls on it; the checker evaluates the
    /// sides there (see `Checker::gap_at_cuts`). `None`: no such points are known (no atoms,
    /// several symbols, arguments of another kind).
    pub(crate) fn cut_points(
        &mut self,
        limits: &Limits,
        known: &mut FxHashMap<Expr, Option<Vec<Rational>>>,
    ) -> Option<(Symbol, Vec<Rational>)> {
        if self.linear.is_none() {
            self.find_pieces(limits, known);
        }
        self.known_cut_points()
    }

    /// [`Cases::cut_points`] from what is known already (the pieces not looked for).
    fn known_cut_points(&self) -> Option<(Symbol, Vec<Rational>)> {
        if let Some(lin) = &self.linear {
            return Some((lin.symbol.clone(), lin.roots()));
        }
        let pieces = self.pieces.as_ref()?.as_ref()?;
        Some((pieces.symbol.clone()?, pieces.cuts.clone()))
    }

    /// Keeps, of the feasible cases found (by `split_undecided` for linear atoms, by
    /// [`Cases::find_feasible_places`] for piecewise linear ones), only those of the places
    /// `inside` the assumed domain. `bounds` are the exact points where the domain's facts
    /// about the one symbol can change truth (the roots of linear comparisons): with them
    /// among the cuts, each place lies wholly inside or wholly outside the domain, so its
    /// representative decides. `inside(t)`: whether the point s = t satisfies the facts
    /// (`None`: not known, and the place is kept).
    ///
    /// True when some place was left out (the proof then relies on the assumptions). Nothing
    /// changes when no feasible cases are known, the atoms have no symbol, or a place's case
    /// is not found exactly.
    pub(crate) fn restrict_to_domain(
        &mut self,
        bounds: &[Rational],
        inside: &mut dyn FnMut(&Rational) -> Option<bool>,
        limits: &Limits,
    ) -> bool {
        if self.feasible.is_empty() {
            return false;
        }
        let Some((symbol, mut cuts)) = self.known_cut_points() else {
            return false;
        };
        cuts.extend(bounds.iter().cloned());
        cuts.sort();
        cuts.dedup();
        let mut excluded = false;
        let mut feasible: Vec<Vec<Digit>> = Vec::new();
        for t in representatives_of(&cuts) {
            if inside(&t) == Some(false) {
                excluded = true;
                continue;
            }
            let digits = match &self.linear {
                Some(lin) => lin.digits_at(&t),
                None => match exact_assignment_at_point(
                    &self.atoms,
                    &[(symbol.clone(), t.clone())],
                    limits,
                ) {
                    Some(d) => d,
                    None => return false,
                },
            };
            if !feasible.contains(&digits) {
                feasible.push(digits);
            }
        }
        if excluded {
            self.feasible = feasible;
        }
        excluded
    }

    /// The atoms whose value is ½ in the case `digits` (their argument is 0 there).
    pub(crate) fn atoms_at_half(&self, digits: &[Digit]) -> Vec<Expr> {
        self.atoms
            .iter()
            .zip(digits)
            .filter(|(_, d)| **d == 1)
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Fills `constant_gaps`: every case (all 3^k, feasible or not) in which the difference is
    /// a nonzero constant.
    #[cfg(test)]
    fn find_constant_gaps(&mut self, canon: &mut Canonicalizer) {
        let mut gaps = Vec::new();
        for case in 0..n_cases(&self.atoms) {
            let assignment = assignment_of(case, self.atoms.len());
            let digits: Vec<Digit> = assignment.iter().map(step_digit_of_value).collect();
            if let Ok(Some(c)) = self.gap_in(canon, &digits) {
                gaps.push((assignment, c));
            }
        }
        self.constant_gaps = gaps;
    }

    /// Whether the difference is a nonzero constant in no case that can occur, known without
    /// looking at points: with linear atoms every point lies in one of the `feasible` cases
    /// (one per root and per interval between and beyond the roots), so when none of them has
    /// a gap (and none reached a limit), no sample point's case has one. `false`: not known
    /// this way (the points must be looked at).
    pub(crate) fn no_gap_in_any_case(&mut self, canon: &mut Canonicalizer) -> bool {
        if self.linear.is_none() || self.feasible.is_empty() {
            return false;
        }
        let feasible = std::mem::take(&mut self.feasible);
        let none = feasible
            .iter()
            .all(|digits| matches!(self.gap_in(canon, digits), Ok(None)));
        self.feasible = feasible;
        none
    }

    /// The nonzero constant the difference equals in the case `assignment`, if it is one;
    /// each case is put in canonical form once (the checker asks only for the cases its
    /// sample points fall in, not for all 3^k). `Err`: a limit was reached, so it is not
    /// known.
    pub(crate) fn gap_in(
        &mut self,
        canon: &mut Canonicalizer,
        assignment: &[Digit],
    ) -> Result<Option<Rational>, String> {
        if let Some((_, gap)) = self.seen.iter().find(|(a, _)| a == assignment) {
            return Ok(gap.clone());
        }
        let Some(expr) = &self.diff else {
            return Ok(None);
        };
        let values = values_of(assignment);
        let gap = match canon.canonical(&replace_atoms(expr, &self.atoms, &values)) {
            Ok(d) if d.is_zero() => None,
            Ok(d) => d.constant_value().map(|c| c.to_rational()),
            // A limit (the step's time may run out after sampling) leaves it unknown.
            Err(CanonError::Limit(l)) => return Err(l.to_string()),
            // A denominator that vanishes in this case: no gap here.
            Err(_) => None,
        };
        self.seen.push((assignment.to_vec(), gap.clone()));
        Ok(gap)
    }
}

/// The values of the atoms at `point` (exactly, as digits), when every argument evaluates
/// exactly. `in_steps[i]`: whether atom i's argument passes `rational_in_steps` (missing: no).
fn assignment_at_point(
    atoms: &[Expr],
    in_steps: &[bool],
    point: &[(Symbol, Rational)],
    limits: &Limits,
) -> Option<Vec<Digit>> {
    let env = |s: &Symbol| point.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone());
    // The coordinates' enclosures, made once for all atoms (what `eval_interval_at` makes
    // at each occurrence of a symbol).
    let coordinates = if in_steps.iter().any(|b| *b) {
        point_intervals(point)
    } else {
        Vec::new()
    };
    atoms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let u = heaviside_arg(a)?;
            // The sign of u decides H(u): where u is a polynomial expression in symbols and
            // steps (which evaluates exactly wherever it is defined), a guaranteed enclosure
            // that excludes 0 gives the exact answer at a fraction of the cost.
            if in_steps.get(i).copied().unwrap_or(false) {
                if let Some(iv) = eval_interval_in(u, &coordinates) {
                    if iv.lo > 0.0 {
                        return Some(2);
                    }
                    if iv.hi < 0.0 {
                        return Some(0);
                    }
                }
            }
            let v = exact_value(u, &env, limits)?;
            Some(step_digit(&v))
        })
        .collect()
}

/// The values of the atoms at `point` as digits, from the arguments' exact values alone
/// (`None` when one has none there).
fn exact_assignment_at_point(
    atoms: &[Expr],
    point: &[(Symbol, Rational)],
    limits: &Limits,
) -> Option<Vec<Digit>> {
    let env = |s: &Symbol| point.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone());
    atoms
        .iter()
        .map(|a| Some(step_digit(&exact_value(heaviside_arg(a)?, &env, limits)?)))
        .collect()
}

/// The digit of an atom value 0, ½ or 1.
fn step_digit_of_value(v: &Rational) -> Digit {
    if v.is_zero() {
        0
    } else if v.is_one() {
        2
    } else {
        1
    }
}

/// Whether `u` is built from numbers, symbols, sums, products, small integer powers and H
/// alone: then `eval_exact` has a value wherever no denominator vanishes, and an interval
/// enclosure exists only there too.
fn rational_in_steps(u: &Expr) -> bool {
    let mut stack = vec![u];
    while let Some(x) = stack.pop() {
        match x.node() {
            Node::Num(_) | Node::Sym(_) => {}
            Node::Add(ts) | Node::Mul(ts) => stack.extend(ts),
            Node::Pow(b, k) => {
                let small = k.as_num().is_some_and(|k| {
                    k.is_integer() && k.abs() <= Rational::from_integer(64.into())
                });
                if !small {
                    return false;
                }
                stack.push(b);
            }
            Node::Call(Func::Builtin(Builtin::Heaviside), args) if args.len() == 1 => {
                stack.extend(args);
            }
            _ => return false,
        }
    }
    true
}

/// H(v) with H(0) = ½.
fn step(v: &Rational) -> Rational {
    if v.is_positive() {
        Rational::one()
    } else if v.is_negative() {
        Rational::zero()
    } else {
        Rational::new_raw(1.into(), 2.into())
    }
}

fn heaviside_arg(e: &Expr) -> Option<&Expr> {
    match e.node() {
        Node::Call(Func::Builtin(Builtin::Heaviside), args) if args.len() == 1 => args.first(),
        _ => None,
    }
}

/// The distinct H(u) calls in `e`, in first-seen order.
fn heaviside_atoms(e: &Expr) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    // Each distinct node in the order the walk with a set meets it (`visit_distinct` walks a
    // small tree without one, meeting repeats again, which `out` lists once).
    Expr::visit_distinct(&[e], |x| {
        if heaviside_arg(x).is_some() && !out.contains(x) {
            out.push(x.clone());
        }
        true
    });
    out
}

/// `e` with every occurrence of `atoms[i]` replaced by the number `values[i]`.
fn replace_atoms(e: &Expr, atoms: &[Expr], values: &[Rational]) -> Expr {
    let table: FxHashMap<Expr, Expr> = atoms
        .iter()
        .cloned()
        .zip(values.iter().map(|v| Expr::num(v.clone())))
        .collect();
    e.replace_all(&table)
}

/// When every atom's argument is a·s + b in one symbol s (a ≠ 0, exact rationals): s and
/// (a, b) for each atom, in the atoms' order.
fn linear_args(canon: &mut Canonicalizer, atoms: &[Expr]) -> Option<Linear> {
    let mut symbol: Option<Symbol> = None;
    let mut coefficients: Vec<(Rational, Rational)> = Vec::new();
    for atom in atoms {
        let u = canon.canonical(heaviside_arg(atom)?).ok()?;
        let poly = u.as_poly()?;
        let mut a = Rational::zero();
        let mut b = Rational::zero();
        for (m, c) in poly.terms() {
            match m.pairs() {
                [] => b = c.to_rational(),
                [(v, 1)] => {
                    let s = canon.atoms().expr(*v)?.as_sym()?.clone();
                    if symbol.as_ref().is_some_and(|t| *t != s) {
                        return None;
                    }
                    symbol = Some(s);
                    a = c.to_rational();
                }
                _ => return None,
            }
        }
        if a.is_zero() {
            return None;
        }
        coefficients.push((a, b));
    }
    let zeros = coefficients
        .iter()
        .map(|(a, b)| {
            let root = -b / a;
            let small = small_pair(&root);
            (root, small, a.is_positive())
        })
        .collect();
    Some(Linear {
        symbol: symbol?,
        coefficients,
        zeros,
    })
}

/// Atoms H(a·s + b), all in one symbol s.
#[derive(Debug)]
struct Linear {
    symbol: Symbol,
    /// (a, b) for each atom, a ≠ 0.
    coefficients: Vec<(Rational, Rational)>,
    /// For each atom: its root −b/a, as a machine-integer pair when it fits, and whether
    /// a > 0. H(a·t + b) is 1 on the side of the root that a's sign says, 0 on the other.
    zeros: Vec<(Rational, Option<SmallPair>, bool)>,
}

/// A rational's numerator and denominator as machine integers (see [`small_pair`]).
type SmallPair = (i64, i64);

impl Linear {
    /// The sorted distinct roots −b/a.
    fn roots(&self) -> Vec<Rational> {
        let mut roots: Vec<Rational> = self.coefficients.iter().map(|(a, b)| -b / a).collect();
        roots.sort();
        roots.dedup();
        roots
    }

    /// The atoms' values at s = t: H(a·t + b), exactly. The canonical argument is the
    /// polynomial a·s + b, so this is the exact value of the argument as written.
    fn assignment_at(&self, t: &Rational) -> Vec<Rational> {
        self.coefficients
            .iter()
            .map(|(a, b)| step(&(a * t + b)))
            .collect()
    }

    /// [`Linear::assignment_at`] as digits.
    fn digits_at(&self, t: &Rational) -> Vec<Digit> {
        // a·t + b has the sign of a times the sign of t − root: compared, not computed.
        let ts = small_pair(t);
        self.zeros
            .iter()
            .map(
                |(root, small, positive)| match (compare(t, ts, root, *small), positive) {
                    (std::cmp::Ordering::Equal, _) => 1,
                    (std::cmp::Ordering::Greater, true) | (std::cmp::Ordering::Less, false) => 2,
                    _ => 0,
                },
            )
            .collect()
    }
}

/// Atoms H(u) whose arguments are piecewise linear in one symbol s: each u is built from
/// numbers, s, sums, products, integer powers and H atoms (the other atoms of the list), with
/// degree at most 1 in s once the H atoms inside it are taken as constants (a negative power
/// only of a base free of s).
///
/// Rule: an atom's argument is then one line a·s + b on every open interval between the
/// places where an inner atom changes value, so its own sign changes only at the line's root
/// there. `cuts` holds, for every atom, the roots of its lines and the cuts of its inner
/// atoms: between two consecutive cuts (and beyond the outer ones) no atom changes value, so
/// every point of such an open interval lies in the same case (and each cut is a place of its
/// own). Each line is found exactly from the argument's exact values at two points of its
/// interval.
#[derive(Debug)]
struct Pieces {
    /// The one symbol of the arguments (`None`: no argument has a symbol, one place).
    symbol: Option<Symbol>,
    /// The sorted distinct cuts.
    cuts: Vec<Rational>,
    /// The cuts as reduced machine-integer pairs where they fit (exact comparisons without
    /// big rationals).
    small: Vec<Option<(i64, i64)>>,
    /// The case of each place once a point there was evaluated: place 2j is the open interval
    /// below `cuts[j]` (above `cuts[j − 1]`), 2j + 1 is `cuts[j]`, the last is above all cuts.
    met: Vec<Option<Vec<Digit>>>,
}

/// Most cuts kept by [`Pieces`]; beyond that each point is evaluated on its own.
const MAX_CUTS: usize = 64;

/// Deepest argument [`Pieces`] looks into.
const MAX_PIECE_DEPTH: usize = 64;

impl Pieces {
    /// The cuts of `atoms`, or `None` when an argument is not of the kind (or an exact value
    /// at one of the two points of a line is missing).
    ///
    /// `known` holds the cuts of atoms met before (`None`: an atom with which there are no
    /// pieces). An atom's cuts are a function of the atom alone: its argument's lines, in the
    /// one symbol the argument has (an argument without it has no root), between the cuts
    /// of the atoms inside it, all of which are atoms of every list it is in; so cuts found
    /// for one claim are those another claim with the atom would find.
    fn of(
        atoms: &[Expr],
        in_steps: &[bool],
        limits: &Limits,
        known: &mut FxHashMap<Expr, Option<Vec<Rational>>>,
    ) -> Option<Pieces> {
        if in_steps.len() != atoms.len() || !in_steps.iter().all(|b| *b) {
            return None;
        }
        let args: Vec<&Expr> = atoms.iter().map(heaviside_arg).collect::<Option<_>>()?;
        let mut symbol: Option<Symbol> = None;
        for u in &args {
            if degree(u, &mut symbol, 0)? > 1 {
                return None;
            }
        }
        // The cuts of each atom, innermost first (an atom's inner atoms are done before it);
        // those met before are known.
        let mut cuts_of: Vec<Option<Vec<Rational>>> = Vec::with_capacity(atoms.len());
        for a in atoms {
            match known.get(a) {
                Some(None) => return None,
                Some(Some(c)) => cuts_of.push(Some(c.clone())),
                None => cuts_of.push(None),
            }
        }
        // inner[i]: the atoms that occur inside argument i (not needed for a known atom).
        // Every step inside an argument must be one of `atoms` (`heaviside_atoms` collects
        // nested ones): its cuts are then among the argument's, so no kink is missed. A step
        // that is not (never expected) leaves no pieces.
        let mut all_inner_known = true;
        let inner: Vec<Vec<usize>> = args
            .iter()
            .zip(&cuts_of)
            .map(|(u, c)| {
                let mut found = Vec::new();
                if c.is_some() {
                    return found;
                }
                Expr::visit_distinct(&[u], |x| {
                    if let Some(k) = atoms.iter().position(|a| a == x) {
                        if !found.contains(&k) {
                            found.push(k);
                        }
                    } else if heaviside_arg(x).is_some() {
                        all_inner_known = false;
                    }
                    true
                });
                found
            })
            .collect();
        if !all_inner_known {
            return None;
        }
        for _ in 0..atoms.len() {
            for i in 0..atoms.len() {
                if cuts_of.get(i).is_some_and(Option::is_some) {
                    continue;
                }
                let ready = inner.get(i).is_some_and(|ks| {
                    ks.iter()
                        .all(|k| cuts_of.get(*k).is_some_and(Option::is_some))
                });
                if !ready {
                    continue;
                }
                let mut below: Vec<Rational> = inner
                    .get(i)
                    .into_iter()
                    .flatten()
                    .filter_map(|k| cuts_of.get(*k).cloned().flatten())
                    .flatten()
                    .collect();
                below.sort();
                below.dedup();
                let (u, atom) = (args.get(i)?, atoms.get(i)?);
                let mut own = below.clone();
                for (lo, hi) in open_intervals(&below) {
                    match line_root(u, symbol.as_ref(), lo, hi, limits) {
                        Some(Some(r)) => own.push(r),
                        Some(None) => {}
                        None => {
                            known.insert(atom.clone(), None);
                            return None;
                        }
                    }
                }
                own.sort();
                own.dedup();
                if own.len() > MAX_CUTS {
                    known.insert(atom.clone(), None);
                    return None;
                }
                known.insert(atom.clone(), Some(own.clone()));
                if let Some(slot) = cuts_of.get_mut(i) {
                    *slot = Some(own);
                }
            }
        }
        let mut cuts: Vec<Rational> = Vec::new();
        for c in cuts_of {
            cuts.extend(c?);
        }
        cuts.sort();
        cuts.dedup();
        if cuts.len() > MAX_CUTS {
            return None;
        }
        let small = cuts.iter().map(small_pair).collect();
        let met = vec![None; 2 * cuts.len() + 1];
        Some(Pieces {
            symbol,
            cuts,
            small,
            met,
        })
    }

    /// One value of the symbol in each place, in the places' order (see `met`): below the
    /// first cut its value − 1, each cut itself, between two cuts their midpoint, above the
    /// last its value + 1; with no cuts, 0 (the one place).
    fn representatives(&self) -> Vec<Rational> {
        representatives_of(&self.cuts)
    }

    /// The place of `point` (see `met`); `None` when the point has no value for the symbol.
    fn place(&self, point: &[(Symbol, Rational)]) -> Option<usize> {
        let Some(s) = &self.symbol else {
            return Some(0);
        };
        let t = &point.iter().find(|(x, _)| x == s)?.1;
        let ts = small_pair(t);
        // The number of cuts below t, and whether t is one.
        let mut lo = 0;
        let mut hi = self.cuts.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let order = compare(
                t,
                ts,
                self.cuts.get(mid)?,
                self.small.get(mid).copied().flatten(),
            );
            match order {
                std::cmp::Ordering::Less => hi = mid,
                std::cmp::Ordering::Greater => lo = mid + 1,
                std::cmp::Ordering::Equal => return Some(2 * mid + 1),
            }
        }
        Some(2 * lo)
    }
}

/// One point of each place cut by the sorted distinct `cuts` (see [`Pieces::representatives`]).
fn representatives_of(cuts: &[Rational]) -> Vec<Rational> {
    let (Some(first), Some(last)) = (cuts.first(), cuts.last()) else {
        return vec![Rational::zero()];
    };
    let mut out = Vec::with_capacity(2 * cuts.len() + 1);
    out.push(first - Rational::one());
    for (j, c) in cuts.iter().enumerate() {
        if let Some(prev) = j.checked_sub(1).and_then(|k| cuts.get(k)) {
            out.push((prev + c) / Rational::from_integer(2.into()));
        }
        out.push(c.clone());
    }
    out.push(last + Rational::one());
    out
}

/// The root of `u` when it is a polynomial of degree at most 1 in `s` alone (numbers, `s`,
/// sums, products, integer powers): `Some(Some(root))`, `Some(None)` when it has none (a
/// constant); `None` when `u` is not of that kind or has no exact values. A comparison
/// u > 0 of that kind changes truth only at the root.
pub(crate) fn linear_root(u: &Expr, s: &Symbol, limits: &Limits) -> Option<Option<Rational>> {
    let mut symbol = None;
    let d = degree(u, &mut symbol, 0)?;
    if d > 1 || symbol.as_ref().is_some_and(|x| x != s) || has_heaviside(u) {
        return None;
    }
    line_root(u, Some(s), None, None, limits)
}

/// Whether `u` contains a step (which `degree` takes as a constant).
fn has_heaviside(u: &Expr) -> bool {
    !Expr::visit_distinct(&[u], |x| heaviside_arg(x).is_none())
}

/// `t` against `c`, given their machine-integer pairs where they fit: exactly, with i128
/// products when both fit, products by a machine integer when `c` does.
fn compare(
    t: &Rational,
    ts: Option<(i64, i64)>,
    c: &Rational,
    cs: Option<(i64, i64)>,
) -> std::cmp::Ordering {
    // n/d against cn/cd, both denominators positive: n·cd against cn·d.
    match (ts, cs) {
        (Some((n, d)), Some((cn, cd))) => {
            (i128::from(n) * i128::from(cd)).cmp(&(i128::from(cn) * i128::from(d)))
        }
        (None, Some((cn, cd))) => (t.numer() * cd).cmp(&(t.denom() * cn)),
        _ => t.cmp(c),
    }
}

/// A rational as (numerator, denominator) in `i64`, when both fit.
fn small_pair(r: &Rational) -> Option<(i64, i64)> {
    use num_traits::ToPrimitive;
    Some((r.numer().to_i64()?, r.denom().to_i64()?))
}

/// The open intervals cut by the sorted `cuts`: (−∞, c₁), (c₁, c₂), …, (c_m, ∞); the whole
/// line when there are none. `None` stands for an infinite end.
fn open_intervals(cuts: &[Rational]) -> Vec<(Option<&Rational>, Option<&Rational>)> {
    let mut out = vec![(None, cuts.first())];
    for pair in cuts.windows(2) {
        if let [a, b] = pair {
            out.push((Some(a), Some(b)));
        }
    }
    if let Some(last) = cuts.last() {
        out.push((Some(last), None));
    }
    out
}

/// The root of `u` inside the open interval (lo, hi), where `u` is one line a·s + b (every
/// inner atom is constant there): from the exact values at two points p < q of the interval,
/// a = (u(q) − u(p))/(q − p) and the root is p − u(p)/a. `Some(None)`: no root inside (a = 0,
/// or the root at or beyond an end); `None`: an exact value is missing.
fn line_root(
    u: &Expr,
    symbol: Option<&Symbol>,
    lo: Option<&Rational>,
    hi: Option<&Rational>,
    limits: &Limits,
) -> Option<Option<Rational>> {
    let Some(s) = symbol else {
        return Some(None);
    };
    let one = Rational::one();
    let (p, q) = match (lo, hi) {
        (None, None) => (Rational::zero(), one),
        (Some(a), None) => (a + &one, a + Rational::from_integer(2.into())),
        (None, Some(b)) => (b - Rational::from_integer(2.into()), b - &one),
        (Some(a), Some(b)) => {
            let third = (b - a) / Rational::from_integer(3.into());
            (a + &third, a + &third + &third)
        }
    };
    let at = |t: &Rational| {
        let env = |x: &Symbol| (x == s).then(|| t.clone());
        exact_value(u, &env, limits)
    };
    let (up, uq) = (at(&p)?, at(&q)?);
    let slope = (&uq - &up) / (&q - &p);
    if slope.is_zero() {
        return Some(None);
    }
    let root = &p - &up / &slope;
    let inside = lo.is_none_or(|a| *a < root) && hi.is_none_or(|b| root < *b);
    Some(inside.then_some(root))
}

/// The degree of `u` in its one symbol, H calls taken as constants: `None` when `u` is not a
/// polynomial of that kind (another symbol, a function other than H, a power that is not a
/// small integer, a negative power of a base with the symbol). The symbol met is kept in
/// `symbol`.
fn degree(u: &Expr, symbol: &mut Option<Symbol>, depth: usize) -> Option<u32> {
    if depth > MAX_PIECE_DEPTH {
        return None;
    }
    match u.node() {
        Node::Num(_) => Some(0),
        Node::Sym(x) => {
            if symbol.as_ref().is_some_and(|s| s != x) {
                return None;
            }
            *symbol = Some(x.clone());
            Some(1)
        }
        Node::Add(ts) => ts
            .iter()
            .try_fold(0, |d, t| degree(t, symbol, depth + 1).map(|e| d.max(e))),
        Node::Mul(ts) => ts.iter().try_fold(0u32, |d, t| {
            degree(t, symbol, depth + 1).and_then(|e| d.checked_add(e))
        }),
        Node::Pow(b, k) => {
            let k = k.as_num()?;
            if !k.is_integer() || k.abs() > Rational::from_integer(64.into()) {
                return None;
            }
            let db = degree(b, symbol, depth + 1)?;
            if db == 0 {
                return Some(0);
            }
            // Only a positive power of a base with the symbol (s⁰ may be undefined at 0).
            use num_traits::ToPrimitive;
            let k = k.to_integer().to_u32().filter(|k| *k >= 1)?;
            db.checked_mul(k)
        }
        Node::Call(Func::Builtin(Builtin::Heaviside), args) if args.len() == 1 => Some(0),
        _ => None,
    }
}

/// One point inside each open interval cut by the roots, and one beyond each end.
fn interval_points(roots: &[Rational]) -> Vec<Rational> {
    let (Some(first), Some(last)) = (roots.first(), roots.last()) else {
        return Vec::new();
    };
    let mut out = vec![first - Rational::one()];
    for pair in roots.windows(2) {
        if let [a, b] = pair {
            out.push((a + b) / Rational::from_integer(2.into()));
        }
    }
    out.push(last + Rational::one());
    out
}

/// The interval points and the roots themselves (where some H is ½).
fn probe_points(roots: &[Rational]) -> Vec<Rational> {
    let mut out = interval_points(roots);
    out.extend(roots.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_is_built_reduced() {
        let halves = [
            value_of_digit(1),
            step(&Rational::zero()),
            assignment_of(1, 1).swap_remove(0),
        ];
        for h in halves {
            assert_eq!((h.numer().clone(), h.denom().clone()), (1.into(), 2.into()));
            assert_eq!(h, Rational::new(1.into(), 2.into()));
        }
    }
    use crate::limits::Deadline;

    #[test]
    fn step_atoms_are_listed_once_in_the_order_first_met() {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let shown = |e: &Expr| -> Vec<String> {
            heaviside_atoms(e).iter().map(crate::print::ascii).collect()
        };
        let small = parse("heaviside(z)*heaviside(3 - z) + heaviside(z)*z + heaviside(z + 3)");
        assert_eq!(
            shown(&small),
            ["heaviside(z + 3)", "heaviside(z)", "heaviside(3 - z)"]
        );
        // Past the set-free walk of `Expr::visit_distinct`: the same order.
        let terms: Vec<String> = (1..30).map(|k| format!("{k}*z^{k}")).collect();
        let large = parse(&format!(
            "({})*heaviside(z) + heaviside(z)*heaviside(z - 1)",
            terms.join(" + ")
        ));
        assert!(large.tree_size() > 64);
        assert_eq!(shown(&large), ["heaviside(z - 1)", "heaviside(z)"]);
    }

    /// A canonicalizer and the canonical form of `l − r` in it.
    fn difference<'a>(l: &str, r: &str, limits: &'a Limits) -> (Canonicalizer<'a>, RatFunc) {
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let mut canon = Canonicalizer::new(limits, Deadline::never());
        let cl = canon.canonical(&parse(l)).unwrap_or_else(|e| panic!("{e}"));
        let cr = canon.canonical(&parse(r)).unwrap_or_else(|e| panic!("{e}"));
        let d = cl
            .sub(&cr, limits, &Deadline::never())
            .unwrap_or_else(|e| panic!("{e}"));
        (canon, d)
    }

    #[test]
    fn the_cases_split_remembers_are_the_ones_gap_in_finds_and_decide_every_point() {
        let limits = Limits::default();
        // (left, right, whether no case that can occur has a constant gap)
        let pairs = [
            ("relu(z)", "z*heaviside(z) + z^2*heaviside(z)", true),
            ("relu(z - 1) + z", "z*heaviside(z - 1) + 3*z", true),
            ("exp(z) + heaviside(z - 50)", "exp(z)", false),
            ("heaviside(z)", "heaviside(z - 1/1000)", false),
            ("abs(z) + heaviside(z - 2)", "z*sign(z)", false),
        ];
        let z = Symbol::new("z");
        for (l, r, no_gap) in pairs {
            let (mut canon, d) = difference(l, r, &limits);
            let mut cases = split(&mut canon, &d);
            assert!(!cases.proved && !cases.seen.is_empty(), "{l} = {r}");
            // What split remembered is what gap_in computes again.
            let remembered = std::mem::take(&mut cases.seen);
            for (digits, gap) in &remembered {
                assert_eq!(
                    cases.gap_in(&mut canon, digits),
                    Ok(gap.clone()),
                    "{l} = {r}"
                );
            }
            assert_eq!(cases.no_gap_in_any_case(&mut canon), no_gap, "{l} = {r}");
            // Every point's case is one of the feasible ones, so "no gap" holds at each.
            let roots = [0, 1, 2, 50].map(|n| Rational::from_integer(n.into()));
            let points = (-240..=240)
                .map(|i| Rational::new(i.into(), 4.into()))
                .chain(roots)
                .chain([Rational::new(1.into(), 1000.into())]);
            let mut gaps = 0;
            for t in points {
                let digits = cases
                    .assignment_at(&[(z.clone(), t.clone())], &limits)
                    .unwrap_or_else(|| panic!("{l} = {r}: no case at {t}"));
                assert!(cases.feasible.contains(&digits), "{l} = {r} at {t}");
                if cases.gap_in(&mut canon, &digits) != Ok(None) {
                    gaps += 1;
                }
            }
            assert_eq!(gaps == 0, no_gap, "{l} = {r}");
        }
    }

    #[test]
    fn a_case_vanishes_in_the_form_only_where_its_canonical_form_is_zero() {
        let limits = Limits::default();
        // (left, right, how many of the 3^k cases vanish by substitution)
        let pairs = [
            // hardswish′ against a rewriting: 24 of the 81 assignments of its 4 steps.
            (
                "heaviside(z + 3)*heaviside(3 - z)*(2*z + 3)/6 + heaviside(z - 3)",
                "heaviside(z - 3) + heaviside(3 - abs(z))*(z/3 + 1/2)",
                24,
            ),
            // z·H² − z·H: H = 0 and H = 1.
            ("relu(z)*heaviside(z)", "relu(z)", 2),
            // H(z)·H(z − 1) − H(z − 1): H(z − 1) = 0 (3 cases), H(z) = 1 (2 more).
            ("heaviside(z)*heaviside(z - 1)", "heaviside(z - 1)", 5),
            // A step inside another atom: H = 1 gives exp(z) − exp(z), zero only once put in
            // canonical form (left to it).
            ("heaviside(z)*exp(z*heaviside(z))", "heaviside(z)*exp(z)", 1),
            // H = 1 makes the denominator vanish: not a proof.
            ("heaviside(z)/(1 - heaviside(z))", "0", 1),
            ("exp(z) + heaviside(z - 50)", "exp(z)", 1),
        ];
        for (l, r, n_vanish) in pairs {
            let (mut canon, d) = difference(l, r, &limits);
            let cases = split_undecided(&mut canon, &d);
            let expr = canon.to_expr(&d);
            let mut vanished = 0;
            for case in 0..n_cases(&cases.atoms) {
                let values = assignment_of(case, cases.atoms.len());
                if !vanishes_in_form(canon.atoms(), &d, &cases.atoms, &values, &limits) {
                    continue;
                }
                vanished += 1;
                // Sound: the case put in canonical form is zero too.
                let c = canon
                    .canonical(&replace_atoms(&expr, &cases.atoms, &values))
                    .unwrap_or_else(|e| panic!("{l} = {r}, {values:?}: {e}"));
                assert!(c.is_zero(), "{l} = {r}, {values:?}");
            }
            assert_eq!(vanished, n_vanish, "{l} = {r}");
        }
    }

    #[test]
    fn switch_seeds_are_the_seeds_of_the_cases_where_the_atoms_switch_at_the_same_places() {
        let limits = Limits::default();
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let seeds_of = |l: &str, r: &str| -> Vec<String> {
            let (l, r) = (parse(l), parse(r));
            let mut symbols = l.free_symbols();
            symbols.extend(r.free_symbols());
            symbols.sort();
            symbols.dedup();
            let args = switch_arguments(&[&l, &r]);
            let args: Vec<&Expr> = args.iter().collect();
            switch_seeds(&args, &symbols, &limits)
                .iter()
                .map(|(s, v)| format!("{s}={v}"))
                .collect()
        };
        // The places of H, sign, relu, |u| (u = 0), max and min (a = c), linear in z: the
        // seeds of the cases when no atom cancels in the difference.
        let same = [
            (
                "heaviside(z + 3)*heaviside(3 - z)/6",
                "heaviside(z + 3)*heaviside(3 - z)/3",
            ),
            ("heaviside(z)*heaviside(6 - z)", "heaviside(z)"),
            ("1/(1 + abs(z))^2", "1/(1 + z)^2"),
            ("sign(2*z - 1)", "relu(z + 1/2)"),
            ("max(z, 1 - z)", "min(0, 3*z)"),
        ];
        for (l, r) in same {
            let (mut canon, d) = difference(l, r, &limits);
            let cases: Vec<String> = split_undecided(&mut canon, &d)
                .seeds
                .iter()
                .map(|(s, v)| format!("{s}={v}"))
                .collect();
            assert!(!cases.is_empty(), "{l} = {r}");
            assert_eq!(seeds_of(l, r), cases, "{l} = {r}");
        }
        assert_eq!(
            seeds_of("heaviside(z + 3)*heaviside(3 - z)", "0"),
            ["z=-4", "z=0", "z=4"]
        );
        // An atom that cancels in the difference still gives its seeds (the cases have none:
        // the difference is a number).
        assert_eq!(
            seeds_of("heaviside(z)", "heaviside(z) + 1/1000"),
            ["z=-1", "z=1"]
        );
        // None where a place is not linear in one symbol, or holds a piecewise call, as in
        // the cases; a constant argument has no place.
        for (l, r) in [
            ("heaviside(z^2 - 1)", "0"),
            ("heaviside(z)*heaviside(w - 1)", "0"),
            ("min(max(0, z), 6)", "z"),
            ("heaviside(exp(z) - 2)", "0"),
        ] {
            assert_eq!(seeds_of(l, r), Vec::<String>::new(), "{l} = {r}");
        }
        assert_eq!(
            seeds_of("heaviside(z) + heaviside(2)", "0"),
            ["z=-1", "z=1"]
        );
    }

    #[test]
    fn an_undecided_split_has_the_atoms_and_seeds_and_deciding_it_gives_the_split() {
        let limits = Limits::default();
        let pairs = [
            // Linear atoms: the feasible cases decide.
            ("heaviside(z)*heaviside(z - 1)", "heaviside(z - 1)", true),
            ("heaviside(z)", "heaviside(z - 1/1000)", false),
            ("relu(z)", "z*heaviside(z) + z^2*heaviside(z)", false),
            // Nested atoms: the cases of the places between the cuts 0 and 6 (all 3^2
            // cases do not vanish: H(z) = 0 with H(z·H(z) − 6) = 1 cannot occur).
            ("heaviside(z*heaviside(z) - 6)", "heaviside(z - 6)", true),
            ("exp(z) + heaviside(z - 50)", "exp(z)", false),
        ];
        for (l, r, proved) in pairs {
            let (mut canon, d) = difference(l, r, &limits);
            let whole = split(&mut canon, &d);
            let (mut canon, d) = difference(l, r, &limits);
            let mut undecided = split_undecided(&mut canon, &d);
            // Nothing is put in canonical form yet, and nothing is claimed.
            assert!(!undecided.proved && undecided.seen.is_empty(), "{l} = {r}");
            assert_eq!(undecided.atoms, whole.atoms, "{l} = {r}");
            assert_eq!(undecided.seeds, whole.seeds, "{l} = {r}");
            undecided.find_feasible_places(&limits, &mut FxHashMap::default(), &Deadline::never());
            assert_eq!(undecided.feasible, whole.feasible, "{l} = {r}");
            undecided.decide(&mut canon);
            assert_eq!(undecided.proved, proved, "{l} = {r}");
            assert_eq!(whole.proved, proved, "{l} = {r}");
            assert_eq!(undecided.seen, whole.seen, "{l} = {r}");
            assert_eq!(undecided.atoms, whole.atoms, "{l} = {r}");
        }
    }

    #[test]
    fn a_claim_proved_by_cases_is_still_proved_when_the_cases_come_after_sample_points() {
        for claim in [
            "claim relu(z)*heaviside(z - 1) = relu(z - 1) + heaviside(z - 1)",
            "claim heaviside(z)*heaviside(z - 1) = heaviside(z - 1)",
        ] {
            let v = verdict(claim);
            let crate::check::Verdict::Proved(proof) = &v else {
                panic!("{claim}: {v:?}")
            };
            assert!(!proof.cases().is_empty(), "{claim}: {v:?}");
        }
        // Refuted by the sample (at a seed between the kinks), without the cases.
        let v = verdict("claim d/dz relu(z) = heaviside(z - 1)");
        let crate::check::Verdict::Incorrect(cx) = v else {
            panic!("{v:?}")
        };
        assert_eq!(cx.point[0].1, Rational::new(1.into(), 2.into()));
    }

    fn cases(l: &str, r: &str) -> Cases {
        let limits = Limits::default();
        let (mut canon, d) = difference(l, r, &limits);
        analyse(&mut canon, &d, &limits)
    }

    #[test]
    fn without_steps_in_the_table_the_split_finds_no_atoms() {
        let limits = Limits::default();
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        for (l, r, steps) in [
            (
                "sigmoid(z)*(1 - sigmoid(z))",
                "exp(-z)/(1 + exp(-z))^2 + z",
                false,
            ),
            ("tanh(z/2) + log(1 + z^2)", "z^3", false),
            ("relu(z)", "z", true),
            ("exp(z*heaviside(z))", "exp(z)", true),
            ("abs(z)", "z", true),
        ] {
            let mut canon = Canonicalizer::new(&limits, Deadline::never());
            let cl = canon.canonical(&parse(l)).unwrap_or_else(|e| panic!("{e}"));
            let cr = canon.canonical(&parse(r)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(has_steps(&canon), steps, "{l} = {r}");
            let d = cl
                .sub(&cr, &limits, &Deadline::never())
                .unwrap_or_else(|e| panic!("{e}"));
            let cases = split(&mut canon, &d);
            assert_eq!(!cases.atoms.is_empty(), steps, "{l} = {r}");
        }
    }

    #[test]
    fn a_shifted_step_is_not_proved_and_its_sliver_is_seeded() {
        let c = cases("heaviside(z)", "heaviside(z - 1/1000)");
        assert!(!c.proved);
        let seeds: Vec<String> = c.seeds.iter().map(|(_, v)| v.to_string()).collect();
        assert_eq!(seeds, ["-1", "1/2000", "1001/1000"]);
    }

    #[test]
    fn sign_through_steps_is_proved_by_cases() {
        // Equal at every point, but only because H(z) = 0 with H(z − 1) = 1 cannot happen.
        let c = cases("heaviside(z)*heaviside(z - 1)", "heaviside(z - 1)");
        assert!(c.proved, "{c:?}");
    }

    #[test]
    fn product_of_opposite_steps_is_not_an_identity_at_the_kink() {
        let c = cases("heaviside(z)*heaviside(-z)", "0");
        assert!(!c.proved);
    }

    #[test]
    fn a_constant_gap_is_reported() {
        let c = cases("exp(z) + heaviside(z - 50)", "exp(z)");
        assert!(!c.proved);
        assert!(c
            .constant_gaps
            .iter()
            .any(|(a, k)| a == &vec![Rational::one()] && k.is_one()));
    }

    fn verdict(claim: &str) -> crate::check::Verdict {
        let src = crate::source::SourceFile::new("t.dc", claim);
        let loaded = crate::load::load(&src, &Limits::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let config = crate::check::CheckConfig::default();
        let checker = crate::check::Checker::new(&loaded.program, &config);
        let mut steps = checker.check_program();
        assert_eq!(steps.len(), 1);
        steps.remove(0).outcome.verdict
    }

    #[test]
    fn a_kink_moved_by_a_thousandth_is_caught_between_the_kinks() {
        let v = verdict("claim d/dz relu(z) = heaviside(z - 0.001)");
        let crate::check::Verdict::Incorrect(cx) = v else {
            panic!("{v:?}")
        };
        assert_eq!(cx.point[0].1, Rational::new(1.into(), 2000.into()));
    }

    #[test]
    fn a_gap_hidden_by_f64_rounding_is_not_evidence() {
        let v = verdict("claim d/dz exp(z) = exp(z) + heaviside(z - 50)");
        assert!(matches!(v, crate::check::Verdict::Undecided(_)), "{v:?}");
    }

    #[test]
    fn a_gap_outside_the_assumed_domain_does_not_matter() {
        let v = verdict("assume z < 10\nclaim d/dz exp(z) = exp(z) + heaviside(z - 50)");
        assert!(v.is_correct(), "{v:?}");
    }

    #[test]
    fn equal_steps_written_differently_are_proved_by_cases() {
        let v = verdict("claim d/dz max(z, 1) = heaviside(z)*heaviside(z - 1)");
        let crate::check::Verdict::Proved(p) = v else {
            panic!("{v:?}")
        };
        assert_eq!(p.cases().len(), 2);
    }

    /// Points on both sides of and at small cuts, with machine-size and big numbers.
    fn probe_values() -> Vec<Rational> {
        let mut out = Vec::new();
        let big = num_bigint::BigInt::from(10).pow(30);
        for k in -8i64..=8 {
            for (n, d) in [(0, 1), (1, 2), (1, 3), (-1, 1000), (1, 1000), (7, 5)] {
                out.push(Rational::from_integer(k.into()) + Rational::new(n.into(), d.into()));
            }
            // k ± 10⁻³⁰, past machine integers.
            let tiny = Rational::new(1.into(), big.clone());
            out.push(Rational::from_integer(k.into()) + &tiny);
            out.push(Rational::from_integer(k.into()) - &tiny);
            out.push(Rational::new(
                big.clone() * k + 123_456_789,
                big.clone() + 1,
            ));
        }
        out
    }

    #[test]
    fn pieces_give_the_case_each_point_evaluates_to() {
        let limits = Limits::default();
        let z = Symbol::new("z");
        for (l, r, n_cuts) in [
            ("heaviside(z*heaviside(z) - 6) + heaviside(z - 6)", "0", 2),
            (
                "heaviside(-3/2 - z/2 + z*heaviside(z)) + heaviside(-3 - 3*heaviside(z - 3) - z + z*heaviside(z - 3))",
                "heaviside(z + 3)",
                3,
            ),
            ("heaviside(2*heaviside(z - 1)*z - z - 1/2)", "heaviside(1 - z)", 2),
            ("heaviside(heaviside(z)/2 - 1/4 + 0*z)", "1", 1),
        ] {
            let mut c = cases(l, r);
            assert!(c.linear.is_none() && !c.atoms.is_empty(), "{l}: {c:?}");
            for t in probe_values() {
                let point = vec![(z.clone(), t.clone())];
                let old = assignment_at_point(&c.atoms, &c.in_steps, &point, &limits);
                assert_eq!(c.assignment_at(&point, &limits), old, "{l} at z = {t}");
            }
            let Some(Some(p)) = &c.pieces else {
                panic!("{l}: no pieces")
            };
            assert_eq!(p.cuts.len(), n_cuts, "{l}: {:?}", p.cuts);
        }
    }

    #[test]
    fn cuts_kept_from_other_claims_give_the_pieces_found_afresh() {
        let limits = Limits::default();
        let claims = [
            ("heaviside(z*heaviside(z) - 6) + heaviside(z - 6)", "0"),
            ("heaviside(z*heaviside(z) - 6)", "heaviside(z + 1)"),
            (
                "heaviside(2*heaviside(z - 1)*z - z - 1/2)",
                "heaviside(1 - z)",
            ),
            (
                "heaviside(2*heaviside(z - 1)*z - z - 1/2)",
                "heaviside(z*heaviside(z) - 6)",
            ),
            // Not piecewise linear: no pieces.
            ("heaviside(z^2*heaviside(z) - 1)", "0"),
            ("heaviside(z^2*heaviside(z) - 1)", "heaviside(z - 6)"),
        ];
        let mut known = FxHashMap::default();
        for (l, r) in claims {
            let fresh = cases(l, r);
            let fresh = Pieces::of(
                &fresh.atoms,
                &fresh.in_steps,
                &limits,
                &mut FxHashMap::default(),
            );
            // Not `cases`: its `split` finds the pieces already (for the feasible places).
            let (mut canon, d) = difference(l, r, &limits);
            let mut kept = split_undecided(&mut canon, &d);
            let atoms_known = kept.atoms.iter().filter(|a| known.contains_key(*a)).count();
            kept.find_pieces(&limits, &mut known);
            let Some(kept) = &kept.pieces else {
                panic!("{l} = {r}: not tried")
            };
            let view = |p: &Option<Pieces>| {
                p.as_ref().map(|p| {
                    (
                        p.symbol.clone(),
                        p.cuts.clone(),
                        p.small.clone(),
                        p.met.len(),
                    )
                })
            };
            assert_eq!(view(kept), view(&fresh), "{l} = {r}");
            assert_eq!(kept.is_none(), l.contains("z^2"), "{l} = {r}");
            // From the second claim on, some atoms were met before.
            if l.contains("heaviside(z*heaviside(z) - 6)") && r == "heaviside(z + 1)" {
                assert!(atoms_known > 0, "{l} = {r}");
            }
        }
    }

    #[test]
    fn points_of_one_place_lie_in_one_case() {
        let limits = Limits::default();
        let z = Symbol::new("z");
        let mut c = cases("heaviside(z*heaviside(z) - 6) + heaviside(z - 6)", "0");
        let mut case_of_place: Vec<(usize, Vec<Digit>)> = Vec::new();
        for t in probe_values() {
            let point = vec![(z.clone(), t.clone())];
            let place = c
                .piece_place(&point, &limits)
                .unwrap_or_else(|| panic!("no place at z = {t}"));
            let case = assignment_at_point(&c.atoms, &c.in_steps, &point, &limits)
                .unwrap_or_else(|| panic!("no case at z = {t}"));
            match case_of_place.iter().find(|(p, _)| *p == place) {
                Some((_, met)) => assert_eq!(*met, case, "z = {t}"),
                None => case_of_place.push((place, case)),
            }
        }
        // Below 0, between 0 and 6, above 6, and the two cuts themselves.
        assert_eq!(case_of_place.len(), 5, "{case_of_place:?}");
        // Linear atoms have no pieces: their cases come from the roots.
        let mut linear = cases("heaviside(z) + heaviside(z - 1)", "0");
        assert_eq!(
            linear.piece_place(&[(z.clone(), Rational::one())], &limits),
            None
        );
    }

    #[test]
    fn a_gap_in_a_place_of_nested_steps_is_found_at_its_first_point() {
        // exp(z) hides the gap above z = 50 from f64; the step's argument is piecewise linear.
        let v = verdict("claim d/dz exp(z) = exp(z) + heaviside(z*heaviside(z) - 50)");
        let crate::check::Verdict::Undecided(why) = &v else {
            panic!("{v:?}")
        };
        assert!(
            why.starts_with("left minus right is exactly −1 at z = "),
            "{why}"
        );
    }

    #[test]
    fn arguments_not_piecewise_linear_have_no_pieces() {
        let limits = Limits::default();
        let z = Symbol::new("z");
        for (l, r) in [
            ("heaviside(z^2*heaviside(z) - 2)", "0"),
            ("heaviside(z*heaviside(z) - 1) + heaviside(exp(z) - 2)", "0"),
        ] {
            let mut c = cases(l, r);
            let point = vec![(z.clone(), Rational::from_integer(3.into()))];
            let old = assignment_at_point(&c.atoms, &c.in_steps, &point, &limits);
            assert_eq!(c.assignment_at(&point, &limits), old, "{l}");
            assert!(matches!(c.pieces, Some(None)), "{l}: {:?}", c.pieces);
        }
    }

    #[test]
    fn linear_steps_compare_with_their_roots() {
        let c = cases(
            "heaviside(z) + heaviside(3 - 2*z) + heaviside(z/7 + 1/3)",
            "0",
        );
        let Some(lin) = &c.linear else {
            panic!("{c:?}")
        };
        for t in probe_values() {
            let want: Vec<Digit> = lin
                .coefficients
                .iter()
                .map(|(a, b)| step_digit(&(a * &t + b)))
                .collect();
            assert_eq!(lin.digits_at(&t), want, "z = {t}");
        }
    }

    #[test]
    fn every_place_has_one_representative_lying_in_it() {
        let limits = Limits::default();
        for (l, r) in [
            ("heaviside(3 - abs(z))", "heaviside(3 - abs(z))^2"),
            ("heaviside(z*heaviside(z) - 6)", "heaviside(z - 6)"),
            ("heaviside(heaviside(z) - 2)", "0"),
        ] {
            let (mut canon, d) = difference(l, r, &limits);
            let mut cases = split_undecided(&mut canon, &d);
            cases.find_pieces(&limits, &mut FxHashMap::default());
            let Some(Some(pieces)) = &cases.pieces else {
                panic!("{l} = {r}: no pieces")
            };
            let reps = pieces.representatives();
            assert_eq!(reps.len(), 2 * pieces.cuts.len() + 1, "{l} = {r}");
            for (k, t) in reps.iter().enumerate() {
                let point: Vec<(Symbol, Rational)> = pieces
                    .symbol
                    .iter()
                    .map(|s| (s.clone(), t.clone()))
                    .collect();
                assert_eq!(pieces.place(&point), Some(k), "{l} = {r} at {t}");
            }
        }
    }

    /// The verdict of `claim` after the definitions of the piecewise activations.
    fn verdict_with_activations(claim: &str) -> crate::check::Verdict {
        verdict(&format!(
            "let hardsigmoid(z) = max(0, min(1, z/6 + 1/2))\n\
             let hardtanh(z) = max(-1, min(1, z))\n\
             let relu6(z) = min(max(0, z), 6)\n\
             let hardswish(z) = z*min(max(0, z + 3), 6)/6\n\
             {claim}"
        ))
    }

    #[test]
    fn nested_steps_are_proved_by_the_cases_of_their_places() {
        for claim in [
            "claim d/dz hardsigmoid(z) = heaviside(3 - abs(z))/6",
            "claim d/dz hardsigmoid(z) = heaviside(z + 3)*heaviside(3 - z)/6",
            "claim d/dz hardtanh(z) = heaviside(z + 1) - heaviside(z - 1)",
            "claim d/dz hardtanh(z) = heaviside(1 - abs(z))",
            "claim d/dz relu6(z) = heaviside(z)*heaviside(6 - z)",
            "claim d/dz hardswish(z) = heaviside(z - 3) + heaviside(z + 3)*heaviside(3 - z)*(2*z + 3)/6",
            "claim heaviside(z*heaviside(z) - 6) = heaviside(z - 6)",
        ] {
            let v = verdict_with_activations(claim);
            let crate::check::Verdict::Proved(proof) = &v else {
                panic!("{claim}: {v:?}")
            };
            assert!(!proof.cases().is_empty(), "{claim}: {v:?}");
        }
    }

    #[test]
    fn a_claim_that_differs_only_at_a_cut_is_not_proved() {
        // H(0) = ½, so H(u)² = ¼ where H(u) = ½: the sides differ exactly at z = ±3 (the
        // cuts, where 3 − |z| = 0) and agree everywhere else. Without the cut places among
        // the feasible cases, every remaining case vanishes and this would be "proved".
        let limits = Limits::default();
        for (l, r) in [
            ("heaviside(3 - abs(z))", "heaviside(3 - abs(z))^2"),
            (
                "heaviside(z*heaviside(z) - 6)",
                "heaviside(z*heaviside(z) - 6)^2",
            ),
        ] {
            let (mut canon, d) = difference(l, r, &limits);
            let cases = split(&mut canon, &d);
            assert!(!cases.feasible.is_empty(), "{l} = {r}: {cases:?}");
            assert!(!cases.proved, "{l} = {r}: {cases:?}");
        }
        // Not proved, and not "correct by evidence" either: incorrect at a cut, |z| = 3.
        let claim = "claim heaviside(3 - abs(z)) = heaviside(3 - abs(z))^2";
        let v = verdict_with_activations(claim);
        let crate::check::Verdict::Incorrect(cx) = &v else {
            panic!("{claim}: {v:?}")
        };
        assert_eq!(
            cx.point[0].1.abs(),
            Rational::from_integer(3.into()),
            "{claim}: {v:?}"
        );
        // The same difference in a derivative lies at its kinks, where the derivative does
        // not exist: not proved, and not refuted there either.
        let claim = "claim d/dz hardsigmoid(z) = heaviside(3 - abs(z))^2/6";
        let v = verdict_with_activations(claim);
        assert!(
            matches!(v, crate::check::Verdict::ByEvidence(_)),
            "{claim}: {v:?}"
        );
    }

    #[test]
    fn a_claim_that_differs_only_at_a_cut_the_sampler_misses_is_refuted_there() {
        let half = Rational::new(1.into(), 2.into());
        let quarter = Rational::new(1.into(), 4.into());
        let seventh = Rational::new(1.into(), 7.into());
        for (claim, at) in [
            (
                "claim heaviside(z - 1/7) = heaviside(z - 1/7)^2",
                seventh.clone(),
            ),
            (
                "claim heaviside(1/7 - abs(z)) = heaviside(1/7 - abs(z))^2",
                -&seventh,
            ),
            // Nested steps (pieces, not linear atoms).
            (
                "claim heaviside(z*heaviside(z) - 1/7) = heaviside(z*heaviside(z) - 1/7)^2",
                seventh.clone(),
            ),
        ] {
            let v = verdict(claim);
            let crate::check::Verdict::Incorrect(cx) = &v else {
                panic!("{claim}: {v:?}")
            };
            assert_eq!(cx.point, vec![(Symbol::new("z"), at)], "{claim}");
            assert_eq!(cx.exact, Some((half.clone(), quarter.clone())), "{claim}");
        }
        // Without exact values (exp), the steps are still taken exactly at the cut.
        let v = verdict("claim exp(z) + heaviside(z - 1/7) = exp(z) + heaviside(z - 1/7)^2");
        let crate::check::Verdict::Incorrect(cx) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(cx.point, vec![(Symbol::new("z"), seventh.clone())]);
        assert!(cx.exact.is_none());
        assert!((cx.left - cx.right - 0.25).abs() < 1e-12, "{cx:?}");
        // The other symbols take the values of a sample point.
        let v = verdict("claim y*heaviside(z - 1/7) = y*heaviside(z - 1/7)^2");
        let crate::check::Verdict::Incorrect(cx) = &v else {
            panic!("{v:?}")
        };
        assert!(
            cx.point.contains(&(Symbol::new("z"), seventh.clone())),
            "{cx:?}"
        );
    }

    #[test]
    fn a_cut_outside_the_assumed_domain_or_at_a_kink_refutes_nothing() {
        for claim in [
            "assume z > 1/7\nclaim heaviside(z - 1/7) = heaviside(z - 1/7)^2",
            // log(z − 1/7) is defined only above the cut.
            "claim log(z - 1/7) + heaviside(z - 1/7) = log(z - 1/7) + heaviside(z - 1/7)^2",
            // Derivatives at their kinks.
            "claim d/dz relu(z - 1/7) = heaviside(z - 1/7)^2",
            "claim d/dz relu(z) = heaviside(z)^2",
        ] {
            let v = verdict(claim);
            assert!(v.is_correct(), "{claim}: {v:?}");
        }
        // On the boundary of the assumed interval, the cut is inside it.
        let v = verdict("assume z >= 1/7\nclaim heaviside(z - 1/7) = heaviside(z - 1/7)^2");
        assert!(matches!(v, crate::check::Verdict::Incorrect(_)), "{v:?}");
    }

    #[test]
    fn a_proof_by_cases_leaves_out_the_places_outside_the_domain_and_at_kinks() {
        for (claim, in_domain, off_kinks) in [
            (
                "assume z > 1/7\nclaim heaviside(z - 1/7) = heaviside(z - 1/7)^2",
                true,
                false,
            ),
            ("assume w < 0\nclaim d/dw relu(w) = 0", true, false),
            ("assume w <= 0\nclaim d/dw relu(w) = 0", true, true),
            (
                "claim d/dz relu(z - 1/7) = heaviside(z - 1/7)^2",
                false,
                true,
            ),
            ("claim d/dz abs(z) = 2*heaviside(z)^2 - 1", false, true),
        ] {
            let v = verdict(claim);
            let crate::check::Verdict::Proved(p) = &v else {
                panic!("{claim}: {v:?}")
            };
            assert!(!p.cases().is_empty(), "{claim}: {v:?}");
            assert_eq!(
                (p.within_assumptions(), p.off_kinks()),
                (in_domain, off_kinks),
                "{claim}"
            );
        }
        for claim in [
            // The place z = 1/7 is inside (on the boundary): the claim is wrong there.
            "assume z >= 1/7\nclaim heaviside(z - 1/7) = heaviside(z - 1/7)^2",
            // Wrong on an assumed interval.
            "assume w < 0\nclaim d/dw relu(w) = 1",
            // A fact that is not linear in the symbol restricts nothing.
            "assume z^2 > 1/49\nclaim heaviside(z - 1/7) = heaviside(z - 1/7)^2",
        ] {
            let v = verdict(claim);
            assert!(
                !matches!(v, crate::check::Verdict::Proved(_)),
                "{claim}: {v:?}"
            );
        }
    }

    #[test]
    fn a_place_partly_inside_the_domain_is_decided_by_the_bounds_among_the_cuts() {
        // H(z − 1)·(2·H(z − 1) − 1)·H(3 − z) is 0 for z ≤ 1 and 1 on (1, 3). Assumed z < 3/2:
        // the place (1, 3) lies partly inside, and its midpoint 2 outside. With the bound 3/2
        // among the cuts, (1, 3/2) is a place of its own, inside, and the claim "= 0" is not
        // proved; judged by the midpoint alone it would be.
        let limits = Limits::default();
        let l = "heaviside(z - 1)*(2*heaviside(z - 1) - 1)*heaviside(3 - z)";
        let below = Rational::new(3.into(), 2.into());
        let restricted = |bounds: &[Rational]| {
            let (mut canon, d) = difference(l, "0", &limits);
            let mut c = split_undecided(&mut canon, &d);
            let mut inside = |t: &Rational| Some(*t < below);
            assert!(c.restrict_to_domain(bounds, &mut inside, &limits), "{c:?}");
            c.decide(&mut canon);
            c.proved
        };
        assert!(!restricted(std::slice::from_ref(&below)));
        assert!(restricted(&[]), "the midpoint alone misses (1, 3/2)");
        let v = verdict(&format!("assume z < 3/2\nclaim {l} = 0"));
        assert!(matches!(v, crate::check::Verdict::Incorrect(_)), "{v:?}");
    }

    #[test]
    fn a_gap_at_a_cut_where_a_side_is_not_known_is_undecided() {
        // H(exp(z) − exp(1/7)) switches at z = 1/7 too, but its argument has no exact value
        // there and f64 cannot tell its sign: the case's gap 1/4 is known, the values not.
        let v = verdict(
            "claim heaviside(exp(z) - exp(1/7)) + heaviside(z - 1/7) = \
             heaviside(exp(z) - exp(1/7)) + heaviside(z - 1/7)^2",
        );
        let crate::check::Verdict::Undecided(why) = &v else {
            panic!("{v:?}")
        };
        assert!(why.contains("exactly 1/4 at z = 1/7"), "{why}");
    }

    #[test]
    fn a_chain_from_a_derivative_is_not_refuted_at_its_kink() {
        let src = crate::source::SourceFile::new(
            "t.dc",
            "derive d/dz relu(z - 1/7)\n  = heaviside(z - 1/7)\n  = heaviside(z - 1/7)^2\n\
             derive heaviside(z - 1/7)\n  = heaviside(z - 1/7)^2\n",
        );
        let loaded = crate::load::load(&src, &Limits::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let config = crate::check::CheckConfig::default();
        let steps = crate::check::Checker::new(&loaded.program, &config).check_program();
        let verdicts: Vec<&str> = steps.iter().map(|s| s.outcome.verdict.word()).collect();
        // The second line of the first chain stands for relu'(z − 1/7), which does not exist
        // at 1/7; the second chain starts from a step, which does.
        assert_eq!(verdicts, ["correct", "correct", "incorrect"], "{steps:?}");
    }

    #[test]
    fn a_piecewise_claim_wrong_on_an_interval_is_refuted() {
        for claim in [
            "claim d/dz hardsigmoid(z) = heaviside(2 - abs(z))/6",
            "claim d/dz hardtanh(z) = heaviside(2 - abs(z))",
            "claim d/dz relu6(z) = heaviside(z)*heaviside(5 - z)",
        ] {
            let v = verdict_with_activations(claim);
            assert!(
                matches!(v, crate::check::Verdict::Incorrect(_)),
                "{claim}: {v:?}"
            );
        }
    }

    #[test]
    fn steps_in_two_symbols_have_no_feasible_places() {
        // Right, but the atoms' arguments have two symbols: no pieces, so every one of the
        // 3^k cases must vanish, and some infeasible ones do not.
        let limits = Limits::default();
        let (l, r) = (
            "heaviside((z - w)*heaviside(z - w) - 6)",
            "heaviside(z - w - 6)",
        );
        let (mut canon, d) = difference(l, r, &limits);
        let cases = split(&mut canon, &d);
        assert!(
            !cases.atoms.is_empty() && cases.feasible.is_empty(),
            "{cases:?}"
        );
        assert!(!cases.proved, "{cases:?}");
        let v = verdict(&format!("claim {l} = {r}"));
        assert!(matches!(v, crate::check::Verdict::ByEvidence(_)), "{v:?}");
    }
}
