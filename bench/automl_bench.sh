#!/bin/bash
# AutoML: `aiops automl` against Optuna 3.1 (TPESampler, seeded) tuning XGBoost 1.7 (hist,
# native categoricals) by 3-fold CV and refitting on every training row (bench/automl_optuna.py),
# and against our defaults (`aiops train`, gbdt, no parameters), on adult (its own test file),
# bank marketing, letter and diamonds (a seeded, stratified 80/20 split: bench/automl_split.py).
# Both AutoML sides get the same budget (default 60 s, counted from the CSV read to the model
# written, the refit included) and 2 threads; the test score is AUC (binary), accuracy
# (letter) or RMSE (diamonds) on the held-out rows: ours with `aiops eval`.
#
#   bench/automl_bench.sh [--budget S] [--seed N] [--only adult|bank|letter|diamonds] [--keep DIR]
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
BUDGET=60 SEED=1 ONLY="" KEEP=""
bench_options "--budget S --seed N --only NAME --keep DIR" "$@"
DATA=$(bench_data_dir)
bench_workdir automl-bench
make -s -j2 bin/aiops

# name  file  target  task  metric
SETS="adult|uci_adult/adult_train.csv|income|binary|auc
bank|uci_bank_marketing/bank.csv|y|binary|auc
letter|mlbench_letter_recognition/LetterRecognition.csv|lettr|multiclass|accuracy
diamonds|ggplot2_diamonds/diamonds.csv|price|regression|rmse"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   budget ${BUDGET}s, seed $SEED"
printf '| set | metric | aiops automl | Optuna + XGBoost | aiops train (defaults) | automl trials (pruned) / used s | Optuna trials (pruned) / used s |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
while IFS='|' read -r name file target task metric; do
    [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || continue
    tr="$DIR/$name.train.csv" te="$DIR/$name.test.csv"
    if [ "$name" = adult ]; then
        cp "$DATA/$file" "$tr"
        cp "$DATA/uci_adult/adult_test.csv" "$te"
    else
        "$PY" bench/automl_split.py "$DATA/$file" "$target" "$task" "$tr" "$te" "$SEED"
    fi
    ours=$(./bin/aiops automl "$tr" --target "$target" --budget "$BUDGET" --seed "$SEED" \
        --threads 2 --out "$DIR/$name.automl.aiops" --quiet | tail -1)
    ours_test=$(./bin/aiops eval "$DIR/$name.automl.aiops" "$te" | tail -1)
    ./bin/aiops train "$tr" --target "$target" --out "$DIR/$name.default.aiops" --quiet >/dev/null
    def_test=$(./bin/aiops eval "$DIR/$name.default.aiops" "$te" | tail -1)
    peer=$("$PY" bench/automl_optuna.py "$tr" "$te" "$target" "$task" "$BUDGET" "$SEED" | tail -1)
    # the answers go through files: a search of many trials writes a leaderboard larger than
    # one argument may be (128 KiB)
    for part in ours ours_test def_test peer; do
        printf '%s\n' "${!part}" >"$DIR/$name.$part.json"
    done
    "$PY" - "$name" "$metric" "$DIR/$name" <<'PY'
import json, sys
name, metric, stem = sys.argv[1:4]
o, ot, dt, p = (json.load(open(f"{stem}.{part}.json"))
                for part in ("ours", "ours_test", "def_test", "peer"))
lb = o["leaderboard"]
pruned = sum(1 for t in lb if t["pruned"])
print(f"| {name} | {metric} | {ot[metric]:.4f} | {p['test'][metric]:.4f} | {dt[metric]:.4f} "
      f"| {len(lb)} ({pruned}) / {o['budget_used_seconds']:.1f} "
      f"| {p['trials']} ({p['trials'] - p['complete']}) / {p['budget_used_seconds']:.1f} |")
ens = o["ensemble"]
print(f"<!-- {name}: best {o['best']['learner']} {json.dumps(o['best']['params'])}; ensemble kept "
      f"{ens['kept']} (too big for the budget: {ens.get('too_big_for_budget')}, refit {ens.get('refit')}) "
      f"{json.dumps(ens['members'])}; optuna best {json.dumps(p['best_params'])} -->")
PY
done <<<"$SETS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
