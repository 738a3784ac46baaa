#!/bin/bash
# What one forwarded request costs, in CPU and in thread switches, for the gateway and the
# service behind it: the compass for issue 12 on a machine whose throughput is not to be
# trusted (shared with other work).
#
#   bench/forward_profile.sh [SECONDS] [--record DIR]
#
# Starts the stack (release build, as bench/gateway_bench.sh), trains the HIGGS model of
# bench/predict_bench.sh, and runs wrk -t2 -c32 (conns=N to change) on GET /api/health (the
# gateway alone), GET /api/v1/ingest/health and a one-row POST
# /api/v1/models/higgs/predict. For each: requests/s, p99, CPU per request and context switches
# per request of the gateway and of the service, counted by `perf stat` over the run. With
# --record DIR, `perf record -g` of both processes during each run goes to DIR/<case>-<proc>.data.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
record=""
[ "${2:-}" = --record ] && record=${3:?--record needs a directory}
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)"; exit 1; }
. bench/common.sh
bench_stack_prepare
. bench/stack.sh
stack_start
base=http://127.0.0.1:$AIOPS_PORT
stack_higgs_model
[ -z "$record" ] || mkdir -p "$record"

# profile NAME URL LUA SVC_PID: one wrk run with perf counting (and recording) both processes
profile() {
  local name=$1 url=$2 lua=$3 spid=$4 s=() c=${conns:-32} t=2
  [ "$lua" = - ] || s=(-s "$lua")
  [ "$c" -ge 2 ] || t=1
  wrk -t$t -c"$c" -d3s "${s[@]}" "$url" >/dev/null 2>&1 # warm up
  local rec=()
  if [ -n "$record" ]; then
    perf record -g -o "$record/$name-gateway.data" -p "$gw_pid" -- sleep "$secs" >/dev/null 2>&1 &
    rec+=($!)
    [ "$spid" = - ] || {
      perf record -g -o "$record/$name-service.data" -p "$spid" -- sleep "$secs" >/dev/null 2>&1 &
      rec+=($!)
    }
  fi
  perf stat -x, -e context-switches,task-clock -p "$gw_pid" -o "$tmp/gw.stat" -- sleep "$secs" &
  local pg=$!
  local ps=""
  if [ "$spid" != - ]; then
    perf stat -x, -e context-switches,task-clock -p "$spid" -o "$tmp/svc.stat" -- sleep "$secs" &
    ps=$!
  fi
  local out
  out=$(wrk -t$t -c"$c" -d"${secs}s" --latency "${s[@]}" "$url")
  wait $pg $ps "${rec[@]}" 2>/dev/null || true
  local reqs rps p99
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$out" | grep -q Non-2xx && { echo "$name: non-2xx answers" >&2; echo "$out" >&2; exit 1; }
  python3 - "$name" "$reqs" "$rps" "$p99" "$tmp/gw.stat" "${ps:+$tmp/svc.stat}" <<'PY'
import sys
name, reqs, rps, p99, gw = sys.argv[1:6]
svc = sys.argv[6] if len(sys.argv) > 6 else ""
def stat(path):
    v = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) > 2 and f[0] and f[0][0].isdigit():
            v[f[2]] = float(f[0])
    return v.get("context-switches", 0.0), v.get("task-clock", 0.0) * 1e3  # task-clock: ms -> us
n = float(reqs)
g = stat(gw)
line = "%-16s %9s req/s  p99 %-8s  gateway %5.1f us %5.2f cs" % (name, rps, p99, g[1] / n, g[0] / n)
if svc:
    s = stat(svc)
    line += "   service %5.1f us %5.2f cs   sum %5.1f us/request" % (s[1] / n, s[0] / n, (g[1] + s[1]) / n)
print(line + "  (per request)", file=sys.stderr)
PY
}
echo "wrk -t2 -c${conns:-32} -d${secs}s; $(uptime)" >&2
profile gw-health "$base/api/health" - -
profile fwd-health "$base/api/v1/ingest/health" - "${svc_pid[ingest]}"
profile predict1 "$base/api/v1/models/higgs/predict" "$tmp/post1.lua" "${svc_pid[train]}"
echo "$(uptime)" >&2
