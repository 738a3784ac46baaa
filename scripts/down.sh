#!/bin/bash
# down.sh -- `make down`: stop what `make up` started (services first, then Redis and
# PostgreSQL). Data under var/ is kept.
set -uo pipefail
cd "$(dirname "$0")/.."
var="$(pwd)/var"

stop() {
  local f="$var/run/$1.pid"
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
for s in gateway ingest train explain report monitor relay; do
  stop "$s"
done
[ -d "$var/redis" ] && scripts/redis.sh stop "$var/redis"
[ -d "$var/pg" ] && scripts/pg.sh stop "$var/pg"
echo "stopped"
