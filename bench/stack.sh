# Sourced by the benchmarks: starts a private PostgreSQL and Redis, the five services and the
# gateway (release build, DISABLE_AUTH=1 on loopback) under $tmp, and stops them on exit.
#   stack_start          -> AIOPS_PORT, gw_pid, svc_pid[ingest|train|...] set; ready to serve
#   cpu_ticks PID...     -> user+system clock ticks of those processes so far
#   free_port
#   stack_train CSV NAME FIELDS -> RUN set: CSV uploaded as NAME and trained on to completion
# Callers set `tmp` (a fresh directory) first and may append to `pids` to have more
# processes stopped on exit.
pids=()
declare -A svc_pid
stack_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/redis.sh stop "$tmp/redis" >/dev/null 2>&1 || true
  scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap stack_cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
tick=$(getconf CLK_TCK)

stack_start() {
  chmod 755 "$tmp"
  export DATABASE_URL REDIS_URL
  DATABASE_URL=$(scripts/pg.sh start "$tmp/pg" "$(free_port)" | sed -n 's/^DATABASE_URL=//p')
  REDIS_URL=$(scripts/redis.sh start "$tmp/redis" "$(free_port)" | sed -n 's/^REDIS_URL=//p')
  # one load generator at one address: the per-caller limits would measure themselves
  export DISABLE_AUTH=1 AIOPS_BIND=127.0.0.1 AIOPS_PORT=$(free_port) LOG_LEVEL=${LOG_LEVEL:-info}
  export RATE_LIMITS=${RATE_LIMITS:-off}
  # services accept only sealed envelopes; the default addresses are ipc:// sockets in a
  # private directory (lib/rpc/addr.h); TRANSPORT=tcp puts every service on a loopback port
  export SERVICE_SECRET=${SERVICE_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  export AIOPS_RUN_DIR="$tmp/run"
  mkdir -p -m 700 "$AIOPS_RUN_DIR"
  local s u rpc
  if [ "${TRANSPORT:-ipc}" = tcp ]; then
    for s in INGEST TRAIN EXPLAIN REPORT MONITOR; do
      export ${s}_RPC_URL=tcp://127.0.0.1:$(free_port)
    done
    export EVENTS_IN_URL=tcp://127.0.0.1:$(free_port) EVENTS_OUT_URL=tcp://127.0.0.1:$(free_port)
  fi
  bin/aiops-admin migrate 2>/dev/null
  bin/aiops-relay 2>"$tmp/relay.log" &
  pids+=($!)
  for s in ingest train explain report monitor; do
    u=$(echo $s | tr a-z A-Z)
    rpc=${u}_RPC_URL
    if [ -n "${!rpc:-}" ]; then
      RPC_LISTEN=${!rpc} bin/aiops-$s 2>"$tmp/$s.log" &
    else
      bin/aiops-$s 2>"$tmp/$s.log" &
    fi
    pids+=($!)
    svc_pid[$s]=$!
  done
  bin/aiops-gateway 2>"$tmp/gateway.log" &
  pids+=($!)
  gw_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$AIOPS_PORT/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the stack did not become ready; see $tmp/*.log" >&2
  return 1
}

# stack_higgs_model: the model of the prediction benchmarks, "higgs" (gradient-boosted trees, 100
# rounds, depth 6, learning rate 0.1), trained through the API on HIGGS's train file (sets
# `data` to HIGGS's folder), and the wrk scripts $tmp/post1.lua and $tmp/post100.lua posting
# the first row and the first 100 rows of its test file as {"instances": [...]}.
stack_higgs_model() {
  data=$(bench_data_dir)/lightgbm_higgs_binary
  stack_train "$data/higgs_train.csv" higgs.csv '"target":"label","model":"gbdt","model_name":"higgs",
    "config":{"rounds":100,"max_depth":6,"learning_rate":0.1,"valid_fraction":0}'
  /usr/bin/python3 - "$data/higgs_test.csv" "$tmp" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for n in (1, 100):
    inst = [{k: float(v) for k, v in r.items() if k != "label"} for r in rows[:n]]
    with open("%s/post%d.lua" % (sys.argv[2], n), "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write("wrk.body = %s\n" % json.dumps(json.dumps({"instances": inst})))
PY
}

# json_field KEY: prints member KEY of the JSON object on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# stack_train CSV NAME FIELDS: uploads the file CSV as NAME, trains on it through the API as a
# user would (FIELDS: the POST /api/train members besides file_id, as JSON text without the
# braces) and waits for the run to complete; sets RUN to its id. A failed run, or one not done
# within two minutes, prints the train log and exits 1.
stack_train() {
  local base=http://127.0.0.1:$AIOPS_PORT fid st=""
  fid=$(curl -sf -H 'Content-Type: text/csv' --data-binary @"$1" "$base/api/upload?filename=$2" |
    json_field file_id)
  RUN=$(curl -sf -H 'Content-Type: application/json' -d '{"file_id":"'"$fid"'",'"$3"'}' \
    "$base/api/train" | json_field run_id)
  for _ in $(seq 1 600); do
    st=$(curl -sf "$base/api/v1/runs/$RUN" | json_field status)
    [ "$st" = completed ] && return 0
    [ "$st" = failed ] && break
    sleep 0.2
  done
  echo "training $2 did not complete (run $RUN: ${st:-no status})" >&2
  cat "$tmp/train.log" >&2
  exit 1
}

# wrk_run NAME URL LUA PID... : wrk -t2 -c$conns (-t1 for one connection) for $secs seconds
# (after a 3 s warm-up) with the Lua script LUA ("-": plain GET); prints a line with requests/s, p99 and the server CPU
# per request (of the PIDs) on stderr and echoes the requests/s. Any non-2xx answer fails.
wrk_run() {
  local name=$1 url=$2 lua=$3
  shift 3
  local s=()
  [ "$lua" = - ] || s=(-s "$lua")
  local c=${conns:-32} t=2
  [ "$c" -ge 2 ] || t=1
  wrk -t$t -c"$c" -d3s "${s[@]}" "$url" >/dev/null 2>&1 # warm up
  local t0 out t1
  t0=$(cpu_ticks "$@")
  out=$(wrk -t$t -c"$c" -d"${secs}s" --latency "${s[@]}" "$url")
  t1=$(cpu_ticks "$@")
  local rps p99 reqs non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "$name: $non2xx non-2xx answers" >&2; exit 1; }
  local us
  us=$(python3 -c "print('%.0f' % (($t1 - $t0) / $tick * 1e6 / $reqs))")
  printf "%-40s %10s req/s   p99 %-8s  server CPU %5s us/request\n" "$name" "$rps" "$p99" "$us" >&2
  echo "$rps"
}
