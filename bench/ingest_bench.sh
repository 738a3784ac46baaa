#!/bin/bash
# CSV ingest benchmark: `aiops inspect` (parse + type inference + summary JSON) against
# pandas.read_csv on the same files.
#
#   bench/ingest_bench.sh [--rows-numeric N] [--rows-mixed N] [--runs K] [--keep DIR]
#
# Generates the inputs with bench/gen_csv.py into a temporary directory (or DIR, reused
# when it already holds them), reads each file once to warm the page cache, then runs each
# command K times (default 3) under /usr/bin/time and reports the medians: wall time,
# CPU time (user + sys: what to compare on a busy machine), throughput in MB/s of input
# and peak RSS, for both tools, and the ratios. pandas is measured twice: the whole process
# as asked (`python3 -c "import pandas; pandas.read_csv(FILE)"`, interpreter start and
# import included) and read_csv alone (timed inside Python).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS_NUMERIC=1000000 ROWS_MIXED=500000 RUNS=3 KEEP=""
bench_options "--rows-numeric N --rows-mixed N --runs K --keep DIR" "$@"
[ -x bin/aiops ] || make -s bin/aiops
bench_workdir bench
bench_inputs "numeric.csv mixed.csv" \
    "$PY" bench/gen_csv.py "$DIR" --rows-numeric "$ROWS_NUMERIC" --rows-mixed "$ROWS_MIXED"

# medians of K runs of a command (its output and errors discarded): prints "wall cpu rss_kb"
median_of() {
    local out=""
    for _ in $(seq "$RUNS"); do
        out+="$(bench_time /dev/null "$@" 2>/dev/null)"$'\n'
    done
    printf '%s' "$out" | "$PY" -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%.3f" % statistics.median(c) for c in zip(*rows)))'
}

# read_csv alone, timed inside Python: median wall seconds of K calls
pandas_inner() {
    "$PY" - "$1" "$RUNS" <<'EOF'
import statistics, sys, time
import pandas
f, k = sys.argv[1], int(sys.argv[2])
ts = []
for _ in range(k):
    t = time.perf_counter()
    pandas.read_csv(f)
    ts.append(time.perf_counter() - t)
print("%.3f" % statistics.median(ts))
EOF
}

printf '%-12s %9s | %-26s | %-26s | %s\n' "file" "MB" "aiops inspect" "pandas (process)" "pandas read_csv only"
for name in numeric mixed; do
    f="$DIR/$name.csv"
    cat "$f" >/dev/null # warm the page cache for everyone
    mb=$("$PY" -c "import os,sys; print('%.1f' % (os.path.getsize(sys.argv[1]) / 1e6))" "$f")
    read -r aw ac ar <<<"$(median_of bin/aiops inspect "$f")"
    read -r pw pc pr <<<"$(median_of "$PY" -c "import pandas; pandas.read_csv('$f')")"
    pi=$(pandas_inner "$f")
    "$PY" - "$name" "$mb" "$aw" "$ac" "$ar" "$pw" "$pc" "$pr" "$pi" <<'EOF'
import sys
name, mb, aw, ac, ar, pw, pc, pr, pi = sys.argv[1], *map(float, sys.argv[2:])
print("%-12s %9.1f | wall %5.2fs %6.1f MB/s     | wall %5.2fs %6.1f MB/s     | %5.2fs %6.1f MB/s"
      % (name, mb, aw, mb / aw, pw, mb / pw, pi, mb / pi))
print("%-12s %9s | cpu  %5.2fs %6.1f MB/s     | cpu  %5.2fs %6.1f MB/s     |"
      % ("", "", ac, mb / ac, pc, mb / pc))
print("%-12s %9s | peak RSS %7.1f MB        | peak RSS %7.1f MB        |"
      % ("", "", ar / 1024, pr / 1024))
print("%-12s %9s   speed-up: wall %.2fx, cpu %.2fx, vs read_csv alone %.2fx; RSS %.2fx lower"
      % ("", "", pw / aw, pc / ac, pi / aw, pr / ar))
EOF
done
