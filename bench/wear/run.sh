#!/usr/bin/env bash
# Benchmark of `pavewatch wear` (exactly-once, Release build) and its Kafka Streams peer on one
# local broker: for each scale (segments), load N observations once into a fresh 6-partition
# topic, then run the wear processor RUNS times on it (fresh group, output topics and state
# each time) and the peer PEER_RUNS times, and print the medians. On the largest scale it also
# measures the restore of the whole state from the changelog (RESTORE_RUNS times). Every wear
# result is checked against the offline fold of the load (byte-identical RocksDB state); every
# peer run must fold all N records as valid (no dead letters, versions summing to N).
#
# Usage: bench/wear/run.sh            (parameters from the environment, defaults below)
#   SCALES="10000 100000 1000000"  segments per scale
#   N=5000000                      observations per scale (one topic per scale)
#   RUNS=3 PEER_RUNS=1 RESTORE_RUNS=3 SEED=1
#   STEP_MS=300                    event time between observations (larger: more days of history)
#   ZIPF=0                         segments drawn uniformly (0), or by a power law of popularity
#                                  with this exponent (0.8: the busiest 1 % of a million segments
#                                  get a third of the observations), as traffic is on roads
#   BUILD=build-wearbench          Release build with the pavewatch and wear_bench targets
#   WEAR_FLAGS="..."               extra flags for pavewatch wear (cache, RocksDB memory)
#   WEAR_WITH="bin1 bin2"          pavewatch binaries each wear run uses in turn (default: the
#                                  build's), to compare two builds on one broker and input
#   VERIFY_WITH="bench1 bench2"    wear_bench binaries whose offline fold checks the state of the
#                                  WEAR_WITH binary at the same position (default: the build's),
#                                  for two builds whose models differ
#   RESTORE_WITH="bin1 bin2"       pavewatch binaries each restore run uses in turn (default:
#                                  the build's), to compare two builds' restores on one changelog
#   PEER_FLAGS=""                  extra flags for the peer (e.g. --threads 2)
#   JAVA_OPTS=-Xmx1g               the peer's JVM options
#   BROKERS=127.0.0.1:9092         use a running broker instead of starting "wearbench"
#   TIMEOUT_S=900                  bound of each wait; TOTAL_TIMEOUT_S=10800 bounds the script
#   KEEP=0                         1 keeps the work folder (logs, dumps) after the run
# Loopback only. Everything it starts (broker, processes, watchdog) is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
SCALES="${SCALES:-10000 100000 1000000}"
N="${N:-5000000}"
RUNS="${RUNS:-3}"
PEER_RUNS="${PEER_RUNS:-1}"
RESTORE_RUNS="${RESTORE_RUNS:-3}"
SEED="${SEED:-1}"
STEP_MS="${STEP_MS:-300}"
ZIPF="${ZIPF:-0}"
BUILD="${BUILD:-$root/build-wearbench}"
[[ "$BUILD" = /* ]] || BUILD="$root/$BUILD"
WEAR_FLAGS="${WEAR_FLAGS:---cache-entries 1200000 --block-cache-mb 64 --write-buffer-mb 64}"
PEER_FLAGS="${PEER_FLAGS:-}"
JAVA_OPTS="${JAVA_OPTS:--Xmx1g}"
TIMEOUT_S="${TIMEOUT_S:-900}"
TOTAL_TIMEOUT_S="${TOTAL_TIMEOUT_S:-10800}"
KEEP="${KEEP:-0}"
pavewatch="$BUILD/services/app/pavewatch"
bench="$BUILD/bench/wear/wear_bench"
jar="$root/bench/peers/kafka-streams/target/pavewatch-peer.jar"
[[ -x "$pavewatch" && -x "$bench" ]] || {
    echo "build first: cmake -S . -B $BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release" \
        "-DPAVEWATCH_BUILD_TESTS=OFF && ninja -C $BUILD pavewatch wear_bench" >&2
    exit 1
}
if (( PEER_RUNS > 0 )) && [[ ! -f "$jar" ]]; then
    echo "build the peer first: see bench/peers/kafka-streams/README.md" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/wearbench.XXXXXX")"
started_broker=0
child=""
watchdog=""
stop_child() {
    if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    child=""
}
cleanup() {
    stop_child
    if [[ -n "$watchdog" ]]; then kill "$watchdog" 2>/dev/null || true; fi  # and its sleep
    if (( started_broker )); then "$root/scripts/kafka" stop wearbench >/dev/null 2>&1 || true; fi
    if [[ "$KEEP" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
# The whole run is bounded: the watchdog interrupts the script, whose trap stops everything.
# Its sleep runs in the background so that stopping it at the end (TERM) is quiet.
( trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$TOTAL_TIMEOUT_S" & s=$!; wait "$s"
  echo "run.sh: over TOTAL_TIMEOUT_S=$TOTAL_TIMEOUT_S s" >&2; kill -TERM $$ ) &
watchdog=$!

if [[ -z "${BROKERS:-}" ]]; then
    BROKERS="$("$root/scripts/kafka" start wearbench | sed -n 's/^BROKERS=//p')"
    started_broker=1
fi
[[ "$BROKERS" == 127.0.0.1:* ]] || { echo "loopback brokers only (got $BROKERS)" >&2; exit 1; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
field() { sed -nE "s/.*[ ^]$1=([-0-9.]+).*/\1/p" <<<" $2"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
results="$work/results.txt"
: > "$results"
echo "work folder $work; broker $BROKERS; N=$N SCALES=($SCALES) ZIPF=$ZIPF RUNS=$RUNS PEER_RUNS=$PEER_RUNS"
echo "wear flags: $WEAR_FLAGS"

RESTORE_WITH="${RESTORE_WITH:-$pavewatch}"
WEAR_WITH="${WEAR_WITH:-$pavewatch}"
last_wear_bin="${WEAR_WITH##* }"
read -r -a wear_bins <<<"$WEAR_WITH"
read -r -a verify_bins <<<"${VERIFY_WITH:-}"
# The wear_bench whose offline fold checks the state written by wear binary $1.
verifier() {
    local i
    for i in "${!wear_bins[@]}"; do
        if [[ "${wear_bins[$i]}" == "$1" && -n "${verify_bins[$i]:-}" ]]; then
            echo "${verify_bins[$i]}"
            return
        fi
    done
    echo "$bench"
}
for b in "${verify_bins[@]}"; do [[ -x "$b" ]] || { echo "VERIFY_WITH: $b is not executable" >&2; exit 1; }; done
for bin in $RESTORE_WITH $WEAR_WITH; do [[ -x "$bin" ]] || { echo "RESTORE_WITH/WEAR_WITH: $bin is not executable" >&2; exit 1; }; done

# Starts `pavewatch wear` on input $1 with topics, group and state named $2 (metrics on $3),
# with the binary $4 (default: the build's).
start_wear() {
    local in="$1" name="$2" port="$3" bin="${4:-$pavewatch}"
    # shellcheck disable=SC2086
    "$bin" wear --brokers "$BROKERS" --partitions 6 \
        --topic-observations "$in" --topic-conditions "$name-conditions" \
        --topic-condition-history "$name-history" \
        --topic-changelog "$name-changelog" --topic-dlq "$name-dlq" \
        --topic-hazard-actions "$name-actions" --group-id "$name" --instance-id "$name" \
        --state-dir "$work/$name" --metrics-port "$port" $WEAR_FLAGS \
        >>"$work/$name.log" 2>&1 &
    child=$!
}

for K in $SCALES; do
    in="wb-$K-$(date +%s)-observations"
    echo "== $K segments: loading $N observations into $in (load average $(loadavg))"
    line="$("$bench" load --brokers "$BROKERS" --topic "$in" --partitions 6 --count "$N" \
        --segments "$K" --seed "$SEED" --step-ms "$STEP_MS" --zipf "$ZIPF")"
    echo "  $line"
    [[ "$("$bench" count --brokers "$BROKERS" --topic "$in")" == "COUNT_DONE records=$N" ]] \
        || { echo "the input topic does not hold $N records" >&2; exit 1; }

    for r in $(seq 1 "$RUNS"); do
      for wear_bin in $WEAR_WITH; do
        name="wb-$K-r$r-$(date +%s%N)"
        port="$(free_port)"
        la="$(loadavg)"
        start_wear "$in" "$name" "$port" "$wear_bin"
        line="$("$bench" watch --brokers "$BROKERS" --topic "$in" --group "$name" --pid "$child" \
            --metrics-port "$port" --timeout-s "$TIMEOUT_S")" \
            || { tail -n 20 "$work/$name.log" >&2; exit 1; }
        stop_child
        seconds="$(field seconds "$line")"; cpu="$(field cpu_seconds "$line")"
        printf '  wear run %d (%s): %s load average %s\n' "$r" "$wear_bin" "$line" "$la"
        echo "wear K=$K run=$r bin=$wear_bin $line" >> "$results"
        dead="$("$bench" count --brokers "$BROKERS" --topic "$name-dlq")"
        [[ "$dead" == "COUNT_DONE records=0" ]] || { echo "wear dead-lettered records: $dead" >&2; exit 1; }
        if (( r == 1 )); then
            v="$("$(verifier "$wear_bin")" verify --state-dir "$work/$name" --count "$N" --segments "$K" --seed "$SEED" --step-ms "$STEP_MS" --zipf "$ZIPF")" \
                || { echo "  $v" >&2; echo "the wear state differs from the offline fold" >&2; exit 1; }
            echo "  $v"
        fi
        if (( r == RUNS )) && [[ "$wear_bin" == "$last_wear_bin" ]] && [[ "$K" == "${SCALES##* }" ]] \
            && (( RESTORE_RUNS > 0 )); then
            for rr in $(seq 1 "$RESTORE_RUNS"); do
              for bin in $RESTORE_WITH; do
                rm -rf "${work:?}/$name"
                port="$(free_port)"
                la="$(loadavg)"
                start_wear "$in" "$name" "$port" "$bin"
                line="$("$bench" restore --pid "$child" --metrics-port "$port" --partitions 6 \
                    --timeout-s "$TIMEOUT_S")" || { tail -n 20 "$work/$name.log" >&2; exit 1; }
                stop_child
                # The slowest partition's restore (they run side by side), from the log.
                slowest="$(grep '"message":"state restored"' "$work/$name.log" | tail -n 6 \
                    | sed -E 's/.*"seconds":([0-9.e+-]+).*/\1/' | sort -g | tail -n 1)"
                # The restored state is what the last wear run wrote: checked by that build's fold.
                v="$("$(verifier "$last_wear_bin")" verify --state-dir "$work/$name" --count "$N" --segments "$K" --seed "$SEED" --step-ms "$STEP_MS" --zipf "$ZIPF")" \
                    || { echo "  $v" >&2; echo "the restored state differs from the offline fold" >&2; exit 1; }
                segments="$(field identical "$v")"
                disk="$(du -sb "$work/$name" | cut -f1)"
                printf '  restore %d (%s): %s slowest_partition_s=%s segments=%s state_dir_bytes=%s load average %s\n' \
                    "$rr" "$bin" "$line" "$slowest" "$segments" "$disk" "$la"
                echo "restore K=$K run=$rr bin=$bin $line slowest=$slowest segments=$segments disk=$disk" >> "$results"
              done
            done
        fi
        rm -rf "${work:?}/$name"
      done
    done

    for r in $(seq 1 "$PEER_RUNS"); do
        name="wb-$K-peer$r-$(date +%s)"
        la="$(loadavg)"
        # shellcheck disable=SC2086
        java $JAVA_OPTS -jar "$jar" --brokers "$BROKERS" --create-topics --partitions 6 \
            --output "$name-conditions" --dlq "$name-dlq" 2>/dev/null
        # shellcheck disable=SC2086
        java $JAVA_OPTS -jar "$jar" --brokers "$BROKERS" --input "$in" \
            --output "$name-conditions" --dlq "$name-dlq" --application-id "$name" \
            --state-dir "$work/$name" --expect "$N" --dump "$work/$name.dump" \
            --timeout-s "$TIMEOUT_S" $PEER_FLAGS >"$work/$name.out" 2>"$work/$name.err" &
        child=$!
        wait "$child" || { tail -n 20 "$work/$name.err" >&2; exit 1; }
        child=""
        line="$(grep '^PEER_DONE' "$work/$name.out")"
        # CPU time from the peer's first record (JVM start-up and JIT warm-up before it excluded).
        cpu_first="$(sed -nE 's/.* s in all, ([0-9.]+) s from the first record.*/\1/p' "$work/$name.err")"
        dead="$("$bench" count --brokers "$BROKERS" --topic "$name-dlq")"
        versions="$(awk '{s += $2} END {print s}' "$work/$name.dump")"
        [[ "$(field records "$line")" == "$N" && "$dead" == "COUNT_DONE records=0" && "$versions" == "$N" ]] \
            || { echo "the peer did not fold all $N records as valid ($line, $dead, versions $versions)" >&2; exit 1; }
        printf '  peer run %d: %s cpu_from_first=%s (all %s valid, %s segments) load average %s\n' \
            "$r" "$line" "$cpu_first" "$N" "$(wc -l < "$work/$name.dump")" "$la"
        echo "peer K=$K run=$r $line cpu_from_first=$cpu_first" >> "$results"
        rm -rf "${work:?}/$name"
    done
done

# Medians per scale (the middle run; the lower middle for an even count).
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
rate() {  # $1 = wear|peer, $2 = K, $3 = time field, $4 = only the runs of this binary
    { grep "^$1 K=$2 " "$results" || true; } | { if [[ -n "${4:-}" ]]; then grep -F " bin=$4 " || true; else cat; fi; } \
    | while read -r l; do
        awk -v n="$(field records "$l")" -v t="$(field "$3" "$l")" 'BEGIN {if (t > 0) printf "%.0f\n", n / t}'
    done | median
}
echo
echo "== medians (N=$N per scale; per CPU-second = records / (utime+stime) from the first record)"
printf '%-9s %14s %14s %14s %14s %10s %10s\n' segments wear/s wear/cpu-s peer/s peer/cpu-s ratio/s ratio/cpu
for K in $SCALES; do
    ww="$(rate wear "$K" seconds)"; wc="$(rate wear "$K" cpu_seconds)"
    pw="$(rate peer "$K" seconds)"; pc="$(rate peer "$K" cpu_from_first)"
    rw="-"; rc="-"
    if [[ -n "$pw" && -n "$pc" ]]; then
        rw="$(awk -v a="$ww" -v b="$pw" 'BEGIN {printf "%.1f", a / b}')"
        rc="$(awk -v a="$wc" -v b="$pc" 'BEGIN {printf "%.1f", a / b}')"
    fi
    printf '%-9s %14s %14s %14s %14s %10s %10s\n' "$K" "$ww" "$wc" "${pw:--}" "${pc:--}" "$rw" "$rc"
done
if [[ "$WEAR_WITH" == *" "* ]]; then
    for K in $SCALES; do
        for bin in $WEAR_WITH; do
            echo "wear K=$K ($bin): median $(rate wear "$K" cpu_seconds "$bin") records per CPU-s," \
                "$(rate wear "$K" seconds "$bin") records/s"
        done
    done
fi
for bin in $RESTORE_WITH; do
    runs="$(grep "^restore .* bin=$bin " "$results" || true)"
    [[ -n "$runs" ]] || continue
    echo "restore ($bin): median $(while read -r l; do
        awk -v s="$(field segments "$l")" -v t="$(field slowest "$l")" 'BEGIN {printf "%.0f\n", s / t}'
    done <<<"$runs" | median) segments/s (slowest partition), median CPU $(while read -r l; do
        field cpu_total "$l"; done <<<"$runs" | median) s, median VmHWM $(while read -r l; do
        field vmhwm_kb "$l"; done <<<"$runs" | median) kB"
done
echo "load average at the end: $(loadavg)"
cp "$results" "${RESULTS_OUT:-/dev/null}" 2>/dev/null || true
