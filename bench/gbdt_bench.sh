#!/bin/bash
# Gradient-boosted trees: our gbdt_train / gbdt_predict against XGBoost 1.7 (tree_method=hist)
# with the same parameters and threads, on HIGGS (lightgbm_higgs_binary, 7,000 rows) and a
# seeded synthetic binary set of 1,000,000 x 30 (bench/gbdt_data.py).
#
#   bench/gbdt_bench.sh [--rows N] [--runs K] [--threads T] [--rounds R] [--keep DIR]
#                       [--only higgs|synth]
#
# Both sides read the same binary inputs (written once into a temporary directory, or DIR),
# so CSV parsing is not timed: ours is timed around gbdt_train() in bench/gbdt_bench.c,
# XGBoost's around xgb.train() with the DMatrix built beforehand (bench/gbdt_xgb.py); each
# side's time includes its own binning (XGBoost sketches its cuts inside xgb.train).
# Parameters: rounds 100, eta 0.1, max_depth 6, max_bin 256, lambda 1, min_child_weight 1,
# threads 2. Each run alternates the two tools; the table shows the fastest of K runs
# (default 3), each started once the CPUs are idle (on a shared machine the minimum is the
# least disturbed), with AUC on the test rows and predict throughput (rows/s, both on the
# same threads: XGBoost's inplace_predict, our gbdt_predict_pool).
set -euo pipefail

cd "$(dirname "$0")/.."
ROWS=1000000
RUNS=3
THREADS=2
ROUNDS=100
KEEP=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--runs K] [--threads T] [--rounds R] [--keep DIR] [--only higgs|synth]" >&2; exit 2 ;;
    esac
done

PY=/usr/bin/python3
DATA=${AIOPS_DATA_DIR:-../shared/data}
[ -d "$DATA" ] || DATA=/work/shared/data
if [ -n "$KEEP" ]; then
    DIR=$KEEP
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d /tmp/aiops-gbdt-bench.XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi

make -s build/rel/libaiops.a
LIBS="-Wl,--as-needed -lopenblas -ljansson -lcrypto -lpthread -lm"
gcc -std=c11 -O2 -D_GNU_SOURCE -Ilib -o "$DIR/gbdt_bench" bench/gbdt_bench.c build/rel/libaiops.a $LIBS

if [ "$ONLY" != "synth" ] && [ ! -s "$DIR/higgs_train.bin" ]; then
    "$PY" bench/gbdt_data.py higgs "$DIR" "$DATA"
fi
if [ "$ONLY" != "higgs" ] && [ ! -s "$DIR/synth_train.bin" ]; then
    echo "generating the synthetic set ($ROWS rows) into $DIR ..." >&2
    "$PY" bench/gbdt_data.py synth "$DIR" --rows "$ROWS" --cols 30 --seed 42
fi

PARAMS="rounds=$ROUNDS eta=0.1 max_depth=6 max_bin=256 lambda=1 min_child_weight=1 threads=$THREADS"
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

# bench NAME: runs both tools RUNS times, alternating, and prints the summary row
bench() {
    local name=$1 res="$DIR/$1.results"
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
a, x = best("aiops"), best("xgboost")
print(f"{sys.argv[2]:6s}  aiops  train {a[0]:8.3f} s (median {a[1]:.3f})  AUC {a[3]:.6f}  "
      f"predict {a[2]:>12,.0f} rows/s")
print(f"{'':6s}  xgb    train {x[0]:8.3f} s (median {x[1]:.3f})  AUC {x[3]:.6f}  "
      f"predict {x[2]:>12,.0f} rows/s")
print(f"{'':6s}  ratio  train {a[0] / x[0]:.2f}x XGBoost's time   "
      f"AUC {a[3] - x[3]:+.6f}   predict {a[2] / x[2]:.2f}x XGBoost's throughput")
EOF
}

[ "$ONLY" = "synth" ] || bench higgs
[ "$ONLY" = "higgs" ] || bench synth
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
