#!/usr/bin/env bash
# tests/browser/stackctl.sh <command> DIR [options] — test-only controls of a stack started by
# scripts/stack (which stays as it is):
#
#   restart-gateway DIR [--signal TERM|KILL] [--ready-timeout S]
#       Stops the stack's gateway (its pid from DIR/pids; SIGTERM by default, so that feed
#       clients get close code 1001, or SIGKILL for a crash) and starts it again with exactly
#       the arguments and working folder it had (read from /proc before it is stopped), on the
#       same port. DIR/pids is updated. Returns once the new gateway answers /readyz, i.e. has
#       read the conditions topic again (at most S seconds, default 180: a loaded machine and a
#       long topic take a while); prints the new pid.
#   network-ids NETWORK_FILE [--max-segment-length-m M]
#       Prints every segment id of a road network, one a line, in network order, without a
#       broker: a throw-away gateway on a free loopback port answers /api/v1/network and is
#       stopped at once. (DIR is not used: pass "-".) Used to write a contractor's zone as a
#       segment list before the stack starts.
#
# PAVEWATCH_BINARY names the binary for network-ids (default build/services/app/pavewatch).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
die() { printf 'stackctl: %s\n' "$*" >&2; exit 1; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || die "usage: stackctl.sh restart-gateway DIR [--signal TERM|KILL] | network-ids - NETWORK_FILE"
shift 2

case "$cmd" in
    restart-gateway)
        signal=TERM; ready_timeout=180
        while (($#)); do
            case "$1" in
                --signal) signal="$2"; shift 2 ;;
                --ready-timeout) ready_timeout="$2"; shift 2 ;;
                *) die "unknown option $1" ;;
            esac
        done
        [[ "$signal" == TERM || "$signal" == KILL ]] || die "--signal is TERM or KILL"
        [[ -f "$dir/pids" ]] || die "no $dir/pids: is a stack running there?"
        dir="$(cd "$dir" && pwd)"
        pid="$(awk '$1 == "gateway" {print $2}' "$dir/pids")"
        [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || die "the gateway of $dir is not running"
        # The exact command line and working folder, before the process is gone.
        mapfile -d '' -t argv < "/proc/$pid/cmdline"
        cwd="$(readlink "/proc/$pid/cwd")"
        ((${#argv[@]} > 1)) || die "cannot read the gateway's command line"
        port="$(source "$dir/env" && echo "$GATEWAY_PORT")"
        kill "-$signal" "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "--- restarted by stackctl.sh ($signal) at $(date +%T)" >> "$dir/logs/gateway.log"
        # As scripts/stack launches it: setsid execs in place, so $! is the gateway itself. No
        # subshell, which would hold our stdout open for as long as the gateway runs.
        cd "$cwd"
        setsid "${argv[@]}" >>"$dir/logs/gateway.log" 2>&1 < /dev/null &
        new_pid=$!
        cd - >/dev/null
        awk -v p="$new_pid" '$1 == "gateway" {print "gateway", p; next} {print}' "$dir/pids" > "$dir/pids.new"
        mv "$dir/pids.new" "$dir/pids"
        for _ in $(seq 1 $((ready_timeout * 10))); do
            if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
                echo "$new_pid"
                exit 0
            fi
            kill -0 "$new_pid" 2>/dev/null || { tail -n 20 "$dir/logs/gateway.log" >&2; die "the restarted gateway exited"; }
            sleep 0.1
        done
        die "the restarted gateway did not become ready within $ready_timeout s"
        ;;
    network-ids)
        network="${1:-}"; shift || true
        [[ -f "$network" ]] || die "network-ids needs a network file"
        bin="${PAVEWATCH_BINARY:-$root/build/services/app/pavewatch}"
        [[ -x "$bin" ]] || die "no pavewatch binary at $bin"
        port="$(free_port)"
        tmp="$(mktemp -d "${TMPDIR:-/tmp}/network-ids.XXXXXX")"
        # No broker is needed to serve the network: the conditions reader just waits.
        "$bin" gateway --network "$network" "$@" --port "$port" --web-root "$root/web/dist" \
            --brokers 127.0.0.1:1 --create-topics false --log-level error >"$tmp/gateway.log" 2>&1 &
        gw=$!
        disown "$gw"
        trap 'kill -TERM $gw 2>/dev/null || true; sleep 0.2; kill -KILL $gw 2>/dev/null || true; rm -rf "$tmp"' EXIT
        for _ in $(seq 1 100); do
            if curl -fsS "http://127.0.0.1:$port/api/v1/network" -o "$tmp/network.json" 2>/dev/null; then
                python3 -c 'import json,sys; [print(f["properties"]["segment_id"]) for f in json.load(open(sys.argv[1]))["features"]]' "$tmp/network.json"
                exit 0
            fi
            kill -0 "$gw" 2>/dev/null || { cat "$tmp/gateway.log" >&2; die "the throw-away gateway exited"; }
            sleep 0.1
        done
        die "the throw-away gateway did not answer within 10 s"
        ;;
    *)
        die "unknown command $cmd"
        ;;
esac
