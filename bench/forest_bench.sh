#!/bin/bash
# Random forests: our forest_train / forest_predict against scikit-learn 1.2's
# RandomForestClassifier (100 trees, sqrt(features) per split, bootstrap, fully grown, the
# same threads) on HIGGS (lightgbm_higgs_binary, 7,000 rows) and a seeded synthetic binary
# set of 100,000 x 30 (bench/gbdt_data.py).
#
#   bench/forest_bench.sh [--rows N] [--runs K] [--threads T] [--trees N] [--keep DIR]
#
# Both read the same binary inputs, so parsing is not timed: ours around forest_train() in
# bench/gbdt_bench.c (binning included), scikit-learn's around fit(). The table shows the
# fastest of K alternating runs (default 3), AUC on the test rows and predict throughput.
set -euo pipefail

cd "$(dirname "$0")/.."
ROWS=100000
RUNS=3
THREADS=2
TREES=100
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --trees) TREES=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--runs K] [--threads T] [--trees N] [--keep DIR]" >&2; exit 2 ;;
    esac
done

PY=/usr/bin/python3
DATA=${AIOPS_DATA_DIR:-../shared/data}
[ -d "$DATA" ] || DATA=/work/shared/data
if [ -n "$KEEP" ]; then
    DIR=$KEEP
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d /tmp/aiops-forest-bench.XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi

make -s build/rel/libaiops.a
LIBS="-Wl,--as-needed -lopenblas -ljansson -lcrypto -lpthread -lm"
gcc -std=c11 -O2 -D_GNU_SOURCE -Ilib -o "$DIR/gbdt_bench" bench/gbdt_bench.c build/rel/libaiops.a $LIBS

[ -s "$DIR/higgs_train.bin" ] || "$PY" bench/gbdt_data.py higgs "$DIR" "$DATA"
[ -s "$DIR/rf_train.bin" ] ||
    "$PY" bench/gbdt_data.py synth "$DIR" --rows "$ROWS" --cols 30 --seed 7 --name rf

PARAMS="model=rf trees=$TREES threads=$THREADS objective=binary"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   parameters: $PARAMS"

# The machine is shared: before each run wait (up to 2 minutes) until the CPUs were at
# least 90% idle over 2 seconds, and say when a run had to start on a busy machine.
wait_idle() {
    local end=$((SECONDS + 120)) a b busy idle
    while [ $SECONDS -lt $end ]; do
        read -r -a a < /proc/stat
        sleep 2
        read -r -a b < /proc/stat
        busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[6]+a[7]+a[8]) ))
        idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
        [ $((100 * idle / (busy + idle + 1))) -ge 90 ] && return 0
    done
    echo "warning: the machine stayed busy; the next run shares the CPUs" >&2
}

bench() {
    local name=$1 res="$DIR/$1.rf.results"
    : > "$res"
    for i in $(seq "$RUNS"); do
        wait_idle
        "$DIR/gbdt_bench" "$DIR/${name}_train.bin" "$DIR/${name}_test.bin" $PARAMS >> "$res"
        wait_idle
        "$PY" bench/gbdt_xgb.py "$DIR/${name}_train.bin" "$DIR/${name}_test.bin" $PARAMS >> "$res"
    done
    "$PY" - "$res" "$name" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def best(impl):
    rs = [r for r in rows if r["impl"] == impl]
    times = sorted(r["train_s"] for r in rs)
    return (min(times), times[len(times) // 2], max(r["predict_rows_per_s"] for r in rs),
            rs[0]["auc"])
a, s = best("aiops"), best("sklearn")
print(f"{sys.argv[2]:6s}  aiops    fit {a[0]:8.3f} s (median {a[1]:.3f})  AUC {a[3]:.6f}  "
      f"predict {a[2]:>10,.0f} rows/s")
print(f"{'':6s}  sklearn  fit {s[0]:8.3f} s (median {s[1]:.3f})  AUC {s[3]:.6f}  "
      f"predict {s[2]:>10,.0f} rows/s")
print(f"{'':6s}  ratio    fit {a[0] / s[0]:.2f}x scikit-learn's time   AUC {a[3] - s[3]:+.6f}   "
      f"predict {a[2] / s[2]:.2f}x")
EOF
}

bench higgs
bench rf
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
