//! One function per built-in: its derivative with respect to its argument(s), as a formula in
//! the argument(s), written in the form people write (σ' through σ, tanh' through tanh).
//!
//! The chain rule (multiplying by the inner derivative) is applied once, in `diff::mod`.

use crate::expr::{Builtin, Expr};

/// The rule that fired, by stable kebab-case name, and the partial derivatives of the
/// function with respect to each argument, plus the kink (where the function is not
/// differentiable) as an expression that vanishes there.
pub struct BuiltinRule {
    /// Stable rule name, shown in `--steps`.
    pub name: &'static str,
    /// ∂f/∂arg_i for each argument.
    pub partials: Vec<Expr>,
    /// Expressions that are zero exactly where f is not differentiable.
    pub kinks: Vec<Expr>,
}

fn rule(name: &'static str, partials: Vec<Expr>) -> BuiltinRule {
    BuiltinRule {
        name,
        partials,
        kinks: Vec::new(),
    }
}

fn kinked(name: &'static str, partials: Vec<Expr>, kink: Expr) -> BuiltinRule {
    BuiltinRule {
        name,
        partials,
        kinks: vec![kink],
    }
}

fn call(b: Builtin, u: &Expr) -> Expr {
    Expr::call(b, vec![u.clone()])
}

/// The rule for built-in `b` applied to `args` (arity already checked by the caller; a wrong
/// arity yields `None`).
pub fn builtin_rule(b: Builtin, args: &[Expr]) -> Option<BuiltinRule> {
    if args.len() != b.arity() {
        return None;
    }
    let u = args.first()?;
    Some(match b {
        // d/du exp(u) = exp(u)
        Builtin::Exp => rule("d-exp", vec![call(Builtin::Exp, u)]),
        // d/du log(u) = 1/u
        Builtin::Log => rule("d-log", vec![Expr::pow(u.clone(), Expr::int(-1))]),
        // d/du √u = 1/(2·√u)
        Builtin::Sqrt => rule(
            "d-sqrt",
            vec![Expr::div(
                Expr::one(),
                Expr::mul(vec![Expr::int(2), call(b, u)]),
            )],
        ),
        // d/du |u| = sign(u), not differentiable at u = 0
        Builtin::Abs => kinked("d-abs", vec![call(Builtin::Sign, u)], u.clone()),
        // d/du sign(u) = 0, not differentiable at u = 0
        Builtin::Sign => kinked("d-sign", vec![Expr::zero()], u.clone()),
        // d/du sin(u) = cos(u)
        Builtin::Sin => rule("d-sin", vec![call(Builtin::Cos, u)]),
        // d/du cos(u) = −sin(u)
        Builtin::Cos => rule("d-cos", vec![Expr::neg(call(Builtin::Sin, u))]),
        // d/du tanh(u) = 1 − tanh(u)²
        Builtin::Tanh => rule(
            "d-tanh",
            vec![Expr::sub(Expr::one(), Expr::pow(call(b, u), Expr::int(2)))],
        ),
        // d/du sinh(u) = cosh(u)
        Builtin::Sinh => rule("d-sinh", vec![call(Builtin::Cosh, u)]),
        // d/du cosh(u) = sinh(u)
        Builtin::Cosh => rule("d-cosh", vec![call(Builtin::Sinh, u)]),
        // d/du σ(u) = σ(u)·(1 − σ(u))
        Builtin::Sigmoid => rule("d-sigmoid", vec![sigmoid_prime(call(b, u))]),
        // d/du relu(u) = H(u), not differentiable at u = 0
        Builtin::Relu => kinked("d-relu", vec![call(Builtin::Heaviside, u)], u.clone()),
        // d/du softplus(u) = σ(u)
        Builtin::Softplus => rule("d-softplus", vec![call(Builtin::Sigmoid, u)]),
        // ∂/∂a max(a, b) = H(a − b), ∂/∂b max(a, b) = H(b − a), not differentiable at a = b
        Builtin::Max | Builtin::Min => {
            let v = args.get(1)?;
            let a_minus_b = Expr::sub(u.clone(), v.clone());
            let b_minus_a = Expr::sub(v.clone(), u.clone());
            let h = |x: Expr| Expr::call(Builtin::Heaviside, vec![x]);
            let (pa, pb) = if b == Builtin::Max {
                (h(a_minus_b.clone()), h(b_minus_a))
            } else {
                (h(b_minus_a), h(a_minus_b.clone()))
            };
            let name = if b == Builtin::Max { "d-max" } else { "d-min" };
            kinked(name, vec![pa, pb], a_minus_b)
        }
        // d/du erf(u) = 2/√π · exp(−u²)
        Builtin::Erf => rule(
            "d-erf",
            vec![Expr::mul(vec![
                Expr::int(2),
                Expr::pow(Expr::constant(crate::expr::Constant::Pi), Expr::frac(-1, 2)),
                call(Builtin::Exp, &Expr::neg(Expr::pow(u.clone(), Expr::int(2)))),
            ])],
        ),
        // d/du H(u) = 0, not differentiable at u = 0
        Builtin::Heaviside => kinked("d-heaviside", vec![Expr::zero()], u.clone()),
    })
}

/// s·(1 − s), the derivative of the logistic function written through its value `s`.
pub fn sigmoid_prime(s: Expr) -> Expr {
    Expr::mul(vec![s.clone(), Expr::sub(Expr::one(), s)])
}
