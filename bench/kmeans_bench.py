#!/usr/bin/python3
"""The data and the scikit-learn side of bench/kmeans_bench.sh.

    kmeans_bench.py data FILE ROWS COLS SEED   writes a seeded blob mixture (8 centres,
                                               unequal spreads) as raw float64, row-major
    kmeans_bench.py sklearn FILE ROWS COLS K N_INIT THREADS SEED ALGORITHM
                                               times KMeans.fit on it; prints one JSON line"""
import json
import sys
import time


def data(path, rows, cols, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, size=(8, cols))  # overlapping: Lloyd needs tens of iterations
    which = rng.integers(0, 8, size=rows)
    spread = rng.uniform(0.5, 2.0, size=8)[which][:, None]
    x = centres[which] + rng.normal(0, 1, size=(rows, cols)) * spread
    x.astype("<f8").tofile(path)


def sklearn_fit(path, rows, cols, k, n_init, threads, seed, algorithm):
    from threadpoolctl import threadpool_limits
    import numpy as np
    from sklearn.cluster import KMeans
    x = np.fromfile(path, dtype="<f8").reshape(rows, cols)
    with threadpool_limits(limits=threads):
        km = KMeans(n_clusters=k, n_init=n_init, max_iter=300, tol=1e-4, random_state=seed,
                    algorithm=algorithm)
        t0 = time.perf_counter()
        km.fit(x)
        t1 = time.perf_counter()
    print(json.dumps({"seconds": round(t1 - t0, 4), "inertia": float(km.inertia_),
                      "iterations": int(km.n_iter_)}))


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "data":
        data(a[2], int(a[3]), int(a[4]), int(a[5]))
    else:
        sklearn_fit(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), int(a[7]), int(a[8]), a[9])
