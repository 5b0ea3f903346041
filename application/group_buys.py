"""Group buying during a stream: a lower price unlocks when enough buyers join before the deadline.

Joining takes a hold (exactly-once by the buyer's idempotency key). At the deadline the process manager
settles: unlocked (every hold buys at the group price, through the instant checkout with a ``group_buy_id``
line) or failed (every hold is released). Buyers may leave until then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.commerce_errors import HoldNotFound
from domain.errors import NotFound, ProductNotInStream, StreamClosed, StreamNotFound
from domain.group_buy import GroupBuy
from domain.live_stream import LiveStream

_NS = uuid.UUID("0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a")


class GroupBuyNotFound(NotFound):
    code = "group_buy_not_found"


@dataclass(frozen=True)
class LaunchGroupBuy:
    stream_id: UUID
    product_id: str
    group_price: Decimal
    min_buyers: int
    duration_minutes: int
    max_buyers: int | None = None
    regular_price: Decimal | None = None


@dataclass(frozen=True)
class GroupView:
    group_buy_id: UUID
    status: str
    buyers: int
    min_buyers: int
    group_price: Decimal
    regular_price: Decimal
    deadline: datetime
    hold_id: str | None
    version: int


def hold_id_for(group_id: UUID, buyer_id: str, key: str) -> str:
    return str(uuid.uuid5(_NS, f"{group_id}:{buyer_id}:{key}"))


def _view(g: GroupBuy, hold_id: str | None = None) -> GroupView:
    return GroupView(
        g.id, g.status, g.buyers, g.min_buyers, g.group_price, g.regular_price, g.deadline, hold_id, g.version
    )


def _missing(group_id: UUID) -> Exception:
    return GroupBuyNotFound("group buy not found", group_buy_id=str(group_id))


class GroupBuyService:
    def __init__(self, writer: BatchWriter, *, clock: Callable[[], datetime], new_id: Callable[[], UUID]) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id

    async def launch(self, cmd: LaunchGroupBuy) -> GroupView:
        now, group_id = self._clock(), self._new_id()

        def decide(uow: UnitOfWork) -> GroupView:
            stream: LiveStream = uow.get(cmd.stream_id)
            if stream.status in ("ended", "cancelled"):
                raise StreamClosed(f"a {stream.status} stream takes no group buys", status=stream.status)
            product = stream.products.get(cmd.product_id)
            if product is None:
                raise ProductNotInStream("product is not in this stream", product_id=cmd.product_id)
            regular = cmd.regular_price or product.get("special_price") or Decimal("0")
            group = GroupBuy.launch(
                id=group_id,
                now=now,
                product_id=cmd.product_id,
                stream_id=str(cmd.stream_id),
                regular_price=Decimal(str(regular)),
                group_price=cmd.group_price,
                min_buyers=cmd.min_buyers,
                max_buyers=cmd.max_buyers,
                deadline=now + timedelta(minutes=cmd.duration_minutes),
            )
            uow.add(group)
            return _view(group)

        return await self._writer.submit(
            decide, not_found=lambda i: StreamNotFound("stream not found", stream_id=str(i))
        )

    async def join(self, group_id: UUID, buyer_id: str, key: str) -> GroupView:
        now, hold_id = self._clock(), hold_id_for(group_id, buyer_id, key)

        def decide(uow: UnitOfWork) -> GroupView:
            group: GroupBuy = uow.get(group_id)
            group.join(hold_id=hold_id, buyer_id=buyer_id, now=now)
            return _view(group, hold_id)

        return await self._writer.submit(decide, not_found=_missing)

    async def leave(self, group_id: UUID, hold_id: str, buyer_id: str) -> GroupView:
        now = self._clock()

        def decide(uow: UnitOfWork) -> GroupView:
            group: GroupBuy = uow.get(group_id)
            hold = group.holds.get(hold_id)
            if hold is None or str(hold["buyer_id"]) != buyer_id:  # only one's own hold
                raise HoldNotFound("no such hold for this buyer", hold_id=hold_id)
            group.leave(hold_id=hold_id, now=now)
            return _view(group)

        return await self._writer.submit(decide, not_found=_missing)

    async def settle_due(self, group_id: UUID, *, show_ended: bool = False) -> str | None:
        """At the deadline, or when the group buy's show ends first: unlocked or failed; → the outcome."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> str | None:
            group: GroupBuy = uow.get(group_id)
            if group.status != "open" or (now < group.deadline and not show_ended):
                return None
            group.settle(now=now, show_ended=show_ended)
            return str(group.status)

        return await self._writer.submit(decide, not_found=_missing)
