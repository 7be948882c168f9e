#!/bin/sh
# The NumPy and JAX side of the trainer benchmark (issue 7), next to `cargo bench --bench train`.
#
#   benches/run_numpy_jax.sh          # from the repository root (or anywhere: it cd's there)
#
# 1. creates a virtual environment in target/numpy-jax-venv and installs NumPy and JAX (CPU)
#    with pip, once;
# 2. runs benches/train_numpy_jax.py, which prints ms per epoch of hand-written NumPy backprop
#    and of jax.jit(jax.grad(...)) on the configurations of benches/train.rs.
#
# OPENBLAS_NUM_THREADS=1 (or XLA_FLAGS) in the environment pass through to the script.
set -eu
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
VENV=$TARGET/numpy-jax-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import numpy, jax' 2>/dev/null || "$VENV/bin/pip" install --quiet numpy "jax[cpu]"
exec "$VENV/bin/python" benches/train_numpy_jax.py "$@"
