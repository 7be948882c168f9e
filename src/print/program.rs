//! A whole `.dc` program printed back (`derivcheck fmt`): every statement in one format, with
//! the file's comments and paragraph breaks kept where they stood.
//!
//! Comments are not in the `Program` (lowering drops them), so they are taken from the source
//! text by line: whole-line comments and blank lines between statements are copied (runs of
//! blank lines fold into one), and the comment at the end of a statement's line, or of a
//! derivation step's line, is put back after the printed statement. Within a derivation the
//! step comments are aligned in one column. In the `.dc` language `#` always starts a comment,
//! so finding one needs no parsing.

use super::{to_string, Format, PrintOptions};
use crate::expr::{Expr, Node, Symbol};
use crate::program::{DefKind, Fact, Item, NumberSet, Program, Rel};
use crate::source::{SourceFile, Span};

/// `program`, read from `src`, printed back in `format` with its comments.
pub fn file(src: &SourceFile, program: &Program, format: Format) -> String {
    let lines: Vec<&str> = src.text().lines().collect();
    let line_of = |offset: usize| src.line_col(offset).line.saturating_sub(1);
    let mut out = String::new();
    // Index of the first source line not yet copied or printed.
    let mut next = 0usize;
    for item in &program.items {
        let span = item_span(item);
        let (first, last) = (line_of(span.start), line_of(span.end.saturating_sub(1)));
        copy_trivia(&lines, next, first, &mut out);
        let statement = statement_lines(item, format);
        let comments = item_comments(item, &lines, first, last, &line_of);
        push_aligned(&statement, &comments, &mut out);
        next = next.max(last + 1);
    }
    copy_trivia(&lines, next, lines.len(), &mut out);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One statement as printed lines: a derivation has its start line and one line per step.
pub fn statement_lines(item: &Item, format: Format) -> Vec<String> {
    // One line per statement: a `.dc` statement only continues onto the next line while a
    // bracket is open, so a formula broken before a top-level `+` would not read back.
    let one_line = PrintOptions { width: usize::MAX };
    let show = |e: &Expr| to_string(e, format, &one_line);
    match item {
        Item::Def(d) => {
            let head = match &d.symbol {
                Some(s) => show(&Expr::sym(s.clone())),
                None => {
                    let params: Vec<String> = d
                        .params
                        .iter()
                        .map(|p| show(&Expr::sym(p.clone())))
                        .collect();
                    let prime = if d.kind == DefKind::Derivative {
                        "'"
                    } else {
                        ""
                    };
                    let name = show(&Expr::sym(Symbol::new(&d.name)));
                    format!("{name}{prime}({})", params.join(", "))
                }
            };
            vec![format!("let {head} = {}", show(&d.body))]
        }
        Item::Assume(a) => vec![format!("assume {}", fact_text(&a.fact, &show))],
        Item::Depends(d) => {
            let deriv = Expr::new(Node::Deriv(Expr::sym(d.quantity.clone()), d.family.clone()));
            vec![format!(
                "assume {} = {} for {} = {}..{}",
                show(&deriv),
                show(&Expr::sym(d.partial.clone())),
                show(&Expr::sym(d.index.clone())),
                show(&d.lo),
                show(&d.hi)
            )]
        }
        Item::Claim(c) => vec![format!("claim {} = {}", show(&c.lhs), show(&c.rhs))],
        Item::Derive(d) => {
            let mut v = vec![format!("derive {}", show(&d.start))];
            v.extend(d.steps.iter().map(|s| format!("  = {}", show(&s.expr))));
            v
        }
    }
}

/// The source span of a statement (for a derivation: start line to last step).
pub fn item_span(i: &Item) -> Span {
    match i {
        Item::Def(d) => d.span,
        Item::Assume(a) => a.span,
        Item::Depends(d) => d.span,
        Item::Claim(c) => c.span,
        Item::Derive(d) => d.span,
    }
}

fn fact_text(fact: &Fact, show: &dyn Fn(&Expr) -> String) -> String {
    match fact {
        Fact::Compare(exprs, rels) => {
            let mut s = String::new();
            for (i, e) in exprs.iter().enumerate() {
                if i > 0 {
                    let r = match rels.get(i - 1) {
                        Some(Rel::Lt) => "<",
                        Some(Rel::Le) => "<=",
                        Some(Rel::Gt) => ">",
                        Some(Rel::Ge) => ">=",
                        Some(Rel::Eq) | None => "=",
                    };
                    s.push_str(&format!(" {r} "));
                }
                s.push_str(&show(e));
            }
            s
        }
        Fact::Member(e, set) => {
            let set = match set {
                NumberSet::Reals => "R".to_string(),
                NumberSet::Integers => "Z".to_string(),
                NumberSet::Naturals => "N".to_string(),
                NumberSet::Finite(vals) => format!(
                    "{{{}}}",
                    vals.iter().map(show).collect::<Vec<_>>().join(", ")
                ),
            };
            format!("{} in {set}", show(e))
        }
    }
}

/// The comment on a source line, from its `#` on, without trailing blanks.
fn comment_of(line: &str) -> Option<&str> {
    line.find('#')
        .map(|i| line.get(i..).unwrap_or("").trim_end())
}

/// Copies the comment-only and blank lines of `lines[from..to]` (one blank line per run).
fn copy_trivia(lines: &[&str], from: usize, to: usize, out: &mut String) {
    for line in lines.get(from..to).unwrap_or(&[]) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
        } else if trimmed.starts_with('#') {
            out.push_str(trimmed);
            out.push('\n');
        }
    }
}

/// The end-of-line comments that belong to each printed line of `item`.
fn item_comments(
    item: &Item,
    lines: &[&str],
    first: usize,
    last: usize,
    line_of: &dyn Fn(usize) -> usize,
) -> Vec<Option<String>> {
    let comments_in = |a: usize, b: usize| -> Option<String> {
        let found: Vec<&str> = lines
            .get(a..=b.max(a))
            .unwrap_or(&[])
            .iter()
            .filter_map(|l| comment_of(l))
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    };
    match item {
        Item::Derive(d) => {
            let step_lines: Vec<usize> = d.steps.iter().map(|s| line_of(s.span.start)).collect();
            let start_end = step_lines.first().map_or(last, |l| l.saturating_sub(1));
            let mut v = vec![comments_in(first, start_end.max(first))];
            for (k, &l) in step_lines.iter().enumerate() {
                let end = step_lines
                    .get(k + 1)
                    .map_or(last, |n| n.saturating_sub(1))
                    .max(l);
                v.push(comments_in(l, end));
            }
            v
        }
        _ => vec![comments_in(first, last)],
    }
}

/// Pushes the statement's lines with their comments, aligned in one column after the longest
/// commented line (only lines that have a comment count for the column).
fn push_aligned(statement: &[String], comments: &[Option<String>], out: &mut String) {
    let width = |s: &str| s.chars().count();
    let column = statement
        .iter()
        .zip(comments)
        .filter(|(_, c)| c.is_some())
        .map(|(s, _)| width(s.lines().last().unwrap_or(s)))
        .max()
        .unwrap_or(0)
        + 2;
    for (i, line) in statement.iter().enumerate() {
        out.push_str(line);
        if let Some(Some(c)) = comments.get(i) {
            let pad = column.saturating_sub(width(line.lines().last().unwrap_or(line)));
            out.push_str(&" ".repeat(pad));
            out.push_str(c);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::load::load;

    fn fmt(text: &str) -> String {
        let src = SourceFile::new("t.dc", text);
        let loaded = load(&src, &Limits::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        file(&src, &loaded.program, Format::Ascii)
    }

    #[test]
    fn comments_and_paragraphs_are_kept() {
        let text = "# head\n\n\nlet f(z) = z·z   # square\n# between\nclaim d/dz f(z) = 2z\n";
        assert_eq!(
            fmt(text),
            "# head\n\nlet f(z) = z*z  # square\n# between\nclaim d/dz f(z) = 2*z\n"
        );
    }

    #[test]
    fn step_comments_are_aligned() {
        let text = "derive d/dz z^2\n  = 2z # power rule\n  = z + z    # split\n";
        assert_eq!(
            fmt(text),
            "derive d/dz (z^2)\n  = 2*z    # power rule\n  = z + z  # split\n"
        );
    }

    #[test]
    fn a_file_without_comments_prints_its_statements() {
        assert_eq!(
            fmt("let A = σ(Z)\nassume 0<A<1"),
            "let A = sigma(Z)\nassume 0 < A < 1\n"
        );
    }
}
