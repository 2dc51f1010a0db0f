#!/usr/bin/env bash
# Replay benchmark: throughput (MB/s, packets/s) and peak RSS of
# `plainsight replay --format json` with canary search on, next to
# `ndpiReader -i FILE -q` and `tshark -r FILE -q -z conv,tcp` when installed.
#
#   bench/replay.sh [SIZE_MIB ...]        default: 200 1024
#
# Captures are generated once into $BENCH_DIR (default ./bench-out, ignored by git)
# by `cargo run --release --example gen_bench_capture`. Each tool runs $RUNS times
# (default 3) on a warm page cache; the best wall time is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-bench-out}
runs=${RUNS:-3}
canary=PS-OBWGC2LOONUWO2DU4
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(200 1024)

cargo build --release --quiet --bin plainsight --example gen_bench_capture
bin=target/release/plainsight

# Prints "seconds peak_rss_kib" of the best of $runs runs.
measure() {
    local best_t="" best_m=""
    for _ in $(seq "$runs"); do
        local out
        /usr/bin/time -o "$dir/.time" -f "%e %M" "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$dir/.time")
        local t=${out% *} m=${out#* }
        if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
        if [ -z "$best_m" ] || [ "$m" -gt "$best_m" ]; then best_m=$m; fi
    done
    echo "$best_t $best_m"
}

row() {
    local name=$1 bytes=$2 packets=$3 t=$4 m=$5
    awk -v n="$name" -v b="$bytes" -v p="$packets" -v t="$t" -v m="$m" 'BEGIN {
        if (t <= 0) t = 0.001;
        printf "  %-34s %8.2f s %9.1f MB/s %9.0f kpkt/s %8.1f MiB peak RSS\n", n, t, b / t / 1e6, p / t / 1e3, m / 1024 }'
}

for size in "${sizes[@]}"; do
    cap="$dir/mixed-$size.pcap"
    if [ ! -f "$cap" ]; then
        target/release/examples/gen_bench_capture "$cap" "$size" "$canary"
    fi
    bytes=$(stat -c %s "$cap")
    # Packet count from our own report (the capture is ours, the count is exact).
    packets=$("$bin" replay "$cap" --format json --canary "$canary" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stats"]["packets"])')
    echo "== $cap: $((bytes / 1048576)) MiB, $packets packets ($(nproc) cores, $(uname -m))"
    read -r t m < <(measure "$bin" replay "$cap" --format json --canary "$canary")
    row "plainsight replay (1 canary)" "$bytes" "$packets" "$t" "$m"
    read -r t m < <(measure "$bin" replay "$cap" --format json)
    row "plainsight replay (no canary)" "$bytes" "$packets" "$t" "$m"
    if command -v ndpiReader >/dev/null; then
        read -r t m < <(measure ndpiReader -i "$cap" -q)
        row "ndpiReader -q" "$bytes" "$packets" "$t" "$m"
    fi
    if command -v tshark >/dev/null; then
        read -r t m < <(measure tshark -r "$cap" -q -z conv,tcp)
        row "tshark -q -z conv,tcp" "$bytes" "$packets" "$t" "$m"
    fi
done
