"""The steps every payment test takes: open a payment, act as the buyer, read callbacks, settle the aggregate.

``settle`` is the rule the application's callback handler should follow (docs/payments.md): a callback is
only a hint; confirm it with execute (success) or query (anything else), then hand the confirmed result to
``Payment.handle_callback``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from domain.payment import Payment
from infra.payments import Gateway
from infra.payments.ports import CallbackHint, CreatedPayment, GatewayResult
from infra.payments.sandbox import RunningSandbox


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Opened:
    payment: Payment
    created: CreatedPayment
    sink: str


async def open_payment(
    gateway: Gateway,
    sandbox: RunningSandbox,
    provider: str,
    amount: str = "1250.50",
    payer_reference: str = "01711000000",
) -> Opened:
    money = Decimal(amount)
    payment = Payment.initiate(
        id=uuid.uuid4(), now=now(), order_id=str(uuid.uuid4()), method=provider, amount=money, order_total=money
    )
    sink = uuid.uuid4().hex
    created = await gateway.create(
        payment_id=str(payment.id),
        amount=money,
        payer_reference=payer_reference,
        callback_url=f"{sandbox.url}/sandbox/sink/{sink}",
        idempotency_key=f"create-{payment.id}",
    )
    payment.start_processing(provider_txn_id=created.provider_payment_id, now=now())
    payment.collect_events()
    return Opened(payment, created, sink)


async def buyer(http: httpx.AsyncClient, created: CreatedPayment, outcome: str) -> dict[str, Any]:
    answer = await http.get(created.redirect_url, params={"outcome": outcome})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def callbacks(
    http: httpx.AsyncClient, sandbox: RunningSandbox, sink: str, *, expect: int = 1, wait: float = 2.0
) -> list[dict[str, Any]]:
    """What the merchant's endpoint received, as query args or JSON body, waiting up to ``wait`` for them."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        got = (await http.get(f"{sandbox.url}/sandbox/sink/{sink}/received")).json()["received"]
        if len(got) >= expect or asyncio.get_running_loop().time() > deadline:
            return [r["json"] or r.get("form") or r["args"] for r in got]
        await asyncio.sleep(0.02)


async def settle(payment: Payment, gateway: Gateway, hint: CallbackHint) -> GatewayResult:
    if hint.status == "completed":
        result = await gateway.execute(hint.provider_payment_id)
    else:
        result = await gateway.query(hint.provider_payment_id)
    payment.handle_callback(
        provider_txn_id=result.provider_payment_id,
        status=result.status,
        now=now(),
        amount=result.amount,
        reason=result.reason,
    )
    return result


def event_names(payment: Payment) -> list[str]:
    return [type(e).__name__ for e in payment.collect_events()]
