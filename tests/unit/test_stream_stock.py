"""A stream product's stock: holds for carts and orders, sold on payment, given back otherwise; never oversold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain import commerce_errors as errors
from domain.buyer_ledger import BuyerLedger
from domain.errors import DomainError
from domain.group_buy import GroupBuy
from domain.stream_stock import ProductSoldOut, StreamStock
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 14, 0, tzinfo=UTC)


def stock(quantity: int | None = 3) -> StreamStock:
    s = StreamStock.open(id=UUID(int=1), now=T0, stream_id="s-1", product_id="p-1", quantity=quantity)
    s.collect_events()
    return s


def test_holds_take_units_and_the_last_ones_are_refused_with_what_is_left() -> None:
    s = stock(3)
    s.reserve(hold_id="cart:a", quantity=2, now=T0)
    assert (s.available, s.reserved, s.sold) == (1, 2, 0)
    err = refused(s, errors.InsufficientStock, lambda: s.reserve(hold_id="order:b", quantity=2, now=T0))
    assert err.details["available"] == 1
    s.reserve(hold_id="order:b", quantity=1, now=T0)
    err = refused(s, ProductSoldOut, lambda: s.reserve(hold_id="order:c", quantity=1, now=T0))
    assert err.code == "product_sold_out" and err.details["available"] == 0
    (reserved, last) = s.collect_events()
    assert (reserved.available, reserved.sold, last.available, last.stream_id, last.product_id) == (
        1,
        0,
        0,
        "s-1",
        "p-1",
    )


def test_a_cart_hold_moves_to_the_order_then_is_sold_once() -> None:
    s = stock(5)
    s.reserve(hold_id="cart:a", quantity=2, now=T0)
    s.reserve(hold_id="cart:a", quantity=1, now=T0)  # a second add grows the cart's hold
    s.move(from_hold="cart:a", to_hold="order:o1", quantity=3, now=T0)
    assert (s.held("cart:a"), s.held("order:o1"), s.available) == (0, 3, 2)
    s.sell(hold_id="order:o1", order_id="o1", quantity=3, now=T0)
    assert (s.available, s.reserved, s.sold) == (2, 0, 3)
    s.collect_events()
    s.sell(hold_id="order:o1", order_id="o1", quantity=3, now=T0)  # a redelivered payment
    assert new_events(s) == []
    refused(s, errors.ReservationNotHeld, lambda: s.sell(hold_id="order:o1", order_id="o2", quantity=3, now=T0))
    refused(s, errors.ReservationNotHeld, lambda: s.move(from_hold="cart:a", to_hold="order:o3", quantity=1, now=T0))


def test_a_failed_payment_gives_units_back_and_a_late_capture_sells_what_is_left_or_is_refused() -> None:
    s = stock(2)
    s.reserve(hold_id="order:o1", quantity=2, now=T0)
    assert s.release(hold_id="order:o1", reason="payment_failed", now=T0) == 2
    assert s.release(hold_id="order:o1", reason="payment_failed", now=T0) == 0  # twice: nothing more
    assert (s.available, s.reserved) == (2, 0)
    s.sell(hold_id="order:o1", order_id="o1", quantity=2, now=T0)  # captured late: still there, sold
    assert (s.available, s.sold) == (0, 2)
    s.collect_events()
    refused(s, ProductSoldOut, lambda: s.sell(hold_id="order:o2", order_id="o2", quantity=1, now=T0))


def test_without_a_limit_nothing_is_refused_and_sales_are_still_counted() -> None:
    s = stock(None)
    s.reserve(hold_id="order:o1", quantity=1000, now=T0)
    s.sell(hold_id="order:o1", order_id="o1", quantity=1000, now=T0)
    assert (s.available, s.sold) == (None, 1000)
    assert [e.available for e in s.collect_events()] == [None, None]


def test_replay_and_serialisation() -> None:
    s = StreamStock.open(id=UUID(int=1), now=T0, stream_id=UUID(int=7), product_id=UUID(int=8), quantity=4)
    s.reserve(hold_id="cart:a", quantity=3, now=T0)
    s.move(from_hold="cart:a", to_hold="order:o", quantity=2, now=T0)
    s.release(hold_id="cart:a", reason="cart_expired", now=T0)
    s.sell(hold_id="order:o", order_id=UUID(int=9), quantity=2, now=T0)
    events = s.collect_events()
    assert fold(events) == s and fold(round_trip(events)) == s


class StockMachine(RuleBasedStateMachine):
    """Any interleaving of holds, moves, releases and sales: the counts add up and never go negative."""

    def __init__(self) -> None:
        super().__init__()
        self.stock = StreamStock.open(id=UUID(int=1), now=T0, stream_id="s", product_id="p", quantity=6)
        self.events: list[Any] = list(self.stock.collect_events())

    def attempt(self, command: Any) -> None:
        version = self.stock.version
        try:
            command()
        except DomainError:
            assert self.stock.version == version and not self.stock.pending_events
        self.events += self.stock.collect_events()

    holds = st.sampled_from(["cart:a", "cart:b", "order:1", "order:2", "order:3"])

    @rule(hold=holds, quantity=st.integers(1, 4))
    def reserve(self, hold: str, quantity: int) -> None:
        self.attempt(lambda: self.stock.reserve(hold_id=hold, quantity=quantity, now=T0))

    @rule(
        src=st.sampled_from(["cart:a", "cart:b"]),
        dst=st.sampled_from(["order:1", "order:2"]),
        quantity=st.integers(1, 3),
    )
    def move(self, src: str, dst: str, quantity: int) -> None:
        self.attempt(lambda: self.stock.move(from_hold=src, to_hold=dst, quantity=quantity, now=T0))

    @rule(hold=holds, quantity=st.none() | st.integers(1, 3))
    def release(self, hold: str, quantity: int | None) -> None:
        self.attempt(lambda: self.stock.release(hold_id=hold, quantity=quantity, reason="x", now=T0))

    @rule(hold=st.sampled_from(["order:1", "order:2", "order:3"]), quantity=st.integers(1, 4))
    def sell(self, hold: str, quantity: int) -> None:
        self.attempt(lambda: self.stock.sell(hold_id=hold, order_id=hold, quantity=quantity, now=T0))

    @invariant()
    def counts_hold(self) -> None:
        s = self.stock
        held = sum(h["quantity"] for h in s.holds.values() if h["status"] == "held")
        sold = sum(h["quantity"] for h in s.holds.values() if h["status"] == "sold")
        assert s.available is not None and s.available >= 0 and s.reserved == held and s.sold == sold
        assert s.available + s.reserved + s.sold == 6
        assert fold(self.events) == s


TestStockMachine = StockMachine.TestCase
TestStockMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


def test_the_buyer_ledger_lists_cod_orders_and_code_uses_once() -> None:
    ledger = BuyerLedger.open(id=UUID(int=5), now=T0, buyer_id="b")
    for order in ("o1", "o2", "o1"):
        ledger.record_cod_order(order_id=order, now=T0)
    ledger.record_discount_use(stream_id="s", code=" live20 ", order_id="o1", now=T0)
    ledger.record_discount_use(stream_id="s", code="LIVE20", order_id="o1", now=T0)
    ledger.forget_cod_orders(order_ids=["o1", "o9"], now=T0)
    ledger.forget_cod_orders(order_ids=["o9"], now=T0)  # nothing known: no event
    assert ledger.cod_orders == ["o2"] and ledger.code_uses == {"s:LIVE20": ["o1"]}
    events = ledger.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Opened",
        "CodOrderRecorded",
        "CodOrderRecorded",
        "DiscountUseRecorded",
        "CodOrdersClosed",
    ]
    assert fold(round_trip(events)) == ledger


def test_a_group_buy_member_pays_for_a_converted_hold_once() -> None:
    g = GroupBuy.launch(
        id=UUID(int=6),
        now=T0,
        product_id="p",
        regular_price=2000,
        group_price=1500,
        min_buyers=2,
        deadline=T0 + timedelta(minutes=5),
    )
    g.join(hold_id="h1", buyer_id="b1", now=T0)
    refused(g, errors.GroupBuyNotUnlocked, lambda: g.payable_hold(hold_id="h1", buyer_id="b1"))
    g.join(hold_id="h2", buyer_id="b2", now=T0)
    g.settle(now=T0 + timedelta(minutes=5))
    assert g.payable_hold(hold_id="h1", buyer_id="b1")["quantity"] == 1
    refused(g, errors.HoldNotFound, lambda: g.payable_hold(hold_id="h1", buyer_id="b2"))  # not theirs
    g.mark_hold_paid(hold_id="h1", order_id="o1", now=T0)
    g.collect_events()
    g.mark_hold_paid(hold_id="h1", order_id="o1", now=T0)  # redelivered
    assert new_events(g) == []
    refused(g, errors.GroupBuyNotUnlocked, lambda: g.mark_hold_paid(hold_id="h1", order_id="o2", now=T0))
    refused(g, errors.GroupBuyNotUnlocked, lambda: g.payable_hold(hold_id="h1", buyer_id="b1"))
