//! The table of built-in functions: names in each spelling, arity, and whether the function
//! is piecewise (has kinks where it is not differentiable).
//!
//! Formulas for derivatives live in `diff::rules`, numeric definitions in `eval`; this table
//! only names things, so that every stage agrees on spelling.

use std::fmt;
use std::sync::Arc;

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Builtin {
    Exp,
    Log,
    Sqrt,
    Abs,
    Sign,
    Sin,
    Cos,
    Tanh,
    Sinh,
    Cosh,
    Sigmoid,
    Relu,
    Softplus,
    Max,
    Min,
    Erf,
    Heaviside,
}

/// Spellings of one built-in.
pub struct BuiltinInfo {
    /// The function.
    pub builtin: Builtin,
    /// Canonical ASCII name (what the ASCII printer writes).
    pub ascii: &'static str,
    /// Unicode name (what the Unicode printer writes).
    pub unicode: &'static str,
    /// LaTeX name, including the backslash where LaTeX has an operator.
    pub latex: &'static str,
    /// Number of arguments.
    pub arity: usize,
    /// Not differentiable somewhere (relu at 0, abs at 0, ...).
    pub piecewise: bool,
}

macro_rules! builtins {
    ($(($b:ident, $ascii:literal, $uni:literal, $latex:literal, $arity:literal, $pw:literal)),* $(,)?) => {
        /// All built-ins, in declaration order.
        pub const BUILTINS: &[BuiltinInfo] = &[
            $(BuiltinInfo { builtin: Builtin::$b, ascii: $ascii, unicode: $uni, latex: $latex,
                arity: $arity, piecewise: $pw },)*
        ];
    };
}

builtins![
    (Exp, "exp", "exp", "\\exp", 1, false),
    (Log, "log", "log", "\\log", 1, false),
    (Sqrt, "sqrt", "√", "\\sqrt", 1, false),
    (Abs, "abs", "abs", "\\operatorname{abs}", 1, true),
    (Sign, "sign", "sign", "\\operatorname{sign}", 1, true),
    (Sin, "sin", "sin", "\\sin", 1, false),
    (Cos, "cos", "cos", "\\cos", 1, false),
    (Tanh, "tanh", "tanh", "\\tanh", 1, false),
    (Sinh, "sinh", "sinh", "\\sinh", 1, false),
    (Cosh, "cosh", "cosh", "\\cosh", 1, false),
    (Sigmoid, "sigma", "σ", "\\sigma", 1, false),
    (Relu, "relu", "relu", "\\operatorname{relu}", 1, true),
    (
        Softplus,
        "softplus",
        "softplus",
        "\\operatorname{softplus}",
        1,
        false
    ),
    (Max, "max", "max", "\\max", 2, true),
    (Min, "min", "min", "\\min", 2, true),
    (Erf, "erf", "erf", "\\operatorname{erf}", 1, false),
    (Heaviside, "heaviside", "H", "H", 1, true),
];

/// Extra accepted spellings of built-ins (beyond the ASCII and Unicode names).
const ALIASES: &[(&str, Builtin)] = &[
    ("ln", Builtin::Log),
    ("sigmoid", Builtin::Sigmoid),
    ("sig", Builtin::Sigmoid),
    ("H", Builtin::Heaviside),
    ("step", Builtin::Heaviside),
    ("sgn", Builtin::Sign),
];

impl Builtin {
    /// Its table entry.
    pub fn info(self) -> &'static BuiltinInfo {
        // The table is declared in enum order; the fallback keeps this total without panicking.
        static FALLBACK: BuiltinInfo = BuiltinInfo {
            builtin: Builtin::Exp,
            ascii: "exp",
            unicode: "exp",
            latex: "\\exp",
            arity: 1,
            piecewise: false,
        };
        BUILTINS
            .get(self as usize)
            .filter(|i| i.builtin == self)
            .or_else(|| BUILTINS.iter().find(|i| i.builtin == self))
            .unwrap_or(&FALLBACK)
    }

    /// Looks a built-in up by any of its spellings (`log`, `ln`, `σ`, `sigma`, `sigmoid`, ...).
    pub fn from_name(name: &str) -> Option<Builtin> {
        BUILTINS
            .iter()
            .find(|i| i.ascii == name || i.unicode == name)
            .map(|i| i.builtin)
            .or_else(|| ALIASES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b))
    }

    /// Canonical ASCII name.
    pub fn name(self) -> &'static str {
        self.info().ascii
    }

    /// Number of arguments.
    pub fn arity(self) -> usize {
        self.info().arity
    }
}

/// The function of a call: a built-in, a user-defined function, or the derivative (prime) of
/// a one-argument function (`σ'(z)`, `f''(x)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    /// A built-in.
    Builtin(Builtin),
    /// A function the file defines with `let f(x) = ...`, by name.
    User(Arc<str>),
    /// The derivative of a one-argument function.
    Prime(Box<Func>),
}

impl Func {
    /// The function without primes, and how many primes it carries.
    pub fn unprimed(&self) -> (&Func, usize) {
        let mut f = self;
        let mut n = 0;
        while let Func::Prime(inner) = f {
            f = inner;
            n += 1;
        }
        (f, n)
    }
}

impl fmt::Display for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Func::Builtin(b) => f.write_str(b.name()),
            Func::User(name) => f.write_str(name),
            Func::Prime(inner) => write!(f, "{inner}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order() {
        for (i, info) in BUILTINS.iter().enumerate() {
            assert_eq!(info.builtin as usize, i, "{}", info.ascii);
        }
    }

    #[test]
    fn spellings_resolve() {
        assert_eq!(Builtin::from_name("ln"), Some(Builtin::Log));
        assert_eq!(Builtin::from_name("σ"), Some(Builtin::Sigmoid));
        assert_eq!(Builtin::from_name("sigmoid"), Some(Builtin::Sigmoid));
        assert_eq!(Builtin::from_name("nope"), None);
    }
}
