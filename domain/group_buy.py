"""GroupBuy: a lower price that unlocks only if enough buyers join before a deadline (spec §5.4).

Viewers commit during the show by taking a hold; the outcome is decided once, at the deadline, for everybody:
either ``Unlocked`` (every hold converts at the group price) or ``Failed`` (every hold is released). Deciding
at the deadline, not at the N-th join, keeps the rule simple to explain on air and lets buyers leave freely
until then; it also means no hold is ever left in between once the group buy is settled.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import (
    AlreadyInGroupBuy,
    GroupBuyClosed,
    GroupBuyFull,
    GroupBuyNotUnlocked,
    GroupBuyStillOpen,
    HoldNotFound,
    Id,
    InvalidGroupBuyTerms,
    require_money,
    require_quantity,
)
from domain.show_scoped import ShowScoped

HELD, CONVERTED, RELEASED, PAID = "held", "converted", "released", "paid"


class GroupBuy(ShowScoped):
    """States: open → unlocked / failed."""

    class Event(ShowScoped.Event):
        pass

    class Launched(Event, Aggregate.Created):
        product_id: Id
        stream_id: Id | None
        regular_price: Decimal
        group_price: Decimal
        min_buyers: int
        max_buyers: int | None
        deadline: datetime

    def __init__(
        self,
        product_id: Id,
        stream_id: Id | None,
        regular_price: Decimal,
        group_price: Decimal,
        min_buyers: int,
        max_buyers: int | None,
        deadline: datetime,
    ) -> None:
        self.product_id = product_id
        self.stream_id = stream_id
        self.regular_price = regular_price
        self.group_price = group_price
        self.min_buyers = min_buyers
        self.max_buyers = max_buyers
        self.deadline = deadline
        self.status = "open"
        self.holds: dict[Id, dict[str, Any]] = {}  # hold_id -> {buyer_id, quantity, status}

    @classmethod
    def launch(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        product_id: Id,
        regular_price: Decimal,
        group_price: Decimal,
        min_buyers: int,
        deadline: datetime,
        stream_id: Id | None = None,
        max_buyers: int | None = None,
    ) -> GroupBuy:
        regular = require_money(regular_price, "regular_price", positive=True)
        group = require_money(group_price, "group_price", positive=True)
        if group >= regular:
            raise InvalidGroupBuyTerms("group_price must be below regular_price")
        require_quantity(min_buyers, "min_buyers")
        if min_buyers < 2:
            raise InvalidGroupBuyTerms("a group needs at least 2 buyers", min_buyers=min_buyers)
        if max_buyers is not None and require_quantity(max_buyers, "max_buyers") < min_buyers:
            raise InvalidGroupBuyTerms("max_buyers must not be below min_buyers", max_buyers=max_buyers)
        if deadline <= now:
            raise InvalidGroupBuyTerms("the deadline must be in the future")
        return cls._create(
            cls.Launched,
            id=id,
            timestamp=now,
            product_id=product_id,
            stream_id=stream_id,
            regular_price=regular,
            group_price=group,
            min_buyers=min_buyers,
            max_buyers=max_buyers,
            deadline=deadline,
        )

    @property
    def buyers(self) -> int:
        """Buyers currently in: one hold per buyer, so live holds count buyers."""
        return sum(1 for h in self.holds.values() if h["status"] == HELD)

    def _require_joinable(self, now: datetime) -> None:
        if self.status != "open" or now >= self.deadline:
            raise GroupBuyClosed(f"the group buy is {self.status if self.status != 'open' else 'past its deadline'}")

    # ---- joining and leaving -------------------------------------------------------------------------
    class Joined(Event):
        hold_id: Id
        buyer_id: Id
        quantity: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GroupBuy)
            aggregate.holds[self.hold_id] = {
                "buyer_id": self.buyer_id,
                "quantity": self.quantity,
                "status": HELD,
            }

    def join(self, *, hold_id: Id, buyer_id: Id, now: datetime, quantity: int = 1) -> None:
        """Take a hold. A redelivered join (same hold, same buyer) is a no-op."""
        existing = self.holds.get(hold_id)
        if existing is not None and existing["buyer_id"] == buyer_id and existing["status"] == HELD:
            return
        self._require_joinable(now)
        require_quantity(quantity)
        if existing is not None or any(h["buyer_id"] == buyer_id and h["status"] == HELD for h in self.holds.values()):
            raise AlreadyInGroupBuy("one live hold per buyer, and hold ids are not reused", buyer_id=str(buyer_id))
        if self.max_buyers is not None and self.buyers >= self.max_buyers:
            raise GroupBuyFull("the group is full", max_buyers=self.max_buyers)
        self.trigger_event(self.Joined, timestamp=now, hold_id=hold_id, buyer_id=buyer_id, quantity=quantity)

    class Left(Event):
        hold_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GroupBuy)
            aggregate.holds[self.hold_id]["status"] = RELEASED

    def leave(self, *, hold_id: Id, now: datetime) -> None:
        """Give up a hold before the deadline. Leaving twice is a no-op."""
        hold = self.holds.get(hold_id)
        if hold is None:
            raise HoldNotFound("no such hold", hold_id=str(hold_id))
        if hold["status"] == RELEASED:
            return
        self._require_joinable(now)
        self.trigger_event(self.Left, timestamp=now, hold_id=hold_id)

    # ---- the deadline --------------------------------------------------------------------------------
    class Unlocked(Event):
        converted: list[Id]
        price: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GroupBuy)
            aggregate.status = "unlocked"
            for hold_id in self.converted:
                aggregate.holds[hold_id]["status"] = CONVERTED

    class Failed(Event):
        released: list[Id]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GroupBuy)
            aggregate.status = "failed"
            for hold_id in self.released:
                aggregate.holds[hold_id]["status"] = RELEASED

    def settle(self, *, now: datetime, show_ended: bool = False) -> None:
        """At or after the deadline (or when the show ends first): unlock for everyone, or release everyone."""
        if self.status != "open":
            raise GroupBuyClosed(f"the group buy is already {self.status}", status=self.status)
        if now < self.deadline and not show_ended:
            raise GroupBuyStillOpen("the deadline has not passed", deadline=self.deadline.isoformat())
        live = [hold_id for hold_id, h in self.holds.items() if h["status"] == HELD]
        if len(live) >= self.min_buyers:
            self.trigger_event(self.Unlocked, timestamp=now, converted=live, price=self.group_price)
        else:
            self.trigger_event(self.Failed, timestamp=now, released=live)

    # ---- paying for a converted hold -----------------------------------------------------------------
    class HoldPaid(Event):
        hold_id: Id
        order_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GroupBuy)
            aggregate.holds[self.hold_id].update(status=PAID, order_id=self.order_id)

    def payable_hold(self, *, hold_id: Id, buyer_id: Id) -> dict[str, Any]:
        """The buyer's converted hold, which they may pay for at the group price (until it is paid)."""
        hold = self.holds.get(hold_id)
        if hold is None or str(hold["buyer_id"]) != str(buyer_id):
            raise HoldNotFound("no such hold for this buyer", hold_id=str(hold_id))
        if self.status != "unlocked":
            raise GroupBuyNotUnlocked(f"the group buy is {self.status}", status=self.status)
        if hold["status"] != CONVERTED:
            raise GroupBuyNotUnlocked(f"the hold is {hold['status']}", status=str(hold["status"]))
        return hold

    def mark_hold_paid(self, *, hold_id: Id, order_id: Id, now: datetime) -> None:
        """The member paid; a repeat for the same order changes nothing, another order for it is refused."""
        hold = self.holds.get(hold_id)
        if hold is not None and hold["status"] == PAID and str(hold.get("order_id")) == str(order_id):
            return
        if hold is None or hold["status"] != CONVERTED:
            raise GroupBuyNotUnlocked("the hold is not payable", status=str(hold["status"]) if hold else None)
        self.trigger_event(self.HoldPaid, timestamp=now, hold_id=hold_id, order_id=order_id)
