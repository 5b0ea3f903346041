"""Live auctions (spec §3 live-auctions; issue 4): create, bid with an Idempotency-Key, see the standing."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.auctions import CreateAuction, Standing
from infra.version_waiter import AUCTIONS
from interfaces.http.auth import actor_of, requires
from interfaces.http.checkout import _buyer
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso, money
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, Money

bp = Blueprint("auctions", url_prefix="/api/v1/live-commerce")


class CreateAuctionBody(Body):
    stream_id: UUID
    product_id: UUID
    starting_price: Money
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    reserve_price: Money | None = None
    increments: Annotated[list[tuple[Money, Money]], Field(min_length=1, max_length=20)] | None = None
    mode: Literal["anti_sniping", "sudden_death"] = "anti_sniping"
    extension_seconds: Annotated[int, Field(ge=5, le=600)] = 30
    pay_within_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 60


class BidBody(Body):
    max_amount: Money


def _standing(s: Standing) -> dict[str, Any]:
    return {
        "auction_id": str(s.auction_id),
        "status": s.status,
        "leader_id": s.leader_id,
        "current_price": money(s.current_price),
        "next_minimum_bid": money(s.next_minimum),
        "ends_at": iso(s.ends_at),
        "bid_count": s.bid_count,
        "version": s.version,
    }


@bp.post("/auctions")
@requires("auction.create")
@api(body=CreateAuctionBody, status=201)
async def create_auction(request: Request, body: CreateAuctionBody) -> HTTPResponse:
    c = _c(request)
    assert c.auctions is not None and c.streams is not None
    await c.streams.authorize(body.stream_id, actor_of(request), "auction.create")
    s = await c.auctions.create(
        CreateAuction(
            stream_id=body.stream_id,
            product_id=str(body.product_id),
            starting_price=body.starting_price,
            duration_minutes=body.duration_minutes,
            reserve_price=body.reserve_price,
            increments=[(Decimal(a), Decimal(b)) for a, b in body.increments] if body.increments else None,
            mode=body.mode,
            extension_seconds=body.extension_seconds,
            pay_within_minutes=body.pay_within_minutes,
        )
    )
    return json(_standing(s), status=201)


@bp.post("/auctions/<auction_id:uuid>/bids")
@api(body=BidBody, status=201, idempotency_key=True, signed_in=True)
async def place_bid(request: Request, auction_id: UUID, body: BidBody) -> HTTPResponse:
    """A proxy bid: the bidder's maximum; the visible price rises only as much as competition needs."""
    bidder = _buyer(request)
    if isinstance(bidder, HTTPResponse):
        return bidder
    key = request.ctx.idempotency_key
    c = _c(request)
    assert c.auctions is not None
    s = await c.auctions.bid(auction_id, bidder_id=bidder, max_amount=body.max_amount, idempotency_key=key)
    return json({**_standing(s), "you_lead": s.leader_id == bidder}, status=201)


@bp.get("/auctions/<auction_id:uuid>")
@api(min_version=True)
async def get_auction(request: Request, auction_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    aid = str(auction_id)
    r = await visible(
        request,
        AUCTIONS,
        aid,
        lambda: c.read_db.fetchone("SELECT * FROM auctions WHERE id = %s", (aid,)),
        "auction_not_found",
        {"auction_id": aid},
    )
    if isinstance(r, HTTPResponse):
        return r
    return json(
        {
            "auction_id": str(r["id"]),
            "stream_id": str(r["stream_id"]),
            "product_id": str(r["product_id"]),
            "status": r["status"],
            "mode": r["mode"],
            "starting_price": money(r["starting_price"]),
            "current_price": money(r["current_price"]),
            "leader_id": str(r["leader_id"]) if r["leader_id"] else None,
            "bid_count": r["bid_count"],
            "ends_at": iso(r["ends_at"]),
            "winner_id": str(r["winner_id"]) if r["winner_id"] else None,
            "winning_price": money(r["winning_price"]),
            "pay_by": iso(r["pay_by"]),
            "outcome": r["outcome"],
            "version": r["aggregate_version"],
        }
    )
