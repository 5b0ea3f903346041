"""Turn a stored domain event into the log's envelope (used by the relay and by rebuilds from the store).

The payload is the event's own attributes, decoded by the store's transcoder (Decimal, UUID and datetime come
back exact) and written as plain JSON values. The envelope id is derived from (aggregate id, version), so a
republished event keeps its id.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from application.envelope import TRACE_KEY, Envelope, to_plain

NAMESPACE = uuid.UUID("6f1c7a52-5d55-4e41-9a53-0c1e0b7c2a10")
_BASE_FIELDS = ("originator_id", "originator_version", "timestamp", "originator_topic")


def event_type_from_topic(topic: str) -> str:
    """``domain.live_stream:LiveStream.Started`` → ``LiveStream.Started``."""
    return topic.rsplit(":", 1)[-1]


def stream_id_of(type_: str, aggregate_id: str, payload: dict[str, Any]) -> str | None:
    if type_.startswith("LiveStream."):
        return aggregate_id
    sid = payload.get("stream_id")
    return str(sid) if sid else None


def envelope_from_stored(*, topic: str, aggregate_id: Any, aggregate_version: int, state: dict[str, Any],
                         position: int) -> Envelope:
    """``state`` is the transcoder-decoded event state (a dict)."""
    type_ = event_type_from_topic(topic)
    occurred_at = state.get("timestamp")
    if not isinstance(occurred_at, datetime):
        occurred_at = datetime.fromisoformat(str(occurred_at))
    payload = {k: v for k, v in state.items() if k not in _BASE_FIELDS}
    trace = payload.pop(TRACE_KEY, None)
    payload = to_plain(payload)
    agg = str(aggregate_id)
    schema_version = int(payload.pop("class_version", 1) or 1)
    return Envelope(
        id=str(uuid.uuid5(NAMESPACE, f"{agg}:{aggregate_version}")),
        type=type_,
        schema_version=schema_version,
        aggregate_id=agg,
        aggregate_version=aggregate_version,
        stream_id=stream_id_of(type_, agg, payload),
        occurred_at=occurred_at,
        payload=payload,
        position=position,
        trace=trace,
    )


def _plain_hook(d: dict[str, Any]) -> Any:
    """JSON object hook turning the store's typed values into the log's plain ones in the same pass."""
    kind = d.get("_type_")
    if kind is None or "_data_" not in d or len(d) != 2:
        return d
    data = d["_data_"]
    if kind == "uuid_hex":
        return str(uuid.UUID(hex=data))
    if kind in ("decimal_str", "datetime_iso"):
        return data  # a Decimal's exact string; an ISO 8601 timestamp
    raise ValueError(f"unknown stored value type {kind!r}")


def envelope_from_state_bytes(*, topic: str, aggregate_id: Any, aggregate_version: int, state: bytes,
                              position: int) -> Envelope:
    """The fast path for the relay and replays: stored JSON → plain payload without building Python objects.

    Gives the same envelope as ``envelope_from_stored`` on the transcoder-decoded state (a unit test checks).
    """
    d = json.loads(state, object_hook=_plain_hook)
    upcast_state(topic, d)
    type_ = event_type_from_topic(topic)
    occurred_at = datetime.fromisoformat(d.pop("timestamp"))
    for k in ("originator_id", "originator_version", "originator_topic"):
        d.pop(k, None)
    agg = str(aggregate_id)
    schema_version = int(d.pop("class_version", 1) or 1)
    trace = d.pop(TRACE_KEY, None)
    return Envelope(
        id=str(uuid.uuid5(NAMESPACE, f"{agg}:{aggregate_version}")),
        type=type_,
        schema_version=schema_version,
        aggregate_id=agg,
        aggregate_version=aggregate_version,
        stream_id=stream_id_of(type_, agg, d),
        occurred_at=occurred_at,
        payload=d,
        position=position,
        trace=trace,
    )


@functools.lru_cache(maxsize=1024)
def _event_class(topic: str) -> Any:
    return resolve_topic(topic)


def upcast_state(topic: str, state: dict[str, Any]) -> None:
    """Old schema versions are upcast on read, never rewritten: the log always carries the current version.
    The event class's own ``upcast_vN_vM`` steps run on the plain state (they add or rename fields)."""
    cls = _event_class(topic)
    current = int(getattr(cls, "class_version", 1))
    stored = int(state.get("class_version", 1) or 1)
    while stored < current:
        getattr(cls, f"upcast_v{stored}_v{stored + 1}")(state)
        stored += 1
    if current > 1:
        state["class_version"] = current
