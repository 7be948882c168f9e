#!/usr/bin/env python3
"""A SymPy grader on the same claims as `benches/check.rs` (issue 4).

Usage (from the repository root):

    benches/run_sympy.sh            # venv in target/sympy-venv, pip install sympy, both scripts

or by hand:

    python3 -m venv target/sympy-venv && target/sympy-venv/bin/pip install sympy
    cargo bench --bench check       # writes target/bench-claims.json, and criterion's figures
    target/sympy-venv/bin/python benches/sympy_check.py [--reps 3] [--timeout 10]

The grader is the usual one: for a claim d/dx f = g it answers "correct" when
`simplify(diff(f, x) - g) == 0` and "incorrect" otherwise (a claim without a derivative:
`simplify(lhs - rhs) == 0`). Each claim is timed cold (SymPy's cache cleared before each run),
median of --reps runs; a run longer than --timeout seconds counts as "undecided". Accuracy is
reported per kind of claim: library claims and equivalent rewritings (expected correct),
student slips and mechanical mutations (expected incorrect). When criterion results of
`cargo bench --bench check` are in target/criterion, the ratio to derivcheck is printed too.
"""

import argparse
import sys
import collections
import statistics

import sympy

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from sympy_common import (
    criterion_median_ns,
    fmt_time,
    load_json,
    median_time,
    positive_symbols,
    read,
)


def grade(lhs, var, rhs):
    d = sympy.diff(lhs, var) if var is not None else lhs
    return "correct" if sympy.simplify(d - rhs) == 0 else "incorrect"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="runs per claim (median)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per run")
    ap.add_argument("--verbose", action="store_true", help="print every claim")
    args = ap.parse_args()
    claims = load_json("bench-claims.json", "check")

    print(f"SymPy {sympy.__version__}: simplify(diff(f, x) - g) == 0, cold cache, "
          f"median of {args.reps}, timeout {args.timeout:.0f} s")
    tally = collections.defaultdict(lambda: collections.Counter())
    times = collections.defaultdict(list)
    all_times = []
    mistakes = []
    for c in claims:
        pos = positive_symbols(c["assume"])
        lhs = read(c["lhs"], pos)
        rhs = read(c["rhs"], pos)
        var = read(c["var"], pos) if c["var"] else None
        t, verdict = median_time(lambda: grade(lhs, var, rhs), args.reps, args.timeout)
        if verdict is None:
            verdict = "undecided"
            t = args.timeout
        kind = c["kind"]
        if verdict == "undecided":
            tally[kind]["undecided"] += 1
        elif verdict == c["expected"]:
            tally[kind]["right"] += 1
        else:
            tally[kind]["wrong"] += 1
            mistakes.append(f"  {c['file']} [{kind}] {c['claim']}: SymPy says {verdict}")
        tally[kind]["total"] += 1
        times[kind].append(t)
        all_times.append(t)
        if args.verbose:
            print(f"  {fmt_time(t):>10} {verdict:<10} {c['file']} [{kind}] {c['claim']}")

    print()
    print(f"{'kind':<9} {'expected':<10} {'right':>5} {'wrong':>5} {'undecided':>9} {'total':>5}"
          f" {'median':>9} {'mean':>9}")
    expected = {"library": "correct", "rewrite": "correct", "slip": "incorrect",
                "mutation": "incorrect"}
    for kind in ["library", "rewrite", "slip", "mutation"]:
        t = tally[kind]
        if not t["total"]:
            continue
        print(f"{kind:<9} {expected[kind]:<10} {t['right']:>5} {t['wrong']:>5} "
              f"{t['undecided']:>9} {t['total']:>5} {fmt_time(statistics.median(times[kind])):>9} "
              f"{fmt_time(statistics.mean(times[kind])):>9}")
    n = len(all_times)
    right = sum(t["right"] for t in tally.values())
    wrong = sum(t["wrong"] for t in tally.values())
    total_time = sum(all_times)
    print()
    print(f"all: {right}/{n} right, {wrong} wrong, {n - right - wrong} undecided; "
          f"median {fmt_time(statistics.median(all_times))}, mean {fmt_time(total_time / n)} "
          f"per claim, {n / total_time:,.1f} claims/s")
    for m in mistakes:
        print(m)
    ours = criterion_median_ns("check", "all")
    if ours is not None:
        ours_per_claim = ours * 1e-9 / n
        print(f"derivcheck (criterion check/all): {fmt_time(ours_per_claim)} per claim, "
              f"{1 / ours_per_claim:,.0f} claims/s; ratio of mean times SymPy / derivcheck: "
              f"{(total_time / n) / ours_per_claim:,.0f}x")


if __name__ == "__main__":
    main()
