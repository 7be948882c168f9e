//! Symbols: a base name with an optional subscript (`w_{ij}`, `o_1`, `A_previous`), and the
//! table of Greek letters used to move between the ASCII spelling (`eta`) and the Unicode one
//! (`η`).
//!
//! Names are stored in their ASCII spelling so that `η` and `eta` are the same symbol.

use std::fmt;
use std::sync::Arc;

/// Greek letters: (ASCII name, Unicode letter, LaTeX command).
pub const GREEK: &[(&str, &str, &str)] = &[
    ("alpha", "α", "\\alpha"),
    ("beta", "β", "\\beta"),
    ("gamma", "γ", "\\gamma"),
    ("delta", "δ", "\\delta"),
    ("epsilon", "ε", "\\epsilon"),
    ("zeta", "ζ", "\\zeta"),
    ("eta", "η", "\\eta"),
    ("theta", "θ", "\\theta"),
    ("iota", "ι", "\\iota"),
    ("kappa", "κ", "\\kappa"),
    ("lambda", "λ", "\\lambda"),
    ("mu", "μ", "\\mu"),
    ("nu", "ν", "\\nu"),
    ("xi", "ξ", "\\xi"),
    ("omicron", "ο", "o"),
    ("pi", "π", "\\pi"),
    ("rho", "ρ", "\\rho"),
    ("sigma", "σ", "\\sigma"),
    ("tau", "τ", "\\tau"),
    ("upsilon", "υ", "\\upsilon"),
    ("phi", "φ", "\\phi"),
    ("chi", "χ", "\\chi"),
    ("psi", "ψ", "\\psi"),
    ("omega", "ω", "\\omega"),
    ("Gamma", "Γ", "\\Gamma"),
    ("Delta", "Δ", "\\Delta"),
    ("Theta", "Θ", "\\Theta"),
    ("Lambda", "Λ", "\\Lambda"),
    ("Xi", "Ξ", "\\Xi"),
    ("Pi", "Π", "\\Pi"),
    ("Sigma", "Σ", "\\Sigma"),
    ("Upsilon", "Υ", "\\Upsilon"),
    ("Phi", "Φ", "\\Phi"),
    ("Psi", "Ψ", "\\Psi"),
    ("Omega", "Ω", "\\Omega"),
];

/// The ASCII name of a Greek letter given in Unicode (`η` → `eta`), if it is one.
pub fn greek_ascii(unicode: &str) -> Option<&'static str> {
    GREEK.iter().find(|g| g.1 == unicode).map(|g| g.0)
}

/// The Unicode letter for an ASCII Greek name (`eta` → `η`), if it is one.
pub fn greek_unicode(ascii: &str) -> Option<&'static str> {
    GREEK.iter().find(|g| g.0 == ascii).map(|g| g.1)
}

/// The LaTeX command for an ASCII Greek name (`eta` → `\eta`), if it is one.
pub fn greek_latex(ascii: &str) -> Option<&'static str> {
    GREEK.iter().find(|g| g.0 == ascii).map(|g| g.2)
}

/// A variable or named quantity. Two symbols are equal when name and subscript are equal.
///
/// Invariant: `name` is non-empty and in ASCII spelling for Greek letters; `sub`, when present,
/// is non-empty.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    name: Arc<str>,
    sub: Option<Arc<str>>,
}

impl Symbol {
    /// A symbol without subscript. Unicode Greek letters are stored by their ASCII name.
    pub fn new(name: &str) -> Self {
        Symbol::with_sub(name, None)
    }

    /// A symbol with an optional subscript (`w`, `ij`).
    pub fn with_sub(name: &str, sub: Option<&str>) -> Self {
        let name = greek_ascii(name).unwrap_or(name);
        let name = if name.is_empty() { "_" } else { name };
        Symbol {
            name: Arc::from(name),
            sub: sub.filter(|s| !s.is_empty()).map(Arc::from),
        }
    }

    /// Base name in ASCII spelling.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Subscript, if any.
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// ASCII spelling that the parser reads back: `w_ij` or `w_{i,j}`-free `w_{ij}` form.
impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.sub {
            None => Ok(()),
            Some(s) if s.chars().all(|c| c.is_ascii_alphanumeric()) && s.chars().count() == 1 => {
                write!(f, "_{s}")
            }
            Some(s) => write!(f, "_{{{s}}}"),
        }
    }
}
