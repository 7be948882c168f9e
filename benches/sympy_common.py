"""Shared helpers of the SymPy comparisons (`sympy_diff.py`, `sympy_check.py`).

Reads derivcheck's ASCII syntax (as the Rust benches write it into target/) into SymPy
expressions, with derivcheck's built-ins spelled out the way a SymPy user would write them:
sigma(u) = 1/(1 + exp(-u)), softplus(u) = log(1 + exp(u)), relu(u) = Max(0, u), and
heaviside(u) = Heaviside(u, 1/2) (derivcheck's convention H(0) = 1/2). Symbols are real, and
positive when the file assumes `x > 0` or `0 < x < ...`.
"""

import json
import os
import re
import signal
import statistics
import sys
import time

try:
    import sympy
    from sympy.core.cache import clear_cache
    from sympy.parsing.sympy_parser import (
        convert_xor,
        parse_expr,
        standard_transformations,
    )
except ImportError:  # pragma: no cover - explained to the user
    sys.exit(
        "SymPy is not installed. Run benches/run_sympy.sh, which creates target/sympy-venv "
        "and installs SymPy with pip."
    )

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))

FUNCTIONS = {
    "sigma": lambda u: 1 / (1 + sympy.exp(-u)),
    "softplus": lambda u: sympy.log(1 + sympy.exp(u)),
    "relu": lambda u: sympy.Max(0, u),
    "heaviside": lambda u: sympy.Heaviside(u, sympy.S.Half),
    "H": lambda u: sympy.Heaviside(u, sympy.S.Half),
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "sign": sympy.sign,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "max": sympy.Max,
    "min": sympy.Min,
    "erf": sympy.erf,
}
CONSTANTS = {"pi": sympy.pi, "e": sympy.E}
TRANSFORMS = standard_transformations + (convert_xor,)


def positive_symbols(assumes):
    """Symbols that `assume` lines make positive (`x > 0`, `0 < x < 1`, `x >= 1`)."""
    out = set()
    for a in assumes:
        a = a.replace(" ", "")
        m = re.fullmatch(r"([A-Za-z_]\w*)>0", a) or re.fullmatch(r"0<([A-Za-z_]\w*)(<.*)?", a)
        if m:
            out.add(m.group(1))
    return out


def read(text, positive=()):
    """An expression in derivcheck's ASCII syntax as a SymPy expression."""
    # Braced subscripts (w_{16}, w_{i,j}) become plain names (w_16, w_i_j).
    text = re.sub(r"_\{([^{}]*)\}", lambda m: "_" + re.sub(r"\W+", "_", m.group(1)), text)
    names = {}
    for name in set(re.findall(r"[A-Za-z_]\w*", text)):
        if name in FUNCTIONS or name in CONSTANTS:
            continue
        greek = {"alpha": "α", "beta": "β", "gamma": "γ", "tau": "τ", "delta": "δ"}.get(name, name)
        names[name] = sympy.Symbol(greek, real=True, positive=(name in positive) or None)
    local = dict(FUNCTIONS)
    local.update(CONSTANTS)
    local.update(names)
    return parse_expr(text, local_dict=local, transformations=TRANSFORMS)


class Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise Timeout()


def timed(fn, timeout):
    """(CPU seconds, result) of fn(), or (None, None) after `timeout` seconds of wall time.
    CPU time, not wall time: the benchmarks run on machines shared with other jobs, and the
    Rust side reports CPU time too."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        t0 = time.process_time()
        res = fn()
        return time.process_time() - t0, res
    except Timeout:
        return None, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def median_time(fn, reps, timeout):
    """Median of `reps` cold runs (SymPy's cache cleared before each), and the last result."""
    times, res = [], None
    for _ in range(reps):
        clear_cache()
        t, r = timed(fn, timeout)
        if t is None:
            return None, None
        times.append(t)
        res = r
    return statistics.median(times), res


def load_json(name, bench):
    path = os.path.join(TARGET, name)
    if not os.path.exists(path):
        sys.exit(
            f"{path} is missing: run `cargo bench --bench {bench}` first (its setup writes the "
            "list of expressions), or benches/run_sympy.sh, which does."
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def criterion_median_ns(*parts):
    """Median of a criterion benchmark in ns, if `cargo bench` has run it on this machine."""
    path = os.path.join(TARGET, "criterion", *parts, "new", "estimates.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fmt_time(seconds):
    if seconds is None:
        return "timeout"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.2f} µs"
