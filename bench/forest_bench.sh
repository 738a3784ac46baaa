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
. bench/common.sh
. bench/trees_common.sh
ROWS=100000 RUNS=3 THREADS=2 TREES=100 KEEP=""
bench_options "--rows N --runs K --threads T --trees N --keep DIR" "$@"
DATA=$(bench_data_dir)
bench_workdir forest-bench
trees_build_driver

[ -s "$DIR/higgs_train.bin" ] || "$PY" bench/gbdt_data.py higgs "$DIR" "$DATA"
[ -s "$DIR/rf_train.bin" ] ||
    "$PY" bench/gbdt_data.py synth "$DIR" --rows "$ROWS" --cols 30 --seed 7 --name rf

PARAMS="model=rf trees=$TREES threads=$THREADS objective=binary"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   parameters: $PARAMS"

trees_bench higgs sklearn sklearn "scikit-learn's" fit
trees_bench rf sklearn sklearn "scikit-learn's" fit
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
