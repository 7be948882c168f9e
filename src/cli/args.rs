//! Command-line arguments (clap derive). Doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use derivcheck::limits::Limits;

/// derivcheck: checks derivations of the derivatives of activation and loss functions, step by
/// step, with proofs, counterexamples and hints.
#[derive(Debug, Parser)]
#[command(name = "derivcheck", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success (everything correct), 1 a check failed \
(incorrect or undecided), 2 usage or input error (memory past twice --max-memory \
included).\n\nExample:\n  derivcheck check derivations/"
)]
pub struct Opts {
    /// When to use colour in the output.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when standard output is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output format of commands that print formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormulaFormat {
    /// Unicode (σ(z)·(1 − σ(z))).
    Unicode,
    /// ASCII that parses back (sigma(z)*(1 - sigma(z))).
    Ascii,
    /// LaTeX.
    Latex,
    /// JSON with all three.
    Json,
}

/// Output format of `check` and `claim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Compiler-style text.
    Text,
    /// JSON (schema in README).
    Json,
    /// Gradescope autograder `results.json`: one test per equation (`check` only).
    Gradescope,
    /// One CSV row per file: a per-student summary table (`check` only).
    Csv,
}

/// How to read the files given to `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputKind {
    /// The `.dc` language.
    Dc,
    /// Markdown with math (`$$…$$`, `\[…\]`, `\begin{align}`…).
    Md,
    /// LaTeX.
    Tex,
}

/// `--defs FILE`.
#[derive(Debug, Clone, Args)]
pub struct DefsArgs {
    /// A .dc file whose definitions (`let`) and assumptions are in scope.
    #[arg(long, value_name = "FILE")]
    pub defs: Option<PathBuf>,
}

/// Limits shared by the commands that read or compute (README "Limits"). Reaching one gives
/// "undecided: limit reached (which, in where)" for that step, or an input error for a file.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Seconds allowed for one check (one claim or step).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub timeout_per_step: f64,
    /// Largest input file or command-line expression, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_input_bytes)]
    pub max_input_bytes: usize,
    /// Deepest nesting of brackets and operators (and recursion of every pass); at most 1024.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Most nodes in one parsed expression.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_nodes)]
    pub max_nodes: usize,
    /// Most decimal digits of a numeric literal or of an exact constant.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_digits)]
    pub max_digits: usize,
    /// Largest integer exponent expanded exactly.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_exponent)]
    pub max_exponent: u32,
    /// Most terms of one polynomial in a canonical form.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_terms)]
    pub max_terms: usize,
    /// Most nodes of a derivative or a simplified form.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_growth)]
    pub max_growth: usize,
    /// Heap of the whole run, in MiB; a step that needs more is undecided (0: no bound).
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MAX_MEMORY_MB)]
    pub max_memory: usize,
}

/// Default of `--max-memory`, in MiB.
pub const DEFAULT_MAX_MEMORY_MB: usize = derivcheck::limits::memory::DEFAULT_BUDGET_MIB;

/// Largest accepted `--max-depth`: deeper recursion could overflow a thread's stack.
pub const MAX_DEPTH_CEILING: usize = 1024;

impl LimitArgs {
    /// The validated limits.
    pub fn limits(&self) -> Result<Limits, String> {
        let t = self.timeout_per_step;
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            return Err(format!(
                "--timeout-per-step must be more than 0 and at most 3600 seconds, found {t}"
            ));
        }
        if self.max_depth > MAX_DEPTH_CEILING {
            return Err(format!(
                "--max-depth must be at most {MAX_DEPTH_CEILING}, found {}",
                self.max_depth
            ));
        }
        for (flag, value) in [
            ("--max-input-bytes", self.max_input_bytes),
            ("--max-depth", self.max_depth),
            ("--max-nodes", self.max_nodes),
            ("--max-digits", self.max_digits),
            ("--max-exponent", self.max_exponent as usize),
            ("--max-terms", self.max_terms),
            ("--max-growth", self.max_growth),
        ] {
            if value == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
        }
        Ok(Limits {
            max_input_bytes: self.max_input_bytes,
            max_depth: self.max_depth,
            max_nodes: self.max_nodes,
            max_digits: self.max_digits,
            max_exponent: self.max_exponent,
            max_terms: self.max_terms,
            max_growth: self.max_growth,
            timeout_per_step: Duration::from_secs_f64(t),
        })
    }

    /// The heap budget in bytes (`None`: no bound).
    pub fn memory_bytes(&self) -> Option<usize> {
        (self.max_memory > 0).then(|| self.max_memory.saturating_mul(1 << 20))
    }
}

/// `--layout`: the layout convention of matrix derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// ∂z/∂h is M×N, entry (i, k) = ∂z_i/∂h_k (the Jacobian).
    Numerator,
    /// ∂z/∂h is N×M, entry (k, i) = ∂z_i/∂h_k; gradients are columns.
    Denominator,
}

impl From<LayoutArg> for derivcheck::program::Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::Numerator => derivcheck::program::Layout::Numerator,
            LayoutArg::Denominator => derivcheck::program::Layout::Denominator,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a .dc file back, normalized.
    #[command(after_help = "Example:\n  derivcheck fmt derivations/sigmoid.dc --format unicode")]
    Fmt {
        /// The file.
        file: PathBuf,
        /// How to print formulas.
        #[arg(long, value_enum, default_value_t = FormulaFormat::Ascii)]
        format: FormulaFormat,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Parse one expression and print it.
    #[command(after_help = "Example:\n  derivcheck parse 'σ(z)(1 − σ(z))' --format ascii")]
    Parse {
        /// The expression.
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = FormulaFormat::Unicode)]
        format: FormulaFormat,
        #[command(flatten)]
        defs: DefsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Differentiate an expression and print the simplified derivative.
    #[command(
        after_help = "Example:\n  derivcheck diff 'log(1 + exp(z))' --wrt z\n  \
        derivcheck diff 'L' --wrt Z --defs derivations/sigmoidbce.dc --steps"
    )]
    Diff {
        /// The expression.
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// The variable.
        #[arg(long)]
        wrt: String,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = FormulaFormat::Unicode)]
        format: FormulaFormat,
        /// Show the differentiation rules applied.
        #[arg(long)]
        steps: bool,
        #[command(flatten)]
        defs: DefsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Simplify an expression to its readable form.
    #[command(after_help = "Example:\n  derivcheck simplify '-y/A + (1 - y)/(1 - A)'")]
    Simplify {
        /// The expression.
        #[arg(allow_hyphen_values = true)]
        expr: String,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t = FormulaFormat::Unicode)]
        format: FormulaFormat,
        #[command(flatten)]
        defs: DefsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Check every claim and derivation step in files or directories (recursively, .dc
    /// files), or every equation of Markdown and LaTeX homework.
    #[command(after_help = "Example:\n  derivcheck check derivations/\n  \
        derivcheck check homework.dc --format json\n  \
        derivcheck check homework.md\n  \
        derivcheck check submissions/ --input md --format csv")]
    Check {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Files checked in parallel.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Read files as this kind instead of by extension (`.md`, `.tex`, else `.dc`); with
        /// a directory, the kind of file collected from it (default: `.dc` files).
        #[arg(long, value_enum, value_name = "KIND")]
        input: Option<InputKind>,
        /// Layout of matrix derivatives: ∂z/∂h (vectors z ∈ ℝ^M, h ∈ ℝ^N) is N×M with entry
        /// (k, i) = ∂z_i/∂h_k in denominator layout (∂(β + Ω·h)/∂h = Ωᵀ), M×N with entry
        /// (i, k) in numerator layout (the Jacobian Ω).
        #[arg(long, value_enum, default_value_t = LayoutArg::Denominator)]
        layout: LayoutArg,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Is d/dVAR F equal to G?
    #[command(
        after_help = "Example:\n  derivcheck claim 'sigma(z)' 'sigma(z)*(1 - sigma(z))' --wrt z\n  \
        derivcheck claim '-y*log(A) - (1-y)*log(1-A)' '(A - y)/(A*(1 - A))' --wrt A --assume '0<A<1'"
    )]
    Claim {
        /// The function F.
        #[arg(allow_hyphen_values = true)]
        f: String,
        /// The claimed derivative G.
        #[arg(allow_hyphen_values = true)]
        g: String,
        /// The variable.
        #[arg(long)]
        wrt: String,
        /// Extra assumptions, in the syntax of `assume` lines (repeatable).
        #[arg(long = "assume", value_name = "FACT")]
        assumptions: Vec<String>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Layout of matrix derivatives, when F or VAR has a shape in `--defs` (as for
        /// `check`): ∂z/∂h is N×M in denominator layout (∂(β + Ω·h)/∂h = Ωᵀ), M×N in numerator
        /// layout (the Jacobian Ω).
        #[arg(long, value_enum, default_value_t = LayoutArg::Denominator)]
        layout: LayoutArg,
        #[command(flatten)]
        defs: DefsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Train a small fully connected network whose backward pass runs on the derivative
    /// formulas generated from derivations/ (or your own .dc files).
    #[command(
        after_help = "Examples:\n  derivcheck train --layers 10,64,1 --activation sigmoid --output identity --loss mse --data diabetes\n  \
        derivcheck train --layers 2,4,1 --activation tanh --output sigmoid --loss bce --data xor --batch-size 0 --lr 0.05 --epochs 500 --gradcheck --show-formulas"
    )]
    Train(Box<super::train::TrainArgs>),
    /// Predict with a model saved by `train --save`.
    #[command(after_help = "Example:\n  derivcheck predict --model model.json --data iris")]
    Predict(super::train::PredictArgs),
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  derivcheck completions bash > /etc/bash_completion.d/derivcheck"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}
