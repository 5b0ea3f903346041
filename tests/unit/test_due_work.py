"""The due-work plan: the entries the events leave are exactly the moments the aggregates still wait for.

Events go through the store's mapper and the log's envelope (as the follower reads them), and a small
in-memory table applies the plan's changes the way ``infra.due_work`` applies them to PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application import due_work as dw
from application.envelope import Envelope
from application.event_envelopes import envelope_from_stored
from application.event_store import new_transcoder
from domain.auction import Auction
from domain.errors import DomainError
from domain.flash_sale import HELD, SELLING, FlashSale
from domain.payment import Payment
from tests.unit.aggregates import MAPPER

T0 = datetime(2024, 3, 17, 14, 0, tzinfo=UTC)
STREAM = uuid.UUID(int=7)
_T = new_transcoder()


def envelopes(agg: Any) -> list[Envelope]:
    out = []
    for e in agg.collect_events():
        s = MAPPER.to_stored_event(e)
        out.append(
            envelope_from_stored(
                topic=s.topic,
                aggregate_id=s.originator_id,
                aggregate_version=s.originator_version,
                state=_T.decode(s.state),
                position=s.originator_version,
            )
        )
    return out


class Table:
    """What ``infra.due_work`` does with the changes, in memory: (kind, aggregate, item) → (due_at, show_ended)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.closed: dict[str, datetime] = {}

    def apply(self, es: list[Envelope]) -> None:
        for e in es:
            for c in dw.plan(e):
                if isinstance(c, dw.Due):
                    key = (c.kind, c.aggregate_id, c.item)
                    row = self.rows.get(key)
                    if row is None:
                        closed = self.closed.get(c.stream_id or "")
                        self.rows[key] = {
                            "due_at": min(c.due_at, closed) if closed else c.due_at,
                            "show_ended": closed is not None,
                            "stream_id": c.stream_id,
                            "data": dict(c.data),
                        }
                    else:
                        row["due_at"] = min(row["due_at"], c.due_at) if row["show_ended"] else c.due_at
                        row["data"].update(c.data)
                elif isinstance(c, dw.Done):
                    for key in [
                        k
                        for k in self.rows
                        if k[0] == c.kind and k[1] == c.aggregate_id and (c.item is None or k[2] == c.item)
                    ]:
                        del self.rows[key]
                else:
                    self.closed.setdefault(c.stream_id, c.at)
                    for row in self.rows.values():
                        if row["stream_id"] == c.stream_id:
                            row["show_ended"], row["due_at"] = True, min(row["due_at"], c.at)

    def of(self, kind: str) -> dict[str, datetime]:
        return {k[2] or k[1]: r["due_at"] for k, r in self.rows.items() if k[0] == kind}


def a_sale(start_in: timedelta = timedelta(minutes=10), quantity: int = 3) -> FlashSale:
    return FlashSale.schedule(
        id=uuid.uuid4(),
        now=T0,
        stream_id=str(STREAM),
        product_id="p",
        vendor_id="v",
        sale_name="s",
        original_price=Decimal("1000.00"),
        flash_price=Decimal("800.00"),
        quantity=quantity,
        start_time=T0 + start_in,
        end_time=T0 + start_in + timedelta(minutes=30),
        max_per_buyer=3,
        hold_seconds=300,
    )


OPS = st.lists(
    st.tuples(
        st.sampled_from(["advance", "reserve", "wait", "confirm", "release", "expire", "cancel"]),
        st.integers(0, 4),
        st.integers(0, 3),
    ),
    min_size=5,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_a_sales_due_entries_are_exactly_what_it_still_waits_for(ops: list[tuple[str, int, int]]) -> None:
    sale = a_sale(timedelta(minutes=2), quantity=2)
    table = Table()
    table.apply(envelopes(sale))
    now = T0
    for op, n, minutes in ops:
        now += timedelta(minutes=minutes)
        rid, buyer = f"r{n}-{minutes}", f"b{n}"
        try:
            if op == "advance":
                sale.advance(now=now)
            elif op == "reserve":
                sale.reserve(reservation_id=rid, buyer_id=buyer, quantity=1, now=now)
            elif op == "wait":
                sale.join_waitlist(reservation_id=rid, buyer_id=buyer, quantity=1, now=now)
            elif op == "expire":
                sale.expire_reservations(now=now)
            elif op == "cancel":
                sale.cancel(now=now)
            else:
                held = [r for r, h in sale.reservations.items() if h["status"] == HELD]
                if held:
                    target = held[n % len(held)]
                    if op == "confirm":
                        sale.confirm(reservation_id=target, order_id="o", now=now)
                    else:
                        sale.release(reservation_id=target, reason="payment_failed", now=now)
        except DomainError:
            pass
        table.apply(envelopes(sale))
    holds = {str(r): h["expires_at"] for r, h in sale.reservations.items() if h["status"] == HELD}
    assert table.of(dw.HOLD) == holds
    assert bool(table.of(dw.SALE_START)) == (sale.status == "scheduled")
    assert bool(table.of(dw.SALE_END)) == (sale.status in ("scheduled", *SELLING))
    if table.of(dw.SALE_END):
        assert table.of(dw.SALE_END) == {str(sale.id): sale.end_time}


def test_units_offered_to_the_waitlist_are_a_hold_with_its_own_deadline() -> None:
    sale, table = a_sale(timedelta(0), quantity=1), Table()
    sale.start(now=T0)
    sale.reserve(reservation_id="first", buyer_id="b1", quantity=1, now=T0)
    sale.join_waitlist(reservation_id="second", buyer_id="b2", quantity=1, now=T0 + timedelta(minutes=1))
    sale.release(reservation_id="first", reason="payment_failed", now=T0 + timedelta(minutes=2))
    table.apply(envelopes(sale))
    assert table.of(dw.HOLD) == {"second": T0 + timedelta(minutes=7)}


def test_a_shows_end_makes_its_open_deals_due_at_once_even_those_recorded_after_it() -> None:
    table = Table()
    running, later = a_sale(timedelta(0)), a_sale()
    running.start(now=T0)
    running.reserve(reservation_id="r1", buyer_id="b", quantity=1, now=T0)
    table.apply(envelopes(running))
    end = T0 + timedelta(minutes=2)
    table.apply([Envelope("x", "LiveStream.Ended", 1, str(STREAM), 3, str(STREAM), end, {})])
    assert table.of(dw.SALE_END) == {str(running.id): end}
    assert table.of(dw.HOLD) == {"r1": T0 + timedelta(minutes=5)}, "a hold keeps its own deadline"
    table.apply(envelopes(later))  # a sale whose creation raced the show's end: closes at once too
    assert table.of(dw.SALE_START)[str(later.id)] == end
    assert all(r["show_ended"] for k, r in table.rows.items() if k[0] in (dw.SALE_START, dw.SALE_END))


def test_an_auction_is_due_at_its_end_then_at_its_winners_deadline() -> None:
    table = Table()
    lot = Auction.create(
        id=uuid.uuid4(),
        now=T0,
        product_id="p",
        stream_id=str(STREAM),
        starting_price=Decimal("100.00"),
        increments=[(Decimal("0"), Decimal("10.00"))],
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=5),
        pay_within_seconds=600,
    )
    lot.place_bid(bid_id="1", bidder_id="a", max_amount=Decimal("300.00"), now=T0 + timedelta(minutes=4, seconds=50))
    table.apply(envelopes(lot))
    assert table.of(dw.AUCTION_CLOSE) == {str(lot.id): T0 + timedelta(minutes=5, seconds=30)}  # anti-sniping
    lot.close(now=T0 + timedelta(minutes=6))
    table.apply(envelopes(lot))
    assert table.of(dw.AUCTION_CLOSE) == {} and table.of(dw.AUCTION_PAYMENT) == {
        str(lot.id): T0 + timedelta(minutes=16)
    }
    lot.mark_winner_paid(order_id="o", now=T0 + timedelta(minutes=7))
    table.apply(envelopes(lot))
    assert table.rows == {}


def test_a_payment_is_watched_while_open_and_a_refund_until_the_provider_answers() -> None:
    table = Table()
    pay = Payment.initiate(
        id=uuid.uuid4(), now=T0, order_id="o", method="bkash", amount=Decimal("500.00"), order_total=Decimal("500.00")
    )
    pay.start_processing(provider_txn_id="TX1", now=T0 + timedelta(seconds=3))
    table.apply(envelopes(pay))
    (row,) = table.rows.values()
    assert row["due_at"] == T0 + timedelta(seconds=3) and row["data"] == {"method": "bkash", "provider_txn_id": "TX1"}
    pay.handle_callback(provider_txn_id="TX1", status="completed", now=T0 + timedelta(minutes=1))
    pay.refund(refund_id="rf1", amount=Decimal("100.00"), now=T0 + timedelta(minutes=2))
    table.apply(envelopes(pay))
    assert table.of(dw.PAYMENT) == {} and table.of(dw.REFUND) == {"rf1": T0 + timedelta(minutes=2)}
    pay.complete_refund(refund_id="rf1", now=T0 + timedelta(minutes=3))
    table.apply(envelopes(pay))
    assert table.rows == {}
    cash = Payment.initiate(
        id=uuid.uuid4(), now=T0, order_id="o2", method="cod", amount=Decimal("500.00"), order_total=Decimal("500.00")
    )
    table.apply(envelopes(cash))
    assert table.rows == {}, "cash on delivery has no provider session to time out"
