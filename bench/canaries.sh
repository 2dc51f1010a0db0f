#!/usr/bin/env bash
# Canary search cost: matcher throughput (1, 100, 10,000 canaries, every
# encoding on) and `plainsight replay` on the benchmark capture with 0, 1 and
# 100 canaries.
#
#   bench/canaries.sh [CAPTURE]          default: /work/bench/mixed-200.pcap
#
# The capture is made once if missing (gen_bench_capture, 200 MiB, canary
# planted in an HTTP body). Replays run $RUNS times (default 5); the report
# gives the best wall time and the best CPU time (user+sys) — on a shared
# machine CPU time is the steadier of the two. With CALLGRIND=1 the replays
# of $SMALL (default /work/bench/small.pcap) are also counted in
# instructions under valgrind, which does not depend on load at all.
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-/work/bench/mixed-200.pcap}
small=${SMALL:-/work/bench/small.pcap}
runs=${RUNS:-5}
planted=PS-OBWGC2LOONUWO2DU4

cargo build --release --quiet --bin plainsight --example gen_bench_capture --example bench_matcher
bin=target/release/plainsight
if [ ! -f "$cap" ]; then
    target/release/examples/gen_bench_capture "$cap" 200 "$planted"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" -q canary new --count 99 --label bench -o "$tmp/c100.toml" >/dev/null
printf '[[canary]]\ntext = "%s"\n' "$planted" >>"$tmp/c100.toml"

echo "== matcher ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
target/release/examples/bench_matcher "$cap" "${MIB:-64}"

# Prints "best_wall best_cpu" over $runs runs of the command.
measure() {
    local bw="" bc=""
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$tmp/time" -f "%e %U %S" "$@" >/dev/null 2>&1
        read -r w u s <"$tmp/time"
        local c
        c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
        if [ -z "$bw" ] || awk "BEGIN{exit !($w < $bw)}"; then bw=$w; fi
        if [ -z "$bc" ] || awk "BEGIN{exit !($c < $bc)}"; then bc=$c; fi
    done
    echo "$bw $bc"
}

bytes=$(stat -c %s "$cap")
echo "== replay $cap ($((bytes / 1048576)) MiB), best of $runs"
declare -A cpu
for n in 0 1 100; do
    case $n in
        0) args=() ;;
        1) args=(--canary "$planted") ;;
        100) args=(--canaries "$tmp/c100.toml") ;;
    esac
    read -r w c < <(measure "$bin" replay "$cap" --format json "${args[@]}")
    cpu[$n]=$c
    awk -v n="$n" -v b="$bytes" -v w="$w" -v c="$c" 'BEGIN {
        printf "  %3d canaries  wall %6.2f s %7.1f MB/s   cpu %6.2f s %7.1f MB/s\n", n, w, b / w / 1e6, c, b / c / 1e6 }'
done
awk -v a="${cpu[0]}" -v b="${cpu[100]}" 'BEGIN { printf "  100 canaries cost %+.1f%% CPU time over none\n", (b / a - 1) * 100 }'

if [ "${CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null && [ -f "$small" ]; then
    echo "== instructions (callgrind) replaying $small"
    declare -A ir
    for n in 0 100; do
        args=()
        [ "$n" = 100 ] && args=(--canaries "$tmp/c100.toml")
        ir[$n]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" replay "$small" \
            --format json "${args[@]}" 2>&1 >/dev/null | awk '/Collected/ { print $NF }')
        echo "  $n canaries: ${ir[$n]} instructions"
    done
    awk -v a="${ir[0]}" -v b="${ir[100]}" 'BEGIN { printf "  100 canaries cost %+.1f%% instructions over none\n", (b / a - 1) * 100 }'
fi
