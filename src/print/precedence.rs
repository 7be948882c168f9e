//! Precedence shared by the three printers: the *shape* of a printed form (what a reader or the
//! parser sees at its edges), the *context* a child is printed in, and the one table that says
//! when a child needs parentheses.
//!
//! Each printer computes shapes its own way (a rational is an atom-like `\frac` in LaTeX but a
//! `p/q` literal in ASCII), then asks [`needs_parens`]. Also here: the split of a sum's term into
//! its sign and the rest, which every printer uses so that `a − 2·b` prints the same way
//! everywhere.
//!
//! Nothing here recurses: shapes look at a node and at most its direct children, and the
//! degenerate one-element sums and products are peeled by a bounded loop.

use num_bigint::BigInt;
use num_traits::{One, Signed};

use crate::expr::{Expr, Node, Rational};

/// The outermost construct of a printed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `a + b − c`.
    Sum,
    /// Starts with a minus sign: `−2`, `−x`, `−2·x`, `−1/3`.
    Neg,
    /// `a·b`, `a/b`, `2 x`.
    Product,
    /// A positive rational literal `p/q` (ASCII and Unicode): one token only at the start of a
    /// product chain.
    Ratio,
    /// A LaTeX `\frac{…}{…}`: closed on both sides, but not a power base.
    Frac,
    /// A prefix operator applied to what follows: `d/dz (f)`, `Σ_{j=1}^{C} body`.
    Prefix,
    /// `a^b`, `x²`, `e^{x}`.
    Power,
    /// A name, a non-negative integer, a call, a parenthesised group.
    Atom,
}

/// The shape of a printed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The outermost construct.
    pub kind: Kind,
    /// The form ends with an operator that takes the rest of a product chain (`Σ … body`), so a
    /// factor after it would be swallowed.
    pub open_right: bool,
}

impl Shape {
    /// A closed shape of the given kind.
    pub const fn closed(kind: Kind) -> Shape {
        Shape {
            kind,
            open_right: false,
        }
    }

    /// The most demanding shape: every context but the top one parenthesises it.
    pub const WORST: Shape = Shape {
        kind: Kind::Sum,
        open_right: true,
    };
}

/// Where a child is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Whole expression, call argument, inside parentheses or braces.
    Top,
    /// First term of a sum.
    Term,
    /// A later term of a sum, after its `+` or `−` has been printed.
    NextTerm,
    /// A factor of a product chain.
    Factor {
        /// First in its chain (a rational literal may stand here).
        first: bool,
        /// Last in its chain (an open-right form may stand here).
        last: bool,
    },
    /// After `/`.
    Denominator,
    /// Base of a power.
    Base,
    /// Exponent after `^` (not inside braces).
    Exponent,
    /// Operand of `d/dz`.
    DerivBody,
    /// Summand of `Σ_{j=lo}^{hi}`, which extends over one product chain.
    SumBody,
}

/// Whether a form of `shape` must be parenthesised in `ctx` to be read back as one unit.
pub(crate) fn needs_parens(shape: Shape, ctx: Ctx) -> bool {
    use Kind::*;
    let allowed = match ctx {
        Ctx::Top => true,
        Ctx::Term => shape.kind != Sum,
        Ctx::NextTerm | Ctx::SumBody => !matches!(shape.kind, Sum | Neg),
        Ctx::Factor { first, last } => {
            let kind_ok = match shape.kind {
                Sum | Neg | Product => false,
                Ratio => first,
                Frac | Prefix | Power | Atom => true,
            };
            kind_ok && (last || !shape.open_right)
        }
        Ctx::Denominator | Ctx::Exponent => matches!(shape.kind, Power | Atom),
        Ctx::Base | Ctx::DerivBody => shape.kind == Atom,
    };
    !allowed
}

/// How many one-element sums or products [`peel`] looks through before giving up.
const PEEL_LIMIT: usize = 16;

/// Looks through degenerate one-element `Add([x])` / `Mul([x])` wrappers (which print as `x`).
/// `None` when more than a few are stacked: the caller then assumes the worst shape, which
/// costs at most a pair of parentheses and keeps every shape computation O(1).
pub(crate) fn peel(e: &Expr) -> Option<&Expr> {
    let mut cur = e;
    for _ in 0..PEEL_LIMIT {
        match cur.node() {
            Node::Add(xs) | Node::Mul(xs) if xs.len() == 1 => match xs.first() {
                Some(x) => cur = x,
                None => return Some(cur),
            },
            _ => return Some(cur),
        }
    }
    None
}

/// A term of a sum, split into its sign and the rest.
#[derive(Debug)]
pub(crate) enum Term<'e> {
    /// Printed as it is, after `+`.
    Plain(&'e Expr),
    /// `Num(c)` with `c < 0`: printed `− |c|`.
    NegNum(Rational),
    /// `Mul([Num(c), g1, …])` with `c < 0`: printed `− g1·…` when `coeff` is `None` (c = −1
    /// and g1 is not a number, so the parser folds the sign back into `Num(−1)`), else
    /// `− |c|·g1·…`.
    NegMul {
        /// `|c|`, when it is printed.
        coeff: Option<Rational>,
        /// The factors after the coefficient.
        factors: &'e [Expr],
    },
}

/// Splits a term of a sum (or a whole product) into its sign and the rest; see [`Term`].
pub(crate) fn split_sign(e: &Expr) -> Term<'_> {
    match e.node() {
        Node::Num(c) if c.is_negative() => Term::NegNum(-c),
        Node::Mul(xs) => match xs.split_first() {
            Some((first, rest)) => match first.as_num() {
                Some(c) if c.is_negative() => {
                    let minus_one = (-c).is_one();
                    let coeff = match rest.first() {
                        // `−1/z`, not `−z⁻¹`: a leading reciprocal keeps the 1 above the bar.
                        Some(g1)
                            if minus_one && g1.as_num().is_none() && reciprocal(g1).is_none() =>
                        {
                            None
                        }
                        _ => Some(-c),
                    };
                    Term::NegMul {
                        coeff,
                        factors: rest,
                    }
                }
                _ => Term::Plain(e),
            },
            None => Term::Plain(e),
        },
        _ => Term::Plain(e),
    }
}

/// `Some(base)` for `Pow(base, Num(−1))`, which a product prints as a division.
pub(crate) fn reciprocal(e: &Expr) -> Option<&Expr> {
    match e.node() {
        Node::Pow(base, exp) if exp.as_num().is_some_and(|r| (-r).is_one()) => Some(base),
        _ => None,
    }
}

/// True for a number that prints as a bare integer literal (either sign).
pub(crate) fn is_int(e: &Expr) -> bool {
    e.as_num().is_some_and(|r| r.is_integer())
}

/// True for a non-negative integer.
pub(crate) fn is_nonneg_int(e: &Expr) -> bool {
    e.as_num()
        .is_some_and(|r| r.is_integer() && !r.is_negative())
}

/// The decimal spelling of a non-integer |r| whose denominator is 2^a·5^b, when it is shorter
/// than `p/q`: the constants people type as decimals (SELU's 1.0507009873554805, GELU's
/// 0.044715) print back as they were written, and the reader reads them back exactly. Short
/// fractions stay fractions (1/2, 3/4, 1/8).
pub(crate) fn decimal(r: &Rational) -> Option<String> {
    use num_integer::Integer;
    use num_traits::Zero;
    let abs = r.abs();
    if abs.is_integer() {
        return None;
    }
    let (p, q) = (abs.numer(), abs.denom());
    let (two, five, ten) = (BigInt::from(2), BigInt::from(5), BigInt::from(10));
    let mut rest = q.clone();
    let mut digits = 0usize;
    // q = 2^a·5^b needs max(a, b) decimals; more than 40 is never shorter than p/q anyway.
    while !rest.is_one() && digits <= 40 {
        let (by_ten, r10) = rest.div_rem(&ten);
        if r10.is_zero() {
            rest = by_ten;
        } else if rest.is_even() {
            rest /= &two;
        } else if (&rest % &five).is_zero() {
            rest /= &five;
        } else {
            return None;
        }
        digits += 1;
    }
    if !rest.is_one() {
        return None;
    }
    let scaled = p * ten.pow(digits as u32) / q;
    let text = scaled.to_string();
    let (int_part, frac_part) = if text.len() > digits {
        text.split_at(text.len() - digits)
    } else {
        ("", text.as_str())
    };
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let spelled = format!("{int_part}.{frac_part:0>digits$}");
    let fraction_len = p.to_string().len() + 1 + q.to_string().len();
    (spelled.len() < fraction_len).then_some(spelled)
}

/// The shape of a number printed as `p/q` (ASCII, Unicode) or `\frac{p}{q}` (`frac_kind`).
pub(crate) fn num_shape(r: &Rational, frac_kind: Kind) -> Shape {
    if r.is_negative() {
        Shape::closed(Kind::Neg)
    } else if r.is_integer() || decimal(r).is_some() {
        Shape::closed(Kind::Atom)
    } else {
        Shape::closed(frac_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Symbol;

    fn x() -> Expr {
        Expr::var("x")
    }

    #[test]
    fn sum_is_parenthesised_everywhere_but_top() {
        let sum = Shape::closed(Kind::Sum);
        assert!(!needs_parens(sum, Ctx::Top));
        for ctx in [
            Ctx::Term,
            Ctx::NextTerm,
            Ctx::Factor {
                first: true,
                last: true,
            },
            Ctx::Denominator,
            Ctx::Base,
            Ctx::Exponent,
            Ctx::DerivBody,
            Ctx::SumBody,
        ] {
            assert!(needs_parens(sum, ctx), "{ctx:?}");
        }
    }

    #[test]
    fn ratio_literal_only_starts_a_chain() {
        let ratio = Shape::closed(Kind::Ratio);
        assert!(!needs_parens(
            ratio,
            Ctx::Factor {
                first: true,
                last: false
            }
        ));
        assert!(needs_parens(
            ratio,
            Ctx::Factor {
                first: false,
                last: true
            }
        ));
        assert!(needs_parens(ratio, Ctx::Exponent));
        assert!(!needs_parens(ratio, Ctx::NextTerm));
    }

    #[test]
    fn open_right_form_must_be_last_factor() {
        let sigma = Shape {
            kind: Kind::Prefix,
            open_right: true,
        };
        assert!(!needs_parens(
            sigma,
            Ctx::Factor {
                first: false,
                last: true
            }
        ));
        assert!(needs_parens(
            sigma,
            Ctx::Factor {
                first: true,
                last: false
            }
        ));
        assert!(!needs_parens(sigma, Ctx::NextTerm));
    }

    #[test]
    fn minus_one_before_a_name_folds_into_the_sign() {
        let e = Expr::neg(x());
        assert!(
            matches!(split_sign(&e), Term::NegMul { coeff: None, factors } if factors.len() == 1)
        );
    }

    #[test]
    fn minus_one_before_a_number_keeps_its_one() {
        let e = Expr::mul(vec![Expr::int(-1), Expr::int(2)]);
        match split_sign(&e) {
            Term::NegMul { coeff: Some(c), .. } => assert!(c.is_one()),
            other => panic!("unexpected split {other:?}"),
        }
    }

    #[test]
    fn negative_coefficient_is_made_positive() {
        let e = Expr::mul(vec![Expr::frac(-2, 3), x()]);
        match split_sign(&e) {
            Term::NegMul {
                coeff: Some(c),
                factors,
            } => {
                assert_eq!(Expr::num(c), Expr::frac(2, 3));
                assert_eq!(factors, &[x()]);
            }
            other => panic!("unexpected split {other:?}"),
        }
    }

    #[test]
    fn peel_stops_after_a_bounded_number_of_wrappers() {
        let mut e = Expr::sym(Symbol::new("x"));
        for _ in 0..3 {
            e = Expr::add(vec![e]);
        }
        assert_eq!(peel(&e), Some(&x()));
        for _ in 0..PEEL_LIMIT {
            e = Expr::mul(vec![e]);
        }
        assert_eq!(peel(&e), None);
    }

    #[test]
    fn reciprocal_is_power_minus_one_only() {
        let r = Expr::pow(x(), Expr::int(-1));
        assert_eq!(reciprocal(&r), Some(&x()));
        assert_eq!(reciprocal(&Expr::pow(x(), Expr::int(-2))), None);
    }

    #[test]
    fn decimals_only_where_shorter_than_the_fraction() {
        let q = |p: i64, d: i64| Rational::new(p.into(), d.into());
        assert_eq!(decimal(&q(1, 2)), None);
        assert_eq!(decimal(&q(3, 8)), None);
        assert_eq!(decimal(&q(44715, 1_000_000)), Some("0.044715".into()));
        assert_eq!(decimal(&q(-21, 20)), Some("1.05".into()));
        assert_eq!(decimal(&q(1, 3)), None);
        assert_eq!(decimal(&q(7, 1)), None);
    }
}
