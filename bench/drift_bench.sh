#!/bin/bash
# `aiops drift` against a pandas + scipy loop computing the same statistics (read included on
# both sides): bench/drift_scipy.py, which follows Evidently 0.1.50's per-column tests.
#
#   bench/drift_bench.sh [--rows N] [--cols K] [--runs R] [--keep DIR]
#
# Generates REFERENCE and CURRENT (N rows x K columns each, default 1,000,000 x 100, seeded:
# bench/drift_data.py) into a temporary directory (or DIR, reused when it already holds
# them), warms the page cache, runs `aiops drift` R times (default 3) and the scipy loop
# once under /usr/bin/time, and prints wall and CPU (user + sys: what to compare on a busy
# machine) for both, the ratios, and the largest relative difference of each statistic
# between the two outputs.
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS=1000000 COLS=100 RUNS=3 KEEP=""
bench_options "--rows N --cols K --runs R --keep DIR" "$@"
[ -x bin/aiops ] || make -s bin/aiops
bench_workdir drift
bench_inputs "reference.csv current.csv" \
    "$PY" bench/drift_data.py "$DIR" --rows "$ROWS" --cols "$COLS"
cat "$DIR/reference.csv" "$DIR/current.csv" >/dev/null

ours=()
for ((i = 0; i < RUNS; i++)); do
    ours+=("$(bench_time "$DIR/aiops.json" \
        bin/aiops drift "$DIR/reference.csv" "$DIR/current.csv")")
done
mid=$(((RUNS + 1) / 2))
read -r a_wall _ a_rss < <(printf '%s\n' "${ours[@]}" | sort -n -k1,1 | sed -n "${mid}p")
a_cpu_med=$(printf '%s\n' "${ours[@]}" | awk '{print $2}' | sort -n | sed -n "${mid}p")
read -r s_wall s_cpu s_rss < <(bench_time "$DIR/scipy.json" "$PY" bench/drift_scipy.py \
    "$DIR/reference.csv" "$DIR/current.csv" --compare "$DIR/aiops.json" 2>"$DIR/scipy.err")
cat "$DIR/scipy.err" >&2
size=$(du -bL "$DIR/reference.csv" "$DIR/current.csv" | awk '{s += $1} END {printf "%.0f", s / 1e6}')
echo "inputs: 2 x $ROWS rows x $COLS columns, $size MB; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "aiops drift     median of $RUNS: ${a_wall} s wall, ${a_cpu_med} s CPU, peak RSS $((a_rss / 1024)) MB"
echo "pandas + scipy  1 run: ${s_wall} s wall, ${s_cpu} s CPU, peak RSS $((s_rss / 1024)) MB"
awk -v aw="$a_wall" -v ac="$a_cpu_med" -v sw="$s_wall" -v sc="$s_cpu" \
    'BEGIN {printf "speed-up: %.1fx wall, %.1fx CPU\n", sw / aw, sc / ac}'
