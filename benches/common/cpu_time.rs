//! CPU time, for the benches' own figures beside criterion's wall-clock ones (on a machine
//! shared with other jobs, wall-clock time includes waiting for a core).
//!
//! Read with `clock_gettime`, which counts nanoseconds. The check, diff and parse benches
//! read `/proc/thread-self/stat` before, whose clock ticks of 1/100 s made a figure over a
//! fixed number of passes a multiple of 10 ms: 60 passes of the check bench's 168 claims
//! came out in steps of 1 µs a claim.
// Each bench includes this file and uses one of the clocks.
#![allow(dead_code)]

/// CPU time (user + system) of the calling thread in seconds; `None` where the clock cannot
/// be read.
pub fn thread_cpu_seconds() -> Option<f64> {
    clock_seconds(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of this process (every thread) in seconds; `None` where the clock cannot be read.
pub fn process_cpu_seconds() -> Option<f64> {
    clock_seconds(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock_seconds(clock: libc::clockid_t) -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; `clock` is one of libc's clock constants.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}
