#!/usr/bin/env python3
"""Reference for issue 10: scikit-learn TF-IDF (char 1-3) + LogisticRegression on nsmc5.

    bench/sentiment_sklearn.py [DATA_DIR] [SOLVER]   (defaults ../shared/data/korean/nsmc5, lbfgs)

Prints one JSON line: accuracy on nsmc5_test, fit seconds (the vectorizer's fit_transform and
the classifier's fit; reading the files excluded), and the configuration. Of the solvers
tried, saga was the fastest here at the same accuracy (bench/RESULTS.md, issue 10);
bench/sentiment_bench.sh runs both saga and lbfgs and compares with the faster.
"""
import csv, json, sys, time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/korean/nsmc5"
solver = sys.argv[2] if len(sys.argv) > 2 else "lbfgs"


def read(path):
    texts, stars = [], []
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(r)
        for row in r:
            texts.append(row[1])
            stars.append(int(row[3]))
    return texts, stars


tr_x, tr_y = read(f"{data}/nsmc5_train.tsv")
te_x, te_y = read(f"{data}/nsmc5_test.tsv")
t0 = time.perf_counter()
vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
X = vec.fit_transform(tr_x)
clf = LogisticRegression(solver=solver, max_iter=1000, n_jobs=2)
clf.fit(X, tr_y)
fit_s = time.perf_counter() - t0
acc = float((clf.predict(vec.transform(te_x)) == te_y).mean())
print(json.dumps({"accuracy": round(acc, 4), "fit_seconds": round(fit_s, 2),
                  "features": X.shape[1], "solver": solver, "n_jobs": 2,
                  "vectorizer": "TfidfVectorizer(analyzer='char', ngram_range=(1,3), sublinear_tf=True)",
                  "classifier": f"LogisticRegression(solver='{solver}', max_iter=1000, n_jobs=2)"}))
