//! `derivcheck train` and `derivcheck predict`: arguments → a network whose backward pass is
//! the generated derivative formulas (`derivcheck::train`), the progress bar, plots, the JSON
//! report and the model file.
//!
//! JSON report (`train --format json`), one object: `data` {name, samples, features, train,
//! test, task}; `network` {layers, activations, loss, parameters, precision: "f64" | "f32"
//! (of the batch passes; `--precision`)}; `formulas` {layers: [{layer,
//! activation, input, output, definition, forward, derivative, backward, backward_reads:
//! "output" | "pre-activation"}], loss {name, definition, gradient}, fused_output_delta (or
//! null), loss_from_pre_activation (the loss without a log of σ that is used where the
//! output's is not finite, or null)}, every formula as {unicode, ascii, latex}; with a softmax output `layers` holds the
//! hidden layers, and `output` {name, classes, entry, input, definition, shifted_by_max},
//! loss {name, quantity, definition, gradient (∂L/∂z_k as generated), wrt} and
//! `fused_output_delta_assumes` (the `assume` lines its proof used) are added, and
//! loss_from_pre_activation is over the z entries and m; `gradcheck` (null without `--gradcheck`)
//! {max_relative_error, passed, tolerance, layer, param: "weight" | "bias", row, column
//! (0-based), backward, finite_difference, parameters_checked}; `final` {train_loss,
//! test_loss, metric: "accuracy" | "r2", train_metric, test_metric, epochs_run, best_epoch,
//! stopped_early}; `history` {train_loss: [...], test_loss: [...]}; `written`: files. A failed
//! gradient check prints {gradcheck, formulas, trained: false} and exits 1; a NaN during
//! training prints {error, formulas} and exits 1.
//!
//! Model file (`--save`, JSON, `"format": "derivcheck-model"`, version 1): the layer widths,
//! the `.dc` text of every activation and of the loss (the formulas are derived again when
//! the model is loaded, never stored), parameter values, weights and biases per layer
//! (row-major, units × inputs), the feature names, the standardisation statistics and the
//! class names.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{CliError, Out, EXIT_FAILED, EXIT_OK};
use derivcheck::expr::Expr;
use derivcheck::print;
use derivcheck::report::json::Formula;
use derivcheck::train::data::{self, CsvOptions, Standardizer};
use derivcheck::train::fit::{self, EpochStats, Metric, Precision};
use derivcheck::train::net::{Head, Layer, NetSpec};
use derivcheck::train::{
    gradcheck, library, Dataset, FormulaConfig, FusedDelta, GradCheck, IndexedHead, Init, Loss,
    LossFromZ, Network, Optimizer, Task, TrainConfig,
};

/// Largest CSV read (bytes).
const MAX_CSV_BYTES: u64 = 256 << 20;
/// Largest `.dc` file read for a formula (bytes).
const MAX_DC_BYTES: u64 = 1 << 20;
/// Training samples used by `--gradcheck` (the first ones).
const GRADCHECK_SAMPLES: usize = 32;

/// Most parameters `--gradcheck` checks. Each needs at least four forward passes over
/// [`GRADCHECK_SAMPLES`] samples, so the time grows with the square of the size: 35 s for
/// 45,010 parameters (64 → 600 → 10) and 2 min 20 s for 97,510 (64 → 1300 → 10) on this
/// machine.
const MAX_GRADCHECK_PARAMETERS: usize = 50_000;
/// The gradient check passes at or below this error.
pub const GRADCHECK_TOLERANCE: f64 = 1e-6;

/// `--precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// Batch passes in f64.
    F64,
    /// Batch passes in f32 (parameters, optimiser, gradient check and final metrics stay f64).
    F32,
}

/// `--optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
    Adam,
    /// Minibatch SGD with momentum (`--momentum`).
    Sgd,
}

/// `--init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitArg {
    /// He for rectifier-like activations, Xavier otherwise.
    Auto,
    /// Glorot/Xavier uniform.
    Xavier,
    /// He normal.
    He,
}

/// `--task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Classification when the target holds at most 20 distinct integers.
    Auto,
    /// Regression.
    Regression,
    /// Classification.
    Classification,
}

/// `--format` of train and predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainFormat {
    /// Text.
    Text,
    /// JSON.
    Json,
}

/// Data options shared by train and predict.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// xor, moons, iris, diabetes, winequality, or a CSV file (with --target).
    #[arg(long, value_name = "NAME|FILE.csv")]
    pub data: String,
    /// The target column of a CSV.
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// CSV columns to leave out (comma-separated or repeated).
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Regression or classification (CSV targets).
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    pub task: TaskArg,
}

/// `derivcheck train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Layer widths, input first: 10,64,1.
    #[arg(long, value_delimiter = ',', required = true)]
    pub layers: Vec<usize>,
    /// Hidden activation(s) from derivations/: one for all hidden layers, or one per layer.
    #[arg(long, value_delimiter = ',', default_value = "tanh")]
    pub activation: Vec<String>,
    /// Hidden activation(s) from your own .dc files (replaces --activation).
    #[arg(long, value_name = "FILE")]
    pub activation_file: Vec<PathBuf>,
    /// Output activation (default: sigmoid for classification, identity for regression);
    /// `softmax` (derivations/softmax.dc) couples the class outputs and needs `--loss ce`.
    #[arg(long)]
    pub output: Option<String>,
    /// Output activation from your own .dc file.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Loss from derivations/ (default: bce for classification, mse for regression); `ce`
    /// is the cross-entropy of a softmax output (derivations/softmaxce.dc).
    #[arg(long)]
    pub loss: Option<String>,
    /// Loss from your own .dc file (first two-argument function: prediction, target).
    #[arg(long, value_name = "FILE")]
    pub loss_file: Option<PathBuf>,
    /// Value of a free parameter of a formula file (alpha=0.01); repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Never use the fused output delta (always ∂L/∂a · f'(z)).
    #[arg(long)]
    pub no_fuse: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// Fraction of samples held out for testing (data without a fixed split).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Seed of initialisation, split, batch order and generated data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads for the products and elementwise passes (0 = one per core). The results are
    /// the same bits with any number.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Floating-point type of the forward and backward passes over batches. f32 is about
    /// twice as fast on large layers; the weights, the optimiser, --gradcheck and the final
    /// metrics are f64 either way.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F64)]
    pub precision: PrecisionArg,
    /// Epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Samples per batch (0 = full batch).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Momentum of SGD.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Weight initialisation.
    #[arg(long, value_enum, default_value_t = InitArg::Auto)]
    pub init: InitArg,
    /// Stop when the test loss has not improved for this many epochs (0 = never).
    #[arg(long, default_value_t = 0)]
    pub patience: usize,
    /// Compare every gradient with finite differences before training (exit 1 if the
    /// largest relative error exceeds 1e-6).
    #[arg(long)]
    pub gradcheck: bool,
    /// Print the formulas the forward and backward passes run.
    #[arg(long)]
    pub show_formulas: bool,
    /// Write train and test loss curves (SVG); for two-input data also FILE-boundary.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Save the trained model (JSON).
    #[arg(long, value_name = "FILE.json")]
    pub save: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = TrainFormat::Text)]
    pub format: TrainFormat,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `derivcheck predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A model saved by `train --save`.
    #[arg(long, value_name = "FILE.json")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output format: text prints one prediction per line (CSV with a header).
    #[arg(long, value_enum, default_value_t = TrainFormat::Text)]
    pub format: TrainFormat,
}

#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    sizes: Vec<usize>,
    hidden: Vec<Source>,
    output: Source,
    loss: Source,
    fuse: bool,
    params: Vec<(String, f64)>,
    layers: Vec<LayerFile>,
    features: Vec<String>,
    mean: Vec<f64>,
    std: Vec<f64>,
    target_scale: Option<(f64, f64)>,
    classes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Source {
    name: String,
    text: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct LayerFile {
    weights: Vec<f64>,
    bias: Vec<f64>,
}

fn read_text(path: &Path, max: u64) -> Result<String, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > max {
        return Err(CliError(format!(
            "{}: input is too large: {} bytes (limit {max})",
            path.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        CliError(format!(
            "{}: not UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

fn bundled_activation(name: &str) -> Result<Source, CliError> {
    let text = library::activation(name).ok_or_else(|| {
        let names: Vec<&str> = library::ACTIVATIONS.iter().map(|(n, _)| *n).collect();
        CliError(format!(
            "no activation `{name}` in derivations/ (available: identity, {}); use --activation-file for your own",
            names.join(", ")
        ))
    })?;
    Ok(Source {
        name: format!("{name}.dc"),
        text: text.to_string(),
    })
}

fn bundled_output(name: &str) -> Result<Source, CliError> {
    let text = library::output(name).ok_or_else(|| {
        let names: Vec<&str> = library::ACTIVATIONS
            .iter()
            .chain(library::OUTPUTS)
            .map(|(n, _)| *n)
            .collect();
        CliError(format!(
            "no output activation `{name}` in derivations/ (available: identity, {}); use --output-file for your own",
            names.join(", ")
        ))
    })?;
    Ok(Source {
        name: format!("{name}.dc"),
        text: text.to_string(),
    })
}

fn bundled_loss(name: &str) -> Result<Source, CliError> {
    let text = library::loss(name).ok_or_else(|| {
        let names: Vec<&str> = library::LOSSES
            .iter()
            .chain(library::INDEXED_LOSSES)
            .map(|(n, _)| *n)
            .collect();
        CliError(format!(
            "no loss `{name}` in derivations/ (available: {}); use --loss-file for your own",
            names.join(", ")
        ))
    })?;
    Ok(Source {
        name: format!("{}.dc", library::loss_file(name).unwrap_or(name)),
        text: text.to_string(),
    })
}

fn file_source(path: &Path) -> Result<Source, CliError> {
    Ok(Source {
        name: path.display().to_string(),
        text: read_text(path, MAX_DC_BYTES)?,
    })
}

fn parse_params(params: &[String]) -> Result<Vec<(String, f64)>, CliError> {
    params
        .iter()
        .map(|p| {
            let (n, v) = p
                .split_once('=')
                .ok_or_else(|| CliError(format!("--param expects NAME=VALUE, found `{p}`")))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| CliError(format!("--param {n}: expected a number, found `{v}`")))?;
            if !v.is_finite() {
                return Err(CliError(format!("--param {n}: value is not finite")));
            }
            Ok((n.trim().to_string(), v))
        })
        .collect()
}

fn load_dataset(args: &DataArgs, seed: u64) -> Result<Dataset, CliError> {
    if let Some(d) = data::builtin(&args.data, seed) {
        return Ok(d);
    }
    let path = Path::new(&args.data);
    if !path.exists() {
        return Err(CliError(format!(
            "no dataset `{}`: expected one of {} or a CSV file",
            args.data,
            data::BUILTIN_NAMES.join(", ")
        )));
    }
    let target = args
        .target
        .clone()
        .ok_or_else(|| CliError(format!("{}: a CSV needs --target COLUMN", args.data)))?;
    let text = read_text(path, MAX_CSV_BYTES)?;
    let opts = CsvOptions {
        target,
        ignore: args.ignore.clone(),
        task: match args.task {
            TaskArg::Auto => Task::Auto,
            TaskArg::Regression => Task::Regression,
            TaskArg::Classification => Task::Classification,
        },
    };
    Ok(data::from_csv(&args.data, &text, &opts)?)
}

fn fx(e: &Expr) -> String {
    print::unicode(e)
}

/// The formulas in use, as text lines and as JSON.
fn formulas_report(net: &Network) -> (Vec<String>, serde_json::Value) {
    let mut lines = Vec::new();
    let mut layers = Vec::new();
    for (i, act) in net.activations.iter().enumerate() {
        let z = Expr::sym(act.input.clone());
        let a = Expr::sym(act.output.clone());
        let is_output = i + 1 == net.activations.len() && net.indexed().is_none();
        let role = if is_output {
            "output".to_string()
        } else {
            format!("layer {}", i + 1)
        };
        if act.forward == act.definition {
            lines.push(format!(
                "  {role} ({}): forward {} = {}",
                act.name,
                fx(&a),
                fx(&act.definition)
            ));
        } else {
            lines.push(format!(
                "  {role} ({}): forward {} = {}, the built-in, proved equal to the definition {}",
                act.name,
                fx(&a),
                fx(&act.forward),
                fx(&act.definition)
            ));
        }
        if is_output && net.fused().is_some() {
            lines.push(format!(
                "    derivative {}'({}) = {} (not used: the fused output delta below replaces it)",
                act.name,
                fx(&z),
                fx(&act.derivative)
            ));
        } else if act.in_terms_of_output {
            lines.push(format!(
                "    backward {}'({}) = {} = {}, run on the layer's output",
                act.name,
                fx(&z),
                fx(&act.derivative),
                fx(&act.backward)
            ));
        } else {
            lines.push(format!(
                "    backward {}'({}) = {}, run on the pre-activation",
                act.name,
                fx(&z),
                fx(&act.derivative)
            ));
        }
        layers.push(json!({
            "layer": i + 1,
            "activation": act.name,
            "definition": Formula::of(&act.definition),
            "forward": Formula::of(&act.forward),
            "derivative": Formula::of(&act.derivative),
            "backward": Formula::of(&act.backward),
            "backward_reads": if act.in_terms_of_output { "output" } else { "pre-activation" },
            "input": act.input.to_string(),
            "output": act.output.to_string(),
        }));
    }
    let value = match &net.head {
        Head::Elementwise {
            loss,
            fused,
            from_z,
        } => elementwise_head_report(
            net,
            loss,
            (fused.as_ref(), from_z.as_ref()),
            layers,
            &mut lines,
        ),
        Head::Indexed(h) => indexed_head_report(h, layers, &mut lines),
    };
    (lines, value)
}

/// The loss and output-delta part of [`formulas_report`] for an elementwise output.
fn elementwise_head_report(
    net: &Network,
    loss: &Loss,
    (fused, from_z): (Option<&FusedDelta>, Option<&LossFromZ>),
    layers: Vec<serde_json::Value>,
    lines: &mut Vec<String>,
) -> serde_json::Value {
    let l = loss;
    let o = Expr::sym(l.prediction.clone());
    lines.push(format!(
        "  loss ({}): L({}, {}) = {};  ∂L/∂{} = {}",
        l.name,
        fx(&o),
        fx(&Expr::sym(l.target.clone())),
        fx(&l.definition),
        fx(&o),
        fx(&l.gradient)
    ));
    if let Some(f) = from_z {
        lines.push(format!(
            "  loss where the output gives none (rounded to 0 or 1 under a log): L = {} (from the pre-activation {}, checked equal)",
            fx(&f.formula),
            fx(&Expr::sym(f.input.clone())),
        ));
    }
    let fused = match fused {
        Some(f) => {
            lines.push(format!(
                "  output delta ∂L/∂z = {} with {} the output (fused, proved equal to ∂L/∂{} · {}'(z))",
                fx(&f.formula),
                fx(&Expr::sym(f.output.clone())),
                fx(&o),
                net.activations.last().map_or("f", |a| a.name.as_str())
            ));
            json!(Formula::of(&f.formula))
        }
        None => {
            lines.push(format!(
                "  output delta ∂L/∂z = ∂L/∂{} · {}'(z) (no fused form)",
                fx(&o),
                net.activations.last().map_or("f", |a| a.name.as_str())
            ));
            serde_json::Value::Null
        }
    };
    json!({
        "layers": layers,
        "loss": {
            "name": l.name,
            "definition": Formula::of(&l.definition),
            "gradient": Formula::of(&l.gradient),
        },
        "fused_output_delta": fused,
        "loss_from_pre_activation": from_z.map(|f| Formula::of(&f.formula)),
    })
}

/// The output, loss and output-delta part of [`formulas_report`] for a coupled output.
fn indexed_head_report(
    h: &IndexedHead,
    layers: Vec<serde_json::Value>,
    lines: &mut Vec<String>,
) -> serde_json::Value {
    let o = Expr::sym(h.output.clone());
    let c = Expr::sym(h.size.clone());
    let forward = if h.shifted {
        format!(
            ", run with every {} replaced by {} − m, m the largest of the sample (proved equal at {} = {})",
            fx(&Expr::sym(h.input.clone())),
            fx(&Expr::sym(h.input.clone())),
            fx(&c),
            h.classes
        )
    } else {
        String::new()
    };
    lines.push(format!(
        "  output ({}): forward {} = {} at {} = {}{forward}",
        h.name,
        fx(&o),
        fx(&h.definition),
        fx(&c),
        h.classes
    ));
    lines.push(format!(
        "  loss ({}): {} = {}",
        h.loss_name,
        fx(&Expr::sym(h.loss.clone())),
        fx(&h.loss_definition)
    ));
    if h.loss_from_logits.is_some() {
        lines.push(format!(
            "  loss where an output underflows to 0 under a log: from {} and m, each log({}) written {} − m − log(Σ_j exp({} − m)) (checked equal at {} = {})",
            fx(&Expr::sym(h.input.clone())),
            fx(&o),
            fx(&Expr::sym(h.input.clone())),
            fx(&Expr::sym(derivcheck::expr::Symbol::with_sub(h.input.name(), Some("j")))),
            fx(&c),
            h.classes
        ));
    }
    let dl = format!(
        "∂{}/∂{}",
        fx(&Expr::sym(h.loss.clone())),
        fx(&Expr::sym(h.delta_var.clone()))
    );
    let fused = match &h.fused {
        Some(f) => {
            let using = if h.fused_assumes.is_empty() {
                String::new()
            } else {
                format!(", using {}", h.fused_assumes.join("; "))
            };
            lines.push(format!(
                "  output delta {dl} = {} (fused, proved equal to the generated derivative{using})",
                fx(f)
            ));
            json!(Formula::of(f))
        }
        None => {
            lines.push(format!(
                "  output delta {dl} = {} (the generated derivative, no fused form)",
                fx(&h.derivative)
            ));
            serde_json::Value::Null
        }
    };
    json!({
        "layers": layers,
        "output": {
            "name": h.name,
            "classes": h.classes,
            "entry": h.output.to_string(),
            "input": h.input.to_string(),
            "definition": Formula::of(&h.definition),
            "shifted_by_max": h.shifted,
        },
        "loss": {
            "name": h.loss_name,
            "quantity": h.loss.to_string(),
            "definition": Formula::of(&h.loss_definition),
            "gradient": Formula::of(&h.derivative),
            "wrt": h.delta_var.to_string(),
        },
        "fused_output_delta": fused,
        "fused_output_delta_assumes": h.fused_assumes,
        "loss_from_pre_activation": h.loss_from_logits.as_ref().map(Formula::of),
    })
}

fn gradcheck_json(g: &GradCheck) -> serde_json::Value {
    json!({
        "max_relative_error": g.max_error,
        "passed": g.max_error <= GRADCHECK_TOLERANCE,
        "tolerance": GRADCHECK_TOLERANCE,
        "layer": g.layer,
        "param": g.param,
        "row": g.row,
        "column": g.col,
        "backward": g.analytic,
        "finite_difference": g.numeric,
        "parameters_checked": g.n_checked,
    })
}

fn gradcheck_line(g: &GradCheck) -> String {
    let place = if g.param == "bias" {
        format!("layer {} bias[{}] (0-based unit)", g.layer, g.row)
    } else {
        format!(
            "layer {} weight[{}, {}] (0-based: row = unit, column = input)",
            g.layer, g.row, g.col
        )
    };
    format!(
        "gradcheck: {} — largest relative error {:.3e} at {place}: backward {:.12e}, finite differences {:.12e} ({} parameters)",
        if g.max_error <= GRADCHECK_TOLERANCE { "passed" } else { "FAILED" },
        g.max_error,
        g.analytic,
        g.numeric,
        g.n_checked
    )
}

/// First `k` columns of a `rows × n` matrix.
fn first_columns(m: &[f64], rows: usize, n: usize, k: usize) -> Vec<f64> {
    (0..rows)
        .flat_map(|r| m.get(r * n..r * n + k).unwrap_or(&[]).iter().copied())
        .collect()
}

fn describe_net(net: &Network) -> String {
    let mut s = net.n_inputs().to_string();
    for (l, a) in net.layers.iter().zip(net.activation_names()) {
        s.push_str(&format!(" → {} {a}", l.n_out));
    }
    format!(
        "{s}, loss {}, {} parameters",
        net.loss_name(),
        net.n_params()
    )
}

/// `derivcheck train`.
pub fn train_cmd(args: &TrainArgs, out: &mut Out) -> Result<u8, CliError> {
    if !(0.0..1.0).contains(&args.test_fraction) {
        return Err(CliError("--test-fraction must be in [0, 1)".into()));
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(CliError("--lr must be a positive number".into()));
    }
    if let Some(p) = &args.plot {
        match p.extension().and_then(|e| e.to_str()) {
            Some("svg") => {}
            Some("png") => {
                return Err(CliError(
                    "--plot: this build writes SVG only (the bitmap backend is left out to keep builds small); use a .svg file".into(),
                ))
            }
            _ => return Err(CliError("--plot expects a .svg file".into())),
        }
    }
    let dataset = load_dataset(&args.data, args.seed)?;
    let classify = matches!(dataset.target, data::Target::Classes { .. });
    let prepared = data::prepare(&dataset, args.test_fraction, args.seed)?;

    let hidden: Vec<Source> = if args.activation_file.is_empty() {
        args.activation
            .iter()
            .map(|n| bundled_activation(n))
            .collect::<Result<_, _>>()?
    } else {
        args.activation_file
            .iter()
            .map(|p| file_source(p))
            .collect::<Result<_, _>>()?
    };
    let output = match (&args.output_file, &args.output) {
        (Some(p), _) => file_source(p)?,
        (None, Some(n)) => bundled_output(n)?,
        (None, None) => bundled_activation(if classify { "sigmoid" } else { "identity" })?,
    };
    let loss = match (&args.loss_file, &args.loss) {
        (Some(p), _) => file_source(p)?,
        (None, Some(n)) => bundled_loss(n)?,
        (None, None) => bundled_loss(if classify { "bce" } else { "mse" })?,
    };
    let params = parse_params(&args.params)?;
    if args.layers.first() != Some(&prepared.n_features)
        || args.layers.last() != Some(&prepared.n_outputs)
    {
        return Err(CliError(format!(
            "--layers {}: {} has {} input feature(s) and needs {} output(s){}, so the layers must start with {} and end with {}",
            args.layers.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
            dataset.name,
            prepared.n_features,
            prepared.n_outputs,
            if prepared.n_outputs > 1 { " (one per class)" } else { "" },
            prepared.n_features,
            prepared.n_outputs
        )));
    }
    let spec = NetSpec {
        sizes: args.layers.clone(),
        hidden: hidden
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str()))
            .collect(),
        output: (output.name.as_str(), output.text.as_str()),
        loss: (loss.name.as_str(), loss.text.as_str()),
        formulas: FormulaConfig {
            params: params.clone(),
            ..FormulaConfig::default()
        },
        fuse: !args.no_fuse,
    };
    let init = match args.init {
        InitArg::Auto => Init::Auto,
        InitArg::Xavier => Init::Xavier,
        InitArg::He => Init::He,
    };
    let mut net = Network::from_spec(&spec, init, args.seed)?;
    let precision = match args.precision {
        PrecisionArg::F64 => Precision::F64,
        PrecisionArg::F32 => Precision::F32,
    };
    let text = args.format == TrainFormat::Text;
    if text {
        out.line(&format!(
            "data: {dataset} (train {}, test {})",
            prepared.train.n, prepared.test.n
        ));
        out.line(&format!("network: {}", describe_net(&net)));
        if precision == Precision::F32 {
            out.line("precision: f32 batch passes (weights, optimiser, gradient check and final metrics in f64)");
        }
    }
    let (formula_lines, formulas_json) = formulas_report(&net);
    if text && args.show_formulas {
        out.line("formulas:");
        for l in &formula_lines {
            out.line(l);
        }
    }

    let mut grad = None;
    if args.gradcheck && net.n_params() > MAX_GRADCHECK_PARAMETERS {
        return Err(CliError(format!(
            "--gradcheck compares every parameter with finite differences (four or more forward \
             passes each); this network has {} parameters, at most {MAX_GRADCHECK_PARAMETERS} \
             can be checked: check a smaller network with the same files",
            net.n_params()
        )));
    }
    if args.gradcheck {
        let k = prepared.train.n.min(GRADCHECK_SAMPLES);
        let x = first_columns(&prepared.train.x, prepared.n_features, prepared.train.n, k);
        let y = first_columns(&prepared.train.y, prepared.n_outputs, prepared.train.n, k);
        let g = gradcheck(&net, &x, &y, k).map_err(|e| CliError(format!("gradcheck: {e}")))?;
        if text {
            out.line(&gradcheck_line(&g));
        }
        grad = Some(g);
    }
    let grad_failed = grad
        .as_ref()
        .is_some_and(|g| g.max_error.is_nan() || g.max_error > GRADCHECK_TOLERANCE);
    if grad_failed {
        if !text {
            out.line(&serde_json::to_string_pretty(&json!({
                "gradcheck": grad.as_ref().map(gradcheck_json),
                "formulas": formulas_json,
                "trained": false,
            }))?);
        } else {
            out.line("not training: the backward pass disagrees with finite differences");
        }
        return Ok(EXIT_FAILED);
    }

    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        optimizer: match args.optimizer {
            OptimizerArg::Adam => Optimizer::adam(args.lr),
            OptimizerArg::Sgd => Optimizer::Sgd {
                lr: args.lr,
                momentum: args.momentum,
            },
        },
        seed: args.seed,
        patience: (args.patience > 0).then_some(args.patience),
        min_delta: 1e-4,
        pool: derivcheck::train::Pool::new(args.threads).map_err(|e| CliError(e.to_string()))?,
        precision,
    };
    let bar = if args.quiet || !text || args.epochs == 0 {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(args.epochs as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed}]")
        {
            b.set_style(style);
        }
        b
    };
    let result = fit::train(&mut net, &prepared, &cfg, &mut |s: &EpochStats| {
        bar.set_position(s.epoch as u64);
        bar.set_message(format!(
            "loss {:.4} test {:.4} {} {:.3}",
            s.train_loss,
            s.test_loss,
            s.test_metric.name(),
            s.test_metric.value()
        ));
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e @ fit::TrainError::NonFinite { .. }) => {
            if text {
                eprintln!("error: {e}");
            } else {
                out.line(&serde_json::to_string_pretty(&json!({
                    "error": e.to_string(),
                    "formulas": formulas_json,
                }))?);
            }
            return Ok(EXIT_FAILED);
        }
        Err(e) => return Err(CliError(e.to_string())),
    };
    let mut ws = derivcheck::train::net::Workspace::new();
    let (train_loss, train_metric) =
        fit::evaluate(&net, &prepared.train, &mut ws).map_err(|e| CliError(e.to_string()))?;
    let (test_loss, test_metric) =
        fit::evaluate(&net, &prepared.test, &mut ws).map_err(|e| CliError(e.to_string()))?;

    let mut written = Vec::new();
    if let Some(p) = &args.plot {
        super::train_plot::loss_curves(p, &report.history, &dataset.name)
            .map_err(|e| CliError(format!("{}: {e}", p.display())))?;
        written.push(p.display().to_string());
        if prepared.n_features == 2 {
            let stem = p.with_extension("");
            let bp = PathBuf::from(format!("{}-boundary.svg", stem.display()));
            super::train_plot::decision_boundary(&bp, &net, &prepared, classify)
                .map_err(|e| CliError(format!("{}: {e}", bp.display())))?;
            written.push(bp.display().to_string());
        }
    }
    if let Some(p) = &args.save {
        let model = ModelFile {
            format: "derivcheck-model".into(),
            version: 1,
            sizes: args.layers.clone(),
            hidden: hidden.clone(),
            output: output.clone(),
            loss: loss.clone(),
            fuse: !args.no_fuse,
            params,
            layers: net
                .layers
                .iter()
                .map(|l| LayerFile {
                    weights: l.weights.clone(),
                    bias: l.bias.clone(),
                })
                .collect(),
            features: dataset.features.clone(),
            mean: prepared.standardizer.mean.clone(),
            std: prepared.standardizer.std.clone(),
            target_scale: prepared.standardizer.target,
            classes: prepared.classes.clone(),
        };
        std::fs::write(p, serde_json::to_string(&model)?)
            .map_err(|e| CliError(format!("cannot write {}: {e}", p.display())))?;
        written.push(p.display().to_string());
    }

    let epochs_run = report.history.len();
    if text {
        let m = |m: Metric| format!("{} {:.4}", m.name(), m.value());
        out.line(&format!(
            "final: train loss {train_loss:.6}, {}; test loss {test_loss:.6}, {} (epochs run {epochs_run}{})",
            m(train_metric),
            m(test_metric),
            if report.stopped_early {
                format!(", early stop: weights of epoch {}", report.best_epoch)
            } else {
                String::new()
            }
        ));
        for w in &written {
            out.line(&format!("wrote {w}"));
        }
    } else {
        let v = json!({
            "data": {
                "name": dataset.name,
                "samples": dataset.n_samples(),
                "features": dataset.n_features(),
                "train": prepared.train.n,
                "test": prepared.test.n,
                "task": if classify { "classification" } else { "regression" },
            },
            "network": {
                "layers": args.layers,
                "activations": net.activation_names(),
                "loss": net.loss_name(),
                "parameters": net.n_params(),
                "precision": precision.name(),
            },
            "formulas": formulas_json,
            "gradcheck": grad.as_ref().map(gradcheck_json),
            "final": {
                "train_loss": train_loss,
                "test_loss": test_loss,
                "metric": test_metric.name(),
                "train_metric": train_metric.value(),
                "test_metric": test_metric.value(),
                "epochs_run": epochs_run,
                "best_epoch": report.best_epoch,
                "stopped_early": report.stopped_early,
            },
            "history": {
                "train_loss": report.history.iter().map(|s| s.train_loss).collect::<Vec<_>>(),
                "test_loss": report.history.iter().map(|s| s.test_loss).collect::<Vec<_>>(),
            },
            "written": written,
        });
        out.line(&serde_json::to_string_pretty(&v)?);
    }
    Ok(EXIT_OK)
}

/// `derivcheck predict`.
pub fn predict_cmd(args: &PredictArgs, out: &mut Out) -> Result<u8, CliError> {
    let text = read_text(&args.model, MAX_CSV_BYTES)?;
    let model: ModelFile = serde_json::from_str(&text).map_err(|e| {
        CliError(format!(
            "{}: not a derivcheck model: {e}",
            args.model.display()
        ))
    })?;
    if model.format != "derivcheck-model" || model.version != 1 {
        return Err(CliError(format!(
            "{}: not a derivcheck model (format {} version {})",
            args.model.display(),
            model.format,
            model.version
        )));
    }
    let spec = NetSpec {
        sizes: model.sizes.clone(),
        hidden: model
            .hidden
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str()))
            .collect(),
        output: (model.output.name.as_str(), model.output.text.as_str()),
        loss: (model.loss.name.as_str(), model.loss.text.as_str()),
        formulas: FormulaConfig {
            params: model.params.clone(),
            ..FormulaConfig::default()
        },
        fuse: model.fuse,
    };
    let mut net = Network::from_spec(&spec, Init::Xavier, 0)?;
    if model.layers.len() != net.layers.len() {
        return Err(CliError(format!(
            "{}: layer count does not match",
            args.model.display()
        )));
    }
    for (l, f) in net.layers.iter_mut().zip(&model.layers) {
        if f.weights.len() != l.weights.len() || f.bias.len() != l.bias.len() {
            return Err(CliError(format!(
                "{}: weight shapes do not match",
                args.model.display()
            )));
        }
        *l = Layer {
            n_in: l.n_in,
            n_out: l.n_out,
            weights: f.weights.clone(),
            bias: f.bias.clone(),
        };
    }
    let std = Standardizer {
        mean: model.mean.clone(),
        std: model.std.clone(),
        target: model.target_scale,
    };
    let rows = predict_rows(&args.data, &model.features)?;
    let n = rows.len();
    let nf = model.features.len();
    let mut x = vec![0.0; nf * n];
    for (j, row) in rows.iter().enumerate() {
        for (i, v) in std.features(row).into_iter().enumerate() {
            if let Some(s) = x.get_mut(i * n + j) {
                *s = v;
            }
        }
    }
    let outp = net.predict(&x, n).map_err(|e| CliError(e.to_string()))?;
    let k = net.n_outputs();
    let preds: Vec<String> = match &model.classes {
        Some(names) => fit::classes(&outp, k, n)
            .into_iter()
            .map(|c| names.get(c).cloned().unwrap_or_else(|| c.to_string()))
            .collect(),
        None => outp
            .iter()
            .take(n)
            .map(|v| std.unscale_target(*v).to_string())
            .collect(),
    };
    match args.format {
        TrainFormat::Text => {
            out.line("prediction");
            for p in &preds {
                out.line(p);
            }
        }
        TrainFormat::Json => out.line(&serde_json::to_string_pretty(
            &json!({ "predictions": preds }),
        )?),
    }
    Ok(EXIT_OK)
}

/// The feature rows (in the model's feature order) of a bundled dataset or a CSV; columns
/// are picked by name, others are ignored.
fn predict_rows(args: &DataArgs, features: &[String]) -> Result<Vec<Vec<f64>>, CliError> {
    let ds = match data::builtin(&args.data, 0) {
        Some(d) => d,
        None => {
            let text = read_text(Path::new(&args.data), MAX_CSV_BYTES)?;
            let header: Vec<String> = text
                .lines()
                .next()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
            let ignore: Vec<String> = header
                .iter()
                .filter(|h| !features.contains(h) && *h != "split")
                .cloned()
                .collect();
            // Targets are not needed: a constant column stands in for one.
            let mut with_target = String::with_capacity(text.len() + 4 * text.lines().count());
            for (i, line) in text.lines().enumerate() {
                with_target.push_str(line);
                with_target.push_str(if i == 0 { ",__target\n" } else { ",0\n" });
            }
            let opts = CsvOptions {
                target: "__target".into(),
                ignore,
                task: Task::Regression,
            };
            data::from_csv(&args.data, &with_target, &opts)?
        }
    };
    let idx: Vec<usize> = features
        .iter()
        .map(|f| {
            ds.features
                .iter()
                .position(|g| g == f)
                .ok_or_else(|| CliError(format!("{}: the model needs the column `{f}`", args.data)))
        })
        .collect::<Result<_, _>>()?;
    let nf = ds.n_features();
    Ok((0..ds.n_samples())
        .map(|s| {
            idx.iter()
                .map(|&i| ds.x.get(s * nf + i).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect())
}
