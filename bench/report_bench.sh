#!/bin/bash
# report_bench.sh -- the PDF report: `aiops report MODEL DATA --pdf` (the whole process:
# reading the model and the data, predicting, measuring, writing the PDF with libharu)
# against ReportLab building the same pages from the same report (its time per PDF, fonts
# registered once). Goal: ours <= 0.2x ReportLab's time. Like for like is the PDF stage
# alone (bench/report_pdf_bench.c: the inputs computed once, then RUNS documents drawn, as
# svc-report draws them from a run's kept inputs); the whole process is printed too.
#
#   bench/report_bench.sh [--runs K] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
RUNS=5 KEEP=""
bench_options "--runs K --keep DIR" "$@"
DATA=$(bench_data_dir)/uci_adult
bench_workdir report
W=$DIR
FONT=/usr/share/fonts/truetype/nanum/NanumGothic.ttf
make -s -j2 all bench-drivers >/dev/null
bin/aiops train "$DATA/adult_train.csv" --target income --param rounds=100 --out "$W/adult.model" >/dev/null 2>&1
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
best=""
for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s.%N)
    bin/aiops report "$W/adult.model" "$DATA/adult_test.csv" --pdf "$W/ours.pdf" >"$W/report.json"
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    if [ -z "$best" ] || (($(echo "$t < $best" | bc))); then best=$t; fi
done
stage=$(build/rel/bench/report_pdf_bench "$W/adult.model" "$DATA/adult_test.csv" "$RUNS" "$W/stage.pdf")
peer=$($PY bench/report_reportlab.py "$W/report.json" "$W/reportlab.pdf" "$FONT" "$RUNS")
stage_mean=$(echo "$stage" | $PY -c 'import json,sys; print(json.load(sys.stdin)["pdf_mean_s"])')
echo "ours (whole aiops report process, 16,281 rows): best of $RUNS ${best}s, $(stat -c %s "$W/ours.pdf") bytes, $(pdfinfo "$W/ours.pdf" | awk '/^Pages/{print $2}') pages"
echo "reportlab (PDF only, mean of $RUNS): ${peer}s, $(stat -c %s "$W/reportlab.pdf") bytes"
echo "ours, PDF stage alone (mean of $RUNS): ${stage_mean}s ($stage)"
echo "ratio, PDF stage: $(echo "scale=3; $stage_mean / $peer" | bc)"
echo "ratio, whole process: $(echo "scale=3; $best / $peer" | bc)"
