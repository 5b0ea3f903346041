"""What only a show's host and moderators hear: the chat mood (``sentiment_update``) and the engagement
optimizer's advice (``engagement_suggestion``), from ``ShowEngagement`` events on the domain topic (ADR 0025).

A socket enters the show's staff room when it joins as someone who may moderate the show (its host, its vendor,
an assigned moderator, an admin; decided at join like the chat privileges), so viewers never receive these.
"""

from __future__ import annotations

from typing import Any

from application.envelope import Envelope

STAFF_EVENTS = {
    "ShowEngagement.SentimentMeasured": "sentiment_update",
    "ShowEngagement.SuggestionMade": "engagement_suggestion",
}
_FIELDS = {
    "sentiment_update": ("minute", "messages", "score", "positive", "neutral", "negative", "overall", "top_complaints"),
    "engagement_suggestion": ("suggestion_id", "kind", "minute", "message", "message_bn", "evidence", "action"),
}


def staff_room_of(stream_id: str) -> str:
    return f"stream:{stream_id}:staff"


def staff_push(e: Envelope) -> tuple[str, str, dict[str, Any]] | None:
    """(room, event, payload) for a staff-only event, else None."""
    event = STAFF_EVENTS.get(e.type)
    if event is None or not e.stream_id:
        return None
    d = e.payload
    payload = {
        "stream_id": e.stream_id,
        **{k: d.get(k) for k in _FIELDS[event]},
        "position": e.position,
        "occurred_at": e.occurred_at.isoformat(),
    }
    if hasattr(payload["minute"], "isoformat"):
        payload["minute"] = payload["minute"].isoformat()
    return staff_room_of(e.stream_id), event, payload
