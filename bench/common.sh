# common.sh -- what the benchmark scripts share; sourced from the repository's root (each
# script cds there first).

PY=/usr/bin/python3

# bench_options SPEC "$@": SPEC lists the options with a word for their value ("--rows N
# --runs K --keep DIR"); each option given sets the variable named after it (--rows -> ROWS,
# --max-iter -> MAX_ITER, --c -> C), to be given its default beforehand. Anything else
# prints the usage and exits 2.
bench_options() {
    local spec=$1 opt var usage="" words i
    shift
    read -r -a words <<<"$spec"
    for ((i = 0; i + 1 < ${#words[@]}; i += 2)); do
        usage+=" [${words[i]} ${words[i + 1]}]"
    done
    while [ $# -gt 0 ]; do
        opt=$1
        if [[ $opt != --* || " $spec " != *" $opt "* || $# -lt 2 ]]; then
            echo "usage: $0$usage" >&2
            exit 2
        fi
        var=${opt#--}
        var=${var//-/_}
        printf -v "${var^^}" '%s' "$2"
        shift 2
    done
}

# bench_data_dir: prints where the shared datasets are: $AIOPS_DATA_DIR when set, else
# ../shared/data beside the repository, else /work/shared/data.
bench_data_dir() {
    if [ -n "${AIOPS_DATA_DIR:-}" ]; then
        echo "$AIOPS_DATA_DIR"
    elif [ -d ../shared/data ]; then
        echo ../shared/data
    else
        echo /work/shared/data
    fi
}

# bench_workdir NAME: sets DIR to $KEEP (created if need be: its inputs are reused by the
# next run), or to a new temporary directory /tmp/aiops-NAME.XXXXXX removed on exit.
bench_workdir() {
    if [ -n "$KEEP" ]; then
        DIR=$KEEP
        mkdir -p "$DIR"
    else
        DIR=$(mktemp -d "/tmp/aiops-$1.XXXXXX")
        trap 'rm -rf "$DIR"' EXIT
    fi
}

# bench_inputs "FILE..." CMD...: runs CMD, which writes the FILEs into $DIR, unless $DIR already
# holds every one of them (non-empty: inputs a --keep directory kept from an earlier run).
bench_inputs() {
    local f
    for f in $1; do
        if [ ! -s "$DIR/$f" ]; then
            shift
            echo "generating $* ..." >&2
            "$@"
            return
        fi
    done
}

# bench_time OUT CMD...: runs CMD once under /usr/bin/time with its stdout into OUT (a non-zero
# exit is fine: `aiops drift` exits 1 when something drifted); prints "wall cpu rss_kb": wall
# and CPU (user + sys) seconds, peak RSS in kB.
bench_time() {
    local out=$1 log
    shift
    log=$(mktemp)
    /usr/bin/time -f "%e %U %S %M" -o "$log" "$@" >"$out" || true
    tail -n 1 "$log" | awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4}'
    rm -f "$log"
}

# bench_build_driver SRC OUT: builds a C driver in bench/ against the release library.
bench_build_driver() {
    make -s build/rel/libaiops.a
    gcc -std=c11 -O2 -g -pthread -D_GNU_SOURCE -Ilib -o "$2" "$1" build/rel/libaiops.a \
        -Wl,--as-needed -lopenblas -ljansson -lcrypto -lpthread -lm
}

# What a benchmark of the running stack needs before sourcing bench/stack.sh: wrk, the release
# build, and a fresh temporary directory in `tmp` (stack.sh removes it on exit).
bench_stack_prepare() {
    command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
    make -s all
    tmp=$(mktemp -d /tmp/aiops-bench.XXXXXX)
}
