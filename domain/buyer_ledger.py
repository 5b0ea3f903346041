"""BuyerLedger: what one buyer has committed to that is capped per buyer, across every show.

Two caps are per buyer, not per order: open cash-on-delivery orders (fake COD orders are this market's costliest
fraud) and each show's discount code's ``max_uses_per_buyer``. Counted from a read model, two checkouts racing
for the last allowed one both see room and both pass. So the buyer's commitments are recorded in one small
aggregate, written in the same batch as the order: two racing checkouts of one buyer are serialised by its
version (in one process by the batch writer, across processes by the optimistic-concurrency conflict and
re-run), and the second sees the first.

The ledger lists orders; whether one still counts is the Order's own state (an open COD order is one still
waiting for its cash; a cancelled or failed order gives its discount use back), which the application reads
from the Order aggregates. COD orders that no longer count are forgotten, so the list stays short.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import Id


class BuyerLedger(Aggregate):
    """One buyer's capped commitments: their open cash-on-delivery orders, their uses of each show's codes."""

    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        buyer_id: Id

    def __init__(self, buyer_id: Id) -> None:
        self.buyer_id = buyer_id
        self.cod_orders: list[str] = []
        self.code_uses: dict[str, list[str]] = {}  # "{stream_id}:{CODE}" → orders that used it

    @classmethod
    def open(cls, *, id: UUID, now: datetime, buyer_id: Id) -> BuyerLedger:  # noqa: A002
        return cls._create(cls.Opened, id=id, timestamp=now, buyer_id=buyer_id)

    @staticmethod
    def code_key(stream_id: Id, code: str) -> str:
        return f"{stream_id}:{code.strip().upper()}"

    class CodOrderRecorded(Event):
        order_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BuyerLedger)
            aggregate.cod_orders.append(self.order_id)

    def record_cod_order(self, *, order_id: Id, now: datetime) -> None:
        if str(order_id) not in self.cod_orders:
            self.trigger_event(self.CodOrderRecorded, timestamp=now, order_id=str(order_id))

    class CodOrdersClosed(Event):
        order_ids: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BuyerLedger)
            aggregate.cod_orders = [o for o in aggregate.cod_orders if o not in self.order_ids]

    def forget_cod_orders(self, *, order_ids: list[str], now: datetime) -> None:
        """COD orders that are paid, cancelled or refunded no longer count against the cap."""
        known = [o for o in order_ids if o in self.cod_orders]
        if known:
            self.trigger_event(self.CodOrdersClosed, timestamp=now, order_ids=known)

    class DiscountUseRecorded(Event):
        code_key: str
        order_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BuyerLedger)
            aggregate.code_uses.setdefault(self.code_key, []).append(self.order_id)

    def record_discount_use(self, *, stream_id: Id, code: str, order_id: Id, now: datetime) -> None:
        key = self.code_key(stream_id, code)
        if str(order_id) not in self.code_uses.get(key, []):
            self.trigger_event(self.DiscountUseRecorded, timestamp=now, code_key=key, order_id=str(order_id))
