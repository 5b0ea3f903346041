"""Issue 19 part 4 at the adapters, on every provider: each answer names the payment it belongs to (the merchant
reference we sent), a refund whose answer is lost was made once and is never sent again by the transport, and
only the providers that can look a refund up by our id confirm it afterwards; a provider that is down refuses
a checkout before doing anything."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from domain.commerce_errors import PaymentReferenceMismatch
from domain.payment import Payment
from infra.payments import Gateway, gateways_from_settings
from infra.payments.ports import GatewayError, GatewayUnavailable
from infra.payments.sandbox import RunningSandbox
from infra.settings import Settings
from tests.payments.flow import buyer, open_payment

LOOKS_REFUNDS_UP = ("bkash", "card")  # bKash refund status, SSLCommerz transaction query; Nagad, Rocket: none


def ours(reference: str | None, payment: Payment) -> bool:
    return reference is not None and reference.replace("-", "").lower() == payment.id.hex


@pytest.mark.parametrize("outcome", ["success", "failure"])
async def test_every_answer_names_the_payment_it_was_opened_for(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str, outcome: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider)
    other = await open_payment(gateway, sandbox, provider)
    before = await gateway.query(opened.created.provider_payment_id)
    assert ours(before.reference, opened.payment) and not ours(before.reference, other.payment)
    await buyer(http, opened.created, outcome)
    result = await (gateway.execute if outcome == "success" else gateway.query)(opened.created.provider_payment_id)
    assert result.status == ("completed" if outcome == "success" else "failed")
    assert ours(result.reference, opened.payment)
    opened.payment.check_provider_answer(method=provider, reference=result.reference)  # binds: no error
    with pytest.raises(PaymentReferenceMismatch):
        other.payment.check_provider_answer(method=provider, reference=result.reference)


async def test_a_refund_whose_answer_is_lost_was_made_once_and_is_not_resent(
    sandbox: RunningSandbox, http: httpx.AsyncClient, payment_settings: Settings, provider: str
) -> None:
    eager = gateways_from_settings(payment_settings, http, timeout=5.0, retries=3)[provider]  # retries if safe
    opened = await open_payment(eager, sandbox, provider, amount="1000.00")
    await buyer(http, opened.created, "success")
    result = await eager.execute(opened.created.provider_payment_id)
    assert result.transaction_id is not None
    pid = opened.created.provider_payment_id
    steered = await http.post(f"{sandbox.url}/sandbox/payments/{pid}/scenario", json={"lose": ["refund"]})
    assert steered.status_code == 200 and steered.json()["scenario"]["lose"] == ["refund"]
    before = sandbox.ledger.stats["refunds"]
    key = str(uuid.uuid4())
    with pytest.raises(GatewayError) as lost:
        await eager.refund(
            provider_payment_id=pid,
            transaction_id=result.transaction_id,
            amount=Decimal("250.00"),
            reason="lost answer",
            idempotency_key=key,
        )
    assert lost.value.outcome_unknown  # the caller cannot tell whether it happened...
    assert sandbox.ledger.stats["refunds"] - before == 1  # ...it did, once: the transport did not send it again
    view = (await http.get(f"{sandbox.url}/sandbox/payments/{pid}")).json()
    assert [(r["reference"], r["amount"]) for r in view["refunds"]] == [(key, "250.00")]
    found = await eager.find_refund(provider_payment_id=pid, transaction_id=result.transaction_id, idempotency_key=key)
    if provider in LOOKS_REFUNDS_UP:
        assert found is not None and found.refund_id == view["refunds"][0]["refund_id"]
        assert found.status == "completed"
    else:
        assert found is None  # cannot confirm: the application puts such a refund in manual review


async def test_a_provider_down_refuses_a_checkout_before_doing_anything(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    name = {"card": "sslcommerz"}.get(provider, provider)
    down = await http.post(f"{sandbox.url}/sandbox/outage", json={"provider": name, "operations": ["create"]})
    assert down.status_code == 200 and f"{name}:create" in down.json()["outages"]
    try:
        sessions = len(sandbox.ledger.payments)
        with pytest.raises(GatewayUnavailable):
            await open_payment(gateway, sandbox, provider)
        assert len(sandbox.ledger.payments) == sessions  # no session was opened
    finally:
        await http.post(f"{sandbox.url}/sandbox/outage", json={"provider": name, "operations": []})
    opened = await open_payment(gateway, sandbox, provider)
    assert opened.payment.status == "processing"
    bad = await http.post(f"{sandbox.url}/sandbox/outage", json={"provider": "paypal", "operations": ["create"]})
    assert bad.status_code == 400
