//! The `.dc` parser: nom combinators over `&str`, producing the spanned AST of `ast`.
//!
//! Reading a file happens in two steps. `split_statements` cuts the text into statements
//! (one per line, continued while brackets are open, `= expr` lines marked as steps) with a
//! cheap byte scan; then each statement is parsed on its own. A bad statement therefore costs
//! one error and parsing resumes at the next statement line.
//!
//! Inside a statement the grammar is a recursive descent (sum chain → product chain → factor
//! → power → atom) written with nom's `complete` primitives. Every parser skips the
//! whitespace before it and none skips the whitespace after it, so `rest` always starts right
//! after the node and spans come from `rest`'s position. The grammar is LL(1) apart from two
//! bounded look-aheads (`1/3` rational literals and `dL/dZ` derivatives), so there is no
//! backtracking blow-up.
//!
//! Depth: every construct that nests (brackets, call arguments, exponents, unary minus,
//! derivative operands, `Σ` bodies, indicators) goes through `deeper`, which fails with
//! `NestTooDeep` before recursing past `Limits::max_depth`; the recursion depth of the Rust
//! stack is therefore bounded by a small multiple of the limit whatever the input. Nodes are
//! counted per expression against `Limits::max_nodes`.
//!
//! This module does not decide what names mean (call or product, built-in or user
//! function): that is `lower`'s job.

use std::cell::Cell;

use nom::bytes::complete::take_while1;
use nom::character::complete::{char, digit1, satisfy};
use nom::combinator::{opt, recognize};
use nom::IResult;
use nom::Parser as _;

use super::ast::{
    Apply, Assume, BigSum, Bracket, Depends, Deriv, DerivFrac, DerivStyle, Expr, ExprKind, Factor,
    File, LetHead, MulOp, Name, NumLit, Pow, PowOp, Rel, SetExpr, Sign, Step, Stmt, StmtKind,
    Subscript, SubscriptForm, Term,
};
use super::error::{Found, ParseError, ParseErrorKind};
use super::spelling::{self, RelOp, SetName, REL_OPS, SET_NAMES};
use crate::limits::Limits;
use crate::source::{SourceFile, Span};

/// Error type threaded through the nom parsers: either a finished `ParseError` (committed,
/// raised as `nom::Err::Failure`) or nom's own "this alternative does not match" at a
/// position, which the caller turns into a message if nothing else matched.
#[derive(Debug)]
enum PErr<'a> {
    Generic(&'a str),
    Specific(Box<ParseError>),
}

impl<'a> nom::error::ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        PErr::Generic(input)
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// Skips whitespace and `#` comments.
fn ws(i: &str) -> &str {
    let mut rest = i;
    loop {
        let trimmed = rest.trim_start_matches(spelling::is_space);
        match trimmed.strip_prefix('#') {
            Some(comment) => {
                rest = comment.split_once('\n').map_or("", |(_, after)| after);
            }
            None => return trimmed,
        }
    }
}

fn first_char(i: &str) -> Option<char> {
    i.chars().next()
}

/// The part of `i` before its suffix `rest`.
fn consumed<'s>(i: &'s str, rest: &str) -> &'s str {
    i.get(..i.len().saturating_sub(rest.len())).unwrap_or("")
}

/// `i` without its first character.
fn skip_char(i: &str) -> &str {
    let mut chars = i.chars();
    chars.next();
    chars.as_str()
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// The text of a braced subscript up to where it stops: letters, digits and commas, the layer
/// letter `ℓ`, and an offset `+1`/`-1`/`−1` only right after a slot that is the layer letter
/// (`ℓ` or `ell`): `{ℓ+1,k}`. Other arithmetic (`x_{i+1}`, `x_{C+1}`) is not read: index
/// arithmetic would need shifted families, which are not modelled, so the parser stops there
/// (and reports the unclosed brace).
fn braced_subscript(i: &str) -> (&str, &str) {
    let mut slot_start = 0;
    let mut end = 0;
    let mut chars = i.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let ok = if c.is_ascii_alphanumeric() || c == '\u{2113}' {
            true
        } else if c == ',' {
            slot_start = at + 1;
            true
        } else if matches!(c, '+' | '-' | '\u{2212}') {
            let slot = i.get(slot_start..at).unwrap_or("");
            (slot == "\u{2113}" || slot == "ell")
                && chars.peek().is_some_and(|(_, n)| n.is_ascii_digit())
        } else {
            false
        };
        if !ok {
            break;
        }
        end = at + c.len_utf8();
    }
    let (text, rest) = i.split_at(end);
    (rest, text)
}

/// The leading ASCII identifier of `i` ("" if none).
fn leading_ident(i: &str) -> &str {
    let n = i
        .bytes()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(i.len());
    match i.get(..n) {
        Some(w) if w.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) => w,
        _ => "",
    }
}

/// One statement's source range, from the line splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawStmt {
    start: usize,
    end: usize,
    /// The line starts with `=`: a derivation step.
    step: bool,
}

/// Net count of opening minus closing brackets.
fn bracket_delta(s: &str) -> isize {
    s.bytes().fold(0isize, |acc, b| match b {
        b'(' | b'[' | b'{' => acc + 1,
        b')' | b']' | b'}' => acc - 1,
        _ => acc,
    })
}

/// The part of a line before any comment, trimmed; with its offset in the line.
fn line_content(line: &str) -> (usize, &str) {
    let code = line.split_once('#').map_or(line, |(code, _)| code);
    let trimmed_start = code.trim_start_matches(spelling::is_space);
    let offset = code.len().saturating_sub(trimmed_start.len());
    (offset, trimmed_start.trim_end_matches(spelling::is_space))
}

fn starts_statement(content: &str) -> bool {
    content.starts_with('=') || spelling::KEYWORDS.contains(&leading_ident(content))
}

/// Cuts the file into statements: one per non-blank line, continued on the following lines
/// while brackets are open. A continuation stops early at a line that starts a statement
/// (`let`, `assume`, `claim`, `derive`, or `=`), so one unclosed bracket does not swallow the
/// rest of the file.
fn split_statements(text: &str) -> Vec<RawStmt> {
    let mut out = Vec::new();
    let mut lines = text
        .split_inclusive('\n')
        .scan(0usize, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .peekable();
    while let Some((line_start, line)) = lines.next() {
        let (offset, content) = line_content(line);
        if content.is_empty() {
            continue;
        }
        let start = line_start + offset;
        let mut end = start + content.len();
        let mut depth = bracket_delta(content);
        while depth > 0 {
            let Some(&(next_start, next_line)) = lines.peek() else {
                break;
            };
            let (next_offset, next_content) = line_content(next_line);
            if !next_content.is_empty() && starts_statement(next_content) {
                break;
            }
            lines.next();
            if !next_content.is_empty() {
                depth += bracket_delta(next_content);
                end = next_start + next_offset + next_content.len();
            }
        }
        out.push(RawStmt {
            start,
            end,
            step: content.starts_with('='),
        });
    }
    out
}

/// The parser state for one statement or expression.
struct Parser<'a> {
    /// Offset of `text` in the whole source.
    base: usize,
    /// The text being parsed; every `&'a str` handled is a suffix of it.
    text: &'a str,
    max_depth: usize,
    max_nodes: usize,
    /// Nodes built so far in the current expression.
    nodes: Cell<usize>,
    /// How the end of `text` is described in errors.
    end: Found,
    /// `stack_position()` when the parser was made.
    stack_base: usize,
}

/// Most stack, in bytes, that one statement's parse may use. `Limits::max_depth` is the
/// limit users see; this is a backstop for builds where frames are large. The parser's
/// frames take about 2.5 KiB per nesting level with optimisations (`max_depth` 256 ≈ 640
/// KiB) but about 12 KiB unoptimised, where 256 levels would overflow a 2 MiB thread stack.
/// With the budget an unoptimised build stops at about 85 levels instead of crashing.
const STACK_BUDGET: usize = 1 << 20;

/// The address of a local variable: how far down the stack the caller is. Comparing two
/// positions gives the stack used between them (in either growth direction); this is the
/// same measure `stacker`/`psm` use, without unsafe code.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

/// Result of parsing one statement line.
enum Parsed<'a> {
    Stmt(Box<Stmt<'a>>),
    Steps(Vec<Step<'a>>),
}

impl<'a> Parser<'a> {
    fn new(base: usize, text: &'a str, limits: &Limits, end: Found) -> Self {
        Parser {
            base,
            text,
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            nodes: Cell::new(0),
            end,
            stack_base: stack_position(),
        }
    }

    // ---- positions and errors ----------------------------------------------------------

    fn pos(&self, i: &str) -> usize {
        self.base + self.text.len().saturating_sub(i.len())
    }

    fn span(&self, from: &str, to: &str) -> Span {
        Span::new(self.pos(from), self.pos(to))
    }

    /// The token at `i` (for "found …") and its span.
    #[inline(never)]
    fn found(&self, i: &str) -> (Found, Span) {
        let pos = self.pos(i);
        let Some(c) = first_char(i) else {
            return (self.end.clone(), Span::new(pos, pos));
        };
        if spelling::is_space(c) {
            return (Found::Space, Span::new(pos, pos + c.len_utf8()));
        }
        let len = if c.is_ascii_alphanumeric() {
            i.bytes()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(i.len())
        } else if "<>=".contains(c) {
            i.bytes()
                .position(|b| !b"<>=".contains(&b))
                .unwrap_or(i.len())
        } else {
            c.len_utf8()
        };
        let token = i.get(..len).unwrap_or("");
        let shown: String = if token.chars().count() > 24 {
            token.chars().take(24).chain(std::iter::once('…')).collect()
        } else {
            token.to_owned()
        };
        (Found::Token(shown), Span::new(pos, pos + len))
    }

    #[inline(never)]
    fn error(&self, kind: ParseErrorKind, span: Span) -> nom::Err<PErr<'a>> {
        nom::Err::Failure(PErr::Specific(Box::new(ParseError::new(kind, span))))
    }

    /// An error about the token at `i`. A character the language never uses is reported as
    /// `InvalidCharacter` whatever was expected, which is the clearer message.
    #[inline(never)]
    fn error_at(&self, i: &str, kind: impl FnOnce(Found) -> ParseErrorKind) -> ParseError {
        let (found, span) = self.found(i);
        let kind = match first_char(i) {
            Some(c) if !spelling::is_language_char(c) => ParseErrorKind::InvalidCharacter { ch: c },
            _ => kind(found),
        };
        ParseError::new(kind, span)
    }

    /// `error_at` as a committed nom error.
    #[inline(never)]
    fn err_at(&self, i: &'a str, kind: impl FnOnce(Found) -> ParseErrorKind) -> nom::Err<PErr<'a>> {
        nom::Err::Failure(PErr::Specific(Box::new(self.error_at(i, kind))))
    }

    #[inline(never)]
    fn fail_at<T>(&self, i: &'a str, kind: impl FnOnce(Found) -> ParseErrorKind) -> Res<'a, T> {
        Err(self.err_at(i, kind))
    }

    #[inline(never)]
    fn expected_err(&self, i: &'a str, expected: &'static str) -> nom::Err<PErr<'a>> {
        self.err_at(i, |found| ParseErrorKind::Expected { expected, found })
    }

    #[inline(never)]
    fn expected<T>(&self, i: &'a str, expected: &'static str) -> Res<'a, T> {
        Err(self.expected_err(i, expected))
    }

    /// The nesting level below `d`, or `NestTooDeep` at `i` when `d` is at
    /// `Limits::max_depth` or the parse has used `STACK_BUDGET` bytes of stack (then the
    /// error names the depth reached as the limit).
    fn deeper(&self, i: &'a str, d: usize) -> Result<usize, nom::Err<PErr<'a>>> {
        let over_budget = self.stack_base.abs_diff(stack_position()) > STACK_BUDGET;
        if d >= self.max_depth || over_budget {
            let (_, span) = self.found(i);
            let limit = if over_budget { d } else { self.max_depth };
            return Err(self.error(ParseErrorKind::NestTooDeep { limit }, span));
        }
        Ok(d + 1)
    }

    /// Counts one node, or fails with `TooManyNodes` at `i`.
    fn count_node(&self, i: &'a str) -> Result<(), nom::Err<PErr<'a>>> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > self.max_nodes {
            let (_, span) = self.found(i);
            return Err(self.error(
                ParseErrorKind::TooManyNodes {
                    limit: self.max_nodes,
                },
                span,
            ));
        }
        Ok(())
    }

    fn node(&self, kind: ExprKind<'a>, from: &'a str, to: &'a str) -> Expr<'a> {
        Expr {
            kind,
            span: self.span(from, to),
            parens: 0,
            bracket: None,
        }
    }

    // ---- statements --------------------------------------------------------------------

    fn statement(&self, i: &'a str, step: bool) -> Result<Parsed<'a>, ParseError> {
        let res = if step {
            self.steps(i)
                .map(|(rest, steps)| (rest, Parsed::Steps(steps)))
        } else {
            self.keyword_statement(i)
        };
        let (rest, parsed) = res.map_err(|e| self.finish_error(e))?;
        self.end_of_statement(rest)
            .map_err(|e| self.finish_error(e))?;
        Ok(parsed)
    }

    #[inline(never)]
    fn finish_error(&self, e: nom::Err<PErr<'a>>) -> ParseError {
        match e {
            nom::Err::Error(PErr::Specific(e)) | nom::Err::Failure(PErr::Specific(e)) => *e,
            // nom's own "no match" only escapes where an operand was required.
            nom::Err::Error(PErr::Generic(at)) | nom::Err::Failure(PErr::Generic(at)) => {
                self.error_at(at, |found| ParseErrorKind::ExpectedExpression { found })
            }
            // Only the streaming parsers report `Incomplete`; the `complete` ones used here
            // never do, but the end of the text is the honest position if one ever did.
            nom::Err::Incomplete(_) => {
                self.error_at("", |found| ParseErrorKind::ExpectedExpression { found })
            }
        }
    }

    /// Only whitespace and comments may follow a complete statement.
    fn end_of_statement(&self, rest: &'a str) -> Res<'a, ()> {
        let rest = ws(rest);
        match first_char(rest) {
            None => Ok((rest, ())),
            Some(ch @ (')' | ']' | '}')) => {
                let (_, span) = self.found(rest);
                Err(self.error(ParseErrorKind::UnmatchedClose { ch }, span))
            }
            Some(_) => self.fail_at(rest, |found| ParseErrorKind::ExpectedEnd { found }),
        }
    }

    fn keyword_statement(&self, i: &'a str) -> Res<'a, Parsed<'a>> {
        let word = leading_ident(i);
        let after = i.get(word.len()..).unwrap_or("");
        let is_word_end = !matches!(first_char(after), Some(c) if is_ident_char(c));
        let kind = match word {
            "let" if is_word_end => self.let_statement(after),
            "assume" if is_word_end => self.assume_statement(after),
            "claim" if is_word_end => self.claim_statement(after),
            "derive" if is_word_end => self.derive_statement(after),
            _ => return self.fail_at(i, |found| ParseErrorKind::UnknownStatement { found }),
        };
        let (rest, kind) = kind?;
        let span = self.span(i, rest);
        Ok((rest, Parsed::Stmt(Box::new(Stmt { kind, span }))))
    }

    /// `let head = body`.
    fn let_statement(&self, i: &'a str) -> Res<'a, StmtKind<'a>> {
        let bad = |at: &'a str, expected: &'static str| {
            self.fail_at(at, |found| ParseErrorKind::BadLetHead { expected, found })
        };
        let head_start = ws(i);
        let (mut rest, name) = match self.name(head_start) {
            Ok(found) => found,
            Err(nom::Err::Error(_)) => return bad(head_start, "a name after `let`"),
            Err(e) => return Err(e),
        };
        let mut primes = 0u8;
        while let Some(n) = first_char(rest).and_then(spelling::primes) {
            primes = primes.saturating_add(n);
            rest = skip_char(rest);
        }
        let mut params = None;
        let j = ws(rest);
        if let Some(mut k) = j.strip_prefix('(') {
            let mut list = Vec::new();
            loop {
                let at = ws(k);
                let (r, p) = match self.name(at) {
                    Ok(found) => found,
                    Err(nom::Err::Error(_)) => return bad(at, "a parameter name in `let f(…)`"),
                    Err(e) => return Err(e),
                };
                list.push(p);
                let at = ws(r);
                if let Some(r) = at.strip_prefix(',') {
                    k = r;
                } else if let Some(r) = at.strip_prefix(')') {
                    rest = r;
                    break;
                } else {
                    return bad(at, "`,` or `)` after a parameter in `let f(…)`");
                }
            }
            params = Some(list);
        } else if primes > 0 {
            return bad(j, "`(` and a parameter after a primed name in `let`");
        }
        let head = LetHead {
            name,
            primes,
            params,
            span: self.span(head_start, rest),
        };
        let j = ws(rest);
        let Some(k) = j.strip_prefix('=') else {
            return bad(j, "`=` after the defined name in `let`");
        };
        self.nodes.set(0);
        let (rest, body) = self.expr(k, 0)?;
        Ok((rest, StmtKind::Let { head, body }))
    }

    fn rel_op(&self, i: &'a str) -> Option<(&'a str, Rel)> {
        REL_OPS.iter().find_map(|(s, op)| {
            i.strip_prefix(s).map(|rest| {
                (
                    rest,
                    Rel {
                        op: *op,
                        span: self.span(i, rest),
                    },
                )
            })
        })
    }

    /// `assume e0 r0 e1 …` or `assume x ∈ S`.
    fn assume_statement(&self, i: &'a str) -> Res<'a, StmtKind<'a>> {
        self.nodes.set(0);
        let (rest, first) = self.expr(i, 0)?;
        let j = ws(rest);
        let member = j
            .strip_prefix(spelling::ELEMENT_OF)
            .or_else(|| (leading_ident(j) == "in").then(|| j.get(2..).unwrap_or("")));
        if let Some(k) = member {
            let (rest, set) = self.set(ws(k))?;
            return Ok((rest, StmtKind::Assume(Assume::Member { lhs: first, set })));
        }
        if self.rel_op(j).is_none() {
            return self.fail_at(j, |found| ParseErrorKind::BadAssume { found });
        }
        let mut chain = Vec::new();
        let mut rest = rest;
        while let Some((k, rel)) = self.rel_op(ws(rest)) {
            self.nodes.set(0);
            let (r, e) = self.expr(k, 0)?;
            chain.push((rel, e));
            rest = r;
        }
        let j = ws(rest);
        if leading_ident(j) == "for" {
            return self.depends_tail(j.get(3..).unwrap_or(""), first, chain);
        }
        Ok((
            rest,
            StmtKind::Assume(Assume::Compare { first, rest: chain }),
        ))
    }

    /// The rest of `assume ∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k} for k = 1..M` after `for`: the index,
    /// `=` (or `in`/`∈`), the bounds around `..`.
    fn depends_tail(
        &self,
        i: &'a str,
        first: Expr<'a>,
        chain: Vec<(Rel, Expr<'a>)>,
    ) -> Res<'a, StmtKind<'a>> {
        let at = ws(i);
        let mut chain = chain;
        let single = chain.len() == 1;
        let Some((_, value)) = chain.pop().filter(|(rel, _)| single && rel.op == RelOp::Eq) else {
            return self.expected(at, "a single `∂E/∂x = name` before `for`");
        };
        let (r, index) = match self.name(at) {
            Ok(found) => found,
            Err(nom::Err::Error(_)) => return self.expected(at, "an index name after `for`"),
            Err(e) => return Err(e),
        };
        let j = ws(r);
        let k = if let Some(k) = j.strip_prefix('=') {
            k
        } else if let Some(k) = j.strip_prefix(spelling::ELEMENT_OF) {
            k
        } else if leading_ident(j) == "in" {
            j.get(2..).unwrap_or("")
        } else {
            return self.expected(j, "`=` after the index in `for k = 1..M`");
        };
        let k = ws(k);
        // A factor, so that `1..M` stops before the `..` (a decimal needs a digit after `.`).
        let (r, lo) = self.factor(k, 0)?;
        let j = ws(r);
        let Some(k) = j.strip_prefix("..") else {
            return self.expected(j, "`..` between the bounds in `for k = 1..M`");
        };
        self.nodes.set(0);
        let (rest, hi) = self.expr(k, 0)?;
        Ok((
            rest,
            StmtKind::Assume(Assume::Depends(Box::new(Depends {
                deriv: first,
                value,
                index,
                lo,
                hi,
            }))),
        ))
    }

    /// The set after `∈`: `{a, b}`, `ℕ`/`N`, `ℤ`/`Z`, `ℝ`/`R`.
    fn set(&self, i: &'a str) -> Res<'a, SetExpr<'a>> {
        if let Some(mut k) = i.strip_prefix('{') {
            let mut elems = Vec::new();
            loop {
                self.nodes.set(0);
                let (r, e) = self.expr(k, 1)?;
                elems.push(e);
                let at = ws(r);
                if let Some(r) = at.strip_prefix(',') {
                    k = r;
                } else if let Some(r) = at.strip_prefix('}') {
                    return Ok((r, SetExpr::Finite(elems, self.span(i, r))));
                } else {
                    return self.unclosed(i, '{', at);
                }
            }
        }
        let word = leading_ident(i);
        for (spelled, set) in SET_NAMES {
            let matched = if spelled.is_ascii() {
                word == *spelled
            } else {
                i.starts_with(spelled)
            };
            if matched {
                let rest = i.get(spelled.len()..).unwrap_or("");
                if *set == SetName::Reals {
                    if let Some(after) = ws(rest).strip_prefix('^') {
                        let (rest, dims) = self.shape_dims(ws(after))?;
                        return Ok((rest, SetExpr::Shape(dims, self.span(i, rest))));
                    }
                }
                return Ok((rest, SetExpr::Named(*set, self.span(i, rest))));
            }
        }
        self.fail_at(i, |found| ParseErrorKind::ExpectedSet { found })
    }

    /// The dimensions after `ℝ^`: one dimension (`N`, `3`), or several in braces or round
    /// brackets separated by `×`, `x`, `*` or `,` (`{M×N}`, `(M x N)`).
    fn shape_dims(&self, i: &'a str) -> Res<'a, Vec<Expr<'a>>> {
        let close = match first_char(i) {
            Some('{') => Some('}'),
            Some('(') => Some(')'),
            _ => None,
        };
        let Some(close) = close else {
            let (rest, dim) = self.shape_dim(i)?;
            return Ok((rest, vec![dim]));
        };
        let open_at = i;
        let mut k = ws(skip_char(i));
        let mut dims = Vec::new();
        loop {
            let (rest, dim) = self.shape_dim(k)?;
            dims.push(dim);
            let at = ws(rest);
            if let Some(r) = at.strip_prefix(close) {
                return Ok((r, dims));
            }
            let sep = match first_char(at) {
                Some(c) if spelling::is_times(c) || c == ',' => Some(skip_char(at)),
                Some('x') if leading_ident(at) == "x" => Some(skip_char(at)),
                _ => None,
            };
            match sep {
                Some(r) => k = ws(r),
                None => return self.unclosed(open_at, if close == '}' { '{' } else { '(' }, at),
            }
        }
    }

    /// One dimension of a shape: a name without subscript or an integer literal.
    fn shape_dim(&self, i: &'a str) -> Res<'a, Expr<'a>> {
        self.count_node(i)?;
        match first_char(i) {
            Some(c) if c.is_ascii_digit() => {
                let (rest, digits) = digit1(i)?;
                let lit = NumLit::Decimal(digits);
                Ok((rest, self.node(ExprKind::Num(lit), i, rest)))
            }
            Some(c) if is_ident_start(c) || spelling::greek_letter(c).is_some() => {
                let (rest, name) = self.name(i)?;
                Ok((rest, self.node(ExprKind::Name(name), i, rest)))
            }
            _ => self.expected(i, "a dimension (a name or an integer) after `ℝ^`"),
        }
    }

    /// `claim lhs = rhs`, with exactly one top-level `=`.
    fn claim_statement(&self, i: &'a str) -> Res<'a, StmtKind<'a>> {
        self.nodes.set(0);
        let (rest, lhs) = self.expr(i, 0)?;
        let j = ws(rest);
        let Some(k) = j.strip_prefix('=') else {
            if let Some(ch @ (')' | ']' | '}')) = first_char(j) {
                let (_, span) = self.found(j);
                return Err(self.error(ParseErrorKind::UnmatchedClose { ch }, span));
            }
            return self.fail_at(j, |found| ParseErrorKind::ClaimWithoutEquals { found });
        };
        self.nodes.set(0);
        let (rest, rhs) = self.expr(k, 0)?;
        let j = ws(rest);
        if j.starts_with('=') {
            let (_, span) = self.found(j);
            return Err(self.error(ParseErrorKind::ClaimExtraEquals, span));
        }
        Ok((rest, StmtKind::Claim { lhs, rhs }))
    }

    /// `derive start`, optionally followed by `= step`s on the same line.
    fn derive_statement(&self, i: &'a str) -> Res<'a, StmtKind<'a>> {
        self.nodes.set(0);
        let (rest, start) = self.expr(i, 0)?;
        let (rest, steps) = if ws(rest).starts_with('=') {
            self.steps(ws(rest))?
        } else {
            (rest, Vec::new())
        };
        Ok((rest, StmtKind::Derive { start, steps }))
    }

    /// `= e1 = e2 …` (at least one).
    fn steps(&self, i: &'a str) -> Res<'a, Vec<Step<'a>>> {
        let mut steps = Vec::new();
        let mut rest = i;
        loop {
            let j = ws(rest);
            let Some(k) = j.strip_prefix('=') else {
                break;
            };
            self.nodes.set(0);
            let (r, expr) = self.expr(k, 0)?;
            steps.push(Step {
                expr,
                span: self.span(j, r),
            });
            rest = r;
        }
        Ok((rest, steps))
    }

    // ---- expressions -------------------------------------------------------------------

    /// A sum chain: `[sign] term (sign term)*`.
    fn expr(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let start = ws(i);
        let (after_sign, sign) = self.sign(start);
        let (mut rest, body) = self.product(ws(after_sign), d)?;
        let first = Term { sign, body };
        // Most expressions are one term: no `Vec` unless a second term follows.
        let (mut after, mut sign) = self.sign(ws(rest));
        if sign.is_none() {
            if first.sign.is_none() {
                return Ok((rest, first.body));
            }
            return Ok((rest, self.node(ExprKind::Sum(vec![first]), start, rest)));
        }
        let mut terms = vec![first];
        while let Some(next) = sign {
            self.count_node(after)?;
            let (r, body) = self.product(ws(after), d)?;
            terms.push(Term {
                sign: Some(next),
                body,
            });
            rest = r;
            (after, sign) = self.sign(ws(rest));
        }
        Ok((rest, self.node(ExprKind::Sum(terms), start, rest)))
    }

    /// A sign at `i`: `+`, `-`, `−`, `–`.
    fn sign(&self, i: &'a str) -> (&'a str, Option<Sign>) {
        match first_char(i) {
            Some(c) if c == '+' || spelling::is_minus(c) => {
                let rest = skip_char(i);
                (
                    rest,
                    Some(Sign {
                        negative: c != '+',
                        span: self.span(i, rest),
                    }),
                )
            }
            _ => (i, None),
        }
    }

    /// A product chain: `factor ((* | / | juxtaposition) factor)*`, where the first factor
    /// may be a rational literal `1/3`.
    fn product(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let start = i;
        let (mut rest, first) = match self.ratio(i)? {
            Some(found) => found,
            None => self.factor(i, d)?,
        };
        // Most chains are one factor: the `Vec` is only made when a second factor follows.
        let mut first = Some(first);
        let mut factors = Vec::new();
        loop {
            let j = ws(rest);
            let Some(c) = first_char(j) else {
                break;
            };
            let (k, op) = if j.starts_with("**") {
                break;
            } else if spelling::is_times(c) {
                (skip_char(j), MulOp::Times)
            } else if spelling::is_divide(c) {
                (skip_char(j), MulOp::Divide)
            } else if c == spelling::HADAMARD {
                (skip_char(j), MulOp::Hadamard)
            } else if let Some(k) = j.strip_prefix(".*") {
                (k, MulOp::Hadamard)
            } else if self.starts_factor(j) {
                (j, MulOp::Implicit)
            } else {
                break;
            };
            self.count_node(k)?;
            let (r, expr) = self.factor(ws(k), d)?;
            if let Some(expr) = first.take() {
                factors.push(Factor {
                    op: MulOp::First,
                    expr,
                });
            }
            factors.push(Factor { op, expr });
            rest = r;
        }
        match first {
            Some(only) => Ok((rest, only)),
            None => Ok((rest, self.node(ExprKind::Product(factors), start, rest))),
        }
    }

    /// True when a factor can start at `i` by juxtaposition (no operator before it).
    fn starts_factor(&self, i: &str) -> bool {
        let Some(c) = first_char(i) else {
            return false;
        };
        if is_ident_start(c) {
            return !spelling::RESERVED_WORDS.contains(&leading_ident(i));
        }
        c.is_ascii_digit()
            || c == '('
            || c == '['
            || c == spelling::PARTIAL
            || spelling::is_sigma_sum(c)
            || spelling::greek_letter(c).is_some()
            || spelling::vulgar_fraction(c).is_some()
            || c == spelling::SQUARE_ROOT
    }

    /// `1/3` at the start of a product chain: integer digits, `/`, integer digits, with no
    /// space in between, and the denominator not continued by `.`, an exponent, `^`, `**`,
    /// a superscript or `{`.
    #[inline(never)]
    fn ratio(&self, i: &'a str) -> Result<Option<(&'a str, Expr<'a>)>, nom::Err<PErr<'a>>> {
        let parsed: Res<'a, (&'a str, char, &'a str)> = (digit1, char('/'), digit1).parse(i);
        let Ok((rest, (num, _, den))) = parsed else {
            return Ok(None);
        };
        let continued = match first_char(rest) {
            Some('.' | '^' | '{') => true,
            Some('e' | 'E') => {
                let after = skip_char(rest);
                let after = after.strip_prefix(['+', '-']).unwrap_or(after);
                first_char(after).is_some_and(|c| c.is_ascii_digit())
            }
            Some(c) => spelling::is_superscript(c) || rest.starts_with("**"),
            None => false,
        };
        if continued {
            return Ok(None);
        }
        self.count_node(i)?;
        Ok(Some((
            rest,
            self.node(ExprKind::Ratio { num, den }, i, rest),
        )))
    }

    /// A factor: `-factor`, `+factor`, `Σ…`, `d/dz factor`, or a power.
    fn factor(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let Some(c) = first_char(i) else {
            return self.fail_at(i, |found| ParseErrorKind::ExpectedExpression { found });
        };
        if spelling::is_minus(c) || c == '+' {
            let inner_depth = self.deeper(i, d)?;
            self.count_node(i)?;
            let (rest, operand) = self.factor(ws(skip_char(i)), inner_depth)?;
            if c == '+' {
                return Ok((rest, operand));
            }
            return Ok((rest, self.node(ExprKind::Neg(Box::new(operand)), i, rest)));
        }
        if spelling::is_sigma_sum(c) {
            return self.big_sum(i, d);
        }
        if let Some(found) = self.deriv_op(i, d)? {
            return Ok(found);
        }
        self.power(i, d)
    }

    /// `atom superscript*` optionally followed by `^ factor` or `** factor`.
    fn power(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let (mut rest, mut base) = self.atom(i, d)?;
        loop {
            if let Some(r) = rest.strip_prefix(spelling::TRANSPOSE) {
                self.count_node(rest)?;
                base = self.node(ExprKind::Transpose(Box::new(base)), i, r);
                rest = r;
                continue;
            }
            let Some((r, exp)) = self.superscript(rest)? else {
                break;
            };
            self.count_node(rest)?;
            let op = PowOp::Superscript;
            base = self.node(ExprKind::Pow(Box::new(Pow { base, exp, op })), i, r);
            rest = r;
        }
        let j = ws(rest);
        let (k, op) = if let Some(k) = j.strip_prefix("**") {
            (k, PowOp::StarStar)
        } else if let Some(k) = j.strip_prefix('^') {
            (k, PowOp::Caret)
        } else {
            return Ok((rest, base));
        };
        let inner_depth = self.deeper(k, d)?;
        self.count_node(j)?;
        let k = ws(k);
        let (rest, exp) = if k.starts_with('{') {
            self.group(k, inner_depth, Bracket::Curly)?
        } else {
            self.factor(k, inner_depth)?
        };
        let kind = ExprKind::Pow(Box::new(Pow { base, exp, op }));
        Ok((rest, self.node(kind, i, rest)))
    }

    /// Superscript exponent directly after an atom: `²`, `⁻¹`, `¹⁰`.
    #[inline(never)]
    fn superscript(&self, i: &'a str) -> Result<Option<(&'a str, Expr<'a>)>, nom::Err<PErr<'a>>> {
        let Some(c) = first_char(i) else {
            return Ok(None);
        };
        if !spelling::is_superscript(c) {
            return Ok(None);
        }
        let negative = c == spelling::SUPERSCRIPT_MINUS;
        let after_sign = if negative || c == spelling::SUPERSCRIPT_PLUS {
            skip_char(i)
        } else {
            i
        };
        let digits_res: Res<'a, &'a str> =
            take_while1(|c| spelling::superscript_digit(c).is_some())(after_sign);
        let Ok((rest, digits)) = digits_res else {
            return Err(self.expected_err(after_sign, "superscript digits"));
        };
        self.count_node(i)?;
        let lit = NumLit::Superscript { negative, digits };
        Ok(Some((rest, self.node(ExprKind::Num(lit), i, rest))))
    }

    /// An atom: group, number, indicator, `dL/dZ`, name or call.
    fn atom(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        self.count_node(i)?;
        let Some(c) = first_char(i) else {
            return self.fail_at(i, |found| ParseErrorKind::ExpectedExpression { found });
        };
        match c {
            '(' => return self.group(i, d, Bracket::Round),
            '[' => return self.group(i, d, Bracket::Square),
            _ => {}
        }
        if c.is_ascii_digit() {
            return self.number(i, d);
        }
        if let Some((num, den)) = spelling::vulgar_fraction(c) {
            let rest = skip_char(i);
            let lit = NumLit::Vulgar { num, den };
            return Ok((rest, self.node(ExprKind::Num(lit), i, rest)));
        }
        if c == 'd' || c == spelling::PARTIAL {
            if let Some(found) = self.deriv_frac(i) {
                return Ok(found);
            }
            if c == spelling::PARTIAL {
                return self.expected(i, "a derivative `∂/∂x X` or `∂y/∂x`");
            }
        }
        if c == spelling::SQUARE_ROOT {
            return self.root(i, d);
        }
        if is_ident_start(c) || spelling::greek_letter(c).is_some() {
            if spelling::RESERVED_WORDS.contains(&leading_ident(i)) {
                return self.fail_at(i, |found| ParseErrorKind::ExpectedExpression { found });
            }
            return self.name_or_apply(i, d);
        }
        self.fail_at(i, |found| ParseErrorKind::ExpectedExpression { found })
    }

    /// `( expr )`, `[ expr ]` or `{ expr }`.
    fn group(&self, i: &'a str, d: usize, bracket: Bracket) -> Res<'a, Expr<'a>> {
        let (open, close) = match bracket {
            Bracket::Round => ('(', ')'),
            Bracket::Square => ('[', ']'),
            Bracket::Curly => ('{', '}'),
        };
        let inner_depth = self.deeper(i, d)?;
        let after_open = i.strip_prefix(open).unwrap_or(i);
        let (rest, inner) = self.expr(after_open, inner_depth)?;
        let j = ws(rest);
        match j.strip_prefix(close) {
            Some(rest) => {
                let mut inner = inner;
                inner.span = self.span(i, rest);
                inner.parens = inner.parens.saturating_add(1);
                inner.bracket = Some(bracket);
                Ok((rest, inner))
            }
            None => self.unclosed(i, open, j),
        }
    }

    /// `UnclosedParen` for the bracket `open` at `open_at`, found `at`.
    #[inline(never)]
    fn unclosed<T>(&self, open_at: &'a str, open: char, at: &'a str) -> Res<'a, T> {
        let close = match open {
            '(' => ')',
            '[' => ']',
            _ => '}',
        };
        let open_span = Span::new(self.pos(open_at), self.pos(open_at) + open.len_utf8());
        self.fail_at(at, |found| ParseErrorKind::UnclosedParen {
            open: open_span,
            open_char: open,
            close,
            found,
        })
    }

    /// A decimal literal (`2`, `0.5`, `1e-3`, `2.5E+2`), or the indicator `1{a = b}`.
    #[inline(never)]
    fn number(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let (rest, int) = digit1(i)?;
        let (rest, frac) = opt((char('.'), digit1)).parse(rest)?;
        let (rest, exp) = opt((
            satisfy(|c| c == 'e' || c == 'E'),
            recognize((opt(satisfy(|c| c == '+' || c == '-')), digit1)),
        ))
        .parse(rest)?;
        let frac = frac.map_or("", |(_, f)| f);
        let exp = exp.map_or("", |(_, e)| e);
        if int == "1" && frac.is_empty() && exp.is_empty() && rest.starts_with('{') {
            return self.indicator(i, rest, d);
        }
        let lit = NumLit::Decimal(consumed(i, rest));
        Ok((rest, self.node(ExprKind::Num(lit), i, rest)))
    }

    /// `1{a = b}`; `open` is at the `{`.
    #[inline(never)]
    fn indicator(&self, i: &'a str, open: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let inner_depth = self.deeper(open, d)?;
        let (rest, a) = self.expr(skip_char(open), inner_depth)?;
        let j = ws(rest);
        let Some(k) = j.strip_prefix('=') else {
            return self.expected(j, "`=` inside the indicator `1{a = b}`");
        };
        let (rest, b) = self.expr(k, inner_depth)?;
        let j = ws(rest);
        let Some(rest) = j.strip_prefix('}') else {
            return self.unclosed(open, '{', j);
        };
        let kind = ExprKind::Indicator(Box::new((a, b)));
        Ok((rest, self.node(kind, i, rest)))
    }

    /// A name: an ASCII identifier or one Greek letter, then an optional subscript.
    fn name(&self, i: &'a str) -> Res<'a, Name<'a>> {
        let (rest, ident) = match first_char(i) {
            Some(c) if is_ident_start(c) => take_while1(is_ident_char)(i)?,
            Some(c) if spelling::greek_letter(c).is_some() && !spelling::is_sigma_sum(c) => {
                let rest = skip_char(i);
                (rest, consumed(i, rest))
            }
            _ => return Err(nom::Err::Error(PErr::Generic(i))),
        };
        let (rest, sub) = self.subscript(rest)?;
        Ok((
            rest,
            Name {
                ident,
                sub,
                span: self.span(i, rest),
            },
        ))
    }

    /// `_x`, `_12`, `_{ij}` or Unicode subscript digits, if present.
    fn subscript(&self, i: &'a str) -> Res<'a, Option<Subscript<'a>>> {
        if let Some(after) = i.strip_prefix('_') {
            if let Some(inner) = after.strip_prefix('{') {
                let (r, text) = braced_subscript(inner);
                if text.is_empty() {
                    return self.fail_at(r, |found| ParseErrorKind::EmptySubscript { found });
                }
                let Some(rest) = r.strip_prefix('}') else {
                    return self.unclosed(after, '{', r);
                };
                let form = SubscriptForm::Braced;
                return Ok((rest, Some(Subscript::new(text, form))));
            }
            let parsed: Res<'a, &'a str> = take_while1(is_ident_char)(after);
            return match parsed {
                Ok((rest, text)) => {
                    let form = SubscriptForm::Plain;
                    Ok((rest, Some(Subscript::new(text, form))))
                }
                Err(_) => self.fail_at(after, |found| ParseErrorKind::EmptySubscript { found }),
            };
        }
        let parsed: Res<'a, &'a str> = take_while1(|c| spelling::subscript_digit(c).is_some())(i);
        match parsed {
            Ok((rest, text)) => {
                let form = SubscriptForm::Unicode;
                Ok((rest, Some(Subscript::new(text, form))))
            }
            Err(_) => Ok((i, None)),
        }
    }

    /// A name, optionally with primes, optionally applied to `(args)`.
    fn name_or_apply(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let (mut rest, name) = self.name(i)?;
        let mut primes = 0u8;
        while let Some(n) = first_char(rest).and_then(spelling::primes) {
            primes = primes.saturating_add(n);
            rest = skip_char(rest);
        }
        let j = ws(rest);
        if !j.starts_with('(') {
            if primes > 0 {
                return self.expected(j, "`(` after a primed function name");
            }
            return Ok((rest, self.node(ExprKind::Name(name), i, rest)));
        }
        self.apply_args(i, name, primes, j, d)
    }

    /// `√(x)`: the Unicode name of `sqrt`, which must be followed by brackets (`√x²` would be
    /// ambiguous).
    fn root(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        let rest = skip_char(i);
        let name = Name {
            ident: consumed(i, rest),
            sub: None,
            span: self.span(i, rest),
        };
        let j = ws(rest);
        if !j.starts_with('(') {
            return self.expected(j, "`(` after `√`");
        }
        self.apply_args(i, name, 0, j, d)
    }

    /// The argument list of `name` starting at the `(` at `j`; `i` is where `name` starts.
    fn apply_args(
        &self,
        i: &'a str,
        name: Name<'a>,
        primes: u8,
        j: &'a str,
        d: usize,
    ) -> Res<'a, Expr<'a>> {
        let inner_depth = self.deeper(j, d)?;
        let (mut r, first) = self.expr(skip_char(j), inner_depth)?;
        let mut rest_args = Vec::new();
        let rest = loop {
            let at = ws(r);
            if let Some(k) = at.strip_prefix(',') {
                let (after, arg) = self.expr(k, inner_depth)?;
                rest_args.push(arg);
                r = after;
            } else if let Some(after) = at.strip_prefix(')') {
                break after;
            } else {
                return self.unclosed(j, '(', at);
            }
        };
        let apply = Apply {
            name,
            primes,
            first,
            rest: rest_args,
        };
        let kind = ExprKind::Apply(Box::new(apply));
        Ok((rest, self.node(kind, i, rest)))
    }

    /// `d` or `∂` at the start of `i`, with its style and the rest.
    fn d_sign(i: &'a str) -> Option<(&'a str, DerivStyle)> {
        if let Some(rest) = i.strip_prefix('d') {
            Some((rest, DerivStyle::D))
        } else {
            i.strip_prefix(spelling::PARTIAL)
                .map(|rest| (rest, DerivStyle::Partial))
        }
    }

    /// `d/dz X`, `∂/∂z X`, `d/d(z) X`: the operator applies to the next factor.
    #[inline(never)]
    fn deriv_op(
        &self,
        i: &'a str,
        d: usize,
    ) -> Result<Option<(&'a str, Expr<'a>)>, nom::Err<PErr<'a>>> {
        let Some((after_top, top_style)) = Self::d_sign(i) else {
            return Ok(None);
        };
        let Some(after_slash) = after_top.strip_prefix('/') else {
            return Ok(None);
        };
        let Some((after_bottom, bottom_style)) = Self::d_sign(after_slash) else {
            return Ok(None);
        };
        let style = if top_style == DerivStyle::Partial || bottom_style == DerivStyle::Partial {
            DerivStyle::Partial
        } else {
            DerivStyle::D
        };
        let (rest, var) = if let Some(inner) = after_bottom.strip_prefix('(') {
            let at = ws(inner);
            let Ok((r, var)) = self.name(at) else {
                return Err(self.expected_err(at, "a variable after `d/d(`"));
            };
            let j = ws(r);
            let Some(r) = j.strip_prefix(')') else {
                return self.unclosed::<()>(after_bottom, '(', j).map(|_| None);
            };
            (r, var)
        } else {
            match self.name(after_bottom) {
                Ok(found) => found,
                Err(nom::Err::Error(_)) => {
                    return Err(self.expected_err(after_bottom, "a variable after `d/d`"))
                }
                Err(e) => return Err(e),
            }
        };
        let inner_depth = self.deeper(rest, d)?;
        self.count_node(i)?;
        let (rest, body) = self.factor(ws(rest), inner_depth)?;
        let kind = ExprKind::Deriv(Box::new(Deriv { var, body, style }));
        Ok(Some((rest, self.node(kind, i, rest))))
    }

    /// `dL/dZ`, `∂L/∂Z`: a name over a name, written without spaces. `None` when `i` does
    /// not have that shape (then `d…` is an ordinary name).
    #[inline(never)]
    fn deriv_frac(&self, i: &'a str) -> Option<(&'a str, Expr<'a>)> {
        let (after_top, top_style) = Self::d_sign(i)?;
        let (after_num, num) = self.name(after_top).ok()?;
        let after_slash = after_num.strip_prefix('/')?;
        let (after_bottom, bottom_style) = Self::d_sign(after_slash)?;
        let (rest, var) = self.name(after_bottom).ok()?;
        let style = if top_style == DerivStyle::Partial || bottom_style == DerivStyle::Partial {
            DerivStyle::Partial
        } else {
            DerivStyle::D
        };
        let kind = ExprKind::DerivFrac(Box::new(DerivFrac { num, var, style }));
        Some((rest, self.node(kind, i, rest)))
    }

    /// `Σ_{j=lo}^{hi} body`, where the body is the following product chain.
    #[inline(never)]
    fn big_sum(&self, i: &'a str, d: usize) -> Res<'a, Expr<'a>> {
        const BOUNDS: &str = "`_{index = lower bound}` after `Σ`";
        let inner_depth = self.deeper(i, d)?;
        self.count_node(i)?;
        let after_sigma = skip_char(i);
        let Some(after_open) = after_sigma.strip_prefix("_{") else {
            return self.expected(after_sigma, BOUNDS);
        };
        let at = ws(after_open);
        let Ok((r, index)) = self.name(at) else {
            return self.expected(at, BOUNDS);
        };
        let j = ws(r);
        let Some(k) = j.strip_prefix('=') else {
            return self.expected(j, "`=` after the index of `Σ`");
        };
        let (r, lo) = self.expr(k, inner_depth)?;
        let j = ws(r);
        let Some(r) = j.strip_prefix('}') else {
            return self.unclosed(after_sigma.get(1..).unwrap_or(after_sigma), '{', j);
        };
        let Some(k) = r.strip_prefix('^') else {
            return self.expected(r, "`^{upper bound}` after the lower bound of `Σ`");
        };
        let (r, hi) = match first_char(k) {
            Some('{') => self.group(k, inner_depth, Bracket::Curly)?,
            Some(_) => self.atom(k, inner_depth)?,
            None => return self.expected(k, "an upper bound after `^`"),
        };
        let (rest, body) = self.product(ws(r), inner_depth)?;
        let kind = ExprKind::BigSum(Box::new(BigSum {
            index,
            lo,
            hi,
            body,
        }));
        Ok((rest, self.node(kind, i, rest)))
    }
}

/// Parses a whole `.dc` file. Never gives up: a statement with an error is reported and left
/// out, and parsing resumes at the next statement line.
pub fn parse_dc<'a>(src: &'a SourceFile, limits: &Limits) -> (File<'a>, Vec<ParseError>) {
    let text = src.text();
    let mut errors = Vec::new();
    if text.len() > limits.max_input_bytes {
        errors.push(ParseError::new(
            ParseErrorKind::InputTooLarge {
                size: text.len(),
                limit: limits.max_input_bytes,
            },
            Span::new(0, 0),
        ));
        return (File::default(), errors);
    }
    /// What the previous statement was, for attaching `= step` lines.
    enum Prev {
        Other,
        Derive(usize),
        BrokenDerive,
    }
    let raws = split_statements(text);
    let mut stmts: Vec<Stmt<'a>> = Vec::with_capacity(raws.len());
    let mut prev = Prev::Other;
    for raw in raws {
        let stmt_text = text.get(raw.start..raw.end).unwrap_or("");
        let parser = Parser::new(raw.start, stmt_text, limits, Found::EndOfLine);
        let res = parser.statement(stmt_text, raw.step);
        match (res, raw.step) {
            (Ok(Parsed::Steps(steps)), _) => match prev {
                Prev::Derive(idx) => {
                    if let Some(stmt) = stmts.get_mut(idx) {
                        if let StmtKind::Derive {
                            steps: existing, ..
                        } = &mut stmt.kind
                        {
                            if let Some(last) = steps.last() {
                                stmt.span = stmt.span.to(last.span);
                            }
                            existing.extend(steps);
                        }
                    }
                }
                Prev::BrokenDerive => {}
                Prev::Other => errors.push(ParseError::new(
                    ParseErrorKind::StepWithoutDerive,
                    Span::new(raw.start, raw.start + 1),
                )),
            },
            (Ok(Parsed::Stmt(stmt)), _) => {
                prev = match stmt.kind {
                    StmtKind::Derive { .. } => Prev::Derive(stmts.len()),
                    _ => Prev::Other,
                };
                stmts.push(*stmt);
            }
            (Err(e), true) => {
                if matches!(prev, Prev::Other) {
                    errors.push(ParseError::new(
                        ParseErrorKind::StepWithoutDerive,
                        Span::new(raw.start, raw.start + 1),
                    ));
                } else {
                    errors.push(e);
                }
            }
            (Err(e), false) => {
                errors.push(e);
                prev = if leading_ident(stmt_text) == "derive" {
                    Prev::BrokenDerive
                } else {
                    Prev::Other
                };
            }
        }
    }
    (File { stmts }, errors)
}

/// Parses one expression (the command line's `derivcheck parse EXPR`). Newlines count as
/// spaces; `#` starts a comment.
pub fn parse_expr<'a>(text: &'a str, limits: &Limits) -> Result<Expr<'a>, Vec<ParseError>> {
    if text.len() > limits.max_input_bytes {
        return Err(vec![ParseError::new(
            ParseErrorKind::InputTooLarge {
                size: text.len(),
                limit: limits.max_input_bytes,
            },
            Span::new(0, 0),
        )]);
    }
    let parser = Parser::new(0, text, limits, Found::EndOfInput);
    let res = parser
        .expr(text, 0)
        .and_then(|(rest, e)| parser.end_of_statement(rest).map(|_| e));
    res.map_err(|e| vec![parser.finish_error(e)])
}

/// Checks that `bytes` are UTF-8 text within `limits.max_input_bytes`. The error for invalid
/// UTF-8 has an empty span at the first bad byte (the bytes before it are valid, so the
/// offset is the same in a lossily decoded copy of the text).
pub fn decode<'b>(bytes: &'b [u8], limits: &Limits) -> Result<&'b str, ParseError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(ParseError::new(
            ParseErrorKind::InputTooLarge {
                size: bytes.len(),
                limit: limits.max_input_bytes,
            },
            Span::new(0, 0),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        ParseError::new(
            ParseErrorKind::InvalidUtf8 {
                byte: bytes.get(at).copied().unwrap_or(0),
            },
            Span::new(at, at),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Vec<(&str, bool)> {
        split_statements(text)
            .into_iter()
            .map(|r| (&text[r.start..r.end], r.step))
            .collect()
    }

    #[test]
    fn statements_are_lines_continued_while_brackets_are_open() {
        let text = "let a = (1 +\n   2)  # c\n\n  claim a = 3\n";
        assert_eq!(
            raw(text),
            vec![("let a = (1 +\n   2)", false), ("claim a = 3", false)]
        );
    }

    #[test]
    fn continuation_stops_at_a_statement_line() {
        let text = "derive f(x\n  = 2\nlet y = 1";
        assert_eq!(
            raw(text),
            vec![("derive f(x", false), ("= 2", true), ("let y = 1", false)]
        );
    }

    #[test]
    fn comments_do_not_count_brackets() {
        assert_eq!(
            raw("claim a = b # (\nclaim c = d"),
            vec![("claim a = b", false), ("claim c = d", false)]
        );
    }

    #[test]
    fn whitespace_skips_comments_inside_statements() {
        assert_eq!(ws("  # note (\n  x"), "x");
        assert_eq!(ws("# only"), "");
    }
}
