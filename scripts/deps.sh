#!/bin/sh
# deps.sh -- the Debian packages the suite needs, in one place.
#
#   scripts/deps.sh [build|run|test|all|bench]   (default: build + run)
#   scripts/deps.sh list [build|run|test|all|bench]   print the package names only
#
# "all" is what `make up` and `make test` need (CI installs it); "bench" adds the peers that
# bench/ measures against, kept out of CI's critical path.
#
# As root it installs whatever is missing (apt-get update, then apt-get install -y).
# Otherwise it prints the exact apt-get line to run and exits 1 when something is missing.
set -eu

BUILD="build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libevent-dev
libnng-dev libpq-dev libhiredis-dev libopenblas-dev libhpdf-dev libwslay-dev libjansson-dev
libssl-dev libcurl4-openssl-dev zlib1g-dev"
RUN="postgresql redis-server fonts-nanum"
TEST="python3 python3-yaml python3-pyflakes clang libclang-rt-14-dev universal-ctags prometheus docker-compose valgrind qpdf
poppler-utils chromium python3-xgboost python3-sklearn python3-jsonschema"
BENCH="wrk python3-pandas python3-sklearn python3-xgboost python3-fastapi python3-uvicorn python3-uvloop python3-httptools
python3-reportlab python3-renderpm python3-optuna"

listing=0
if [ "${1:-}" = list ]; then
  listing=1
  shift
fi
case "${1:-default}" in
  build) want="$BUILD" ;;
  run) want="$RUN" ;;
  test) want="$TEST" ;;
  all) want="$BUILD $RUN $TEST" ;;
  bench) want="$BUILD $RUN $TEST $BENCH" ;;
  *) want="$BUILD $RUN" ;;
esac

if [ $listing = 1 ]; then
  echo $want
  exit 0
fi

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "missing Debian packages; run as root:"
  echo "  apt-get install -y$missing"
  exit 1
fi
