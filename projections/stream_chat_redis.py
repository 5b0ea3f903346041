"""Redis ``STREAM_CHAT:{id}`` (spec §2.3): the last N chat messages of a show, and ``STREAM_PINNED:{id}``.

What a late joiner sees first. Capped (``chat_history_size``): the full history is in MongoDB
(``chat_messages``). Messages are stored as the JSON the viewers received in ``new_message``; a moderator's
delete takes the message out of the list (and unpins it), a pin stores the pinned message.

Idempotent by envelope id: one watermark per (show, gateway origin), see application.interactions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from application import interactions as it
from application.envelope import Envelope
from projections.ports import SequencedRedis
from projections.stream_metrics_redis import by_stream


def chat_key(stream_id: str) -> str:
    return f"STREAM_CHAT:{stream_id}"


def pinned_key(stream_id: str) -> str:
    return f"STREAM_PINNED:{stream_id}"


def marks_key(stream_id: str) -> str:
    return f"PROJ:stream_chat:{stream_id}"


def _json(d: dict[str, Any]) -> str:
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


class StreamChatRedis:
    name = "stream_chat"
    topics = ("interactions",)

    def __init__(self, redis: SequencedRedis, history: int) -> None:
        self._redis = redis
        self._history = history

    def ops_for(self, e: Envelope) -> list[list[Any]]:
        sid = str(e.stream_id)
        d = e.payload
        match e.type:
            case it.CHAT_SENT:
                return [["!CHAT_PUSH", chat_key(sid), _json(d), self._history]]
            case it.CHAT_DELETED:
                return [["!CHAT_DELETE", chat_key(sid), pinned_key(sid), d["message_id"]]]
            case it.CHAT_PINNED:
                msg = d.get("message")
                return [["!PIN", pinned_key(sid), _json({**msg, "is_highlighted": True}) if msg else ""]]
            case _:
                return []

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for sid, events in by_stream(envelopes).items():
            # Reactions and presence change nothing here: they are left out instead of raising the watermark.
            items = [(*it.origin_and_seq(e.id), ops) for e in events if (ops := self.ops_for(e))]
            applied += await self._redis.apply_sequenced(marks_key(sid), items)
        return applied

    async def reset(self) -> None:
        await self._redis.delete_matching(["STREAM_CHAT:*", "STREAM_PINNED:*", "PROJ:stream_chat:*"])
