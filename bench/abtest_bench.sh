#!/bin/bash
# What a running A/B test costs the predict path (issue 9): wrk on one-row POST
# /api/v1/models/{name}/predict of a gbdt model (breast cancer, 100 rounds) with no test
# running, then with one (traffic_share 0.1) and bodies carrying a routing_key (the scan for
# the key, the cached test, the hash), alternately, ROUNDS times each. The server CPU per
# request (gateway + svc-train) is the steadier number on a shared machine.
#
#   bench/abtest_bench.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-2}
. bench/common.sh
data=$(bench_data_dir)/sklearn_breast_cancer
bench_stack_prepare
. bench/stack.sh
stack_start
base=http://127.0.0.1:$AIOPS_PORT
for v in 1 2; do
  stack_train "$data/breast_cancer.csv" bc.csv '"target":"target","model":"gbdt","model_name":"bc",
    "config":{"rounds":100,"seed":'$v'}'
done
/usr/bin/python3 - "$data/breast_cancer.csv" "$tmp" <<'PY'
import csv, json, sys
row = next(csv.DictReader(open(sys.argv[1])))
inst = {k: float(v) for k, v in row.items() if k != "target"}
for name, body in (("plain", {"instances": [inst]}),
                   ("keyed", {"routing_key": "customer-42", "instances": [inst]})):
    with open("%s/%s.lua" % (sys.argv[2], name), "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write("wrk.body = %s\n" % json.dumps(json.dumps(body)))
PY
url=$base/api/v1/models/bc/predict
echo "wrk -t2 -c${conns:-32} -d${secs}s on $(nproc) cores" >&2
for r in $(seq 1 "$rounds"); do
  wrk_run "no test running (round $r)" "$url" "$tmp/plain.lua" "$gw_pid" "${svc_pid[train]}" >/dev/null
  id=$(curl -sf -H 'Content-Type: application/json' -d '{"challenger_version":2,"traffic_share":0.1}' \
    "$base/api/v1/models/bc/ab-tests" | json_field id)
  wrk_run "A/B test running, routing_key (round $r)" "$url" "$tmp/keyed.lua" "$gw_pid" "${svc_pid[train]}" >/dev/null
  wrk_run "A/B test running, no key (round $r)" "$url" "$tmp/plain.lua" "$gw_pid" "${svc_pid[train]}" >/dev/null
  curl -sf -X POST "$base/api/v1/models/bc/ab-tests/$id/stop" >/dev/null
done
