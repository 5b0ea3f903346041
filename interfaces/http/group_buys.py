"""Group buying (spec §5.4): launch, join with an Idempotency-Key, leave, see progress."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.group_buys import GroupView, LaunchGroupBuy
from infra.version_waiter import GROUP_BUYS
from interfaces.http.auth import actor_of, requires
from interfaces.http.checkout import _buyer
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso, money
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, Money

bp = Blueprint("group_buys", url_prefix="/api/v1/live-commerce")


class LaunchBody(Body):
    stream_id: UUID
    product_id: UUID
    group_price: Money
    min_buyers: Annotated[int, Field(ge=2, le=10_000)]
    duration_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]
    max_buyers: Annotated[int, Field(ge=2, le=100_000)] | None = None
    regular_price: Money | None = None


class LeaveBody(Body):
    hold_id: UUID


def _view(v: GroupView) -> dict[str, Any]:
    return {
        "group_buy_id": str(v.group_buy_id),
        "status": v.status,
        "buyers": v.buyers,
        "min_buyers": v.min_buyers,
        "group_price": money(v.group_price),
        "regular_price": money(v.regular_price),
        "deadline": iso(v.deadline),
        "hold_id": v.hold_id,
        "version": v.version,
    }


@bp.post("/group-buys")
@requires("group_buy.create")
@api(body=LaunchBody, status=201)
async def launch(request: Request, body: LaunchBody) -> HTTPResponse:
    c = _c(request)
    assert c.group_buys is not None and c.streams is not None
    await c.streams.authorize(body.stream_id, actor_of(request), "group_buy.create")
    v = await c.group_buys.launch(
        LaunchGroupBuy(
            stream_id=body.stream_id,
            product_id=str(body.product_id),
            group_price=body.group_price,
            min_buyers=body.min_buyers,
            duration_minutes=body.duration_minutes,
            max_buyers=body.max_buyers,
            regular_price=body.regular_price,
        )
    )
    return json(_view(v), status=201)


@bp.post("/group-buys/<group_id:uuid>/join")
@api(status=201, idempotency_key=True, signed_in=True)
async def join(request: Request, group_id: UUID) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    key = request.ctx.idempotency_key
    c = _c(request)
    assert c.group_buys is not None
    return json(_view(await c.group_buys.join(group_id, buyer, key)), status=201)


@bp.post("/group-buys/<group_id:uuid>/leave")
@api(body=LeaveBody, signed_in=True)
async def leave(request: Request, group_id: UUID, body: LeaveBody) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    c = _c(request)
    assert c.group_buys is not None
    return json(_view(await c.group_buys.leave(group_id, str(body.hold_id), buyer)))


@bp.get("/group-buys/<group_id:uuid>")
@api(min_version=True)
async def show(request: Request, group_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    gid = str(group_id)
    r = await visible(
        request,
        GROUP_BUYS,
        gid,
        lambda: c.read_db.fetchone("SELECT * FROM group_buys WHERE id = %s", (gid,)),
        "group_buy_not_found",
        {"group_buy_id": gid},
    )
    if isinstance(r, HTTPResponse):
        return r
    return json(
        {
            "group_buy_id": str(r["id"]),
            "stream_id": str(r["stream_id"]),
            "status": r["status"],
            "buyers": r["buyers"],
            "min_buyers": r["min_buyers"],
            "max_buyers": r["max_buyers"],
            "group_price": money(r["group_price"]),
            "regular_price": money(r["regular_price"]),
            "deadline": iso(r["deadline"]),
            "version": r["aggregate_version"],
        }
    )
