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
//! - A case whose difference is a nonzero constant c, met at a sample point, means the sides
//!   differ there by exactly c even if f64 cannot see it (exp(z) against exp(z) + H(z − 50));
//!   the checker then refuses numeric evidence.
//!
//! At most `MAX_ATOMS` atoms are split on (3^5 = 243 cases); beyond that nothing is decided
//! here and the checker samples as before.

use num_traits::{One, Signed, Zero};
use rustc_hash::FxHashMap;

use crate::eval::{eval_interval_in, exact_value, point_intervals};
use crate::expr::{Builtin, Expr, Func, Node, Rational, Symbol};
use crate::limits::Limits;
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
    /// any.
    seen: Vec<(Vec<Digit>, Option<Rational>)>,
    /// The difference as an expression (the cases substitute into it).
    diff: Option<Expr>,
    /// The atoms' arguments, when all are linear in one symbol.
    linear: Option<Linear>,
    /// Per atom (when not `linear`): whether its argument is built only from numbers,
    /// symbols, sums, products, small integer powers and H (see `rational_in_steps`), decided
    /// once rather than at every point.
    in_steps: Vec<bool>,
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
/// it vanishes in every case that can occur. `constant_gaps` is left empty: the checker needs
/// it only when the samples agree, and calls [`Cases::find_constant_gaps`] then.
///
/// Cases are canonicalized only until the answer is known: with univariate linear atoms the
/// feasible cases alone decide (the first that does not vanish refutes, all vanishing proves),
/// otherwise every case must vanish and the first that does not refutes. The verdict is the
/// one of looking at all 3^k cases.
pub(crate) fn split(canon: &mut Canonicalizer, diff: &RatFunc) -> Cases {
    let expr = canon.to_expr(diff);
    let atoms = heaviside_atoms(&expr);
    if atoms.is_empty() || atoms.len() > MAX_ATOMS {
        return Cases::default();
    }
    let linear = linear_args(canon, &atoms);
    let feasible: Option<Vec<Vec<Rational>>> = linear.as_ref().map(|lin| {
        let mut seen: Vec<Vec<Rational>> = Vec::new();
        for t in probe_points(&lin.roots()) {
            let a = lin.assignment_at(&t);
            if !seen.contains(&a) {
                seen.push(a);
            }
        }
        seen
    });
    let vanishes = |canon: &mut Canonicalizer, assignment: &[Rational]| {
        // A case that cannot be put in canonical form (a denominator that vanishes in it)
        // proves nothing.
        canon
            .canonical(&replace_atoms(&expr, &atoms, assignment))
            .is_ok_and(|d| d.is_zero())
    };
    let proved = match &feasible {
        // No feasible case found (an argument that does not evaluate exactly at the probes):
        // every case must vanish.
        Some(f) if !f.is_empty() => f.iter().all(|a| vanishes(canon, a)),
        _ => (0..n_cases(&atoms)).all(|case| vanishes(canon, &assignment_of(case, atoms.len()))),
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
        proved,
        seeds,
        #[cfg(test)]
        constant_gaps: Vec::new(),
        seen: Vec::new(),
        diff: Some(expr),
        linear,
        in_steps,
    }
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
        1 => Rational::new(1.into(), 2.into()),
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
        Rational::new(1.into(), 2.into()),
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
    /// The values of the atoms at `point`, as digits (see [`assignment_at_point`]); for
    /// linear arguments a·s + b computed from a and b, without evaluating the arguments.
    pub(crate) fn assignment_at(
        &self,
        point: &[(Symbol, Rational)],
        limits: &Limits,
    ) -> Option<Vec<Digit>> {
        match &self.linear {
            Some(lin) => {
                let t = point.iter().find(|(s, _)| *s == lin.symbol)?;
                Some(lin.digits_at(&t.1))
            }
            None => assignment_at_point(&self.atoms, &self.in_steps, point, limits),
        }
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

/// The digit of an atom value 0, ½ or 1 (tests).
#[cfg(test)]
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
        Rational::new(1.into(), 2.into())
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
    let mut stack = vec![e.clone()];
    let mut seen = rustc_hash::FxHashSet::default();
    while let Some(x) = stack.pop() {
        if !seen.insert(x.clone()) {
            continue;
        }
        if heaviside_arg(&x).is_some() && !out.contains(&x) {
            out.push(x.clone());
        }
        stack.extend(x.node().children().cloned());
    }
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
    Some(Linear {
        symbol: symbol?,
        coefficients,
    })
}

/// Atoms H(a·s + b), all in one symbol s.
#[derive(Debug)]
struct Linear {
    symbol: Symbol,
    /// (a, b) for each atom, a ≠ 0.
    coefficients: Vec<(Rational, Rational)>,
}

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
        self.coefficients
            .iter()
            .map(|(a, b)| step_digit(&(a * t + b)))
            .collect()
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
    use crate::limits::Deadline;

    fn cases(l: &str, r: &str) -> Cases {
        let limits = Limits::default();
        let parse = |t: &str| crate::api::parse(t).unwrap_or_else(|e| panic!("{e}"));
        let mut canon = Canonicalizer::new(&limits, Deadline::never());
        let cl = canon.canonical(&parse(l)).unwrap_or_else(|e| panic!("{e}"));
        let cr = canon.canonical(&parse(r)).unwrap_or_else(|e| panic!("{e}"));
        let d = cl
            .sub(&cr, &limits, &Deadline::never())
            .unwrap_or_else(|e| panic!("{e}"));
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
}
