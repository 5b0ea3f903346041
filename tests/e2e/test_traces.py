"""One trace from the HTTP request to the read model that shows the write (issue 20 part 2).

The stack of ``journeys.Show`` runs with ``trace_endpoint`` pointing at a collector started here: a real OTLP/HTTP
receiver (protobuf ``ExportTraceServiceRequest`` over HTTP, as the OpenTelemetry Collector or Jaeger take it). A
host creates a show sending its own ``traceparent``; the spans of that trace must come from the API (the request,
the command's decision, the event-store append), the relay (publishing the event) and the projection process
(applying it to ``live_streams``), each the child of the one before, and the API's JSON log lines carry the id.
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import Environments
from tests.e2e.journeys import Show, show_settings
from tests.support import wait_until


class Collector:
    """Spans received over OTLP/HTTP: dicts of service, name, kind, trace id, span id, parent id, attributes."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.requests = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.add(self.path, self.headers.get("Content-Type", ""), body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def add(self, path: str, content_type: str, body: bytes) -> None:
        assert path == "/v1/traces" and content_type == "application/x-protobuf", (path, content_type)
        req = ExportTraceServiceRequest.FromString(body)
        self.requests += 1
        for rs in req.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    self.spans.append(
                        {
                            "service": service,
                            "name": s.name,
                            "kind": s.kind,
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent_id": s.parent_span_id.hex(),
                            "attributes": {a.key: _value(a.value) for a in s.attributes},
                            "duration_ms": (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6,
                        }
                    )

    def of(self, trace_id: str) -> list[dict[str, Any]]:
        return [s for s in list(self.spans) if s["trace_id"] == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


@pytest.fixture(scope="module")
def traced(environments: Environments, log_dir: Path, collector: Collector) -> Iterator[Show]:
    env, sandbox = show_settings(
        environments, trace_endpoint=collector.endpoint, trace_export_delay_ms=200, log_format="json"
    )
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


def test_one_trace_from_the_request_to_the_read_model(traced: Show, collector: Collector) -> None:
    s = traced
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    host = s.as_user("host")
    created = host.post(
        "/streams",
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        json={"title": "ট্রেস করা লাইভ", "stream_type": "product_demo"},
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    # The answer names the trace it belongs to (the request's own span, child of the caller's).
    assert created.headers["traceparent"].split("-")[1] == trace_id

    def whole_trace() -> list[dict[str, Any]] | None:
        spans = collector.of(trace_id)
        names = {x["name"] for x in spans}
        wanted = {
            "POST /api/v1/live-commerce/streams",
            "command",
            "eventstore.append",
            "relay.publish",
            "projection.apply live_streams",
        }
        return spans if wanted <= names else None

    spans = wait_until(whole_trace, timeout=30, what="the request's spans from the API, relay and projections")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for x in spans:
        by_name.setdefault(x["name"], []).append(x)
    request = by_name["POST /api/v1/live-commerce/streams"][0]
    assert request["service"] == "livecommerce-api"
    assert request["parent_id"] == caller_span  # continues the caller's trace
    assert request["attributes"]["http.response.status_code"] == 201
    assert request["attributes"]["http.route"] == "/api/v1/live-commerce/streams"
    command = by_name["command"][0]
    assert command["service"] == "livecommerce-api" and command["parent_id"] == request["span_id"]
    append = by_name["eventstore.append"][0]
    assert append["parent_id"] == command["span_id"] and append["attributes"]["db.system"] == "postgresql"
    # The show's creation is one event; the relay publishes it under the command's span...
    publishes = by_name["relay.publish"]
    assert {p["service"] for p in publishes} == {"livecommerce-relay"}
    assert {p["parent_id"] for p in publishes} == {command["span_id"]}
    assert {p["attributes"]["event.type"] for p in publishes} == {"LiveStream.Scheduled"}
    # ...and the read model that shows it applies it under the relay's span.
    applied = by_name["projection.apply live_streams"]
    assert {a["service"] for a in applied} == {"livecommerce-project"}
    assert {a["parent_id"] for a in applied} <= {p["span_id"] for p in publishes}
    assert applied[0]["attributes"]["messaging.consumer.group.name"] == "projection.live_streams"
    # Other read models fed by the same event continue the same trace.
    assert len({x["name"] for x in spans if x["name"].startswith("projection.apply")}) >= 2
    # What a user sees is what the trace says happened: the show is listed.
    assert host.get(f"/streams/{sid}").json()["title"] == "ট্রেস করা লাইভ"

    # Logs: one JSON object per line; the access log line of that request carries its trace id.
    def access_line() -> dict[str, Any] | None:
        for line in s.procs["api"].output().splitlines():
            if line.startswith("{") and trace_id in line:
                d = json.loads(line)
                if d.get("logger") == "sanic.access":
                    return d
        return None

    line = wait_until(access_line, timeout=10, what="the request's access log line")
    assert line["trace_id"] == trace_id and line["status"] == 201
    assert line["request"].startswith("POST ") and line["request"].endswith("/api/v1/live-commerce/streams")


def test_a_request_without_traceparent_starts_its_own_trace(traced: Show, collector: Collector) -> None:
    r = traced.as_user("viewer").get("/streams")
    assert r.status_code == 200
    trace_id = r.headers["traceparent"].split("-")[1]
    spans = wait_until(lambda: collector.of(trace_id), timeout=15, what="the listing's span")
    assert [x["name"] for x in spans] == ["GET /api/v1/live-commerce/streams"]
    assert spans[0]["parent_id"] == ""  # a root span: nobody called us with a trace
