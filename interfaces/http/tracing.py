"""A server span per request (``infra.tracing``), child of the caller's ``traceparent`` header when it sends one,
named by Sanic's route pattern like the metrics; the answer carries ``traceparent`` back so a client (or a support
ticket) can name the trace. Nothing happens when tracing is off."""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from sanic import HTTPResponse, Request, Sanic

from infra import tracing


def install(app: Sanic) -> None:
    if not tracing.enabled():
        return

    @app.on_request(priority=200)  # before the metrics and the limits: a refused request is traced too
    async def _open(request: Request) -> None:
        route = request.route.path if request.route is not None else "unmatched"
        span = tracing.tracer.start_span(
            f"{request.method} /{route}",
            context=tracing.from_headers(request.headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": f"/{route}", "url.path": request.path},
        )
        request.ctx.trace_span = span
        # Left attached for the rest of the request's task, so the access log line carries the trace id too;
        # the next request on the connection attaches its own.
        otel_context.attach(trace.set_span_in_context(span))

    @app.on_response(priority=200)
    async def _close(request: Request, response: HTTPResponse) -> None:
        span = getattr(request.ctx, "trace_span", None)
        if span is None:
            return
        span.set_attribute("http.response.status_code", response.status)
        if response.status >= 500:
            span.set_status(StatusCode.ERROR)
        parent = tracing.traceparent(span)
        if parent:
            response.headers["traceparent"] = parent
        span.end()
