"""Interaction facts (chat, reactions, presence, purchase intents, moderation) as log envelopes.

Why ids look like ``{origin}.{seq}``: a show's interactions run at hundreds per second, so a read model cannot
remember every envelope id it has applied. Each gateway process is an *origin* (a random id per process start)
that numbers its envelopes 1, 2, 3…; one producer keeps that order on the show's partition. A read model then
keeps one watermark per (show, origin) — "applied up to seq N" — and a redelivered envelope (seq ≤ N) is a
no-op. The id stays unique and stable across redelivery, as the envelope contract asks.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from application.envelope import Envelope, new_interaction

CHAT_SENT = "chat.message_sent"
CHAT_DELETED = "chat.message_deleted"
CHAT_PINNED = "chat.message_pinned"
REACTION_ADDED = "reaction.added"
PRESENCE_JOINED = "presence.joined"
PRESENCE_LEFT = "presence.left"
PURCHASE_INTENT = "purchase.intent"
USER_MUTED = "moderation.user_muted"
USER_BANNED = "moderation.user_banned"
SLOW_MODE_SET = "moderation.slow_mode_set"

TYPES = frozenset(
    {
        CHAT_SENT,
        CHAT_DELETED,
        CHAT_PINNED,
        REACTION_ADDED,
        PRESENCE_JOINED,
        PRESENCE_LEFT,
        PURCHASE_INTENT,
        USER_MUTED,
        USER_BANNED,
        SLOW_MODE_SET,
    }
)


class InteractionIds:
    """Envelope ids for one gateway process: ``{origin}.{seq}``, seq strictly increasing."""

    def __init__(self, origin: str | None = None) -> None:
        self.origin = origin or uuid.uuid4().hex
        self._seq = itertools.count(1)

    def next(self) -> str:
        return f"{self.origin}.{next(self._seq)}"


def origin_and_seq(envelope_id: str) -> tuple[str, int]:
    """Split an interaction id. An id from elsewhere (a plain UUID) is its own origin with seq 1, so it is
    still applied once and only once."""
    origin, _, seq = envelope_id.rpartition(".")
    if origin and seq.isdigit():
        return origin, int(seq)
    return envelope_id, 1


def interaction(
    ids: InteractionIds, type_: str, stream_id: str, payload: dict[str, Any], occurred_at: datetime
) -> Envelope:
    if type_ not in TYPES:
        raise ValueError(f"unknown interaction type {type_!r}")
    return new_interaction(type_, stream_id, payload, occurred_at, event_id=ids.next())
