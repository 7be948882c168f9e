//! Gradient check: every parameter's gradient from the backward pass (the compiled derivative
//! formulas) against central finite differences of the loss (the compiled forward formulas),
//! in f64.
//!
//! The numeric derivative is Richardson-extrapolated central differences,
//! `D(h) = (E(θ + h) − E(θ − h))/(2h)`, `N = (4·D(h/2) − D(h))/3`, with h = 1e-4·max(1, |θ|):
//! truncation error O(h⁴), rounding error about 1e-12 on losses of order 1 over a few dozen
//! samples. When D(h) and D(h/2) disagree (a kink of relu, abs or max lies
//! within h), h shrinks by 32, up to three times. "Disagree" means by more than
//! 1e-8 + 1e-6·|D|: a kink shifts D by about one sample's share of the gradient, far more.
//!
//! The error of one element is `|g − N| / max(|g|, |N|, FLOOR·max(1, E))`: relative, except
//! for gradients smaller than that floor, below which f64 finite differences of a loss of
//! size E are no more accurate (their rounding error grows with E), and the error is measured
//! against the floor.

use super::net::{Gradients, NetError, Network, Workspace};

/// First step of the finite differences (relative to max(1, |θ|)).
pub const H0: f64 = 1e-4;

/// Denominator floor of the relative error (see the module doc).
pub const FLOOR: f64 = 1e-5;

/// Where the largest error is, and the two values.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheck {
    /// The largest error.
    pub max_error: f64,
    /// 1-based layer of the worst element.
    pub layer: usize,
    /// `weight` or `bias`.
    pub param: &'static str,
    /// Row (unit) of the worst element, 0-based.
    pub row: usize,
    /// Column (input) of the worst element, 0-based (0 for a bias).
    pub col: usize,
    /// The backward pass's value.
    pub analytic: f64,
    /// The finite-difference value.
    pub numeric: f64,
    /// Parameters checked.
    pub n_checked: usize,
}

fn loss_at(
    net: &Network,
    x: &[f64],
    y: &[f64],
    n: usize,
    ws: &mut Workspace,
) -> Result<f64, NetError> {
    net.forward(x, n, ws)?;
    net.loss(y, ws)
}

/// Checks every parameter of `net` on the batch `x` (`n_inputs × n`), `y` (`n_outputs × n`).
///
/// # Errors
///
/// A forward or backward pass that fails (non-finite values, shapes).
pub fn gradcheck(net: &Network, x: &[f64], y: &[f64], n: usize) -> Result<GradCheck, NetError> {
    let mut ws = Workspace::new();
    net.forward(x, n, &mut ws)?;
    let mut grads = Gradients { layers: Vec::new() };
    net.backward(x, y, &mut ws, &mut grads)?;
    let e0 = net.loss(y, &mut ws)?;
    let floor = FLOOR * e0.abs().max(1.0);
    let mut probe = net.clone();
    let mut worst = GradCheck {
        max_error: 0.0,
        layer: 1,
        param: "weight",
        row: 0,
        col: 0,
        analytic: 0.0,
        numeric: 0.0,
        n_checked: 0,
    };
    for li in 0..net.layers.len() {
        for which in ["weight", "bias"] {
            let (len, n_in) = match net.layers.get(li) {
                Some(l) if which == "weight" => (l.weights.len(), l.n_in),
                Some(l) => (l.bias.len(), 1),
                None => continue,
            };
            for k in 0..len {
                let analytic = grads
                    .layers
                    .get(li)
                    .and_then(|(w, b)| {
                        if which == "weight" {
                            w.get(k)
                        } else {
                            b.get(k)
                        }
                    })
                    .copied()
                    .unwrap_or(f64::NAN);
                let orig = param(&probe, li, which, k);
                let mut at = |delta: f64, probe: &mut Network| -> Result<f64, NetError> {
                    set_param(probe, li, which, k, orig + delta);
                    loss_at(probe, x, y, n, &mut ws)
                };
                // A kink (relu at 0) inside [θ − h, θ + h] makes D(h) and D(h/2) disagree;
                // then h shrinks, so that the check measures the formulas, not the kink.
                let mut h = H0 * orig.abs().max(1.0);
                let mut numeric = f64::NAN;
                for _ in 0..4 {
                    let d1 = (at(h, &mut probe)? - at(-h, &mut probe)?) / (2.0 * h);
                    let d2 = (at(h / 2.0, &mut probe)? - at(-h / 2.0, &mut probe)?) / h;
                    numeric = (4.0 * d2 - d1) / 3.0;
                    if (d1 - d2).abs() <= 1e-8 + 1e-6 * d1.abs().max(d2.abs()) {
                        break;
                    }
                    h /= 32.0;
                }
                set_param(&mut probe, li, which, k, orig);
                let err = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
                let err = if err.is_nan() { f64::INFINITY } else { err };
                worst.n_checked += 1;
                if err > worst.max_error || worst.n_checked == 1 {
                    worst = GradCheck {
                        max_error: err,
                        layer: li + 1,
                        param: which,
                        row: k / n_in.max(1),
                        col: k % n_in.max(1),
                        analytic,
                        numeric,
                        n_checked: worst.n_checked,
                    };
                }
            }
        }
    }
    Ok(worst)
}

fn param(net: &Network, li: usize, which: &str, k: usize) -> f64 {
    net.layers
        .get(li)
        .and_then(|l| {
            if which == "weight" {
                l.weights.get(k)
            } else {
                l.bias.get(k)
            }
        })
        .copied()
        .unwrap_or(0.0)
}

fn set_param(net: &mut Network, li: usize, which: &str, k: usize, v: f64) {
    if let Some(l) = net.layers.get_mut(li) {
        let slot = if which == "weight" {
            l.weights.get_mut(k)
        } else {
            l.bias.get_mut(k)
        };
        if let Some(s) = slot {
            *s = v;
        }
    }
}
