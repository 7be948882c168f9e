//! Index notation: sums, Kronecker deltas, indexed families (issue 5).
//! - property tests: the canonical form of a sum (delta elimination, linearity, renaming of
//!   the bound index) keeps its value at random sizes, index values and entries;
//! - verdicts on softmax + cross-entropy with and without the one-hot assumption.

use derivcheck::check::{CheckConfig, Checker, Verdict};
use derivcheck::eval::eval_f64;
use derivcheck::expr::{Expr, Node, Symbol};
use derivcheck::index::{expand_concrete, subst_index, IndexValue};
use derivcheck::limits::{Deadline, Limits};
use derivcheck::load::load;
use derivcheck::simplify::canon::Canonicalizer;
use derivcheck::source::SourceFile;
use proptest::prelude::*;

fn entry(name: &str, index: &str) -> Expr {
    Expr::sym(Symbol::with_sub(name, Some(index)))
}

fn delta(a: &str, b: &str) -> Expr {
    Expr::new(Node::Delta(Expr::var(a), Expr::var(b)))
}

/// Random summands in the bound index i: entries x_i, y_i, x_k, a free c, δ_{ik}, small
/// integers; sums, products and squares of them.
fn summand() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(entry("x", "i")),
        Just(entry("y", "i")),
        Just(entry("x", "k")),
        Just(Expr::var("c")),
        Just(delta("i", "k")),
        (-2i64..=3).prop_map(Expr::int),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::add),
            prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::mul),
            inner.prop_map(|b| Expr::pow(b, Expr::int(2))),
        ]
    })
}

fn sum_over(index: &str, hi: Expr, body: Expr) -> Expr {
    Expr::new(Node::Sum {
        index: Symbol::new(index),
        lo: Expr::one(),
        hi,
        body,
    })
}

/// `e` at size C = n, k = k, with entries x_m = xs[m−1], y_m = ys[m−1] and c = 3/7.
fn value_at(e: &Expr, n: i64, k: i64, xs: &[f64], ys: &[f64]) -> Option<f64> {
    let table = [(Expr::var("C"), Expr::int(n))].into_iter().collect();
    let e = subst_index(&e.replace_all(&table), "k", &IndexValue::Int(k));
    let e = expand_concrete(&e, 10_000).ok()?;
    let env = |s: &Symbol| {
        let at = |v: &[f64]| {
            s.sub()
                .and_then(|m| m.parse::<usize>().ok())
                .and_then(|m| v.get(m.checked_sub(1)?).copied())
        };
        match s.name() {
            "x" => at(xs),
            "y" => at(ys),
            "c" if s.sub().is_none() => Some(3.0 / 7.0),
            _ => None,
        }
    };
    eval_f64(&e, &env).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Canonical sums (delta elimination, linearity, renaming) keep the value.
    #[test]
    fn canonical_sums_keep_their_value(
        body in summand(),
        n in 1i64..=5,
        k_pick in 0usize..5,
        xs in prop::collection::vec(-3.0f64..3.0, 5),
        ys in prop::collection::vec(-3.0f64..3.0, 5),
    ) {
        let k = (k_pick as i64 % n) + 1;
        let s = sum_over("i", Expr::var("C"), body);
        let limits = Limits::default();
        let mut canon = Canonicalizer::new(&limits, Deadline::after(limits.timeout_per_step));
        let Ok(c) = canon.canonical(&s) else { return Ok(()) };
        let c = canon.to_expr(&c);
        let (Some(a), Some(b)) = (value_at(&s, n, k, &xs, &ys), value_at(&c, n, k, &xs, &ys))
        else {
            return Ok(());
        };
        prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{a} vs {b}: {s:?} → {c:?}");
    }

    /// Σ_i a_i and Σ_j a_j (any bound name) have one canonical form, and Σ_i δ_{ik}·x_i = x_k.
    #[test]
    fn renaming_and_delta_elimination(body in summand(), name in prop::sample::select(vec!["j", "m", "p", "q"])) {
        let limits = Limits::default();
        let mut canon = Canonicalizer::new(&limits, Deadline::after(limits.timeout_per_step));
        let s_i = sum_over("i", Expr::var("C"), body.clone());
        let renamed = subst_index(&body, "i", &IndexValue::Name(name.to_owned()));
        let s_j = sum_over(name, Expr::var("C"), renamed);
        prop_assert_eq!(canon.equal(&s_i, &s_j), Ok(true));
        let picked = sum_over("i", Expr::var("C"), Expr::mul(vec![delta("i", "k"), body.clone()]));
        let direct = subst_index(&body, "i", &IndexValue::Name("k".into()));
        prop_assert_eq!(canon.equal(&picked, &direct), Ok(true));
    }
}

fn verdicts(text: &str) -> Vec<(usize, String)> {
    let src = SourceFile::new("t.dc", text.to_owned());
    let loaded = load(&src, &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let config = CheckConfig::default();
    let checker = Checker::new(&loaded.program, &config);
    checker
        .check_program()
        .iter()
        .map(|r| {
            let word = match &r.outcome.verdict {
                Verdict::Proved(_) => "proved",
                Verdict::ByEvidence(_) => "evidence",
                Verdict::Incorrect(_) => "incorrect",
                Verdict::Undecided(_) => "undecided",
            };
            (src.line_col(r.span.start).line, word.to_owned())
        })
        .collect()
}

const SOFTMAX_CE: &str = "let O_i = exp(z_i)/sum(j, 1, C, exp(z_j))\n\
                          let L = -sum(i, 1, C, y_i·log(O_i))\n";

#[test]
fn softmax_cross_entropy_needs_the_one_hot_assumption() {
    let without = format!(
        "{SOFTMAX_CE}claim ∂L/∂z_k = O_k − y_k\nclaim ∂L/∂z_k = O_k·sum(i, 1, C, y_i) − y_k\n"
    );
    assert_eq!(
        verdicts(&without),
        vec![(3, "incorrect".into()), (4, "proved".into())]
    );
    let with = format!("{SOFTMAX_CE}assume sum(i, 1, C, y_i) = 1\nclaim ∂L/∂z_k = O_k − y_k\n");
    assert_eq!(verdicts(&with), vec![(4, "proved".into())]);
}

#[test]
fn counterexample_names_sizes_and_indices() {
    let text = format!("{SOFTMAX_CE}claim ∂O_i/∂z_k = O_i·(δ_{{ik}} − O_i)\n");
    let src = SourceFile::new("t.dc", text);
    let loaded = load(&src, &Limits::default());
    let config = CheckConfig::default();
    let reports = Checker::new(&loaded.program, &config).check_program();
    let Verdict::Incorrect(cx) = &reports[0].outcome.verdict else {
        panic!("{:?}", reports[0].outcome.verdict)
    };
    let names: Vec<String> = cx.point.iter().map(|(s, _)| s.to_string()).collect();
    assert!(
        names.starts_with(&["C".into(), "i".into(), "k".into()]),
        "{names:?}"
    );
    // The instance has i ≠ k: at i = k the slip (O_i for O_k) is invisible.
    assert_ne!(cx.point[1].1, cx.point[2].1);
}

#[test]
fn entries_of_one_family_differentiate_to_deltas() {
    let v = verdicts(
        "claim d/dx_k x_i = δ_{ik}\n\
         claim d/dx_k sum(i, 1, n, x_i²) = 2·x_k\n\
         claim d/dw_{oj} sum(i, 1, n, w_{oi}·h_i) = h_j\n\
         claim d/dw_{hj} sum(i, 1, n, w_{oi}·h_i) = 0\n",
    );
    assert_eq!(
        v,
        vec![
            (1, "proved".into()),
            (2, "proved".into()),
            (3, "proved".into()),
            (4, "proved".into())
        ]
    );
}

/// Claims written with placeholders for their index letters: `{a}`, `{b}` bound, `{k}`,
/// `{m}` free (the `let` binds its own `{i}` and `{j}`). Each line is one item.
const INDEX_TEMPLATES: &str = "\
let O_{i} = exp(z_{i})/sum({j}, 1, C, exp(z_{j}))
claim ∂O_{k}/∂z_{m} = O_{k}·(δ_{{k}{m}} − O_{m})
claim ∂O_{k}/∂z_{m} = O_{k}·(δ_{{k}{m}} − O_{k})
claim sum({a}, 1, C, x_{a}·δ_{{a}{k}}) = x_{k}
claim sum({a}, 1, C, x_{a}·δ_{{a}{k}}) = x_{m}
claim sum({a}, 1, C, sum({b}, 1, {a}, x_{b})) = sum({b}, 1, C, (C − {b} + 1)·x_{b})
claim sum({a}, 1, C, sum({b}, 1, {a}, x_{b})) = sum({b}, 1, C, {b}·x_{b})
claim d/dx_{k} sum({a}, 1, C, x_{a}²) = 2·x_{k}
claim d/dw_{{k}{m}} sum({a}, 1, C, w_{{k}{a}}·h_{a}) = h_{m}
claim d/dw_{{k}{m}} sum({a}, 1, C, w_{{k}{a}}·h_{a}) = h_{k}
claim sum({a}, 1, C, sum({b}, 1, C, x_{a}·y_{b})) = sum({a}, 1, C, x_{a})·sum({b}, 1, C, y_{b})
";

/// The templates with index letters filled in.
fn fill(letters: &[&str]) -> String {
    let mut text = INDEX_TEMPLATES.to_owned();
    for (slot, letter) in ["{i}", "{j}", "{a}", "{b}", "{k}", "{m}"]
        .iter()
        .zip(letters)
    {
        text = text.replace(slot, letter);
    }
    text
}

/// Checks a text with a short deadline and few samples; panics only on a panic inside.
fn check_quick(text: &str) -> Vec<Verdict> {
    let src = SourceFile::new("soup.dc", text.to_owned());
    let config = CheckConfig {
        limits: Limits {
            timeout_per_step: std::time::Duration::from_millis(100),
            ..Limits::default()
        },
        samples: 4,
        samples_piecewise: 8,
        ..CheckConfig::default()
    };
    let loaded = load(&src, &config.limits);
    Checker::new(&loaded.program, &config)
        .check_program()
        .into_iter()
        .map(|r| r.outcome.verdict)
        .collect()
}

/// Index-flavoured tokens, including hostile ones (huge bounds, unclosed subscripts).
const TOKENS: &[&str] = &[
    "sum(",
    "i",
    "j",
    "k",
    ", ",
    "1",
    "C",
    "n",
    "10^9",
    "9223372036854775807",
    ")",
    "x_i",
    "x_k",
    "y_j",
    "w_{ij}",
    "w_{ijklmnpq}",
    "w_{i,j,k,l,m}",
    "δ_{ik}",
    "delta(",
    "Σ_{j=1}^{C}",
    "∂",
    "/",
    "·",
    "+",
    "−",
    "-",
    "^",
    "2",
    "=",
    "exp(",
    "log(",
    "O_k",
    "z_{i+1}",
    "x_₁",
    "_",
    "{",
    "}",
    "\nlet O_i = ",
    "\nclaim ",
    "\nassume sum(i, 1, C, y_i) = 1",
    "\n= ",
    "d/dx_k ",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Renaming bound indices, free indices and the family's own indices consistently (any
    /// six distinct letters) gives the same verdict per claim as the usual letters.
    #[test]
    fn verdicts_are_stable_under_renaming_indices(
        letters in Just(vec!["i", "j", "k", "l", "m", "p", "q", "r", "s", "t"]).prop_shuffle()
    ) {
        let base = verdicts(&fill(&["i", "j", "p", "q", "k", "m"]));
        let renamed = verdicts(&fill(&letters[..6]));
        prop_assert_eq!(&renamed, &base, "letters {:?}", &letters[..6]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random soups of index tokens go through load and check without a panic, and every
    /// item checked gets a verdict.
    #[test]
    fn index_token_soups_do_not_panic(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 1..24)
    ) {
        let text = format!("claim {}\n", tokens.concat());
        let _ = check_quick(&text);
    }
}

#[test]
fn renaming_templates_have_the_expected_verdicts() {
    let v: Vec<String> = verdicts(&fill(&["i", "j", "p", "q", "k", "m"]))
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert_eq!(
        v,
        [
            "proved",
            "incorrect",
            "proved",
            "incorrect",
            "evidence",
            "incorrect",
            "proved",
            "proved",
            "incorrect",
            "proved"
        ]
    );
}
