#!/usr/bin/env bash
# TLS decryption benchmark: `plainsight replay --keylog` next to
# `tshark -o tls.keylog_file:K -q -z io,phs` on the same capture of real TLS
# sessions (rustls client and server, four suites, large downloads,
# Ethernet-size segments), with the AES limit of this machine for scale.
#
#   bench/tls.sh [SIZE_MIB]        default: 100
#
# The capture and its key log are generated once into $BENCH_DIR (default
# ./bench-out, ignored by git) by `cargo run --release --example
# gen_tls_capture`. Each tool runs $RUNS times (default 3); the best wall
# and CPU (user+sys) times and the highest peak RSS are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-bench-out}
runs=${RUNS:-3}
size=${1:-100}
mkdir -p "$dir"
cap="$dir/tls-$size.pcap"
keys="$dir/tls-$size.keys"

cargo build --release --quiet --bin plainsight --example gen_tls_capture
bin=target/release/plainsight
if [ ! -f "$cap" ] || [ ! -f "$keys" ]; then
    target/release/examples/gen_tls_capture "$cap" "$keys" "$size"
fi

# Prints "best_wall best_cpu peak_rss_kib" over $runs runs.
measure() {
    local bw="" bc="" bm=0
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$dir/.time" -f "%e %U %S %M" "$@" >/dev/null 2>&1 || true
        read -r w u s m <"$dir/.time"
        local c
        c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
        if [ -z "$bw" ] || awk "BEGIN{exit !($w < $bw)}"; then bw=$w; fi
        if [ -z "$bc" ] || awk "BEGIN{exit !($c < $bc)}"; then bc=$c; fi
        if [ "$m" -gt "$bm" ]; then bm=$m; fi
    done
    echo "$bw $bc $bm"
}

row() {
    awk -v n="$1" -v b="$2" -v w="$3" -v c="$4" -v m="$5" 'BEGIN {
        if (w <= 0) w = 0.001; if (c <= 0) c = 0.001;
        printf "  %-40s wall %6.2f s %7.1f MB/s   cpu %6.2f s %7.1f MB/s   %7.1f MiB peak RSS\n",
            n, w, b / w / 1e6, c, b / c / 1e6, m / 1024 }'
}

bytes=$(stat -c %s "$cap")
echo "== $cap: $((bytes / 1048576)) MiB ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
# Check that every session opened before timing anything.
"$bin" replay "$cap" --keylog "$keys" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
tls = [f for f in d["flows"] if any(l.startswith("tls") for l in f["layers"])]
opened = [f for f in tls if f["verdict"] in ("sealed", "server-readable", "no-content")]
print(f"  plainsight: {len(opened)}/{len(tls)} TLS sessions opened; verdicts: " +
      ", ".join(sorted(f["verdict"] for f in tls)))
'
read -r w c m < <(measure "$bin" replay "$cap" --keylog "$keys" --format json)
row "plainsight replay --keylog" "$bytes" "$w" "$c" "$m"
if command -v tshark >/dev/null; then
    read -r w c m < <(measure tshark -r "$cap" -o "tls.keylog_file:$keys" -q -z io,phs)
    row "tshark -o tls.keylog_file -z io,phs" "$bytes" "$w" "$c" "$m"
fi
# The AES-256-GCM / record-path ceiling on this machine, for scale.
echo "== record path vs raw AES-256-GCM (one core)"
cargo test --release --quiet --test tls_throughput -- --ignored --nocapture 2>&1 \
    | grep -E "MB/s" | sed 's/^/  /'
