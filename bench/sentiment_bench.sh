#!/bin/sh
# sentiment_bench.sh -- issue 10: training the 5-point Korean sentiment model on nsmc5, ours
# (bin/aiops train --model linear on the review text) against scikit-learn's
# TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True) +
# LogisticRegression (bench/sentiment_sklearn.py; solvers saga and lbfgs, n_jobs=2).
# Goal: accuracy >= scikit-learn's, wall time <= 0.25x its best.
#
#   bench/sentiment_bench.sh [DATA_DIR]    (default ../shared/data/korean/nsmc5)
#
# Each side's time is the wall time of featurizing + fitting the 60,000 training reviews
# (ours: the whole `aiops train` process, reading the TSV included; scikit-learn's: the
# vectorizer's fit_transform and the classifier's fit, reading excluded). Accuracy is on the
# 15,000 test reviews. Run on an idle machine: both sides use 2 threads.
set -eu
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data/korean/nsmc5}"
[ -f "$DATA/nsmc5_train.tsv" ] || { echo "no $DATA/nsmc5_train.tsv" >&2; exit 1; }
[ -x bin/aiops ] || make -j2 bin/aiops
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for solver in saga lbfgs; do
    /usr/bin/python3 bench/sentiment_sklearn.py "$DATA" "$solver" | tee "$OUT/sk_$solver.json"
done

t0=$(date +%s.%N)
bin/aiops train "$DATA/nsmc5_train.tsv" --target star --model linear \
    --param exclude=id,rating --param lambda=1 --param max_iter=100 --param seed=1 \
    --param threads=2 --out "$OUT/ours.aiops" >/dev/null 2>&1
t1=$(date +%s.%N)
acc=$(bin/aiops eval "$OUT/ours.aiops" "$DATA/nsmc5_test.tsv" |
      /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["accuracy"], 4))')
/usr/bin/python3 - "$OUT" "$t0" "$t1" "$acc" <<'PY'
import json, sys
out, t0, t1, acc = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ours = t1 - t0
sk = {s: json.load(open(f"{out}/sk_{s}.json")) for s in ("saga", "lbfgs")}
best = min(sk.values(), key=lambda r: r["fit_seconds"])
print(json.dumps({"ours": {"accuracy": acc, "train_seconds": round(ours, 2)},
                  "sklearn_best": {"solver": best["solver"], "accuracy": best["accuracy"],
                                   "fit_seconds": best["fit_seconds"]},
                  "time_ratio": round(ours / best["fit_seconds"], 3),
                  "accuracy_goal_met": acc >= best["accuracy"],
                  "time_goal_met": ours <= 0.25 * best["fit_seconds"]}))
PY
