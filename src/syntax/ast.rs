//! The spanned syntax tree of a `.dc` file, in the user's spelling.
//!
//! The tree borrows its names and literals from the source text (`'a`), so parsing does not
//! allocate per token. It records what was written, not what it means: `x(1 + y)` is an
//! `Apply` whether `x` is a function or a factor, `σ` and `sigma` are kept as written, and
//! brackets are recorded on the node they enclose (`Expr::parens`). `lower` decides the meaning, following the lowering
//! contract in the language reference.

use crate::source::Span;

/// A parsed file: its statements in source order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct File<'a> {
    /// Statements in source order (statements with errors are left out).
    pub stmts: Vec<Stmt<'a>>,
}

/// One statement with its span (for `derive`, from the keyword to the last step).
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt<'a> {
    /// What kind of statement.
    pub kind: StmtKind<'a>,
    /// The whole statement.
    pub span: Span,
}

/// The statements of the language.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind<'a> {
    /// `let head = body`.
    Let {
        /// What is defined.
        head: LetHead<'a>,
        /// The right-hand side.
        body: Expr<'a>,
    },
    /// `assume …`.
    Assume(Assume<'a>),
    /// `claim lhs = rhs`.
    Claim {
        /// Left side.
        lhs: Expr<'a>,
        /// Right side.
        rhs: Expr<'a>,
    },
    /// `derive start` followed by `= step` lines.
    Derive {
        /// The start expression.
        start: Expr<'a>,
        /// The steps in order.
        steps: Vec<Step<'a>>,
    },
}

/// The head of a `let`: `A`, `w_{ij}`, `σ(z)`, `f(x, y)`, `f'(z)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetHead<'a> {
    /// The defined name.
    pub name: Name<'a>,
    /// Number of primes after the name (`f'` has 1).
    pub primes: u8,
    /// Parameters, when the head has parentheses (`Some(vec![])` is never produced).
    pub params: Option<Vec<Name<'a>>>,
    /// The whole head.
    pub span: Span,
}

/// One `= expr` line (or inline `= expr`) of a derivation.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<'a> {
    /// The expression after `=`.
    pub expr: Expr<'a>,
    /// From the `=` to the end of the expression.
    pub span: Span,
}

/// The body of an `assume`.
#[derive(Debug, Clone, PartialEq)]
pub enum Assume<'a> {
    /// `e0 r0 e1 r1 e2 …`, e.g. `0 < A < 1`.
    Compare {
        /// The first expression.
        first: Expr<'a>,
        /// Each relation with the expression after it (at least one).
        rest: Vec<(Rel, Expr<'a>)>,
    },
    /// `∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k} for k = 1..M`: E is an unknown function of the family
    /// z_{ℓ+1,1}, …, z_{ℓ+1,M} whose partial derivatives are the unknowns δ_{ℓ+1,k} (lowering
    /// checks the shape).
    Depends(Box<Depends<'a>>),
    /// `x ∈ S` (or `x in S`).
    Member {
        /// The element (lowering requires a symbol).
        lhs: Expr<'a>,
        /// The set.
        set: SetExpr<'a>,
    },
}

/// The parts of `assume ∂E/∂z_k = δ_k for k = lo..hi`.
#[derive(Debug, Clone, PartialEq)]
pub struct Depends<'a> {
    /// The derivative on the left.
    pub deriv: Expr<'a>,
    /// The name of its value, on the right.
    pub value: Expr<'a>,
    /// The family index after `for`.
    pub index: Name<'a>,
    /// Lower bound of the index.
    pub lo: Expr<'a>,
    /// Upper bound of the index.
    pub hi: Expr<'a>,
}

/// A relation in an `assume` chain with its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rel {
    /// The relation.
    pub op: super::spelling::RelOp,
    /// Where it is written.
    pub span: Span,
}

/// The set after `∈`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr<'a> {
    /// `{a, b, …}`.
    Finite(Vec<Expr<'a>>, Span),
    /// `ℕ`, `ℤ`, `ℝ` (or `N`, `Z`, `R`).
    Named(super::spelling::SetName, Span),
    /// A shape: `ℝ^N` (a column vector), `ℝ^{M×N}` (a matrix), also `R^(M x N)`. Each
    /// dimension is a name or an integer literal.
    Shape(Vec<Expr<'a>>, Span),
}

/// A name: an identifier or one Greek letter, with an optional subscript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    /// The identifier as written (`sigma`, `σ`, `w`, `A`).
    pub ident: &'a str,
    /// The subscript, if any.
    pub sub: Option<Subscript<'a>>,
    /// Identifier and subscript.
    pub span: Span,
}

/// A subscript as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscript<'a> {
    /// The subscript's characters without `_`, braces or Unicode form: `ij` for `_{ij}`,
    /// `₁₂` for `₁₂` (still in subscript digits; see `form`).
    pub text: &'a str,
    /// How it was written.
    pub form: SubscriptForm,
    /// A layer written as a bracketed superscript in LaTeX (`l+1` of `W^{(l+1)}_{jk}`), read
    /// as the first slot of the subscript (`W_{ℓ+1,j,k}`); `text` is then the rest (may be
    /// empty).
    pub layer: Option<&'a str>,
}

impl<'a> Subscript<'a> {
    /// A subscript without a layer.
    pub fn new(text: &'a str, form: SubscriptForm) -> Self {
        Subscript {
            text,
            form,
            layer: None,
        }
    }
}

/// How a subscript was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptForm {
    /// `_x`, `_12`, `_prev`.
    Plain,
    /// `_{ij}`.
    Braced,
    /// Unicode subscript digits, `o₁`.
    Unicode,
}

/// A number literal as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumLit<'a> {
    /// Decimal: `2`, `0.5`, `1e-3`, `2.5E+2`, as written (see `decimal_parts`).
    Decimal(&'a str),
    /// A vulgar fraction character such as `½`.
    Vulgar {
        /// Numerator.
        num: u8,
        /// Denominator.
        den: u8,
    },
    /// A superscript exponent such as `²` or `⁻¹` (only as the exponent of `Pow`).
    Superscript {
        /// True when it starts with `⁻`.
        negative: bool,
        /// The superscript digits as written.
        digits: &'a str,
    },
}

/// An expression node with its span.
///
/// Brackets are not nodes: `(x + 1)` is the `Sum` with `parens == 1` and a span that covers
/// the brackets. This saves an allocation per group, and lowering adds no node for them
/// anyway; what brackets do change — `(x(1 + y))^2` is one factor, `-(2)` is not a negative
/// literal — is read from `parens`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr<'a> {
    /// The node.
    pub kind: ExprKind<'a>,
    /// Its extent in the source, including any enclosing brackets.
    pub span: Span,
    /// How many bracket pairs enclose the node directly (`((x))` has 2).
    pub parens: u16,
    /// The outermost bracket, when `parens > 0`.
    pub bracket: Option<Bracket>,
}

/// A sign in front of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sign {
    /// `-`, `−` or `–` (true), or `+` (false).
    pub negative: bool,
    /// Where the sign is written.
    pub span: Span,
}

/// One term of a sum chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Term<'a> {
    /// The sign before the term (`None` only for a first term written without sign).
    pub sign: Option<Sign>,
    /// The term: a product chain or a single factor.
    pub body: Expr<'a>,
}

/// How a factor joins the product chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MulOp {
    /// The first factor.
    First,
    /// Juxtaposition: `2x`, `σ(z)(1 − σ(z))`.
    Implicit,
    /// `*`, `·`, `⋅`, `×`.
    Times,
    /// `/`, `÷`.
    Divide,
    /// `⊙` or `.*`: the elementwise (Hadamard) product of two values with the same shape.
    Hadamard,
}

/// One factor of a product chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor<'a> {
    /// How it joins the chain.
    pub op: MulOp,
    /// The factor.
    pub expr: Expr<'a>,
}

/// How a power was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowOp {
    /// `^`.
    Caret,
    /// `**`.
    StarStar,
    /// Superscript digits: `x²`.
    Superscript,
}

/// How a derivative operator was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DerivStyle {
    /// `d/dz`.
    D,
    /// `∂/∂z` (or a mix of `∂` and `d`).
    Partial,
}

/// Bracket kind of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bracket {
    /// `( … )`.
    Round,
    /// `[ … ]`.
    Square,
    /// `{ … }` (only after `^`).
    Curly,
}

/// The expression nodes, close to the written form.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind<'a> {
    /// A number literal.
    Num(NumLit<'a>),
    /// `1/3`: a literal integer directly followed by `/` and a literal integer, at the start
    /// of a product chain.
    Ratio {
        /// Numerator digits.
        num: &'a str,
        /// Denominator digits.
        den: &'a str,
    },
    /// A name (`x`, `σ`, `w_{ij}`, `e`, `pi`).
    Name(Name<'a>),
    /// A sum chain of at least two terms, or of one term with a sign.
    Sum(Vec<Term<'a>>),
    /// A product chain of at least two factors.
    Product(Vec<Factor<'a>>),
    /// A unary minus before a factor where no term starts (`a * -b`, `x^-1`).
    Neg(Box<Expr<'a>>),
    /// `base ^ exp`, `base ** exp` or `base²`.
    Pow(Box<Pow<'a>>),
    /// `name(args)`, `name'(args)`: a call or, when the name is not a function, a product.
    Apply(Box<Apply<'a>>),
    /// `d/dz X`, `∂/∂z X`, `d/d(z) X`.
    Deriv(Box<Deriv<'a>>),
    /// `dL/dZ`, `∂L/∂Z`.
    DerivFrac(Box<DerivFrac<'a>>),
    /// `Σ_{j=lo}^{hi} body`.
    BigSum(Box<BigSum<'a>>),
    /// `1{a = b}`.
    Indicator(Box<(Expr<'a>, Expr<'a>)>),
    /// `Wᵀ`: the transpose of a value with a shape (`W^T` is a `Pow` with exponent `T`,
    /// read as a transpose when `W` has a shape).
    Transpose(Box<Expr<'a>>),
}

// The larger nodes are boxed so that `Expr` stays small: the parser's stack frames hold
// several of them, and their size bounds how deep the parser can go in a given stack.

/// `base ^ exp`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pow<'a> {
    /// The base.
    pub base: Expr<'a>,
    /// The exponent.
    pub exp: Expr<'a>,
    /// How it was written.
    pub op: PowOp,
}

/// `name(args)` or `name'(args)`.
///
/// The first argument is stored inline, so that the common one-argument call costs one
/// allocation; `args` gives them all.
#[derive(Debug, Clone, PartialEq)]
pub struct Apply<'a> {
    /// The name.
    pub name: Name<'a>,
    /// Number of primes.
    pub primes: u8,
    /// The first argument.
    pub first: Expr<'a>,
    /// The arguments after the first.
    pub rest: Vec<Expr<'a>>,
}

impl<'a> Apply<'a> {
    /// Number of arguments.
    pub fn n_args(&self) -> usize {
        1 + self.rest.len()
    }

    /// All arguments in order.
    pub fn args(&self) -> impl Iterator<Item = &Expr<'a>> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

/// `d/dz X`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deriv<'a> {
    /// The variable.
    pub var: Name<'a>,
    /// The operand: the next factor.
    pub body: Expr<'a>,
    /// How it was written.
    pub style: DerivStyle,
}

/// `dL/dZ`.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivFrac<'a> {
    /// The differentiated name.
    pub num: Name<'a>,
    /// The variable.
    pub var: Name<'a>,
    /// How it was written.
    pub style: DerivStyle,
}

/// `Σ_{j=lo}^{hi} body`.
#[derive(Debug, Clone, PartialEq)]
pub struct BigSum<'a> {
    /// The bound index.
    pub index: Name<'a>,
    /// Lower bound.
    pub lo: Expr<'a>,
    /// Upper bound.
    pub hi: Expr<'a>,
    /// The summand (the product chain after the bounds).
    pub body: Expr<'a>,
}

impl<'a> NumLit<'a> {
    /// The parts of a decimal literal: digits before the point, digits after it (may be
    /// empty), and the exponent with its sign (may be empty). `None` for other literals.
    pub fn decimal_parts(&self) -> Option<(&'a str, &'a str, &'a str)> {
        let NumLit::Decimal(text) = *self else {
            return None;
        };
        let (mantissa, exp) = text.split_once(['e', 'E']).unwrap_or((text, ""));
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        Some((int, frac, exp))
    }
}
