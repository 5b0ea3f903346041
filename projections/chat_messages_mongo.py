"""MongoDB ``chat_messages`` (spec §2.2 "Live chat messages"): every message of every show, for moderators,
replays and analytics.

Idempotent without a watermark: a message is inserted with ``$setOnInsert`` keyed by its ``message_id``
(unique index), and moderation changes are plain ``$set``s, which give the same document however often they
are redelivered. ``_id`` stays MongoDB's own; the message id is the key every other component uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from application import interactions as it
from application.envelope import Envelope
from projections.ports import DocumentCollection

COLLECTION = "chat_messages"


def document(e: Envelope) -> dict[str, Any]:
    d = e.payload
    ts = d.get("timestamp")
    return {
        "message_id": d["id"],
        "stream_id": e.stream_id,
        "user_id": d.get("user_id"),
        "username": d.get("username"),
        "message": d.get("message"),
        "message_type": d.get("message_type", "text"),
        "timestamp": datetime.fromisoformat(ts) if isinstance(ts, str) else e.occurred_at,
        "is_highlighted": False,
        "moderator_approved": True,  # it passed moderation before anyone saw it
        "from_moderator": bool(d.get("from_moderator")),
        "replies": [],
        "sentiment_score": None,  # no sentiment model yet; the field is kept for the spec's readers
        "language": d.get("language"),
        "deleted": False,
        "envelope_id": e.id,
    }


def update_for(e: Envelope) -> tuple[dict[str, Any], dict[str, Any], bool] | None:
    """(filter, update, upsert) for one envelope, or None when it does not concern this collection."""
    d = e.payload
    match e.type:
        case it.CHAT_SENT:
            return {"message_id": d["id"]}, {"$setOnInsert": document(e)}, True
        case it.CHAT_DELETED:
            return (
                {"message_id": d["message_id"]},
                {
                    "$set": {
                        "deleted": True,
                        "moderator_approved": False,
                        "deleted_by": d.get("moderator_id"),
                        "deleted_at": e.occurred_at,
                    }
                },
                False,
            )
        case it.CHAT_PINNED if d.get("message_id"):
            pinned = d.get("message") is not None
            return {"message_id": d["message_id"]}, {"$set": {"is_highlighted": pinned}}, False
        case _:
            return None


class ChatMessagesMongo:
    name = "chat_messages"
    topics = ("interactions",)

    def __init__(self, collection: DocumentCollection) -> None:
        self._docs = collection

    async def ensure_indexes(self) -> None:
        await self._docs.create_index("message_id", unique=True)
        await self._docs.create_index([("stream_id", 1), ("timestamp", 1)])

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for e in envelopes:
            if not e.stream_id or (step := update_for(e)) is None:
                continue
            flt, update, upsert = step
            await self._docs.update_one(flt, update, upsert=upsert)
            applied += 1
        return applied

    async def reset(self) -> None:
        await self._docs.delete_many({})
