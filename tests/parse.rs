//! Parsing and lowering of the `.dc` language: every construct of the language reference
//! lowers to the stated `Expr`, and bad input gives the stated diagnostics.

use derivcheck::expr::{Builtin, Constant, Expr, Func, Node, Rational, Symbol};
use derivcheck::limits::Limits;
use derivcheck::lower::{lower, lower_expr, LowerErrorKind};
use derivcheck::program::{DefKind, Fact, Item, NumberSet, Program, Rel};
use derivcheck::report::diagnostic::{render, RenderOptions};
use derivcheck::source::SourceFile;
use derivcheck::syntax::{decode, parse_dc, parse_expr, ParseErrorKind};

// ---- helpers ---------------------------------------------------------------------------

fn limits() -> Limits {
    Limits::default()
}

/// Parses and lowers a `.dc` file, failing the test on any error.
fn program(src: &str) -> Program {
    let file = SourceFile::new("test.dc", src);
    let (ast, parse_errors) = parse_dc(&file, &limits());
    assert!(
        parse_errors.is_empty(),
        "parse errors in {src:?}: {parse_errors:?}"
    );
    let (program, lower_errors) = lower(&ast, &limits());
    assert!(
        lower_errors.is_empty(),
        "lowering errors in {src:?}: {lower_errors:?}"
    );
    program
}

/// Parses and lowers one expression in the scope of `defs` (a `.dc` file).
fn lower_in(defs: &str, src: &str) -> Expr {
    let scope = program(defs);
    let ast = parse_expr(src, &limits()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
    lower_expr(&ast, &scope, &limits()).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
}

/// One expression with no definitions in scope.
fn lo(src: &str) -> Expr {
    lower_in("", src)
}

fn check(src: &str, expected: Expr) {
    assert_eq!(lo(src), expected, "{src}");
}

fn check_same(a: &str, b: &str) {
    assert_eq!(lo(a), lo(b), "{a} vs {b}");
}

fn v(name: &str) -> Expr {
    Expr::var(name)
}

fn vs(name: &str, sub: &str) -> Expr {
    Expr::sym(Symbol::with_sub(name, Some(sub)))
}

fn n(i: i64) -> Expr {
    Expr::int(i)
}

fn q(a: i64, b: i64) -> Expr {
    Expr::frac(a, b)
}

fn add(xs: Vec<Expr>) -> Expr {
    Expr::add(xs)
}

fn mul(xs: Vec<Expr>) -> Expr {
    Expr::mul(xs)
}

fn pow(a: Expr, b: Expr) -> Expr {
    Expr::pow(a, b)
}

fn inv(a: Expr) -> Expr {
    Expr::pow(a, n(-1))
}

fn neg(a: Expr) -> Expr {
    mul(vec![n(-1), a])
}

fn call(b: Builtin, args: Vec<Expr>) -> Expr {
    Expr::call(b, args)
}

fn sigma(a: Expr) -> Expr {
    call(Builtin::Sigmoid, vec![a])
}

fn exp(a: Expr) -> Expr {
    call(Builtin::Exp, vec![a])
}

fn user(name: &str, args: Vec<Expr>) -> Expr {
    Expr::apply(Func::User(name.into()), args)
}

fn deriv(body: Expr, var: &str) -> Expr {
    Expr::deriv(body, Symbol::new(var))
}

/// Renders every parse and lowering error of `src` without colour.
fn diagnostics_with(src: &str, limits: &Limits) -> String {
    let file = SourceFile::new("test.dc", src);
    let (ast, parse_errors) = parse_dc(&file, limits);
    let (_, lower_errors) = lower(&ast, limits);
    let options = RenderOptions::default();
    render(&parse_errors, &file, &options) + &render(&lower_errors, &file, &options)
}

fn diagnostics(src: &str) -> String {
    diagnostics_with(src, &limits())
}

// ---- numbers -----------------------------------------------------------------------------

#[test]
fn integer_literal_is_num() {
    check("2", n(2));
}

#[test]
fn decimal_literal_is_exact() {
    check("0.5", q(1, 2));
    check("0.125", q(1, 8));
}

#[test]
fn scientific_literals_are_exact() {
    check("1e-3", q(1, 1000));
    check("2.5E+2", n(250));
    check("3e2", n(300));
}

#[test]
fn literal_over_literal_is_one_rational() {
    check("1/3", q(1, 3));
    check("2/4", q(1, 2));
    check("1/3 x", mul(vec![q(1, 3), v("x")]));
    check("1/2x", mul(vec![q(1, 2), v("x")]));
}

#[test]
fn rational_literal_only_at_chain_start_and_without_spaces() {
    check("x/3", mul(vec![v("x"), inv(n(3))]));
    check("x * 1/3", mul(vec![v("x"), n(1), inv(n(3))]));
    check("1 / 3", mul(vec![n(1), inv(n(3))]));
    check("(1)/3", mul(vec![n(1), inv(n(3))]));
    check("1/(3)", mul(vec![n(1), inv(n(3))]));
}

#[test]
fn literal_over_power_is_a_division() {
    check("1/3^2", mul(vec![n(1), inv(pow(n(3), n(2)))]));
    check("1/2.5", mul(vec![n(1), inv(q(5, 2))]));
}

#[test]
fn division_by_literal_zero_is_kept() {
    check("1/0", mul(vec![n(1), inv(n(0))]));
}

#[test]
fn vulgar_fractions_are_rationals() {
    check("½", q(1, 2));
    check("¾x", mul(vec![q(3, 4), v("x")]));
    check("-½", q(-1, 2));
}

// ---- sums and signs ----------------------------------------------------------------------

#[test]
fn sum_chain_is_one_flat_add() {
    check("a + b - c", add(vec![v("a"), v("b"), neg(v("c"))]));
    check("a + (b + c)", add(vec![v("a"), add(vec![v("b"), v("c")])]));
}

#[test]
fn negated_literal_is_a_negative_number() {
    check("-2", n(-2));
    check("a - 3", add(vec![v("a"), n(-3)]));
    check("-1/3", q(-1, 3));
    check("-0.5", q(-1, 2));
}

#[test]
fn negated_product_with_leading_literal_negates_the_literal() {
    check("-2x", mul(vec![n(-2), v("x")]));
    check("a - 2b", add(vec![v("a"), mul(vec![n(-2), v("b")])]));
    check("-2(x)", mul(vec![n(-2), v("x")]));
}

#[test]
fn negated_term_without_leading_literal_gets_minus_one_factor() {
    check("-x", neg(v("x")));
    check(
        "a - x y",
        add(vec![v("a"), mul(vec![n(-1), v("x"), v("y")])]),
    );
    check("-(2)", mul(vec![n(-1), n(2)]));
    check("-(-2)", mul(vec![n(-1), n(-2)]));
}

#[test]
fn unary_minus_is_weaker_than_power() {
    check("-x^2", neg(pow(v("x"), n(2))));
    check("-2^2", neg(pow(n(2), n(2))));
}

#[test]
fn unary_plus_is_ignored() {
    check("+x", v("x"));
    check("+x + y", add(vec![v("x"), v("y")]));
}

#[test]
fn minus_after_times_negates_the_next_factor() {
    check("a * -b", mul(vec![v("a"), neg(v("b"))]));
    check("a * -2", mul(vec![v("a"), n(-2)]));
}

#[test]
fn minus_spellings_are_interchangeable() {
    check_same("a − b", "a - b");
    check_same("a – b", "a - b");
}

// ---- products ------------------------------------------------------------------------------

#[test]
fn product_chain_is_one_flat_mul_with_division_as_inverse_power() {
    check("a * b / c", mul(vec![v("a"), v("b"), inv(v("c"))]));
    check("a / b / c", mul(vec![v("a"), inv(v("b")), inv(v("c"))]));
}

#[test]
fn times_spellings_are_interchangeable() {
    check_same("a·b×c⋅d", "a*b*c*d");
    check_same("a ÷ b", "a / b");
}

#[test]
fn juxtaposition_multiplies() {
    check("2x", mul(vec![n(2), v("x")]));
    check("w x", mul(vec![v("w"), v("x")]));
    check("2(o − y)", mul(vec![n(2), add(vec![v("o"), neg(v("y"))])]));
}

#[test]
fn call_followed_by_group_is_a_product() {
    let s = sigma(v("z"));
    check(
        "σ(z)(1 − σ(z))",
        mul(vec![s.clone(), add(vec![n(1), neg(s)])]),
    );
}

#[test]
fn non_function_applied_to_group_is_a_flat_product() {
    check("x(1)", mul(vec![v("x"), n(1)]));
    check("A(1 - A)", mul(vec![v("A"), add(vec![n(1), neg(v("A"))])]));
    check(
        "w x(1 + y) z",
        mul(vec![v("w"), v("x"), add(vec![n(1), v("y")]), v("z")]),
    );
}

#[test]
fn powers_after_a_non_function_group_bind_to_the_group() {
    let g = add(vec![n(1), v("y")]);
    check("x(1+y)^2", mul(vec![v("x"), pow(g.clone(), n(2))]));
    check(
        "2^x(1+y)^3",
        mul(vec![pow(n(2), v("x")), pow(g.clone(), n(3))]),
    );
    check("a / x(1+y)", mul(vec![v("a"), inv(v("x")), g]));
}

// ---- powers --------------------------------------------------------------------------------

#[test]
fn power_is_right_associative() {
    check("x^2^3", pow(v("x"), pow(n(2), n(3))));
}

#[test]
fn exponent_may_start_with_minus() {
    check("x^-1", pow(v("x"), n(-1)));
    check("x^-y", pow(v("x"), neg(v("y"))));
}

#[test]
fn power_spellings_are_interchangeable() {
    check("x**2", pow(v("x"), n(2)));
    check("x²", pow(v("x"), n(2)));
    check("x⁻¹", pow(v("x"), n(-1)));
    check("x¹⁰", pow(v("x"), n(10)));
    check_same("x^{2}", "x^2");
}

#[test]
fn superscript_applies_to_a_call() {
    check("tanh(z)²", pow(call(Builtin::Tanh, vec![v("z")]), n(2)));
}

#[test]
fn power_binds_tighter_than_juxtaposition() {
    check("x^2y", mul(vec![pow(v("x"), n(2)), v("y")]));
    check("2x²", mul(vec![n(2), pow(v("x"), n(2))]));
}

// ---- e, π, names -------------------------------------------------------------------------

#[test]
fn e_to_a_power_is_exp() {
    check("e^(x)", exp(v("x")));
    check("e^x", exp(v("x")));
    check("e^(-z)", exp(neg(v("z"))));
    check("e^-z", exp(neg(v("z"))));
    check("e²", exp(n(2)));
}

#[test]
fn parenthesised_e_to_a_power_stays_a_power() {
    check("(e)^x", pow(Expr::constant(Constant::E), v("x")));
}

#[test]
fn constants() {
    check("e", Expr::constant(Constant::E));
    check("π", Expr::constant(Constant::Pi));
    check("pi", Expr::constant(Constant::Pi));
    check("e_1", vs("e", "1"));
}

#[test]
fn greek_names_and_letters_are_one_symbol() {
    check("η", v("eta"));
    check_same("η", "eta");
    check_same("Ω", "Omega");
    check_same("β x", "beta x");
    check("ηx", mul(vec![v("eta"), v("x")]));
    check("ϕ", v("phi"));
}

#[test]
fn identifiers_are_letters_and_digits() {
    check("x2", v("x2"));
    check("xy", v("xy"));
}

#[test]
fn subscripts() {
    check("x_1", vs("x", "1"));
    check("x_12", vs("x", "12"));
    check("w_{ij}", vs("w", "ij"));
    check("w_ij", vs("w", "ij"));
    check("A_prev", vs("A", "prev"));
    check("o₁", vs("o", "1"));
    check("o₁₂", vs("o", "12"));
    check_same("o₁", "o_1");
    check_same("η_t", "eta_t");
}

// ---- calls -------------------------------------------------------------------------------

#[test]
fn builtins_are_called_in_every_spelling() {
    check("σ(z)", sigma(v("z")));
    check("sigma(z)", sigma(v("z")));
    check("sigmoid(z)", sigma(v("z")));
    check("ln(x)", call(Builtin::Log, vec![v("x")]));
    check("max(x, 0)", call(Builtin::Max, vec![v("x"), n(0)]));
    check("H(x)", call(Builtin::Heaviside, vec![v("x")]));
    check("exp (x)", exp(v("x")));
    check("√(x)", call(Builtin::Sqrt, vec![v("x")]));
    check("2√(x)", mul(vec![n(2), call(Builtin::Sqrt, vec![v("x")])]));
}

#[test]
fn square_root_sign_needs_brackets() {
    let errors = parse_expr("√x", &limits()).unwrap_err();
    let kinds: Vec<_> = errors.into_iter().map(|e| e.kind).collect();
    assert!(
        matches!(kinds.as_slice(), [ParseErrorKind::Expected { .. }]),
        "{kinds:?}"
    );
}

#[test]
fn user_definition_shadows_builtin() {
    let defs = "let σ(z) = 1 / (1 + exp(-z))";
    assert_eq!(lower_in(defs, "σ(z)"), user("sigma", vec![v("z")]));
    assert_eq!(lower_in(defs, "sigma(z)"), user("sigma", vec![v("z")]));
}

#[test]
fn user_function_is_called() {
    assert_eq!(
        lower_in("let f(x, y) = x y", "f(1, 2)"),
        user("f", vec![n(1), n(2)])
    );
}

#[test]
fn function_defined_later_in_the_file_is_a_call() {
    let p = program("claim g(2) = 4\nlet g(x) = x^2");
    let Some(Item::Claim(c)) = p.items.first() else {
        panic!("expected a claim first: {:?}", p.items);
    };
    assert_eq!(c.lhs, user("g", vec![n(2)]));
}

#[test]
fn quantity_shadows_builtin_name() {
    let e = lower_in("let H = σ(W x)", "H(1 - H)");
    assert_eq!(e, mul(vec![v("H"), add(vec![n(1), neg(v("H"))])]));
}

#[test]
fn subscripted_name_is_never_a_function() {
    check("f_1(x)", mul(vec![vs("f", "1"), v("x")]));
}

#[test]
fn primes_make_derivative_calls() {
    let prime = |f: Func| Func::Prime(Box::new(f));
    let sig = Func::Builtin(Builtin::Sigmoid);
    check("σ'(x)", Expr::apply(prime(sig.clone()), vec![v("x")]));
    check("σ''(x)", Expr::apply(prime(prime(sig)), vec![v("x")]));
    let f = Func::User("f".into());
    assert_eq!(
        lower_in("let f(x) = x^3", "f'(x)"),
        Expr::apply(prime(f.clone()), vec![v("x")])
    );
    assert_eq!(
        lower_in("let f'(x) = 3x^2", "f'(2)"),
        Expr::apply(prime(f), vec![n(2)])
    );
}

// ---- derivatives, sums, deltas -------------------------------------------------------------

#[test]
fn derivative_operator_applies_to_next_factor() {
    check("d/dz σ(z)", deriv(sigma(v("z")), "z"));
    check("d/dz x^2", deriv(pow(v("x"), n(2)), "z"));
    check("d/dz 2x", mul(vec![deriv(n(2), "z"), v("x")]));
    check("d/dz (x + 1)", deriv(add(vec![v("x"), n(1)]), "z"));
    check("d/dz(x)", deriv(v("x"), "z"));
    check("d/d(z) x", deriv(v("x"), "z"));
    check("∂/∂z x", deriv(v("x"), "z"));
    check(
        "∂/∂w_{ij} L",
        Expr::deriv(v("L"), Symbol::with_sub("w", Some("ij"))),
    );
    check("d/dz d/dz x", deriv(deriv(v("x"), "z"), "z"));
}

#[test]
fn derivative_operator_wins_over_symbol_d() {
    check("d/dx y", deriv(v("y"), "x"));
    check("d/x", mul(vec![v("d"), inv(v("x"))]));
    check("d x", mul(vec![v("d"), v("x")]));
}

#[test]
fn leibniz_fraction_of_names() {
    check("dL/dZ", deriv(v("L"), "Z"));
    check("∂L/∂Z", deriv(v("L"), "Z"));
    check(
        "∂E/∂w_{oi}",
        Expr::deriv(v("E"), Symbol::with_sub("w", Some("oi"))),
    );
    check(
        "dL/dA · dA/dZ",
        mul(vec![deriv(v("L"), "A"), deriv(v("A"), "Z")]),
    );
}

#[test]
fn sigma_sum_takes_the_following_product_chain() {
    let s = |body: Expr| {
        Expr::new(Node::Sum {
            index: Symbol::new("j"),
            lo: n(1),
            hi: v("C"),
            body,
        })
    };
    check("Σ_{j=1}^{C} x_j", s(vs("x", "j")));
    check("Σ_{j=1}^C x_j", s(vs("x", "j")));
    check("sum(j, 1, C, x_j)", s(vs("x", "j")));
    check(
        "Σ_{j=1}^{C} x_j y_j + 1",
        add(vec![s(mul(vec![vs("x", "j"), vs("y", "j")])), n(1)]),
    );
    check("2 Σ_{j=1}^{C} x_j", mul(vec![n(2), s(vs("x", "j"))]));
}

#[test]
fn kronecker_delta_spellings() {
    let d = Expr::new(Node::Delta(v("i"), v("k")));
    check("1{i=k}", d.clone());
    check("1{i = k}", d.clone());
    check("delta(i, k)", d.clone());
    check("δ(i, k)", d);
}

#[test]
fn delta_with_one_argument_is_a_product() {
    check("δ(x)", mul(vec![v("delta"), v("x")]));
}

#[test]
fn big_exponent_expression_is_just_an_expression() {
    check("x^(10^100)", pow(v("x"), pow(n(10), n(100))));
}

// ---- statements ----------------------------------------------------------------------------

const EXAMPLE_UNICODE: &str = "\
let σ(z) = 1 / (1 + exp(-z))        # function definition
let σ'(z) = σ(z)·(1 − σ(z))         # declared derivative
let A = σ(Z)
assume 0 < A < 1
assume y ∈ {0, 1}
assume n ∈ ℕ
claim d/dz σ(z) = σ(z)·(1 − σ(z))
derive d/dz σ(z)
  = -(1 + exp(-z))^(-2) · d/dz (1 + exp(-z))
  = σ(z)(1 − σ(z))
";

const EXAMPLE_ASCII: &str = "\
let sigma(z) = 1 / (1 + exp(-z))
let sigma'(z) = sigma(z)*(1 - sigma(z))
let A = sigma(Z)
assume 0 < A < 1
assume y in {0, 1}
assume n in N
claim d/dz sigma(z) = sigma(z)*(1 - sigma(z))
derive d/dz sigma(z)
  = -(1 + exp(-z))**(-2) * d/dz (1 + exp(-z))
  = sigma(z)(1 - sigma(z))
";

/// Items without spans, for comparing two spellings of one file.
fn shape(p: &Program) -> Vec<String> {
    p.items
        .iter()
        .map(|item| match item {
            Item::Def(d) => format!(
                "def {:?} {} {:?} {:?} = {:?}",
                d.kind, d.name, d.symbol, d.params, d.body
            ),
            Item::Assume(a) => format!("assume {:?}", a.fact),
            Item::Depends(d) => format!(
                "depends {:?} {:?} {:?} {:?} {:?} {:?}",
                d.quantity, d.family, d.partial, d.index, d.lo, d.hi
            ),
            Item::Claim(c) => format!("claim {:?} = {:?}", c.lhs, c.rhs),
            Item::Derive(d) => format!(
                "derive {:?} {:?}",
                d.start,
                d.steps.iter().map(|s| &s.expr).collect::<Vec<_>>()
            ),
        })
        .collect()
}

#[test]
fn unicode_and_ascii_spellings_of_the_example_file_agree() {
    let uni = program(EXAMPLE_UNICODE);
    let ascii = program(EXAMPLE_ASCII);
    assert_eq!(uni.items.len(), 8);
    assert_eq!(shape(&uni), shape(&ascii));
}

#[test]
fn example_file_lowers_to_the_stated_program() {
    let p = program(EXAMPLE_UNICODE);
    let s = user("sigma", vec![v("z")]);
    let one_minus_s = add(vec![n(1), neg(s.clone())]);
    let denom = add(vec![n(1), exp(neg(v("z")))]);

    let Some(Item::Def(def)) = p.items.first() else {
        panic!("{:?}", p.items)
    };
    assert_eq!(def.kind, DefKind::Function);
    assert_eq!(&*def.name, "sigma");
    assert_eq!(def.params, vec![Symbol::new("z")]);
    assert_eq!(def.body, mul(vec![n(1), inv(denom.clone())]));

    let Some(Item::Def(prime)) = p.items.get(1) else {
        panic!("{:?}", p.items)
    };
    assert_eq!(prime.kind, DefKind::Derivative);
    assert_eq!(&*prime.name, "sigma");
    assert_eq!(prime.body, mul(vec![s.clone(), one_minus_s.clone()]));

    let Some(Item::Def(a)) = p.items.get(2) else {
        panic!("{:?}", p.items)
    };
    assert_eq!(a.kind, DefKind::Quantity);
    assert_eq!(a.symbol, Some(Symbol::new("A")));
    assert_eq!(a.body, user("sigma", vec![v("Z")]));

    let Some(Item::Assume(bounds)) = p.items.get(3) else {
        panic!("{:?}", p.items)
    };
    let Fact::Compare(exprs, rels) = &bounds.fact else {
        panic!("{:?}", bounds.fact)
    };
    assert_eq!(exprs, &vec![n(0), v("A"), n(1)]);
    assert_eq!(rels, &vec![Rel::Lt, Rel::Lt]);

    let Some(Item::Assume(binary)) = p.items.get(4) else {
        panic!("{:?}", p.items)
    };
    let Fact::Member(y, NumberSet::Finite(values)) = &binary.fact else {
        panic!("{:?}", binary.fact)
    };
    assert_eq!((y, values), (&v("y"), &vec![n(0), n(1)]));

    let Some(Item::Assume(natural)) = p.items.get(5) else {
        panic!("{:?}", p.items)
    };
    assert!(matches!(&natural.fact, Fact::Member(x, NumberSet::Naturals) if *x == v("n")));

    let Some(Item::Claim(claim)) = p.items.get(6) else {
        panic!("{:?}", p.items)
    };
    assert_eq!(claim.lhs, deriv(s.clone(), "z"));
    assert_eq!(claim.rhs, mul(vec![s.clone(), one_minus_s.clone()]));

    let Some(Item::Derive(chain)) = p.items.get(7) else {
        panic!("{:?}", p.items)
    };
    assert_eq!(chain.start, deriv(s.clone(), "z"));
    let steps: Vec<&Expr> = chain.steps.iter().map(|s| &s.expr).collect();
    let first = mul(vec![n(-1), pow(denom.clone(), n(-2)), deriv(denom, "z")]);
    assert_eq!(steps, vec![&first, &mul(vec![s, one_minus_s])]);
}

#[test]
fn spans_point_at_the_source() {
    let text = "claim 2x = x + x\nderive x\n  = 1x\n";
    let file = SourceFile::new("t.dc", text);
    let (ast, errors) = parse_dc(&file, &limits());
    assert!(errors.is_empty(), "{errors:?}");
    let (p, _) = lower(&ast, &limits());
    let Some(Item::Claim(c)) = p.items.first() else {
        panic!("{:?}", p.items)
    };
    assert_eq!(file.slice(c.lhs_span), "2x");
    assert_eq!(file.slice(c.rhs_span), "x + x");
    assert_eq!(file.slice(c.span), "claim 2x = x + x");
    let Some(Item::Derive(d)) = p.items.get(1) else {
        panic!("{:?}", p.items)
    };
    assert_eq!(file.slice(d.start_span), "x");
    assert_eq!(
        d.steps
            .iter()
            .map(|s| file.slice(s.span))
            .collect::<Vec<_>>(),
        vec!["1x"]
    );
    assert_eq!(file.slice(d.span), "derive x\n  = 1x");
}

#[test]
fn statement_continues_while_parentheses_are_open() {
    let p = program("claim (x +\n  y) = y + x # comment\n");
    assert_eq!(p.items.len(), 1);
}

#[test]
fn comments_inside_multiline_statement_are_skipped() {
    let p = program("let f(x) = (x +  # first part\n   1)\nclaim f(1) = 2");
    assert_eq!(p.items.len(), 2);
}

#[test]
fn derive_steps_may_follow_inline() {
    let p = program("derive (x + 1)^2 = x^2 + 2x + 1\n  = 1 + 2x + x^2");
    let Some(Item::Derive(d)) = p.items.first() else {
        panic!("{:?}", p.items)
    };
    assert_eq!(d.steps.len(), 2);
}

#[test]
fn blank_lines_and_comments_between_steps_are_ignored() {
    let p = program("derive x + x\n\n  # why\n  = 2x\n");
    let Some(Item::Derive(d)) = p.items.first() else {
        panic!("{:?}", p.items)
    };
    assert_eq!(d.steps.len(), 1);
}

#[test]
fn assume_relations_in_every_spelling() {
    let p = program(
        "assume 0 ≤ x <= 1\nassume a >= b ≥ c > d\nassume k ∈ ℤ\nassume r in R\nassume t = 2",
    );
    let facts: Vec<&Fact> = p.assumptions().map(|a| &a.fact).collect();
    assert!(matches!(facts[0], Fact::Compare(_, r) if r == &vec![Rel::Le, Rel::Le]));
    assert!(matches!(facts[1], Fact::Compare(_, r) if r == &vec![Rel::Ge, Rel::Ge, Rel::Gt]));
    assert!(matches!(facts[2], Fact::Member(_, NumberSet::Integers)));
    assert!(matches!(facts[3], Fact::Member(_, NumberSet::Reals)));
    assert!(matches!(facts[4], Fact::Compare(_, r) if r == &vec![Rel::Eq]));
}

#[test]
fn windows_line_endings_and_bom_are_accepted() {
    let p = program("\u{feff}let a = 1\r\nclaim a = 1\r\n");
    assert_eq!(p.items.len(), 2);
}

#[test]
fn indicator_equals_is_not_a_claim_equals() {
    let p = program("claim 1{i = k} = delta(i, k)");
    assert_eq!(p.items.len(), 1);
}

// ---- errors as values ----------------------------------------------------------------------

fn parse_error_kinds(src: &str) -> Vec<ParseErrorKind> {
    let file = SourceFile::new("t.dc", src);
    parse_dc(&file, &limits())
        .1
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn lower_error_kinds(src: &str) -> Vec<LowerErrorKind> {
    let file = SourceFile::new("t.dc", src);
    let (ast, errors) = parse_dc(&file, &limits());
    assert!(errors.is_empty(), "{errors:?}");
    lower(&ast, &limits())
        .1
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn every_bad_statement_is_reported_and_good_ones_are_kept() {
    let src = "claim (x = 1\nlet a = 2\nprove x\nclaim a = 2\n= 3\nclaim b = 1 = 2\n";
    let file = SourceFile::new("t.dc", src);
    let (ast, errors) = parse_dc(&file, &limits());
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert_eq!(ast.stmts.len(), 2);
}

#[test]
fn reserved_names_cannot_be_defined() {
    for src in [
        "let e = 2",
        "let pi = 3",
        "let π = 3",
        "let d = 1",
        "let f(e) = e",
    ] {
        assert!(
            matches!(
                lower_error_kinds(src).as_slice(),
                [LowerErrorKind::ReservedName { .. }]
            ),
            "{src}"
        );
    }
}

#[test]
fn builtins_can_be_redefined() {
    assert!(lower_error_kinds("let exp(x) = 2^x\nlet tanh(x) = x").is_empty());
}

#[test]
fn wrong_arity_of_user_function() {
    assert_eq!(
        lower_error_kinds("let f(x) = x\nclaim f(1, 2) = 3"),
        vec![LowerErrorKind::WrongArity {
            name: "f".into(),
            expected: 1,
            found: 2
        }]
    );
}

#[test]
fn number_within_digit_limit_is_accepted() {
    let digits = "9".repeat(1000);
    assert_eq!(
        lo(&digits),
        Expr::num(Rational::from_integer(digits.parse().unwrap()))
    );
    assert!(lo("1e999").as_num().is_some());
}

#[test]
fn member_of_non_symbol_is_an_error() {
    assert_eq!(
        lower_error_kinds("assume 2x ∈ ℕ"),
        vec![LowerErrorKind::ExpectedSymbol {
            context: "before `∈`"
        }]
    );
}

#[test]
fn step_after_a_broken_derive_is_not_reported_again() {
    let kinds = parse_error_kinds("derive (x\n  = 2\n");
    assert!(
        matches!(kinds.as_slice(), [ParseErrorKind::UnclosedParen { .. }]),
        "{kinds:?}"
    );
}

#[test]
fn empty_subscript_in_let_head_is_reported_as_such() {
    let kinds = parse_error_kinds("let x_ = 1\nlet f(y_) = 1");
    assert!(
        matches!(
            kinds.as_slice(),
            [
                ParseErrorKind::EmptySubscript { .. },
                ParseErrorKind::EmptySubscript { .. }
            ]
        ),
        "{kinds:?}"
    );
}

#[test]
fn in_is_a_keyword_not_a_name() {
    let kinds = parse_error_kinds("claim in = 2");
    assert!(
        matches!(
            kinds.as_slice(),
            [ParseErrorKind::ExpectedExpression { .. }]
        ),
        "{kinds:?}"
    );
}

// ---- rendered diagnostics (insta) ------------------------------------------------------------

#[test]
fn error_unclosed_paren() {
    insta::assert_snapshot!(diagnostics("claim σ(z = 1"));
}

#[test]
fn error_unclosed_paren_at_end_of_multiline_statement() {
    insta::assert_snapshot!(diagnostics("let f(x) = (1 +\n   x\nclaim f(1) = 2"));
}

#[test]
fn error_mismatched_bracket() {
    insta::assert_snapshot!(diagnostics("claim (x] = 1"));
}

#[test]
fn error_stray_close_paren() {
    insta::assert_snapshot!(diagnostics("claim x) = 1"));
}

#[test]
fn error_missing_expression_after_operator() {
    insta::assert_snapshot!(diagnostics("claim x + = 1\nlet a = 2 *"));
}

#[test]
fn error_claim_without_equals() {
    insta::assert_snapshot!(diagnostics("claim d/dz σ(z)"));
}

#[test]
fn error_claim_with_two_equals() {
    insta::assert_snapshot!(diagnostics("claim a = b = c"));
}

#[test]
fn error_step_without_derive() {
    insta::assert_snapshot!(diagnostics("claim x = x\n  = 2x"));
}

#[test]
fn error_unknown_statement_keyword() {
    insta::assert_snapshot!(diagnostics("prove x = 1"));
}

#[test]
fn error_bad_let_head() {
    insta::assert_snapshot!(diagnostics("let 2x = 3\nlet f(x y) = 1\nlet g(x) x"));
}

#[test]
fn error_duplicate_parameter() {
    insta::assert_snapshot!(diagnostics("let f(x, x) = x"));
}

#[test]
fn error_not_a_function_with_two_arguments() {
    insta::assert_snapshot!(diagnostics("claim g(x, y) = 1"));
}

#[test]
fn error_wrong_arity() {
    insta::assert_snapshot!(diagnostics("claim tanh(x, y) = 1"));
}

#[test]
fn error_number_too_large() {
    insta::assert_snapshot!(diagnostics("claim x = 1e5000"));
}

#[test]
fn error_nesting_too_deep() {
    let limits = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    insta::assert_snapshot!(diagnostics_with("claim ((((((x)))))) = x", &limits));
}

#[test]
fn error_invalid_character() {
    insta::assert_snapshot!(diagnostics("claim x @ y = 1"));
}

#[test]
fn error_invalid_utf8() {
    let bytes = b"claim x = 1\nclaim y = \xff\xfe 2\n";
    let err = decode(bytes, &limits()).unwrap_err();
    assert_eq!(err.span.start, 22);
    let file = SourceFile::new("bad.dc", String::from_utf8_lossy(bytes));
    insta::assert_snapshot!(render(&[err], &file, &RenderOptions::default()));
}

#[test]
fn error_empty_subscript() {
    insta::assert_snapshot!(diagnostics("claim x_ = 1\nclaim x_{} = 1"));
}

#[test]
fn error_bad_assume() {
    insta::assert_snapshot!(diagnostics("assume x\nassume x ≠ 0\nassume y ∈ Q"));
}

#[test]
fn error_reserved_name() {
    insta::assert_snapshot!(diagnostics("let e = 2.718"));
}

#[test]
fn error_prime_of_non_function() {
    insta::assert_snapshot!(diagnostics("claim y'(x) = 1"));
}

#[test]
fn error_derivative_without_variable() {
    insta::assert_snapshot!(diagnostics("claim d/d 2 = 0"));
}

#[test]
fn error_malformed_sigma_sum() {
    insta::assert_snapshot!(diagnostics("claim Σ x = 1"));
}

#[test]
fn error_input_too_large() {
    let limits = Limits {
        max_input_bytes: 8,
        ..Limits::default()
    };
    insta::assert_snapshot!(diagnostics_with("claim x = 1\n", &limits));
}

#[test]
fn error_several_in_one_file_are_all_reported() {
    insta::assert_snapshot!(diagnostics(
        "let f(x) = x^2\nclaim f(1, 2) = 3\nclaim (x = 1\nlet ok = 1\nderive ok\n  = 1\n  = 1 +\nfoo\n"
    ));
}

#[test]
fn error_rendered_in_colour() {
    let file = SourceFile::new("test.dc", "claim (x = 1");
    let (_, errors) = parse_dc(&file, &limits());
    let coloured = render(&errors, &file, &RenderOptions { color: true });
    assert!(
        coloured.contains("\u{1b}["),
        "no escape codes: {coloured:?}"
    );
    insta::assert_snapshot!(coloured);
}
