"""The one envelope every event travels in on the log (Kafka), whatever plane it comes from.

Store events (via the relay), interactions (from the realtime gateway) and media events (from the media plane)
all use it. Consumers deduplicate by (aggregate_id, aggregate_version) for store events and by ``id`` for the
rest. ``position`` is the store's notification id for store events, so a reconnecting client can resume.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

SCHEMA_VERSION = 1
# A stored event's state may hold its command's W3C traceparent under this key (stamped by the batch writer when
# tracing is on); the envelope carries it as ``trace``, never in the payload.
TRACE_KEY = "_trace"


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    schema_version: int
    aggregate_id: str | None
    aggregate_version: int | None
    stream_id: str | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    position: int | None = None
    trace: str | None = None  # W3C traceparent of the span that published it (infra/tracing.py), when tracing

    def to_json(self) -> bytes:
        d = {
            "id": self.id,
            "type": self.type,
            "schema_version": self.schema_version,
            "aggregate_id": self.aggregate_id,
            "aggregate_version": self.aggregate_version,
            "stream_id": self.stream_id,
            "occurred_at": _iso(self.occurred_at),
            "payload": self.payload,
            "position": self.position,
        }
        if self.trace is not None:
            d["trace"] = self.trace
        return _ENCODER.encode(d).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        d = json.loads(raw)
        d["occurred_at"] = datetime.fromisoformat(d["occurred_at"])
        return cls(**d)

    @property
    def dedup_key(self) -> tuple[str, int] | str:
        if self.aggregate_id is not None and self.aggregate_version is not None:
            return (self.aggregate_id, self.aggregate_version)
        return self.id

    @property
    def key(self) -> bytes:
        """Kafka key: the aggregate for store events, the show for interactions and media."""
        return (self.aggregate_id or self.stream_id or self.id).encode()


def new_interaction(
    type_: str, stream_id: str, payload: dict[str, Any], occurred_at: datetime, event_id: str | None = None
) -> Envelope:
    """An envelope for a fact that does not come from the event store (chat, reactions, media)."""
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=type_,
        schema_version=SCHEMA_VERSION,
        aggregate_id=None,
        aggregate_version=None,
        stream_id=stream_id,
        occurred_at=occurred_at,
        payload=payload,
    )


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()


def json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return _iso(o)
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, uuid.UUID):
        return str(o)
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if hasattr(o, "__dict__"):
        return {k: v for k, v in vars(o).items() if not k.startswith("_")}
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def to_plain(value: Any) -> Any:
    """Turn event attribute values into JSON-ready plain values (str for Decimal/UUID, ISO for datetimes)."""
    return json.loads(json.dumps(value, default=json_default, ensure_ascii=False))


_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False, separators=(",", ":"))
