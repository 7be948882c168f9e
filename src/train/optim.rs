//! Optimisers: minibatch SGD with momentum, and Adam. They only move parameters along the
//! gradients the backward pass computed.

/// Which optimiser, with its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// `v ← μ·v − η·g`, `θ ← θ + v` (heavy ball).
    Sgd {
        /// Learning rate η.
        lr: f64,
        /// Momentum μ (0 for plain SGD).
        momentum: f64,
    },
    /// Adam (Kingma & Ba 2015) with bias correction.
    Adam {
        /// Learning rate η.
        lr: f64,
        /// β₁.
        beta1: f64,
        /// β₂.
        beta2: f64,
        /// ε.
        eps: f64,
    },
}

impl Optimizer {
    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn adam(lr: f64) -> Optimizer {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// The optimiser's state for one network.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    opt: Optimizer,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    t: i32,
}

impl OptimizerState {
    /// Fresh state.
    pub fn new(opt: Optimizer) -> OptimizerState {
        OptimizerState {
            opt,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// One step: `params` and `grads` are matching lists of slices.
    pub fn step<'p, 'g>(
        &mut self,
        params: impl Iterator<Item = &'p mut [f64]>,
        grads: impl Iterator<Item = &'g [f64]>,
    ) {
        self.t = self.t.saturating_add(1);
        for (i, (p, g)) in params.zip(grads).enumerate() {
            if self.m.len() <= i {
                self.m.push(vec![0.0; p.len()]);
                self.v.push(vec![0.0; p.len()]);
            }
            let (Some(m), Some(v)) = (self.m.get_mut(i), self.v.get_mut(i)) else {
                continue;
            };
            m.resize(p.len(), 0.0);
            v.resize(p.len(), 0.0);
            match self.opt {
                Optimizer::Sgd { lr, momentum } => {
                    for ((p, g), m) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                        *m = momentum * *m - lr * g;
                        *p += *m;
                    }
                }
                Optimizer::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                } => {
                    let c1 = 1.0 - beta1.powi(self.t);
                    let c2 = 1.0 - beta2.powi(self.t);
                    for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        let mh = *m / c1;
                        let vh = *v / c2;
                        *p -= lr * mh / (vh.sqrt() + eps);
                    }
                }
            }
        }
    }
}
