#!/usr/bin/env bash
# tests/browser/run_with_stack.sh <check.mjs> — runs one browser check against a live stack:
# starts the services on the test broker (scripts/stack, topics of its own), runs the check in
# headless Chromium, stops the services whatever happens. Screenshots go to
# $PAVEWATCH_ARTIFACTS_DIR/browser. Extra environment for the check can be given through
# PAVEWATCH_STACK_ARGS (options of scripts/stack start).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
check="$1"
[[ -n "${PAVEWATCH_BROKERS:-}" ]] || { echo "PAVEWATCH_BROKERS is not set: run through scripts/test" >&2; exit 2; }
dir="$(mktemp -d "${PAVEWATCH_TEST_TMP:-/tmp}/browser.XXXXXX")"
trap '"$root/scripts/stack" stop "$dir"' EXIT
# shellcheck disable=SC2086
"$root/scripts/stack" start "$dir" --prefix "browser.$(basename "$dir")" --speedup 30 --vehicles 60 ${PAVEWATCH_STACK_ARGS:-}
# shellcheck disable=SC1091
source "$dir/env"
export PAVEWATCH_GATEWAY_URL="$GATEWAY_URL"
export PAVEWATCH_ARTIFACTS_DIR="${PAVEWATCH_ARTIFACTS_DIR:-$dir}/browser"
status=0
node "$root/tests/browser/$check" || status=$?
if ((status != 0)); then
    for f in "$dir"/logs/*.log; do echo "== $f"; tail -n 15 "$f"; done >&2
fi
exit "$status"
