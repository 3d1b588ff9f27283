#!/usr/bin/env python3
"""ops_prometheus_e2e: every dashboard query returns data from the real services.

Starts the four services on loopback with `scripts/stack start DIR --prefix <unique>` against the
test broker (PAVEWATCH_BROKERS), runs a real Prometheus (Debian's `prometheus`) that scrapes their
/metrics every second and loads the alert rules file, lets the simulator drive data through the
pipeline, then runs EVERY query of EVERY panel of EVERY dashboard through the Prometheus HTTP API
(`$__rate_interval` = 15s, template variables at their "All" value) and fails naming each panel
and query that returned nothing. A query passes when the instant query (/api/v1/query) returns a
sample that is a number, or — for series that only move at start-up, such as restore durations —
the range query over the test's window (/api/v1/query_range) does.

To show scale-out and a restore from the changelog while Prometheus watches, it adds a second
wear instance to the consumer group once data flows (same arguments as the stack's wear, read
from /proc, with its own metrics port, state folder and instance id): the group rebalances and
the new instance restores the partitions it receives.

It also checks that every metric the services expose is in the catalogue
(docs/operations/metrics.md) with its type, and that every alerting and recording rule evaluates
without error and no alert fires on a healthy stack.

Panels that read a metric listed under "Pending" in the catalogue and exposed by no service yet
are reported as pending, not failed; once a service exposes the metric they are checked like the
others. Everything it starts is stopped on exit (also on SIGTERM/SIGINT); it ends by itself within
DEADLINE_S. Logs and query results go to $PAVEWATCH_ARTIFACTS_DIR/ops_prometheus_e2e/."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import opslib  # noqa: E402

DEADLINE_S = 200          # the whole test, well inside its CTest timeout
MIN_DATA_S = 25           # data collected before the first round of queries
MAX_DATA_S = 100          # give up waiting for the last queries after this much data
RATE_INTERVAL = "15s"
JOBS = ("simulate", "ingest", "wear", "gateway")

started = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8")


def api(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        body = json.loads(http_get(url, timeout=10))
    except urllib.error.HTTPError as e:
        body = json.loads(e.read().decode("utf-8") or "{}")
    return body


def has_number(result):
    """True when a query result holds at least one sample that is a number (not NaN)."""
    for series in result:
        values = series.get("values") or ([series["value"]] if "value" in series else [])
        for _, v in values:
            if v.lower() not in ("nan",):
                return True
    return False


class Run:
    def __init__(self):
        env = os.environ
        self.source = Path(env.get("PAVEWATCH_SOURCE_DIR") or opslib.SOURCE_DIR)
        self.brokers = env.get("PAVEWATCH_BROKERS", "")
        self.binary = env.get("PAVEWATCH_BINARY", "")
        tmp_root = Path(env.get("PAVEWATCH_TEST_TMP") or "/tmp")
        self.tmp = tmp_root / f"ops_prometheus_e2e-{os.getpid()}"
        self.artifacts = Path(env.get("PAVEWATCH_ARTIFACTS_DIR") or self.tmp) / "ops_prometheus_e2e"
        self.prefix = f"opse2e{os.getpid()}x{int(time.time())}"
        # scripts/stack names wear's instance (its transactional id and static group member id)
        # after this folder: unique, so that no other stack on the broker fences it.
        self.stack_dir = self.tmp / f"stack-{self.prefix}"
        self.prometheus = None
        self.wear2 = None
        self.stack_started = False
        self.failures = opslib.Failures("ops_prometheus_e2e")

    # ---- lifecycle ---------------------------------------------------------------------------

    def stop(self):
        if self.wear2 and self.wear2.poll() is None:
            self.wear2.terminate()
            try:
                self.wear2.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.wear2.kill()
                self.wear2.wait()
        self.wear2 = None
        if self.prometheus and self.prometheus.poll() is None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
                self.prometheus.wait()
        self.prometheus = None
        if self.stack_started:
            subprocess.run([str(self.source / "scripts" / "stack"), "stop", str(self.stack_dir)],
                           env=self.stack_env(), timeout=60)
            self.stack_started = False

    def stack_env(self):
        env = dict(os.environ)
        env["PAVEWATCH_BROKERS"] = self.brokers
        env["PAVEWATCH_BINARY"] = self.binary
        return env

    def keep_artifacts(self):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        for src in (self.stack_dir / "logs", self.tmp / "prometheus.log", self.tmp / "prometheus.yml",
                    self.tmp / "wear-2.log"):
            if src.is_dir():
                shutil.copytree(src, self.artifacts / "stack-logs", dirs_exist_ok=True)
            elif src.exists():
                shutil.copy(src, self.artifacts / src.name)

    # ---- steps -------------------------------------------------------------------------------

    def start_stack(self):
        if not self.brokers:
            raise SystemExit("PAVEWATCH_BROKERS is not set (scripts/test starts a broker; or scripts/kafka start)")
        if not (self.binary and os.access(self.binary, os.X_OK)):
            raise SystemExit(f"PAVEWATCH_BINARY {self.binary!r} is not an executable pavewatch binary")
        self.tmp.mkdir(parents=True, exist_ok=True)
        log(f"starting the stack (topic prefix {self.prefix})")
        self.stack_started = True
        subprocess.run(
            [str(self.source / "scripts" / "stack"), "start", str(self.stack_dir), "--prefix", self.prefix,
             "--speedup", "10", "--vehicles", "40", "--partitions", "3", "--invalid-share", "0.02"],
            env=self.stack_env(), check=True, timeout=90,
        )
        ports = {}
        for line in (self.stack_dir / "env").read_text().splitlines():
            key, _, value = line.partition("=")
            ports[key] = value
        self.ports = {job: int(ports[f"{job.upper()}_METRICS_PORT"]) for job in JOBS}
        self.wear2_port = free_port()
        log(f"stack ready: {self.ports}")

    def start_second_wear(self):
        """A second wear instance joins the group: a rebalance, and a restore of the partitions it
        gets. Its arguments are the stack's wear's, with its own port, state and instance id."""
        pid = None
        for line in (self.stack_dir / "pids").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "wear":
                pid = value.strip()
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        args = [a.decode() for a in args]
        own = {"--metrics-port": str(self.wear2_port), "--state-dir": str(self.tmp / "wear-2-state"),
               "--instance-id": f"{self.prefix}-wear-2", "--metrics-address": "127.0.0.1"}
        out, i = [], 0
        while i < len(args):
            if args[i] in own:
                i += 2
                continue
            out.append(args[i])
            i += 1
        for k, v in own.items():
            out += [k, v]
        out[0] = self.binary
        self.wear2_log = open(self.tmp / "wear-2.log", "w")
        self.wear2 = subprocess.Popen(out, stdout=self.wear2_log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        log(f"second wear instance started (metrics port {self.wear2_port})")

    def start_prometheus(self):
        binary = shutil.which("prometheus")
        if not binary:
            raise SystemExit("prometheus is missing (Debian package prometheus; run scripts/setup)")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        config = self.tmp / "prometheus.yml"
        def targets(job, p):
            extra = f", '127.0.0.1:{self.wear2_port}'" if job == "wear" else ""
            return f"  - job_name: pavewatch-{job}\n    static_configs:\n      - targets: ['127.0.0.1:{p}'{extra}]"

        scrape = "\n".join(targets(job, p) for job, p in self.ports.items())
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {opslib.RULES_FILE}\n"
            f"scrape_configs:\n{scrape}\n"
        )
        self.prometheus_log = open(self.tmp / "prometheus.log", "w")
        self.prometheus = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
             "--log.level=warn"],
            stdout=self.prometheus_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        for _ in range(200):
            if self.prometheus.poll() is not None:
                raise SystemExit(f"prometheus exited with {self.prometheus.returncode} (log: {self.tmp / 'prometheus.log'})")
            try:
                http_get(f"{self.base}/-/ready", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        else:
            raise SystemExit("prometheus did not become ready within 20 s")
        self.data_start = time.time()
        log(f"prometheus ready at {self.base}, scraping every 1 s")

    def wait_for_targets(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            active = api(self.base, "/api/v1/targets").get("data", {}).get("activeTargets", [])
            up = {t["labels"]["job"] for t in active if t.get("health") == "up"}
            if len(up) == len(JOBS):
                log("all four targets up")
                return
            time.sleep(1)
        self.failures.add("targets", f"not all up after 20 s: {active}")

    def queries(self):
        """[(dashboard file, panel title, refId, resolved expr)] of every dashboard."""
        out = []
        for path in opslib.dashboard_files():
            d = opslib.load_dashboard(path)
            for panel in opslib.all_panels(d):
                for t in panel.get("targets") or []:
                    expr = opslib.resolve(t.get("expr", ""), d, RATE_INTERVAL)
                    out.append((path.name, panel.get("title", ""), t.get("refId", ""), expr))
        return out

    def exposed_metrics(self):
        """{metric family: type} as the four services expose them now."""
        families = {}
        for job, port in self.ports.items():
            for line in http_get(f"http://127.0.0.1:{port}/metrics").splitlines():
                if line.startswith("# TYPE "):
                    _, _, name, kind = line.split(None, 3)
                    families[name] = kind.strip()
        return families

    def check_catalogue(self, exposed):
        catalogue = opslib.catalogue()
        for name, kind in sorted(exposed.items()):
            entry = catalogue.get(name)
            if entry is None:
                self.failures.add("docs/operations/metrics.md", f"{name} ({kind}) is exposed but not catalogued")
            elif entry["type"] != kind:
                self.failures.add("docs/operations/metrics.md", f"{name} is catalogued as {entry['type']!r}, exposed as {kind!r}")
            elif entry["pending"]:
                log(f"note: {name} is exposed now; move it out of the catalogue's Pending section")
        return catalogue

    def run_queries(self, queries, pending_metrics, catalogue):
        """(failed, pending, passed-only-in-range). Queries are retried until all pass or time is
        up; a query reading a pending metric is asked once and not waited for."""
        def pending_of(q):
            return sorted({opslib.base_name(m, catalogue) for m in opslib.metric_names(q[3])} & pending_metrics)

        results = {}
        range_only = set()
        remaining = list(queries)
        first = True
        while True:
            still = []
            now = time.time()
            for q in remaining:
                name, title, ref, expr = q
                instant = api(self.base, "/api/v1/query", query=expr, time=f"{now:.3f}")
                if instant.get("status") != "success":
                    results[q] = f"error: {instant.get('error')}"
                    still.append(q)
                    continue
                if has_number(instant["data"]["result"]):
                    results[q] = instant["data"]["result"][:3]
                    continue
                ranged = api(self.base, "/api/v1/query_range", query=expr, start=f"{self.data_start:.3f}",
                             end=f"{now:.3f}", step="2")
                if ranged.get("status") == "success" and has_number(ranged["data"]["result"]):
                    results[q] = "range only"
                    range_only.add(q)
                    continue
                results[q] = "no data"
                still.append(q)
            if first:
                pending = [(q, pending_of(q)) for q in still if pending_of(q)]
                still = [q for q in still if not pending_of(q)]
                first = False
            remaining = still
            waited = time.time() - self.data_start
            if not remaining or waited > MAX_DATA_S or time.monotonic() - started > DEADLINE_S - 40:
                break
            log(f"{len(remaining)} of {len(queries)} queries without data after {waited:.0f} s of data; retrying")
            time.sleep(5)
        failed = [(q, results.get(q)) for q in remaining]
        self.artifacts.mkdir(parents=True, exist_ok=True)
        with open(self.artifacts / "query-results.json", "w") as f:
            json.dump([{"dashboard": q[0], "panel": q[1], "refId": q[2], "expr": q[3], "result": results.get(q)}
                       for q in queries], f, indent=1, default=str)
        return failed, pending, range_only

    def check_scale_out(self):
        """Both wear instances are in the group and hold partitions."""
        result = api(self.base, "/api/v1/query", query="pavewatch_wear_assigned_partitions").get("data", {}).get("result", [])
        held = {r["metric"].get("instance"): float(r["value"][1]) for r in result}
        if len(held) != 2 or min(held.values(), default=0) <= 0:
            self.failures.add("scale-out", f"two wear instances should share the partitions; assigned: {held}")
        else:
            log(f"wear partitions shared by two instances: {held}")

    def check_rules(self):
        # Let every group evaluate a few times, then read their health and the alerts.
        groups = api(self.base, "/api/v1/rules").get("data", {}).get("groups", [])
        count = 0
        for g in groups:
            for r in g.get("rules", []):
                count += 1
                if r.get("health") != "ok":
                    self.failures.add(f"rule {r.get('name')}", f"health {r.get('health')}: {r.get('lastError')}")
                if r.get("type") == "alerting" and r.get("state") == "firing":
                    self.failures.add(f"alert {r.get('name')}", f"fires on a healthy stack: {r.get('alerts')}")
                elif r.get("type") == "alerting" and r.get("state") == "pending":
                    # `for:` durations are minutes, longer than this test: a pending alert would fire.
                    self.failures.add(f"alert {r.get('name')}", f"pending on a healthy stack: {r.get('alerts')}")
        if count == 0:
            self.failures.add("rules", "Prometheus loaded no rules from the rules file")
        for name in ("pavewatch:consumer_lag_records:sum", "pavewatch:records_consumed:rate5m",
                     "pavewatch:transactions:rate5m"):
            result = api(self.base, "/api/v1/query", query=name).get("data", {}).get("result", [])
            if not result:
                self.failures.add(f"recording rule {name}", "returned nothing")
        log(f"{count} rules evaluated without error")

    # ---- main --------------------------------------------------------------------------------

    def main(self):
        self.start_stack()
        self.start_prometheus()
        self.wait_for_targets()
        self.start_second_wear()
        queries = self.queries()
        log(f"{len(queries)} queries in {len(opslib.dashboard_files())} dashboards")
        time.sleep(max(0.0, MIN_DATA_S - (time.time() - self.data_start)))
        exposed = self.exposed_metrics()
        catalogue = self.check_catalogue(exposed)
        pending_metrics = {n for n, e in catalogue.items() if e["pending"] and n not in exposed}
        failed, pending, range_only = self.run_queries(queries, pending_metrics, catalogue)
        self.check_scale_out()
        self.check_rules()
        for (name, title, ref, expr), why in failed:
            self.failures.add(f"{name} panel {title!r} query {ref}", f"returned no data ({why}): {expr}")
        for (name, title, ref, expr), metrics in pending:
            log(f"PENDING {name} panel {title!r} query {ref}: {', '.join(metrics)} not exposed yet (catalogue: Pending)")
        for name, title, ref, expr in sorted(range_only):
            log(f"note: {name} panel {title!r} query {ref} has data only earlier in the window")
        ok = len(queries) - len(failed) - len(pending)
        return self.failures.finish(f"{ok} of {len(queries)} queries returned data, {len(pending)} pending")


def main():
    run = Run()

    def on_signal(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.alarm(DEADLINE_S)
    signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(SystemExit(f"deadline of {DEADLINE_S} s reached")))
    status = 1
    try:
        status = run.main()
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"FAIL {e.code}", file=sys.stderr)
            status = 1
        else:
            status = e.code or 0
    except Exception as e:  # report, clean up, fail
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
        status = 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            run.stop()
        finally:
            run.keep_artifacts()
            if status == 0:
                shutil.rmtree(run.tmp, ignore_errors=True)
    log(f"done, exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
