"""LoyaltyAccount: a viewer's loyalty points, event-sourced because points are money-like (spec gamification).

Points are earned in lots (watching, chatting, purchases, quiz wins), each lot expiring at its own moment; they
are spent at checkout oldest lot first, taken back when a purchase is refunded, and expire when their lot's
time is up. Every credit names its source (``source_id``: the interaction, order or quiz that earned it), so a
redelivered fact earns nothing twice; a redemption is keyed by its order, so a retried checkout spends once.
The balance (the sum of the live lots) never goes negative: a spend above it is refused, and a take-back
takes at most what is left.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError

_NS = uuid.UUID("2f6c1d9a-7e4b-4c3a-9b8e-5d1f0a6c3e21")
HISTORY = 50
TIERS = ((10_000, "platinum"), (2_000, "gold"), (500, "silver"), (0, "bronze"))  # lifetime points earned


class InsufficientPoints(DomainError):
    code = "insufficient_points"


class InvalidPoints(DomainError):
    code = "validation_failed"
    http_status = 422


def loyalty_account_id(user_id: str) -> UUID:
    return uuid.uuid5(_NS, f"loyalty:{user_id}")


def tier_of(lifetime: int) -> str:
    return next(name for floor, name in TIERS if lifetime >= floor)


class LoyaltyAccount(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        user_id: str

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.lots: dict[str, dict[str, Any]] = {}  # lot id (= source id) -> {points left, expires_at}
        self.lifetime = 0
        self.per_show: dict[str, int] = {}  # "source:stream" -> points earned there (for the caps)
        self.purchases: dict[str, int] = {}  # order id -> points its payment earned and still stands
        self.redeemed: dict[str, int] = {}  # order id -> points spent on it
        self.sources: set[str] = set()  # every source ever credited, and every refund taken back
        self.history: list[dict[str, Any]] = []

    @classmethod
    def open(cls, *, user_id: str, now: datetime) -> LoyaltyAccount:
        return cls._create(cls.Opened, id=loyalty_account_id(user_id), timestamp=now, user_id=user_id)

    @property
    def balance(self) -> int:
        return sum(lot["points"] for lot in self.lots.values())

    def available(self, now: datetime) -> int:
        """Points that may be spent now (a lot past its time counts no more, even before it is expired)."""
        return sum(lot["points"] for lot in self.lots.values() if lot["expires_at"] > now)

    @property
    def tier(self) -> str:
        return tier_of(self.lifetime)

    def _note(self, kind: str, points: int, at: datetime, **detail: Any) -> None:
        self.history.append(
            {
                "kind": kind,
                "points": points,
                "balance": self.balance,
                "at": at.isoformat(),
                **{k: v for k, v in detail.items() if v is not None},
            }
        )
        del self.history[:-HISTORY]

    def _take(self, points: int, now: datetime, first: str | None = None) -> list[list[Any]]:
        """Which lots give ``points``: ``first`` (a purchase's own lot) then the oldest live lots."""
        order = sorted(self.lots, key=lambda k: (k != first, self.lots[k]["expires_at"], k))
        taken, left = [], points
        for lot_id in order:
            lot = self.lots[lot_id]
            if left == 0:
                break
            if lot["points"] <= 0 or (lot["expires_at"] <= now and lot_id != first):
                continue
            n = min(left, lot["points"])
            taken.append([lot_id, n])
            left -= n
        return taken

    def _emptied(self, taken: list[list[Any]]) -> list[str]:
        """The lots ``taken`` uses up (their expiry is no longer due)."""
        return [lot_id for lot_id, n in taken if n >= self.lots[lot_id]["points"]]

    def _consume(self, taken: list[list[Any]]) -> None:
        for lot_id, n in taken:
            self.lots[lot_id]["points"] -= n
            if self.lots[lot_id]["points"] <= 0:
                del self.lots[lot_id]

    # ---- earning -----------------------------------------------------------------------------------------
    class Earned(Event):
        source: str  # watch, chat, purchase, quiz
        source_id: str
        points: int
        expires_at: datetime
        stream_id: str | None
        order_id: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LoyaltyAccount)
            a = aggregate
            a.lots[self.source_id] = {"points": self.points, "expires_at": self.expires_at}
            a.sources.add(self.source_id)
            a.lifetime += self.points
            if self.stream_id:
                key = f"{self.source}:{self.stream_id}"
                a.per_show[key] = a.per_show.get(key, 0) + self.points
            if self.order_id:
                a.purchases[self.order_id] = a.purchases.get(self.order_id, 0) + self.points
            a._note(
                "earned",
                self.points,
                self.timestamp,
                source=self.source,
                stream_id=self.stream_id,
                order_id=self.order_id,
            )

    def earned_in(self, source: str, stream_id: str) -> int:
        return self.per_show.get(f"{source}:{stream_id}", 0)

    def earn(
        self,
        *,
        source: str,
        source_id: str,
        points: int,
        now: datetime,
        expires_at: datetime,
        stream_id: str | None = None,
        cap: int | None = None,
        order_id: str | None = None,
    ) -> int:
        """Credit ``points`` (at most up to ``cap`` for this source in this show); → the points credited.
        The same ``source_id`` again credits nothing."""
        if source_id in self.sources:
            return 0
        if cap is not None and stream_id is not None:
            points = min(points, cap - self.earned_in(source, stream_id))
        if points <= 0:
            return 0
        self.trigger_event(
            self.Earned,
            timestamp=now,
            source=source,
            source_id=source_id,
            points=points,
            expires_at=expires_at,
            stream_id=stream_id,
            order_id=order_id,
        )
        return points

    # ---- spending ----------------------------------------------------------------------------------------
    class Redeemed(Event):
        order_id: str
        points: int
        value: Decimal
        taken: list[list[Any]]
        emptied: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LoyaltyAccount)
            aggregate._consume(self.taken)
            aggregate.redeemed[self.order_id] = self.points
            aggregate._note("redeemed", -self.points, self.timestamp, order_id=self.order_id)

    def redeem(self, *, order_id: str, points: int, value: Decimal, now: datetime) -> bool:
        """Spend ``points`` on an order (once per order: a retry spends nothing more); → spent now?"""
        if order_id in self.redeemed:
            return False
        if points <= 0:
            raise InvalidPoints("loyalty_points must be positive", loyalty_points=points)
        if points > self.available(now):
            raise InsufficientPoints("not enough loyalty points", loyalty_points=points, balance=self.available(now))
        taken = self._take(points, now)
        self.trigger_event(
            self.Redeemed,
            timestamp=now,
            order_id=order_id,
            points=points,
            value=value,
            taken=taken,
            emptied=self._emptied(taken),
        )
        return True

    # ---- taking back (a refunded purchase) -------------------------------------------------------------------
    class Reversed(Event):
        source_id: str  # the refund
        order_id: str
        points: int
        taken: list[list[Any]]
        emptied: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LoyaltyAccount)
            aggregate._consume(self.taken)
            aggregate.sources.add(self.source_id)
            aggregate.purchases[self.order_id] = aggregate.purchases.get(self.order_id, 0) - self.points
            aggregate._note("reversed", -self.points, self.timestamp, order_id=self.order_id)

    def reverse_purchase(self, *, order_id: str, refund_id: str, keep: int, now: datetime) -> int:
        """A refund: the order's points come down to ``keep`` (taken from its own lot first, never below zero
        balance); the same refund again takes nothing. → points taken back."""
        if refund_id in self.sources:
            return 0
        due = self.purchases.get(order_id, 0) - max(0, keep)
        if due <= 0:
            return 0
        taken = self._take(min(due, self.balance), now, first=order_id)
        n: int = sum(t[1] for t in taken)
        self.trigger_event(
            self.Reversed,
            timestamp=now,
            source_id=refund_id,
            order_id=order_id,
            points=n,
            taken=taken,
            emptied=self._emptied(taken),
        )
        return n

    # ---- expiry ----------------------------------------------------------------------------------------------
    class Expired(Event):
        lots: list[list[Any]]
        points: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LoyaltyAccount)
            aggregate._consume(self.lots)
            aggregate._note("expired", -self.points, self.timestamp)

    def expire(self, *, now: datetime) -> int:
        """Lots whose time is up lose what is left of them. → points expired."""
        due = [
            [k, lot["points"]] for k, lot in sorted(self.lots.items()) if lot["expires_at"] <= now and lot["points"] > 0
        ]
        if not due:
            return 0
        n: int = sum(p for _, p in due)
        self.trigger_event(self.Expired, timestamp=now, lots=due, points=n)
        return n
