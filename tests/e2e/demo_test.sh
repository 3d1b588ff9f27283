#!/usr/bin/env bash
# scripts/demo end to end: it brings up the live map, and Ctrl-C (SIGINT) stops everything and
# leaves no process behind. Bounded in time; loopback only.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp /tmp/pavewatch-demo-test.XXXXXX)"
fail() { echo "FAIL: $*" >&2; tail -n 40 "$log" >&2; exit 1; }

# Start the demo in a session of its own with SIGINT at its default (a shell's background jobs
# would inherit it ignored), as a terminal's Ctrl-C would reach it.
python3 - "$root" "$port" "$log" <<'PY' &
import os, signal, sys
root, port, log = sys.argv[1:]
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(fd, 1); os.dup2(fd, 2)
os.environ.update(PAVEWATCH_DEMO_PORT=port, PAVEWATCH_SKIP_BUILD="1")  # the demo's own defaults
os.execv(os.path.join(root, "scripts/demo"), ["scripts/demo"])
PY
demo=$!
cleanup() { kill -KILL -- "-$demo" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

for _ in $(seq 1 180); do
    grep -q "open http://localhost:$port" "$log" 2>/dev/null && break
    kill -0 "$demo" 2>/dev/null || fail "the demo exited during start-up"
    sleep 1
done
grep -q "open http://localhost:$port" "$log" || fail "the demo did not print its address within 180 s"
run_dir="$(sed -n 's/.*Logs: \(\/tmp\/pavewatch-demo\.[A-Za-z0-9]*\)\/logs.*/\1/p' "$log" | head -n 1)"
[[ -n "$run_dir" ]] || fail "no run folder in the demo's output"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" == 200 ]] || fail "the map page is not served"
segments="$(curl -s "http://127.0.0.1:$port/api/v1/segments" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')"
[[ "$segments" -gt 1000 ]] || fail "only $segments segments served"
# Data flows: some segment gets a condition within a minute.
for _ in $(seq 1 60); do
    with_data="$(curl -s "http://127.0.0.1:$port/api/v1/segments?updated_since=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')"
    [[ "$with_data" -gt 0 ]] && break
    sleep 1
done
[[ "$with_data" -gt 0 ]] || fail "no segment got a condition within 60 s"
echo "demo up: $segments segments, $with_data with a condition"

kill -INT "$demo"
for _ in $(seq 1 60); do
    kill -0 "$demo" 2>/dev/null || break
    sleep 1
done
kill -0 "$demo" 2>/dev/null && fail "the demo did not stop within 60 s of SIGINT"
grep -q "stopped" "$log" || fail "the demo did not report a clean stop"
left="$(pgrep -af -- "$run_dir" || true; pgrep -af -- "pavewatch-kafka/demo-$demo" || true)"
[[ -z "$left" ]] || fail "processes left behind: $left"
[[ ! -e "$run_dir" ]] || fail "the run folder $run_dir was not removed"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "port $port still answers"
echo "demo stopped cleanly on SIGINT"
