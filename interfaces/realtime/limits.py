"""Rate limits on the Socket.IO events that cost the most (issue 19, ADR 0018): ``join_stream`` (a room, a
first screen, a presence event), ``send_message`` and ``react`` (fan-out to a whole show), ``purchase_intent``
(a Kafka message each).

Each is counted per connection (in this process's memory: a socket lives on one process) and per user (in
Redis: one user may hold sockets on several processes); an anonymous viewer's "user" is their IP address.
Admins are not limited, nor is a show's staff (host, vendor, its moderators) inside that show, as with the
moderator's chat buckets (``application.moderation``), which still apply per show on top. A refusal is an
``error`` event and a ``{"ok": false}`` ack with code ``rate_limited`` and ``retry_after`` seconds.
"""

from __future__ import annotations

from typing import Any

from infra.rate_limits import Check, RateLimiter, parse
from infra.settings import Settings
from interfaces.realtime.context import Conn

# event → the name of its settings (realtime_{name}_per_connection / _per_user)
LIMITED = {"join_stream": "join", "send_message": "chat", "react": "react", "purchase_intent": "purchase_intent"}


class RealtimeLimits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.per_connection = {e: parse(getattr(settings, f"realtime_{n}_per_connection")) for e, n in LIMITED.items()}
        self.per_user = {e: parse(getattr(settings, f"realtime_{n}_per_user")) for e, n in LIMITED.items()}
        self._redis_url = settings.redis_url
        self._prefix = f"LIMITS:{settings.topic_prefix}"
        self.local = RateLimiter.memory()
        self.shared: RateLimiter | None = None

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
        if refused is None and self.shared is not None:
            user = f"ip:{conn.ip}" if ident.anonymous else ident.user_id
            refused = await self.shared.refusal([Check(self.per_user[event], ("ws", event, "user", user))])
        return None if refused is None else refused.retry_after
