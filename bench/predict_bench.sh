#!/bin/bash
# Prediction serving: POST /api/v1/models/{name}/predict through our gateway against the
# same endpoint served by FastAPI + uvicorn with XGBoost (bench/predict_fastapi.py), the
# stack our users run today. Both models: gradient-boosted trees, 100 rounds, depth 6,
# learning rate 0.1, trained on HIGGS (../shared/data, 7000 x 28); requests of 1 and of 100
# rows from its test file; wrk -t2 -c32 (uvicorn with 1 worker as the seeds run it, and with
# 2, one per core).
#
#   bench/predict_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
/usr/bin/python3 -c 'import fastapi, uvicorn, uvloop, httptools, xgboost' 2>/dev/null ||
  { echo "needs python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-xgboost"; exit 1; }
. bench/common.sh
bench_stack_prepare
. bench/stack.sh
stack_start
base=http://127.0.0.1:$AIOPS_PORT

# our model, through the API as a user would, and the request bodies: the first row, and the
# first 100 rows, of the test file
stack_higgs_model

# theirs
/usr/bin/python3 bench/predict_fastapi.py train "$data/higgs_train.csv" label "$tmp/xgb.json" 100 6 0.1
api_port=$(free_port)
api2_port=$(free_port)
(cd bench && PREDICT_MODEL="$tmp/xgb.json" exec /usr/bin/python3 -m uvicorn predict_fastapi:app \
  --host 127.0.0.1 --port "$api_port" --loop uvloop --http httptools --log-level warning --no-access-log) &
pids+=($!); api_pid=$!
(cd bench && PREDICT_MODEL="$tmp/xgb.json" exec /usr/bin/python3 -m uvicorn predict_fastapi:app \
  --host 127.0.0.1 --port "$api2_port" --workers 2 --loop uvloop --http httptools --log-level warning \
  --no-access-log) &
pids+=($!); api2_pid=$!
for p in $api_port $api2_port; do
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$p/health" >/dev/null 2>&1 && break; sleep 0.1; done
done

# both answer the same question alike (same data, same parameters, different trainers)
curl -sf -H 'Content-Type: application/json' -d @<(sed -n 's/^wrk.body = //p' "$tmp/post1.lua" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()))') "$base/api/v1/models/higgs/predict" >&2; echo >&2
curl -sf -H 'Content-Type: application/json' -d @<(sed -n 's/^wrk.body = //p' "$tmp/post1.lua" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()))') "http://127.0.0.1:$api_port/api/v1/models/higgs/predict" >&2; echo >&2

echo "wrk -t2 -c${conns:-32} -d${secs}s on $(nproc) cores" >&2
upids=$(pgrep -P "$api2_pid" | tr '\n' ' ')
for n in 1 100; do
  o=$(wrk_run "ours: $n row(s)" "$base/api/v1/models/higgs/predict" "$tmp/post$n.lua" "$gw_pid" "${svc_pid[train]}")
  f1=$(wrk_run "FastAPI+uvicorn 1 worker: $n row(s)" "http://127.0.0.1:$api_port/api/v1/models/higgs/predict" "$tmp/post$n.lua" "$api_pid")
  f2=$(wrk_run "FastAPI+uvicorn 2 workers: $n row(s)" "http://127.0.0.1:$api2_port/api/v1/models/higgs/predict" "$tmp/post$n.lua" $upids)
  python3 -c "o,f1,f2=$o,$f1,$f2; print('$n row(s): ours / FastAPI = %.1fx (1 worker), %.1fx (2 workers); goal >= 10x' % (o/f1, o/f2))" >&2
done
