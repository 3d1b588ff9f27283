#!/usr/bin/env bash
# End-to-end check of the Kafka Streams peer on a local broker: create fresh topics, produce a
# deterministic load (with poison), run the peer with --expect, then compare
#   - its --dump with the fold of what was produced (must be byte-identical),
#   - the dead-letter topic with the poison that was produced (key, value, pavewatch.reason),
#   - the last condition record per segment with the dumped version.
# Usage: bench/peers/kafka-streams/check.sh   (N, K, SEED, BROKERS, JAVA_OPTS from the environment)
# Starts and stops its own broker ("peer-check") unless BROKERS is given.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
N="${N:-50000}"
K="${K:-500}"
SEED="${SEED:-7}"
JAVA_OPTS="${JAVA_OPTS:--Xmx1g}"
cache="${PAVEWATCH_CACHE:-/var/cache/pavewatch}"
jar="$here/target/pavewatch-peer.jar"
if [[ ! -f "$jar" ]]; then
    (cd "$here" && mvn -q -B -Dmaven.repo.local="$cache/m2" package -DskipTests)
fi

work="$(mktemp -d)"
started_broker=0
cleanup() {
    if (( started_broker )); then "$root/scripts/kafka" stop peer-check >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -z "${BROKERS:-}" ]]; then
    BROKERS="$("$root/scripts/kafka" start peer-check | sed -n 's/^BROKERS=//p')"
    started_broker=1
fi

# shellcheck disable=SC2086
peer() { java $JAVA_OPTS -jar "$jar" --brokers "$BROKERS" "$@"; }
fail() { echo "check: FAIL: $*" >&2; exit 1; }

run="c$(date +%s%N)"
in="$run-observations" out="$run-conditions" dlq="$run-dlq"
peer --create-topics --partitions 6 --input "$in" --output "$out" --dlq "$dlq" 2>/dev/null
peer --input "$in" --produce "$N" --segments "$K" --seed "$SEED" \
    --dump "$work/expected.txt" --poison-dump "$work/poison.txt"
done_line="$(peer --input "$in" --output "$out" --dlq "$dlq" --application-id "$run-peer" \
    --state-dir "$work/state" --expect "$N" --dump "$work/got.txt" 2>"$work/peer.err")" \
    || { cat "$work/peer.err" >&2; fail "the peer failed"; }
echo "$done_line"
[[ "$done_line" =~ ^PEER_DONE\ records=$N\ seconds=[0-9.]+\ cpu_seconds=[0-9.]+$ ]] \
    || fail "unexpected PEER_DONE line: $done_line"
cmp -s "$work/expected.txt" "$work/got.txt" \
    || { diff "$work/expected.txt" "$work/got.txt" | head >&2; fail "the dump differs from the produced fold"; }
echo "check: dump equals the produced fold ($(wc -l < "$work/got.txt") segments)"

peer --inspect "$dlq" --inspect-out "$work/dlq.txt"
cmp -s <(sort "$work/poison.txt") <(sort "$work/dlq.txt") \
    || fail "the dead-letter topic differs from the poison produced"
echo "check: dead-letter topic holds the $(wc -l < "$work/poison.txt") poison records unchanged, reason=malformed"

peer --inspect "$out" --inspect-out "$work/conditions.txt" --text
# Last condition per segment (a segment's records are in one partition, so in order).
sed -E 's/^([0-9]+) - .*"version":([0-9]+),.*/\1 \2/' "$work/conditions.txt" \
    | awk '{last[$1]=$2} END {for (k in last) print k, last[k]}' | sort > "$work/last.txt"
awk '{print $1, $2}' "$work/got.txt" | sort > "$work/versions.txt"
cmp -s "$work/last.txt" "$work/versions.txt" \
    || fail "the last condition record per segment does not carry the final version"
echo "check: last condition per segment carries the final version ($(wc -l < "$work/conditions.txt") condition records)"
echo "check: PASS"
