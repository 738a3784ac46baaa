#!/bin/bash
# Upload memory benchmark (issue 11): peak RSS (VmHWM) of the gateway and svc-ingest for 1
# and for N concurrent uploads of a ~60 MB CSV, their RSS once the uploads are answered, and
# the upload throughput -- for the build of this checkout or of another one (--repo DIR: a
# checkout of main with its release build, to compare before and after).
#
#   bench/upload_rss_bench.sh [--repo DIR] [--size-mb M] [--concurrent N] [--keep DIR]
#
# Each case runs on a fresh stack (bench/stack.sh: release build, DISABLE_AUTH=1, ipc://
# services) so that VmHWM is that case's peak. The uploads are multipart (curl -F, as a
# browser sends them); each file differs in its last row so that none is deduplicated.
# UPLOAD_CONCURRENCY is set to N so that every upload is taken (the default is 4). The
# throughput is the bytes of all uploads over the wall time from the first request to the
# last answer; on a shared machine compare the CPU seconds the gateway and svc-ingest spent
# (user + system, from /proc/PID/stat) instead. RSS after: VmRSS one second after the last
# answer.
set -euo pipefail

cd "$(dirname "$0")/.."
HERE=$PWD
. bench/common.sh
REPO=. SIZE_MB=60 CONCURRENT=8 KEEP=""
bench_options "--repo DIR --size-mb M --concurrent N --keep DIR" "$@"
REPO=$(cd "$REPO" && pwd)
[ -x "$REPO/bin/aiops-gateway" ] || { echo "no release build in $REPO (make)" >&2; exit 2; }
bench_workdir upload
export DIR
if [ ! -s "$DIR/up0.csv" ] || [ "$(ls "$DIR"/up*.csv | wc -l)" -lt "$CONCURRENT" ]; then
    "$PY" - "$DIR" "$SIZE_MB" "$CONCURRENT" <<'PYEOF'
import random, sys
d, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(11)
parts, size, rows = ["id,x,y,city,label\n"], 0, 0
cities = ["Seoul", "Busan", "Incheon", "Daegu", "Daejeon", "Gwangju", "Ulsan"]
while size < mb << 20:
    block = "".join("%d,%.6f,%d,%s,%d\n" % (rows + i, rng.random() * 1000, rng.randrange(10**6),
                                            cities[rng.randrange(7)], rng.randrange(2))
                    for i in range(10000))
    parts.append(block)
    size += len(block)
    rows += 10000
data = "".join(parts).encode()
for k in range(n):
    with open("%s/up%d.csv" % (d, k), "wb") as f:
        f.write(data + b"%d,0.5,%d,Seoul,1\n" % (rows + k, k))
PYEOF
fi
BYTES=$(stat -c %s "$DIR/up0.csv")

kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

# one_case N: prints "N gw_peak_kb ingest_peak_kb gw_after_kb ingest_after_kb seconds MB/s
# gw_cpu_ticks ingest_cpu_ticks"
one_case() {
    local n=$1
    (
        tmp=$(mktemp -d /tmp/aiops-upload-stack.XXXXXX)
        cd "$REPO"
        . "$HERE/bench/stack.sh"
        export UPLOAD_CONCURRENCY=$n LOG_LEVEL=warn
        stack_start >/dev/null
        local base=http://127.0.0.1:$AIOPS_PORT t0 t1 k fails=0 gc0 ic0
        local cpids=()
        gc0=$(cpu_ticks "$gw_pid")
        ic0=$(cpu_ticks "${svc_pid[ingest]}")
        t0=$(date +%s.%N)
        for ((k = 0; k < n; k++)); do
            curl -s -o "$tmp/out$k.json" -w '%{http_code}\n' -F "file=@$DIR/up$k.csv" \
                "$base/api/upload" >"$tmp/code$k" &
            cpids+=($!)
        done
        for p in "${cpids[@]}"; do wait "$p"; done
        t1=$(date +%s.%N)
        for ((k = 0; k < n; k++)); do
            [ "$(cat "$tmp/code$k")" = 200 ] || { fails=$((fails + 1)); cat "$tmp/out$k.json" >&2; }
        done
        [ "$fails" = 0 ] || { echo "$fails uploads failed" >&2; exit 1; }
        sleep 1
        echo "$n $(kb "$gw_pid" VmHWM) $(kb "${svc_pid[ingest]}" VmHWM)" \
            "$(kb "$gw_pid" VmRSS) $(kb "${svc_pid[ingest]}" VmRSS)" \
            "$(echo "$t1 - $t0" | bc -l)" "$(echo "$n * $BYTES / 1048576 / ($t1 - $t0)" | bc -l)" \
            $(($(cpu_ticks "$gw_pid") - gc0)) $(($(cpu_ticks "${svc_pid[ingest]}") - ic0))
    )
}

echo "repo: $REPO ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
echo "upload: $BYTES bytes (multipart), UPLOAD_CONCURRENCY = concurrent uploads"
printf '%-10s %11s %14s %11s %15s %8s %7s %9s %13s\n' concurrent gw_peak_MB ingest_peak_MB \
    gw_after_MB ingest_after_MB seconds MB/s gw_cpu_s ingest_cpu_s
for n in 1 "$CONCURRENT"; do
    one_case "$n" | awk -v tick="$(getconf CLK_TCK)" '{printf "%-10d %11.1f %14.1f %11.1f %15.1f %8.2f %7.1f %9.2f %13.2f\n",
        $1, $2/1024, $3/1024, $4/1024, $5/1024, $6, $7, $8/tick, $9/tick}'
done
