//! Printing expressions in three notations, on the `pretty` crate:
//!
//! - [`Format::Ascii`]: what `Display for Expr` writes; the parser reads it back into the
//!   identical `Expr` (`sigma(z)*(1 - sigma(z))`).
//! - [`Format::Unicode`]: for people, and also accepted by the parser (`σ(z)·(1 − σ(z))`).
//! - [`Format::Latex`]: for reports (`\sigma(z)\left(1 - \sigma(z)\right)`).
//!
//! Layout is shared: `precedence` decides parentheses for all three notations, `layout` walks
//! the tree without recursion and builds the document, `linear` is the one ASCII/Unicode
//! printer (with spelling tables in `ascii` and `unicode`), and `latex` handles what LaTeX
//! does differently (`\frac`, juxtaposition). Parentheses are minimal but never lose
//! structure: a nested sum or product is always parenthesised.
//!
//! Printing is per tree: a subterm shared in the `Expr` DAG is printed each time it occurs.
//! Any depth prints without stack overflow; past a million printed nodes the rest is elided.
//!
//! Not here: choosing a readable form (that is `simplify::readable`), printing programs or
//! diagnostics (`report`).

mod ascii;
mod latex;
mod layout;
mod linear;
mod precedence;
pub mod program;
pub mod shared;
mod unicode;

use std::fmt;

use pretty::RcDoc;

use crate::expr::{Expr, Rational};

/// An output notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `σ(z)·(1 − σ(z))`, `tanh(z)²`, `Σ_{j=1}^{C} x_j`.
    Unicode,
    /// `sigma(z)*(1 - sigma(z))`: parses back to the identical expression.
    Ascii,
    /// `\sigma(z)\left(1 - \sigma(z)\right)`.
    Latex,
}

/// Layout options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOptions {
    /// Preferred line width, in columns. Longer formulas break after an operator, with
    /// continuation lines indented. `usize::MAX` prints on one line. Default 100.
    pub width: usize,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions { width: 100 }
    }
}

/// What a piece of printed text is, for callers that colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ann {
    /// A number.
    Number,
    /// A variable or named quantity.
    Symbol,
    /// `e` or `π`.
    Constant,
    /// A function name (and the delimiters of notations like `\sqrt{…}`).
    Function,
    /// An operator: `+`, `·`, `/`, `^`, `d/dz`, `Σ`.
    Operator,
    /// Parentheses and commas.
    Punctuation,
}

/// `e` as a `pretty` document with semantic annotations, for callers that lay it out inside
/// a larger document or colour it.
pub fn to_doc(e: &Expr, format: Format) -> RcDoc<'static, Ann> {
    match format {
        Format::Unicode => layout::to_doc(e, &unicode::UNICODE, true),
        Format::Ascii => layout::to_doc(e, &ascii::ASCII, true),
        Format::Latex => layout::to_doc(e, &latex::Latex, true),
    }
}

/// `e` in `format`, broken into lines at `opts.width`.
pub fn to_string(e: &Expr, format: Format, opts: &PrintOptions) -> String {
    if opts.width == usize::MAX {
        return match format {
            Format::Unicode => layout::to_line(e, &unicode::UNICODE),
            Format::Ascii => layout::to_line(e, &ascii::ASCII),
            Format::Latex => layout::to_line(e, &latex::Latex),
        };
    }
    let doc = match format {
        Format::Unicode => layout::to_doc(e, &unicode::UNICODE, false),
        Format::Ascii => layout::to_doc(e, &ascii::ASCII, false),
        Format::Latex => layout::to_doc(e, &latex::Latex, false),
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = doc.render_fmt(opts.width, &mut out);
    out
}

/// `e` in Unicode, with default options.
///
/// ```
/// let e = derivcheck::parse("sigma(z)*(1 - sigma(z))").unwrap();
/// assert_eq!(derivcheck::print::unicode(&e), "σ(z)·(1 − σ(z))");
/// ```
pub fn unicode(e: &Expr) -> String {
    to_string(e, Format::Unicode, &PrintOptions::default())
}

/// `e` in ASCII, with default options. The output parses back to the same expression.
///
/// ```
/// let e = derivcheck::parse("σ(z)(1 − σ(z))").unwrap();
/// let ascii = derivcheck::print::ascii(&e);
/// assert_eq!(ascii, "sigma(z)*(1 - sigma(z))");
/// assert_eq!(derivcheck::parse(&ascii).unwrap(), e);
/// ```
pub fn ascii(e: &Expr) -> String {
    to_string(e, Format::Ascii, &PrintOptions::default())
}

/// `e` in LaTeX, with default options.
///
/// ```
/// let e = derivcheck::parse("exp(-z)/(1 + exp(-z))^2").unwrap();
/// assert_eq!(derivcheck::print::latex(&e), r"\frac{e^{-z}}{\left(1 + e^{-z}\right)^{2}}");
/// ```
pub fn latex(e: &Expr) -> String {
    to_string(e, Format::Latex, &PrintOptions::default())
}

/// A rational for reports (counterexample values): `1/2`, `-3/4` (ASCII), `−3/4` (Unicode),
/// `-\frac{3}{4}` (LaTeX).
pub fn rational_to_string(r: &Rational, format: Format) -> String {
    match format {
        Format::Unicode => unicode::UNICODE.number(r),
        Format::Ascii => ascii::ASCII.number(r),
        Format::Latex => latex::number(r),
    }
}

/// The ASCII form on one line, which the parser reads back into the identical `Expr`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&layout::to_line(self, &ascii::ASCII))
    }
}
