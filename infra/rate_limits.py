"""Rate limits on the `limits` library's items and algorithm: counters in Redis shared by every API process, or
in memory for what lives in one process (a Socket.IO connection).

Sliding-window counters (the algorithm of the library's ``SlidingWindowCounterRateLimiter``: two small keys per
counter, and no burst of twice the limit at a window's edge as a fixed window allows). A limit string may name
several windows ("20/second;300/minute").

In Redis, every window of every counter a request takes a hit from (its IP's and its user's) is decided by ONE
script call: all are checked, and only if each has room does each take the hit (a refused request uses up
nothing). The library's own limiter makes one call per window and counter: four round trips for a signed-in
write, which cost a hot flash sale more than half its throughput (ADR 0018, ``python -m bench.rate_limits``).
The script is the library's ``acquire_sliding_window.lua`` over several counters at once. The keys of one call
must live on one Redis (not a cluster spread over slots).

Limits protect the service; they are not a correctness rule. When Redis does not answer, the request is let
through and the failure is logged (at most once a minute), rather than refusing every user.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import BlockingConnectionPool

log = logging.getLogger(__name__)


def parse(spec: str) -> tuple[RateLimitItem, ...]:
    """``"20/second;300/minute"`` → its windows; ``""`` or ``"none"`` → no limit."""
    spec = spec.strip()
    return () if spec.lower() in ("", "none", "off") else tuple(parse_many(spec))


@dataclass(frozen=True, slots=True)
class Check:
    """One counter to take a hit from: its windows and the identifiers that name it."""

    items: Sequence[RateLimitItem]
    key: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    retry_after: float  # seconds, at least 1
    check: Check  # the counter that was full


class RateLimiter:
    """``await limiter.refusal(checks)``: None when every counter had room (each took a hit), else which one
    was full and the seconds until it has room again."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._failed_at = 0.0
        self.failures = 0

    @classmethod
    def redis(cls, redis_url: str, prefix: str) -> RateLimiter:
        return RedisRateLimiter(redis_url, prefix)

    @classmethod
    def library_redis(cls, redis_url: str, prefix: str, connections: int = 256) -> RateLimiter:
        """The library's own Redis limiter (one call per window and counter): the benchmark's baseline."""
        pool = BlockingConnectionPool.from_url(
            redis_url, max_connections=connections, timeout=1.0, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        return cls(
            RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=prefix, connection_pool=pool)
        )

    @classmethod
    def memory(cls) -> RateLimiter:
        return cls(MemoryStorage())

    async def refusal(self, checks: Sequence[Check]) -> Refusal | None:
        try:
            return await self._refusal(checks)
        except Exception:  # limits are protection, not a rule: without Redis, let the request through
            self.failures += 1
            if time.monotonic() - self._failed_at > 60:
                self._failed_at = time.monotonic()
                log.warning("rate limits not checked (%d failures so far)", self.failures, exc_info=True)
            return None

    async def _refusal(self, checks: Sequence[Check]) -> Refusal | None:
        # One after another, stopping at the first full counter: a refused request does not use up the others.
        for c in checks:
            for item in c.items:
                if not await self._strategy.hit(item, *c.key):
                    stats = await self._strategy.get_window_stats(item, *c.key)
                    return Refusal(float(max(1, math.ceil(stats.reset_time - time.time()))), c)
        return None

    async def close(self) -> None:
        storage = self._storage
        if isinstance(storage, RedisStorage):
            try:
                await storage.bridge.storage.aclose()  # the redis-py client the library opened
            except Exception:
                log.debug("rate-limit storage close failed", exc_info=True)


# The library's acquire_sliding_window.lua, over every window of every counter of one request: first each is
# checked (shifting a window that ran out), then, only if all have room, each takes the hit.
# KEYS: (previous, current) per window; ARGV: amount, then (limit, expiry in seconds) per window.
# → 0, or {the 1-based window that was full, milliseconds until it has room again (about)}.
_ACQUIRE_ALL = """
local amount = tonumber(ARGV[1])
local n = #KEYS / 2
for i = 1, n do
    local previous, current = KEYS[2 * i - 1], KEYS[2 * i]
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1]) * 1000
    if amount > limit then
        return {i, expiry}
    end
    local current_ttl = tonumber(redis.call('pttl', current))
    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', current, previous)
        redis.call('set', current, 0, 'PX', current_ttl + expiry)
    end
    local previous_count = tonumber(redis.call('get', previous)) or 0
    local previous_ttl = tonumber(redis.call('pttl', previous)) or 0
    local current_count = tonumber(redis.call('get', current)) or 0
    current_ttl = tonumber(redis.call('pttl', current)) or 0
    if previous_ttl < 0 then previous_ttl = 0 end
    if current_ttl < 0 then current_ttl = 0 end
    if math.floor(previous_count * previous_ttl / expiry) + current_count + amount > limit then
        local wait = current_ttl - expiry
        if wait <= 0 then wait = previous_ttl end
        return {i, wait}
    end
end
for i = 1, n do
    local current = KEYS[2 * i]
    if redis.call('exists', current) == 1 then
        redis.call('incrby', current, amount)
    else
        redis.call('set', current, amount, 'PX', tonumber(ARGV[2 * i + 1]) * 2000)
    end
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    """Every window of every counter of one request in one script call, and the calls of every request that
    arrives while one round trip is out sent together in one pipeline (a redis-py call costs ~90 µs of this
    process's CPU alone, one in a pipeline ~15: ``python -m bench.rate_limits``)."""

    def __init__(self, redis_url: str, prefix: str, connections: int = 4) -> None:
        from redis.asyncio import Redis

        pool = BlockingConnectionPool.from_url(
            redis_url, max_connections=connections, timeout=1.0, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._redis = Redis(connection_pool=pool)
        self._prefix = prefix
        self._sha: str | None = None
        self._pending: list[tuple[list[str], list[int], asyncio.Future[Any]]] = []
        self._flushing = False
        self._failed_at = 0.0
        self.failures = 0

    async def _refusal(self, checks: Sequence[Check]) -> Refusal | None:
        keys: list[str] = []
        args: list[int] = [1]
        windows: list[Check] = []
        for c in checks:
            for item in c.items:
                key = f"{self._prefix}:{item.key_for(*c.key)}"
                keys += (f"{key}:prev", f"{key}:cur")
                args += (item.amount, item.get_expiry())
                windows.append(c)
        if not windows:
            return None
        answer = await self._call(keys, args)
        if not answer:
            return None
        window, wait_ms = int(answer[0]), int(answer[1])
        return Refusal(float(max(1, math.ceil(wait_ms / 1000))), windows[window - 1])

    def _call(self, keys: list[str], args: list[int]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return future

    async def _flush(self) -> None:
        """Send what is pending as one pipeline; repeat while more arrived meanwhile."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    answers = await self._pipeline(batch)
                except Exception as exc:
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._flushing = False

    async def _pipeline(self, batch: list[tuple[list[str], list[int], asyncio.Future[Any]]]) -> list[Any]:
        from redis.exceptions import NoScriptError

        for attempt in (1, 2):
            if self._sha is None:
                self._sha = str(await self._redis.script_load(_ACQUIRE_ALL))
            pipe = self._redis.pipeline(transaction=False)
            for keys, args, _ in batch:
                pipe.evalsha(self._sha, len(keys), *keys, *args)
            try:
                return list(await pipe.execute())
            except NoScriptError:  # the server was restarted (or flushed its scripts): load it again
                if attempt == 2:
                    raise
                self._sha = None
        raise AssertionError("unreachable")

    async def close(self) -> None:
        try:
            await self._redis.aclose()
        except Exception:
            log.debug("rate-limit storage close failed", exc_info=True)
