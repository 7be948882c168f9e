//! The heap allocator under the binary's counting one (`cli/memory.rs`, which
//! `benches/check.rs` includes as well): mimalloc (its 2.x line, C built by the
//! `libmimalloc-sys` crate).
//!
//! The library never installs it itself: a program that links derivcheck keeps its own
//! global allocator.
//!
//! Why mimalloc, not the system's: checking a claim makes and drops thousands of small
//! expression nodes, polynomial terms and big rationals, and glibc's malloc/free were about
//! a quarter of the instructions of `Checker::check_equal` (benches/RESULTS.md, issue 4,
//! round 5).
//!
//! Why not the `mimalloc` crate's `MiMalloc`: it sends every request through
//! `mi_malloc_aligned` and `mi_realloc_aligned`, whose first work is to decide that the
//! alignment needs nothing special, which for Rust's layouts (8-byte alignment, sizes that
//! are multiples of it) it almost always does. Here that decision is made inline, by the
//! same rules mimalloc applies inside those functions, and the request goes straight to
//! `mi_malloc` or `mi_realloc`; anything else still goes to the aligned calls. This was
//! about 3 % of the instructions of a checked claim (benches/RESULTS.md, round 17).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// mimalloc, as a [`GlobalAlloc`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Mimalloc;

/// `MI_MAX_ALIGN_SIZE` of mimalloc 2.x on 64-bit targets (`sizeof(max_align_t)`): its size
/// classes round up to multiples of 16 bytes from 16 on and its pages start on a multiple of
/// 16, so every block of 16 bytes or more is 16-aligned, and every block is 8-aligned.
const MAX_ALIGN: usize = 16;

/// Whether `mi_malloc(size)` is already aligned to `align`: mimalloc's own test,
/// `mi_malloc_is_naturally_aligned` in `alloc-aligned.c`, restricted to its first two cases
/// (the third, alignments over 16, is left to `mi_malloc_aligned`). With it
/// `mi_heap_malloc_zero_aligned_at` calls the plain allocation itself.
fn plain_alloc_fits(size: usize, align: usize) -> bool {
    align <= size && align <= MAX_ALIGN
}

/// Whether `mi_realloc` keeps the alignment: mimalloc's `mi_heap_realloc_zero_aligned_at`
/// takes the plain path for alignments up to the word size, whatever the sizes.
fn plain_realloc_fits(align: usize) -> bool {
    align <= std::mem::size_of::<usize>()
}

// SAFETY: each method calls the mimalloc function that mimalloc's own aligned entry point
// would call for this layout (see `plain_alloc_fits`, `plain_realloc_fits`), or the aligned
// entry point itself, so every pointer returned is null or a live block of at least the
// requested size and alignment; `mi_free` accepts any block from either family.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: plain FFI calls; mimalloc checks nothing of ours.
        unsafe {
            if plain_alloc_fits(size, align) {
                mi::mi_malloc(size).cast()
            } else {
                mi::mi_malloc_aligned(size, align).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: as in `alloc`.
        unsafe {
            if plain_alloc_fits(size, align) {
                mi::mi_zalloc(size).cast()
            } else {
                mi::mi_zalloc_aligned(size, align).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned, i.e. one of mimalloc's.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        // SAFETY: the caller passes a block of ours; on success mimalloc frees or keeps it.
        unsafe {
            if plain_realloc_fits(align) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, align).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to 1 KiB, a spread up to 16 KiB and a few large ones, at every
    /// alignment from 1 to 4 KiB: each block comes back aligned, writable over its whole
    /// size, and its contents survive a realloc in both directions.
    #[test]
    fn blocks_are_aligned_and_hold_their_bytes() {
        let sizes =
            (1..=1024)
                .chain((1032..=16_384).step_by(40))
                .chain([65_536, 1 << 20, (1 << 20) + 8]);
        for size in sizes {
            for align in (0..=12).map(|k| 1usize << k) {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: nonzero sizes; every block is freed with the layout it has.
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    p.write_bytes(0xA5, size);

                    let z = Mimalloc.alloc_zeroed(layout);
                    assert!(!z.is_null());
                    assert_eq!(z as usize % align, 0, "zeroed: size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    Mimalloc.dealloc(z, layout);

                    let grown = size * 3;
                    let q = Mimalloc.realloc(p, layout, grown);
                    assert!(!q.is_null());
                    assert_eq!(q as usize % align, 0, "grown: size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(q, size)
                        .iter()
                        .all(|&b| b == 0xA5));
                    let shrunk = size.div_ceil(2);
                    let grown_layout = Layout::from_size_align_unchecked(grown, align);
                    let r = Mimalloc.realloc(q, grown_layout, shrunk);
                    assert!(!r.is_null());
                    assert_eq!(r as usize % align, 0, "shrunk: size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(r, shrunk)
                        .iter()
                        .all(|&b| b == 0xA5));
                    Mimalloc.dealloc(r, Layout::from_size_align_unchecked(shrunk, align));
                }
            }
        }
    }

    /// The cases that must take the aligned calls do.
    #[test]
    fn plain_calls_only_where_mimalloc_takes_them() {
        assert!(plain_alloc_fits(8, 8));
        assert!(plain_alloc_fits(24, 8));
        assert!(plain_alloc_fits(48, 16));
        assert!(!plain_alloc_fits(4, 8), "smaller than its alignment");
        assert!(!plain_alloc_fits(64, 32), "over 16");
        assert!(plain_realloc_fits(8));
        assert!(!plain_realloc_fits(16));
    }
}
