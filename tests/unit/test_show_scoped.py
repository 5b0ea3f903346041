"""Every event of an aggregate that belongs to a show names the show; events stored before they did still load,
and the replay of a show still finds them through the aggregate they belong to."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from application.event_envelopes import envelope_from_state_bytes, envelope_from_stored
from application.event_store import new_transcoder
from domain.auction import Auction
from domain.payment import Payment
from infra.replay_parts import ReplayFilter, stored_rows

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
SHOW = str(uuid.uuid4())


def _app() -> Application[uuid.UUID]:
    app: Application[uuid.UUID] = Application()
    app.mapper.transcoder = new_transcoder()
    return app


def test_every_event_of_a_show_s_aggregates_names_the_show_on_the_log() -> None:
    lot = Auction.create(
        id=uuid.uuid4(),
        now=T0,
        product_id="p",
        starting_price=Decimal("100"),
        increments=[(Decimal("0"), Decimal("10"))],
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
        stream_id=SHOW,
    )
    lot.place_bid(bid_id="b1", bidder_id="u1", max_amount=Decimal("150"), now=T0)
    lot.place_bid(bid_id="b2", bidder_id="u2", max_amount=Decimal("120"), now=T0)
    pay = Payment.initiate(
        id=uuid.uuid4(),
        now=T0,
        order_id="o",
        method="bkash",
        amount=Decimal("120.00"),
        order_total=Decimal("120.00"),
        stream_id=SHOW,
    )
    pay.start_processing(provider_txn_id="t1", now=T0)
    app = _app()
    app.save(lot, pay)
    envelopes = []
    for agg in (lot, pay):
        for n, stored in enumerate(app.recorder.select_events(agg.id), start=1):
            e = app.mapper.to_domain_event(stored)
            assert e.stream_id == SHOW  # type: ignore[attr-defined]
            envelopes.append(
                envelope_from_state_bytes(
                    topic=stored.topic, aggregate_id=agg.id, aggregate_version=n, state=stored.state, position=n
                )
            )
    assert {e.type for e in envelopes} >= {
        "Auction.Created",
        "Auction.BidPlaced",
        "Auction.StandingChanged",
        "Payment.Initiated",
    }
    assert all(e.stream_id == SHOW and e.payload["stream_id"] == SHOW for e in envelopes)
    assert app.repository.get(pay.id).stream_id == SHOW


def _old(topic: str, agg: uuid.UUID, version: int, state: dict[str, object]) -> StoredEvent:
    """An event as stored before events named their show (no ``stream_id``)."""
    body = {"timestamp": {"_type_": "datetime_iso", "_data_": T0.isoformat()}, **state}
    return StoredEvent(agg, version, topic, json.dumps(body).encode())


def test_events_stored_before_they_named_their_show_still_load_and_fold() -> None:
    app = _app()
    pay_id, cart_id = uuid.uuid4(), uuid.uuid4()
    initiated = _old(
        "domain.payment:Payment.Initiated",
        pay_id,
        1,
        {
            "originator_topic": "domain.payment:Payment",
            "order_id": "o-1",
            "method": "bkash",
            "amount": {"_type_": "decimal_str", "_data_": "500.00"},
            "currency": "BDT",
        },
    )
    added = _old(
        "domain.cart:Cart.ItemAdded",
        cart_id,
        2,
        {"product_id": "p", "quantity": 2, "unit_price": {"_type_": "decimal_str", "_data_": "250.00"}},
    )
    opened = _old(
        "domain.cart:Cart.Opened",
        cart_id,
        1,
        {"originator_topic": "domain.cart:Cart", "buyer_id": "b", "stream_id": SHOW},
    )
    app.recorder.insert_events([initiated, opened, added])
    payment = app.repository.get(pay_id)
    assert payment.stream_id is None and payment.amount == Decimal("500.00")
    cart = app.repository.get(cart_id)
    assert cart.stream_id == SHOW and cart.subtotal == Decimal("500.00")
    assert app.mapper.to_domain_event(added).stream_id is None  # type: ignore[attr-defined]
    # The next event of an old cart names the show it learned from its creation event.
    cart.add_item(product_id="p", quantity=1, unit_price=Decimal("250.00"), now=T0)
    assert cart.pending_events[-1].stream_id == SHOW  # type: ignore[attr-defined]
    e = envelope_from_stored(
        topic=added.topic,
        aggregate_id=cart_id,
        aggregate_version=2,
        state=app.mapper.transcoder.decode(added.state),
        position=3,
    )
    assert e.stream_id is None  # nothing invented on the log


def test_the_replay_of_a_show_keeps_its_aggregates_old_events() -> None:
    cart_id, order_id, pay_id, other = (str(uuid.uuid4()) for _ in range(4))
    show = ReplayFilter(stream_id=SHOW)
    rows = stored_rows(
        [
            (
                1,
                cart_id,
                1,
                "domain.cart:Cart.Opened",
                json.dumps({"timestamp": T0.isoformat(), "buyer_id": "b", "stream_id": SHOW}).encode(),
            ),
            (
                2,
                order_id,
                1,
                "domain.order:Order.Placed",
                json.dumps({"timestamp": T0.isoformat(), "stream_id": SHOW}).encode(),
            ),
            (
                3,
                pay_id,
                1,
                "domain.payment:Payment.Initiated",
                json.dumps({"timestamp": T0.isoformat(), "order_id": order_id}).encode(),
            ),
            (4, pay_id, 2, "domain.payment:Payment.Completed", json.dumps({"timestamp": T0.isoformat()}).encode()),
            (5, cart_id, 2, "domain.cart:Cart.ItemRemoved", json.dumps({"timestamp": T0.isoformat()}).encode()),
            (
                6,
                other,
                1,
                "domain.cart:Cart.Opened",
                json.dumps({"timestamp": T0.isoformat(), "buyer_id": "x", "stream_id": str(uuid.uuid4())}).encode(),
            ),
            (7, other, 2, "domain.cart:Cart.ItemRemoved", json.dumps({"timestamp": T0.isoformat()}).encode()),
        ]
    )
    assert [r[0] for r in rows if show.keep(r)] == [1, 2, 3, 4, 5]
