//! ASCII spellings: the form that `Display for Expr` writes and the parser reads back into the
//! identical `Expr` (`sigma(z)*(1 - sigma(z))`, `x^(-1)`, `sum(j, 1, C, x_j)`, `d/dz (f)`).

use super::linear::Spelling;
use crate::expr::{Func, Symbol};

/// The ASCII notation.
pub(crate) const ASCII: Spelling = Spelling {
    minus: "-",
    times: "*",
    pi: "pi",
    symbol,
    func_name,
    superscripts: false,
    big_sigma: false,
    delta: "delta",
    partial: "d",
    ellipsis: "...",
};

/// `eta`, `x_1`, `w_{ij}`: the symbol's own `Display`, which the parser reads back.
pub(crate) fn symbol(s: &Symbol) -> String {
    // The layer letter ℓ of `w_{ℓ+1,k,j}` is spelled `ell` in ASCII (and read back so).
    s.to_string().replace('\u{2113}', "ell")
}

/// `sigma`, `exp`, a user function by its name.
fn func_name(f: &Func) -> String {
    match f {
        Func::Builtin(b) => b.info().ascii.to_owned(),
        Func::User(name) => name.to_string(),
        Func::Prime(inner) => format!("{}'", func_name(inner)),
    }
}
