"""The one way a stored domain event becomes the log's envelope: the relay, replays, rebuilds and every catch-up
(``infra.store_reader``) call ``envelope_of_row`` on a store row (``envelope_from_state_bytes`` by name), which
is ``fields_of_row`` — the one decode — made an ``Envelope``.

The payload is the event's own attributes as plain JSON values (a Decimal's exact string, a UUID dashed, an ISO
timestamp). The envelope id is derived from (aggregate id, version), so a republished event keeps its id.

How the stored JSON is decoded: the store's typed values (``{"_type_": ..., "_data_": ...}``, compact JSON) are
rewritten to plain JSON in C (two regexes) and the envelope id (uuid5) is one SHA-1, which doubled the replay's
rate (``bench/replay_parquet.py``, ADR 0030); a value the regexes do not know falls back to an object hook per
dict, which gives the same result. ``envelope_from_stored`` takes an event's state already decoded (an
in-memory event) and ends in the same constructor.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from application.envelope import SCHEMA_VERSION, TRACE_KEY, Envelope, to_plain

NAMESPACE = uuid.UUID("6f1c7a52-5d55-4e41-9a53-0c1e0b7c2a10")
_BASE_FIELDS = ("originator_id", "originator_version", "originator_topic")
# A row of the store's notification log: (notification_id, originator_id, originator_version, topic, state).
StoredRow = tuple[int, Any, int, str, bytes]

_SIMPLE = re.compile(rb'\{"_type_":"(?:decimal_str|datetime_iso)","_data_":("[^"\\]*")\}')
_UUID = re.compile(rb'\{"_type_":"uuid_hex","_data_":"([0-9a-f]{32})"\}')
_ID_NS = NAMESPACE.bytes
_DECODE = json.JSONDecoder().decode


def event_type_from_topic(topic: str) -> str:
    """``domain.live_stream:LiveStream.Started`` → ``LiveStream.Started``."""
    return topic[topic.rfind(":") + 1 :]


def stream_id_of(type_: str, aggregate_id: str, payload: dict[str, Any]) -> str | None:
    if type_.startswith("LiveStream."):
        return aggregate_id
    sid = payload.get("stream_id")
    return str(sid) if sid else None


def envelope_id(aggregate_id: str, version: int) -> str:
    """``str(uuid.uuid5(NAMESPACE, f"{aggregate_id}:{version}"))`` from one SHA-1, without UUID objects."""
    x = hashlib.sha1(_ID_NS + f"{aggregate_id}:{version}".encode()).hexdigest()  # noqa: S324 - uuid5 is SHA-1
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:32]}"


# A store event's envelope as its fields, in ``Envelope``'s order: (id, type, schema_version, aggregate_id,
# aggregate_version, stream_id, occurred_at, payload, position, trace). The replay writes them as columns without
# building the object.
EnvelopeFields = tuple[str, str, int, str, int, "str | None", datetime, dict[str, Any], int, "str | None"]


def fields_of_row(row: StoredRow) -> EnvelopeFields:
    """The one decode of a stored event: the store's JSON ``state`` → the envelope's fields."""
    nid, oid, ver, topic, state = row
    d = plain_state(bytes(state))
    upcast_state(topic, d)  # old schema versions go on the log as the current one
    return _fields(topic, str(oid), int(ver), datetime.fromisoformat(d.pop("timestamp")), d, int(nid))


def envelope_of_row(row: StoredRow) -> Envelope:
    return Envelope(*fields_of_row(row))


def envelope_from_state_bytes(
    *, topic: str, aggregate_id: Any, aggregate_version: int, state: bytes, position: int
) -> Envelope:
    """The stored event (its topic, originator and the store's JSON ``state``) as the log's envelope."""
    return Envelope(*fields_of_row((position, aggregate_id, aggregate_version, topic, state)))


def envelope_or_error(row: StoredRow) -> tuple[Envelope, Exception | None]:
    """The row's envelope, or (when it cannot be decoded) a bare one naming it — same id, type, aggregate,
    version and position, no payload — and the error (the relay publishes a pointer in its place)."""
    try:
        return envelope_of_row(row), None
    except Exception as exc:
        nid, oid, ver, topic, _ = row
        agg = str(oid)
        return Envelope(
            id=envelope_id(agg, int(ver)),
            type=event_type_from_topic(topic),
            schema_version=SCHEMA_VERSION,
            aggregate_id=agg,
            aggregate_version=int(ver),
            stream_id=None,
            occurred_at=datetime.now(UTC),
            payload={},
            position=int(nid),
        ), exc


def envelope_from_stored(
    *, topic: str, aggregate_id: Any, aggregate_version: int, state: dict[str, Any], position: int
) -> Envelope:
    """``state`` already decoded by the store's transcoder (an in-memory event): the same envelope as
    ``envelope_from_state_bytes`` on its stored bytes (a unit test checks)."""
    occurred_at = state.get("timestamp")
    if not isinstance(occurred_at, datetime):
        occurred_at = datetime.fromisoformat(str(occurred_at))
    payload = to_plain({k: v for k, v in state.items() if k != "timestamp"})
    return Envelope(*_fields(topic, str(aggregate_id), aggregate_version, occurred_at, payload, position))


def _fields(
    topic: str, agg: str, version: int, occurred_at: datetime, d: dict[str, Any], position: int
) -> EnvelopeFields:
    """What both entries end in; ``d`` is the plain state without its timestamp."""
    for k in _BASE_FIELDS:
        d.pop(k, None)
    type_ = topic[topic.rfind(":") + 1 :]
    schema_version = int(d.pop("class_version", 1) or 1)
    trace = d.pop(TRACE_KEY, None)
    return (
        envelope_id(agg, version),
        type_,
        schema_version,
        agg,
        version,
        stream_id_of(type_, agg, d),
        occurred_at,
        d,
        position,
        trace,
    )


def plain_state(state: bytes) -> dict[str, Any]:
    """The store's JSON with its typed values turned into plain ones (see the module's docstring)."""
    if b'"_type_"' in state:
        s = _UUID.sub(_dashed, _SIMPLE.sub(_group1, state))
        if b'"_type_"' in s:  # a value type the regexes do not know: the object hook decides
            return json.loads(state, object_hook=_plain_hook)  # type: ignore[no-any-return]
        state = s
    return _DECODE(state.decode())  # type: ignore[no-any-return]


def _group1(m: re.Match[bytes]) -> bytes:
    return m.group(1)


def _dashed(m: re.Match[bytes]) -> bytes:
    h = m.group(1)
    return b'"' + h[:8] + b"-" + h[8:12] + b"-" + h[12:16] + b"-" + h[16:20] + b"-" + h[20:] + b'"'


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
