//! The command line as scripts and autograders use it: exit codes (0/1/2, never 101), the JSON
//! schema of `check`, `claim` and `diff`, batches with bad files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_derivcheck"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run derivcheck: {e}"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("derivcheck-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn check_bundled_derivations_exits_0() {
    let o = run(&["check", &root().join("derivations").display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("0 incorrect, 0 undecided"), "{out}");
}

#[test]
fn wrong_claim_exits_1_with_json_counterexample_and_hint() {
    let o = run(&[
        "claim",
        "sigma(z)",
        "2*sigma(z)*(1 - sigma(z))",
        "--wrt",
        "z",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["verdict"], "incorrect");
    assert_eq!(v["method"], "counterexample");
    assert!(v["counterexample"]["z"].is_string());
    assert!(v["hint"].as_str().unwrap_or("").contains("factor of 2"));
    assert_eq!(v["derivative"]["ascii"], "sigma(z)*(1 - sigma(z))");
    for key in ["line", "column", "text", "left", "right"] {
        assert!(!v[key].is_null(), "missing {key}");
    }
}

#[test]
fn right_claim_exits_0() {
    let o = run(&[
        "claim",
        "-y*log(A) - (1 - y)*log(1 - A)",
        "(A - y)/(A*(1 - A))",
        "--wrt",
        "A",
        "--assume",
        "0 < A < 1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("proved"));
}

#[test]
fn check_json_has_the_documented_schema() {
    let dir = tmp_dir("json");
    let f = dir.join("a.dc");
    std::fs::write(&f, "claim d/dz z^2 = 2z\nclaim d/dz z^2 = z\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["check", &f.display().to_string(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let steps = &v["files"][0]["steps"];
    assert_eq!(steps[0]["verdict"], "correct");
    assert_eq!(steps[0]["method"], "canonical");
    assert!(steps[0]["counterexample"].is_null());
    assert_eq!(steps[1]["verdict"], "incorrect");
    assert_eq!(steps[1]["line"], 2);
    assert_eq!(steps[1]["column"], 1);
    assert_eq!(v["summary"]["correct"], 1);
    assert_eq!(v["summary"]["incorrect"], 1);
    assert_eq!(v["summary"]["undecided"], 0);
}

#[test]
fn a_bad_file_does_not_stop_the_batch() {
    let dir = tmp_dir("batch");
    std::fs::write(dir.join("good.dc"), "claim d/dz z^2 = 2z\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("bad.dc"), "claim d/dz (z^2 = 2z\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("deep.dc"),
        format!(
            "claim {}z{} = z\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("binary.dc"), [0xff, 0xfe, 0x00, 0x41])
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(&[
        "check",
        &dir.display().to_string(),
        "--format",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2), "input errors give exit code 2");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let files = v["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 4, "every file is reported");
    let good = files
        .iter()
        .find(|f| f["path"].as_str().unwrap_or("").ends_with("good.dc"));
    assert_eq!(
        good.map(|g| g["steps"][0]["verdict"].clone()),
        Some(serde_json::json!("correct"))
    );
    for name in ["bad.dc", "deep.dc", "binary.dc"] {
        let f = files
            .iter()
            .find(|f| f["path"].as_str().unwrap_or("").ends_with(name));
        assert!(
            f.is_some_and(|f| !f["errors"].as_array().map(|e| e.is_empty()).unwrap_or(true)),
            "{name}"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(run(&["check"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        run(&["diff", "x^2"]).status.code(),
        Some(2),
        "--wrt is required"
    );
    assert_eq!(run(&["--help"]).status.code(), Some(0));
    assert_eq!(run(&["check", "/no/such/path"]).status.code(), Some(2));
    assert_eq!(run(&["parse", "(x +"]).status.code(), Some(2));
}

#[test]
fn diff_json_and_steps() {
    let o = run(&["diff", "log(1 + exp(z))", "--wrt", "z", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["input"], "log(1 + exp(z))");
    assert_eq!(v["wrt"], "z");
    assert_eq!(v["derivative"]["unicode"], "σ(z)");
    assert_eq!(v["derivative"]["latex"], "\\sigma(z)");
    let o = run(&["diff", "sigma(3*z)", "--wrt", "z", "--steps"]);
    let out = stdout(&o);
    assert!(
        out.contains("d-sigmoid") && out.contains("d-chain"),
        "{out}"
    );
}

#[test]
fn simplify_and_parse_print_in_each_format() {
    let o = run(&["simplify", "-y/A + (1 - y)/(1 - A)"]);
    assert_eq!(stdout(&o).trim(), "(A − y)/(A·(1 − A))");
    let o = run(&["parse", "σ(z)(1 − σ(z))", "--format", "ascii"]);
    assert_eq!(stdout(&o).trim(), "sigma(z)*(1 - sigma(z))");
    let o = run(&["parse", "σ(z)(1 − σ(z))", "--format", "latex"]);
    assert_eq!(stdout(&o).trim(), "\\sigma(z)\\left(1 - \\sigma(z)\\right)");
}

#[test]
fn fmt_prints_the_file_back() {
    let o = run(&[
        "fmt",
        &root().join("derivations/sigmoid.dc").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.starts_with("# sigmoid.dc"),
        "the leading comment is kept: {out}"
    );
    assert!(out.contains("\nlet sigma(z) = 1/(1 + exp(-z))\n"), "{out}");
    assert!(
        out.contains("claim d/dz (sigma(z)) = sigma(z)*(1 - sigma(z))")
            || out.contains("claim d/dz sigma(z)"),
        "{out}"
    );
}

#[test]
fn completions_are_printed() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("derivcheck"));
}

/// Every `console` block of README.md is real output: each `$ derivcheck …` line is run (from
/// the repository root, through `sh` so the README's quoting is what is tested) and its output,
/// standard error then standard output, must be the lines that follow it.
///
/// After a deliberate change of output, `DERIVCHECK_UPDATE_README=1 cargo test readme` writes
/// the new output into README.md; review the diff like a snapshot. CI never sets it.
#[test]
fn readme_examples_are_real_output() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let update = std::env::var_os("DERIVCHECK_UPDATE_README").is_some();
    let mut rewritten = String::new();
    let mut n_commands = 0;
    let mut in_console = false;
    let mut current: Option<(String, Vec<String>)> = None;
    let mut stale: Vec<String> = Vec::new();
    let mut finish = |cmd: String, expected: Vec<String>, out: &mut String| {
        let got = run_readme_command(&cmd);
        let want = trim_trailing_blank(expected);
        if got != want {
            stale.push(format!("`{cmd}`:\n  README: {want:?}\n  actual: {got:?}"));
        }
        for l in if update { &got } else { &want } {
            out.push_str(l);
            out.push('\n');
        }
        n_commands += 1;
    };
    for line in readme.lines() {
        if !in_console {
            in_console = line == "```console";
            rewritten.push_str(line);
            rewritten.push('\n');
            continue;
        }
        if line == "```" {
            if let Some((cmd, expected)) = current.take() {
                finish(cmd, expected, &mut rewritten);
            }
            in_console = false;
            rewritten.push_str(line);
            rewritten.push('\n');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            if let Some((prev, expected)) = current.take() {
                finish(prev, expected, &mut rewritten);
            }
            rewritten.push_str(line);
            rewritten.push('\n');
            current = Some((cmd.to_string(), Vec::new()));
        } else {
            match current.as_mut() {
                Some((_, expected)) => expected.push(line.to_string()),
                None => panic!("console block does not start with a command: {line}"),
            }
        }
    }
    if update {
        std::fs::write(&path, rewritten).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    assert!(
        stale.is_empty(),
        "README output is stale:\n{}",
        stale.join("\n")
    );
    assert!(n_commands >= 10, "only {n_commands} README commands found");
}

fn trim_trailing_blank(lines: Vec<String>) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|l| l.trim_end().to_string()).collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Runs one README command line; its standard error, then standard output, as lines.
fn run_readme_command(cmd: &str) -> Vec<String> {
    let rest = cmd
        .strip_prefix("derivcheck ")
        .unwrap_or_else(|| panic!("README command is not derivcheck: {cmd}"));
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$DERIVCHECK\" {rest}"))
        .env("DERIVCHECK", env!("CARGO_BIN_EXE_derivcheck"))
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    trim_trailing_blank(text.lines().map(str::to_string).collect())
}

/// No file of the hostile corpus makes the binary panic (exit 101) or die by a signal: each
/// ends with a documented code and says something.
#[test]
fn hostile_corpus_never_exits_101() {
    let dir = root().join("tests/hostile");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "hostile corpus has {} files",
        paths.len()
    );
    for p in &paths {
        let path = p.display().to_string();
        for args in [
            vec!["check", path.as_str()],
            vec!["check", path.as_str(), "--format", "json"],
            vec!["fmt", path.as_str()],
        ] {
            let o = run(&args);
            let code = o.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "{args:?} exited with {code:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                !String::from_utf8_lossy(&o.stderr).contains("panicked"),
                "{args:?} panicked"
            );
        }
    }
}

#[test]
fn claim_in_matrix_form_follows_the_layout_flag() {
    let defs = root().join("derivations/affinematrix.dc");
    let defs = defs.to_str().unwrap_or_default();
    let verdict = |g: &str, layout: &str| {
        let o = run(&[
            "claim", "z", g, "--wrt", "h", "--defs", defs, "--layout", layout, "--format", "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_default();
        (
            o.status.code(),
            v["verdict"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // ∂(β + Ω·h)/∂h is Ωᵀ in denominator layout and Ω (the Jacobian) in numerator layout.
    assert_eq!(
        verdict("Omega^T", "denominator"),
        (Some(0), "correct".to_owned())
    );
    assert_eq!(
        verdict("Omega", "numerator"),
        (Some(0), "correct".to_owned())
    );
    assert_eq!(
        verdict("Omega", "denominator"),
        (Some(1), "incorrect".to_owned())
    );
    assert_eq!(
        verdict("Omega^T", "numerator"),
        (Some(1), "incorrect".to_owned())
    );
    // The default is denominator layout.
    let o = run(&["claim", "z", "Omega^T", "--wrt", "h", "--defs", defs]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A right side of another shape is an input error at the claim.
    let o = run(&["claim", "z", "h", "--wrt", "h", "--defs", defs]);
    assert_eq!(o.status.code(), Some(2));
}
