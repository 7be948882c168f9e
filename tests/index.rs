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
use derivcheck::program::Item;
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

// ---- the general layer recurrence: layer labels and stated dependences --------------------

const LAYERS: &str = "let z_{ℓ,j} = sum(i, 1, P, w_{ℓ,j,i}·a_{ℓ−1,i}) + b_{ℓ,j}\n\
                      let a_{ℓ,j} = σ(z_{ℓ,j})\n\
                      let z_{ℓ+1,k} = sum(j, 1, N, w_{ℓ+1,k,j}·a_{ℓ,j}) + b_{ℓ+1,k}\n\
                      assume ∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k} for k = 1..M\n\
                      let δ_{ℓ,j} = ∂E/∂z_{ℓ,j}\n";

const LAYERS_ASCII: &str = "let z_{ell,j} = sum(i, 1, P, w_{ell,j,i}*a_{ell-1,i}) + b_{ell,j}\n\
                            let a_{ell,j} = sigma(z_{ell,j})\n\
                            let z_{ell+1,k} = sum(j, 1, N, w_{ell+1,k,j}*a_{ell,j}) + b_{ell+1,k}\n\
                            assume dE/dz_{ell+1,k} = delta_{ell+1,k} for k in 1..M\n\
                            let delta_{ell,j} = dE/dz_{ell,j}\n";

#[test]
fn the_layer_recurrence_is_proved_for_every_layer_and_size() {
    let claims = "claim δ_{ℓ,j} = σ'(z_{ℓ,j})·sum(k, 1, M, w_{ℓ+1,k,j}·δ_{ℓ+1,k})\n\
                  claim ∂E/∂w_{ℓ,j,i} = δ_{ℓ,j}·a_{ℓ−1,i}\n\
                  claim ∂E/∂b_{ℓ,j} = δ_{ℓ,j}\n\
                  claim ∂E/∂z_{ℓ+1,k} = δ_{ℓ+1,k}\n\
                  claim ∂E/∂w_{ℓ+1,k,j} = δ_{ℓ+1,k}·a_{ℓ,j}\n\
                  claim ∂E/∂z_{ℓ,j} = sum(k, 1, M, w_{ℓ+1,k,j}·δ_{ℓ+1,k})\n\
                  claim ∂E/∂w_{ℓ,j,i} = δ_{ℓ,j}·a_{ℓ,i}\n";
    let got = verdicts(&format!("{LAYERS}{claims}"));
    let want: Vec<(usize, String)> = [
        (6, "proved"),
        (7, "proved"),
        (8, "proved"),
        (9, "proved"),
        (10, "proved"),
        (11, "incorrect"),
        (12, "incorrect"),
    ]
    .iter()
    .map(|(l, w)| (*l, (*w).to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn layer_labels_and_dependences_read_the_same_in_ascii() {
    let limits = Limits::default();
    let uni = load(&SourceFile::new("u.dc", LAYERS.to_owned()), &limits);
    let ascii = load(&SourceFile::new("a.dc", LAYERS_ASCII.to_owned()), &limits);
    assert!(uni.errors.is_empty() && ascii.errors.is_empty());
    let show = |p: &derivcheck::program::Program| -> Vec<String> {
        p.items
            .iter()
            .map(|item| match item {
                Item::Def(d) => format!("def {:?} = {:?}", d.symbol, d.body),
                Item::Depends(d) => format!(
                    "depends {:?} {:?} {:?} {:?} {:?} {:?}",
                    d.quantity, d.family, d.partial, d.index, d.lo, d.hi
                ),
                _ => "other".to_owned(),
            })
            .collect()
    };
    assert_eq!(show(&uni.program), show(&ascii.program));
    // ℓ prints as `ell` in ASCII, `\ell` in LaTeX and `ℓ`, with a minus sign, in Unicode.
    let e = Expr::sym(Symbol::with_sub("a", Some("ℓ-1,i")));
    assert_eq!(derivcheck::print::ascii(&e), "a_{ell-1,i}");
    assert_eq!(derivcheck::print::unicode(&e), "a_{ℓ−1,i}");
    assert_eq!(derivcheck::print::latex(&e), "a_{\\ell-1,i}");
}

#[test]
fn a_dependence_of_a_defined_quantity_is_an_input_error() {
    let text = "let E = z_1\nassume ∂E/∂z_k = d_k for k = 1..M\n";
    let loaded = load(
        &SourceFile::new("t.dc", text.to_owned()),
        &Limits::default(),
    );
    let codes: Vec<&str> = loaded.errors.iter().map(|e| e.code()).collect();
    assert_eq!(codes, ["bad-dependence"]);
    let bad_index = "assume ∂E/∂z_k = d_k for x = 1..M\n";
    let loaded = load(
        &SourceFile::new("t.dc", bad_index.to_owned()),
        &Limits::default(),
    );
    let codes: Vec<&str> = loaded.errors.iter().map(|e| e.code()).collect();
    assert_eq!(codes, ["bad-dependence"]);
}

#[test]
fn a_stated_dependence_is_the_chain_rule_through_its_family() {
    // E depends on u only through z_k = u·c_k: ∂E/∂u = Σ_k d_k·c_k; x is unrelated.
    let text = "let z_k = u·c_k\nassume ∂E/∂z_k = d_k for k = 1..M\n\
                claim ∂E/∂u = sum(k, 1, M, d_k·c_k)\n\
                claim ∂E/∂x = 0\n\
                claim ∂E/∂u = sum(k, 1, M, d_k)\n";
    assert_eq!(
        verdicts(text),
        [
            (3, "proved".to_owned()),
            (4, "proved".to_owned()),
            (5, "incorrect".to_owned())
        ]
    );
}

#[test]
fn subscript_arithmetic_is_read_only_after_the_layer_letter() {
    for bad in [
        "claim x_{i+1} = 0\n",
        "claim x_{C+1} = 0\n",
        "claim x_{ℓ+} = 0\n",
        "claim x_{ℓ+1+1} = 0\n",
        "claim x_{ℓ++1} = 0\n",
        "claim x_{k,ℓ-1-} = 0\n",
    ] {
        let loaded = load(&SourceFile::new("t.dc", bad.to_owned()), &Limits::default());
        assert!(!loaded.errors.is_empty(), "{bad}");
    }
    for good in [
        "claim x_{ℓ+1} = x_{ℓ+1}\n",
        "claim x_{k,ell-2} = x_{k,ℓ−2}\n",
    ] {
        assert_eq!(verdicts(good), [(1, "proved".to_owned())], "{good}");
    }
}
