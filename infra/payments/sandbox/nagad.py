"""Nagad checkout, as the sandbox plays it (mounted at /nagad, like .../remote-payment-gateway-1.0 on Nagad).

initialize (merchant + order + challenge, sealed) → complete (amount, answering Nagad's challenge) → the
buyer pays → GET callback with ``payment_ref_id`` and ``status`` → verify. Refunds (purchase cancel) are
de-duplicated by ``referenceNo``. Sealing is the unencrypted stand-in from ``infra.payments.nagad``.
"""

from __future__ import annotations

import secrets
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.payments.nagad import seal, unseal
from infra.payments.sandbox.payer import Callback, ProviderHooks, answer, ledger_of, outage, pause, public_url
from infra.payments.sandbox.state import SandboxPayment, Scenario

bp = Blueprint("sandbox_nagad", url_prefix="/nagad/api/dfs")
WORDS = {"authorized": "InProgress", "completed": "Success", "failed": "Failed", "cancelled": "Aborted"}
CALLBACK_WORDS = {"success": "Success", "failure": "Failed", "cancel": "Aborted"}


def refused(reason: str, message: str, status: int = 400) -> HTTPResponse:
    return json({"reason": reason, "message": message}, status=status)


def sealed(payload: dict[str, Any]) -> HTTPResponse:
    data, signature = seal(payload)
    return json({"sensitiveData": data, "signature": signature})


def opened(request: Request) -> dict[str, Any] | HTTPResponse:
    if not request.headers.get("x-km-api-version") or not request.headers.get("x-km-ip-v4"):
        return refused("InvalidHeader", "X-KM-Api-Version and X-KM-IP-V4 are required")
    body = request.json or {}
    try:
        payload = unseal(str(body.get("sensitiveData")), str(body.get("signature")))
    except ValueError as exc:
        return refused("InvalidSignature", str(exc))
    if payload.get("merchantId") != ledger_of(request).config.nagad_merchant_id:
        return refused("InvalidMerchant", "unknown merchant", status=401)
    return payload


def nagad_payment(request: Request, reference: str) -> SandboxPayment | None:
    payment = ledger_of(request).payments.get(reference)
    return payment if payment is not None and payment.provider == "nagad" else None


@bp.post("/check-out/initialize/<merchant_id>/<order_id>")
async def initialize(request: Request, merchant_id: str, order_id: str) -> HTTPResponse:
    payload = opened(request)
    if isinstance(payload, HTTPResponse):
        return payload
    if (down := outage(request, "nagad", "create")) is not None:
        return down
    ledger = ledger_of(request)
    matches = (payload.get("merchantId"), payload.get("orderId")) == (merchant_id, order_id)
    if not matches or not order_id.isalnum():
        return refused("InvalidRequest", "merchantId and orderId must match the path; orderId alphanumeric")
    if any(p.provider == "nagad" and p.order_id == order_id for p in ledger.payments.values()):
        return refused("DuplicateOrderId", f"order {order_id} was already initialized", status=409)
    payment = ledger.add(SandboxPayment(id=ledger.new_id("NG", 16), provider="nagad", order_id=order_id, amount=None))
    payment.extra.update(challenge=secrets.token_hex(20), merchant=merchant_id)
    ledger.stats["nagad_initialize"] += 1
    return sealed(
        {
            "paymentReferenceId": payment.id,
            "challenge": payment.extra["challenge"],
            "acceptDateTime": payload.get("datetime"),
        }
    )


@bp.post("/check-out/complete/<reference>")
async def complete(request: Request, reference: str) -> HTTPResponse:
    payload = opened(request)
    if isinstance(payload, HTTPResponse):
        return payload
    ledger, body, payment = ledger_of(request), request.json or {}, nagad_payment(request, reference)
    if payment is None:
        return refused("PaymentNotFound", "unknown paymentReferenceId", status=404)
    amount = ledger.amount(payload.get("amount"))
    if payload.get("challenge") != payment.extra["challenge"] or payload.get("orderId") != payment.order_id:
        return refused("InvalidChallenge", "challenge or orderId does not match initialize")
    if amount is None or payload.get("currencyCode") != "050":
        return refused("InvalidAmount", "amount must be a positive BDT amount (currencyCode 050)")
    if payment.amount is not None and payment.amount != amount:
        return refused("AlreadyCompleted", "complete was already called with another amount", status=409)
    info = body.get("additionalMerchantInfo") or {}
    payment.amount, payment.callback_url = amount, str(body.get("merchantCallbackURL") or "")
    payment.payer_reference = str(info.get("payerReference") or "")
    payment.scenario = Scenario.parse(payment.payer_reference)
    payment.extra["info"] = info
    await pause(request, payment.scenario, "create")
    return json({"status": "Success", "callBackUrl": f"{public_url(request)}/sandbox/pay/{payment.id}"})


@bp.get("/verify/payment/<reference>")
async def verify(request: Request, reference: str) -> HTTPResponse:
    payment = nagad_payment(request, reference)
    if payment is None:
        return refused("PaymentNotFound", "unknown paymentReferenceId", status=404)
    await pause(request, payment.scenario, "query")
    word = "Ready" if payment.state == "initiated" and payment.amount else WORDS.get(payment.state, "OrderInitiated")
    return json(
        {
            "merchantId": ledger_of(request).config.nagad_merchant_id,
            "orderId": payment.order_id,
            "paymentRefId": payment.id,
            "amount": str(payment.amount or ""),
            "clientMobileNo": "017****1234",
            "issuerPaymentRefNo": payment.trx_id,
            "additionalMerchantInfo": payment.extra.get("info"),
            "status": word,
            "statusCode": "000" if word == "Success" else "001",
            "message": payment.reason or word,
        }
    )


@bp.post("/purchase/cancel")
async def cancel(request: Request) -> HTTPResponse:
    payload = opened(request)
    if isinstance(payload, HTTPResponse):
        return payload
    ledger = ledger_of(request)
    payment = nagad_payment(request, str(payload.get("paymentRefId")))
    if payment is None:
        return refused("PaymentNotFound", "unknown paymentRefId", status=404)
    reference = str(payload.get("referenceNo") or "")
    if not reference:
        return refused("InvalidRequest", "referenceNo is required")
    seen, reply = ledger.replay("nagad-cancel", reference, payload)
    if seen:
        return sealed(reply) if reply else refused("DuplicateReference", "referenceNo reused", status=409)
    amount = ledger.amount(payload.get("cancelAmount"))
    problem = ledger.refund_error(payment, payload.get("issuerPaymentRefNo"), amount)
    if problem is not None:
        return refused(
            {
                "state": "InvalidPaymentState",
                "transaction": "InvalidTransaction",
                "amount": "InvalidAmount",
                "exceeds": "CancelAmountExceeded",
            }[problem],
            f"refund refused: {problem}",
        )
    assert amount is not None
    done = ledger.add_refund(payment, amount, reference)
    reply = ledger.remember(
        "nagad-cancel",
        reference,
        payload,
        {
            "paymentRefId": payment.id,
            "cancelTrxId": done.refund_id,
            "cancelAmount": str(amount),
            "status": "Success",
        },
    )
    return await answer(request, payment.scenario, "refund", sealed(reply))


def callback(payment: SandboxPayment, status: str) -> Callback:
    word = CALLBACK_WORDS[status]
    return Callback(
        "GET",
        payment.callback_url,
        params={
            "merchant": payment.extra.get("merchant", ""),
            "order_id": payment.order_id,
            "payment_ref_id": payment.id,
            "status": word,
            "status_code": "00_0000_000" if word == "Success" else "00_1000_001",
            "message": word,
        },
    )


HOOKS = ProviderHooks(captures_on_confirm=True, callback=callback)
