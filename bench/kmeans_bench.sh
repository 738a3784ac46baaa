#!/bin/bash
# k-means fit time: our kmeans_fit (lib/algo/kmeans.c) against scikit-learn's KMeans on the
# same seeded 1,000,000 x 30 blob mixture (bench/kmeans_bench.py), k = 8, the same n_init,
# max_iter 300, tol 1e-4, 2 threads on both sides (threadpoolctl for scikit-learn), and
# scikit-learn's faster algorithm of "lloyd" and "elkan" (both are run and shown). Inertia
# is printed beside each time: the comparison holds at equal inertia (within 0.5%).
#
#   bench/kmeans_bench.sh [--rows N] [--runs K] [--n-init N] [--keep DIR]
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS=1000000 RUNS=3 N_INIT=1 KEEP=""
bench_options "--rows N --runs K --n-init N --keep DIR" "$@"
PY=${PY:-/usr/bin/python3}
COLS=30 K=8 THREADS=2
bench_workdir kmeans-bench
bench_build_driver bench/kmeans_bench.c "$DIR/kmeans_bench"
DATA="$DIR/blobs_${ROWS}x${COLS}.f64"
[ -s "$DATA" ] || "$PY" bench/kmeans_bench.py data "$DATA" "$ROWS" "$COLS" 42

echo "rows=$ROWS cols=$COLS k=$K n_init=$N_INIT threads=$THREADS runs=$RUNS (seed s = run)"
for s in $(seq "$RUNS"); do
    ours=$("$DIR/kmeans_bench" "$DATA" "$ROWS" "$COLS" "$K" "$N_INIT" "$THREADS" "$s")
    lloyd=$("$PY" bench/kmeans_bench.py sklearn "$DATA" "$ROWS" "$COLS" "$K" "$N_INIT" "$THREADS" "$s" lloyd)
    elkan=$("$PY" bench/kmeans_bench.py sklearn "$DATA" "$ROWS" "$COLS" "$K" "$N_INIT" "$THREADS" "$s" elkan)
    echo "run $s  ours $ours"
    echo "run $s  sklearn lloyd $lloyd"
    echo "run $s  sklearn elkan $elkan"
done
