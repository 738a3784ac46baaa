#!/bin/bash
# Gateway throughput against its ceiling, with wrk -t2 -c32 on this machine.
#
#   bench/gateway_bench.sh [SECONDS]
#
# Starts a private PostgreSQL and Redis, the five services and the gateway (release build,
# DISABLE_AUTH=1 on loopback, access logs on as in production), and a minimal evhttp server
# returning a fixed body (bench/evhttp_ceiling.c: the most evhttp can do here). Measures
# requests/s and p99 latency of: the ceiling; GET /api/health (answered by the gateway);
# GET /api/v1/ingest/health (a round trip gateway -> svc-ingest over nng and back); and,
# for reference, a bare nng REQ/REP round trip between two processes (bench/nng_roundtrip.c).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
make -s all
tmp=$(mktemp -d /tmp/aiops-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/redis.sh stop "$tmp/redis" >/dev/null 2>&1 || true
  scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

gcc -O2 -o "$tmp/ceiling" bench/evhttp_ceiling.c -levent
gcc -O2 -o "$tmp/nng_roundtrip" bench/nng_roundtrip.c -lnng -lpthread
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export DATABASE_URL REDIS_URL
DATABASE_URL=$(scripts/pg.sh start "$tmp/pg" "$(free_port)" | sed -n 's/^DATABASE_URL=//p')
REDIS_URL=$(scripts/redis.sh start "$tmp/redis" "$(free_port)" | sed -n 's/^REDIS_URL=//p')
export DISABLE_AUTH=1 AIOPS_BIND=127.0.0.1 AIOPS_PORT=$(free_port) LOG_LEVEL=${LOG_LEVEL:-info}
for s in INGEST TRAIN EXPLAIN REPORT MONITOR; do
  if [ "${TRANSPORT:-tcp}" = ipc ]; then export ${s}_RPC_URL=ipc://$tmp/$s.rpc ${s}_EVENTS_URL=ipc://$tmp/$s.events; else export ${s}_RPC_URL=tcp://127.0.0.1:$(free_port) ${s}_EVENTS_URL=tcp://127.0.0.1:$(free_port); fi
done
bin/aiops-admin migrate 2>/dev/null
for s in ingest train explain report monitor; do
  u=$(echo $s | tr a-z A-Z)
  rpc=${u}_RPC_URL; ev=${u}_EVENTS_URL
  RPC_LISTEN=${!rpc} EVENTS_LISTEN=${!ev} bin/aiops-$s 2>"$tmp/$s.log" &
  pids+=($!)
done
bin/aiops-gateway 2>"$tmp/gateway.log" &
pids+=($!)
ceiling_port=$(free_port)
"$tmp/ceiling" "$ceiling_port" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$AIOPS_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
tick=$(getconf CLK_TCK)
gw_pid=${pids[5]}
ingest_pid=${pids[0]}
ceiling_pid=${pids[6]}
run() { # name url pid... -> prints a line; echoes rps
  local name=$1 url=$2
  shift 2
  wrk -t2 -c32 -d3s "$url" >/dev/null 2>&1 # warm up
  local t0 out t1
  t0=$(cpu_ticks "$@")
  out=$(wrk -t2 -c32 -d"${secs}s" --latency "$url")
  t1=$(cpu_ticks "$@")
  local rps p99 reqs non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "$name: $non2xx non-2xx answers" >&2; exit 1; }
  local us
  us=$(python3 -c "print('%.0f' % (($t1 - $t0) / $tick * 1e6 / $reqs))")
  printf "%-34s %10s req/s   p99 %-8s  server CPU %4s us/request\n" "$name" "$rps" "$p99" "$us" >&2
  echo "$rps"
}
echo "wrk -t2 -c32 -d${secs}s on $(nproc) cores, LOG_LEVEL=$LOG_LEVEL" >&2
c=$(run "ceiling (minimal evhttp)" "http://127.0.0.1:$ceiling_port/" "$ceiling_pid")
h=$(run "gateway GET /api/health" "http://127.0.0.1:$AIOPS_PORT/api/health" "$gw_pid")
f=$(run "gateway GET /api/v1/ingest/health" "http://127.0.0.1:$AIOPS_PORT/api/v1/ingest/health" "$gw_pid" "$ingest_pid")
python3 -c "c,h,f=$c,$h,$f; print('ratios to the ceiling: /api/health %.2f, forwarded %.2f (goal >= 0.50)' % (h/c, f/c))" >&2
# the floor under any forwarded route: nng REQ/REP alone, shaped like the gateway's calls
echo "nng REQ/REP alone: $("$tmp/nng_roundtrip" "tcp://127.0.0.1:$(free_port)" 4 32 "$secs")" >&2
