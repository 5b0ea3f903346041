"""Rate limits on the `limits` library: counters in Redis shared by every API process, or in memory for what
lives in one process (a Socket.IO connection).

Sliding-window counters (the library's ``SlidingWindowCounterRateLimiter``): one Lua call per limit, two
small keys per counter, and no burst of twice the limit at a window's edge as a fixed window allows. A limit
string may name several windows ("20/second;300/minute"); each is one call.

Limits protect the service; they are not a correctness rule. When Redis does not answer, the request is let
through and the failure is logged (at most once a minute), rather than refusing every user.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

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
    def redis(cls, redis_url: str, prefix: str, connections: int = 256) -> RateLimiter:
        # A bounded pool that waits for a free connection (the default pool refuses past its maximum).
        pool = BlockingConnectionPool.from_url(redis_url, max_connections=connections, timeout=1.0,
                                               socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=prefix,
                                connection_pool=pool))

    @classmethod
    def memory(cls) -> RateLimiter:
        return cls(MemoryStorage())

    async def refusal(self, checks: Sequence[Check]) -> Refusal | None:
        try:
            # One after another (a task per call costs more CPU than the round trips save), stopping at the
            # first full counter: a refused request does not use up the others.
            for c in checks:
                for item in c.items:
                    if not await self._strategy.hit(item, *c.key):
                        stats = await self._strategy.get_window_stats(item, *c.key)
                        return Refusal(float(max(1, math.ceil(stats.reset_time - time.time()))), c)
            return None
        except Exception:  # limits are protection, not a rule: without Redis, let the request through
            self.failures += 1
            if time.monotonic() - self._failed_at > 60:
                self._failed_at = time.monotonic()
                log.warning("rate limits not checked (%d failures so far)", self.failures, exc_info=True)
            return None

    async def close(self) -> None:
        storage = self._storage
        if isinstance(storage, RedisStorage):
            try:
                await storage.bridge.storage.aclose()  # the redis-py client the library opened
            except Exception:
                log.debug("rate-limit storage close failed", exc_info=True)
