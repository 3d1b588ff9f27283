#!/usr/bin/env python3
"""Writes PaveWatch's Grafana dashboards (dashboards/*.json) from the panel lists below.

The JSON files are what Grafana, the Helm chart and the tests read; this script is how they are
written, so that every panel gets the same datasource, variables and layout rules. After editing
it, run `python3 dashboards/generate.py`; `--check` (used by the ops_dashboards_lint test) fails
when a JSON file differs from what this script writes. Editing a dashboard in Grafana and
exporting it works too, as long as the change is carried back here.

Standard library only.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


class Target:
    def __init__(self, expr, legend="", instant=False):
        self.expr = expr
        self.legend = legend
        self.instant = instant


class Dashboard:
    """Lays panels out left to right on Grafana's 24-column grid."""

    def __init__(self, uid, title, description, service=None):
        self.uid = uid
        self.title = title
        self.description = description
        self.service = service
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_h = 0

    # Selector of every query: the namespace variable, and the instance variable on a
    # per-service dashboard.
    @property
    def sel(self):
        if self.service:
            return 'namespace=~"$namespace", instance=~"$instance"'
        return 'namespace=~"$namespace"'

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def newline(self):
        if self.x:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0

    def _panel(self, kind, title, description, unit, targets, w, h, options, custom, extra):
        targets = [t if isinstance(t, Target) else Target(*t) for t in targets]
        panel = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": dict(DS),
            "gridPos": self._place(w, h),
            "fieldConfig": {
                "defaults": {"unit": unit, **({"custom": custom} if custom else {}), **extra},
                "overrides": [],
            },
            "options": options,
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": dict(DS),
                    "expr": t.expr,
                    "legendFormat": t.legend or "__auto",
                    "range": not t.instant,
                    "instant": t.instant,
                    "editorMode": "code",
                }
                for i, t in enumerate(targets)
            ],
        }
        self.panels.append(panel)
        return panel

    def timeseries(self, title, description, unit, targets, w=12, h=8, stack=False, min0=True):
        custom = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 25 if stack else 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        }
        extra = {"min": 0} if min0 else {}
        options = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
        return self._panel("timeseries", title, description, unit, targets, w, h, options, custom, extra)

    def stat(self, title, description, unit, targets, w=4, h=4, thresholds=None, mappings=None):
        steps = [{"color": "green", "value": None}]
        for value, color in thresholds or []:
            steps.append({"color": color, "value": value})
        extra = {"thresholds": {"mode": "absolute", "steps": steps}, "color": {"mode": "thresholds"}}
        if mappings:
            extra["mappings"] = [
                {"type": "value", "options": {str(k): {"text": v, "index": i} for i, (k, v) in enumerate(mappings)}}
            ]
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        }
        targets = [Target(t.expr, t.legend, True) if isinstance(t, Target) else Target(t[0], t[1], True) for t in targets]
        return self._panel("stat", title, description, unit, targets, w, h, options, None, extra)

    def bargauge(self, title, description, unit, targets, w=12, h=8, thresholds=None):
        steps = [{"color": "green", "value": None}]
        for value, color in thresholds or []:
            steps.append({"color": color, "value": value})
        extra = {"thresholds": {"mode": "absolute", "steps": steps}, "color": {"mode": "thresholds"}, "min": 0}
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
        }
        targets = [Target(t.expr, t.legend, True) if isinstance(t, Target) else Target(t[0], t[1], True) for t in targets]
        return self._panel("bargauge", title, description, unit, targets, w, h, options, None, extra)

    def to_json(self):
        templating = [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
                "regex": "",
                "options": [],
                "includeAll": False,
                "multi": False,
            },
            self._query_var("namespace", "Namespace", "label_values(pavewatch_build_info, namespace)"),
        ]
        if self.service:
            templating.append(
                self._query_var(
                    "instance",
                    "Instance",
                    f'label_values(pavewatch_build_info{{service="{self.service}", namespace=~"$namespace"}}, instance)',
                )
            )
        return {
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "description": self.description,
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": [
                {
                    "type": "dashboards",
                    "title": "PaveWatch",
                    "tags": ["pavewatch"],
                    "asDropdown": True,
                    "includeVars": True,
                    "keepTime": True,
                    "icon": "external link",
                    "targetBlank": False,
                    "url": "",
                    "tooltip": "",
                }
            ],
            "panels": self.panels,
            "refresh": "30s",
            "schemaVersion": 39,
            "tags": ["pavewatch"] + ([self.service] if self.service else []),
            "templating": {"list": templating},
            "time": {"from": "now-6h", "to": "now"},
            "timepicker": {},
            "timezone": "",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }

    @staticmethod
    def _query_var(name, label, query):
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": dict(DS),
            "definition": query,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
            "refresh": 2,
            "includeAll": True,
            "multi": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "regex": "",
            "sort": 1,
            "hide": 0,
        }


def p99(metric, sel, by="", q="0.99"):
    by_clause = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({by_clause}) (rate({metric}_bucket{{{sel}}}[{RATE}])))"


def per_service(ingest_expr, wear_expr, by):
    """One query over a metric that both stream processors export under their own prefix, with a
    `service` label telling them apart."""
    by_clause = f"service, {by}" if by else "service"
    return (
        f'sum by ({by_clause}) ('
        f'label_replace({ingest_expr}, "service", "ingest", "", "") or '
        f'label_replace({wear_expr}, "service", "wear", "", ""))'
    )


OPEN_HAZARDS = "candidate|confirmed|acknowledged|repair_reported|disputed"


def overview():
    d = Dashboard(
        "pavewatch-overview",
        "PaveWatch / Overview",
        "Is data flowing from devices to the map, how fresh is it, where is it stuck, and what does "
        "the road network look like. Start here; the per-service dashboards are in the links menu.",
    )
    s = d.sel
    d.stat(
        "Services up",
        "Scrape targets of each PaveWatch job that answer /metrics (Prometheus `up`). A job missing "
        "here has no target at all.",
        "short",
        [Target(f'sum by (job) (up{{job=~"pavewatch-.*", {s}}})', "{{job}}")],
        w=6,
    )
    d.stat(
        "Data freshness",
        "Age of the newest condition the gateways hold (event time), worst gateway. Above 10 minutes "
        "the map is stale (alert PaveWatchDataStale).",
        "s",
        [Target(f"max(pavewatch_gateway_data_freshness_seconds{{{s}}})", "freshness")],
        thresholds=[(300, "yellow"), (600, "red")],
    )
    d.stat(
        "End-to-end event age p99",
        "99th percentile of the time from a segment's latest observation to its condition reaching "
        "the gateway, over the rate interval.",
        "s",
        [Target(p99("pavewatch_gateway_event_age_seconds", s), "p99")],
        thresholds=[(30, "yellow"), (120, "red")],
    )
    d.stat(
        "Consumer lag",
        "Records not yet consumed, all partitions, per stream processor.",
        "short",
        [
            Target(
                per_service(
                    f"pavewatch_ingest_consumer_lag_records{{{s}}}", f"pavewatch_wear_consumer_lag_records{{{s}}}", ""
                ),
                "{{service}}",
            )
        ],
        thresholds=[(1000, "yellow"), (10000, "red")],
    )
    d.stat(
        "Open hazards",
        "Hazards not yet verified or resolved (candidate, confirmed, acknowledged, repair reported, "
        "disputed), as the gateway counts them.",
        "short",
        [Target(f'sum(max by (status) (pavewatch_gateway_hazards{{status=~"{OPEN_HAZARDS}", {s}}}))', "open")],
        w=3,
        thresholds=[(1, "yellow")],
    )
    d.stat(
        "Repairs verified",
        "Hazards whose repair has been verified by later measurements.",
        "short",
        [Target(f'max(pavewatch_gateway_hazards{{status="verified", {s}}})', "verified")],
        w=3,
    )
    d.newline()
    d.timeseries(
        "Raw messages accepted by source",
        "Device messages accepted by ingest per second, by source (vehicle, wim, strain, temperature, "
        "moisture). A source dropping to zero is a sensor class gone silent.",
        "cps",
        [Target(f'sum by (source) (rate(pavewatch_ingest_messages_total{{outcome="accepted", {s}}}[{RATE}]))', "{{source}}")],
        w=8,
    )
    d.timeseries(
        "Pipeline throughput",
        "Observations produced by ingest, segment states written by wear, and conditions applied by "
        "a gateway (average per gateway: each reads the whole topic), per second.",
        "cps",
        [
            Target(f"sum(rate(pavewatch_ingest_observations_total{{{s}}}[{RATE}]))", "observations (ingest)"),
            Target(f"sum(rate(pavewatch_wear_segment_updates_total{{{s}}}[{RATE}]))", "segment updates (wear)"),
            Target(
                f'avg(rate(pavewatch_gateway_conditions_total{{outcome="applied", {s}}}[{RATE}]))',
                "conditions applied (per gateway)",
            ),
        ],
        w=8,
    )
    d.timeseries(
        "Freshness and event age",
        "Data freshness of each gateway, and the 99th percentile event age at each stage: device to "
        "ingest, observation to wear, observation to gateway.",
        "s",
        [
            Target(f"max by (instance) (pavewatch_gateway_data_freshness_seconds{{{s}}})", "freshness {{instance}}"),
            Target(p99("pavewatch_ingest_event_age_seconds", s), "p99 age at ingest"),
            Target(p99("pavewatch_wear_event_age_seconds", s), "p99 age at wear"),
            Target(p99("pavewatch_gateway_event_age_seconds", s), "p99 age at gateway"),
        ],
        w=8,
        min0=False,
    )
    d.timeseries(
        "Consumer lag by topic",
        "Records between each stream processor's position and the end of its input topics.",
        "short",
        [
            Target(
                per_service(
                    f"pavewatch_ingest_consumer_lag_records{{{s}}}", f"pavewatch_wear_consumer_lag_records{{{s}}}", "topic"
                ),
                "{{service}} {{topic}}",
            )
        ],
        w=8,
    )
    d.timeseries(
        "Dead-letter records by reason",
        "Input records sent to the dead-letter topic per second, by service and reason. A surge "
        "means a device firmware or schema change (alert PaveWatchDeadLetterSurge).",
        "cps",
        [
            Target(
                per_service(
                    f"rate(pavewatch_ingest_dlq_records_total{{{s}}}[{RATE}])",
                    f"rate(pavewatch_wear_dlq_records_total{{{s}}}[{RATE}])",
                    "reason",
                ),
                "{{service}} {{reason}}",
            )
        ],
        w=8,
    )
    d.timeseries(
        "Kafka transactions by outcome",
        "Transactions committed and aborted per second by the exactly-once stream processors.",
        "ops",
        [
            Target(
                per_service(
                    f"rate(pavewatch_ingest_transactions_total{{{s}}}[{RATE}])",
                    f"rate(pavewatch_wear_transactions_total{{{s}}}[{RATE}])",
                    "outcome",
                ),
                "{{service}} {{outcome}}",
            )
        ],
        w=8,
    )
    d.newline()
    d.bargauge(
        "Segments by condition class",
        "Road segments in each pavement condition class (ASTM D6433 PCI classes; no_data: no "
        "condition yet), as the gateways see them now.",
        "short",
        [Target(f"max by (class) (pavewatch_gateway_segments{{{s}}})", "{{class}}")],
        w=8,
    )
    d.timeseries(
        "Condition class distribution",
        "Share of segments in each condition class over time (no_data excluded).",
        "percentunit",
        [
            Target(
                f'max by (class) (pavewatch_gateway_segments{{class!="no_data", {s}}}) / ignoring (class) group_left '
                f'sum(max by (class) (pavewatch_gateway_segments{{class!="no_data", {s}}}))',
                "{{class}}",
            )
        ],
        w=8,
        stack=True,
    )
    d.timeseries(
        "Hazards by status",
        "Hazards in each status of their life cycle (candidate, confirmed, acknowledged, "
        "repair_reported, verified, disputed, resolved).",
        "short",
        [Target(f"max by (status) (pavewatch_gateway_hazards{{{s}}})", "{{status}}")],
        w=8,
    )
    d.bargauge(
        "Time since the last message of each sensor class",
        "Seconds since ingest last accepted a message of each source. Above 15 minutes the class "
        "has gone silent (alert PaveWatchSensorClassSilent).",
        "s",
        [
            Target(
                f"time() - max by (source) (pavewatch_ingest_last_message_timestamp_seconds{{{s}}} > 0)",
                "{{source}}",
            )
        ],
        w=12,
        thresholds=[(300, "yellow"), (900, "red")],
    )
    d.timeseries(
        "Running versions",
        "Instances of each service by version (pavewatch_build_info).",
        "short",
        [Target(f"count by (service, version) (pavewatch_build_info{{{s}}})", "{{service}} {{version}}")],
        w=12,
    )
    return d


def eos_panels(d, svc):
    """Panels that both exactly-once stream processors (ingest, wear) share."""
    s = d.sel
    m = f"pavewatch_{svc}"
    d.timeseries(
        "Input records by topic",
        f"Records {svc} consumed per second, by input topic.",
        "cps",
        [Target(f"sum by (topic) (rate({m}_records_total{{{s}}}[{RATE}]))", "{{topic}}")],
        w=8,
    )
    d.timeseries(
        "Consumer lag by topic",
        f"Records between {svc}'s consumer position and the end of its input partitions, summed by topic.",
        "short",
        [Target(f"sum by (topic) ({m}_consumer_lag_records{{{s}}})", "{{topic}}")],
        w=8,
    )
    d.timeseries(
        "Consumer lag by instance",
        "Lag of each instance over all its assigned partitions: one instance far behind the others "
        "points at that instance, not at the load.",
        "short",
        [Target(f"sum by (instance) ({m}_consumer_lag_records{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Assigned partitions",
        "Input partitions assigned to each instance by the consumer group. An instance with none "
        "is idle (more instances than partitions).",
        "short",
        [Target(f"sum by (instance) ({m}_assigned_partitions{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Transactions by outcome",
        "Kafka transactions committed and aborted per second. Aborts replay the records of the "
        "aborted transaction (alert PaveWatchTransactionAborts).",
        "ops",
        [Target(f"sum by (outcome) (rate({m}_transactions_total{{{s}}}[{RATE}]))", "{{outcome}}")],
        w=8,
    )
    d.timeseries(
        "Transaction commit duration",
        "Time to send offsets and commit one transaction, 50th and 99th percentiles.",
        "s",
        [
            Target(p99(f"{m}_commit_duration_seconds", s, q="0.5"), "p50"),
            Target(p99(f"{m}_commit_duration_seconds", s), "p99"),
        ],
        w=8,
    )
    d.timeseries(
        "Record processing time",
        "Time to process one input record (sampled 1 in 16), 50th and 99th percentiles.",
        "s",
        [
            Target(p99(f"{m}_record_processing_seconds", s, q="0.5"), "p50"),
            Target(p99(f"{m}_record_processing_seconds", s), "p99"),
        ],
        w=8,
    )
    d.timeseries(
        "Producer queue depth",
        "Records produced but not yet acknowledged by the broker, per instance. Growing: the "
        "broker is slow or unreachable.",
        "short",
        [Target(f"sum by (instance) ({m}_producer_queue_depth_records{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Kafka client errors",
        "Errors reported by librdkafka per second (broker unreachable, timeouts), and produced "
        "records the broker did not take (their transaction aborts), per instance.",
        "cps",
        [
            Target(f"sum by (instance) (rate({m}_kafka_errors_total{{{s}}}[{RATE}]))", "{{instance}} errors"),
            Target(
                f"sum by (instance) (rate({m}_delivery_failures_total{{{s}}}[{RATE}]))",
                "{{instance}} failed deliveries",
            ),
        ],
        w=8,
    )
    d.timeseries(
        "Producers recreated (fenced)",
        "Transactional producers recreated after a fatal error such as fencing by a newer instance "
        "with the same transactional id, per rate interval.",
        "short",
        [Target(f"sum by (instance) (increase({m}_producer_recreated_total{{{s}}}[{RATE}]))", "{{instance}}")],
        w=8,
    )


def ingest():
    d = Dashboard(
        "pavewatch-ingest",
        "PaveWatch / Ingest",
        "pavewatch ingest: raw device messages validated, matched to road segments and written as "
        "observations in Kafka transactions.",
        service="ingest",
    )
    s = d.sel
    d.timeseries(
        "Raw messages by source and outcome",
        "Device messages per second by source and outcome (accepted, rejected; `embedded` is an "
        "embedded-sensor message too broken to tell its source).",
        "cps",
        [Target(f"sum by (source, outcome) (rate(pavewatch_ingest_messages_total{{{s}}}[{RATE}]))", "{{source}} {{outcome}}")],
        w=8,
    )
    d.timeseries(
        "Rejected share",
        "Share of raw messages rejected (sent to the dead-letter topic).",
        "percentunit",
        [
            Target(
                f'sum(rate(pavewatch_ingest_messages_total{{outcome="rejected", {s}}}[{RATE}])) / '
                f"sum(rate(pavewatch_ingest_messages_total{{{s}}}[{RATE}]))",
                "rejected",
            )
        ],
        w=8,
    )
    d.timeseries(
        "Observations produced by kind",
        "Observations written to the observations topic per second, by kind (traversal, "
        "axle_loads, strain, temperature, moisture, hazard_event, hazard_action).",
        "cps",
        [Target(f"sum by (kind) (rate(pavewatch_ingest_observations_total{{{s}}}[{RATE}]))", "{{kind}}")],
        w=8,
    )
    d.timeseries(
        "Dead-letter records by reason",
        "Raw messages sent to the dead-letter topic per second, by reason.",
        "cps",
        [Target(f"sum by (reason) (rate(pavewatch_ingest_dlq_records_total{{{s}}}[{RATE}]))", "{{reason}}")],
        w=8,
    )
    d.timeseries(
        "Event age at ingest",
        "Processing time minus event time of raw messages, 50th and 99th percentiles: device "
        "buffering and upload delay plus broker and ingest delay.",
        "s",
        [
            Target(p99("pavewatch_ingest_event_age_seconds", s, q="0.5"), "p50"),
            Target(p99("pavewatch_ingest_event_age_seconds", s), "p99"),
        ],
        w=8,
        min0=False,
    )
    d.bargauge(
        "Time since the last message by source",
        "Seconds since the last accepted message of each source, newest over the selected "
        "instances. Above 15 minutes: alert PaveWatchSensorClassSilent.",
        "s",
        [Target(f"time() - max by (source) (pavewatch_ingest_last_message_timestamp_seconds{{{s}}} > 0)", "{{source}}")],
        w=8,
        thresholds=[(300, "yellow"), (900, "red")],
    )
    eos_panels(d, "ingest")
    d.timeseries(
        "Instances by version",
        "Running ingest instances by build version.",
        "short",
        [Target(f'count by (version) (pavewatch_build_info{{service="ingest", {s}}})', "{{version}}")],
        w=8,
    )
    return d


def wear():
    d = Dashboard(
        "pavewatch-wear",
        "PaveWatch / Wear",
        "pavewatch wear: the exactly-once stateful processor folding observations into "
        "per-segment state (RocksDB, changelog), and its restores.",
        service="wear",
    )
    s = d.sel
    d.timeseries(
        "Segment updates",
        "Segment states written to the changelog and the conditions topic per second, per instance.",
        "cps",
        [Target(f"sum by (instance) (rate(pavewatch_wear_segment_updates_total{{{s}}}[{RATE}]))", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Dead-letter records by reason",
        "Observations wear sent to the dead-letter topic per second, by reason; 0 while wear "
        "processes records and has sent none.",
        "cps",
        [
            Target(
                f"sum by (reason) (rate(pavewatch_wear_dlq_records_total{{{s}}}[{RATE}])) or on () "
                f"(sum(rate(pavewatch_wear_records_total{{{s}}}[{RATE}])) * 0)",
                "{{reason}}",
            )
        ],
        w=8,
    )
    d.timeseries(
        "Event age at wear",
        "Processing time minus event time of observations (sampled 1 in 64), 50th and 99th percentiles.",
        "s",
        [
            Target(p99("pavewatch_wear_event_age_seconds", s, q="0.5"), "p50"),
            Target(p99("pavewatch_wear_event_age_seconds", s), "p99"),
        ],
        w=8,
        min0=False,
    )
    eos_panels(d, "wear")
    d.timeseries(
        "Partitions restoring",
        "Partitions whose state is being restored from the changelog, per instance. The instance is "
        "not ready while it restores (alert PaveWatchRestoreStuck).",
        "short",
        [Target(f"sum by (instance) (pavewatch_wear_restoring_partitions{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Changelog records left to restore",
        "Changelog records each instance still has to apply before it is ready.",
        "short",
        [Target(f"sum by (instance) (pavewatch_wear_restore_remaining_records{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Restore rate",
        "Changelog records applied per second while restoring.",
        "cps",
        [Target(f"sum by (instance) (rate(pavewatch_wear_restore_records_total{{{s}}}[{RATE}]))", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Restore duration",
        "Time to restore one partition's state, 99th percentile of the restores that ended in the "
        "rate interval (no points when none ended).",
        "s",
        [Target(p99("pavewatch_wear_restore_duration_seconds", s), "p99")],
        w=8,
    )
    d.timeseries(
        "Segment states in memory",
        "Segment states held in the in-memory cache in front of RocksDB (--cache-entries).",
        "short",
        [Target(f"sum by (instance) (pavewatch_wear_cache_entries{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Instances by version",
        "Running wear instances by build version.",
        "short",
        [Target(f'count by (version) (pavewatch_build_info{{service="wear", {s}}})', "{{version}}")],
        w=8,
    )
    return d


def state_store():
    d = Dashboard(
        "pavewatch-state-store",
        "PaveWatch / State store (RocksDB)",
        "The RocksDB state of the wear instances: size, block cache, keys and write stalls.",
        service="wear",
    )
    s = d.sel
    d.stat(
        "Write stops now",
        "Instances on which RocksDB stops writes right now (a write stall: too many memtables or "
        "level-0 files). Alert PaveWatchStateStoreWriteStopped.",
        "short",
        [Target(f"sum(pavewatch_wear_state_store_write_stopped{{{s}}})", "stopped")],
        w=6,
        thresholds=[(1, "red")],
    )
    d.stat(
        "Write throttling now",
        "Instances on which RocksDB throttles writes right now (compaction is behind).",
        "short",
        [Target(f"sum(pavewatch_wear_state_store_write_delayed{{{s}}})", "delayed")],
        w=6,
        thresholds=[(1, "yellow")],
    )
    d.stat(
        "Total state on disk",
        "SST file bytes of all selected instances.",
        "bytes",
        [Target(f'sum(pavewatch_wear_state_store_bytes{{part="sst", {s}}})', "sst")],
        w=6,
    )
    d.stat(
        "Estimated keys",
        "Estimated keys (segment states) in all selected instances' stores.",
        "short",
        [Target(f"sum(pavewatch_wear_state_store_keys{{{s}}})", "keys")],
        w=6,
    )
    d.newline()
    d.timeseries(
        "Write stalls",
        "1 while RocksDB stops (stopped) or throttles (delayed) writes on an instance.",
        "short",
        [
            Target(f"max by (instance) (pavewatch_wear_state_store_write_stopped{{{s}}})", "stopped {{instance}}"),
            Target(f"max by (instance) (pavewatch_wear_state_store_write_delayed{{{s}}})", "delayed {{instance}}"),
        ],
        w=12,
    )
    d.timeseries(
        "State size by part",
        "SST files and memtables, all selected instances.",
        "bytes",
        [Target(f'sum by (part) (pavewatch_wear_state_store_bytes{{part=~"sst|memtable", {s}}})', "{{part}}")],
        w=12,
        stack=True,
    )
    d.timeseries(
        "SST bytes by instance",
        "On-disk size of each instance's store; bounded by the PersistentVolumeClaim's size.",
        "bytes",
        [Target(f'sum by (instance) (pavewatch_wear_state_store_bytes{{part="sst", {s}}})', "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Memtable bytes by instance",
        "Memtable bytes of each instance (--write-buffer-mb, charged to the block cache).",
        "bytes",
        [Target(f'sum by (instance) (pavewatch_wear_state_store_bytes{{part="memtable", {s}}})', "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Block cache usage",
        "Block cache bytes in use over its capacity (--block-cache-mb), per instance.",
        "percentunit",
        [
            Target(
                f'sum by (instance) (pavewatch_wear_state_store_bytes{{part="block_cache", {s}}}) / '
                f'sum by (instance) (pavewatch_wear_state_store_bytes{{part="block_cache_capacity", {s}}})',
                "{{instance}}",
            )
        ],
        w=8,
    )
    d.timeseries(
        "Keys by instance",
        "Estimated keys in each instance's store.",
        "short",
        [Target(f"sum by (instance) (pavewatch_wear_state_store_keys{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Cached segment states vs stored keys",
        "Segment states in the in-memory cache and keys in RocksDB: a cache much smaller than the "
        "key count means reads go to RocksDB.",
        "short",
        [
            Target(f"sum(pavewatch_wear_cache_entries{{{s}}})", "cached"),
            Target(f"sum(pavewatch_wear_state_store_keys{{{s}}})", "stored"),
        ],
        w=8,
    )
    d.timeseries(
        "State lookups",
        "Segment state lookups per second by where the state was found: in memory, read from "
        "RocksDB, or new; and clean states evicted from memory to stay within --cache-entries "
        "(the least recently used go first).",
        "cps",
        [
            Target(f"sum by (found) (rate(pavewatch_wear_cache_lookups_total{{{s}}}[{RATE}]))", "{{found}}"),
            Target(f"sum(rate(pavewatch_wear_cache_evictions_total{{{s}}}[{RATE}]))", "evicted"),
        ],
        w=8,
    )
    d.timeseries(
        "Cache hit ratio",
        "Share of segment state lookups answered from memory. A falling ratio with the cache at "
        "its bound means the working set outgrew --cache-entries: each miss is a RocksDB read.",
        "percentunit",
        [
            Target(
                f'sum(rate(pavewatch_wear_cache_lookups_total{{found="memory", {s}}}[{RATE}])) / '
                f"sum(rate(pavewatch_wear_cache_lookups_total{{{s}}}[{RATE}]))",
                "hit ratio",
            )
        ],
        w=8,
    )
    d.timeseries(
        "State writes",
        "Segment states written per second (each is a RocksDB write and a changelog record).",
        "cps",
        [Target(f"sum by (instance) (rate(pavewatch_wear_segment_updates_total{{{s}}}[{RATE}]))", "{{instance}}")],
        w=8,
    )
    return d


def gateway():
    d = Dashboard(
        "pavewatch-gateway",
        "PaveWatch / Gateway",
        "pavewatch gateway: the map page, REST API and WebSocket feed, and its view of the "
        "conditions topic.",
        service="gateway",
    )
    s = d.sel
    h = "pavewatch_gateway_http_requests_total"
    d.timeseries(
        "HTTP requests by route",
        "Requests per second by route (a fixed set: segments, segment, hazards, network, static, "
        "metrics, healthz, readyz, api_other).",
        "reqps",
        [Target(f"sum by (route) (rate({h}{{{s}}}[{RATE}]))", "{{route}}")],
        w=8,
    )
    d.timeseries(
        "HTTP responses by status code",
        "Responses per second by status code.",
        "reqps",
        [Target(f"sum by (code) (rate({h}{{{s}}}[{RATE}]))", "{{code}}")],
        w=8,
    )
    d.timeseries(
        "HTTP server error ratio",
        "Share of responses with a 5xx status (503 from /readyz while a gateway catches up included).",
        "percentunit",
        [Target(f'1 - sum(rate({h}{{code!~"5..", {s}}}[{RATE}])) / sum(rate({h}{{{s}}}[{RATE}]))', "5xx")],
        w=8,
    )
    d.timeseries(
        "HTTP latency p99 by route",
        "99th percentile time to answer a request, by route, and over all routes.",
        "s",
        [
            Target(p99("pavewatch_gateway_http_request_duration_seconds", s), "all routes"),
            Target(p99("pavewatch_gateway_http_request_duration_seconds", s, by="route"), "{{route}}"),
        ],
        w=8,
    )
    d.timeseries(
        "Open connections",
        "Open HTTP connections (upgraded ones included) and WebSocket feed connections.",
        "short",
        [
            Target(f"sum(pavewatch_gateway_http_connections{{{s}}})", "http"),
            Target(f"sum(pavewatch_gateway_websocket_connections{{{s}}})", "websocket"),
        ],
        w=8,
    )
    d.timeseries(
        "Refused and timed-out HTTP",
        "Connections refused above the connection limit and requests cut off by the request "
        "deadline, per second.",
        "cps",
        [
            Target(f"sum(rate(pavewatch_gateway_http_rejected_connections_total{{{s}}}[{RATE}]))", "refused"),
            Target(f"sum(rate(pavewatch_gateway_http_timeouts_total{{{s}}}[{RATE}]))", "timed out"),
        ],
        w=8,
    )
    d.timeseries(
        "Feed messages and snapshots",
        "WebSocket feed messages and snapshots sent per second.",
        "cps",
        [
            Target(f"sum(rate(pavewatch_gateway_websocket_messages_sent_total{{{s}}}[{RATE}]))", "messages"),
            Target(f"sum(rate(pavewatch_gateway_websocket_snapshots_total{{{s}}}[{RATE}]))", "snapshots"),
        ],
        w=8,
    )
    d.timeseries(
        "Feed connections closed by the server",
        "Feed connections the server closed per second, by reason: too_slow (a client that does "
        "not keep up), over_budget (a client behind while all feed queues together are full: "
        "the gateway is saturated; both alert PaveWatchGatewayClosingSlowConsumers), protocol, "
        "going_away.",
        "cps",
        [Target(f"sum by (reason) (rate(pavewatch_gateway_websocket_closes_total{{{s}}}[{RATE}]))", "{{reason}}")],
        w=8,
    )
    d.timeseries(
        "Updates coalesced for slow clients",
        "Updates replaced by a newer one of the same segment for clients that do not keep up, "
        "per second: the feed's way to stay bounded before it closes a client as too slow.",
        "cps",
        [Target(f"sum(rate(pavewatch_gateway_websocket_updates_coalesced_total{{{s}}}[{RATE}]))", "coalesced")],
        w=8,
    )
    d.timeseries(
        "Bytes queued for feed clients",
        "Bytes waiting in the bounded outbound queues of all WebSocket sessions, per instance.",
        "bytes",
        [Target(f"sum by (instance) (pavewatch_gateway_websocket_queued_bytes{{{s}}})", "{{instance}}")],
        w=8,
    )
    d.timeseries(
        "Conditions read by outcome",
        "Records read per second from the conditions topic and from the condition history topic "
        "(one per segment per closed day): applied, stale (older than what the gateway holds), "
        "invalid.",
        "cps",
        [
            Target(f"sum by (outcome) (rate(pavewatch_gateway_conditions_total{{{s}}}[{RATE}]))", "{{outcome}}"),
            Target(
                f"sum by (outcome) (rate(pavewatch_gateway_history_records_total{{{s}}}[{RATE}]))",
                "history {{outcome}}",
            ),
        ],
        w=8,
    )
    d.timeseries(
        "Event age at the gateway",
        "Time from a segment's latest observation to its condition reaching the gateway, 50th and "
        "99th percentiles.",
        "s",
        [
            Target(p99("pavewatch_gateway_event_age_seconds", s, q="0.5"), "p50"),
            Target(p99("pavewatch_gateway_event_age_seconds", s), "p99"),
        ],
        w=8,
        min0=False,
    )
    d.timeseries(
        "Data freshness",
        "Age of the newest condition each gateway holds (event time). Alert PaveWatchDataStale "
        "above 10 minutes.",
        "s",
        [Target(f"max by (instance) (pavewatch_gateway_data_freshness_seconds{{{s}}})", "{{instance}}")],
        w=8,
        min0=False,
    )
    d.timeseries(
        "Segments by condition class",
        "Road segments in each condition class as each gateway holds them (no_data: no condition yet).",
        "short",
        [Target(f"max by (class) (pavewatch_gateway_segments{{{s}}})", "{{class}}")],
        w=8,
        stack=True,
    )
    d.timeseries(
        "Instances by version",
        "Running gateway instances by build version.",
        "short",
        [Target(f'count by (version) (pavewatch_build_info{{service="gateway", {s}}})', "{{version}}")],
        w=8,
    )
    return d


def simulate():
    d = Dashboard(
        "pavewatch-simulate",
        "PaveWatch / Simulator",
        "pavewatch simulate: simulated vehicles and embedded sensors (demos, load and end-to-end tests).",
        service="simulate",
    )
    s = d.sel
    d.timeseries(
        "Messages produced by source",
        "Raw messages the simulator produced per second, by source (vehicle, embedded).",
        "cps",
        [Target(f"sum by (source) (rate(pavewatch_simulate_messages_total{{{s}}}[{RATE}]))", "{{source}}")],
        w=12,
    )
    d.timeseries(
        "Delivery failures",
        "Raw messages the broker did not accept, per second.",
        "cps",
        [Target(f"sum by (instance) (rate(pavewatch_simulate_delivery_failures_total{{{s}}}[{RATE}]))", "{{instance}}")],
        w=12,
    )
    return d


DASHBOARDS = {
    "overview.json": overview,
    "ingest.json": ingest,
    "wear.json": wear,
    "state-store.json": state_store,
    "gateway.json": gateway,
    "simulate.json": simulate,
}


def render(build):
    return json.dumps(build().to_json(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(
            "dashboards out of date with dashboards/generate.py: " + ", ".join(stale) + " (run python3 dashboards/generate.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
