#!/usr/bin/env python3
"""ops_rules: the alert rules file passes `promtool check rules` and every unit test in
dashboards/alerts/tests/ (`promtool test rules`), and follows the project's conventions: every
alert has a `for:` duration, a severity label (critical, warning or info) and a runbook_url
pointing at an existing anchor of docs/operations/runbook.md; every alert has a unit test in
which it fires and one in which it does not; every metric the rules read is in the catalogue
docs/operations/metrics.md; the file has no YAML document separator (the Helm chart embeds it
in a PrometheusRule)."""

import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import opslib  # noqa: E402

SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_PREFIX = "docs/operations/runbook.md#"


def run(cmd, failures, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        print(proc.stderr, end="", file=sys.stderr)
        failures.add(what, f"`{' '.join(cmd)}` exited with {proc.returncode}")


def test_cases():
    """{alertname: {"fires": n, "silent": n}} from the promtool unit test files."""
    cases = {}
    for path in sorted(opslib.RULE_TESTS_DIR.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^\s*alertname:\s*(\S+)", line)
            if not m:
                continue
            for following in lines[i + 1 : i + 6]:
                e = re.match(r"^\s*exp_alerts:\s*(.*)$", following)
                if e:
                    kind = "silent" if e.group(1).strip() == "[]" else "fires"
                    cases.setdefault(m.group(1), {"fires": 0, "silent": 0})[kind] += 1
                    break
    return cases


def main():
    failures = opslib.Failures("ops_rules")
    promtool = shutil.which("promtool")
    if not promtool:
        print("promtool is missing (Debian package prometheus; run scripts/setup)", file=sys.stderr)
        return 1
    tests = sorted(str(p) for p in opslib.RULE_TESTS_DIR.glob("*.yaml"))
    run([promtool, "check", "rules", str(opslib.RULES_FILE)], failures, "promtool check rules")
    if not tests:
        failures.add(str(opslib.RULE_TESTS_DIR), "no unit test files")
    else:
        run([promtool, "test", "rules", *tests], failures, "promtool test rules")

    text = opslib.RULES_FILE.read_text(encoding="utf-8")
    if re.search(r"^---", text, re.M):
        failures.add(opslib.RULES_FILE.name, "has a YAML document separator; the chart embeds the file as one document")
    if "\t" in text:
        failures.add(opslib.RULES_FILE.name, "has a tab character")

    rules = opslib.rules()
    anchors = opslib.markdown_anchors(opslib.RUNBOOK)
    cases = test_cases()
    catalogue = opslib.catalogue()
    recorded = {name for kind, name, _, _ in rules if kind == "record"}
    alerts = [r for r in rules if r[0] == "alert"]
    if not alerts:
        failures.add(opslib.RULES_FILE.name, "no alerts found")
    names = [name for _, name, _, _ in alerts]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        failures.add(opslib.RULES_FILE.name, f"alert {dup} is defined more than once")
    for kind, name, fields, line in rules:
        where = f"{opslib.RULES_FILE.name}:{line} {name}"
        for metric in sorted(opslib.metric_names(fields.get("expr", ""))):
            if metric not in recorded and not opslib.catalogued(metric, catalogue):
                failures.add(where, f"reads {metric}, which is not in docs/operations/metrics.md")
        if kind != "alert":
            continue
        if not fields.get("for"):
            failures.add(where, "has no `for:` duration")
        if fields.get("severity") not in SEVERITIES:
            failures.add(where, f"severity {fields.get('severity')!r} is not one of {sorted(SEVERITIES)}")
        url = fields.get("runbook_url", "")
        if not url.startswith(RUNBOOK_PREFIX):
            failures.add(where, f"runbook_url {url!r} does not start with {RUNBOOK_PREFIX}")
        elif url[len(RUNBOOK_PREFIX):] not in anchors:
            failures.add(where, f"runbook_url anchor #{url[len(RUNBOOK_PREFIX):]} is not a heading of docs/operations/runbook.md")
        case = cases.get(name, {"fires": 0, "silent": 0})
        if not case["fires"]:
            failures.add(where, "no promtool unit test in which it fires")
        if not case["silent"]:
            failures.add(where, "no promtool unit test in which it does not fire (exp_alerts: [])")
    for name in sorted(set(cases) - set(names)):
        failures.add("dashboards/alerts/tests", f"tests alert {name}, which the rules file does not define")
    return failures.finish(f"{len(alerts)} alerts, {len(recorded)} recording rules, {len(tests)} test files")


if __name__ == "__main__":
    sys.exit(main())
