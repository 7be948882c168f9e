//! Datasets: generated (`xor`, `moons`), bundled real ones (`iris`, `diabetes`, `winequality`,
//! from the linfa-datasets crate, which compiles them in), and the user's CSV given as text.
//! Standardisation with the training split's statistics, seeded train/test splits, and the
//! matrices (features × samples) the network reads.
//!
//! This module does no IO: the CLI reads a CSV file and passes its text.

use std::fmt;

use super::rng::Rng;

/// What is predicted.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A real number per sample.
    Regression(Vec<f64>),
    /// A class per sample, `0..names.len()`.
    Classes {
        /// Class per sample.
        labels: Vec<usize>,
        /// Class names, in label order.
        names: Vec<String>,
    },
}

/// A dataset: samples × features, row-major, and the targets.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Name for reports.
    pub name: String,
    /// Feature names, one per column.
    pub features: Vec<String>,
    /// Values, `n_samples × features.len()`, row-major.
    pub x: Vec<f64>,
    /// Targets.
    pub target: Target,
    /// A fixed split, if the data came with one (`true` = test).
    pub fixed_split: Option<Vec<bool>>,
}

/// How to read the target of a CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Classification when the target column holds text, or at most 20 distinct integers;
    /// regression otherwise.
    Auto,
    /// Always regression.
    Regression,
    /// Always classification (the distinct values, as text, are the classes).
    Classification,
}

/// Why data could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A CSV problem at a place in the file (1-based line; column when known).
    #[error("{}:{line}{}: {message}", .file, .column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    Csv {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column number and its header name.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Not usable as a dataset.
    #[error("{0}")]
    Invalid(String),
}

/// Names accepted by [`builtin`].
pub const BUILTIN_NAMES: &[&str] = &["xor", "moons", "iris", "diabetes", "winequality"];

/// A generated or bundled dataset by name; `None` for an unknown name. `seed` drives the
/// generated ones (moons' noise).
///
/// `diabetes` has 441 of the original 442 samples: linfa-datasets 0.8.1 reads its header-less
/// CSV files as if they had a header row, which drops the first sample (features and target
/// alike, so the rest stay aligned).
pub fn builtin(name: &str, seed: u64) -> Option<Dataset> {
    match name {
        "xor" => Some(xor()),
        "moons" => Some(moons(200, 0.1, seed)),
        "iris" => {
            let d = linfa_datasets::iris();
            Some(from_linfa_classes(
                "iris",
                d.records().iter().copied().collect(),
                d.feature_names(),
                d.targets().iter().copied().collect(),
                |c| {
                    ["setosa", "versicolor", "virginica"]
                        .get(c)
                        .map(|s| s.to_string())
                },
            ))
        }
        "winequality" => {
            let d = linfa_datasets::winequality();
            Some(from_linfa_classes(
                "winequality",
                d.records().iter().copied().collect(),
                d.feature_names(),
                d.targets().iter().copied().collect(),
                |c| Some(format!("quality {c}")),
            ))
        }
        "diabetes" => {
            let d = linfa_datasets::diabetes();
            Some(Dataset {
                name: "diabetes".into(),
                features: d.feature_names().to_vec(),
                x: d.records().iter().copied().collect(),
                target: Target::Regression(d.targets().iter().copied().collect()),
                fixed_split: None,
            })
        }
        _ => None,
    }
}

/// Classes numbered by their sorted distinct values; names from `name`.
fn from_linfa_classes(
    name: &str,
    x: Vec<f64>,
    features: &[String],
    raw: Vec<usize>,
    class_name: impl Fn(usize) -> Option<String>,
) -> Dataset {
    let mut distinct = raw.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let labels = raw
        .iter()
        .map(|v| distinct.binary_search(v).unwrap_or(0))
        .collect();
    let names = distinct
        .iter()
        .map(|&c| class_name(c).unwrap_or_else(|| c.to_string()))
        .collect();
    Dataset {
        name: name.into(),
        features: features.to_vec(),
        x,
        target: Target::Classes { labels, names },
        fixed_split: None,
    }
}

/// The four corners of the XOR problem; train and test are the same four points.
pub fn xor() -> Dataset {
    Dataset {
        name: "xor".into(),
        features: vec!["x1".into(), "x2".into()],
        x: vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        target: Target::Classes {
            labels: vec![0, 1, 1, 0],
            names: vec!["0".into(), "1".into()],
        },
        fixed_split: Some(vec![false; 4]),
    }
}

/// Two interleaving half circles (as scikit-learn's `make_moons`), with Gaussian noise of
/// standard deviation `noise`, seeded.
pub fn moons(n: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed ^ 0x6d6f_6f6e);
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut x = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n_out {
        let t = std::f64::consts::PI * i as f64 / (n_out.max(2) - 1) as f64;
        x.push(t.cos() + noise * rng.normal());
        x.push(t.sin() + noise * rng.normal());
        labels.push(0);
    }
    for i in 0..n_in {
        let t = std::f64::consts::PI * i as f64 / (n_in.max(2) - 1) as f64;
        x.push(1.0 - t.cos() + noise * rng.normal());
        x.push(0.5 - t.sin() + noise * rng.normal());
        labels.push(1);
    }
    Dataset {
        name: "moons".into(),
        features: vec!["x1".into(), "x2".into()],
        x,
        target: Target::Classes {
            labels,
            names: vec!["upper".into(), "lower".into()],
        },
        fixed_split: None,
    }
}

/// Options of [`from_csv`].
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The target column's header.
    pub target: String,
    /// Columns to leave out (besides the target and `split`).
    pub ignore: Vec<String>,
    /// Regression or classification.
    pub task: Task,
}

/// Reads a CSV with a header row. Every column but the target, the ignored ones and a column
/// named `split` (values `train`/`test`, which then fixes the split) must be numeric.
///
/// # Errors
///
/// [`DataError::Csv`] with the line and column of the first bad field; [`DataError::Invalid`]
/// for a missing target column or an empty file.
pub fn from_csv(file: &str, text: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
    let csv_err = |line: u64, column: Option<String>, message: String| DataError::Csv {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_err(1, None, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let target_idx = headers
        .iter()
        .position(|h| *h == opts.target)
        .ok_or_else(|| {
            DataError::Invalid(format!(
                "{file}: no column named `{}` (columns: {})",
                opts.target,
                headers.join(", ")
            ))
        })?;
    for ig in &opts.ignore {
        if !headers.contains(ig) {
            return Err(DataError::Invalid(format!(
                "{file}: no column named `{ig}` to ignore"
            )));
        }
    }
    let split_idx = headers.iter().position(|h| h == "split");
    let feature_idx: Vec<usize> = (0..headers.len())
        .filter(|&i| i != target_idx && Some(i) != split_idx)
        .filter(|&i| headers.get(i).is_some_and(|h| !opts.ignore.contains(h)))
        .collect();
    let col_name = |i: usize| format!("{} (`{}`)", i + 1, headers.get(i).map_or("", |s| s));
    let mut x = Vec::new();
    let mut raw_target: Vec<String> = Vec::new();
    let mut split = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_err(line, None, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        for &i in &feature_idx {
            let field = rec.get(i).unwrap_or("");
            let v: f64 = field.parse().map_err(|_| {
                csv_err(
                    line,
                    Some(col_name(i)),
                    format!("expected a number, found `{field}`"),
                )
            })?;
            if !v.is_finite() {
                return Err(csv_err(
                    line,
                    Some(col_name(i)),
                    format!("value is not finite: `{field}`"),
                ));
            }
            x.push(v);
        }
        raw_target.push(rec.get(target_idx).unwrap_or("").to_string());
        if let Some(si) = split_idx {
            match rec.get(si).unwrap_or("") {
                "train" => split.push(false),
                "test" => split.push(true),
                other => {
                    return Err(csv_err(
                        line,
                        Some(col_name(si)),
                        format!("expected `train` or `test`, found `{other}`"),
                    ))
                }
            }
        }
    }
    if raw_target.is_empty() {
        return Err(DataError::Invalid(format!("{file}: no data rows")));
    }
    let numeric: Option<Vec<f64>> = raw_target.iter().map(|t| t.parse().ok()).collect();
    let classify = match opts.task {
        Task::Regression => false,
        Task::Classification => true,
        // Text labels are classes; numbers are classes when few and whole.
        Task::Auto => numeric.as_ref().is_none_or(|v| {
            let mut d: Vec<i64> = Vec::new();
            for &t in v {
                if t.fract() != 0.0 || t.abs() > 1e9 {
                    return false;
                }
                let t = t as i64;
                if !d.contains(&t) {
                    d.push(t);
                }
            }
            d.len() <= 20
        }),
    };
    let target = if classify {
        let mut names: Vec<String> = raw_target.clone();
        match &numeric {
            Some(_) => names.sort_by(|a, b| {
                let (x, y) = (
                    a.parse::<f64>().unwrap_or(0.0),
                    b.parse::<f64>().unwrap_or(0.0),
                );
                x.total_cmp(&y)
            }),
            None => names.sort(),
        }
        names.dedup();
        let labels = raw_target
            .iter()
            .map(|t| names.iter().position(|n| n == t).unwrap_or(0))
            .collect();
        Target::Classes { labels, names }
    } else {
        let Some(v) = numeric else {
            let (row, bad) = raw_target
                .iter()
                .enumerate()
                .find(|(_, t)| t.parse::<f64>().is_err())
                .map_or((0, ""), |(i, t)| (i, t.as_str()));
            return Err(csv_err(
                row as u64 + 2,
                Some(col_name(target_idx)),
                format!("expected a number for a regression target, found `{bad}`"),
            ));
        };
        Target::Regression(v)
    };
    Ok(Dataset {
        name: file.to_string(),
        features: feature_idx
            .iter()
            .map(|&i| headers.get(i).cloned().unwrap_or_default())
            .collect(),
        x,
        target,
        fixed_split: split_idx.map(|_| split),
    })
}

impl Dataset {
    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        match &self.target {
            Target::Regression(v) => v.len(),
            Target::Classes { labels, .. } => labels.len(),
        }
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Number of network outputs the target needs: 1 for regression and two classes, else
    /// one per class (each a sigmoid or identity unit; see the module doc of `train`).
    pub fn n_outputs(&self) -> usize {
        match &self.target {
            Target::Regression(_) => 1,
            Target::Classes { names, .. } if names.len() <= 2 => 1,
            Target::Classes { names, .. } => names.len(),
        }
    }
}

/// Mean and standard deviation per feature (and of a regression target), from the training
/// split; applied to every split and to predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per-feature mean.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation (1 where a feature is constant).
    pub std: Vec<f64>,
    /// Target mean and standard deviation (regression only).
    pub target: Option<(f64, f64)>,
}

impl Standardizer {
    /// `(x − mean)/std` for one sample's features.
    pub fn features(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }

    /// A standardised target back in its own units.
    pub fn unscale_target(&self, t: f64) -> f64 {
        match self.target {
            Some((m, s)) => t * s + m,
            None => t,
        }
    }
}

/// One split, ready for the network: features × samples and outputs × samples, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `n_features × n` standardised inputs.
    pub x: Vec<f64>,
    /// `n_outputs × n` targets (standardised for regression; 0/1 per class otherwise).
    pub y: Vec<f64>,
    /// Class per sample (classification only).
    pub labels: Option<Vec<usize>>,
    /// Number of samples.
    pub n: usize,
}

/// The prepared data: both splits and the statistics used.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Training split.
    pub train: Split,
    /// Test split.
    pub test: Split,
    /// Input width.
    pub n_features: usize,
    /// Output width.
    pub n_outputs: usize,
    /// The statistics.
    pub standardizer: Standardizer,
    /// Class names (classification only).
    pub classes: Option<Vec<String>>,
}

fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 1e-12 { std } else { 1.0 })
}

/// Splits (the data's fixed split, or a seeded shuffle with `test_fraction` held out) and
/// standardises with the training split's statistics.
///
/// # Errors
///
/// [`DataError::Invalid`] when a split would be empty or the data has no rows.
pub fn prepare(data: &Dataset, test_fraction: f64, seed: u64) -> Result<Prepared, DataError> {
    let n = data.n_samples();
    let nf = data.n_features();
    if n == 0 || nf == 0 || data.x.len() != n * nf {
        return Err(DataError::Invalid(format!(
            "{}: needs at least one sample and one feature",
            data.name
        )));
    }
    let is_test: Vec<bool> = match &data.fixed_split {
        Some(s) => s.clone(),
        None => {
            let mut idx: Vec<usize> = (0..n).collect();
            Rng::new(seed ^ 0x5b11_7000).shuffle(&mut idx);
            let n_test = ((n as f64) * test_fraction).round() as usize;
            let mut t = vec![false; n];
            for &i in idx.iter().take(n_test) {
                if let Some(x) = t.get_mut(i) {
                    *x = true;
                }
            }
            t
        }
    };
    let train_idx: Vec<usize> = (0..n)
        .filter(|&i| !is_test.get(i).copied().unwrap_or(false))
        .collect();
    let mut test_idx: Vec<usize> = (0..n)
        .filter(|&i| is_test.get(i).copied().unwrap_or(false))
        .collect();
    if train_idx.is_empty() {
        return Err(DataError::Invalid(format!(
            "{}: the training split is empty",
            data.name
        )));
    }
    if test_idx.is_empty() {
        // Tiny problems (xor) are tested on their training points.
        test_idx = train_idx.clone();
    }
    let row = |i: usize| data.x.get(i * nf..(i + 1) * nf).unwrap_or(&[]);
    let mut mean = Vec::with_capacity(nf);
    let mut std = Vec::with_capacity(nf);
    for j in 0..nf {
        let (m, s) = mean_std(
            train_idx
                .iter()
                .map(|&i| row(i).get(j).copied().unwrap_or(0.0)),
        );
        mean.push(m);
        std.push(s);
    }
    let target_stats = match &data.target {
        Target::Regression(v) => Some(mean_std(
            train_idx.iter().map(|&i| v.get(i).copied().unwrap_or(0.0)),
        )),
        Target::Classes { .. } => None,
    };
    let standardizer = Standardizer {
        mean,
        std,
        target: target_stats,
    };
    let n_outputs = data.n_outputs();
    let make = |idx: &[usize]| -> Split {
        let m = idx.len();
        let mut x = vec![0.0; nf * m];
        for (col, &i) in idx.iter().enumerate() {
            for (j, v) in standardizer.features(row(i)).into_iter().enumerate() {
                if let Some(slot) = x.get_mut(j * m + col) {
                    *slot = v;
                }
            }
        }
        let mut y = vec![0.0; n_outputs * m];
        let labels = match &data.target {
            Target::Regression(v) => {
                for (col, &i) in idx.iter().enumerate() {
                    let (mu, s) = standardizer.target.unwrap_or((0.0, 1.0));
                    if let Some(slot) = y.get_mut(col) {
                        *slot = (v.get(i).copied().unwrap_or(0.0) - mu) / s;
                    }
                }
                None
            }
            Target::Classes { labels, .. } => {
                let mut ls = Vec::with_capacity(m);
                for (col, &i) in idx.iter().enumerate() {
                    let c = labels.get(i).copied().unwrap_or(0);
                    let r = if n_outputs == 1 { 0 } else { c };
                    let v = if n_outputs == 1 { c as f64 } else { 1.0 };
                    if let Some(slot) = y.get_mut(r * m + col) {
                        *slot = v;
                    }
                    ls.push(c);
                }
                Some(ls)
            }
        };
        Split { x, y, labels, n: m }
    };
    Ok(Prepared {
        train: make(&train_idx),
        test: make(&test_idx),
        n_features: nf,
        n_outputs,
        standardizer,
        classes: match &data.target {
            Target::Classes { names, .. } => Some(names.clone()),
            Target::Regression(_) => None,
        },
    })
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.target {
            Target::Regression(_) => "regression".to_string(),
            Target::Classes { names, .. } => format!("{} classes", names.len()),
        };
        write!(
            f,
            "{}: {} samples, {} features, {kind}",
            self.name,
            self.n_samples(),
            self.n_features()
        )
    }
}
