//! The total memory bound of the binary (`--max-memory`): a global allocator that counts live
//! heap bytes into `derivcheck::limits::memory`.
//!
//! Two levels, because an allocation cannot fail softly in Rust (a null from the allocator
//! aborts the process):
//! - soft, the budget: once the live heap is over it, every `Deadline::check` of the library
//!   fails with "limit reached (memory, in …)", so the step under way stops as undecided,
//!   drops what it built, and the run goes on;
//! - hard, twice the budget: an allocation that would pass it (memory that grew that much
//!   between two check points) ends the process at once with a message on stderr and exit
//!   code 2, instead of an abort or the system's out-of-memory killer.
//!
//! The counter is one relaxed atomic add per allocation; with no budget nothing else is done.
//!
//! The allocator underneath is the library's [`derivcheck::heap::Mimalloc`] (mimalloc 2.x;
//! that module says why). The counting does not depend on which allocator is below it.
//! `benches/check.rs` includes this file as a module, so that it times what the CLI runs.

use std::alloc::{GlobalAlloc, Layout};

use derivcheck::heap::Mimalloc as Inner;
use derivcheck::limits::memory;

/// mimalloc, counted.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts `bytes` more and stops the process if that passes the hard limit (twice the
/// budget; never, without one: the count saturates at `usize::MAX`, which is not above it).
fn grow(bytes: usize) {
    if memory::allocated(bytes) > memory::hard_limit() {
        hard_stop();
    }
}

/// Ends the process with exit code 2 without allocating (no formatting, no unwinding).
fn hard_stop() -> ! {
    const MSG: &[u8] = b"error: memory limit reached (memory, in one allocation): the run \
needs more than twice --max-memory; stopped\n";
    #[cfg(unix)]
    // SAFETY: `write` reads MSG.len() bytes of a static buffer; `_exit` does not return and
    // runs no handlers, so nothing allocates again.
    unsafe {
        let _ = libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(2)
    }
    #[cfg(not(unix))]
    std::process::abort()
}

// SAFETY: every call is forwarded to mimalloc with the same arguments; the counting around
// it neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded as is.
        let p = unsafe { Inner.alloc(layout) };
        if p.is_null() {
            memory::freed(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded as is.
        let p = unsafe { Inner.alloc_zeroed(layout) };
        if p.is_null() {
            memory::freed(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { Inner.dealloc(ptr, layout) };
        memory::freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            grow(new_size - old);
        }
        // SAFETY: forwarded as is.
        let p = unsafe { Inner.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                memory::freed(new_size - old);
            }
        } else if new_size < old {
            memory::freed(old - new_size);
        }
        p
    }
}
