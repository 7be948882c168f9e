//! Worker threads for the trainer, with results that do not depend on them.
//!
//! A [`Pool`] of `threads` threads (the calling thread and `threads − 1` rayon workers) runs
//! the parts of a pass. How a pass is cut into parts depends on the shapes alone, never on
//! the number of threads or on their timing, and every part is computed by the same
//! operations whichever thread runs it:
//!
//! - a matrix product `C = A·B` is cut along the larger dimension of `C` into
//!   [`product_parts`] blocks of rows or of columns; each block is one `gemm` call over the
//!   whole reduction dimension, so no sum is ever split between threads;
//! - an elementwise pass (a tape over a buffer) and the row sums of the bias gradients are
//!   cut into contiguous ranges; each value is computed by the same operations wherever the
//!   cut falls, so these cuts may depend on the thread count.
//!
//! A seeded run therefore gives the same bits with 1, 2 or more threads.
//! The threads are assigned fixed, contiguous groups of parts; the calling thread runs the
//! first group.
//!
//! The pool has `threads` rayon workers, and a training loop runs on one of them
//! ([`Pool::install`]), so that the fork/join of each pass is rayon's own between workers: the
//! part handed to the other thread goes on the caller's work queue, an idle worker that is
//! still spinning takes it at once, and the caller waits by taking work itself (it runs the
//! part itself when no other worker has taken it yet, so a busy machine degrades to one
//! thread rather than to a stall). Called from outside the pool, [`Pool::run`] hands the
//! parts to the workers and the calling thread sleeps until they are done: each pass then
//! costs two wake-ups of a sleeping thread (tens of µs each on this machine, a virtual
//! machine), which is what made two threads scale poorly.

use std::sync::Arc;

/// Most parts a product is cut into. Two suits the two-core machine these figures are taken
/// on: each part of a product packs its own copy of the other factor, so more parts than
/// cores cost time. (Changing it changes the bits of a run, not their reproducibility.)
pub const MAX_PRODUCT_PARTS: usize = 2;

/// Multiply-adds a product needs before it is cut into [`MAX_PRODUCT_PARTS`] (about 25 µs of
/// one core): below it, waking a second thread costs about as much as it saves.
pub const PRODUCT_PART_WORK: usize = 1 << 20;

/// Values an elementwise pass needs per part before it is cut (16384 σ or tanh values take
/// about 40 µs of one core; with half that, diabetes 10→64 ran slower on two threads of the
/// loaded machine than on one).
pub const ELEMENTWISE_PART_LEN: usize = 1 << 14;

/// The parts of an `m × n` product with reduction length `k`: a function of the shape only.
pub fn product_parts(m: usize, n: usize, k: usize) -> usize {
    let work = m.saturating_mul(n).saturating_mul(k);
    let longest = m.max(n);
    if work >= PRODUCT_PART_WORK {
        MAX_PRODUCT_PARTS.min(longest.max(1))
    } else {
        1
    }
}

/// Threads that run the parts of a pass (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Pool {
    workers: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
}

/// Why a pool could not be started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot start {threads} threads: {message}")]
pub struct PoolError {
    /// Threads asked for.
    pub threads: usize,
    /// Why.
    pub message: String,
}

impl Pool {
    /// One thread: every part runs on the calling thread.
    pub fn single() -> Pool {
        Pool {
            workers: None,
            threads: 1,
        }
    }

    /// `threads` threads (0: one per available core): `threads` rayon workers when there are
    /// two or more (see [`Pool::install`]).
    ///
    /// # Errors
    ///
    /// [`PoolError`] when the operating system does not start the worker threads.
    pub fn new(threads: usize) -> Result<Pool, PoolError> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            threads
        };
        if threads <= 1 {
            return Ok(Pool::single());
        }
        let workers = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("derivcheck-train-{i}"))
            .build()
            .map_err(|e| PoolError {
                threads,
                message: e.to_string(),
            })?;
        Ok(Pool {
            workers: Some(Arc::new(workers)),
            threads,
        })
    }

    /// Threads a pass is cut for.
    pub fn threads(&self) -> usize {
        self.threads.max(1)
    }

    /// Runs `f` on a worker of the pool (on the calling thread when the pool has one thread
    /// or the caller is already one of its workers), so that the passes `f` starts fork and
    /// join between workers without waking a sleeping thread each time (see the module
    /// documentation). The results are the same bits either way.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.workers {
            Some(pool) if pool.current_thread_index().is_none() => pool.install(f),
            _ => f(),
        }
    }

    /// Calls `f` on every item, the items split into at most [`Pool::threads`] contiguous
    /// groups, one per thread, the caller running the first. Returns when every call has
    /// returned.
    pub fn run<T: Send>(&self, items: &mut [T], f: impl Fn(&mut T) + Sync) {
        let tasks = self.threads().min(items.len());
        match &self.workers {
            Some(pool) if tasks > 1 => {
                let per = items.len().div_ceil(tasks);
                let f = &f;
                pool.in_place_scope(|s| {
                    let mut groups = items.chunks_mut(per);
                    let first = groups.next();
                    for g in groups {
                        s.spawn(move |_| g.iter_mut().for_each(f));
                    }
                    if let Some(g) = first {
                        g.iter_mut().for_each(f);
                    }
                });
            }
            _ => items.iter_mut().for_each(f),
        }
    }

    /// Parts for an elementwise pass over `len` values: one per thread when each gets at
    /// least [`ELEMENTWISE_PART_LEN`] values.
    pub fn elementwise_parts(&self, len: usize) -> usize {
        (len / ELEMENTWISE_PART_LEN).clamp(1, self.threads())
    }
}

/// `lo..hi` of part `p` of `parts` over `len` items.
pub fn range(len: usize, parts: usize, p: usize) -> (usize, usize) {
    let parts = parts.max(1);
    (len * p / parts, len * (p + 1) / parts)
}

/// `buf` cut at the part boundaries of [`range`]: `(lo, part)` pairs.
pub fn split_mut<T>(buf: &mut [T], parts: usize) -> Vec<(usize, &mut [T])> {
    let len = buf.len();
    let parts = parts.max(1);
    let mut out = Vec::with_capacity(parts);
    let mut rest = buf;
    for p in 0..parts {
        let (lo, hi) = range(len, parts, p);
        let taken = std::mem::take(&mut rest);
        let Some((head, tail)) = taken.split_at_mut_checked(hi - lo) else {
            break;
        };
        out.push((lo, head));
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_depend_on_the_shape_only_and_ranges_cover_everything() {
        assert_eq!(product_parts(10, 4, 3), 1);
        assert_eq!(product_parts(128, 1437, 64), MAX_PRODUCT_PARTS);
        for len in [0, 1, 7, 1437] {
            for parts in 1..5 {
                let mut v = vec![0.0; len];
                let cut = split_mut(&mut v, parts);
                assert_eq!(cut.len(), parts);
                let mut next = 0;
                for (lo, s) in &cut {
                    assert_eq!(*lo, next);
                    next += s.len();
                }
                assert_eq!(next, len);
            }
        }
    }

    #[test]
    fn every_item_is_visited_once_on_any_number_of_threads() {
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads).unwrap();
            let mut items: Vec<(usize, usize)> = (0..7).map(|i| (i, 0)).collect();
            pool.run(&mut items, |it| it.1 += it.0 + 1);
            assert_eq!(
                items,
                (0..7).map(|i| (i, i + 1)).collect::<Vec<_>>(),
                "{threads} threads"
            );
            // From a worker of the pool, and nested installs run in place.
            let inside = pool.install(|| {
                pool.install(|| {
                    pool.run(&mut items, |it| it.1 += it.0 + 1);
                    items.clone()
                })
            });
            assert_eq!(
                inside,
                (0..7).map(|i| (i, 2 * (i + 1))).collect::<Vec<_>>(),
                "{threads} threads, installed"
            );
        }
    }
}
