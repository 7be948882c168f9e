#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) and wall time of the release
# binary on every file of tests/hostile/, plus the large inputs tests/hostile.rs generates
# (written to a temporary directory here). Prints one line per run, worst first.
#   cargo build --release && fuzz/peak_memory.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
bin="${BIN:-$repo/target/release/derivcheck}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import sys, os
d = sys.argv[1]
def w(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
w("gen_100k_parens.dc", "claim " + "(" * 100000 + "x" + ")" * 100000 + " = x\n")
w("gen_3.9MB_sum.dc", "claim " + "x + " * 1000000 + "x = 1\n")
w("gen_40k_flat_sum.dc", "claim d/dx (" + "x + " * 40000 + "x) = 40001\n")
w("gen_20k_bad_lines.dc", "claim (x = 1\n" * 20000)
w("gen_1MB_identifier.dc", "claim d/dx " + "a" * (1 << 20) + " = 0\n")
w("gen_10k_digits.dc", "claim x = " + "7" * 10000 + "\n")
w("gen_deep_sigma.dc", "claim d/dx " + "sigma(" * 250 + "x" + ")" * 250 + " = 0\n")
w("gen_product_14.dc", "claim d/dx1 (" + "*".join("(x%d + x%d + 1)" % (i, i + 1) for i in range(14)) + ") = 0\n")
PY
measure() {
  local f="$1"; shift
  local out
  /usr/bin/time -v -o "$tmp/time.txt" "$bin" check "$f" "$@" > /dev/null 2>&1 || true
  out=$(cat "$tmp/time.txt")
  local rss wall code
  rss=$(printf '%s\n' "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
  wall=$(printf '%s\n' "$out" | awk -F': ' '/Elapsed \(wall clock\)/ {print $2}')
  code=$(printf '%s\n' "$out" | awk -F': ' '/Exit status/ {print $2}')
  printf '%8s KB  %8s  exit %s  %s (%s bytes)\n' "$rss" "$wall" "$code" "$(basename "$f")" "$(stat -c %s "$f")"
}
{
  for f in "$repo"/tests/hostile/* "$tmp"/gen_*; do measure "$f"; done
} | sort -rn
echo "corpus: $(ls "$repo/tests/hostile" | wc -l) files, $(du -cb "$repo"/tests/hostile/* | tail -1 | cut -f1) bytes; whole corpus in one run:"
/usr/bin/time -v -o "$tmp/time.txt" "$bin" check "$repo/tests/hostile" > /dev/null 2>&1 || true
grep -E "Maximum resident|Elapsed|Exit status" "$tmp/time.txt"
