"""The log envelope: stable ids across republishing, exact values, JSON round trip."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from eventsourcing.application import Application

from application.envelope import Envelope, new_interaction
from application.event_envelopes import envelope_from_stored
from application.event_store import new_transcoder
from domain.live_stream import LiveStream, StreamProduct

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def stored_envelopes() -> list[Envelope]:
    s = LiveStream.schedule(
        id=uuid.uuid4(),
        now=T0,
        vendor_id="v",
        stream_key="k",
        title="শিরোনাম",
        stream_type="flash_sale",
        products=[StreamProduct(str(uuid.UUID(int=7)), Decimal("95000.50"), 3)],
    )
    s.start(now=T0, rtmp_url="r", stream_url="u", chat_room_id="c")
    app: Application[uuid.UUID] = Application()
    t = new_transcoder()
    out = []
    for pos, e in enumerate(s.collect_events(), start=1):
        st = app.mapper.to_stored_event(e)
        out.append(
            envelope_from_stored(
                topic=st.topic,
                aggregate_id=st.originator_id,
                aggregate_version=st.originator_version,
                state=t.decode(st.state),
                position=pos,
            )
        )
    return out


def test_store_events_become_envelopes_with_exact_values() -> None:
    scheduled, started = stored_envelopes()
    assert scheduled.type == "LiveStream.Scheduled" and started.type == "LiveStream.Started"
    assert scheduled.stream_id == scheduled.aggregate_id
    assert (scheduled.aggregate_version, started.aggregate_version) == (1, 2)
    assert scheduled.payload["products"][0]["special_price"] == "95000.50"  # Decimal as exact string
    assert scheduled.payload["title"] == "শিরোনাম"
    assert scheduled.occurred_at == T0 and scheduled.schema_version == 1


def test_envelope_id_is_stable_across_republishing() -> None:
    a, b = stored_envelopes()[0], stored_envelopes()[0]
    assert a.aggregate_id != b.aggregate_id  # different aggregates: different ids
    again = envelope_from_stored(
        topic="domain.live_stream:LiveStream.Scheduled",
        aggregate_id=a.aggregate_id,
        aggregate_version=1,
        state={"timestamp": T0},
        position=99,
    )
    assert again.id == a.id


def test_json_round_trip() -> None:
    for e in stored_envelopes() + [new_interaction("chat.message_sent", "s1", {"text": "দাম কত?"}, T0)]:
        assert Envelope.from_json(e.to_json()) == e
    assert new_interaction("x", "s1", {}, T0).key == b"s1"


def test_fast_path_from_stored_bytes_equals_the_transcoder_path() -> None:
    from application.event_envelopes import envelope_from_state_bytes

    s = LiveStream.schedule(
        id=uuid.uuid4(),
        now=T0,
        vendor_id="v",
        stream_key="k",
        title="শিরোনাম",
        stream_type="flash_sale",
        scheduled_start_time=T0,
        products=[StreamProduct(str(uuid.UUID(int=7)), Decimal("95000.50"), 3)],
    )
    s.start(now=T0, rtmp_url="r", stream_url="u", chat_room_id="c")
    app: Application[uuid.UUID] = Application()
    t = new_transcoder()
    for pos, e in enumerate(s.collect_events(), start=1):
        st = app.mapper.to_stored_event(e)
        kw = dict(topic=st.topic, aggregate_id=st.originator_id, aggregate_version=st.originator_version, position=pos)
        assert envelope_from_state_bytes(state=st.state, **kw) == envelope_from_stored(state=t.decode(st.state), **kw)


def test_a_traced_events_traceparent_travels_in_the_envelope_not_the_payload() -> None:
    """Issue 20 part 2: the batch writer keeps a command's traceparent in its events' stored state (``_trace``);
    both decoding paths move it to ``Envelope.trace``, and an untraced envelope's JSON is as it always was."""
    from application.envelope import TRACE_KEY
    from application.event_envelopes import envelope_from_state_bytes

    app: Application[uuid.UUID] = Application()
    stream = LiveStream.schedule(
        id=uuid.uuid4(), now=T0, vendor_id="v", stream_key="k", title="t", stream_type="flash_sale", products=[]
    )
    event = stream.pending_events[0]
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    object.__setattr__(event, TRACE_KEY, parent)
    stored = app.mapper.to_stored_event(event)
    fast = envelope_from_state_bytes(
        topic=stored.topic,
        aggregate_id=stored.originator_id,
        aggregate_version=stored.originator_version,
        state=stored.state,
        position=1,
    )
    state = new_transcoder().decode(stored.state)
    slow = envelope_from_stored(
        topic=stored.topic,
        aggregate_id=stored.originator_id,
        aggregate_version=stored.originator_version,
        state=state,
        position=1,
    )
    assert fast == slow and fast.trace == parent and TRACE_KEY not in fast.payload
    assert Envelope.from_json(fast.to_json()) == fast
    untraced = Envelope.from_json(fast.to_json())
    untraced = Envelope(**{**{f: getattr(untraced, f) for f in Envelope.__slots__}, "trace": None})
    assert b'"trace"' not in untraced.to_json()
