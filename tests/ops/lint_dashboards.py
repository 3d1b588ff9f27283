#!/usr/bin/env python3
"""ops_dashboards_lint: static checks of every Grafana dashboard in dashboards/*.json.

- the JSON files are what dashboards/generate.py writes (`generate.py --check`);
- a template variable `datasource` of type `datasource` with query `prometheus`;
- every panel and every target uses the datasource `{"type": "prometheus", "uid": "${datasource}"}`
  (no hard-coded uid anywhere);
- every range function (rate, irate, increase, delta, deriv, *_over_time) reads
  `[$__rate_interval]`; histogram_quantile reads `_bucket` series summed `by (le…)`;
- every panel has a title, a description and a known unit in fieldConfig.defaults.unit;
- panel ids are unique and panels do not overlap on the 24-column grid;
- every variable a query uses is defined; every metric a query reads is in the catalogue
  docs/operations/metrics.md;
- dashboard uids and titles are unique, and tagged `pavewatch`.
Standard library only."""

import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import opslib  # noqa: E402

EXPECTED_DS = {"type": "prometheus", "uid": "${datasource}"}
RANGE_FUNCTIONS = (
    "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "changes", "resets",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
    "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time",
)
# Grafana's unit ids (packages/grafana-data/src/valueFormats/categories.ts), the ones a
# monitoring dashboard may want; custom units use a prefix such as "suffix:".
KNOWN_UNITS = {
    "none", "short", "string", "percent", "percentunit", "locale", "sci", "bool", "bool_yes_no",
    "bool_on_off", "bits", "bytes", "kbytes", "mbytes", "gbytes", "decbits", "decbytes", "deckbytes",
    "decmbytes", "decgbytes", "pps", "bps", "Bps", "KBs", "MBs", "GBs", "ns", "µs", "ms", "s", "m",
    "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms", "clockms", "clocks", "hertz",
    "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday", "dateTimeAsUS", "dateTimeAsUSNoDateIfToday",
    "dateTimeFromNow", "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm",
}
CUSTOM_UNIT_PREFIXES = ("suffix:", "prefix:", "si:", "count:", "currency:", "time:")


def call_arguments(expr, start):
    """The text between the parenthesis at or after `start` and its match."""
    i = expr.index("(", start)
    depth = 0
    for j in range(i, len(expr)):
        if expr[j] == "(":
            depth += 1
        elif expr[j] == ")":
            depth -= 1
            if depth == 0:
                return expr[i + 1 : j]
    return expr[i + 1 :]


def check_expr(where, expr, dashboard, catalogue, failures):
    if not expr.strip():
        failures.add(where, "empty query")
        return
    for m in re.finditer(r"\b(" + "|".join(RANGE_FUNCTIONS) + r")\s*\(", expr):
        args = call_arguments(expr, m.start())
        ranges = re.findall(r"\[([^\[\]]*)\]", args)
        if not ranges:
            failures.add(where, f"{m.group(1)}() without a range selector in: {expr}")
        for r in ranges:
            if r.strip() != "$__rate_interval":
                failures.add(where, f"{m.group(1)}() over [{r}] instead of [$__rate_interval] in: {expr}")
    for m in re.finditer(r"\bhistogram_quantile\s*\(", expr):
        args = call_arguments(expr, m.start())
        if "_bucket" not in args or not re.search(r"\bby\s*\(\s*le\b", args):
            failures.add(where, f"histogram_quantile() not over `sum by (le…) (rate(…_bucket[…]))`: {expr}")
    if re.search(r"\$\{?datasource\b", expr):
        failures.add(where, "the datasource variable inside a query")
    try:
        opslib.resolve(expr, dashboard)
    except KeyError as e:
        failures.add(where, f"uses variable ${e.args[0]}, which the dashboard does not define")
    for name in sorted(opslib.metric_names(expr)):
        if not opslib.catalogued(name, catalogue):
            failures.add(where, f"reads {name}, which is not in docs/operations/metrics.md")


def check_datasources(where, node, failures, path="$"):
    """No datasource reference other than ${datasource} (or Grafana's built-in annotations)."""
    if isinstance(node, dict):
        for key, value in node.items():
            p = f"{path}.{key}"
            if key == "datasource":
                if isinstance(value, str):
                    failures.add(where, f"{p} is the plain string {value!r}; use {EXPECTED_DS}")
                elif isinstance(value, dict):
                    if value.get("type") == "grafana" and path.startswith("$.annotations"):
                        continue
                    if value != EXPECTED_DS:
                        failures.add(where, f"{p} is {value}; use {EXPECTED_DS}")
            check_datasources(where, value, failures, p)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_datasources(where, value, failures, f"{path}[{i}]")


def unit_known(unit):
    return unit in KNOWN_UNITS or unit.startswith(CUSTOM_UNIT_PREFIXES)


def main():
    failures = opslib.Failures("ops_dashboards_lint")
    catalogue = opslib.catalogue()
    if not catalogue:
        failures.add(str(opslib.CATALOGUE), "no metric found in the catalogue")
    gen = subprocess.run([sys.executable, str(opslib.DASHBOARDS_DIR / "generate.py"), "--check"], capture_output=True, text=True)
    if gen.returncode != 0:
        failures.add("dashboards/generate.py --check", gen.stderr.strip() or f"exit {gen.returncode}")
    files = opslib.dashboard_files()
    if not files:
        failures.add("dashboards/", "no dashboard JSON files")
    uids, titles = {}, {}
    panels_total = queries_total = 0
    for path in files:
        name = path.name
        try:
            d = opslib.load_dashboard(path)
        except (OSError, ValueError) as e:
            failures.add(name, f"not valid JSON: {e}")
            continue
        for key, seen in (("uid", uids), ("title", titles)):
            value = d.get(key)
            if not value:
                failures.add(name, f"no dashboard {key}")
            elif value in seen:
                failures.add(name, f"dashboard {key} {value!r} also used by {seen[value]}")
            else:
                seen[value] = name
        if "pavewatch" not in d.get("tags", []):
            failures.add(name, "not tagged `pavewatch` (the dashboards' links menu uses the tag)")
        vars_ = opslib.variables(d)
        ds = vars_.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            failures.add(name, "no template variable `datasource` of type `datasource` with query `prometheus`")
        check_datasources(name, d, failures)
        ids = {}
        cells = {}
        for panel in opslib.all_panels(d):
            panels_total += 1
            pid = panel.get("id")
            title = panel.get("title") or ""
            where = f"{name} panel {pid} {title!r}"
            if pid in ids:
                failures.add(where, f"panel id {pid} also used by {ids[pid]!r}")
            ids[pid] = title
            if panel.get("type") == "row":
                continue
            if not title.strip():
                failures.add(where, "no title")
            if not (panel.get("description") or "").strip():
                failures.add(where, "no description")
            unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit:
                failures.add(where, "no fieldConfig.defaults.unit")
            elif not unit_known(unit):
                failures.add(where, f"unit {unit!r} is not a Grafana unit id")
            if panel.get("datasource") != EXPECTED_DS:
                failures.add(where, f"panel datasource is {panel.get('datasource')}; use {EXPECTED_DS}")
            pos = panel.get("gridPos") or {}
            try:
                x, y, w, h = pos["x"], pos["y"], pos["w"], pos["h"]
                if x < 0 or w < 1 or h < 1 or x + w > 24:
                    failures.add(where, f"gridPos {pos} is outside the 24-column grid")
                for cx in range(x, x + w):
                    for cy in range(y, y + h):
                        if (cx, cy) in cells:
                            failures.add(where, f"overlaps panel {cells[(cx, cy)]!r}")
                            raise StopIteration
                        cells[(cx, cy)] = title
            except KeyError:
                failures.add(where, "no complete gridPos")
            except StopIteration:
                pass
            targets = panel.get("targets") or []
            if not targets:
                failures.add(where, "no queries")
            refs = set()
            for t in targets:
                queries_total += 1
                if t.get("refId") in refs:
                    failures.add(where, f"refId {t.get('refId')} used twice")
                refs.add(t.get("refId"))
                if "datasource" in t and t["datasource"] != EXPECTED_DS:
                    failures.add(where, f"target {t.get('refId')} datasource is {t['datasource']}")
                check_expr(f"{where} query {t.get('refId')}", t.get("expr", ""), d, catalogue, failures)
        for vname, var in vars_.items():
            if var.get("type") == "query":
                query = var.get("query")
                q = query.get("query") if isinstance(query, dict) else query
                if var.get("datasource") != EXPECTED_DS:
                    failures.add(name, f"variable {vname} datasource is {var.get('datasource')}")
                m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", q or "")
                for metric in sorted(opslib.metric_names(m.group(1) if m else (q or ""))):
                    if not opslib.catalogued(metric, catalogue):
                        failures.add(name, f"variable {vname} reads {metric}, which is not in the catalogue")
    return failures.finish(f"{len(files)} dashboards, {panels_total} panels, {queries_total} queries")


if __name__ == "__main__":
    sys.exit(main())
