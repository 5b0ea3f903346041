"""Redis for projections: commands applied atomically behind a per-aggregate version guard (a Lua script)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

_GUARDED = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v <= cur then return 0 end
local ops = cjson.decode(ARGV[2])
for _, op in ipairs(ops) do redis.call(unpack(op)) end
redis.call('SET', KEYS[1], v)
return 1
"""


class RedisGuard:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._script = client.register_script(_GUARDED)

    async def apply_if_newer(self, version_key: str, version: int, ops: list[list[Any]]) -> bool:
        return bool(await self._script(keys=[version_key], args=[version, json.dumps(ops)]))

    async def delete_matching(self, patterns: Sequence[str]) -> int:
        deleted = 0
        for pattern in patterns:
            if "*" not in pattern:
                deleted += await self._r.delete(pattern)
                continue
            batch: list[str] = []
            async for key in self._r.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += await self._r.delete(*batch)
                    batch.clear()
            if batch:
                deleted += await self._r.delete(*batch)
        return deleted


def redis_client(url: str, max_connections: int = 100, wait_s: float = 5.0) -> aioredis.Redis:
    """A client whose pool *waits* (up to ``wait_s``) for a free connection under a burst, instead of failing
    the request with "Too many connections" as the default pool does."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections, timeout=wait_s
    )
    return aioredis.Redis.from_pool(pool)
