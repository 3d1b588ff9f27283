# Shared by the scripts: paths, caches, logging. Sourced, not run.
set -euo pipefail

PAVEWATCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Downloads and builds that a rerun on the same machine reuses (Maven jars, npm packages,
# the CMake build). Outside the clone by default, so that a fresh clone reuses them too.
if [[ -z "${PAVEWATCH_CACHE:-}" ]]; then
    if mkdir -p /var/cache/pavewatch 2>/dev/null && [[ -w /var/cache/pavewatch ]]; then
        PAVEWATCH_CACHE=/var/cache/pavewatch
    else
        PAVEWATCH_CACHE="$HOME/.cache/pavewatch"
    fi
fi
export PAVEWATCH_CACHE
PAVEWATCH_BUILD="${PAVEWATCH_BUILD:-$PAVEWATCH_ROOT/build}"
KAFKA_VERSION="3.9.1"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
