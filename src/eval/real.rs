//! The two floating-point types a [`Tape`](super::Tape) evaluates batches in, `f64` and
//! `f32`, behind one trait, so that the tape, the trainer's products and its passes are
//! written once.
//!
//! `f64` is the reference: its tape runs exactly the operations of
//! [`eval_f64`](super::eval_f64) (the conversions below are the identity and compile to
//! nothing), which the checker relies on. `f32` is for the trainer's batch passes, where it
//! halves the memory traffic and doubles the vector lanes. An `f32` tape computes `+`, `−`,
//! `·`, `/` and squares in `f32`, and eˣ, tanh, σ and ln with the `f32` functions of
//! [`vector`](super::vector) when asked for [`Elementwise::Vectorised`](super::Elementwise);
//! every other function (ln without it, sin, powers, max, …) is the `f64` function of
//! [`special`](super::special) on the argument widened to `f64`, rounded back to `f32`.
//!
//! Parameters stay `f64` everywhere; [`Real::narrow_into`], [`Real::as_f64_slice`] and
//! [`Real::cast`] are how `f64` storage is read as `Self` without copying when `Self` is
//! `f64`.

use std::borrow::Cow;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for f32 {}
}

/// `f64` or `f32`; see the module documentation.
pub trait Real:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + MulAssign
{
    /// `f64` or `f32`, for messages and reports.
    const NAME: &'static str;
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// NaN.
    const NAN: Self;
    /// −∞.
    const NEG_INFINITY: Self;

    /// `x` rounded to `Self` (the identity for `f64`).
    fn from_f64(x: f64) -> Self;

    /// The value as `f64` (exact).
    fn to_f64(self) -> f64;

    /// The larger value (IEEE `maxNum`, as [`f64::max`]).
    fn max(self, other: Self) -> Self;

    /// `out[i] = eˣⁱ` with the vectorised function of [`vector`](super::vector).
    fn exp_slice(xs: &[Self], out: &mut [Self]);

    /// `out[i] = tanh xᵢ`, vectorised.
    fn tanh_slice(xs: &[Self], out: &mut [Self]);

    /// `out[i] = σ(xᵢ)`, vectorised.
    fn sigmoid_slice(xs: &[Self], out: &mut [Self]);

    /// `out[i] = ln xᵢ`, vectorised.
    fn ln_slice(xs: &[Self], out: &mut [Self]);

    /// `values` itself when `Self` is `f64`, `None` otherwise.
    fn as_f64_slice(values: &[f64]) -> Option<&[Self]>;

    /// `values` itself when `Self` is `f64`, `None` otherwise.
    fn as_f64_vec(values: &mut Vec<f64>) -> Option<&mut Vec<Self>>;

    /// `dst` = `src` rounded to `Self`, when `Self` is not `f64`; for `f64` nothing is
    /// written, because [`Real::as_f64_slice`] reads `src` itself.
    fn narrow_into(src: &[f64], dst: &mut Vec<Self>);

    /// `src` as `Self` values: borrowed for `f64`, a rounded copy otherwise.
    fn cast(src: &[f64]) -> Cow<'_, [Self]>;
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NAN: f64 = f64::NAN;
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;

    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }

    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }

    #[inline(always)]
    fn max(self, other: f64) -> f64 {
        f64::max(self, other)
    }

    fn exp_slice(xs: &[f64], out: &mut [f64]) {
        super::vector::exp_slice(xs, out);
    }

    fn tanh_slice(xs: &[f64], out: &mut [f64]) {
        super::vector::tanh_slice(xs, out);
    }

    fn sigmoid_slice(xs: &[f64], out: &mut [f64]) {
        super::vector::sigmoid_slice(xs, out);
    }

    fn ln_slice(xs: &[f64], out: &mut [f64]) {
        super::vector::ln_slice(xs, out);
    }

    fn as_f64_slice(values: &[f64]) -> Option<&[f64]> {
        Some(values)
    }

    fn as_f64_vec(values: &mut Vec<f64>) -> Option<&mut Vec<f64>> {
        Some(values)
    }

    fn narrow_into(_: &[f64], _: &mut Vec<f64>) {}

    fn cast(src: &[f64]) -> Cow<'_, [f64]> {
        Cow::Borrowed(src)
    }
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAN: f32 = f32::NAN;
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;

    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }

    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn max(self, other: f32) -> f32 {
        f32::max(self, other)
    }

    fn exp_slice(xs: &[f32], out: &mut [f32]) {
        super::vector::exp_slice_f32(xs, out);
    }

    fn tanh_slice(xs: &[f32], out: &mut [f32]) {
        super::vector::tanh_slice_f32(xs, out);
    }

    fn sigmoid_slice(xs: &[f32], out: &mut [f32]) {
        super::vector::sigmoid_slice_f32(xs, out);
    }

    fn ln_slice(xs: &[f32], out: &mut [f32]) {
        super::vector::ln_slice_f32(xs, out);
    }

    fn as_f64_slice(_: &[f64]) -> Option<&[f32]> {
        None
    }

    fn as_f64_vec(_: &mut Vec<f64>) -> Option<&mut Vec<f32>> {
        None
    }

    fn narrow_into(src: &[f64], dst: &mut Vec<f32>) {
        dst.clear();
        dst.extend(src.iter().map(|&v| v as f32));
    }

    fn cast(src: &[f64]) -> Cow<'_, [f32]> {
        Cow::Owned(src.iter().map(|&v| v as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_reads_its_storage_and_f32_rounds_a_copy() {
        let v = vec![0.1, -2.5, 1e300];
        assert!(std::ptr::eq(
            <f64 as Real>::as_f64_slice(&v).unwrap().as_ptr(),
            v.as_ptr()
        ));
        assert!(matches!(<f64 as Real>::cast(&v), Cow::Borrowed(_)));
        assert!(<f32 as Real>::as_f64_slice(&v).is_none());
        let mut n = Vec::new();
        <f32 as Real>::narrow_into(&v, &mut n);
        assert_eq!(n, vec![0.1f32, -2.5, f32::INFINITY]);
        assert_eq!(<f32 as Real>::cast(&v).as_ref(), n.as_slice());
        let mut untouched = vec![7.0];
        <f64 as Real>::narrow_into(&v, &mut untouched);
        assert_eq!(untouched, vec![7.0]);
    }
}
