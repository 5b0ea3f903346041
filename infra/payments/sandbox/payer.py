"""The buyer's side and the test controls: pay a payment, deliver its callback, inspect and steer the sandbox.

``GET /sandbox/pay/{id}?outcome=success|failure|cancel`` stands for the buyer finishing (or abandoning) the
provider's page. The sandbox then calls the merchant's callback URL itself — once, twice, late, out of
order or not at all, as the payment's scenario says — and records every delivery.
``/sandbox/sink/{name}`` is a callback receiver for trying the flow before the app has its own endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

import httpx
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, html, json

from infra.payments.sandbox.state import OUTCOMES, Ledger, SandboxPayment, Scenario

bp = Blueprint("sandbox_control", url_prefix="/sandbox")


@dataclass(frozen=True)
class Callback:
    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None  # SSLCommerz posts its IPN as a form


@dataclass(frozen=True)
class ProviderHooks:
    captures_on_confirm: bool  # Nagad, Rocket: money moves when the buyer confirms; bKash waits for execute
    callback: Callable[[SandboxPayment, str], Callback]


def ledger_of(request: Request) -> Ledger:
    return request.app.ctx.ledger  # type: ignore[no-any-return]


def public_url(request: Request) -> str:
    return f"{request.scheme}://{request.host}"


async def pause(request: Request, scenario: Scenario, operation: str) -> None:
    """A slow provider: the work is already done, only the answer is late (so a timeout is ambiguous)."""
    if operation in scenario.slow:
        await asyncio.sleep(ledger_of(request).config.slow_seconds)


async def answer(request: Request, scenario: Scenario, operation: str, reply: HTTPResponse) -> HTTPResponse:
    """The work is done; the answer may be late (``slow``) or never arrive (``lose``: a gateway in between
    answers 504 instead), so the caller cannot tell whether it happened."""
    await pause(request, scenario, operation)
    if operation in scenario.lose:
        ledger_of(request).stats[f"lost_{operation}"] += 1
        return json({"message": "upstream timed out"}, status=504)
    return reply


def outage(request: Request, provider: str, operation: str) -> HTTPResponse | None:
    """The provider is down for this operation (``POST /sandbox/outage``): 503 before anything is done."""
    if (provider, operation) in ledger_of(request).outages:
        ledger_of(request).stats[f"outage_{provider}_{operation}"] += 1
        return json({"message": f"{provider} {operation} is unavailable"}, status=503)
    return None


# ---- the buyer -------------------------------------------------------------------------------------------
@bp.get("/pay/<payment_id>")
async def pay(request: Request, payment_id: str) -> HTTPResponse:
    ledger = ledger_of(request)
    payment = ledger.payments.get(payment_id)
    if payment is None:
        return json({"error": "unknown payment"}, status=404)
    outcome = request.args.get("outcome")
    if outcome is None:
        links = "".join(f'<p><a href="?outcome={o}">{o}</a></p>' for o in OUTCOMES)
        return html(f"<h1>{escape(payment.provider)} sandbox: pay {payment.amount} BDT</h1>{links}")
    if outcome not in OUTCOMES:
        return json({"error": f"outcome must be one of {OUTCOMES}"}, status=400)
    if payment.state != "initiated" or payment.amount is None:
        return json({"error": f"payment is {payment.state}, not waiting for the buyer"}, status=409)
    hooks: ProviderHooks = request.app.ctx.providers[payment.provider]
    told = outcome
    if outcome == "success" and not hooks.captures_on_confirm:
        payment.state = "authorized"
    elif outcome == "success" and payment.scenario.fail:
        payment.state, payment.reason, told = "failed", "Insufficient Balance", "failure"
    elif outcome == "success":
        ledger.capture(payment)
    else:
        payment.state = "failed" if outcome == "failure" else "cancelled"
        payment.reason = f"buyer chose {outcome}"
    statuses = plan(payment.scenario.callback, told)
    if payment.scenario.callback == "late":
        later(request.app, deliver(request.app, payment, statuses, delay=ledger.config.late_callback_seconds))
    else:
        await deliver(request.app, payment, statuses)
    return json({"paymentID": payment.id, "state": payment.state, "deliveries": payment.deliveries})


def plan(mode: str, outcome: str) -> list[str]:
    if mode == "none":
        return []
    if mode == "twice":
        return [outcome, outcome]
    if mode == "out_of_order" and outcome == "success":
        return [outcome, "failure"]  # a stale failure (an earlier declined try) arrives after the success
    return [outcome]


async def deliver(app: Sanic, payment: SandboxPayment, statuses: list[str], delay: float = 0.0) -> None:
    await asyncio.sleep(delay)
    hooks: ProviderHooks = app.ctx.providers[payment.provider]
    for status in statuses:
        record: dict[str, Any] = {"status": status, "at": round(time.monotonic() - payment.created, 3)}
        callback = hooks.callback(payment, status)
        try:
            answer = await app.ctx.http.request(
                callback.method,
                callback.url,
                params=callback.params,
                json=callback.json,
                data=callback.form,
                timeout=5.0,
            )
            record["http_status"] = answer.status_code
        except (httpx.HTTPError, ValueError) as exc:  # ValueError: no or malformed callback URL
            record["error"] = repr(exc)
        payment.deliveries.append(record)
        app.ctx.ledger.stats["callbacks"] += 1


def later(app: Sanic, work: Any) -> None:
    task = asyncio.get_running_loop().create_task(work)
    app.ctx.tasks.add(task)
    task.add_done_callback(app.ctx.tasks.discard)


# ---- inspection and steering -------------------------------------------------------------------------------
@bp.get("/health")
async def health(request: Request) -> HTTPResponse:
    return json({"ok": True})


@bp.get("/stats")
async def stats(request: Request) -> HTTPResponse:
    return json(dict(ledger_of(request).stats))


def find(ledger: Ledger, payment_id: str) -> SandboxPayment | None:
    """By the provider's id, or (SSLCommerz, whose payments the merchant names) by our ``tran_id``: the
    latest session."""
    payment = ledger.payments.get(payment_id)
    if payment is None:
        named = [p for p in ledger.payments.values() if p.provider == "sslcommerz" and p.order_id == payment_id]
        payment = named[-1] if named else None
    return payment


@bp.get("/payments/<payment_id>")
async def show(request: Request, payment_id: str) -> HTTPResponse:
    payment = find(ledger_of(request), payment_id)
    return json(payment.view()) if payment else json({"error": "unknown payment"}, status=404)


@bp.post("/payments/<payment_id>/scenario")
async def steer(request: Request, payment_id: str) -> HTTPResponse:
    """Change a payment's hooks after create, e.g. ``{"callback": "late", "slow": ["execute"]}``."""
    payment = find(ledger_of(request), payment_id)
    if payment is None:
        return json({"error": "unknown payment"}, status=404)
    try:
        payment.scenario = Scenario.from_mapping(request.json or {}, base=payment.scenario)
    except (ValueError, TypeError) as exc:
        return json({"error": str(exc)}, status=400)
    return json(payment.view())


@bp.post("/outage")
async def set_outage(request: Request) -> HTTPResponse:
    """``{"provider": "bkash", "operations": ["create"]}``: checkout sessions answer 503 until changed (``[]``:
    up again), so a payment is placed whose provider session never opens."""
    body = request.json or {}
    provider, operations = str(body.get("provider") or ""), body.get("operations") or []
    if provider not in request.app.ctx.providers or not set(operations) <= {"create"}:
        return json({"error": "provider must be one of the providers, operations a subset of [create]"}, status=400)
    ledger = ledger_of(request)
    ledger.outages = {o for o in ledger.outages if o[0] != provider} | {(provider, op) for op in operations}
    return json({"outages": sorted(f"{p}:{o}" for p, o in ledger.outages)})


@bp.post("/bkash/tokens/expire")
async def expire_tokens(request: Request) -> HTTPResponse:
    """Expire every id_token now (and the refresh tokens too with ``{"refresh": true}``)."""
    ledger_of(request).expire_tokens(refresh=bool((request.json or {}).get("refresh")))
    return json({"expired": True})


@bp.route("/sink/<name>", methods=["GET", "POST"])
async def sink(request: Request, name: str) -> HTTPResponse:
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - a callback with a broken body is still worth recording
        body = None
    received = ledger_of(request).sinks.setdefault(name, [])
    form = {k: request.form.get(k) for k in request.form} if body is None and request.form else {}
    received.append(
        {"method": request.method, "args": {k: request.args.get(k) for k in request.args}, "json": body, "form": form}
    )
    return json({"received": len(received)})


@bp.get("/sink/<name>/received")
async def sink_received(request: Request, name: str) -> HTTPResponse:
    return json({"received": ledger_of(request).sinks.get(name, [])})
