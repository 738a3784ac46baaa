#!/bin/bash
# Neural networks: seconds per training epoch of our lib/algo/nn.c against PyTorch on the CPU
# (torch.set_num_threads(T)), same architecture, batch size, optimiser (Adam, lr 1e-3, BCE)
# and data (seeded, bench/nn_data.py):
#   tabseq: seed 000's TabularSeqModel -- LSTM 64 over 119 one-value steps, MLP (256, 128),
#           dropout 0.2 -- on 60,000 x 119 synthetic click data (~2% positives), batch 4096;
#   mlp:    MLP (256, 128) ReLU on 300,000 x 30, batch 512.
#
#   bench/nn_bench.sh [--epochs E] [--threads T] [--keep DIR] [--only tabseq|mlp]
#
# Each side trains E epochs (default 2) once; the table gives the median epoch's wall seconds
# (ours: between the per-epoch progress calls, the first including preprocessing; PyTorch's:
# the batch loop of each epoch) and process CPU seconds (all threads; on a shared machine the
# wall time depends on the neighbours), the ratios ours / PyTorch, and each side's training AUC
# after the last epoch (a check that both learned, not a comparison: one seed each).
set -euo pipefail

cd "$(dirname "$0")/.."
. bench/common.sh
EPOCHS=2 THREADS=2 KEEP="" ONLY=""
bench_options "--epochs E --threads T --keep DIR --only tabseq|mlp" "$@"
bench_workdir nn-bench
bench_build_driver bench/nn_bench.c "$DIR/nn_bench"

[ -s "$DIR/click_x.bin" ] || "$PY" bench/nn_data.py click "$DIR" --rows 60000 --cols 119 --seed 42
[ -s "$DIR/dense_x.bin" ] || "$PY" bench/nn_data.py dense "$DIR" --rows 300000 --cols 30 --seed 42

# median KEY JSON: the median of the JSON's list KEY
median() {
    "$PY" -c 'import json, statistics, sys; print("%.3f" % statistics.median(json.loads(sys.argv[2])[sys.argv[1]]))' "$1" "$2"
}
field() {
    "$PY" -c 'import json, sys; print("%.4f" % json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# one_case NAME KIND LSTM DROPOUT BATCH
one_case() {
    local name=$1 kind=$2 lstm=$3 dropout=$4 batch=$5 ours torch
    echo "load average before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    ours=$("$DIR/nn_bench" "$DIR" "$kind" "$lstm" 256,128 "$dropout" "$batch" "$EPOCHS" "$THREADS")
    torch=$("$PY" bench/nn_torch.py "$DIR" "$kind" --lstm "$lstm" --hidden 256,128 \
        --dropout "$dropout" --batch "$batch" --epochs "$EPOCHS" --threads "$THREADS")
    local so st co ct
    so=$(median epoch_seconds "$ours")
    st=$(median epoch_seconds "$torch")
    co=$(median epoch_cpu_seconds "$ours")
    ct=$(median epoch_cpu_seconds "$torch")
    printf "| %-6s | %8s s | %8s s | %5.3fx | %8s s | %8s s | %5.3fx | %.4f | %.4f |\n" \
        "$name" "$so" "$st" "$("$PY" -c "print($so / $st)")" "$co" "$ct" \
        "$("$PY" -c "print($co / $ct)")" "$(field "$ours" train_auc)" "$(field "$torch" train_auc)"
}

echo "| model  | ours wall  | torch wall | ratio  | ours CPU   | torch CPU  | ratio  | our AUC | torch AUC |"
echo "|--------|------------|------------|--------|------------|------------|--------|---------|-----------|"
[ "$ONLY" = "mlp" ] || one_case tabseq click 64 0.2 4096
[ "$ONLY" = "tabseq" ] || one_case mlp dense 0 0 512
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
