#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from the repository's own files (and, when present,
# ../shared/examples beside the repository). Run from anywhere; idempotent. Seeds are not
# committed: this script makes them at run time.
#   dc_load, check:  every .dc file of derivations/ and tests/ (wrong, right, hostile)
#   document:        every .md of tests/homework and ../shared/examples, each once as
#                    Markdown (first byte 0x00) and once read as LaTeX (first byte 0x01),
#                    plus a few LaTeX documents written below
#   diff_simplify:   each side of every `claim`/`let` line and every `= …` step line, with a
#                    first byte that picks the variable of its `d/dX` (x z y A W σ)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
corpus="$here/corpus"
mkdir -p "$corpus/dc_load" "$corpus/check" "$corpus/document" "$corpus/diff_simplify"

dc_files=()
while IFS= read -r -d '' f; do dc_files+=("$f"); done < <(
  find "$repo/derivations" "$repo/tests/wrong" "$repo/tests/right" "$repo/tests/hostile" \
    -type f -name '*.dc' -print0 | sort -z)
md_files=()
while IFS= read -r -d '' f; do md_files+=("$f"); done < <(
  find "$repo/tests/homework" "$repo/../shared/examples" -type f -name '*.md' -print0 2>/dev/null | sort -z)

n=0
for f in "${dc_files[@]}"; do
  name="$(basename "$(dirname "$f")")-$(basename "$f")"
  cp "$f" "$corpus/dc_load/$name"
  cp "$f" "$corpus/check/$name"
  n=$((n + 1))
done

m=0
for f in "${md_files[@]}"; do
  name="$(basename "$f" .md)"
  { printf '\x00'; cat "$f"; } > "$corpus/document/md-$name"
  { printf '\x01'; cat "$f"; } > "$corpus/document/tex-$name"
  m=$((m + 1))
done
printf '\x01%s\n' '\documentclass{article}
\begin{document}
Let $\sigma(z) = \frac{1}{1 + e^{-z}}$. Then
\begin{align}
\frac{d\sigma}{dz} &= \frac{e^{-z}}{(1 + e^{-z})^2} \\
&= \sigma(z)\,(1 - \sigma(z)) \quad \text{(split the fraction)}
\end{align}
\[ L = -y \log a - (1 - y)\log(1 - a), \qquad \frac{\partial L}{\partial a} = \frac{a - y}{a(1 - a)} \]
\end{document}' > "$corpus/document/tex-written-sigmoid"
printf '\x01%s\n' '\begin{equation*}
\frac{\partial}{\partial x} \left( \tanh(w x + b) \right)^2 = 2 \tanh(wx+b) (1 - \tanh^2(wx+b)) w
\end{equation*}
\begin{align*}
z &= W^{[1]} x + b^{[1]}, & a &= \mathrm{relu}(z) \\
\frac{\partial a}{\partial z} &= \mathbb{1}\{z > 0\}
\end{align*}' > "$corpus/document/tex-written-tanh"

# One seed per expression: both sides of claims, right-hand sides of lets and steps.
vars="xzyAW"
k=0
for f in "${dc_files[@]}"; do
  while IFS= read -r line; do
    line="${line%%#*}"
    case "$line" in
      claim\ *) body="${line#claim }" ;;
      let\ *) body="${line#*= }" ;;
      *=\ *) body="${line#*= }" ;;
      *) continue ;;
    esac
    v=0
    for i in 0 1 2 3 4; do
      c="${vars:$i:1}"
      if [[ "$body" == *"d/d$c"* || "$body" == *"∂$c"* ]]; then v=$i; fi
    done
    for side in "${body%% = *}" "${body#* = }"; do
      side="$(printf '%s' "$side" | sed 's/[[:space:]]*$//')"
      [ -n "$side" ] || continue
      k=$((k + 1))
      { printf "\\x0$v"; printf '%s' "$side"; } > "$corpus/diff_simplify/e$k"
    done
  done < "$f"
done
echo "seeded: $n .dc files (dc_load, check), $((2 * m + 2)) documents, $k expressions"
