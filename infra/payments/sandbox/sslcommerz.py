"""SSLCommerz (cards, EMI on cards), as the sandbox plays it (mounted at /sslcommerz, like
https://sandbox.sslcommerz.com): init a session (form POST) → the buyer pays on the gateway page → the IPN is
POSTed as a form to ``ipn_url`` → the merchant validates with ``val_id``; transaction query by ``tran_id``;
refund and refund status on the transaction-query endpoint, as SSLCommerz's API v4 has them.

A validated ``val_id`` answers ``VALIDATED`` from the second validation on, as SSLCommerz does. One sandbox
extension: the transaction query lists each attempt's refunds with the ``refe_id`` they were sent with.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.payments.sandbox.payer import Callback, ProviderHooks, answer, ledger_of, outage, pause, public_url
from infra.payments.sandbox.state import SandboxPayment, Scenario

bp = Blueprint("sandbox_sslcommerz", url_prefix="/sslcommerz")
WORDS = {
    "initiated": "PENDING",
    "authorized": "PENDING",
    "completed": "VALID",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
}
CALLBACK_WORDS = {"success": "VALID", "failure": "FAILED", "cancel": "CANCELLED"}


def _form(request: Request) -> dict[str, str]:
    return {k: str(v[0]) for k, v in (request.form or {}).items()}


def _store_ok(request: Request, fields: dict[str, Any]) -> bool:
    cfg = ledger_of(request).config
    return (fields.get("store_id"), fields.get("store_passwd")) == (
        cfg.sslcommerz_store_id,
        cfg.sslcommerz_store_password,
    )


@bp.post("/gwprocess/v4/api.php")
async def init(request: Request) -> HTTPResponse:
    ledger, form = ledger_of(request), _form(request)
    if (down := outage(request, "sslcommerz", "create")) is not None:
        return down
    if not _store_ok(request, form):
        return json({"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"})
    amount = ledger.amount(form.get("total_amount"))
    if amount is None or form.get("currency") != "BDT":
        return json({"status": "FAILED", "failedreason": "Invalid Information: total_amount or currency"})
    missing = [
        k
        for k in (
            "tran_id",
            "success_url",
            "fail_url",
            "cancel_url",
            "cus_name",
            "cus_email",
            "cus_phone",
            "product_name",
        )
        if not form.get(k)
    ]
    if missing:
        return json({"status": "FAILED", "failedreason": f"Invalid Information: {', '.join(missing)}"})
    if form.get("emi_option") == "1" and form.get("emi_selected_inst") not in ("3", "6", "9", "12", "18", "24", "36"):
        return json({"status": "FAILED", "failedreason": "Invalid Information: emi_selected_inst"})
    reference = str(form.get("value_a") or form.get("cus_phone") or "")
    payment = ledger.add(
        SandboxPayment(
            id=ledger.new_id("SSLCZ", 16),
            provider="sslcommerz",
            order_id=str(form["tran_id"]),
            amount=amount,
            payer_reference=reference,
            callback_url=str(form.get("ipn_url") or form["success_url"]),
            scenario=Scenario.parse(reference),
            extra={"emi": int(form["emi_selected_inst"]) if form.get("emi_option") == "1" else None},
        )
    )
    ledger.stats["sslcommerz_init"] += 1
    await pause(request, payment.scenario, "create")
    return json(
        {
            "status": "SUCCESS",
            "failedreason": "",
            "sessionkey": payment.id,
            "GatewayPageURL": f"{public_url(request)}/sandbox/pay/{payment.id}",
            "redirectGatewayURL": f"{public_url(request)}/sandbox/pay/{payment.id}",
        }
    )


def _attempts(request: Request, tran_id: str) -> list[SandboxPayment]:
    return [p for p in ledger_of(request).payments.values() if p.provider == "sslcommerz" and p.order_id == tran_id]


def _val_id(payment: SandboxPayment) -> str | None:
    """The validation id of a captured payment (SSLCommerz gives one per successful attempt)."""
    if payment.state == "completed" and not payment.extra.get("val_id"):
        payment.extra["val_id"] = "VAL" + payment.id[5:]
    return payment.extra.get("val_id")


def _element(payment: SandboxPayment) -> dict[str, Any]:
    val_id = _val_id(payment)
    return {
        "val_id": val_id,
        "status": ("VALIDATED" if payment.extra.get("validated") else "VALID")
        if payment.state == "completed"
        else WORDS[payment.state],
        "tran_id": payment.order_id,
        "sessionkey": payment.id,
        "amount": str(payment.amount),
        "currency": "BDT",
        "bank_tran_id": payment.trx_id,
        "card_type": "VISA-Dutch Bangla",
        "emi_instalment": payment.extra.get("emi") or 0,
        "error": payment.reason,
        "refunds": [
            {"refund_ref_id": r.refund_id, "refe_id": r.reference, "refund_amount": str(r.amount), "status": "refunded"}
            for r in payment.refunds
        ],
    }


@bp.get("/validator/api/validationserverAPI.php")
async def validate(request: Request) -> HTTPResponse:
    args = {k: request.args.get(k) for k in request.args}
    if not _store_ok(request, args):
        return json({"APIConnect": "INVALID_REQUEST", "status": "INVALID_TRANSACTION"})
    payment = next(
        (
            p
            for p in ledger_of(request).payments.values()
            if p.provider == "sslcommerz" and _val_id(p) and p.extra["val_id"] == args.get("val_id")
        ),
        None,
    )
    if payment is None:
        return json({"status": "INVALID_TRANSACTION", "APIConnect": "DONE"})
    await pause(request, payment.scenario, "query")
    answer = {k: v for k, v in _element(payment).items() if k != "refunds"}
    payment.extra["validated"] = True
    ledger_of(request).stats["sslcommerz_validations"] += 1
    return json(
        {**answer, "APIConnect": "DONE", "store_amount": str(payment.amount), "risk_level": "0", "risk_title": "Safe"}
    )


@bp.get("/validator/api/merchantTransIDvalidationAPI.php")
async def transactions(request: Request) -> HTTPResponse:
    """Transaction query (``tran_id`` or ``sessionkey``), refund (``bank_tran_id`` + ``refund_amount``) and
    refund status (``refund_ref_id``): one endpoint, as SSLCommerz has it."""
    ledger = ledger_of(request)
    args = {k: request.args.get(k) for k in request.args}
    if not _store_ok(request, args):
        return json({"APIConnect": "INVALID_REQUEST"})
    if args.get("bank_tran_id") and args.get("refund_amount"):
        return await _refund(request, args)
    if args.get("refund_ref_id"):
        for p in ledger.payments.values():
            for r in p.refunds:
                if r.refund_id == args["refund_ref_id"]:
                    return json(
                        {
                            "APIConnect": "DONE",
                            "bank_tran_id": p.trx_id,
                            "tran_id": p.order_id,
                            "refund_ref_id": r.refund_id,
                            "status": "refunded",
                            "errorReason": "",
                        }
                    )
        return json({"APIConnect": "DONE", "status": "failed", "errorReason": "Invalid refund_ref_id"})
    if args.get("sessionkey"):
        payment = ledger.payments.get(str(args["sessionkey"]))
        found = [payment] if payment is not None and payment.provider == "sslcommerz" else []
    else:
        found = _attempts(request, str(args.get("tran_id") or ""))
    for p in found:
        await pause(request, p.scenario, "query")
    return json({"APIConnect": "DONE", "no_of_trans_found": len(found), "element": [_element(p) for p in found]})


async def _refund(request: Request, args: dict[str, Any]) -> HTTPResponse:
    ledger = ledger_of(request)
    payment = next(
        (
            p
            for p in ledger.payments.values()
            if p.provider == "sslcommerz" and p.trx_id and p.trx_id == args.get("bank_tran_id")
        ),
        None,
    )
    if payment is None:
        return json({"APIConnect": "DONE", "status": "failed", "errorReason": "Invalid bank_tran_id"})
    if not args.get("refund_remarks"):
        return json({"APIConnect": "DONE", "status": "failed", "errorReason": "refund_remarks is required"})
    amount = ledger.amount(args.get("refund_amount"))
    problem = ledger.refund_error(payment, payment.trx_id, amount)
    if problem is not None:
        return json(
            {
                "APIConnect": "DONE",
                "bank_tran_id": payment.trx_id,
                "status": "failed",
                "errorReason": {
                    "state": "Transaction is not refundable",
                    "amount": "Invalid refund_amount",
                    "exceeds": "Refund amount exceeds the transaction amount",
                }.get(problem, problem),
            }
        )
    assert amount is not None
    done = ledger.add_refund(payment, amount, str(args.get("refe_id") or ""))
    return await answer(
        request,
        payment.scenario,
        "refund",
        json(
            {
                "APIConnect": "DONE",
                "bank_tran_id": payment.trx_id,
                "trans_id": payment.order_id,
                "refund_ref_id": done.refund_id,
                "status": "success",
                "errorReason": "",
            }
        ),
    )


def callback(payment: SandboxPayment, status: str) -> Callback:
    word = CALLBACK_WORDS[status]
    _val_id(payment)
    return Callback(
        "POST",
        payment.callback_url,
        form={
            "status": word,
            "tran_id": payment.order_id,
            "val_id": str(payment.extra.get("val_id") or ""),
            "amount": str(payment.amount),
            "store_amount": str(payment.amount),
            "currency": "BDT",
            "bank_tran_id": str(payment.trx_id or "") if word == "VALID" else "",
            "card_type": "VISA-Dutch Bangla",
            "value_a": payment.payer_reference,
            "verify_sign": "sandbox",
            "verify_key": "status,tran_id,val_id",
        },
    )


HOOKS = ProviderHooks(captures_on_confirm=True, callback=callback)
