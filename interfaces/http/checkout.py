"""Live cart and instant checkout (spec §4.3), order status, and the payment providers' callbacks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.checkout import CartView, Checkout, Item, Placed, cart_id_for, order_id_for, payment_id_for
from domain.errors import DomainError
from infra import metrics
from infra.idempotency import request_hash
from infra.payments.ports import GatewayError, GatewayRejected, InvalidCallback
from infra.version_waiter import CARTS, ORDERS
from interfaces.http.auth import authenticate, refusal
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response, idempotent_replay
from interfaces.http.fulfilment import order_fulfilment
from interfaces.http.presenters import iso, money, money_fields
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, FreeForm, Money, callback_params
from projections.carts_pg import get_cart
from projections.orders_pg import get_order, order_refunds, stream_vendor

bp = Blueprint("checkout", url_prefix="/api/v1/live-commerce")


class CartAddBody(Body):
    stream_id: UUID
    product_id: UUID
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    special_price: Money | None = None


class CartQuery(Body):
    stream_id: UUID
    min_version: Annotated[int, Field(ge=0)] | None = None


class CartItemIn(Body):
    """A stream item ``{product_id, quantity, price}``, or what the buyer holds or won: a flash-sale hold
    ``{product_id, flash_sale_id, reservation_id}``, an auction lot ``{auction_id}``, a group-buy hold
    ``{group_buy_id, hold_id}``."""

    product_id: UUID | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    price: Money | None = None
    # Paying for units held in a flash sale (the answer of POST /flash-sales/:id/purchase):
    flash_sale_id: UUID | None = None
    reservation_id: UUID | None = None
    auction_id: UUID | None = None  # the winner paying for the lot
    group_buy_id: UUID | None = None  # a member paying for their hold once the group buy unlocked
    hold_id: UUID | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CartItemIn:
        if self.auction_id is not None:
            if self.flash_sale_id or self.reservation_id or self.group_buy_id or self.hold_id:
                raise ValueError("an auction lot is paid with {auction_id} alone")
        elif self.group_buy_id is not None or self.hold_id is not None:
            if self.group_buy_id is None or self.hold_id is None or self.flash_sale_id or self.reservation_id:
                raise ValueError("a group-buy hold is paid with {group_buy_id, hold_id}")
        elif self.product_id is None:
            raise ValueError("product_id is required")
        elif (self.flash_sale_id is None) != (self.reservation_id is None):
            raise ValueError("a flash-sale hold needs both flash_sale_id and reservation_id")
        return self

    def item(self) -> Item:
        return Item(
            str(self.product_id) if self.product_id else "",
            self.quantity,
            self.price,
            self.flash_sale_id,
            str(self.reservation_id or self.hold_id) if (self.reservation_id or self.hold_id) else None,
            self.auction_id,
            self.group_buy_id,
        )


class CheckoutBody(Body):
    stream_id: UUID
    # The items; or none of them, or ``cart_id``: the buyer's live cart for the stream is checked out.
    cart_items: Annotated[list[CartItemIn], Field(min_length=1, max_length=50)] | None = None
    cart_id: UUID | None = None
    payment_method: Literal["bkash", "nagad", "rocket", "card", "cod", "emi"]
    shipping_address: FreeForm
    live_discount_code: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    # Extensions: the buyer's phone (required for cash on delivery), EMI months (3, 6 or 12).
    phone: Annotated[str, Field(min_length=6, max_length=20)] | None = None
    emi_months: Literal[3, 6, 12] | None = None
    loyalty_points: Annotated[int, Field(ge=1, le=100_000_000)] | None = None  # spent as a discount (issue 14)
    # The app's stable id for this device (a fraud signal: accounts and addresses per device, issue 17).
    device_id: Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None

    @model_validator(mode="after")
    def _items_or_cart(self) -> CheckoutBody:
        if self.cart_items is not None and self.cart_id is not None:
            raise ValueError("send cart_items, or cart_id to check out your live cart, not both")
        return self


def _buyer(request: Request) -> str | HTTPResponse:
    """The signed-in buyer (commerce needs one): the shared sign-in check of ``interfaces.http.auth``."""
    try:
        return authenticate(request).user_id
    except DomainError as exc:
        return refusal(exc)


@bp.post("/cart/add")
@api(body=CartAddBody, signed_in=True)
async def cart_add(request: Request, body: CartAddBody) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    c = _c(request)
    assert c.checkout is not None
    cart = await c.checkout.add_to_cart(
        body.stream_id, buyer, Item(str(body.product_id), body.quantity, body.special_price)
    )
    return json(_cart_reply(cart, body.stream_id))


def _cart_reply(cart: CartView, stream_id: UUID) -> dict[str, Any]:
    return {
        "cart_id": str(cart.cart_id),
        "stream_id": str(stream_id),
        "status": "open",
        "version": cart.version,
        "items": [
            {"product_id": i["product_id"], "quantity": i["quantity"], "unit_price": money(i["unit_price"])}
            for i in cart.items
        ],
        "subtotal": money(cart.subtotal),
        "discount": money(cart.discount),
        "total": money(cart.total),
        "discount_code": cart.discount_code,
        "order_id": str(cart.order_id) if cart.order_id else None,
        "expires_at": iso(cart.expires_at),
    }


def _placed_reply(p: Placed, redirect: str | None) -> dict[str, Any]:
    return {
        "order_id": str(p.order_id),
        "payment_id": str(p.payment_id),
        "order_status": p.order_status,
        "payment_status": p.payment_status,
        "payment_method": p.payment_method,
        "total": money(p.total),
        "discount": money(p.discount),
        "emi": money_fields(p.emi),
        "payment_url": redirect,
        "version": p.version,
    }


@bp.post("/checkout/instant")
@api(body=CheckoutBody, status=201, idempotency_key=True, signed_in=True, errors=(409, 503))
async def checkout_instant(request: Request, body: CheckoutBody) -> HTTPResponse:
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    key = request.ctx.idempotency_key
    raw = request.json if request.body else {}
    c = _c(request)
    assert c.checkout is not None and c.idempotency is not None
    scope, rhash = f"checkout:{buyer}", request_hash(raw)
    replay = await idempotent_replay(c.idempotency, scope, key, rhash)
    if replay is not None:
        return replay
    placed, redirect = await c.checkout.checkout(
        Checkout(
            stream_id=body.stream_id,
            buyer_id=buyer,
            items=[i.item() for i in body.cart_items or []],
            payment_method=body.payment_method,
            shipping_address=body.shipping_address,
            idempotency_key=key,
            discount_code=body.live_discount_code,
            buyer_phone=body.phone,
            emi_months=body.emi_months,
            from_cart=body.cart_items is None,
            cart_id=body.cart_id,
            loyalty_points=body.loyalty_points or 0,
            device_id=body.device_id,
        )
    )
    reply = _placed_reply(placed, redirect)
    if body.loyalty_points:
        reply["loyalty_points"] = body.loyalty_points
    await c.idempotency.put(scope, key, rhash, 201, reply)
    return json(reply, status=201)


@bp.post("/payments/<payment_id:uuid>/callback/<method:str>")
@api(errors=(404, 409, 503))
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
        metrics.PAYMENT_CALLBACKS.labels(method, "invalid").inc()
        return error_response(400, "invalid_callback", {"reason": exc.message})
    except GatewayRejected as exc:  # the provider does not know the claimed payment: nothing changes
        metrics.PAYMENT_CALLBACKS.labels(method, "refused_by_provider").inc()
        return error_response(409, "payment_provider_refused", {"reason": exc.message, "provider_code": exc.code})
    except GatewayError as exc:  # timeout / unavailable: the provider retries, and the sweep asks later
        metrics.PAYMENT_CALLBACKS.labels(method, "provider_unavailable").inc()
        return error_response(503, "payment_provider_unavailable", {"reason": exc.message})
    reply = _placed_reply(placed, None)
    metrics.PAYMENT_CALLBACKS.labels(method, str(reply.get("payment_status") or "applied")).inc()
    return json(reply)


@bp.get("/payments/<payment_id:uuid>/callback/<method:str>")
@api(errors=(404, 409, 503))
async def payment_callback_get(request: Request, payment_id: UUID, method: str) -> HTTPResponse:
    """The same callback as a GET (a provider that sends the payer's browser back here)."""
    return await payment_callback(request, payment_id, method)


@bp.get("/orders/<order_id:uuid>")
@api(signed_in=True, min_version=True, errors=(404,))
async def order_status(request: Request, order_id: UUID) -> HTTPResponse:
    """The buyer's order with its payment, refunds, fulfilment and returns; its vendor and admins see it too."""
    try:
        actor = authenticate(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    oid = str(order_id)
    row = await visible(request, ORDERS, oid, lambda: get_order(c.read_db, oid), "order_not_found", {"order_id": oid})
    if isinstance(row, HTTPResponse):
        return row
    allowed = (
        str(row["buyer_id"]) == actor.user_id
        or actor.is_admin
        or (
            "vendor" in actor.roles
            and actor.vendor_id is not None
            and await stream_vendor(c.read_db, row["stream_id"]) == actor.vendor_id
        )
    )
    if not allowed:
        return error_response(404, "order_not_found", {"order_id": oid})
    refunds = [
        {
            "refund_id": str(r["refund_id"]),
            "amount": money(r["amount"]),
            "reason": r["reason"],
            "status": r["status"],
            "manual": r["manual"],
            "provider_refund_id": r["provider_refund_id"],
            "failure": r["failure"],
            "requested_at": iso(r["requested_at"]),
            "updated_at": iso(r["updated_at"]),
        }
        for r in await order_refunds(c.read_db, str(order_id))
    ]
    return json(
        {
            **await order_fulfilment(c.read_db, row),
            "order_id": str(row["id"]),
            "status": row["status"],
            "payment_status": row["payment_status"],
            "payment_id": str(row["payment_id"]) if row["payment_id"] else None,
            "payment_method": row["payment_method"],
            "total": money(row["total"]),
            "discount": money(row["discount"]),
            "lines": money_fields(row["lines"]),
            "emi": money_fields(row["emi"]),
            "refunded": money(row["refunded"]),
            "refunds": refunds,
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "version": row["aggregate_version"],
        }
    )


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


@bp.get("/cart")
@api(query=CartQuery, signed_in=True, min_version=True)
async def cart(request: Request, query: CartQuery) -> HTTPResponse:
    """The signed-in buyer's live cart for one show (``stream_id``); ``min_version`` (from ``POST /cart/add``)
    waits for the cart to show that change. A buyer who has added nothing yet has an empty cart (version 0)."""
    buyer = _buyer(request)
    if isinstance(buyer, HTTPResponse):
        return buyer
    c = _c(request)
    cid = str(cart_id_for(buyer, query.stream_id))
    row = await visible(request, CARTS, cid, lambda: get_cart(c.read_db, cid), "cart_not_found", {"cart_id": cid})
    if isinstance(row, HTTPResponse):
        if row.status != 404:
            return row
        row = {
            "id": cid,
            "status": "open",
            "lines": [],
            "subtotal": 0,
            "discount": 0,
            "total": 0,
            "discount_rule": None,
            "order_id": None,
            "expires_at": None,
            "aggregate_version": 0,
        }
    rule = row["discount_rule"] or {}
    return json(
        {
            "cart_id": cid,
            "stream_id": str(query.stream_id),
            "status": row["status"],
            "items": [
                {
                    "product_id": i["product_id"],
                    "quantity": i["quantity"],
                    "unit_price": money(Decimal(str(i["unit_price"]))),
                }
                for i in row["lines"]
            ],
            "subtotal": money(row["subtotal"]),
            "discount": money(row["discount"]),
            "total": money(row["total"]),
            "discount_code": rule.get("code"),
            "order_id": str(row["order_id"]) if row["order_id"] else None,
            "expires_at": iso(row["expires_at"]),
            "version": row["aggregate_version"],
        }
    )
