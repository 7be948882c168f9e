//! Finding the math in a homework document: the display equations of a Markdown or LaTeX file,
//! with the byte range of each body in the original text, so every report points at the
//! student's own line and column.
//!
//! Markdown goes through a real CommonMark parser (pulldown-cmark with its math extension): it
//! knows what is code, what is a `$$…$$` block and what is inline `$…$`, which a hand scan
//! gets wrong (a `$` in a code span, an escaped `\$`). LaTeX display forms that CommonMark does
//! not know (`\[…\]`, `\begin{equation}…`) are then found by a scan of the text outside code
//! and outside the math already found. A `.tex` file is scanned the same way, with `%`
//! comments skipped.
//!
//! Inline math is kept only where it states something (`$x = A_{prev}$`, an update with
//! `\leftarrow`); `$Z \leq 0$` and `$\frac{\partial L}{\partial A}$` in prose are not
//! equations. Whether a block parses is not decided here: that is `syntax::latex`'s job.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::source::Span;

/// The kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// Markdown with math (`.md`).
    Markdown,
    /// LaTeX (`.tex`).
    Latex,
}

/// How a piece of math was delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delim {
    /// `$$ … $$`.
    Dollars,
    /// `\[ … \]`.
    Brackets,
    /// `\begin{name} … \end{name}` (equation, align, gather and their starred forms).
    Env(String),
    /// Inline `$ … $` that states an equation.
    Inline,
}

/// One piece of math found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MathBlock {
    /// The math between the delimiters, as a byte range of the document.
    pub body: Span,
    /// The whole block with its delimiters.
    pub span: Span,
    /// How it was delimited.
    pub delim: Delim,
    /// For inline math: the prose right after it starts with "if" (`$A = 0$ if $Z \leq 0$`),
    /// so it is one case of a piecewise statement, not an equation on its own.
    pub conditional: bool,
    /// For a conditional inline equation: the math of its condition, when the prose is just
    /// "if" followed by inline math (`$Z \leq 0$`).
    pub condition: Option<Span>,
}

/// Display environments read as math.
const ENVIRONMENTS: &[&str] = &[
    "equation",
    "equation*",
    "align",
    "align*",
    "gather",
    "gather*",
    "multline",
    "multline*",
    "eqnarray",
    "eqnarray*",
];

/// The math of `text`, in document order.
pub fn math_blocks(text: &str, kind: DocKind) -> Vec<MathBlock> {
    let mut found = match kind {
        DocKind::Markdown => markdown_math(text),
        DocKind::Latex => Found::default(),
    };
    scan_latex(text, kind, &mut found);
    let mut blocks = found.blocks;
    blocks.sort_by_key(|b| b.span.start);
    blocks
}

#[derive(Default)]
struct Found {
    blocks: Vec<MathBlock>,
    /// Ranges a scan must not look into: code, and math already found.
    taken: Vec<Range<usize>>,
}

impl Found {
    fn is_taken(&self, at: usize) -> bool {
        self.taken.iter().any(|r| r.contains(&at))
    }
}

fn markdown_math(text: &str) -> Found {
    let mut found = Found::default();
    let parser = Parser::new_ext(text, Options::ENABLE_MATH).into_offset_iter();
    let mut in_code_block: Option<usize> = None;
    let mut pending_inline: Option<MathBlock> = None;
    // The conditional inline equation whose prose was just "if": the next inline math is its
    // condition.
    let mut awaiting_condition: Option<usize> = None;
    for (event, range) in parser {
        // An inline equation is conditional when the text right after it begins with "if".
        if let Some(mut b) = pending_inline.take() {
            if let Event::Text(t) = &event {
                b.conditional = t.trim_start().starts_with("if ");
                if b.conditional && t.trim() == "if" {
                    awaiting_condition = Some(found.blocks.len());
                }
            }
            found.blocks.push(b);
        } else if let Some(at) = awaiting_condition.take() {
            if matches!(event, Event::InlineMath(_)) {
                if let (Some(body), Some(b)) =
                    (strip(text, &range, "$", "$"), found.blocks.get_mut(at))
                {
                    b.condition = Some(body);
                }
            }
        }
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                let start = in_code_block.take().unwrap_or(range.start);
                found.taken.push(start..range.end);
            }
            Event::Code(_) => found.taken.push(range),
            Event::DisplayMath(_) => {
                found.taken.push(range.clone());
                if let Some(body) = strip(text, &range, "$$", "$$") {
                    found.blocks.push(MathBlock {
                        body,
                        span: Span::new(range.start, range.end),
                        delim: Delim::Dollars,
                        conditional: false,
                        condition: None,
                    });
                }
            }
            Event::InlineMath(m) => {
                found.taken.push(range.clone());
                if states_equation(&m) {
                    if let Some(body) = strip(text, &range, "$", "$") {
                        pending_inline = Some(MathBlock {
                            body,
                            span: Span::new(range.start, range.end),
                            delim: Delim::Inline,
                            conditional: false,
                            condition: None,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(b) = pending_inline {
        found.blocks.push(b);
    }
    found
}

/// The body of `text[range]` between `open` and `close`, as a span of `text`.
fn strip(text: &str, range: &Range<usize>, open: &str, close: &str) -> Option<Span> {
    let whole = text.get(range.clone())?;
    let inner = whole.strip_prefix(open)?.strip_suffix(close)?;
    let start = range.start + open.len();
    Some(Span::new(start, start + inner.len()))
}

/// Whether inline math states an equation or an update: a top-level `=` or `\leftarrow`
/// (outside braces), not only `\leq`, `\neq` and the like.
fn states_equation(m: &str) -> bool {
    let mut depth = 0i32;
    let bytes = m.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'=' if depth == 0 => {
                // `\leq` and friends are letters, so a bare `=` is an equality, except in
                // `\neq` spelled `!=`, `<=`, `>=`.
                let prev = i.checked_sub(1).and_then(|j| bytes.get(j)).copied();
                if !matches!(prev, Some(b'!' | b'<' | b'>')) {
                    return true;
                }
            }
            _ => {}
        }
    }
    m.contains("\\leftarrow") || m.contains("\\gets")
}

/// Finds `\[…\]`, `$$…$$` (LaTeX only: Markdown's were found by the parser) and display
/// environments outside what is taken; in LaTeX also inline `$…$` equations.
fn scan_latex(text: &str, kind: DocKind, found: &mut Found) {
    let mut i = 0usize;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if found.is_taken(i) {
            i += 1;
            continue;
        }
        let rest = text.get(i..).unwrap_or("");
        if kind == DocKind::Latex && rest.starts_with('%') && !is_escaped(bytes, i) {
            // A comment runs to the end of the line.
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with("\\[") {
            if let Some(end) = rest.find("\\]") {
                push(found, i, i + 2, i + end, i + end + 2, Delim::Brackets);
                i += end + 2;
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("\\begin{") {
            if let Some(close) = after.find('}') {
                let name = after.get(..close).unwrap_or("");
                if ENVIRONMENTS.contains(&name) {
                    let end_tag = format!("\\end{{{name}}}");
                    let body_start = i + "\\begin{".len() + close + 1;
                    if let Some(end) = text.get(body_start..).and_then(|t| t.find(&end_tag)) {
                        let body_end = body_start + end;
                        let block_end = body_end + end_tag.len();
                        push(
                            found,
                            i,
                            body_start,
                            body_end,
                            block_end,
                            Delim::Env(name.into()),
                        );
                        i = block_end;
                        continue;
                    }
                }
            }
        }
        if kind == DocKind::Latex && rest.starts_with('$') && !is_escaped(bytes, i) {
            let double = rest.starts_with("$$");
            let open = if double { 2 } else { 1 };
            let close_pat = if double { "$$" } else { "$" };
            if let Some(end) = rest.get(open..).and_then(|t| t.find(close_pat)) {
                let body_start = i + open;
                let body_end = body_start + end;
                let block_end = body_end + open;
                let body = text.get(body_start..body_end).unwrap_or("");
                if double {
                    push(found, i, body_start, body_end, block_end, Delim::Dollars);
                } else if states_equation(body) {
                    let after = text.get(block_end..).unwrap_or("");
                    push(found, i, body_start, body_end, block_end, Delim::Inline);
                    if let Some(b) = found.blocks.last_mut() {
                        b.conditional = after.trim_start().starts_with("if ");
                    }
                } else {
                    found.taken.push(i..block_end);
                }
                i = block_end;
                continue;
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
}

fn is_escaped(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes.get(i - 1) == Some(&b'\\')
}

fn push(
    found: &mut Found,
    start: usize,
    body_start: usize,
    body_end: usize,
    end: usize,
    delim: Delim,
) {
    found.taken.push(start..end);
    found.blocks.push(MathBlock {
        body: Span::new(body_start, body_end),
        span: Span::new(start, end),
        delim,
        conditional: false,
        condition: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(text: &str, kind: DocKind) -> Vec<String> {
        math_blocks(text, kind)
            .iter()
            .map(|b| {
                text.get(b.body.start..b.body.end)
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn markdown_display_math_and_inline_equations() {
        let md = "Given $$E = \\frac{1}{2}(o - y)^2$$ and $x = A_{prev}$ but not $Z \\leq 0$.\n";
        assert_eq!(
            bodies(md, DocKind::Markdown),
            ["E = \\frac{1}{2}(o - y)^2", "x = A_{prev}"]
        );
    }

    #[test]
    fn code_is_not_math() {
        let md = "`$a = b$`\n\n```\n$$x = 1$$\n```\n\n$$y = 2$$\n";
        assert_eq!(bodies(md, DocKind::Markdown), ["y = 2"]);
    }

    #[test]
    fn latex_forms_in_markdown_and_tex() {
        let text = "a \\[ x = 1 \\] b\n\\begin{align} y &= 2 \\\\ &= 3 \\end{align}\n";
        assert_eq!(
            bodies(text, DocKind::Markdown),
            [" x = 1 ", " y &= 2 \\\\ &= 3 "]
        );
        let tex =
            "% $$ not = this $$\n$$u = v$$ and $w = 1$ \\begin{equation*}q = 0\\end{equation*}";
        assert_eq!(bodies(tex, DocKind::Latex), ["u = v", "w = 1", "q = 0"]);
    }

    #[test]
    fn an_inline_case_of_a_piecewise_definition_is_conditional() {
        let md = "$A = 0$ if $Z \\leq 0$, $A = Z$ if $Z > 0$\n";
        let blocks = math_blocks(md, DocKind::Markdown);
        assert_eq!(blocks.len(), 2);
        assert!(blocks.iter().all(|b| b.conditional));
    }

    #[test]
    fn unclosed_delimiters_find_nothing_and_do_not_panic() {
        for text in [
            "\\[ x = 1",
            "\\begin{align} x",
            "$$",
            "$",
            "\\begin{",
            "€$x=1",
        ] {
            let _ = math_blocks(text, DocKind::Latex);
            let _ = math_blocks(text, DocKind::Markdown);
        }
    }
}
