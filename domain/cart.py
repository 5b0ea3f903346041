"""Cart: one viewer's live cart for one stream, priced at the moment each item goes in.

Prices move during a show (the host drops a price for ten minutes), so a line keeps the unit price the
viewer saw when adding it, and totals are computed from the lines in Decimal rounded to the paisa: what the
viewer saw is what the order is placed for. Checking out empties the cart into an order; its ``CheckedOut``
event carries the priced snapshot from which the application places the Order, and the cart stays the
viewer's live cart for the rest of the show.

The units in a cart are held (the stream's stock, ``domain.stream_stock``): an abandoned cart must give them
back. Each add moves the cart's deadline to ``hold_seconds`` after it; past the deadline ``expire`` empties the
cart (``Expired`` names the lines whose units the application releases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import (
    PAISA,
    CartEmpty,
    CartNotOpen,
    DiscountCodeExpired,
    DiscountMinimumNotMet,
    DiscountUsageExceeded,
    Id,
    InvalidDiscountCode,
    ItemNotInCart,
    require_money,
    require_quantity,
)
from domain.show_scoped import ShowScoped

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DiscountRule:
    """A live discount code's terms, as the application looked them up. Exactly one of percent / amount."""

    code: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    min_total: Decimal = ZERO
    max_uses_per_buyer: int | None = None
    expires_at: datetime | None = None

    def check(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise InvalidDiscountCode("a discount is either a percent or an amount", code=self.code)
        if self.percent is not None and require_money(self.percent, "percent", positive=True) > 100:
            raise InvalidDiscountCode("percent must be within (0, 100]", code=self.code)
        if self.amount is not None:
            require_money(self.amount, "amount", positive=True)
        require_money(self.min_total, "min_total")
        if self.max_uses_per_buyer is not None:
            require_quantity(self.max_uses_per_buyer, "max_uses_per_buyer")

    def discount_on(self, subtotal: Decimal) -> Decimal:
        """What this code takes off a subtotal; nothing below the minimum, never more than the subtotal."""
        if subtotal < self.min_total:
            return ZERO
        if self.percent is not None:
            return (subtotal * self.percent / 100).quantize(PAISA, rounding=ROUND_HALF_UP)
        assert self.amount is not None
        return min(self.amount, subtotal).quantize(PAISA)

    def refuse_reuse(self, uses_by_buyer: int) -> None:
        """The per-buyer cap: ``uses_by_buyer`` counts this buyer's orders that used the code (the app counts)."""
        if self.max_uses_per_buyer is not None and uses_by_buyer >= self.max_uses_per_buyer:
            raise DiscountUsageExceeded("the code was used too often", limit=self.max_uses_per_buyer)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "percent": self.percent,
            "amount": self.amount,
            "min_total": self.min_total,
            "max_uses_per_buyer": self.max_uses_per_buyer,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscountRule:
        return cls(**data)


class Cart(ShowScoped):
    """Always open: checking out or expiring empties it, and the viewer may fill it again."""

    class Event(ShowScoped.Event):
        pass

    class Opened(Event, Aggregate.Created):
        buyer_id: Id
        stream_id: Id

    def __init__(self, buyer_id: Id, stream_id: Id) -> None:
        self.buyer_id = buyer_id
        self.stream_id = stream_id
        self.status = "open"
        self.lines: dict[Id, dict[str, Any]] = {}  # product_id -> {product_id, quantity, unit_price}
        self.discount_rule: DiscountRule | None = None
        self.order_id: Id | None = None  # the last order the cart was emptied into
        self.orders: list[Id] = []  # every order it was emptied into (a retried checkout is recognised)
        self.expires_at: datetime | None = None  # while it holds lines: when an abandoned cart gives them back

    @classmethod
    def open(cls, *, id: UUID, now: datetime, buyer_id: Id, stream_id: Id) -> Cart:  # noqa: A002
        return cls._create(cls.Opened, id=id, timestamp=now, buyer_id=buyer_id, stream_id=stream_id)

    # ---- totals --------------------------------------------------------------------------------------
    @property
    def subtotal(self) -> Decimal:
        return sum((line["quantity"] * line["unit_price"] for line in self.lines.values()), ZERO).quantize(PAISA)

    @property
    def discount(self) -> Decimal:
        # Recomputed from the rule, so removing items can never leave a discount bigger than the cart.
        return self.discount_rule.discount_on(self.subtotal) if self.discount_rule else ZERO

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    def _require_open(self) -> None:
        if self.status != "open":
            raise CartNotOpen(f"the cart is {self.status}", status=self.status)

    # ---- items ---------------------------------------------------------------------------------------
    class ItemAdded(Event):
        product_id: Id
        quantity: int
        unit_price: Decimal
        expires_at: datetime | None  # the cart's new deadline

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None  # carts from before deadlines never expire by themselves

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Cart)
            aggregate.expires_at = self.expires_at
            line = aggregate.lines.get(self.product_id)
            quantity = self.quantity + (line["quantity"] if line else 0)
            # Adding more of a product re-prices the whole line at the price the viewer sees now.
            aggregate.lines[self.product_id] = {
                "product_id": self.product_id,
                "quantity": quantity,
                "unit_price": self.unit_price,
            }

    def add_item(
        self, *, product_id: Id, quantity: int, unit_price: Decimal, now: datetime, hold_seconds: int | None = None
    ) -> None:
        """Add units at the price shown now; with ``hold_seconds`` the cart expires that long after this add."""
        self._require_open()
        require_quantity(quantity)
        price = require_money(unit_price, "unit_price")
        expires_at = (
            None if hold_seconds is None else now + timedelta(seconds=require_quantity(hold_seconds, "hold_seconds"))
        )
        self.trigger_event(
            self.ItemAdded,
            timestamp=now,
            product_id=product_id,
            quantity=quantity,
            unit_price=price,
            expires_at=expires_at,
        )

    class ItemRemoved(Event):
        product_id: Id
        quantity: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Cart)
            line = aggregate.lines[self.product_id]
            if self.quantity >= line["quantity"]:
                del aggregate.lines[self.product_id]
            else:
                aggregate.lines[self.product_id] = {**line, "quantity": line["quantity"] - self.quantity}

    def remove_item(self, *, product_id: Id, now: datetime, quantity: int | None = None) -> None:
        """Remove ``quantity`` units of a product, or the whole line when no quantity is given."""
        self._require_open()
        line = self.lines.get(product_id)
        if line is None:
            raise ItemNotInCart("the product is not in the cart", product_id=str(product_id))
        taken = line["quantity"] if quantity is None else min(require_quantity(quantity), line["quantity"])
        self.trigger_event(self.ItemRemoved, timestamp=now, product_id=product_id, quantity=taken)

    # ---- discount ------------------------------------------------------------------------------------
    class DiscountApplied(Event):
        rule: dict[str, Any]  # DiscountRule.as_dict(): events carry plain values only

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Cart)
            aggregate.discount_rule = DiscountRule.from_dict(self.rule)

    def apply_discount_code(self, *, code: str, rule: DiscountRule, now: datetime, uses_by_buyer: int = 0) -> None:
        """Apply a live code (one per cart: a new one replaces the old). ``uses_by_buyer`` comes from the app.

        The code is checked when applied; a code applied in time is honoured at checkout even if it has since
        expired, because the viewer was shown that price.
        """
        self._require_open()
        if code.strip().upper() != rule.code.strip().upper():
            raise InvalidDiscountCode("unknown discount code", code=code)
        rule.check()
        if rule.expires_at is not None and now >= rule.expires_at:
            raise DiscountCodeExpired("the code has expired", code=rule.code)
        rule.refuse_reuse(uses_by_buyer)
        if not self.lines:
            raise CartEmpty("add items before applying a code")
        if self.subtotal < rule.min_total:
            raise DiscountMinimumNotMet("the cart is below the code's minimum", min_total=str(rule.min_total))
        self.trigger_event(self.DiscountApplied, timestamp=now, rule=rule.as_dict())

    # ---- checkout ------------------------------------------------------------------------------------
    class CheckedOut(Event):
        order_id: Id
        lines: list[dict[str, Any]]
        subtotal: Decimal
        discount: Decimal
        total: Decimal
        discount_code: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Cart)
            aggregate.order_id = self.order_id
            aggregate.orders.append(self.order_id)
            aggregate._empty()

    def _empty(self) -> None:
        self.lines = {}
        self.discount_rule = None
        self.expires_at = None

    def checkout(self, *, order_id: Id, now: datetime) -> None:
        """Empty the cart into the order the application is about to place. A retry is a no-op."""
        if order_id in self.orders:
            return
        self._require_open()
        if not self.lines:
            raise CartEmpty("the cart is empty")
        self.trigger_event(
            self.CheckedOut,
            timestamp=now,
            order_id=order_id,
            lines=[dict(line) for line in self.lines.values()],
            subtotal=self.subtotal,
            discount=self.discount,
            total=self.total,
            discount_code=self.discount_rule.code if self.discount_rule else None,
        )

    # ---- an abandoned cart -----------------------------------------------------------------------------
    class Expired(Event):
        lines: list[dict[str, Any]]  # what it held: the application gives these units back

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Cart)
            aggregate._empty()

    def expire(self, *, now: datetime) -> list[dict[str, Any]]:
        """Past its deadline a cart with lines is emptied; → the lines it held (none: nothing was due)."""
        if not self.lines or self.expires_at is None or now < self.expires_at:
            return []
        lines = [dict(line) for line in self.lines.values()]
        self.trigger_event(self.Expired, timestamp=now, lines=lines)
        return lines
