//! Resource limits that bound every stage against hostile input.
//!
//! A `Limits` value is passed explicitly to the parser, the differentiator, the simplifier and
//! the checker. Reaching a limit is never a panic: the stage returns `LimitReached`, which the
//! checker turns into the verdict "undecided: limit reached (which, where)".
//!
//! This module owns the numbers and their documentation only; it knows nothing of expressions.
//! It also keeps the process-wide heap count behind the total memory bound (`memory`): the
//! binary's allocator reports to it, and every `Deadline::check` reads it.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Bounds on work and sizes. Defaults are chosen so that every function in `derivations/`
/// checks with a wide margin, while a pathological student file stops within a second or two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, in bytes, read from one file or one command-line expression.
    /// Default 4 MiB: a homework file is a few kilobytes.
    pub max_input_bytes: usize,
    /// Deepest nesting of parentheses and operators accepted by the parser, and deepest
    /// expression tree any stage builds or walks recursively. Default 256.
    pub max_depth: usize,
    /// Most nodes (counted as a tree) in one parsed expression. Default 100,000.
    pub max_nodes: usize,
    /// Most decimal digits in one numeric literal or in one exact constant computed by the
    /// simplifier. Default 1,000.
    pub max_digits: usize,
    /// Largest absolute integer exponent that is expanded exactly (`x^1000` is kept as a power
    /// above it; `(a+b)^n` is expanded only when the result stays within `max_terms`).
    /// Default 64.
    pub max_exponent: u32,
    /// Most terms in one polynomial during canonicalization. Default 20,000.
    pub max_terms: usize,
    /// Most nodes a derivative or a simplified form may reach (as a DAG). Default 200,000.
    pub max_growth: usize,
    /// Wall-clock budget for one check (one claim or one step). Default 3 seconds.
    pub timeout_per_step: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 4 << 20,
            max_depth: 256,
            max_nodes: 100_000,
            max_digits: 1_000,
            max_exponent: 64,
            max_terms: 20_000,
            max_growth: 200_000,
            timeout_per_step: Duration::from_secs(3),
        }
    }
}

/// Which limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// `max_input_bytes`
    InputSize,
    /// `max_depth`
    Depth,
    /// `max_nodes`
    Nodes,
    /// `max_digits`
    Digits,
    /// `max_exponent`
    Exponent,
    /// `max_terms`
    Terms,
    /// `max_growth`
    Growth,
    /// `timeout_per_step`
    Time,
    /// The total memory bound (`memory::set_budget`, `--max-memory`).
    Memory,
}

impl LimitKind {
    /// Stable kebab-case name, used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::InputSize => "input-size",
            LimitKind::Depth => "nesting-depth",
            LimitKind::Nodes => "expression-nodes",
            LimitKind::Digits => "number-digits",
            LimitKind::Exponent => "exponent",
            LimitKind::Terms => "polynomial-terms",
            LimitKind::Growth => "expression-growth",
            LimitKind::Time => "time-per-step",
            LimitKind::Memory => "memory",
        }
    }
}

/// A limit was reached: which one, and in which stage (`at` is a short phrase such as
/// "canonical form" or "differentiation").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitReached {
    /// The limit.
    pub which: LimitKind,
    /// The stage that hit it.
    pub at: &'static str,
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "limit reached ({}, in {})", self.which.name(), self.at)
    }
}

impl std::error::Error for LimitReached {}

/// A deadline derived from `Limits::timeout_per_step`, checked cooperatively by long loops.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    end: Option<Instant>,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline {
            end: Instant::now().checked_add(budget),
        }
    }

    /// A deadline that never passes (for tests and benchmarks).
    pub fn never() -> Self {
        Deadline { end: None }
    }

    /// `Err` once the deadline has passed, or while the heap is over the memory budget
    /// (`memory::over_budget`): the long loops that check the time are the ones that grow
    /// memory, so one check point serves both.
    pub fn check(&self, at: &'static str) -> Result<(), LimitReached> {
        if memory::over_budget() {
            return Err(LimitReached {
                which: LimitKind::Memory,
                at,
            });
        }
        match self.end {
            Some(end) if Instant::now() >= end => Err(LimitReached {
                which: LimitKind::Time,
                at,
            }),
            _ => Ok(()),
        }
    }
}

/// The total memory bound: a process-wide count of live heap bytes and a budget.
///
/// The library allocates through whatever global allocator the program uses and cannot see
/// it; a program that wants the bound (the `derivcheck` binary does) wraps its allocator so
/// that it calls `allocated` and `freed`, and sets a budget. Without that the count stays 0
/// and the bound never fires. Over budget, every `Deadline::check` fails with
/// `LimitKind::Memory`, so the step under way stops as "undecided: limit reached (memory,
/// in …)", its memory is dropped, and the run goes on.
pub mod memory {
    use super::{AtomicUsize, Ordering};

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static BUDGET: AtomicUsize = AtomicUsize::new(usize::MAX);
    /// Twice the budget (saturating), kept so that the allocator's test is one load.
    static HARD: AtomicUsize = AtomicUsize::new(usize::MAX);

    /// The budget of the binary's `--max-memory` unless it is given, in MiB.
    pub const DEFAULT_BUDGET_MIB: usize = 2048;

    /// `bytes` were allocated. Called by a global allocator: no allocation, no locks.
    #[inline]
    pub fn allocated(bytes: usize) -> usize {
        LIVE.fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes)
    }

    /// `bytes` were freed. Called by a global allocator.
    #[inline]
    pub fn freed(bytes: usize) {
        LIVE.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Live heap bytes counted so far (0 when no allocator reports).
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// Sets the budget in bytes (`None`: no bound, the default).
    pub fn set_budget(bytes: Option<usize>) {
        let budget = bytes.unwrap_or(usize::MAX);
        BUDGET.store(budget, Ordering::Relaxed);
        HARD.store(budget.saturating_mul(2), Ordering::Relaxed);
    }

    /// Twice the budget in bytes (saturating: `usize::MAX` without a budget), the hard stop
    /// of the binary's allocator.
    #[inline]
    pub fn hard_limit() -> usize {
        HARD.load(Ordering::Relaxed)
    }

    /// The budget in bytes, if one is set.
    pub fn budget() -> Option<usize> {
        match BUDGET.load(Ordering::Relaxed) {
            usize::MAX => None,
            b => Some(b),
        }
    }

    /// Whether the live heap is over the budget.
    #[inline]
    pub fn over_budget() -> bool {
        LIVE.load(Ordering::Relaxed) > BUDGET.load(Ordering::Relaxed)
    }
}
