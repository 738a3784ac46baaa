#!/usr/bin/python3
"""The data and the scikit-learn side of bench/kmeans_bench.sh.

    kmeans_bench.py data FILE ROWS COLS SEED   writes a seeded blob mixture (8 centres,
                                               unequal spreads) as raw float64, row-major
    kmeans_bench.py sklearn FILE ROWS COLS K N_INIT THREADS SEED ALGORITHM
                                               times KMeans.fit (its own k-means++) on it;
                                               prints one JSON line
    kmeans_bench.py sklearn-from FILE ROWS COLS K THREADS CENTRES ALGORITHM
                                               times KMeans(init=CENTRES, n_init=1).fit:
                                               Lloyd or Elkan alone from the K x COLS raw
                                               float64 centres our side wrote
    kmeans_bench.py summary RESULTS            the tables of bench/kmeans_bench.sh from
                                               its "run S MODE SIDE {json}" lines"""
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


def sklearn_fit(path, rows, cols, k, threads, algorithm, init, n_init, seed):
    from threadpoolctl import threadpool_limits
    import numpy as np
    from sklearn.cluster import KMeans
    x = np.fromfile(path, dtype="<f8").reshape(rows, cols)
    if init != "k-means++":
        init = np.fromfile(init, dtype="<f8").reshape(k, cols)
    with threadpool_limits(limits=threads):
        km = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=300, tol=1e-4,
                    random_state=seed, algorithm=algorithm)
        t0, c0 = time.perf_counter(), time.process_time()
        km.fit(x)
        t1, c1 = time.perf_counter(), time.process_time()
    print(json.dumps({"seconds": round(t1 - t0, 4), "cpu_seconds": round(c1 - c0, 4),
                      "inertia": float(km.inertia_),
                      "iterations": int(km.n_iter_)}))


def summary(path):
    """One markdown table per mode: per run each side's wall seconds (CPU seconds,
    iterations), the inertia of ours against scikit-learn's nearest, and ours over the
    faster scikit-learn algorithm, by wall and by CPU time."""
    runs = {}
    for line in open(path):
        head, _, js = line.partition("{")
        words = head.split()
        run, mode, side = int(words[1]), words[2], " ".join(words[3:])
        runs.setdefault(mode, {}).setdefault(run, {})[side] = json.loads("{" + js)
    for mode in ("same", "independent"):
        if mode not in runs:
            continue
        sides = ["ours", "ours plain", "sklearn lloyd", "sklearn elkan"]
        sides = [s for s in sides if any(s in r for r in runs[mode].values())]
        print(f"\n{mode} start:\n")
        print("| run | " + " | ".join(f"{s} s (cpu s, iter)" for s in sides) +
              " | inertia ours / sklearn (rel. diff) | ours / best sklearn: wall, cpu |")
        print("|---" * (len(sides) + 3) + "|")
        for run, r in sorted(runs[mode].items()):
            cells = [f"{r[s]['seconds']:.2f} ({r[s]['cpu_seconds']:.2f}, {r[s]['iterations']})"
                     for s in sides]
            sk = [r[s] for s in ("sklearn lloyd", "sklearn elkan") if s in r]
            ours = r["ours"]
            near = min(sk, key=lambda v: abs(v["inertia"] - ours["inertia"]))
            rel = (ours["inertia"] - near["inertia"]) / near["inertia"]
            wall = ours["seconds"] / min(v["seconds"] for v in sk)
            cpu = ours["cpu_seconds"] / min(v["cpu_seconds"] for v in sk)
            print(f"| {run} | " + " | ".join(cells) +
                  f" | {ours['inertia']:.2f} / {near['inertia']:.2f} ({rel:+.1e}) |"
                  f" {wall:.2f}, {cpu:.2f} |")


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "data":
        data(a[2], int(a[3]), int(a[4]), int(a[5]))
    elif a[1] == "sklearn":
        sklearn_fit(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[7]), a[9], "k-means++",
                    int(a[6]), int(a[8]))
    elif a[1] == "summary":
        summary(a[2])
    elif a[1] == "sklearn-from":
        sklearn_fit(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]), a[8], a[7], 1, 0)
    else:
        sys.exit(__doc__)
