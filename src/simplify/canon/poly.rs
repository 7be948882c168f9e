//! Exact sparse multivariate polynomials over ℚ, and their greatest common divisor.
//!
//! This is the arithmetic beneath the canonical form. The caller numbers its atoms (symbols,
//! `exp(…)`, `log(…)`, other calls) by [`Var`]; a [`Poly`] is a finite sum of rational
//! [`Coeff`]icients times [`Monomial`]s in those variables. The representation is unique —
//! terms sorted by one monomial order, no zero coefficients, canonical coefficients — so two
//! polynomials are equal exactly when their structs are equal.
//!
//! # The monomial order
//!
//! Monomials are ordered *graded lexicographically*: the higher total degree is greater; between
//! equal total degrees, the monomial with the larger exponent of the lowest-numbered variable in
//! which they differ is greater. So `x0² > x0·x1 > x1² > x0 > x1 > 1`. A [`Poly`] stores its
//! terms greatest first, and its first term is its *leading* term. The order is multiplicative
//! (`a > b ⇒ a·c > b·c`), hence the leading term of a product is the product of the leading
//! terms, which [`Poly::div_exact`] and the monic normalisation of rational functions rely on.
//!
//! # Limits
//!
//! Products, powers, exact division and the gcd can grow without bound, so they take `&Limits`
//! and a `&Deadline` and return [`LimitReached`]: `Terms` when a result or an intermediate sum
//! exceeds `max_terms`, `Digits` when a coefficient exceeds about `max_digits` decimal digits,
//! `Exponent` when an exponent would overflow `u32`, `Depth` when the gcd recursion would go
//! deeper than `max_depth`, `Time` at the deadline. Reaching a limit is conservative (a refusal,
//! never a wrong result). Addition, subtraction, negation and scaling produce at most as many
//! terms as their inputs together, and are infallible.
//!
//! # Soundness of the gcd
//!
//! Every cancellation by a gcd is carried out with [`Poly::div_exact`], which checks that the
//! division is exact. A wrong gcd could therefore only leave a rational function unreduced
//! (a missed proof), never change its value.
//!
//! # What this module does not do
//!
//! It knows nothing of expressions or atoms, prints only a debugging form (`2*x0^2*x1 - 1/3`),
//! and does not factor beyond the gcd.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::expr::Rational;
use crate::limits::{Deadline, LimitKind, LimitReached, Limits};

/// A variable: the caller's number for an atom.
pub type Var = u32;

/// Stage named in `LimitReached` by products, powers and divisions.
const AT_ARITH: &str = "polynomial arithmetic";
/// Stage named in `LimitReached` by the gcd.
const AT_GCD: &str = "polynomial gcd";

fn limit(which: LimitKind, at: &'static str) -> LimitReached {
    LimitReached { which, at }
}

// ---- coefficients ------------------------------------------------------------------------

/// An exact rational coefficient.
///
/// A value whose numerator and denominator fit in an `i64` is stored inline, without
/// allocation, and arithmetic on such values uses `i128` intermediates; anything larger falls
/// back to a boxed [`Rational`]. The representation is canonical (a value is stored inline
/// exactly when it fits), so the derived equality and hash are those of the value, and
/// `Ord` is the numeric order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Coeff(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// `num/den` in lowest terms, `den ≥ 1`, and `num ≠ i64::MIN` so that negation and
    /// reciprocal cannot overflow.
    Small { num: i64, den: i64 },
    /// A value that does not fit `Small`, in lowest terms (as `Rational` always is).
    Big(Box<Rational>),
}

impl Coeff {
    /// Zero.
    pub fn zero() -> Coeff {
        Coeff(Repr::Small { num: 0, den: 1 })
    }

    /// One.
    pub fn one() -> Coeff {
        Coeff(Repr::Small { num: 1, den: 1 })
    }

    /// The integer `n`.
    pub fn from_i64(n: i64) -> Coeff {
        Coeff::from_i128_int(i128::from(n))
    }

    /// `num/den`, reduced; `None` when `den` is zero.
    pub fn new(num: i64, den: i64) -> Option<Coeff> {
        if den == 0 {
            None
        } else {
            Some(Coeff::from_i128_ratio(i128::from(num), i128::from(den)))
        }
    }

    /// The coefficient equal to `r`.
    pub fn from_rational(r: &Rational) -> Coeff {
        match (r.numer().to_i64(), r.denom().to_i64()) {
            (Some(num), Some(den)) if num != i64::MIN => Coeff(Repr::Small { num, den }),
            _ => Coeff(Repr::Big(Box::new(r.clone()))),
        }
    }

    fn from_rational_owned(r: Rational) -> Coeff {
        match (r.numer().to_i64(), r.denom().to_i64()) {
            (Some(num), Some(den)) if num != i64::MIN => Coeff(Repr::Small { num, den }),
            _ => Coeff(Repr::Big(Box::new(r))),
        }
    }

    /// This value as a [`Rational`].
    pub fn to_rational(&self) -> Rational {
        match &self.0 {
            Repr::Small { num, den } => Rational::new_raw(BigInt::from(*num), BigInt::from(*den)),
            Repr::Big(r) => (**r).clone(),
        }
    }

    /// Numerator and denominator (`den ≥ 1`, lowest terms) when both fit an `i128`: every
    /// inline value, and big ones of up to 38 digits (products of two 16-digit decimals, the
    /// constants of SELU, are such), whose arithmetic then needs no big integers.
    fn wide(&self) -> Option<(i128, i128)> {
        match &self.0 {
            Repr::Small { num, den } => Some((i128::from(*num), i128::from(*den))),
            Repr::Big(r) => Some((r.numer().to_i128()?, r.denom().to_i128()?)),
        }
    }

    fn from_i128_int(n: i128) -> Coeff {
        match i64::try_from(n) {
            Ok(num) if num != i64::MIN => Coeff(Repr::Small { num, den: 1 }),
            _ => Coeff(Repr::Big(Box::new(Rational::from_integer(BigInt::from(n))))),
        }
    }

    /// `num/den` reduced. Callers guarantee `den ≠ 0`; every caller's `den` is a product of
    /// denominators (≥ 1) or a checked non-zero divisor.
    fn from_i128_ratio(num: i128, den: i128) -> Coeff {
        if den == 0 {
            debug_assert!(false, "zero denominator in a coefficient");
            return Coeff::zero();
        }
        if den == 1 {
            return Coeff::from_i128_int(num);
        }
        let g = gcd_u128(num.unsigned_abs(), den.unsigned_abs());
        // Within 64 bits the divisions are single machine instructions rather than calls of
        // the 128-bit division routine; whatever does not end in an inline coefficient there
        // (a negation that overflows, i64::MIN) is left to the 128-bit path below.
        if let (Ok(n), Ok(d), Ok(g)) = (i64::try_from(num), i64::try_from(den), i64::try_from(g)) {
            let (n, d) = (n / g, d / g);
            let (n, d) = if d < 0 {
                (n.checked_neg(), d.checked_neg())
            } else {
                (Some(n), Some(d))
            };
            if let (Some(num), Some(den)) = (n, d) {
                if num != i64::MIN {
                    return Coeff(Repr::Small { num, den });
                }
            }
        }
        if let Ok(g) = i128::try_from(g) {
            let (n, d) = (num / g, den / g);
            let (n, d) = if d < 0 {
                (n.checked_neg(), d.checked_neg())
            } else {
                (Some(n), Some(d))
            };
            if let (Some(n), Some(d)) = (n, d) {
                if let (Ok(num), Ok(den)) = (i64::try_from(n), i64::try_from(d)) {
                    if num != i64::MIN {
                        return Coeff(Repr::Small { num, den });
                    }
                }
                return Coeff(Repr::Big(Box::new(Rational::new_raw(
                    BigInt::from(n),
                    BigInt::from(d),
                ))));
            }
        }
        Coeff::from_rational_owned(Rational::new(BigInt::from(num), BigInt::from(den)))
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        matches!(self.0, Repr::Small { num: 0, .. })
    }

    /// True for one.
    pub fn is_one(&self) -> bool {
        matches!(self.0, Repr::Small { num: 1, den: 1 })
    }

    /// True for a negative value.
    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::Small { num, .. } => *num < 0,
            Repr::Big(r) => r.is_negative(),
        }
    }

    /// The value as an `i64` when it is an integer stored inline (every integer in
    /// `i64::MIN + 1 ..= i64::MAX`); `None` otherwise.
    pub fn as_small_integer(&self) -> Option<i64> {
        match self.0 {
            Repr::Small { num, den: 1 } => Some(num),
            _ => None,
        }
    }

    /// True for an integer.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Small { den, .. } => *den == 1,
            Repr::Big(r) => r.is_integer(),
        }
    }

    /// Absolute value.
    pub fn abs(&self) -> Coeff {
        if self.is_negative() {
            -self
        } else {
            self.clone()
        }
    }

    /// `1/self`; `None` for zero.
    pub fn recip(&self) -> Option<Coeff> {
        match &self.0 {
            Repr::Small { num: 0, .. } => None,
            // `num ≠ i64::MIN` and `1 ≤ den ≤ i64::MAX`, so both negations are in range.
            Repr::Small { num, den } if *num < 0 => Some(Coeff(Repr::Small {
                num: -*den,
                den: -*num,
            })),
            Repr::Small { num, den } => Some(Coeff(Repr::Small {
                num: *den,
                den: *num,
            })),
            Repr::Big(r) => Some(Coeff::from_rational_owned(r.recip())),
        }
    }

    /// `self / other`; `None` when `other` is zero.
    pub fn checked_div(&self, other: &Coeff) -> Option<Coeff> {
        Some(self * &other.recip()?)
    }

    /// `self^k`, or `None` as soon as an intermediate value has more than about `max_digits`
    /// decimal digits.
    pub fn pow_bounded(&self, k: u32, max_digits: usize) -> Option<Coeff> {
        let mut acc = Coeff::one();
        let mut base = self.clone();
        let mut k = k;
        while k > 0 {
            if k & 1 == 1 {
                acc = &acc * &base;
                if acc.exceeds_digits(max_digits) {
                    return None;
                }
            }
            k >>= 1;
            if k > 0 {
                base = &base * &base;
                if base.exceeds_digits(max_digits) {
                    return None;
                }
            }
        }
        Some(acc)
    }

    /// Decimal digits of the larger of |numerator| and denominator: exact for inline values,
    /// an estimate within one digit (from the bit length) for big ones.
    pub fn digits(&self) -> u64 {
        match &self.0 {
            Repr::Small { num, den } => {
                let m = num.unsigned_abs().max(den.unsigned_abs());
                u64::from(m.checked_ilog10().unwrap_or(0)) + 1
            }
            Repr::Big(r) => {
                let bits = r.numer().bits().max(r.denom().bits());
                bits.saturating_mul(30_103) / 100_000 + 1
            }
        }
    }

    /// True when [`Coeff::digits`] exceeds `max_digits`. Inline values have at most 19 digits.
    fn exceeds_digits(&self, max_digits: usize) -> bool {
        if max_digits >= 19 && matches!(self.0, Repr::Small { .. }) {
            return false;
        }
        usize::try_from(self.digits()).map_or(true, |d| d > max_digits)
    }

    /// The non-negative gcd of two rationals: gcd of the numerators over the lcm of the
    /// denominators. Both `a` and `b` are integer multiples of it.
    fn rational_gcd(a: &Coeff, b: &Coeff) -> Coeff {
        match (&a.0, &b.0) {
            (Repr::Small { num: p, den: 1 }, Repr::Small { num: r, den: 1 }) => {
                // |p|, |r| ≤ i64::MAX, so their gcd is in range (and not i64::MIN).
                let g = gcd_u64(p.unsigned_abs(), r.unsigned_abs());
                Coeff::from_i128_int(i128::from(g))
            }
            (Repr::Small { num: p, den: q }, Repr::Small { num: r, den: s }) => {
                let g = gcd_u128(u128::from(p.unsigned_abs()), u128::from(r.unsigned_abs()));
                let (q, s) = (q.unsigned_abs(), s.unsigned_abs());
                let l = u128::from(q / gcd_u64(q, s)) * u128::from(s);
                match (i128::try_from(g), i128::try_from(l)) {
                    (Ok(g), Ok(l)) => Coeff::from_i128_ratio(g, l),
                    _ => Coeff::rational_gcd_big(a, b),
                }
            }
            _ => Coeff::rational_gcd_big(a, b),
        }
    }

    fn rational_gcd_big(a: &Coeff, b: &Coeff) -> Coeff {
        if let (Some((p, q)), Some((r, s))) = (a.wide(), b.wide()) {
            let g = gcd_u128(p.unsigned_abs(), r.unsigned_abs());
            let (q, s) = (q.unsigned_abs(), s.unsigned_abs());
            let l = (q / gcd_u128(q, s)).checked_mul(s);
            if let (Ok(g), Some(Ok(l))) = (i128::try_from(g), l.map(i128::try_from)) {
                return Coeff::from_i128_ratio(g, l);
            }
        }
        let (a, b) = (a.to_rational(), b.to_rational());
        let num = a.numer().gcd(b.numer());
        let den = a.denom().lcm(b.denom());
        Coeff::from_rational_owned(Rational::new(num, den))
    }
}

impl From<i64> for Coeff {
    fn from(n: i64) -> Coeff {
        Coeff::from_i64(n)
    }
}

impl From<&Rational> for Coeff {
    fn from(r: &Rational) -> Coeff {
        Coeff::from_rational(r)
    }
}

impl ops::Add for &Coeff {
    type Output = Coeff;
    fn add(self, other: &Coeff) -> Coeff {
        match (&self.0, &other.0) {
            (Repr::Small { num: a, den: 1 }, Repr::Small { num: c, den: 1 }) => {
                Coeff::from_i128_int(i128::from(*a) + i128::from(*c))
            }
            (Repr::Small { num: a, den: b }, Repr::Small { num: c, den: d }) => {
                let (a, b, c, d) = (
                    i128::from(*a),
                    i128::from(*b),
                    i128::from(*c),
                    i128::from(*d),
                );
                Coeff::from_i128_ratio(a * d + c * b, b * d)
            }
            _ => match (self.wide(), other.wide()) {
                (Some((a, b)), Some((c, d))) => wide_add(a, b, c, d),
                _ => None,
            }
            .unwrap_or_else(|| {
                Coeff::from_rational_owned(self.to_rational() + other.to_rational())
            }),
        }
    }
}

impl ops::Sub for &Coeff {
    type Output = Coeff;
    fn sub(self, other: &Coeff) -> Coeff {
        match (&self.0, &other.0) {
            (Repr::Small { num: a, den: 1 }, Repr::Small { num: c, den: 1 }) => {
                Coeff::from_i128_int(i128::from(*a) - i128::from(*c))
            }
            (Repr::Small { num: a, den: b }, Repr::Small { num: c, den: d }) => {
                let (a, b, c, d) = (
                    i128::from(*a),
                    i128::from(*b),
                    i128::from(*c),
                    i128::from(*d),
                );
                Coeff::from_i128_ratio(a * d - c * b, b * d)
            }
            _ => match (self.wide(), other.wide()) {
                (Some((a, b)), Some((c, d))) => c.checked_neg().and_then(|c| wide_add(a, b, c, d)),
                _ => None,
            }
            .unwrap_or_else(|| {
                Coeff::from_rational_owned(self.to_rational() - other.to_rational())
            }),
        }
    }
}

impl ops::Mul for &Coeff {
    type Output = Coeff;
    fn mul(self, other: &Coeff) -> Coeff {
        match (&self.0, &other.0) {
            (Repr::Small { num: a, den: 1 }, Repr::Small { num: c, den: 1 }) => {
                Coeff::from_i128_int(i128::from(*a) * i128::from(*c))
            }
            (Repr::Small { num: a, den: b }, Repr::Small { num: c, den: d }) => {
                let (a, b, c, d) = (
                    i128::from(*a),
                    i128::from(*b),
                    i128::from(*c),
                    i128::from(*d),
                );
                Coeff::from_i128_ratio(a * c, b * d)
            }
            _ => match (self.wide(), other.wide()) {
                (Some((a, b)), Some((c, d))) => wide_mul(a, b, c, d),
                _ => None,
            }
            .unwrap_or_else(|| {
                Coeff::from_rational_owned(self.to_rational() * other.to_rational())
            }),
        }
    }
}

impl ops::Neg for &Coeff {
    type Output = Coeff;
    fn neg(self) -> Coeff {
        match &self.0 {
            // `num ≠ i64::MIN`, so `-num` is in range and is not `i64::MIN` either.
            Repr::Small { num, den } => Coeff(Repr::Small {
                num: -*num,
                den: *den,
            }),
            Repr::Big(r) => Coeff::from_rational_owned(-(**r).clone()),
        }
    }
}

impl ops::Neg for Coeff {
    type Output = Coeff;
    fn neg(self) -> Coeff {
        -&self
    }
}

impl Ord for Coeff {
    fn cmp(&self, other: &Coeff) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Small { num: a, den: b }, Repr::Small { num: c, den: d }) => {
                (i128::from(*a) * i128::from(*d)).cmp(&(i128::from(*c) * i128::from(*b)))
            }
            _ => self.to_rational().cmp(&other.to_rational()),
        }
    }
}

impl PartialOrd for Coeff {
    fn partial_cmp(&self, other: &Coeff) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Coeff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Small { num, den: 1 } => write!(f, "{num}"),
            Repr::Small { num, den } => write!(f, "{num}/{den}"),
            Repr::Big(r) => write!(f, "{r}"),
        }
    }
}

impl fmt::Debug for Coeff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `a/b + c/d` for values in lowest terms with `b, d ≥ 1`, on `i128`; `None` when an
/// intermediate overflows (the caller then uses big integers). The sum is reduced by
/// [`Coeff::from_i128_ratio`], so it is the canonical coefficient of the exact sum.
fn wide_add(a: i128, b: i128, c: i128, d: i128) -> Option<Coeff> {
    let g = i128::try_from(gcd_u128(b.unsigned_abs(), d.unsigned_abs())).ok()?;
    let (b1, d1) = (b.checked_div(g)?, d.checked_div(g)?);
    let num = a.checked_mul(d1)?.checked_add(c.checked_mul(b1)?)?;
    let den = b.checked_mul(d1)?;
    Some(Coeff::from_i128_ratio(num, den))
}

/// `(a/b)·(c/d)` for values in lowest terms with `b, d ≥ 1`, on `i128` after cancelling
/// gcd(a, d) and gcd(c, b); `None` when a product overflows.
fn wide_mul(a: i128, b: i128, c: i128, d: i128) -> Option<Coeff> {
    let g1 = i128::try_from(gcd_u128(a.unsigned_abs(), d.unsigned_abs())).ok()?;
    let g2 = i128::try_from(gcd_u128(c.unsigned_abs(), b.unsigned_abs())).ok()?;
    // gcd(0, d) = d ≥ 1 and gcd(c, b) ≥ 1 for b ≥ 1, so neither divisor is zero.
    let num = a.checked_div(g1)?.checked_mul(c.checked_div(g2)?)?;
    let den = b.checked_div(g2)?.checked_mul(d.checked_div(g1)?)?;
    Some(Coeff::from_i128_ratio(num, den))
}

fn gcd_u64(a: u64, b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    let (mut a, mut b) = (a >> a.trailing_zeros(), b);
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

fn gcd_u128(a: u128, b: u128) -> u128 {
    if let (Ok(a), Ok(b)) = (u64::try_from(a), u64::try_from(b)) {
        return u128::from(gcd_u64(a, b));
    }
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    let (mut a, mut b) = (a >> a.trailing_zeros(), b);
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

// ---- monomials ---------------------------------------------------------------------------

/// One variable's exponent in a monomial: `(variable, exponent ≥ 1)`.
pub type Pair = (Var, u32);

/// Pairs stored inline: monomials of polynomials in up to six atoms rarely involve more than
/// four of them, and larger monomials spill to the heap.
const INLINE: usize = 4;

/// A product of variables to positive powers, `x0^e0 · x3^e3 · …`, as `(Var, exponent)` pairs
/// sorted by variable, every exponent ≥ 1. The empty product is the monomial one.
///
/// Up to four pairs are stored inline. `Ord` is the graded lexicographic order described in
/// the [module documentation](self).
#[derive(Clone)]
pub struct Monomial {
    /// Sum of the exponents (cached: it decides most comparisons).
    total: u64,
    /// Number of pairs in `inline`; unused when `spill` holds the pairs.
    len: u32,
    /// The pairs when there are at most `INLINE` of them.
    inline: [Pair; INLINE],
    /// The pairs when there are more than `INLINE` (then `inline` is unused).
    ///
    /// A flat struct rather than an enum of the two cases: it is copied as aligned blocks,
    /// where the enum (with a one-byte length) was copied piecewise and stalled; the gcd
    /// benchmarks ran about twice as fast.
    spill: Option<Box<[Pair]>>,
}

/// Builds a monomial from pairs pushed in increasing variable order.
struct Builder {
    total: u64,
    len: usize,
    buf: [Pair; INLINE],
    heap: Vec<Pair>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            total: 0,
            len: 0,
            buf: [(0, 0); INLINE],
            heap: Vec::new(),
        }
    }

    /// Appends `v^e`; `v` must be greater than every variable pushed before. `e = 0` is skipped.
    fn push(&mut self, v: Var, e: u32) {
        if e == 0 {
            return;
        }
        self.total = self.total.saturating_add(u64::from(e));
        if self.heap.is_empty() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = (v, e);
                self.len += 1;
                return;
            }
            self.heap.reserve(2 * INLINE);
            self.heap.extend_from_slice(&self.buf);
        }
        self.heap.push((v, e));
    }

    fn finish(self) -> Monomial {
        if self.heap.is_empty() {
            Monomial {
                total: self.total,
                len: u32::try_from(self.len).unwrap_or(0),
                inline: self.buf,
                spill: None,
            }
        } else {
            Monomial {
                total: self.total,
                len: 0,
                inline: [(0, 0); INLINE],
                spill: Some(self.heap.into_boxed_slice()),
            }
        }
    }
}

impl Monomial {
    /// The monomial one (no variables).
    pub fn one() -> Monomial {
        Builder::new().finish()
    }

    /// The variable `v`.
    pub fn var(v: Var) -> Monomial {
        Monomial::var_pow(v, 1)
    }

    /// `v^e` (one when `e = 0`).
    pub fn var_pow(v: Var, e: u32) -> Monomial {
        let mut b = Builder::new();
        b.push(v, e);
        b.finish()
    }

    /// The product of `v^e` over the given pairs, in any order, repeats allowed; `None` when an
    /// exponent overflows `u32`.
    pub fn from_pairs(pairs: impl IntoIterator<Item = Pair>) -> Option<Monomial> {
        let mut pairs: Vec<Pair> = pairs.into_iter().filter(|p| p.1 > 0).collect();
        pairs.sort_unstable_by_key(|p| p.0);
        let mut b = Builder::new();
        let mut cur: Option<Pair> = None;
        for (v, e) in pairs {
            cur = match cur {
                Some((cv, ce)) if cv == v => Some((cv, ce.checked_add(e)?)),
                Some((cv, ce)) => {
                    b.push(cv, ce);
                    Some((v, e))
                }
                None => Some((v, e)),
            };
        }
        if let Some((cv, ce)) = cur {
            b.push(cv, ce);
        }
        Some(b.finish())
    }

    /// Appends `v^e` in place; `v` must be greater than every variable present. `e = 0` is
    /// skipped. Spilling to the heap reallocates on every push: meant for a few pairs.
    fn push_pair(&mut self, v: Var, e: u32) {
        if e == 0 {
            return;
        }
        self.total = self.total.saturating_add(u64::from(e));
        match &mut self.spill {
            None => {
                if let Some(slot) = self.inline.get_mut(self.len as usize) {
                    *slot = (v, e);
                    self.len += 1;
                    return;
                }
                let mut heap = Vec::with_capacity(2 * INLINE);
                heap.extend_from_slice(&self.inline);
                heap.push((v, e));
                self.spill = Some(heap.into_boxed_slice());
                self.len = 0;
                self.inline = [(0, 0); INLINE];
            }
            Some(spill) => {
                let mut heap = std::mem::take(spill).into_vec();
                heap.push((v, e));
                *spill = heap.into_boxed_slice();
            }
        }
    }

    /// The `(variable, exponent)` pairs, sorted by variable, every exponent ≥ 1.
    pub fn pairs(&self) -> &[Pair] {
        match &self.spill {
            None => self.inline.get(..self.len as usize).unwrap_or(&[]),
            Some(pairs) => pairs,
        }
    }

    /// Sum of the exponents.
    pub fn total_degree(&self) -> u64 {
        self.total
    }

    /// Exponent of `v` (0 when absent).
    pub fn degree_in(&self, v: Var) -> u32 {
        let pairs = self.pairs();
        match pairs.binary_search_by_key(&v, |p| p.0) {
            Ok(idx) => pairs.get(idx).map_or(0, |p| p.1),
            Err(_) => 0,
        }
    }

    /// True for the monomial one.
    pub fn is_one(&self) -> bool {
        self.pairs().is_empty()
    }

    /// `self · other`; `None` when an exponent overflows `u32`.
    pub fn mul(&self, other: &Monomial) -> Option<Monomial> {
        if other.is_one() {
            return Some(self.clone());
        }
        if self.is_one() {
            return Some(other.clone());
        }
        if let ([(va, ea)], [(vb, eb)]) = (self.pairs(), other.pairs()) {
            if va == vb {
                return Some(Monomial::var_pow(*va, ea.checked_add(*eb)?));
            }
        }
        let mut out = Builder::new();
        let (mut a, mut b) = (self.pairs(), other.pairs());
        loop {
            match (a.split_first(), b.split_first()) {
                (Some((&(va, ea), ra)), Some((&(vb, eb), rb))) => match va.cmp(&vb) {
                    Ordering::Less => {
                        out.push(va, ea);
                        a = ra;
                    }
                    Ordering::Greater => {
                        out.push(vb, eb);
                        b = rb;
                    }
                    Ordering::Equal => {
                        out.push(va, ea.checked_add(eb)?);
                        a = ra;
                        b = rb;
                    }
                },
                (Some((&(va, ea), ra)), None) => {
                    out.push(va, ea);
                    a = ra;
                }
                (None, Some((&(vb, eb), rb))) => {
                    out.push(vb, eb);
                    b = rb;
                }
                (None, None) => break,
            }
        }
        Some(out.finish())
    }

    /// `self / other` when `other` divides `self`, else `None`.
    pub fn div(&self, other: &Monomial) -> Option<Monomial> {
        if other.is_one() {
            return Some(self.clone());
        }
        let mut out = Builder::new();
        let mut a = self.pairs();
        for &(vb, eb) in other.pairs() {
            loop {
                let (&(va, ea), ra) = a.split_first()?;
                a = ra;
                match va.cmp(&vb) {
                    Ordering::Less => out.push(va, ea),
                    Ordering::Equal => {
                        out.push(va, ea.checked_sub(eb)?);
                        break;
                    }
                    Ordering::Greater => return None,
                }
            }
        }
        for &(va, ea) in a {
            out.push(va, ea);
        }
        Some(out.finish())
    }

    /// True when `self` divides `other`.
    pub fn divides(&self, other: &Monomial) -> bool {
        if self.total > other.total {
            return false;
        }
        let mut b = other.pairs();
        'outer: for &(va, ea) in self.pairs() {
            while let Some((&(vb, eb), rb)) = b.split_first() {
                b = rb;
                match vb.cmp(&va) {
                    Ordering::Less => {}
                    Ordering::Equal if eb >= ea => continue 'outer,
                    _ => return false,
                }
            }
            return false;
        }
        true
    }

    /// The greatest common divisor: the smaller exponent of every shared variable.
    pub fn gcd(&self, other: &Monomial) -> Monomial {
        let mut out = Builder::new();
        let (mut a, mut b) = (self.pairs(), other.pairs());
        while let (Some((&(va, ea), ra)), Some((&(vb, eb), rb))) =
            (a.split_first(), b.split_first())
        {
            match va.cmp(&vb) {
                Ordering::Less => a = ra,
                Ordering::Greater => b = rb,
                Ordering::Equal => {
                    out.push(va, ea.min(eb));
                    a = ra;
                    b = rb;
                }
            }
        }
        out.finish()
    }

    /// `self^k`; `None` when an exponent overflows `u32`.
    pub fn pow(&self, k: u32) -> Option<Monomial> {
        let mut out = Builder::new();
        for &(v, e) in self.pairs() {
            out.push(v, e.checked_mul(k)?);
        }
        Some(out.finish())
    }

    /// Splits off the variable `v`: its exponent, and the monomial without it.
    pub fn split_var(&self, v: Var) -> (u32, Monomial) {
        let mut out = Builder::new();
        let mut exp = 0;
        for &(w, e) in self.pairs() {
            if w == v {
                exp = e;
            } else {
                out.push(w, e);
            }
        }
        (exp, out.finish())
    }
}

impl PartialEq for Monomial {
    fn eq(&self, other: &Monomial) -> bool {
        self.total == other.total && self.pairs() == other.pairs()
    }
}

impl Eq for Monomial {}

impl Hash for Monomial {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pairs().hash(state);
    }
}

impl Ord for Monomial {
    /// Graded lexicographic: total degree first, then the larger exponent of the
    /// lowest-numbered variable in which the two differ.
    fn cmp(&self, other: &Monomial) -> Ordering {
        self.total.cmp(&other.total).then_with(|| {
            let (mut a, mut b) = (self.pairs().iter(), other.pairs().iter());
            loop {
                match (a.next(), b.next()) {
                    (None, None) => return Ordering::Equal,
                    // The longer one has a further variable with a positive exponent where
                    // the other has zero.
                    (Some(_), None) => return Ordering::Greater,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(&(va, ea)), Some(&(vb, eb))) => {
                        if va != vb {
                            // The one holding the lower variable has it to a positive power,
                            // the other to the power zero.
                            return vb.cmp(&va);
                        }
                        if ea != eb {
                            return ea.cmp(&eb);
                        }
                    }
                }
            }
        })
    }
}

impl PartialOrd for Monomial {
    fn partial_cmp(&self, other: &Monomial) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Monomial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_one() {
            return write!(f, "1");
        }
        for (idx, &(v, e)) in self.pairs().iter().enumerate() {
            if idx > 0 {
                write!(f, "*")?;
            }
            if e == 1 {
                write!(f, "x{v}")?;
            } else {
                write!(f, "x{v}^{e}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Monomial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---- polynomials -------------------------------------------------------------------------

/// A term: a monomial and its non-zero coefficient.
pub type Term = (Monomial, Coeff);

/// Products of at most this many term pairs are formed in one batch (sorted and combined at
/// once); larger products go batch by batch, checking limits between batches.
const MUL_BATCH: usize = 4096;

/// A sparse polynomial over ℚ.
///
/// Invariant (enforced by every constructor; there are no setters): terms are sorted by the
/// monomial order, greatest first, with distinct monomials and non-zero coefficients. Hence
/// equal polynomials are equal structs, and the zero polynomial has no terms.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Poly {
    terms: Vec<Term>,
}

/// Sorts by the monomial order (greatest first), adds up equal monomials, drops zeros.
fn normalize(terms: &mut Vec<Term>) {
    terms.sort_unstable_by(|x, y| y.0.cmp(&x.0));
    terms.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 = &earlier.1 + &later.1;
            true
        } else {
            false
        }
    });
    terms.retain(|t| !t.1.is_zero());
}

/// Which product kernel [`Poly::mul_with`] may use (the general one is forced in tests).
#[derive(Clone, Copy)]
enum Kernel {
    /// Packed keys when they fit, else general.
    Auto,
    /// Always the general kernel: tests compare the two kernels.
    #[cfg_attr(not(test), allow(dead_code))]
    General,
}

/// The sum of all products of a term of `rows` with a term of `long`, sorted and combined:
/// the general kernel, for any monomials.
fn general_products(rows: &[Term], long: &Poly) -> Result<Vec<Term>, LimitReached> {
    let mut batch = Vec::with_capacity(rows.len() * long.n_terms());
    for (ma, ca) in rows {
        for (mb, cb) in &long.terms {
            let m = ma
                .mul(mb)
                .ok_or_else(|| limit(LimitKind::Exponent, AT_ARITH))?;
            batch.push((m, ca * cb));
        }
    }
    normalize(&mut batch);
    Ok(batch)
}

/// Variables a packed key has room for.
const PACK_FIELDS: usize = 12;

/// Monomials packed into `u128` keys for the product kernel, so that multiplying monomials is
/// adding keys and comparing them in the monomial order is comparing keys.
///
/// Bits 112..128 hold the total degree, then one 8-bit exponent field per variable of `vars`
/// (the lowest variable in the most significant field) down to bit 16; bits 0..16 are free for
/// the index of a product. Packing applies when the two factors use at most
/// [`PACK_FIELDS`] variables between them and the exponents and the total degree of every
/// product fit their fields, so no field carries into the next; then keys compare exactly as
/// the graded lexicographic order, and equal keys are equal monomials. Products of small
/// polynomials, the common case, are several times faster this way than by sorting monomials.
struct Packed {
    vars: Vec<Var>,
    short: Vec<u128>,
    long: Vec<u128>,
}

impl Packed {
    fn new(short: &Poly, long: &Poly) -> Option<Packed> {
        if long.n_terms() > 1 << 16 {
            return None;
        }
        let mut vars: Vec<Var> = short
            .terms
            .iter()
            .chain(&long.terms)
            .flat_map(|t| t.0.pairs().iter().map(|p| p.0))
            .collect();
        vars.sort_unstable();
        vars.dedup();
        if vars.len() > PACK_FIELDS {
            return None;
        }
        let (short_keys, short_max) = pack_keys(short, &vars)?;
        let (long_keys, long_max) = pack_keys(long, &vars)?;
        let fields_fit = short_max.iter().zip(&long_max).all(|(a, b)| a + b <= 0xff);
        if !fields_fit || short.total_degree() + long.total_degree() > 0xffff {
            return None;
        }
        Some(Packed {
            vars,
            short: short_keys,
            long: long_keys,
        })
    }

    /// The products of `rows` (the terms of the short factor from index `first_row` on) with
    /// all of `long`, sorted and combined. Fewer than 2^16 of them, as a batch holds at most
    /// `max(MUL_BATCH, long.n_terms())`.
    fn products(&self, first_row: usize, rows: &[Term], long: &Poly) -> Vec<Term> {
        let n_long = long.n_terms();
        let row_keys = self
            .short
            .get(first_row..first_row + rows.len())
            .unwrap_or(&[]);
        let mut keys: Vec<u128> = Vec::with_capacity(rows.len() * n_long);
        let mut idx: u128 = 0;
        for ka in row_keys {
            for kb in &self.long {
                keys.push((ka + kb) | idx);
                idx += 1;
            }
        }
        keys.sort_unstable_by(|x, y| y.cmp(x));
        let mut out: Vec<Term> = Vec::with_capacity(keys.len());
        let mut cur: Option<(u128, Coeff)> = None;
        for key in keys {
            let idx = (key & 0xffff) as usize;
            let (Some(ta), Some(tb)) = (rows.get(idx / n_long), long.terms.get(idx % n_long))
            else {
                debug_assert!(false, "product index out of range");
                continue;
            };
            let c = &ta.1 * &tb.1;
            let mono = key >> 16;
            cur = match cur {
                Some((k, acc)) if k == mono => Some((k, &acc + &c)),
                Some((k, acc)) => {
                    self.push_unpacked(&mut out, k, acc);
                    Some((mono, c))
                }
                None => Some((mono, c)),
            };
        }
        if let Some((k, acc)) = cur {
            self.push_unpacked(&mut out, k, acc);
        }
        out
    }

    /// Appends `c · (the monomial of key)` unless `c` is zero; `key` is shifted down 16 bits.
    fn push_unpacked(&self, out: &mut Vec<Term>, key: u128, c: Coeff) {
        if c.is_zero() {
            return;
        }
        // Built in place in `out` rather than on the stack and moved: reading back a freshly
        // written small array stalls store forwarding, which cost a quarter of the product.
        out.push((Monomial::one(), c));
        if let Some((m, _)) = out.last_mut() {
            for (field, &v) in self.vars.iter().enumerate() {
                m.push_pair(v, ((key >> (88 - 8 * field)) & 0xff) as u32);
            }
        }
    }
}

/// The packed keys of `p`'s monomials over `vars` (which hold all of them), with the largest
/// exponent of each field; `None` when an exponent or total degree does not fit its field.
fn pack_keys(p: &Poly, vars: &[Var]) -> Option<(Vec<u128>, [u32; PACK_FIELDS])> {
    let mut max = [0u32; PACK_FIELDS];
    let mut keys = Vec::with_capacity(p.terms.len());
    for (m, _) in &p.terms {
        if m.total > 0xffff {
            return None;
        }
        let mut key = u128::from(m.total) << 112;
        for &(v, e) in m.pairs() {
            let field = vars.binary_search(&v).ok()?;
            let slot = max.get_mut(field)?;
            if e > 0xff {
                return None;
            }
            *slot = (*slot).max(e);
            key |= u128::from(e) << (104 - 8 * field);
        }
        keys.push(key);
    }
    Some((keys, max))
}

/// `a + b` (or `a − b` when `negate_b`) of two sorted term lists.
fn merge(a: &[Term], b: &[Term], negate_b: bool) -> Vec<Term> {
    let signed = |t: &Term| {
        if negate_b {
            (t.0.clone(), -&t.1)
        } else {
            t.clone()
        }
    };
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a, b);
    loop {
        match (a.split_first(), b.split_first()) {
            (Some((ta, ra)), Some((tb, rb))) => match ta.0.cmp(&tb.0) {
                Ordering::Greater => {
                    out.push(ta.clone());
                    a = ra;
                }
                Ordering::Less => {
                    out.push(signed(tb));
                    b = rb;
                }
                Ordering::Equal => {
                    let c = if negate_b {
                        &ta.1 - &tb.1
                    } else {
                        &ta.1 + &tb.1
                    };
                    if !c.is_zero() {
                        out.push((ta.0.clone(), c));
                    }
                    a = ra;
                    b = rb;
                }
            },
            (Some(_), None) => {
                out.extend_from_slice(a);
                break;
            }
            (None, Some(_)) => {
                out.extend(b.iter().map(signed));
                break;
            }
            (None, None) => break,
        }
    }
    out
}

/// `a + b` of two sorted term lists, consuming them.
fn merge_owned(a: Vec<Term>, b: Vec<Term>) -> Vec<Term> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let ord = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => break,
        };
        match ord {
            Ordering::Greater => out.extend(a.next()),
            Ordering::Less => out.extend(b.next()),
            Ordering::Equal => {
                if let (Some((m, c)), Some((_, d))) = (a.next(), b.next()) {
                    let s = &c + &d;
                    if !s.is_zero() {
                        out.push((m, s));
                    }
                }
            }
        }
    }
    out
}

fn check_digits(terms: &[Term], limits: &Limits, at: &'static str) -> Result<(), LimitReached> {
    if terms.iter().any(|t| t.1.exceeds_digits(limits.max_digits)) {
        Err(limit(LimitKind::Digits, at))
    } else {
        Ok(())
    }
}

fn rat_pow(base: &Rational, e: u32) -> Rational {
    let mut acc = Rational::one();
    let mut base = base.clone();
    let mut e = e;
    while e > 0 {
        if e & 1 == 1 {
            acc *= &base;
        }
        e >>= 1;
        if e > 0 {
            base = &base * &base;
        }
    }
    acc
}

impl Poly {
    /// The zero polynomial (no terms).
    pub fn zero() -> Poly {
        Poly { terms: Vec::new() }
    }

    /// The constant one.
    pub fn one() -> Poly {
        Poly::constant(Coeff::one())
    }

    /// The constant `c`.
    pub fn constant(c: Coeff) -> Poly {
        Poly::term(Monomial::one(), c)
    }

    /// The variable `v`.
    pub fn var(v: Var) -> Poly {
        Poly::term(Monomial::var(v), Coeff::one())
    }

    /// The single term `c · m` (zero when `c` is zero).
    pub fn term(m: Monomial, c: Coeff) -> Poly {
        if c.is_zero() {
            Poly::zero()
        } else {
            Poly {
                terms: vec![(m, c)],
            }
        }
    }

    /// The sum of the given terms, in any order, repeated monomials and zeros allowed.
    pub fn from_terms(terms: impl IntoIterator<Item = Term>) -> Poly {
        let mut terms: Vec<Term> = terms.into_iter().collect();
        normalize(&mut terms);
        Poly { terms }
    }

    /// The terms, greatest monomial first.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Number of terms.
    pub fn n_terms(&self) -> usize {
        self.terms.len()
    }

    /// True for the zero polynomial.
    pub fn is_zero(&self) -> bool {
        self.terms.is_empty()
    }

    /// True for the constant one.
    pub fn is_one(&self) -> bool {
        matches!(self.terms.as_slice(), [(m, c)] if m.is_one() && c.is_one())
    }

    /// True for a constant, zero included.
    pub fn is_constant(&self) -> bool {
        match self.terms.as_slice() {
            [] => true,
            [(m, _)] => m.is_one(),
            _ => false,
        }
    }

    /// The value of a constant polynomial (zero included); `None` when it has a variable.
    pub fn constant_value(&self) -> Option<Coeff> {
        match self.terms.as_slice() {
            [] => Some(Coeff::zero()),
            [(m, c)] if m.is_one() => Some(c.clone()),
            _ => None,
        }
    }

    /// The leading (greatest) term; `None` for zero.
    pub fn leading_term(&self) -> Option<&Term> {
        self.terms.first()
    }

    /// The leading coefficient; `None` for zero.
    pub fn leading_coeff(&self) -> Option<&Coeff> {
        self.terms.first().map(|t| &t.1)
    }

    /// The leading monomial; `None` for zero.
    pub fn leading_monomial(&self) -> Option<&Monomial> {
        self.terms.first().map(|t| &t.0)
    }

    /// Degree in `v` (0 for zero and for polynomials free of `v`).
    pub fn degree_in(&self, v: Var) -> u32 {
        self.terms
            .iter()
            .map(|t| t.0.degree_in(v))
            .max()
            .unwrap_or(0)
    }

    /// Total degree (0 for zero): that of the leading monomial, as the order is graded.
    pub fn total_degree(&self) -> u64 {
        self.leading_monomial().map_or(0, Monomial::total_degree)
    }

    /// The variables that occur, sorted.
    pub fn vars(&self) -> Vec<Var> {
        let mut vars: Vec<Var> = self
            .terms
            .iter()
            .flat_map(|t| t.0.pairs().iter().map(|p| p.0))
            .collect();
        vars.sort_unstable();
        vars.dedup();
        vars
    }

    /// `c · self`.
    pub fn scale(&self, c: &Coeff) -> Poly {
        if c.is_zero() {
            return Poly::zero();
        }
        if c.is_one() {
            return self.clone();
        }
        Poly {
            terms: self.terms.iter().map(|(m, d)| (m.clone(), d * c)).collect(),
        }
    }

    /// `m · self`; `LimitReached(Exponent)` when an exponent overflows `u32`.
    pub fn mul_monomial(&self, m: &Monomial) -> Result<Poly, LimitReached> {
        self.mul_term(m, &Coeff::one()).map(|terms| Poly { terms })
    }

    /// `self / m` when `m` divides every term, else `None`.
    pub fn div_monomial(&self, m: &Monomial) -> Option<Poly> {
        if m.is_one() {
            return Some(self.clone());
        }
        // Dividing every monomial by the same `m` keeps their order.
        let mut terms = Vec::with_capacity(self.terms.len());
        for (n, c) in &self.terms {
            terms.push((n.div(m)?, c.clone()));
        }
        Some(Poly { terms })
    }

    /// `c·m · self` as a sorted term list (multiplying by one term keeps the order).
    fn mul_term(&self, m: &Monomial, c: &Coeff) -> Result<Vec<Term>, LimitReached> {
        if c.is_zero() {
            return Ok(Vec::new());
        }
        // Sized up front: collecting into a `Result` does not know the length and grows the
        // vector by doubling.
        let mut out = Vec::with_capacity(self.terms.len());
        for (n, d) in &self.terms {
            let mn = n
                .mul(m)
                .ok_or_else(|| limit(LimitKind::Exponent, AT_ARITH))?;
            out.push((mn, d * c));
        }
        Ok(out)
    }

    /// `self · other`.
    ///
    /// Errors: `Terms` when the product, or a partial sum while forming it, has more than
    /// `max_terms` terms; `Digits` for a coefficient beyond `max_digits`; `Exponent` when an
    /// exponent overflows `u32`; `Time` at the deadline.
    pub fn mul(
        &self,
        other: &Poly,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<Poly, LimitReached> {
        self.mul_with(other, limits, deadline, Kernel::Auto)
    }

    fn mul_with(
        &self,
        other: &Poly,
        limits: &Limits,
        deadline: &Deadline,
        kernel: Kernel,
    ) -> Result<Poly, LimitReached> {
        let (short, long) = if self.n_terms() <= other.n_terms() {
            (self, other)
        } else {
            (other, self)
        };
        let terms = match short.terms.as_slice() {
            [] => return Ok(Poly::zero()),
            [(m, c)] => long.mul_term(m, c)?,
            _ => {
                let packed = match kernel {
                    Kernel::Auto => Packed::new(short, long),
                    Kernel::General => None,
                };
                let rows_per_batch = (MUL_BATCH / long.n_terms()).max(1);
                let mut acc: Vec<Term> = Vec::new();
                for (batch_idx, rows) in short.terms.chunks(rows_per_batch).enumerate() {
                    deadline.check(AT_ARITH)?;
                    let batch = match &packed {
                        Some(packed) => packed.products(batch_idx * rows_per_batch, rows, long),
                        None => general_products(rows, long)?,
                    };
                    acc = if acc.is_empty() {
                        batch
                    } else {
                        merge_owned(acc, batch)
                    };
                    if acc.len() > limits.max_terms {
                        return Err(limit(LimitKind::Terms, AT_ARITH));
                    }
                }
                acc
            }
        };
        if terms.len() > limits.max_terms {
            return Err(limit(LimitKind::Terms, AT_ARITH));
        }
        check_digits(&terms, limits, AT_ARITH)?;
        Ok(Poly { terms })
    }

    /// The limits a product checks on its result (`Terms` beyond `max_terms`, then `Digits`
    /// for a coefficient beyond `max_digits`), checked on `self`: a product with the constant
    /// one is `self` itself, and reports what [`Poly::mul`] would.
    pub fn check_product_limits(&self, limits: &Limits) -> Result<(), LimitReached> {
        if self.terms.len() > limits.max_terms {
            return Err(limit(LimitKind::Terms, AT_ARITH));
        }
        check_digits(&self.terms, limits, AT_ARITH)
    }

    /// `self^k` (`self^0` is one, also for zero), with the errors of [`Poly::mul`].
    pub fn pow(&self, k: u32, limits: &Limits, deadline: &Deadline) -> Result<Poly, LimitReached> {
        match (k, self.terms.as_slice()) {
            (0, _) => Ok(Poly::one()),
            (1, _) => Ok(self.clone()),
            (_, []) => Ok(Poly::zero()),
            (_, [(m, c)]) => {
                let m = m
                    .pow(k)
                    .ok_or_else(|| limit(LimitKind::Exponent, AT_ARITH))?;
                let c = c
                    .pow_bounded(k, limits.max_digits)
                    .ok_or_else(|| limit(LimitKind::Digits, AT_ARITH))?;
                Ok(Poly::term(m, c))
            }
            _ => {
                // Repeated multiplication by `self` rather than squaring: for sparse
                // multivariate polynomials it does less work, and every step is checked.
                let mut acc = self.clone();
                for _ in 1..k {
                    deadline.check(AT_ARITH)?;
                    acc = acc.mul(self, limits, deadline)?;
                }
                Ok(acc)
            }
        }
    }

    /// Exact division: `Some(q)` when `self = q · d`, `None` when `d` does not divide `self`
    /// (or `d` is zero).
    ///
    /// Errors: `Terms` when the quotient or the running remainder exceeds `max_terms`; `Digits`
    /// for a quotient coefficient beyond `max_digits`; `Time` at the deadline.
    pub fn div_exact(
        &self,
        d: &Poly,
        limits: &Limits,
        deadline: &Deadline,
    ) -> Result<Option<Poly>, LimitReached> {
        let (Some((lm_d, lc_d)), Some(lc_inv)) =
            (d.terms.first(), d.leading_coeff().and_then(Coeff::recip))
        else {
            return Ok(None);
        };
        let (Some(lm_s), Some(tm_s), Some(tm_d)) = (
            self.leading_monomial(),
            self.terms.last().map(|t| &t.0),
            d.terms.last().map(|t| &t.0),
        ) else {
            return Ok(Some(Poly::zero()));
        };
        if d.n_terms() == 1 {
            return Ok(self.div_monomial(lm_d).map(|q| q.scale(&lc_inv)));
        }
        // If self = q·d then lm(self) = lm(q)·lm(d) and the least monomials multiply likewise,
        // and every variable's degree adds up.
        if !lm_d.divides(lm_s) || !tm_d.divides(tm_s) {
            return Ok(None);
        }
        if d.vars().iter().any(|&v| d.degree_in(v) > self.degree_in(v)) {
            return Ok(None);
        }
        debug_assert!(!lc_d.is_zero());
        let mut rem = self.terms.clone();
        let mut quot: Vec<Term> = Vec::new();
        while let Some((m_r, c_r)) = rem.first() {
            if quot.len() % 16 == 15 {
                deadline.check(AT_ARITH)?;
            }
            // While self = q·d, the remainder is (q − quot)·d, whose monomials are all at least
            // lm(q − quot)·lm(d) ≥ tm(q)·tm(d) = tm(self).
            if m_r < tm_s {
                return Ok(None);
            }
            let Some(m_q) = m_r.div(lm_d) else {
                return Ok(None);
            };
            let c_q = c_r * &lc_inv;
            if c_q.exceeds_digits(limits.max_digits) {
                return Err(limit(LimitKind::Digits, AT_ARITH));
            }
            let sub = d.mul_term(&m_q, &c_q)?;
            rem = merge(&rem, &sub, true);
            quot.push((m_q, c_q));
            if quot.len() > limits.max_terms || rem.len() > limits.max_terms {
                return Err(limit(LimitKind::Terms, AT_ARITH));
            }
        }
        // Leading monomials of the remainder strictly decrease, so `quot` is already sorted.
        Ok(Some(Poly { terms: quot }))
    }

    /// The content over ℤ: the rational `c` such that `self / c` has coprime integer
    /// coefficients and a positive leading coefficient (so `c` has the sign of the leading
    /// coefficient). Zero for the zero polynomial.
    pub fn integer_content(&self) -> Coeff {
        let g = self
            .terms
            .iter()
            .fold(Coeff::zero(), |g, t| Coeff::rational_gcd(&g, &t.1));
        match self.leading_coeff() {
            Some(lc) if lc.is_negative() => -g,
            _ => g,
        }
    }

    /// `self / integer_content()`: coprime integer coefficients, positive leading coefficient.
    /// Zero for zero. This is how [`gcd`] normalises its result.
    pub fn primitive_part(&self) -> Poly {
        match self.integer_content().recip() {
            Some(inv) => self.scale(&inv),
            None => Poly::zero(),
        }
    }

    /// [`Poly::primitive_part`], borrowing `self` when it is primitive already.
    fn primitive_cow(&self) -> Cow<'_, Poly> {
        match self.integer_content().recip() {
            Some(inv) if inv.is_one() => Cow::Borrowed(self),
            Some(inv) => Cow::Owned(self.scale(&inv)),
            None => Cow::Owned(Poly::zero()),
        }
    }

    /// `self` divided by its leading coefficient (zero stays zero).
    pub fn monic(&self) -> Poly {
        match self.leading_coeff().and_then(Coeff::recip) {
            Some(inv) => self.scale(&inv),
            None => Poly::zero(),
        }
    }

    /// The gcd of all the monomials (one for zero): the largest monomial factor.
    pub fn monomial_content(&self) -> Monomial {
        let mut terms = self.terms.iter();
        let Some(first) = terms.next() else {
            return Monomial::one();
        };
        let mut g = first.0.clone();
        for t in terms {
            if g.is_one() {
                break;
            }
            g = g.gcd(&t.0);
        }
        g
    }

    /// The value at a point; `None` when `value_of` has no value for a variable that occurs.
    /// Exact and unbounded: meant for tests and small exponents.
    pub fn eval(&self, value_of: impl Fn(Var) -> Option<Rational>) -> Option<Rational> {
        let mut sum = Rational::zero();
        for (m, c) in &self.terms {
            let mut t = c.to_rational();
            for &(v, e) in m.pairs() {
                t *= rat_pow(&value_of(v)?, e);
            }
            sum += t;
        }
        Some(sum)
    }
}

impl ops::Add for &Poly {
    type Output = Poly;
    fn add(self, other: &Poly) -> Poly {
        Poly {
            terms: merge(&self.terms, &other.terms, false),
        }
    }
}

impl ops::Sub for &Poly {
    type Output = Poly;
    fn sub(self, other: &Poly) -> Poly {
        Poly {
            terms: merge(&self.terms, &other.terms, true),
        }
    }
}

impl ops::Neg for &Poly {
    type Output = Poly;
    fn neg(self) -> Poly {
        Poly {
            terms: self.terms.iter().map(|(m, c)| (m.clone(), -c)).collect(),
        }
    }
}

impl fmt::Display for Poly {
    /// A debugging form: `2*x0^2*x1 - 1/3*x1 + 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return write!(f, "0");
        }
        for (idx, (m, c)) in self.terms.iter().enumerate() {
            let neg = c.is_negative();
            match (idx, neg) {
                (0, true) => write!(f, "-")?,
                (0, false) => {}
                (_, true) => write!(f, " - ")?,
                (_, false) => write!(f, " + ")?,
            }
            let c = c.abs();
            if m.is_one() {
                write!(f, "{c}")?;
            } else if c.is_one() {
                write!(f, "{m}")?;
            } else {
                write!(f, "{c}*{m}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---- greatest common divisor -------------------------------------------------------------

/// The greatest common divisor of `a` and `b` over ℚ, normalised to its
/// [primitive part](Poly::primitive_part): coprime integer coefficients and a positive leading
/// coefficient. `gcd(0, 0) = 0`, `gcd(a, 0) = primitive_part(a)`, and the gcd of coprime
/// polynomials (a non-zero constant included) is one.
///
/// The algorithm is recursive: the largest common monomial factor is split off; a variable
/// that occurs in only one input cannot occur in the gcd, which therefore divides that input's
/// content with respect to it; otherwise both are seen as univariate in a main variable with
/// polynomial coefficients, and the gcd is the gcd of their contents (recursively) times the
/// primitive part of the last non-zero remainder of their subresultant pseudo-remainder
/// sequence (Collins–Brown; Cohen, *A Course in Computational Algebraic Number Theory*,
/// Algorithm 3.3.1). Inputs are made primitive over ℤ first, so every coefficient stays an
/// integer.
///
/// Errors: the limits of [`Poly::mul`] and [`Poly::div_exact`], `Depth` beyond `max_depth`
/// levels of recursion (each level removes a variable), `Time` at the deadline.
pub fn gcd(a: &Poly, b: &Poly, limits: &Limits, deadline: &Deadline) -> Result<Poly, LimitReached> {
    let ctx = Ctx { limits, deadline };
    match gcd_rec(a, b, &ctx, 0) {
        Ok(g) => Ok(g),
        Err(GcdFail::Limit(e)) => Err(e),
        // An exact division that must succeed did not: a bug. One is the answer that keeps
        // every caller sound (it only forgoes cancellation).
        Err(GcdFail::Invariant) => {
            debug_assert!(false, "polynomial gcd: an exact division failed");
            Ok(if a.is_zero() && b.is_zero() {
                Poly::zero()
            } else {
                Poly::one()
            })
        }
    }
}

struct Ctx<'a> {
    limits: &'a Limits,
    deadline: &'a Deadline,
}

enum GcdFail {
    Limit(LimitReached),
    /// A division that is exact in theory was not: a bug, reported by `gcd`.
    Invariant,
}

impl From<LimitReached> for GcdFail {
    fn from(e: LimitReached) -> GcdFail {
        GcdFail::Limit(e)
    }
}

/// A polynomial seen as univariate in a main variable: `(degree, coefficient)` pairs with
/// polynomial coefficients free of that variable, degrees strictly decreasing, no zero
/// coefficients.
type Upoly = Vec<(u32, Poly)>;

fn gcd_rec(a: &Poly, b: &Poly, ctx: &Ctx<'_>, depth: usize) -> Result<Poly, GcdFail> {
    if depth > ctx.limits.max_depth {
        return Err(limit(LimitKind::Depth, AT_GCD).into());
    }
    ctx.deadline.check(AT_GCD)?;
    if a.is_zero() {
        return Ok(b.primitive_part());
    }
    if b.is_zero() {
        return Ok(a.primitive_part());
    }
    if a.is_constant() || b.is_constant() {
        return Ok(Poly::one());
    }
    // Inputs already primitive, or without a monomial factor, are used as they are.
    let (a, b) = (a.primitive_cow(), b.primitive_cow());
    if a == b {
        return Ok(a.into_owned());
    }
    // gcd(m·a', n·b') = gcd(m, n) · gcd(a', b') when a' and b' have no monomial factor: no
    // variable divides them.
    let (ma, mb) = (a.monomial_content(), b.monomial_content());
    let m = ma.gcd(&mb);
    let (a, b) = (without_monomial(a, &ma)?, without_monomial(b, &mb)?);
    let g = gcd_no_monomial_factor(&a, &b, ctx, depth)?;
    if m.is_one() {
        return Ok(g);
    }
    Ok(g.mul_monomial(&m)?)
}

/// `p / m` (`m` divides every term of `p`), borrowing `p` when `m` is one.
fn without_monomial<'p>(p: Cow<'p, Poly>, m: &Monomial) -> Result<Cow<'p, Poly>, GcdFail> {
    if m.is_one() {
        Ok(p)
    } else {
        Ok(Cow::Owned(p.div_monomial(m).ok_or(GcdFail::Invariant)?))
    }
}

/// The gcd of two non-zero primitive polynomials without monomial factors.
fn gcd_no_monomial_factor(
    a: &Poly,
    b: &Poly,
    ctx: &Ctx<'_>,
    depth: usize,
) -> Result<Poly, GcdFail> {
    if a.is_constant() || b.is_constant() {
        return Ok(Poly::one());
    }
    let (vars_a, vars_b) = (a.vars(), b.vars());
    // A variable of one input only is absent from the gcd, which thus divides every
    // coefficient of that input with respect to it.
    if let Some(&v) = vars_a.iter().find(|v| vars_b.binary_search(v).is_err()) {
        let content = upoly_content(&to_upoly(a, v), ctx, depth)?;
        return gcd_rec(&content, b, ctx, depth + 1);
    }
    if let Some(&v) = vars_b.iter().find(|v| vars_a.binary_search(v).is_err()) {
        let content = upoly_content(&to_upoly(b, v), ctx, depth)?;
        return gcd_rec(a, &content, ctx, depth + 1);
    }
    if let ([x], [_]) = (vars_a.as_slice(), vars_b.as_slice()) {
        if a.degree_in(*x).max(b.degree_in(*x)) <= DENSE_MAX_DEGREE {
            return gcd_univariate_dense(a, b, *x, ctx);
        }
    }
    // Same variables: the main variable is the one of least degree, to shorten the remainder
    // sequence.
    let Some(x) = vars_a
        .iter()
        .copied()
        .min_by_key(|&v| (a.degree_in(v).max(b.degree_in(v)), v))
    else {
        return Ok(Poly::one());
    };
    let (ua, ub) = (to_upoly(a, x), to_upoly(b, x));
    let (ca, cb) = (
        upoly_content(&ua, ctx, depth)?,
        upoly_content(&ub, ctx, depth)?,
    );
    let content_gcd = gcd_rec(&ca, &cb, ctx, depth + 1)?;
    let pa = upoly_div_exact(&ua, &ca, ctx)?;
    let pb = upoly_div_exact(&ub, &cb, ctx)?;
    let last = subresultant_last(pa, pb, ctx)?;
    let primitive = match last {
        None => Poly::one(),
        Some(last) => {
            let c = upoly_content(&last, ctx, depth)?;
            from_upoly(&upoly_div_exact(&last, &c, ctx)?, x)?
        }
    };
    Ok(content_gcd
        .mul(&primitive, ctx.limits, ctx.deadline)?
        .primitive_part())
}

/// Univariate inputs up to this degree take the dense path of [`gcd_univariate_dense`].
const DENSE_MAX_DEGREE: u32 = 1024;

/// The gcd of two primitive polynomials of positive degree in the single variable `x`, by the
/// primitive PRS on dense coefficient vectors: pseudo-divide, then divide the remainder by its
/// integer content. This is the common case of canonical forms (one atom such as `exp(x)`), and
/// avoids the recursive machinery. Every remainder is primitive over ℤ, which bounds the
/// coefficients; they are checked against `max_digits` anyway.
fn gcd_univariate_dense(a: &Poly, b: &Poly, x: Var, ctx: &Ctx<'_>) -> Result<Poly, GcdFail> {
    // Coefficients by ascending degree; the leading one is last and non-zero.
    let dense = |p: &Poly| {
        let mut v = vec![Coeff::zero(); p.degree_in(x) as usize + 1];
        for (m, c) in &p.terms {
            if let Some(slot) = v.get_mut(m.degree_in(x) as usize) {
                *slot = c.clone();
            }
        }
        v
    };
    let (mut a, mut b) = (dense(a), dense(b));
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    loop {
        ctx.deadline.check(AT_GCD)?;
        // a ← prem(a, b), one leading term at a time: a ← lc(b)·a − lc(a)·x^shift·b.
        while a.len() >= b.len() {
            let (Some(lc_a), Some(lc_b)) = (a.last().cloned(), b.last()) else {
                return Err(GcdFail::Invariant);
            };
            let shift = a.len() - b.len();
            if !lc_b.is_one() {
                for c in a.iter_mut() {
                    *c = &*c * lc_b;
                }
            }
            for (c, bc) in a.iter_mut().skip(shift).zip(&b) {
                *c = &*c - &(&lc_a * bc);
            }
            debug_assert!(a.last().is_some_and(Coeff::is_zero));
            a.pop();
            while a.last().is_some_and(Coeff::is_zero) {
                a.pop();
            }
            if a.iter().any(|c| c.exceeds_digits(ctx.limits.max_digits)) {
                return Err(limit(LimitKind::Digits, AT_GCD).into());
            }
        }
        match a.len() {
            0 => break,
            1 => return Ok(Poly::one()),
            _ => {}
        }
        // a ← primitive part of the remainder, then swap roles.
        let content = a
            .iter()
            .fold(Coeff::zero(), |g, c| Coeff::rational_gcd(&g, c));
        if let Some(inv) = content.recip() {
            if !inv.is_one() {
                for c in a.iter_mut() {
                    *c = &*c * &inv;
                }
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    let terms = (0u32..)
        .zip(b)
        .filter(|(_, c)| !c.is_zero())
        .map(|(e, c)| (Monomial::var_pow(x, e), c));
    Ok(Poly::from_terms(terms).primitive_part())
}

/// The last non-zero remainder of the subresultant PRS of `a` and `b` (both of positive degree
/// and primitive), or `None` when it has degree zero (the primitive gcd is one).
fn subresultant_last(a: Upoly, b: Upoly, ctx: &Ctx<'_>) -> Result<Option<Upoly>, GcdFail> {
    let (mut a, mut b) = if upoly_degree(&a) >= upoly_degree(&b) {
        (a, b)
    } else {
        (b, a)
    };
    let mut g = Poly::one();
    let mut h = Poly::one();
    loop {
        ctx.deadline.check(AT_GCD)?;
        let delta = upoly_degree(&a).saturating_sub(upoly_degree(&b));
        let r = prem(&a, &b, ctx)?;
        match r.first() {
            None => return Ok(Some(b)),
            Some((0, _)) => return Ok(None),
            Some(_) => {}
        }
        // b ← r / (g·h^δ), then g ← lc(b_old), h ← g^δ / h^(δ−1); all divisions are exact.
        let divisor = g.mul(
            &h.pow(delta, ctx.limits, ctx.deadline)?,
            ctx.limits,
            ctx.deadline,
        )?;
        let next = upoly_div_exact(&r, &divisor, ctx)?;
        a = std::mem::replace(&mut b, next);
        g = a.first().map(|t| t.1.clone()).ok_or(GcdFail::Invariant)?;
        h = match delta {
            0 => h,
            1 => g.clone(),
            _ => {
                let num = g.pow(delta, ctx.limits, ctx.deadline)?;
                let den = h.pow(delta - 1, ctx.limits, ctx.deadline)?;
                num.div_exact(&den, ctx.limits, ctx.deadline)?
                    .ok_or(GcdFail::Invariant)?
            }
        };
    }
}

/// The pseudo-remainder `lc(b)^(deg a − deg b + 1) · a mod b`; `b` is non-zero.
fn prem(a: &[(u32, Poly)], b: &[(u32, Poly)], ctx: &Ctx<'_>) -> Result<Upoly, GcdFail> {
    let Some((db, lc_b)) = b.first() else {
        return Err(GcdFail::Invariant);
    };
    let Some((da, _)) = a.first() else {
        return Ok(Vec::new());
    };
    let Some(mut e) = da.checked_sub(*db).and_then(|d| d.checked_add(1)) else {
        return Ok(a.to_vec());
    };
    let mut r = a.to_vec();
    while let Some((dr, lc_r)) = r.first() {
        if dr < db {
            break;
        }
        ctx.deadline.check(AT_GCD)?;
        // r ← lc(b)·r − lc(r)·x^(deg r − deg b)·b, which cancels the leading term.
        let shift = dr - db;
        let lc_r = lc_r.clone();
        let lhs = upoly_scale(&r, lc_b, 0, ctx)?;
        let rhs = upoly_scale(b, &lc_r, shift, ctx)?;
        r = upoly_sub(&lhs, &rhs);
        e = e.saturating_sub(1);
        if upoly_terms(&r) > ctx.limits.max_terms {
            return Err(limit(LimitKind::Terms, AT_GCD).into());
        }
    }
    if e > 0 && !r.is_empty() {
        let f = lc_b.pow(e, ctx.limits, ctx.deadline)?;
        r = upoly_scale(&r, &f, 0, ctx)?;
    }
    Ok(r)
}

fn to_upoly(p: &Poly, x: Var) -> Upoly {
    let mut groups: BTreeMap<u32, Vec<Term>> = BTreeMap::new();
    for (m, c) in &p.terms {
        let (e, rest) = m.split_var(x);
        groups.entry(e).or_default().push((rest, c.clone()));
    }
    groups
        .into_iter()
        .rev()
        .map(|(e, terms)| (e, Poly::from_terms(terms)))
        .collect()
}

fn from_upoly(u: &[(u32, Poly)], x: Var) -> Result<Poly, LimitReached> {
    let mut terms = Vec::with_capacity(upoly_terms(u));
    for (e, c) in u {
        let xe = Monomial::var_pow(x, *e);
        for (m, k) in &c.terms {
            let m = m
                .mul(&xe)
                .ok_or_else(|| limit(LimitKind::Exponent, AT_GCD))?;
            terms.push((m, k.clone()));
        }
    }
    Ok(Poly::from_terms(terms))
}

fn upoly_degree(u: &[(u32, Poly)]) -> u32 {
    u.first().map_or(0, |t| t.0)
}

fn upoly_terms(u: &[(u32, Poly)]) -> usize {
    u.iter().map(|t| t.1.n_terms()).sum()
}

/// `c · x^shift · u`.
fn upoly_scale(
    u: &[(u32, Poly)],
    c: &Poly,
    shift: u32,
    ctx: &Ctx<'_>,
) -> Result<Upoly, LimitReached> {
    u.iter()
        .map(|(e, k)| {
            let e = e
                .checked_add(shift)
                .ok_or_else(|| limit(LimitKind::Exponent, AT_GCD))?;
            let k = if c.is_one() {
                k.clone()
            } else {
                k.mul(c, ctx.limits, ctx.deadline)?
            };
            Ok((e, k))
        })
        .collect()
}

fn upoly_sub(a: &[(u32, Poly)], b: &[(u32, Poly)]) -> Upoly {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a, b);
    loop {
        match (a.split_first(), b.split_first()) {
            (Some(((ea, ka), ra)), Some(((eb, kb), rb))) => match ea.cmp(eb) {
                Ordering::Greater => {
                    out.push((*ea, ka.clone()));
                    a = ra;
                }
                Ordering::Less => {
                    out.push((*eb, -kb));
                    b = rb;
                }
                Ordering::Equal => {
                    let k = ka - kb;
                    if !k.is_zero() {
                        out.push((*ea, k));
                    }
                    a = ra;
                    b = rb;
                }
            },
            (Some(_), None) => {
                out.extend_from_slice(a);
                break;
            }
            (None, Some(_)) => {
                out.extend(b.iter().map(|(e, k)| (*e, -k)));
                break;
            }
            (None, None) => break,
        }
    }
    out
}

/// Divides every coefficient by `c`, which must divide each exactly.
fn upoly_div_exact(u: &[(u32, Poly)], c: &Poly, ctx: &Ctx<'_>) -> Result<Upoly, GcdFail> {
    if c.is_one() {
        return Ok(u.to_vec());
    }
    u.iter()
        .map(|(e, k)| {
            let q = k
                .div_exact(c, ctx.limits, ctx.deadline)?
                .ok_or(GcdFail::Invariant)?;
            Ok((*e, q))
        })
        .collect()
}

/// The gcd of the coefficients (normalised as by [`gcd`]); one as soon as a coefficient is
/// constant.
fn upoly_content(u: &[(u32, Poly)], ctx: &Ctx<'_>, depth: usize) -> Result<Poly, GcdFail> {
    if u.iter().any(|t| t.1.is_constant()) {
        return Ok(Poly::one());
    }
    // Smallest coefficients first: their gcd is cheaper and bounds the rest.
    let mut coeffs: Vec<&Poly> = u.iter().map(|t| &t.1).collect();
    coeffs.sort_by_key(|p| p.n_terms());
    let mut g = Poly::zero();
    for k in coeffs {
        g = gcd_rec(&g, k, ctx, depth + 1)?;
        if g.is_one() {
            break;
        }
    }
    Ok(g)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn lim() -> Limits {
        Limits::default()
    }
    fn x() -> Poly {
        Poly::var(0)
    }
    fn y() -> Poly {
        Poly::var(1)
    }
    fn z() -> Poly {
        Poly::var(2)
    }
    fn w() -> Poly {
        Poly::var(3)
    }
    fn k(n: i64) -> Poly {
        Poly::constant(Coeff::from_i64(n))
    }
    fn q(n: i64, d: i64) -> Coeff {
        Coeff::new(n, d).unwrap()
    }
    fn big(s: &str) -> Rational {
        s.parse().unwrap()
    }
    fn mul(a: &Poly, b: &Poly) -> Poly {
        a.mul(b, &lim(), &Deadline::never()).unwrap()
    }
    fn prod(fs: &[Poly]) -> Poly {
        fs.iter().fold(Poly::one(), |acc, f| mul(&acc, f))
    }
    fn pow(a: &Poly, e: u32) -> Poly {
        a.pow(e, &lim(), &Deadline::never()).unwrap()
    }
    fn g(a: &Poly, b: &Poly) -> Poly {
        gcd(a, b, &lim(), &Deadline::never()).unwrap()
    }
    fn div(a: &Poly, d: &Poly) -> Option<Poly> {
        a.div_exact(d, &lim(), &Deadline::never()).unwrap()
    }
    /// A polynomial written out term by term, independently of `mul` and `pow`.
    fn poly(terms: &[(i64, &[(Var, u32)])]) -> Poly {
        Poly::from_terms(terms.iter().map(|(c, ps)| {
            (
                Monomial::from_pairs(ps.iter().copied()).unwrap(),
                Coeff::from_i64(*c),
            )
        }))
    }
    fn mono(ps: &[(Var, u32)]) -> Monomial {
        Monomial::from_pairs(ps.iter().copied()).unwrap()
    }

    // ---- coefficients ----

    #[test]
    fn coeff_small_arithmetic_is_exact() {
        assert_eq!(&q(1, 2) + &q(1, 3), q(5, 6));
        assert_eq!(&q(2, 3) * &q(3, 4), q(1, 2));
        assert!((&q(1, 2) - &q(2, 4)).is_zero());
        assert_eq!(q(-2, 3).recip(), Some(q(-3, 2)));
        assert_eq!(q(4, -6), q(-2, 3));
        assert_eq!(Coeff::zero().recip(), None);
        assert_eq!(q(1, 2).checked_div(&q(1, 4)), Some(Coeff::from_i64(2)));
        assert_eq!(Coeff::new(1, 0), None);
    }

    #[test]
    fn coeff_overflow_promotes_to_big_and_back() {
        let max = Coeff::from_i64(i64::MAX);
        let over = &max + &Coeff::one();
        assert_eq!(over.to_rational(), big("9223372036854775808"));
        assert_eq!(&over - &Coeff::one(), max);
        assert!(matches!((&over - &Coeff::one()).0, Repr::Small { .. }));
        let min = Coeff::from_i64(i64::MIN);
        assert_eq!(min.to_rational(), big("-9223372036854775808"));
        assert_eq!((-&min).to_rational(), big("9223372036854775808"));
        assert_eq!(&min + &Coeff::one(), Coeff::from_i64(i64::MIN + 1));
        let sq = &max * &max;
        assert_eq!(
            sq.to_rational(),
            big("85070591730234615847396907784232501249")
        );
        assert_eq!(
            Coeff::new(1, i64::MIN).unwrap().to_rational(),
            big("-1/9223372036854775808")
        );
    }

    #[test]
    fn coeff_representation_is_canonical() {
        let r = Rational::new(BigInt::from(6), BigInt::from(4));
        assert_eq!(Coeff::from_rational(&r), q(3, 2));
        assert!(matches!(
            Coeff::from_rational(&r).0,
            Repr::Small { num: 3, den: 2 }
        ));
    }

    #[test]
    fn coeff_order_is_numeric() {
        assert!(q(1, 3) < q(1, 2));
        assert!(q(-1, 2) < q(-1, 3));
        assert!(Coeff::from_rational(&big("100000000000000000000000")) > Coeff::from_i64(i64::MAX));
    }

    #[test]
    fn coeff_pow_bounded_stops_at_the_digit_limit() {
        assert_eq!(
            Coeff::from_i64(2).pow_bounded(10, 1000),
            Some(Coeff::from_i64(1024))
        );
        assert_eq!(q(-2, 3).pow_bounded(3, 1000), Some(q(-8, 27)));
        assert_eq!(Coeff::from_i64(10).pow_bounded(50, 30), None);
        assert_eq!(Coeff::from_i64(10).pow_bounded(u32::MAX, 1000), None);
    }

    #[test]
    fn rational_gcd_is_gcd_of_numerators_over_lcm_of_denominators() {
        assert_eq!(Coeff::rational_gcd(&q(4, 3), &q(-6, 5)), q(2, 15));
        assert_eq!(Coeff::rational_gcd(&Coeff::zero(), &q(-6, 5)), q(6, 5));
        let b = Coeff::from_rational(&big("20000000000000000000000"));
        assert_eq!(Coeff::rational_gcd(&b, &q(6, 1)), Coeff::from_i64(2));
    }

    fn arb_i64() -> impl Strategy<Value = i64> {
        prop_oneof![
            -20i64..=20,
            any::<i64>(),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::MIN + 1),
            Just(i64::MAX - 1),
        ]
    }

    fn arb_wide_coeff() -> impl Strategy<Value = Coeff> {
        (arb_i64(), arb_i64().prop_filter("non-zero", |d| *d != 0))
            .prop_map(|(n, d)| Coeff::new(n, d).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn coeff_arithmetic_agrees_with_big_rationals(a in arb_wide_coeff(), b in arb_wide_coeff()) {
            let (ra, rb) = (a.to_rational(), b.to_rational());
            prop_assert_eq!(&a + &b, Coeff::from_rational(&(&ra + &rb)));
            prop_assert_eq!(&a - &b, Coeff::from_rational(&(&ra - &rb)));
            prop_assert_eq!(&a * &b, Coeff::from_rational(&(&ra * &rb)));
            prop_assert_eq!((-&a).to_rational(), -ra.clone());
            prop_assert_eq!(a.cmp(&b), ra.cmp(&rb));
            if !b.is_zero() {
                prop_assert_eq!(a.checked_div(&b).unwrap().to_rational(), &ra / &rb);
            }
        }
    }

    /// Coefficients of up to about 40 digits: inline ones, big ones that fit `i128` (the
    /// fast path of `wide_add`/`wide_mul`), and ones beyond it, near the `i128` bounds included.
    fn arb_big_coeff() -> impl Strategy<Value = Coeff> {
        let part = prop_oneof![
            any::<i64>().prop_map(i128::from),
            any::<i128>(),
            Just(i128::MAX),
            Just(i128::MIN),
            Just(i128::MIN + 1),
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| i128::from(a) * i128::from(b)),
        ];
        let wide = (part.clone(), part, 0u32..3).prop_map(|(n, d, shift)| {
            // shift 1 and 2 push the numerator past i128 by a factor 10^20 or 10^40.
            let n = BigInt::from(n) * BigInt::from(10u8).pow(20 * shift);
            let d = if d == 0 {
                BigInt::one()
            } else {
                BigInt::from(d)
            };
            Coeff::from_rational(&Rational::new(n, d))
        });
        prop_oneof![arb_wide_coeff(), wide]
    }

    #[test]
    fn an_i128_ratio_is_the_coefficient_of_its_rational() {
        let min = i128::from(i64::MIN);
        let max = i128::from(i64::MAX);
        let values = [
            0,
            1,
            -1,
            2,
            -2,
            6,
            -4,
            max,
            -max,
            min,
            min + 1,
            max + 1,
            2 * min,
            3 * max,
            i128::MAX,
            i128::MIN + 1,
        ];
        for num in values {
            for den in values.iter().copied().filter(|d| *d != 0) {
                let want = Coeff::from_rational(&Rational::new(num.into(), den.into()));
                assert_eq!(Coeff::from_i128_ratio(num, den), want, "{num}/{den}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn big_coeff_arithmetic_agrees_with_big_rationals(
            a in arb_big_coeff(),
            b in arb_big_coeff(),
        ) {
            let (ra, rb) = (a.to_rational(), b.to_rational());
            prop_assert_eq!(&a + &b, Coeff::from_rational(&(&ra + &rb)));
            prop_assert_eq!(&a - &b, Coeff::from_rational(&(&ra - &rb)));
            prop_assert_eq!(&a * &b, Coeff::from_rational(&(&ra * &rb)));
            let g = Coeff::rational_gcd(&a, &b);
            let num = ra.numer().gcd(rb.numer());
            let den = ra.denom().lcm(rb.denom());
            prop_assert_eq!(g, Coeff::from_rational(&Rational::new(num, den)));
        }
    }

    // ---- monomials ----

    #[test]
    fn monomial_order_is_graded_lexicographic_lower_variables_first() {
        let chain = [
            mono(&[(1, 3)]),
            mono(&[(0, 2)]),
            mono(&[(0, 1), (1, 1)]),
            mono(&[(0, 1), (2, 1)]),
            mono(&[(1, 2)]),
            mono(&[(0, 1)]),
            mono(&[(1, 1)]),
            Monomial::one(),
        ];
        for pair in chain.windows(2) {
            assert!(pair[0] > pair[1], "{} > {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn monomial_mul_div_gcd() {
        let a = mono(&[(0, 2), (2, 1)]);
        let b = mono(&[(0, 1), (1, 3)]);
        let ab = a.mul(&b).unwrap();
        assert_eq!(ab, mono(&[(0, 3), (1, 3), (2, 1)]));
        assert_eq!(ab.total_degree(), 7);
        assert_eq!(ab.div(&b), Some(a.clone()));
        assert_eq!(a.div(&b), None);
        assert!(b.divides(&ab) && !ab.divides(&b) && !a.divides(&b));
        assert_eq!(a.gcd(&b), mono(&[(0, 1)]));
        assert_eq!(ab.degree_in(1), 3);
        assert_eq!(ab.degree_in(5), 0);
        assert_eq!(ab.split_var(1), (3, mono(&[(0, 3), (2, 1)])));
        assert_eq!(mono(&[(0, 1), (0, 2)]), mono(&[(0, 3)]));
    }

    #[test]
    fn monomial_exponent_overflow_is_none() {
        let a = Monomial::var_pow(0, u32::MAX);
        assert_eq!(a.mul(&Monomial::var(0)), None);
        assert_eq!(Monomial::var_pow(0, 1 << 16).pow(1 << 16), None);
        assert_eq!(Monomial::from_pairs([(0, u32::MAX), (0, 1)]), None);
    }

    #[test]
    fn monomial_spilled_to_heap_equals_inline() {
        let a = mono(&[(0, 1), (1, 1), (2, 1)]);
        let b = mono(&[(3, 1), (4, 1), (5, 1)]);
        let ab = a.mul(&b).unwrap();
        assert!(ab.spill.is_some());
        assert_eq!(ab, mono(&[(5, 1), (4, 1), (3, 1), (2, 1), (1, 1), (0, 1)]));
        let back = ab.div(&b).unwrap();
        assert!(back.spill.is_none());
        assert_eq!(back, a);
        let hash = |m: &Monomial| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            m.hash(&mut h);
            h.finish()
        };
        let heap_a = Monomial {
            total: 3,
            len: 0,
            inline: [(0, 0); INLINE],
            spill: Some(a.pairs().to_vec().into_boxed_slice()),
        };
        assert_eq!(heap_a, a);
        assert_eq!(hash(&heap_a), hash(&a));
    }

    fn arb_mono() -> impl Strategy<Value = Monomial> {
        prop::collection::vec((0u32..6, 0u32..4), 0..6)
            .prop_map(|ps| Monomial::from_pairs(ps).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn monomial_order_is_multiplicative(a in arb_mono(), b in arb_mono(), c in arb_mono()) {
            let (ac, bc) = (a.mul(&c).unwrap(), b.mul(&c).unwrap());
            prop_assert_eq!(a.cmp(&b), ac.cmp(&bc));
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(ac.div(&c), Some(a.clone()));
            let g = a.gcd(&b);
            prop_assert!(g.divides(&a) && g.divides(&b));
        }
    }

    // ---- polynomials ----

    #[test]
    fn from_terms_combines_and_drops_zeros() {
        let p = Poly::from_terms([
            (Monomial::var(0), Coeff::from_i64(1)),
            (Monomial::one(), Coeff::from_i64(1)),
            (Monomial::var(0), Coeff::from_i64(2)),
            (Monomial::var(0), Coeff::from_i64(-3)),
            (Monomial::var(1), Coeff::zero()),
        ]);
        assert_eq!(p, Poly::one());
        assert!((&x() - &x()).is_zero());
        assert_eq!(&(&x() + &y()) - &y(), x());
        assert_eq!(-&(-&x()), x());
    }

    #[test]
    fn product_and_power_expand() {
        let diff_squares = poly(&[(1, &[(0, 2)]), (-1, &[(1, 2)])]);
        assert_eq!(mul(&(&x() + &y()), &(&x() - &y())), diff_squares);
        let cube = poly(&[(1, &[(0, 3)]), (3, &[(0, 2)]), (3, &[(0, 1)]), (1, &[])]);
        assert_eq!(pow(&(&x() + &k(1)), 3), cube);
        assert_eq!(pow(&(&x() + &k(1)), 0), Poly::one());
        assert_eq!(pow(&Poly::zero(), 0), Poly::one());
        assert_eq!(pow(&Poly::zero(), 3), Poly::zero());
        assert_eq!(
            pow(&Poly::term(mono(&[(0, 2)]), q(-1, 2)), 3),
            Poly::term(mono(&[(0, 6)]), q(-1, 8))
        );
    }

    #[test]
    fn large_product_agrees_with_batched_form() {
        // 80 × 80 terms is more than one batch of products.
        let a = Poly::from_terms((0..80).map(|e| (Monomial::var_pow(0, e), Coeff::one())));
        let b =
            Poly::from_terms((0..80).map(|e| (Monomial::var_pow(1, e), Coeff::from_i64(e.into()))));
        let ab = mul(&a, &b);
        assert_eq!(ab.n_terms(), 80 * 80 - 80);
        let at = |v: Var| {
            Some(Rational::from_integer(BigInt::from(if v == 0 {
                2
            } else {
                3
            })))
        };
        assert_eq!(ab.eval(at), Some(a.eval(at).unwrap() * b.eval(at).unwrap()));
    }

    #[test]
    fn leading_term_follows_the_order() {
        let p = poly(&[(3, &[(0, 1), (1, 2)]), (1, &[(0, 3)]), (5, &[(1, 1)])]);
        assert_eq!(p.leading_term(), Some(&(mono(&[(0, 3)]), Coeff::one())));
        assert_eq!(p.total_degree(), 3);
        assert_eq!(p.degree_in(1), 2);
        assert_eq!(p.vars(), vec![0, 1]);
        assert_eq!(p.to_string(), "x0^3 + 3*x0*x1^2 + 5*x1");
        let r = Poly::from_terms([
            (mono(&[(0, 2), (1, 1)]), Coeff::from_i64(2)),
            (Monomial::var(1), q(-1, 3)),
            (Monomial::one(), Coeff::from_i64(5)),
        ]);
        assert_eq!(r.to_string(), "2*x0^2*x1 - 1/3*x1 + 5");
        assert_eq!((-&x()).to_string(), "-x0");
    }

    #[test]
    fn div_exact_finds_quotients_and_rejects_non_divisors() {
        let diff_squares = poly(&[(1, &[(0, 2)]), (-1, &[(1, 2)])]);
        assert_eq!(div(&diff_squares, &(&x() - &y())), Some(&x() + &y()));
        assert_eq!(div(&(&pow(&x(), 2) + &k(1)), &(&x() + &k(1))), None);
        assert_eq!(div(&x(), &Poly::zero()), None);
        assert_eq!(div(&Poly::zero(), &x()), Some(Poly::zero()));
        assert_eq!(
            div(&(&x() + &k(1)), &k(2)),
            Some(Poly::from_terms([
                (Monomial::var(0), q(1, 2)),
                (Monomial::one(), q(1, 2))
            ]))
        );
        assert_eq!(
            div(&poly(&[(1, &[(0, 2), (1, 1)])]), &x()),
            Some(poly(&[(1, &[(0, 1), (1, 1)])]))
        );
        assert_eq!(div(&y(), &x()), None);
        // x^N / (x − 1) is rejected at once, not after N steps.
        let xn = Poly::term(Monomial::var_pow(0, 1_000_000_000), Coeff::one());
        assert_eq!(div(&xn, &(&x() - &k(1))), None);
        // (x^6 − 1) / (x − 1) = x^5 + … + 1.
        let x6 = &pow(&x(), 6) - &k(1);
        let geo = Poly::from_terms((0..6).map(|e| (Monomial::var_pow(0, e), Coeff::one())));
        assert_eq!(div(&x6, &(&x() - &k(1))), Some(geo));
    }

    #[test]
    fn contents_split_off_integer_and_monomial_factors() {
        let p = Poly::from_terms([
            (Monomial::var(0), q(-4, 3)),
            (Monomial::one(), Coeff::from_i64(2)),
        ]);
        assert_eq!(p.integer_content(), q(-2, 3));
        assert_eq!(p.primitive_part(), &mul(&k(2), &x()) - &k(3));
        assert_eq!(Poly::zero().integer_content(), Coeff::zero());
        assert_eq!(k(-7).primitive_part(), Poly::one());
        let m = poly(&[(1, &[(0, 2), (1, 1)]), (4, &[(0, 1), (1, 3)])]);
        assert_eq!(m.monomial_content(), mono(&[(0, 1), (1, 1)]));
        assert_eq!(
            m.div_monomial(&mono(&[(0, 1), (1, 1)])),
            Some(poly(&[(1, &[(0, 1)]), (4, &[(1, 2)])]))
        );
        assert_eq!(
            p.monic(),
            Poly::from_terms([
                (Monomial::var(0), Coeff::one()),
                (Monomial::one(), q(-3, 2))
            ])
        );
    }

    #[test]
    fn eval_substitutes_rationals() {
        let p = pow(&(&x() + &k(1)), 2);
        let half = |_: Var| Some(Rational::new(BigInt::from(1), BigInt::from(2)));
        assert_eq!(
            p.eval(half),
            Some(Rational::new(BigInt::from(9), BigInt::from(4)))
        );
        assert_eq!(p.eval(|_| None), None);
    }

    // ---- gcd ----

    #[test]
    fn gcd_of_shared_factors() {
        let (s, d) = (&x() + &y(), &x() - &y());
        let a = prod(&[s.clone(), s.clone(), d.clone()]);
        let b = prod(&[s.clone(), d.clone(), d.clone()]);
        assert_eq!(g(&a, &b), poly(&[(1, &[(0, 2)]), (-1, &[(1, 2)])]));
    }

    #[test]
    fn gcd_of_coprime_inputs_is_one() {
        assert_eq!(g(&(&x() + &k(1)), &(&x() + &k(2))), Poly::one());
        assert_eq!(g(&(&x() + &y()), &(&x() - &y())), Poly::one());
        assert_eq!(
            g(&(&pow(&x(), 2) + &pow(&y(), 2)), &(&x() + &y())),
            Poly::one()
        );
        assert_eq!(g(&(&x() + &k(1)), &(&y() + &k(1))), Poly::one());
        assert_eq!(g(&k(5), &x()), Poly::one());
    }

    #[test]
    fn gcd_with_rational_coefficients() {
        // x/2 + 1/3 = (3x + 2)/6, and 3x^2 + 2x = x(3x + 2).
        let a = Poly::from_terms([(Monomial::var(0), q(1, 2)), (Monomial::one(), q(1, 3))]);
        let b = poly(&[(3, &[(0, 2)]), (2, &[(0, 1)])]);
        assert_eq!(g(&a, &b), poly(&[(3, &[(0, 1)]), (2, &[])]));
    }

    #[test]
    fn gcd_in_four_variables() {
        let common = &(&mul(&x(), &y()) + &z()) + &k(1);
        let a = mul(&common, &(&x() + &z()));
        let b = mul(&common, &(&y() - &mul(&k(2), &w())));
        assert_eq!(g(&a, &b), common);
        let c = mul(&mul(&common, &common), &(&w() + &k(3)));
        assert_eq!(g(&c, &mul(&a, &common)), mul(&common, &common));
    }

    #[test]
    fn gcd_with_zero_and_constants() {
        let p = &mul(&k(-2), &x()) - &k(4);
        assert_eq!(g(&Poly::zero(), &p), &x() + &k(2));
        assert_eq!(g(&p, &Poly::zero()), &x() + &k(2));
        assert_eq!(g(&Poly::zero(), &Poly::zero()), Poly::zero());
        assert_eq!(g(&Poly::zero(), &k(7)), Poly::one());
        assert_eq!(g(&k(6), &k(4)), Poly::one());
    }

    #[test]
    fn gcd_of_monomial_factors_and_one_sided_variables() {
        assert_eq!(
            g(
                &poly(&[(1, &[(0, 2), (1, 1)])]),
                &poly(&[(1, &[(0, 1), (1, 3)])])
            ),
            mul(&x(), &y())
        );
        let x1 = &x() + &k(1);
        let a = prod(&[pow(&x(), 2), x1.clone()]);
        let b = prod(&[x(), x1.clone(), y()]);
        assert_eq!(g(&a, &b), mul(&x(), &x1));
        let a = mul(&x1, &(&y() + &k(1)));
        let b = mul(&x1, &(&z() + &k(2)));
        assert_eq!(g(&a, &b), x1);
    }

    #[test]
    fn gcd_with_non_monic_leading_coefficients() {
        let f = |c: i64, r: i64| &mul(&k(c), &x()) + &k(r);
        let a = prod(&[f(2, 1), f(3, -1), f(1, 5)]);
        let b = prod(&[f(2, 1), f(1, -7)]);
        assert_eq!(g(&a, &b), f(2, 1));
        let a = prod(&[f(1, -1), f(1, -2), f(1, -3)]);
        let b = prod(&[f(1, -2), f(1, -3), f(1, -4)]);
        assert_eq!(
            g(&a, &b),
            poly(&[(1, &[(0, 2)]), (-5, &[(0, 1)]), (6, &[])])
        );
        // Leading coefficients in the other variable: (xy + 1) is the common factor.
        let xy1 = &mul(&x(), &y()) + &k(1);
        let a = mul(&xy1, &(&x() + &y()));
        let b = mul(&xy1, &(&x() - &pow(&y(), 2)));
        assert_eq!(g(&a, &b), xy1);
        // Degree gaps of two or more in the remainder sequence.
        let a = mul(&(&pow(&x(), 5) + &mul(&y(), &x())), &(&x() - &y()));
        let b = mul(&(&pow(&x(), 2) + &k(1)), &(&x() - &y()));
        assert_eq!(g(&a, &b), &x() - &y());
    }

    #[test]
    fn gcd_keeps_common_content_in_other_variables() {
        // Seen as polynomials in x, both have content y + 1.
        let y1 = &y() + &k(1);
        let a = mul(&y1, &(&x() + &k(1)));
        let b = mul(&y1, &(&x() + &k(2)));
        assert_eq!(g(&a, &b), y1);
        let a = prod(&[y1.clone(), &z() - &y(), &x() + &z()]);
        let b = prod(&[y1.clone(), &z() - &y(), &x() - &z()]);
        assert_eq!(g(&a, &b), mul(&y1, &(&y() - &z())).primitive_part());
    }

    #[test]
    fn univariate_gcd_on_dense_and_sparse_paths() {
        let xm1 = |n: u32| &Poly::term(Monomial::var_pow(0, n), Coeff::one()) - &k(1);
        // gcd(x^a − 1, x^b − 1) = x^gcd(a, b) − 1; degree 2000 is above the dense bound.
        assert_eq!(g(&xm1(20), &xm1(15)), xm1(5));
        assert_eq!(g(&xm1(2000), &xm1(1500)), xm1(500));
        assert_eq!(g(&xm1(2001), &xm1(1500)), xm1(3));
    }

    fn arb_coeff() -> impl Strategy<Value = Coeff> {
        prop_oneof![
            4 => (-5i64..=5).prop_map(Coeff::from_i64),
            1 => (-5i64..=5, 1i64..=4).prop_map(|(n, d)| Coeff::new(n, d).unwrap()),
        ]
    }

    /// Polynomials in `n_vars` variables, exponents up to `max_exp`, up to `max_terms` terms.
    pub(crate) fn arb_poly(
        n_vars: u32,
        max_exp: u32,
        max_terms: usize,
    ) -> impl Strategy<Value = Poly> {
        prop::collection::vec(
            (
                prop::collection::vec((0..n_vars, 0..=max_exp), 0..=2),
                arb_coeff(),
            ),
            0..=max_terms,
        )
        .prop_map(|ts| {
            Poly::from_terms(
                ts.into_iter()
                    .map(|(ps, c)| (Monomial::from_pairs(ps).unwrap(), c)),
            )
        })
    }

    fn arb_point(n_vars: usize) -> impl Strategy<Value = Vec<Rational>> {
        prop::collection::vec((-7i64..=7, 1i64..=5), n_vars).prop_map(|v| {
            v.into_iter()
                .map(|(n, d)| Rational::new(BigInt::from(n), BigInt::from(d)))
                .collect()
        })
    }

    /// An independent univariate gcd over ℚ: Euclid's algorithm on dense coefficient vectors
    /// (index = degree), made monic.
    fn dense_gcd(a: &Poly, b: &Poly) -> Vec<Rational> {
        let dense = |p: &Poly| {
            let mut v = vec![Rational::zero(); p.degree_in(0) as usize + 1];
            for (m, c) in p.terms() {
                v[m.degree_in(0) as usize] = c.to_rational();
            }
            while v.last().is_some_and(|c| c.is_zero()) {
                v.pop();
            }
            v
        };
        let (mut a, mut b) = (dense(a), dense(b));
        while !b.is_empty() {
            // a ← a mod b
            while a.len() >= b.len() {
                let f = a.last().unwrap() / b.last().unwrap();
                let shift = a.len() - b.len();
                for (i, c) in b.iter().enumerate() {
                    a[i + shift] -= &f * c;
                }
                a.pop();
                while a.last().is_some_and(|c| c.is_zero()) {
                    a.pop();
                }
            }
            std::mem::swap(&mut a, &mut b);
        }
        if let Some(lc) = a.last().cloned() {
            for c in &mut a {
                *c /= &lc;
            }
        }
        a
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn gcd_divides_both_inputs(a in arb_poly(3, 2, 4), b in arb_poly(3, 2, 4)) {
            let d = g(&a, &b);
            prop_assert_eq!(d.primitive_part(), d.clone());
            if !d.is_zero() {
                prop_assert!(div(&a, &d).is_some(), "gcd {} does not divide {}", d, a);
                prop_assert!(div(&b, &d).is_some(), "gcd {} does not divide {}", d, b);
            }
            prop_assert_eq!(g(&b, &a), d);
        }

        #[test]
        fn gcd_of_multiples_is_the_common_factor_times_the_gcd(
            a in arb_poly(3, 2, 3),
            b in arb_poly(3, 2, 3),
            c in arb_poly(3, 2, 3),
        ) {
            let (ac, bc) = (mul(&a, &c), mul(&b, &c));
            let d = g(&ac, &bc);
            if !c.is_zero() {
                prop_assert!(div(&d, &c).is_some(), "{} does not divide gcd {}", c, d);
            }
            prop_assert_eq!(d, mul(&c, &g(&a, &b)).primitive_part());
        }

        #[test]
        fn gcd_finds_common_factors_free_of_the_main_variable(
            a in arb_poly(3, 2, 3),
            b in arb_poly(3, 2, 3),
            c in arb_poly(3, 2, 3),
        ) {
            // c is made free of x0 (a content in x0), while a and b contain x0.
            let c = Poly::from_terms(c.terms().iter().map(|(m, k)| (m.split_var(0).1, k.clone())));
            let (a, b) = (&a + &x(), &b - &mul(&x(), &x()));
            let d = g(&mul(&a, &c), &mul(&b, &c));
            prop_assert_eq!(d, mul(&c, &g(&a, &b)).primitive_part());
        }

        #[test]
        fn univariate_gcd_matches_euclid_over_q(
            a in arb_poly(1, 4, 4),
            b in arb_poly(1, 4, 4),
            c in arb_poly(1, 2, 3),
        ) {
            let (ac, bc) = (mul(&a, &c), mul(&b, &c));
            let ours: Vec<Rational> = {
                let d = g(&ac, &bc).monic();
                let mut v = vec![Rational::zero(); if d.is_zero() { 0 } else { d.degree_in(0) as usize + 1 }];
                for (m, k) in d.terms() {
                    v[m.degree_in(0) as usize] = k.to_rational();
                }
                v
            };
            prop_assert_eq!(ours, dense_gcd(&ac, &bc));
        }

        #[test]
        fn ring_operations_agree_with_evaluation(
            a in arb_poly(3, 3, 5),
            b in arb_poly(3, 3, 5),
            pt in arb_point(3),
        ) {
            let at = |v: Var| pt.get(v as usize).cloned();
            let (va, vb) = (a.eval(at).unwrap(), b.eval(at).unwrap());
            prop_assert_eq!((&a + &b).eval(at).unwrap(), &va + &vb);
            prop_assert_eq!((&a - &b).eval(at).unwrap(), &va - &vb);
            prop_assert_eq!(mul(&a, &b).eval(at).unwrap(), &va * &vb);
            prop_assert_eq!(pow(&a, 3).eval(at).unwrap(), &va * &va * &va);
            let ab = mul(&a, &b);
            if !b.is_zero() {
                prop_assert_eq!(div(&ab, &b), Some(a.clone()));
            }
            let c = a.integer_content();
            prop_assert_eq!(a.primitive_part().scale(&c), a.clone());
            let m = a.monomial_content();
            prop_assert_eq!(a.div_monomial(&m).unwrap().mul_monomial(&m).unwrap(), a.clone());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn packed_and_general_products_agree(
            a in arb_poly(3, 3, 8),
            b in arb_poly(3, 3, 8),
            shift in prop_oneof![Just(0u32), Just(100u32), Just(250u32)],
        ) {
            // A shift of the exponents of x0 by 250 leaves no room in the packed fields.
            let xs = Poly::term(Monomial::var_pow(0, shift), Coeff::one());
            let a = mul(&a, &xs);
            let (l, d) = (lim(), Deadline::never());
            let general = a.mul_with(&b, &l, &d, Kernel::General).unwrap();
            prop_assert_eq!(a.mul(&b, &l, &d).unwrap(), general);
        }
    }

    #[test]
    fn products_beyond_the_packed_fields_use_the_general_kernel() {
        let many = (0..14).fold(Poly::zero(), |acc, v| &acc + &Poly::var(v));
        assert!(Packed::new(&many, &(&x() + &k(1))).is_none());
        let high = &Poly::term(Monomial::var_pow(0, 200), Coeff::one()) + &k(1);
        assert!(Packed::new(&high, &high).is_none());
        assert!(Packed::new(&high, &(&x() + &k(1))).is_some());
        let sq = mul(&high, &high);
        assert_eq!(sq, poly(&[(1, &[(0, 400)]), (2, &[(0, 200)]), (1, &[])]));
        let a = mul(&many, &many);
        assert_eq!(a.n_terms(), 14 * 15 / 2);
        assert_eq!(a.leading_term(), Some(&(mono(&[(0, 2)]), Coeff::one())));
    }

    // ---- limits ----

    #[test]
    fn power_beyond_max_terms_is_a_limit() {
        let small = Limits {
            max_terms: 100,
            ..Limits::default()
        };
        // (x + y + z + 1)^10 has C(13, 3) = 286 terms.
        let p = &(&(&x() + &y()) + &z()) + &k(1);
        let err = p.pow(10, &small, &Deadline::never()).unwrap_err();
        assert_eq!(err.which, LimitKind::Terms);
        assert!(p.pow(4, &small, &Deadline::never()).is_ok());
    }

    #[test]
    fn product_beyond_max_terms_is_a_limit() {
        let small = Limits {
            max_terms: 100,
            ..Limits::default()
        };
        let a = Poly::from_terms((0..20).map(|e| (Monomial::var_pow(0, e), Coeff::one())));
        let b = Poly::from_terms((0..20).map(|e| (Monomial::var_pow(1, e), Coeff::one())));
        assert_eq!(
            a.mul(&b, &small, &Deadline::never()).unwrap_err().which,
            LimitKind::Terms
        );
    }

    #[test]
    fn exponent_overflow_is_a_limit() {
        let p = &Poly::term(Monomial::var_pow(0, u32::MAX), Coeff::one()) + &k(1);
        assert_eq!(
            p.mul(&x(), &lim(), &Deadline::never()).unwrap_err().which,
            LimitKind::Exponent
        );
        assert_eq!(
            p.pow(2, &lim(), &Deadline::never()).unwrap_err().which,
            LimitKind::Exponent
        );
    }

    #[test]
    fn coefficient_growth_is_a_limit() {
        let huge = Coeff::from_rational(&big("1000000000000000000000000000000"));
        let p = &Poly::term(Monomial::var(0), huge) + &k(1);
        let small = Limits {
            max_digits: 50,
            ..Limits::default()
        };
        assert_eq!(
            p.pow(2, &small, &Deadline::never()).unwrap_err().which,
            LimitKind::Digits
        );
        assert!(p.pow(2, &lim(), &Deadline::never()).is_ok());
    }

    #[test]
    fn past_deadline_stops_product_and_gcd() {
        let past = Deadline::after(Duration::ZERO);
        let p = &x() + &k(1);
        assert_eq!(p.mul(&p, &lim(), &past).unwrap_err().which, LimitKind::Time);
        assert_eq!(
            gcd(&mul(&p, &y()), &p, &lim(), &past).unwrap_err().which,
            LimitKind::Time
        );
    }

    #[test]
    fn huge_degree_gcd_stops_at_the_deadline() {
        // x^(2^32 − 1) + 1 is divisible by x + 1, but the remainder sequence has 2^32 steps.
        let p = &Poly::term(Monomial::var_pow(0, u32::MAX), Coeff::one()) + &k(1);
        let q = &x() + &k(1);
        let soon = Deadline::after(Duration::from_millis(20));
        assert_eq!(
            gcd(&p, &q, &lim(), &soon).unwrap_err().which,
            LimitKind::Time
        );
    }

    #[test]
    fn gcd_recursion_deeper_than_max_depth_is_a_limit() {
        let shallow = Limits {
            max_depth: 1,
            ..Limits::default()
        };
        let a = (0..8).fold(Poly::one(), |acc, v| mul(&acc, &(&Poly::var(v) + &k(1))));
        let b = (0..8).fold(Poly::one(), |acc, v| mul(&acc, &(&Poly::var(v) + &k(2))));
        assert_eq!(
            gcd(&a, &b, &shallow, &Deadline::never()).unwrap_err().which,
            LimitKind::Depth
        );
        assert_eq!(g(&a, &b), Poly::one());
    }
}
