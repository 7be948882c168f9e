//! The readable form: what derivcheck prints.
//!
//! Three passes, each keeping the value:
//! 1. `refold`: built-in patterns back to their names (1/(1 + exp(−u)) → σ(u),
//!    log(1 + exp(u)) → softplus(u)) and named quantities back to their names (σ(Z) → A when
//!    the file says `let A = σ(Z)`).
//! 2. A factored normal form: coefficient · Π factor^k, where each factor is a primitive
//!    polynomial over atoms (symbols and calls with readable arguments). Sums pull out their
//!    common factors and common denominators, expand only the small cofactors, and cancel
//!    denominator factors that divide the result. Products merge factor lists, so a chain-rule
//!    product of a deep composition stays linear in size.
//! 3. Back to an `Expr`, choosing the sign of each sum factor so the fewest terms are
//!    negative, constants are positive, and a leading minus is absorbed where it can be
//!    (2·(O − y) rather than −2·(y − O); (A − y)/(A·(1 − A))).
//!
//! The stated cost: among the lightly simplified input and the factored form, the one with
//! the smaller tree size, then the smaller depth, is printed (ties go to the factored form).
//! Equality is never decided here: that is `canon`'s job.

mod factored;
mod refold;

pub use refold::{refold_builtins, refold_quantities};

use crate::expr::Expr;
use crate::limits::{Deadline, LimitReached, Limits};
use crate::program::Program;

/// What the readable pass needs.
pub struct ReadableCtx<'a> {
    /// Definitions: quantities are refolded into their names.
    pub program: &'a Program,
    /// Limits on sizes.
    pub limits: &'a Limits,
    /// Time budget.
    pub deadline: Deadline,
}

/// The readable form of `e` (same value, printed the way people write it).
pub fn readable(e: &Expr, ctx: &ReadableCtx) -> Result<Expr, LimitReached> {
    let refolded = refold_quantities(&refold_builtins(e), ctx.program);
    let factored = factored::simplify(&refolded, ctx)?;
    let factored = refold_quantities(&refold_builtins(&factored), ctx.program);
    Ok(cheaper(factored, refolded))
}

/// The cost stated in the module doc: tree size, then depth; ties keep `a`.
fn cheaper(a: Expr, b: Expr) -> Expr {
    if (b.tree_size(), b.depth()) < (a.tree_size(), a.depth()) {
        b
    } else {
        a
    }
}
