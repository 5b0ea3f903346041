"""Rate limits on the Socket.IO events that cost the most (issue 19, ADR 0018): ``join_stream`` (a room, a
first screen, a presence event), ``send_message`` and ``react`` (fan-out to a whole show), ``purchase_intent``
(a Kafka message each).

Each is counted per connection (in this process's memory: a socket lives on one process) and per user (in
Redis: one user may hold sockets on several processes); an anonymous viewer's "user" is their IP address.
``join_stream`` waits for the Redis count. Chat, reactions and intents do not: a Redis round trip per tap
(longer on a loaded host) spread a burst of reactions over more frames than the room's ticker coalesces, so
their per-user count runs beside the event, and a user found over the limit is refused locally until the
window has room (at most the events already in flight pass).
Admins are not limited, nor is a show's staff (host, vendor, its moderators) inside that show, as with the
moderator's chat buckets (``application.moderation``), which still apply per show on top. A refusal is an
``error`` event and a ``{"ok": false}`` ack with code ``rate_limited`` and ``retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from infra.rate_limits import Check, RateLimiter, parse
from infra.settings import Settings
from interfaces.realtime.context import Conn

# event → the name of its settings (realtime_{name}_per_connection / _per_user)
LIMITED = {"join_stream": "join", "send_message": "chat", "react": "react", "purchase_intent": "purchase_intent"}
WAITS_FOR_REDIS = frozenset({"join_stream"})


class RealtimeLimits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.per_connection = {e: parse(getattr(settings, f"realtime_{n}_per_connection")) for e, n in LIMITED.items()}
        self.per_user = {e: parse(getattr(settings, f"realtime_{n}_per_user")) for e, n in LIMITED.items()}
        self._redis_url = settings.redis_url
        self._prefix = f"LIMITS:{settings.topic_prefix}"
        self.local = RateLimiter.memory()
        self.shared: RateLimiter | None = None
        self._blocked: dict[tuple[str, str], float] = {}  # (event, user) → monotonic time it has room again
        self._counting: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        if self.enabled:
            self.shared = RateLimiter.redis(self._redis_url, self._prefix)

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()

    async def retry_after(self, event: str, sid: str, conn: Conn, payload: Any) -> float | None:
        """None to go on; else the seconds the sender should wait."""
        if not self.enabled or event not in LIMITED:
            return None
        ident = conn.identity
        if "admin" in ident.roles:
            return None
        joined = conn.streams.get(getattr(payload, "stream_id", ""))
        if joined is not None and joined.moderator and event != "join_stream":
            return None
        refused = await self.local.refusal([Check(self.per_connection[event], ("ws", event, "conn", sid))])
        if refused is not None:
            return refused.retry_after
        if self.shared is None:
            return None
        user = f"ip:{conn.ip}" if ident.anonymous else ident.user_id
        check = Check(self.per_user[event], ("ws", event, "user", user))
        if event in WAITS_FOR_REDIS:
            refused = await self.shared.refusal([check])
            return None if refused is None else refused.retry_after
        now = time.monotonic()
        until = self._blocked.get((event, user))
        if until is not None:
            if until > now:
                return max(1.0, round(until - now))
            del self._blocked[(event, user)]
        task = asyncio.create_task(self._count(event, user, check))
        self._counting.add(task)
        task.add_done_callback(self._counting.discard)
        return None

    async def _count(self, event: str, user: str, check: Check) -> None:
        assert self.shared is not None
        refused = await self.shared.refusal([check])
        if refused is not None:
            self._blocked[(event, user)] = time.monotonic() + refused.retry_after
            if len(self._blocked) > 100_000:  # bounded: forget the oldest marks
                for key in list(self._blocked)[:10_000]:
                    del self._blocked[key]
