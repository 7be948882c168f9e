//! Rational functions over ℚ in canonical form: a reduced quotient of two [`Poly`]s.
//!
//! [`RatFunc`] keeps `num/den` with `gcd(num, den) = 1`, `den ≠ 0` and the leading
//! coefficient of `den` equal to one. Since ℚ[x0, x1, …] has unique factorisation, each
//! rational function has exactly one such representation, so equal rational functions are
//! equal structs, and the derived `PartialEq`/`Hash` decide equality.
//!
//! Cancelling a common factor identifies functions that differ only where that factor
//! vanishes (`x/x` is `1`); deciding whether that is allowed is the caller's business.
//!
//! Every operation that may call [`gcd`] takes `&Limits` and `&Deadline`. Cancellation uses
//! [`Poly::div_exact`], so the value of a result never depends on the gcd being right.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use thiserror::Error;

use super::poly::{gcd, Coeff, Poly, Var};
use crate::expr::Rational;
use crate::limits::{Deadline, LimitKind, LimitReached, Limits};

/// Why an operation on rational functions has no result.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArithError {
    /// Division by the zero rational function (also a negative power of zero).
    #[error("division by the zero polynomial")]
    DivisionByZero,
    /// A limit was reached.
    #[error(transparent)]
    Limit(#[from] LimitReached),
}

/// A rational function `num/den` in canonical form.
///
/// Invariant (enforced by every constructor; there are no setters): `gcd(num, den) = 1`,
/// `den ≠ 0`, and `den`'s leading coefficient (in the monomial order of [`Poly`]) is one. Zero
/// is `0/1`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RatFunc {
    num: Poly,
    /// The denominator, `None` for one: most forms are polynomials, and a denominator one
    /// would be one more allocation for each of them. Never `Some` of one, so equal
    /// functions are still equal structs.
    den: Option<Poly>,
}

/// The polynomial one that [`RatFunc::den`] lends for a denominator one.
fn one_poly() -> &'static Poly {
    static ONE: LazyLock<Poly> = LazyLock::new(Poly::one);
    &ONE
}

impl RatFunc {
    /// Zero.
    pub fn zero() -> RatFunc {
        RatFunc::from_poly(Poly::zero())
    }

    /// One.
    pub fn one() -> RatFunc {
        RatFunc::from_poly(Poly::one())
    }

    /// The constant `c`.
    pub fn constant(c: Coeff) -> RatFunc {
        RatFunc::from_poly(Poly::constant(c))
    }

    /// The variable `v`.
    pub fn var(v: Var) -> RatFunc {
        RatFunc::from_poly(Poly::var(v))
    }

    /// The polynomial `p` (denominator one).
    pub fn from_poly(p: Poly) -> RatFunc {
        RatFunc { num: p, den: None }
    }

    /// `num/den` reduced to canonical form; `DivisionByZero` when `den` is zero.
    pub fn new(
        num: Poly,
        den: Poly,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, ArithError> {
        if den.is_zero() {
            return Err(ArithError::DivisionByZero);
        }
        let (num, den) = cancel(num, den, limits, deadline)?;
        Ok(RatFunc::monic_den(num, den))
    }

    /// Makes the denominator monic; `num/den` must already be reduced and `den ≠ 0`.
    fn monic_den(num: Poly, den: Poly) -> RatFunc {
        if num.is_zero() {
            return RatFunc::zero();
        }
        match den.leading_coeff().and_then(Coeff::recip) {
            Some(inv) if !inv.is_one() => RatFunc::raw(num.scale(&inv), den.scale(&inv)),
            _ => RatFunc::raw(num, den),
        }
    }

    /// `num/den` as it is (reduced, monic `den`), with a denominator one stored as `None`.
    fn raw(num: Poly, den: Poly) -> RatFunc {
        let den = (!den.is_one()).then_some(den);
        RatFunc { num, den }
    }

    /// The numerator.
    pub fn num(&self) -> &Poly {
        &self.num
    }

    /// The denominator (monic, non-zero).
    pub fn den(&self) -> &Poly {
        self.den.as_ref().unwrap_or_else(|| one_poly())
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// True for one.
    pub fn is_one(&self) -> bool {
        self.num.is_one() && self.den.is_none()
    }

    /// The polynomial, when the denominator is one.
    pub fn as_poly(&self) -> Option<&Poly> {
        self.den.is_none().then_some(&self.num)
    }

    /// The value of a constant (zero included); `None` when a variable occurs.
    pub fn constant_value(&self) -> Option<Coeff> {
        self.as_poly()?.constant_value()
    }

    /// `−self`.
    pub fn neg(&self) -> RatFunc {
        RatFunc {
            num: -&self.num,
            den: self.den.clone(),
        }
    }

    /// `self + other`.
    pub fn add(
        &self,
        other: &RatFunc,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, LimitReached> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let (a, b, c, d) = (&self.num, self.den(), &other.num, other.den());
        if b.is_one() && d.is_one() {
            return Ok(RatFunc::from_poly(a + c));
        }
        if b == d {
            let (num, den) = cancel(a + c, b.clone(), limits, deadline)?;
            return Ok(RatFunc::monic_den(num, den));
        }
        // Henrici: with g = gcd(b, d), b = g·b', d = g·d', the sum is (a·d' + c·b') / (b'·d'·g),
        // and the only common factors it can have are those of the numerator with g.
        let g = gcd(b, d, limits, deadline)?;
        if g.is_one() {
            let num = &a.mul(d, limits, deadline)? + &c.mul(b, limits, deadline)?;
            let den = b.mul(d, limits, deadline)?;
            return Ok(RatFunc::monic_den(num, den));
        }
        let (Some(b1), Some(d1)) = (
            b.div_exact(&g, limits, deadline)?,
            d.div_exact(&g, limits, deadline)?,
        ) else {
            // The gcd divides both by construction; without it, fall back to no cancellation.
            debug_assert!(false, "gcd(b, d) does not divide b or d");
            let num = &a.mul(d, limits, deadline)? + &c.mul(b, limits, deadline)?;
            let den = b.mul(d, limits, deadline)?;
            return Ok(RatFunc::monic_den(num, den));
        };
        let num = &a.mul(&d1, limits, deadline)? + &c.mul(&b1, limits, deadline)?;
        if num.is_zero() {
            return Ok(RatFunc::zero());
        }
        let (num, g) = cancel(num, g, limits, deadline)?;
        let den = b1.mul(&d1, limits, deadline)?.mul(&g, limits, deadline)?;
        Ok(RatFunc::monic_den(num, den))
    }

    /// `self − other`.
    pub fn sub(
        &self,
        other: &RatFunc,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, LimitReached> {
        self.add(&other.neg(), limits, deadline)
    }

    /// `self · other`.
    pub fn mul(
        &self,
        other: &RatFunc,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, LimitReached> {
        if self.is_zero() || other.is_zero() {
            return Ok(RatFunc::zero());
        }
        // 1·r = r: the same result as below (the numerator times one, the limits of that
        // product checked, the denominator kept) without the copies.
        if self.is_one() {
            other.check_product_limits(limits)?;
            return Ok(other.clone());
        }
        if other.is_one() {
            self.check_product_limits(limits)?;
            return Ok(self.clone());
        }
        // (a/b)·(c/d): cancelling gcd(a, d) and gcd(c, b) leaves a reduced product, and these
        // gcds are smaller than that of the full numerator and denominator.
        // A denominator of one (monic: the only constant one) has gcd 1 with anything, so
        // that cancellation is skipped, and a product with one is the other factor: the
        // same result without the copies.
        // Without a common factor the factors are used as they are, not copied.
        let (a, d) = match cancelled(&self.num, other.den(), limits, deadline)? {
            Some((a, d)) => (Cow::Owned(a), Cow::Owned(d)),
            None => (Cow::Borrowed(&self.num), Cow::Borrowed(other.den())),
        };
        let (c, b) = match cancelled(&other.num, self.den(), limits, deadline)? {
            Some((c, b)) => (Cow::Owned(c), Cow::Owned(b)),
            None => (Cow::Borrowed(&other.num), Cow::Borrowed(self.den())),
        };
        let num = a.mul(&c, limits, deadline)?;
        let den = if b.is_one() {
            d.into_owned()
        } else if d.is_one() {
            b.into_owned()
        } else {
            b.mul(&d, limits, deadline)?
        };
        Ok(RatFunc::monic_den(num, den))
    }

    /// The limits a product with one checks (see [`Poly::check_product_limits`]): those of
    /// the numerator.
    pub fn check_product_limits(&self, limits: &Limits) -> Result<(), LimitReached> {
        self.num.check_product_limits(limits)
    }

    /// `1/self`; `DivisionByZero` for zero.
    pub fn recip(&self) -> Result<RatFunc, ArithError> {
        if self.is_zero() {
            return Err(ArithError::DivisionByZero);
        }
        Ok(RatFunc::monic_den(self.den().clone(), self.num.clone()))
    }

    /// `self / other`; `DivisionByZero` when `other` is zero.
    pub fn div(
        &self,
        other: &RatFunc,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, ArithError> {
        Ok(self.mul(&other.recip()?, limits, deadline)?)
    }

    /// `self^n` for any integer `n` (`self^0` is one, also for zero); `DivisionByZero` for a
    /// negative power of zero, `Exponent` when `|n|` exceeds `u32::MAX`, and the limits of
    /// [`Poly::pow`].
    pub fn powi(
        &self,
        n: i64,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<RatFunc, ArithError> {
        let base = if n < 0 {
            Cow::Owned(self.recip()?)
        } else {
            Cow::Borrowed(self)
        };
        let k = u32::try_from(n.unsigned_abs()).map_err(|_| LimitReached {
            which: LimitKind::Exponent,
            at: "rational function power",
        })?;
        // The first power is the base itself (as `Poly::pow` returns it), 1/r included.
        if k == 1 {
            return Ok(base.into_owned());
        }
        // Powers of coprime polynomials are coprime, and the power of a monic polynomial is
        // monic (leading terms multiply), so no gcd is needed.
        // The numerator first, as its limit is the one reported when both reach one.
        let num = base.num.pow(k, limits, deadline)?;
        Ok(match &base.den {
            None => RatFunc::from_poly(num),
            Some(den) => RatFunc::raw(num, den.pow(k, limits, deadline)?),
        })
    }

    /// The value at a point; `None` when a variable has no value or the denominator vanishes
    /// there. Exact and unbounded: meant for tests.
    pub fn eval(&self, value_of: impl Fn(Var) -> Option<Rational>) -> Option<Rational> {
        let den = self.den().eval(&value_of)?;
        if num_traits::Zero::is_zero(&den) {
            return None;
        }
        Some(self.num.eval(&value_of)? / den)
    }
}

/// Divides `num` and `den` by their gcd. Should the gcd fail to divide exactly (a bug), they
/// are returned unchanged: unreduced, but with the right value.
fn cancel(
    num: Poly,
    den: Poly,
    limits: &Limits,
    deadline: &Deadline,
) -> Result<(Poly, Poly), LimitReached> {
    Ok(cancelled(&num, &den, limits, deadline)?.unwrap_or((num, den)))
}

/// `num` and `den` divided by their gcd, or `None` when there is nothing to cancel (the gcd
/// is one; `den` of one, monic, has gcd one with anything and is not looked at) or, should
/// the gcd fail to divide exactly (a bug), when they are to stay as they are.
fn cancelled(
    num: &Poly,
    den: &Poly,
    limits: &Limits,
    deadline: &Deadline,
) -> Result<Option<(Poly, Poly)>, LimitReached> {
    if den.is_one() {
        return Ok(None);
    }
    let g = gcd(num, den, limits, deadline)?;
    if g.is_one() || g.is_zero() {
        return Ok(None);
    }
    match (
        num.div_exact(&g, limits, deadline)?,
        den.div_exact(&g, limits, deadline)?,
    ) {
        (Some(n), Some(d)) => Ok(Some((n, d))),
        _ => {
            debug_assert!(false, "the gcd does not divide its arguments");
            Ok(None)
        }
    }
}

impl fmt::Display for RatFunc {
    /// A debugging form: `(x0 + 1)/(x1)`, or the numerator alone over one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.den {
            None => write!(f, "{}", self.num),
            Some(den) => write!(f, "({})/({})", self.num, den),
        }
    }
}

impl fmt::Debug for RatFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simplify::canon::poly::tests::arb_poly;
    use crate::simplify::canon::poly::Monomial;
    use num_bigint::BigInt;
    use proptest::prelude::*;

    fn lim() -> Limits {
        Limits::default()
    }
    fn never() -> Deadline {
        Deadline::never()
    }
    fn x() -> Poly {
        Poly::var(0)
    }
    fn y() -> Poly {
        Poly::var(1)
    }
    fn k(n: i64) -> Poly {
        Poly::constant(Coeff::from_i64(n))
    }
    fn pmul(a: &Poly, b: &Poly) -> Poly {
        a.mul(b, &lim(), &never()).unwrap()
    }
    fn rf(num: Poly, den: Poly) -> RatFunc {
        RatFunc::new(num, den, &lim(), &never()).unwrap()
    }
    fn add(a: &RatFunc, b: &RatFunc) -> RatFunc {
        a.add(b, &lim(), &never()).unwrap()
    }
    fn sub(a: &RatFunc, b: &RatFunc) -> RatFunc {
        a.sub(b, &lim(), &never()).unwrap()
    }
    fn mul(a: &RatFunc, b: &RatFunc) -> RatFunc {
        a.mul(b, &lim(), &never()).unwrap()
    }
    fn div(a: &RatFunc, b: &RatFunc) -> RatFunc {
        a.div(b, &lim(), &never()).unwrap()
    }

    #[test]
    fn new_cancels_common_factors() {
        let num = &pmul(&x(), &x()) - &k(1);
        assert_eq!(rf(num, &x() - &k(1)), RatFunc::from_poly(&x() + &k(1)));
        assert_eq!(rf(x(), x()), RatFunc::one());
        assert_eq!(rf(Poly::zero(), &x() + &k(3)), RatFunc::zero());
    }

    #[test]
    fn denominator_is_made_monic() {
        // (2x + 2) / (4x) = (x/2 + 1/2) / x.
        let r = rf(&pmul(&k(2), &x()) + &k(2), pmul(&k(4), &x()));
        assert_eq!(r.den(), &x());
        let half = Coeff::new(1, 2).unwrap();
        let expect = Poly::from_terms([(Monomial::var(0), half.clone()), (Monomial::one(), half)]);
        assert_eq!(r.num(), &expect);
        assert_eq!(r, rf(&x() + &k(1), pmul(&k(2), &x())));
        // A negative constant denominator moves into the numerator.
        assert_eq!(
            rf(x(), k(-3)).as_poly(),
            Some(&Poly::from_terms([(
                Monomial::var(0),
                Coeff::new(-1, 3).unwrap()
            )]))
        );
    }

    #[test]
    fn division_by_zero_is_an_error() {
        assert_eq!(
            RatFunc::new(x(), Poly::zero(), &lim(), &never()),
            Err(ArithError::DivisionByZero)
        );
        assert_eq!(
            RatFunc::var(0).div(&RatFunc::zero(), &lim(), &never()),
            Err(ArithError::DivisionByZero)
        );
        assert_eq!(RatFunc::zero().recip(), Err(ArithError::DivisionByZero));
        assert_eq!(
            RatFunc::zero().powi(-1, &lim(), &never()),
            Err(ArithError::DivisionByZero)
        );
        assert_eq!(
            RatFunc::zero().powi(0, &lim(), &never()),
            Ok(RatFunc::one())
        );
    }

    #[test]
    fn sums_and_products_reduce() {
        // 1/(x − 1) − 1/(x + 1) = 2/(x² − 1)
        let a = rf(k(1), &x() - &k(1));
        let b = rf(k(1), &x() + &k(1));
        assert_eq!(sub(&a, &b), rf(k(2), &pmul(&x(), &x()) - &k(1)));
        // x/(x + y) + y/(x + y) = 1
        let s = &x() + &y();
        assert_eq!(
            add(&rf(x(), s.clone()), &rf(y(), s.clone())),
            RatFunc::one()
        );
        // Shared factor in the denominators: 1/(x(x+1)) + 1/(x(x−1)) = 2/((x+1)(x−1))
        let a = rf(k(1), pmul(&x(), &(&x() + &k(1))));
        let b = rf(k(1), pmul(&x(), &(&x() - &k(1))));
        assert_eq!(add(&a, &b), rf(k(2), &pmul(&x(), &x()) - &k(1)));
        // (x/y) · (y/x) = 1 and (x/y) / (x/y) = 1
        let r = rf(x(), y());
        assert_eq!(mul(&r, &rf(y(), x())), RatFunc::one());
        assert_eq!(div(&r, &r), RatFunc::one());
        assert!(sub(&r, &r).is_zero());
    }

    #[test]
    fn integer_powers() {
        let r = rf(x(), &x() + &k(1));
        let sq = r.powi(-2, &lim(), &never()).unwrap();
        let x1 = &x() + &k(1);
        assert_eq!(sq, rf(pmul(&x1, &x1), pmul(&x(), &x())));
        assert_eq!(r.powi(0, &lim(), &never()), Ok(RatFunc::one()));
        let err = r.powi(i64::MIN, &lim(), &never()).unwrap_err();
        assert!(matches!(
            err,
            ArithError::Limit(LimitReached {
                which: LimitKind::Exponent,
                ..
            })
        ));
        let small = Limits {
            max_terms: 10,
            ..Limits::default()
        };
        let err = rf(&x() + &y(), k(1))
            .powi(20, &small, &never())
            .unwrap_err();
        assert!(matches!(
            err,
            ArithError::Limit(LimitReached {
                which: LimitKind::Terms,
                ..
            })
        ));
    }

    #[test]
    fn display_shows_quotient() {
        assert_eq!(rf(k(1), &x() + &k(1)).to_string(), "(1)/(x0 + 1)");
        assert_eq!(RatFunc::var(1).to_string(), "x1");
    }

    fn arb_ratfunc() -> impl Strategy<Value = RatFunc> {
        (
            arb_poly(2, 2, 3),
            arb_poly(2, 2, 3).prop_filter("non-zero", |p| !p.is_zero()),
        )
            .prop_map(|(n, d)| rf(n, d))
    }

    fn arb_point() -> impl Strategy<Value = [Rational; 2]> {
        [(-9i64..=9, 1i64..=7), (-9i64..=9, 1i64..=7)]
            .prop_map(|v| v.map(|(n, d)| Rational::new(BigInt::from(n), BigInt::from(d))))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arithmetic_agrees_with_evaluation(a in arb_ratfunc(), b in arb_ratfunc(), pt in arb_point()) {
            let at = |v: Var| pt.get(v as usize).cloned();
            let (Some(va), Some(vb)) = (a.eval(at), b.eval(at)) else {
                return Ok(());
            };
            let check = |r: &RatFunc, expect: Rational| -> Result<(), TestCaseError> {
                // Cancelling may remove a pole, never add one.
                let got = r.eval(at);
                prop_assert!(got.is_some(), "{} has a pole at {:?}", r, pt);
                prop_assert_eq!(got.unwrap(), expect);
                Ok(())
            };
            check(&add(&a, &b), &va + &vb)?;
            check(&sub(&a, &b), &va - &vb)?;
            check(&mul(&a, &b), &va * &vb)?;
            if !num_traits::Zero::is_zero(&vb) {
                check(&div(&a, &b), &va / &vb)?;
            }
            check(&a.powi(2, &lim(), &never()).unwrap(), &va * &va)?;
        }

        #[test]
        fn results_are_canonical(a in arb_ratfunc(), b in arb_ratfunc()) {
            let s = add(&a, &b);
            prop_assert_eq!(sub(&s, &b), a.clone());
            prop_assert!(sub(&s, &s).is_zero());
            if !b.is_zero() {
                prop_assert_eq!(div(&mul(&a, &b), &b), a.clone());
            }
            for r in [&s, &mul(&a, &b)] {
                prop_assert!(r.den().leading_coeff().is_some_and(Coeff::is_one));
                let g = gcd(r.num(), r.den(), &lim(), &never()).unwrap();
                prop_assert!(g.is_one() || r.is_zero(), "{} is not reduced", r);
            }
        }

        #[test]
        fn common_factors_cancel_to_the_same_struct(
            n in arb_poly(3, 2, 3),
            d in arb_poly(3, 2, 3).prop_filter("non-zero", |p| !p.is_zero()),
            g in arb_poly(3, 2, 3).prop_filter("non-zero", |p| !p.is_zero()),
        ) {
            prop_assert_eq!(rf(pmul(&n, &g), pmul(&d, &g)), rf(n, d));
        }
    }
}
