#!/bin/sh
# The SymPy side of the benchmarks (issues 3 and 4), next to derivcheck's criterion figures.
#
#   benches/run_sympy.sh          # from the repository root (or anywhere: it cd's there)
#
# 1. creates a virtual environment in target/sympy-venv and installs SymPy with pip;
# 2. runs `cargo bench --bench diff` and `cargo bench --bench check` unless their results are
#    already in target/ (their setup writes target/bench-diff.json and target/bench-claims.json,
#    the expressions and claims both sides use; BENCH_ARGS is passed to criterion);
# 3. runs benches/sympy_diff.py and benches/sympy_check.py, which print SymPy's times and
#    accuracy and the ratios to derivcheck.
set -eu
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
VENV=$TARGET/sympy-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sympy' 2>/dev/null || "$VENV/bin/pip" install --quiet sympy
BENCH_ARGS=${BENCH_ARGS:---warm-up-time 1 --measurement-time 3}
if [ ! -f "$TARGET/bench-diff.json" ] || [ ! -d "$TARGET/criterion/diff+readable_library" ]; then
    # shellcheck disable=SC2086
    cargo bench --bench diff -- $BENCH_ARGS
fi
if [ ! -f "$TARGET/bench-claims.json" ] || [ ! -d "$TARGET/criterion/check" ]; then
    # shellcheck disable=SC2086
    cargo bench --bench check -- $BENCH_ARGS
fi
"$VENV/bin/python" benches/sympy_diff.py "$@"
"$VENV/bin/python" benches/sympy_check.py
