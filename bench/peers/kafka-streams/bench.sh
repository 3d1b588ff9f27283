#!/usr/bin/env bash
# Benchmark of the Kafka Streams peer: produce N observations over K segments once into a fresh
# topic, run the peer RUNS times on it (fresh application id and state dir each time), check
# each run's dump against the produced fold, and print the medians.
# Usage: N=1000000 K=10000 RUNS=3 bench/peers/kafka-streams/bench.sh [extra peer flags...]
#   (e.g. --threads 2, --cache-mb 0, --commit-interval-ms 100); BROKERS, JAVA_OPTS, SEED from
#   the environment. Starts and stops its own broker ("peer-bench") unless BROKERS is given.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
N="${N:-1000000}"
K="${K:-10000}"
RUNS="${RUNS:-3}"
SEED="${SEED:-1}"
JAVA_OPTS="${JAVA_OPTS:--Xmx1g}"
jar="$here/target/pavewatch-peer.jar"
[[ -f "$jar" ]] || { echo "build first: see README.md" >&2; exit 1; }

work="$(mktemp -d)"
started_broker=0
cleanup() {
    if (( started_broker )); then "$root/scripts/kafka" stop peer-bench >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -z "${BROKERS:-}" ]]; then
    BROKERS="$("$root/scripts/kafka" start peer-bench | sed -n 's/^BROKERS=//p')"
    started_broker=1
fi
# shellcheck disable=SC2086
peer() { java $JAVA_OPTS -jar "$jar" --brokers "$BROKERS" "$@"; }

run="b$(date +%s%N)"
in="$run-observations" out="$run-conditions" dlq="$run-dlq"
peer --create-topics --partitions 6 --input "$in" --output "$out" --dlq "$dlq" 2>/dev/null
peer --input "$in" --produce "$N" --segments "$K" --seed "$SEED" --dump "$work/expected.txt"
for r in $(seq 1 "$RUNS"); do
    echo "run $r: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    line="$(peer --input "$in" --output "$out" --dlq "$dlq" --application-id "$run-peer-$r" \
        --state-dir "$work/state-$r" --expect "$N" --dump "$work/got-$r.txt" "$@" \
        2> >(grep -v 'OS temp directory' | sed 's/^/  /' >&2))"
    echo "$line"
    cmp -s "$work/expected.txt" "$work/got-$r.txt" || { echo "run $r: dump differs" >&2; exit 1; }
    echo "$line" >> "$work/results.txt"
    rm -rf "$work/state-$r"
done
# Medians (the middle run; the lower middle for an even count), each figure on its own.
field() { sed -E "s/.* $1=([0-9.]+).*/\1/" "$work/results.txt"; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
rate="$(paste <(field records) <(field seconds) | awk '{printf "%.0f\n", $1 / $2}' | median)"
per_cpu="$(paste <(field records) <(field cpu_seconds) | awk '{printf "%.0f\n", $1 / $2}' | median)"
echo "median of $RUNS runs: $rate records/s, $per_cpu records per CPU-second (N=$N K=$K $*)"
