//! Unicode spellings for reading: `σ(z)·(1 − σ(z))`, `tanh(z)²`, `η`, `o₁`, `Σ_{j=1}^{C}`,
//! `∂L/∂Z`, `√(x)`. Every spelling used here is also accepted by the parser.

use super::linear::Spelling;
use crate::expr::{greek_unicode, Func, Symbol};

/// The Unicode notation.
pub(crate) const UNICODE: Spelling = Spelling {
    minus: "−",
    times: "·",
    pi: "π",
    symbol,
    func_name,
    superscripts: true,
    big_sigma: true,
    delta: "δ",
    partial: "∂",
    ellipsis: "…",
};

/// A name in its Unicode spelling: Greek names become letters.
fn name(ascii: &str) -> &str {
    greek_unicode(ascii).unwrap_or(ascii)
}

/// `η`, `w_{ij}`, `A_prev` as `A_{prev}`, and digit subscripts as subscript digits (`o₁`).
fn symbol(s: &Symbol) -> String {
    let base = name(s.name());
    match s.sub() {
        None => base.to_owned(),
        Some(sub) if sub.chars().all(|c| c.is_ascii_digit()) => {
            let digits: String = sub.chars().filter_map(subscript_digit).collect();
            format!("{base}{digits}")
        }
        Some(sub) if sub.chars().count() == 1 && sub.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("{base}_{sub}")
        }
        // A layer slot `ℓ-1` is printed with the minus sign (read back as `-`).
        Some(sub) => format!("{base}_{{{}}}", sub.replace('-', "\u{2212}")),
    }
}

fn subscript_digit(c: char) -> Option<char> {
    let d = c.to_digit(10)?;
    char::from_u32(0x2080 + d)
}

/// `σ`, `√`, `tanh`, a user function by its name (Greek names as letters).
fn func_name(f: &Func) -> String {
    match f {
        Func::Builtin(b) => b.info().unicode.to_owned(),
        Func::User(n) => name(n).to_owned(),
        Func::Prime(inner) => format!("{}'", func_name(inner)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_subscripts_become_subscript_digits() {
        assert_eq!(symbol(&Symbol::with_sub("o", Some("12"))), "o₁₂");
        assert_eq!(symbol(&Symbol::with_sub("eta", Some("t"))), "η_t");
        assert_eq!(symbol(&Symbol::with_sub("w", Some("ij"))), "w_{ij}");
    }
}
