"""``GET /health``: 200 when every dependency answers, else 503 naming the failing ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.bootstrap import Container

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


@bp.get("/health")
async def health(request: Request) -> HTTPResponse:
    c: Container = request.app.ctx.container
    assert c.read_db is not None
    results = dict(await asyncio.gather(
        _check("postgres", c.read_db.ping),
        _check("redis", c.redis.ping),
        _check("mongodb", lambda: c.mongo.admin.command("ping")),
        _check("kafka", lambda: _kafka(c)),
    ))
    failing = sorted(n for n, r in results.items() if not r["ok"])
    body = {"status": "ok" if not failing else "unavailable", "failing": failing, "checks": results}
    return json(body, status=200 if not failing else 503)
