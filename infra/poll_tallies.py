"""``POLL_TALLY:{poll_id}`` in Redis: a poll's latest counts, written after each accepted vote (the highest
version wins, so several API processes can write in any order). The gateway's poll ticker reads it a few times
a second for the polls open in its rooms (``interfaces.realtime.poll_push``).

Writes are coalesced: thousands of votes committed in one batch would otherwise be thousands of concurrent
round trips, more than the connection pool holds (a vote already committed then answered ``internal_error``
while waiting for a connection). ``publish`` keeps the newest tally per poll and one flusher writes what is
pending in one pipeline, again and again until nothing is; each caller waits for the flush that carries its
tally (or a newer one). A failed write is logged, not raised: the vote is committed, and the next vote's tally
(or ``poll_ended``) carries it (ADR 0020).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

TTL_S = 2 * 86_400
_SET_IF_NEWER = """
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if tonumber(ARGV[1]) <= v then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'tally', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def tally_key(poll_id: str) -> str:
    return f"POLL_TALLY:{poll_id}"


class RedisPollTallies:
    def __init__(self, redis: Any) -> None:
        self._r = redis
        self._script = redis.register_script(_SET_IF_NEWER)
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.writes = 0

    async def publish(self, poll_id: str, stream_id: str, version: int, tally: dict[str, Any]) -> None:
        held = self._pending.get(poll_id)
        if held is None or version > held[0]:
            self._pending[poll_id] = (version, tally)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        try:
            await asyncio.shield(self._flusher)
        except Exception:
            log.warning("poll tally not written; the next vote's tally will be", exc_info=True)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            async with self._r.pipeline(transaction=False) as pipe:
                for pid, (version, tally) in batch.items():
                    await self._script(keys=[tally_key(pid)], args=[version, json.dumps(tally), TTL_S], client=pipe)
                await pipe.execute()
            self.writes += 1

    async def read(self, poll_ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """poll id → (version, tally) for those that have one."""
        if not poll_ids:
            return {}
        async with self._r.pipeline(transaction=False) as pipe:
            for pid in poll_ids:
                pipe.hmget(tally_key(pid), "v", "tally")
            rows = await pipe.execute()
        return {pid: (int(v), json.loads(t)) for pid, (v, t) in zip(poll_ids, rows, strict=True) if v and t}
