"""Live auctions in a stream: create, bid (proxy bidding, anti-sniping or sudden death), close, pass on.

A bid is exactly-once like a purchase: its id derives from the bidder's idempotency key. Closing and passing
the lot to the next bidder happen when time passes (``livecommerce process``); the winner pays through the
instant checkout with an ``auction_id`` line, which marks the lot sold when the payment completes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.auction import Auction
from domain.errors import NotFound, ProductNotInStream, StreamClosed, StreamNotFound
from domain.live_stream import LiveStream

_NS = uuid.UUID("c6d0e1f2-3a4b-4c5d-8e6f-7a8b9c0d1e2f")
DEFAULT_INCREMENTS = [
    (Decimal("0.00"), Decimal("50.00")),
    (Decimal("1000.00"), Decimal("100.00")),
    (Decimal("5000.00"), Decimal("250.00")),
    (Decimal("20000.00"), Decimal("500.00")),
]


class AuctionNotFound(NotFound):
    code = "auction_not_found"


@dataclass(frozen=True)
class CreateAuction:
    stream_id: UUID
    product_id: str
    starting_price: Decimal
    duration_minutes: int
    reserve_price: Decimal | None = None
    increments: list[tuple[Decimal, Decimal]] | None = None
    mode: str = "anti_sniping"
    extension_seconds: int = 30
    pay_within_minutes: int = 60


@dataclass(frozen=True)
class Standing:
    auction_id: UUID
    status: str
    leader_id: str | None
    current_price: Decimal | None
    next_minimum: Decimal | None
    ends_at: datetime
    bid_count: int
    version: int


def _standing(a: Auction, bidder_id: str | None = None) -> Standing:
    nxt = a.minimum_bid(bidder_id) if a.status == "open" and bidder_id else None
    return Standing(
        a.id,
        a.status,
        str(a.leader_id) if a.leader_id else None,
        a.current_price,
        nxt,
        a.ends_at,
        a.bid_count,
        a.version,
    )


def _auction_missing(auction_id: UUID) -> Exception:
    return AuctionNotFound("auction not found", auction_id=str(auction_id))


class AuctionService:
    def __init__(self, writer: BatchWriter, *, clock: Callable[[], datetime], new_id: Callable[[], UUID]) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id

    async def create(self, cmd: CreateAuction) -> Standing:
        now, auction_id = self._clock(), self._new_id()

        def decide(uow: UnitOfWork) -> Standing:
            stream: LiveStream = uow.get(cmd.stream_id)
            if stream.status in ("ended", "cancelled"):
                raise StreamClosed(f"a {stream.status} stream takes no auctions", status=stream.status)
            if cmd.product_id not in stream.products:
                raise ProductNotInStream("product is not in this stream", product_id=cmd.product_id)
            auction = Auction.create(
                id=auction_id,
                now=now,
                product_id=cmd.product_id,
                stream_id=str(cmd.stream_id),
                starting_price=cmd.starting_price,
                increments=cmd.increments or DEFAULT_INCREMENTS,
                starts_at=now,
                ends_at=now + timedelta(minutes=cmd.duration_minutes),
                reserve_price=cmd.reserve_price,
                mode=cmd.mode,
                extension_seconds=cmd.extension_seconds,
                pay_within_seconds=cmd.pay_within_minutes * 60,
            )
            uow.add(auction)
            return _standing(auction)

        return await self._writer.submit(
            decide, not_found=lambda i: StreamNotFound("stream not found", stream_id=str(i))
        )

    async def bid(self, auction_id: UUID, *, bidder_id: str, max_amount: Decimal, idempotency_key: str) -> Standing:
        now = self._clock()
        bid_id = str(uuid.uuid5(_NS, f"{auction_id}:{bidder_id}:{idempotency_key}"))

        def decide(uow: UnitOfWork) -> Standing:
            auction: Auction = uow.get(auction_id)
            if bidder_id in auction.held_bidders:  # held by a fraud case: as stored now (an admin may have cleared)
                auction = uow.current(auction_id)
            auction.place_bid(bid_id=bid_id, bidder_id=bidder_id, max_amount=max_amount, now=now)
            return _standing(auction, bidder_id)

        return await self._writer.submit(decide, not_found=_auction_missing)

    async def settle_due(self, auction_id: UUID, *, show_ended: bool = False) -> str | None:
        """Close a finished auction (or an open one whose show has ended), or pass it on when the winner missed
        the deadline; → what happened."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> str | None:
            auction: Auction = uow.get(auction_id)
            if auction.status == "open" and (show_ended or now >= auction.ends_at):
                auction.close(now=now, show_ended=show_ended)
                return "closed"
            if auction.status == "awarded" and auction.pay_by is not None and now > auction.pay_by:
                auction.offer_to_next(now=now)
                return "passed_on"
            return None

        return await self._writer.submit(decide, not_found=_auction_missing)
