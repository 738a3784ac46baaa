#!/bin/bash
# The console (issue 14's goals): first load under 150 KB compressed and under 300 ms on
# localhost, and the runs page responsive with 10,000 runs (paginated server-side).
# Starts the release stack (bench/stack.sh), trains one real run through the API and copies
# it in SQL into RUNS runs (other ids, names, statuses and creation times: the runs route
# pages them as any others), then:
#   - bench/console_bench.py in headless Chromium: first load's bytes on the wire and time
#     (navigation start to load event and to the home page drawn), all assets' bytes, the
#     runs page drawn (first page, next page, a status filter) and its long tasks;
#   - GET /api/v1/runs pages with one client (wrk -t1 -c1): mean and p99 latency of the
#     first page, the last page and a filtered page.
# No peer: the suite's competitors' UIs (MLflow's) are not installable here (no PyPI).
#
#   bench/console_bench.sh [--runs N] [--loads N] [--secs S]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=10000
LOADS=10
SECS=5
. bench/common.sh
bench_options "--runs N --loads N --secs S" "$@"
bench_stack_prepare
. bench/stack.sh
stack_start
base=http://127.0.0.1:$AIOPS_PORT
echo "load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2

# one real run, then RUNS - 1 copies of it: a tenth failed, a tenth canceled, 100 names
$PY -c 'import random; r = random.Random(1); print("x1,x2,label");
[print("%.4f,%.4f,%d" % (a, b, a + b > 1)) for a, b in ((r.random(), r.random()) for _ in range(500))]' \
  >"$tmp/runs.csv"
stack_train "$tmp/runs.csv" runs.csv '"target":"label","model":"gbdt","model_name":"bench","config":{"rounds":20}'
psql -q "$DATABASE_URL" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO runs (id, project_id, dataset_id, model_kind, task, target, model_name, status,
                  params, tags, metrics, progress, current_epoch, total_epochs, model_version,
                  error, created_at, started_at, finished_at)
SELECT gen_random_uuid(), project_id, dataset_id, model_kind, task, target,
       'bench-' || (g % 100), CASE g % 10 WHEN 3 THEN 'failed' WHEN 7 THEN 'canceled'
                                          ELSE 'completed' END,
       params, tags, metrics, progress, current_epoch, total_epochs, NULL,
       CASE g % 10 WHEN 3 THEN 'copied for the benchmark' END,
       created_at - g * interval '1 minute', started_at - g * interval '1 minute',
       finished_at - g * interval '1 minute'
FROM runs, generate_series(1, $RUNS - 1) AS g WHERE id = '$RUN';
ANALYZE runs;
SQL
total=$(curl -sf "$base/api/v1/runs?limit=1" | json_field total)
[ "$total" = "$RUNS" ] || { echo "the runs route counts $total runs, not $RUNS" >&2; exit 1; }
echo "runs: $total" >&2

echo "== the console in Chromium ($LOADS first loads, cache off) ==" >&2
$PY bench/console_bench.py "$base" --loads "$LOADS"

echo "== GET /api/v1/runs with $RUNS runs, one client for ${SECS}s each ==" >&2
for q in "limit=50&offset=0" "limit=50&offset=$((RUNS - 50))" "limit=50&offset=0&status=failed" \
  "limit=50&offset=0&model_name=bench-42"; do
  out=$(wrk -t1 -c1 -d"${SECS}s" --latency "$base/api/v1/runs?$q")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "$q: $non2xx non-2xx answers" >&2; exit 1; }
  mean=$(echo "$out" | awk '$1 == "Latency" && $2 != "Distribution" {print $2; exit}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  bytes=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' "$base/api/v1/runs?$q")
  printf "%-40s mean %-8s p99 %-8s %6s B  (%s req/s)\n" "$q" "$mean" "$p99" "$bytes" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
