//! SVG pictures of a training run (plotters, SVG backend only): train and test loss per
//! epoch, and for two-input data the decision boundary over the standardised input plane.

use std::path::Path;

use plotters::prelude::*;

use derivcheck::train::data::Prepared;
use derivcheck::train::fit::EpochStats;
use derivcheck::train::Network;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Train and test loss against the epoch, on a log scale when every loss is positive.
pub fn loss_curves(path: &Path, history: &[EpochStats], title: &str) -> PlotResult {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = history.len().max(1) as f64;
    let finite = history
        .iter()
        .flat_map(|s| [s.train_loss, s.test_loss])
        .filter(|v| v.is_finite());
    let hi = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let lo = finite.fold(f64::INFINITY, f64::min);
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let caption = format!("{title}: loss per epoch");
    let train: Vec<(f64, f64)> = history
        .iter()
        .map(|s| (s.epoch as f64, s.train_loss))
        .collect();
    let test: Vec<(f64, f64)> = history
        .iter()
        .map(|s| (s.epoch as f64, s.test_loss))
        .collect();
    if lo > 0.0 {
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..n.max(2.0), (lo * 0.9..hi * 1.1).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss (log)")
            .draw()?;
        chart
            .draw_series(LineSeries::new(train, BLUE.stroke_width(2)))?
            .label("train")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(LineSeries::new(test, RED.stroke_width(2)))?
            .label("test")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()?;
    } else {
        let pad = (hi - lo).abs().max(1e-12) * 0.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..n.max(2.0), lo - pad..hi + pad)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss")
            .draw()?;
        chart
            .draw_series(LineSeries::new(train, BLUE.stroke_width(2)))?
            .label("train")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(LineSeries::new(test, RED.stroke_width(2)))?
            .label("test")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The network's output over a grid of the (standardised) input plane, shaded from blue
/// (class 0, or low) to red (class 1, or high), with the training points on top.
pub fn decision_boundary(
    path: &Path,
    net: &Network,
    data: &Prepared,
    classify: bool,
) -> PlotResult {
    const GRID: usize = 90;
    let xs = &data.train.x;
    let n = data.train.n;
    let range = |row: usize| {
        let v = xs.get(row * n..(row + 1) * n).unwrap_or(&[]);
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() && hi > lo {
            let pad = 0.15 * (hi - lo);
            (lo - pad, hi + pad)
        } else {
            (-2.0, 2.0)
        }
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    let m = GRID * GRID;
    let mut grid = vec![0.0; 2 * m];
    for i in 0..GRID {
        for j in 0..GRID {
            let k = i * GRID + j;
            if let Some(s) = grid.get_mut(k) {
                *s = x0 + (x1 - x0) * (j as f64 + 0.5) / GRID as f64;
            }
            if let Some(s) = grid.get_mut(m + k) {
                *s = y0 + (y1 - y0) * (i as f64 + 0.5) / GRID as f64;
            }
        }
    }
    let out = net.predict(&grid, m)?;
    let k = net.n_outputs();
    let root = SVGBackend::new(path, (640, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "decision boundary (standardised inputs)",
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().disable_mesh().draw()?;
    let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let shade = |p: f64| {
        let p = p.clamp(0.0, 1.0);
        RGBColor(
            (120.0 + 135.0 * p) as u8,
            (150.0 + 60.0 * (1.0 - (2.0 * p - 1.0).abs())) as u8,
            (255.0 - 135.0 * p) as u8,
        )
    };
    // Regression outputs are standardised targets: shade them over their own range.
    let (omin, omax) = if classify {
        (0.0, 1.0)
    } else {
        let lo = out.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        }
    };
    let value = |idx: usize| -> f64 {
        if k == 1 {
            (out.get(idx).copied().unwrap_or(0.0) - omin) / (omax - omin)
        } else {
            // Several classes: the winning class, spread over [0, 1].
            let c = (0..k)
                .max_by(|&a, &b| {
                    let va = out.get(a * m + idx).copied().unwrap_or(f64::NEG_INFINITY);
                    let vb = out.get(b * m + idx).copied().unwrap_or(f64::NEG_INFINITY);
                    va.total_cmp(&vb)
                })
                .unwrap_or(0);
            c as f64 / (k - 1).max(1) as f64
        }
    };
    chart.draw_series((0..m).map(|idx| {
        let (i, j) = (idx / GRID, idx % GRID);
        let (cx, cy) = (x0 + dx * j as f64, y0 + dy * i as f64);
        Rectangle::new([(cx, cy), (cx + dx, cy + dy)], shade(value(idx)).filled())
    }))?;
    let labels = data.train.labels.clone().unwrap_or_default();
    chart.draw_series((0..n).map(|s| {
        let px = xs.get(s).copied().unwrap_or(0.0);
        let py = xs.get(n + s).copied().unwrap_or(0.0);
        let c = if classify {
            let l = labels.get(s).copied().unwrap_or(0) as f64 / (k.max(2) - 1) as f64;
            if l > 0.5 {
                RED
            } else {
                BLUE
            }
        } else {
            BLACK
        };
        Circle::new((px, py), 3, c.filled().stroke_width(1))
    }))?;
    root.present()?;
    Ok(())
}
