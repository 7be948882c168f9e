//! Hostile input: every case gives a clean error or a bounded result, never a panic or a
//! stack overflow. The parser runs in the test thread (2 MiB of stack), so the depth guard
//! is what keeps these from crashing.
//!
//! Small inputs live in `tests/hostile/` (one snapshot of the rendered diagnostics each);
//! big ones are generated here.

use derivcheck::expr::{Expr, Node};
use derivcheck::limits::Limits;
use derivcheck::lower::{lower, lower_expr, LowerErrorKind};
use derivcheck::program::Program;
use derivcheck::report::diagnostic::{render, RenderOptions};
use derivcheck::source::SourceFile;
use derivcheck::syntax::{decode, parse_dc, parse_expr, ParseError, ParseErrorKind};

fn limits() -> Limits {
    Limits::default()
}

/// Parse errors of a `.dc` text.
fn parse_errors(text: &str) -> Vec<ParseError> {
    let file = SourceFile::new("hostile.dc", text);
    parse_dc(&file, &limits()).1
}

fn expr_error(text: &str) -> ParseErrorKind {
    match parse_expr(text, &limits()) {
        Ok(e) => panic!("expected an error, parsed {:?}", e.kind),
        Err(errors) => errors.into_iter().next().map(|e| e.kind).expect("an error"),
    }
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// Parses and lowers one expression, panicking on errors.
fn lower_str(text: &str) -> Expr {
    let ast = parse_expr(text, &limits()).unwrap_or_else(|e| panic!("{e:?}"));
    lower_expr(&ast, &Program::default(), &limits()).unwrap_or_else(|e| panic!("{e:?}"))
}

const DEPTH: usize = 100_000;

#[test]
fn hundred_thousand_nested_parentheses_are_too_deep() {
    let text = format!("claim {} = x", nested("(", "x", ")", DEPTH));
    let errors = parse_errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let Some(e) = errors.first() else { return };
    assert_eq!(e.kind, ParseErrorKind::NestTooDeep { limit: 256 });
    // `claim ` then 256 accepted brackets: the 257th is the offending one.
    assert_eq!(e.span.start, "claim ".len() + 256);
}

#[test]
fn hundred_thousand_unclosed_parentheses_are_too_deep() {
    let text = format!("claim {}x = x", "(".repeat(DEPTH));
    let kinds: Vec<_> = parse_errors(&text).into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![ParseErrorKind::NestTooDeep { limit: 256 }]);
}

#[test]
fn hundred_thousand_nested_calls_are_too_deep() {
    let text = nested("exp(", "x", ")", DEPTH);
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn hundred_thousand_powers_are_too_deep() {
    let text = format!("{}x", "x^".repeat(DEPTH));
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn hundred_thousand_unary_minuses_are_too_deep() {
    let text = format!("x * {}x", "-".repeat(DEPTH));
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn hundred_thousand_derivative_operators_are_too_deep() {
    let text = format!("{}x", "d/dx ".repeat(DEPTH));
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn hundred_thousand_nested_sigma_sums_are_too_deep() {
    let text = format!("{}x", "Σ_{j=1}^{n} ".repeat(DEPTH));
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn hundred_thousand_nested_indicators_are_too_deep() {
    let text = format!("{}x{}", "1{".repeat(DEPTH), "= 1}".repeat(DEPTH));
    assert_eq!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn mixed_nesting_is_too_deep() {
    let text = nested("(-[e^{σ(", "x", ")}])", DEPTH / 8);
    assert!(matches!(
        expr_error(&text),
        ParseErrorKind::NestTooDeep { .. }
    ));
}

#[test]
fn nesting_at_the_limit_parses_and_lowers_in_the_test_thread() {
    // 256 levels of each kind are accepted, and lowering them does not overflow either.
    let cases = [
        nested("(", "x", ")", 256),
        nested("exp(", "x", ")", 256),
        nested("[", "x", "]", 256),
        format!("{}x", "x^".repeat(256)),
        format!("{}x", "d/dx ".repeat(256)),
    ];
    for text in &cases {
        let e = lower_str(text);
        assert!(e.depth() >= 1 || matches!(e.node(), Node::Sym(_)), "{text}");
    }
    let too_deep = nested("(", "x", ")", 257);
    assert_eq!(
        expr_error(&too_deep),
        ParseErrorKind::NestTooDeep { limit: 256 }
    );
}

#[test]
fn fifty_megabyte_line_is_too_large() {
    let line = format!("claim {}x = 1\n", "x + ".repeat(50 << 18));
    assert!(line.len() > 50 << 20);
    let errors = parse_errors(&line);
    assert_eq!(
        errors.iter().map(|e| &e.kind).collect::<Vec<_>>(),
        vec![&ParseErrorKind::InputTooLarge {
            size: line.len(),
            limit: 4 << 20
        }]
    );
    let err = decode(line.as_bytes(), &limits()).unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::InputTooLarge { .. }));
    assert!(matches!(
        parse_expr(&line, &limits())
            .unwrap_err()
            .first()
            .map(|e| &e.kind),
        Some(ParseErrorKind::InputTooLarge { .. })
    ));
}

#[test]
fn long_line_under_the_size_limit_hits_the_node_limit() {
    // About 3.9 MB: under the input limit, but far more than 100,000 nodes.
    let text = format!("claim {}x = 1", "x + ".repeat(1_000_000));
    let errors = parse_errors(&text);
    assert!(
        matches!(errors.as_slice(), [e] if e.kind == ParseErrorKind::TooManyNodes { limit: 100_000 }),
        "{errors:?}"
    );
    let product = format!("claim {}x = 1", "x*".repeat(1_900_000));
    let errors = parse_errors(&product);
    assert!(
        matches!(errors.as_slice(), [e] if e.kind == ParseErrorKind::TooManyNodes { limit: 100_000 }),
        "{errors:?}"
    );
}

#[test]
fn long_flat_sum_under_the_node_limit_lowers_flat() {
    let text = format!("{}x", "x + ".repeat(40_000));
    let e = lower_str(&text);
    assert!(matches!(e.node(), Node::Add(terms) if terms.len() == 40_001));
}

#[test]
fn invalid_utf8_is_reported_with_its_position() {
    let bytes = std::fs::read("tests/hostile/invalid_utf8.dc").expect("test file");
    let err = decode(&bytes, &limits()).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::InvalidUtf8 { byte: 0xc3 });
    assert_eq!(err.span.start, "let a = 1\nclaim a = ".len());
}

#[test]
fn ten_thousand_digit_number_is_too_large() {
    let digits = "7".repeat(10_000);
    let file = SourceFile::new("big.dc", format!("claim x = {digits}"));
    let (ast, parse_errors) = parse_dc(&file, &limits());
    assert!(parse_errors.is_empty());
    let (_, errors) = lower(&ast, &limits());
    let kinds: Vec<_> = errors.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![LowerErrorKind::NumberTooLarge {
            digits: 10_000,
            limit: 1_000
        }]
    );
}

#[test]
fn huge_literals_of_every_form_are_too_large() {
    let digits = "3".repeat(10_000);
    let superscript = "²".repeat(10_000);
    for text in [
        format!("1/{digits}"),
        format!("{digits}/7"),
        format!("x{superscript}"),
        format!("0.{digits}"),
        "1e99999999999999999999999999".to_owned(),
        "1e-100000".to_owned(),
    ] {
        let ast = parse_expr(&text, &limits()).unwrap_or_else(|e| panic!("{e:?}"));
        let errors = lower_expr(&ast, &Program::default(), &limits()).unwrap_err();
        assert!(
            errors
                .iter()
                .all(|e| matches!(e.kind, LowerErrorKind::NumberTooLarge { .. })),
            "{text:.20}: {errors:?}"
        );
    }
}

#[test]
fn zero_with_huge_exponent_is_zero() {
    assert_eq!(lower_str("0e999999"), Expr::zero());
}

#[test]
fn power_of_a_googol_is_just_an_expression() {
    let e = lower_str("x^(10^100)");
    assert_eq!(
        e,
        Expr::pow(Expr::var("x"), Expr::pow(Expr::int(10), Expr::int(100)))
    );
}

#[test]
fn every_bad_line_of_a_long_file_is_reported() {
    let text = "claim (x = 1\n".repeat(20_000);
    let errors = parse_errors(&text);
    assert_eq!(errors.len(), 20_000);
}

#[test]
fn megabyte_identifier_is_one_symbol() {
    let name = "a".repeat(1 << 20);
    assert_eq!(lower_str(&name), Expr::var(&name));
}

#[test]
fn long_tokens_are_shortened_in_messages() {
    let text = format!("prove{}", "x".repeat(10_000));
    let errors = parse_errors(&text);
    let message = errors.first().map(ToString::to_string).unwrap_or_default();
    assert!(message.len() < 200, "{message}");
}

#[test]
fn many_primes_are_bounded() {
    let text = format!("σ{}(x)", "'".repeat(10_000));
    let e = lower_str(&text);
    assert!(matches!(e.node(), Node::Call(f, _) if f.unprimed().1 == 255));
}

/// Renders what the pipeline says about a file: decode, parse and lowering errors, and the
/// number of items kept. Control characters are escaped so that the snapshot stays text.
fn report(bytes: &[u8]) -> String {
    let options = RenderOptions::default();
    let (text, decode_error) = match decode(bytes, &limits()) {
        Ok(text) => (text.to_owned(), None),
        Err(e) => (String::from_utf8_lossy(bytes).into_owned(), Some(e)),
    };
    let file = SourceFile::new("hostile.dc", text);
    let mut out = String::new();
    if let Some(e) = decode_error {
        // Like the command line: text that is not UTF-8 is reported and not parsed.
        out.push_str(&render(&[e], &file, &options));
        return escape_controls(&out);
    }
    let (ast, parse_errors) = parse_dc(&file, &limits());
    out.push_str(&render(&parse_errors, &file, &options));
    let (program, lower_errors) = lower(&ast, &limits());
    out.push_str(&render(&lower_errors, &file, &options));
    out.push_str(&format!("items kept: {}\n", program.items.len()));
    escape_controls(&out)
}

fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => "\n".to_owned(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[test]
fn hostile_files() {
    insta::glob!("hostile/*.dc", |path| {
        let bytes = std::fs::read(path).expect("test file");
        insta::assert_snapshot!(report(&bytes));
    });
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// Statement starts, so that random text reaches the expression grammar.
    fn prefix() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("claim "),
            Just("let "),
            Just("assume "),
            Just("derive "),
            Just("= "),
            Just(""),
        ]
    }

    /// Characters of the language (both spellings) and a few that are not.
    const ALPHABET: &str =
        "[ a-zA-Z0-9()\\[\\]{}+\\-*/^_,=<>'.#\n\t σηΣδπ·×−–÷∂∈ℕℤℝ≤≥²³⁻¹₀₁½√@$\u{0}\u{202e}]{0,60}";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn random_input_gives_errors_with_valid_spans(start in prefix(), body in ALPHABET) {
            let text = format!("{start}{body}");
            let file = SourceFile::new("random.dc", text.clone());
            let (ast, parse_errors) = parse_dc(&file, &limits());
            let (_, lower_errors) = lower(&ast, &limits());
            let spans = parse_errors.iter().map(|e| e.span).chain(lower_errors.iter().map(|e| e.span));
            for span in spans {
                prop_assert!(span.start <= span.end && span.end <= text.len(), "{span:?}");
                prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
            let rendered = render(&parse_errors, &file, &RenderOptions::default());
            prop_assert_eq!(rendered.is_empty(), parse_errors.is_empty());
        }

        #[test]
        fn random_expression_parses_or_reports(body in ALPHABET) {
            match parse_expr(&body, &limits()) {
                Ok(ast) => {
                    let _ = lower_expr(&ast, &Program::default(), &limits());
                }
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }
    }
}

/// The limits as command-line flags: each is applied, validated, and reaching one is a
/// documented outcome (an input error with exit code 2, numeric evidence instead of a proof,
/// or "undecided: limit reached"), never a crash.
mod flags {
    use std::path::PathBuf;
    use std::process::{Command, Output};

    fn run(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_derivcheck"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run derivcheck: {e}"))
    }

    fn text(o: &Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn tmp_file(name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("derivcheck-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    /// `claim F G --wrt x` with extra flags: (exit code, output).
    fn claim(f: &str, g: &str, flags: &[&str]) -> (Option<i32>, String) {
        let mut args = vec!["claim", f, g, "--wrt", "x"];
        args.extend_from_slice(flags);
        let o = run(&args);
        (o.status.code(), text(&o))
    }

    #[test]
    fn bad_limit_values_are_usage_errors() {
        for (flag, value, message) in [
            ("--max-depth", "5000", "--max-depth must be at most 1024"),
            ("--max-nodes", "0", "--max-nodes must be at least 1"),
            ("--max-terms", "0", "--max-terms must be at least 1"),
            (
                "--timeout-per-step",
                "0",
                "--timeout-per-step must be more than 0 and at most 3600 seconds",
            ),
            (
                "--timeout-per-step",
                "nan",
                "--timeout-per-step must be more than 0 and at most 3600 seconds",
            ),
            ("--max-memory", "lots", "invalid value"),
        ] {
            let (code, out) = claim("x", "1", &[flag, value]);
            assert_eq!(code, Some(2), "{flag} {value}: {out}");
            assert!(out.contains(message), "{flag} {value}: {out}");
        }
    }

    /// At the ceiling of `--max-depth`, 1000 levels of each kind, checked in worker threads
    /// (`--jobs 2`, smaller stacks than the main thread): reports and exit codes, no overflow.
    #[test]
    fn the_depth_ceiling_does_not_overflow_a_worker_stack() {
        let n = 1000;
        let dir = std::env::temp_dir().join(format!("derivcheck-depth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let texts = [
            format!("claim d/dx {}x{} = 0\n", "sigma(".repeat(n), ")".repeat(n)),
            format!("claim d/dx {}x{}^2 = 2*x\n", "(".repeat(n), ")".repeat(n)),
            format!("claim {}x = x\n", "x^".repeat(n)),
            format!(
                "claim d/dx {}x{} = 0\n",
                "exp(-".repeat(n / 2),
                ")".repeat(n / 2)
            ),
        ];
        for (i, t) in texts.iter().enumerate() {
            std::fs::write(dir.join(format!("{i}.dc")), t).unwrap_or_else(|e| panic!("{e}"));
        }
        let path = dir.display().to_string();
        for jobs in ["1", "2"] {
            let o = run(&["check", &path, "--max-depth", "1024", "--jobs", jobs]);
            assert!(
                matches!(o.status.code(), Some(1 | 2)),
                "{:?}: {}",
                o.status,
                text(&o)
            );
            assert!(text(&o).contains("summary: 4 files"), "{}", text(&o));
        }
    }

    #[test]
    fn reading_limits_are_input_errors_with_their_values() {
        let (code, out) = claim("((x))", "1", &["--max-depth", "1"]);
        assert_eq!(code, Some(2));
        assert!(out.contains("at most 1 levels"), "{out}");
        let (code, out) = claim("x + x + x + x", "4", &["--max-nodes", "3"]);
        assert_eq!(code, Some(2));
        assert!(out.contains("at most 3 nodes"), "{out}");
        let (code, out) = claim("x + 1234567", "1", &["--max-digits", "3"]);
        assert_eq!(code, Some(2));
        assert!(out.contains("at most 3 digits"), "{out}");
        // The defaults accept all three.
        assert_eq!(claim("((x))", "1", &[]).0, Some(0));
        assert_eq!(claim("x + x + x + x", "4", &[]).0, Some(0));
        assert_eq!(claim("x + 1234567", "1", &[]).0, Some(0));

        let file = tmp_file("size.dc", "claim d/dx x^2 = 2x\n");
        let path = file.display().to_string();
        let o = run(&["check", &path, "--max-input-bytes", "10"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o).contains("input is too large: 20 bytes (limit 10)"),
            "{}",
            text(&o)
        );
        assert_eq!(run(&["check", &path]).status.code(), Some(0));
        let o = run(&["fmt", &path, "--max-input-bytes", "10"]);
        assert_eq!(o.status.code(), Some(2));
    }

    #[test]
    fn canonical_form_limits_fall_back_to_numeric_evidence() {
        // Proved by default; over the exponent or term limit the canonical form is refused
        // and the claim is still decided, by evidence, and still right.
        let f = "(x + y + 1)^6";
        let g = "6*(x + y + 1)^5";
        let (code, out) = claim(f, g, &[]);
        assert_eq!(code, Some(0));
        assert!(out.contains("proved"), "{out}");
        for flags in [["--max-exponent", "3"], ["--max-terms", "10"]] {
            let (code, out) = claim(f, g, &flags);
            assert_eq!(code, Some(0), "{flags:?}: {out}");
            assert!(out.contains("not proved symbolically"), "{flags:?}: {out}");
        }
        // A wrong claim stays wrong under the limits.
        let (code, out) = claim(f, "5*(x + y + 1)^5", &["--max-terms", "10"]);
        assert_eq!(code, Some(1));
        assert!(out.contains("incorrect"), "{out}");
    }

    #[test]
    fn growth_and_time_limits_make_the_step_undecided() {
        let (code, out) = claim("sigma(sigma(sigma(x)))", "0", &["--max-growth", "5"]);
        assert_eq!(code, Some(1));
        assert!(
            out.contains("undecided: limit reached (expression-growth, in differentiation)"),
            "{out}"
        );
        let o = run(&[
            "diff",
            "sigma(sigma(sigma(x)))",
            "--wrt",
            "x",
            "--max-growth",
            "5",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o).contains("limit reached (expression-growth"),
            "{}",
            text(&o)
        );

        // A claim large enough that its canonical form reads the clock many times over far
        // more than the 1 µs budget: a small one's canonical form can be done before its
        // first reading of the clock comes 1 µs after the step began, and then nothing but
        // the sampling (which says how few points it had) is cut short. A right claim (its
        // derivative against itself): a wrong one may be refuted by its first sample point,
        // which is evaluated before the canonical forms and may come within the budget.
        let f = "sigma(x)^3*tanh(x)^2 + exp(sigma(x))*log(1+x^2) + softplus(x)^4*sigma(2*x) \
                 + tanh(sigma(x)+x^3)^3";
        let (code, out) = claim(
            f,
            &format!("d/dx ({f})"),
            &["--timeout-per-step", "0.000001"],
        );
        assert_eq!(code, Some(1));
        assert!(out.contains("undecided"), "{out}");
        assert!(out.contains("limit reached (time-per-step"), "{out}");
    }

    #[test]
    fn a_batch_goes_on_after_a_step_reaches_a_limit() {
        let file = tmp_file(
            "batch.dc",
            "claim d/dx sigma(sigma(sigma(x))) = 0\nclaim d/dz z^2 = 2z\nclaim d/dz z^2 = z\n",
        );
        let o = run(&[
            "check",
            &file.display().to_string(),
            "--max-growth",
            "5",
            "--format",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(1));
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
        let verdicts: Vec<_> = v["files"][0]["steps"]
            .as_array()
            .map(|s| s.iter().map(|s| s["verdict"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(
            verdicts,
            vec![
                serde_json::json!("undecided"),
                serde_json::json!("correct"),
                serde_json::json!("incorrect")
            ]
        );
    }

    /// The product of ten binomials is proved with the default memory bound; with 1 MiB the
    /// canonical form stops at the bound and the claim is decided by evidence instead.
    #[test]
    fn the_memory_bound_stops_the_canonical_form_softly() {
        let f: Vec<String> = (0..10)
            .map(|i| format!("(x{i} + x{} + 1)", i + 1))
            .collect();
        let f = f.join("*");
        let d = run(&["diff", &f, "--wrt", "x1", "--format", "ascii"]);
        assert_eq!(d.status.code(), Some(0));
        let g = String::from_utf8_lossy(&d.stdout).replace('\n', " ");
        let method = |flags: &[&str]| {
            let mut args = vec!["claim", &f, &g, "--wrt", "x1", "--format", "json"];
            args.extend_from_slice(flags);
            let o = run(&args);
            assert_eq!(o.status.code(), Some(0), "{flags:?}: {}", text(&o));
            let v: serde_json::Value =
                serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
            (v["verdict"].clone(), v["method"].clone())
        };
        assert_eq!(method(&[]), ("correct".into(), "canonical".into()));
        assert_eq!(
            method(&["--max-memory", "1"]),
            ("correct".into(), "numeric".into())
        );
    }

    /// Memory that grows past twice the bound between two check points (here: parsing a
    /// 400 KB sum) ends the run with a message and exit code 2, not an abort.
    #[test]
    fn memory_past_twice_the_bound_is_a_clean_exit_2() {
        let terms: Vec<String> = (0..20_000).map(|i| format!("x{i}*y")).collect();
        let file = tmp_file(
            "memory.dc",
            &format!("let big = {}\nclaim d/dz z^2 = 2z\n", terms.join(" + ")),
        );
        let path = file.display().to_string();
        let o = run(&["check", &path, "--max-memory", "4"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("error: memory limit reached"),
            "{}",
            text(&o)
        );
        let o = run(&["check", &path]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}

/// `derivcheck check DIR` over good, wrong, malformed and pathological files: every file is
/// reported, in order, and the run ends with the documented exit code (2 when a file had an
/// input error, else 1 when a check failed).
mod batch {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    fn run(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_derivcheck"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run derivcheck: {e}"))
    }

    fn fresh_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("derivcheck-batch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
    }

    /// (path suffix, number of steps, number of errors) of every file in a JSON report.
    fn files(o: &Output) -> Vec<(String, usize, usize)> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        v["files"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap_or("");
                let name = Path::new(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let count = |k: &str| f[k].as_array().map(Vec::len).unwrap_or(0);
                (name, count("steps"), count("errors"))
            })
            .collect()
    }

    #[test]
    fn dc_batch_of_good_wrong_malformed_and_pathological_files() {
        let dir = fresh_dir("dc");
        write(&dir, "a_good.dc", "claim d/dz z^2 = 2z\n");
        write(&dir, "b_wrong.dc", "claim d/dz z^2 = z\n");
        write(&dir, "c_malformed.dc", "claim d/dz (z^2 = 2z\nlet = \n");
        write(
            &dir,
            "d_deep.dc",
            format!("claim {}z{} = z\n", "(".repeat(50_000), ")".repeat(50_000)),
        );
        write(&dir, "e_binary.dc", [0xff, 0xfe, 0x00, 0x41, 0x80]);
        write(&dir, "f_empty.dc", "");
        write(
            &dir,
            "g_growth.dc",
            "claim d/dx sigma(sigma(sigma(sigma(x)))) = 0\nclaim d/dz z^3 = 3z^2\n",
        );
        write(
            &dir,
            "h_huge.dc",
            format!("claim x = {}\n", "9".repeat(100_000)),
        );
        write(&dir, "i_big.dc", "x".repeat(3000));
        // The `.dc` files of the hostile corpus too.
        let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
        let mut n_hostile = 0;
        for entry in std::fs::read_dir(&hostile)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "dc"))
        {
            let name = format!("z_{}", entry.file_name().to_string_lossy());
            std::fs::copy(entry.path(), dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            n_hostile += 1;
        }
        let path = dir.display().to_string();
        let args = [
            "check",
            path.as_str(),
            "--format",
            "json",
            "--max-growth",
            "40",
            "--max-input-bytes",
            "2000",
        ];
        for jobs in ["1", "2"] {
            let mut with_jobs = args.to_vec();
            with_jobs.extend_from_slice(&["--jobs", jobs]);
            let o = run(&with_jobs);
            assert_eq!(o.status.code(), Some(2), "input errors give exit code 2");
            let files = files(&o);
            assert_eq!(
                files.len(),
                9 + n_hostile,
                "every file is reported: {files:?}"
            );
            let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "in path order");
            let get = |name: &str| files.iter().find(|f| f.0 == name).cloned();
            assert_eq!(get("a_good.dc"), Some(("a_good.dc".into(), 1, 0)));
            assert_eq!(get("b_wrong.dc"), Some(("b_wrong.dc".into(), 1, 0)));
            assert_eq!(get("f_empty.dc"), Some(("f_empty.dc".into(), 0, 0)));
            assert_eq!(get("g_growth.dc"), Some(("g_growth.dc".into(), 2, 0)));
            for name in [
                "c_malformed.dc",
                "d_deep.dc",
                "e_binary.dc",
                "h_huge.dc",
                "i_big.dc",
            ] {
                assert!(
                    get(name).is_some_and(|f| f.2 > 0),
                    "{name} has its errors: {files:?}"
                );
            }
        }
        // Text: one line per file with an error or a step, then the summary.
        let o = run(&args[..2]);
        assert_eq!(o.status.code(), Some(2));
        let out = String::from_utf8_lossy(&o.stdout);
        for name in [
            "a_good.dc",
            "b_wrong.dc",
            "c_malformed.dc",
            "d_deep.dc",
            "g_growth.dc",
        ] {
            assert!(out.contains(name), "{name} in\n{out}");
        }
        assert!(
            out.contains(&format!("summary: {} files", 9 + n_hostile)),
            "{out}"
        );
    }

    /// Every one of 20,000 bad lines is reported, each with its rendered snippet (rendering
    /// used to prepare the whole source once per error: 85 s for this 260 KB file).
    #[test]
    fn twenty_thousand_bad_lines_are_all_reported() {
        let dir = fresh_dir("lines");
        write(&dir, "bad.dc", "claim (x = 1\n".repeat(20_000));
        let path = dir.join("bad.dc").display().to_string();
        let o = run(&["check", &path, "--format", "json"]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(files(&o), vec![("bad.dc".to_owned(), 0, 20_000)]);
        let o = run(&["fmt", &path]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.matches("error[").count(), 20_000);
        assert!(err.contains("bad.dc:20000:"), "the last line is reported");
    }

    #[test]
    fn without_input_errors_a_failed_check_gives_1_and_all_correct_gives_0() {
        let dir = fresh_dir("codes");
        write(&dir, "good.dc", "claim d/dz z^2 = 2z\n");
        write(&dir, "limit.dc", "claim d/dx sigma(sigma(sigma(x))) = 0\n");
        let path = dir.display().to_string();
        let o = run(&["check", &path, "--max-growth", "5"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "undecided by a limit is a failed check"
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("limit reached (expression-growth"), "{out}");
        assert!(out.contains("1 correct"), "{out}");
        std::fs::remove_file(dir.join("limit.dc")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run(&["check", &path]).status.code(), Some(0));
    }

    #[test]
    fn markdown_batch_of_good_malformed_and_pathological_documents() {
        let dir = fresh_dir("md");
        write(
            &dir,
            "a_good.md",
            "Let $$E = \\frac{1}{2}(o - y)^2$$ so $$\\frac{\\partial E}{\\partial o} = o - y$$\n",
        );
        write(&dir, "b_wrong.md", "$$\\frac{d}{dz} z^2 = z$$\n");
        write(
            &dir,
            "c_unclosed.md",
            "$$\\frac{1}{2 + \\left( x\n\n# no end\n",
        );
        write(
            &dir,
            "d_deep.md",
            format!("$${}x{}$$\n", "\\frac{1}{".repeat(5_000), "}".repeat(5_000)),
        );
        write(&dir, "e_binary.md", [0xc3, 0x28, 0x24, 0x24]);
        write(
            &dir,
            "f_many.md",
            "$$\\frac{d}{dz} z^2 = 2z$$\n\n".repeat(300),
        );
        let path = dir.display().to_string();
        let o = run(&["check", &path, "--input", "md", "--format", "json"]);
        let code = o.status.code();
        assert_eq!(code, Some(2), "the binary file is an input error");
        let files = files(&o);
        assert_eq!(files.len(), 6, "every document is reported: {files:?}");
        let get = |name: &str| files.iter().find(|f| f.0 == name).cloned();
        assert!(get("e_binary.md").is_some_and(|f| f.2 == 1), "{files:?}");
        assert!(get("b_wrong.md").is_some_and(|f| f.1 >= 1), "{files:?}");
        assert!(get("f_many.md").is_some_and(|f| f.1 == 300), "{files:?}");
        for format in ["text", "csv", "gradescope"] {
            let o = run(&["check", &path, "--input", "md", "--format", format]);
            assert_eq!(o.status.code(), Some(2), "{format}");
            assert!(!o.stdout.is_empty(), "{format}");
        }
    }
}

/// Numerics: training that diverges says so with the epoch and the layer; a counterexample is
/// never a singular point, and a claim that differs only at a singular point is not wrong.
mod numerics {
    use std::process::{Command, Output};

    fn run(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_derivcheck"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run derivcheck: {e}"))
    }

    fn json(o: &Output) -> serde_json::Value {
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
    }

    /// A printed rational ("-7/3", "0.25", "3") as f64.
    fn number(s: &str) -> f64 {
        let parse = |t: &str| {
            t.trim()
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{t}: {e}"))
        };
        match s.split_once('/') {
            Some((p, q)) => parse(p) / parse(q),
            None => parse(s),
        }
    }

    #[test]
    fn divergent_training_names_the_epoch_and_the_layer() {
        let args = [
            "train",
            "--layers",
            "2,8,1",
            "--activation",
            "relu",
            "--output",
            "identity",
            "--loss",
            "mse",
            "--data",
            "moons",
            "--epochs",
            "50",
            "--batch-size",
            "0",
            "--optimizer",
            "sgd",
            "--lr",
            "1000",
            "--momentum",
            "0.9",
        ];
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "divergence is a failed run");
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with("error: epoch "))
            .unwrap_or("");
        // "error: epoch N: WHAT of layer L became NaN or infinite (…)"
        let epoch = line
            .strip_prefix("error: epoch ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse::<usize>().ok());
        assert!(epoch.is_some_and(|e| (1..=50).contains(&e)), "{err}");
        let layer = line
            .split(" of layer ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok());
        assert!(layer.is_some_and(|l| (1..=2).contains(&l)), "{err}");
        assert!(line.contains("became NaN or infinite"), "{err}");
        let mut with_json = args.to_vec();
        with_json.extend_from_slice(&["--format", "json"]);
        let o = run(&with_json);
        assert_eq!(o.status.code(), Some(1));
        let v = json(&o);
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains("of layer")),
            "{v}"
        );
    }

    /// Wrong claims about functions with singular points: each is refuted at a point where
    /// the singular expression `at` is away from 0 and both sides are finite.
    #[test]
    fn counterexamples_avoid_singular_points() {
        // (f, wrong derivative, variable, assumption, expression that is 0 at the singularity)
        let cases: [(&str, &str, &str, Option<&str>, &str); 9] = [
            ("1/z", "1/z^2", "z", None, "z"),
            ("log(z)", "1/(z + 1)", "z", None, "z"),
            ("1/(1 - A)", "-1/(1 - A)^2", "A", None, "1 - A"),
            ("1/(1 - A)", "1/(1 - A)", "A", Some("0 < A < 1"), "1 - A"),
            ("log(1 - A)", "1/(1 - A)", "A", None, "1 - A"),
            (
                "-y*log(A) - (1 - y)*log(1 - A)",
                "(y - A)/(A*(1 - A))",
                "A",
                Some("0 < A < 1"),
                "A*(1 - A)",
            ),
            ("1/(2*z - 1)", "2/(2*z - 1)^2", "z", None, "2*z - 1"),
            ("sqrt(z)", "1/sqrt(z)", "z", None, "z"),
            ("log(z - 3)", "1/(z + 3)", "z", None, "z - 3"),
        ];
        for (f, g, var, assume, singular) in cases {
            let mut args = vec!["claim", f, g, "--wrt", var, "--format", "json"];
            if let Some(a) = assume {
                args.extend_from_slice(&["--assume", a]);
            }
            let o = run(&args);
            assert_eq!(o.status.code(), Some(1), "{f}, {g}");
            let v = json(&o);
            assert_eq!(v["verdict"], "incorrect", "{f}, {g}: {v}");
            let at = v["counterexample"][var].as_str().map(number);
            let Some(at) = at else {
                panic!("{f}, {g}: no counterexample for {var}: {v}")
            };
            for side in ["left_value", "right_value"] {
                let value = v[side].as_str().map(number);
                assert!(value.is_some_and(f64::is_finite), "{f}, {g}: {side} {v}");
            }
            // The singular expression at the point, evaluated by the binary itself.
            let point = run(&[
                "simplify",
                &format!("({singular})").replace(var, &format!("({at})")),
                "--format",
                "ascii",
            ]);
            let s = String::from_utf8_lossy(&point.stdout).trim().to_owned();
            let s_value = number(&s);
            assert!(
                s_value.abs() > 1e-9,
                "{f}, {g}: counterexample {var} = {at} is at the singularity ({singular} = {s})"
            );
            if assume == Some("0 < A < 1") {
                assert!(at > 0.0 && at < 1.0, "{f}: {at} outside the assumption");
            }
            if f.starts_with("log(z") || f.starts_with("sqrt") {
                assert!(s_value > 0.0, "{f}: {var} = {at} outside the domain");
            }
        }
    }

    /// Values far below 1 are compared relative to themselves: a derivative that is tiny but
    /// nowhere 0 is not "correct, by evidence" against 0 (both were, when the rounding floor
    /// of the exact check was an absolute 10⁻¹⁴).
    #[test]
    fn tiny_values_are_not_taken_for_zero() {
        let sigmas = format!("{}z{}", "sigma(".repeat(22), ")".repeat(22));
        for (f, g) in [
            ("z^2/10^30", "0"),
            ("sigma(z)/10^30", "0"),
            (sigmas.as_str(), "0"),
            ("z^2/10^30", "3*z/10^30"),
        ] {
            let o = run(&["claim", f, g, "--wrt", "z", "--format", "json"]);
            let v = json(&o);
            assert_eq!(v["verdict"], "incorrect", "{f:.30}, {g}: {v}");
            assert_eq!(o.status.code(), Some(1));
        }
        for (f, g) in [
            ("z^2/10^30", "2*z/10^30"),
            ("sigma(z)/10^30", "sigma(z)*(1 - sigma(z))/10^30"),
            ("exp(-z^2)", "-2*z*exp(-z^2)"),
        ] {
            let o = run(&["claim", f, g, "--wrt", "z", "--format", "json"]);
            let v = json(&o);
            assert_eq!(v["verdict"], "correct", "{f}, {g}: {v}");
        }
    }

    /// Equal except at a singular or removable point: correct, never refuted there.
    #[test]
    fn claims_that_differ_only_at_a_singular_point_are_correct() {
        for (f, g, var) in [
            ("(x^2 - 1)/(x - 1)", "1", "x"),
            ("z/z", "0", "z"),
            ("log(z^2)/2", "1/z", "z"),
            ("1/(1 - A)", "1/(1 - A)^2", "A"),
            ("(A^2 - A)/(A - 1)", "1", "A"),
            ("abs(z)/z", "0", "z"),
        ] {
            let o = run(&["claim", f, g, "--wrt", var, "--format", "json"]);
            let v = json(&o);
            assert_eq!(v["verdict"], "correct", "{f}, {g}: {v}");
            assert_eq!(o.status.code(), Some(0), "{f}, {g}");
        }
    }
}

/// Index notation (issue 5) under hostile input: each case was a finding of the hostile
/// corpus (`tests/hostile/index_*.dc`), fixed in `src/index.rs` or `src/check/indexed.rs`.
mod index {
    use super::*;
    use derivcheck::check::{CheckConfig, Checker, Verdict};
    use derivcheck::load::load;
    use std::time::Duration;

    fn verdicts_with(text: &str, timeout: Duration) -> Vec<Verdict> {
        let src = SourceFile::new("index.dc", text.to_owned());
        let config = CheckConfig {
            limits: Limits {
                timeout_per_step: timeout,
                ..Limits::default()
            },
            ..CheckConfig::default()
        };
        let loaded = load(&src, &config.limits);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        Checker::new(&loaded.program, &config)
            .check_program()
            .into_iter()
            .map(|r| r.outcome.verdict)
            .collect()
    }

    fn verdicts(text: &str) -> Vec<Verdict> {
        verdicts_with(text, Limits::default().timeout_per_step)
    }

    fn undecided_why(v: &Verdict) -> &str {
        match v {
            Verdict::Undecided(why) => why,
            v => panic!("expected undecided, got {v:?}"),
        }
    }

    /// Was: no end and 13 GB (the term count b − a + 1 wrapped around).
    #[test]
    fn sums_over_the_whole_i64_range_reach_the_term_limit() {
        let v = verdicts(
            "claim sum(i, -9223372036854775807, 9223372036854775807, x_i) = 1\n\
             claim sum(i, -9223372036854775808, 9223372036854775807, 1) = 0\n",
        );
        assert_eq!(v.len(), 2);
        for x in &v {
            assert!(undecided_why(x).contains("limit reached"), "{x:?}");
        }
    }

    /// Was: 42 s and 4.5 GB (3¹⁴ instances listed before 24 were picked).
    #[test]
    fn fourteen_free_indices_are_spread_over_24_instances() {
        let v = verdicts(
            "claim ∂w_{i,j,k,l,m,n,p,q,r,s,t,b,c,d}/∂w_{d,c,b,t,s,r,q,p,n,m,l,k,j,i} = 1\n",
        );
        assert!(matches!(v.as_slice(), [Verdict::Incorrect(_)]), "{v:?}");
    }

    /// Was "correct": w_{j,k,l,i} at j = 1 became the label `1kli`, the same symbol for every
    /// i, so Σ_i w_{1kli} = C·w_{1kli} on both sides.
    #[test]
    fn entries_with_four_slots_stay_distinct_at_instances() {
        let v = verdicts("claim sum(i, 1, C, w_{j,k,l,i}) = C·sum(i, 1, 1, w_{j,k,l,i})\n");
        assert!(matches!(v.as_slice(), [Verdict::Incorrect(_)]), "{v:?}");
    }

    /// Was "incorrect": the outer i in the inner bound Σ_{j=1}^{i} was taken for a size and
    /// replaced everywhere, the bound i of the outer sum too.
    #[test]
    fn a_bound_index_in_an_inner_bound_is_not_a_size() {
        let v = verdicts(
            "claim sum(i, 1, C, sum(j, 1, i, x_j)) = sum(j, 1, C, (C − j + 1)·x_j)\n\
             claim sum(i, 1, C, sum(j, i, C, x_j)) = sum(j, 1, C, j·x_j)\n\
             claim sum(i, 1, C, sum(j, 1, i, x_j)) = sum(j, 1, C, j·x_j)\n",
        );
        assert!(
            matches!(
                v.as_slice(),
                [
                    Verdict::ByEvidence(_),
                    Verdict::ByEvidence(_),
                    Verdict::Incorrect(_)
                ]
            ),
            "{v:?}"
        );
    }

    /// The instances of a claim share one per-step timeout: past it the claim is undecided
    /// and says how far it got (was: each instance had the whole timeout, 6.3 s for this
    /// claim at the default 3 s). A 1 ms timeout is spent before the first instance ends.
    #[test]
    fn instances_share_the_step_timeout() {
        let v = verdicts_with(
            "claim sum(i, 1, C, sum(j, 1, i, σ(x_j)^5)) = sum(j, 1, C, (C − j + 1)·σ(x_j)^5)\n",
            Duration::from_millis(1),
        );
        let [x] = v.as_slice() else { panic!("{v:?}") };
        let why = undecided_why(x);
        assert!(why.contains("limit reached (time"), "{why}");
    }
}
