//! Speed and accuracy of checking single-variable claims (issue 4; target: at least 50,000
//! claims per second on one core, differentiation included, and no wrong verdict).
//!
//! The claims: every `claim` of `derivations/*.dc` whose two sides (definitions expanded) have
//! one free symbol; the equivalent rewritings and student slips of `benches/claims.txt`; and
//! three mechanical mutations of every library claim (`rhs + 1/1000`, `rhs·1001/1000`,
//! `−rhs`), which are wrong because no library derivative is identically zero. Each is checked
//! with `Checker::check_equal`, the call the CLI makes for a claim: resolve the derivative,
//! canonical forms, sampling, counterexample and hint.
//!
//! Before timing, every claim is checked once and its verdict compared with the expected one;
//! the accuracy table is printed, and the bench stops if any verdict is wrong (a correct claim
//! called incorrect or a wrong one called correct), so speed is never measured on wrong
//! answers. "Undecided" is counted and printed, not hidden.
//!
//! The bench also writes `target/bench-claims.json` (each claim with its definitions expanded,
//! in ASCII), which `benches/sympy_check.py` reads to run a SymPy grader on the same claims.
//!
//! The CPU time is printed twice: with hints (what the CLI runs) and for verdicts only
//! (`CheckConfig::hints` off, also the `check/all-verdict-only` group), after asserting that
//! every verdict is the same without hints.
//!
//! The allocator is the binary's (`src/cli/memory.rs`, included as a module): mimalloc
//! under the count of `--max-memory`, with the CLI's default budget.
//!
//! Run: `cargo bench --bench check` (add `-- --warm-up-time 1 --measurement-time 3` on a busy
//! machine). Criterion reports elements per second, i.e. claims per second.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use derivcheck::check::{CheckConfig, Checker, Verdict};
use derivcheck::expr::{Expr, Node};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::{Item, Program};
use derivcheck::source::SourceFile;

/// The binary's allocator, the file itself (it installs itself as the global allocator):
/// mimalloc under the count of `--max-memory`, so the bench times what the CLI runs. `bench`
/// sets the CLI's default budget.
#[path = "../src/cli/memory.rs"]
mod memory;

#[path = "common/cpu_time.rs"]
mod cpu_time;
use cpu_time::thread_cpu_seconds;

/// Where a claim comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A claim of a library file.
    Library,
    /// An equivalent rewriting from `benches/claims.txt`.
    Rewrite,
    /// A slip from `benches/claims.txt`.
    Slip,
    /// A mechanical mutation of a library claim.
    Mutation,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Library => "library",
            Kind::Rewrite => "rewrite",
            Kind::Slip => "slip",
            Kind::Mutation => "mutation",
        }
    }
}

struct Case {
    file: String,
    kind: Kind,
    expect_correct: bool,
    /// Index into the programs.
    program: usize,
    lhs: Expr,
    rhs: Expr,
    text: String,
}

struct Library {
    programs: Vec<Program>,
    /// `assume` lines per program, for the SymPy script.
    assumes: Vec<Vec<String>>,
    names: Vec<String>,
    cases: Vec<Case>,
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest().join("target"))
}

/// Free symbols of `lhs − rhs` with the program's definitions expanded.
fn n_free(program: &Program, lhs: &Expr, rhs: &Expr) -> usize {
    let limits = Limits::default();
    program
        .expand(&Expr::sub(lhs.clone(), rhs.clone()), limits.max_growth)
        .map(|e| e.free_symbols().len())
        .unwrap_or(usize::MAX)
}

fn claims_of(program: &Program) -> Vec<(Expr, Expr)> {
    program
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Claim(c) => Some((c.lhs.clone(), c.rhs.clone())),
            _ => None,
        })
        .collect()
}

fn build() -> Library {
    let limits = Limits::default();
    let dir = manifest().join("derivations");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|x| x == "dc"));
    paths.sort();
    let mut lib = Library {
        programs: Vec::new(),
        assumes: Vec::new(),
        names: Vec::new(),
        cases: Vec::new(),
    };
    let mut texts = Vec::new();
    for path in &paths {
        let name = stem(path);
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let loaded = load(
            &SourceFile::new(path.display().to_string(), text.clone()),
            &limits,
        );
        assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
        let idx = lib.programs.len();
        // A stated dependence (`assume ∂E/∂z_k = δ_k for k = 1..M`) makes E a function of a
        // whole family: such claims are in index notation, not single-variable ones.
        let layered = loaded
            .program
            .items
            .iter()
            .any(|i| matches!(i, Item::Depends(_)));
        for (lhs, rhs) in claims_of(&loaded.program) {
            if layered || n_free(&loaded.program, &lhs, &rhs) != 1 {
                continue;
            }
            let text = format!("{} = {}", print::unicode(&lhs), print::unicode(&rhs));
            // Mechanical mutations: wrong because the derivative is not identically zero.
            let mutations = [
                Expr::add(vec![rhs.clone(), Expr::frac(1, 1000)]),
                Expr::mul(vec![Expr::frac(1001, 1000), rhs.clone()]),
                Expr::neg(rhs.clone()),
            ];
            for m in mutations {
                lib.cases.push(Case {
                    file: name.clone(),
                    kind: Kind::Mutation,
                    expect_correct: false,
                    program: idx,
                    text: format!("{} = {}", print::unicode(&lhs), print::unicode(&m)),
                    lhs: lhs.clone(),
                    rhs: m,
                });
            }
            lib.cases.push(Case {
                file: name.clone(),
                kind: Kind::Library,
                expect_correct: true,
                program: idx,
                lhs,
                rhs,
                text,
            });
        }
        lib.assumes.push(
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("assume "))
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .collect(),
        );
        lib.programs.push(loaded.program);
        lib.names.push(name);
        texts.push(text);
    }
    let list = std::fs::read_to_string(manifest().join("benches/claims.txt")).unwrap_or_default();
    for (n, line) in list.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        let [file, expect, claim] = parts[..] else {
            panic!(
                "claims.txt:{}: expected `file | correct|wrong | claim`",
                n + 1
            );
        };
        let Some(idx) = lib.names.iter().position(|x| x == file) else {
            panic!("claims.txt:{}: no derivations/{file}.dc", n + 1);
        };
        // The claim is read in the context of its file: the file's text plus the claim.
        let text = format!("{}\nclaim {claim}\n", texts[idx]);
        let loaded = load(&SourceFile::new(file, text), &limits);
        assert!(
            loaded.errors.is_empty(),
            "claims.txt:{}: {:?}",
            n + 1,
            loaded.errors
        );
        let Some((lhs, rhs)) = claims_of(&loaded.program).pop() else {
            panic!("claims.txt:{}: no claim", n + 1);
        };
        assert_eq!(
            n_free(&loaded.program, &lhs, &rhs),
            1,
            "claims.txt:{}: not a single-variable claim",
            n + 1
        );
        let expect_correct = match expect {
            "correct" => true,
            "wrong" => false,
            other => panic!("claims.txt:{}: `{other}` is not correct|wrong", n + 1),
        };
        lib.cases.push(Case {
            file: file.to_string(),
            kind: if expect_correct {
                Kind::Rewrite
            } else {
                Kind::Slip
            },
            expect_correct,
            program: idx,
            lhs,
            rhs,
            text: claim.to_string(),
        });
    }
    lib
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes the claims for `benches/sympy_check.py`: definitions expanded, ASCII syntax; a
/// derivative on the left is split into the function and the variable.
fn export(lib: &Library) {
    let limits = Limits::default();
    let mut rows = Vec::new();
    for c in &lib.cases {
        let program = &lib.programs[c.program];
        let expand = |e: &Expr| {
            program
                .expand(e, limits.max_growth)
                .map(|x| ascii_line(&x))
                .unwrap_or_default()
        };
        let (f, var) = match c.lhs.node() {
            Node::Deriv(body, var) => (expand(body), Some(ascii_line(&Expr::sym(var.clone())))),
            _ => (expand(&c.lhs), None),
        };
        rows.push(serde_json::json!({
            "file": c.file,
            "kind": c.kind.name(),
            "expected": if c.expect_correct { "correct" } else { "incorrect" },
            "claim": c.text,
            "var": var,
            "lhs": f,
            "rhs": expand(&c.rhs),
            "assume": lib.assumes[c.program],
        }));
    }
    let dir = target_dir();
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bench-claims.json");
    let json = serde_json::to_string_pretty(&rows).unwrap_or_default();
    match std::fs::write(&path, json) {
        Ok(()) => eprintln!("wrote {} claims to {}", rows.len(), path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// ASCII on one line (the form the parser and SymPy read back).
fn ascii_line(e: &Expr) -> String {
    print::to_string(e, Format::Ascii, &PrintOptions { width: usize::MAX })
}

/// Peak resident memory of this process in kB (Linux), for the "memory bounded" check.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    // The CLI's default `--max-memory`: what `derivcheck check` counts against.
    derivcheck::limits::memory::set_budget(Some(
        derivcheck::limits::memory::DEFAULT_BUDGET_MIB << 20,
    ));
    let lib = build();
    export(&lib);
    let config = CheckConfig::default();
    // A checker caches prepared (resolved, expanded) expressions. Every timed pass builds
    // fresh checkers, so a pass gains only from what repeats within it (the four claims
    // about one derivative, the facts, the hint's candidates), not from having checked the
    // same 168 claims before: an autograder sees each student's right side once.
    // Verdicts only (`CheckConfig::hints` off): what a grader that needs no hint runs.
    let verdict_config = CheckConfig {
        hints: false,
        ..CheckConfig::default()
    };
    let checkers_for = |config| -> Vec<Checker> {
        lib.programs
            .iter()
            .map(|p| Checker::new(p, config))
            .collect()
    };
    let new_checkers = || checkers_for(&config);
    let checkers = new_checkers();
    let verdict_checkers = checkers_for(&verdict_config);

    // `DERIVCHECK_BENCH_DUMP=path` writes every outcome (verdict, point, values, hint), to
    // compare two builds claim by claim.
    if let Some(path) = std::env::var_os("DERIVCHECK_BENCH_DUMP") {
        let checkers = new_checkers();
        let dump: String = lib
            .cases
            .iter()
            .map(|case| {
                let o = checkers[case.program].check_equal(&case.lhs, &case.rhs);
                format!(
                    "{}\n  {:?}\n  {:?}\n  {:?}\n",
                    case.text, o.verdict, o.hint, o.kinks
                )
            })
            .collect();
        let _ = std::fs::write(path, dump);
    }
    // Accuracy first: every verdict must be the expected one.
    let kinds = [Kind::Library, Kind::Rewrite, Kind::Slip, Kind::Mutation];
    let mut tally = vec![[0usize; 4]; kinds.len()]; // right, wrong, undecided, total
    let mut methods = std::collections::BTreeMap::<(&str, &str), usize>::new();
    let mut wrong = Vec::new();
    for case in &lib.cases {
        let outcome = checkers[case.program].check_equal(&case.lhs, &case.rhs);
        // Without hints: the same verdict, by the same method, with the same point.
        let bare = verdict_checkers[case.program].check_equal(&case.lhs, &case.rhs);
        assert_eq!(
            format!("{:?}", bare.verdict),
            format!("{:?}", outcome.verdict),
            "{}: the verdict depends on the hint setting",
            case.text
        );
        assert!(bare.hint.is_none(), "{}: a hint with hints off", case.text);
        let k = kinds.iter().position(|k| *k == case.kind).unwrap_or(0);
        tally[k][3] += 1;
        *methods
            .entry((case.kind.name(), outcome.verdict.method()))
            .or_default() += 1;
        let col = match (&outcome.verdict, case.expect_correct) {
            (Verdict::Undecided(_), _) => 2,
            (v, want) if v.is_correct() == want => 0,
            _ => 1,
        };
        tally[k][col] += 1;
        if col != 0 {
            wrong.push(format!(
                "  {} [{}] {}: {}{}",
                case.file,
                case.kind.name(),
                case.text,
                outcome.verdict.word(),
                match &outcome.verdict {
                    Verdict::Undecided(r) => format!(" ({r})"),
                    _ => String::new(),
                }
            ));
        }
    }
    eprintln!("accuracy ({} single-variable claims):", lib.cases.len());
    eprintln!("  kind      expected   right  wrong  undecided  total");
    for (k, t) in kinds.iter().zip(&tally) {
        let expected = if *k == Kind::Library || *k == Kind::Rewrite {
            "correct"
        } else {
            "incorrect"
        };
        eprintln!(
            "  {:<9} {:<10} {:>5}  {:>5}  {:>9}  {:>5}",
            k.name(),
            expected,
            t[0],
            t[1],
            t[2],
            t[3]
        );
    }
    eprintln!("  methods: {methods:?}");
    for w in &wrong {
        eprintln!("{w}");
    }
    let n_wrong: usize = tally.iter().map(|t| t[1]).sum();
    assert_eq!(n_wrong, 0, "wrong verdicts: speed is not measured");

    // `DERIVCHECK_BENCH_PER_CLAIM=n` prints each claim's wall-clock time (the least of n
    // checks, each by a fresh checker, so nothing is shared with the claims about the same
    // derivative; the clock ticks of the CPU-time counter are too coarse for one claim),
    // dearest first: where a pass's time goes. With `DERIVCHECK_BENCH_VERDICT_ONLY=1`, of the
    // verdicts only.
    if let Some(n) = std::env::var("DERIVCHECK_BENCH_PER_CLAIM")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let config = if std::env::var_os("DERIVCHECK_BENCH_VERDICT_ONLY").is_some() {
            &verdict_config
        } else {
            &config
        };
        let mut rows = Vec::new();
        for case in &lib.cases {
            let program = &lib.programs[case.program];
            let spent = (0..n.max(1))
                .map(|_| {
                    let start = std::time::Instant::now();
                    black_box(Checker::new(program, config).check_equal(&case.lhs, &case.rhs));
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            rows.push((spent, case));
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (spent, case) in rows {
            let outcome =
                Checker::new(&lib.programs[case.program], config).check_equal(&case.lhs, &case.rhs);
            eprintln!(
                "{:8.1} µs  {:<9} {:<14} {:<26} {}",
                spent * 1e6,
                case.kind.name(),
                outcome.verdict.method(),
                case.file,
                case.text
            );
        }
    }

    // `DERIVCHECK_BENCH_PASSES=n` fixes the number of passes (for instruction counts under
    // `valgrind --tool=callgrind`); by default it runs for 2 CPU-seconds.
    let fixed_passes: Option<usize> = std::env::var("DERIVCHECK_BENCH_PASSES")
        .ok()
        .and_then(|v| v.parse().ok());
    // Memory bounded: repeated checking must not grow the peak resident set.
    let before = peak_rss_kb();
    for _ in 0..if fixed_passes.is_some() { 0 } else { 20 } {
        let checkers = new_checkers();
        for case in &lib.cases {
            black_box(checkers[case.program].check_equal(&case.lhs, &case.rhs));
        }
    }
    let after = peak_rss_kb();
    eprintln!(
        "peak RSS after 1 pass: {before:?} kB; after 20 more passes ({} checks): {after:?} kB",
        20 * lib.cases.len()
    );

    // CPU time of this thread per claim: on a machine shared with other jobs, wall-clock
    // figures (criterion's) include time the thread waited for a core; this one does not.
    // `DERIVCHECK_BENCH_VERDICT_ONLY=1` times only verdicts (no hints), for instruction
    // counts of that configuration alone.
    let verdict_only = std::env::var_os("DERIVCHECK_BENCH_VERDICT_ONLY").is_some();
    let timed: &[(&str, &CheckConfig)] = if verdict_only {
        &[("verdicts only (no hints)", &verdict_config)]
    } else {
        &[
            ("with hints (the CLI)", &config),
            ("verdicts only (no hints)", &verdict_config),
        ]
    };
    // `DERIVCHECK_BENCH_KIND=library,rewrite` times only the claims of those kinds (to profile
    // correct and incorrect claims apart); the default is all of them.
    // `DERIVCHECK_BENCH_FILE=gelu,selu` likewise times only the claims about those library
    // files (to profile one family).
    let kind_filter = std::env::var("DERIVCHECK_BENCH_KIND").ok();
    let file_filter = std::env::var("DERIVCHECK_BENCH_FILE").ok();
    let listed = |filter: &Option<String>, name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| f.split(',').any(|k| k.trim() == name))
    };
    let timed_cases: Vec<&Case> = lib
        .cases
        .iter()
        .filter(|c| listed(&kind_filter, c.kind.name()) && listed(&file_filter, &c.file))
        .collect();
    for (label, config) in timed {
        let Some(start) = thread_cpu_seconds() else {
            break;
        };
        let mut passes = 0usize;
        let mut spent = 0.0;
        while fixed_passes.map_or(spent < 2.0, |n| passes < n) {
            let checkers = checkers_for(config);
            for case in &timed_cases {
                black_box(checkers[case.program].check_equal(&case.lhs, &case.rhs));
            }
            passes += 1;
            spent = thread_cpu_seconds().map_or(f64::INFINITY, |t| t - start);
        }
        let per_claim = spent / (passes * timed_cases.len().max(1)) as f64;
        eprintln!(
            "CPU time, {label}: {:.1} µs per claim, {:.0} claims per CPU-second ({passes} passes)",
            per_claim * 1e6,
            1.0 / per_claim
        );
    }

    let mut group = c.benchmark_group("check");
    let groups = [
        ("all", None),
        ("library", Some(Kind::Library)),
        ("rewrite", Some(Kind::Rewrite)),
        ("slip", Some(Kind::Slip)),
        ("mutation", Some(Kind::Mutation)),
    ];
    for (name, kind) in groups {
        let cases: Vec<&Case> = lib
            .cases
            .iter()
            .filter(|c| kind.is_none_or(|k| c.kind == k))
            .collect();
        group.throughput(Throughput::Elements(cases.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let checkers = new_checkers();
                for case in &cases {
                    black_box(checkers[case.program].check_equal(&case.lhs, &case.rhs));
                }
            })
        });
    }
    let all: Vec<&Case> = lib.cases.iter().collect();
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("all-verdict-only", |b| {
        b.iter(|| {
            let checkers = checkers_for(&verdict_config);
            for case in &all {
                black_box(checkers[case.program].check_equal(&case.lhs, &case.rhs));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
