"""``GET /metrics`` (Prometheus text format) and the timing of every request by route (``infra.metrics``).

The route label is Sanic's route pattern (``/api/v1/live-commerce/streams/<stream_id:uuid>``), or
``unmatched`` for a path no route has, so a scanner cannot create a series per URL.
"""

from __future__ import annotations

import time

from sanic import Blueprint, HTTPResponse, Request, Sanic
from sanic.response import raw

from infra import metrics
from interfaces.http.contract import api
from interfaces.http.health import log_health_of

bp = Blueprint("metrics")


@bp.get("/metrics")
@api(content_type="text/plain", description="Prometheus exposition (text format)")
async def scrape(request: Request) -> HTTPResponse:
    """This process's metrics (every worker's, in multiprocess mode), with the log's lag asked at scrape time."""
    metrics.observe_log_health(await log_health_of(request.app).report())
    return raw(metrics.exposition(), content_type=metrics.CONTENT_TYPE)


def install(app: Sanic) -> None:
    app.blueprint(bp)

    @app.on_request(priority=100)
    async def _started(request: Request) -> None:
        request.ctx.metrics_t0 = time.perf_counter()

    @app.on_response(priority=100)
    async def _answered(request: Request, response: HTTPResponse) -> None:
        t0 = getattr(request.ctx, "metrics_t0", None)
        if t0 is None:
            return
        route = request.route.path if request.route is not None else "unmatched"
        if route == "metrics":
            return
        metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status)).inc()
        metrics.HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - t0)
