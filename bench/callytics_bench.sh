#!/bin/bash
# Counseling sessions (issue 10, seed 004): POST /api/v1/callytics/process-data in realtime
# mode through the gateway -- the four steps (session checked, call features with the shipped
# sentiment model, the outcome model's row, the gbdt prediction) and the result stored in
# PostgreSQL -- as Callytics calls it. The outcome model is trained first through the API
# from 600 generated labeled sessions (tests/integration/callgen.py, seeded); the load is 50
# other generated sessions in turn. Goal (issue 10): p50 <= 5 ms and >= 1,000 sessions/s on
# two cores (seed 004's FastAPI + BERT stack answers in 3-5 s).
#
#   bench/callytics_bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
. bench/common.sh
bench_stack_prepare
. bench/stack.sh
stack_start
base=http://127.0.0.1:$AIOPS_PORT

# the sessions: 600 labeled ones to train on (three uploads of 200), 50 unlabeled to serve
PYTHONPATH=tests/integration python3 - "$tmp" <<'PY'
import json, sys
import callgen
train = callgen.sessions(600, seed=11, start=10000)
for i in range(0, 600, 200):
    with open("%s/upload%d.json" % (sys.argv[1], i // 200), "w") as f:
        json.dump({"sessions": [s for s, _ in train[i:i + 200]]}, f, ensure_ascii=False)
serve = [s for s, _ in callgen.sessions(50, seed=12, start=20000, labeled=False)]
bodies = [json.dumps({"session_id": s["session_id"], "data": s, "processing_mode": "realtime"},
                     ensure_ascii=False) for s in serve]
with open("%s/one.json" % sys.argv[1], "w") as f:
    f.write(bodies[0])
with open("%s/process.lua" % sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("bodies = {%s}\n" % ", ".join("[==[%s]==]" % b for b in bodies))  # raw UTF-8
    f.write("i = 0\nrequest = function()\n  i = i %% %d + 1\n" % len(bodies))
    f.write('  return wrk.format(nil, nil, nil, bodies[i])\nend\n')
PY
for i in 0 1 2; do
  curl -sf -H 'Content-Type: application/json' --data-binary @"$tmp/upload$i.json" \
    "$base/api/v1/data/batch-upload" >/dev/null
done
run=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"training_data_source":"database","validation_split":0.2}' \
  "$base/api/v1/models/retrain" | json_field run_id)
for _ in $(seq 1 600); do
  st=$(curl -sf "$base/api/v1/runs/$run" | json_field status)
  [ "$st" = completed ] && break
  [ "$st" = failed ] && { cat "$tmp/train.log" >&2; exit 1; }
  sleep 0.2
done
echo "outcome model: $(curl -sf "$base/api/v1/models/info" | python3 -c \
  'import json,sys; j=json.load(sys.stdin); print(j["model_version"], "accuracy", j["metrics"]["accuracy"])')" >&2
curl -sf -H 'Content-Type: application/json' --data-binary @"$tmp/one.json" \
  "$base/api/v1/callytics/process-data" | python3 -c \
  'import json,sys; j=json.load(sys.stdin); print("one answer:", j["prediction_result"]["prediction"], j["processing_ms"], "ms in the pipeline")' >&2

url=$base/api/v1/callytics/process-data
wrk -t2 -c"$conns" -d3s -s "$tmp/process.lua" "$url" >/dev/null 2>&1 # warm up
server=("$gw_pid" "${svc_pid[train]}")
t0=$(cpu_ticks "${server[@]}")
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/process.lua" "$url")
t1=$(cpu_ticks "${server[@]}")
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
[ -z "$non2xx" ] || { echo "$non2xx non-2xx answers" >&2; echo "$out" >&2; exit 1; }
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; wrk -t2 -c$conns -d${secs}s"
echo "$out" | awk '/Requests\/sec/ {print "sessions/s " $2} $1 == "50%" {print "p50 " $2} $1 == "99%" {print "p99 " $2}'
python3 -c "print('gateway + svc-train CPU per session: %.0f us' % (($t1 - $t0) / $tick * 1e6 / $reqs))"
echo "results stored: $(curl -sf "$base/api/v1/stats" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["processing"]["total"])')"
