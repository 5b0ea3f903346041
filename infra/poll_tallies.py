"""``POLL_TALLY:{poll_id}`` in Redis: a poll's latest counts, written after each accepted vote (the highest
version wins, so several API processes can write in any order). The gateway's poll ticker reads it a few times
a second for the polls open in its rooms (``interfaces.realtime.poll_push``)."""

from __future__ import annotations

import json
from typing import Any

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

    async def publish(self, poll_id: str, stream_id: str, version: int, tally: dict[str, Any]) -> None:
        await self._script(keys=[tally_key(poll_id)], args=[version, json.dumps(tally), TTL_S])

    async def read(self, poll_ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        """poll id → (version, tally) for those that have one."""
        if not poll_ids:
            return {}
        async with self._r.pipeline(transaction=False) as pipe:
            for pid in poll_ids:
                pipe.hmget(tally_key(pid), "v", "tally")
            rows = await pipe.execute()
        return {pid: (int(v), json.loads(t)) for pid, (v, t) in zip(poll_ids, rows, strict=True) if v and t}
