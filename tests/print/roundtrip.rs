//! Property tests: printed ASCII and Unicode read back into the identical expression.
//!
//! The real parser is written in parallel, so this module carries a small reference reader
//! for exactly the subset of the `.dc` expression language the printer emits, implementing
//! the lowering rules of the language brief (flat chains, `/ f` as `Pow(f, −1)`, a leading
//! minus folded into a number literal, `p/q` as one literal only at the start of a chain,
//! `e^x` as exp). Once `syntax` lands, the same properties should also run against it.

use derivcheck::expr::{greek_ascii, Builtin, Constant, Expr, Func, Node, Rational, Symbol};
use derivcheck::print::{to_string, Format, PrintOptions};
use num_bigint::BigInt;
use proptest::prelude::*;
use proptest::sample::select;

/// User-defined functions the generated expressions call.
const USERS: &[&str] = &["f", "g"];

type Res<T> = Result<T, String>;

/// Reads an expression printed in ASCII or Unicode.
/// The two arguments of a Kronecker delta written as a subscript (`ik`, `0,0`), the reading
/// the lowering gives `δ_{…}`.
fn kronecker_slots(sub: &str) -> Option<(Expr, Expr)> {
    let slots = derivcheck::index::slots(sub);
    let value = |s: &String| {
        if derivcheck::index::is_index_name(s) {
            Some(Expr::var(s))
        } else {
            s.parse::<i64>().ok().map(Expr::int)
        }
    };
    match slots.as_slice() {
        [a, b] => Some((value(a)?, value(b)?)),
        _ => None,
    }
}

pub fn read(text: &str) -> Res<Expr> {
    let mut r = Reader {
        s: text.chars().collect(),
        pos: 0,
    };
    let e = r.sum()?;
    r.ws();
    if r.pos == r.s.len() {
        Ok(e)
    } else {
        Err(format!("trailing input at {}: {:?}", r.pos, r.rest()))
    }
}

struct Reader {
    s: Vec<char>,
    pos: usize,
}

fn is_minus(c: char) -> bool {
    c == '-' || c == '−'
}

fn superscript_value(c: char) -> Option<char> {
    Some(match c {
        '⁰' => '0',
        '¹' => '1',
        '²' => '2',
        '³' => '3',
        '⁴' => '4',
        '⁵' => '5',
        '⁶' => '6',
        '⁷' => '7',
        '⁸' => '8',
        '⁹' => '9',
        '⁻' => '-',
        _ => return None,
    })
}

fn subscript_value(c: char) -> Option<char> {
    let d = (c as u32).checked_sub(0x2080)?;
    if d < 10 {
        char::from_digit(d, 10)
    } else {
        None
    }
}

fn negate_literal(e: &Expr) -> Expr {
    match e.as_num() {
        Some(r) => Expr::num(-r),
        None => Expr::neg(e.clone()),
    }
}

fn is_function(name: &str) -> bool {
    USERS.contains(&name) || Builtin::from_name(name).is_some() || name == "delta" || name == "sum"
}

impl Reader {
    fn rest(&self) -> String {
        self.s.iter().skip(self.pos).collect()
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.pos + k).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Res<()> {
        self.ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected {c:?} at {}: {:?}", self.pos, self.rest()))
        }
    }

    fn integer(&mut self) -> Option<BigInt> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits: String = self.s.get(start..self.pos)?.iter().collect();
        digits.parse().ok()
    }

    fn sum(&mut self) -> Res<Expr> {
        self.ws();
        let mut neg = false;
        match self.peek() {
            Some(c) if is_minus(c) => {
                neg = true;
                self.pos += 1;
            }
            Some('+') => self.pos += 1,
            _ => {}
        }
        let mut terms = vec![self.term(neg)?];
        loop {
            let save = self.pos;
            self.ws();
            match self.peek() {
                Some('+') => neg = false,
                Some(c) if is_minus(c) => neg = true,
                _ => {
                    self.pos = save;
                    break;
                }
            }
            self.pos += 1;
            terms.push(self.term(neg)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::add(terms)
        })
    }

    /// A product chain, with the sign of its term folded in.
    fn term(&mut self, neg: bool) -> Res<Expr> {
        self.ws();
        let (first, literal) = self.first_factor()?;
        let mut factors = if !neg {
            vec![first]
        } else if literal {
            vec![negate_literal(&first)]
        } else {
            vec![Expr::int(-1), first]
        };
        loop {
            let save = self.pos;
            self.ws();
            match self.peek() {
                Some('*' | '·') => {
                    self.pos += 1;
                    factors.push(self.factor()?.0);
                }
                Some('/') => {
                    self.pos += 1;
                    factors.push(Expr::pow(self.factor()?.0, Expr::int(-1)));
                }
                _ => {
                    self.pos = save;
                    break;
                }
            }
        }
        Ok(if factors.len() == 1 {
            factors.remove(0)
        } else {
            Expr::mul(factors)
        })
    }

    /// At the start of a chain, `p/q` is one rational literal.
    fn first_factor(&mut self) -> Res<(Expr, bool)> {
        let save = self.pos;
        if let Some(p) = self.integer() {
            if self.peek() == Some('/') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
                let q = self.integer().ok_or("denominator")?;
                return Ok((Expr::num(Rational::new(p, q)), true));
            }
        }
        self.pos = save;
        self.factor()
    }

    /// A factor of a chain: a derivative operator, a big sigma, or a power.
    fn factor(&mut self) -> Res<(Expr, bool)> {
        self.ws();
        if let Some(d) = self.deriv()? {
            return Ok((d, false));
        }
        if self.peek() == Some('Σ') && self.peek_at(1) == Some('_') {
            return self.big_sigma().map(|e| (e, false));
        }
        self.power()
    }

    fn deriv(&mut self) -> Res<Option<Expr>> {
        let Some(d) = self.peek().filter(|&c| c == 'd' || c == '∂') else {
            return Ok(None);
        };
        if self.peek_at(1) == Some('/') && self.peek_at(2) == Some(d) {
            self.pos += 3;
            let var = if self.eat('(') {
                let v = self.symbol()?;
                self.expect(')')?;
                v
            } else {
                self.one_letter_symbol()?
            };
            self.ws();
            let (body, _) = self.power()?;
            return Ok(Some(Expr::deriv(body, var)));
        }
        let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
        if letter(self.peek_at(1))
            && self.peek_at(2) == Some('/')
            && self.peek_at(3) == Some(d)
            && letter(self.peek_at(4))
        {
            let body: String = self.peek_at(1).into_iter().collect();
            self.pos += 4;
            let var = self.one_letter_symbol()?;
            return Ok(Some(Expr::deriv(Expr::sym(Symbol::new(&body)), var)));
        }
        // `∂O_i/∂z_k`: a one-letter numerator with an index subscript.
        if d == '∂' && letter(self.peek_at(1)) && self.peek_at(2) == Some('_') {
            let start = self.pos;
            self.pos += 1;
            let body = self.one_letter_symbol()?;
            if self.peek() == Some('/') && self.peek_at(1) == Some(d) && letter(self.peek_at(2)) {
                self.pos += 2;
                let var = self.one_letter_symbol()?;
                return Ok(Some(Expr::deriv(Expr::sym(body), var)));
            }
            self.pos = start;
        }
        Ok(None)
    }

    fn big_sigma(&mut self) -> Res<Expr> {
        self.pos += 2;
        self.expect('{')?;
        let index = self.symbol()?;
        self.expect('=')?;
        let lo = self.sum()?;
        self.expect('}')?;
        self.expect('^')?;
        self.expect('{')?;
        let hi = self.sum()?;
        self.expect('}')?;
        let body = self.term(false)?;
        Ok(Expr::new(Node::Sum {
            index,
            lo,
            hi,
            body,
        }))
    }

    fn subscript(&mut self) -> Res<Option<String>> {
        if self.eat('_') {
            if self.eat('{') {
                let mut sub = String::new();
                while let Some(c) = self.peek().filter(|&c| c != '}') {
                    sub.push(c);
                    self.pos += 1;
                }
                self.expect('}')?;
                Ok(Some(sub))
            } else {
                let c = self.peek().ok_or("subscript")?;
                self.pos += 1;
                Ok(Some(c.to_string()))
            }
        } else {
            let mut sub = String::new();
            while let Some(d) = self.peek().and_then(subscript_value) {
                sub.push(d);
                self.pos += 1;
            }
            Ok(Some(sub).filter(|s| !s.is_empty()))
        }
    }

    fn one_letter_symbol(&mut self) -> Res<Symbol> {
        let c = self.peek().ok_or("variable")?;
        self.pos += 1;
        let sub = self.subscript()?;
        Ok(Symbol::with_sub(&c.to_string(), sub.as_deref()))
    }

    /// A name: one Greek letter (or `√`), or ASCII letters and digits.
    fn name(&mut self) -> Res<String> {
        let c = self.peek().ok_or("name")?;
        if !c.is_ascii_alphabetic() {
            self.pos += 1;
            return Ok(c.to_string());
        }
        let mut name = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_alphanumeric) {
            name.push(c);
            self.pos += 1;
        }
        Ok(name)
    }

    fn symbol(&mut self) -> Res<Symbol> {
        let name = self.name()?;
        let sub = self.subscript()?;
        Ok(Symbol::with_sub(&name, sub.as_deref()))
    }

    fn power(&mut self) -> Res<(Expr, bool)> {
        let (base, literal) = self.atom()?;
        let mut sup = String::new();
        while let Some(c) = self.peek().and_then(superscript_value) {
            sup.push(c);
            self.pos += 1;
        }
        if !sup.is_empty() {
            let n: BigInt = sup.parse().map_err(|_| format!("superscript {sup:?}"))?;
            return Ok((Expr::pow(base, Expr::num(Rational::from_integer(n))), false));
        }
        if self.eat('^') {
            let exp = self.exponent()?;
            return Ok((Expr::pow(base, exp), false));
        }
        Ok((base, literal))
    }

    fn exponent(&mut self) -> Res<Expr> {
        if self.peek().is_some_and(is_minus) {
            self.pos += 1;
            let (p, literal) = self.power()?;
            return Ok(if literal {
                negate_literal(&p)
            } else {
                Expr::neg(p)
            });
        }
        Ok(self.power()?.0)
    }

    fn atom(&mut self) -> Res<(Expr, bool)> {
        self.ws();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                let n = self.integer().ok_or("integer")?;
                Ok((Expr::num(Rational::from_integer(n)), true))
            }
            Some('(') => {
                self.pos += 1;
                let e = self.sum()?;
                self.expect(')')?;
                Ok((e, false))
            }
            Some(_) => self.named().map(|e| (e, false)),
            None => Err("unexpected end".into()),
        }
    }

    /// A name, call, constant or `e^x`.
    fn named(&mut self) -> Res<Expr> {
        let raw = self.name()?;
        let name = greek_ascii(&raw).unwrap_or(&raw).to_owned();
        let mut primes = 0;
        while self.eat('\'') {
            primes += 1;
        }
        if self.peek() == Some('(') && is_function(&name) {
            self.pos += 1;
            let mut args = vec![self.sum()?];
            self.ws();
            while self.eat(',') {
                args.push(self.sum()?);
                self.ws();
            }
            self.expect(')')?;
            return self.call(&name, primes, args);
        }
        if primes > 0 {
            return Err(format!("primes on {name}"));
        }
        if name == "e" && self.eat('^') {
            return Ok(Expr::call(Builtin::Exp, vec![self.exponent()?]));
        }
        let sub = self.subscript()?;
        Ok(match (name.as_str(), &sub) {
            ("e", None) => Expr::constant(Constant::E),
            ("pi", None) => Expr::constant(Constant::Pi),
            // δ_{ik}, δ_{0,0}: a delta with two index or number slots is Kronecker's.
            ("delta", Some(sub)) if kronecker_slots(sub).is_some() => {
                let (a, b) = kronecker_slots(sub).ok_or("slots")?;
                Expr::new(derivcheck::expr::Node::Delta(a, b))
            }
            _ => Expr::sym(Symbol::with_sub(&name, sub.as_deref())),
        })
    }

    fn call(&mut self, name: &str, primes: usize, mut args: Vec<Expr>) -> Res<Expr> {
        if name == "sum" && args.len() == 4 {
            let body = args.pop().ok_or("body")?;
            let hi = args.pop().ok_or("hi")?;
            let lo = args.pop().ok_or("lo")?;
            let index = args
                .pop()
                .and_then(|i| i.as_sym().cloned())
                .ok_or("index")?;
            return Ok(Expr::new(Node::Sum {
                index,
                lo,
                hi,
                body,
            }));
        }
        if name == "delta" && args.len() == 2 {
            let b = args.pop().ok_or("b")?;
            let a = args.pop().ok_or("a")?;
            return Ok(Expr::new(Node::Delta(a, b)));
        }
        let mut f = if USERS.contains(&name) {
            Func::User(name.into())
        } else {
            Func::Builtin(Builtin::from_name(name).ok_or("unknown function")?)
        };
        for _ in 0..primes {
            f = Func::Prime(Box::new(f));
        }
        Ok(Expr::apply(f, args))
    }
}

// ---- generated expressions -----------------------------------------------------------------

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (-3i64..=3).prop_map(Expr::int),
        (-3i64..=3, 2i64..=4).prop_map(|(a, b)| Expr::frac(a, b)),
        select(vec!["x", "y", "z", "C", "eta", "loss"]).prop_map(Expr::var),
        select(vec![("w", "j"), ("A", "prev"), ("o", "1"), ("w", "12")])
            .prop_map(|(n, s)| Expr::sym(Symbol::with_sub(n, Some(s)))),
        Just(Expr::constant(Constant::E)),
        Just(Expr::constant(Constant::Pi)),
    ]
}

/// Expressions whose sums and products have at least `min_len` elements (2 for the shapes
/// the parser produces, 0 to include the degenerate ones).
fn expr(min_len: usize) -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 48, 4, move |inner| {
        let var = select(vec![
            Symbol::new("z"),
            Symbol::new("eta"),
            Symbol::new("lr"),
            Symbol::with_sub("w", Some("ij")),
        ]);
        let func = select(vec![
            Func::Builtin(Builtin::Exp),
            Func::Builtin(Builtin::Sigmoid),
            Func::Builtin(Builtin::Tanh),
            Func::Builtin(Builtin::Sqrt),
            Func::Builtin(Builtin::Log),
            Func::User("f".into()),
            Func::Prime(Box::new(Func::User("g".into()))),
            Func::Prime(Box::new(Func::Builtin(Builtin::Sigmoid))),
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), min_len..4).prop_map(Expr::add),
            prop::collection::vec(inner.clone(), min_len..4).prop_map(Expr::mul),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::pow(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b)),
            (func, inner.clone()).prop_map(|(f, a)| Expr::apply(f, vec![a])),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::call(Builtin::Max, vec![a, b])),
            (inner.clone(), var).prop_map(|(a, v)| Expr::deriv(a, v)),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(lo, hi, body)| {
                Expr::new(Node::Sum {
                    index: Symbol::new("j"),
                    lo,
                    hi,
                    body,
                })
            }),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::new(Node::Delta(a, b))),
        ]
    })
}

fn format() -> impl Strategy<Value = Format> {
    select(vec![Format::Ascii, Format::Unicode, Format::Latex])
}

fn one_line(e: &Expr, format: Format) -> String {
    to_string(e, format, &PrintOptions { width: usize::MAX })
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #[test]
    fn ascii_reads_back(e in expr(2)) {
        let text = e.to_string();
        prop_assert_eq!(read(&text), Ok(e), "{}", text);
    }

    #[test]
    fn ascii_broken_into_lines_reads_back(e in expr(2)) {
        let text = to_string(&e, Format::Ascii, &PrintOptions { width: 16 });
        prop_assert_eq!(read(&text), Ok(e), "{}", text);
    }

    #[test]
    fn unicode_reads_back(e in expr(2)) {
        let text = one_line(&e, Format::Unicode);
        prop_assert_eq!(read(&text), Ok(e), "{}", text);
    }

    #[test]
    fn line_breaks_only_add_whitespace(e in expr(0), format in format(), width in 1usize..60) {
        let narrow = to_string(&e, format, &PrintOptions { width });
        let wide = one_line(&e, format);
        prop_assert!(!wide.contains('\n'));
        prop_assert_eq!(without_whitespace(&narrow), without_whitespace(&wide));
    }

    #[test]
    fn ascii_output_is_ascii(e in expr(0)) {
        let text = e.to_string();
        prop_assert!(text.is_ascii(), "{}", text);
    }

    #[test]
    fn parentheses_balance(e in expr(0), format in format()) {
        let text = one_line(&e, format);
        let mut depth = 0i64;
        for c in text.chars() {
            match c {
                '(' | '{' => depth += 1,
                ')' | '}' => depth -= 1,
                _ => {}
            }
            prop_assert!(depth >= 0, "{}", text);
        }
        prop_assert_eq!(depth, 0, "{}", text);
    }
}

#[test]
fn reader_follows_the_lowering_rules() {
    let x = || Expr::var("x");
    let cases = [
        ("-2*x", Expr::mul(vec![Expr::int(-2), x()])),
        ("-x", Expr::neg(x())),
        ("-x^2", Expr::neg(Expr::pow(x(), Expr::int(2)))),
        ("1/3*x", Expr::mul(vec![Expr::frac(1, 3), x()])),
        ("x/3", Expr::div(x(), Expr::int(3))),
        ("x^-1", Expr::pow(x(), Expr::int(-1))),
        ("e^x", Expr::call(Builtin::Exp, vec![x()])),
        (
            "a - (b - c)",
            Expr::sub(Expr::var("a"), Expr::sub(Expr::var("b"), Expr::var("c"))),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(read(text), Ok(expected), "{text}");
    }
}
