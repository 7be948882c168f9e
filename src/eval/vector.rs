//! Vectorisable eˣ, tanh, σ and ln in `f64`, for batches where the platform's scalar functions
//! (glibc's `exp`, `tanh`: a call and branches per value) dominate the time.
//!
//! Each function is straight-line code without calls or data-dependent branches, so a loop
//! over a slice compiles to SIMD instructions. The slice functions ([`exp_slice`],
//! [`tanh_slice`], [`sigmoid_slice`]) are compiled twice, for the x86-64 baseline (SSE2,
//! two lanes) and with AVX2 (four lanes), and pick one at run time. Neither copy uses fused
//! multiply-add (Rust never contracts `a·b + c`), so the two give the same bits as each other
//! and as the scalar functions, on every x86-64 machine: a seeded training run stays
//! reproducible.
//!
//! The formulas:
//!
//! - eˣ = 2ᵏ·eʳ with k = round(x/ln 2) and r = x − k·ln 2 (Cody–Waite: ln 2 in two parts, the
//!   first with trailing zero bits so k·ln2_hi is exact), |r| ≤ ln 2/2 + ε, and eʳ the Taylor
//!   polynomial of degree 13 (its truncation error r¹⁴/14! < 5·10⁻¹⁸ is far below half an
//!   ulp). 2ᵏ is built from the exponent bits in two factors, so results down to the
//!   subnormal range and up to overflow (∞ above 709.78) come out right.
//! - eˣ − 1 (used by tanh) = 2ᵏ·(eʳ − 1) + (2ᵏ − 1), with eʳ − 1 as the polynomial without
//!   its constant term, so it keeps full relative precision near 0.
//! - tanh x = sign(x)·(−t/(2 + t)) with t = e^(−2|x|) − 1 ∈ (−1, 0]: no overflow, no
//!   cancellation near 0, ±1 for large |x|.
//! - σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) otherwise, with e = e^(−|x|): the same stable
//!   form as [`special::sigmoid`](super::special::sigmoid).
//!
//! - ln x = k·ln 2 + ln(1 + f) with x = 2ᵏ·(1 + f), 1 + f ∈ [√½, √2), and ln(1 + f) from
//!   s = f/(2 + f) and fdlibm's degree-14 minimax polynomial in s (fdlibm's `__ieee754_log`
//!   with its branches turned into selects; subnormals scaled by 2⁵⁴ first).
//!
//! Accuracy, measured against the platform's functions in the tests of this module over
//! ±750 (extremes, subnormals, ±0, ±∞ and NaN included): within 2 ulp for eˣ and σ, 3 ulp
//! for tanh and 1 ulp for ln (also near 1 and at every binade's ends). NaN gives NaN;
//! tanh(±0) = ±0.
//!
//! The same in `f32` ([`exp_f32`], [`tanh_f32`], [`sigmoid_f32`], [`ln_f32`] and their
//! slices, for the trainer's `f32` batches), eight lanes with AVX2. eˣ, tanh and σ: the
//! formulas above with `f32` constants (ln 2 split as in Cephes, the polynomial cut at
//! degree 7, whose truncation error is a tenth of an `f32` ulp); measured against the `f64`
//! functions rounded to `f32` over ±110 (subnormals and the special values included): within
//! 1 ulp for eˣ, 2 for tanh and σ. ln: fdlibm's `logf` (the formula above in `f32`, with a
//! shorter polynomial), within 1 ulp of the `f64` ln rounded to `f32` on every positive
//! `f32`.
//!
//! What this module does not do: it is not used by [`eval_f64`](super::eval_f64) or by a
//! [`Tape`](super::Tape) unless asked for (see
//! [`Elementwise`](super::Elementwise)), because the checker compares a tape with
//! `eval_f64` bit for bit.

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 rounded to 33 significant bits (fdlibm's `ln2_hi`, 0x3fe62e42fee00000): k·LN2_HI is
/// exact for |k| < 2²⁰.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// ln 2 − LN2_HI (fdlibm's `ln2_lo`, 0x3dea39ef35793c76).
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5·2⁵²: adding it rounds a float of magnitude below 2⁵¹ to an integer (to nearest, ties
/// to even), and the integer then sits in the low bits of the sum.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// 1/k! for k = 2..=13, the Taylor coefficients after r⁰ and r¹.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// eʳ − 1 − r for |r| ≤ ln 2/2: r²·P(r) with P(r) = Σ_{i<12} r^i/(i + 2)!, evaluated in
/// Estrin's scheme (pairs, then pairs of pairs) so that the dependency chain is 6 operations
/// deep instead of Horner's 22; a vector loop is then bound by throughput, not latency.
#[inline(always)]
fn expm1_tail(r: f64) -> f64 {
    let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11] = INV_FACT;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = c0 + c1 * r;
    let p23 = c2 + c3 * r;
    let p45 = c4 + c5 * r;
    let p67 = c6 + c7 * r;
    let p89 = c8 + c9 * r;
    let p1011 = c10 + c11 * r;
    let p0_3 = p01 + p23 * r2;
    let p4_7 = p45 + p67 * r2;
    let p8_11 = p89 + p1011 * r2;
    let p = (p0_3 + p4_7 * r4) + p8_11 * r8;
    r2 * p
}

/// (k, r) with x = k·ln 2 + r, k an integer (as a float) and |r| ≤ ln 2/2 + ε.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let k = (x * LOG2_E + SHIFT) - SHIFT;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    (k, r)
}

/// 2ᵏ for an integer-valued float k with −1022 ≤ k ≤ 1023, from its exponent bits.
#[inline(always)]
fn pow2(k: f64) -> f64 {
    // (k + SHIFT) has k + 2⁵¹ in its low bits; add the exponent bias and shift the result
    // into the exponent field (the bits above it fall off).
    let bits = (k + SHIFT)
        .to_bits()
        .wrapping_add(1023u64.wrapping_sub(SHIFT.to_bits()));
    f64::from_bits(bits << 52)
}

/// eˣ: within 2 ulp of the platform's `exp`; 0 below −745.2, ∞ above 709.8, NaN for NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // `clamp` keeps NaN. Beyond these bounds the result is 0 or ∞ anyway.
    let x = x.clamp(-746.0, 710.0);
    let (k, r) = reduce(x);
    let p = 1.0 + (r + expm1_tail(r));
    // k ∈ [−1076, 1025]: two factors 2^k1·2^k2, each a normal number, so that subnormal
    // results are rounded once (at the last product) and 2¹⁰²⁴·p overflows only when it
    // should.
    let k1 = (k * 0.5 + SHIFT) - SHIFT;
    let k2 = k - k1;
    p * pow2(k1) * pow2(k2)
}

/// eˣ − 1 for −60 ≤ x ≤ 60 (outside, x is clamped: the result is −1 below, and beyond ∞ is
/// not needed by its one caller); full relative precision near 0.
#[inline(always)]
fn expm1_clamped(x: f64) -> f64 {
    let x = x.clamp(-60.0, 60.0);
    let (k, r) = reduce(x);
    let q = r + expm1_tail(r);
    let s = pow2(k);
    s * q + (s - 1.0)
}

/// tanh x: within 3 ulp of the platform's `tanh`; ±1 for large |x|, ±0 at ±0, NaN for NaN.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let t = expm1_clamped(-2.0 * x.abs());
    (-t / (2.0 + t)).copysign(x)
}

/// σ(x) = 1/(1 + e⁻ˣ), stable for either sign: within 2 ulp of
/// [`special::sigmoid`](super::special::sigmoid).
#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    let e = exp(-x.abs());
    let num = if x >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// fdlibm's coefficients of R(z) in ln(1 + f) = 2s + s·R(z), s = f/(2 + f), z = s²: a
/// minimax fit of (ln((1 + s)/(1 − s)) − 2s)/s on |s| ≤ (√2 − 1)/(√2 + 1) ≈ 0.1716, error
/// below 2⁻⁵⁸·⁴⁵. Given by their bits, as in fdlibm's `e_log.c` (6.666666666666735130e-01 …
/// 1.479819860511658591e-01).
const LG: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593),
    f64::from_bits(0x3fd9_9999_9997_fa04),
    f64::from_bits(0x3fd2_4924_9422_9359),
    f64::from_bits(0x3fcc_71c5_1d8e_78af),
    f64::from_bits(0x3fc7_4664_96cb_03de),
    f64::from_bits(0x3fc3_9a09_d078_c69f),
    f64::from_bits(0x3fc2_f112_df3e_5244),
];
/// 2⁵⁴, to scale a subnormal into the normal range.
const TWO_54: f64 = 18_014_398_509_481_984.0;
/// The bits of 2⁵²: or-ing an integer below 2⁵² into them gives 2⁵² + that integer.
const TWO_52_BITS: u64 = 0x4330_0000_0000_0000;

/// ln x (fdlibm's `__ieee754_log`, written without branches): x = 2ᵏ·m with m ∈ [√½, √2),
/// f = m − 1, ln x = k·ln 2 + f − f²/2 + s·(f²/2 + R(s²)). Within 1 ulp of the platform's
/// `ln`; −∞ at ±0, NaN below 0 and for NaN, ∞ at ∞.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // Subnormals are scaled by 2⁵⁴ first; k is read from the exponent bits as a float (no
    // integer-to-float conversion, which AVX2 lacks for 64-bit lanes).
    let tiny = x < f64::MIN_POSITIVE;
    let xs = if tiny { x * TWO_54 } else { x };
    let bits = xs.to_bits();
    let biased = f64::from_bits((bits >> 52) & 0x7ff | TWO_52_BITS) - f64::from_bits(TWO_52_BITS);
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let k = biased - 1023.0 + if big { 1.0 } else { 0.0 } - if tiny { 54.0 } else { 0.0 };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let [l1, l2, l3, l4, l5, l6, l7] = LG;
    let t1 = w * (l2 + w * (l4 + w * l6));
    let t2 = z * (l1 + w * (l3 + w * (l5 + w * l7)));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let res = k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);
    if x == f64::INFINITY {
        x
    } else if x > 0.0 {
        res
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else {
        f64::NAN
    }
}

#[inline(always)]
fn map_baseline<T: Copy>(xs: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

/// The same loop compiled with AVX2 (four `f64` or eight `f32` lanes).
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2<T: Copy>(xs: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    map_baseline(xs, out, f);
}

/// `out[i] = f(xs[i])` for `i < min(len)`, with the widest vectors the CPU has.
#[inline(always)]
fn map<T: Copy>(xs: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected just above.
            unsafe { map_avx2(xs, out, f) };
            return;
        }
    }
    map_baseline(xs, out, f);
}

/// `out[i] = eˣⁱ` for every `i` of the shorter slice.
pub fn exp_slice(xs: &[f64], out: &mut [f64]) {
    map(xs, out, exp);
}

/// `out[i] = tanh(xs[i])` for every `i` of the shorter slice.
pub fn tanh_slice(xs: &[f64], out: &mut [f64]) {
    map(xs, out, tanh);
}

/// `out[i] = σ(xs[i])` for every `i` of the shorter slice.
pub fn sigmoid_slice(xs: &[f64], out: &mut [f64]) {
    map(xs, out, sigmoid);
}

/// `out[i] = ln xᵢ` for every `i` of the shorter slice.
pub fn ln_slice(xs: &[f64], out: &mut [f64]) {
    map(xs, out, ln);
}

/// log₂ e in `f32`.
const LOG2_E_F32: f32 = std::f32::consts::LOG2_E;
/// ln 2 rounded to 9 significant bits (355/512, Cephes' `C1`): k·LN2_HI_F32 is exact for
/// |k| < 2¹⁵.
const LN2_HI_F32: f32 = 0.693_359_4;
/// ln 2 − LN2_HI_F32 (Cephes' `C2`).
const LN2_LO_F32: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds an `f32` of magnitude below 2²² to an integer, which then sits
/// in the low bits of the sum.
const SHIFT_F32: f32 = 12_582_912.0;
/// 1/k! for k = 2..=7.
const INV_FACT_F32: [f32; 6] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
];

/// eʳ − 1 − r for |r| ≤ ln 2/2 in `f32`: r²·Σ_{i<6} r^i/(i + 2)! (Estrin's scheme). The
/// truncation error r⁸/8! < 6·10⁻⁹ is a tenth of an `f32` ulp of 1.
#[inline(always)]
fn expm1_tail_f32(r: f32) -> f32 {
    let [c0, c1, c2, c3, c4, c5] = INV_FACT_F32;
    let r2 = r * r;
    let p01 = c0 + c1 * r;
    let p23 = c2 + c3 * r;
    let p45 = c4 + c5 * r;
    r2 * ((p01 + p23 * r2) + p45 * (r2 * r2))
}

/// (k, r) with x = k·ln 2 + r, in `f32`.
#[inline(always)]
fn reduce_f32(x: f32) -> (f32, f32) {
    let k = (x * LOG2_E_F32 + SHIFT_F32) - SHIFT_F32;
    let r = (x - k * LN2_HI_F32) - k * LN2_LO_F32;
    (k, r)
}

/// 2ᵏ for an integer-valued `f32` k with −126 ≤ k ≤ 127, from its exponent bits.
#[inline(always)]
fn pow2_f32(k: f32) -> f32 {
    let bits = (k + SHIFT_F32)
        .to_bits()
        .wrapping_add(127u32.wrapping_sub(SHIFT_F32.to_bits()));
    f32::from_bits(bits << 23)
}

/// eˣ in `f32`, the formula of [`exp`] with `f32` constants and a degree-7 polynomial:
/// within 1 ulp of eˣ rounded to `f32` (measured over the tests' points); 0 below −104, ∞ above 88.8, NaN for NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-104.0, 89.0);
    let (k, r) = reduce_f32(x);
    let p = 1.0 + (r + expm1_tail_f32(r));
    // k ∈ [−150, 129]: two normal factors, as in `exp`.
    let k1 = (k * 0.5 + SHIFT_F32) - SHIFT_F32;
    let k2 = k - k1;
    p * pow2_f32(k1) * pow2_f32(k2)
}

/// eˣ − 1 in `f32` for −20 ≤ x ≤ 20 (clamped outside; its one caller needs x ≤ 0, where
/// e⁻²⁰ − 1 is −1 in `f32`).
#[inline(always)]
fn expm1_clamped_f32(x: f32) -> f32 {
    let x = x.clamp(-20.0, 20.0);
    let (k, r) = reduce_f32(x);
    let q = r + expm1_tail_f32(r);
    let s = pow2_f32(k);
    s * q + (s - 1.0)
}

/// tanh x in `f32`, the formula of [`tanh`]: within 2 ulp of tanh x rounded to `f32`.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let t = expm1_clamped_f32(-2.0 * x.abs());
    (-t / (2.0 + t)).copysign(x)
}

/// σ(x) in `f32`, the stable form of [`sigmoid`]: within 2 ulp of σ(x) rounded to `f32`.
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let num = if x >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// `out[i] = eˣⁱ` in `f32` (eight lanes with AVX2).
pub fn exp_slice_f32(xs: &[f32], out: &mut [f32]) {
    map(xs, out, exp_f32);
}

/// `out[i] = tanh(xs[i])` in `f32`.
pub fn tanh_slice_f32(xs: &[f32], out: &mut [f32]) {
    map(xs, out, tanh_f32);
}

/// `out[i] = σ(xs[i])` in `f32`.
pub fn sigmoid_slice_f32(xs: &[f32], out: &mut [f32]) {
    map(xs, out, sigmoid_f32);
}

/// ln 2 rounded to 17 significant bits (fdlibm's `ln2_hi` of `e_logf.c`, 0x3f317180):
/// k·LN2_HI_LOG_F32 is exact for |k| < 2⁷ (x within 2^±127; beyond, its rounding is part of
/// what the check over every `f32` measured).
const LN2_HI_LOG_F32: f32 = f32::from_bits(0x3f31_7180);
/// ln 2 − LN2_HI_LOG_F32 (fdlibm's `ln2_lo`, 0x3717f7d1).
const LN2_LO_LOG_F32: f32 = f32::from_bits(0x3717_f7d1);
/// fdlibm's (FreeBSD's `e_logf.c`) coefficients of R(z) in `f32`: a minimax fit of
/// (ln((1 + s)/(1 − s)) − 2s)/s on |s| ≤ 0.1716, error below 2⁻³⁴·²⁴. Given by their bits
/// (0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841).
const LG_F32: [f32; 4] = [
    f32::from_bits(0x3f2a_aaaa),
    f32::from_bits(0x3ecc_ce13),
    f32::from_bits(0x3e91_e9ee),
    f32::from_bits(0x3e78_9e26),
];
/// 2²⁵, to scale an `f32` subnormal into the normal range.
const TWO_25_F32: f32 = 33_554_432.0;

/// ln x in `f32` (fdlibm's `__ieee754_logf`, as in musl, written without branches): x = 2ᵏ·m
/// with m ∈ [√½, √2), f = m − 1, s = f/(2 + f), ln x = k·ln 2 + f − f²/2 + s·(f²/2 + R(s²))
/// with R of degree 8 in s, all in `f32` (eight lanes with AVX2, where converting k from an
/// integer is one instruction). Within 1 ulp of ln x computed in `f64` and rounded to `f32`,
/// checked on every positive finite `f32` once (2.14·10⁹ values: 99.4 % equal, the rest 1
/// ulp apart) and on a sweep of them in this module's tests; −∞ at ±0, NaN below 0 and for
/// NaN, ∞ at ∞, and exactly 0 at 1.
///
/// (It was [`ln`] of the widened value, rounded: also within 1 ulp, but four lanes and 2.6
/// times the instructions.)
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    let tiny = x < f32::MIN_POSITIVE;
    let xs = if tiny { x * TWO_25_F32 } else { x };
    // Moves m's split from 2 to √2: adding 1 − √½ (as bits) carries into the exponent
    // exactly when the mantissa is at least √2's.
    let ix = xs.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    // ix >> 23 < 2⁹ for every x (the sign bit included), so the conversion is exact.
    let k = (ix >> 23) as i32 - 0x7f - if tiny { 25 } else { 0 };
    let k = k as f32;
    let m = f32::from_bits((ix & 0x007f_ffff).wrapping_add(0x3f35_04f3));
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let [l1, l2, l3, l4] = LG_F32;
    let t1 = w * (l2 + w * l4);
    let t2 = z * (l1 + w * l3);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let res = s * (hfsq + r) + k * LN2_LO_LOG_F32 - hfsq + f + k * LN2_HI_LOG_F32;
    if x == f32::INFINITY {
        x
    } else if x > 0.0 {
        res
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else {
        f32::NAN
    }
}

/// `out[i] = ln xᵢ` in `f32`.
pub fn ln_slice_f32(xs: &[f32], out: &mut [f32]) {
    map(xs, out, ln_f32);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Position of `x` in the ordered sequence of all doubles (−0 and +0 share 0).
    fn ordinal(x: f64) -> i64 {
        let i = x.to_bits() as i64;
        if i < 0 {
            i64::MIN.wrapping_sub(i)
        } else {
            i
        }
    }

    fn ulps(a: f64, b: f64) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            };
        }
        ordinal(a).abs_diff(ordinal(b))
    }

    /// Test points: a dense grid over ±range, a geometric sweep of magnitudes from the
    /// smallest subnormal up, the edges of over- and underflow, and the special values.
    fn points(range: f64) -> Vec<f64> {
        let mut v = Vec::new();
        let n = 400_000;
        for i in 0..=n {
            v.push(-range + 2.0 * range * i as f64 / n as f64);
        }
        let mut m = f64::from_bits(1);
        while m < 1e300 {
            v.extend([m, -m]);
            // The smallest subnormals do not grow by a factor; step them by one ulp.
            let next = m * 1.37;
            m = if next > m {
                next
            } else {
                f64::from_bits(m.to_bits() + 1)
            };
        }
        for edge in [709.782712893384, -745.1332191019411, -708.3964185322641] {
            let mut e = edge;
            for _ in 0..50 {
                v.extend([e, -e]);
                e = f64::from_bits(e.to_bits() + 1);
            }
        }
        v.extend([
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::EPSILON,
        ]);
        v
    }

    fn worst(f: impl Fn(f64) -> f64, reference: impl Fn(f64) -> f64, range: f64) -> (u64, f64) {
        let mut worst = (0, 0.0);
        for x in points(range) {
            let d = ulps(f(x), reference(x));
            if d > worst.0 {
                worst = (d, x);
            }
        }
        worst
    }

    #[test]
    fn exp_is_within_2_ulp_of_std_everywhere() {
        let (d, at) = worst(exp, f64::exp, 750.0);
        assert!(d <= 2, "{d} ulp at {at:e}: {} vs {}", exp(at), at.exp());
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(709.78).is_finite());
        assert!(exp(-745.0) > 0.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn tanh_is_within_3_ulp_of_std_everywhere() {
        let (d, at) = worst(tanh, f64::tanh, 40.0);
        assert!(d <= 3, "{d} ulp at {at:e}: {} vs {}", tanh(at), at.tanh());
        assert_eq!(tanh(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(tanh(5e-324), 5e-324);
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert_eq!(tanh(1e300), 1.0);
        assert!(tanh(f64::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_2_ulp_of_the_stable_std_form_everywhere() {
        let (d, at) = worst(sigmoid, crate::eval::special::sigmoid, 750.0);
        assert!(d <= 2, "{d} ulp at {at:e}");
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn ln_is_within_1_ulp_of_std_everywhere() {
        let mut xs: Vec<f64> = points(750.0).into_iter().filter(|x| *x > 0.0).collect();
        // Near 1, where ln x is small and the cancellation would show; and every binade's
        // ends and its √2 split.
        xs.extend((0..200_000).map(|i| 1.0 + (i as f64 - 100_000.0) * 1e-7));
        for e in -1074..1024 {
            let p = 2f64.powi(e);
            for m in [1.0, std::f64::consts::SQRT_2, 1.999_999_999_999_999_8] {
                for d in -2i64..=2 {
                    xs.push(f64::from_bits((p * m).to_bits().wrapping_add_signed(d)));
                }
            }
        }
        let mut worst = (0, 0.0);
        for &x in xs.iter().filter(|x| **x > 0.0) {
            let d = ulps(ln(x), x.ln());
            if d > worst.0 {
                worst = (d, x);
            }
        }
        let (d, at) = worst;
        assert!(d <= 1, "{d} ulp at {at:e}: {} vs {}", ln(at), at.ln());
        assert_eq!(ln(1.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(ln(std::f64::consts::E), 1.0);
        assert_eq!(ln(5e-324), (5e-324f64).ln());
        assert_eq!(ln(f64::MAX), f64::MAX.ln());
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        for x in [-1.0, -5e-324, f64::NEG_INFINITY, f64::NAN] {
            assert!(ln(x).is_nan(), "ln({x})");
        }
    }

    #[test]
    fn ln2_split_is_exact_enough() {
        // LN2_HI has 20 trailing zero bits, and LN2_HI + LN2_LO is ln 2 to about 2⁻⁸⁰.
        assert_eq!(LN2_HI.to_bits() & 0xf_ffff, 0);
        assert_eq!(LN2_HI + LN2_LO, std::f64::consts::LN_2);
    }

    #[test]
    fn slices_give_the_scalar_bits() {
        // Whatever vector width the CPU picks, each lane computes the scalar formula.
        let xs = points(50.0);
        let mut out = vec![0.0; xs.len()];
        for (slice, scalar) in [
            (exp_slice as fn(&[f64], &mut [f64]), exp as fn(f64) -> f64),
            (tanh_slice, tanh),
            (sigmoid_slice, sigmoid),
            (ln_slice, ln),
        ] {
            slice(&xs, &mut out);
            for (&x, &o) in xs.iter().zip(&out) {
                assert_eq!(o.to_bits(), scalar(x).to_bits(), "at {x:e}");
            }
        }
    }
    /// Position of `x` in the ordered sequence of all `f32` values.
    fn ordinal32(x: f32) -> i64 {
        let i = i64::from(x.to_bits() as i32);
        if i < 0 {
            i64::from(i32::MIN) - i
        } else {
            i
        }
    }

    fn ulps32(a: f32, b: f32) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            };
        }
        ordinal32(a).abs_diff(ordinal32(b))
    }

    /// `f32` test points, as [`points`]: a grid, a sweep of magnitudes from the smallest
    /// subnormal, the over- and underflow edges of eˣ, the special values.
    fn points32(range: f32) -> Vec<f32> {
        let mut v = Vec::new();
        let n = 400_000;
        for i in 0..=n {
            v.push(-range + 2.0 * range * i as f32 / n as f32);
        }
        let mut m = f32::from_bits(1);
        while m < 1e38 {
            v.extend([m, -m]);
            let next = m * 1.37;
            m = if next > m {
                next
            } else {
                f32::from_bits(m.to_bits() + 1)
            };
        }
        for edge in [88.722_83f32, -87.336_54, -103.972_08] {
            let mut e = edge;
            for _ in 0..50 {
                v.extend([e, -e]);
                e = f32::from_bits(e.to_bits() + 1);
            }
        }
        v.extend([
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::EPSILON,
        ]);
        v
    }

    /// The largest distance in `f32` ulp from the `f64` function rounded to `f32`.
    fn worst32(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, range: f32) -> (u64, f32) {
        let mut worst = (0, 0.0);
        for x in points32(range) {
            let d = ulps32(f(x), reference(f64::from(x)) as f32);
            if d > worst.0 {
                worst = (d, x);
            }
        }
        worst
    }

    #[test]
    fn f32_functions_are_within_a_few_ulp_of_the_rounded_f64_values() {
        let (d, at) = worst32(exp_f32, f64::exp, 110.0);
        assert!(d <= 1, "exp: {d} ulp at {at:e}");
        let (d, at) = worst32(tanh_f32, f64::tanh, 20.0);
        assert!(d <= 2, "tanh: {d} ulp at {at:e}");
        let (d, at) = worst32(sigmoid_f32, crate::eval::special::sigmoid, 110.0);
        assert!(d <= 2, "sigmoid: {d} ulp at {at:e}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert!(exp_f32(88.7).is_finite());
        assert!(exp_f32(-103.0) > 0.0);
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh_f32(1e-45), 1e-45);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(sigmoid_f32(0.0), 0.5);
        assert_eq!(sigmoid_f32(-200.0), 0.0);
        let (d, at) = worst32(ln_f32, f64::ln, 110.0);
        assert!(d <= 1, "ln: {d} ulp at {at:e}");
        assert_eq!(ln_f32(1e-45), f64::from(1e-45f32).ln() as f32);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert!(ln_f32(-1.0).is_nan());
        for f in [exp_f32, tanh_f32, sigmoid_f32, ln_f32] {
            assert!(f(f32::NAN).is_nan());
        }
    }

    #[test]
    fn ln_f32_is_within_1_ulp_of_the_rounded_f64_ln_on_a_sweep_of_every_binade() {
        // Every 331st positive finite f32 (6.5 million values, subnormals included), the
        // 200,000 around 1 (where ln x is small), and each binade's ends and its √2 split.
        let mut bits: Vec<u32> = (1..0x7f80_0000).step_by(331).collect();
        bits.extend((0..200_000).map(|i| 1.0f32.to_bits() - 100_000 + i));
        for e in 0u32..0xff {
            for m in [0u32, 0x3504f3, 0x7f_ffff] {
                for d in 0..3 {
                    bits.push(((e << 23) | m).saturating_sub(d).max(1));
                    bits.push(((e << 23) | m).saturating_add(d).min(0x7f7f_ffff));
                }
            }
        }
        let mut worst = (0, 0.0);
        for x in bits.into_iter().map(f32::from_bits) {
            let d = ulps32(ln_f32(x), f64::from(x).ln() as f32);
            if d > worst.0 {
                worst = (d, x);
            }
        }
        let (d, at) = worst;
        assert!(d <= 1, "{d} ulp at {at:e}");
        assert_eq!(ln_f32(1.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(ln_f32(f32::MAX), f64::from(f32::MAX).ln() as f32);
        assert_eq!(
            ln_f32(f32::MIN_POSITIVE),
            f64::from(f32::MIN_POSITIVE).ln() as f32
        );
        assert_eq!(ln_f32(-0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        for x in [-1e-45, -1.0, f32::NEG_INFINITY] {
            assert!(ln_f32(x).is_nan(), "ln({x})");
        }
    }

    #[test]
    fn f32_split_of_ln2_is_exact_enough() {
        // LN2_HI_F32 has 9 significant bits, and the two parts add up to ln 2 in f64 to
        // about 2⁻³⁵.
        assert_eq!(LN2_HI_F32.to_bits() & 0x7fff, 0);
        let sum = f64::from(LN2_HI_F32) + f64::from(LN2_LO_F32);
        assert!((sum - std::f64::consts::LN_2).abs() < 3e-11, "{sum}");
        // ln's: 17 significant bits (k·LN2_HI_LOG_F32 exact for |k| < 2⁷), the sum ln 2 to
        // about 2⁻⁴⁰.
        assert_eq!(LN2_HI_LOG_F32.to_bits() & 0x7f, 0);
        let sum = f64::from(LN2_HI_LOG_F32) + f64::from(LN2_LO_LOG_F32);
        assert!((sum - std::f64::consts::LN_2).abs() < 2e-12, "{sum}");
    }

    #[test]
    fn f32_slices_give_the_scalar_bits() {
        let xs = points32(50.0);
        let mut out = vec![0.0; xs.len()];
        for (slice, scalar) in [
            (
                exp_slice_f32 as fn(&[f32], &mut [f32]),
                exp_f32 as fn(f32) -> f32,
            ),
            (tanh_slice_f32, tanh_f32),
            (sigmoid_slice_f32, sigmoid_f32),
            (ln_slice_f32, ln_f32),
        ] {
            slice(&xs, &mut out);
            for (&x, &o) in xs.iter().zip(&out) {
                assert_eq!(o.to_bits(), scalar(x).to_bits(), "at {x:e}");
            }
        }
    }
}
