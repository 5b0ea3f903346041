"""Old schema versions are upcast when read, never rewritten: by the library, and on the relay's fast path."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from application.event_envelopes import envelope_from_state_bytes
from application.event_store import new_transcoder

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


class Banner(Aggregate):
    """A test aggregate whose event gained a field in its second schema version."""

    class Shown(Aggregate.Event):
        class_version = 2
        text: str
        language: str  # new in v2; v1 events were English

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["language"] = "en"


TOPIC = f"{__name__}:Banner.Shown"
V1_STATE = json.dumps(
    {"timestamp": {"_type_": "datetime_iso", "_data_": T0.isoformat()}, "text": "Eid sale tonight"}
).encode()


def test_the_library_upcasts_a_stored_v1_event() -> None:
    app: Application[uuid.UUID] = Application()
    app.mapper.transcoder = new_transcoder()
    event = app.mapper.to_domain_event(StoredEvent(uuid.uuid4(), 2, TOPIC, V1_STATE))
    assert (event.text, event.language) == ("Eid sale tonight", "en")  # type: ignore[attr-defined]


def test_the_relay_publishes_the_current_version() -> None:
    e = envelope_from_state_bytes(
        topic=TOPIC, aggregate_id=uuid.uuid4(), aggregate_version=2, state=V1_STATE, position=7
    )
    assert e.schema_version == 2
    assert e.payload == {"text": "Eid sale tonight", "language": "en"}
    current = envelope_from_state_bytes(
        topic=TOPIC,
        aggregate_id=uuid.uuid4(),
        aggregate_version=2,
        position=8,
        state=json.dumps(
            {
                "timestamp": {"_type_": "datetime_iso", "_data_": T0.isoformat()},
                "text": "লাইভ",
                "language": "bn",
                "class_version": 2,
            }
        ).encode(),
    )
    assert current.schema_version == 2 and current.payload["language"] == "bn"
