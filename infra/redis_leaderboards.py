"""The leaderboards' Redis adapter: ``RedisGuard``'s version-guarded ops, plus ``!ORDER`` steps that add (or take
back) an order's paid amount on its show's buyers board, read from the order's ``LB:order`` hash in the same
script (``projections.leaderboards_redis``)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from infra.redis_store import RedisGuard

_LEADERBOARDS = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v <= cur then return 0 end
local ops = cjson.decode(ARGV[2])
for _, op in ipairs(ops) do
  if op[1] == '!ORDER' then
    local o = redis.call('HMGET', op[2], 'buyer', 'stream', 'paisa')
    if o[1] and o[2] then
      local amount = tonumber(op[4]) or tonumber(o[3])
      local board = op[3] .. o[2] .. ':buyers'
      redis.call('ZINCRBY', board, op[5] * amount, o[1])
      if op[5] < 0 then redis.call('ZREMRANGEBYSCORE', board, '-inf', 0) end
    end
  else
    redis.call(unpack(op))
  end
end
redis.call('SET', KEYS[1], v)
return 1
"""


class RedisLeaderboards(RedisGuard):
    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__(client)
        self._script = client.register_script(_LEADERBOARDS)

    async def apply_if_newer(self, version_key: str, version: int, ops: list[list[Any]]) -> bool:
        return bool(await self._script(keys=[version_key], args=[version, json.dumps(ops)]))
