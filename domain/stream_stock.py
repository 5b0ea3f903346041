"""StreamStock: one stream product's stock, sold during the show (a stream product's ``limited_quantity``).

Stock is its own small aggregate per (stream, product), not a part of the LiveStream: every cart add and every
checkout writes stock, while every command of the show reads the LiveStream (prices, status). Kept apart, a hot
product's sales never make the show's own commands conflict, and two products sell without touching each other.
The batch writer serves a hot product as it serves a flash sale: the attempts queued in a batch are decided in
memory against one aggregate and saved in one transaction (ADR 0002, 0007, 0014).

Units move available → reserved (a hold: a buyer's live cart, or an order waiting for its payment) → sold, and a
hold that is not paid goes back to available; ``sold + reserved + available == quantity`` holds after every
event. A product without ``limited_quantity`` has no limit: holds and sales are recorded all the same (so its
``sold_quantity`` moves), nothing is ever refused.

Every event names the stream and the product and carries the counts after it, so the read model's
``sold_quantity`` and the room's ``stock_update`` are built from the event alone, and a show's history holds its
stock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import Id, InsufficientStock, ReservationNotHeld, require_quantity
from domain.errors import DomainError

HELD, SOLD = "held", "sold"


class ProductSoldOut(DomainError):
    code = "product_sold_out"


class _StockChange(Aggregate.Event):
    """What every stock-moving event carries besides its own fields: the show, the product, the counts after."""

    stream_id: Id
    product_id: Id
    available: int | None
    sold: int

    def check_counts(self, aggregate: StreamStock) -> None:
        aggregate._check()
        assert (aggregate.available, aggregate.sold) == (self.available, self.sold), "counts out of step"


class StreamStock(Aggregate):
    """One stream product's stock: available → held (a cart, an order) → sold; holds not paid come back.

    Holds: ``hold id → {quantity, status, order_id}``; a hold is held (its quantity may grow, shrink or move to
    another hold) until it is sold; a released hold is a held one with nothing left in it.
    """

    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        stream_id: Id
        product_id: Id
        quantity: int | None  # None: no limit

    def __init__(self, stream_id: Id, product_id: Id, quantity: int | None) -> None:
        self.stream_id = stream_id
        self.product_id = product_id
        self.quantity = quantity
        self.reserved = 0
        self.sold = 0
        self.holds: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(
        cls,
        *,
        id: UUID,
        now: datetime,
        stream_id: Id,
        product_id: Id,  # noqa: A002
        quantity: int | None,
    ) -> StreamStock:
        if quantity is not None:
            require_quantity(quantity, "limited_quantity")
        return cls._create(
            cls.Opened, id=id, timestamp=now, stream_id=stream_id, product_id=product_id, quantity=quantity
        )

    # ---- queries -------------------------------------------------------------------------------------
    @property
    def available(self) -> int | None:
        return None if self.quantity is None else self.quantity - self.reserved - self.sold

    def held(self, hold_id: str) -> int:
        hold = self.holds.get(hold_id)
        return int(hold["quantity"]) if hold is not None and hold["status"] == HELD else 0

    def refusal(self, quantity: int) -> DomainError | None:
        """Why ``quantity`` more units cannot be held now, or None."""
        available = self.available
        if available is None or quantity <= available:
            return None
        if available == 0:
            return ProductSoldOut("no units of this product are left", product_id=str(self.product_id), available=0)
        return InsufficientStock(
            "fewer units left than asked for", product_id=str(self.product_id), available=available
        )

    def _counts(self) -> dict[str, Any]:
        return {"stream_id": self.stream_id, "product_id": self.product_id}

    def _check(self) -> None:
        # Why: a fold that breaks the stock rule must fail at the event that broke it, not later.
        available = self.available
        if min(self.reserved, self.sold) < 0 or (available is not None and available < 0):
            raise AssertionError(f"stream stock broken: {self.sold} sold, {self.reserved} reserved of {self.quantity}")

    def _trigger(
        self, event_class: type[_StockChange], now: datetime, *, reserved: int = 0, sold: int = 0, **fields: Any
    ) -> None:
        available = None if self.quantity is None else self.quantity - self.reserved - reserved - self.sold - sold
        self.trigger_event(
            event_class, timestamp=now, **self._counts(), available=available, sold=self.sold + sold, **fields
        )

    # ---- holds ---------------------------------------------------------------------------------------
    class Reserved(_StockChange):
        hold_id: str
        quantity: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamStock)
            hold = aggregate.holds.setdefault(self.hold_id, {"quantity": 0, "status": HELD, "order_id": None})
            hold["quantity"] += self.quantity
            aggregate.reserved += self.quantity
            self.check_counts(aggregate)

    def reserve(self, *, hold_id: str, quantity: int, now: datetime) -> None:
        """Hold ``quantity`` more units under ``hold_id`` (a cart's hold grows with each add)."""
        require_quantity(quantity)
        hold = self.holds.get(hold_id)
        if hold is not None and hold["status"] != HELD:
            raise ReservationNotHeld(f"the hold is {hold['status']}", reservation_id=hold_id)
        if (error := self.refusal(quantity)) is not None:
            raise error
        self._trigger(self.Reserved, now, reserved=quantity, hold_id=hold_id, quantity=quantity)

    class Released(_StockChange):
        hold_id: str
        quantity: int
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamStock)
            aggregate.holds[self.hold_id]["quantity"] -= self.quantity
            aggregate.reserved -= self.quantity
            self.check_counts(aggregate)

    def release(self, *, hold_id: str, reason: str, now: datetime, quantity: int | None = None) -> int:
        """Give held units back (all of them without ``quantity``); → how many. Nothing held: a no-op."""
        held = self.held(hold_id)
        taken = held if quantity is None else min(require_quantity(quantity), held)
        if taken:
            self._trigger(self.Released, now, reserved=-taken, hold_id=hold_id, quantity=taken, reason=reason)
        return taken

    class HoldMoved(_StockChange):
        from_hold: str
        to_hold: str
        quantity: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamStock)
            aggregate.holds[self.from_hold]["quantity"] -= self.quantity
            hold = aggregate.holds.setdefault(self.to_hold, {"quantity": 0, "status": HELD, "order_id": None})
            hold["quantity"] += self.quantity
            self.check_counts(aggregate)

    def move(self, *, from_hold: str, to_hold: str, quantity: int, now: datetime) -> None:
        """Units held by a cart become the order's when the cart is checked out (nothing is re-counted)."""
        require_quantity(quantity)
        if self.held(from_hold) < quantity:
            raise ReservationNotHeld(
                "the cart no longer holds these units", reservation_id=from_hold, held=self.held(from_hold)
            )
        target = self.holds.get(to_hold)
        if target is not None and target["status"] != HELD:
            raise ReservationNotHeld(f"the hold is {target['status']}", reservation_id=to_hold)
        self._trigger(self.HoldMoved, now, from_hold=from_hold, to_hold=to_hold, quantity=quantity)

    class Sold(_StockChange):
        hold_id: str
        order_id: Id
        quantity: int
        late: bool  # the hold had been released (a payment captured after it failed): sold from what is left

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamStock)
            hold = aggregate.holds.setdefault(self.hold_id, {"quantity": 0, "status": HELD, "order_id": None})
            if not self.late:
                aggregate.reserved -= hold["quantity"]
            hold.update(quantity=self.quantity, status=SOLD, order_id=self.order_id)
            aggregate.sold += self.quantity
            self.check_counts(aggregate)

    def sell(self, *, hold_id: str, order_id: Id, quantity: int, now: datetime) -> None:
        """The order is paid: its held units are sold. A repeat for the same order changes nothing. If the hold
        was released meanwhile, the units are sold from what is left, or refused (the app refunds them)."""
        require_quantity(quantity)
        hold = self.holds.get(hold_id)
        if hold is not None and hold["status"] == SOLD:
            if str(hold["order_id"]) == str(order_id):
                return
            raise ReservationNotHeld("the hold was sold to another order", reservation_id=hold_id)
        if self.held(hold_id) == quantity:
            self._trigger(
                self.Sold,
                now,
                reserved=-quantity,
                sold=quantity,
                hold_id=hold_id,
                order_id=order_id,
                quantity=quantity,
                late=False,
            )
            return
        held = self.held(hold_id)  # none (released meanwhile), or part of it: sold with what is available
        if (error := self.refusal(quantity - held)) is not None:
            raise error
        if held:
            self.release(hold_id=hold_id, reason="partly_held", now=now)
        self._trigger(self.Sold, now, sold=quantity, hold_id=hold_id, order_id=order_id, quantity=quantity, late=True)
