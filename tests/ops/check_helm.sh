#!/usr/bin/env bash
# ops_helm: the Helm chart helm/pavewatch
#  1. carries THE SAME alert rules and dashboards as dashboards/ (files/ links to them; each
#     file is compared byte for byte);
#  2. passes `helm lint --strict` with the default values and every ci/*-values.yaml;
#  3. renders (`helm template`) with each of them, and every rendered document passes the strict
#     validator (tests/ops/validate: typed decoding with unknown fields as errors, references,
#     security policy), which also checks that the PrometheusRule's spec IS the rules file
#     (runbook links prefixed by monitoring.runbookBaseUrl) and that the dashboard ConfigMaps
#     hold the dashboard files byte for byte;
#  4. rejects values its schema does not allow (unknown keys, bad enums, root, writable root fs).
# Tools: scripts/ops-tools (helm and the validator, built once from the Go module proxy).
set -euo pipefail

root="${PAVEWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
chart="$root/helm/pavewatch"
mkdir -p "${PAVEWATCH_TEST_TMP:-/tmp}"
tmp="$(mktemp -d "${PAVEWATCH_TEST_TMP:-/tmp}/ops_helm.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"

tools="$("$root/scripts/ops-tools")"
bin="${tools#OPS_TOOLS_BIN=}"
helm="$bin/helm"
validate="$bin/pavewatch-validate-manifests"
failures=0
fail() { echo "FAIL $*" >&2; failures=$((failures + 1)); }
# helm warns on stderr about each followed link (files/ -> dashboards/): expected, not shown.
quiet() { grep -v 'found symbolic link in path' || true; }

echo "== 1. the chart's rules and dashboards are dashboards/'s"
if cmp -s "$chart/files/pavewatch-rules.yaml" "$root/dashboards/alerts/pavewatch-rules.yaml"; then
    echo "ok   files/pavewatch-rules.yaml"
else
    fail "helm/pavewatch/files/pavewatch-rules.yaml differs from dashboards/alerts/pavewatch-rules.yaml"
fi
count=0
for f in "$root"/dashboards/*.json; do
    name="$(basename "$f")"
    count=$((count + 1))
    if cmp -s "$f" "$chart/files/dashboards/$name"; then
        echo "ok   files/dashboards/$name"
    else
        fail "helm/pavewatch/files/dashboards/$name differs from dashboards/$name (or is missing)"
    fi
done
for f in "$chart"/files/dashboards/*.json; do
    [[ -f "$root/dashboards/$(basename "$f")" ]] || fail "helm/pavewatch/files/dashboards/$(basename "$f") is not in dashboards/"
done
((count > 0)) || fail "no dashboards in dashboards/"

values_sets=("default:")
for v in "$chart"/ci/*-values.yaml; do
    values_sets+=("$(basename "$v" -values.yaml):$v")
done

for set in "${values_sets[@]}"; do
    name="${set%%:*}"; file="${set#*:}"
    args=(); [[ -n "$file" ]] && args=(-f "$file")
    echo "== 2/3. values: $name"
    if "$helm" lint --strict "$chart" "${args[@]}" > "$tmp/lint.txt" 2>&1; then
        echo "ok   helm lint --strict"
    else
        quiet < "$tmp/lint.txt" >&2
        fail "helm lint --strict with $name values"
    fi
    if ! "$helm" template pw "$chart" --namespace pavewatch "${args[@]}" > "$tmp/$name.yaml" 2> "$tmp/template.err"; then
        quiet < "$tmp/template.err" >&2
        fail "helm template with $name values"
        continue
    fi
    base=""
    if [[ -n "$file" ]]; then
        base="$(sed -nE 's/^[[:space:]]+runbookBaseUrl:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\1/p' "$file" | head -n 1)"
    fi
    if "$validate" --rules "$root/dashboards/alerts/pavewatch-rules.yaml" --runbook-base "$base" \
        --dashboards "$root/dashboards" "$tmp/$name.yaml"; then
        echo "ok   strict validation of $(grep -c '^kind:' "$tmp/$name.yaml") rendered documents"
    else
        fail "rendered manifests with $name values are invalid"
    fi
    cp "$tmp/$name.yaml" "${PAVEWATCH_ARTIFACTS_DIR:-$tmp}/ops_helm-$name.yaml" 2>/dev/null || true
done

echo "== 4. the schema rejects what it must"
must_fail() {  # description, helm --set arguments...
    local what="$1"; shift
    if "$helm" template pw "$chart" "$@" > /dev/null 2> "$tmp/err.txt"; then
        fail "values schema accepted $what ($*)"
    else
        echo "ok   rejected: $what"
    fi
}
must_fail "an unknown top-level key" --set unknownKey=1
must_fail "an unknown key under kafka" --set kafka.bootstrapServers=x:9092
must_fail "an unknown key under wear" --set wear.stateDir=/data
must_fail "an unknown security protocol" --set kafka.securityProtocol=TLS
must_fail "an unknown topic creation mode" --set kafka.createTopics=always
must_fail "brokers without a port" --set kafka.brokers=kafka
must_fail "negative wear replicas" --set wear.replicas=-1
must_fail "running as root" --set podSecurityContext.runAsNonRoot=false
must_fail "a writable root filesystem" --set securityContext.readOnlyRootFilesystem=false
must_fail "a runbook base without a trailing slash" --set monitoring.runbookBaseUrl=https://x.org/repo

if ((failures)); then
    echo "ops_helm: $failures problem(s)" >&2
    exit 1
fi
echo "ops_helm: OK — ${#values_sets[@]} value sets linted, rendered and validated"
