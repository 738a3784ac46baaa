#!/bin/bash
# Logistic regression fit time: our linear_train (L-BFGS, standardisation included) against
# scikit-learn's LogisticRegression(solver="lbfgs") with the same C (= 1 / l2), max_iter
# and tol on inputs it gets already standardised (StandardScaler, timed apart), on
# lightgbm_higgs_binary (7,000 rows x 28) and on a seeded 1,000,000 x 30 synthetic set.
#
#   bench/linear_bench.sh [--rows N] [--runs K] [--c C] [--max-iter N] [--keep DIR]
#
# Inputs are written by bench/linear_data.py into a temporary directory (or DIR, reused
# when it already holds them; never the repository). Each side runs K times (default 3);
# the table gives median wall and CPU seconds of the fit, iterations, and test AUC /
# accuracy of both, and the wall-time ratio.
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS=1000000 RUNS=3 C=1.0 MAX_ITER=100 TOL=1e-4 KEEP=""
bench_options "--rows N --runs K --c C --max-iter N --keep DIR" "$@"
DATA_DIR=$(bench_data_dir)
bench_workdir linear-bench
bench_build_driver bench/linear_bench.c "$DIR/linear_bench"

bench_inputs lsynth_train.bin "$PY" bench/linear_data.py synth "$DIR" --rows "$ROWS"
bench_inputs higgs_train.bin "$PY" bench/linear_data.py higgs "$DIR" "$DATA_DIR"
L2=$("$PY" -c "print(1.0 / float('$C'))")

# runs a side RUNS times; prints the median of each field as one JSON object
median_runs() {
    local out
    out=$(for _ in $(seq "$RUNS"); do "$@"; done)
    "$PY" -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
print(json.dumps({k: statistics.median(r[k] for r in rows) for k in rows[0]}))' <<<"$out"
}

printf "| data | ours: fit wall / CPU s | iterations | AUC | accuracy | scikit-learn: fit wall / CPU s (+ StandardScaler) | iterations | AUC | accuracy | speed-up (wall) |\n"
printf "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
for name in higgs lsynth; do
    ours=$(median_runs "$DIR/linear_bench" "$DIR/${name}_train.bin" "$DIR/${name}_test.bin" \
        "l2=$L2" "max_iter=$MAX_ITER" "tol=$TOL")
    sk=$(median_runs "$PY" bench/linear_data.py sklearn "$DIR/${name}_train.bin" \
        "$DIR/${name}_test.bin" "$C" "$MAX_ITER" "$TOL")
    "$PY" -c '
import json, sys
name, o, s = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
label = {"higgs": "lightgbm_higgs_binary 7,000 x 28", "lsynth": "synthetic %s x 30"}[name]
if name == "lsynth":
    label = label % format(int(sys.argv[4]), ",")
print("| %s | %.3f / %.3f | %d | %.4f | %.4f | %.3f / %.3f (+ %.3f) | %d | %.4f | %.4f | %.1fx |" % (
    label, o["train_s"], o["train_cpu_s"], o["iterations"], o["auc"], o["accuracy"],
    s["train_s"], s["train_cpu_s"], s["scale_s"], s["iterations"], s["auc"], s["accuracy"],
    s["train_s"] / o["train_s"]))' "$name" "$ours" "$sk" "$ROWS"
done
