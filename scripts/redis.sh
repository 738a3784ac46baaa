#!/bin/bash
# redis.sh -- a private Redis server on loopback, for `make up` and the tests.
#
#   scripts/redis.sh start DIR PORT   start (password generated once into DIR/password);
#                                     prints REDIS_URL=... on stdout
#   scripts/redis.sh stop DIR
set -euo pipefail
. "$(dirname "$0")/password.sh"

cmd=${1:?usage: redis.sh start DIR PORT | stop DIR}
dir=${2:?DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case "$cmd" in
start)
  port=${3:?PORT}
  ensure_password "$dir/password"
  pass=$(cat "$dir/password")
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
    :
  else
    # the password goes in through a config file, not argv (ps would show it)
    cat > "$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
requirepass $pass
save ""
appendonly no
CONF
    chmod 600 "$dir/redis.conf"
    redis-server "$dir/redis.conf"
  fi
  for _ in $(seq 1 100); do
    if REDISCLI_AUTH="$pass" redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      echo "REDIS_URL=redis://:$pass@127.0.0.1:$port/0"
      exit 0
    fi
    sleep 0.1
  done
  echo "redis.sh: Redis did not start; see $dir/redis.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/redis.pid" ]; then
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/redis.pid"
  fi
  ;;
*)
  echo "usage: redis.sh start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
