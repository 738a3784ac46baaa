#!/bin/bash
# up.sh -- `make up`: install what is missing, build, start PostgreSQL and Redis under var/
# (unless DATABASE_URL / REDIS_URL point elsewhere), apply migrations, start the event relay,
# the five services and the gateway in the background (logs in var/log/), wait until every
# one of them answers, and print the gateway URL. Running it again starts only what is not
# running. The programs meet on ipc:// sockets in var/run/ (mode 0700): nobody else can
# reach the services, and a second checkout's stack never meets this one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh || exit 1
make -s all

var="$root/var"
mkdir -p "$var/log" "$var/run"
chmod 755 "$var"
chmod 700 "$var/run"
port=${AIOPS_PORT:-8000}
pg_port=${AIOPS_PG_PORT:-55432}
redis_port=${AIOPS_REDIS_PORT:-56379}

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/pg.sh start "$var/pg" "$pg_port" | sed -n 's/^DATABASE_URL=//p')
  ln -sf ../pg/postgres.log "$var/log/postgres.log"
fi
if [ -z "${REDIS_URL:-}" ]; then
  REDIS_URL=$(scripts/redis.sh start "$var/redis" "$redis_port" | sed -n 's/^REDIS_URL=//p')
  ln -sf ../redis/redis.log "$var/log/redis.log"
fi
export DATABASE_URL REDIS_URL AIOPS_PORT="$port"
export AIOPS_BIND=${AIOPS_BIND:-127.0.0.1}
# the embedded default is a local playground: no credentials needed (the gateway refuses
# this on anything but a loopback bind)
export DISABLE_AUTH=${DISABLE_AUTH:-1}
export AIOPS_RUN_DIR="$var/run"
# the gateway seals every call to the services with this; made once, kept with the data
if [ -z "${SERVICE_SECRET:-}" ]; then
  if [ ! -s "$var/service_secret" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$var/service_secret")
  fi
  SERVICE_SECRET=$(cat "$var/service_secret")
fi
export SERVICE_SECRET

# what the services were started with, for `make down` and for running tools by hand
umask 077
{
  echo "DATABASE_URL=$DATABASE_URL"
  echo "REDIS_URL=$REDIS_URL"
  echo "AIOPS_PORT=$port"
  echo "AIOPS_BIND=$AIOPS_BIND"
  echo "DISABLE_AUTH=$DISABLE_AUTH"
  echo "AIOPS_RUN_DIR=$AIOPS_RUN_DIR"
  echo "SERVICE_SECRET=$SERVICE_SECRET"
} > "$var/env"
umask 022

bin/aiops-admin migrate

running() { [ -f "$var/run/$1.pid" ] && kill -0 "$(cat "$var/run/$1.pid")" 2>/dev/null; }
start() {
  local name=$1
  if running "$name"; then
    return
  fi
  nohup "bin/aiops-$name" >> "$var/log/$name.log" 2>&1 < /dev/null &
  echo $! > "$var/run/$name.pid"
}
programs="relay ingest train explain report monitor gateway"
for s in $programs; do
  start "$s"
done

# wait for readiness: GET /readyz over bash's /dev/tcp (no curl needed)
ready() (
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  [ "$(head -n 1 <&3 | cut -d' ' -f2)" = "200" ]
) 2>/dev/null
# every program answers its own health check (the gateway's /readyz alone could be answered
# by another stack's gateway on the same port)
alive() {
  for s in relay ingest train explain report monitor; do
    "bin/aiops-$s" --healthcheck > /dev/null 2>&1 || return 1
  done
}
for _ in $(seq 1 150); do
  if ready && alive; then
    echo "AIOps gateway listening on http://$AIOPS_BIND:$port (logs in var/log/, stop with: make down)"
    exit 0
  fi
  for s in $programs; do
    if ! running "$s"; then
      echo "aiops-$s exited; last lines of var/log/$s.log:" >&2
      tail -n 20 "$var/log/$s.log" >&2
      exit 1
    fi
  done
  sleep 0.2
done
echo "the gateway did not become ready within 30 s; see var/log/" >&2
exit 1
