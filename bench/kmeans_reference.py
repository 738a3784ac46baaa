#!/usr/bin/python3
"""The scikit-learn side of tests/unit/test_kmeans.c: KMeans on iris and wine, standardised
(StandardScaler, as lib/ml/learn_kmeans.c scales numerics), k = 3, n_init = 10, and its
adjusted Rand index and NMI against the species / cultivar. The numbers are copied into the
test with this command:

    /usr/bin/python3 bench/kmeans_reference.py /work/shared/data

The ARI is a mean over 10 random_state values, so the reference does not hang on one
lucky seed; the test holds ours within 0.02 of it."""
import sys

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler

DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
SETS = [("iris", "sklearn_iris/iris.csv", "species"), ("wine", "sklearn_wine/wine.csv", "cultivar")]

for name, rel, target in SETS:
    df = pd.read_csv(f"{DATA}/{rel}")
    y = df[target].astype(str).values
    x = StandardScaler().fit_transform(df.drop(columns=[target]).values.astype(np.float64))
    aris, nmis, inertias = [], [], []
    for seed in range(10):
        km = KMeans(n_clusters=3, n_init=10, random_state=seed).fit(x)
        aris.append(adjusted_rand_score(y, km.labels_))
        nmis.append(normalized_mutual_info_score(y, km.labels_))
        inertias.append(km.inertia_)
    print(f"{name}: ari {np.mean(aris):.4f} nmi {np.mean(nmis):.4f} "
          f"inertia {np.min(inertias):.4f}")
