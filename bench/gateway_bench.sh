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
. bench/common.sh
bench_stack_prepare
. bench/stack.sh

gcc -O2 -o "$tmp/ceiling" bench/evhttp_ceiling.c -levent
gcc -O2 -o "$tmp/nng_roundtrip" bench/nng_roundtrip.c -lnng -lpthread
stack_start
ceiling_port=$(free_port)
"$tmp/ceiling" "$ceiling_port" &
pids+=($!)
ceiling_pid=$!
ingest_pid=${svc_pid[ingest]}
echo "wrk -t2 -c32 -d${secs}s on $(nproc) cores, LOG_LEVEL=$LOG_LEVEL" >&2
c=$(wrk_run "ceiling (minimal evhttp)" "http://127.0.0.1:$ceiling_port/" - "$ceiling_pid")
h=$(wrk_run "gateway GET /api/health" "http://127.0.0.1:$AIOPS_PORT/api/health" - "$gw_pid")
f=$(wrk_run "gateway GET /api/v1/ingest/health" "http://127.0.0.1:$AIOPS_PORT/api/v1/ingest/health" - "$gw_pid" "$ingest_pid")
python3 -c "c,h,f=$c,$h,$f; print('ratios to the ceiling: /api/health %.2f, forwarded %.2f (goal >= 0.50)' % (h/c, f/c))" >&2
# the floor under any forwarded route: nng REQ/REP alone, shaped like the gateway's calls
echo "nng REQ/REP alone: $("$tmp/nng_roundtrip" "tcp://127.0.0.1:$(free_port)" 4 32 "$secs")" >&2
