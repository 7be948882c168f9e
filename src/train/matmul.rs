//! The trainer's matrix products, `C = A·B` or `C += A·B` over row-major buffers and their
//! transposes, on the `gemm` crate (the kernels under faer), and the vectorised [`sum`] of
//! the bias gradients.
//!
//! Why `gemm` and not ndarray's `general_mat_mul` (matrixmultiply), which this module
//! replaced: on the products of a digits epoch (128×64 by 64×1437, 128×1437 by 1437×64) it
//! ran at 42 GFLOP/s of CPU time against matrixmultiply's 33–35 on this machine (AMD EPYC,
//! AVX2 + FMA, one thread), and those products are most of an epoch. Both pick their kernels
//! (AVX2/FMA, AVX-512) at run time.
//!
//! The products run on one thread ([`gemm::Parallelism::None`]): a run is then deterministic
//! for a given CPU, and on a machine shared with other work a second thread costs more CPU
//! time than it saves in wall-clock time.
//!
//! The only `unsafe` of the trainer is the call into `gemm`, whose raw-pointer API is sound
//! when every element it addresses lies inside its buffer. [`Mat`] and [`matmul`] check
//! exactly that: shapes are checked against buffer lengths before the call.

use super::net::NetError;

/// A read-only matrix over a row-major buffer, possibly read transposed.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    data: &'a [f64],
    rows: usize,
    cols: usize,
    /// Distance between rows and between columns, in elements.
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// `data` read as a row-major `rows × cols` matrix.
    ///
    /// # Errors
    ///
    /// [`NetError::Shape`] when `data` does not have `rows·cols` values.
    pub fn new(data: &'a [f64], rows: usize, cols: usize) -> Result<Mat<'a>, NetError> {
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
    pub fn t(self) -> Mat<'a> {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
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
pub fn matmul(c: &mut [f64], a: Mat<'_>, b: Mat<'_>, write: Write) -> Result<(), NetError> {
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
    if k == 0 {
        if write == Write::Overwrite {
            c.fill(0.0);
        }
        return Ok(());
    }
    let (a_rs, a_cs, b_rs, b_cs, c_rs) = (
        stride(a.row_stride)?,
        stride(a.col_stride)?,
        stride(b.row_stride)?,
        stride(b.col_stride)?,
        stride(n)?,
    );
    // SAFETY: `Mat::new` checked `rows·cols = data.len()` and the strides are those of a
    // row-major matrix or its transpose, so element (i, j) of A, i < m, j < k, lies at
    // i·row_stride + j·col_stride < data.len() (likewise for B); C has m·n values, row-major
    // with row stride n. The three buffers are distinct borrows (C is the only mutable one),
    // so gemm's reads and writes do not alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs,
            write == Write::Accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

/// Σ values, in eight interleaved partial sums added pairwise at the end: the loop
/// vectorises and is not bound by the latency of one chain of additions (a plain
/// `iter().sum()` was most of the backward pass's own time, for the bias gradients), and
/// the rounding error grows more slowly than a left fold's.
pub fn sum(values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let mut s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    for v in rest {
        s += v;
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
