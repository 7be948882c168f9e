//! One function per command: arguments → library calls → output and exit code.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::args::{Command, FormulaFormat, InputKind, LimitArgs, ReportFormat};
use super::{CliError, Out, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use derivcheck::check::{CheckConfig, Checker, Outcome, StepKind, StepReport};
use derivcheck::diff::{diff, Derivative};
use derivcheck::expr::Expr;
use derivcheck::homework::check_document;
use derivcheck::limits::{memory, Limits};
use derivcheck::load::{load, load_bytes, parse_expression, InputError, Loaded};
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::{Layout, Program};
use derivcheck::report::{self, json as wire, text, FileReport, Summary};
use derivcheck::simplify::readable::refold_builtins;
use derivcheck::source::{SourceFile, Span};
use derivcheck::syntax::{self, document::DocKind};

/// Runs one command.
pub fn run(command: Command, out: &mut Out) -> Result<u8, CliError> {
    match command {
        Command::Fmt {
            file,
            format,
            limits,
        } => fmt(&file, format, &limits_of(&limits)?, out),
        Command::Parse {
            expr,
            format,
            defs,
            limits,
        } => parse(
            &expr,
            format,
            defs.defs.as_deref(),
            &limits_of(&limits)?,
            out,
        ),
        Command::Diff {
            expr,
            wrt,
            format,
            steps,
            defs,
            limits,
        } => diff_cmd(
            &expr,
            &wrt,
            format,
            steps,
            defs.defs.as_deref(),
            &limits_of(&limits)?,
            out,
        ),
        Command::Simplify {
            expr,
            format,
            defs,
            limits,
        } => simplify_cmd(
            &expr,
            format,
            defs.defs.as_deref(),
            &limits_of(&limits)?,
            out,
        ),
        Command::Check {
            paths,
            format,
            jobs,
            input,
            layout,
            limits,
        } => check_cmd(
            &paths,
            format,
            jobs,
            input,
            layout.into(),
            limits_of(&limits)?,
            out,
        ),
        Command::Claim {
            f,
            g,
            wrt,
            assumptions,
            format,
            layout,
            defs,
            limits,
        } => claim_cmd(
            &ClaimArgs {
                f: &f,
                g: &g,
                wrt: &wrt,
                assumptions: &assumptions,
                format,
                layout: layout.into(),
                defs: defs.defs.as_deref(),
            },
            limits_of(&limits)?,
            out,
        ),
        Command::Train(args) => super::train::train_cmd(&args, out),
        Command::Predict(args) => super::train::predict_cmd(&args, out),
        Command::Completions { shell } => {
            let mut cmd = <super::Opts as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "derivcheck", &mut buf);
            out.raw(&String::from_utf8_lossy(&buf));
            Ok(EXIT_OK)
        }
    }
}

/// The validated limits of a command; sets the heap budget of the run (`--max-memory`).
fn limits_of(args: &LimitArgs) -> Result<Limits, CliError> {
    let limits = args.limits().map_err(CliError)?;
    memory::set_budget(args.memory_bytes());
    Ok(limits)
}

fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > limits.max_input_bytes as u64 {
        return Err(CliError(format!(
            "{}: input is too large: {} bytes (limit {})",
            path.display(),
            meta.len(),
            limits.max_input_bytes
        )));
    }
    std::fs::read(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))
}

/// Loads a file; input errors are printed to stderr and end the command with exit code 2.
fn load_file_strict(
    path: &Path,
    limits: &Limits,
    color: bool,
) -> Result<(SourceFile, Program), u8> {
    let bytes = match read_file(path, limits) {
        Ok(b) => b,
        Err(CliError(msg)) => {
            eprintln!("error: {msg}");
            return Err(EXIT_INPUT);
        }
    };
    let (src, loaded) = load_bytes(&path.display().to_string(), &bytes, limits);
    if !loaded.errors.is_empty() {
        eprint!("{}", render_errors(&loaded.errors, &src, color));
        return Err(EXIT_INPUT);
    }
    Ok((src, loaded.program))
}

fn defs_program(defs: Option<&Path>, limits: &Limits, color: bool) -> Result<Program, u8> {
    match defs {
        None => Ok(Program::default()),
        Some(p) => load_file_strict(p, limits, color).map(|(_, prog)| prog),
    }
}

fn parse_arg(text: &str, scope: &Program, limits: &Limits, color: bool) -> Result<Expr, u8> {
    parse_expression(text, scope, limits).map_err(|errs| {
        let src = SourceFile::new("<expression>", text);
        eprint!("{}", render_errors(&errs, &src, color));
        EXIT_INPUT
    })
}

fn format_of(f: FormulaFormat) -> Format {
    match f {
        FormulaFormat::Unicode | FormulaFormat::Json => Format::Unicode,
        FormulaFormat::Ascii => Format::Ascii,
        FormulaFormat::Latex => Format::Latex,
    }
}

/// A result, with names for its shared subterms where that is shorter (deep compositions).
fn show_named(e: &Expr, f: FormulaFormat) -> String {
    print::shared::to_string_named(e, format_of(f), &PrintOptions::default())
}

fn show(e: &Expr, f: FormulaFormat) -> String {
    print::to_string(e, format_of(f), &PrintOptions::default())
}

fn fmt(path: &Path, format: FormulaFormat, limits: &Limits, out: &mut Out) -> Result<u8, CliError> {
    let (src, program) = match load_file_strict(path, limits, out.color()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if format == FormulaFormat::Json {
        let items: Vec<serde_json::Value> = program
            .items
            .iter()
            .map(|i| {
                json!({
                    "line": src.line_col(print::program::item_span(i).start).line,
                    "text": print::program::statement_lines(i, print::Format::Ascii).join("\n"),
                })
            })
            .collect();
        out.line(&json!({"path": src.name(), "items": items}).to_string());
        return Ok(EXIT_OK);
    }
    out.raw(&print::program::file(&src, &program, format_of(format)));
    Ok(EXIT_OK)
}

fn formula_json(e: &Expr) -> serde_json::Value {
    serde_json::to_value(wire::Formula::of(e)).unwrap_or(serde_json::Value::Null)
}

fn parse(
    text: &str,
    format: FormulaFormat,
    defs: Option<&Path>,
    limits: &Limits,
    out: &mut Out,
) -> Result<u8, CliError> {
    let scope = match defs_program(defs, limits, out.color()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let e = match parse_arg(text, &scope, limits, out.color()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    if format == FormulaFormat::Json {
        out.line(&json!({"input": text, "result": formula_json(&e)}).to_string());
    } else {
        out.line(&show(&e, format));
    }
    Ok(EXIT_OK)
}

fn diff_cmd(
    text: &str,
    wrt: &str,
    format: FormulaFormat,
    steps: bool,
    defs: Option<&Path>,
    limits: &Limits,
    out: &mut Out,
) -> Result<u8, CliError> {
    let program = match defs_program(defs, limits, out.color()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let e = match parse_arg(text, &program, limits, out.color()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let var = match parse_arg(wrt, &program, limits, out.color()) {
        Ok(v) => match v.as_sym() {
            Some(s) => s.clone(),
            None => {
                return Err(CliError(format!(
                    "--wrt must name a variable, found `{wrt}`"
                )))
            }
        },
        Err(code) => return Ok(code),
    };
    let config = CheckConfig {
        limits: limits.clone(),
        ..CheckConfig::default()
    };
    let checker = Checker::new(&program, &config);
    let mut ctx = checker.diff_ctx();
    ctx.trace = steps;
    let input = refold_builtins(&e);
    let d: Derivative = diff(&input, &var, &ctx)?;
    let result = checker.readable_derivative(&d.expr)?;
    let kinks: Vec<String> = checker
        .readable_kinks(&d.kinks)
        .iter()
        .map(wire::kink_text)
        .collect();
    if format == FormulaFormat::Json {
        let trace: Vec<serde_json::Value> = d
            .trace
            .iter()
            .map(|t| json!({"rule": t.rule, "input": print::ascii(&t.input), "output": print::ascii(&t.output)}))
            .collect();
        let mut v = json!({
            "input": text,
            "wrt": wrt,
            "derivative": formula_json(&result),
            "kinks": kinks,
        });
        if steps {
            v["steps"] = serde_json::Value::Array(trace);
        }
        out.line(&v.to_string());
        return Ok(EXIT_OK);
    }
    if steps {
        for t in &d.trace {
            out.line(&format!(
                "{:<18} d/d{} {}  =  {}",
                t.rule,
                show(&Expr::sym(var.clone()), format),
                show(&t.input, format),
                show(&t.output, format)
            ));
        }
    }
    out.line(&show_named(&result, format));
    for k in kinks {
        out.line(&format!("note: {k}"));
    }
    Ok(EXIT_OK)
}

fn simplify_cmd(
    text: &str,
    format: FormulaFormat,
    defs: Option<&Path>,
    limits: &Limits,
    out: &mut Out,
) -> Result<u8, CliError> {
    let program = match defs_program(defs, limits, out.color()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let e = match parse_arg(text, &program, limits, out.color()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let config = CheckConfig {
        limits: limits.clone(),
        ..CheckConfig::default()
    };
    let checker = Checker::new(&program, &config);
    let result = checker.readable(&refold_builtins(&e))?;
    if format == FormulaFormat::Json {
        out.line(&json!({"input": text, "result": formula_json(&result)}).to_string());
    } else {
        out.line(&show_named(&result, format));
    }
    Ok(EXIT_OK)
}

/// Files to check: each path itself, or the files of `kind` (default `.dc`) below a
/// directory, sorted.
fn collect_files(paths: &[PathBuf], kind: Option<InputKind>) -> Result<Vec<PathBuf>, CliError> {
    let wanted: &[&str] = match kind {
        None | Some(InputKind::Dc) => &["dc"],
        Some(InputKind::Md) => &["md", "markdown"],
        Some(InputKind::Tex) => &["tex"],
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                let entries = std::fs::read_dir(&dir).map_err(|e| {
                    CliError(format!("cannot read directory {}: {e}", dir.display()))
                })?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    let ty = entry.file_type();
                    if ty.as_ref().is_ok_and(|t| t.is_dir()) {
                        stack.push(path);
                    } else if path
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| wanted.contains(&x))
                    {
                        found.push(path);
                    }
                }
            }
            found.sort();
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(CliError(format!(
                "no such file or directory: {}",
                p.display()
            )));
        }
    }
    Ok(files)
}

/// How `path` is read: `--input`, else by extension.
fn kind_of(path: &Path, input: Option<InputKind>) -> InputKind {
    input.unwrap_or_else(|| match path.extension().and_then(|x| x.to_str()) {
        Some("md" | "markdown") => InputKind::Md,
        Some("tex") => InputKind::Tex,
        _ => InputKind::Dc,
    })
}

fn check_one(path: &Path, input: Option<InputKind>, config: &CheckConfig) -> FileReport {
    let name = path.display().to_string();
    let bytes = match read_file(path, &config.limits) {
        Ok(b) => b,
        Err(CliError(msg)) => return unreadable(name, msg),
    };
    let doc = match kind_of(path, input) {
        InputKind::Dc => None,
        InputKind::Md => Some(DocKind::Markdown),
        InputKind::Tex => Some(DocKind::Latex),
    };
    let Some(doc) = doc else {
        let (src, mut loaded) = load_bytes(&name, &bytes, &config.limits);
        loaded.program.set_layout(config.layout);
        return file_report(src, loaded, config);
    };
    let text = match syntax::decode(&bytes, &config.limits) {
        Ok(t) => t,
        Err(e) => return unreadable(name, e.to_string()),
    };
    let src = SourceFile::new(name, text);
    // A panic in the checker is a bug; contain it to this file and report it.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_document(&src, doc, config)
    })) {
        Ok(equations) => FileReport::document(src, equations),
        Err(_) => FileReport {
            errors: vec![internal_error(&src)],
            source: src,
            steps: Vec::new(),
            equations: Vec::new(),
        },
    }
}

/// The report on a file that could not be read at all.
fn unreadable(name: String, msg: String) -> FileReport {
    FileReport {
        source: SourceFile::new(name, ""),
        steps: Vec::new(),
        errors: vec![report::InputError {
            line: 1,
            column: 1,
            rendered: format!("error: {msg}\n"),
            message: msg,
        }],
        equations: Vec::new(),
    }
}

/// The error reported when checking a file panicked (a bug, contained to that file).
fn internal_error(src: &SourceFile) -> report::InputError {
    report::InputError {
        line: 1,
        column: 1,
        message: "internal error while checking this file (a bug in derivcheck)".into(),
        rendered: format!(
            "{}: error: internal error while checking this file\n",
            src.name()
        ),
    }
}

/// All input errors of a file, rendered against it in one pass (linear in the number of
/// errors: 20,000 bad lines are rendered in well under a second).
fn render_errors(errors: &[InputError], src: &SourceFile, color: bool) -> String {
    report::diagnostic::render(errors, src, &report::diagnostic::RenderOptions { color })
}

fn file_report(src: SourceFile, loaded: Loaded, config: &CheckConfig) -> FileReport {
    let rendered = report::diagnostic::render_each(
        &loaded.errors,
        &src,
        &report::diagnostic::RenderOptions { color: false },
    );
    let errors = loaded
        .errors
        .iter()
        .zip(rendered)
        .map(|(e, rendered)| input_error(&src, e, rendered))
        .collect();
    // A panic in the checker is a bug; contain it to this file and report it.
    let steps = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Checker::new(&loaded.program, config).check_program()
    }));
    match steps {
        Ok(steps) => FileReport {
            source: src,
            steps,
            errors,
            equations: Vec::new(),
        },
        Err(_) => {
            let mut errors: Vec<report::InputError> = errors;
            errors.push(internal_error(&src));
            FileReport {
                source: src,
                steps: Vec::new(),
                errors,
                equations: Vec::new(),
            }
        }
    }
}

fn input_error(src: &SourceFile, e: &InputError, rendered: String) -> report::InputError {
    let lc = src.line_col(e.span().start);
    report::InputError {
        line: lc.line,
        column: lc.column,
        message: e.message(),
        rendered,
    }
}

fn check_cmd(
    paths: &[PathBuf],
    format: ReportFormat,
    jobs: usize,
    input: Option<InputKind>,
    layout: Layout,
    limits: Limits,
    out: &mut Out,
) -> Result<u8, CliError> {
    let config = CheckConfig {
        limits,
        layout,
        ..CheckConfig::default()
    };
    let files = collect_files(paths, input)?;
    if files.is_empty() {
        return Err(CliError("no files to check found".into()));
    }
    let jobs = jobs.clamp(1, 64);
    let reports: Vec<FileReport> = if jobs == 1 {
        files.iter().map(|f| check_one(f, input, &config)).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<FileReport>>> =
            files.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(files.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let r = check_one(path, input, &config);
                    if let Some(slot) = slots.get(i) {
                        if let Ok(mut g) = slot.lock() {
                            *g = Some(r);
                        }
                    }
                });
            }
        });
        slots
            .into_iter()
            .filter_map(|m| m.into_inner().ok().flatten())
            .collect()
    };
    let mut summary = Summary::default();
    for r in &reports {
        summary.add(r);
    }
    match format {
        ReportFormat::Json => {
            let rep = wire::check_report(&reports);
            out.line(&serde_json::to_string_pretty(&rep)?);
        }
        ReportFormat::Text => {
            let style = text::Style { color: out.color() };
            for r in &reports {
                out.raw(&text::file(r, style));
            }
            out.line(&text::summary(&summary, reports.len()));
        }
        ReportFormat::Gradescope => {
            out.line(&serde_json::to_string_pretty(
                &report::grading::gradescope(&reports),
            )?);
        }
        ReportFormat::Csv => out.raw(&report::grading::csv(&reports)),
    }
    Ok(if summary.files_with_errors > 0 {
        EXIT_INPUT
    } else if summary.all_correct() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

#[allow(clippy::too_many_arguments)]
/// The arguments of `claim`.
struct ClaimArgs<'a> {
    f: &'a str,
    g: &'a str,
    wrt: &'a str,
    assumptions: &'a [String],
    format: ReportFormat,
    layout: derivcheck::program::Layout,
    defs: Option<&'a Path>,
}

fn claim_cmd(args: &ClaimArgs<'_>, limits: Limits, out: &mut Out) -> Result<u8, CliError> {
    let ClaimArgs {
        f,
        g,
        wrt,
        assumptions,
        format,
        defs,
        ..
    } = *args;
    let (defs_src, mut program) = match defs {
        None => (None, Program::default()),
        Some(p) => match load_file_strict(p, &limits, out.color()) {
            Ok((src, prog)) => (Some(src), prog),
            Err(code) => return Ok(code),
        },
    };
    // Assumptions are read as `assume` lines of a small file.
    let mut assume_text = String::new();
    for a in assumptions {
        assume_text.push_str("assume ");
        assume_text.push_str(a);
        assume_text.push('\n');
    }
    // F or VAR with a shape: the claim ∂F/∂VAR = G in matrix form, read after the
    // definitions as the file's own statements are (so that the layout applies).
    let shaped = |name: &str| {
        program.shapes.iter().any(|(s, _)| {
            print::ascii(&Expr::sym(s.clone())) == name.trim() || s.to_string() == name.trim()
        })
    };
    if let (Some(src), true) = (&defs_src, shaped(f) || shaped(wrt)) {
        let text = format!(
            "{}\n{assume_text}claim ∂{}/∂{} = {g}\n",
            src.text(),
            f.trim(),
            wrt.trim()
        );
        return matrix_claim(&text, args, limits, out);
    }
    let assume_src = SourceFile::new("--assume", assume_text);
    let loaded = load(&assume_src, &limits);
    if !loaded.errors.is_empty() {
        eprint!(
            "{}",
            render_errors(&loaded.errors, &assume_src, out.color())
        );
        return Ok(EXIT_INPUT);
    }
    program.extend_definitions(&loaded.program);
    let fe = match parse_arg(f, &program, &limits, out.color()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let ge = match parse_arg(g, &program, &limits, out.color()) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let var = match parse_arg(wrt, &program, &limits, out.color()) {
        Ok(v) => match v.as_sym() {
            Some(s) => s.clone(),
            None => {
                return Err(CliError(format!(
                    "--wrt must name a variable, found `{wrt}`"
                )))
            }
        },
        Err(code) => return Ok(code),
    };
    let config = CheckConfig {
        limits,
        ..CheckConfig::default()
    };
    let checker = Checker::new(&program, &config);
    let lhs = Expr::deriv(fe.clone(), var.clone());
    let outcome: Outcome = checker.check_equal(&lhs, &ge);
    let truth = diff(&refold_builtins(&fe), &var, &checker.diff_ctx())
        .ok()
        .and_then(|d| checker.readable_derivative(&d.expr).ok());
    // One source for the report: the `assume` lines (whose spans the outcome cites), then the
    // claim itself.
    let claim_line = format!("claim d/d{var} ({f}) = {g}");
    let claim_start = assume_src.text().len();
    let src = SourceFile::new("<claim>", format!("{}{claim_line}", assume_src.text()));
    let step = StepReport {
        kind: StepKind::Claim,
        span: Span::new(claim_start, claim_start + claim_line.len()),
        lhs,
        rhs: ge,
        outcome,
        chain_note: None,
    };
    emit_claim(step, src, truth, format, out)
}

/// `claim` in matrix form: `text` is the definitions file, the `--assume` lines and the claim
/// `∂F/∂VAR = G`, loaded as one file; the claim is its last statement.
fn matrix_claim(
    text: &str,
    args: &ClaimArgs<'_>,
    limits: Limits,
    out: &mut Out,
) -> Result<u8, CliError> {
    let src = SourceFile::new("<claim>", text.to_owned());
    let mut loaded = load(&src, &limits);
    if !loaded.errors.is_empty() {
        eprint!("{}", render_errors(&loaded.errors, &src, out.color()));
        return Ok(EXIT_INPUT);
    }
    loaded.program.set_layout(args.layout);
    let Some(derivcheck::program::Item::Claim(claim)) = loaded.program.items.last().cloned() else {
        return Err(CliError("the claim was not read".to_owned()));
    };
    let config = CheckConfig {
        limits,
        ..CheckConfig::default()
    };
    let checker = Checker::new(&loaded.program, &config);
    let outcome = checker.check_equal(&claim.lhs, &claim.rhs);
    let lhs = claim.lhs.clone();
    let truth = match lhs.node() {
        derivcheck::expr::Node::Deriv(body, var) => {
            diff(&body.clone(), &var.clone(), &checker.diff_ctx())
                .ok()
                .and_then(|d| checker.readable_derivative(&d.expr).ok())
        }
        _ => None,
    };
    let step = StepReport {
        kind: StepKind::Claim,
        span: claim.span,
        lhs: claim.lhs,
        rhs: claim.rhs,
        outcome,
        chain_note: None,
    };
    emit_claim(step, src, truth, args.format, out)
}

/// The report of one claim in `format`, and its exit code.
fn emit_claim(
    step: StepReport,
    src: SourceFile,
    truth: Option<Expr>,
    format: ReportFormat,
    out: &mut Out,
) -> Result<u8, CliError> {
    let code = if step.outcome.verdict.is_correct() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    match format {
        ReportFormat::Json => {
            let mut v = serde_json::to_value(wire::step(&step, &src))?;
            v["derivative"] = truth
                .as_ref()
                .map(formula_json)
                .unwrap_or(serde_json::Value::Null);
            out.line(&serde_json::to_string_pretty(&v)?);
        }
        ReportFormat::Gradescope | ReportFormat::Csv => {
            let rep = FileReport {
                source: src,
                steps: vec![step],
                errors: Vec::new(),
                equations: Vec::new(),
            };
            let reps = [rep];
            if format == ReportFormat::Csv {
                out.raw(&report::grading::csv(&reps));
            } else {
                out.line(&serde_json::to_string_pretty(
                    &report::grading::gradescope(&reps),
                )?);
            }
        }
        ReportFormat::Text => {
            let rep = FileReport {
                source: src,
                steps: vec![step],
                errors: Vec::new(),
                equations: Vec::new(),
            };
            out.raw(&text::file(&rep, text::Style { color: out.color() }));
            if let Some(t) = &truth {
                out.line(&format!("  derivative: {}", print::unicode(t)));
            }
        }
    }
    Ok(code)
}
