"""Live cart and instant checkout (spec §4.3), order status, and the payment providers' callbacks."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.checkout import Checkout, Item, Placed, order_id_for, payment_id_for
from domain.errors import DomainError
from infra.idempotency import request_hash
from infra.payments.ports import GatewayError, GatewayRejected, InvalidCallback
from interfaces.http.auth import authenticate, refusal
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response, idempotent_replay
from interfaces.http.fulfilment import order_fulfilment
from interfaces.http.presenters import iso, money
from interfaces.http.schemas import Body, FreeForm, Money, callback_params
from projections.orders_pg import get_order, open_cod_orders, order_refunds, stream_vendor

bp = Blueprint("checkout", url_prefix="/api/v1/live-commerce")


class CartAddBody(Body):
    stream_id: UUID
    product_id: UUID
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    special_price: Money | None = None


class CartItemIn(Body):
    product_id: UUID
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    price: Money | None = None
    # Paying for units held in a flash sale (the answer of POST /flash-sales/:id/purchase):
    flash_sale_id: UUID | None = None
    reservation_id: UUID | None = None


class CheckoutBody(Body):
    stream_id: UUID
    cart_items: Annotated[list[CartItemIn], Field(min_length=1, max_length=50)]
    payment_method: Literal["bkash", "nagad", "rocket", "card", "cod", "emi"]
    shipping_address: FreeForm
    live_discount_code: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    # Extensions: the buyer's phone (required for cash on delivery), EMI months (3, 6 or 12).
    phone: Annotated[str, Field(min_length=6, max_length=20)] | None = None
    emi_months: Literal[3, 6, 12] | None = None



def _buyer(request: Request) -> str | HTTPResponse:
    """The signed-in buyer (commerce needs one): the shared sign-in check of ``interfaces.http.auth``."""
    try:
        return authenticate(request).user_id
    except DomainError as exc:
        return refusal(exc)


@bp.post("/cart/add")
async def cart_add(request: Request) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    body = CartAddBody.model_validate(request.json if request.body else {})
    c = _c(request)
    assert c.checkout is not None
    cart = await c.checkout.add_to_cart(body.stream_id, buyer,
                                        Item(str(body.product_id), body.quantity, body.special_price))
    return json({"cart_id": str(cart.cart_id), "stream_id": str(body.stream_id), "version": cart.version,
                 "items": [{"product_id": i["product_id"], "quantity": i["quantity"],
                            "unit_price": money(i["unit_price"])} for i in cart.items],
                 "subtotal": money(cart.subtotal), "total": money(cart.total)})


def _placed_reply(p: Placed, redirect: str | None) -> dict[str, Any]:
    return {"order_id": str(p.order_id), "payment_id": str(p.payment_id), "order_status": p.order_status,
            "payment_status": p.payment_status, "payment_method": p.payment_method, "total": money(p.total),
            "discount": money(p.discount), "emi": p.emi, "payment_url": redirect}


@bp.post("/checkout/instant")
async def checkout_instant(request: Request) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    key = (request.headers.get("idempotency-key") or "").strip()
    if not key or len(key) > 200:
        return error_response(400, "idempotency_key_required")
    raw = request.json if request.body else {}
    body = CheckoutBody.model_validate(raw)
    c = _c(request)
    assert c.checkout is not None and c.idempotency is not None and c.read_db is not None
    scope, rhash = f"checkout:{buyer}", request_hash(raw)
    replay = await idempotent_replay(c.idempotency, scope, key, rhash)
    if replay is not None:
        return replay
    open_cod = await open_cod_orders(c.read_db, buyer) if body.payment_method == "cod" else 0
    placed, redirect = await c.checkout.checkout(Checkout(
        stream_id=body.stream_id, buyer_id=buyer,
        items=[Item(str(i.product_id), i.quantity, i.price, i.flash_sale_id,
                    str(i.reservation_id) if i.reservation_id else None) for i in body.cart_items],
        payment_method=body.payment_method, shipping_address=body.shipping_address, idempotency_key=key,
        discount_code=body.live_discount_code, buyer_phone=body.phone, emi_months=body.emi_months,
        open_cod_orders=open_cod))
    reply = _placed_reply(placed, redirect)
    await c.idempotency.put(scope, key, rhash, 201, reply)
    return json(reply, status=201)


@bp.route("/payments/<payment_id:uuid>/callback/<method:str>", methods=["GET", "POST"])
async def payment_callback(request: Request, payment_id: UUID, method: str) -> HTTPResponse:
    """Providers call back here; the claim is confirmed with the provider before it is applied."""
    if method not in ("bkash", "nagad", "rocket", "card", "emi"):
        return error_response(404, "route_not_found")
    params: dict[str, Any] = {k: v[0] for k, v in request.args.items()}
    if request.body and (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        params.update({k: v[0] for k, v in (request.form or {}).items()})  # SSLCommerz IPN: a form POST
    elif request.body and isinstance(request.json, dict):
        params.update(request.json)
    params = callback_params(params)  # the edges' text rule (ADR 0018): 422 before the provider is asked
    c = _c(request)
    assert c.checkout is not None
    try:
        placed = await c.checkout.payment_callback(payment_id, method, params)
    except InvalidCallback as exc:  # not what the provider sends: nothing changes
        return error_response(400, "invalid_callback", {"reason": exc.message})
    except GatewayRejected as exc:  # the provider does not know the claimed payment: nothing changes
        return error_response(409, "payment_provider_refused", {"reason": exc.message, "provider_code": exc.code})
    except GatewayError as exc:  # timeout / unavailable: the provider retries, and the sweep asks later
        return error_response(503, "payment_provider_unavailable", {"reason": exc.message})
    return json(_placed_reply(placed, None))


@bp.get("/orders/<order_id:uuid>")
async def order_status(request: Request, order_id: UUID) -> HTTPResponse:
    """The buyer's order with its payment, refunds, fulfilment and returns; its vendor and admins see it too."""
    try:
        actor = authenticate(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    row = await get_order(c.read_db, str(order_id))
    allowed = row is not None and (str(row["buyer_id"]) == actor.user_id or actor.is_admin or (
        "vendor" in actor.roles and actor.vendor_id is not None
        and await stream_vendor(c.read_db, row["stream_id"]) == actor.vendor_id))
    if row is None or not allowed:
        return error_response(404, "order_not_found", {"order_id": str(order_id)})
    refunds = [{"refund_id": str(r["refund_id"]), "amount": money(r["amount"]), "reason": r["reason"],
                "status": r["status"], "manual": r["manual"], "provider_refund_id": r["provider_refund_id"],
                "failure": r["failure"], "requested_at": iso(r["requested_at"]), "updated_at": iso(r["updated_at"])}
               for r in await order_refunds(c.read_db, str(order_id))]
    return json({**await order_fulfilment(c.read_db, row),
                 "order_id": str(row["id"]), "status": row["status"], "payment_status": row["payment_status"],
                 "payment_id": str(row["payment_id"]) if row["payment_id"] else None,
                 "payment_method": row["payment_method"], "total": money(row["total"]),
                 "discount": money(row["discount"]), "lines": row["lines"], "emi": row["emi"],
                 "refunded": money(row["refunded"]), "refunds": refunds,
                 "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])})


@bp.exception(GatewayError)
async def provider_did_not_open(request: Request, exc: GatewayError) -> HTTPResponse:
    """A checkout whose order is placed but whose provider opened no session (down: 503, refused: 409): the
    answer names the order, so the buyer can follow it; if no session ever opens, the payment reconciler fails
    it after ``payment_session_timeout_s`` and its holds go back (ADR 0017)."""
    details: dict[str, Any] = {"reason": exc.message}
    key = (request.headers.get("idempotency-key") or "").strip()
    if request.path.endswith("/checkout/instant") and key:
        order_id = order_id_for(authenticate(request).user_id, key)
        details |= {"order_id": str(order_id), "payment_id": str(payment_id_for(order_id))}
    if isinstance(exc, GatewayRejected):
        return error_response(409, "payment_provider_refused", {**details, "provider_code": exc.code})
    return error_response(503, "payment_provider_unavailable", details)
