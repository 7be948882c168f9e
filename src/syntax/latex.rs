//! The LaTeX math front end: the display math of a homework document read into the same
//! spanned AST as the `.dc` language (`syntax::ast`), so that lowering, checking and reporting
//! are shared.
//!
//! `parse_display` takes the whole document and the byte range of one display's body (the
//! text between `$$` and `$$`, or inside `\[ … \]`), so every span points into the original
//! document. A display is cut into rows at `\\` (outside braces); `\begin{aligned}`,
//! `align`, `gather`, `split` and `equation` markers are dropped and `&` alignment marks
//! ignored. Each row is a chain `items[0] rel[0] items[1] …` of expressions and relations
//! (`=`, `\leftarrow`; anything else such as `\approx`, `\le` or a separating comma is
//! `MathRel::Other`, which states nothing checkable). A row that starts with a relation
//! (`&= …`) continues the chain of the row before it.
//!
//! Reading follows how LaTeX typesets, not how a `.dc` file reads: a letter is one name (`nx`
//! is `n·x`, `Ay` is `A·y`), `_`/`^` take one token or one `{…}` group (`x^2y` is `x²·y`;
//! `x^23`, which TeX sets as `x²3`, is refused), spacing commands (`\,` `\;` `\!`, and
//! `\quad` inside brackets) are blanks. The mapping to the AST:
//!
//! - `\frac{a}{b}` (`\dfrac`, `\tfrac`) is the product chain `a / b` with `a` and `b`
//!   bracketed where precedence needs it, and spliced into the product it stands in
//!   (`x\frac{a}{b}` is the chain `x a / b`); `\frac{1}{2}` is the literal `1/2`.
//! - `\frac{\partial E}{\partial o_1}` (or `d`) is `DerivFrac`; `\frac{\partial}{\partial o} X`
//!   and `\frac{d}{dz}[X]` are `Deriv` applied to the next factor; `\frac{\partial f(x)}{\partial
//!   x}` is `Deriv` of the numerator.
//! - `\exp`, `\log`, `\ln`, `\sqrt`, `\sin`, `\tanh`, …, `\operatorname{relu}`,
//!   `\mathrm{sig}`, `\text{ReLU}` are calls (`\log A` without brackets takes one factor);
//!   `\sigma(z)`, `f(x)`, `f[x_i, \phi]`, `A(1-A)` are `Apply`, which lowering reads as a
//!   call or a product from the names in scope; `e^{…}` is a power of `e` (lowering: `exp`).
//!   A built-in spelled in plain letters and applied (`tanh(x)`, `ReLU(z)`) is that built-in.
//! - Greek letters are their ASCII names (`\eta` is `eta`); `\delta_{ik}` with two one-character
//!   indices is the Kronecker delta, `\delta_o` a name; `1\{i=k\}` is the indicator;
//!   `\mathbf{x}`, `\boldsymbol{\theta}` are the names `x`, `theta`; `\sum_{j=1}^{C} body` is a
//!   `BigSum` over the following product chain; `|x|` is `abs(x)`; `\hat{y}`, `\bar{x}`,
//!   `\tilde{\theta}` are the names `yhat`, `xbar`, `thetatilde`, and `\mathcal{L}` is `Lcal`.
//! - Matrix notation: `A^T`, `A^\top`, `A^{\mathsf{T}}` are `Transpose` (lowering refuses a
//!   transpose of a value without a shape); `\odot` is the elementwise product (`⊙`);
//!   `\mathbb{R}` is the name `ℝ`, which the homework reader reads only in a shape declaration
//!   `h \in \mathbb{R}^{m}`, `W \in \mathbb{R}^{n \times m}`. A layer is the first slot of the
//!   subscript when bracketed (`a^{(l)}`, `W^{[l+1]}`) or when it is `\ell` itself
//!   (`\delta^{\ell+1}`, `a^\ell`: no one raises to the power ℓ in these documents).
//! - A row that starts with `+`, `-` or `\cdot` and states no relation continues the
//!   expression of the row before it (a long side broken over lines).
//! - After the math, `\quad …` or a `\text{…}` of words (`\text{for regression}`) is the row's
//!   annotation, kept as a span and not parsed; a leading `\therefore` is dropped.
//!
//! Reported as not understood rather than guessed (`ParseErrorKind::NotUnderstood`): `\pm`
//! (one statement per sign: the homework reader parses such a block once per sign), `\ldots`, sums without bounds
//! (`\sum_i`), bracketed superscripts that are not a layer (a layer is `a^{(l)}`, `W^{[l+1]}`,
//! `\delta^{(\ell-1)}`: one letter, `\ell` or a number with an optional offset, read as the
//! subscript's first slot, `a_{ℓ,j}`), higher derivatives, `\vec`/`\dot` accents,
//! conditions (`\text{if } Z > 0, …`: the equations hold only under them), functions without
//! a built-in (`\tan`), powers of function names (`\log^2 x`), `\mathbb{E}`, `\nabla`,
//! norms, unknown commands.
//!
//! Limits: recursion goes through `deeper`, bounded by `Limits::max_depth` and a stack
//! budget; nodes per item are bounded by `Limits::max_nodes`; the body by
//! `Limits::max_input_bytes`. The lexer and the row splitter are loops. Nothing here
//! decides what a name means: that is `lower`'s job.

use super::ast::{
    Apply, BigSum, Bracket, Deriv, DerivFrac, DerivStyle, Expr, ExprKind, Factor, MulOp, Name,
    NumLit, Pow, PowOp, Sign, Subscript, SubscriptForm, Term,
};
use super::error::{Found, ParseError, ParseErrorKind};
use super::spelling;
use crate::expr::GREEK;
use crate::limits::Limits;
use crate::source::Span;

/// A relation between two neighbouring items of a math row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathRel {
    /// `=`.
    Eq,
    /// An update rule or definition: `\leftarrow`, `\gets`, `:=`.
    Leftarrow,
    /// Anything else (`\approx`, `\le`, `<`, `\neq`, `\Rightarrow`, a separating comma): not
    /// checkable. The span is where it is written.
    Other(Span),
}

/// One row of a display (a whole `$$…$$` without `\\`, or one `\\` row of
/// align/aligned/gather, with the rows that continue it), as a chain:
/// `items[0] rels[0] items[1] rels[1] items[2] …`.
///
/// Invariant: `rels.len() + 1 == items.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct MathRow<'a> {
    /// The expressions of the chain, in order (at least one).
    pub items: Vec<Expr<'a>>,
    /// The relation between `items[i]` and `items[i + 1]`.
    pub rels: Vec<MathRel>,
    /// The row in the document (all its continuation rows, annotations included).
    pub span: Span,
    /// Text after `\quad` or a `\text{…}` tail (or a leading `\text{…}`), not parsed.
    pub annotation: Option<Span>,
    /// The condition the row holds under (`\text{if } Z > 0, …`).
    pub condition: Option<MathCondition<'a>>,
}

/// A condition a row holds under: `\text{if } Z > 0,` before the equations, or the inline
/// math after "if" in prose (`$A = 0$ if $Z \leq 0$`).
#[derive(Debug, Clone, PartialEq)]
pub struct MathCondition<'a> {
    /// Left side.
    pub lhs: Expr<'a>,
    /// The comparison.
    pub rel: CondRel,
    /// Right side.
    pub rhs: Expr<'a>,
    /// Where it is written.
    pub span: Span,
}

/// The comparison of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondRel {
    /// <
    Lt,
    /// ≤
    Le,
    /// >
    Gt,
    /// ≥
    Ge,
}

/// Parses a condition `lhs < rhs` (`<`, `>`, `\le(q)`, `\ge(q)`, `≤`, `≥`) from the math
/// between the delimiters.
pub fn parse_condition<'a>(
    doc: &'a str,
    body: Span,
    limits: &Limits,
) -> Result<MathCondition<'a>, ParseError> {
    if doc.get(body.range()).is_none()
        || body.end.saturating_sub(body.start) > limits.max_input_bytes
    {
        return Err(ParseError::new(
            ParseErrorKind::Expected {
                expected: "a condition such as `Z > 0`",
                found: Found::EndOfInput,
            },
            Span::new(body.start.min(doc.len()), body.start.min(doc.len())),
        ));
    }
    let tokens = lex(doc, body);
    let end = Found::EndOfInput;
    let mut parser = Parser::new(doc, &tokens, &end, limits);
    let cond = parser.condition()?;
    if parser.peek().is_some() {
        return Err(parser.expected("the end of the condition"));
    }
    Ok(cond)
}

/// Parses the math between the delimiters: `body` is the byte range of the math inside `doc`.
/// Never gives up: a row with an error is reported and left out, and the other rows go on.
pub fn parse_display<'a>(
    doc: &'a str,
    body: Span,
    limits: &Limits,
) -> (Vec<MathRow<'a>>, Vec<ParseError>) {
    let mut rows: Vec<MathRow<'a>> = Vec::new();
    let mut errors = Vec::new();
    let size = body.end.saturating_sub(body.start);
    if size > limits.max_input_bytes {
        errors.push(ParseError::new(
            ParseErrorKind::InputTooLarge {
                size,
                limit: limits.max_input_bytes,
            },
            Span::new(body.start, body.start),
        ));
        return (rows, errors);
    }
    if doc.get(body.range()).is_none() {
        let at = body.start.min(doc.len());
        errors.push(ParseError::new(
            ParseErrorKind::Expected {
                expected: "a math body inside the document, on character boundaries",
                found: Found::EndOfInput,
            },
            Span::new(at, at),
        ));
        return (rows, errors);
    }
    let tokens = lex(doc, body);
    let mut prev_ok = false;
    for raw in join_broken_expressions(split_rows(doc, &tokens)) {
        if raw.toks.is_empty() {
            continue;
        }
        let mut parser = Parser::new(doc, &raw.toks, &raw.end_found, limits);
        match parser.row() {
            Ok(None) => {}
            Ok(Some(out)) => {
                match (out.cont, rows.last_mut()) {
                    (Some(rel), Some(last)) if prev_ok => {
                        last.rels.push(rel);
                        last.items.extend(out.items);
                        last.rels.extend(out.rels);
                        last.span = last.span.to(out.span);
                        if last.annotation.is_none() {
                            last.annotation = out.annotation;
                        }
                    }
                    _ if out.condition.is_some() => rows.extend(split_conditional(out)),
                    _ => rows.push(MathRow {
                        items: out.items,
                        rels: out.rels,
                        span: out.span,
                        annotation: out.annotation,
                        condition: None,
                    }),
                }
                prev_ok = true;
            }
            Err(e) => {
                errors.push(e);
                prev_ok = false;
            }
        }
    }
    (rows, errors)
}

/// A row under a condition, cut at its separating commas into one row per equation, each
/// under the condition (`\text{if } Z > 0, ∂A/∂Z = 1, ∂L/∂Z = ∂L/∂A`).
fn split_conditional(out: RowOut<'_>) -> Vec<MathRow<'_>> {
    let (annotation, condition, whole) = (out.annotation, out.condition, out.span);
    let mut groups: Vec<(Vec<Expr<'_>>, Vec<MathRel>)> = Vec::new();
    let mut items = Vec::new();
    let mut rels = Vec::new();
    let mut it = out.items.into_iter();
    if let Some(first) = it.next() {
        items.push(first);
    }
    for (rel, item) in out.rels.into_iter().zip(it) {
        if matches!(rel, MathRel::Other(_)) && !items.is_empty() {
            groups.push((std::mem::take(&mut items), std::mem::take(&mut rels)));
        } else {
            rels.push(rel);
        }
        items.push(item);
    }
    if !items.is_empty() {
        groups.push((items, rels));
    }
    groups
        .into_iter()
        .map(|(items, rels)| {
            let span = match (items.first(), items.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => whole,
            };
            MathRow {
                items,
                rels,
                span,
                annotation,
                condition: condition.clone(),
            }
        })
        .collect()
}

// ---- tokens ------------------------------------------------------------------------------

/// A bracket pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delim {
    /// `(` `)`, also `\left(`.
    Paren,
    /// `[` `]`.
    Square,
    /// `{` `}`: a TeX group, invisible.
    Brace,
    /// `\{` `\}`: visible braces.
    Curly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// One ASCII letter.
    Letter,
    /// Digits, optionally with a decimal point and more digits.
    Num,
    /// A Greek letter (`\alpha` or `α`), by its ASCII name.
    Greek(&'static str),
    /// `\partial` or `∂`.
    Partial,
    /// `'`, `′` (1) or `″` (2).
    Prime(u8),
    /// A command by its name without the backslash; `\\` is `"\\"`.
    Cmd(&'a str),
    /// A command whose argument is taken as raw text (`\text{…}`, `\mathrm{…}`, `\begin{…}`).
    Text {
        cmd: &'a str,
        arg: Span,
    },
    Open(Delim),
    Close(Delim),
    /// `|`, `\vert`, `\lvert`, `\rvert` (possibly sized).
    Bar,
    /// An operator or punctuation character (`−` is `-`, `·` and `×` are `*`, `÷` is `/`).
    Op(char),
    /// A raw argument whose `{` is never closed.
    Unclosed,
    /// A character LaTeX math does not use here.
    Unknown(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    tok: Tok<'a>,
    span: Span,
}

/// Commands whose argument is raw text.
const RAW_ARG: &[&str] = &[
    "text",
    "textrm",
    "textit",
    "textbf",
    "textsf",
    "texttt",
    "textnormal",
    "mbox",
    "mathrm",
    "mathit",
    "mathbf",
    "mathsf",
    "mathtt",
    "mathbb",
    "mathcal",
    "mathfrak",
    "mathscr",
    "boldsymbol",
    "bm",
    "pmb",
    "operatorname",
    "begin",
    "end",
    "hat",
    "widehat",
    "bar",
    "overline",
    "tilde",
    "widetilde",
    "vec",
    "dot",
    "ddot",
    "label",
    "tag",
    "hspace",
    "vspace",
    "phantom",
    "hphantom",
    "vphantom",
];

/// Raw-argument commands dropped with their argument (labels, spacing).
const DROPPED_WITH_ARG: &[&str] = &[
    "label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom",
];

/// Commands that only change spacing or style: dropped.
const DROPPED: &[&str] = &[
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "limits",
    "nolimits",
    "nonumber",
    "notag",
    "thinspace",
    "medspace",
    "thickspace",
    "enspace",
    "negthinspace",
    "negmedspace",
    "negthickspace",
    "mathstrut",
    "strut",
];

/// Bracket sizing commands, followed by a delimiter.
const SIZING: &[&str] = &[
    "left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
    "biggl", "biggr", "Biggl", "Biggr",
];

/// Text commands whose content may be prose (an annotation) rather than a name.
const TEXT_CMDS: &[&str] = &[
    "text",
    "textrm",
    "textit",
    "textbf",
    "textsf",
    "texttt",
    "textnormal",
    "mbox",
];

/// Accent commands (not read yet).
const ACCENTS: &[&str] = &[
    "hat",
    "widehat",
    "bar",
    "overline",
    "tilde",
    "widetilde",
    "vec",
    "dot",
    "ddot",
];

/// Variant Greek commands and their letters.
const GREEK_VARIANTS: &[(&str, &str)] = &[
    ("varepsilon", "epsilon"),
    ("varphi", "phi"),
    ("vartheta", "theta"),
    ("varrho", "rho"),
    ("varpi", "pi"),
    ("varsigma", "sigma"),
    ("varkappa", "kappa"),
    ("omicron", "omicron"),
];

/// Environments whose rows are rows of the display; their markers are dropped.
const ROW_ENVS: &[&str] = &[
    "aligned",
    "align",
    "align*",
    "gather",
    "gather*",
    "gathered",
    "split",
    "equation",
    "equation*",
    "multline",
    "multline*",
    "eqnarray",
    "eqnarray*",
    "flalign",
    "flalign*",
];

/// Function commands that name a built-in.
const FUNCTION_CMDS: &[&str] = &[
    "exp", "log", "ln", "sin", "cos", "tanh", "sinh", "cosh", "max", "min",
];

/// Built-in names accepted in `\operatorname{…}`, `\mathrm{…}`, `\text{…}` in any case
/// (`\text{ReLU}`), with the spelling lowering knows.
const BUILTIN_NAMES: &[&str] = &[
    "exp", "log", "ln", "sqrt", "abs", "sign", "sgn", "sin", "cos", "tanh", "sinh", "cosh",
    "sigmoid", "sig", "relu", "softplus", "max", "min", "erf",
];

/// Relations that state an update or a definition.
const LEFTARROW_CMDS: &[&str] = &["leftarrow", "gets", "longleftarrow", "coloneqq", "coloneq"];

/// Relations that state nothing checkable.
const OTHER_REL_CMDS: &[&str] = &[
    "le",
    "leq",
    "leqslant",
    "ge",
    "geq",
    "geqslant",
    "neq",
    "ne",
    "approx",
    "equiv",
    "sim",
    "simeq",
    "cong",
    "propto",
    "ll",
    "gg",
    "lt",
    "gt",
    "to",
    "rightarrow",
    "longrightarrow",
    "Rightarrow",
    "Longrightarrow",
    "implies",
    "iff",
    "Leftrightarrow",
    "mapsto",
    "in",
    "notin",
    "subset",
    "subseteq",
    "therefore",
    "because",
];

/// Commands that never start a factor (operators, separators, markers).
const NOT_FACTOR_CMDS: &[&str] = &[
    "cdot",
    "times",
    "ast",
    "bullet",
    "div",
    "pm",
    "mp",
    "quad",
    "qquad",
    "therefore",
    "because",
    "\\",
    "prime",
    "top",
    "intercal",
];

/// Words that make a text a condition on the row (`\text{if } Z > 0`).
const CONDITION_WORDS: &[&str] = &[
    "if",
    "when",
    "whenever",
    "for",
    "unless",
    "provided",
    "otherwise",
    "iff",
];

/// Single words that are prose even without spaces (`\text{if}`).
const PROSE_WORDS: &[&str] = &[
    "if",
    "when",
    "whenever",
    "for",
    "unless",
    "provided",
    "otherwise",
    "iff",
    "and",
    "or",
    "where",
    "with",
    "since",
    "because",
    "by",
    "then",
    "so",
    "thus",
    "hence",
    "therefore",
];

const PM_REASON: &str =
    "a statement with `\\pm` stands for two statements; write one for each sign";
const ELLIPSIS_REASON: &str = "elided terms cannot be checked; write the expression out";
const SUM_REASON: &str = "a sum needs an index (`\\sum_i`) or an index and both bounds \
     (`\\sum_{i=1}^{n}`)";
const CONDITION_REASON: &str = "only a comparison as the condition (`\\text{if } Z > 0,` before \
     the equations) is read: the equations hold only under the condition";
const UNKNOWN_REASON: &str = "derivcheck does not know this LaTeX command";

/// `(base, base + "hat", base + "bar", base + "tilde")` for every letter and Greek letter:
/// the names of `\hat{y}` (`yhat`), `\bar{x}` (`xbar`), `\tilde{\theta}` (`thetatilde`).
macro_rules! accented {
    ($($base:literal)*) => {
        &[$(($base, concat!($base, "hat"), concat!($base, "bar"), concat!($base, "tilde"))),*]
    };
}

const ACCENTED: &[(&str, &str, &str, &str)] = accented!(
    "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w"
    "x" "y" "z" "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T"
    "U" "V" "W" "X" "Y" "Z"
    "alpha" "beta" "gamma" "delta" "epsilon" "zeta" "eta" "theta" "iota" "kappa" "lambda" "mu"
    "nu" "xi" "omicron" "pi" "rho" "sigma" "tau" "upsilon" "phi" "chi" "psi" "omega" "Gamma"
    "Delta" "Theta" "Lambda" "Xi" "Pi" "Sigma" "Upsilon" "Phi" "Psi" "Omega"
);

/// The name of an accented letter: `\hat{y}` is `yhat`, `\overline{x}` is `xbar`,
/// `\widetilde{\theta}` is `thetatilde`; `None` for other accents and bases.
fn accented_name(cmd: &str, base: &str) -> Option<&'static str> {
    let base = match base.strip_prefix('\\') {
        Some(command) => greek_command(command)?,
        None => base,
    };
    let (_, hat, bar, tilde) = ACCENTED.iter().find(|a| a.0 == base)?;
    match cmd {
        "hat" | "widehat" => Some(hat),
        "bar" | "overline" => Some(bar),
        "tilde" | "widetilde" => Some(tilde),
        _ => None,
    }
}

/// `(letter, letter + "cal")` for the capitals: `\mathcal{L}` is the name `Lcal`, distinct
/// from `L`.
macro_rules! calligraphic {
    ($($base:literal)*) => {
        &[$(($base, concat!($base, "cal"))),*]
    };
}

const CALLIGRAPHIC: &[(&str, &str)] = calligraphic!(
    "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W"
    "X" "Y" "Z"
);

fn greek_command(name: &str) -> Option<&'static str> {
    GREEK
        .iter()
        .find(|g| g.2.strip_prefix('\\') == Some(name))
        .map(|g| g.0)
        .or_else(|| {
            GREEK_VARIANTS
                .iter()
                .find(|(v, _)| *v == name)
                .map(|(_, g)| *g)
        })
}

fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn builtin_name(s: &str) -> Option<&'static str> {
    BUILTIN_NAMES
        .iter()
        .find(|b| b.eq_ignore_ascii_case(s))
        .copied()
}

/// `s` for a message: at most 24 characters.
fn shorten(s: &str) -> String {
    if s.chars().count() > 24 {
        s.chars().take(24).chain(std::iter::once('…')).collect()
    } else {
        s.to_owned()
    }
}

/// The lexer: a loop over the characters of the body. Whitespace and `%` comments are
/// skipped; spacing and style commands produce no token.
fn lex<'a>(doc: &'a str, body: Span) -> Vec<Token<'a>> {
    let braces = brace_pairs(doc, body);
    let end = body.end;
    let mut out: Vec<Token<'a>> = Vec::new();
    let mut pos = body.start;
    // Digits read one at a time: after `^`/`_` (one token) and `\frac` (two).
    let mut single_digits: u8 = 0;
    while pos < end {
        let rest = doc.get(pos..end).unwrap_or("");
        let Some(c) = rest.chars().next() else {
            break;
        };
        let start = pos;
        let mut next = pos + c.len_utf8();
        let tok: Option<Tok<'a>> = if spelling::is_space(c) {
            None
        } else if c == '%' {
            next = rest.find('\n').map_or(end, |n| pos + n);
            None
        } else if c == '\\' {
            let (tok, after) = lex_command(doc, &braces, pos, end);
            next = after;
            tok
        } else if c.is_ascii_alphabetic() {
            Some(Tok::Letter)
        } else if c.is_ascii_digit() {
            if single_digits == 0 {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                next = pos + digits;
                let after = rest.get(digits..).unwrap_or("");
                if let Some(frac) = after.strip_prefix('.') {
                    let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                    if n > 0 {
                        next += 1 + n;
                    }
                }
            }
            Some(Tok::Num)
        } else {
            Some(lex_char(c))
        };
        pos = next.max(start + 1).min(end.max(start + 1));
        let Some(tok) = tok else {
            continue;
        };
        single_digits = match tok {
            Tok::Op('^' | '_') => 1,
            Tok::Cmd("frac" | "dfrac" | "tfrac" | "cfrac") => 2,
            Tok::Open(Delim::Brace) => 0,
            _ => single_digits.saturating_sub(1),
        };
        out.push(Token {
            tok,
            span: Span::new(start, pos.min(end)),
        });
    }
    out
}

/// The matching `}` of every `{` of the body, as `(open, close)` offsets sorted by `open`
/// (escaped braces and `%` comments skipped). Computed in one pass so that reading the raw
/// arguments of `\text{…}` never rescans the rest of the body: 100,000 unclosed `\text{`
/// would otherwise take quadratic time.
fn brace_pairs(doc: &str, body: Span) -> Vec<(usize, usize)> {
    let text = doc.get(body.range()).unwrap_or("");
    let mut open = Vec::new();
    let mut pairs = Vec::new();
    let mut chars = text.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\\' => {
                chars.next();
            }
            '%' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' => open.push(body.start + i),
            '}' => {
                if let Some(start) = open.pop() {
                    pairs.push((start, body.start + i));
                }
            }
            _ => {}
        }
    }
    pairs.sort_unstable();
    pairs
}

/// One character that is not a letter, a digit, a space or a backslash.
fn lex_char<'a>(c: char) -> Tok<'a> {
    match c {
        '{' => Tok::Open(Delim::Brace),
        '}' => Tok::Close(Delim::Brace),
        '(' => Tok::Open(Delim::Paren),
        ')' => Tok::Close(Delim::Paren),
        '[' => Tok::Open(Delim::Square),
        ']' => Tok::Close(Delim::Square),
        '|' => Tok::Bar,
        '\'' | '\u{2032}' => Tok::Prime(1),
        '\u{2033}' => Tok::Prime(2),
        '+' => Tok::Op('+'),
        _ if spelling::is_minus(c) => Tok::Op('-'),
        _ if spelling::is_times(c) => Tok::Op('*'),
        _ if spelling::is_divide(c) => Tok::Op('/'),
        '=' | '<' | '>' | '^' | '_' | ',' | '&' | ':' | ';' | '.' | '!' | '?' => Tok::Op(c),
        '\u{2264}' | '\u{2265}' | '\u{2260}' | '\u{2248}' | '\u{2a7d}' | '\u{2a7e}' => Tok::Op(c),
        spelling::PARTIAL => Tok::Partial,
        _ if spelling::is_sigma_sum(c) => Tok::Cmd("sum"),
        _ => match spelling::greek_letter(c) {
            Some(name) => Tok::Greek(name),
            None => Tok::Unknown(c),
        },
    }
}

/// Skips blanks from `pos`.
fn skip_spaces(doc: &str, mut pos: usize, end: usize) -> usize {
    while let Some(c) = doc.get(pos..end).and_then(|s| s.chars().next()) {
        if !spelling::is_space(c) {
            break;
        }
        pos += c.len_utf8();
    }
    pos
}

/// A command at `pos` (a backslash): its token (`None` when it produces none) and the
/// position after it.
fn lex_command<'a>(
    doc: &'a str,
    braces: &[(usize, usize)],
    pos: usize,
    end: usize,
) -> (Option<Tok<'a>>, usize) {
    let after = pos + 1;
    let tail = doc.get(after..end).unwrap_or("");
    let n = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
    if n == 0 {
        let Some(ch) = tail.chars().next() else {
            return (Some(Tok::Unknown('\\')), after);
        };
        let next = after + ch.len_utf8();
        let tok = match ch {
            ',' | ';' | ':' | '!' | '>' | ' ' | '\n' | '\t' | '\r' => None,
            '{' => Some(Tok::Open(Delim::Curly)),
            '}' => Some(Tok::Close(Delim::Curly)),
            _ => Some(Tok::Cmd(doc.get(after..next).unwrap_or(""))),
        };
        return (tok, next);
    }
    let name = tail.get(..n).unwrap_or("");
    let mut p = after + n;
    if name == "operatorname" && doc.get(p..end).is_some_and(|s| s.starts_with('*')) {
        p += 1;
    }
    if DROPPED.contains(&name) {
        return (None, p);
    }
    if SIZING.contains(&name) {
        return lex_sized(doc, name, p, end);
    }
    if RAW_ARG.contains(&name) {
        let (tok, next) = lex_raw_arg(doc, braces, name, p, end);
        if DROPPED_WITH_ARG.contains(&name) {
            return (None, next);
        }
        return (Some(tok), next);
    }
    if name == "partial" {
        return (Some(Tok::Partial), p);
    }
    if let Some(g) = greek_command(name) {
        return (Some(Tok::Greek(g)), p);
    }
    if matches!(name, "vert" | "lvert" | "rvert") {
        return (Some(Tok::Bar), p);
    }
    (Some(Tok::Cmd(name)), p)
}

/// `\left(`, `\bigl[`, `\right|`: the delimiter after a sizing command.
fn lex_sized<'a>(doc: &'a str, name: &'a str, p: usize, end: usize) -> (Option<Tok<'a>>, usize) {
    let q = skip_spaces(doc, p, end);
    let rest = doc.get(q..end).unwrap_or("");
    let simple = [
        ("\\{", Tok::Open(Delim::Curly)),
        ("\\}", Tok::Close(Delim::Curly)),
        ("\\lvert", Tok::Bar),
        ("\\rvert", Tok::Bar),
        ("\\vert", Tok::Bar),
        ("(", Tok::Open(Delim::Paren)),
        (")", Tok::Close(Delim::Paren)),
        ("[", Tok::Open(Delim::Square)),
        ("]", Tok::Close(Delim::Square)),
        ("|", Tok::Bar),
    ];
    for (spelled, tok) in simple {
        if rest.starts_with(spelled) {
            let after = q + spelled.len();
            let letters_follow = spelled.starts_with("\\v")
                || spelled.starts_with("\\l")
                || spelled.starts_with("\\r");
            let continues = doc
                .get(after..end)
                .and_then(|s| s.bytes().next())
                .is_some_and(|b| b.is_ascii_alphabetic());
            if !(letters_follow && continues) {
                return (Some(tok), after);
            }
        }
    }
    // `\left.`, `\left\langle`, …: the whole thing is one command the parser reports.
    let len = match rest.chars().next() {
        Some('\\') => {
            1 + rest
                .get(1..)
                .unwrap_or("")
                .bytes()
                .take_while(u8::is_ascii_alphabetic)
                .count()
                .max(1)
        }
        Some(c) if !spelling::is_space(c) => c.len_utf8(),
        _ => 0,
    };
    let next = (q + len).min(end);
    let next = if doc.is_char_boundary(next) { next } else { p };
    (Some(Tok::Cmd(name)), next.max(p))
}

/// The raw argument of `\text{…}`-like commands: a balanced `{…}`, or one token.
fn lex_raw_arg<'a>(
    doc: &'a str,
    braces: &[(usize, usize)],
    name: &'a str,
    p: usize,
    end: usize,
) -> (Tok<'a>, usize) {
    let q = skip_spaces(doc, p, end);
    let rest = doc.get(q..end).unwrap_or("");
    match rest.chars().next() {
        Some('{') => match braces.binary_search_by_key(&q, |pair| pair.0) {
            Ok(k) => match braces.get(k) {
                Some(&(_, close)) => {
                    let arg = Span::new(q + 1, close);
                    (Tok::Text { cmd: name, arg }, close + 1)
                }
                None => (Tok::Unclosed, q + 1),
            },
            Err(_) => (Tok::Unclosed, q + 1),
        },
        Some('\\') => {
            let n = rest
                .get(1..)
                .unwrap_or("")
                .bytes()
                .take_while(u8::is_ascii_alphabetic)
                .count();
            let len = if n == 0 {
                1 + rest
                    .get(1..)
                    .and_then(|s| s.chars().next())
                    .map_or(0, char::len_utf8)
            } else {
                1 + n
            };
            let arg = Span::new(q, q + len);
            (Tok::Text { cmd: name, arg }, q + len)
        }
        Some(c) => {
            let arg = Span::new(q, q + c.len_utf8());
            (Tok::Text { cmd: name, arg }, q + c.len_utf8())
        }
        None => (Tok::Cmd(name), p),
    }
}

// ---- rows --------------------------------------------------------------------------------

/// The tokens of one row, without alignment marks and environment markers.
struct RawRow<'a> {
    toks: Vec<Token<'a>>,
    /// What ends the row, for "found …" at its end.
    end_found: Found,
}

/// Cuts the tokens into rows at `\\` outside braces and outside environments that are not
/// rows of the display (their `\\` belong to them, and the row reports the environment).
fn split_rows<'a>(doc: &str, toks: &[Token<'a>]) -> Vec<RawRow<'a>> {
    let mut rows = Vec::new();
    let mut cur: Vec<Token<'a>> = Vec::new();
    let mut braces = 0usize;
    // One entry per open environment: true when it is a row environment; `foreign` counts
    // the others (kept as a count so that the check is not a scan of the stack).
    let mut envs: Vec<bool> = Vec::new();
    let mut foreign = 0usize;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        i += 1;
        match t.tok {
            Tok::Open(Delim::Brace) => braces += 1,
            Tok::Close(Delim::Brace) => braces = braces.saturating_sub(1),
            Tok::Text { cmd: "begin", arg } => {
                let env = doc.get(arg.range()).unwrap_or("").trim();
                let rows_env = ROW_ENVS.contains(&env);
                envs.push(rows_env);
                if rows_env {
                    continue;
                }
                foreign += 1;
            }
            Tok::Text { cmd: "end", arg } => {
                let env = doc.get(arg.range()).unwrap_or("").trim();
                let rows_env = ROW_ENVS.contains(&env);
                let top = envs.pop();
                if top == Some(false) {
                    foreign = foreign.saturating_sub(1);
                }
                if rows_env && top != Some(false) {
                    continue;
                }
            }
            Tok::Op('&') if foreign == 0 => continue,
            Tok::Cmd("\\") if braces == 0 && foreign == 0 => {
                rows.push(RawRow {
                    toks: std::mem::take(&mut cur),
                    end_found: Found::Token("\\\\".to_owned()),
                });
                // `\\*` and `\\[2pt]`.
                if let Some(Token {
                    tok: Tok::Op('*'),
                    span,
                }) = toks.get(i)
                {
                    if span.start == t.span.end {
                        i += 1;
                    }
                }
                if let Some(Token {
                    tok: Tok::Open(Delim::Square),
                    span,
                }) = toks.get(i)
                {
                    if span.start == t.span.end {
                        let close = toks
                            .iter()
                            .skip(i)
                            .take(8)
                            .position(|t| t.tok == Tok::Close(Delim::Square));
                        if let Some(n) = close {
                            i += n + 1;
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        cur.push(*t);
    }
    rows.push(RawRow {
        toks: cur,
        end_found: Found::EndOfInput,
    });
    rows
}

fn is_relation_tok(tok: Tok<'_>) -> bool {
    match tok {
        Tok::Op(c) => matches!(
            c,
            '=' | '<'
                | '>'
                | '\u{2264}'
                | '\u{2265}'
                | '\u{2260}'
                | '\u{2248}'
                | '\u{2a7d}'
                | '\u{2a7e}'
        ),
        Tok::Cmd(n) => LEFTARROW_CMDS.contains(&n) || OTHER_REL_CMDS.contains(&n),
        _ => false,
    }
}

/// A row that starts with a binary operator and states no relation (`\\ &\quad + c`)
/// continues the expression of the row before it: a long side broken over lines. (Without
/// this, `a = b` of the first line would be checked without the `+ c` that completes it.)
fn join_broken_expressions(rows: Vec<RawRow<'_>>) -> Vec<RawRow<'_>> {
    let is_quad = |t: &Token<'_>| matches!(t.tok, Tok::Cmd("quad" | "qquad"));
    let mut out: Vec<RawRow<'_>> = Vec::with_capacity(rows.len());
    for row in rows {
        let first = row.toks.iter().find(|t| !is_quad(t)).map(|t| t.tok);
        let starts_op = matches!(
            first,
            Some(Tok::Op('+' | '-' | '*') | Tok::Cmd("cdot" | "times"))
        );
        let states_rel = row.toks.iter().any(|t| is_relation_tok(t.tok));
        match out.last_mut() {
            Some(prev) if starts_op && !states_rel && !prev.toks.is_empty() => {
                prev.toks
                    .extend(row.toks.into_iter().skip_while(|t| is_quad(t)));
                prev.end_found = row.end_found;
            }
            _ => out.push(row),
        }
    }
    out
}

/// A parsed row before it is joined to the chain before it.
struct RowOut<'a> {
    /// The leading relation of a continuation row (`&= …`).
    cont: Option<MathRel>,
    items: Vec<Expr<'a>>,
    rels: Vec<MathRel>,
    span: Span,
    annotation: Option<Span>,
    condition: Option<MathCondition<'a>>,
}

// ---- parser ------------------------------------------------------------------------------

type PResult<T> = Result<T, ParseError>;

/// Most stack, in bytes, that one row's parse may use (see `dc::STACK_BUDGET`: a backstop
/// for unoptimised builds, where frames are large).
const STACK_BUDGET: usize = 1 << 20;

#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

struct Parser<'a, 't> {
    doc: &'a str,
    toks: &'t [Token<'a>],
    /// Next token.
    pos: usize,
    /// One past the last token the current construct may use (a group's inside).
    end: usize,
    /// What ends the row.
    end_found: &'t Found,
    /// End of the last token consumed.
    last_end: usize,
    max_depth: usize,
    max_nodes: usize,
    nodes: usize,
    /// Inside how many `|…|`: then `|` closes rather than starts a factor.
    abs_depth: usize,
    stack_base: usize,
}

impl<'a, 't> Parser<'a, 't> {
    fn new(doc: &'a str, toks: &'t [Token<'a>], end_found: &'t Found, limits: &Limits) -> Self {
        Parser {
            doc,
            toks,
            pos: 0,
            end: toks.len(),
            end_found,
            last_end: toks.first().map_or(0, |t| t.span.start),
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            nodes: 0,
            abs_depth: 0,
            stack_base: stack_position(),
        }
    }

    // ---- tokens and errors -------------------------------------------------------------

    /// From `from` to the next `,` at or after the current token (a condition's extent), or
    /// `from` alone when no comma follows.
    fn to_next_comma(&self, from: Span) -> Span {
        self.toks
            .iter()
            .skip(self.pos)
            .position(|t| t.tok == Tok::Op(','))
            .and_then(|n| self.toks.get(self.pos + n))
            .map_or(from, |c| from.to(c.span))
    }

    fn peek(&self) -> Option<Token<'a>> {
        if self.pos < self.end {
            self.toks.get(self.pos).copied()
        } else {
            None
        }
    }

    fn peek_tok(&self) -> Option<Tok<'a>> {
        self.peek().map(|t| t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<Tok<'a>> {
        let i = self.pos + k;
        if i < self.end {
            self.toks.get(i).map(|t| t.tok)
        } else {
            None
        }
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.peek()?;
        self.pos += 1;
        self.last_end = t.span.end;
        Some(t)
    }

    fn text(&self, span: Span) -> &'a str {
        self.doc.get(span.range()).unwrap_or("")
    }

    /// Where the next construct starts.
    fn start(&self) -> usize {
        self.peek().map_or(self.last_end, |t| t.span.start)
    }

    /// The token at the cursor (or what ends the construct), for "found …".
    fn here(&self) -> (Found, Span) {
        if let Some(t) = self.peek() {
            return (Found::Token(shorten(self.text(t.span))), t.span);
        }
        if let Some(t) = self.toks.get(self.end) {
            return (Found::Token(shorten(self.text(t.span))), t.span);
        }
        (
            self.end_found.clone(),
            Span::new(self.last_end, self.last_end),
        )
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        if let Some(Token {
            tok: Tok::Unknown(ch),
            span,
        }) = self.peek()
        {
            return ParseError::new(ParseErrorKind::InvalidCharacter { ch }, span);
        }
        let (found, span) = self.here();
        ParseError::new(ParseErrorKind::Expected { expected, found }, span)
    }

    fn expected_expression(&self) -> ParseError {
        if let Some(Token {
            tok: Tok::Unknown(ch),
            span,
        }) = self.peek()
        {
            return ParseError::new(ParseErrorKind::InvalidCharacter { ch }, span);
        }
        let (found, span) = self.here();
        ParseError::new(ParseErrorKind::ExpectedExpression { found }, span)
    }

    fn not_understood(&self, span: Span, reason: &'static str) -> ParseError {
        ParseError::new(
            ParseErrorKind::NotUnderstood {
                construct: shorten(self.text(span).trim()),
                reason,
            },
            span,
        )
    }

    fn unclosed(&self, open: Span, delim: Delim) -> ParseError {
        let (open_char, close) = match delim {
            Delim::Paren => ('(', ')'),
            Delim::Square => ('[', ']'),
            Delim::Brace | Delim::Curly => ('{', '}'),
        };
        self.unclosed_char(open, open_char, close)
    }

    fn unclosed_char(&self, open: Span, open_char: char, close: char) -> ParseError {
        let (found, span) = self.here();
        ParseError::new(
            ParseErrorKind::UnclosedParen {
                open,
                open_char,
                close,
                found,
            },
            span,
        )
    }

    /// The nesting level below `d`, or `NestTooDeep`.
    fn deeper(&self, d: usize) -> PResult<usize> {
        let over_budget = self.stack_base.abs_diff(stack_position()) > STACK_BUDGET;
        if d >= self.max_depth || over_budget {
            let (_, span) = self.here();
            let limit = if over_budget { d } else { self.max_depth };
            return Err(ParseError::new(ParseErrorKind::NestTooDeep { limit }, span));
        }
        Ok(d + 1)
    }

    fn count(&mut self) -> PResult<()> {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            let (_, span) = self.here();
            return Err(ParseError::new(
                ParseErrorKind::TooManyNodes {
                    limit: self.max_nodes,
                },
                span,
            ));
        }
        Ok(())
    }

    fn node(&self, kind: ExprKind<'a>, start: usize) -> Expr<'a> {
        Expr {
            kind,
            span: Span::new(start, self.last_end),
            parens: 0,
            bracket: None,
        }
    }

    /// The index of the `}` matching the `{` at `open`, within the current construct.
    fn matching_brace(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = open;
        while i < self.end {
            match self.toks.get(i).map(|t| t.tok) {
                Some(Tok::Open(Delim::Brace)) => depth += 1,
                Some(Tok::Close(Delim::Brace)) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                None => return None,
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn content(&self, arg: Span) -> &'a str {
        self.text(arg).trim_matches(spelling::is_space)
    }

    /// A text command whose content is words, not a name: the start of an annotation.
    fn is_prose(&self, tok: Tok<'a>) -> bool {
        let Tok::Text { cmd, arg } = tok else {
            return false;
        };
        if !TEXT_CMDS.contains(&cmd) {
            return false;
        }
        let content = self.content(arg);
        !(is_ident(content) || is_digits(content)) || PROSE_WORDS.contains(&content)
    }

    /// True when a factor can start at `tok` by juxtaposition.
    fn starts_factor(&self, tok: Tok<'a>) -> bool {
        match tok {
            Tok::Letter
            | Tok::Num
            | Tok::Greek(_)
            | Tok::Partial
            | Tok::Open(_)
            | Tok::Unclosed
            | Tok::Unknown(_) => true,
            Tok::Bar => self.abs_depth == 0,
            Tok::Text { .. } => !self.is_prose(tok),
            Tok::Cmd(name) => {
                !NOT_FACTOR_CMDS.contains(&name)
                    && !LEFTARROW_CMDS.contains(&name)
                    && !OTHER_REL_CMDS.contains(&name)
            }
            Tok::Prime(_) | Tok::Op(_) | Tok::Close(_) => false,
        }
    }

    /// Parses the tokens `s..e` as one expression, then restores the cursor.
    fn parse_range(&mut self, s: usize, e: usize, d: usize) -> PResult<Expr<'a>> {
        let saved = (self.pos, self.end, self.last_end, self.abs_depth);
        self.pos = s;
        self.end = e;
        self.abs_depth = 0;
        let res = self.expr(d).and_then(|x| {
            if self.pos < self.end {
                Err(self.expected("an operator or the end of the group"))
            } else {
                Ok(x)
            }
        });
        (self.pos, self.end, self.last_end, self.abs_depth) = saved;
        res
    }

    /// The token range of a command's argument: the inside of `{…}`, or one token. The
    /// cursor moves past it.
    fn arg_range(&mut self, what: &'static str) -> PResult<(usize, usize)> {
        let Some(t) = self.peek() else {
            return Err(self.expected(what));
        };
        match t.tok {
            Tok::Open(Delim::Brace) => {
                let Some(close) = self.matching_brace(self.pos) else {
                    let saved = self.pos;
                    self.pos = self.end;
                    let err = self.unclosed(t.span, Delim::Brace);
                    self.pos = saved;
                    return Err(err);
                };
                let range = (self.pos + 1, close);
                self.pos = close;
                self.bump();
                Ok(range)
            }
            Tok::Letter
            | Tok::Num
            | Tok::Greek(_)
            | Tok::Cmd(_)
            | Tok::Text { .. }
            | Tok::Partial => {
                self.bump();
                Ok((self.pos - 1, self.pos))
            }
            _ => Err(self.expected(what)),
        }
    }

    // ---- rows --------------------------------------------------------------------------

    fn relation(&mut self) -> Option<MathRel> {
        let t = self.peek()?;
        let rel = match t.tok {
            Tok::Op('=') => MathRel::Eq,
            Tok::Op(':') if self.peek_at(1) == Some(Tok::Op('=')) => {
                self.bump();
                MathRel::Leftarrow
            }
            Tok::Op('<' | '>' | '\u{2264}' | '\u{2265}' | '\u{2260}' | '\u{2248}')
            | Tok::Op('\u{2a7d}' | '\u{2a7e}') => MathRel::Other(t.span),
            Tok::Cmd(n) if LEFTARROW_CMDS.contains(&n) => MathRel::Leftarrow,
            Tok::Cmd(n) if OTHER_REL_CMDS.contains(&n) => MathRel::Other(t.span),
            _ => return None,
        };
        self.bump();
        Some(rel)
    }

    fn is_annotation_start(&self, tok: Tok<'a>) -> bool {
        matches!(tok, Tok::Cmd("quad" | "qquad")) || self.is_prose(tok)
    }

    /// The first word of a text, lower-cased, when it is a condition word.
    fn condition_word(&self, tok: Tok<'a>) -> Option<&'static str> {
        let Tok::Text { arg, .. } = tok else {
            return None;
        };
        let lower = self.content(arg).to_lowercase();
        let mut words = lower
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty());
        let first = words.next()?;
        // "for all i", "for every k" quantify: the equation holds for each, no condition.
        if first == "for"
            && words
                .next()
                .is_some_and(|w| matches!(w, "all" | "every" | "each" | "any"))
        {
            return None;
        }
        CONDITION_WORDS.iter().find(|w| **w == first).copied()
    }

    /// Only punctuation remains in the row.
    fn rest_is_punctuation(&self) -> bool {
        (self.pos..self.end).all(|i| {
            matches!(
                self.toks.get(i).map(|t| t.tok),
                Some(Tok::Op(',' | '.' | ';'))
            )
        })
    }

    /// An annotation from the cursor to the end of the row, refused when it is a condition
    /// followed by mathematics (`\quad \text{if } i = k`) or `otherwise`.
    fn annotation(&mut self) -> PResult<Span> {
        let first = self.start();
        let last = self
            .toks
            .get(self.end.saturating_sub(1))
            .map_or(first, |t| t.span.end);
        let span = Span::new(first, last);
        let mut condition = false;
        while let Some(t) = self.bump() {
            match t.tok {
                Tok::Text { .. } if self.is_prose(t.tok) => {
                    if let Some(word) = self.condition_word(t.tok) {
                        if word == "otherwise" {
                            return Err(self.not_understood(span, CONDITION_REASON));
                        }
                        condition = true;
                    }
                }
                Tok::Cmd("quad" | "qquad") | Tok::Op(',' | '.' | ';') => {}
                _ if condition => return Err(self.not_understood(span, CONDITION_REASON)),
                _ => {}
            }
        }
        Ok(span)
    }

    /// `lhs rel rhs` with rel one of `<`, `>`, `\le(q)`, `\ge(q)`, `≤`, `≥`.
    fn condition(&mut self) -> PResult<MathCondition<'a>> {
        let start = self.start();
        self.nodes = 0;
        let lhs = self.expr(0)?;
        let rel =
            match self.peek().map(|t| t.tok) {
                Some(Tok::Op('<')) | Some(Tok::Cmd("lt")) => CondRel::Lt,
                Some(Tok::Op('>')) | Some(Tok::Cmd("gt")) => CondRel::Gt,
                Some(Tok::Op('\u{2264}' | '\u{2a7d}'))
                | Some(Tok::Cmd("le" | "leq" | "leqslant")) => CondRel::Le,
                Some(Tok::Op('\u{2265}' | '\u{2a7e}'))
                | Some(Tok::Cmd("ge" | "geq" | "geqslant")) => CondRel::Ge,
                _ => return Err(self.expected("a comparison (`<`, `>`, `\\leq`, `\\geq`)")),
            };
        self.bump();
        let rhs = self.expr(0)?;
        Ok(MathCondition {
            lhs,
            rel,
            rhs,
            span: Span::new(start, self.last_end),
        })
    }

    fn row(&mut self) -> PResult<Option<RowOut<'a>>> {
        let span = match (self.toks.first(), self.toks.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => return Ok(None),
        };
        let mut annotation = None;
        let mut condition = None;
        while let Some(t) = self.peek() {
            match t.tok {
                Tok::Cmd(
                    "therefore" | "because" | "Rightarrow" | "implies" | "Longrightarrow" | "quad"
                    | "qquad",
                ) => {}
                Tok::Text { .. }
                    if self.is_prose(t.tok)
                        && condition.is_none()
                        && matches!(self.condition_word(t.tok), Some("if" | "when" | "for")) =>
                {
                    // `\text{if } Z > 0, …`: the equations after the comma hold under it.
                    let saved = self.pos;
                    self.bump();
                    match self.condition() {
                        Ok(c) if self.peek().is_some_and(|n| n.tok == Tok::Op(',')) => {
                            condition = Some(c);
                        }
                        _ => {
                            self.pos = saved;
                            return Err(
                                self.not_understood(self.to_next_comma(t.span), CONDITION_REASON)
                            );
                        }
                    }
                }
                Tok::Op(',') if condition.is_some() => {}
                Tok::Text { .. } if self.is_prose(t.tok) => {
                    if self.condition_word(t.tok).is_some() {
                        return Err(
                            self.not_understood(self.to_next_comma(t.span), CONDITION_REASON)
                        );
                    }
                    annotation.get_or_insert(t.span);
                }
                _ => break,
            }
            self.bump();
        }
        if self.peek().is_none() {
            return Ok(None);
        }
        let cont = self.relation();
        self.nodes = 0;
        let mut items = vec![self.expr(0)?];
        let mut rels = Vec::new();
        while let Some(t) = self.peek() {
            if let Some(rel) = self.relation() {
                rels.push(rel);
                self.nodes = 0;
                items.push(self.expr(0)?);
                continue;
            }
            match t.tok {
                Tok::Op(',' | '.' | ';') => {
                    if self.rest_is_punctuation() {
                        break;
                    }
                    self.bump();
                    if self.peek().is_some_and(|n| self.is_annotation_start(n.tok)) {
                        continue;
                    }
                    rels.push(MathRel::Other(t.span));
                    self.nodes = 0;
                    items.push(self.expr(0)?);
                }
                _ if self.is_annotation_start(t.tok) => {
                    let tail = self.annotation()?;
                    if annotation.is_none() {
                        annotation = Some(tail);
                    }
                    break;
                }
                Tok::Close(delim) => {
                    let ch = match delim {
                        Delim::Paren => ')',
                        Delim::Square => ']',
                        Delim::Brace | Delim::Curly => '}',
                    };
                    return Err(ParseError::new(
                        ParseErrorKind::UnmatchedClose { ch },
                        t.span,
                    ));
                }
                _ => return Err(self.expected("an operator, a relation or the end of the row")),
            }
        }
        Ok(Some(RowOut {
            cont,
            items,
            rels,
            span,
            annotation,
            condition,
        }))
    }

    // ---- expressions -------------------------------------------------------------------

    /// A sum chain: `[sign] term (sign term)*`.
    fn expr(&mut self, d: usize) -> PResult<Expr<'a>> {
        let start = self.start();
        let sign = self.sign()?;
        let body = self.product(d)?;
        let first = Term { sign, body };
        let mut next = self.sign()?;
        if next.is_none() {
            if first.sign.is_none() {
                return Ok(first.body);
            }
            return Ok(self.node(ExprKind::Sum(vec![first]), start));
        }
        let mut terms = vec![first];
        while let Some(s) = next {
            self.count()?;
            let body = self.product(d)?;
            terms.push(Term {
                sign: Some(s),
                body,
            });
            next = self.sign()?;
        }
        Ok(self.node(ExprKind::Sum(terms), start))
    }

    fn sign(&mut self) -> PResult<Option<Sign>> {
        match self.peek() {
            Some(Token {
                tok: Tok::Op(c @ ('+' | '-')),
                span,
            }) => {
                self.bump();
                Ok(Some(Sign {
                    negative: c == '-',
                    span,
                }))
            }
            Some(Token {
                tok: Tok::Cmd("pm" | "mp"),
                span,
            }) => Err(self.not_understood(span, PM_REASON)),
            _ => Ok(None),
        }
    }

    /// A product chain: factors joined by `\cdot`, `\times`, `*`, `/`, `\div` or
    /// juxtaposition; fractions are spliced in.
    fn product(&mut self, d: usize) -> PResult<Expr<'a>> {
        let start = self.start();
        let first = match self.ratio()? {
            Some(ratio) => ratio,
            None => self.factor(d)?,
        };
        let mut single = Some(first);
        let mut factors = Vec::new();
        while let Some(t) = self.peek() {
            let op = match t.tok {
                Tok::Op('*') | Tok::Cmd("cdot" | "times" | "ast" | "bullet") => {
                    self.bump();
                    MulOp::Times
                }
                Tok::Op('/') | Tok::Cmd("div") => {
                    self.bump();
                    MulOp::Divide
                }
                Tok::Cmd("odot") => {
                    self.bump();
                    MulOp::Hadamard
                }
                tok if self.starts_factor(tok) => MulOp::Implicit,
                _ => break,
            };
            self.count()?;
            let f = self.factor(d)?;
            if let Some(e) = single.take() {
                push_factor(&mut factors, MulOp::First, e);
            }
            push_factor(&mut factors, op, f);
        }
        match single {
            Some(only) => Ok(only),
            None => Ok(self.node(ExprKind::Product(factors), start)),
        }
    }

    /// `1/3` at the start of a product chain, written without spaces and not continued by
    /// `^`, a prime or a digit: the rational literal, as in `.dc`.
    fn ratio(&mut self) -> PResult<Option<Expr<'a>>> {
        let toks = (self.peek(), self.pos + 2 < self.end);
        let (Some(num), true) = toks else {
            return Ok(None);
        };
        let (Some(slash), Some(den)) = (self.toks.get(self.pos + 1), self.toks.get(self.pos + 2))
        else {
            return Ok(None);
        };
        let num_text = self.text(num.span);
        let den_text = self.text(den.span);
        let shape = num.tok == Tok::Num
            && slash.tok == Tok::Op('/')
            && den.tok == Tok::Num
            && is_digits(num_text)
            && is_digits(den_text)
            && num.span.end == slash.span.start
            && slash.span.end == den.span.start;
        let continued = matches!(
            self.peek_at(3),
            Some(Tok::Op('^') | Tok::Prime(_) | Tok::Num | Tok::Open(Delim::Curly))
        );
        if !shape || continued {
            return Ok(None);
        }
        self.count()?;
        let start = num.span.start;
        self.bump();
        self.bump();
        self.bump();
        let kind = ExprKind::Ratio {
            num: num_text,
            den: den_text,
        };
        Ok(Some(self.node(kind, start)))
    }

    /// A factor: a signed factor, a sum `\sum…`, or a power.
    fn factor(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(t) = self.peek() else {
            return Err(self.expected_expression());
        };
        match t.tok {
            Tok::Op(c @ ('-' | '+')) => {
                let inner = self.deeper(d)?;
                self.count()?;
                self.bump();
                let operand = self.factor(inner)?;
                if c == '+' {
                    return Ok(operand);
                }
                Ok(self.node(ExprKind::Neg(Box::new(operand)), t.span.start))
            }
            Tok::Cmd("sum") => self.big_sum(d),
            Tok::Cmd("pm" | "mp") => Err(self.not_understood(t.span, PM_REASON)),
            _ => self.power(d),
        }
    }

    /// `atom` optionally followed by `^ exponent`.
    fn power(&mut self, d: usize) -> PResult<Expr<'a>> {
        let start = self.start();
        let mut base = self.atom(d)?;
        if self.peek_tok() != Some(Tok::Op('^')) {
            return Ok(base);
        }
        if let Some(n) = self.transpose_len() {
            // `\Omega^T`, `h^{\top}`, `(W^{\ell+1})^T`: the transpose (read as such only in
            // matrix form; lowering refuses it for a value without a shape).
            for _ in 0..n {
                self.bump();
            }
            self.count()?;
            return Ok(self.node(ExprKind::Transpose(Box::new(base)), start));
        }
        self.bump();
        let inner = self.deeper(d)?;
        self.count()?;
        let exp = self.superscript(inner)?;
        if base.parens == 0 && matches!(base.kind, ExprKind::Product(_)) {
            base.parens = 1;
            base.bracket = Some(Bracket::Curly);
        }
        let node = self.node(
            ExprKind::Pow(Box::new(Pow {
                base,
                exp,
                op: PowOp::Caret,
            })),
            start,
        );
        match self.peek() {
            Some(Token {
                tok: Tok::Op('^'),
                span,
            }) => {
                let end = self.toks.get(self.pos + 1).map_or(span.end, |t| t.span.end);
                Err(self.not_understood(
                    Span::new(start, end),
                    "a second superscript is ambiguous; write `x^{a^b}` or `{x^a}^b`",
                ))
            }
            Some(Token {
                tok: Tok::Op('_'),
                span,
            }) => Err(self.not_understood(
                Span::new(start, span.end),
                "a subscript after a superscript is not read; write the subscript first (`w_{ij}^2`)",
            )),
            _ => Ok(node),
        }
    }

    /// At `^`: the number of tokens of a transpose superscript (`^T`, `^\top`, `^\intercal`,
    /// `^{T}`, `^{\top}`, `^{\mathsf{T}}`, `^\mathsf{T}`), counting the `^`.
    fn transpose_len(&self) -> Option<usize> {
        let is_t = |tok: Tok<'a>, span: Span| match tok {
            Tok::Letter => self.text(span) == "T",
            Tok::Cmd("top" | "intercal") => true,
            Tok::Text { arg, .. } => self.content(arg) == "T",
            _ => false,
        };
        let at = |k: usize| self.toks.get(self.pos + k);
        match (at(1), at(2), at(3)) {
            (Some(t), _, _) if is_t(t.tok, t.span) => Some(2),
            (Some(o), Some(t), Some(c))
                if o.tok == Tok::Open(Delim::Brace)
                    && is_t(t.tok, t.span)
                    && c.tok == Tok::Close(Delim::Brace) =>
            {
                Some(4)
            }
            _ => None,
        }
    }

    /// The exponent after `^`: a `{…}` group or one token. Stars, primes and bracketed
    /// superscripts that are not layers are refused (transposes are read before this).
    fn superscript(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(t) = self.peek() else {
            return Err(self.expected("an exponent after `^`"));
        };
        match t.tok {
            Tok::Open(Delim::Brace) => {
                if let Some(close) = self.matching_brace(self.pos) {
                    let inner = self.toks.get(self.pos + 1..close).unwrap_or(&[]);
                    let whole = self.toks.get(close).map_or(t.span, |c| t.span.to(c.span));
                    match inner {
                        [one] if matches!(one.tok, Tok::Op('*') | Tok::Cmd("ast" | "star")) => {
                            return Err(self
                                .not_understood(whole, "a starred name (`x^*`) is not read yet"));
                        }
                        [open, mid, close_tok]
                            if matches!(
                                (open.tok, close_tok.tok),
                                (Tok::Open(Delim::Paren), Tok::Close(Delim::Paren))
                                    | (Tok::Open(Delim::Square), Tok::Close(Delim::Square))
                            ) && matches!(mid.tok, Tok::Letter | Tok::Num) =>
                        {
                            return Err(self.not_understood(
                                whole,
                                "a bracketed superscript such as `a^{(l)}` is ambiguous (a layer index or a power); write `a_l` or `a^{l}`",
                            ));
                        }
                        _ if inner.iter().any(|t| t.tok == Tok::Cmd("prime")) => {
                            return Err(self.not_understood(
                                whole,
                                "a prime in an exponent is not read; write primes on a function name (`f'(x)`)",
                            ));
                        }
                        _ => {}
                    }
                }
                self.group(d, Delim::Brace)
            }
            Tok::Letter | Tok::Num | Tok::Greek(_) => {
                self.count()?;
                self.bump();
                self.refuse_split_digits(t)?;
                let kind = match t.tok {
                    Tok::Num => ExprKind::Num(NumLit::Decimal(self.text(t.span))),
                    Tok::Greek(g) => ExprKind::Name(Name {
                        ident: g,
                        sub: None,
                        span: t.span,
                    }),
                    _ => ExprKind::Name(Name {
                        ident: self.text(t.span),
                        sub: None,
                        span: t.span,
                    }),
                };
                Ok(self.node(kind, t.span.start))
            }
            Tok::Op('*') | Tok::Cmd("ast" | "star") => {
                Err(self.not_understood(t.span, "a starred name (`x^*`) is not read yet"))
            }
            Tok::Cmd("prime") => Err(self.not_understood(
                t.span,
                "a prime in an exponent is not read; write primes on a function name (`f'(x)`)",
            )),
            Tok::Op('-' | '+') => Err(self.expected("`{…}` around a signed exponent (`^{-1}`)")),
            _ => self.atom(d),
        }
    }

    /// `x_12`, `x^23`: TeX takes one digit as the script and typesets `x₁2`, which is rarely
    /// what was meant; refused rather than read either way. `t` is the script just read.
    fn refuse_split_digits(&self, t: Token<'a>) -> PResult<()> {
        match self.peek() {
            Some(next)
                if t.tok == Tok::Num && next.tok == Tok::Num && next.span.start == t.span.end =>
            {
                Err(self.not_understood(
                    Span::new(t.span.start, next.span.end),
                    "a script takes one digit here; write `x_{12}` or `x^{23}` (or `x_1 2`)",
                ))
            }
            _ => Ok(()),
        }
    }

    /// An atom: a group, a number, a name or call, a command.
    fn atom(&mut self, d: usize) -> PResult<Expr<'a>> {
        self.count()?;
        let Some(t) = self.peek() else {
            return Err(self.expected_expression());
        };
        match t.tok {
            Tok::Open(delim) => self.group(d, delim),
            Tok::Bar => self.abs(d),
            Tok::Num => self.number(d),
            Tok::Letter | Tok::Greek(_) => {
                if let Some((name, n)) = self.spelled_function() {
                    let span = Span::new(t.span.start, t.span.start + name.len());
                    for _ in 0..n {
                        self.bump();
                    }
                    let ident = builtin_name(name).unwrap_or(name);
                    return self.function(d, ident, span);
                }
                self.bump();
                let (ident, greek) = match t.tok {
                    Tok::Greek(g) => (g, true),
                    _ => (self.text(t.span), false),
                };
                self.name_rest(d, ident, t.span, greek)
            }
            Tok::Text { cmd, arg } => self.text_atom(d, t, cmd, arg),
            Tok::Cmd(name) => self.command(d, t, name),
            Tok::Partial => match self.slash_derivative(d)? {
                Some(e) => Ok(e),
                None => Err(self.not_understood(
                    t.span,
                    "`\\partial` is read only in `\\frac{\\partial y}{\\partial x}` and `\\partial y / \\partial x`",
                )),
            },
            Tok::Unclosed => {
                let open = Span::new(t.span.end.saturating_sub(1), t.span.end);
                self.pos = self.end;
                Err(self.unclosed(open, Delim::Brace))
            }
            Tok::Unknown(ch) => Err(ParseError::new(
                ParseErrorKind::InvalidCharacter { ch },
                t.span,
            )),
            Tok::Prime(_) | Tok::Op(_) | Tok::Close(_) => Err(self.expected_expression()),
        }
    }

    /// `\partial L / \partial w` (`DerivFrac`) or `\partial / \partial w X` (`Deriv` of the
    /// next factor); `None`, with the cursor unmoved, when the tokens have another shape.
    fn slash_derivative(&mut self, d: usize) -> PResult<Option<Expr<'a>>> {
        let saved = (self.pos, self.last_end);
        let start = self.start();
        self.bump();
        let num = if self.peek_tok() == Some(Tok::Op('/')) {
            None
        } else if matches!(self.peek_tok(), Some(Tok::Letter | Tok::Greek(_))) {
            Some(self.name_only()?)
        } else {
            (self.pos, self.last_end) = saved;
            return Ok(None);
        };
        if self.peek_tok() != Some(Tok::Op('/')) || self.peek_at(1) != Some(Tok::Partial) {
            (self.pos, self.last_end) = saved;
            return Ok(None);
        }
        self.bump();
        self.bump();
        let var = self.name_only()?;
        let style = DerivStyle::Partial;
        let kind = match num {
            Some(num) => ExprKind::DerivFrac(Box::new(DerivFrac { num, var, style })),
            None => {
                let inner = self.deeper(d)?;
                let body = self.factor(inner)?;
                ExprKind::Deriv(Box::new(Deriv { var, body, style }))
            }
        };
        Ok(Some(self.node(kind, start)))
    }

    /// A built-in's name spelled in letters without a backslash and followed by `(`
    /// (`tanh(x)`, `ReLU(z)`, `log(A)`): the word and its number of letters. LaTeX would
    /// typeset the letters as a product, but no one means `t·a·n·h·(x)`.
    fn spelled_function(&self) -> Option<(&'a str, usize)> {
        let first = self.peek()?;
        let mut n = 0;
        let mut end = first.span.start;
        while let Some(t) = self
            .toks
            .get(self.pos + n)
            .filter(|_| self.pos + n < self.end)
        {
            if t.tok != Tok::Letter || t.span.start != end {
                break;
            }
            end = t.span.end;
            n += 1;
        }
        let word = self.text(Span::new(first.span.start, end));
        let applied = matches!(
            self.peek_at(n),
            Some(Tok::Open(Delim::Paren)) | Some(Tok::Prime(_))
        );
        (n >= 2 && applied && builtin_name(word).is_some()).then_some((word, n))
    }

    /// `( … )`, `[ … ]`, `{ … }`, `\{ … \}`.
    fn group(&mut self, d: usize, delim: Delim) -> PResult<Expr<'a>> {
        let Some(open) = self.bump() else {
            return Err(self.expected_expression());
        };
        let inner_depth = self.deeper(d)?;
        let saved_abs = std::mem::replace(&mut self.abs_depth, 0);
        let inner = self.expr(inner_depth);
        self.abs_depth = saved_abs;
        let mut inner = inner?;
        match self.peek_tok() {
            Some(Tok::Close(c)) if c == delim => {
                self.bump();
            }
            _ => return Err(self.unclosed(open.span, delim)),
        }
        inner.span = Span::new(open.span.start, self.last_end);
        inner.parens = inner.parens.saturating_add(1);
        inner.bracket = Some(match delim {
            Delim::Paren => Bracket::Round,
            Delim::Square => Bracket::Square,
            Delim::Brace | Delim::Curly => Bracket::Curly,
        });
        Ok(inner)
    }

    /// `|x|`: `abs(x)`.
    fn abs(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(open) = self.bump() else {
            return Err(self.expected_expression());
        };
        let inner_depth = self.deeper(d)?;
        self.abs_depth = self.abs_depth.saturating_add(1);
        let inner = self.expr(inner_depth);
        self.abs_depth = self.abs_depth.saturating_sub(1);
        let inner = inner?;
        if self.peek_tok() != Some(Tok::Bar) {
            return Err(self.unclosed_char(open.span, '|', '|'));
        }
        self.bump();
        let apply = Apply {
            name: Name {
                ident: "abs",
                sub: None,
                span: open.span,
            },
            primes: 0,
            first: inner,
            rest: Vec::new(),
        };
        Ok(self.node(ExprKind::Apply(Box::new(apply)), open.span.start))
    }

    /// A number literal, or the indicator `1\{a = b\}`.
    fn number(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(t) = self.bump() else {
            return Err(self.expected_expression());
        };
        let text = self.text(t.span);
        self.literal(d, text, t.span.start)
    }

    fn literal(&mut self, d: usize, text: &'a str, start: usize) -> PResult<Expr<'a>> {
        if text == "1" && self.peek_tok() == Some(Tok::Open(Delim::Curly)) {
            return self.indicator(d, start);
        }
        Ok(self.node(ExprKind::Num(NumLit::Decimal(text)), start))
    }

    /// `1\{a = b\}`; the cursor is at `\{`.
    fn indicator(&mut self, d: usize, start: usize) -> PResult<Expr<'a>> {
        let Some(open) = self.bump() else {
            return Err(self.expected_expression());
        };
        let inner_depth = self.deeper(d)?;
        let a = self.expr(inner_depth)?;
        if self.peek_tok() != Some(Tok::Op('=')) {
            return Err(self.expected("`=` inside the indicator `1\\{a = b\\}`"));
        }
        self.bump();
        let b = self.expr(inner_depth)?;
        if self.peek_tok() != Some(Tok::Close(Delim::Curly)) {
            return Err(self.unclosed(open.span, Delim::Curly));
        }
        self.bump();
        Ok(self.node(ExprKind::Indicator(Box::new((a, b))), start))
    }

    /// `_x`, `_1`, `_{oi}`, `_{i,j}`, `_{\text{prev}}`, `_\alpha`, if present: the subscript
    /// and the span of its text.
    fn subscript(&mut self) -> PResult<Option<(Subscript<'a>, Span)>> {
        if self.peek_tok() != Some(Tok::Op('_')) {
            return Ok(None);
        }
        self.bump();
        let empty = |p: &Self| {
            let (found, span) = p.here();
            ParseError::new(ParseErrorKind::EmptySubscript { found }, span)
        };
        let Some(t) = self.peek() else {
            return Err(empty(self));
        };
        let plain = |text| Subscript::new(text, SubscriptForm::Plain);
        let braced = |text| Subscript::new(text, SubscriptForm::Braced);
        let res = match t.tok {
            Tok::Letter | Tok::Num => {
                self.bump();
                self.refuse_split_digits(t)?;
                (plain(self.text(t.span)), t.span)
            }
            Tok::Greek(g) => {
                self.bump();
                (plain(g), t.span)
            }
            Tok::Text { cmd, arg } if !ACCENTS.contains(&cmd) && is_ident(self.content(arg)) => {
                self.bump();
                (braced(self.content(arg)), arg)
            }
            Tok::Open(Delim::Brace) => {
                let Some(close) = self.matching_brace(self.pos) else {
                    self.pos = self.end;
                    return Err(self.unclosed(t.span, Delim::Brace));
                };
                let inner = self.toks.get(self.pos + 1..close).unwrap_or(&[]);
                let whole = self.toks.get(close).map_or(t.span, |c| t.span.to(c.span));
                let res = match inner {
                    [] => {
                        self.pos = close;
                        return Err(empty(self));
                    }
                    [one] => match one.tok {
                        Tok::Greek(g) => Some((braced(g), one.span)),
                        Tok::Text { cmd, arg }
                            if !ACCENTS.contains(&cmd) && is_ident(self.content(arg)) =>
                        {
                            Some((braced(self.content(arg)), arg))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let res = match res {
                    Some(r) => r,
                    None => {
                        let contiguous = inner.windows(2).all(|w| match w {
                            [a, b] => a.span.end == b.span.start,
                            _ => true,
                        });
                        let simple = inner
                            .iter()
                            .all(|t| matches!(t.tok, Tok::Letter | Tok::Num | Tok::Op(',')));
                        let span = match (inner.first(), inner.last()) {
                            (Some(a), Some(b)) => a.span.to(b.span),
                            _ => whole,
                        };
                        let text = self.text(span);
                        let ascii = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b',');
                        if !(contiguous && simple && ascii) {
                            return Err(self.not_understood(
                                whole,
                                "only letters, digits and commas are read in a subscript (`w_{ij}`, `x_{i,j}`)",
                            ));
                        }
                        (braced(text), span)
                    }
                };
                self.pos = close;
                self.bump();
                res
            }
            _ => return Err(empty(self)),
        };
        if let Some(Token {
            tok: Tok::Op('_'),
            span,
        }) = self.peek()
        {
            return Err(self.not_understood(span, "a second subscript is not read"));
        }
        Ok(Some(res))
    }

    /// The rest of a name after its identifier: subscript, primes, arguments.
    fn name_rest(
        &mut self,
        d: usize,
        ident: &'a str,
        ident_span: Span,
        greek: bool,
    ) -> PResult<Expr<'a>> {
        let start = ident_span.start;
        let sub = self.subscript()?;
        // `W^{(l+1)}_{jk}` or `W_{jk}^{(l+1)}`: a layer, the first slot of the subscript.
        if let Some(layered) = self.layered(sub.map(|(s, _)| s))? {
            let name = Name {
                ident,
                sub: Some(layered),
                span: Span::new(start, self.last_end),
            };
            return self.apply_tail(d, name, start);
        }
        if let (true, "delta", Some((s, sub_span))) = (greek, ident, sub) {
            if let Some(delta) = self.kronecker(s.text, sub_span, ident_span, start) {
                return Ok(delta);
            }
        }
        let name = Name {
            ident,
            sub: sub.map(|(s, _)| s),
            span: Span::new(start, self.last_end),
        };
        self.apply_tail(d, name, start)
    }

    /// After a name and its subscript (if any): a layer superscript, and a subscript after it
    /// when there was none before, as one layered subscript; `None` without a layer.
    fn layered(&mut self, sub: Option<Subscript<'a>>) -> PResult<Option<Subscript<'a>>> {
        let Some(layer) = self.layer_superscript() else {
            return Ok(None);
        };
        let sub = match sub {
            Some(s) => Some(s),
            None => self.subscript()?.map(|(s, _)| s),
        };
        let (text, form) = sub.map_or(("", SubscriptForm::Braced), |s| (s.text, s.form));
        Ok(Some(Subscript {
            text,
            form,
            layer: Some(layer),
        }))
    }

    /// A layer superscript `^{(l)}`, `^{[l]}`, `^{(l+1)}`, `^{(\ell-1)}`, `^{(2)}` at the
    /// current token: consumed, and the text of the layer inside the brackets returned. The
    /// layer is one letter, `\ell` or a number, optionally followed by `+` or `-` and a
    /// number. Anything else is left for the exponent parser.
    fn layer_superscript(&mut self) -> Option<&'a str> {
        if self.peek_tok() == Some(Tok::Op('^')) && self.peek_at(1) == Some(Tok::Cmd("ell")) {
            // `\delta^\ell`: the layer letter alone.
            let text = self.toks.get(self.pos + 1).map(|t| self.text(t.span))?;
            self.bump();
            self.bump();
            return Some(text);
        }
        if self.peek_tok() != Some(Tok::Op('^')) || self.peek_at(1) != Some(Tok::Open(Delim::Brace))
        {
            return None;
        }
        let bracket = match self.peek_at(2)? {
            Tok::Open(Delim::Paren) => Delim::Paren,
            Tok::Open(Delim::Square) => Delim::Square,
            // `^{\ell}`, `^{\ell+1}`: the layer letter without brackets (nobody raises to
            // the power ℓ in these documents; `\delta^{\ell}` is the textbooks' δ of layer ℓ).
            Tok::Cmd("ell") => return self.layer_at(2, &[Delim::Brace]),
            _ => return None,
        };
        if !matches!(self.peek_at(3)?, Tok::Letter | Tok::Num | Tok::Cmd("ell")) {
            return None;
        }
        self.layer_at(3, &[bracket, Delim::Brace])
    }

    /// The layer whose first token is `at` tokens ahead (one token, optionally followed by
    /// `+` or `-` and a number), closed by `closers`: consumed with everything before it, and
    /// its text returned; `None` (nothing consumed) when the closers do not follow.
    fn layer_at(&mut self, at: usize, closers: &[Delim]) -> Option<&'a str> {
        let offset = matches!(self.peek_at(at + 1), Some(Tok::Op('+' | '-')))
            && self.peek_at(at + 2) == Some(Tok::Num);
        let n_inner = if offset { 3 } else { 1 };
        for (k, c) in closers.iter().enumerate() {
            if self.peek_at(at + n_inner + k) != Some(Tok::Close(*c)) {
                return None;
            }
        }
        let start = self.toks.get(self.pos + at)?.span.start;
        let end = self.toks.get(self.pos + at + n_inner - 1)?.span.end;
        let text = self.text(Span::new(start, end));
        for _ in 0..(at + n_inner + closers.len()) {
            self.bump();
        }
        Some(text)
    }

    /// `\delta_{ik}` or `\delta_{i,k}`: two one-character indices make a Kronecker delta.
    fn kronecker(
        &self,
        text: &'a str,
        sub_span: Span,
        ident_span: Span,
        start: usize,
    ) -> Option<Expr<'a>> {
        let bytes = text.as_bytes();
        let (a, b) = match bytes {
            [_, _] => (0, 1),
            [_, b',', _] => (0, 2),
            _ => return None,
        };
        let index = |i: usize| -> Option<Expr<'a>> {
            let ch = text.get(i..i + 1)?;
            let span = Span::new(sub_span.start + i, sub_span.start + i + 1);
            let kind = if is_digits(ch) {
                ExprKind::Num(NumLit::Decimal(ch))
            } else if is_ident(ch) {
                ExprKind::Name(Name {
                    ident: ch,
                    sub: None,
                    span,
                })
            } else {
                return None;
            };
            Some(Expr {
                kind,
                span,
                parens: 0,
                bracket: None,
            })
        };
        let apply = Apply {
            name: Name {
                ident: "delta",
                sub: None,
                span: ident_span,
            },
            primes: 0,
            first: index(a)?,
            rest: vec![index(b)?],
        };
        Some(self.node(ExprKind::Apply(Box::new(apply)), start))
    }

    /// Primes after a name: `'`, `′`, `^\prime`, `^{\prime\prime}`.
    fn primes(&mut self) -> u8 {
        let mut n = 0u8;
        loop {
            match (self.peek_tok(), self.peek_at(1)) {
                (Some(Tok::Prime(k)), _) => {
                    n = n.saturating_add(k);
                    self.bump();
                }
                (Some(Tok::Op('^')), Some(Tok::Cmd("prime"))) => {
                    n = n.saturating_add(1);
                    self.bump();
                    self.bump();
                }
                (Some(Tok::Op('^')), Some(Tok::Open(Delim::Brace))) => {
                    let Some(close) = self.matching_brace(self.pos + 1) else {
                        break;
                    };
                    let inner = self.toks.get(self.pos + 2..close).unwrap_or(&[]);
                    if inner.is_empty() || !inner.iter().all(|t| t.tok == Tok::Cmd("prime")) {
                        break;
                    }
                    n = n.saturating_add(u8::try_from(inner.len()).unwrap_or(u8::MAX));
                    self.pos = close;
                    self.bump();
                }
                _ => break,
            }
        }
        n
    }

    /// Primes and arguments after a name.
    fn apply_tail(&mut self, d: usize, name: Name<'a>, start: usize) -> PResult<Expr<'a>> {
        let primes = self.primes();
        match self.peek_tok() {
            Some(Tok::Open(Delim::Paren | Delim::Square)) => {
                self.apply_args(d, name, primes, start)
            }
            _ if primes > 0 => Err(self.expected("`(` after a primed function name")),
            _ => Ok(self.node(ExprKind::Name(name), start)),
        }
    }

    /// `( a, b )` or `[ a, b ]` after `name`.
    fn apply_args(
        &mut self,
        d: usize,
        name: Name<'a>,
        primes: u8,
        start: usize,
    ) -> PResult<Expr<'a>> {
        let Some(open) = self.bump() else {
            return Err(self.expected_expression());
        };
        let delim = match open.tok {
            Tok::Open(delim) => delim,
            _ => Delim::Paren,
        };
        let inner_depth = self.deeper(d)?;
        let saved_abs = std::mem::replace(&mut self.abs_depth, 0);
        let res = self.args(inner_depth, open.span, delim);
        self.abs_depth = saved_abs;
        let (first, rest) = res?;
        let apply = Apply {
            name,
            primes,
            first,
            rest,
        };
        Ok(self.node(ExprKind::Apply(Box::new(apply)), start))
    }

    fn args(&mut self, d: usize, open: Span, delim: Delim) -> PResult<(Expr<'a>, Vec<Expr<'a>>)> {
        let first = self.expr(d)?;
        let mut rest = Vec::new();
        loop {
            match self.peek_tok() {
                Some(Tok::Op(',')) => {
                    self.bump();
                    rest.push(self.expr(d)?);
                }
                Some(Tok::Close(c)) if c == delim => {
                    self.bump();
                    return Ok((first, rest));
                }
                _ => return Err(self.unclosed(open, delim)),
            }
        }
    }

    /// A function command or built-in name: with brackets, a call of their contents; without,
    /// a call of the next factor when nothing else follows by juxtaposition.
    fn function(&mut self, d: usize, ident: &'a str, name_span: Span) -> PResult<Expr<'a>> {
        let start = name_span.start;
        let name = Name {
            ident,
            sub: None,
            span: name_span,
        };
        let primes = self.primes();
        if primes > 0 {
            if !matches!(
                self.peek_tok(),
                Some(Tok::Open(Delim::Paren | Delim::Square))
            ) {
                return Err(self.expected("`(` after a primed function name"));
            }
            return self.apply_args(d, name, primes, start);
        }
        match self.peek() {
            Some(Token {
                tok: Tok::Op('^'),
                span,
            }) => Err(self.not_understood(
                name_span.to(self.toks.get(self.pos + 1).map_or(span, |t| t.span)),
                "a power of a function name (`\\log^2 x`) is ambiguous; write `(\\log x)^2`",
            )),
            Some(Token {
                tok: Tok::Op('_'),
                span,
            }) => Err(self.not_understood(
                name_span.to(span),
                "a function with a subscript (`\\log_2 x`, `\\max_i`) is not read yet",
            )),
            Some(Token {
                tok: Tok::Open(Delim::Paren | Delim::Square),
                ..
            }) => self.apply_args(d, name, 0, start),
            Some(t) if self.starts_factor(t.tok) => {
                let inner = self.deeper(d)?;
                let arg = self.power(inner)?;
                if self.peek().is_some_and(|n| self.starts_factor(n.tok)) {
                    return Err(self.expected(
                        "`(…)` around the argument of a function when it has several factors",
                    ));
                }
                let apply = Apply {
                    name,
                    primes: 0,
                    first: arg,
                    rest: Vec::new(),
                };
                Ok(self.node(ExprKind::Apply(Box::new(apply)), start))
            }
            _ => Err(self.expected("an argument after the function name")),
        }
    }

    /// `\text{…}`, `\mathrm{…}`, `\mathbf{…}`, `\operatorname{…}` in an operand position.
    fn text_atom(&mut self, d: usize, t: Token<'a>, cmd: &'a str, arg: Span) -> PResult<Expr<'a>> {
        let content = self.content(arg);
        if ACCENTS.contains(&cmd) {
            let Some(ident) = accented_name(cmd, content) else {
                return Err(self.not_understood(
                    t.span,
                    "only `\\hat`, `\\bar` and `\\tilde` of one letter are read",
                ));
            };
            self.bump();
            return self.name_rest(d, ident, t.span, false);
        }
        if cmd == "begin" || cmd == "end" {
            return Err(self.not_understood(
                t.span,
                "only the environments aligned, align, gather, split and equation are read",
            ));
        }
        if let Some(command) = content.strip_prefix('\\') {
            let Some(g) = greek_command(command) else {
                return Err(self.not_understood(t.span, UNKNOWN_REASON));
            };
            self.bump();
            return self.name_rest(d, g, t.span, false);
        }
        if is_digits(content) {
            self.bump();
            return self.literal(d, content, t.span.start);
        }
        if cmd == "mathbb" && content == "R" {
            // ℝ, for shapes (`h \in \mathbb{R}^{m}`): the homework reader reads it only there.
            self.bump();
            return Ok(self.node(
                ExprKind::Name(Name {
                    ident: "ℝ",
                    sub: None,
                    span: t.span,
                }),
                t.span.start,
            ));
        }
        if cmd == "mathbb" {
            return Err(self.not_understood(
                t.span,
                "blackboard-bold letters (`\\mathbb{E}`, `\\mathbb{R}`) are not read yet",
            ));
        }
        if matches!(cmd, "mathcal" | "mathscr") {
            let Some((_, ident)) = CALLIGRAPHIC.iter().find(|c| c.0 == content) else {
                return Err(self
                    .not_understood(t.span, "only one capital letter is read in `\\mathcal{…}`"));
            };
            self.bump();
            return self.name_rest(d, ident, t.span, false);
        }
        if !is_ident(content) || self.is_prose(t.tok) {
            return Err(self.not_understood(
                t.span,
                "text inside a formula is not read; put words after `\\quad`",
            ));
        }
        self.bump();
        if let Some(b) = builtin_name(content) {
            return self.function(d, b, t.span);
        }
        self.name_rest(d, content, t.span, false)
    }

    /// A command in an operand position.
    fn command(&mut self, d: usize, t: Token<'a>, name: &'a str) -> PResult<Expr<'a>> {
        let nu = |p: &Self, reason| Err(p.not_understood(t.span, reason));
        match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => self.frac(d),
            "sqrt" => {
                self.bump();
                if self.peek_tok() == Some(Tok::Open(Delim::Square)) {
                    return nu(self, "roots other than the square root are not read yet");
                }
                let inner = self.deeper(d)?;
                let (s, e) = self.arg_range("`{…}` after `\\sqrt`")?;
                let arg = self.parse_range(s, e, inner)?;
                let apply = Apply {
                    name: Name {
                        ident: "sqrt",
                        sub: None,
                        span: t.span,
                    },
                    primes: 0,
                    first: arg,
                    rest: Vec::new(),
                };
                Ok(self.node(ExprKind::Apply(Box::new(apply)), t.span.start))
            }
            _ if FUNCTION_CMDS.contains(&name) => {
                self.bump();
                self.function(d, name, t.span)
            }
            "sum" => self.big_sum(d),
            "ldots" | "cdots" | "dots" | "dotsb" | "dotsm" | "dotsc" | "vdots" | "ddots" => {
                nu(self, ELLIPSIS_REASON)
            }
            "pm" | "mp" => nu(self, PM_REASON),
            "infty" => nu(self, "infinity is not a number derivcheck can check with"),
            "nabla" => nu(self, "gradients are not read yet (vectors and matrices)"),
            "prod" | "int" | "iint" | "oint" | "lim" | "liminf" | "limsup" | "sup" | "inf"
            | "argmax" | "argmin" => nu(self, "this operator is not read yet"),
            "tan" | "cot" | "sec" | "csc" | "arcsin" | "arccos" | "arctan" | "coth" | "det"
            | "arg" | "deg" | "dim" | "ker" | "gcd" | "Pr" | "hom" | "lg" => {
                nu(self, "derivcheck has no built-in function of this name")
            }
            "circ" | "otimes" | "oplus" | "|" | "langle" | "rangle" | "top" | "intercal" => {
                nu(self, "this vector or matrix operation is not read yet")
            }
            _ if SIZING.contains(&name) => nu(self, "this bracket is not understood"),
            "\\" => nu(self, "a row break inside brackets is not read"),
            _ if NOT_FACTOR_CMDS.contains(&name)
                || LEFTARROW_CMDS.contains(&name)
                || OTHER_REL_CMDS.contains(&name) =>
            {
                Err(self.expected_expression())
            }
            _ => nu(self, UNKNOWN_REASON),
        }
    }

    /// `\frac{a}{b}`: a derivative, a rational literal or a product chain `a / b`.
    fn frac(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(t) = self.bump() else {
            return Err(self.expected_expression());
        };
        let start = t.span.start;
        let inner = self.deeper(d)?;
        let (ns, ne) = self.arg_range("`{numerator}` after `\\frac`")?;
        let (ds, de) = self.arg_range("`{denominator}` after the numerator of `\\frac`")?;
        if let Some(e) = self.derivative((ns, ne), (ds, de), start, inner)? {
            return Ok(e);
        }
        let num = self.parse_range(ns, ne, inner)?;
        let den = self.parse_range(ds, de, inner)?;
        let ratio = match (&num.kind, &den.kind) {
            (ExprKind::Num(NumLit::Decimal(n)), ExprKind::Num(NumLit::Decimal(m)))
                if num.parens == 0 && den.parens == 0 && is_digits(n) && is_digits(m) =>
            {
                Some(ExprKind::Ratio { num: n, den: m })
            }
            _ => None,
        };
        if let Some(kind) = ratio {
            return Ok(self.node(kind, start));
        }
        let mut factors = Vec::new();
        let num = bracketed_if(num, |k| matches!(k, ExprKind::Sum(_)));
        push_factor(&mut factors, MulOp::First, num);
        // `A(1 − A)` is an `Apply` that lowering may read as a product: bracket it too, or
        // `\frac{A − y}{A(1 − A)}` would read as (A − y)/A·(1 − A).
        let den = bracketed_if(den, |k| {
            matches!(
                k,
                ExprKind::Sum(_) | ExprKind::Product(_) | ExprKind::Apply(_) | ExprKind::Neg(_)
            )
        });
        factors.push(Factor {
            op: MulOp::Divide,
            expr: den,
        });
        Ok(self.node(ExprKind::Product(factors), start))
    }

    /// How the token at `i` marks a derivative: `\partial`, `d`, `\mathrm{d}`.
    fn marker(&self, i: usize, end: usize) -> Option<DerivStyle> {
        let t = self.toks.get(i).filter(|_| i < end)?;
        let next = self.toks.get(i + 1).filter(|_| i + 1 < end).map(|t| t.tok);
        let plain_next = !matches!(next, Some(Tok::Op('_' | '^') | Tok::Prime(_)));
        match t.tok {
            Tok::Partial => Some(DerivStyle::Partial),
            Tok::Letter if self.text(t.span) == "d" && plain_next => Some(DerivStyle::D),
            Tok::Text { cmd, arg }
                if matches!(cmd, "mathrm" | "text" | "operatorname")
                    && self.content(arg) == "d" =>
            {
                Some(DerivStyle::D)
            }
            _ => None,
        }
    }

    /// `\frac{\partial E}{\partial o}`, `\frac{d}{dz}`, `\frac{\partial f(x)}{\partial x}`;
    /// `None` when the fraction is not a derivative.
    fn derivative(
        &mut self,
        (ns, ne): (usize, usize),
        (ds, de): (usize, usize),
        start: usize,
        d: usize,
    ) -> PResult<Option<Expr<'a>>> {
        let num_style = self.marker(ns, ne);
        let den_style = self.marker(ds, de);
        let (num_style, den_style) = match (num_style, den_style) {
            (Some(a), Some(b)) => (a, b),
            (Some(DerivStyle::Partial), None) => {
                let span = Span::new(start, self.last_end);
                return Err(self.not_understood(
                    span,
                    "a `\\partial` fraction needs `\\partial x` (one variable) in the denominator",
                ));
            }
            _ => return Ok(None),
        };
        let style = if num_style == DerivStyle::Partial || den_style == DerivStyle::Partial {
            DerivStyle::Partial
        } else {
            DerivStyle::D
        };
        let whole = Span::new(start, self.last_end);
        let higher = "higher derivatives are not read yet; write the derivative of a derivative";
        let saved = (self.pos, self.end, self.last_end);
        // The variable: one name after the marker, nothing else.
        self.pos = ds + 1;
        self.end = de;
        let var = match self.peek_tok() {
            Some(Tok::Letter | Tok::Greek(_) | Tok::Text { .. }) => self.name_only()?,
            _ => {
                return Err(self.expected("a variable after `d` or `\\partial` in the denominator"))
            }
        };
        if self.pos < self.end {
            if self.peek_tok() == Some(Tok::Op('^')) {
                return Err(self.not_understood(whole, higher));
            }
            return Err(self.expected("the end of the denominator after the variable"));
        }
        // The numerator after the marker.
        self.pos = ns + 1;
        self.end = ne;
        if self.pos >= self.end {
            (self.pos, self.end, self.last_end) = saved;
            let body = match self.peek() {
                Some(t) if self.starts_factor(t.tok) || matches!(t.tok, Tok::Op('-' | '+')) => {
                    self.factor(d)?
                }
                _ => return Err(self.expected("an expression after the derivative operator")),
            };
            let kind = ExprKind::Deriv(Box::new(Deriv { var, body, style }));
            return Ok(Some(self.node(kind, start)));
        }
        if self.peek_tok() == Some(Tok::Op('^')) {
            return Err(self.not_understood(whole, higher));
        }
        let body = self.expr(d)?;
        if self.pos < self.end {
            return Err(self.expected("an operator or the end of the numerator"));
        }
        (self.pos, self.end, self.last_end) = saved;
        let kind = match body.kind {
            ExprKind::Name(num) if body.parens == 0 => {
                ExprKind::DerivFrac(Box::new(DerivFrac { num, var, style }))
            }
            _ => ExprKind::Deriv(Box::new(Deriv { var, body, style })),
        };
        Ok(Some(self.node(kind, start)))
    }

    /// A name without arguments: a letter, a Greek letter or a `\mathrm{…}` word, with an
    /// optional subscript.
    fn name_only(&mut self) -> PResult<Name<'a>> {
        let Some(t) = self.peek() else {
            return Err(self.expected("a name"));
        };
        let ident = match t.tok {
            Tok::Letter => self.text(t.span),
            Tok::Greek(g) => g,
            Tok::Text { cmd, arg } if !ACCENTS.contains(&cmd) && is_ident(self.content(arg)) => {
                self.content(arg)
            }
            Tok::Text { cmd, arg } => match accented_name(cmd, self.content(arg)) {
                Some(ident) => ident,
                None => return Err(self.not_understood(t.span, "only a plain name is read here")),
            },
            _ => return Err(self.expected("a name")),
        };
        self.bump();
        let sub = self.subscript()?.map(|(s, _)| s);
        let sub = match self.layered(sub)? {
            Some(layered) => Some(layered),
            None => sub,
        };
        Ok(Name {
            ident,
            sub,
            span: Span::new(t.span.start, self.last_end),
        })
    }

    /// `\sum_{j=1}^{C} body`, the body being the following product chain.
    fn big_sum(&mut self, d: usize) -> PResult<Expr<'a>> {
        let Some(t) = self.bump() else {
            return Err(self.expected_expression());
        };
        let start = t.span.start;
        let inner = self.deeper(d)?;
        self.count()?;
        let mut lower = None;
        let mut upper = None;
        for _ in 0..2 {
            match self.peek_tok() {
                Some(Tok::Op('_')) if lower.is_none() => {
                    self.bump();
                    lower = Some(self.arg_range("the index and lower bound after `_`")?);
                }
                Some(Tok::Op('^')) if upper.is_none() => {
                    self.bump();
                    upper = Some(self.arg_range("the upper bound after `^`")?);
                }
                _ => break,
            }
        }
        let scripts = Span::new(start, self.last_end);
        let has_eq = lower.is_some_and(|(s, e)| {
            self.toks
                .get(s..e)
                .is_some_and(|ts| ts.iter().any(|t| t.tok == Tok::Op('=')))
        });
        if let (Some((ls, le)), None, false) = (lower, upper, has_eq) {
            // `\sum_i body`: over all units, i from 1 to N (the one size of unbounded sums,
            // stated in the report as `Σ_{i=1}^{N}`).
            let saved = (self.pos, self.end, self.last_end);
            self.pos = ls;
            self.end = le;
            let index = self.name_only()?;
            if self.pos < self.end {
                return Err(self.not_understood(scripts, SUM_REASON));
            }
            (self.pos, self.end, self.last_end) = saved;
            let synthetic = |kind| Expr {
                kind,
                span: scripts,
                parens: 0,
                bracket: None,
            };
            let lo = synthetic(ExprKind::Num(NumLit::Decimal("1")));
            let hi = synthetic(ExprKind::Name(Name {
                ident: "N",
                sub: None,
                span: scripts,
            }));
            let body = self.product(inner)?;
            let kind = ExprKind::BigSum(Box::new(BigSum {
                index,
                lo,
                hi,
                body,
            }));
            return Ok(self.node(kind, start));
        }
        let (Some((ls, le)), Some((us, ue)), true) = (lower, upper, has_eq) else {
            return Err(self.not_understood(scripts, SUM_REASON));
        };
        let saved = (self.pos, self.end, self.last_end);
        self.pos = ls;
        self.end = le;
        let index = self.name_only()?;
        if self.peek_tok() != Some(Tok::Op('=')) {
            return Err(self.expected("`=` after the index of the sum"));
        }
        self.bump();
        let lo = self.expr(inner)?;
        if self.pos < self.end {
            return Err(self.expected("the end of the lower bound"));
        }
        (self.pos, self.end, self.last_end) = saved;
        let hi = self.parse_range(us, ue, inner)?;
        let body = self.product(inner)?;
        let kind = ExprKind::BigSum(Box::new(BigSum {
            index,
            lo,
            hi,
            body,
        }));
        Ok(self.node(kind, start))
    }
}

/// `e` with one more bracket pair when `needs` says its kind needs one.
fn bracketed_if<'a>(mut e: Expr<'a>, needs: impl Fn(&ExprKind<'a>) -> bool) -> Expr<'a> {
    if e.parens == 0 && needs(&e.kind) {
        e.parens = 1;
        e.bracket = Some(Bracket::Curly);
    }
    e
}

/// Appends a factor to a product chain. An unbracketed product (a `\frac`) is spliced in,
/// its first factor taking `op`; after `/` it is bracketed instead (`a / \frac{b}{c}` is
/// `a / (b/c)`).
fn push_factor<'a>(out: &mut Vec<Factor<'a>>, op: MulOp, e: Expr<'a>) {
    if e.parens == 0 {
        if let ExprKind::Product(inner) = e.kind {
            if op == MulOp::Divide {
                let expr = Expr {
                    kind: ExprKind::Product(inner),
                    span: e.span,
                    parens: 1,
                    bracket: Some(Bracket::Curly),
                };
                out.push(Factor { op, expr });
                return;
            }
            for (i, f) in inner.into_iter().enumerate() {
                let op = if i == 0 { op } else { f.op };
                out.push(Factor { op, expr: f.expr });
            }
            return;
        }
        out.push(Factor { op, expr: e });
        return;
    }
    out.push(Factor { op, expr: e });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        lex(src, Span::new(0, src.len()))
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn lexer_reads_commands_groups_and_single_digit_scripts() {
        assert_eq!(
            kinds(r"x^{12}_3 \, \alpha"),
            vec![
                Tok::Letter,
                Tok::Op('^'),
                Tok::Open(Delim::Brace),
                Tok::Num,
                Tok::Close(Delim::Brace),
                Tok::Op('_'),
                Tok::Num,
                Tok::Greek("alpha"),
            ]
        );
        assert_eq!(kinds(r"x^23").len(), 4);
        assert_eq!(
            kinds(r"\left( \right\} \frac12"),
            vec![
                Tok::Open(Delim::Paren),
                Tok::Close(Delim::Curly),
                Tok::Cmd("frac"),
                Tok::Num,
                Tok::Num,
            ]
        );
    }

    #[test]
    fn raw_arguments_are_balanced() {
        let src = r"\text{a {b} c} \mathrm{sig}";
        let toks = lex(src, Span::new(0, src.len()));
        let args: Vec<&str> = toks
            .iter()
            .filter_map(|t| match t.tok {
                Tok::Text { arg, .. } => src.get(arg.range()),
                _ => None,
            })
            .collect();
        assert_eq!(args, vec!["a {b} c", "sig"]);
        assert_eq!(
            kinds(r"\text{open"),
            vec![
                Tok::Unclosed,
                Tok::Letter,
                Tok::Letter,
                Tok::Letter,
                Tok::Letter
            ]
        );
    }

    #[test]
    fn rows_split_at_row_breaks_outside_braces() {
        let src = r"\begin{aligned} a &= b \\ &= c \\[2pt] {x \\ y} \end{aligned}";
        let toks = lex(src, Span::new(0, src.len()));
        let rows = split_rows(src, &toks);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.first().map(|r| r.toks.len()), Some(3));
    }
}
