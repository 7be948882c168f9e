#!/usr/bin/env bash
# Runs each target for SECONDS (default 540) one after another, one job each, collecting every
# finding (fork mode: the run goes on after a crash, a timeout or an out-of-memory).
# Logs go to fuzz/logs/<target>.log, findings to fuzz/artifacts/<target>/.
#   fuzz/seed.sh && fuzz/run.sh 540 dc_load document diff_simplify check
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
secs="${1:-540}"
shift || true
targets=("${@:-dc_load document diff_simplify check}")
[ $# -eq 0 ] && targets=(dc_load document diff_simplify check)
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t: $secs s, started $(date -u +%H:%M:%S)" > "logs/$t.log"
  cargo +nightly fuzz run "$t" "corpus/$t" -- \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=8192 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >> "logs/$t.log" 2>&1
  echo "== $t: exit $?, ended $(date -u +%H:%M:%S)" >> "logs/$t.log"
done
