#!/usr/bin/env python3
"""SymPy side of the differentiation benchmark (issue 3), on the same expressions as
`benches/diff.rs`.

Usage (from the repository root):

    benches/run_sympy.sh            # venv in target/sympy-venv, pip install sympy, both scripts

or by hand:

    python3 -m venv target/sympy-venv && target/sympy-venv/bin/pip install sympy
    cargo bench --bench diff        # writes target/bench-diff.json, and criterion's figures
    target/sympy-venv/bin/python benches/sympy_diff.py [--reps 5] [--timeout 60]

For every function of `derivations/` (definitions expanded, built-ins spelled out as a SymPy
user would: sigma(u) = 1/(1 + exp(-u)), ...) it times `diff` then `simplify`, cold (SymPy's
cache cleared before each run), median of --reps runs, and prints SymPy's simplified
derivative. Then the deep compositions sigma(w_k*sigma(...) + b_k) at depth 1..32: time,
SymPy's operation count and printed size. When criterion results of `cargo bench --bench diff`
are in target/criterion, each row also shows derivcheck's median and the ratio.
"""

import argparse
import sys
import statistics

import sympy

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from sympy_common import (
    criterion_median_ns,
    fmt_time,
    load_json,
    median_time,
    read,
    timed,
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="runs per function (median)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    ap.add_argument("--max-depth", type=int, default=32)
    ap.add_argument("--deep-only", action="store_true", help="skip the library functions")
    args = ap.parse_args()
    data = load_json("bench-diff.json", "diff")

    print(f"SymPy {sympy.__version__}: diff then simplify, cold cache, median of {args.reps}")
    print()
    print(f"{'function':<14} {'SymPy':>10} {'derivcheck':>11} {'ratio':>8}  SymPy's result")
    sympy_times, ratios = [], []
    for f in [] if args.deep_only else data["functions"]:
        expr = read(f["expr"])
        var = read(f["var"])
        t, res = median_time(lambda: sympy.simplify(sympy.diff(expr, var)), args.reps, args.timeout)
        ours = criterion_median_ns("diff+readable_library", f["name"])
        ours_s = None if ours is None else ours * 1e-9
        ratio = None if (t is None or ours_s is None) else t / ours_s
        if t is not None:
            sympy_times.append(t)
        if ratio is not None:
            ratios.append(ratio)
        print(
            f"{f['name']:<14} {fmt_time(t):>10} {fmt_time(ours_s) if ours_s else '-':>11} "
            f"{(f'{ratio:,.0f}x') if ratio else '-':>8}  {res if res is not None else ''}"
        )
    if sympy_times:
        print()
        print(
            f"SymPy median over {len(sympy_times)} functions: "
            f"{fmt_time(statistics.median(sympy_times))}"
        )
    if ratios:
        print(
            f"ratio SymPy / derivcheck: median {statistics.median(ratios):,.0f}x, "
            f"min {min(ratios):,.0f}x, max {max(ratios):,.0f}x"
        )

    print()
    print("deep compositions sigma(w_k*sigma(...) + b_k): d/dx then simplify (one cold run each)")
    print(
        f"{'depth':>5} {'SymPy diff':>11} {'+simplify':>11} {'ops':>8} {'printed':>9} "
        f"{'derivcheck':>11} {'ratio':>8}"
    )
    simplify_timed_out = False
    for row in data["deep"]:
        depth = row["depth"]
        if depth > args.max_depth:
            break
        expr = read(row["expr"])
        x = read(row["var"])
        sympy.core.cache.clear_cache()
        try:
            td, d = timed(lambda: sympy.diff(expr, x), args.timeout)
        except RecursionError:
            print(f"{depth:>5}  RecursionError in sympy.diff (Python's default recursion limit); "
                  "larger depths skipped")
            break
        # After simplify has timed out once, deeper rows show diff alone (ops and printed
        # size of the unsimplified derivative).
        ts, s = (None, None)
        if d is not None and not simplify_timed_out:
            try:
                ts, s = timed(lambda: sympy.simplify(d), args.timeout)
            except RecursionError:
                ts, s = None, None
        ours = criterion_median_ns("diff+readable_deep", str(depth))
        ours_s = None if ours is None else ours * 1e-9
        total = None if (td is None or ts is None) else td + ts
        ratio = None if (total is None or ours_s is None) else total / ours_s
        shown = s if s is not None else d
        ops = sympy.count_ops(shown) if shown is not None else None
        printed = len(str(shown)) if shown is not None else None
        print(
            f"{depth:>5} {fmt_time(td):>11} {fmt_time(total):>11} {ops if ops is not None else '-':>8} "
            f"{printed if printed is not None else '-':>9} "
            f"{fmt_time(ours_s) if ours_s else '-':>11} {(f'{ratio:,.0f}x') if ratio else '-':>8}"
        )
        if td is None:
            print(f"      (diff timed out after {args.timeout:.0f} s; larger depths skipped)")
            break
        if ts is None and not simplify_timed_out:
            simplify_timed_out = True
            print(f"      (simplify timed out after {args.timeout:.0f} s; deeper rows: diff only, "
                  "unsimplified size)")


if __name__ == "__main__":
    main()
