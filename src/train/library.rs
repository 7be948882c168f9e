//! The bundled derivation library: the `.dc` texts of `derivations/`, compiled in, so that
//! `--activation tanh` resolves without the repository at hand. A user's own file is passed as
//! text the same way ([`Activation::from_source`](super::Activation::from_source)).

/// Activations (one-argument functions), by file name.
pub const ACTIVATIONS: &[(&str, &str)] = &[
    ("celu", include_str!("../../derivations/celu.dc")),
    ("elu", include_str!("../../derivations/elu.dc")),
    ("gelu", include_str!("../../derivations/gelu.dc")),
    ("gelutanh", include_str!("../../derivations/gelutanh.dc")),
    (
        "hardsigmoid",
        include_str!("../../derivations/hardsigmoid.dc"),
    ),
    ("hardswish", include_str!("../../derivations/hardswish.dc")),
    ("hardtanh", include_str!("../../derivations/hardtanh.dc")),
    ("leakyrelu", include_str!("../../derivations/leakyrelu.dc")),
    (
        "logsigmoid",
        include_str!("../../derivations/logsigmoid.dc"),
    ),
    ("mish", include_str!("../../derivations/mish.dc")),
    ("relu", include_str!("../../derivations/relu.dc")),
    ("relu6", include_str!("../../derivations/relu6.dc")),
    ("selu", include_str!("../../derivations/selu.dc")),
    ("sigmoid", include_str!("../../derivations/sigmoid.dc")),
    ("silu", include_str!("../../derivations/silu.dc")),
    ("softplus", include_str!("../../derivations/softplus.dc")),
    (
        "softplusbeta",
        include_str!("../../derivations/softplusbeta.dc"),
    ),
    (
        "softplusinv",
        include_str!("../../derivations/softplusinv.dc"),
    ),
    ("softsign", include_str!("../../derivations/softsign.dc")),
    ("swishbeta", include_str!("../../derivations/swishbeta.dc")),
    ("tanh", include_str!("../../derivations/tanh.dc")),
    (
        "tanhshrink",
        include_str!("../../derivations/tanhshrink.dc"),
    ),
];

/// Outputs that couple their units (an indexed family `O_i` over `z`), by file name.
pub const OUTPUTS: &[(&str, &str)] = &[("softmax", include_str!("../../derivations/softmax.dc"))];

/// Losses of coupled outputs (an unindexed quantity `L` over `O_i` and `y_i`), by name:
/// `ce` is softmaxce.dc, the cross-entropy of a softmax output.
pub const INDEXED_LOSSES: &[(&str, &str)] = &[
    ("ce", include_str!("../../derivations/softmaxce.dc")),
    ("softmaxce", include_str!("../../derivations/softmaxce.dc")),
];

/// Losses (two-argument functions, prediction first), by file name.
pub const LOSSES: &[(&str, &str)] = &[
    ("bce", include_str!("../../derivations/bce.dc")),
    ("bcelogits", include_str!("../../derivations/bcelogits.dc")),
    ("focal", include_str!("../../derivations/focal.dc")),
    ("halfmse", include_str!("../../derivations/halfmse.dc")),
    ("hinge", include_str!("../../derivations/hinge.dc")),
    ("huber", include_str!("../../derivations/huber.dc")),
    ("kl", include_str!("../../derivations/kl.dc")),
    ("logcosh", include_str!("../../derivations/logcosh.dc")),
    ("mae", include_str!("../../derivations/mae.dc")),
    ("mse", include_str!("../../derivations/mse.dc")),
    (
        "poissonnll",
        include_str!("../../derivations/poissonnll.dc"),
    ),
    ("quantile", include_str!("../../derivations/quantile.dc")),
    (
        "squaredhinge",
        include_str!("../../derivations/squaredhinge.dc"),
    ),
];

/// The text of a bundled activation (`identity` included).
pub fn activation(name: &str) -> Option<&'static str> {
    if name == "identity" {
        return Some(super::formulas::IDENTITY_SOURCE);
    }
    ACTIVATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The text of a bundled output activation: an activation or a coupled output.
pub fn output(name: &str) -> Option<&'static str> {
    activation(name).or_else(|| OUTPUTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t))
}

/// The file a bundled loss name stands for (`ce` → `softmaxce`).
pub fn loss_file(name: &str) -> Option<&'static str> {
    match name {
        "ce" => Some("softmaxce"),
        _ => LOSSES
            .iter()
            .chain(INDEXED_LOSSES)
            .find(|(n, _)| *n == name)
            .map(|(n, _)| *n),
    }
}

/// The text of a bundled loss (elementwise or of a coupled output).
pub fn loss(name: &str) -> Option<&'static str> {
    LOSSES
        .iter()
        .chain(INDEXED_LOSSES)
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}
