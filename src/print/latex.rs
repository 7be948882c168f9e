//! LaTeX output for reports and handouts: `\sigma(z)\left(1 - \sigma(z)\right)`,
//! `\frac{A - y}{A\left(1 - A\right)}`, `e^{x}`, `\tanh(z)^{2}`, `\sum_{j=1}^{C}`,
//! `\frac{\partial L}{\partial Z}`, `\delta_{ik}`.
//!
//! Unlike the linear notations, LaTeX is written for the eye, not for the parser: a product's
//! reciprocal factors and its rational coefficient are gathered into one `\frac`, and factors
//! are juxtaposed, with `\cdot` only where juxtaposition would read wrongly (see
//! `layout::juxt_separator`). Parentheses still follow the shared precedence table, so every
//! nested sum and product stays visible.

use std::slice;

use num_bigint::BigInt;
use num_traits::{One, Signed};

use super::layout::{Out, Printer, Tok, INDENT};
use super::precedence::{
    decimal, needs_parens, num_shape, peel, split_sign, Ctx, Kind, Shape, Term,
};
use super::Ann;
use crate::expr::{greek_latex, Builtin, Constant, Expr, Func, Node, Rational, Symbol};

/// The LaTeX notation.
pub(crate) struct Latex;

/// One factor of a `\frac` part or of a plain product.
enum Item<'e> {
    /// An integer from the coefficient.
    Int(BigInt),
    /// A coefficient printed as a decimal (see `precedence::decimal`).
    Decimal(Rational),
    /// A factor printed as it is.
    Factor(&'e Expr),
    /// `base^{k}`: a denominator factor that was `base^(−k)`.
    Pow(&'e Expr, BigInt),
}

/// A product laid out as `\frac{num}{den}` (when `den` is non-empty) or as `num` juxtaposed.
struct Parts<'e> {
    num: Vec<Item<'e>>,
    den: Vec<Item<'e>>,
}

/// `Some((base, k))` for `Pow(base, Num(−k))` with `k` a positive integer.
fn neg_int_power(e: &Expr) -> Option<(&Expr, BigInt)> {
    match e.node() {
        Node::Pow(base, exp) => match exp.as_num() {
            Some(r) if r.is_integer() && r.is_negative() => Some((base, -r.numer())),
            _ => None,
        },
        _ => None,
    }
}

/// Splits a product into sign, positive coefficient and the remaining factors.
fn split_mul<'e>(e: &'e Expr, xs: &'e [Expr]) -> (bool, Option<Rational>, &'e [Expr]) {
    match split_sign(e) {
        Term::NegMul { coeff, factors } => (true, coeff, factors),
        _ => match xs.split_first() {
            Some((first, rest)) => match first.as_num() {
                Some(c) => (false, Some(c.clone()), rest),
                None => (false, None, xs),
            },
            None => (false, None, xs),
        },
    }
}

/// Gathers reciprocal factors and the coefficient's denominator under a fraction bar.
fn parts<'e>(coeff: Option<&Rational>, factors: &'e [Expr]) -> Parts<'e> {
    let mut num = Vec::new();
    let mut den = Vec::new();
    for f in factors {
        match neg_int_power(f) {
            Some((base, k)) if k.is_one() => den.push(Item::Factor(base)),
            Some((base, k)) => den.push(Item::Pow(base, k)),
            None => num.push(Item::Factor(f)),
        }
    }
    if let Some(c) = coeff.filter(|c| decimal(c).is_some()) {
        num.insert(0, Item::Decimal(c.clone()));
    } else if let Some(c) = coeff {
        let (p, q) = (c.numer(), c.denom());
        if q.is_one() && den.is_empty() {
            num.insert(0, Item::Int(p.clone()));
        } else {
            if !p.is_one() {
                num.insert(0, Item::Int(p.clone()));
            }
            if !q.is_one() {
                den.insert(0, Item::Int(q.clone()));
            }
        }
    }
    Parts { num, den }
}

/// A prefix operator that takes everything after it: `\sum …`, `\frac{\partial}{\partial z} …`.
fn is_open(e: &Expr) -> bool {
    match peel(e).map(Expr::node) {
        Some(Node::Sum { .. }) => true,
        Some(Node::Deriv(body, _)) => body.as_sym().is_none(),
        Some(_) => false,
        None => true,
    }
}

/// Escapes characters that are special in LaTeX text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\backslash{}"),
            '\u{2113}' => {
                out.push_str("\\ell");
                if chars.peek().is_some_and(|n| n.is_alphanumeric()) {
                    out.push(' ');
                }
            }
            '_' | '{' | '}' | '%' | '$' | '#' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '^' => out.push_str("\\hat{}"),
            '~' => out.push_str("\\sim{}"),
            _ => out.push(c),
        }
    }
    out
}

/// A name: Greek command, single letter, or upright multi-letter name.
fn name(ascii: &str, multi: &str) -> String {
    if let Some(cmd) = greek_latex(ascii) {
        cmd.to_owned()
    } else if ascii.chars().count() == 1 {
        escape(ascii)
    } else {
        format!("\\{multi}{{{}}}", escape(ascii))
    }
}

/// A symbol: `x`, `\eta_{t}`, `w_{ij}`, `o_{1}`, `\mathrm{loss}`. Subscripts are always
/// braced, so that a juxtaposed factor after them is clearly separate (`w_{1} x_{1}`).
pub(crate) fn symbol(s: &Symbol) -> String {
    let base = name(s.name(), "mathrm");
    match s.sub() {
        None => base,
        Some(sub) => format!("{base}_{{{}}}", escape(sub)),
    }
}

/// The name of a function, with its primes.
fn func_name(f: &Func) -> String {
    match f {
        Func::Builtin(b) => b.info().latex.to_owned(),
        Func::User(n) => name(n, "operatorname"),
        Func::Prime(inner) => format!("{}'", func_name(inner)),
    }
}

/// A number: `3`, `-3`, `\frac{1}{3}`, `-\frac{1}{3}`.
pub(crate) fn number(r: &Rational) -> String {
    let abs = r.abs();
    let body = if abs.is_integer() {
        abs.numer().to_string()
    } else if let Some(d) = decimal(&abs) {
        d
    } else {
        format!("\\frac{{{}}}{{{}}}", abs.numer(), abs.denom())
    };
    if r.is_negative() {
        format!("-{body}")
    } else {
        body
    }
}

/// A Kronecker delta argument short enough to write without a comma (`\delta_{ik}`).
fn is_short_index(e: &Expr) -> bool {
    match e.node() {
        Node::Sym(s) => s.sub().is_none() && s.name().chars().count() == 1,
        Node::Num(r) => r.is_integer() && !r.is_negative() && r.numer() < &BigInt::from(10),
        _ => false,
    }
}

impl Latex {
    fn shape(&self, e: &Expr) -> Shape {
        let Some(e) = peel(e) else {
            return Shape::WORST;
        };
        match e.node() {
            Node::Num(r) => num_shape(r, Kind::Frac),
            Node::Const(_) | Node::Sym(_) | Node::Delta(..) => Shape::closed(Kind::Atom),
            Node::Call(Func::Builtin(Builtin::Exp), args) if args.len() == 1 => {
                Shape::closed(Kind::Power)
            }
            Node::Call(..) => Shape::closed(Kind::Atom),
            Node::Pow(..) if neg_int_power(e).is_some() => Shape::closed(Kind::Frac),
            Node::Pow(..) => Shape::closed(Kind::Power),
            Node::Add(xs) if xs.is_empty() => Shape::closed(Kind::Atom),
            Node::Add(_) => Shape::closed(Kind::Sum),
            Node::Mul(xs) if xs.is_empty() => Shape::closed(Kind::Atom),
            // As in the linear notations, a plain product is parenthesised wherever its open
            // right end would matter, so only `\frac` products need a closer look.
            Node::Mul(xs) => {
                let (negative, coeff, factors) = split_mul(e, xs);
                if negative {
                    Shape::closed(Kind::Neg)
                } else if parts(coeff.as_ref(), factors).den.is_empty() {
                    Shape::closed(Kind::Product)
                } else {
                    Shape::closed(Kind::Frac)
                }
            }
            Node::Deriv(body, _) if body.as_sym().is_some() => Shape::closed(Kind::Frac),
            Node::Deriv(..) | Node::Sum { .. } => Shape {
                kind: Kind::Prefix,
                open_right: is_open(e),
            },
        }
    }

    fn child<'e>(&self, out: &mut Out<'e>, e: &'e Expr, ctx: Ctx) {
        if needs_parens(self.shape(e), ctx) {
            out.wrapped(e, "\\left(", "\\right)");
        } else {
            out.expr(e);
        }
    }

    fn item<'e>(&self, out: &mut Out<'e>, item: &Item<'e>, ctx: Ctx) {
        match item {
            Item::Int(n) => out.ann(n.to_string(), Ann::Number),
            Item::Decimal(r) => out.ann(number(r), Ann::Number),
            Item::Factor(e) => self.child(out, e, ctx),
            Item::Pow(base, k) => {
                self.child(out, base, Ctx::Base);
                out.ann(format!("^{{{k}}}"), Ann::Number);
            }
        }
    }

    /// Juxtaposed items; a single item is printed in `alone`.
    fn items<'e>(&self, out: &mut Out<'e>, items: &[Item<'e>], alone: Ctx) {
        match items {
            [] => out.ann("1", Ann::Number),
            [single] => self.item(out, single, alone),
            _ => {
                for (idx, it) in items.iter().enumerate() {
                    if idx > 0 {
                        out.softline_();
                        out.tok(Tok::Juxt);
                    }
                    let ctx = Ctx::Factor {
                        first: idx == 0,
                        last: idx + 1 == items.len(),
                    };
                    self.item(out, it, ctx);
                }
            }
        }
    }

    /// A product without its sign: `\frac{…}{…}` or juxtaposed factors.
    fn product<'e>(&self, out: &mut Out<'e>, coeff: Option<&Rational>, factors: &'e [Expr]) {
        let Parts { num, den } = parts(coeff, factors);
        if den.is_empty() {
            self.items(
                out,
                &num,
                Ctx::Factor {
                    first: true,
                    last: true,
                },
            );
        } else {
            out.ann("\\frac{", Ann::Operator);
            self.items(out, &num, Ctx::Top);
            out.ann("}{", Ann::Operator);
            self.items(out, &den, Ctx::Top);
            out.ann("}", Ann::Operator);
        }
    }

    fn add<'e>(&self, out: &mut Out<'e>, terms: &'e [Expr]) {
        let Some((first, rest)) = terms.split_first() else {
            out.ann("0", Ann::Number);
            return;
        };
        if rest.is_empty() {
            out.expr(first);
            return;
        }
        out.tok(Tok::Group);
        out.tok(Tok::Nest(INDENT));
        self.child(out, first, Ctx::Term);
        for t in rest {
            out.tok(Tok::Line);
            match split_sign(t) {
                Term::Plain(t) => {
                    out.ann("+ ", Ann::Operator);
                    self.child(out, t, Ctx::NextTerm);
                }
                Term::NegNum(abs) => out.ann(format!("- {}", number(&abs)), Ann::Number),
                Term::NegMul { coeff, factors } => {
                    out.ann("- ", Ann::Operator);
                    self.product(out, coeff.as_ref(), factors);
                }
            }
        }
        out.tok(Tok::End);
        out.tok(Tok::End);
    }

    fn mul<'e>(&self, out: &mut Out<'e>, e: &'e Expr, xs: &'e [Expr]) {
        match xs {
            [] => out.ann("1", Ann::Number),
            [single] => out.expr(single),
            _ => {
                let (negative, coeff, factors) = split_mul(e, xs);
                if negative {
                    out.ann("-", Ann::Operator);
                }
                self.product(out, coeff.as_ref(), factors);
            }
        }
    }

    fn pow<'e>(&self, out: &mut Out<'e>, e: &'e Expr, base: &'e Expr, exp: &'e Expr) {
        if neg_int_power(e).is_some() {
            self.product(out, None, slice::from_ref(e));
            return;
        }
        self.child(out, base, Ctx::Base);
        out.ann("^{", Ann::Operator);
        self.child(out, exp, Ctx::Top);
        out.ann("}", Ann::Operator);
    }

    /// `open arg close` for one-argument built-ins with their own notation.
    fn around<'e>(
        &self,
        out: &mut Out<'e>,
        open: &'static str,
        arg: &'e Expr,
        close: &'static str,
    ) {
        out.ann(open, Ann::Function);
        self.child(out, arg, Ctx::Top);
        out.ann(close, Ann::Function);
    }

    fn call<'e>(&self, out: &mut Out<'e>, f: &Func, args: &'e [Expr]) {
        match (f, args) {
            (Func::Builtin(Builtin::Exp), [x]) => self.around(out, "e^{", x, "}"),
            (Func::Builtin(Builtin::Sqrt), [x]) => self.around(out, "\\sqrt{", x, "}"),
            (Func::Builtin(Builtin::Abs), [x]) => self.around(out, "\\left|", x, "\\right|"),
            _ => {
                out.ann(func_name(f), Ann::Function);
                out.open_block("(");
                for (idx, arg) in args.iter().enumerate() {
                    if idx > 0 {
                        out.ann(",", Ann::Punctuation);
                        out.tok(Tok::Line);
                    }
                    self.child(out, arg, Ctx::Top);
                }
                out.close_block(")");
            }
        }
    }

    fn deriv<'e>(&self, out: &mut Out<'e>, body: &'e Expr, var: &Symbol) {
        let var = symbol(var);
        match body.as_sym() {
            Some(s) => out.ann(
                format!("\\frac{{\\partial {}}}{{\\partial {var}}}", symbol(s)),
                Ann::Operator,
            ),
            None => {
                out.ann(
                    format!("\\frac{{\\partial}}{{\\partial {var}}} "),
                    Ann::Operator,
                );
                self.child(out, body, Ctx::DerivBody);
            }
        }
    }

    fn delta<'e>(&self, out: &mut Out<'e>, a: &'e Expr, b: &'e Expr) {
        out.ann("\\delta_{", Ann::Function);
        self.child(out, a, Ctx::Top);
        if !(is_short_index(a) && is_short_index(b)) {
            out.text(", ");
        }
        self.child(out, b, Ctx::Top);
        out.ann("}", Ann::Function);
    }
}

impl Printer for Latex {
    fn expand<'e>(&self, e: &'e Expr, out: &mut Out<'e>) {
        match e.node() {
            Node::Num(r) => out.ann(number(r), Ann::Number),
            Node::Const(Constant::E) => out.ann("e", Ann::Constant),
            Node::Const(Constant::Pi) => out.ann("\\pi", Ann::Constant),
            Node::Sym(s) => out.ann(symbol(s), Ann::Symbol),
            Node::Add(xs) => self.add(out, xs),
            Node::Mul(xs) => self.mul(out, e, xs),
            Node::Pow(base, exp) => self.pow(out, e, base, exp),
            Node::Call(f, args) => self.call(out, f, args),
            Node::Deriv(body, var) => self.deriv(out, body, var),
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => {
                out.ann(format!("\\sum_{{{}=", symbol(index)), Ann::Operator);
                self.child(out, lo, Ctx::Top);
                out.ann("}^{", Ann::Operator);
                self.child(out, hi, Ctx::Top);
                out.ann("} ", Ann::Operator);
                self.child(out, body, Ctx::SumBody);
            }
            Node::Delta(a, b) => self.delta(out, a, b),
        }
    }

    fn ellipsis(&self) -> &'static str {
        "\\dots"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_commands() {
        assert_eq!(symbol(&Symbol::new("eta")), "\\eta");
        assert_eq!(symbol(&Symbol::with_sub("w", Some("ij"))), "w_{ij}");
        assert_eq!(symbol(&Symbol::new("loss")), "\\mathrm{loss}");
        assert_eq!(func_name(&Func::User("f".into())), "f");
        assert_eq!(func_name(&Func::User("sigma".into())), "\\sigma");
        assert_eq!(
            func_name(&Func::User("loss".into())),
            "\\operatorname{loss}"
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("a_b%"), "a\\_b\\%");
    }
}
