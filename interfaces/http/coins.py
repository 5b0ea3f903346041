"""Coins and virtual gifts (issue 14 part 3): the wallet, top-ups and their provider callbacks, the gift
catalogue, and sending gifts to a live show."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.access import Actor
from application.coins import TOP_UP_METHODS, TopUpView, wallet_id_for
from application.gifts import SendGift
from domain.errors import DomainError
from domain.gift_catalogue import CATALOGUE_ID
from infra.payments.ports import GatewayError, GatewayRejected, InvalidCallback
from infra.version_waiter import COIN_WALLETS, GIFT_CATALOGUE
from interfaces.http.auth import authenticate, refusal, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso, money
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, callback_params
from projections.coins_pg import active_gifts, get_catalogue, get_wallet, wallet_history

bp = Blueprint("coins", url_prefix="/api/v1/live-commerce")

GiftId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


class TopUpBody(Body):
    coins: Annotated[int, Field(ge=1, le=100_000)]
    payment_method: Literal["bkash", "nagad", "rocket", "card"]


class GiftBody(Body):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    name_bn: Annotated[str, Field(min_length=1, max_length=60)]
    coins: Annotated[int, Field(ge=1, le=1_000_000)]
    animation_key: Annotated[str, Field(min_length=1, max_length=60)]


class SendGiftBody(Body):
    gift_id: GiftId
    quantity: Annotated[int, Field(ge=1, le=999)] = 1
    message: Annotated[str, Field(max_length=200)] | None = None


class WalletQuery(Body):
    min_version: Annotated[int, Field(ge=0)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


def _signed_in(request: Request) -> Actor | HTTPResponse:
    try:
        return authenticate(request)
    except DomainError as exc:
        return refusal(exc)


def _key(request: Request) -> str | None:
    key = (request.headers.get("idempotency-key") or "").strip()
    return key if key and len(key) <= 200 else None


def _top_up(v: TopUpView) -> dict[str, Any]:
    return {
        "top_up_id": str(v.top_up_id),
        "wallet_id": str(v.wallet_id),
        "coins": v.coins,
        "amount": money(v.amount),
        "payment_method": v.payment_method,
        "status": v.status,
        "payment_url": v.payment_url,
        "balance": v.balance,
        "version": v.version,
    }


@bp.get("/wallet")
@api(query=WalletQuery, signed_in=True, min_version=True)
async def wallet(request: Request, query: WalletQuery) -> HTTPResponse:
    """The signed-in viewer's coins: balance and history, newest first (``min_version`` from a command)."""
    actor = _signed_in(request)
    if isinstance(actor, HTTPResponse):
        return actor
    c = _c(request)
    wid = str(wallet_id_for(actor.user_id))
    row = await visible(
        request, COIN_WALLETS, wid, lambda: get_wallet(c.read_db, wid), "wallet_not_found", {"wallet_id": wid}
    )
    if isinstance(row, HTTPResponse):
        if row.status != 404:
            return row
        row = {"balance": 0, "coins_bought": 0, "coins_spent": 0, "aggregate_version": 0}
    history = [
        {
            "id": h["entry_id"],
            "kind": h["kind"],
            "status": h["status"],
            "coins": h["coins"],
            "balance": h["balance"],
            "amount": money(h["amount"]) if h["amount"] is not None else None,
            "payment_method": h["payment_method"],
            "stream_id": str(h["stream_id"]) if h["stream_id"] else None,
            "gift_id": h["gift_id"],
            "quantity": h["quantity"],
            "message": h["message"],
            "reason": h["reason"],
            "created_at": iso(h["created_at"]),
            "updated_at": iso(h["updated_at"]),
        }
        for h in await wallet_history(c.read_db, wid, query.limit)
    ]
    return json(
        {
            "wallet_id": wid,
            "balance": row["balance"],
            "coins_bought": row["coins_bought"],
            "coins_spent": row["coins_spent"],
            "history": history,
            "version": row["aggregate_version"],
        }
    )


@bp.post("/wallet/top-ups")
@api(body=TopUpBody, status=201, idempotency_key=True, signed_in=True, errors=(409, 503))
async def top_up(request: Request, body: TopUpBody) -> HTTPResponse:
    """Buy coins: the answer's ``payment_url`` is the provider's page; the coins arrive once it is paid."""
    actor = _signed_in(request)
    if isinstance(actor, HTTPResponse):
        return actor
    key = request.ctx.idempotency_key
    c = _c(request)
    try:
        view = await c.coins.request_top_up(actor.user_id, body.coins, body.payment_method, key)
    except GatewayRejected as exc:
        return error_response(409, "payment_provider_refused", {"reason": exc.message, "provider_code": exc.code})
    except GatewayError as exc:  # nothing opened: the same key tries again
        return error_response(503, "payment_provider_unavailable", {"reason": exc.message})
    return json(_top_up(view), status=201)


@bp.post("/wallets/<wallet_id:uuid>/top-ups/<top_up_id:uuid>/callback/<method:str>")
@api(errors=(404, 409, 503))
async def top_up_callback(request: Request, wallet_id: UUID, top_up_id: UUID, method: str) -> HTTPResponse:
    """Providers call back here; the claim is confirmed with the provider before any coin moves."""
    if method not in TOP_UP_METHODS:
        return error_response(404, "route_not_found")
    params: dict[str, Any] = {k: v[0] for k, v in request.args.items()}
    if request.body and (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        params.update({k: v[0] for k, v in (request.form or {}).items()})
    elif request.body and isinstance(request.json, dict):
        params.update(request.json)
    params = callback_params(params)
    c = _c(request)
    try:
        view = await c.coins.callback(wallet_id, top_up_id, method, params)
    except InvalidCallback as exc:
        return error_response(400, "invalid_callback", {"reason": exc.message})
    except GatewayRejected as exc:
        return error_response(409, "payment_provider_refused", {"reason": exc.message, "provider_code": exc.code})
    except GatewayError as exc:
        return error_response(503, "payment_provider_unavailable", {"reason": exc.message})
    return json(_top_up(view))


@bp.get("/wallets/<wallet_id:uuid>/top-ups/<top_up_id:uuid>/callback/<method:str>")
@api(errors=(404, 409, 503))
async def top_up_callback_get(request: Request, wallet_id: UUID, top_up_id: UUID, method: str) -> HTTPResponse:
    """The same callback as a GET (a provider that sends the payer's browser back here)."""
    return await top_up_callback(request, wallet_id, top_up_id, method)


@bp.get("/gifts")
@api(min_version=True)
async def gifts(request: Request) -> HTTPResponse:
    """The gift catalogue (anyone); ``min_version`` from an admin's change waits for it."""
    c = _c(request)
    cid = str(CATALOGUE_ID)
    row = await visible(request, GIFT_CATALOGUE, cid, lambda: get_catalogue(c.read_db, cid), "gift_not_found", {})
    if isinstance(row, HTTPResponse):
        if row.status != 404:
            return row
        row = {"aggregate_version": 0}
    return json(
        {
            "gifts": [
                {
                    "id": g["gift_id"],
                    "name": g["name"],
                    "name_bn": g["name_bn"],
                    "coins": g["coins"],
                    "animation_key": g["animation_key"],
                }
                for g in await active_gifts(c.read_db)
            ],
            "coin_price": money(c.settings.coin_price_bdt),
            "version": row["aggregate_version"],
        }
    )


@bp.put("/gifts/<gift_id:str>")
@requires("gift.manage")
@api(body=GiftBody)
async def put_gift(request: Request, gift_id: str, body: GiftBody) -> HTTPResponse:
    version = await _c(request).gifts.list_gift({"gift_id": gift_id, **body.model_dump()})
    return json({"id": gift_id, **body.model_dump(), "version": version})


@bp.delete("/gifts/<gift_id:str>")
@requires("gift.manage")
@api()
async def retire_gift(request: Request, gift_id: str) -> HTTPResponse:
    version = await _c(request).gifts.retire_gift(gift_id)
    return json({"id": gift_id, "retired": True, "version": version})


@bp.post("/streams/<stream_id:uuid>/gifts")
@api(body=SendGiftBody, status=201, idempotency_key=True, signed_in=True)
async def send_gift(request: Request, stream_id: UUID, body: SendGiftBody) -> HTTPResponse:
    """Send gifts to the show's host: spends coins once per Idempotency-Key; the room sees ``gift_received``."""
    actor = _signed_in(request)
    if isinstance(actor, HTTPResponse):
        return actor
    key = request.ctx.idempotency_key
    v = await _c(request).gifts.send(
        SendGift(
            stream_id=stream_id,
            sender_id=actor.user_id,
            sender_name=actor.name or f"user-{actor.user_id[:6]}",
            gift_id=body.gift_id,
            quantity=body.quantity,
            message=body.message or None,
            idempotency_key=key,
        )
    )
    return json(
        {
            "send_id": v.send_id,
            "stream_id": v.stream_id,
            "gift_id": v.gift_id,
            "quantity": v.quantity,
            "coins": v.coins,
            "balance": v.balance,
            "version": v.version,
        },
        status=201,
    )
