"""Refunds (issue 4): ``POST /orders/:id/refunds`` by an admin or the vendor who sold the order, and
``POST /orders/:id/cash-collected`` (cash on delivery paid to the courier; repeating it changes nothing).
A refund needs an Idempotency-Key: a retry gets the first answer, the same key with another body is refused.
``POST /orders/:id/refunds/:refund_id/resolve`` (admins): a refund in ``manual_review`` (sent, and the provider
could not confirm it) is settled by hand from the provider's portal: ``completed`` or ``failed``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.refunds import RefundView, RequestRefund
from domain.errors import NotPermitted
from infra.idempotency import request_hash
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import idempotent_replay
from interfaces.http.presenters import money
from interfaces.http.schemas import Body, Money

bp = Blueprint("refunds", url_prefix="/api/v1/live-commerce")


class RefundBody(Body):
    amount: Money | None = None  # none: everything not yet refunded
    reason: Annotated[str, Field(min_length=1, max_length=255)]

    @model_validator(mode="after")
    def positive(self) -> RefundBody:
        if self.amount is not None and self.amount <= Decimal("0"):
            raise ValueError("amount must be positive")
        return self


def refund_reply(v: RefundView) -> dict[str, Any]:
    return {
        "refund_id": v.refund_id,
        "order_id": str(v.order_id),
        "payment_id": str(v.payment_id),
        "amount": money(v.amount),
        "reason": v.reason,
        "status": v.status,
        "manual": v.manual,
        "provider_refund_id": v.provider_refund_id,
        "order_status": v.order_status,
        "payment_status": v.payment_status,
        "refunded_total": money(v.refunded_total),
    }


def _key(request: Request) -> str | None:
    key = (request.headers.get("idempotency-key") or "").strip()
    return key if key and len(key) <= 200 else None


@bp.post("/orders/<order_id:uuid>/refunds")
@requires("order.refund")
@api(body=RefundBody, status=201, idempotency_key=True)
async def create_refund(request: Request, order_id: UUID, body: RefundBody) -> HTTPResponse:
    key = request.ctx.idempotency_key
    raw = request.json if request.body else {}
    actor = actor_of(request)
    c = _c(request)
    assert c.refunds is not None and c.idempotency is not None
    scope, rhash = f"refund:{actor.user_id}:{order_id}", request_hash(raw)
    replay = await idempotent_replay(c.idempotency, scope, key, rhash)
    if replay is not None:
        return replay
    view = await c.refunds.request(RequestRefund(order_id, key, body.amount, body.reason), actor)
    if view.status == "requested" and c.settings.refund_execute_inline:
        await c.refunds.execute_quietly(view.payment_id, view.refund_id)  # else the refund manager does
        view = await c.refunds.current(order_id, view.refund_id)
    reply = refund_reply(view)
    await c.idempotency.put(scope, key, rhash, 201, reply)
    return json(reply, status=201)


@bp.post("/orders/<order_id:uuid>/cash-collected")
@requires("order.refund")
@api()
async def cash_collected(request: Request, order_id: UUID) -> HTTPResponse:
    """Cash on delivery: the courier collected the total, so the order is paid (refunds are then manual)."""
    c = _c(request)
    assert c.refunds is not None
    order_status, payment_status = await c.refunds.collect_cash(order_id, actor_of(request))
    return json({"order_id": str(order_id), "order_status": order_status, "payment_status": payment_status})


class ResolveBody(Body):
    outcome: Literal["completed", "failed"]
    provider_refund_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


@bp.post("/orders/<order_id:uuid>/refunds/<refund_id:uuid>/resolve")
@requires("order.refund")
@api(body=ResolveBody, errors=(403,))
async def resolve_refund(request: Request, order_id: UUID, refund_id: UUID, body: ResolveBody) -> HTTPResponse:
    """An admin settles a refund under manual review: it went back (completed) or it did not (failed)."""
    if not actor_of(request).is_admin:
        raise NotPermitted("only an admin settles a refund under review", action="order.refund")
    c = _c(request)
    view = await c.refunds.resolve(
        order_id,
        str(refund_id),
        completed=body.outcome == "completed",
        provider_refund_id=body.provider_refund_id,
        note=body.note,
    )
    return json(refund_reply(view))
