"""LiveStream rules: given events, when a command, then events or a named refusal that changes nothing."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import (
    DomainError,
    InvalidProductTerms,
    ProductAlreadyInStream,
    ProductNotInStream,
    StreamClosed,
    StreamNotCancellable,
    StreamNotLive,
    StreamNotStartable,
    TooManyProducts,
)
from domain.live_stream import LiveStream, StreamProduct

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
P1, P2 = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def scheduled(**kw: object) -> LiveStream:
    args: dict[str, object] = dict(
        id=uuid.uuid4(),
        now=T0,
        vendor_id="v1",
        stream_key="live_k",
        title="iPhone 14 Pro Flash Sale",
        title_bn="আইফোন ১৪ প্রো ফ্ল্যাশ সেল",
        stream_type="flash_sale",
        products=[StreamProduct(P1, Decimal("95000.00"), 50)],
    )
    args.update(kw)
    return LiveStream.schedule(**args)  # type: ignore[arg-type]


def live() -> LiveStream:
    s = scheduled()
    s.start(now=T0, rtmp_url="rtmp://x/live", stream_url="https://x/s.m3u8", chat_room_id="chat_1")
    return s


def test_schedule_keeps_the_specs_fields_and_bangla_text() -> None:
    s = scheduled()
    (event,) = s.collect_events()
    assert type(event).__name__ == "Scheduled" and event.timestamp == T0
    assert s.status == "scheduled" and s.title_bn == "আইফোন ১৪ প্রো ফ্ল্যাশ সেল"
    assert s.products[P1]["special_price"] == Decimal("95000.00")
    assert s.products[P1]["limited_quantity"] == 50


def test_start_then_end_records_duration_from_passed_in_time() -> None:
    s = live()
    s.end(now=T0 + timedelta(minutes=45), summary="Sold 45 of 50")
    events = s.collect_events()
    assert [type(e).__name__ for e in events] == ["Scheduled", "Started", "Ended"]
    assert events[-1].duration_seconds == 45 * 60  # type: ignore[attr-defined]
    assert s.status == "ended" and s.summary == "Sold 45 of 50"


@pytest.mark.parametrize(
    ("prepare", "command", "error"),
    [
        (live, lambda s: s.start(now=T0, rtmp_url="r", stream_url="u", chat_room_id="c"), StreamNotStartable),
        (scheduled, lambda s: s.end(now=T0), StreamNotLive),
        (live, lambda s: s.cancel(now=T0), StreamNotCancellable),
        (scheduled, lambda s: s.feature_product(now=T0, product_id=P1), StreamNotLive),
        (live, lambda s: s.feature_product(now=T0, product_id=P2), ProductNotInStream),
        (live, lambda s: s.add_product(now=T0, product=StreamProduct(P1)), ProductAlreadyInStream),
        (
            live,
            lambda s: s.add_product(now=T0, product=StreamProduct(P2, Decimal("-1"))),
            InvalidProductTerms,
        ),
        (live, lambda s: s.add_product(now=T0, product=StreamProduct(P2, None, 0)), InvalidProductTerms),
    ],
)
def test_broken_rules_are_refused_and_change_nothing(prepare, command, error) -> None:  # type: ignore[no-untyped-def]
    s = prepare()
    s.collect_events()
    before = copy.deepcopy(s.__dict__)
    with pytest.raises(error) as info:
        command(s)
    assert isinstance(info.value, DomainError) and info.value.code
    assert s.collect_events() == []
    assert s.__dict__ == before


def test_closed_streams_take_no_products() -> None:
    s = scheduled()
    s.cancel(now=T0, reason="host ill")
    with pytest.raises(StreamClosed):
        s.add_product(now=T0, product=StreamProduct(P2))


def test_schedule_refuses_duplicate_and_too_many_products() -> None:
    with pytest.raises(ProductAlreadyInStream):
        scheduled(products=[StreamProduct(P1), StreamProduct(P1)])
    with pytest.raises(TooManyProducts):
        scheduled(products=[StreamProduct(str(uuid.UUID(int=i))) for i in range(101)])


def test_events_round_trip_decimal_uuid_and_datetime_exactly() -> None:
    s = live()
    s.feature_product(now=T0 + timedelta(seconds=1), product_id=P1)
    app: Application[uuid.UUID] = Application()
    for e in s.collect_events():
        back = app.mapper.to_domain_event(app.mapper.to_stored_event(e))
        assert back.__dict__ == e.__dict__


COMMANDS = st.lists(st.sampled_from(["start", "end", "cancel", "add", "feature"]), max_size=12)


@settings(max_examples=150, deadline=None)
@given(COMMANDS, st.lists(st.integers(min_value=1, max_value=6), min_size=12, max_size=12))
def test_any_command_sequence_keeps_a_valid_lifecycle_and_replays_to_the_same_state(cmds, pids) -> None:  # type: ignore[no-untyped-def]
    s = scheduled()
    now = T0
    for name, pid in zip(cmds, pids, strict=False):
        now += timedelta(seconds=30)
        product = str(uuid.UUID(int=pid))
        try:
            if name == "start":
                s.start(now=now, rtmp_url="r", stream_url="u", chat_room_id="c")
            elif name == "end":
                s.end(now=now)
            elif name == "cancel":
                s.cancel(now=now)
            elif name == "add":
                s.add_product(now=now, product=StreamProduct(product))
            else:
                s.feature_product(now=now, product_id=product)
        except DomainError:
            pass
        assert s.status in ("scheduled", "live", "ended", "cancelled")
        if s.featured_product_id is not None:
            assert s.featured_product_id in s.products
    events = s.collect_events()
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.__dict__ == s.__dict__
