#!/usr/bin/env python3
"""api_openapi: keeps docs/api/openapi.yaml and docs/api/asyncapi.yaml in step with the gateway.

  (a) `pavewatch gateway --print-routes` lists exactly the documented paths: the OpenAPI paths
      (each with exactly the methods the code routes) plus the AsyncAPI channel of the feed;
  (b) the OpenAPI segment state covers every field of docs/schemas/condition.schema.json;
  (c) against a live stack (scripts/stack, its own topics, a tokens file with an agency, a
      contractor whose zone is a polygon, and an expired token) every documented GET path is
      requested with realistic parameters and tokens, and every answer, errors included (401
      missing/unknown/expired, 403, 404, 400, 405, 413, 431), has a documented status and media
      type and validates against the documented schema and headers;
  (d) on the feed: hello, snapshot, condition, hazard, error, action_result and resumed validate
      against the AsyncAPI payload schemas, seq has no gaps, a resume replays from resume_from,
      and the close codes 4001, 1009 and 4009 come as documented.

Needs Python 3 with PyYAML and jsonschema (Debian: python3-yaml, python3-jsonschema), the
pavewatch binary (PAVEWATCH_BINARY) and a broker (PAVEWATCH_BROKERS) for (c) and (d). Bounded
by PAVEWATCH_TEST_DEADLINE_S (default 240 s); stops the stack it starts whatever happens.
Prints one PASS/FAIL line per check and "api_openapi: N passed, N failed". Exit 0, 1 (a check
failed) or 2 (bad environment).
"""

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover - environment
    print(f"FAIL environment: {e} (install Debian's python3-yaml and python3-jsonschema)")
    print("api_openapi: 0 passed, 1 failed")
    sys.exit(2)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("PAVEWATCH_BINARY", os.path.join(ROOT, "build", "services", "app", "pavewatch"))
DEADLINE = time.monotonic() + float(os.environ.get("PAVEWATCH_TEST_DEADLINE_S", "240"))
OPENAPI = yaml.safe_load(open(os.path.join(ROOT, "docs", "api", "openapi.yaml"), encoding="utf-8"))
ASYNCAPI = yaml.safe_load(open(os.path.join(ROOT, "docs", "api", "asyncapi.yaml"), encoding="utf-8"))
CONDITION_SCHEMA = json.load(open(os.path.join(ROOT, "docs", "schemas", "condition.schema.json"), encoding="utf-8"))
# A contractor zone: central Almaty (about 80 segments whose midpoint is inside).
ZONE_POLYGON = [[76.90, 43.23], [76.95, 43.23], [76.95, 43.26], [76.90, 43.26]]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class CheckFailed(Exception):
    pass


class Deadline(Exception):
    pass


def remaining(cap=None):
    left = DEADLINE - time.monotonic()
    if left <= 0:
        raise Deadline("the test's deadline passed")
    return left if cap is None else min(cap, left)


# ---------------------------------------------------------------------------------------------
# Schemas

def openapi_validator(schema):
    """A 2020-12 validator of `schema` whose #/components/... references resolve in openapi.yaml."""
    root = dict(schema)
    root["components"] = OPENAPI["components"]
    root.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    return jsonschema.Draft202012Validator(root)


def asyncapi_validator(name):
    root = {"$ref": f"#/components/schemas/{name}", "components": ASYNCAPI["components"]}
    return jsonschema.Draft202012Validator(root)


def deref(obj, doc):
    while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def first_errors(validator, instance, n=3):
    errors = sorted(validator.iter_errors(instance), key=lambda e: len(list(e.absolute_path)))
    out = []
    for e in errors[:n]:
        where = "/".join(str(p) for p in e.absolute_path)
        out.append(f"at /{where}: {e.message[:300]}")
    return out


def media_type(value):
    parts = [p.strip() for p in value.split(";")]
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().lower()
    return parts[0].lower(), params


def match_template(path):
    """The documented OpenAPI path template a concrete path falls under, or None."""
    parts = path.split("/")
    for template in OPENAPI["paths"]:
        t = template.split("/")
        if len(t) == len(parts) and all(a == b or (a.startswith("{") and a.endswith("}") and b) for a, b in zip(t, parts)):
            return template
    return None


# ---------------------------------------------------------------------------------------------
# Checks bookkeeping

class Run:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.started = time.monotonic()

    def check(self, label, fn):
        t0 = time.monotonic()
        try:
            note = fn()
        except (CheckFailed, AssertionError, jsonschema.exceptions.SchemaError) as e:
            self.failed += 1
            text = str(e)
            print(f"FAIL {label}: {text[:1500]}{' …' if len(text) > 1500 else ''}", flush=True)
            return None
        except Deadline as e:
            self.failed += 1
            print(f"FAIL {label}: {e}", flush=True)
            raise
        except Exception as e:  # noqa: BLE001 - a broken check is a failed check
            self.failed += 1
            print(f"FAIL {label}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=3)
            return None
        self.passed += 1
        print(f"PASS {label}{' — ' + note if note else ''} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
        return True

    def finish(self):
        print(f"api_openapi: {self.passed} passed, {self.failed} failed ({time.monotonic() - self.started:.1f} s)", flush=True)
        return 0 if self.failed == 0 else 1


# ---------------------------------------------------------------------------------------------
# (a) routes, (b) the condition record

def printed_routes():
    out = subprocess.run([BINARY, "gateway", "--print-routes"], capture_output=True, text=True, timeout=30, check=True)
    routes = set()
    for line in out.stdout.splitlines():
        if line.strip():
            method, path = line.split()
            routes.add((method.upper(), path))
    return routes


def documented_routes():
    routes = set()
    for path, item in OPENAPI["paths"].items():
        for method in item:
            if method in HTTP_METHODS:
                routes.add((method.upper(), path))
    for channel in ASYNCAPI["channels"].values():
        method = channel.get("bindings", {}).get("ws", {}).get("method", "GET")
        routes.add((method.upper(), channel["address"]))
    return routes


def check_routes():
    code = printed_routes()
    docs = documented_routes()
    missing = sorted(code - docs)
    extra = sorted(docs - code)
    problems = []
    if missing:
        problems.append("routed but not documented: " + ", ".join(f"{m} {p}" for m, p in missing))
    if extra:
        problems.append("documented but not routed: " + ", ".join(f"{m} {p}" for m, p in extra))
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{len(code)} routes ({len(OPENAPI['paths'])} in OpenAPI, {len(ASYNCAPI['channels'])} in AsyncAPI)"


def check_condition_fields():
    state = OPENAPI["components"]["schemas"]["SegmentStateWithData"]
    record = CONDITION_SCHEMA
    # The record's `today` is served as the last entry of `history` (with the closed days of
    # the segment's history record), not as a field of its own.
    served = (set(record["properties"]) - {"today"}) | {"history"}
    missing = sorted(served - set(state["properties"]))
    not_required = sorted(((set(record["required"]) - {"today"}) | {"history"}) - set(state["required"]))
    if "today" in state["properties"]:
        problems_today = ["SegmentStateWithData has today, which the API serves inside history"]
    else:
        problems_today = []
    hazard = OPENAPI["components"]["schemas"]["SegmentHazard"]
    record_hazard = record["properties"]["hazards"]["items"]
    missing_h = sorted(set(record_hazard["properties"]) - set(hazard["properties"]))
    problems = problems_today
    if missing:
        problems.append(f"record fields not in SegmentStateWithData: {missing}")
    if not_required:
        problems.append(f"record fields not required there: {not_required}")
    if missing_h:
        problems.append(f"hazard fields not in SegmentHazard: {missing_h}")
    for key in ("roughness", "structural", "deducts", "counts"):
        def props(node):
            node = node if "properties" in node else next((b for b in node.get("oneOf", []) if "properties" in b), {})
            return set(node.get("properties", {}))
        a, b = props(record["properties"][key]), props(state["properties"].get(key, {}))
        if a != b:
            problems.append(f"{key}: record has {sorted(a)}, OpenAPI {sorted(b)}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{len(record['properties'])} record fields, {len(record_hazard['properties'])} hazard fields"


# ---------------------------------------------------------------------------------------------
# (c) HTTP against the live stack

class Gateway:
    def __init__(self, port):
        self.port = port
        self.exercised = {}  # template -> set of statuses

    def request(self, method, target, token=None, headers=None, body=None, timeout=20):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=remaining(timeout))
        try:
            h = dict(headers or {})
            if token:
                h["Authorization"] = f"Bearer {token}"
            conn.request(method, target, body=body, headers=h)
            res = conn.getresponse()
            data = res.read()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, data
        finally:
            conn.close()

    def call(self, label, method, target, expect, token=None, headers=None, body=None):
        """Requests `target`, checks the status, then the answer against the documentation.
        Returns the parsed JSON body (or text)."""
        status, hdrs, data = self.request(method, target, token, headers, body)
        path = target.split("?", 1)[0]
        if status != expect:
            raise CheckFailed(f"{method} {target}: HTTP {status}, expected {expect}: {data[:300]!r}")
        template = match_template(path)
        if template is None:
            raise CheckFailed(f"{path} is not a documented path")
        self.exercised.setdefault(template, set()).add(status)
        operation = OPENAPI["paths"][template].get(method.lower()) or OPENAPI["paths"][template]["get"]
        responses = operation["responses"]
        if str(status) not in responses:
            raise CheckFailed(f"{method} {target}: HTTP {status} is not documented for {template} (documented: {sorted(responses)})")
        response = deref(responses[str(status)], OPENAPI)
        for name, spec in response.get("headers", {}).items():
            value = hdrs.get(name.lower())
            if value is None:
                raise CheckFailed(f"{method} {target}: documented header {name} missing")
            errs = first_errors(openapi_validator(deref(spec, OPENAPI)["schema"]), value)
            if errs:
                raise CheckFailed(f"{method} {target}: header {name}: {value!r}: {errs[0]}")
        content = response.get("content")
        if not content:
            if data:
                raise CheckFailed(f"{method} {target}: a body where none is documented")
            return None
        actual_type, actual_params = media_type(hdrs.get("content-type", ""))
        chosen = None
        for key, spec in content.items():
            doc_type, doc_params = media_type(key)
            if doc_type == actual_type and all(actual_params.get(k) == v for k, v in doc_params.items()):
                chosen = spec
        if chosen is None:
            raise CheckFailed(f"{method} {target}: Content-Type {hdrs.get('content-type')!r} is not documented ({sorted(content)})")
        text = data.decode("utf-8")
        schema = chosen["schema"]
        instance = text if deref(schema, OPENAPI).get("type") == "string" else json.loads(text)
        errs = first_errors(openapi_validator(schema), instance)
        if errs:
            raise CheckFailed(f"{method} {target} ({status}) does not match the documented schema: " + "; ".join(errs))
        return instance


def wait_for_data(gw, agency):
    """Until some segment has a hazard (the simulator needs a little while)."""
    while True:
        remaining(5)
        _, _, data = gw.request("GET", "/api/v1/hazards", agency)
        try:
            features = json.loads(data)["features"]
        except (ValueError, KeyError):
            features = []
        if features:
            return features
        time.sleep(1)


def run_http_checks(run, gw, tokens):
    agency, contractor, expired = tokens["agency"], tokens["contractor"], tokens["expired"]
    state = {}

    def segments_all():
        fc = gw.call("segments", "GET", "/api/v1/segments", 200, agency)
        network = gw.call("network", "GET", "/api/v1/network", 200, agency)
        ids = [f["id"] for f in fc["features"]]
        if ids != [f["id"] for f in network["features"]]:
            raise CheckFailed("api/v1/segments and api/v1/network list different segments")
        with_data = [f for f in fc["features"] if f["properties"]["version"] > 0]
        state["features"] = fc["features"]
        state["no_data"] = [f["id"] for f in fc["features"] if f["properties"]["version"] == 0]
        return f"{len(ids)} segments, {len(with_data)} with data"

    run.check("GET /api/v1/segments and /api/v1/network as the agency validate", segments_all)

    def segments_filtered():
        classes = [f["properties"]["condition_class"] for f in state["features"] if f["properties"]["condition_class"] not in (None, "failed")]
        klass = max(set(classes), key=classes.count) if classes else "poor"
        since = min((f["properties"]["updated_ms"] for f in state["features"] if f["properties"]["updated_ms"]), default=0)
        bbox = "76.80,43.15,77.05,43.35"
        fc = gw.call("filtered", "GET", f"/api/v1/segments?bbox={bbox}&class={klass},failed&updated_since={since}", 200, agency)
        w, s, e, n = map(float, bbox.split(","))
        for f in fc["features"]:
            p = f["properties"]
            if p["condition_class"] not in (klass, "failed") or p["updated_ms"] < since:
                raise CheckFailed(f"segment {f['id']} does not match class/updated_since: {p}")
            if not any(w <= x <= e and s <= y <= n for x, y in f["geometry"]["coordinates"]):
                raise CheckFailed(f"segment {f['id']} lies outside the bbox")
        return f"{len(fc['features'])} segments of class {klass} or failed"

    run.check("GET /api/v1/segments?bbox&class&updated_since validates and filters", segments_filtered)

    def segment_detail():
        hazards = state["hazards"]
        sid = hazards[0]["properties"]["segment_id"]
        doc = gw.call("detail", "GET", f"/api/v1/segments/{sid}", 200, agency)
        if not doc["hazards"]:
            raise CheckFailed(f"segment {sid} has a hazard in api/v1/hazards but none in its state")
        notes = [f"segment {sid} with {len(doc['hazards'])} hazard(s), {len(doc['history'])} history day(s)"]
        if state["no_data"]:
            empty = gw.call("detail", "GET", f"/api/v1/segments/{state['no_data'][0]}", 200, agency)
            if empty["version"] != 0:
                raise CheckFailed("a segment without data answered with a version")
            notes.append(f"segment {state['no_data'][0]} without data")
        return "; ".join(notes)

    def hazards():
        fc = gw.call("hazards", "GET", "/api/v1/hazards", 200, agency)
        state["hazards"] = fc["features"]
        statuses = sorted({f["properties"]["status"] for f in fc["features"]})
        some = gw.call("hazards", "GET", "/api/v1/hazards?status=confirmed,candidate&bbox=76.80,43.15,77.05,43.35", 200, agency)
        bad = [f["id"] for f in some["features"] if f["properties"]["status"] not in ("confirmed", "candidate")]
        if bad:
            raise CheckFailed(f"status filter let through {bad[:3]}")
        return f"{len(fc['features'])} hazards ({', '.join(statuses)}); {len(some['features'])} confirmed or candidate"

    run.check("GET /api/v1/hazards (and ?status&bbox) validates and filters", hazards)
    run.check("GET /api/v1/segments/{id} validates (with hazards; without data)", segment_detail)

    def contractor_view():
        fc = gw.call("segments", "GET", "/api/v1/segments", 200, contractor)
        net = gw.call("network", "GET", "/api/v1/network", 200, contractor)
        hz = gw.call("hazards", "GET", "/api/v1/hazards", 200, contractor)
        gw.call("repairs", "GET", "/api/v1/repairs", 200, contractor)
        ids = {f["id"] for f in fc["features"]}
        if not ids or ids != {f["id"] for f in net["features"]} or len(ids) >= len(state["features"]):
            raise CheckFailed(f"the contractor sees {len(ids)} segments (network: {len(net['features'])}, all: {len(state['features'])})")
        outside = [h["id"] for h in hz["features"] if h["properties"]["segment_id"] not in ids]
        if outside:
            raise CheckFailed(f"the contractor sees hazards outside its zone: {outside[:3]}")
        other = next(f["id"] for f in state["features"] if f["id"] not in ids)
        gw.call("forbidden", "GET", f"/api/v1/segments/{other}", 403, contractor)
        mine = sorted(ids)[0]
        gw.call("detail", "GET", f"/api/v1/segments/{mine}", 200, contractor)
        return f"{len(ids)} segments in the zone, {len(hz['features'])} hazards; 403 outside it"

    run.check("a contractor sees only its zone (polygon), 403 outside it", contractor_view)

    def repairs_and_ops():
        gw.call("repairs", "GET", "/api/v1/repairs", 200, agency)
        config = gw.call("config", "GET", "/config.json", 200)
        metrics = gw.call("metrics", "GET", "/metrics", 200)
        if "pavewatch_gateway_http_requests_total" not in metrics:
            raise CheckFailed("/metrics lacks pavewatch_gateway_http_requests_total")
        gw.call("healthz", "GET", "/healthz", 200)
        gw.call("readyz", "GET", "/readyz", 200)
        return f"attribution {config['attribution']!r}"

    run.check("GET /api/v1/repairs, /config.json, /metrics, /healthz, /readyz validate", repairs_and_ops)

    def unauthorised():
        details = []
        for label, token in (("missing", None), ("unknown", "not-a-known-token-0123456789"), ("expired", expired)):
            for path in ("/api/v1/segments", "/api/v1/segments/1", "/api/v1/hazards", "/api/v1/network", "/api/v1/repairs"):
                doc = gw.call("401", "GET", path, 401, token)
                if not doc["detail"].endswith(f"({label} token)"):
                    raise CheckFailed(f"{path} with a {label} token: detail {doc['detail']!r}")
            details.append(label)
        return ", ".join(details) + " token: 401 on every /api/v1 path"

    run.check("401 problem documents (missing, unknown, expired token)", unauthorised)

    def client_errors():
        cases = [
            ("/api/v1/segments/123", 404),
            ("/api/v1/segments/not-a-number", 404),
            ("/api/v1/segments?bbox=1,2,3", 400),
            ("/api/v1/segments?bbox=10,0,5,1", 400),
            ("/api/v1/segments?bbox=-200,0,5,1", 400),
            ("/api/v1/segments?class=nope", 400),
            ("/api/v1/segments?updated_since=yesterday", 400),
            ("/api/v1/hazards?status=nope", 400),
            ("/api/v1/hazards?bbox=a,b,c,d", 400),
        ]
        for target, status in cases:
            gw.call(str(status), "GET", target, status, agency)
        doc_405 = None
        for method in ("POST", "DELETE", "PUT"):
            doc_405 = gw.call("405", method, "/api/v1/segments", 405, agency, body=b"{}" if method != "DELETE" else None)
        status, hdrs, _ = gw.request("POST", "/api/v1/hazards", agency)
        if status != 405 or hdrs.get("allow") != "GET, HEAD":
            raise CheckFailed(f"POST /api/v1/hazards: {status}, Allow {hdrs.get('allow')!r}")
        gw.call("431", "GET", "/api/v1/segments", 431, agency, headers={"X-Padding": "x" * 9000})
        gw.call("413", "GET", "/api/v1/segments", 413, agency, body=b"a" * (70 * 1024))
        return f"{len(cases)} cases of 404/400, 405 ({doc_405['detail']!r}), 431, 413"

    run.check("404, 400, 405, 413 and 431 problem documents", client_errors)

    def coverage():
        not_ok = sorted(t for t in OPENAPI["paths"] if 200 not in gw.exercised.get(t, set()))
        if not_ok:
            raise CheckFailed(f"documented paths never answered 200 here: {not_ok}")
        documented = sum(len(deref(OPENAPI["paths"][t]["get"], OPENAPI)["responses"]) for t in OPENAPI["paths"])
        seen = sum(len(s) for s in gw.exercised.values())
        return f"every path answered 200; {seen} of {documented} documented (path, status) pairs exercised"

    run.check("every documented path was requested", coverage)


# ---------------------------------------------------------------------------------------------
# (d) the feed, with a minimal RFC 6455 client (stdlib only)

class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, port, protocols):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=remaining(10))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/feed HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {', '.join(protocols)}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CheckFailed("the gateway closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0]:
            raise CheckFailed(f"handshake answered {lines[0]!r}")
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise CheckFailed("bad Sec-WebSocket-Accept")
        self.protocol = headers.get("sec-websocket-protocol")

    def _read(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.05, min(deadline - time.monotonic(), remaining())))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no message in time") from None
            if not chunk:
                raise Closed(1006, "connection lost")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_text(self, text):
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, obj):
        self.send_text(json.dumps(obj))

    def recv(self, timeout=10.0):
        """The next text message as JSON; raises Closed on a close frame."""
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            b0, b1 = self._read(2, deadline)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8, deadline))[0]
            payload = self._read(n, deadline)
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode("utf-8", "replace"))
            if opcode == 0x9:  # ping: answer
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                continue
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return json.loads(message)

    def close(self, code=1000):
        try:
            payload = struct.pack(">H", code)
            self.sock.sendall(bytes([0x88, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        except OSError:
            pass
        self.sock.close()

    def expect_close(self, timeout=8.0):
        try:
            while True:
                self.recv(timeout)
        except Closed as c:
            return c
        finally:
            self.sock.close()


def run_feed_checks(run, port, tokens, hazards):
    agency, contractor = tokens["agency"], tokens["contractor"]
    validators = {name: asyncapi_validator(schema) for name, schema in (
        ("hello", "Hello"), ("snapshot", "Snapshot"), ("condition", "ConditionMessage"), ("hazard", "HazardMessage"),
        ("alert", "AlertMessage"), ("action_result", "ActionResult"), ("error", "Error"), ("resumed", "Resumed"))}
    session = {}

    def valid(msg):
        v = validators.get(msg.get("type"))
        if v is None:
            raise CheckFailed(f"undocumented message type {msg.get('type')!r}")
        errs = first_errors(v, msg)
        if errs:
            raise CheckFailed(f"{msg.get('type')} does not match the AsyncAPI schema: {'; '.join(errs)}: {json.dumps(msg)[:300]}")
        return msg

    def stream():
        ws = WebSocket(port, ["pavewatch.v1", f"bearer.{agency}"])
        if ws.protocol != "pavewatch.v1":
            raise CheckFailed(f"subprotocol {ws.protocol!r} selected")
        hello = valid(ws.recv())
        if hello["type"] != "hello" or hello["role"] != "agency":
            raise CheckFailed(f"first message {hello}")
        ws.send({"type": "subscribe", "kinds": ["conditions", "hazards", "alerts"]})
        snapshot = valid(ws.recv())
        if snapshot["type"] != "snapshot":
            raise CheckFailed(f"expected a snapshot, got {snapshot['type']}")
        seqs, kinds = [snapshot["seq"]], {"hello": 1, "snapshot": 1}
        ws.send({"type": "nonsense"})
        t_end = time.monotonic() + 6
        while time.monotonic() < t_end or len(seqs) < 20:
            msg = valid(ws.recv())
            kinds[msg["type"]] = kinds.get(msg["type"], 0) + 1
            seqs.append(msg["seq"])
            if time.monotonic() > t_end + 10:
                break
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        if gaps:
            raise CheckFailed(f"seq jumps: {gaps[:3]}")
        if "error" not in kinds or "condition" not in kinds:
            raise CheckFailed(f"expected conditions and an unknown_type error, got {kinds}")
        # Resume on a new connection from the middle of what was received.
        # (the gateway keeps the last 512 numbered messages of a session for replay).
        session.update(id=hello["session"], last=seqs[-1], mid=max(seqs[0], seqs[-1] - 100))
        ws.close(4000)
        return f"{sum(kinds.values())} messages ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), seq {seqs[0]}..{seqs[-1]} without gaps"

    def resume():
        time.sleep(0.5)  # the gateway keeps the session once the old connection is gone
        ws = WebSocket(port, ["pavewatch.v1", f"bearer.{agency}"])
        valid(ws.recv())  # hello of the new connection
        ws.send({"type": "subscribe", "kinds": ["conditions", "hazards", "alerts"], "session": session["id"], "resume_from": session["mid"]})
        resumed = valid(ws.recv())
        if resumed["type"] != "resumed" or resumed["session"] != session["id"] or resumed["from_seq"] != session["mid"] + 1:
            raise CheckFailed(f"expected resumed from {session['mid'] + 1} of {session['id']}, got {resumed}")
        seqs = [valid(ws.recv())["seq"] for _ in range(120)]
        if seqs[0] != session["mid"] + 1 or any(b != a + 1 for a, b in zip(seqs, seqs[1:])):
            raise CheckFailed(f"after resumed from {session['mid'] + 1}: seq {seqs[:5]}…")
        if seqs[-1] <= session["last"]:
            raise CheckFailed(f"the replay ended at {seqs[-1]}, before the last seq sent ({session['last']})")
        ws.close(4000)
        note = f"resumed {session['id'][:8]}… from seq {resumed['from_seq']}, {len(seqs)} messages in order"
        # Too far back (more than 512 messages ago): a fresh snapshot in the new connection's session.
        time.sleep(0.5)
        ws = WebSocket(port, ["pavewatch.v1", f"bearer.{agency}"])
        hello = valid(ws.recv())
        ws.send({"type": "subscribe", "kinds": ["conditions"], "session": session["id"], "resume_from": 1})
        snapshot = valid(ws.recv())
        ws.close()
        if snapshot["type"] != "snapshot" or snapshot["seq"] != 1:
            raise CheckFailed(f"resuming from seq 1 of a long session: expected a snapshot with seq 1, got {snapshot['type']} {snapshot.get('seq')}")
        return note + f"; from seq 1: snapshot in session {hello['session'][:8]}…"

    def actions():
        ws = WebSocket(port, ["pavewatch.v1"])
        ws.send({"type": "auth", "token": contractor})
        hello = valid(ws.recv())
        if hello["role"] != "contractor" or not hello["zone"]:
            raise CheckFailed(f"hello {hello}")
        ws.send({"type": "subscribe", "kinds": ["hazards"], "min_class": "poor"})
        valid(ws.recv())
        ws.send({"type": "action", "action": "acknowledge", "hazard_id": "1-1", "request_id": "a"})
        ws.send({"type": "action", "action": "fix", "hazard_id": hazards[0]["id"], "request_id": "b"})
        ws.send({"type": "subscribe", "kinds": ["nothing"]})
        results = {}
        t_end = time.monotonic() + 10
        while len(results) < 3 and time.monotonic() < t_end:
            msg = valid(ws.recv())
            if msg["type"] in ("action_result", "error"):
                results[msg.get("request_id", msg.get("code"))] = msg
        ws.close()
        if results.get("a", {}).get("reason") != "unknown_hazard" or results.get("b", {}).get("reason") != "unknown_action":
            raise CheckFailed(f"action results {results}")
        if "bad_subscription" not in results:
            raise CheckFailed(f"no bad_subscription error: {results}")
        return "auth message; refused actions (unknown_hazard, unknown_action); bad_subscription"

    def close_codes():
        notes = []
        ws = WebSocket(port, ["pavewatch.v1", "bearer.not-a-known-token-0123"])
        c = ws.expect_close()
        if c.code != 4001:
            raise CheckFailed(f"unknown token: {c}")
        notes.append(f"4001 {c.reason!r}")
        ws = WebSocket(port, ["pavewatch.v1"])
        ws.send({"type": "subscribe"})
        c = ws.expect_close()
        if c.code != 4001:
            raise CheckFailed(f"subscribe before auth: {c}")
        ws = WebSocket(port, ["pavewatch.v1", f"bearer.{agency}"])
        valid(ws.recv())
        ws.send_text(json.dumps({"type": "subscribe", "pad": "x" * (17 * 1024)}))
        c = ws.expect_close()
        if c.code != 1009:
            raise CheckFailed(f"17 KiB message: {c}")
        notes.append(f"1009 {c.reason!r}")
        ws = WebSocket(port, ["pavewatch.v1", f"bearer.{agency}"])
        valid(ws.recv())
        for _ in range(25):
            ws.send({"type": "ping"})
        c = ws.expect_close()
        if c.code != 4009:
            raise CheckFailed(f"25 messages at once: {c}")
        notes.append(f"4009 {c.reason!r}")
        t0 = time.monotonic()
        ws = WebSocket(port, ["pavewatch.v1"])
        c = ws.expect_close(timeout=8)
        if c.code != 4001 or not 4.0 <= time.monotonic() - t0 <= 7.5:
            raise CheckFailed(f"no auth: {c} after {time.monotonic() - t0:.1f} s")
        notes.append(f"4001 after {time.monotonic() - t0:.1f} s without auth")
        return "; ".join(notes)

    run.check("feed: hello, snapshot and updates match asyncapi.yaml, seq without gaps", stream)
    if session:
        run.check("feed: resume replays from resume_from", resume)
    run.check("feed: auth message, action_result and error match asyncapi.yaml", actions)
    run.check("feed: close codes 4001, 1009, 4009 as documented", close_codes)


# ---------------------------------------------------------------------------------------------

def hash_token(token):
    out = subprocess.run([BINARY, "gateway", "--hash-token", token], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def main():
    run = Run()
    if not os.access(BINARY, os.X_OK):
        print(f"FAIL environment: no pavewatch binary at {BINARY} (set PAVEWATCH_BINARY)")
        return 2
    run.check("pavewatch gateway --print-routes = documented paths + feed", check_routes)
    run.check("SegmentStateWithData covers docs/schemas/condition.schema.json", check_condition_fields)
    brokers = os.environ.get("PAVEWATCH_BROKERS")
    if not brokers:
        print("FAIL environment: PAVEWATCH_BROKERS is not set (run through scripts/test, or start scripts/kafka)")
        run.failed += 1
        return run.finish()

    tmp_root = os.environ.get("PAVEWATCH_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(tmp_root, exist_ok=True)
    stack_dir = tempfile.mkdtemp(prefix="api.", dir=tmp_root)
    stack = os.path.join(ROOT, "scripts", "stack")
    env = dict(os.environ, PAVEWATCH_BINARY=BINARY)
    tokens = {name: f"{name}-{secrets.token_urlsafe(18)}" for name in ("agency", "contractor", "expired")}
    with open(os.path.join(stack_dir, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump({"tokens": [
            {"name": "city-roads", "role": "agency", "sha256": hash_token(tokens["agency"])},
            {"name": "acme-paving", "role": "contractor", "sha256": hash_token(tokens["contractor"]),
             "expires": "2099-01-01T00:00:00Z", "zone": {"polygons": [ZONE_POLYGON]}},
            {"name": "old-contract", "role": "contractor", "sha256": hash_token(tokens["expired"]),
             "expires": "2020-01-01T00:00:00Z", "zone": {"polygons": [ZONE_POLYGON]}},
        ]}, f)

    # SIGTERM (ctest's timeout, a Ctrl-C) still stops the stack.
    def on_signal(signum, _frame):
        raise Deadline(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    try:
        started = subprocess.run(
            [stack, "start", stack_dir, "--prefix", f"api.{os.path.basename(stack_dir)}", "--speedup", "30",
             "--vehicles", "60", "--extra-gateway-args", f"--tokens {stack_dir}/tokens.json"],
            env=env, capture_output=True, text=True, timeout=remaining(120))
        if started.returncode != 0:
            print(f"FAIL the stack did not start: {started.stderr[-2000:]}")
            run.failed += 1
            return run.finish()
        port = int(re.search(r"GATEWAY_PORT=(\d+)", open(os.path.join(stack_dir, "env")).read()).group(1))
        gw = Gateway(port)
        hazards = wait_for_data(gw, tokens["agency"])
        run_http_checks(run, gw, tokens)
        run_feed_checks(run, port, tokens, hazards)
    except Deadline as e:
        print(f"FAIL api_openapi: {e}")
        run.failed += 1
    finally:
        subprocess.run([stack, "stop", stack_dir], env=env, capture_output=True, timeout=60)
        if run.failed == 0:
            shutil.rmtree(stack_dir, ignore_errors=True)
        else:
            print(f"stack logs kept in {stack_dir}/logs")
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
