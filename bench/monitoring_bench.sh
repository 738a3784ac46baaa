#!/bin/bash
# Prediction throughput with monitoring on and off (issue 9's goal: at most 5% apart): the
# same stack, model and requests as bench/predict_bench.sh (a 100-round depth-6 GBDT on
# HIGGS; requests of 1 and of 100 rows; wrk -t2 -c32 through the gateway), started once with
# PREDICTION_MONITORING=true (served rows sampled into the drift window, predictions kept for
# label feedback: the default) and once with false, alternating ROUNDS times so that a
# drifting machine load hits both alike. Prints each run and the medians' ratio. The server
# CPU per request counts the gateway, svc-train and Redis (where the kept predictions and the
# drift window are written).
#
#   bench/monitoring_bench.sh [SECONDS] [ROUNDS]      (internally: --one MODE SECONDS)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --one ]; then
  mode=$2 secs=$3
  . bench/common.sh
  tmp=$(mktemp -d /tmp/aiops-bench.XXXXXX)
  . bench/stack.sh
  export PREDICTION_MONITORING=$mode
  stack_start
  base=http://127.0.0.1:$AIOPS_PORT
  stack_higgs_model
  for n in 1 100; do
    rps=$(wrk_run "monitoring $mode: $n row(s)" "$base/api/v1/models/higgs/predict" "$tmp/post$n.lua" \
      "$gw_pid" "${svc_pid[train]}" "$(cat "$tmp/redis/redis.pid")")
    echo "$mode $n $rps"
  done
  exit 0
fi
secs=${1:-10}
rounds=${2:-3}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
make -s all
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; wrk -t2 -c${conns:-32} -d${secs}s" >&2
out=$(for ((i = 0; i < rounds; i++)); do
  bash "$0" --one true "$secs"
  bash "$0" --one false "$secs"
done)
echo "$out" | /usr/bin/python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    mode, n, rps = line.split()
    runs.setdefault((n, mode), []).append(float(rps))
for n in ("1", "100"):
    on, off = statistics.median(runs[(n, "true")]), statistics.median(runs[(n, "false")])
    print("%s row(s): monitoring on %.0f req/s, off %.0f req/s (medians of %d): on/off = %.3f "
          "(goal: at most 5%% apart)" % (n, on, off, len(runs[(n, "true")]), on / off))
'
