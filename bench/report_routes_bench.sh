#!/bin/bash
# The report routes on a 1,000,000-row run (issue 8's goal: under 100 ms once computed):
# GET /api/report/feature-importance/{run}, /api/report/correlation/{run} and
# /api/report/ai/{run} through the gateway. The first call of each computes and keeps its
# result (timed once, with curl); then one client calls it in a loop (wrk -t1 -c1) and the
# mean and p99 latency are printed. Data: bench/gen_csv.py's mixed table (13 columns of
# numbers, categories, booleans, dates and short text; `clicked` the binary target), written
# into a temporary folder; the model a 50-round GBDT trained through the API.
#
#   bench/report_routes_bench.sh [ROWS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
secs=${2:-5}
. bench/common.sh
bench_stack_prepare
. bench/stack.sh
export UPLOAD_LIMIT_BYTES=$((1024 << 20))
stack_start
base=http://127.0.0.1:$AIOPS_PORT
/usr/bin/python3 bench/gen_csv.py "$tmp" --rows-numeric 0 --rows-mixed "$rows" >/dev/null
rm -f "$tmp/numeric.csv"
echo "data: $rows rows, $(du -m "$tmp/mixed.csv" | cut -f1) MB; load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
t0=$(date +%s.%N)
stack_train "$tmp/mixed.csv" mixed.csv '"target":"clicked","model":"gbdt","config":{"rounds":50}'
echo "upload + training: $(echo "$(date +%s.%N) - $t0" | bc) s (run $RUN)" >&2
for route in feature-importance correlation ai; do
  url="$base/api/report/$route/$RUN"
  first=$(curl -sf -o /dev/null -w '%{time_total}' "$url")
  out=$(wrk -t1 -c1 -d"${secs}s" --latency "$url")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "$route: $non2xx non-2xx answers" >&2; exit 1; }
  mean=$(echo "$out" | awk '$1 == "Latency" && $2 != "Distribution" {print $2; exit}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  printf "%-20s first call %7.3f s   then: mean %-8s p99 %-8s  (%s req/s, one client)\n" \
    "$route" "$first" "$mean" "$p99" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
done
