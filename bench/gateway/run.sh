#!/usr/bin/env bash
# bench/gateway/run.sh — the gateway load benchmark (docs/benchmarks.md, "Gateway under load").
#
# Starts, on loopback only: a Kafka broker of its own (scripts/kafka start gwbench), the gateway
# (Release binary, its own topics), the update source (gateway_updates) and the load
# (gateway_load: feed subscribers, slow consumers, the GET /api/v1/segments probe, the gateway's
# CPU/RSS/metrics monitor); waits for the load to finish, then stops everything it started
# (also on Ctrl-C or error). Builds nothing: build first, in a Release folder:
#
#   cmake -S . -B build-gwbench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPAVEWATCH_BUILD_TESTS=OFF
#   ninja -C build-gwbench -j1 pavewatch gateway_load gateway_updates
#
# Usage: bench/gateway/run.sh [options] [-- gateway_load options]
#   --build DIR         build folder (default build-gwbench)
#   --clients N         feed subscribers (default 10000)
#   --rate R            condition updates per second (default 5000)
#   --warmup-s S        after every client is connected (default 10)
#   --measure-s S       measurement window (default 60)
#   --slow N            slow consumers among the clients (default 5)
#   --gateway-threads N gateway I/O threads (default 2)
#   --max-queued-bytes B  --feed-max-queued-bytes of the gateway (default 4194304)
#   --gateway-bin PATH  another gateway binary (e.g. a prototype build), same flags
#   --perf S            record the gateway with perf (cpu-clock, call graphs) for S seconds
#                       in the middle of the measurement window
#   --out DIR           where logs and result.json go (default /tmp/gwbench-<time>)
# Everything after `--` goes to gateway_load (e.g. --share-whole 0.01 --bbox-km2 1).
# Bounded in time: the load runs at most connect deadline + warm-up + window + 120 s.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
build="build-gwbench"
clients=10000
rate=5000
warmup_s=10
measure_s=60
slow=5
gateway_threads=2
max_queued=$((4 << 20))
gateway_bin=""
perf_s=0
out="/tmp/gwbench-$(date +%Y%m%d-%H%M%S)"
load_args=()
while (($#)); do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        --warmup-s) warmup_s="$2"; shift 2 ;;
        --measure-s) measure_s="$2"; shift 2 ;;
        --slow) slow="$2"; shift 2 ;;
        --gateway-threads) gateway_threads="$2"; shift 2 ;;
        --max-queued-bytes) max_queued="$2"; shift 2 ;;
        --gateway-bin) gateway_bin="$2"; shift 2 ;;
        --perf) perf_s="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --) shift; load_args=("$@"); break ;;
        *) echo "run.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
cd "$root"
[[ "$build" = /* ]] || build="$root/$build"
gateway_bin="${gateway_bin:-$build/services/app/pavewatch}"
for bin in "$gateway_bin" "$build/bench/gateway/gateway_load" "$build/bench/gateway/gateway_updates"; do
    [[ -x "$bin" ]] || { echo "run.sh: $bin is missing: build first (see the header)" >&2; exit 2; }
done
mkdir -p "$out"
log() { echo "[run.sh $(date +%T)] $*" >&2; }

gateway_pid=""
updates_pid=""
load_pid=""
perf_pid=""
broker_started=0
cleanup() {
    set +e
    for pid in $perf_pid $load_pid $updates_pid; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $perf_pid $load_pid $updates_pid; do
        wait "$pid" 2>/dev/null
    done
    if [[ -n "$gateway_pid" ]]; then
        kill -TERM "$gateway_pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$gateway_pid" 2>/dev/null
        wait "$gateway_pid" 2>/dev/null
    fi
    if ((broker_started)); then
        scripts/kafka stop gwbench >/dev/null 2>&1
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); output in $out"
broker_started=1
brokers="$(scripts/kafka start gwbench | sed -n 's/^BROKERS=//p')"
[[ -n "$brokers" ]] || { echo "run.sh: the broker did not start" >&2; exit 1; }
broker_pid="$(cat "${PAVEWATCH_KAFKA_STATE:-/tmp/pavewatch-kafka}/gwbench/pid")"
log "broker $brokers (pid $broker_pid)"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
prefix="gwbench.$(date +%s)"
topics=(--topic-raw-vehicle "$prefix.raw.vehicle" --topic-raw-embedded "$prefix.raw.embedded"
    --topic-observations "$prefix.observations" --topic-conditions "$prefix.conditions"
    --topic-condition-history "$prefix.condition-history"
    --topic-dlq "$prefix.dlq" --topic-changelog "$prefix.wear.changelog"
    --topic-hazard-actions "$prefix.hazard-actions")
# A descriptor per feed client in the gateway too: raise the soft limit as far as allowed.
(
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    exec "$gateway_bin" gateway --brokers "$brokers" "${topics[@]}" --address 127.0.0.1 \
        --port "$port" --threads "$gateway_threads" --log-level warn \
        --feed-max-queued-bytes "$max_queued" --http-max-connections $((clients + 1000))
) >"$out/gateway.log" 2>&1 &
gateway_pid=$!
log "gateway pid $gateway_pid on 127.0.0.1:$port (fd limit $(awk '/Max open files/ {print $4}' "/proc/$gateway_pid/limits" 2>/dev/null))"
for _ in $(seq 1 600); do
    curl -sf -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$gateway_pid" 2>/dev/null || { tail "$out/gateway.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf -m 2 "http://127.0.0.1:$port/readyz" >/dev/null || { echo "run.sh: gateway not ready" >&2; exit 1; }

"$build/bench/gateway/gateway_updates" --brokers "$brokers" --topic "$prefix.conditions" \
    --rate "$rate" >"$out/updates.json" 2>"$out/updates.log" &
updates_pid=$!
# Let the prefill (one record per segment) reach the gateway before the first snapshot.
for _ in $(seq 1 100); do
    applied="$(curl -s -m 2 "http://127.0.0.1:$port/metrics" \
        | sed -n 's/^pavewatch_gateway_conditions_total{outcome="applied"} //p')"
    [[ -n "$applied" ]] && (( ${applied%.*} >= 3848 )) && break
    sleep 0.2
done
log "updates at $rate/s (pid $updates_pid); $applied records applied so far"

connect_deadline=$(( clients / 200 + 60 ))
limit_s=$(( connect_deadline + warmup_s + measure_s + 120 ))
(
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    exec timeout --signal=TERM "$limit_s" "$build/bench/gateway/gateway_load" --port "$port" \
        --clients "$clients" --slow "$slow" --warmup-s "$warmup_s" --measure-s "$measure_s" \
        --connect-deadline-s "$connect_deadline" --gateway-pid "$gateway_pid" \
        --watch "updates=$updates_pid" --watch "broker=$broker_pid" "${load_args[@]}"
) >"$out/result.json" 2>"$out/load.log" &
load_pid=$!
if ((perf_s > 0)); then
    # Start the profile in the middle of the window: wait for the measurement to begin.
    (
        until grep -q "measuring" "$out/load.log" 2>/dev/null; do sleep 1; done
        sleep "$warmup_s"
        sleep $(( measure_s / 2 - perf_s / 2 > 0 ? measure_s / 2 - perf_s / 2 : 0 ))
        exec perf record -e cpu-clock -F 499 -g -p "$gateway_pid" -o "$out/perf.data" \
            -- sleep "$perf_s"
    ) >"$out/perf.log" 2>&1 &
    perf_pid=$!
fi
wait "$load_pid" || log "gateway_load exited with $?"
load_pid=""
if [[ -n "$perf_pid" ]]; then
    wait "$perf_pid" || true
    perf_pid=""
fi
kill -TERM "$updates_pid" 2>/dev/null || true
wait "$updates_pid" || true
updates_pid=""
curl -s -m 10 "http://127.0.0.1:$port/metrics" >"$out/metrics-end.txt" || true
cat "$out/load.log" >&2
log "updates: $(cat "$out/updates.json")"
log "result: $out/result.json"
python3 - "$out/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = r["gateway"]
print(f"clients {r['clients']} subscribed {r['connected_and_subscribed']} open at end {r['open_at_end']}")
l = r["latency_ms"]
print(f"latency ms p50 {l['p50']} p99 {l['p99']} p99.9 {l['p999']} max {l['max']} "
      f"({l['count']} messages, {r['delivered_per_s']}/s)")
for k, v in r["by_kind"].items():
    if v["subscribed"]:
        print(f"  {k:14} {v['subscribed']:6} clients {v['messages_per_client_per_s']:8} msg/s each "
              f"p50 {v['latency_ms']['p50']} p99 {v['latency_ms']['p99']}  snapshot p50 "
              f"{v['snapshot_ms']['p50']} ms p99 {v['snapshot_ms']['p99']} ms "
              f"({v['snapshot_mean_bytes']} B)")
print(f"gateway cpu {g['cpu_cores']:.2f} cores, RSS {g['rss_mib_end']:.0f} MiB (max {g['rss_mib_max']:.0f},"
      f" HWM {g['hwm_mib']:.0f}), queued max {g['queued_bytes_max']:.0f} B")
print("cpu cores:", r["cpu_cores"], "load average:", r["load_average_1m"])
print("closes in window (gateway):", {k: v for k, v in g["counters_in_window"].items() if "closes" in k})
print("closes received:", r["closes_received"], "slow:", r["slow_consumers_closes_received"],
      "failures:", r["failures"])
p = r["segments_probe"]["latency_ms"]
print(f"GET /api/v1/segments: p50 {p['p50']} p99 {p['p99']} max {p['max']} ms ({p['count']} requests,"
      f" {r['segments_probe']['body_bytes']} B)")
PY
