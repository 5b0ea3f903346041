"""Rocket, as the sandbox plays it (mounted at /rocket): the shape we assume until the merchant contract.

create (de-duplicated by ``requestId``) → the buyer pays → POST JSON callback → verify; refunds are
de-duplicated by ``requestId`` too. Errors are HTTP 4xx with ``{"code", "message"}``.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.payments.sandbox.payer import Callback, ProviderHooks, answer, ledger_of, outage, pause, public_url
from infra.payments.sandbox.state import SandboxPayment, Scenario

bp = Blueprint("sandbox_rocket", url_prefix="/rocket/payment")
WORDS = {
    "initiated": "INITIATED",
    "authorized": "PENDING",
    "completed": "SUCCESS",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
}
CALLBACK_WORDS = {"success": "SUCCESS", "failure": "FAILED", "cancel": "CANCELLED"}


def refused(code: str, message: str, status: int = 400) -> HTTPResponse:
    return json({"code": code, "message": message}, status=status)


def checked(request: Request) -> dict[str, Any] | HTTPResponse:
    body = request.json or {}
    merchant = ledger_of(request).config.rocket_merchant_id
    if request.headers.get("x-merchant-id") != merchant or body.get("merchantId") != merchant:
        return refused("INVALID_MERCHANT", "unknown merchant", status=401)
    return dict(body)


def rocket_payment(request: Request, body: dict[str, Any]) -> SandboxPayment | None:
    payment = ledger_of(request).payments.get(str(body.get("paymentId")))
    return payment if payment is not None and payment.provider == "rocket" else None


@bp.post("/create")
async def create(request: Request) -> HTTPResponse:
    body = checked(request)
    if isinstance(body, HTTPResponse):
        return body
    if (down := outage(request, "rocket", "create")) is not None:
        return down
    ledger = ledger_of(request)
    key = str(body.get("requestId") or "")
    if not key or not body.get("orderId") or not body.get("callbackUrl"):
        return refused("INVALID_REQUEST", "requestId, orderId and callbackUrl are required")
    seen, reply = ledger.replay("rocket-create", key, body)
    if seen:
        return json(reply) if reply else refused("DUPLICATE_REQUEST", "requestId reused", status=409)
    amount = ledger.amount(body.get("amount"))
    if amount is None or body.get("currency") != "BDT":
        return refused("INVALID_AMOUNT", "amount must be a positive BDT amount")
    payment = ledger.add(
        SandboxPayment(
            id=ledger.new_id("RK", 12),
            provider="rocket",
            order_id=str(body["orderId"]),
            amount=amount,
            payer_reference=str(body.get("payerReference") or ""),
            callback_url=str(body["callbackUrl"]),
            scenario=Scenario.parse(str(body.get("payerReference") or "")),
        )
    )
    ledger.stats["rocket_create"] += 1
    reply = ledger.remember(
        "rocket-create",
        key,
        body,
        {
            "paymentId": payment.id,
            "redirectUrl": f"{public_url(request)}/sandbox/pay/{payment.id}",
            "status": "INITIATED",
            "amount": str(amount),
        },
    )
    await pause(request, payment.scenario, "create")
    return json(reply)


@bp.post("/verify")
async def verify(request: Request) -> HTTPResponse:
    body = checked(request)
    if isinstance(body, HTTPResponse):
        return body
    payment = rocket_payment(request, body)
    if payment is None:
        return refused("NOT_FOUND", "unknown paymentId", status=404)
    await pause(request, payment.scenario, "query")
    return json(
        {
            "paymentId": payment.id,
            "orderId": payment.order_id,
            "status": WORDS[payment.state],
            "transactionId": payment.trx_id,
            "amount": str(payment.amount),
            "currency": "BDT",
            "message": payment.reason or WORDS[payment.state],
        }
    )


@bp.post("/refund")
async def refund(request: Request) -> HTTPResponse:
    body = checked(request)
    if isinstance(body, HTTPResponse):
        return body
    ledger, payment = ledger_of(request), rocket_payment(request, body)
    if payment is None:
        return refused("NOT_FOUND", "unknown paymentId", status=404)
    key = str(body.get("requestId") or "")
    if not key:
        return refused("INVALID_REQUEST", "requestId is required")
    seen, reply = ledger.replay("rocket-refund", key, body)
    if seen:
        return json(reply) if reply else refused("DUPLICATE_REQUEST", "requestId reused", status=409)
    amount = ledger.amount(body.get("amount"))
    problem = ledger.refund_error(payment, body.get("transactionId"), amount)
    if problem is not None:
        return refused(
            {
                "state": "INVALID_STATE",
                "transaction": "INVALID_TRANSACTION",
                "amount": "INVALID_AMOUNT",
                "exceeds": "REFUND_EXCEEDS_PAID",
            }[problem],
            f"refund refused: {problem}",
            status=409 if problem in ("state", "exceeds") else 400,
        )
    assert amount is not None
    done = ledger.add_refund(payment, amount, key)
    reply = ledger.remember(
        "rocket-refund",
        key,
        body,
        {
            "refundId": done.refund_id,
            "paymentId": payment.id,
            "amount": str(amount),
            "status": "SUCCESS",
        },
    )
    return await answer(request, payment.scenario, "refund", json(reply))


def callback(payment: SandboxPayment, status: str) -> Callback:
    word = CALLBACK_WORDS[status]
    return Callback(
        "POST",
        payment.callback_url,
        json={
            "paymentId": payment.id,
            "orderId": payment.order_id,
            "status": word,
            "transactionId": payment.trx_id if word == "SUCCESS" else None,
        },
    )


HOOKS = ProviderHooks(captures_on_confirm=True, callback=callback)
