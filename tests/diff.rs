//! Differentiation and the readable form: one test per row of the table in issue 3, plus
//! kinks, declared derivatives, quantities and deep compositions.

use derivcheck::expr::{Builtin, Expr, Symbol};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::print;
use derivcheck::program::Program;
use derivcheck::source::SourceFile;

fn program(defs: &str) -> Program {
    let loaded = load(&SourceFile::new("defs.dc", defs), &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.program
}

/// The readable derivative of `input` with respect to `wrt`, in Unicode, with `defs` in scope.
fn d(defs: &str, input: &str, wrt: &str) -> String {
    let p = program(defs);
    let e = derivcheck::load::parse_expression(input, &p, &Limits::default())
        .unwrap_or_else(|e| panic!("{input}: {e:?}"));
    let r = derivcheck::diff(&e, &Symbol::new(wrt), &p).unwrap_or_else(|e| panic!("{e}"));
    print::unicode(&r.expr)
}

#[test]
fn sigmoid_defined_by_the_user() {
    assert_eq!(
        d("let σ(z) = 1/(1+exp(-z))", "σ(z)", "z"),
        "σ(z)·(1 − σ(z))"
    );
}

#[test]
fn sigmoid_written_out_refolds_to_the_builtin() {
    assert_eq!(d("", "1/(1+exp(-z))", "z"), "σ(z)·(1 − σ(z))");
}

#[test]
fn tanh_through_itself() {
    assert_eq!(d("", "tanh(z)", "z"), "1 − tanh(z)²");
}

#[test]
fn softplus_is_sigmoid() {
    assert_eq!(d("", "log(1 + exp(z))", "z"), "σ(z)");
}

#[test]
fn silu_factors_out_sigmoid() {
    // σ(z)·(1 + z − z·σ(z)) is one node shorter than σ(z)·(1 + z·(1 − σ(z))).
    assert_eq!(d("", "z·σ(z)", "z"), "σ(z)·(1 + z − z·σ(z))");
}

#[test]
fn half_squared_error() {
    assert_eq!(d("", "½(o − y)²", "o"), "o − y");
}

#[test]
fn squared_error_keeps_the_positive_orientation() {
    // 2·(O − y), not −2·(y − O): a leading minus is absorbed into the factor.
    assert_eq!(d("", "(y − O)²", "O"), "2·(O − y)");
}

#[test]
fn binary_cross_entropy_on_probabilities() {
    assert_eq!(
        d("", "−y·log(A) − (1 − y)·log(1 − A)", "A"),
        "(A − y)/(A·(1 − A))"
    );
}

#[test]
fn sigmoid_with_binary_cross_entropy_is_a_minus_y() {
    let defs = "let A = σ(Z)\nlet L = −y·log(A) − (1 − y)·log(1 − A)";
    assert_eq!(d(defs, "L", "Z"), "A − y");
}

#[test]
fn poisson_negative_log_likelihood() {
    assert_eq!(d("", "exp(z) − y·z", "z"), "exp(z) − y");
}

#[test]
fn affine_in_the_weight() {
    assert_eq!(d("", "w·x + b", "w"), "x");
}

#[test]
fn relu_reports_its_kink() {
    let p = Program::default();
    let e = derivcheck::parse("relu(w*x + b)").unwrap_or_else(|e| panic!("{e}"));
    let r = derivcheck::diff(&e, &Symbol::new("x"), &p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(print::unicode(&r.expr), "w·H(b + w·x)");
    assert_eq!(r.kinks.len(), 1);
    assert_eq!(r.kinks[0].func, "relu");
    assert_eq!(print::unicode(&r.kinks[0].at), "w·x + b");
}

#[test]
fn declared_derivative_is_used() {
    let defs = "let f(z) = z^3\nlet f'(z) = 3z^2";
    assert_eq!(d(defs, "f(2x)", "x"), "2·f'(2·x)");
}

#[test]
fn two_layer_network_weight_gradient() {
    let defs = "let h = σ(w1·x + b1)\nlet o = w2·h + b2\nlet E = ½(o − y)²";
    assert_eq!(d(defs, "E", "w2"), "h·(o − y)");
    assert_eq!(d(defs, "E", "b2"), "o − y");
    assert_eq!(d(defs, "E", "w1"), "h·w2·x·(1 − h)·(o − y)");
}

fn deep(depth: usize) -> Expr {
    let mut e = Expr::var("x");
    for k in 1..=depth {
        let w = Expr::sym(Symbol::with_sub("w", Some(&k.to_string())));
        let b = Expr::sym(Symbol::with_sub("b", Some(&k.to_string())));
        e = Expr::call(
            Builtin::Sigmoid,
            vec![Expr::add(vec![Expr::mul(vec![w, e]), b])],
        );
    }
    e
}

#[test]
fn deep_composition_derivative_is_linear_in_depth() {
    let p = Program::default();
    let x = Symbol::new("x");
    let size = |n: usize| {
        let r = derivcheck::diff(&deep(n), &x, &p).unwrap_or_else(|e| panic!("{e}"));
        r.expr.dag_size()
    };
    let (s8, s16, s32) = (size(8), size(16), size(32));
    // Linear: doubling the depth at most doubles the size (plus a constant).
    assert!(s16 <= 2 * s8 + 8, "{s8} {s16}");
    assert!(s32 <= 2 * s16 + 8, "{s16} {s32}");
}

/// Every derivative claimed in `derivations/`, computed by `diff` + the readable form and
/// printed in Unicode, ASCII and LaTeX, with the kinks it passed. A new library file is a new
/// snapshot; a change in any printed derivative shows up in review.
#[test]
fn library_derivatives_in_three_formats() {
    use derivcheck::expr::Node;
    use derivcheck::print::Format;
    use derivcheck::program::Item;

    insta::glob!("../derivations", "*.dc", |path| {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let src = SourceFile::new(path.display().to_string(), text);
        let loaded = load(&src, &Limits::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let p = &loaded.program;
        let mut out = String::new();
        for item in &p.items {
            let Item::Claim(c) = item else { continue };
            let Node::Deriv(body, var) = c.lhs.node() else {
                continue;
            };
            let r = derivcheck::diff(body, var, p).unwrap_or_else(|e| panic!("{e}"));
            let line = src.line_col(c.span.start).line;
            out.push_str(&format!(
                "line {line}: d/d{} {}\n",
                print::ascii(&Expr::sym(var.clone())),
                print::ascii(body)
            ));
            for (name, format) in [
                ("unicode", Format::Unicode),
                ("ascii", Format::Ascii),
                ("latex", Format::Latex),
            ] {
                let one_line = print::PrintOptions { width: usize::MAX };
                let text = print::to_string(&r.expr, format, &one_line);
                out.push_str(&format!("  {name:8}{text}\n"));
            }
            for k in &r.kinks {
                out.push_str(&format!(
                    "  kink    {} at {} = 0\n",
                    k.func,
                    print::unicode(&k.at)
                ));
            }
        }
        assert!(!out.is_empty(), "{} claims no derivative", path.display());
        insta::assert_snapshot!(out);
    });
}

/// `Program::expand` runs to the end of a chain of definitions that takes four passes (h
/// calls f, whose body calls g and names the quantity c = g(3)), in one call, and leaves
/// alone a call of a defined function with another arity.
#[test]
fn expand_runs_through_nested_definitions() {
    let p = program("let g(t) = t^2\nlet c = g(3)\nlet f(x) = g(x) + c\nlet h(u) = f(u)·f(2·u)");
    let limits = Limits::default();
    let parse = |s: &str| {
        derivcheck::load::parse_expression(s, &p, &limits).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    };
    let expanded = p
        .expand(&parse("h(z)"), 10_000)
        .unwrap_or_else(|e| panic!("{e}"));
    let want = parse("(z^2 + 3^2)·((2·z)^2 + 3^2)");
    assert_eq!(expanded, want, "{}", print::unicode(&expanded));
    // Expanding again changes nothing.
    assert_eq!(p.expand(&expanded, 10_000).ok(), Some(expanded.clone()));
    let arity = Expr::apply(
        derivcheck::expr::Func::User("g".into()),
        vec![Expr::var("a"), Expr::var("b")],
    );
    assert_eq!(p.expand(&arity, 10_000).ok(), Some(arity.clone()));
}
