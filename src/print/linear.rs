//! The linear notations, ASCII and Unicode: one layout written once, with the spellings
//! (`*` or `·`, `-` or `−`, `x^2` or `x²`, `sum(j, 1, C, x_j)` or `Σ_{j=1}^{C} x_j`) taken from
//! a [`Spelling`] table.
//!
//! The layout is the exact inverse of the parser's lowering described in the language brief:
//! sums and products stay flat, `/ f` is `Pow(f, −1)`, a leading minus on a product chain folds
//! into a number literal, and every nested sum or product is parenthesised so that its
//! structure survives a round trip.

use num_traits::Signed;

use super::layout::{Out, Printer, Tok, INDENT};
use super::precedence::{
    decimal, is_int, is_nonneg_int, needs_parens, num_shape, peel, reciprocal, split_sign, Ctx,
    Kind, Shape, Term,
};
use super::Ann;
use crate::expr::{Constant, Expr, Func, Node, Rational, Symbol};

/// The spellings that distinguish ASCII from Unicode output.
pub(crate) struct Spelling {
    /// Minus sign, binary and unary.
    pub minus: &'static str,
    /// Product operator.
    pub times: &'static str,
    /// The constant π.
    pub pi: &'static str,
    /// A symbol with its subscript.
    pub symbol: fn(&Symbol) -> String,
    /// A function's name (without primes).
    pub func_name: fn(&Func) -> String,
    /// Integer exponents as superscripts (`x²`, `x⁻¹`).
    pub superscripts: bool,
    /// `Σ_{j=lo}^{hi} body` instead of `sum(j, lo, hi, body)`.
    pub big_sigma: bool,
    /// Name of the Kronecker delta.
    pub delta: &'static str,
    /// The `d` of `d/dz` (or `∂`).
    pub partial: &'static str,
    /// What an elided subterm prints as.
    pub ellipsis: &'static str,
}

/// True for a one-character name (`x`, `η`), which `dL/dZ` and `d/dz` can use unbracketed.
fn is_one_char(s: &str) -> bool {
    s.chars().count() == 1
}

impl Spelling {
    /// The name of a function, with its primes.
    fn func(&self, f: &Func) -> String {
        let (base, primes) = f.unprimed();
        let mut name = (self.func_name)(base);
        name.push_str(&"'".repeat(primes));
        name
    }

    /// A number: `-3`, `1/3`, `−1/3`.
    pub fn number(&self, r: &Rational) -> String {
        let abs = r.abs();
        let body = if abs.is_integer() {
            abs.numer().to_string()
        } else if let Some(d) = decimal(&abs) {
            d
        } else {
            format!("{}/{}", abs.numer(), abs.denom())
        };
        if r.is_negative() {
            format!("{}{body}", self.minus)
        } else {
            body
        }
    }

    /// The shape of `e` as this notation prints it.
    fn shape(&self, e: &Expr) -> Shape {
        let Some(e) = peel(e) else {
            return Shape::WORST;
        };
        match e.node() {
            Node::Num(r) => num_shape(r, Kind::Ratio),
            Node::Const(_) | Node::Sym(_) | Node::Call(..) | Node::Delta(..) => {
                Shape::closed(Kind::Atom)
            }
            Node::Pow(..) => Shape::closed(Kind::Power),
            Node::Add(xs) if xs.is_empty() => Shape::closed(Kind::Atom),
            Node::Add(_) => Shape::closed(Kind::Sum),
            // A product is parenthesised wherever an open right end would matter (as a factor),
            // so its open end need not be tracked.
            Node::Mul(xs) => match xs.first() {
                Some(first) if first.is_negative_num() => Shape::closed(Kind::Neg),
                Some(_) => Shape::closed(Kind::Product),
                None => Shape::closed(Kind::Atom),
            },
            Node::Deriv(..) => Shape::closed(Kind::Prefix),
            Node::Sum { .. } if self.big_sigma => Shape {
                kind: Kind::Prefix,
                open_right: true,
            },
            Node::Sum { .. } => Shape::closed(Kind::Atom),
        }
    }

    /// Pushes `e` for printing in `ctx`, parenthesised if its shape needs it there.
    fn child<'e>(&self, out: &mut Out<'e>, e: &'e Expr, ctx: Ctx) {
        if needs_parens(self.shape(e), ctx) {
            out.wrapped(e, "(", ")");
        } else {
            out.expr(e);
        }
    }

    /// A product chain: an optional positive coefficient, then the factors.
    fn product<'e>(&self, out: &mut Out<'e>, coeff: Option<&Rational>, factors: &'e [Expr]) {
        // No indentation of its own: a product breaks inside its parenthesised factors first,
        // and those indent their content.
        let mut prev_int = false;
        let mut first = true;
        if let Some(c) = coeff {
            out.ann(self.number(c), Ann::Number);
            prev_int = c.is_integer();
            first = false;
        }
        for (idx, f) in factors.iter().enumerate() {
            let last = idx + 1 == factors.len();
            if first {
                self.child(out, f, Ctx::Factor { first, last });
                first = false;
            } else {
                match reciprocal(f) {
                    // `2/3` (and `2/3^x`) would read back as the rational literal 2/3, so an
                    // integer divided by an integer keeps its power: `2*3^(-1)`.
                    Some(den) if !(prev_int && starts_with_integer(den)) => {
                        out.ann("/", Ann::Operator);
                        out.softline_();
                        self.child(out, den, Ctx::Denominator);
                    }
                    _ => {
                        out.ann(self.times, Ann::Operator);
                        out.softline_();
                        self.child(out, f, Ctx::Factor { first, last });
                    }
                }
            }
            prev_int = is_int(f);
        }
    }

    /// A sign followed by the rest of a negative term or product.
    fn negative<'e>(&self, out: &mut Out<'e>, term: Term<'e>, sign: &str) {
        match term {
            Term::Plain(e) => out.expr(e),
            Term::NegNum(abs) => {
                out.ann(format!("{sign}{}", self.number(&abs)), Ann::Number);
            }
            Term::NegMul { coeff, factors } => {
                out.ann(sign.to_owned(), Ann::Operator);
                self.product(out, coeff.as_ref(), factors);
            }
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
                neg => {
                    let sign = format!("{} ", self.minus);
                    self.negative(out, neg, &sign);
                }
            }
        }
        out.tok(Tok::End);
        out.tok(Tok::End);
    }

    fn mul<'e>(&self, out: &mut Out<'e>, e: &'e Expr, factors: &'e [Expr]) {
        match factors {
            [] => out.ann("1", Ann::Number),
            [single] => out.expr(single),
            _ => match split_sign(e) {
                Term::Plain(_) => self.product(out, None, factors),
                neg => self.negative(out, neg, self.minus),
            },
        }
    }

    fn pow<'e>(&self, out: &mut Out<'e>, base: &'e Expr, exp: &'e Expr) {
        if matches!(base.node(), Node::Const(Constant::E)) {
            // `e^x` reads back as exp(x); only the parenthesised `(e)^x` is a power of e.
            out.wrapped(base, "(", ")");
        } else {
            self.child(out, base, Ctx::Base);
        }
        match exp.as_num() {
            Some(n) if self.superscripts && n.is_integer() => {
                out.ann(superscript(&n.numer().to_string()), Ann::Number);
            }
            _ => {
                out.ann("^", Ann::Operator);
                self.child(out, exp, Ctx::Exponent);
            }
        }
    }

    /// `name(a, b, …)`.
    fn call<'e>(&self, out: &mut Out<'e>, name: String, args: impl IntoIterator<Item = &'e Expr>) {
        out.ann(name, Ann::Function);
        out.open_block("(");
        for (idx, arg) in args.into_iter().enumerate() {
            if idx > 0 {
                out.ann(",", Ann::Punctuation);
                out.tok(Tok::Line);
            }
            self.child(out, arg, Ctx::Top);
        }
        out.close_block(")");
    }

    fn deriv<'e>(&self, out: &mut Out<'e>, body: &'e Expr, var: &Symbol) {
        let d = self.partial;
        let var_text = (self.symbol)(var);
        let var_is_name = is_one_char(&(self.symbol)(&Symbol::new(var.name())));
        match body.as_sym() {
            // `dL/dZ`: a one-letter name over a one-letter variable (which may carry a
            // subscript), the form the parser recognises as one token.
            Some(s)
                if var_is_name
                    && is_one_char(&(self.symbol)(&Symbol::new(s.name())))
                    && s.sub().is_none_or(|sub| {
                        // `∂O_i/∂z_k` reads back as one token; `dO_i/dz` and `∂o₁/∂z` do not.
                        d != "d"
                            && crate::index::is_indexed_sub(sub)
                            && !sub.chars().any(|c| c.is_ascii_digit())
                    }) =>
            {
                out.ann(
                    format!("{d}{}/{d}{var_text}", (self.symbol)(s)),
                    Ann::Operator,
                );
            }
            _ => {
                let var_text = if var_is_name {
                    var_text
                } else {
                    format!("({var_text})")
                };
                out.ann(format!("{d}/{d}{var_text}"), Ann::Operator);
                out.text(" ");
                self.child(out, body, Ctx::DerivBody);
            }
        }
    }

    fn sum<'e>(
        &self,
        out: &mut Out<'e>,
        index: &Symbol,
        lo: &'e Expr,
        hi: &'e Expr,
        body: &'e Expr,
    ) {
        let index = (self.symbol)(index);
        if self.big_sigma {
            out.ann("Σ", Ann::Operator);
            out.text(format!("_{{{index}="));
            self.child(out, lo, Ctx::Top);
            out.text("}^{");
            self.child(out, hi, Ctx::Top);
            out.text("} ");
            self.child(out, body, Ctx::SumBody);
        } else {
            out.ann("sum", Ann::Function);
            out.open_block("(");
            out.ann(index, Ann::Symbol);
            for part in [lo, hi, body] {
                out.ann(",", Ann::Punctuation);
                out.tok(Tok::Line);
                self.child(out, part, Ctx::Top);
            }
            out.close_block(")");
        }
    }
}

impl Printer for Spelling {
    fn expand<'e>(&self, e: &'e Expr, out: &mut Out<'e>) {
        match e.node() {
            Node::Num(r) => out.ann(self.number(r), Ann::Number),
            Node::Const(Constant::E) => out.ann("e", Ann::Constant),
            Node::Const(Constant::Pi) => out.ann(self.pi, Ann::Constant),
            Node::Sym(s) => out.ann((self.symbol)(s), Ann::Symbol),
            Node::Add(xs) => self.add(out, xs),
            Node::Mul(xs) => self.mul(out, e, xs),
            Node::Pow(base, exp) => self.pow(out, base, exp),
            Node::Call(f, args) => self.call(out, self.func(f), args),
            Node::Deriv(body, var) => self.deriv(out, body, var),
            Node::Sum {
                index,
                lo,
                hi,
                body,
            } => self.sum(out, index, lo, hi, body),
            Node::Delta(a, b) => match delta_subscript(a, b) {
                // δ_{ik} in Unicode (it reads back); `delta(i, k)` in ASCII.
                Some(sub) if self.delta != "delta" => {
                    out.ann(format!("{}_{{{sub}}}", self.delta), Ann::Function)
                }
                _ => self.call(out, self.delta.to_owned(), [a, b]),
            },
        }
    }

    fn ellipsis(&self) -> &'static str {
        self.ellipsis
    }
}

/// True when `e`, printed as a denominator, starts with an integer literal (`3`, `3^x`).
fn starts_with_integer(e: &Expr) -> bool {
    match e.node() {
        Node::Pow(base, _) => is_nonneg_int(base),
        _ => is_nonneg_int(e),
    }
}

/// `-12` → `⁻¹²`.
pub(crate) fn superscript(digits: &str) -> String {
    digits
        .chars()
        .map(|c| match c {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            '-' => '⁻',
            other => other,
        })
        .collect()
}

/// The subscript of δ_{ab} when both arguments are index names or integers (`ik`, `1k`,
/// `10,k`).
fn delta_subscript(a: &Expr, b: &Expr) -> Option<String> {
    let slot = |e: &Expr| match (e.as_sym(), crate::index::as_int(e)) {
        (Some(s), _) if s.sub().is_none() && crate::index::is_index_name(s.name()) => {
            Some(s.name().to_owned())
        }
        (_, Some(n)) if n >= 0 && e.as_num().is_some() => Some(n.to_string()),
        _ => None,
    };
    Some(crate::index::join_slots(&[slot(a)?, slot(b)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superscript_digits_and_minus() {
        assert_eq!(superscript("-120"), "⁻¹²⁰");
    }
}
