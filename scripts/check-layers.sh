#!/bin/sh
# check-layers.sh -- lib/ is built in layers whose dependencies run one way; this fails when
# a file includes a header of a layer it may not use (or of a folder that is not a layer).
#
#   core   err, buf, array, log, JSON, numbers, time, env, encodings, crypto, pool, rand, bytes
#   math   sort, stats                         (core)
#   http   url, multipart, jwt, prom           (core)
#   data   table, csv, ingest, colstore, ...   (core math)
#   algo   binning, tree, the learners         (core math data)
#   text   normalise, lexicons, featurizer     (core math data)
#   ml     features, model, train, eval, ...   (core math data algo text)
#   store  db, kv, jobs, datasets, registry    (core math data algo text ml)
#   rpc    envelope, routes, svc               (core http store)
#   report inputs, writer, rewriter, PDF, card (core math http data algo text ml)
#
# Usage: scripts/check-layers.sh [lib-dir]    exits 1 and names each offending include.
set -eu
LIB="${1:-$(dirname "$0")/../lib}"

allowed() {
  case "$1" in
    core) echo "core" ;;
    math) echo "core math" ;;
    http) echo "core http" ;;
    data) echo "core math data" ;;
    algo) echo "core math data algo" ;;
    text) echo "core math data text" ;;
    ml) echo "core math data algo text ml" ;;
    store) echo "core math data algo text ml store" ;;
    rpc) echo "core http store rpc" ;;
    report) echo "core math http data algo text ml report" ;;
    *) echo "" ;;
  esac
}

bad=0
for dir in "$LIB"/*/; do
  layer=$(basename "$dir")
  ok=$(allowed "$layer")
  if [ -z "$ok" ]; then
    echo "lib/$layer/: not a layer (add it to scripts/check-layers.sh)"
    bad=1
    continue
  fi
  for f in "$dir"*.c "$dir"*.h; do
    [ -e "$f" ] || continue
    # every project include names its folder: "layer/name.h"
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
      case "$inc" in
        */*) used=${inc%%/*} ;;
        aiops.pb-c.h) used=rpc ;; # generated from proto/, part of the rpc layer
        *)
          echo "lib/$layer/$(basename "$f"): #include \"$inc\" does not name its layer folder"
          bad=1
          continue
          ;;
      esac
      case " $ok " in
        *" $used "*) ;;
        *)
          echo "lib/$layer/$(basename "$f"): includes $inc, but $layer may use only: $ok"
          bad=1
          ;;
      esac
    done
  done
done
for f in "$LIB"/*.c "$LIB"/*.h; do
  [ -e "$f" ] && { echo "lib/$(basename "$f"): every file of lib/ belongs to a layer folder"; bad=1; }
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
