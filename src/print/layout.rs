//! The shared layout engine: a printer describes one node at a time as a short list of tokens
//! and child expressions; this module walks the tree with an explicit stack and turns the token
//! stream into a `pretty` document (or, for single-line output, straight into a string).
//!
//! Why tokens instead of building `RcDoc`s recursively: an `Expr` handed to the printer can be
//! hundreds of thousands of levels deep (derivatives of deep compositions), and both building
//! and dropping a nested `RcDoc` recurse. Here the walk is iterative, groups are only opened
//! down to [`MAX_LAYOUT_DEPTH`] (deeper content is laid out flat, so the output is still
//! complete), and the pieces of a group are joined as a balanced tree, so the document stays
//! shallow whatever the input.
//!
//! This module knows no notation: it does not decide parentheses or spellings.

use std::borrow::Cow;

use pretty::RcDoc;

use super::Ann;
use crate::expr::Expr;

/// Deepest nesting of groups and indentation levels given to `pretty`. Past it, line breaks
/// become spaces. 64 is far more than any layout at a sensible width can use, and keeps the
/// document (whose drop recurses) a few thousand levels deep at most.
pub(crate) const MAX_LAYOUT_DEPTH: usize = 64;

/// Most nodes printed (counted as a tree, so a shared subterm counts each time it is printed).
/// Past it each remaining subterm prints as an ellipsis. A tree this large is not readable
/// anyway; the bound keeps a DAG whose tree size is exponential from taking forever.
pub(crate) const MAX_PRINTED_NODES: usize = 1_000_000;

/// One layout token.
#[derive(Debug)]
pub(crate) enum Tok {
    /// Text without line breaks.
    Text(Cow<'static, str>),
    /// Text with a semantic annotation.
    Ann(Cow<'static, str>, Ann),
    /// A space, or a line break if the enclosing group breaks.
    Line,
    /// Nothing, or a line break if the enclosing group breaks.
    Line_,
    /// Starts a group (laid out flat if it fits).
    Group,
    /// Starts an indented region.
    Nest(isize),
    /// Ends the innermost `Group` or `Nest`.
    End,
    /// LaTeX juxtaposition: resolved to nothing, a space or `\cdot` from the text around it.
    Juxt,
}

/// One item of work: a subexpression still to expand, or a finished token.
pub(crate) enum Work<'e> {
    /// Expand this subexpression with the printer.
    Expr(&'e Expr),
    /// Emit this token.
    Tok(Tok),
}

/// The output of expanding one node, in reading order.
#[derive(Default)]
pub(crate) struct Out<'e> {
    items: Vec<Work<'e>>,
}

impl<'e> Out<'e> {
    /// Plain text.
    pub fn text(&mut self, s: impl Into<Cow<'static, str>>) {
        self.items.push(Work::Tok(Tok::Text(s.into())));
    }

    /// Annotated text.
    pub fn ann(&mut self, s: impl Into<Cow<'static, str>>, ann: Ann) {
        self.items.push(Work::Tok(Tok::Ann(s.into(), ann)));
    }

    /// A subexpression, printed as it is (the caller has decided about parentheses).
    pub fn expr(&mut self, e: &'e Expr) {
        self.items.push(Work::Expr(e));
    }

    /// A layout token.
    pub fn tok(&mut self, t: Tok) {
        self.items.push(Work::Tok(t));
    }

    /// A break opportunity of its own: nothing, or a new line if what follows does not fit.
    pub fn softline_(&mut self) {
        self.tok(Tok::Group);
        self.tok(Tok::Line_);
        self.tok(Tok::End);
    }

    /// Opens a bracketed block: `open`, then content that breaks onto its own indented lines
    /// when it does not fit. Close it with [`Out::close_block`].
    pub fn open_block(&mut self, open: &'static str) {
        self.ann(open, Ann::Punctuation);
        self.tok(Tok::Group);
        self.tok(Tok::Nest(INDENT));
        self.tok(Tok::Line_);
    }

    /// Closes a block opened with [`Out::open_block`].
    pub fn close_block(&mut self, close: &'static str) {
        self.tok(Tok::End);
        self.tok(Tok::Line_);
        self.tok(Tok::End);
        self.ann(close, Ann::Punctuation);
    }

    /// `e` between `open` and `close`, as a block.
    pub fn wrapped(&mut self, e: &'e Expr, open: &'static str, close: &'static str) {
        self.open_block(open);
        self.expr(e);
        self.close_block(close);
    }
}

/// Indentation of continuation lines.
pub(crate) const INDENT: isize = 2;

/// A notation: expands one node into tokens and child expressions.
pub(crate) trait Printer {
    /// Appends the layout of `e` to `out`. Children are pushed as `Work::Expr` (possibly
    /// wrapped in parentheses); they are expanded later, never by recursion.
    fn expand<'e>(&self, e: &'e Expr, out: &mut Out<'e>);

    /// What a subterm past [`MAX_PRINTED_NODES`] prints as.
    fn ellipsis(&self) -> &'static str;
}

/// Where tokens go.
trait Sink {
    fn push(&mut self, t: Tok);
}

/// Walks `e` iteratively, feeding the tokens to `sink`.
fn drive(e: &Expr, printer: &impl Printer, sink: &mut impl Sink) {
    let mut stack = vec![Work::Expr(e)];
    let mut out = Out::default();
    let mut budget = MAX_PRINTED_NODES;
    while let Some(work) = stack.pop() {
        match work {
            Work::Tok(t) => sink.push(t),
            Work::Expr(_) if budget == 0 => sink.push(Tok::Text(printer.ellipsis().into())),
            Work::Expr(e) => {
                budget -= 1;
                printer.expand(e, &mut out);
                stack.extend(out.items.drain(..).rev());
            }
        }
    }
}

/// Lays `e` out as a `pretty` document. `annotate` keeps semantic annotations (more pieces,
/// for callers that colour the output); without it adjacent text is merged.
pub(crate) fn to_doc(e: &Expr, printer: &impl Printer, annotate: bool) -> RcDoc<'static, Ann> {
    let mut sink = DocSink::new(annotate);
    drive(e, printer, &mut sink);
    sink.finish()
}

/// Lays `e` out on one line, without going through `pretty`.
pub(crate) fn to_line(e: &Expr, printer: &impl Printer) -> String {
    let mut sink = LineSink::default();
    drive(e, printer, &mut sink);
    sink.out
}

/// Tracks the text around a [`Tok::Juxt`] to choose its separator.
#[derive(Default)]
struct Juxt {
    last: Option<char>,
    pending: bool,
}

impl Juxt {
    /// The separator to put before `next`, if a juxtaposition is pending; records `next`.
    fn before(&mut self, next: &str) -> Option<&'static str> {
        let sep = match (self.pending, self.last, next.chars().next()) {
            (true, Some(prev), Some(_)) => Some(juxt_separator(prev, next)),
            _ => None,
        };
        self.pending = false;
        if let Some(c) = next.chars().last() {
            self.last = Some(c);
        }
        sep
    }
}

/// What goes between two juxtaposed LaTeX factors: `\cdot` where juxtaposition would read
/// wrongly (`2 \cdot 3`, `x \cdot 2`, `2 \cdot \frac{a}{b}`), a space between letters
/// (`w x`, `\eta \sigma(z)`), otherwise nothing (`2x`, `\sigma(z)\left(1 - z\right)`).
fn juxt_separator(prev: char, next: &str) -> &'static str {
    let first = next.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || (prev.is_ascii_digit() && next.starts_with("\\frac")) {
        " \\cdot "
    } else if next.starts_with("\\left") || first == '(' || prev.is_ascii_digit() {
        ""
    } else if first.is_alphabetic() || first == '\\' {
        " "
    } else {
        ""
    }
}

/// Single-line output: line breaks are spaces, groups and nesting vanish.
#[derive(Default)]
struct LineSink {
    out: String,
    juxt: Juxt,
}

impl LineSink {
    fn text(&mut self, s: &str) {
        if let Some(sep) = self.juxt.before(s) {
            self.out.push_str(sep);
        }
        self.out.push_str(s);
    }
}

impl Sink for LineSink {
    fn push(&mut self, t: Tok) {
        match t {
            Tok::Text(s) | Tok::Ann(s, _) => self.text(&s),
            Tok::Line => self.text(" "),
            Tok::Line_ | Tok::Group | Tok::Nest(_) | Tok::End => {}
            Tok::Juxt => self.juxt.pending = true,
        }
    }
}

/// A group or nest being built.
struct Frame {
    kind: FrameKind,
    pieces: Vec<RcDoc<'static, Ann>>,
    /// Plain text not yet turned into a piece.
    text: String,
}

enum FrameKind {
    Root,
    Group,
    Nest(isize),
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            pieces: Vec::new(),
            text: String::new(),
        }
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            self.pieces.push(RcDoc::text(text));
        }
    }

    fn into_doc(mut self) -> RcDoc<'static, Ann> {
        self.flush();
        let doc = concat_balanced(self.pieces);
        match self.kind {
            FrameKind::Root => doc,
            FrameKind::Group => doc.group(),
            FrameKind::Nest(n) => doc.nest(n),
        }
    }
}

/// Joins pieces as a balanced tree of `Append`s, so that its depth is logarithmic.
fn concat_balanced(mut pieces: Vec<RcDoc<'static, Ann>>) -> RcDoc<'static, Ann> {
    while pieces.len() > 1 {
        let mut next = Vec::with_capacity(pieces.len().div_ceil(2));
        let mut it = pieces.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => a.append(b),
                None => a,
            });
        }
        pieces = next;
    }
    pieces.pop().unwrap_or_else(RcDoc::nil)
}

/// Builds the `pretty` document from tokens, frame by frame.
struct DocSink {
    current: Frame,
    parents: Vec<Frame>,
    /// Groups and nests opened past [`MAX_LAYOUT_DEPTH`], laid out flat.
    flat: usize,
    annotate: bool,
    juxt: Juxt,
}

impl DocSink {
    fn new(annotate: bool) -> DocSink {
        DocSink {
            current: Frame::new(FrameKind::Root),
            parents: Vec::new(),
            flat: 0,
            annotate,
            juxt: Juxt::default(),
        }
    }

    fn text(&mut self, s: Cow<'static, str>, ann: Option<Ann>) {
        if let Some(sep) = self.juxt.before(&s) {
            self.current.text.push_str(sep);
        }
        match ann {
            Some(ann) if self.annotate => {
                self.current.flush();
                self.current.pieces.push(RcDoc::text(s).annotate(ann));
            }
            _ => self.current.text.push_str(&s),
        }
    }

    fn line(&mut self, doc: RcDoc<'static, Ann>, flat: &'static str) {
        if self.flat > 0 {
            self.text(flat.into(), None);
        } else {
            self.current.flush();
            self.current.pieces.push(doc);
        }
    }

    fn open(&mut self, kind: FrameKind) {
        if self.flat > 0 || self.parents.len() + 1 >= MAX_LAYOUT_DEPTH {
            self.flat += 1;
        } else {
            let parent = std::mem::replace(&mut self.current, Frame::new(kind));
            self.parents.push(parent);
        }
    }

    fn close(&mut self) {
        if self.flat > 0 {
            self.flat -= 1;
        } else if let Some(parent) = self.parents.pop() {
            let frame = std::mem::replace(&mut self.current, parent);
            let doc = frame.into_doc();
            self.current.flush();
            self.current.pieces.push(doc);
        }
    }

    fn finish(mut self) -> RcDoc<'static, Ann> {
        while !self.parents.is_empty() {
            self.close();
        }
        self.current.into_doc()
    }
}

impl Sink for DocSink {
    fn push(&mut self, t: Tok) {
        match t {
            Tok::Text(s) => self.text(s, None),
            Tok::Ann(s, ann) => self.text(s, Some(ann)),
            Tok::Line => self.line(RcDoc::line(), " "),
            Tok::Line_ => self.line(RcDoc::line_(), ""),
            Tok::Group => self.open(FrameKind::Group),
            Tok::Nest(n) => self.open(FrameKind::Nest(n)),
            Tok::End => self.close(),
            Tok::Juxt => self.juxt.pending = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn juxtaposition_separators() {
        assert_eq!(juxt_separator('2', "3"), " \\cdot ");
        assert_eq!(juxt_separator('x', "2"), " \\cdot ");
        assert_eq!(juxt_separator('2', "\\frac{a}{b}"), " \\cdot ");
        assert_eq!(juxt_separator('2', "x"), "");
        assert_eq!(juxt_separator(')', "\\left("), "");
        assert_eq!(juxt_separator('w', "x"), " ");
        assert_eq!(juxt_separator('a', "\\sigma(z)"), " ");
    }

    #[test]
    fn balanced_concat_keeps_order() {
        let pieces: Vec<RcDoc<'static, Ann>> = (0..7).map(|i| RcDoc::text(i.to_string())).collect();
        let doc = concat_balanced(pieces);
        assert_eq!(doc.pretty(80).to_string(), "0123456");
        assert_eq!(concat_balanced(Vec::new()).pretty(80).to_string(), "");
    }
}
