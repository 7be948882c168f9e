//! The LaTeX math front end: every construct homework uses lowers to the same `Expr` as its
//! `.dc` spelling, rows and chains come out of `aligned` blocks, what is not understood is
//! reported (never guessed), and hostile input gives errors, not panics.

use derivcheck::expr::Expr;
use derivcheck::limits::Limits;
use derivcheck::lower::{lower, lower_expr};
use derivcheck::print;
use derivcheck::program::Program;
use derivcheck::report::diagnostic::{render, RenderOptions};
use derivcheck::source::{SourceFile, Span};
use derivcheck::syntax::latex::{parse_display, MathRel, MathRow};
use derivcheck::syntax::{parse_dc, parse_expr, ParseError};
use proptest::prelude::*;

// ---- helpers ---------------------------------------------------------------------------

fn limits() -> Limits {
    Limits::default()
}

fn program(defs: &str) -> Program {
    let file = SourceFile::new("defs.dc", defs);
    let (ast, errors) = parse_dc(&file, &limits());
    assert!(errors.is_empty(), "{defs:?}: {errors:?}");
    let (program, errors) = lower(&ast, &limits());
    assert!(errors.is_empty(), "{defs:?}: {errors:?}");
    program
}

fn display(src: &str) -> (Vec<MathRow<'_>>, Vec<ParseError>) {
    parse_display(src, Span::new(0, src.len()), &limits())
}

/// The one expression of a one-row, one-item display, lowered in the scope of `defs`.
fn latex_expr(defs: &str, src: &str) -> Expr {
    let (rows, errors) = display(src);
    assert!(errors.is_empty(), "{src:?}: {errors:?}");
    let [row] = rows.as_slice() else {
        panic!("{src:?}: expected one row, found {}", rows.len());
    };
    let [item] = row.items.as_slice() else {
        panic!("{src:?}: expected one item, found {}", row.items.len());
    };
    lower_expr(item, &program(defs), &limits()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
}

fn dc_expr(defs: &str, src: &str) -> Expr {
    let ast = parse_expr(src, &limits()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
    lower_expr(&ast, &program(defs), &limits()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
}

/// LaTeX `latex` lowers to the same `Expr` as the `.dc` expression `dc`.
fn check(latex: &str, dc: &str) {
    check_in("", latex, dc);
}

/// `check` with the definitions `defs` (a `.dc` file) in scope.
fn check_in(defs: &str, latex: &str, dc: &str) {
    let got = latex_expr(defs, latex);
    let want = dc_expr(defs, dc);
    assert_eq!(
        got,
        want,
        "{latex:?} read as {}, expected {}",
        print::ascii(&got),
        print::ascii(&want)
    );
}

fn rel_text(src: &str, rel: &MathRel) -> String {
    match rel {
        MathRel::Eq => "=".to_owned(),
        MathRel::Leftarrow => "<-".to_owned(),
        MathRel::Other(span) => format!("[{}]", src.get(span.range()).unwrap_or("?")),
    }
}

/// The rows of a display printed back: each chain's items in ASCII (or the lowering error)
/// joined by their relations, with the annotation; then each error with its span's text.
fn show_in(defs: &str, src: &str) -> String {
    let scope = program(defs);
    let (rows, errors) = display(src);
    let mut out = Vec::new();
    for row in &rows {
        let mut line = String::new();
        for (i, item) in row.items.iter().enumerate() {
            if i > 0 {
                let rel = row
                    .rels
                    .get(i - 1)
                    .map_or("?".to_owned(), |r| rel_text(src, r));
                line.push_str(&format!(" {rel} "));
            }
            match lower_expr(item, &scope, &limits()) {
                Ok(e) => line.push_str(&print::ascii(&e)),
                Err(e) => line.push_str(&format!("<lower error: {}>", e[0])),
            }
        }
        if let Some(a) = row.annotation {
            line.push_str(&format!("  -- {}", src.get(a.range()).unwrap_or("?")));
        }
        out.push(line);
    }
    for e in &errors {
        out.push(format!(
            "error[{}] at `{}`: {e}",
            e.kind.code(),
            src.get(e.span.range()).unwrap_or("?")
        ));
    }
    out.join("\n")
}

fn show(src: &str) -> String {
    show_in("", src)
}

/// The messages of a display's errors, with the text each points at.
fn errors(src: &str) -> String {
    let (_, errors) = display(src);
    errors
        .iter()
        .map(|e| {
            format!(
                "error[{}] at `{}`: {e}",
                e.kind.code(),
                src.get(e.span.range()).unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- constructs lower like their .dc spelling -------------------------------------------

#[test]
fn fractions_are_divisions() {
    check(r"\frac{1}{1+e^{-z}}", "1/(1 + exp(-z))");
    check(r"\dfrac{a}{b}", "a/b");
    check(r"\frac{1-y}{1-A}", "(1 - y)/(1 - A)");
    check(r"\frac{a}{b c}", "a/(b*c)");
    check(r"x \cdot \frac{a}{b}", "x*a/b");
    check(r"\frac{a}{b} \cdot c", "a/b*c");
    check(r"a / \frac{b}{c}", "a/(b/c)");
    check(r"\frac{\frac{1 - s}{s}}{t^2}", "(1 - s)/s/t^2");
    check(r"\frac12 x", "1/2 x");
    check(r"x^{1/2}", "x^(1/2)");
    check(r"1 / 2", "1*2^(-1)");
}

#[test]
fn literal_halves_are_rationals() {
    check(r"\frac{1}{2}(o - y)^2", "1/2 (o - y)^2");
    check(r"-\frac{1}{2}", "-1/2");
}

#[test]
fn negated_fractions_follow_the_sign_rule() {
    check(r"-\frac{y}{A}", "-y/A");
    check(r"-\frac{y}{A} + \frac{1-y}{1-A}", "-y/A + (1-y)/(1-A)");
}

#[test]
fn products_by_juxtaposition_and_operators() {
    check(r"nx^{n-1}", "n*x^(n-1)");
    check(r"A(1-A)", "A*(1 - A)");
    check(r"2 \cdot (o_1 - y)", "2*(o_1 - y)");
    check(r"a \times b * c", "a*b*c");
    check(r"-y - Ay + A - Ay", "-y - A*y + A - A*y");
    check(r"(A - y)A_{previous}", "(A - y)*A_previous");
}

#[test]
fn powers_and_exponentials() {
    check(r"x^n", "x^n");
    check(r"e^z", "exp(z)");
    check(r"e^{-Z}", "exp(-Z)");
    check(r"(1 + e^{-z})^{-2}", "(1 + exp(-z))^(-2)");
    check(r"x^2 3", "x^2*3");
    check(r"\exp(x)", "exp(x)");
    check(r"\exp x", "exp(x)");
}

#[test]
fn logarithms_with_and_without_brackets() {
    check(r"\log(A)", "log(A)");
    check(r"\ln(1-A)", "log(1 - A)");
    check(
        r"-y \log A - (1-y)\log(1-A)",
        "-y*log(A) - (1 - y)*log(1 - A)",
    );
}

#[test]
fn brackets_of_every_kind_group() {
    check(r"\left( a + b \right) c", "(a + b)*c");
    check(r"\left[1 - s \right] t", "[1 - s]*t");
    check(r"\{ a + b \} c", "(a + b)*c");
    check(r"\bigl( a \bigr)^2", "a^2");
    check(r"{x}^2", "x^2");
}

#[test]
fn sigmoid_and_function_names() {
    check(r"\sigma(z)", "sigma(z)");
    check(r"\sigma(z)(1 - \sigma(z))", "sigma(z)*(1 - sigma(z))");
    check(r"\operatorname{sig}(z)", "sigma(z)");
    check(r"\mathrm{sig}(z)", "sigma(z)");
    check(r"\text{ReLU}(z)", "relu(z)");
    check(r"\operatorname{relu} z", "relu(z)");
    check(r"\tanh(z)^2", "tanh(z)^2");
    check(r"\sqrt{x}", "sqrt(x)");
    check(r"|x - y|", "abs(x - y)");
    check(
        r"tanh(z) + ReLU(z) + log(A) + ln(A)",
        "tanh(z) + relu(z) + log(A) + log(A)",
    );
    check(r"ab(z) + s\,in(x)", "a*b*z + s*i*n*x");
}

#[test]
fn primes_are_derivatives_of_functions() {
    check(r"\sigma'(z)", "sigma'(z)");
    check(r"\tanh'(x)", "tanh'(x)");
    check(r"\operatorname{ReLU}'(z)", "relu'(z)");
    check_in("let f(x) = x^2\nlet g(x) = 2x", r"f'(g(x))", "f'(g(x))");
    check_in("let f(x) = x^2", r"f^{\prime}(x)", "f'(x)");
    check_in("let f(x) = x^2\nlet g(x) = 2x", r"f(g(x))", "f(g(x))");
}

#[test]
fn square_brackets_call_functions() {
    check_in("let f(x, y) = x*y", r"f[x_i, \phi]", "f(x_i, phi)");
}

#[test]
fn greek_letters_are_their_ascii_names() {
    check(r"\eta \cdot \delta_o \cdot h_i", "eta*delta_o*h_i");
    check(
        r"\alpha + \beta + \Omega + \varepsilon",
        "alpha + beta + Omega + epsilon",
    );
    check(r"\pi", "pi");
    check("σ(z) + η", "sigma(z) + eta");
}

#[test]
fn subscripts_with_words_and_digits() {
    check(r"z_o + w_{oi} + b_o + o_1", "z_o + w_oi + b_o + o_1");
    check(r"A_{\text{prev}}", "A_prev");
    check(r"x_{i,j}", "x_{i,j}");
    check(r"x_1 2", "x_1*2");
}

#[test]
fn bold_names_are_names() {
    check(r"\mathbf{x} + \mathbf{W}", "x + W");
    check(r"\boldsymbol{\theta}", "theta");
}

#[test]
fn accented_letters_are_names_of_their_own() {
    check(r"\hat{y} - y", "yhat - y");
    check(
        r"\bar x + \tilde{\theta} + \widehat{Y}",
        "xbar + thetatilde + Yhat",
    );
    check(r"\frac{\partial L}{\partial \hat{y}_i}", "dL/dyhat_i");
}

#[test]
fn calligraphic_capitals_are_names_of_their_own() {
    check(r"\mathcal{L} + L", "Lcal + L");
    check(r"\frac{\partial \mathcal{L}}{\partial w}", "dLcal/dw");
}

#[test]
fn kronecker_delta_and_indicator() {
    check(r"y_i(\delta_{ik} - y_k)", "y_i*(delta(i, k) - y_k)");
    check(r"\delta_{i,k}", "delta(i, k)");
    check(r"1\{i=k\}", "1{i = k}");
}

#[test]
fn partial_fractions_are_derivatives() {
    check(r"\frac{\partial E}{\partial o_1}", "dE/do_1");
    check(
        r"\frac{\partial L}{\partial A_{previous}}",
        "dL/dA_previous",
    );
    check(r"\frac{dE}{dz}", "dE/dz");
    check(
        r"\frac{\partial}{\partial A}(-y \log(A))",
        "d/dA (-y*log(A))",
    );
    check(r"\frac{d}{dz}[e^z]", "d/dz [exp(z)]");
    check(r"\frac{d}{dx} x^2", "d/dx x^2");
    check(r"\frac{\mathrm{d}}{\mathrm{d}x}(x)", "d/dx (x)");
    check(r"\frac{\partial \sigma(z)}{\partial z}", "d/dz sigma(z)");
    check(r"\partial E / \partial o_1", "dE/do_1");
    check(r"\partial / \partial z (z^2)", "d/dz (z^2)");
    check(
        r"\frac{\partial L}{\partial Z} * \frac{\partial}{\partial A_{previous}}(W A_{previous} + b)",
        "dL/dZ * d/dA_previous (W*A_previous + b)",
    );
}

#[test]
fn sums_with_bounds() {
    check(r"\sum_{j=1}^{C} y_j \log a_j", "sum(j, 1, C, y_j*log(a_j))");
    check(r"\sum_{j=1}^C x_j + b", "sum(j, 1, C, x_j) + b");
    check(r"\sum\limits^{n}_{i=0} x_i", "sum(i, 0, n, x_i)");
}

#[test]
fn spacing_alignment_and_punctuation_are_ignored() {
    check(r"a \, b \; c \! d", "a*b*c*d");
    assert_eq!(show(r"a &= b \\ &= c."), "a = b = c");
}

// ---- rows and chains ---------------------------------------------------------------------

#[test]
fn one_display_is_one_chain() {
    assert_eq!(show(r"a = b = c"), "a = b = c");
    assert_eq!(show(r"x^2"), "x^2");
}

#[test]
fn aligned_rows_continue_the_chain() {
    let src = r"\begin{aligned}\frac{\partial L}{\partial A} &= \frac{\partial}{\partial A}(-y \log(A) - (1-y) \log(1-A)) \\ &= -\frac{y}{A} - \left(-\frac{1-y}{1-A}\right) \\ &= -\frac{y}{A} + \frac{1-y}{1-A}\end{aligned}";
    let (rows, errors) = display(src);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].items.len(), 4);
    assert_eq!(rows[0].rels, vec![MathRel::Eq; 3]);
}

#[test]
fn a_row_not_starting_with_a_relation_starts_a_chain() {
    let src = r"\begin{aligned} Z &= 1 \\ \therefore L &= 2 \\ &= 3 \end{aligned}";
    assert_eq!(show(src), "Z = 1\nL = 2 = 3");
}

#[test]
fn a_long_side_broken_over_rows_is_one_expression() {
    assert_eq!(
        show(r"\begin{aligned} L &= a + b \\ &\quad + c \\ &= d \end{aligned}"),
        "L = a + b + c = d"
    );
    assert_eq!(
        show(r"\begin{aligned} a &= b \\ -c &= d \end{aligned}"),
        "a = b\n-c = d"
    );
}

#[test]
fn update_rules_use_leftarrow() {
    assert_eq!(
        show(r"w_{oi} \leftarrow w_{oi} - \eta \cdot \delta_o \cdot h_i"),
        "w_{oi} <- w_{oi} - eta*delta_o*h_i"
    );
    assert_eq!(show(r"a \gets b"), "a <- b");
    assert_eq!(show(r"a := b"), "a <- b");
}

#[test]
fn other_relations_are_kept_but_not_equalities() {
    assert_eq!(show(r"a \approx b \le c"), r"a [\approx] b [\le] c");
    assert_eq!(show(r"a = 1, b = 2"), "a = 1 [,] b = 2");
}

#[test]
fn annotations_after_quad_and_text_tails() {
    assert_eq!(
        show(r"L = (y - o)^2 \quad \text{for regression}"),
        r"L = (y - o)^2  -- \quad \text{for regression}"
    );
    assert_eq!(
        show(r"L = (y - o)^2 \text{ for regression}"),
        r"L = (y - o)^2  -- \text{ for regression}"
    );
    assert_eq!(show(r"\therefore a = b"), "a = b");
    assert_eq!(
        show(r"y_i = x_i \quad \text{for all } i"),
        r"y_i = x_i  -- \quad \text{for all } i"
    );
}

#[test]
fn spans_point_into_the_document() {
    let doc = "Intro text.\n\n$$\\frac{\\partial E}{\\partial o} = 2 (o - y)$$\n";
    let start = doc.find("$$").unwrap() + 2;
    let end = doc.rfind("$$").unwrap();
    let (rows, errors) = parse_display(doc, Span::new(start, end), &limits());
    assert!(errors.is_empty());
    let row = &rows[0];
    assert_eq!(
        &doc[row.span.range()],
        r"\frac{\partial E}{\partial o} = 2 (o - y)"
    );
    assert_eq!(
        &doc[row.items[0].span.range()],
        r"\frac{\partial E}{\partial o}"
    );
    assert_eq!(&doc[row.items[1].span.range()], "2 (o - y)");
}

#[test]
fn a_bad_row_is_left_out_and_the_others_go_on() {
    let src = r"\begin{aligned} a &= b \\ c &= \pm d \\ e &= f \end{aligned}";
    let (rows, errors) = display(src);
    assert_eq!(rows.len(), 2);
    assert_eq!(errors.len(), 1);
}

#[test]
fn a_continuation_after_a_bad_row_starts_a_new_chain() {
    let src = r"\begin{aligned} a &= \ldots \\ &= c \\ &= d \end{aligned}";
    assert_eq!(
        show(src),
        "c = d\nerror[not-understood] at `\\ldots`: `\\ldots` is not understood: elided terms cannot be checked; write the expression out"
    );
}

// ---- what is not understood is reported ---------------------------------------------------

#[test]
fn bad_latex_gives_clear_errors() {
    let cases = [
        r"\frac{d}{dx}[f(x) \pm g(x)] = f'(x) \pm g'(x)",
        r"z = \sum^{n} x_i",
        r"a_1 + \ldots + a_n",
        r"\therefore \text{if } Z = 0, \frac{\partial A}{\partial Z} = 1",
        r"y = 1 \quad \text{if } i = k",
        r"\frac{\partial^2 E}{\partial x^2}",
        r"\frac{a}{b",
        r"(a + b",
        r"a + b)",
        r"\foo{x}",
        r"\vec{x} \cdot y",
        r"\log^2 x",
        r"\log A B",
        r"e^-z",
        r"x_{t-1}",
        r"(x + 1)^{(l)}",
        r"\tan(x)",
        r"a = = b",
        r"\begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        r"x^2^3",
        r"1\{i k\}",
        r"f'",
        r"\frac{\partial}{x} y",
        "a @ b",
        r"\sqrt[3]{x}",
        r"x = \infty",
        r"w_12 + x^23",
        r"\mathbb{E}[x]",
        r"\partial_x f",
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|src| format!("{src}\n  {}", errors(src).replace('\n', "\n  ")))
        .collect();
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn every_error_is_a_row_left_out() {
    for src in [r"a = \pm b", r"\mathbb{E}[x]", r"\sum^{C} x_j"] {
        let (rows, errors) = display(src);
        assert!(rows.is_empty(), "{src}");
        assert_eq!(errors.len(), 1, "{src}");
    }
}

// ---- the shared homework documents ---------------------------------------------------------

/// The bodies of the `$$…$$` blocks of a Markdown document (a simple scan; the document
/// layer has its own).
fn display_bodies(doc: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = doc[from..].find("$$").map(|i| from + i + 2) {
        let Some(close) = doc[open..].find("$$").map(|i| open + i) else {
            break;
        };
        out.push(Span::new(open, close));
        from = close + 2;
    }
    out
}

fn example(name: &str) -> String {
    let path = format!("{}/../shared/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every display of a document: (rows parsed, rows with errors), and the rows printed
/// back, display by display with their line numbers.
fn read_document(doc: &str) -> (usize, usize, String) {
    let file = SourceFile::new("doc.md", doc);
    let scope = Program::default();
    let (mut n_rows, mut n_errors) = (0, 0);
    let mut out = Vec::new();
    for body in display_bodies(doc) {
        let (rows, errors) = parse_display(doc, body, &limits());
        n_rows += rows.len();
        n_errors += errors.len();
        let line = file.line_col(body.start).line;
        for row in &rows {
            let mut text = format!("{line:>3}: ");
            if let Some(c) = &row.condition {
                text.push_str(&format!("if {}: ", &doc[c.span.range()]));
            }
            for (i, item) in row.items.iter().enumerate() {
                if i > 0 {
                    let rel = rel_text(doc, &row.rels[i - 1]);
                    text.push_str(&format!(" {rel} "));
                }
                match lower_expr(item, &scope, &limits()) {
                    Ok(e) => text.push_str(&print::ascii(&e)),
                    Err(e) => text.push_str(&format!("<lower error: {}>", e[0])),
                }
            }
            out.push(text);
        }
        for e in &errors {
            let at = file.line_col(e.span.start);
            out.push(format!(
                "{:>3}: error[{}] at {}:{}: {e}",
                line,
                e.kind.code(),
                at.line,
                at.column
            ));
        }
    }
    (n_rows, n_errors, out.join("\n"))
}

#[test]
fn sigmoid_mse_document_reads_every_equation_but_one() {
    let doc = example("sigmoid-mse-output-layer.md");
    let (rows, errors, shown) = read_document(&doc);
    // The `\pm` rule statement is reported (`\sum_i` without bounds is read as Σ_{i=1}^{N}).
    assert_eq!((rows, errors), (39, 1), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn bce_document_reads_every_equation() {
    let doc = example("bce-sigmoid-relu.md");
    let (rows, errors, shown) = read_document(&doc);
    // The two `\text{if } Z > 0, …` rows are two equations each, under their condition.
    assert_eq!((rows, errors), (15, 0), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn errors_render_at_their_place_in_the_document() {
    let doc = example("sigmoid-mse-output-layer.md");
    let file = SourceFile::new("sigmoid-mse-output-layer.md", doc.as_str());
    let errors: Vec<ParseError> = display_bodies(&doc)
        .into_iter()
        .flat_map(|body| parse_display(&doc, body, &limits()).1)
        .collect();
    let rendered = render(&errors, &file, &RenderOptions::default());
    insta::assert_snapshot!(rendered);
}

// ---- hostile input -------------------------------------------------------------------------

fn one_error(src: &str) -> String {
    let (rows, errors) = display(src);
    assert!(rows.is_empty(), "{src:.40}");
    assert_eq!(errors.len(), 1, "{src:.40}: {errors:?}");
    errors[0].kind.code().to_owned()
}

#[test]
fn hundred_thousand_braces_are_errors() {
    assert_eq!(one_error(&"{".repeat(100_000)), "nest-too-deep");
    let balanced = format!("{}x{}", "{".repeat(100_000), "}".repeat(100_000));
    assert_eq!(one_error(&balanced), "nest-too-deep");
    assert_eq!(one_error(&"}".repeat(100_000)), "expected-expression");
}

#[test]
fn hundred_thousand_nested_constructs_are_too_deep() {
    for (open, close) in [
        ("(", ")"),
        (r"\left(", r"\right)"),
        (r"\frac{", "}{2}"),
        (r"\sqrt{", "}"),
        ("e^{", "}"),
        ("-", ""),
        (r"\frac{d}{dx}", ""),
        (r"\sum_{i=1}^{n}", ""),
        (r"\log", ""),
        ("|", "|"),
        (r"1\{", r"=1\}"),
    ] {
        let src = format!("{}x{}", open.repeat(100_000), close.repeat(100_000));
        assert_eq!(one_error(&src), "nest-too-deep", "{open}");
    }
}

#[test]
fn lone_backslashes_and_unclosed_arguments_are_errors() {
    for src in [
        r"\",
        r"a \",
        r"\text{",
        r"\frac",
        r"\frac{a}",
        r"\left",
        r"x_",
        "x^",
        r"\sum_{",
    ] {
        let (rows, errors) = display(src);
        assert!(rows.is_empty() && errors.len() == 1, "{src}: {errors:?}");
    }
}

#[test]
fn body_outside_the_document_is_an_error() {
    let (rows, errors) = parse_display("abc", Span::new(2, 10), &limits());
    assert!(rows.is_empty());
    assert_eq!(errors.len(), 1);
    let (rows, errors) = parse_display("aσb", Span::new(2, 3), &limits());
    assert!(rows.is_empty());
    assert_eq!(errors.len(), 1);
}

#[test]
fn body_over_the_size_limit_is_an_error() {
    let small = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    let src = "a = b + c + d + e";
    let (rows, errors) = parse_display(src, Span::new(0, src.len()), &small);
    assert!(rows.is_empty());
    assert_eq!(errors[0].kind.code(), "input-too-large");
}

#[test]
fn long_flat_rows_hit_the_node_limit() {
    let src = "x + ".repeat(60_000) + "x";
    assert_eq!(one_error(&src), "too-many-nodes");
}

proptest! {
    #[test]
    fn arbitrary_text_and_ranges_never_panic(text in any::<String>(), a in 0usize..64, b in 0usize..64) {
        let (rows, errors) = parse_display(&text, Span::new(a, b), &limits());
        for row in &rows {
            prop_assert!(text.get(row.span.range()).is_some());
        }
        for e in &errors {
            prop_assert!(e.span.end <= text.len().max(e.span.start));
        }
    }
}

const TOKENS: &[&str] = &[
    r"\frac",
    r"\dfrac",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    r"\{",
    r"\}",
    r"\left(",
    r"\right)",
    r"\left.",
    "^",
    "_",
    "'",
    "=",
    "&",
    r"\\",
    "+",
    "-",
    r"\cdot",
    "*",
    "/",
    "x",
    "d",
    "e",
    "1",
    "12",
    "0.5",
    r"\partial",
    r"\sigma",
    r"\delta",
    r"\sum",
    r"\log",
    r"\exp",
    r"\sqrt",
    r"\text{if }",
    r"\text{sig}",
    r"\mathrm{d}",
    r"\mathbf{x}",
    r"\quad",
    r"\pm",
    r"\ldots",
    r"\begin{aligned}",
    r"\end{aligned}",
    r"\begin{cases}",
    "|",
    ",",
    r"\leftarrow",
    r"\top",
    r"\prime",
    r"\hat",
    r"\",
    "%",
    " ",
    "σ",
    "∂",
    "−",
    "€",
    r"\unknown",
    ":",
];

proptest! {
    #[test]
    fn arbitrary_latex_never_panics(picks in prop::collection::vec(0..TOKENS.len(), 0..60),
                                    spaces in prop::collection::vec(any::<bool>(), 60)) {
        let mut src = String::new();
        for (i, k) in picks.iter().enumerate() {
            src.push_str(TOKENS[*k]);
            if spaces.get(i).copied().unwrap_or(false) {
                src.push(' ');
            }
        }
        let doc = format!("pre $${src}$$ post");
        let body = Span::new(6, 6 + src.len());
        let (rows, errors) = parse_display(&doc, body, &limits());
        for row in &rows {
            prop_assert!(row.span.start >= body.start && row.span.end <= body.end);
            prop_assert_eq!(row.rels.len() + 1, row.items.len());
            for item in &row.items {
                prop_assert!(doc.get(item.span.range()).is_some());
                let _ = lower_expr(item, &Program::default(), &limits());
            }
        }
        for e in &errors {
            prop_assert!(doc.get(e.span.range()).is_some(), "{:?}", e);
            prop_assert!(e.span.start >= body.start && e.span.end <= body.end.max(body.start), "{:?}", e);
        }
    }
}

/// Repetitions that once took quadratic time (100,000 unclosed `\text{` rescanned the
/// body from each one; nested environments were a scan of the stack per token).
#[test]
fn long_repetitions_give_rows_or_errors() {
    let cases = [
        ("x^{1}".repeat(50_000), 0, 1),
        ("a,".repeat(100_000), 1, 0),
        ("\\\\".repeat(100_000), 0, 0),
        ("&".repeat(100_000), 0, 0),
        ("\\begin{aligned}".repeat(100_000), 0, 0),
        ("\\begin{cases}".repeat(100_000), 0, 1),
        ("\\text{".repeat(100_000), 0, 1),
        ("f'".repeat(100_000), 0, 1),
        ("a = ".repeat(50_000) + "a", 1, 0),
    ];
    for (src, n_rows, n_errors) in &cases {
        let (rows, errors) = display(src);
        assert_eq!(
            (rows.len(), errors.len()),
            (*n_rows, *n_errors),
            "{src:.30}"
        );
    }
}

/// Matrix notation: `^T`/`^\top`/`^{\mathsf{T}}` are transposes, `\odot` the elementwise
/// product, `\delta^{\ell+1}` a layer label like `\delta^{(\ell+1)}`, and `\mathbb{R}^{n \times
/// m}` a shape (read by the homework reader in `x \in …` rows only).
#[test]
fn transposes_hadamard_products_bare_layers_and_shapes_parse() {
    let shapes = "assume W ∈ ℝ^{M×N}\nassume d ∈ ℝ^M\nassume z ∈ ℝ^N\n";
    let dc = |src: &str| {
        let (rows, errors) = display(src);
        assert!(errors.is_empty(), "{src}: {errors:?}");
        let [row] = rows.as_slice() else {
            panic!("{src}: {} rows", rows.len())
        };
        let scope = program(shapes);
        row.items
            .iter()
            .map(|i| {
                let s = derivcheck::lower::lower_statement(
                    &derivcheck::syntax::ast::Stmt {
                        kind: derivcheck::syntax::ast::StmtKind::Claim {
                            lhs: i.clone(),
                            rhs: i.clone(),
                        },
                        span: i.span,
                    },
                    &scope,
                    &limits(),
                )
                .unwrap_or_else(|e| panic!("{src}: {e:?}"));
                match s.item {
                    derivcheck::program::Item::Claim(c) => print::ascii(&c.lhs),
                    other => panic!("{src}: {other:?}"),
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    for (src, want) in [
        (r"W^T d", "sum(j, 1, M, W_{ji}*d_j)"),
        (
            r"W^{\top} d \odot \sigma'(z)",
            "sum(j, 1, M, W_{ji}*d_j)*sigma'(z_i)",
        ),
        (
            r"(W^{\mathsf{T}} d) \odot (1 - z)",
            "sum(j, 1, M, W_{ji}*d_j)*(1 - z_i)",
        ),
        (r"d z^T", "d_i*z_k"),
        (r"d (z)^T", "d_i*z_k"),
    ] {
        assert_eq!(dc(src), want, "{src}");
    }
    assert_eq!(
        show(r"\delta^{\ell+1} = \delta^{(\ell+1)}"),
        "delta_{ell+1} = delta_{ell+1}"
    );
    assert_eq!(show(r"a^\ell = a^{[\ell]}"), "a_{ell} = a_{ell}");
    // `\ell` as a power is never meant; other letters stay exponents.
    assert_eq!(show(r"x^{n} = x^n"), "x^n = x^n");
    let (rows, errors) = display(r"\Omega \in \mathbb{R}^{n \times m}");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rows.len(), 1);
}
