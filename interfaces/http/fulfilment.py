"""Fulfilment and returns (issue 13, journey 8): the selling vendor's steps, the buyer's returns and the vendor's
decisions; ``order_fulfilment``/``order_returns_view`` shape what ``GET /orders/:id`` adds.

- ``POST /orders/:id/fulfilment {status, courier, tracking_id}``: ``packed``, ``shipped`` (courier and tracking
  id required), ``delivered``, one step at a time (``409 fulfilment_out_of_order``); the vendor whose stream
  sold the order, or an admin (others ``403 not_permitted``). The same step again answers ``200`` and writes
  nothing. On a cash-on-delivery order ``delivered`` also records the cash collected.
- ``POST /orders/:id/returns {reason, items[{product_id, quantity}]}`` with ``Idempotency-Key``: the buyer,
  within the window after delivery (``409 return_window_closed``) → ``201``.
- ``POST /orders/:id/returns/:return_id/decision {accept, note}``: the selling vendor or an admin; accepting
  records the refund (the refund path: sent to the provider at once, or recorded completed by hand for cash
  on delivery) → ``200`` with the refund.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.fulfilment import FulfilmentView, ReturnView
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso, money
from interfaces.http.refunds import refund_reply
from interfaces.http.schemas import Body
from projections.orders_pg import order_returns

bp = Blueprint("fulfilment", url_prefix="/api/v1/live-commerce")
Text = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class FulfilmentBody(Body):
    status: Literal["packed", "shipped", "delivered", "refused"]  # refused: a COD parcel refused at the door
    courier: Text | None = None
    tracking_id: Text | None = None


class ReturnItemIn(Body):
    product_id: UUID
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


class ReturnBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    items: Annotated[list[ReturnItemIn], Field(min_length=1, max_length=50)]


class DecisionBody(Body):
    accept: bool
    note: Annotated[str, Field(max_length=500)] | None = None


def fulfilment_reply(v: FulfilmentView) -> dict[str, Any]:
    return {
        "order_id": str(v.order_id),
        "status": v.status,
        "courier": v.courier,
        "tracking_id": v.tracking_id,
        **{f"{step}_at": iso(at) for step, at in v.steps.items()},
        "order_status": v.order_status,
        "payment_status": v.payment_status,
        "version": v.version,
        "changed": v.changed,
    }


def return_reply(v: ReturnView) -> dict[str, Any]:
    return {
        "return_id": v.return_id,
        "order_id": str(v.order_id),
        "status": v.status,
        "items": v.items,
        "reason": v.reason,
        "amount": money(v.amount),
        "note": v.note,
        "refund_id": v.refund_id,
        "requested_at": iso(v.requested_at),
        "decided_at": iso(v.decided_at),
        "window_closes_at": iso(v.window_closes_at),
        "version": v.version,
    }


@bp.post("/orders/<order_id:uuid>/fulfilment")
@requires("order.fulfil")
@api(body=FulfilmentBody)
async def update_fulfilment(request: Request, order_id: UUID, body: FulfilmentBody) -> HTTPResponse:
    """The selling vendor moves a paid order to its next step: packed → shipped → delivered."""
    c = _c(request)
    view = await c.fulfilment.update(
        order_id, body.status, courier=body.courier, tracking_id=body.tracking_id, actor=actor_of(request)
    )
    return json(fulfilment_reply(view))


@bp.post("/orders/<order_id:uuid>/returns")
@requires("order.return")
@api(body=ReturnBody, status=201, idempotency_key=True)
async def request_return(request: Request, order_id: UUID, body: ReturnBody) -> HTTPResponse:
    """The buyer asks to return units of a delivered order, within the return window."""
    key = request.ctx.idempotency_key
    c = _c(request)
    view = await c.fulfilment.request_return(
        order_id,
        idempotency_key=key,
        reason=body.reason,
        actor=actor_of(request),
        items=[{"product_id": str(i.product_id), "quantity": i.quantity} for i in body.items],
    )
    return json(return_reply(view), status=201)


@bp.post("/orders/<order_id:uuid>/returns/<return_id:uuid>/decision")
@requires("order.fulfil")
@api(body=DecisionBody)
async def decide_return(request: Request, order_id: UUID, return_id: UUID, body: DecisionBody) -> HTTPResponse:
    """The selling vendor accepts (the return is refunded) or refuses a return."""
    c = _c(request)
    view = await c.fulfilment.decide_return(
        order_id, str(return_id), accept=body.accept, note=body.note, actor=actor_of(request)
    )
    reply = return_reply(view)
    reply["refund"] = None
    if view.refund_id is not None:
        refund = await c.refunds.current(order_id, view.refund_id)
        if refund.status == "requested" and c.settings.refund_execute_inline:
            await c.refunds.execute_quietly(refund.payment_id, refund.refund_id)  # else the refund manager does
            refund = await c.refunds.current(order_id, view.refund_id)
        reply["refund"] = refund_reply(refund)
    return json(reply)


async def order_fulfilment(db: Any, row: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /orders/:id`` adds: where the parcel is, and the buyer's returns."""
    returns = [
        {
            "return_id": str(r["return_id"]),
            "status": r["status"],
            "items": r["items"],
            "reason": r["reason"],
            "amount": money(r["amount"]),
            "note": r["note"],
            "refund_id": str(r["refund_id"]) if r["refund_id"] else None,
            "requested_at": iso(r["requested_at"]),
            "decided_at": iso(r["decided_at"]),
        }
        for r in await order_returns(db, str(row["id"]))
    ]
    return {
        "fulfilment": {
            "status": row["fulfilment_status"],
            "courier": row["courier"],
            "tracking_id": row["tracking_id"],
            "confirmed_at": iso(row["confirmed_at"]),
            "packed_at": iso(row["packed_at"]),
            "shipped_at": iso(row["shipped_at"]),
            "delivered_at": iso(row["delivered_at"]),
        },
        "returns": returns,
    }
