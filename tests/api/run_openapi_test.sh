#!/usr/bin/env bash
# tests/api/run_openapi_test.sh — runs openapi_test.py with a Python 3 that has PyYAML and
# jsonschema: Debian's own /usr/bin/python3 (python3-yaml, python3-jsonschema) first, else the
# python3 on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml, jsonschema' 2>/dev/null; then
        exec "$py" "$here/openapi_test.py" "$@"
    fi
done
echo "FAIL environment: no Python 3 with yaml and jsonschema (apt-get install python3-yaml python3-jsonschema)"
echo "api_openapi: 0 passed, 1 failed"
exit 2
