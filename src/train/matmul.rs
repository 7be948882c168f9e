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
//! Each `gemm` call runs on one thread ([`gemm::Parallelism::None`]). [`matmul_par`] cuts a
//! large product into the fixed blocks of [`par::product_parts`](super::par::product_parts)
//! (rows or columns of `C`, never the reduction) and runs them on a [`Pool`]: the result is
//! the same whichever thread computes which block, and the same with one thread.
//! [`affine_par`] also writes the bias into each block of `C` just before its product
//! accumulates into it. The `_then` forms ([`affine_par_then`], [`matmul_par_then`]) run a
//! caller's function on each block right after its product, on the same thread, with the
//! block's rows (an activation over the block, the next pass's formula): one fork/join per
//! layer instead of one per pass, and the block is still in that core's cache. [`Cut`] is the
//! cut, so that a caller can split its own buffers into the same blocks
//! ([`Cut::split_rows_mut`]).
//!
//! The only `unsafe` of the trainer is the call into `gemm`, whose raw-pointer API is sound
//! when every element it addresses lies inside its buffer. [`Mat`] and [`matmul`] check
//! exactly that: shapes are checked against buffer lengths before the call.

use super::net::NetError;
use super::par::{self, Pool};

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
    let cut = Cut::single(a.rows, b.cols);
    product(
        &Pool::single(),
        c,
        a,
        b,
        write,
        None,
        cut,
        &mut [()],
        &no_epilogue,
    )
}

/// The epilogue of the plain products: nothing.
fn no_epilogue(_: &mut (), _: Block, _: &[&[f64]]) {}

/// [`matmul`] cut into the blocks of [`par::product_parts`] and run on `pool`.
///
/// # Errors
///
/// As [`matmul`].
pub fn matmul_par(
    pool: &Pool,
    c: &mut [f64],
    a: Mat<'_>,
    b: Mat<'_>,
    write: Write,
) -> Result<(), NetError> {
    let cut = Cut::of(a.rows, b.cols, a.cols);
    let mut states = [(); par::MAX_PRODUCT_PARTS];
    let states = states.get_mut(..cut.parts).unwrap_or_default();
    product(pool, c, a, b, write, None, cut, states, &no_epilogue)
}

/// [`matmul_par`], then `then(state, block, segments)` on each block of `C` right after its
/// product, on the thread that computed it: `segments` are the block's [`Cut::segments`] of
/// `C`, `state` the block's entry of `states` (one per block, in block order). `cut` must be
/// [`Cut::of`]`(A.rows, B.cols, A.cols)`, possibly [`Cut::merged`].
///
/// # Errors
///
/// As [`matmul`], and when `cut` is not the product's or `states` does not have one entry
/// per block.
#[allow(clippy::too_many_arguments)]
pub fn matmul_par_then<S: Send>(
    pool: &Pool,
    c: &mut [f64],
    a: Mat<'_>,
    b: Mat<'_>,
    write: Write,
    cut: Cut,
    states: &mut [S],
    then: &(dyn Fn(&mut S, Block, &[&[f64]]) + Sync),
) -> Result<(), NetError> {
    check_cut(cut, a.rows, b.cols, a.cols)?;
    product(pool, c, a, b, write, None, cut, states, then)
}

/// The cut a caller passes must be the product's own (the shape decides, never the caller).
fn check_cut(cut: Cut, m: usize, n: usize, k: usize) -> Result<(), NetError> {
    let own = Cut::of(m, n, k);
    if (Cut {
        merge: false,
        ..cut
    }) == own
    {
        Ok(())
    } else {
        Err(NetError::Shape(format!(
            "a cut into {} blocks of {}×{} for a {m}×{n} product cut into {}",
            cut.parts, cut.m, cut.n, own.parts
        )))
    }
}

/// `Z = W·X + b` (the bias broadcast over the columns): each block of `Z` is set to its bias
/// values and the product accumulates into it, block by block on `pool`. `z` is resized.
///
/// # Errors
///
/// As [`matmul`], and when `bias` does not have `W.rows` values.
pub fn affine_par(
    pool: &Pool,
    z: &mut Vec<f64>,
    w: Mat<'_>,
    x: Mat<'_>,
    bias: &[f64],
) -> Result<(), NetError> {
    let cut = Cut::of(w.rows, x.cols, w.cols);
    let mut states = [(); par::MAX_PRODUCT_PARTS];
    let states = states.get_mut(..cut.parts).unwrap_or_default();
    affine_par_then(pool, z, w, x, bias, cut, states, &no_epilogue)
}

/// [`affine_par`], then `then` on each block of `Z` as in [`matmul_par_then`].
///
/// # Errors
///
/// As [`affine_par`] and [`matmul_par_then`].
#[allow(clippy::too_many_arguments)]
pub fn affine_par_then<S: Send>(
    pool: &Pool,
    z: &mut Vec<f64>,
    w: Mat<'_>,
    x: Mat<'_>,
    bias: &[f64],
    cut: Cut,
    states: &mut [S],
    then: &(dyn Fn(&mut S, Block, &[&[f64]]) + Sync),
) -> Result<(), NetError> {
    if bias.len() != w.rows {
        return Err(NetError::Shape(format!(
            "{} bias values for {} rows",
            bias.len(),
            w.rows
        )));
    }
    check_cut(cut, w.rows, x.cols, w.cols)?;
    let len = w.rows.saturating_mul(x.cols);
    if z.len() != len {
        z.clear();
        z.resize(len, 0.0);
    }
    product(
        pool,
        z,
        w,
        x,
        Write::Accumulate,
        Some(bias),
        cut,
        states,
        then,
    )
}

/// A raw pointer that may be sent to the pool's threads; see the SAFETY notes where it is
/// dereferenced.
#[derive(Clone, Copy)]
struct SendPtr(*mut f64);
// SAFETY: the pointer is only used to write disjoint blocks of one buffer that outlives the
// pool's scope (see `product`).
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that a closure captures the whole `SendPtr`, which is
    /// `Sync`, and not its field).
    fn get(self) -> *mut f64 {
        self.0
    }
}

/// One block of `C`: rows `r0..r1`, columns `c0..c1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// First row.
    pub r0: usize,
    /// One past the last row.
    pub r1: usize,
    /// First column.
    pub c0: usize,
    /// One past the last column.
    pub c1: usize,
}

/// How an `m × n` product is cut into blocks: [`par::product_parts`] blocks along the larger
/// dimension of `C` (rows when `m ≥ n`), a function of the shape only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Rows of `C`.
    pub m: usize,
    /// Columns of `C`.
    pub n: usize,
    /// Blocks (1 ..= [`par::MAX_PRODUCT_PARTS`]).
    pub parts: usize,
    /// Blocks of rows (else of columns).
    pub by_rows: bool,
    /// Whether a block's rows are handed on as one segment when they are adjacent in the
    /// buffer (the block spans every column), see [`Cut::segments`].
    pub merge: bool,
}

impl Cut {
    /// The cut of an `m × n` product with reduction length `k`.
    pub fn of(m: usize, n: usize, k: usize) -> Cut {
        Cut {
            m,
            n,
            parts: par::product_parts(m, n, k).clamp(1, m.max(n).max(1)),
            by_rows: m >= n,
            merge: false,
        }
    }

    /// The same cut, its full-width blocks handed on as one segment (for elementwise work,
    /// where one call over a long slice costs less than one per row).
    pub fn merged(self) -> Cut {
        Cut {
            merge: true,
            ..self
        }
    }

    /// The ranges of a row-major `m × n` buffer that make up block `p`, in order: one per row
    /// (columns `c0..c1`), or one for the whole block when [`Cut::merge`] is set and the block
    /// spans every column.
    pub fn segments(&self, p: usize) -> Vec<(usize, usize)> {
        let b = self.block(p);
        if self.merge && b.c0 == 0 && b.c1 == self.n {
            vec![(b.r0 * self.n, b.r1 * self.n)]
        } else {
            (b.r0..b.r1)
                .map(|i| (i * self.n + b.c0, i * self.n + b.c1))
                .collect()
        }
    }

    /// One block: the whole `m × n`.
    fn single(m: usize, n: usize) -> Cut {
        Cut {
            m,
            n,
            parts: 1,
            by_rows: m >= n,
            merge: false,
        }
    }

    /// Block `p`.
    pub fn block(&self, p: usize) -> Block {
        let (lo, hi) = par::range(if self.by_rows { self.m } else { self.n }, self.parts, p);
        if self.by_rows {
            Block {
                r0: lo,
                r1: hi,
                c0: 0,
                c1: self.n,
            }
        } else {
            Block {
                r0: 0,
                r1: self.m,
                c0: lo,
                c1: hi,
            }
        }
    }

    /// A row-major `m × n` buffer split into the blocks of the cut: per block, its
    /// [`Cut::segments`]. Empty lists when `buf` does not have `m·n` values.
    pub fn split_rows_mut<'a>(&self, buf: &'a mut [f64]) -> Vec<Vec<&'a mut [f64]>> {
        let mut out: Vec<Vec<&'a mut [f64]>> = (0..self.parts).map(|_| Vec::new()).collect();
        if self.m.checked_mul(self.n) != Some(buf.len()) {
            return out;
        }
        // Every segment of every block, in buffer order (they are disjoint).
        let mut all: Vec<(usize, usize, usize)> = (0..self.parts)
            .flat_map(|p| {
                self.segments(p)
                    .into_iter()
                    .map(move |(lo, hi)| (lo, hi, p))
            })
            .collect();
        all.sort_unstable();
        let mut rest = buf;
        let mut at = 0;
        for (lo, hi, p) in all {
            let taken = std::mem::take(&mut rest);
            let Some((_, from)) = taken.split_at_mut_checked(lo.saturating_sub(at)) else {
                break;
            };
            let Some((seg, tail)) = from.split_at_mut_checked(hi - lo) else {
                break;
            };
            if let Some(part) = out.get_mut(p) {
                part.push(seg);
            }
            rest = tail;
            at = hi;
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn product<S: Send>(
    pool: &Pool,
    c: &mut [f64],
    a: Mat<'_>,
    b: Mat<'_>,
    write: Write,
    bias: Option<&[f64]>,
    cut: Cut,
    states: &mut [S],
    then: &(dyn Fn(&mut S, Block, &[&[f64]]) + Sync),
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
    if cut.m != m || cut.n != n || states.len() != cut.parts {
        return Err(NetError::Shape(format!(
            "a cut of {}×{} into {} blocks for a {m}×{n} product with {} block states",
            cut.m,
            cut.n,
            cut.parts,
            states.len()
        )));
    }
    let mut blocks: Vec<(Block, Vec<(usize, usize)>, &mut S)> = states
        .iter_mut()
        .enumerate()
        .map(|(p, st)| (cut.block(p), cut.segments(p), st))
        .collect();
    let cp = SendPtr(c.as_mut_ptr());
    let accumulate = write == Write::Accumulate || bias.is_some();
    let run = |(blk, segments, state): &mut (Block, Vec<(usize, usize)>, &mut S)| {
        let Block { r0, r1, c0, c1 } = *blk;
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
                    row(i).fill(bv);
                }
            }
            if k == 0 {
                if !accumulate {
                    (r0..r1).for_each(|i| row(i).fill(0.0));
                }
            } else {
                // SAFETY (gemm): `Mat::new` checked `rows·cols = data.len()` and the strides are
                // those of a row-major matrix or its transpose, so element (i, j) of A, i < m,
                // j < k, lies at i·row_stride + j·col_stride < data.len() (likewise for B); the
                // block's rows of A (r0..r1) and columns of B (c0..c1) start at those offsets.
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
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        // SAFETY: as above: a segment is a range of the block's rows of C (`Cut::segments`:
        // inside C, disjoint from every other block's), no other thread reads or writes it,
        // and the mutable row views made above are gone, so these are the only references.
        let rows: Vec<&[f64]> = segments
            .iter()
            .map(|&(lo, hi)| unsafe { std::slice::from_raw_parts(cp.get().add(lo), hi - lo) })
            .collect();
        then(state, *blk, &rows);
    };
    if blocks.len() == 1 {
        if let Some(b0) = blocks.first_mut() {
            run(b0);
        }
    } else {
        pool.run(&mut blocks, run);
    }
    Ok(())
}

/// The bias gradients: `out[r] = Σ_j δ[r·n + j]` ([`sum`] per row), rows cut into ranges
/// on `pool` (each row's sum is the same on any thread).
pub fn row_sums_par(pool: &Pool, delta: &[f64], n: usize, out: &mut Vec<f64>) {
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
    fn each_block_is_handed_on_after_its_product_in_the_segments_of_its_cut() {
        // Cut by columns, by rows, and not cut; per-row and merged segments.
        for (m, k, n) in [(40, 30, 1000), (1000, 30, 40), (7, 5, 3)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let bias: Vec<f64> = (0..m).map(|i| i as f64 - 3.5).collect();
            let (am, bm) = (Mat::new(&a, m, k).unwrap(), Mat::new(&b, k, n).unwrap());
            let mut want = Vec::new();
            affine_par(&Pool::single(), &mut want, am, bm, &bias).unwrap();
            for cut in [Cut::of(m, n, k), Cut::of(m, n, k).merged()] {
                for threads in [1, 2] {
                    let pool = Pool::new(threads).unwrap();
                    // The epilogue copies each segment it is handed into the same segment of
                    // `copy`, which must then equal Z.
                    let mut copy = vec![f64::NAN; m * n];
                    let mut states = cut.split_rows_mut(&mut copy);
                    assert_eq!(states.len(), cut.parts);
                    let then = |out: &mut Vec<&mut [f64]>, blk: Block, segs: &[&[f64]]| {
                        assert_eq!(out.len(), segs.len());
                        let rows = blk.r1 - blk.r0;
                        let merged = cut.merge && blk.c0 == 0 && blk.c1 == n;
                        assert_eq!(segs.len(), if merged { 1 } else { rows });
                        for (o, s) in out.iter_mut().zip(segs) {
                            o.copy_from_slice(s);
                        }
                    };
                    let mut z = Vec::new();
                    pool.install(|| {
                        affine_par_then(&pool, &mut z, am, bm, &bias, cut, &mut states, &then)
                    })
                    .unwrap();
                    drop(states);
                    assert!(z == want && copy == want, "{m}×{k}×{n}, {threads} threads");
                }
            }
            // A cut that is not the product's own is refused.
            let wrong = Cut::of(m + 1, n, k);
            let mut states = vec![(); wrong.parts];
            let mut z = Vec::new();
            assert!(affine_par_then(
                &Pool::single(),
                &mut z,
                am,
                bm,
                &bias,
                wrong,
                &mut states,
                &|_: &mut (), _, _| {}
            )
            .is_err());
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
