"""FlashSale: a small stock at a lower price for a short window, contended by a whole live audience.

Every unit is fought over, so one sale is one consistency boundary: the application writes it with the
expected version, and the rule ``sold + reserved + available == quantity`` (none negative) holds after every
event, whatever order reserve / confirm / release / expire arrive in. A reservation holds units while the
buyer pays (a bKash or Nagad flow takes minutes); its deadline comes from ``now`` and ``hold_seconds``, and a
sweeper calls ``expire_reservations``. Units that come back go first to the waitlist, oldest first, so
nobody jumps the queue by refreshing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import (
    AlreadyOnWaitlist,
    DuplicateReservation,
    FlashSaleClosed,
    FlashSaleNotActive,
    FlashSaleNotStartable,
    FlashSaleSoldOut,
    Id,
    InsufficientStock,
    InvalidFlashSaleTerms,
    PurchaseLimitExceeded,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
    WaitlistNotOpen,
    require_money,
    require_quantity,
)
from domain.errors import DomainError
from domain.show_scoped import ShowScoped

HELD, CONFIRMED, RELEASED = "held", "confirmed", "released"
SELLING = ("active", "sold_out")  # states in which the sale takes reservations (inside its window)
CLOSED = ("ended", "cancelled")


class FlashSale(ShowScoped):
    """States: scheduled → active ⇄ sold_out → ended; scheduled/active/sold_out → cancelled.

    ``advance`` moves a sale along by the clock (a process manager calls it at ``start_time`` and ``end_time``,
    and when the sale's show ends)."""

    class Event(ShowScoped.Event):
        pass

    class Scheduled(Event, Aggregate.Created):
        stream_id: Id | None
        product_id: Id
        vendor_id: Id
        sale_name: str
        original_price: Decimal
        flash_price: Decimal
        quantity: int
        start_time: datetime
        end_time: datetime
        max_per_buyer: int
        hold_seconds: int

    def __init__(
        self,
        stream_id: Id | None,
        product_id: Id,
        vendor_id: Id,
        sale_name: str,
        original_price: Decimal,
        flash_price: Decimal,
        quantity: int,
        start_time: datetime,
        end_time: datetime,
        max_per_buyer: int,
        hold_seconds: int,
    ) -> None:
        self.stream_id = stream_id
        self.product_id = product_id
        self.vendor_id = vendor_id
        self.sale_name = sale_name
        self.original_price = original_price
        self.flash_price = flash_price
        off = (original_price - flash_price) * 100 / original_price
        self.discount_percentage = off.quantize(Decimal("0.01"))
        self.quantity = quantity
        self.start_time = start_time
        self.end_time = end_time
        self.max_per_buyer = max_per_buyer
        self.hold_seconds = hold_seconds
        self.status = "scheduled"
        self.sold = 0
        self.reserved = 0
        self.available = quantity
        # reservation_id -> {buyer_id, quantity, expires_at, status, order_id, reason}; kept after release so
        # a redelivered confirm or release can be recognised.
        self.reservations: dict[Id, dict[str, Any]] = {}
        self.waitlist: list[dict[str, Any]] = []  # FIFO of {reservation_id, buyer_id, quantity}
        # Indexes, so a hot sale's per-buyer checks do not scan every hold (kept in step by the applies).
        self.holds_of: dict[Id, list[Id]] = {}  # buyer -> their reservation ids
        self.waiting_of: dict[Id, int] = {}  # buyer -> units they wait for
        self.waiting_ids: set[Id] = set()

    @classmethod
    def schedule(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        product_id: Id,
        vendor_id: Id,
        sale_name: str,
        original_price: Decimal,
        flash_price: Decimal,
        quantity: int,
        start_time: datetime,
        end_time: datetime,
        stream_id: Id | None = None,
        max_per_buyer: int = 2,
        hold_seconds: int = 300,
    ) -> FlashSale:
        original = require_money(original_price, "original_price", positive=True)
        flash = require_money(flash_price, "flash_price", positive=True)
        if flash >= original:
            raise InvalidFlashSaleTerms("flash_price must be below original_price", flash_price=str(flash))
        require_quantity(quantity)
        require_quantity(max_per_buyer, "max_per_buyer")
        require_quantity(hold_seconds, "hold_seconds")
        if not sale_name.strip():
            raise InvalidFlashSaleTerms("sale_name must not be empty")
        if end_time <= start_time or end_time <= now:
            raise InvalidFlashSaleTerms("end_time must be after start_time and in the future")
        return cls._create(
            cls.Scheduled,
            id=id,
            timestamp=now,
            stream_id=stream_id,
            product_id=product_id,
            vendor_id=vendor_id,
            sale_name=sale_name,
            original_price=original,
            flash_price=flash,
            quantity=quantity,
            start_time=start_time,
            end_time=end_time,
            max_per_buyer=max_per_buyer,
            hold_seconds=hold_seconds,
        )

    # ---- queries -------------------------------------------------------------------------------------
    def claimed_by(self, buyer_id: Id) -> int:
        """Units a buyer holds, has bought or waits for: what the per-buyer limit counts."""
        mine: int = sum(
            self.reservations[rid]["quantity"]
            for rid in self.holds_of.get(buyer_id, ())
            if self.reservations[rid]["status"] != RELEASED
        )
        return mine + self.waiting_of.get(buyer_id, 0)

    def refusal(self, *, buyer_id: Id, quantity: int, now: datetime) -> DomainError | None:
        """The error ``reserve`` would raise, without writing anything: the edge refuses cheaply with it."""
        try:
            require_quantity(quantity)
        except DomainError as e:
            return e
        if self.status not in SELLING or not (self.start_time <= now < self.end_time):
            return FlashSaleNotActive(f"the sale is {self.status}", status=self.status)
        if self.available == 0:  # first: after a sell-out this is most attempts, and it costs nothing
            return FlashSaleSoldOut("no units left", waitlist_open=self.reserved > 0)
        if self.claimed_by(buyer_id) + quantity > self.max_per_buyer:
            return PurchaseLimitExceeded("over the per-buyer limit", limit=self.max_per_buyer)
        if quantity > self.available:
            return InsufficientStock("fewer units left than asked for", available=self.available)
        return None

    def _check_stock(self) -> None:
        # Why: a fold that breaks the stock rule must fail at the event that broke it, not later.
        if (
            min(self.sold, self.reserved, self.available) < 0
            or self.sold + self.reserved + self.available != self.quantity
        ):
            raise AssertionError(f"flash sale stock broken: {self.sold}+{self.reserved}+{self.available}")

    def _taken(self, reservation_id: Id) -> bool:
        return reservation_id in self.reservations or reservation_id in self.waiting_ids

    # ---- lifecycle -----------------------------------------------------------------------------------
    class Started(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate.status = "active"

    def start(self, *, now: datetime) -> None:
        if self.status != "scheduled" or not (self.start_time <= now < self.end_time):
            raise FlashSaleNotStartable("only a scheduled sale can start, within its window", status=self.status)
        self.trigger_event(self.Started, timestamp=now)

    class Ended(Event):
        waitlist_dropped: list[Id]  # buyers to tell "no units came back"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate.status = "ended"
            aggregate._drop_waitlist()

    def end(self, *, now: datetime) -> None:
        """Close the sale (early, or at end_time). Live holds survive until their own deadline."""
        if self.status in CLOSED:
            raise FlashSaleClosed(f"the sale is already {self.status}", status=self.status)
        if self.status not in SELLING:
            raise FlashSaleNotActive("a sale that never started is cancelled, not ended", status=self.status)
        self.trigger_event(self.Ended, timestamp=now, waitlist_dropped=[w["buyer_id"] for w in self.waitlist])

    class Cancelled(Event):
        reason: str | None
        released: list[Id]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            for rid in self.released:
                r = aggregate.reservations[rid]
                r["status"], r["reason"] = RELEASED, "sale_cancelled"
                aggregate.reserved -= r["quantity"]
                aggregate.available += r["quantity"]
            aggregate.status = "cancelled"
            aggregate._drop_waitlist()
            aggregate._check_stock()

    def cancel(self, *, now: datetime, reason: str | None = None) -> None:
        """Holds are released at once; units already sold stay sold (refunds are the app's)."""
        if self.status in CLOSED:
            raise FlashSaleClosed(f"the sale is already {self.status}", status=self.status)
        held = [rid for rid, r in self.reservations.items() if r["status"] == HELD]
        self.trigger_event(self.Cancelled, timestamp=now, reason=reason, released=held)

    def advance(self, *, now: datetime, show_ended: bool = False) -> str | None:
        """What time (or the end of its show) makes due: start at ``start_time``, end at ``end_time``; a sale
        whose window passed unstarted (nobody was there to start it) or whose show ended first is cancelled.
        Returns what happened, or None when nothing is due yet; a second call at the same moment does nothing,
        so the process manager may call it as often as it likes (exactly once by construction)."""
        if self.status in CLOSED:
            return None
        if self.status == "scheduled":
            if show_ended or now >= self.end_time:
                self.cancel(now=now, reason="show_ended" if show_ended else "window_missed")
                return "cancelled"
            if now >= self.start_time:
                self.start(now=now)
                return "started"
            return None
        if show_ended or now >= self.end_time:
            self.end(now=now)
            return "ended"
        return None

    class SoldOut(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate.status = "sold_out"

    class BackInStock(Event):
        available: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate.status = "active"

    # ---- reservations --------------------------------------------------------------------------------
    class StockReserved(Event):
        reservation_id: Id
        buyer_id: Id
        quantity: int
        expires_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate._hold(self.reservation_id, self.buyer_id, self.quantity, self.expires_at)
            # The sale's version right after the hold: part of the purchase's answer, repeated on a retry.
            aggregate.reservations[self.reservation_id]["version"] = self.originator_version

    def _drop_waitlist(self) -> None:
        self.waitlist = []
        self.waiting_of.clear()
        self.waiting_ids.clear()

    def _hold(self, reservation_id: Id, buyer_id: Id, quantity: int, expires_at: datetime) -> None:
        if reservation_id not in self.reservations:
            self.holds_of.setdefault(buyer_id, []).append(reservation_id)
        hold = {"buyer_id": buyer_id, "quantity": quantity, "expires_at": expires_at, "status": HELD}
        self.reservations[reservation_id] = {**hold, "order_id": None, "reason": None}
        self.reserved += quantity
        self.available -= quantity
        self._check_stock()

    def reserve(self, *, reservation_id: Id, buyer_id: Id, quantity: int, now: datetime) -> None:
        if (error := self.refusal(buyer_id=buyer_id, quantity=quantity, now=now)) is not None:
            raise error
        if self._taken(reservation_id):
            raise DuplicateReservation("reservation id already used", reservation_id=str(reservation_id))
        expires_at = now + timedelta(seconds=self.hold_seconds)
        self.trigger_event(
            self.StockReserved,
            timestamp=now,
            reservation_id=reservation_id,
            buyer_id=buyer_id,
            quantity=quantity,
            expires_at=expires_at,
        )
        self._after_stock_change(now)

    class ReservationConfirmed(Event):
        reservation_id: Id
        order_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            r = aggregate.reservations[self.reservation_id]
            r["status"], r["order_id"] = CONFIRMED, self.order_id
            aggregate.reserved -= r["quantity"]
            aggregate.sold += r["quantity"]
            aggregate._check_stock()

    def _held(self, reservation_id: Id) -> dict[str, Any]:
        r = self.reservations.get(reservation_id)
        if r is None:
            raise ReservationNotFound("no such reservation", reservation_id=str(reservation_id))
        return r

    def confirm(self, *, reservation_id: Id, order_id: Id, now: datetime) -> None:
        """The buyer paid: held units become sold. A redelivered confirmation is a no-op."""
        r = self._held(reservation_id)
        if r["status"] == CONFIRMED and r["order_id"] == order_id:
            return
        if (r["status"] == RELEASED and r["reason"] == "expired") or (r["status"] == HELD and now >= r["expires_at"]):
            raise ReservationExpired("the hold ran out before payment", reservation_id=str(reservation_id))
        if r["status"] != HELD:
            raise ReservationNotHeld(f"the reservation is {r['status']}", reservation_id=str(reservation_id))
        self.trigger_event(self.ReservationConfirmed, timestamp=now, reservation_id=reservation_id, order_id=order_id)

    class ReservationReleased(Event):
        reservation_id: Id
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate._unhold(self.reservation_id, self.reason)

    class HoldExpired(Event):
        reservation_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate._unhold(self.reservation_id, "expired")

    def _unhold(self, reservation_id: Id, reason: str) -> None:
        r = self.reservations[reservation_id]
        r["status"], r["reason"] = RELEASED, reason
        self.reserved -= r["quantity"]
        self.available += r["quantity"]
        self._check_stock()

    def release(self, *, reservation_id: Id, reason: str, now: datetime) -> None:
        """Payment failed or the buyer gave up: units go back, waitlist first. Twice is a no-op."""
        r = self._held(reservation_id)
        if r["status"] == RELEASED:
            return
        if r["status"] != HELD:
            raise ReservationNotHeld(f"the reservation is {r['status']}", reservation_id=str(reservation_id))
        self.trigger_event(self.ReservationReleased, timestamp=now, reservation_id=reservation_id, reason=reason)
        self._after_stock_change(now)

    def expire_reservations(self, *, now: datetime) -> list[Id]:
        """Release every hold past its deadline; returns their ids so the app can cancel their orders."""
        due = [rid for rid, r in self.reservations.items() if r["status"] == HELD and r["expires_at"] <= now]
        for rid in due:
            self.trigger_event(self.HoldExpired, timestamp=now, reservation_id=rid)
        if due:
            self._after_stock_change(now)
        return due

    # ---- waitlist ------------------------------------------------------------------------------------
    class WaitlistJoined(Event):
        reservation_id: Id
        buyer_id: Id
        quantity: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            aggregate.waitlist.append(
                {"reservation_id": self.reservation_id, "buyer_id": self.buyer_id, "quantity": self.quantity}
            )
            aggregate.waiting_of[self.buyer_id] = aggregate.waiting_of.get(self.buyer_id, 0) + self.quantity
            aggregate.waiting_ids.add(self.reservation_id)

    def join_waitlist(self, *, reservation_id: Id, buyer_id: Id, quantity: int, now: datetime) -> None:
        """Queue for units that may come back. ``reservation_id`` is the id the hold will carry if they do."""
        require_quantity(quantity)
        if self.status not in SELLING or not (self.start_time <= now < self.end_time):
            raise FlashSaleNotActive(f"the sale is {self.status}", status=self.status)
        if self.available > 0:
            raise WaitlistNotOpen("units are available: reserve them", available=self.available)
        if self.reserved == 0:
            raise FlashSaleSoldOut("every unit is sold; none can come back", waitlist_open=False)
        if buyer_id in self.waiting_of:
            raise AlreadyOnWaitlist("already waiting", buyer_id=str(buyer_id))
        if self.claimed_by(buyer_id) + quantity > self.max_per_buyer:
            raise PurchaseLimitExceeded("over the per-buyer limit", limit=self.max_per_buyer)
        if self._taken(reservation_id):
            raise DuplicateReservation("reservation id already used", reservation_id=str(reservation_id))
        self.trigger_event(
            self.WaitlistJoined,
            timestamp=now,
            reservation_id=reservation_id,
            buyer_id=buyer_id,
            quantity=quantity,
        )

    class WaitlistOffered(Event):
        """Returned units held for the first waiter, up to what they asked; they leave the queue."""

        reservation_id: Id
        buyer_id: Id
        quantity: int
        expires_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FlashSale)
            head = aggregate.waitlist.pop(0)
            assert head["reservation_id"] == self.reservation_id, "waitlist offers are strictly FIFO"
            left = aggregate.waiting_of.pop(head["buyer_id"], 0) - head["quantity"]
            if left > 0:
                aggregate.waiting_of[head["buyer_id"]] = left
            aggregate.waiting_ids.discard(head["reservation_id"])
            aggregate._hold(self.reservation_id, self.buyer_id, self.quantity, self.expires_at)

    def _after_stock_change(self, now: datetime) -> None:
        # Returned units go to the waitlist before anyone else sees them; then the status follows the stock.
        if self.status in SELLING and now < self.end_time:
            while self.waitlist and self.available > 0:
                head = self.waitlist[0]
                self.trigger_event(
                    self.WaitlistOffered,
                    timestamp=now,
                    reservation_id=head["reservation_id"],
                    buyer_id=head["buyer_id"],
                    quantity=min(head["quantity"], self.available),
                    expires_at=now + timedelta(seconds=self.hold_seconds),
                )
        if self.status == "active" and self.available == 0:
            self.trigger_event(self.SoldOut, timestamp=now)
        elif self.status == "sold_out" and self.available > 0:
            self.trigger_event(self.BackInStock, timestamp=now, available=self.available)
