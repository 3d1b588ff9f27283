"""Shared by the operations tests (tests/ops/*.py): where things are, the dashboards and their
queries, the metric catalogue, and the alert rules file. Python 3 standard library only."""

import json
import os
import re
import sys
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("PAVEWATCH_SOURCE_DIR") or Path(__file__).resolve().parents[2])
DASHBOARDS_DIR = SOURCE_DIR / "dashboards"
RULES_FILE = DASHBOARDS_DIR / "alerts" / "pavewatch-rules.yaml"
RULE_TESTS_DIR = DASHBOARDS_DIR / "alerts" / "tests"
CATALOGUE = SOURCE_DIR / "docs" / "operations" / "metrics.md"
RUNBOOK = SOURCE_DIR / "docs" / "operations" / "runbook.md"

# Series that Prometheus itself adds to every scrape; the catalogue lists them too.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class Failures:
    """Collects failures so that a check reports all of them, not only the first."""

    def __init__(self, name):
        self.name = name
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")

    def finish(self, passed_note=""):
        if self.items:
            for item in self.items:
                print(f"FAIL {item}", file=sys.stderr)
            print(f"{self.name}: {len(self.items)} problem(s)", file=sys.stderr)
            return 1
        print(f"{self.name}: OK{(' — ' + passed_note) if passed_note else ''}")
        return 0


# ---- dashboards ------------------------------------------------------------------------------


def dashboard_files():
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def load_dashboard(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def all_panels(dashboard):
    """Every panel, the ones nested in collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:
            yield inner


def variables(dashboard):
    return {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}


VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)")


def resolve(expr, dashboard, rate_interval="15s"):
    """The query as Grafana would send it with every variable at its "All" value: built-in
    intervals become durations, query variables their allValue. Raises KeyError for a variable
    the dashboard does not define."""
    vars_ = variables(dashboard)
    builtins = {
        "__rate_interval": rate_interval,
        "__interval": "5s",
        "__range": "5m",
        "__range_s": "300",
        "__interval_ms": "5000",
    }

    def value(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in builtins:
            return builtins[name]
        var = vars_.get(name)
        if var is None:
            raise KeyError(name)
        if var.get("type") == "datasource":
            raise KeyError(f"{name} (a datasource variable inside a query)")
        if var.get("includeAll") and var.get("allValue"):
            return var["allValue"]
        current = var.get("current", {}).get("value")
        if isinstance(current, list):
            current = current[0] if current else ""
        if current in (None, "", "$__all"):
            raise KeyError(f"{name} (no allValue and no current value)")
        return current

    return VAR_RE.sub(value, expr)


# ---- PromQL ----------------------------------------------------------------------------------

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "inf", "nan", "le", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "atan2",
}


def metric_names(expr):
    """Metric names a PromQL expression reads (functions, keywords, labels, strings and
    durations removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^{}]*\}", "", e)                        # label matchers
    e = re.sub(r"\[[^\[\]]*\]", "", e)                      # range selectors, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", r"\1", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        token = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation
        if token.lower() in PROMQL_KEYWORDS:
            continue
        start = m.start()
        if start > 0 and (e[start - 1].isdigit() or e[start - 1] == "."):
            continue  # part of a number or a duration such as 5m, 1e3
        names.add(token)
    return names


# ---- the metric catalogue --------------------------------------------------------------------


def catalogue():
    """{name: {"type", "labels", "pending"}} from the tables of docs/operations/metrics.md: a row
    whose first cell is `metric_name`. Rows under a heading with "Pending" in it are metrics the
    dashboards and rules may use before the services expose them."""
    result = {}
    pending = False
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            pending = "pending" in line.lower()
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]) if cells else None
        if not m:
            continue
        labels = set(re.findall(r"`([a-z_]+)`", cells[2])) if len(cells) > 2 else set()
        result[m.group(1)] = {"type": cells[1] if len(cells) > 1 else "", "labels": labels, "pending": pending}
    return result


def catalogued(name, cat):
    """True when `name` is in the catalogue, a histogram's _bucket/_sum/_count included."""
    if name in cat:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and cat.get(name[: -len(suffix)], {}).get("type") in ("histogram", "summary"):
            return True
    return False


def base_name(name, cat):
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in cat:
            return name[: -len(suffix)]
    return name


# ---- the alert rules file (a small reader for its known shape: no YAML library needed) -------


def rules():
    """[(kind, name, {field: text}, line)] for each rule of the rules file, kind "alert" or
    "record"; fields hold `for`, `severity`, `runbook_url` and `expr` (joined lines)."""
    lines = RULES_FILE.read_text(encoding="utf-8").splitlines()
    out = []
    current = None
    in_expr = False
    expr_indent = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        m = re.match(r"^\s*- (alert|record): *(\S+)", line)
        if m:
            current = (m.group(1), m.group(2), {"expr": ""}, number)
            out.append(current)
            in_expr = False
            continue
        if current is None:
            continue
        indent = len(line) - len(line.lstrip())
        if in_expr:
            if stripped and indent > expr_indent:
                current[2]["expr"] += " " + stripped
                continue
            in_expr = False
        m = re.match(r"^\s*(expr|for|severity|runbook_url):\s*(.*)$", line)
        if m:
            key, value = m.group(1), m.group(2).strip()
            if key == "expr" and value in ("|", ">", "|-", ">-"):
                in_expr = True
                expr_indent = indent
                value = ""
            current[2][key] = value.strip('"')
    return out


def github_anchor(heading):
    """The anchor GitHub and most Markdown renderers give a heading."""
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def markdown_anchors(path):
    anchors = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            anchors.add(github_anchor(m.group(1)))
        for explicit in re.findall(r'<a (?:name|id)="([^"]+)"', line):
            anchors.add(explicit)
    return anchors
