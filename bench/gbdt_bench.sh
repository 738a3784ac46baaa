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
. bench/common.sh
. bench/trees_common.sh
ROWS=1000000 RUNS=3 THREADS=2 ROUNDS=100 KEEP="" ONLY=""
bench_options "--rows N --runs K --threads T --rounds R --keep DIR --only higgs|synth" "$@"
DATA=$(bench_data_dir)
bench_workdir gbdt-bench
trees_build_driver

if [ "$ONLY" != "synth" ] && [ ! -s "$DIR/higgs_train.bin" ]; then
    "$PY" bench/gbdt_data.py higgs "$DIR" "$DATA"
fi
if [ "$ONLY" != "higgs" ] && [ ! -s "$DIR/synth_train.bin" ]; then
    echo "generating the synthetic set ($ROWS rows) into $DIR ..." >&2
    "$PY" bench/gbdt_data.py synth "$DIR" --rows "$ROWS" --cols 30 --seed 42
fi

PARAMS="rounds=$ROUNDS eta=0.1 max_depth=6 max_bin=256 lambda=1 min_child_weight=1 threads=$THREADS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   parameters: $PARAMS"

[ "$ONLY" = "synth" ] || trees_bench higgs xgboost xgb "XGBoost's" train
[ "$ONLY" = "higgs" ] || trees_bench synth xgboost xgb "XGBoost's" train
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
