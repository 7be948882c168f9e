//! Behaviour of numeric evaluation: `eval_f64`, `eval_exact` and compiled tapes.

use derivcheck::eval::{eval_exact, eval_f64, eval_f64_value, EvalError, Tape, TapeScratch};
use derivcheck::expr::{Builtin, Constant, Expr, Func, Node, Rational, Symbol};
use derivcheck::limits::{LimitKind, Limits};
use num_bigint::BigInt;

// ---- helpers ----------------------------------------------------------------------------

fn x() -> Expr {
    Expr::var("x")
}

fn call(b: Builtin, arg: Expr) -> Expr {
    Expr::call(b, vec![arg])
}

fn sigma(e: Expr) -> Expr {
    call(Builtin::Sigmoid, e)
}

fn sub(name: &str, s: &str) -> Symbol {
    Symbol::with_sub(name, Some(s))
}

fn sum(index: &str, lo: Expr, hi: Expr, body: Expr) -> Expr {
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

fn q(n: i64, d: i64) -> Rational {
    Rational::new(BigInt::from(n), BigInt::from(d))
}

/// Evaluates with the given symbol values; `eval_f64_value` must give the same bits, or
/// `None` exactly where `eval_f64` gives an error.
fn eval_at(e: &Expr, vals: &[(Symbol, f64)]) -> Result<f64, EvalError> {
    let env = |s: &Symbol| vals.iter().find(|(t, _)| t == s).map(|(_, v)| *v);
    let full = eval_f64(e, &env);
    let value = eval_f64_value(e, &env);
    assert_eq!(
        full.as_ref().ok().map(|v| v.to_bits()),
        value.map(f64::to_bits),
        "{e:?}: eval_f64 {full:?}, eval_f64_value {value:?}"
    );
    full
}

/// `f(x)` at `x = at` equals `expect` exactly.
fn check(f: Expr, at: f64, expect: f64) {
    let got = eval_at(&f, &[(Symbol::new("x"), at)]).unwrap();
    assert_eq!(
        got.to_bits(),
        expect.to_bits(),
        "{f:?} at {at}: got {got}, expected {expect}"
    );
}

/// `f(x)` at `x = at` is within `tol` of `expect`.
fn check_near(f: Expr, at: f64, expect: f64, tol: f64) {
    let got = eval_at(&f, &[(Symbol::new("x"), at)]).unwrap();
    assert!(
        (got - expect).abs() <= tol,
        "{f:?} at {at}: got {got}, expected {expect}"
    );
}

fn exact(e: &Expr, vals: &[(Symbol, Rational)]) -> Result<Option<Rational>, LimitKind> {
    eval_exact(
        e,
        &|s: &Symbol| vals.iter().find(|(t, _)| t == s).map(|(_, v)| v.clone()),
        &Limits::default(),
    )
    .map_err(|l| l.which)
}

// ---- eval_f64: built-ins ------------------------------------------------------------------

#[test]
fn sigmoid_at_zero_is_one_half() {
    check(sigma(x()), 0.0, 0.5);
}

#[test]
fn sigmoid_saturates_without_nan() {
    check(sigma(x()), -800.0, 0.0);
    check(sigma(x()), 800.0, 1.0);
    // σ(−1) = 1/(1 + e) = 0.2689414213699951
    check_near(sigma(x()), -1.0, 0.268_941_421_369_995_1, 1e-16);
}

#[test]
fn softplus_at_zero_is_ln_2() {
    check_near(
        call(Builtin::Softplus, x()),
        0.0,
        std::f64::consts::LN_2,
        1e-16,
    );
}

#[test]
fn softplus_is_stable_for_large_arguments() {
    check(call(Builtin::Softplus, x()), 800.0, 800.0);
    check(call(Builtin::Softplus, x()), -800.0, 0.0);
    // log(1 + e^−40) ≈ e^−40 = 4.248354255291589e-18
    check_near(
        call(Builtin::Softplus, x()),
        -40.0,
        4.248_354_255_291_589e-18,
        1e-30,
    );
}

#[test]
fn erf_matches_reference_values() {
    check_near(call(Builtin::Erf, x()), 0.5, 0.520_499_877_813_046_5, 1e-16);
    check(call(Builtin::Erf, x()), 0.0, 0.0);
    check_near(
        call(Builtin::Erf, x()),
        -1.0,
        -0.842_700_792_949_714_9,
        1e-16,
    );
}

#[test]
fn heaviside_is_one_half_at_zero() {
    check(call(Builtin::Heaviside, x()), 0.0, 0.5);
    check(call(Builtin::Heaviside, x()), -0.0, 0.5);
    check(call(Builtin::Heaviside, x()), -2.0, 0.0);
    check(call(Builtin::Heaviside, x()), 3.0, 1.0);
}

#[test]
fn sign_and_relu_are_zero_at_zero() {
    check(call(Builtin::Sign, x()), 0.0, 0.0);
    check(call(Builtin::Sign, x()), -3.0, -1.0);
    check(call(Builtin::Sign, x()), 0.25, 1.0);
    check(call(Builtin::Relu, x()), 0.0, 0.0);
    check(call(Builtin::Relu, x()), -1.5, 0.0);
    check(call(Builtin::Relu, x()), 2.5, 2.5);
    check(call(Builtin::Abs, x()), -2.0, 2.0);
}

#[test]
fn elementary_functions_at_known_points() {
    use std::f64::consts::{E, FRAC_PI_2};
    check(call(Builtin::Exp, x()), 0.0, 1.0);
    check(call(Builtin::Exp, x()), 1.0, E);
    check(call(Builtin::Log, x()), 1.0, 0.0);
    check(call(Builtin::Log, x()), E, 1.0);
    check(call(Builtin::Sqrt, x()), 9.0, 3.0);
    check(call(Builtin::Sin, x()), FRAC_PI_2, 1.0);
    check(call(Builtin::Cos, x()), 0.0, 1.0);
    check(call(Builtin::Tanh, x()), 0.0, 0.0);
    check_near(
        call(Builtin::Tanh, x()),
        1.0,
        0.761_594_155_955_764_9,
        1e-16,
    );
    check(call(Builtin::Sinh, x()), 0.0, 0.0);
    check(call(Builtin::Cosh, x()), 0.0, 1.0);
    // cosh(1) = (e + 1/e)/2 = 1.5430806348152437
    check_near(
        call(Builtin::Cosh, x()),
        1.0,
        1.543_080_634_815_243_7,
        1e-15,
    );
}

#[test]
fn log_and_sqrt_of_negative_numbers_are_nan_values() {
    assert!(eval_at(&call(Builtin::Log, Expr::int(-1)), &[])
        .unwrap()
        .is_nan());
    assert!(eval_at(&call(Builtin::Sqrt, Expr::int(-4)), &[])
        .unwrap()
        .is_nan());
    assert_eq!(
        eval_at(&call(Builtin::Log, Expr::zero()), &[]).unwrap(),
        f64::NEG_INFINITY
    );
}

#[test]
fn max_and_min_pick_and_propagate_nan() {
    let max = Expr::call(Builtin::Max, vec![x(), Expr::int(2)]);
    let min = Expr::call(Builtin::Min, vec![x(), Expr::int(2)]);
    check(max.clone(), 3.0, 3.0);
    check(max.clone(), 1.0, 2.0);
    check(min.clone(), 3.0, 2.0);
    check(min.clone(), 1.0, 1.0);
    assert!(eval_at(&max, &[(Symbol::new("x"), f64::NAN)])
        .unwrap()
        .is_nan());
    assert!(eval_at(&min, &[(Symbol::new("x"), f64::NAN)])
        .unwrap()
        .is_nan());
}

#[test]
fn max_equals_heaviside_form_even_at_ties() {
    // max(a, b) = a·H(a − b) + b·H(b − a), exactly, also for a = b.
    let (a, b) = (Expr::var("a"), Expr::var("b"));
    let max = Expr::call(Builtin::Max, vec![a.clone(), b.clone()]);
    let h = |u: &Expr, v: &Expr| call(Builtin::Heaviside, Expr::sub(u.clone(), v.clone()));
    let form = Expr::add(vec![
        Expr::mul(vec![a.clone(), h(&a, &b)]),
        Expr::mul(vec![b.clone(), h(&b, &a)]),
    ]);
    for (va, vb) in [(1.7, 1.7), (1.7, -3.25), (-2.5, 0.125), (0.0, 0.0)] {
        let vals = [(Symbol::new("a"), va), (Symbol::new("b"), vb)];
        assert_eq!(
            eval_at(&max, &vals).unwrap(),
            eval_at(&form, &vals).unwrap()
        );
    }
}

#[test]
fn delta_compares_values() {
    assert_eq!(
        eval_at(&delta(Expr::int(1), Expr::frac(2, 2)), &[]),
        Ok(1.0)
    );
    assert_eq!(eval_at(&delta(Expr::int(1), Expr::int(2)), &[]), Ok(0.0));
}

// ---- eval_f64: numbers, powers, errors ---------------------------------------------------

#[test]
fn numbers_and_constants_convert_to_nearest_f64() {
    assert_eq!(eval_at(&Expr::frac(1, 3), &[]), Ok(1.0 / 3.0));
    assert_eq!(
        eval_at(&Expr::constant(Constant::Pi), &[]),
        Ok(std::f64::consts::PI)
    );
    assert_eq!(
        eval_at(&Expr::constant(Constant::E), &[]),
        Ok(std::f64::consts::E)
    );
    // The empty sum and product.
    assert_eq!(eval_at(&Expr::add(vec![]), &[]), Ok(0.0));
    assert_eq!(eval_at(&Expr::mul(vec![]), &[]), Ok(1.0));
}

#[test]
fn powers_with_integer_and_fractional_exponents() {
    check(Expr::pow(x(), Expr::int(2)), -3.0, 9.0);
    check(Expr::pow(x(), Expr::int(3)), -2.0, -8.0);
    check(Expr::pow(x(), Expr::int(-1)), 4.0, 0.25);
    check(Expr::pow(x(), Expr::frac(1, 2)), 4.0, 2.0);
    assert!(eval_at(&Expr::pow(Expr::int(-4), Expr::frac(1, 2)), &[])
        .unwrap()
        .is_nan());
    // 1/0 is a value (∞), not an error: the caller decides.
    assert_eq!(
        eval_at(&Expr::div(Expr::one(), Expr::zero()), &[]),
        Ok(f64::INFINITY)
    );
}

#[test]
fn missing_symbol_is_an_error_naming_it() {
    let e = Expr::add(vec![x(), Expr::var("y")]);
    assert_eq!(
        eval_at(&e, &[(Symbol::new("x"), 1.0)]),
        Err(EvalError::UnboundSymbol(Symbol::new("y")))
    );
}

#[test]
fn derivatives_and_user_functions_are_unsupported() {
    let cases = [
        Expr::deriv(sigma(x()), Symbol::new("x")),
        Expr::apply(Func::User("f".into()), vec![x()]),
        Expr::apply(
            Func::Prime(Box::new(Func::Builtin(Builtin::Sigmoid))),
            vec![x()],
        ),
    ];
    for e in cases {
        let res = eval_at(&e, &[(Symbol::new("x"), 1.0)]);
        assert!(
            matches!(res, Err(EvalError::Unsupported(_))),
            "{e:?}: {res:?}"
        );
    }
}

#[test]
fn wrong_arity_is_an_error() {
    let e = Expr::call(Builtin::Exp, vec![x(), x()]);
    assert_eq!(
        eval_at(&e, &[(Symbol::new("x"), 1.0)]),
        Err(EvalError::Arity {
            func: "exp",
            expected: 1,
            found: 2
        })
    );
}

// ---- eval_f64: sums -----------------------------------------------------------------------

#[test]
fn sum_binds_its_index() {
    // Σ_{j=1}^{4} j = 10
    let e = sum("j", Expr::one(), Expr::int(4), Expr::var("j"));
    assert_eq!(eval_at(&e, &[]), Ok(10.0));
}

#[test]
fn sum_reads_indexed_symbols_by_value() {
    // Σ_{j=1}^{C} x_j with C = 3 reads x_1, x_2, x_3.
    let e = sum("j", Expr::one(), Expr::var("C"), Expr::sym(sub("x", "j")));
    let vals = [
        (Symbol::new("C"), 3.0),
        (sub("x", "1"), 1.0),
        (sub("x", "2"), 10.0),
        (sub("x", "3"), 100.0),
    ];
    assert_eq!(eval_at(&e, &vals), Ok(111.0));
    // Without a value for x_3, the error names x_3.
    assert_eq!(
        eval_at(&e, &vals[..3]),
        Err(EvalError::UnboundSymbol(sub("x", "3")))
    );
}

#[test]
fn nested_sums_read_two_index_subscripts() {
    // Σ_{i=1}^{2} Σ_{j=1}^{2} w_{ij} with w_{i,j} = 10·i + j: 11 + 12 + 21 + 22 = 66.
    let e = sum(
        "i",
        Expr::one(),
        Expr::int(2),
        sum("j", Expr::one(), Expr::int(2), Expr::sym(sub("w", "ij"))),
    );
    let env = |s: &Symbol| {
        let (i, j) = s.sub()?.split_once(',')?;
        Some(10.0 * i.parse::<f64>().ok()? + j.parse::<f64>().ok()?)
    };
    assert_eq!(eval_f64(&e, &env), Ok(66.0));
}

#[test]
fn delta_in_a_sum_picks_one_term() {
    // Σ_{j=1}^{3} δ(j, 2)·x_j = x_2
    let body = Expr::mul(vec![
        delta(Expr::var("j"), Expr::int(2)),
        Expr::sym(sub("x", "j")),
    ]);
    let e = sum("j", Expr::one(), Expr::int(3), body);
    let vals = [
        (sub("x", "1"), 5.0),
        (sub("x", "2"), 7.0),
        (sub("x", "3"), 11.0),
    ];
    assert_eq!(eval_at(&e, &vals), Ok(7.0));
}

#[test]
fn empty_sum_is_zero() {
    let e = sum("j", Expr::int(3), Expr::int(1), Expr::var("undefined"));
    assert_eq!(eval_at(&e, &[]), Ok(0.0));
}

#[test]
fn sum_with_fractional_bound_is_an_error() {
    let e = sum("j", Expr::one(), Expr::frac(5, 2), Expr::var("j"));
    assert_eq!(eval_at(&e, &[]), Err(EvalError::SumBound(2.5)));
}

#[test]
fn huge_sum_stops_with_too_large() {
    let e = sum("j", Expr::one(), Expr::int(10_000_000), Expr::var("j"));
    assert!(matches!(eval_at(&e, &[]), Err(EvalError::TooLarge(_))));
    // Nested sums multiply: 2000 · 2000 = 4,000,000 iterations.
    let inner = sum("j", Expr::one(), Expr::int(2000), Expr::var("j"));
    let e = sum("i", Expr::one(), Expr::int(2000), inner);
    assert!(matches!(eval_at(&e, &[]), Err(EvalError::TooLarge(_))));
}

#[test]
fn deeply_nested_sums_stop_with_too_deep() {
    let mut e = Expr::one();
    for _ in 0..100 {
        e = sum("j", Expr::one(), Expr::one(), e);
    }
    assert!(matches!(eval_at(&e, &[]), Err(EvalError::TooDeep(_))));
    let mut e = Expr::one();
    for _ in 0..20 {
        e = sum("j", Expr::one(), Expr::one(), e);
    }
    assert_eq!(eval_at(&e, &[]), Ok(1.0));
}

// ---- eval_f64: deep expressions ----------------------------------------------------------

/// x → x·x + x, `n` times, each step sharing the previous node.
fn iterated_square_plus(n: usize) -> Expr {
    let mut e = x();
    for _ in 0..n {
        e = Expr::add(vec![Expr::mul(vec![e.clone(), e.clone()]), e]);
    }
    e
}

#[test]
fn deep_shared_dag_evaluates_without_overflow() {
    let e = iterated_square_plus(10_000);
    assert_eq!(e.depth(), 20_000);
    let x0 = -0.5;
    let mut expect = x0;
    for _ in 0..10_000 {
        expect = expect * expect + expect;
    }
    check(e, x0, expect);
}

#[test]
fn deep_tree_evaluates_without_overflow() {
    let mut e = x();
    for _ in 0..200_000 {
        e = call(Builtin::Tanh, e);
    }
    let got = eval_at(&e, &[(Symbol::new("x"), 0.5)]).unwrap();
    assert!(got > 0.0 && got < 0.5);
}

#[test]
fn finiteness_helpers_flag_nan_and_infinity() {
    use derivcheck::eval::{all_finite, require_finite};
    assert_eq!(require_finite(1.5), Ok(1.5));
    assert!(matches!(
        require_finite(f64::INFINITY),
        Err(EvalError::NonFinite(_))
    ));
    assert!(require_finite(f64::NAN).is_err());
    assert!(all_finite(&[0.0, -1.0]));
    assert!(!all_finite(&[0.0, f64::NAN]));
}

// ---- eval_exact ----------------------------------------------------------------------------

#[test]
fn exact_arithmetic_is_exact() {
    // (1/2 + 1/3)·6 = 5
    let e = Expr::mul(vec![
        Expr::add(vec![Expr::frac(1, 2), Expr::frac(1, 3)]),
        Expr::int(6),
    ]);
    assert_eq!(exact(&e, &[]), Ok(Some(q(5, 1))));
    // 1/3 + 1/3 + 1/3 = 1, which f64 does not give exactly for every grouping.
    let third = Expr::frac(1, 3);
    let e = Expr::add(vec![third.clone(), third.clone(), third]);
    assert_eq!(exact(&e, &[]), Ok(Some(q(1, 1))));
}

#[test]
fn exact_transcendental_values_are_none() {
    assert_eq!(exact(&call(Builtin::Exp, Expr::one()), &[]), Ok(None));
    assert_eq!(exact(&call(Builtin::Log, Expr::int(2)), &[]), Ok(None));
    assert_eq!(exact(&call(Builtin::Softplus, Expr::zero()), &[]), Ok(None));
    assert_eq!(exact(&Expr::constant(Constant::Pi), &[]), Ok(None));
    assert_eq!(exact(&call(Builtin::Sqrt, Expr::int(2)), &[]), Ok(None));
}

#[test]
fn exact_special_points_are_known() {
    assert_eq!(
        exact(&call(Builtin::Exp, Expr::zero()), &[]),
        Ok(Some(q(1, 1)))
    );
    assert_eq!(
        exact(&call(Builtin::Log, Expr::one()), &[]),
        Ok(Some(q(0, 1)))
    );
    assert_eq!(exact(&sigma(Expr::zero()), &[]), Ok(Some(q(1, 2))));
    assert_eq!(
        exact(&call(Builtin::Tanh, Expr::zero()), &[]),
        Ok(Some(q(0, 1)))
    );
    assert_eq!(
        exact(&call(Builtin::Cosh, Expr::zero()), &[]),
        Ok(Some(q(1, 1)))
    );
    assert_eq!(
        exact(&call(Builtin::Heaviside, Expr::zero()), &[]),
        Ok(Some(q(1, 2)))
    );
    assert_eq!(
        exact(&call(Builtin::Sqrt, Expr::frac(4, 9)), &[]),
        Ok(Some(q(2, 3)))
    );
}

#[test]
fn exact_piecewise_functions() {
    let at = |b: Builtin, v: Rational| exact(&call(b, x()), &[(Symbol::new("x"), v)]);
    assert_eq!(at(Builtin::Abs, q(-3, 2)), Ok(Some(q(3, 2))));
    assert_eq!(at(Builtin::Sign, q(-3, 2)), Ok(Some(q(-1, 1))));
    assert_eq!(at(Builtin::Sign, q(0, 1)), Ok(Some(q(0, 1))));
    assert_eq!(at(Builtin::Relu, q(-3, 2)), Ok(Some(q(0, 1))));
    assert_eq!(at(Builtin::Relu, q(3, 2)), Ok(Some(q(3, 2))));
    let max = Expr::call(Builtin::Max, vec![x(), Expr::frac(1, 3)]);
    let min = Expr::call(Builtin::Min, vec![x(), Expr::frac(1, 3)]);
    assert_eq!(
        exact(&max, &[(Symbol::new("x"), q(1, 4))]),
        Ok(Some(q(1, 3)))
    );
    assert_eq!(
        exact(&min, &[(Symbol::new("x"), q(1, 4))]),
        Ok(Some(q(1, 4)))
    );
    assert_eq!(
        exact(&delta(Expr::frac(2, 4), Expr::frac(1, 2)), &[]),
        Ok(Some(q(1, 1)))
    );
}

#[test]
fn exact_powers_and_roots() {
    assert_eq!(
        exact(&Expr::pow(Expr::frac(2, 3), Expr::int(-2)), &[]),
        Ok(Some(q(9, 4)))
    );
    assert_eq!(
        exact(&Expr::pow(Expr::int(8), Expr::frac(2, 3)), &[]),
        Ok(Some(q(4, 1)))
    );
    assert_eq!(
        exact(&Expr::pow(Expr::int(-8), Expr::frac(1, 3)), &[]),
        Ok(Some(q(-2, 1)))
    );
    assert_eq!(
        exact(&Expr::pow(Expr::int(-4), Expr::frac(1, 2)), &[]),
        Ok(None)
    );
    assert_eq!(
        exact(&Expr::pow(Expr::int(2), Expr::frac(1, 2)), &[]),
        Ok(None)
    );
    assert_eq!(
        exact(&Expr::pow(Expr::zero(), Expr::zero()), &[]),
        Ok(Some(q(1, 1)))
    );
}

#[test]
fn exact_division_by_zero_is_none() {
    assert_eq!(exact(&Expr::div(Expr::one(), Expr::zero()), &[]), Ok(None));
    assert_eq!(
        exact(&Expr::pow(Expr::zero(), Expr::frac(-1, 2)), &[]),
        Ok(None)
    );
}

#[test]
fn exact_huge_exponent_reaches_a_limit() {
    // x^(10^6) at x = 2: the exponent is over max_exponent.
    let e = Expr::pow(x(), Expr::pow(Expr::int(10), Expr::int(6)));
    assert_eq!(
        exact(&e, &[(Symbol::new("x"), q(2, 1))]),
        Err(LimitKind::Exponent)
    );
    // ... but 1^(10^6) is 1.
    assert_eq!(exact(&e, &[(Symbol::new("x"), q(1, 1))]), Ok(Some(q(1, 1))));
}

#[test]
fn exact_huge_number_reaches_the_digit_limit() {
    // (10^60)^60 has 3601 digits, over the default 1000.
    let e = Expr::pow(Expr::pow(Expr::int(10), Expr::int(60)), Expr::int(60));
    assert_eq!(exact(&e, &[]), Err(LimitKind::Digits));
    // Repeated squaring through sharing: x → x·x, 20 times, at x = 3 (3^(2^20)).
    let mut e = Expr::int(3);
    for _ in 0..20 {
        e = Expr::mul(vec![e.clone(), e]);
    }
    assert_eq!(exact(&e, &[]), Err(LimitKind::Digits));
}

#[test]
fn exact_unbound_symbol_is_none() {
    assert_eq!(exact(&Expr::add(vec![x(), Expr::one()]), &[]), Ok(None));
    assert_eq!(exact(&Expr::deriv(x(), Symbol::new("x")), &[]), Ok(None));
}

#[test]
fn exact_sums() {
    // Σ_{j=1}^{4} j² = 30
    let e = sum(
        "j",
        Expr::one(),
        Expr::int(4),
        Expr::pow(Expr::var("j"), Expr::int(2)),
    );
    assert_eq!(exact(&e, &[]), Ok(Some(q(30, 1))));
    // Σ_{j=1}^{n} 1/(j(j+1)) = n/(n+1), at n = 9.
    let j = Expr::var("j");
    let body = Expr::pow(
        Expr::mul(vec![j.clone(), Expr::add(vec![j, Expr::one()])]),
        Expr::int(-1),
    );
    let e = sum("j", Expr::one(), Expr::var("n"), body);
    assert_eq!(
        exact(&e, &[(Symbol::new("n"), q(9, 1))]),
        Ok(Some(q(9, 10)))
    );
    // Indexed symbols, as in eval_f64.
    let e = sum("j", Expr::one(), Expr::int(2), Expr::sym(sub("x", "j")));
    let vals = [(sub("x", "1"), q(1, 2)), (sub("x", "2"), q(1, 3))];
    assert_eq!(exact(&e, &vals), Ok(Some(q(5, 6))));
}

#[test]
fn exact_long_sum_reaches_the_term_limit() {
    let e = sum("j", Expr::one(), Expr::int(1_000_000), Expr::var("j"));
    assert_eq!(exact(&e, &[]), Err(LimitKind::Terms));
}

#[test]
fn exact_deep_shared_dag_terminates() {
    let e = iterated_square_plus(10_000);
    assert_eq!(exact(&e, &[(Symbol::new("x"), q(0, 1))]), Ok(Some(q(0, 1))));
    assert_eq!(
        exact(&e, &[(Symbol::new("x"), q(-1, 1))]),
        Ok(Some(q(0, 1)))
    );
    assert_eq!(
        exact(&e, &[(Symbol::new("x"), q(1, 2))]),
        Err(LimitKind::Digits)
    );
}

// ---- Tape ------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so the tests need no seed handling.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

fn inputs() -> Vec<Symbol> {
    ["z", "a", "A", "y", "x", "w"]
        .iter()
        .map(|n| Symbol::new(n))
        .chain((1..=3).map(|j| sub("x", &j.to_string())))
        .collect()
}

/// Columns for `inputs()`: z in [−10, 10] with some exact zeros, a and A in (0, 1), y in
/// {0, 1}, x in [−0.5, 0], w in [−3, 3], x_1..x_3 in [−2, 2].
fn columns(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Rng(seed);
    let mut cols: Vec<Vec<f64>> = (0..9).map(|_| Vec::with_capacity(n)).collect();
    for row in 0..n {
        let z = if row % 5 == 0 {
            0.0
        } else {
            rng.range(-10.0, 10.0)
        };
        let vals = [
            z,
            rng.range(0.001, 0.999),
            rng.range(0.001, 0.999),
            if rng.next_f64() < 0.5 { 0.0 } else { 1.0 },
            rng.range(-0.5, 0.0),
            rng.range(-3.0, 3.0),
            rng.range(-2.0, 2.0),
            rng.range(-2.0, 2.0),
            rng.range(-2.0, 2.0),
        ];
        for (col, v) in cols.iter_mut().zip(vals) {
            col.push(v);
        }
    }
    cols
}

fn formulas() -> Vec<(&'static str, Expr)> {
    let z = Expr::var("z");
    let a = Expr::var("a");
    let big_a = Expr::var("A");
    let y = Expr::var("y");
    let w = Expr::var("w");
    let one = Expr::one;
    let s = sigma(z.clone());
    vec![
        (
            "σ(z)·(1 − σ(z))",
            Expr::mul(vec![s.clone(), Expr::sub(one(), s.clone())]),
        ),
        (
            "a·(1 − a)",
            Expr::mul(vec![a.clone(), Expr::sub(one(), a.clone())]),
        ),
        (
            "1 − tanh(z)²",
            Expr::sub(
                one(),
                Expr::pow(call(Builtin::Tanh, z.clone()), Expr::int(2)),
            ),
        ),
        (
            "(A − y)/(A·(1 − A))",
            Expr::div(
                Expr::sub(big_a.clone(), y.clone()),
                Expr::mul(vec![big_a.clone(), Expr::sub(one(), big_a.clone())]),
            ),
        ),
        ("relu(z)", call(Builtin::Relu, z.clone())),
        ("heaviside(z)", call(Builtin::Heaviside, z.clone())),
        (
            "sign(z)·abs(z)",
            Expr::mul(vec![
                call(Builtin::Sign, z.clone()),
                call(Builtin::Abs, z.clone()),
            ]),
        ),
        ("shared DAG", iterated_square_plus(200)),
        (
            "softplus(z) − log(1 + exp(z))",
            Expr::sub(
                call(Builtin::Softplus, z.clone()),
                call(
                    Builtin::Log,
                    Expr::add(vec![one(), call(Builtin::Exp, z.clone())]),
                ),
            ),
        ),
        (
            "exp(−z²/2)/sqrt(2π)",
            Expr::div(
                call(
                    Builtin::Exp,
                    Expr::mul(vec![Expr::frac(-1, 2), Expr::pow(z.clone(), Expr::int(2))]),
                ),
                call(
                    Builtin::Sqrt,
                    Expr::mul(vec![Expr::int(2), Expr::constant(Constant::Pi)]),
                ),
            ),
        ),
        (
            "erf(z/√2)",
            call(
                Builtin::Erf,
                Expr::div(z.clone(), call(Builtin::Sqrt, Expr::int(2))),
            ),
        ),
        (
            "max(a, w)·min(z, A)",
            Expr::mul(vec![
                Expr::call(Builtin::Max, vec![a.clone(), w.clone()]),
                Expr::call(Builtin::Min, vec![z.clone(), big_a.clone()]),
            ]),
        ),
        (
            "2^w + a^w + A^a + A^(1/2) + w^3",
            Expr::add(vec![
                Expr::pow(Expr::int(2), w.clone()),
                Expr::pow(a.clone(), w.clone()),
                Expr::pow(big_a.clone(), a.clone()),
                Expr::pow(big_a.clone(), Expr::frac(1, 2)),
                Expr::pow(w.clone(), Expr::int(3)),
            ]),
        ),
        (
            "sin(w)·cos(z) + sinh(w) − cosh(a)",
            Expr::add(vec![
                Expr::mul(vec![
                    call(Builtin::Sin, w.clone()),
                    call(Builtin::Cos, z.clone()),
                ]),
                call(Builtin::Sinh, w.clone()),
                Expr::neg(call(Builtin::Cosh, a.clone())),
            ]),
        ),
        (
            "Σ_{j=1}^{3} δ(j, 2)·x_j·w + x_j²",
            sum(
                "j",
                one(),
                Expr::int(3),
                Expr::add(vec![
                    Expr::mul(vec![
                        delta(Expr::var("j"), Expr::int(2)),
                        Expr::sym(sub("x", "j")),
                        w.clone(),
                    ]),
                    Expr::pow(Expr::sym(sub("x", "j")), Expr::int(2)),
                ]),
            ),
        ),
        (
            "−y·log(A) − (1 − y)·log(1 − A)",
            Expr::sub(
                Expr::neg(Expr::mul(vec![
                    y.clone(),
                    call(Builtin::Log, big_a.clone()),
                ])),
                Expr::mul(vec![
                    Expr::sub(one(), y.clone()),
                    call(Builtin::Log, Expr::sub(one(), big_a.clone())),
                ]),
            ),
        ),
    ]
}

/// Same value bit for bit, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs `tape` over `cols` and compares every output with `eval_f64` of `exprs`, row by row.
fn assert_tape_matches(
    tape: &Tape,
    exprs: &[(&str, Expr)],
    cols: &[Vec<f64>],
    scratch: &mut TapeScratch,
) {
    let syms = inputs();
    let slices: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let mut outs = vec![Vec::new(); exprs.len()];
    tape.eval(&slices, &mut outs, scratch).unwrap();
    let n = cols.first().map_or(0, Vec::len);
    for ((name, e), out) in exprs.iter().zip(&outs) {
        assert_eq!(out.len(), n, "{name}");
        for row in 0..n {
            let env = |s: &Symbol| syms.iter().position(|t| t == s).map(|i| cols[i][row]);
            let expect = eval_f64(e, &env).unwrap();
            assert!(
                same(out[row], expect),
                "{name} row {row}: tape {} vs eval {expect}",
                out[row]
            );
        }
    }
}

#[test]
fn tape_agrees_with_eval_f64_on_random_batches() {
    let all = formulas();
    for (name, e) in &all {
        let tape = Tape::compile(std::slice::from_ref(e), &inputs()).unwrap();
        let mut scratch = TapeScratch::new();
        for (n, seed) in [(0, 1), (1, 2), (7, 3), (1000, 4)] {
            let cols = columns(n, seed);
            assert_tape_matches(&tape, &[(name, e.clone())], &cols, &mut scratch);
        }
    }
}

#[test]
fn tape_with_many_outputs_agrees_and_reuses_scratch() {
    let all = formulas();
    let exprs: Vec<Expr> = all.iter().map(|(_, e)| e.clone()).collect();
    let tape = Tape::compile(&exprs, &inputs()).unwrap();
    let mut scratch = TapeScratch::new();
    // Large batch first, then smaller ones with the same (warm) scratch.
    for (n, seed) in [(1000, 5), (7, 6), (1, 7), (0, 8), (1000, 9)] {
        assert_tape_matches(&tape, &all, &columns(n, seed), &mut scratch);
    }
}

#[test]
fn tape_relu_and_heaviside_at_zero() {
    let z = Expr::var("z");
    let tape = Tape::compile(
        &[call(Builtin::Relu, z.clone()), call(Builtin::Heaviside, z)],
        &[Symbol::new("z")],
    )
    .unwrap();
    let mut outs = vec![Vec::new(), Vec::new()];
    tape.eval(
        &[&[0.0, -0.0, -1.0, 2.0]],
        &mut outs,
        &mut TapeScratch::new(),
    )
    .unwrap();
    assert_eq!(outs[0], vec![0.0, 0.0, 0.0, 2.0]);
    assert_eq!(outs[1], vec![0.5, 0.5, 0.0, 1.0]);
}

#[test]
fn tape_shares_common_subterms() {
    // σ(z) appears twice as the same node and is computed once; 1 − σ(z), written
    // 1 + (−1)·σ(z), is one subtraction.
    let s = sigma(Expr::var("z"));
    let f = Expr::mul(vec![s.clone(), Expr::sub(Expr::one(), s)]);
    let tape = Tape::compile(&[f], &[Symbol::new("z")]).unwrap();
    assert_eq!(
        tape.to_string(),
        "v0 = sigma(z)\nv1 = 1 - v0\nv2 = v0 * v1\nout0 = v2\n"
    );
    // The 200-step shared DAG is 2 instructions per step.
    let tape = Tape::compile(&[iterated_square_plus(200)], &[Symbol::new("x")]).unwrap();
    assert_eq!(tape.len(), 400);
}

#[test]
fn tape_deep_dag_compiles_and_runs() {
    let e = iterated_square_plus(10_000);
    let tape = Tape::compile(std::slice::from_ref(&e), &[Symbol::new("x")]).unwrap();
    assert_eq!(tape.len(), 20_000);
    let got = tape.eval_scalar(&[-0.5]).unwrap();
    let expect = eval_at(&e, &[(Symbol::new("x"), -0.5)]).unwrap();
    assert_eq!(got, vec![expect]);
}

#[test]
fn tape_output_may_be_an_input_or_a_constant() {
    let tape = Tape::compile(&[x(), Expr::frac(3, 4)], &[Symbol::new("x")]).unwrap();
    let mut outs = vec![Vec::new(), Vec::new()];
    tape.eval(&[&[1.0, 2.0]], &mut outs, &mut TapeScratch::new())
        .unwrap();
    assert_eq!(outs, vec![vec![1.0, 2.0], vec![0.75, 0.75]]);
}

#[test]
fn tape_rejects_unknown_symbols_and_unexpanded_nodes() {
    let ins = [Symbol::new("x")];
    assert_eq!(
        Tape::compile(&[Expr::var("y")], &ins).unwrap_err(),
        EvalError::UnboundSymbol(Symbol::new("y"))
    );
    let d = Expr::deriv(x(), Symbol::new("x"));
    assert!(matches!(
        Tape::compile(&[d], &ins),
        Err(EvalError::Unsupported(_))
    ));
    // A sum whose bound is an input cannot be unrolled.
    let s = sum("j", Expr::one(), x(), Expr::var("j"));
    assert!(matches!(
        Tape::compile(&[s], &ins),
        Err(EvalError::Unsupported(_))
    ));
}

#[test]
fn tape_rejects_wrong_batch_shapes() {
    let tape = Tape::compile(
        &[Expr::add(vec![x(), Expr::var("y")])],
        &[Symbol::new("x"), Symbol::new("y")],
    )
    .unwrap();
    let mut scratch = TapeScratch::new();
    let mut outs = vec![Vec::new()];
    let err = tape.eval(&[&[1.0]], &mut outs, &mut scratch).unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::Shape {
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = tape
        .eval(&[&[1.0], &[1.0, 2.0]], &mut outs, &mut scratch)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::Shape {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = tape
        .eval(&[&[1.0], &[2.0]], &mut [], &mut scratch)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::Shape {
                expected: 1,
                found: 0,
                ..
            }
        ),
        "{err:?}"
    );
    tape.eval(&[&[1.0], &[2.0]], &mut outs, &mut scratch)
        .unwrap();
    assert_eq!(outs, vec![vec![3.0]]);
}
