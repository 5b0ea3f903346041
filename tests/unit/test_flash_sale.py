"""FlashSale: given events, when a command, then events, plus the stock invariant under any interleaving.

Also checks the commerce error catalogue (stable snake_case codes, one HTTP status per kind of rule).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from domain import commerce_errors as errors
from domain.errors import DomainError
from domain.flash_sale import CONFIRMED, HELD, RELEASED, SELLING, FlashSale
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 14, 0, tzinfo=UTC)
SALE_ID = UUID(int=1)
BUYER = UUID(int=100)  # a UUID buyer id checks the UUID round-trip; other buyers are str


def a_sale(quantity: int = 3, max_per_buyer: int = 2, start: bool = True, **kw: Any) -> FlashSale:
    sale = FlashSale.schedule(
        id=SALE_ID,
        now=T0,
        stream_id=UUID(int=7),
        product_id="iphone-14-pro",
        vendor_id="vendor-1",
        sale_name="Flash Sale: iPhone 14 Pro",
        original_price=Decimal("120000.00"),
        flash_price=Decimal("95000.00"),
        quantity=quantity,
        start_time=T0,
        end_time=T0 + timedelta(minutes=30),
        max_per_buyer=max_per_buyer,
        hold_seconds=300,
        **kw,
    )
    if start:
        sale.start(now=T0)
    sale.collect_events()
    return sale


# ---- errors --------------------------------------------------------------------------------------------
def test_every_commerce_error_has_a_stable_snake_case_code_and_a_known_status() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, DomainError)]
    classes = [c for c in classes if c.__module__ == errors.__name__]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)) and len(classes) > 40
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in codes)
    assert {c.http_status for c in classes} == {404, 409, 422}
    assert errors.FlashSaleNotActive.code == "flash_sale_not_active" and errors.FlashSaleNotActive.http_status == 409
    assert errors.ReservationNotFound.http_status == 404 and errors.InvalidAmount.http_status == 422


@pytest.mark.parametrize("value", [1.5, "10", Decimal("-1"), Decimal("1.001"), Decimal("NaN"), True, Decimal("1e9")])
def test_money_must_be_a_non_negative_decimal_with_two_places(value: Any) -> None:
    with pytest.raises(errors.InvalidAmount):
        errors.require_money(value, "price")


def test_money_is_returned_with_exactly_two_places() -> None:
    assert errors.require_money(Decimal("10.5"), "p").as_tuple() == Decimal("10.50").as_tuple()
    assert errors.require_money(7, "p") == Decimal("7.00")


# ---- scheduling and lifecycle ----------------------------------------------------------------------------
def test_scheduling_computes_the_discount_and_starts_with_all_stock_available() -> None:
    sale = a_sale(start=False)
    assert sale.discount_percentage == Decimal("20.83")
    assert (sale.status, sale.available, sale.sold, sale.reserved) == ("scheduled", 3, 0, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"flash_price": Decimal("120000.00")},
        {"quantity": 0},
        {"max_per_buyer": 0},
        {"hold_seconds": 0},
        {"sale_name": " "},
        {"end_time": T0},
    ],
)
def test_scheduling_refuses_bad_terms(change: dict[str, Any]) -> None:
    terms: dict[str, Any] = {
        "id": SALE_ID,
        "now": T0,
        "product_id": "p",
        "vendor_id": "v",
        "sale_name": "s",
        "original_price": Decimal("120000.00"),
        "flash_price": Decimal("95000.00"),
        "quantity": 3,
        "start_time": T0,
        "end_time": T0 + timedelta(minutes=30),
    }
    with pytest.raises((errors.InvalidFlashSaleTerms, errors.InvalidQuantity)):
        FlashSale.schedule(**{**terms, **change})


def test_start_only_once_and_only_within_the_window() -> None:
    sale = a_sale(start=False)
    refused(sale, errors.FlashSaleNotStartable, lambda: sale.start(now=T0 - timedelta(seconds=1)))
    refused(sale, errors.FlashSaleNotStartable, lambda: sale.start(now=T0 + timedelta(minutes=30)))
    sale.start(now=T0)
    assert new_events(sale) == ["Started"]
    refused(sale, errors.FlashSaleNotStartable, lambda: sale.start(now=T0))


def test_end_and_cancel_rules() -> None:
    scheduled = a_sale(start=False)
    refused(scheduled, errors.FlashSaleNotActive, lambda: scheduled.end(now=T0))
    scheduled.cancel(now=T0, reason="vendor changed plans")
    assert new_events(scheduled) == ["Cancelled"]
    refused(scheduled, errors.FlashSaleClosed, lambda: scheduled.cancel(now=T0))
    refused(scheduled, errors.FlashSaleClosed, lambda: scheduled.end(now=T0))


def test_advance_starts_at_start_time_ends_at_end_time_and_does_each_once() -> None:
    sale = a_sale(start=False)
    assert sale.advance(now=T0 - timedelta(seconds=1)) is None and new_events(sale) == []
    assert sale.advance(now=T0) == "started" and new_events(sale) == ["Started"]
    assert sale.advance(now=T0 + timedelta(minutes=1)) is None  # a second call at once: nothing
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0 + timedelta(minutes=29))
    sale.collect_events()
    assert sale.advance(now=T0 + timedelta(minutes=30)) == "ended" and new_events(sale) == ["Ended"]
    assert sale.advance(now=T0 + timedelta(minutes=31)) is None and new_events(sale) == []
    # the hold taken before the end keeps its deadline, and is still payable until it
    assert sale.reservations["r1"]["status"] == HELD
    assert sale.reservations["r1"]["expires_at"] == T0 + timedelta(minutes=34)
    refused(
        sale,
        errors.FlashSaleNotActive,
        lambda: sale.reserve(reservation_id="r2", buyer_id="b2", quantity=1, now=T0 + timedelta(minutes=31)),
    )
    sale.confirm(reservation_id="r1", order_id="o1", now=T0 + timedelta(minutes=33))
    assert (sale.sold, sale.reserved, sale.available) == (1, 0, 2)


def test_advance_cancels_a_sale_whose_window_passed_unstarted_or_whose_show_ended() -> None:
    missed = a_sale(start=False)
    assert missed.advance(now=T0 + timedelta(minutes=30)) == "cancelled"
    (event,) = list[Any](missed.collect_events())
    assert type(event).__name__ == "Cancelled" and event.reason == "window_missed"
    early = a_sale(start=False)
    assert early.advance(now=T0 - timedelta(minutes=5), show_ended=True) == "cancelled"
    assert early.status == "cancelled"
    running = a_sale()
    assert running.advance(now=T0 + timedelta(minutes=1), show_ended=True) == "ended"
    assert running.advance(now=T0 + timedelta(minutes=1), show_ended=True) is None


def test_cancel_releases_every_hold_but_keeps_sold_units_sold() -> None:
    sale = a_sale()
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    sale.reserve(reservation_id="r2", buyer_id="b2", quantity=1, now=T0)
    sale.confirm(reservation_id="r1", order_id="o1", now=T0)
    sale.collect_events()
    sale.cancel(now=T0, reason="stream crashed")
    assert new_events(sale) == ["Cancelled"]
    assert (sale.sold, sale.reserved, sale.available) == (1, 0, 2)
    assert sale.reservations["r2"]["status"] == RELEASED


# ---- reserving -------------------------------------------------------------------------------------------
def test_reserve_holds_stock_until_the_deadline() -> None:
    sale = a_sale()
    sale.reserve(reservation_id="r1", buyer_id=BUYER, quantity=2, now=T0 + timedelta(minutes=1))
    assert new_events(sale) == ["StockReserved"]
    assert (sale.available, sale.reserved) == (1, 2)
    assert sale.reservations["r1"]["expires_at"] == T0 + timedelta(minutes=6)


@pytest.mark.parametrize(
    ("when", "error"),
    [
        (T0 - timedelta(seconds=1), errors.FlashSaleNotActive),
        (T0 + timedelta(minutes=30), errors.FlashSaleNotActive),
    ],
)
def test_reserve_outside_the_window_is_refused(when: datetime, error: type[DomainError]) -> None:
    sale = a_sale()
    refused(sale, error, lambda: sale.reserve(reservation_id="r", buyer_id="b", quantity=1, now=when))


def test_reserve_before_start_is_refused() -> None:
    sale = a_sale(start=False)
    refused(
        sale,
        errors.FlashSaleNotActive,
        lambda: sale.reserve(reservation_id="r", buyer_id="b", quantity=1, now=T0),
    )


def test_reserve_refusals_each_name_their_rule() -> None:
    sale = a_sale(quantity=3, max_per_buyer=2)
    refused(
        sale,
        errors.InvalidQuantity,
        lambda: sale.reserve(reservation_id="r", buyer_id="b", quantity=0, now=T0),
    )
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    sale.confirm(reservation_id="r1", order_id="o1", now=T0)
    # the limit counts what the buyer bought and what they hold
    sale.reserve(reservation_id="r2", buyer_id="b1", quantity=1, now=T0)
    refused(
        sale,
        errors.PurchaseLimitExceeded,
        lambda: sale.reserve(reservation_id="r3", buyer_id="b1", quantity=1, now=T0),
    )
    refused(
        sale,
        errors.DuplicateReservation,
        lambda: sale.reserve(reservation_id="r2", buyer_id="b2", quantity=1, now=T0),
    )
    refused(
        sale,
        errors.InsufficientStock,
        lambda: sale.reserve(reservation_id="r4", buyer_id="b2", quantity=2, now=T0),
    )
    sale.reserve(reservation_id="r4", buyer_id="b2", quantity=1, now=T0)
    error = refused(
        sale,
        errors.FlashSaleSoldOut,
        lambda: sale.reserve(reservation_id="r5", buyer_id="b3", quantity=1, now=T0),
    )
    assert error.details["waitlist_open"] is True


def test_refusal_predicts_reserve_without_writing() -> None:
    sale = a_sale(quantity=1)
    assert sale.refusal(buyer_id="b", quantity=1, now=T0) is None
    assert isinstance(sale.refusal(buyer_id="b", quantity=2, now=T0), errors.InsufficientStock)
    assert sale.version == 2 and not sale.pending_events


def test_last_unit_reserved_makes_it_sold_out_and_a_release_brings_it_back() -> None:
    sale = a_sale(quantity=1)
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    assert new_events(sale) == ["StockReserved", "SoldOut"] and sale.status == "sold_out"
    sale.release(reservation_id="r1", reason="payment_failed", now=T0 + timedelta(minutes=1))
    assert new_events(sale) == ["ReservationReleased", "BackInStock"] and sale.status == "active"
    sale.release(reservation_id="r1", reason="payment_failed", now=T0 + timedelta(minutes=1))
    assert new_events(sale) == []  # redelivered release


# ---- confirming and releasing ----------------------------------------------------------------------------
def test_confirm_turns_held_into_sold_and_is_idempotent_for_the_same_order() -> None:
    sale = a_sale()
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=2, now=T0)
    sale.collect_events()
    sale.confirm(reservation_id="r1", order_id="o1", now=T0 + timedelta(minutes=2))
    assert new_events(sale) == ["ReservationConfirmed"]
    assert (sale.sold, sale.reserved, sale.available) == (2, 0, 1)
    sale.confirm(reservation_id="r1", order_id="o1", now=T0 + timedelta(minutes=3))
    assert new_events(sale) == []
    refused(sale, errors.ReservationNotHeld, lambda: sale.confirm(reservation_id="r1", order_id="o2", now=T0))
    refused(sale, errors.ReservationNotHeld, lambda: sale.release(reservation_id="r1", reason="x", now=T0))


def test_confirm_and_release_refusals() -> None:
    sale = a_sale()
    refused(sale, errors.ReservationNotFound, lambda: sale.confirm(reservation_id="nope", order_id="o", now=T0))
    refused(sale, errors.ReservationNotFound, lambda: sale.release(reservation_id="nope", reason="x", now=T0))
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    late = T0 + timedelta(minutes=5)
    refused(sale, errors.ReservationExpired, lambda: sale.confirm(reservation_id="r1", order_id="o", now=late))
    sale.expire_reservations(now=late)
    refused(sale, errors.ReservationExpired, lambda: sale.confirm(reservation_id="r1", order_id="o", now=late))
    sale.reserve(reservation_id="r2", buyer_id="b1", quantity=1, now=late)
    sale.release(reservation_id="r2", reason="cancelled", now=late)
    refused(sale, errors.ReservationNotHeld, lambda: sale.confirm(reservation_id="r2", order_id="o", now=late))


def test_expire_releases_only_holds_past_their_deadline() -> None:
    sale = a_sale(quantity=3, max_per_buyer=3)
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    sale.reserve(reservation_id="r2", buyer_id="b2", quantity=1, now=T0 + timedelta(minutes=2))
    sale.collect_events()
    assert sale.expire_reservations(now=T0 + timedelta(minutes=5)) == ["r1"]
    assert new_events(sale) == ["HoldExpired"]
    assert sale.reservations["r2"]["status"] == HELD and sale.available == 2


def test_holds_survive_the_end_of_the_sale_until_their_deadline() -> None:
    sale = a_sale()
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0 + timedelta(minutes=29))
    sale.end(now=T0 + timedelta(minutes=30))
    sale.confirm(reservation_id="r1", order_id="o1", now=T0 + timedelta(minutes=31))
    assert sale.reservations["r1"]["status"] == CONFIRMED and sale.status == "ended"


# ---- waitlist ------------------------------------------------------------------------------------------
def test_waitlist_gets_released_units_first_in_fifo_order() -> None:
    sale = a_sale(quantity=2, max_per_buyer=2)
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=2, now=T0)
    sale.join_waitlist(reservation_id="w1", buyer_id="b2", quantity=1, now=T0)
    sale.join_waitlist(reservation_id="w2", buyer_id="b3", quantity=2, now=T0)
    sale.collect_events()
    sale.release(reservation_id="r1", reason="payment_failed", now=T0 + timedelta(minutes=1))
    assert new_events(sale) == ["ReservationReleased", "WaitlistOffered", "WaitlistOffered"]
    # b3 asked for 2 but only 1 was left after b2: they get what there is and leave the queue
    assert sale.reservations["w1"]["buyer_id"] == "b2" and sale.reservations["w2"]["quantity"] == 1
    assert sale.waitlist == [] and sale.available == 0 and sale.status == "sold_out"
    assert sale.reservations["w2"]["expires_at"] == T0 + timedelta(minutes=6)


def test_waitlist_refusals() -> None:
    sale = a_sale(quantity=2, max_per_buyer=2)
    join = sale.join_waitlist
    refused(sale, errors.WaitlistNotOpen, lambda: join(reservation_id="w", buyer_id="b9", quantity=1, now=T0))
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=2, now=T0)
    refused(
        sale,
        errors.FlashSaleNotActive,
        lambda: join(reservation_id="w", buyer_id="b9", quantity=1, now=T0 - timedelta(1)),
    )
    refused(
        sale,
        errors.PurchaseLimitExceeded,
        lambda: join(reservation_id="w", buyer_id="b1", quantity=1, now=T0),
    )
    refused(
        sale,
        errors.DuplicateReservation,
        lambda: join(reservation_id="r1", buyer_id="b9", quantity=1, now=T0),
    )
    join(reservation_id="w1", buyer_id="b9", quantity=1, now=T0)
    refused(sale, errors.AlreadyOnWaitlist, lambda: join(reservation_id="w2", buyer_id="b9", quantity=1, now=T0))
    sale.confirm(reservation_id="r1", order_id="o1", now=T0)
    refused(sale, errors.FlashSaleSoldOut, lambda: join(reservation_id="w3", buyer_id="b8", quantity=1, now=T0))


def test_ending_drops_the_waitlist_and_later_releases_go_back_to_stock() -> None:
    sale = a_sale(quantity=1)
    sale.reserve(reservation_id="r1", buyer_id="b1", quantity=1, now=T0)
    sale.join_waitlist(reservation_id="w1", buyer_id="b2", quantity=1, now=T0)
    sale.collect_events()
    sale.end(now=T0 + timedelta(minutes=10))
    ended: Any = sale.collect_events()[0]
    assert ended.waitlist_dropped == ["b2"]
    sale.release(reservation_id="r1", reason="payment_failed", now=T0 + timedelta(minutes=11))
    assert new_events(sale) == ["ReservationReleased"] and sale.available == 1 and sale.status == "ended"


# ---- replay and serialisation ----------------------------------------------------------------------------
def test_replay_and_round_trip_rebuild_the_same_sale() -> None:
    sale = FlashSale.schedule(
        id=SALE_ID,
        now=T0,
        product_id=UUID(int=2),
        vendor_id=UUID(int=3),
        sale_name="Eid flash",
        original_price=Decimal("1000.50"),
        flash_price=Decimal("799.99"),
        quantity=2,
        start_time=T0,
        end_time=T0 + timedelta(minutes=30),
    )
    sale.start(now=T0 + timedelta(microseconds=123456))
    sale.reserve(reservation_id=UUID(int=9), buyer_id=BUYER, quantity=2, now=T0 + timedelta(seconds=1))
    sale.join_waitlist(reservation_id="w1", buyer_id="b2", quantity=1, now=T0 + timedelta(seconds=2))
    sale.release(reservation_id=UUID(int=9), reason="payment_failed", now=T0 + timedelta(seconds=3))
    sale.confirm(reservation_id="w1", order_id=UUID(int=10), now=T0 + timedelta(seconds=4))
    sale.expire_reservations(now=T0 + timedelta(minutes=20))
    sale.end(now=T0 + timedelta(minutes=30))
    events = sale.collect_events()
    assert fold(events) == sale
    assert fold(round_trip(events)) == sale
    assert fold(round_trip(events)).flash_price.as_tuple() == Decimal("799.99").as_tuple()


# ---- any interleaving keeps the stock rule -----------------------------------------------------------------
class FlashSaleMachine(RuleBasedStateMachine):
    reservation_ids = Bundle("reservation_ids")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.sale = FlashSale.schedule(
            id=SALE_ID,
            now=self.now,
            product_id="p",
            vendor_id="v",
            sale_name="s",
            original_price=Decimal("100.00"),
            flash_price=Decimal("60.00"),
            quantity=2,
            start_time=T0,
            end_time=T0 + timedelta(minutes=10),
            max_per_buyer=2,
            hold_seconds=120,
        )
        self.sale.start(now=T0)
        self.events = list(self.sale.collect_events())
        self.ids = 0

    def attempt(self, command: Any) -> None:
        version = self.sale.version
        try:
            command()
        except DomainError:
            assert self.sale.version == version and not self.sale.pending_events
        self.events += self.sale.collect_events()

    def new_id(self) -> str:
        self.ids += 1
        return f"r{self.ids}"

    @rule(seconds=st.integers(0, 90))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule()
    def start(self) -> None:
        self.attempt(lambda: self.sale.start(now=self.now))

    @rule(target=reservation_ids, buyer=st.integers(0, 3), quantity=st.sampled_from([0, 1, 1, 2, 3]))
    def reserve(self, buyer: int, quantity: int) -> str:
        rid = self.new_id()
        self.attempt(
            lambda: self.sale.reserve(reservation_id=rid, buyer_id=f"b{buyer}", quantity=quantity, now=self.now)
        )
        return rid  # refused ids stay in the bundle: confirming them must fail cleanly

    @rule(target=reservation_ids, buyer=st.integers(0, 3), quantity=st.integers(1, 2))
    def join_waitlist(self, buyer: int, quantity: int) -> str:
        rid = self.new_id()
        self.attempt(
            lambda: self.sale.join_waitlist(reservation_id=rid, buyer_id=f"b{buyer}", quantity=quantity, now=self.now)
        )
        return rid

    @rule(rid=reservation_ids)
    def confirm(self, rid: str) -> None:
        self.attempt(lambda: self.sale.confirm(reservation_id=rid, order_id=f"o-{rid}", now=self.now))

    @rule(rid=reservation_ids)
    def release(self, rid: str) -> None:
        self.attempt(lambda: self.sale.release(reservation_id=rid, reason="payment_failed", now=self.now))

    @rule()
    def expire(self) -> None:
        self.attempt(lambda: self.sale.expire_reservations(now=self.now))

    @precondition(lambda self: self.now > T0 + timedelta(minutes=5))
    @rule(cancel=st.booleans())
    def close(self, cancel: bool) -> None:
        self.attempt(lambda: self.sale.cancel(now=self.now) if cancel else self.sale.end(now=self.now))

    @invariant()
    def stock_is_never_oversold(self) -> None:
        s = self.sale
        assert min(s.sold, s.reserved, s.available) >= 0
        assert s.sold + s.reserved + s.available == s.quantity
        held = sum(r["quantity"] for r in s.reservations.values() if r["status"] == HELD)
        sold = sum(r["quantity"] for r in s.reservations.values() if r["status"] == CONFIRMED)
        assert (held, sold) == (s.reserved, s.sold)

    @invariant()
    def buyers_stay_within_their_limit(self) -> None:
        for buyer in {r["buyer_id"] for r in self.sale.reservations.values()}:
            assert self.sale.claimed_by(buyer) <= self.sale.max_per_buyer

    @invariant()
    def status_follows_stock_and_nobody_jumps_the_queue(self) -> None:
        s = self.sale
        if s.status in SELLING:
            assert (s.status == "sold_out") == (s.available == 0)
            if s.waitlist and self.now < s.end_time:
                assert s.available == 0

    def teardown(self) -> None:
        # At the end every hold is either paid or released, and the log rebuilds the same sale.
        self.now = T0 + timedelta(hours=1)
        if self.sale.status in SELLING:
            self.sale.end(now=self.now)
        self.sale.expire_reservations(now=self.now)
        self.events += self.sale.collect_events()
        assert all(r["status"] in (CONFIRMED, RELEASED) for r in self.sale.reservations.values())
        assert fold(self.events) == self.sale

    @invariant()
    def per_buyer_indexes_equal_a_full_scan(self) -> None:
        sale = self.sale
        for buyer in {r["buyer_id"] for r in sale.reservations.values()} | {w["buyer_id"] for w in sale.waitlist}:
            held = sum(
                r["quantity"]
                for r in sale.reservations.values()
                if r["buyer_id"] == buyer and r["status"] != "released"
            )
            waiting = sum(w["quantity"] for w in sale.waitlist if w["buyer_id"] == buyer)
            assert sale.claimed_by(buyer) == held + waiting
        assert sale.waiting_ids == {w["reservation_id"] for w in sale.waitlist}


FlashSaleMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestFlashSaleInvariants = FlashSaleMachine.TestCase
