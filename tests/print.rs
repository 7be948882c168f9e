//! The printer: the readable forms in all three notations, minimal parentheses, every node
//! kind, line breaking, and deep or huge expressions.
//!
//! Expected ASCII strings were checked by hand against the parser's lowering rules (the
//! language brief): each one must read back into the expression it was printed from.

// `#[path]` so that the module is found whether this file is compiled as a module of
// tests/tests.rs or, through Cargo's test auto-discovery, as a test crate of its own.
#[path = "print/roundtrip.rs"]
mod roundtrip;

use derivcheck::expr::{Builtin, Expr, Func, Node, Symbol};
use derivcheck::print::{
    ascii, latex, rational_to_string, to_doc, to_string, unicode, Format, PrintOptions,
};

// ---- builders ---------------------------------------------------------------------------

fn v(name: &str) -> Expr {
    Expr::var(name)
}

fn sub(name: &str, sub: &str) -> Expr {
    Expr::sym(Symbol::with_sub(name, Some(sub)))
}

fn n(i: i64) -> Expr {
    Expr::int(i)
}

fn q(num: i64, den: i64) -> Expr {
    Expr::frac(num, den)
}

fn add(terms: Vec<Expr>) -> Expr {
    Expr::add(terms)
}

fn mul(factors: Vec<Expr>) -> Expr {
    Expr::mul(factors)
}

fn pow(base: Expr, exp: Expr) -> Expr {
    Expr::pow(base, exp)
}

fn minus(a: Expr, b: Expr) -> Expr {
    Expr::sub(a, b)
}

fn neg(a: Expr) -> Expr {
    Expr::neg(a)
}

fn recip(a: Expr) -> Expr {
    pow(a, n(-1))
}

fn call(b: Builtin, x: Expr) -> Expr {
    Expr::call(b, vec![x])
}

fn sigma(x: Expr) -> Expr {
    call(Builtin::Sigmoid, x)
}

fn sum_over(index: &str, lo: Expr, hi: Expr, body: Expr) -> Expr {
    Expr::new(Node::Sum {
        index: Symbol::new(index),
        lo,
        hi,
        body,
    })
}

fn delta(a: Expr, b: Expr) -> Expr {
    Expr::new(Node::Delta(a, b))
}

fn deriv(body: Expr, var: &str) -> Expr {
    Expr::deriv(body, Symbol::new(var))
}

/// Checks the ASCII, Unicode and LaTeX forms at the default width, and that `Display` is the
/// ASCII form.
#[track_caller]
fn check(e: &Expr, expect_ascii: &str, expect_unicode: &str, expect_latex: &str) {
    assert_eq!(ascii(e), expect_ascii, "ascii");
    assert_eq!(unicode(e), expect_unicode, "unicode");
    assert_eq!(latex(e), expect_latex, "latex");
    assert_eq!(e.to_string(), expect_ascii, "display");
}

// ---- the readable forms the product shows --------------------------------------------------

#[test]
fn sigmoid_derivative() {
    let z = v("z");
    let e = mul(vec![sigma(z.clone()), minus(n(1), sigma(z))]);
    check(
        &e,
        "sigma(z)*(1 - sigma(z))",
        "σ(z)·(1 − σ(z))",
        "\\sigma(z)\\left(1 - \\sigma(z)\\right)",
    );
}

#[test]
fn tanh_derivative() {
    let e = minus(n(1), pow(call(Builtin::Tanh, v("z")), n(2)));
    check(&e, "1 - tanh(z)^2", "1 − tanh(z)²", "1 - \\tanh(z)^{2}");
}

#[test]
fn cross_entropy_derivative() {
    let a = v("A");
    let e = Expr::div(
        minus(a.clone(), v("y")),
        mul(vec![a.clone(), minus(n(1), a)]),
    );
    check(
        &e,
        "(A - y)/(A*(1 - A))",
        "(A − y)/(A·(1 − A))",
        "\\frac{A - y}{A\\left(1 - A\\right)}",
    );
}

#[test]
fn squared_error_derivative() {
    let e = mul(vec![n(2), minus(v("O"), v("y"))]);
    check(&e, "2*(O - y)", "2·(O − y)", "2\\left(O - y\\right)");
}

#[test]
fn exp_minus_target() {
    let e = minus(call(Builtin::Exp, v("z")), v("y"));
    check(&e, "exp(z) - y", "exp(z) − y", "e^{z} - y");
}

#[test]
fn output_minus_target() {
    check(&minus(v("o"), v("y")), "o - y", "o − y", "o - y");
}

#[test]
fn plain_symbol() {
    check(&v("x"), "x", "x", "x");
}

#[test]
fn swish_derivative() {
    let z = v("z");
    let e = mul(vec![
        sigma(z.clone()),
        add(vec![n(1), mul(vec![z.clone(), minus(n(1), sigma(z))])]),
    ]);
    check(
        &e,
        "sigma(z)*(1 + z*(1 - sigma(z)))",
        "σ(z)·(1 + z·(1 − σ(z)))",
        "\\sigma(z)\\left(1 + z\\left(1 - \\sigma(z)\\right)\\right)",
    );
}

// ---- minimal parentheses --------------------------------------------------------------------

#[test]
fn subtracted_difference_keeps_its_parentheses() {
    let (a, b, c) = (v("a"), v("b"), v("c"));
    check(
        &minus(a.clone(), minus(b.clone(), c.clone())),
        "a - (b - c)",
        "a − (b − c)",
        "a - \\left(b - c\\right)",
    );
    check(
        &add(vec![a, neg(b), neg(c)]),
        "a - b - c",
        "a − b − c",
        "a - b - c",
    );
}

#[test]
fn nested_sum_is_parenthesised() {
    let e = add(vec![add(vec![v("a"), v("b")]), v("c")]);
    check(&e, "(a + b) + c", "(a + b) + c", "\\left(a + b\\right) + c");
}

#[test]
fn nested_product_is_parenthesised() {
    let e = mul(vec![v("a"), mul(vec![v("b"), v("c")])]);
    check(&e, "a*(b*c)", "a·(b·c)", "a\\left(b c\\right)");
}

#[test]
fn division_by_a_product() {
    let e = mul(vec![v("a"), recip(mul(vec![v("b"), v("c")]))]);
    check(&e, "a/(b*c)", "a/(b·c)", "\\frac{a}{b c}");
}

#[test]
fn chained_division_stays_flat() {
    let e = mul(vec![v("a"), recip(v("b")), recip(v("c"))]);
    check(&e, "a/b/c", "a/b/c", "\\frac{a}{b c}");
}

#[test]
fn division_by_a_power_needs_no_parentheses() {
    let e = mul(vec![v("a"), recip(pow(v("b"), n(2)))]);
    check(&e, "a/b^2", "a/b²", "\\frac{a}{b^{2}}");
}

#[test]
fn squared_quotient() {
    let e = pow(mul(vec![v("a"), recip(v("b"))]), n(2));
    check(&e, "(a/b)^2", "(a/b)²", "\\left(\\frac{a}{b}\\right)^{2}");
}

#[test]
fn minus_binds_looser_than_power() {
    check(&neg(pow(v("x"), n(2))), "-x^2", "−x²", "-x^{2}");
    check(
        &pow(neg(v("x")), n(2)),
        "(-x)^2",
        "(−x)²",
        "\\left(-x\\right)^{2}",
    );
}

#[test]
fn negative_base_is_parenthesised() {
    check(
        &pow(n(-2), v("x")),
        "(-2)^x",
        "(−2)^x",
        "\\left(-2\\right)^{x}",
    );
}

#[test]
fn reciprocal_alone_is_a_power_and_in_a_product_a_division() {
    check(&recip(v("x")), "x^(-1)", "x⁻¹", "\\frac{1}{x}");
    check(
        &mul(vec![v("a"), recip(v("x"))]),
        "a/x",
        "a/x",
        "\\frac{a}{x}",
    );
    // Only factors after the first become divisions.
    check(
        &mul(vec![recip(v("x")), v("a")]),
        "x^(-1)*a",
        "x⁻¹·a",
        "\\frac{a}{x}",
    );
}

#[test]
fn nested_powers() {
    check(
        &pow(v("x"), pow(v("y"), v("z"))),
        "x^y^z",
        "x^y^z",
        "x^{y^{z}}",
    );
    check(
        &pow(pow(v("x"), v("y")), v("z")),
        "(x^y)^z",
        "(x^y)^z",
        "\\left(x^{y}\\right)^{z}",
    );
    check(
        &pow(pow(v("x"), n(2)), n(3)),
        "(x^2)^3",
        "(x²)³",
        "\\left(x^{2}\\right)^{3}",
    );
}

#[test]
fn compound_exponents_are_parenthesised() {
    check(
        &pow(v("x"), q(1, 2)),
        "x^(1/2)",
        "x^(1/2)",
        "x^{\\frac{1}{2}}",
    );
    check(
        &pow(v("x"), mul(vec![n(2), v("y")])),
        "x^(2*y)",
        "x^(2·y)",
        "x^{2y}",
    );
    check(&pow(v("x"), neg(v("y"))), "x^(-y)", "x^(−y)", "x^{-y}");
    check(&pow(v("x"), n(-2)), "x^(-2)", "x⁻²", "\\frac{1}{x^{2}}");
}

#[test]
fn power_of_e_is_not_read_as_exp() {
    let e_const = Expr::constant(derivcheck::expr::Constant::E);
    check(&pow(e_const, v("x")), "(e)^x", "(e)^x", "e^{x}");
}

#[test]
fn power_of_a_call() {
    check(
        &pow(sigma(v("z")), n(2)),
        "sigma(z)^2",
        "σ(z)²",
        "\\sigma(z)^{2}",
    );
    check(
        &pow(call(Builtin::Exp, v("x")), n(2)),
        "exp(x)^2",
        "exp(x)²",
        "\\left(e^{x}\\right)^{2}",
    );
}

// ---- signs and numbers ------------------------------------------------------------------------

#[test]
fn negative_numbers() {
    check(&n(-3), "-3", "−3", "-3");
    check(&add(vec![v("x"), n(-3)]), "x - 3", "x − 3", "x - 3");
    check(&add(vec![n(-3), v("x")]), "-3 + x", "−3 + x", "-3 + x");
    check(
        &mul(vec![v("x"), n(-2)]),
        "x*(-2)",
        "x·(−2)",
        "x\\left(-2\\right)",
    );
}

#[test]
fn negative_coefficients() {
    check(&mul(vec![n(-2), v("x")]), "-2*x", "−2·x", "-2x");
    check(
        &add(vec![v("a"), mul(vec![n(-2), v("x")])]),
        "a - 2*x",
        "a − 2·x",
        "a - 2x",
    );
    check(
        &neg(add(vec![v("a"), v("b")])),
        "-(a + b)",
        "−(a + b)",
        "-\\left(a + b\\right)",
    );
    check(
        &neg(mul(vec![v("x"), v("y")])),
        "-(x*y)",
        "−(x·y)",
        "-\\left(x y\\right)",
    );
    check(&mul(vec![n(-1), v("x"), v("y")]), "-x*y", "−x·y", "-x y");
}

#[test]
fn minus_one_before_a_number_keeps_its_one() {
    // `-2` would read back as the number −2, so (−1)·2 keeps the 1.
    check(&mul(vec![n(-1), n(2)]), "-1*2", "−1·2", "-1 \\cdot 2");
    check(
        &add(vec![v("a"), mul(vec![n(-1), n(2)])]),
        "a - 1*2",
        "a − 1·2",
        "a - 1 \\cdot 2",
    );
}

#[test]
fn negated_factor_inside_a_sum_term() {
    let e = add(vec![v("x"), mul(vec![neg(v("y")), v("z")])]);
    check(&e, "x + (-y)*z", "x + (−y)·z", "x + \\left(-y\\right) z");
}

#[test]
fn rationals() {
    check(&q(1, 3), "1/3", "1/3", "\\frac{1}{3}");
    check(&q(-1, 3), "-1/3", "−1/3", "-\\frac{1}{3}");
    check(
        &add(vec![v("x"), q(-1, 3)]),
        "x - 1/3",
        "x − 1/3",
        "x - \\frac{1}{3}",
    );
    // A rational literal only at the start of a product chain.
    check(
        &mul(vec![q(1, 3), v("x")]),
        "1/3*x",
        "1/3·x",
        "\\frac{x}{3}",
    );
    check(
        &mul(vec![v("x"), q(1, 3)]),
        "x*(1/3)",
        "x·(1/3)",
        "x \\frac{1}{3}",
    );
    check(
        &mul(vec![q(-1, 3), v("x"), recip(v("y"))]),
        "-1/3*x/y",
        "−1/3·x/y",
        "-\\frac{x}{3y}",
    );
    check(
        &pow(q(1, 2), v("x")),
        "(1/2)^x",
        "(1/2)^x",
        "\\left(\\frac{1}{2}\\right)^{x}",
    );
}

#[test]
fn integer_over_integer_is_not_a_rational_literal() {
    // `2/3` (and `2/3^x`) would read back as the number 2/3, so 2·3⁻¹ keeps its power.
    check(
        &mul(vec![n(2), recip(n(3))]),
        "2*3^(-1)",
        "2·3⁻¹",
        "\\frac{2}{3}",
    );
    check(
        &mul(vec![v("x"), recip(n(2))]),
        "x/2",
        "x/2",
        "\\frac{x}{2}",
    );
    check(
        &mul(vec![n(2), recip(pow(n(3), v("x")))]),
        "2*(3^x)^(-1)",
        "2·(3^x)⁻¹",
        "\\frac{2}{3^{x}}",
    );
}

#[test]
fn numbers_side_by_side() {
    check(&mul(vec![n(2), n(3)]), "2*3", "2·3", "2 \\cdot 3");
    check(&mul(vec![v("x"), n(2)]), "x*2", "x·2", "x \\cdot 2");
    check(&mul(vec![n(2), v("x")]), "2*x", "2·x", "2x");
}

#[test]
fn rational_to_string_in_each_format() {
    let r = |a: i64, b: i64| q(a, b).as_num().cloned().unwrap_or_default();
    assert_eq!(rational_to_string(&r(1, 2), Format::Ascii), "1/2");
    assert_eq!(rational_to_string(&r(-3, 4), Format::Ascii), "-3/4");
    assert_eq!(rational_to_string(&r(-3, 4), Format::Unicode), "−3/4");
    assert_eq!(
        rational_to_string(&r(-3, 4), Format::Latex),
        "-\\frac{3}{4}"
    );
    assert_eq!(rational_to_string(&r(10, 2), Format::Latex), "5");
}

// ---- names ---------------------------------------------------------------------------------

#[test]
fn greek_names() {
    check(&mul(vec![v("eta"), v("x")]), "eta*x", "η·x", "\\eta x");
    check(&v("Ω"), "Omega", "Ω", "\\Omega");
    check(&pi_times_two(), "2*pi", "2·π", "2\\pi");
}

fn pi_times_two() -> Expr {
    mul(vec![n(2), Expr::constant(derivcheck::expr::Constant::Pi)])
}

#[test]
fn subscripts() {
    check(&sub("w", "ij"), "w_{ij}", "w_{ij}", "w_{ij}");
    check(&sub("x", "1"), "x_1", "x₁", "x_{1}");
    check(&sub("o", "12"), "o_{12}", "o₁₂", "o_{12}");
    check(&sub("A", "prev"), "A_{prev}", "A_{prev}", "A_{prev}");
    check(&sub("eta", "t"), "eta_t", "η_t", "\\eta_{t}");
    check(&v("loss"), "loss", "loss", "\\mathrm{loss}");
}

#[test]
fn user_functions_and_primes() {
    let user = |name: &str| Func::User(name.into());
    let sig_user = Expr::apply(user("sigma"), vec![v("z")]);
    check(&sig_user, "sigma(z)", "σ(z)", "\\sigma(z)");
    let f_prime = Expr::apply(Func::Prime(Box::new(user("f"))), vec![v("x")]);
    check(&f_prime, "f'(x)", "f'(x)", "f'(x)");
    let sig_second = Expr::apply(
        Func::Prime(Box::new(Func::Prime(Box::new(Func::Builtin(
            Builtin::Sigmoid,
        ))))),
        vec![v("z")],
    );
    check(&sig_second, "sigma''(z)", "σ''(z)", "\\sigma''(z)");
    let loss = Expr::apply(user("loss"), vec![v("a"), v("b")]);
    check(
        &loss,
        "loss(a, b)",
        "loss(a, b)",
        "\\operatorname{loss}(a, b)",
    );
}

#[test]
fn builtins_with_their_own_notation() {
    check(&call(Builtin::Sqrt, v("x")), "sqrt(x)", "√(x)", "\\sqrt{x}");
    check(
        &call(Builtin::Abs, v("x")),
        "abs(x)",
        "abs(x)",
        "\\left|x\\right|",
    );
    check(
        &Expr::call(Builtin::Max, vec![n(0), v("z")]),
        "max(0, z)",
        "max(0, z)",
        "\\max(0, z)",
    );
    check(
        &call(Builtin::Heaviside, v("z")),
        "heaviside(z)",
        "H(z)",
        "H(z)",
    );
    check(
        &call(Builtin::Exp, neg(v("z"))),
        "exp(-z)",
        "exp(−z)",
        "e^{-z}",
    );
}

// ---- sums, deltas, derivatives -----------------------------------------------------------------

#[test]
fn sums() {
    let body = mul(vec![sub("w", "j"), sub("x", "j")]);
    let s = sum_over("j", n(1), v("C"), body);
    check(
        &s,
        "sum(j, 1, C, w_j*x_j)",
        "Σ_{j=1}^{C} w_j·x_j",
        "\\sum_{j=1}^{C} w_{j} x_{j}",
    );
    let s_add = sum_over("j", n(1), v("C"), add(vec![sub("a", "j"), sub("b", "j")]));
    check(
        &s_add,
        "sum(j, 1, C, a_j + b_j)",
        "Σ_{j=1}^{C} (a_j + b_j)",
        "\\sum_{j=1}^{C} \\left(a_{j} + b_{j}\\right)",
    );
}

#[test]
fn sum_swallows_the_rest_of_a_product_unless_parenthesised() {
    let s = sum_over("j", n(1), v("C"), sub("x", "j"));
    check(
        &mul(vec![s.clone(), v("b")]),
        "sum(j, 1, C, x_j)*b",
        "(Σ_{j=1}^{C} x_j)·b",
        "\\left(\\sum_{j=1}^{C} x_{j}\\right) b",
    );
    check(
        &mul(vec![v("a"), s.clone()]),
        "a*sum(j, 1, C, x_j)",
        "a·Σ_{j=1}^{C} x_j",
        "a \\sum_{j=1}^{C} x_{j}",
    );
    check(
        &add(vec![s.clone(), v("b")]),
        "sum(j, 1, C, x_j) + b",
        "Σ_{j=1}^{C} x_j + b",
        "\\sum_{j=1}^{C} x_{j} + b",
    );
    check(
        &pow(s, n(2)),
        "sum(j, 1, C, x_j)^2",
        "(Σ_{j=1}^{C} x_j)²",
        "\\left(\\sum_{j=1}^{C} x_{j}\\right)^{2}",
    );
}

#[test]
fn kronecker_delta() {
    check(
        &delta(v("i"), v("k")),
        "delta(i, k)",
        "δ_{ik}",
        "\\delta_{ik}",
    );
    check(
        &delta(v("i"), add(vec![v("k"), n(1)])),
        "delta(i, k + 1)",
        "δ(i, k + 1)",
        "\\delta_{i, k + 1}",
    );
}

#[test]
fn derivative_of_a_name() {
    check(
        &deriv(v("L"), "Z"),
        "dL/dZ",
        "∂L/∂Z",
        "\\frac{\\partial L}{\\partial Z}",
    );
    let e = Expr::deriv(v("E"), Symbol::with_sub("w", Some("oi")));
    check(
        &e,
        "dE/dw_{oi}",
        "∂E/∂w_{oi}",
        "\\frac{\\partial E}{\\partial w_{oi}}",
    );
}

#[test]
fn derivative_of_an_expression() {
    let z = v("z");
    check(
        &deriv(sigma(z.clone()), "z"),
        "d/dz sigma(z)",
        "∂/∂z σ(z)",
        "\\frac{\\partial}{\\partial z} \\sigma(z)",
    );
    let inner = add(vec![n(1), call(Builtin::Exp, neg(z))]);
    check(
        &deriv(inner, "z"),
        "d/dz (1 + exp(-z))",
        "∂/∂z (1 + exp(−z))",
        "\\frac{\\partial}{\\partial z} \\left(1 + e^{-z}\\right)",
    );
    check(
        &deriv(pow(v("x"), n(2)), "x"),
        "d/dx (x^2)",
        "∂/∂x (x²)",
        "\\frac{\\partial}{\\partial x} \\left(x^{2}\\right)",
    );
}

#[test]
fn derivative_by_a_long_name() {
    // `dloss/deta` would not read back; the variable is parenthesised instead.
    check(
        &deriv(v("loss"), "eta"),
        "d/d(eta) loss",
        "∂/∂η loss",
        "\\frac{\\partial \\mathrm{loss}}{\\partial \\eta}",
    );
    check(
        &deriv(v("L"), "eta"),
        "d/d(eta) L",
        "∂L/∂η",
        "\\frac{\\partial L}{\\partial \\eta}",
    );
}

#[test]
fn derivative_inside_products_and_powers() {
    let d = deriv(call(Builtin::Tanh, v("z")), "z");
    check(
        &mul(vec![v("a"), d.clone()]),
        "a*d/dz tanh(z)",
        "a·∂/∂z tanh(z)",
        "a \\frac{\\partial}{\\partial z} \\tanh(z)",
    );
    check(
        &mul(vec![d, v("b")]),
        "d/dz tanh(z)*b",
        "∂/∂z tanh(z)·b",
        "\\left(\\frac{\\partial}{\\partial z} \\tanh(z)\\right) b",
    );
    let dl = deriv(v("L"), "Z");
    check(
        &pow(dl.clone(), n(2)),
        "(dL/dZ)^2",
        "(∂L/∂Z)²",
        "\\left(\\frac{\\partial L}{\\partial Z}\\right)^{2}",
    );
    check(
        &mul(vec![v("a"), recip(dl)]),
        "a/(dL/dZ)",
        "a/(∂L/∂Z)",
        "\\frac{a}{\\frac{\\partial L}{\\partial Z}}",
    );
}

// ---- degenerate shapes the parser never produces -------------------------------------------

#[test]
fn empty_sum_and_product() {
    check(&add(vec![]), "0", "0", "0");
    check(&mul(vec![]), "1", "1", "1");
    check(&mul(vec![v("x"), add(vec![])]), "x*0", "x·0", "x \\cdot 0");
}

#[test]
fn singletons_print_their_element() {
    check(&add(vec![v("x")]), "x", "x", "x");
    check(&mul(vec![n(-2)]), "-2", "−2", "-2");
    let wrapped_sum = mul(vec![add(vec![v("a"), v("b")])]);
    check(
        &mul(vec![v("c"), wrapped_sum]),
        "c*(a + b)",
        "c·(a + b)",
        "c\\left(a + b\\right)",
    );
    check(
        &add(vec![v("a"), mul(vec![n(-1)])]),
        "a - 1",
        "a − 1",
        "a - 1",
    );
}

#[test]
fn deeply_wrapped_singleton_is_parenthesised_conservatively() {
    let mut e = v("x");
    for _ in 0..40 {
        e = mul(vec![e]);
    }
    check(&mul(vec![v("c"), e]), "c*(x)", "c·(x)", "c\\left(x\\right)");
}

// ---- layout -------------------------------------------------------------------------------

fn long_sum() -> Expr {
    add((1..=6)
        .map(|i| {
            let (w, x) = (sub("w", &i.to_string()), sub("x", &i.to_string()));
            if i % 2 == 0 {
                mul(vec![n(-1), w, x])
            } else {
                mul(vec![w, x])
            }
        })
        .collect())
}

#[test]
fn long_sum_breaks_at_width_40() {
    let narrow = PrintOptions { width: 40 };
    let z = v("z");
    let e = mul(vec![
        sigma(z.clone()),
        add(vec![n(1), mul(vec![z, long_sum()])]),
    ]);
    let all: Vec<String> = [Format::Ascii, Format::Unicode, Format::Latex]
        .iter()
        .map(|f| to_string(&e, *f, &narrow))
        .collect();
    insta::assert_snapshot!(all.join("\n\n"), @r"
    sigma(z)*(
      1
        + z*(
          w_1*x_1
            - w_2*x_2
            + w_3*x_3
            - w_4*x_4
            + w_5*x_5
            - w_6*x_6
        )
    )

    σ(z)·(
      1
        + z·(
          w₁·x₁
            − w₂·x₂
            + w₃·x₃
            − w₄·x₄
            + w₅·x₅
            − w₆·x₆
        )
    )

    \sigma(z)\left(
      1
        + z\left(
          w_{1} x_{1}
            - w_{2} x_{2}
            + w_{3} x_{3}
            - w_{4} x_{4}
            + w_{5} x_{5}
            - w_{6} x_{6}
        \right)
    \right)
    ");
}

#[test]
fn top_level_sum_breaks_before_its_operators() {
    let text = to_string(&long_sum(), Format::Ascii, &PrintOptions { width: 40 });
    insta::assert_snapshot!(text, @r"
    w_1*x_1
      - w_2*x_2
      + w_3*x_3
      - w_4*x_4
      + w_5*x_5
      - w_6*x_6
    ");
}

#[test]
fn short_formula_stays_on_one_line() {
    let e = long_sum();
    let one_line = "w_1*x_1 - w_2*x_2 + w_3*x_3 - w_4*x_4 + w_5*x_5 - w_6*x_6";
    assert_eq!(ascii(&e), one_line);
    assert_eq!(
        to_string(&e, Format::Ascii, &PrintOptions { width: usize::MAX }),
        one_line
    );
    assert!(to_string(&e, Format::Ascii, &PrintOptions { width: 40 }).contains('\n'));
}

#[test]
fn display_never_breaks_lines() {
    let mut e = long_sum();
    for _ in 0..5 {
        e = mul(vec![e.clone(), e]);
    }
    let shown = e.to_string();
    assert!(!shown.contains('\n'));
    assert!(shown.len() > 1000);
    assert_eq!(
        shown,
        to_string(&e, Format::Ascii, &PrintOptions { width: usize::MAX })
    );
}

#[test]
fn doc_carries_annotations_and_renders_the_same_text() {
    let e = mul(vec![n(2), minus(v("O"), v("y"))]);
    let doc = to_doc(&e, Format::Unicode);
    assert_eq!(doc.pretty(100).to_string(), "2·(O − y)");
}

// ---- deep and huge expressions --------------------------------------------------------------

fn nested_exp(depth: usize) -> Expr {
    let mut e = v("x");
    for _ in 0..depth {
        e = call(Builtin::Exp, e);
    }
    e
}

#[test]
fn deep_expression_prints_without_stack_overflow() {
    let depth = 100_000;
    let e = nested_exp(depth);
    let text = e.to_string();
    assert_eq!(text.len(), "exp()".len() * depth + 1);
    assert!(text.starts_with("exp(exp(exp("));
    assert!(text.ends_with(&format!("exp(x{}", ")".repeat(depth))));
    // At a finite width the outer calls break onto indented lines, down to the layout depth
    // bound; below it the rest is flat.
    let wrapped = ascii(&e);
    assert_eq!(wrapped.matches("exp(").count(), depth);
    assert_eq!(unicode(&e).matches("exp(").count(), depth);
    assert_eq!(latex(&e).matches("e^{").count(), depth);
}

#[test]
fn deep_nested_sums_print_with_every_parenthesis() {
    let depth = 50_000;
    let mut e = v("x");
    for _ in 0..depth {
        e = minus(v("a"), e);
    }
    let text = to_string(&e, Format::Ascii, &PrintOptions { width: 40 });
    assert_eq!(text.matches('(').count(), depth - 1);
    assert_eq!(text.matches(')').count(), depth - 1);
    assert_eq!(latex(&e).matches("\\left(").count(), depth - 1);
}

#[test]
fn exponential_tree_is_elided_not_printed_forever() {
    // A DAG of 65 nodes whose tree has 2^64 leaves.
    let mut e = v("x");
    for _ in 0..64 {
        e = mul(vec![e.clone(), e]);
    }
    let text = e.to_string();
    assert!(text.contains("..."));
    assert!(text.len() < 20_000_000);
    assert!(unicode(&e).contains('…'));
}

/// `derivcheck fmt` on every library file: the printed file (ASCII and Unicode) reads back into
/// the same statements, keeps every comment, and printing it again changes nothing.
#[test]
fn fmt_of_every_library_file_reads_back_and_is_idempotent() {
    use derivcheck::load::load;
    use derivcheck::print::program::{file, statement_lines};
    use derivcheck::source::SourceFile;

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("derivations");
    let mut n_files = 0;
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "dc") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let src = SourceFile::new(path.display().to_string(), text.clone());
        let limits = derivcheck::limits::Limits::default();
        let original = load(&src, &limits);
        for format in [Format::Ascii, Format::Unicode] {
            let printed = file(&src, &original.program, format);
            let again_src = SourceFile::new("printed.dc", printed.clone());
            let again = load(&again_src, &limits);
            assert!(
                again.errors.is_empty(),
                "{}: {:?}\n{printed}",
                path.display(),
                again.errors
            );
            let lines = |p: &derivcheck::program::Program| -> Vec<Vec<String>> {
                p.items
                    .iter()
                    .map(|i| statement_lines(i, Format::Ascii))
                    .collect()
            };
            assert_eq!(
                lines(&again.program),
                lines(&original.program),
                "{}",
                path.display()
            );
            assert_eq!(
                file(&again_src, &again.program, format),
                printed,
                "{}",
                path.display()
            );
            let n_comments = |t: &str| t.matches('#').count();
            assert_eq!(
                n_comments(&printed),
                n_comments(&text),
                "{}",
                path.display()
            );
        }
        n_files += 1;
    }
    assert!(n_files >= 30);
}
