"""``GET /health``: 200 when every dependency answers and the log flows, else 503 naming what fails.

``checks`` are the servers (PostgreSQL, Redis, MongoDB, Kafka); ``log`` (``infra.log_health``) is the relay's
lag, each consumer's lag and the open dead letters. ``failing`` names the servers that do not answer, and
``log`` when events wait and the relay has made no progress for ``relay_stuck_after_s`` (crash-looping,
stopped, or unable to publish). Dead letters do not fail the check (the rest of the log flows); they are
counted for the operator's alert and ``livecommerce dead-letters``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from infra.bootstrap import Container
from infra.log_health import LogHealth
from interfaces.http.contract import api

bp = Blueprint("health")


async def _kafka(c: Container) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=c.settings.kafka_bootstrap, request_timeout_ms=2_000)
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, dict[str, Any]]:
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=3.0)
        return name, {"ok": True, "ms": round((time.perf_counter() - t0) * 1000, 1)}
    except Exception as exc:  # any failure means "not answering"; the reason is reported
        return name, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def log_health_of(app: Sanic) -> LogHealth:
    probe: LogHealth | None = getattr(app.ctx, "log_health", None)
    if probe is None:
        probe = app.ctx.log_health = LogHealth(app.ctx.container.settings)
    return probe


@bp.after_server_stop
async def _close(app: Sanic) -> None:
    probe: LogHealth | None = getattr(app.ctx, "log_health", None)
    if probe is not None:
        await probe.close()


@bp.get("/health")
@api(errors=(503,), description="every dependency answers; lags and dead letters under their limits")
async def health(request: Request) -> HTTPResponse:
    c: Container = request.app.ctx.container
    assert c.read_db is not None
    checks, log_state = await asyncio.gather(
        asyncio.gather(
            _check("postgres", c.read_db.ping),
            _check("redis", c.redis.ping),
            _check("mongodb", lambda: c.mongo.admin.command("ping")),
            _check("kafka", lambda: _kafka(c)),
        ),
        log_health_of(request.app).report(),
    )
    results = dict(checks)
    failing = sorted(n for n, r in results.items() if not r["ok"])
    if log_state["stuck"]:
        failing.append("log")
    body = {"status": "ok" if not failing else "unavailable", "failing": failing, "checks": results, "log": log_state}
    return json(body, status=200 if not failing else 503)
