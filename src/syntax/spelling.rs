//! Spelling tables of the `.dc` language: which characters spell an operator, a digit written
//! as a superscript or subscript, a vulgar fraction, a prime, a number set or a Greek letter.
//!
//! The Unicode and ASCII spellings are interchangeable (`·`/`*`/`×`, `−`/`-`, `≤`/`<=`,
//! `σ`/`sigma`); this module only answers "what does this character spell". It builds nothing
//! and knows nothing of expressions beyond the Greek table in `crate::expr::GREEK`.

use crate::expr::GREEK;

/// A relation in an `assume` chain, as spelled by the user (`≤` and `<=` are both `Le`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelOp {
    /// `<`
    Lt,
    /// `<=` or `≤`
    Le,
    /// `>`
    Gt,
    /// `>=` or `≥`
    Ge,
    /// `=`
    Eq,
}

/// Relational operators, longest spelling first so that `<=` is not read as `<`.
pub const REL_OPS: &[(&str, RelOp)] = &[
    ("<=", RelOp::Le),
    (">=", RelOp::Ge),
    ("≤", RelOp::Le),
    ("≥", RelOp::Ge),
    ("⩽", RelOp::Le),
    ("⩾", RelOp::Ge),
    ("<", RelOp::Lt),
    (">", RelOp::Gt),
    ("=", RelOp::Eq),
];

/// A named set after `∈`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetName {
    /// `ℕ` or `N`: the positive integers.
    Naturals,
    /// `ℤ` or `Z`.
    Integers,
    /// `ℝ` or `R`.
    Reals,
}

/// Spellings of the named sets (the one-letter ASCII names only count as whole identifiers).
pub const SET_NAMES: &[(&str, SetName)] = &[
    ("ℕ", SetName::Naturals),
    ("N", SetName::Naturals),
    ("ℤ", SetName::Integers),
    ("Z", SetName::Integers),
    ("ℝ", SetName::Reals),
    ("R", SetName::Reals),
];

/// Whitespace inside a statement. Besides ASCII blanks this accepts the no-break and thin
/// spaces that word processors and PDF viewers put into copied formulas, and the byte-order
/// mark some editors write at the start of a file.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '\u{a0}' | '\u{2009}' | '\u{200a}' | '\u{202f}' | '\u{feff}'
    )
}

/// `-`, `−` (U+2212 minus sign) or `–` (U+2013 en dash, which word processors substitute).
pub fn is_minus(c: char) -> bool {
    matches!(c, '-' | '\u{2212}' | '\u{2013}')
}

/// An explicit multiplication sign: `*`, `·` (U+00B7), `⋅` (U+22C5), `∙` (U+2219), `×`.
/// (`**` is a power and is recognised before this is asked.)
pub fn is_times(c: char) -> bool {
    matches!(c, '*' | '\u{b7}' | '\u{22c5}' | '\u{2219}' | '\u{d7}')
}

/// A division sign: `/` or `÷`.
pub fn is_divide(c: char) -> bool {
    matches!(c, '/' | '\u{f7}')
}

/// The partial-derivative sign `∂`, interchangeable with `d` in derivative operators.
pub const PARTIAL: char = '\u{2202}';

/// The square-root sign `√`, the Unicode name of `sqrt` (written `√(x)`).
pub const SQUARE_ROOT: char = '\u{221a}';

/// The summation sign `Σ` (U+03A3) or `∑` (U+2211, n-ary summation).
pub fn is_sigma_sum(c: char) -> bool {
    matches!(c, '\u{3a3}' | '\u{2211}')
}

/// A prime after a function name: `'` or `′` count one, `″` counts two.
pub fn primes(c: char) -> Option<u8> {
    match c {
        '\'' | '\u{2032}' => Some(1),
        '\u{2033}' => Some(2),
        _ => None,
    }
}

/// The value of a superscript digit (`²` → 2).
pub fn superscript_digit(c: char) -> Option<u8> {
    match c {
        '\u{2070}' => Some(0),
        '\u{b9}' => Some(1),
        '\u{b2}' => Some(2),
        '\u{b3}' => Some(3),
        '\u{2074}'..='\u{2079}' => Some(4 + (c as u32 - 0x2074) as u8),
        _ => None,
    }
}

/// The superscript minus `⁻`.
pub const SUPERSCRIPT_MINUS: char = '\u{207b}';

/// The superscript plus `⁺` (accepted and ignored, like a unary `+`).
pub const SUPERSCRIPT_PLUS: char = '\u{207a}';

/// True for a character that may start or continue a superscript exponent (`⁻¹`, `²`).
pub fn is_superscript(c: char) -> bool {
    superscript_digit(c).is_some() || c == SUPERSCRIPT_MINUS || c == SUPERSCRIPT_PLUS
}

/// The superscript spelling of a decimal digit (`2` → `²`), the inverse of
/// `superscript_digit`.
pub fn to_superscript(digit: u8) -> Option<char> {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    DIGITS.get(usize::from(digit)).copied()
}

/// The value of a subscript digit (`₁` → 1).
pub fn subscript_digit(c: char) -> Option<u8> {
    match c {
        '\u{2080}'..='\u{2089}' => Some((c as u32 - 0x2080) as u8),
        _ => None,
    }
}

/// The subscript spelling of a decimal digit (`1` → `₁`), the inverse of `subscript_digit`.
pub fn to_subscript(digit: u8) -> Option<char> {
    char::from_u32(0x2080 + u32::from(digit)).filter(|_| digit < 10)
}

/// Numerator and denominator of a vulgar-fraction character (`½` → (1, 2)).
pub fn vulgar_fraction(c: char) -> Option<(u8, u8)> {
    Some(match c {
        '½' => (1, 2),
        '⅓' => (1, 3),
        '⅔' => (2, 3),
        '¼' => (1, 4),
        '¾' => (3, 4),
        '⅕' => (1, 5),
        '⅖' => (2, 5),
        '⅗' => (3, 5),
        '⅘' => (4, 5),
        '⅙' => (1, 6),
        '⅚' => (5, 6),
        '⅐' => (1, 7),
        '⅛' => (1, 8),
        '⅜' => (3, 8),
        '⅝' => (5, 8),
        '⅞' => (7, 8),
        '⅑' => (1, 9),
        '⅒' => (1, 10),
        _ => return None,
    })
}

/// Variant glyphs of Greek letters that fonts and keyboards produce (`ϕ`, `ϵ`, the micro sign
/// `µ`), mapped to the ASCII name of the letter they stand for.
const GREEK_VARIANTS: &[(char, &str)] = &[
    ('\u{3d5}', "phi"),
    ('\u{3f5}', "epsilon"),
    ('\u{3d1}', "theta"),
    ('\u{3f1}', "rho"),
    ('\u{3d6}', "pi"),
    ('\u{b5}', "mu"),
];

/// The ASCII name of a single Greek letter (`η` → `eta`), including variant glyphs; `None`
/// for any other character. `Σ` is a Greek letter here; the parser reads it as the summation
/// sign before asking.
pub fn greek_letter(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        return None;
    }
    if let Some((_, name)) = GREEK_VARIANTS.iter().find(|(v, _)| *v == c) {
        return Some(name);
    }
    let mut buf = [0u8; 4];
    let s: &str = c.encode_utf8(&mut buf);
    GREEK.iter().find(|g| g.1 == s).map(|g| g.0)
}

/// The ASCII name for a name as written: Greek letters (and their variants) become their
/// ASCII name, anything else is returned unchanged.
pub fn ascii_name(name: &str) -> &str {
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => greek_letter(c).unwrap_or(name),
        _ => name,
    }
}

/// Statement keywords.
pub const KEYWORDS: &[&str] = &["let", "assume", "claim", "derive"];

/// Words that end an expression and therefore cannot be names (`y in {0, 1}`).
pub const RESERVED_WORDS: &[&str] = &["in", "for"];

/// `≠`: not part of the language, but a recognisable attempt at a relation, so it is
/// reported as "found `≠`" rather than as an invalid character.
pub const NOT_EQUAL: char = '\u{2260}';

/// The element sign `∈`.
pub const ELEMENT_OF: char = '\u{2208}';

/// `⊙`, the elementwise (Hadamard) product (`.*` in ASCII).
pub const HADAMARD: char = '\u{2299}';

/// `ᵀ`, the transpose (`^T` in ASCII).
pub const TRANSPOSE: char = '\u{1d40}';

/// True for a character that can appear somewhere in a `.dc` statement outside comments.
/// Used to report "invalid character" rather than a confusing "expected …" message.
pub fn is_language_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || is_space(c)
        || "()[]{}+-*/^_,=<>'.".contains(c)
        || is_minus(c)
        || is_times(c)
        || is_divide(c)
        || c == PARTIAL
        || is_sigma_sum(c)
        || primes(c).is_some()
        || is_superscript(c)
        || subscript_digit(c).is_some()
        || vulgar_fraction(c).is_some()
        || greek_letter(c).is_some()
        || c == ELEMENT_OF
        || c == HADAMARD
        || c == TRANSPOSE
        || c == NOT_EQUAL
        || c == SQUARE_ROOT
        || REL_OPS.iter().any(|(s, _)| s.starts_with(c))
        || SET_NAMES.iter().any(|(s, _)| s.starts_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superscripts_round_trip_for_every_digit() {
        for d in 0..10u8 {
            let c = to_superscript(d);
            assert_eq!(c.and_then(superscript_digit), Some(d), "digit {d}");
        }
        assert_eq!(to_superscript(10), None);
    }

    #[test]
    fn subscripts_round_trip_for_every_digit() {
        for d in 0..10u8 {
            assert_eq!(
                to_subscript(d).and_then(subscript_digit),
                Some(d),
                "digit {d}"
            );
        }
        assert_eq!(to_subscript(10), None);
        assert_eq!(subscript_digit('1'), None);
    }

    #[test]
    fn greek_letters_and_variants_have_ascii_names() {
        assert_eq!(greek_letter('σ'), Some("sigma"));
        assert_eq!(greek_letter('Ω'), Some("Omega"));
        assert_eq!(greek_letter('ϕ'), Some("phi"));
        assert_eq!(greek_letter('µ'), Some("mu"));
        assert_eq!(greek_letter('s'), None);
        assert_eq!(ascii_name("η"), "eta");
        assert_eq!(ascii_name("eta"), "eta");
        assert_eq!(ascii_name("x"), "x");
    }

    #[test]
    fn operator_spellings_are_interchangeable() {
        assert!(['-', '−', '–'].into_iter().all(is_minus));
        assert!(['*', '·', '×', '⋅'].into_iter().all(is_times));
        assert!(['/', '÷'].into_iter().all(is_divide));
        assert!(!is_times('/'));
    }

    #[test]
    fn vulgar_fractions_are_exact() {
        assert_eq!(vulgar_fraction('½'), Some((1, 2)));
        assert_eq!(vulgar_fraction('¾'), Some((3, 4)));
        assert_eq!(vulgar_fraction('1'), None);
    }

    #[test]
    fn invalid_characters_are_not_language_chars() {
        assert!(is_language_char('σ'));
        assert!(is_language_char('≤'));
        assert!(is_language_char('ℝ'));
        assert!(!is_language_char('@'));
        assert!(!is_language_char('€'));
        assert!(!is_language_char('\u{0}'));
    }
}
