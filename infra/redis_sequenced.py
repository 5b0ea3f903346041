"""Redis for interaction read models: a batch of a show's interactions applied in one script, each behind its
origin's watermark (``projections.ports.SequencedRedis``).

One script call per show per batch: hundreds of reactions a second cost one round trip, and the watermark
check and the change are atomic, so a redelivered batch (a crash before the offset commit) changes nothing.
Besides plain commands, the script knows the few steps that need a decision inside Redis:

- ``!JOIN viewers conns seen metrics trending viewer weight show``: a viewer's first connection adds them to
  the set of current viewers, to the set of everyone who watched, and moves current/total/peak;
- ``!LEAVE viewers conns metrics viewer watch_seconds``: their last connection removes them; watch time feeds
  ``average_watch_time``;
- ``!CHAT_PUSH list json max`` / ``!CHAT_DELETE list pinned message_id`` / ``!PIN pinned json-or-empty``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from infra.redis_store import RedisGuard

_SCRIPT = """
local items = cjson.decode(ARGV[1])
local applied = 0
local function num(v) return tonumber(v) or 0 end
local steps = {}
steps['!JOIN'] = function(op)
  local viewers, conns, seen, metrics = op[2], op[3], op[4], op[5]
  local trending, viewer, weight = op[6], op[7], op[8]
  if redis.call('HINCRBY', conns, viewer, 1) == 1 then redis.call('SADD', viewers, viewer) end
  local cur = redis.call('SCARD', viewers)
  redis.call('HSET', metrics, 'current_viewers', cur)
  if redis.call('SADD', seen, viewer) == 1 then redis.call('HINCRBY', metrics, 'total_viewers', 1) end
  if cur > num(redis.call('HGET', metrics, 'peak_viewers')) then
    redis.call('HSET', metrics, 'peak_viewers', cur)
  end
  redis.call('ZADD', trending, 'XX', 'INCR', weight, op[9])
end
steps['!LEAVE'] = function(op)
  local viewers, conns, metrics, viewer, watched = op[2], op[3], op[4], op[5], num(op[6])
  local left = redis.call('HINCRBY', conns, viewer, -1)
  if left <= 0 then
    redis.call('HDEL', conns, viewer)
    redis.call('SREM', viewers, viewer)
  end
  redis.call('HSET', metrics, 'current_viewers', redis.call('SCARD', viewers))
  local total = num(redis.call('HINCRBYFLOAT', metrics, 'watch_seconds_total', watched))
  local sessions = redis.call('HINCRBY', metrics, 'watch_sessions', 1)
  redis.call('HSET', metrics, 'average_watch_time', string.format('%.1f', total / sessions))
end
steps['!CHAT_PUSH'] = function(op)
  redis.call('RPUSH', op[2], op[3])
  redis.call('LTRIM', op[2], -tonumber(op[4]), -1)
end
steps['!CHAT_DELETE'] = function(op)
  for _, raw in ipairs(redis.call('LRANGE', op[2], 0, -1)) do
    local ok, msg = pcall(cjson.decode, raw)
    if ok and msg['id'] == op[4] then redis.call('LREM', op[2], 0, raw) end
  end
  local pinned = redis.call('GET', op[3])
  if pinned then
    local ok, msg = pcall(cjson.decode, pinned)
    if ok and msg['id'] == op[4] then redis.call('DEL', op[3]) end
  end
end
steps['!PIN'] = function(op)
  if op[3] == '' then redis.call('DEL', op[2]) else redis.call('SET', op[2], op[3]) end
end
for _, item in ipairs(items) do
  local origin, seq, ops = item[1], tonumber(item[2]), item[3]
  if seq > num(redis.call('HGET', KEYS[1], origin)) then
    for _, op in ipairs(ops) do
      local step = steps[op[1]]
      if step then step(op) else redis.call(unpack(op)) end
    end
    redis.call('HSET', KEYS[1], origin, seq)
    applied = applied + 1
  end
end
return applied
"""


class RedisSequenced:
    def __init__(self, client: aioredis.Redis) -> None:
        self._script = client.register_script(_SCRIPT)
        self._guard = RedisGuard(client)

    async def apply_sequenced(self, marks_key: str, items: list[tuple[str, int, list[list[Any]]]]) -> int:
        if not items:
            return 0
        return int(await self._script(keys=[marks_key], args=[json.dumps(items, ensure_ascii=False)]))

    async def delete_matching(self, patterns: Sequence[str]) -> int:
        return await self._guard.delete_matching(patterns)
