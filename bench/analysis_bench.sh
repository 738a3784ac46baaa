#!/bin/bash
# Segment serving: POST /api/analysis (one seed-003 profile) through our gateway, with wrk
# -t2 -c32 like bench/predict_bench.sh: requests/s, p99 and server CPU per request. The
# model is a k-means model (k = 4) trained through the API on a seeded 20,000-row shopping
# table with seed 003's column names; every request also reads the cluster-name overrides
# from PostgreSQL (one indexed query).
#
#   bench/analysis_bench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
. bench/common.sh
bench_stack_prepare
. bench/stack.sh
# the services refuse to start without the secret they share with the gateway
export SERVICE_SECRET=${SERVICE_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d " \n")}
stack_start
base=http://127.0.0.1:$AIOPS_PORT

/usr/bin/python3 - "$tmp" <<'PY'
import json, random, sys
rng = random.Random(3)
freqs = ["Weekly", "Fortnightly", "Monthly", "Quarterly", "Annually"]
with open(sys.argv[1] + "/shop.csv", "w") as f:
    f.write('Age,"Purchase Amount (USD)",Subscription Status,Frequency of Purchases,'
            'Review Rating,Previous Purchases\n')
    for i in range(20000):
        g = i % 4
        f.write("%d,%.2f,%s,%s,%.1f,%d\n" % (rng.randint(18, 70), rng.gauss(20 + 25 * g, 8),
                "Yes" if rng.random() < 0.2 + 0.2 * g else "No", rng.choice(freqs),
                min(5, max(1, rng.gauss(3.7, 0.6))), rng.randint(1, 50)))
body = json.dumps({"Age": 35, "Purchase Amount (USD)": 50, "Subscription Status": "Yes",
                   "Frequency of Purchases": "Monthly"})
with open(sys.argv[1] + "/post.lua", "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("wrk.body = %s\n" % json.dumps(body))
PY
stack_train "$tmp/shop.csv" shop.csv \
  '"model":"kmeans","model_name":"shop","config":{"k":4,"n_init":4,"seed":1}'
curl -sf -H 'Content-Type: application/json' \
  -d '{"Age": 35, "Purchase Amount (USD)": 50, "Subscription Status": "Yes", "Frequency of Purchases": "Monthly"}' \
  "$base/api/analysis" >&2; echo >&2
echo "wrk -t2 -c${conns:-32} -d${secs}s on $(nproc) cores" >&2
wrk_run "POST /api/analysis (1 profile)" "$base/api/analysis" "$tmp/post.lua" "$gw_pid" "${svc_pid[train]}" >/dev/null
