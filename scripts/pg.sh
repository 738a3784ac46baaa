#!/bin/bash
# pg.sh -- a private PostgreSQL cluster on loopback, for `make up` and the tests.
#
#   scripts/pg.sh start DIR PORT   initialise DIR (first time), start, create database
#                                  "aiops"; prints DATABASE_URL=... on stdout
#   scripts/pg.sh stop DIR         fast shutdown
#
# PostgreSQL refuses to run as root: when run as root, the cluster belongs to the
# unprivileged "postgres" user (Debian's) and every server command runs through runuser.
# The password of the "aiops" superuser is generated once and kept in DIR/password (0600).
set -euo pipefail
. "$(dirname "$0")/password.sh"

cmd=${1:?usage: pg.sh start DIR PORT | stop DIR}
dir=${2:?DIR}
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
data="$dir/data"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
  chown postgres:postgres "$dir"
  if ! runuser -u postgres -- test -w "$dir"; then
    echo "pg.sh: user postgres cannot reach $dir (a parent directory is not searchable)" >&2
    exit 1
  fi
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

case "$cmd" in
start)
  port=${3:?PORT}
  ensure_password "$dir/password" "$owner"
  pass=$(cat "$dir/password")
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$pgbin/initdb" -D "$data" -U aiops --pwfile="$dir/password" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 --encoding=UTF8 --locale=C \
      > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if ! as_owner "$pgbin/pg_ctl" -D "$data" status > /dev/null 2>&1; then
    # TCP on loopback only, no Unix socket: nothing outside this machine can reach it
    as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories= -c fsync=${PG_FSYNC:-on}" \
      start > /dev/null || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
  fi
  export PGPASSWORD="$pass"
  if ! "$pgbin/psql" -h 127.0.0.1 -p "$port" -U aiops -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'aiops'" | grep -q 1; then
    "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U aiops aiops
  fi
  echo "DATABASE_URL=postgresql://aiops:$pass@127.0.0.1:$port/aiops"
  ;;
stop)
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop > /dev/null || true
  fi
  ;;
*)
  echo "usage: pg.sh start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
