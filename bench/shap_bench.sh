#!/bin/bash
# TreeSHAP: `aiops shap` (the whole process: reading the model and the CSV, the values,
# writing the CSV) against XGBoost 1.7.4's Booster.predict(pred_contribs=True) (the call
# alone, its rows already in a DMatrix), 10,000 rows of a 100-tree depth-6 binary model,
# both on 2 threads. The model is XGBoost's, imported with `aiops import-xgboost`, so both
# explain the same trees; the largest difference between the two outputs is printed.
#
#   bench/shap_bench.sh [--rows N] [--rounds R] [--depth D] [--threads T] [--runs K] [--keep DIR]
#
# Wall and CPU seconds (user + sys) of the fastest of K alternating runs (default 3): this
# machine is shared, so the CPU time is the steadier number; the load average is printed.
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS=10000 ROUNDS=100 DEPTH=6 THREADS=2 RUNS=3 KEEP=""
bench_options "--rows N --rounds R --depth D --threads T --runs K --keep DIR" "$@"
bench_workdir shap-bench
make -s bin/aiops

bench_inputs binary.json "$PY" tests/unit/ref/xgb_reference.py "$DIR" --rows "$ROWS" \
    --rounds "$ROUNDS" --depth "$DEPTH" --only binary --threads "$THREADS" --no-contribs >/dev/null
bin/aiops import-xgboost "$DIR/binary.json" --out "$DIR/binary.aiops" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   $ROWS rows, $ROUNDS trees of" \
    "depth $DEPTH, $THREADS threads"

best_ours_wall="" best_ours_cpu="" best_xgb_wall="" best_xgb_cpu=""
for ((run = 0; run < RUNS; run++)); do
    read -r w u s < <( { /usr/bin/time -f "%e %U %S" bin/aiops shap "$DIR/binary.aiops" \
        "$DIR/binary.csv" --threads "$THREADS" --out "$DIR/ours.csv" 2>&1 >/dev/null; } | tail -1)
    c=$(echo "$u + $s" | bc)
    read -r xw xc < <("$PY" bench/shap_xgb.py "$DIR" "$THREADS")
    echo "run $run: aiops shap ${w}s wall ${c}s cpu; xgboost pred_contribs ${xw}s wall ${xc}s cpu"
    if [ -z "$best_ours_wall" ] || (($(echo "$w < $best_ours_wall" | bc))); then best_ours_wall=$w; fi
    if [ -z "$best_ours_cpu" ] || (($(echo "$c < $best_ours_cpu" | bc))); then best_ours_cpu=$c; fi
    if [ -z "$best_xgb_wall" ] || (($(echo "$xw < $best_xgb_wall" | bc))); then best_xgb_wall=$xw; fi
    if [ -z "$best_xgb_cpu" ] || (($(echo "$xc < $best_xgb_cpu" | bc))); then best_xgb_cpu=$xc; fi
done
diff=$("$PY" -c "
import numpy as np
a = np.loadtxt('$DIR/ours.csv', delimiter=',', skiprows=1)
b = np.fromfile('$DIR/binary.contrib.f64').reshape(a.shape)
print('%.3g' % abs(a - b).max())")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "| %-34s | %8s | %8s |\n" "" "wall s" "cpu s"
printf "| %-34s | %8s | %8s |\n" "aiops shap (whole process)" "$best_ours_wall" "$best_ours_cpu"
printf "| %-34s | %8s | %8s |\n" "xgboost pred_contribs (call)" "$best_xgb_wall" "$best_xgb_cpu"
printf "| %-34s | %8.3f | %8.3f |\n" "ratio ours / xgboost (goal <= 0.3)" \
    "$(echo "$best_ours_wall / $best_xgb_wall" | bc -l)" "$(echo "$best_ours_cpu / $best_xgb_cpu" | bc -l)"
echo "max |ours - pred_contribs| = $diff"
