"""What the gateway reads and writes in Redis besides the socket.io adapter.

Reads (kept by projections): ``STREAM_STATUS:{id}`` (is the show known, live, what is featured),
``STREAM_CHAT:{id}`` (last N messages as JSON), ``STREAM_PINNED:{id}``. Together they are a late joiner's
first screen, fetched in one round trip.

``STREAM_MODERATION:{id}`` (slow mode, mutes, bans) is written here directly, not by a projection: a ban must
hold on every process from the next message on, not after the log has gone round. The same decisions also go
to the log as interactions, for the record.
"""

from __future__ import annotations

import json
import time
from typing import Any

from application.moderation import StreamRules
from interfaces.realtime.room_ticker import HOT_TOP, hot_list
from projections.stream_metrics_redis import hot_products_key

MODERATION_TTL_S = 3 * 86_400  # outlives any show; a show's bans do not follow the user to the next one


def status_key(stream_id: str) -> str:
    return f"STREAM_STATUS:{stream_id}"


def chat_key(stream_id: str) -> str:
    return f"STREAM_CHAT:{stream_id}"


def pinned_key(stream_id: str) -> str:
    return f"STREAM_PINNED:{stream_id}"


def moderation_key(stream_id: str) -> str:
    return f"STREAM_MODERATION:{stream_id}"


def _json_list(raw: list[str]) -> list[dict[str, Any]]:
    out = []
    for item in raw:
        try:
            out.append(json.loads(item))
        except (TypeError, ValueError):
            continue
    return out


class StreamState:
    def __init__(self, redis: Any, history: int) -> None:
        self._r = redis
        self._history = history

    async def status(self, stream_id: str) -> dict[str, str]:
        return await self._r.hgetall(status_key(stream_id))  # type: ignore[no-any-return]

    async def first_screen(self, stream_id: str) -> dict[str, Any]:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.hgetall(status_key(stream_id))
            pipe.lrange(chat_key(stream_id), -self._history, -1)
            pipe.get(pinned_key(stream_id))
            pipe.hget(moderation_key(stream_id), "slow_mode")
            pipe.zrevrange(hot_products_key(stream_id), 0, HOT_TOP - 1, withscores=True)
            status, chat, pinned, slow, hot = await pipe.execute()
        return {
            "stream_id": stream_id,
            "status": status.get("status"),
            "featured_product": {"product_id": status["featured_product"]} if status.get("featured_product") else None,
            "recent_messages": _json_list(chat),
            "pinned_message": _json_list([pinned])[0] if pinned else None,
            "slow_mode": int(slow or 0),
            "hot_products": hot_list(hot),
        }

    async def find_message(self, stream_id: str, message_id: str) -> dict[str, Any] | None:
        for msg in _json_list(await self._r.lrange(chat_key(stream_id), 0, -1)):
            if msg.get("id") == message_id:
                return msg
        return None

    async def rules(self, stream_id: str, user_id: str) -> StreamRules:
        slow, banned, muted = await self._r.hmget(
            moderation_key(stream_id), "slow_mode", f"ban:{user_id}", f"mute:{user_id}"
        )
        return StreamRules(
            slow_mode_s=float(slow or 0), banned=bool(banned), muted_until=float(muted) if muted else None
        )

    async def _set(self, stream_id: str, field: str, value: str | int | float | None) -> None:
        key = moderation_key(stream_id)
        async with self._r.pipeline(transaction=False) as pipe:
            if value is None:
                pipe.hdel(key, field)
            else:
                pipe.hset(key, field, value)
            pipe.expire(key, MODERATION_TTL_S)
            await pipe.execute()

    async def mute(self, stream_id: str, user_id: str, seconds: int) -> float:
        until = time.time() + seconds
        await self._set(stream_id, f"mute:{user_id}", until)
        return until

    async def unmute(self, stream_id: str, user_id: str) -> None:
        await self._set(stream_id, f"mute:{user_id}", None)

    async def ban(self, stream_id: str, user_id: str, banned: bool) -> None:
        await self._set(stream_id, f"ban:{user_id}", 1 if banned else None)

    async def slow_mode(self, stream_id: str, seconds: int) -> None:
        await self._set(stream_id, "slow_mode", seconds or None)
