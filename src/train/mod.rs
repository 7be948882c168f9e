//! A small trainer for fully connected networks whose backward pass runs on the derivative
//! formulas derivcheck generated: no gradient is written by hand in this module.
//!
//! - `formulas`: activations and losses from `.dc` text → derivatives (`diff` + readable
//!   form) → compiled [`Tape`](crate::eval::Tape)s over whole batches, and the fused output
//!   delta (A − y) when the simplifier finds one.
//! - `library`: the bundled `derivations/` texts, compiled in.
//! - `data`: generated, bundled and CSV datasets; standardisation; seeded splits.
//! - `net`: layers, forward and backward passes (tape formulas, `matmul` products), in `f64`
//!   or `f32` ([`Real`](crate::eval::Real); `fit::Precision`, `train --precision`): the
//!   parameters, the optimiser and the gradient check are `f64` either way.
//! - `matmul`: `C = A·B` and `C += A·B` over row-major buffers on the `gemm` crate, and a
//!   vectorised sum.
//! - `par`: the worker threads (`--threads`), with fixed partitions of every pass, so the
//!   results do not depend on the thread count.
//! - `step`: a training step's passes over a batch cut by samples into parts that run at
//!   the same time (one fork and one join per step), the parts' gradients added in order.
//! - `optim`: SGD with momentum, Adam.
//! - `gradcheck`: every gradient against finite differences, with the worst element.
//! - `fit`: the training loop, metrics, early stop, NaN detection.
//! - `rng`: the seeded generator behind every random choice.
//!
//! - `indexed`: outputs that couple their units (softmax) and their losses, from files in
//!   index notation, instantiated at the class count.
//!
//! Classification with more than two classes uses one sigmoid output per class with BCE, or
//! a softmax output with cross-entropy (`indexed`), and argmax. Like the rest of the library,
//! this module does no IO.

pub mod data;
pub mod fit;
pub mod formulas;
pub mod gradcheck;
pub mod indexed;
pub mod library;
pub mod matmul;
pub mod net;
pub mod optim;
pub mod par;
pub mod rng;
pub mod step;

pub use data::{Dataset, Prepared, Split, Target, Task};
pub use fit::{train, EpochStats, Metric, Precision, TrainConfig, TrainError, TrainReport};
pub use formulas::{Activation, FormulaConfig, FormulaError, FusedDelta, Loss, LossFromZ};
pub use gradcheck::{gradcheck, GradCheck};
pub use indexed::IndexedHead;
pub use net::{Init, Network};
pub use optim::Optimizer;
pub use par::Pool;
pub use step::Step;
