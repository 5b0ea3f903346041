"""Traces and log lines (issue 20 part 2).

One trace follows a command from the HTTP request through the unit of work and the event store to the relay and
the projections that show the write. Processes do not share memory, so the context travels with the event: the
batch writer stamps each new event with its command's W3C ``traceparent`` (kept in the stored event's state as
``_trace``), the relay moves it to the envelope's ``trace`` field and publishes under its own span, and each
projection opens its span as a child of the relay's.

Off by default: with no ``trace_endpoint`` the tracer is OpenTelemetry's no-op one, ``traceparent()`` returns
None and nothing is stamped or sent. On: spans go in batches to an OTLP/HTTP collector (Jaeger, Tempo, the
OpenTelemetry Collector). Logs: ``log_format=json`` writes one JSON object per line with the trace and span ids.
"""

from __future__ import annotations

import atexit
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from infra.settings import LOG_FORMAT, Settings

_propagator = TraceContextTextMapPropagator()
_enabled = False
tracer = trace.get_tracer("livecommerce")


def setup(settings: Settings, service: str) -> None:
    """Logging for this process and, when ``trace_endpoint`` is set, a tracer exporting over OTLP/HTTP."""
    setup_logging(settings)
    global _enabled
    if not settings.trace_endpoint or _enabled:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"livecommerce-{service}"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=settings.trace_endpoint), schedule_delay_millis=settings.trace_export_delay_ms
        )
    )
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # the last batch goes out on a clean stop
    _enabled = True


def enabled() -> bool:
    return _enabled


def traceparent(span: Span | None = None) -> str | None:
    """The W3C traceparent of ``span`` (default: the current one), or None when not tracing."""
    if not _enabled:
        return None
    ctx = trace.set_span_in_context(span) if span is not None else None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=ctx)
    return carrier.get("traceparent")


def context_of(parent: str | None) -> otel_context.Context | None:
    """The context a traceparent names (None: a new trace)."""
    if not parent:
        return None
    return _propagator.extract({"traceparent": parent})


def from_headers(headers: Any) -> otel_context.Context:
    return _propagator.extract({k.lower(): v for k, v in headers.items() if k.lower() in ("traceparent", "tracestate")})


@contextmanager
def span(name: str, parent: str | None = None, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any) -> Iterator[Span]:
    """A span, child of ``parent`` (a traceparent) when given, else of the current span; current inside."""
    with tracer.start_as_current_span(name, context=context_of(parent), kind=kind, attributes=attributes or None) as s:
        yield s


class BatchTracing:
    """``application.batch_writer.CommandTrace`` on OpenTelemetry: a ``command`` span per decision (child of the
    request's span) and an ``eventstore.append`` span for its share of the batch's save."""

    def capture(self) -> str | None:
        return traceparent()

    @contextmanager
    def command(self, parent: str | None) -> Iterator[str | None]:
        with span("command", parent) as s:
            yield traceparent(s)

    def appended(self, parent: str | None, started_ns: int, events: int) -> None:
        s = tracer.start_span(
            "eventstore.append",
            context=context_of(parent),
            start_time=started_ns,
            attributes={"db.system": "postgresql", "events.in_batch": events},
        )
        s.end()


def batch_tracing() -> BatchTracing | None:
    return BatchTracing() if _enabled else None


def follow(name: str, parent: str | None, kind: SpanKind, **attributes: Any) -> Span:
    """A started span continuing ``parent`` (a traceparent from an envelope); the caller ends it."""
    return tracer.start_span(name, context=context_of(parent), kind=kind, attributes=attributes or None)


# --- logs ------------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the trace and span ids when inside a span, and
    the access log's fields (Sanic puts them on the record)."""

    ACCESS = ("host", "request", "status", "byte")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        for key in self.ACCESS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if settings.log_format == "json":
        formatter = JsonFormatter()
        for h in root.handlers:
            h.setFormatter(formatter)
        for name in ("sanic.access", "sanic.root", "sanic.error"):
            for h in logging.getLogger(name).handlers:
                h.setFormatter(formatter)
