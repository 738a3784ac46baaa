#!/bin/bash
# k-means fit time: our lib/algo/kmeans.c against scikit-learn's KMeans on the same seeded
# 1,000,000 x 30 blob mixture (bench/kmeans_bench.py), k = 8, max_iter 300, tol 1e-4,
# 2 threads on both sides (threadpoolctl for scikit-learn), both of scikit-learn's
# algorithms ("lloyd" and "elkan"). Two comparisons, seed s in run s:
#
#   same start (--mode same): our k-means++ picks the centres once (seed s) and writes them
#     to a file; then ours (Hamerly's bounds, as shipped), ours with plain_lloyd, and
#     scikit-learn's Lloyd and Elkan with init=those centres, n_init=1, each time Lloyd
#     alone from that start. All four should reach the same optimum in the same number of
#     iterations: the like-for-like comparison.
#   independent (--mode independent): kmeans_fit with its own k-means++ against KMeans with
#     its own (seeding included in the time); n_init restarts. Different draws can end in
#     different optima: compare the inertia beside the time.
#
# Each side prints wall seconds, CPU seconds (all threads: the steadier figure on a shared
# machine), inertia and iterations; a table per mode follows, with the load average.
#
#   bench/kmeans_bench.sh [--rows N] [--runs K] [--n-init N] [--mode both|same|independent]
#                         [--keep DIR]
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
ROWS=1000000 RUNS=3 N_INIT=1 MODE=both KEEP=""
bench_options "--rows N --runs K --n-init N --mode M --keep DIR" "$@"
case $MODE in both | same | independent) ;; *)
    echo "--mode: both, same or independent" >&2
    exit 2
    ;;
esac
PY=${PY:-/usr/bin/python3}
COLS=30 K=8 THREADS=2
bench_workdir kmeans-bench
bench_build_driver bench/kmeans_bench.c "$DIR/kmeans_bench"
DATA="$DIR/blobs_${ROWS}x${COLS}.f64"
[ -s "$DATA" ] || "$PY" bench/kmeans_bench.py data "$DATA" "$ROWS" "$COLS" 42
OUT="$DIR/results.txt"
: >"$OUT"

# record RUN MODE SIDE JSON: prints the line and keeps it for the tables
record() {
    echo "run $1  $2  $3  $4" | tee -a "$OUT"
}

echo "rows=$ROWS cols=$COLS k=$K threads=$THREADS runs=$RUNS mode=$MODE (seed s = run)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $(seq "$RUNS"); do
    if [ "$MODE" != independent ]; then
        CENTRES="$DIR/centres_$s.f64"
        record "$s" same "ours k-means++" \
            "$("$DIR/kmeans_bench" seeds "$DATA" "$ROWS" "$COLS" "$K" "$THREADS" "$s" "$CENTRES")"
        record "$s" same ours "$("$DIR/kmeans_bench" from "$DATA" "$ROWS" "$COLS" "$K" \
            "$THREADS" "$CENTRES" bounded)"
        record "$s" same "ours plain" "$("$DIR/kmeans_bench" from "$DATA" "$ROWS" "$COLS" "$K" \
            "$THREADS" "$CENTRES" plain)"
        for alg in lloyd elkan; do
            record "$s" same "sklearn $alg" "$("$PY" bench/kmeans_bench.py sklearn-from "$DATA" \
                "$ROWS" "$COLS" "$K" "$THREADS" "$CENTRES" "$alg")"
        done
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    fi
    if [ "$MODE" != same ]; then
        record "$s" independent ours "$("$DIR/kmeans_bench" fit "$DATA" "$ROWS" "$COLS" "$K" \
            "$N_INIT" "$THREADS" "$s")"
        for alg in lloyd elkan; do
            record "$s" independent "sklearn $alg" "$("$PY" bench/kmeans_bench.py sklearn \
                "$DATA" "$ROWS" "$COLS" "$K" "$N_INIT" "$THREADS" "$s" "$alg")"
        done
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    fi
done
"$PY" bench/kmeans_bench.py summary "$OUT"
