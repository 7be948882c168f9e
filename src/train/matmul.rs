//! The trainer's matrix products, `C = A·B` or `C += A·B` over row-major buffers of `f64` or
//! `f32` ([`Real`]) and their transposes, on the `gemm` crate (the kernels under faer), and the vectorised [`sum`] of
//! the bias gradients.
//!
//! Why `gemm` and not ndarray's `general_mat_mul` (matrixmultiply), which this module
//! replaced: on the products of a digits epoch (128×64 by 64×1437, 128×1437 by 1437×64) it
//! ran at 42 GFLOP/s of CPU time against matrixmultiply's 33–35 on this machine (AMD EPYC,
//! AVX2 + FMA, one thread), and those products are most of an epoch. Both pick their kernels
//! (AVX2/FMA, AVX-512) at run time.
//!
//! Each `gemm` call runs on one thread ([`gemm::Parallelism::None`]). [`matmul_par`] cuts a
//! large product into the fixed blocks of [`par::product_parts`]
//! (rows or columns of `C`, never the reduction) and runs them on a [`Pool`]: the result is
//! the same whichever thread computes which block, and the same with one thread.
//! [`affine_par`] also writes the bias into each block of `C` just before its product
//! accumulates into it.
//!
//! The only `unsafe` of the trainer is the call into `gemm`, whose raw-pointer API is sound
//! when every element it addresses lies inside its buffer. [`Mat`] and [`matmul`] check
//! exactly that: shapes are checked against buffer lengths before the call.

use super::net::NetError;
use super::par::{self, Pool};
use crate::eval::Real;

/// A read-only matrix over a row-major buffer of `f64` or `f32`, possibly read transposed or
/// restricted to a range of columns.
///
/// Invariant (what makes the `gemm` call sound): element `(i, j)`, `i < rows`, `j < cols`, is
/// `data[i·row_stride + j·col_stride]`, and that index is inside `data`. Every constructor
/// ([`Mat::new`], [`Mat::t`], [`Mat::columns`]) keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a, T = f64> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    /// Distance between rows and between columns, in elements.
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> Mat<'a, T> {
    /// `data` read as a row-major `rows × cols` matrix.
    ///
    /// # Errors
    ///
    /// [`NetError::Shape`] when `data` does not have `rows·cols` values.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Mat<'a, T>, NetError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(NetError::Shape(format!(
                "{rows}×{cols} matrix over {} values",
                data.len()
            )));
        }
        Ok(Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        })
    }

    /// The transpose (no copy).
    pub fn t(self) -> Mat<'a, T> {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Columns `lo..hi` of a matrix that is not transposed (no copy): the samples `lo..hi` of
    /// a `units × samples` batch.
    ///
    /// # Errors
    ///
    /// [`NetError::Shape`] when the range is not inside `0..cols` or the matrix is read
    /// transposed.
    pub fn columns(self, lo: usize, hi: usize) -> Result<Mat<'a, T>, NetError> {
        if lo > hi || hi > self.cols || self.col_stride != 1 {
            return Err(NetError::Shape(format!(
                "columns {lo}..{hi} of a {}×{} matrix",
                self.rows, self.cols
            )));
        }
        // Element (i, j) of the view is data[lo + i·row_stride + j] with lo + j < hi ≤ cols:
        // the element (i, lo + j) of the whole matrix, inside `data` by its invariant.
        let data = self.data.get(lo.min(self.data.len())..).unwrap_or(&[]);
        Ok(Mat {
            data,
            rows: self.rows,
            cols: hi - lo,
            row_stride: self.row_stride,
            col_stride: 1,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// What [`matmul`] does with the values already in `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `C = A·B`.
    Overwrite,
    /// `C = C + A·B`.
    Accumulate,
}

fn stride(s: usize) -> Result<isize, NetError> {
    isize::try_from(s).map_err(|_| NetError::Shape(format!("stride {s} too large")))
}

/// `C = A·B` or `C += A·B`, with `C` a row-major `A.rows × B.cols` buffer.
///
/// # Errors
///
/// [`NetError::Shape`] when `A.cols ≠ B.rows` or `c` does not have `A.rows·B.cols` values.
pub fn matmul<T: Real>(
    c: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    write: Write,
) -> Result<(), NetError> {
    product(&Pool::single(), c, a, b, write, None, 1)
}

/// [`matmul`] cut into the blocks of [`par::product_parts`] and run on `pool`.
///
/// # Errors
///
/// As [`matmul`].
pub fn matmul_par<T: Real>(
    pool: &Pool,
    c: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    write: Write,
) -> Result<(), NetError> {
    let parts = par::product_parts(a.rows, b.cols, a.cols);
    product(pool, c, a, b, write, None, parts)
}

/// `Z = W·X + b` (the bias broadcast over the columns): each block of `Z` is set to its bias
/// values (the `f64` parameters rounded to `T`) and the product accumulates into it, block by
/// block on `pool`. `z` is resized.
///
/// # Errors
///
/// As [`matmul`], and when `bias` does not have `W.rows` values.
pub fn affine_par<T: Real>(
    pool: &Pool,
    z: &mut Vec<T>,
    w: Mat<'_, T>,
    x: Mat<'_, T>,
    bias: &[f64],
) -> Result<(), NetError> {
    if bias.len() != w.rows {
        return Err(NetError::Shape(format!(
            "{} bias values for {} rows",
            bias.len(),
            w.rows
        )));
    }
    let len = w.rows.saturating_mul(x.cols);
    if z.len() != len {
        z.clear();
        z.resize(len, T::ZERO);
    }
    let parts = par::product_parts(w.rows, x.cols, w.cols);
    product(pool, z, w, x, Write::Accumulate, Some(bias), parts)
}

/// A raw pointer that may be sent to the pool's threads; see the SAFETY notes where it is
/// dereferenced.
struct SendPtr<T>(*mut T);
// SAFETY: the pointer is only used to write disjoint blocks of one buffer that outlives the
// pool's scope (see `product`), and `T` (`f64` or `f32`) is `Send`.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so that a closure captures the whole `SendPtr`, which is
    /// `Sync`, and not its field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// One block of `C`: rows `r0..r1`, columns `c0..c1`.
#[derive(Clone, Copy)]
struct Block {
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
}

fn product<T: Real>(
    pool: &Pool,
    c: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    write: Write,
    bias: Option<&[f64]>,
    parts: usize,
) -> Result<(), NetError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || m.checked_mul(n) != Some(c.len()) {
        return Err(NetError::Shape(format!(
            "{}×{} times {}×{} into {} values",
            a.rows,
            a.cols,
            b.rows,
            b.cols,
            c.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if let Some(bias) = bias {
        if bias.len() != m {
            return Err(NetError::Shape(format!(
                "{} bias values for {m} rows",
                bias.len()
            )));
        }
    }
    let (a_rs, a_cs, b_rs, b_cs, c_rs) = (
        stride(a.row_stride)?,
        stride(a.col_stride)?,
        stride(b.row_stride)?,
        stride(b.col_stride)?,
        stride(n)?,
    );
    let parts = parts.clamp(1, m.max(n));
    let by_rows = m >= n;
    let mut blocks: [Option<Block>; par::MAX_PRODUCT_PARTS] = [None; par::MAX_PRODUCT_PARTS];
    for (p, slot) in blocks.iter_mut().enumerate().take(parts) {
        let (lo, hi) = par::range(if by_rows { m } else { n }, parts, p);
        *slot = Some(if by_rows {
            Block {
                r0: lo,
                r1: hi,
                c0: 0,
                c1: n,
            }
        } else {
            Block {
                r0: 0,
                r1: m,
                c0: lo,
                c1: hi,
            }
        });
    }
    let cp = SendPtr(c.as_mut_ptr());
    let accumulate = write == Write::Accumulate || bias.is_some();
    let run = |blk: &mut Option<Block>| {
        let Some(Block { r0, r1, c0, c1 }) = *blk else {
            return;
        };
        // SAFETY: the blocks are disjoint (ranges of rows, or of columns, of C) and lie
        // inside C: r1 ≤ m, c1 ≤ n, so element (i, j) of a block is at i·n + j < m·n =
        // c.len(). `c` is borrowed mutably for the whole call and the pool's scope ends
        // before `product` returns, so nothing else reads or writes it meanwhile.
        unsafe {
            // Row i of the block: c1 − c0 values from i·n + c0, inside C and written by this
            // block alone.
            let row = |i: usize| std::slice::from_raw_parts_mut(cp.get().add(i * n + c0), c1 - c0);
            if let Some(bias) = bias {
                for (i, &bv) in bias.iter().enumerate().take(r1).skip(r0) {
                    row(i).fill(T::from_f64(bv));
                }
            }
            if k == 0 {
                if !accumulate {
                    (r0..r1).for_each(|i| row(i).fill(T::ZERO));
                }
                return;
            }
            // SAFETY (gemm): by `Mat`'s invariant, element (i, j) of A, i < m, j < k, lies at
            // i·row_stride + j·col_stride < data.len() (likewise for B); the block's rows of
            // A (r0..r1) and columns of B (c0..c1) start at those offsets.
            // A and B are shared borrows distinct from C, so gemm's reads and writes do not
            // alias.
            gemm::gemm(
                r1 - r0,
                c1 - c0,
                k,
                cp.get().add(r0 * n + c0),
                1,
                c_rs,
                accumulate,
                a.data.as_ptr().add(r0 * a.row_stride),
                a_cs,
                a_rs,
                b.data.as_ptr().add(c0 * b.col_stride),
                b_cs,
                b_rs,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    if parts == 1 {
        if let Some(b0) = blocks.first_mut() {
            run(b0);
        }
    } else {
        pool.run(&mut blocks, run);
    }
    Ok(())
}

/// The bias gradients: `out[r] = Σ_j δ[r·n + j]` ([`sum`] per row, in `f64` whatever `T`
/// is), rows cut into ranges on `pool` (each row's sum is the same on any thread).
pub fn row_sums_par<T: Real>(pool: &Pool, delta: &[T], n: usize, out: &mut Vec<f64>) {
    let rows = delta.len().checked_div(n).unwrap_or(0);
    out.clear();
    out.resize(rows, 0.0);
    let parts = pool.elementwise_parts(delta.len());
    if parts <= 1 {
        for (o, row) in out.iter_mut().zip(delta.chunks_exact(n.max(1))) {
            *o = sum(row);
        }
        return;
    }
    let mut cut = par::split_mut(out, parts);
    pool.run(&mut cut, |(lo, part)| {
        let rows = delta.chunks_exact(n.max(1)).skip(*lo);
        for (o, row) in part.iter_mut().zip(rows) {
            *o = sum(row);
        }
    });
}

/// Σ values in `f64` (`f32` values are widened first, exactly), in eight interleaved
/// partial sums added pairwise at the end: the loop vectorises and is not bound by the
/// latency of one chain of additions (a plain `iter().sum()` was most of the backward pass's
/// own time, for the bias gradients), and the rounding error grows more slowly than a left
/// fold's.
pub fn sum<T: Real>(values: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v.to_f64();
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let mut s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    for v in rest {
        s += v.to_f64();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook triple loop, for comparison.
    fn naive(a: Mat<'_>, b: Mat<'_>) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0.0;
                for l in 0..a.cols {
                    s += a.data[i * a.row_stride + l * a.col_stride]
                        * b.data[l * b.row_stride + j * b.col_stride];
                }
                c[i * b.cols + j] = s;
            }
        }
        c
    }

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (x, y) in got.iter().zip(want) {
            assert!((x - y).abs() <= 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn a_range_of_columns_reads_as_a_copy_of_those_columns() {
        let (k, n) = (6, 11);
        let x: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.29).sin()).collect();
        let w: Vec<f64> = (0..3 * k).map(|i| (i as f64 * 0.13).cos()).collect();
        let (wm, xm) = (Mat::new(&w, 3, k).unwrap(), Mat::new(&x, k, n).unwrap());
        for (lo, hi) in [(0, n), (0, 4), (4, n), (10, n), (5, 5)] {
            let copy: Vec<f64> = (0..k)
                .flat_map(|r| x[r * n + lo..r * n + hi].to_vec())
                .collect();
            let cm = Mat::new(&copy, k, hi - lo).unwrap();
            let view = xm.columns(lo, hi).unwrap();
            // The view against the copy (gemm may take another kernel for another stride,
            // so equal up to rounding) and against the triple loop.
            let product = |a: Mat<'_>, b: Mat<'_>| {
                let mut c = vec![0.0; a.rows * b.cols];
                matmul(&mut c, a, b, Write::Overwrite).unwrap();
                c
            };
            let got = product(wm, view);
            close(&got, &product(wm, cm));
            close(&got, &naive(wm, cm));
            // Read transposed too, as in a weight gradient δ·Aᵀ.
            let d: Vec<f64> = (0..2 * (hi - lo)).map(|i| i as f64 - 3.5).collect();
            let dm = Mat::new(&d, 2, hi - lo).unwrap();
            let got = product(dm, view.t());
            close(&got, &product(dm, cm.t()));
            close(&got, &naive(dm, cm.t()));
        }
        assert!(xm.columns(3, n + 1).is_err());
        assert!(xm.columns(4, 3).is_err());
        assert!(xm.t().columns(0, 1).is_err());
    }

    #[test]
    fn products_and_transposes_agree_with_the_triple_loop() {
        let (m, k, n) = (7, 13, 5);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let (am, bm, btm) = (
            Mat::new(&a, m, k).unwrap(),
            Mat::new(&b, k, n).unwrap(),
            Mat::new(&bt, n, k).unwrap(),
        );
        let want = naive(am, bm);
        for rhs in [bm, btm.t()] {
            let mut c = vec![f64::NAN; m * n];
            matmul(&mut c, am, rhs, Write::Overwrite).unwrap();
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-12, "{x} vs {y}");
            }
            let mut c = vec![1.0; m * n];
            matmul(&mut c, am, rhs, Write::Accumulate).unwrap();
            for (x, y) in c.iter().zip(&want) {
                assert!((x - (y + 1.0)).abs() <= 1e-12, "{x} vs {y} + 1");
            }
        }
    }

    #[test]
    fn cut_products_agree_with_the_triple_loop_and_across_thread_counts() {
        // Above the cutting threshold: columns of C are cut (m < n), then rows (m > n).
        for (m, k, n) in [(40, 30, 1000), (1000, 30, 40)] {
            assert_eq!(par::product_parts(m, n, k), par::MAX_PRODUCT_PARTS);
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let bias: Vec<f64> = (0..m).map(|i| i as f64 - 3.5).collect();
            let (am, bm) = (Mat::new(&a, m, k).unwrap(), Mat::new(&b, k, n).unwrap());
            let want = naive(am, bm);
            let mut one = Vec::new();
            for threads in [1, 2, 3] {
                let pool = Pool::new(threads).unwrap();
                let mut c = vec![f64::NAN; m * n];
                matmul_par(&pool, &mut c, am, bm, Write::Overwrite).unwrap();
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() <= 1e-12, "{x} vs {y}");
                }
                let mut z = Vec::new();
                affine_par(&pool, &mut z, am, bm, &bias).unwrap();
                for (i, (x, y)) in z.iter().zip(&want).enumerate() {
                    let expected = y + bias[i / n];
                    assert!((x - expected).abs() <= 1e-12, "{x} vs {expected}");
                }
                let bits: Vec<u64> = c.iter().chain(&z).map(|v| v.to_bits()).collect();
                if threads == 1 {
                    one = bits;
                } else {
                    assert!(bits == one, "{threads} threads differ from one");
                }
            }
        }
    }

    #[test]
    fn sum_adds_every_value_of_any_length() {
        for n in [0, 1, 7, 8, 9, 100, 1437] {
            let v: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
            // Exact: small integers and halves.
            assert_eq!(sum(&v), (n * n) as f64 / 2.0, "n = {n}");
        }
        assert!(sum(&[1.0, f64::NAN, 2.0]).is_nan());
        assert_eq!(sum(&[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let a = vec![0.0; 6];
        assert!(Mat::new(&a, 4, 2).is_err());
        let am = Mat::new(&a, 2, 3).unwrap();
        let mut c = vec![0.0; 4];
        assert!(matmul(&mut c, am, am, Write::Overwrite).is_err());
        assert!(matmul(&mut c[..3], am, am.t(), Write::Overwrite).is_err());
        assert!(matmul(&mut c, am, am.t(), Write::Overwrite).is_ok());
        // k = 0: C = 0 or unchanged.
        let e: [f64; 0] = [];
        let (z0, z1) = (Mat::new(&e, 2, 0).unwrap(), Mat::new(&e, 0, 2).unwrap());
        let mut c = vec![5.0; 4];
        matmul(&mut c, z0, z1, Write::Accumulate).unwrap();
        assert_eq!(c, vec![5.0; 4]);
        matmul(&mut c, z0, z1, Write::Overwrite).unwrap();
        assert_eq!(c, vec![0.0; 4]);
    }
}
