"""The shared Redis client waits for a free connection under a burst instead of failing the request."""

from __future__ import annotations

import asyncio

from infra.redis_store import redis_client


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(test_redis: str) -> None:
    r = redis_client(f"{test_redis}/0", max_connections=2)
    try:
        answers = await asyncio.gather(*(r.hgetall(f"BURST:{i}") for i in range(200)))
        assert answers == [{}] * 200
        assert len(r.connection_pool._in_use_connections) == 0  # every connection went back
    finally:
        await r.aclose()
