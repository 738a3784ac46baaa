# trees_common.sh -- what bench/gbdt_bench.sh and bench/forest_bench.sh share beyond
# bench/common.sh; sourced after it. The functions use DIR, PY, RUNS and PARAMS.

# Builds the C driver (bench/gbdt_bench.c) against the release library into $DIR.
trees_build_driver() {
    bench_build_driver bench/gbdt_bench.c "$DIR/gbdt_bench"
}

# The machine is shared: before each run wait (up to 2 minutes) until the CPUs were at
# least 90% idle over 2 seconds, and say when a run had to start on a busy machine.
wait_idle() {
    local end=$((SECONDS + 120)) a b busy idle
    while [ $SECONDS -lt $end ]; do
        read -r -a a < /proc/stat
        sleep 2
        read -r -a b < /proc/stat
        busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[6]+a[7]+a[8]) ))
        idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
        [ $((100 * idle / (busy + idle + 1))) -ge 90 ] && return 0
    done
    echo "warning: the machine stayed busy; the next run shares the CPUs" >&2
}

# trees_bench NAME PEER_IMPL PEER_SHORT PEER_NAME VERB: runs ours and the peer
# (bench/gbdt_xgb.py) RUNS times, alternating, on $DIR/NAME_{train,test}.bin and prints the
# summary rows: fastest and median time, AUC, best predict throughput, ratios.
trees_bench() {
    local name=$1 res="$DIR/$1.$2.results"
    : > "$res"
    for i in $(seq "$RUNS"); do
        wait_idle
        "$DIR/gbdt_bench" "$DIR/${name}_train.bin" "$DIR/${name}_test.bin" $PARAMS >> "$res"
        wait_idle
        "$PY" bench/gbdt_xgb.py "$DIR/${name}_train.bin" "$DIR/${name}_test.bin" $PARAMS >> "$res"
    done
    "$PY" - "$res" "$@" <<'PYEOF'
import json, sys
res, name, impl, short, peer, verb = sys.argv[1:7]
rows = [json.loads(l) for l in open(res) if l.startswith("{")]
def best(which):
    rs = [r for r in rows if r["impl"] == which]
    times = sorted(r["train_s"] for r in rs)
    return (min(times), times[len(times) // 2], max(r["predict_rows_per_s"] for r in rs),
            rs[0]["auc"])
a, p = best("aiops"), best(impl)
w = max(len(short), 5)
for label, r in (("aiops", a), (short, p)):
    print(f"{name if label == 'aiops' else '':6s}  {label:{w}s}  {verb:5s} {r[0]:8.3f} s "
          f"(median {r[1]:.3f})  AUC {r[3]:.6f}  predict {r[2]:>12,.0f} rows/s")
print(f"{'':6s}  {'ratio':{w}s}  {verb:5s} {a[0] / p[0]:.2f}x {peer} time   "
      f"AUC {a[3] - p[3]:+.6f}   predict {a[2] / p[2]:.2f}x {peer} throughput")
PYEOF
}
