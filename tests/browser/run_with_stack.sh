#!/usr/bin/env bash
# tests/browser/run_with_stack.sh <check.mjs> — runs one browser check against a live stack:
# starts the services on the test broker (scripts/stack, topics of its own), runs the check in
# headless Chromium, stops the services whatever happens (a gateway restarted by the check
# included: stackctl.sh keeps DIR/pids up to date). Screenshots go to
# $PAVEWATCH_ARTIFACTS_DIR/browser. Extra options of scripts/stack start can be given through
# PAVEWATCH_STACK_ARGS.
#
# With PAVEWATCH_STACK_TOKENS=1 the gateway gets a tokens file (DIR/tokens.json, fresh random
# tokens): an agency token and a contractor whose zone is a list of PAVEWATCH_ZONE_SEGMENTS
# (default 60) consecutive segments of the network. The check then sees
#   PAVEWATCH_AGENCY_TOKEN, PAVEWATCH_CONTRACTOR_TOKEN, PAVEWATCH_CONTRACTOR_SEGMENTS (comma list).
# Every check also sees PAVEWATCH_STACK_DIR, PAVEWATCH_CONDITIONS_TOPIC and PAVEWATCH_BROKERS.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
check="$1"
[[ -n "${PAVEWATCH_BROKERS:-}" ]] || { echo "PAVEWATCH_BROKERS is not set: run through scripts/test" >&2; exit 2; }
dir="$(mktemp -d "${PAVEWATCH_TEST_TMP:-/tmp}/browser.XXXXXX")"
prefix="browser.$(basename "$dir")"
trap '"$root/scripts/stack" stop "$dir"' EXIT

stack_args=(--prefix "$prefix" --speedup 30 --vehicles 60)
if [[ "${PAVEWATCH_STACK_TOKENS:-0}" == 1 ]]; then
    bin="${PAVEWATCH_BINARY:-$root/build/services/app/pavewatch}"
    random_token() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
    agency_token="$(random_token)"
    contractor_token="$(random_token)"
    mapfile -t ids < <(PAVEWATCH_BINARY="$bin" "$root/tests/browser/stackctl.sh" network-ids - "$root/data/almaty_roads.geojson")
    ((${#ids[@]} > 0)) || { echo "no segment ids from the network" >&2; exit 2; }
    count="${PAVEWATCH_ZONE_SEGMENTS:-60}"
    start=$(( ${#ids[@]} / 3 ))
    zone=("${ids[@]:start:count}")
    python3 - "$dir/tokens.json" "$("$bin" gateway --hash-token "$agency_token")" \
        "$("$bin" gateway --hash-token "$contractor_token")" "${zone[@]}" <<'PY'
import json, sys
path, agency, contractor, *zone = sys.argv[1:]
json.dump({"tokens": [
    {"name": "city-roads", "role": "agency", "sha256": agency},
    {"name": "acme-paving", "role": "contractor", "sha256": contractor,
     "expires": "2099-01-01T00:00:00Z", "zone": {"segments": zone}},
]}, open(path, "w"), indent=1)
PY
    stack_args+=(--extra-gateway-args "--tokens $dir/tokens.json")
    export PAVEWATCH_AGENCY_TOKEN="$agency_token"
    export PAVEWATCH_CONTRACTOR_TOKEN="$contractor_token"
    PAVEWATCH_CONTRACTOR_SEGMENTS="$(IFS=,; echo "${zone[*]}")"
    export PAVEWATCH_CONTRACTOR_SEGMENTS
fi
# shellcheck disable=SC2086
"$root/scripts/stack" start "$dir" "${stack_args[@]}" ${PAVEWATCH_STACK_ARGS:-}
# shellcheck disable=SC1091
source "$dir/env"
export PAVEWATCH_GATEWAY_URL="$GATEWAY_URL"
export PAVEWATCH_STACK_DIR="$dir"
export PAVEWATCH_CONDITIONS_TOPIC="$prefix.conditions"
export PAVEWATCH_ARTIFACTS_DIR="${PAVEWATCH_ARTIFACTS_DIR:-$dir}/browser"
status=0
node "$root/tests/browser/$check" || status=$?
if ((status != 0)); then
    for f in "$dir"/logs/*.log; do echo "== $f"; tail -n 15 "$f"; done >&2
fi
exit "$status"
