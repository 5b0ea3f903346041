"""bKash Tokenized Checkout, as the sandbox plays it (mounted at /bkash, like .../v1.2.0-beta on bKash).

Faithful where our adapter depends on it: credentials in headers and body, id_tokens that expire (HTTP 401),
refusals as HTTP 200 with a ``statusCode`` other than ``0000``, the buyer's callback as a GET redirect with
``paymentID`` and ``status``. One deliberate difference, asked for by our tests: a repeated execute replays
the first answer (same trxID) unless the payment's scenario says ``repeat=refuse`` (production: 2062).
Refund status (the refund call with only ``paymentID`` and ``trxID``) answers the latest refund, as bKash
does, plus ``refunds``: every refund with the ``sku`` it was sent with (a sandbox extension the adapter uses
to find a refund by our id; production answers one refund: check the merchant contract).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.payments.sandbox.payer import Callback, ProviderHooks, answer, ledger_of, outage, pause, public_url
from infra.payments.sandbox.state import SandboxPayment, Scenario

bp = Blueprint("sandbox_bkash", url_prefix="/bkash/tokenized/checkout")
WORDS = {
    "initiated": "Initiated",
    "authorized": "Initiated",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def refused(code: str, message: str) -> HTTPResponse:
    return json({"statusCode": code, "statusMessage": message})


def ok(**fields: Any) -> HTTPResponse:
    return json({**fields, "statusCode": "0000", "statusMessage": "Successful"})


def unauthorized(request: Request) -> HTTPResponse | None:
    ledger = ledger_of(request)
    if request.headers.get("x-app-key") != ledger.config.bkash_app_key:
        return json({"message": "Unauthorized"}, status=401)
    state = ledger.token_state(ledger.id_tokens, request.headers.get("authorization", ""))
    if state != "valid":
        ledger.stats["bkash_token_refused"] += 1
        return json({"message": "The incoming token has expired" if state == "expired" else "Unauthorized"}, status=401)
    return None


def payment_of(request: Request) -> SandboxPayment | None:
    payment = ledger_of(request).payments.get(str((request.json or {}).get("paymentID")))
    return payment if payment is not None and payment.provider == "bkash" else None


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S:%f")[:-3] + " GMT+0000"


# ---- tokens --------------------------------------------------------------------------------------------
@bp.post("/token/grant")
async def grant(request: Request) -> HTTPResponse:
    return token(request, "grant")


@bp.post("/token/refresh")
async def refresh(request: Request) -> HTTPResponse:
    return token(request, "refresh")


def token(request: Request, how: str) -> HTTPResponse:
    ledger, body = ledger_of(request), request.json or {}
    cfg = ledger.config
    if (request.headers.get("username"), request.headers.get("password")) != (cfg.bkash_username, cfg.bkash_password):
        return refused("2079", "Invalid username or password")
    if (body.get("app_key"), body.get("app_secret")) != (cfg.bkash_app_key, cfg.bkash_app_secret):
        return refused("2001", "Invalid App Key")
    refresh = None
    if how == "refresh":
        refresh = str(body.get("refresh_token"))
        if ledger.token_state(ledger.refresh_tokens, refresh) != "valid":
            return refused("2079", "Invalid or expired refresh token")
    id_token, refresh = ledger.issue_tokens(refresh)
    ledger.stats[f"bkash_{how}"] += 1
    return ok(id_token=id_token, token_type="Bearer", expires_in=int(cfg.token_ttl), refresh_token=refresh)


# ---- checkout ------------------------------------------------------------------------------------------
@bp.post("/create")
async def create(request: Request) -> HTTPResponse:
    if (denied := unauthorized(request) or outage(request, "bkash", "create")) is not None:
        return denied
    ledger, body = ledger_of(request), request.json or {}
    amount = ledger.amount(body.get("amount"))
    if body.get("mode") != "0011" or body.get("intent") != "sale":
        return refused("2008", "Invalid mode or intent")
    if amount is None:
        return refused("2006", "Invalid amount")
    if body.get("currency") != "BDT":
        return refused("2007", "Invalid currency")
    if not body.get("callbackURL") or not body.get("payerReference") or not body.get("merchantInvoiceNumber"):
        return refused("2025", "Invalid request body")
    payment = ledger.add(
        SandboxPayment(
            id=ledger.new_id("TR0011"),
            provider="bkash",
            order_id=str(body["merchantInvoiceNumber"]),
            amount=amount,
            payer_reference=str(body["payerReference"]),
            callback_url=str(body["callbackURL"]),
            scenario=Scenario.parse(str(body["payerReference"])),
        )
    )
    ledger.stats["bkash_create"] += 1
    await pause(request, payment.scenario, "create")
    return ok(
        paymentID=payment.id,
        bkashURL=f"{public_url(request)}/sandbox/pay/{payment.id}",
        callbackURL=payment.callback_url,
        amount=str(amount),
        currency="BDT",
        intent="sale",
        merchantInvoiceNumber=payment.order_id,
        transactionStatus="Initiated",
        paymentCreateTime=stamp(),
    )


@bp.post("/execute")
async def execute(request: Request) -> HTTPResponse:
    if (denied := unauthorized(request)) is not None:
        return denied
    payment = payment_of(request)
    if payment is None:
        return refused("2002", "Invalid Payment ID")
    ledger_of(request).stats["bkash_execute"] += 1
    first = payment.extra.get("execute")
    if first is not None and payment.scenario.repeat == "refuse":
        answer = refused("2062", "The payment has already been completed")
    elif first is not None:
        answer = json(first)  # executing again replays the first answer: same trxID
    elif payment.state != "authorized":
        answer = refused("2056", "Invalid Payment State")
    else:
        if payment.scenario.fail:
            payment.state, payment.reason = "failed", "Insufficient Balance"
            first = {"statusCode": "2023", "statusMessage": "Insufficient Balance"}
        else:
            ledger_of(request).capture(payment)
            first = {
                **describe(payment),
                "paymentExecuteTime": stamp(),
                "customerMsisdn": "01770618575",
                "statusCode": "0000",
                "statusMessage": "Successful",
            }
        payment.extra["execute"] = first
        answer = json(first)
    await pause(request, payment.scenario, "execute")
    return answer


@bp.post("/payment/status")
async def status(request: Request) -> HTTPResponse:
    if (denied := unauthorized(request)) is not None:
        return denied
    payment = payment_of(request)
    if payment is None:
        return refused("2002", "Invalid Payment ID")
    await pause(request, payment.scenario, "query")
    return ok(**describe(payment), verificationStatus="Complete" if payment.trx_id else "Incomplete")


@bp.post("/payment/refund")
async def refund(request: Request) -> HTTPResponse:
    if (denied := unauthorized(request)) is not None:
        return denied
    ledger, body, payment = ledger_of(request), request.json or {}, payment_of(request)
    if payment is None:
        return refused("2002", "Invalid Payment ID")
    if "amount" not in body and "sku" not in body:  # refund status: paymentID and trxID only
        if body.get("trxID") != payment.trx_id:
            return refused("2028", "Reverse failed because the transaction serial number does not exist")
        if not payment.refunds:
            return refused("2071", "No refund found for this transaction")
        await pause(request, payment.scenario, "query")
        entries = [
            {"refundTrxID": r.refund_id, "amount": str(r.amount), "sku": r.reference, "transactionStatus": "Completed"}
            for r in payment.refunds
        ]
        return ok(originalTrxID=payment.trx_id, **entries[-1], refunds=entries, currency="BDT")
    if not body.get("reason") or not body.get("sku"):
        return refused("2025", "Invalid request body")
    amount = ledger.amount(body.get("amount"))
    problem = ledger.refund_error(payment, body.get("trxID"), amount)
    if problem is not None:
        return refused(
            *{
                "state": ("2056", "Invalid Payment State"),
                "transaction": ("2028", "Reverse failed because the transaction serial number does not exist"),
                "amount": ("2006", "Invalid amount"),
                "exceeds": ("2026", "The reversal amount cannot be greater than the original transaction amount"),
            }[problem]
        )
    assert amount is not None
    done = ledger.add_refund(payment, amount, str(body["sku"]))
    return await answer(
        request,
        payment.scenario,
        "refund",
        ok(
            originalTrxID=payment.trx_id,
            refundTrxID=done.refund_id,
            transactionStatus="Completed",
            amount=str(amount),
            currency="BDT",
            charge="0.00",
            completedTime=stamp(),
        ),
    )


def describe(payment: SandboxPayment) -> dict[str, Any]:
    fields = {
        "paymentID": payment.id,
        "mode": "0011",
        "amount": str(payment.amount),
        "currency": "BDT",
        "intent": "sale",
        "merchantInvoiceNumber": payment.order_id,
        "payerReference": payment.payer_reference,
        "transactionStatus": WORDS[payment.state],
    }
    return {**fields, "trxID": payment.trx_id} if payment.trx_id else fields


def callback(payment: SandboxPayment, status: str) -> Callback:
    return Callback(
        "GET", payment.callback_url, params={"paymentID": payment.id, "status": status, "apiVersion": "1.2.0-beta"}
    )


HOOKS = ProviderHooks(captures_on_confirm=False, callback=callback)
