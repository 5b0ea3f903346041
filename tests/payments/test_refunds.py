"""Refunds on every provider: partial then the rest, never above what was paid, mirrored on the aggregate."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from infra.payments import Gateway
from infra.payments.bkash import BkashGateway
from infra.payments.ports import GatewayRejected, GatewayTimeout
from infra.payments.sandbox import RunningSandbox
from infra.settings import Settings
from tests.payments.conftest import NAME, PROVIDERS
from tests.payments.flow import Opened, buyer, now, open_payment


async def paid(
    gateway: Gateway,
    sandbox: RunningSandbox,
    http: httpx.AsyncClient,
    provider: str,
    payer_reference: str = "01711000000",
) -> tuple[Opened, str]:
    opened = await open_payment(gateway, sandbox, provider, amount="1000.00", payer_reference=payer_reference)
    await buyer(http, opened.created, "success")
    result = await gateway.execute(opened.created.provider_payment_id)
    opened.payment.handle_callback(
        provider_txn_id=result.provider_payment_id, status=result.status, amount=result.amount, now=now()
    )
    assert result.transaction_id is not None
    return opened, result.transaction_id


async def refund(gateway: Gateway, opened: Opened, trx: str, amount: str, key: str | None = None) -> Decimal:
    key = key or str(uuid.uuid4())
    opened.payment.refund(refund_id=key, amount=Decimal(amount), now=now(), reason="buyer returned it")
    done = await gateway.refund(
        provider_payment_id=opened.created.provider_payment_id,
        transaction_id=trx,
        amount=Decimal(amount),
        reason="buyer returned it",
        idempotency_key=key,
    )
    assert done.status == "completed" and done.refund_id
    return done.amount


async def test_partial_then_full_refund_and_no_more(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened, trx = await paid(gateway, sandbox, http, provider)
    assert await refund(gateway, opened, trx, "300.00") == Decimal("300.00")
    assert opened.payment.status == "completed"
    assert await refund(gateway, opened, trx, "700.00") == Decimal("700.00")
    assert opened.payment.status == "refunded"
    with pytest.raises(GatewayRejected):
        await gateway.refund(
            provider_payment_id=opened.created.provider_payment_id,
            transaction_id=trx,
            amount=Decimal("0.01"),
            reason="again",
            idempotency_key=str(uuid.uuid4()),
        )
    view = (await http.get(f"{sandbox.url}/sandbox/payments/{opened.created.provider_payment_id}")).json()
    assert Decimal(view["refunded"]) == Decimal("1000.00")


async def test_refund_above_the_paid_amount_is_refused(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened, trx = await paid(gateway, sandbox, http, provider)
    with pytest.raises(GatewayRejected) as refused:
        await gateway.refund(
            provider_payment_id=opened.created.provider_payment_id,
            transaction_id=trx,
            amount=Decimal("1000.01"),
            reason="too much",
            idempotency_key=str(uuid.uuid4()),
        )
    assert refused.value.provider == NAME[provider] and refused.value.code


async def test_refund_of_an_unpaid_payment_or_another_transaction_is_refused(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    unpaid = await open_payment(gateway, sandbox, provider)
    opened, _ = await paid(gateway, sandbox, http, provider)
    for payment_id, trx in (
        (unpaid.created.provider_payment_id, "TRX-NONE"),
        (opened.created.provider_payment_id, "TRX-OTHER"),
    ):
        with pytest.raises(GatewayRejected):
            await gateway.refund(
                provider_payment_id=payment_id,
                transaction_id=trx,
                amount=Decimal("1.00"),
                reason="x",
                idempotency_key=str(uuid.uuid4()),
            )


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p not in ("bkash", "card")])
async def test_refund_with_the_same_key_is_made_once(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    """Nagad (referenceNo) and Rocket (requestId) de-duplicate refunds, so re-sending one is safe."""
    opened, trx = await paid(gateway, sandbox, http, provider)
    before = sandbox.ledger.stats["refunds"]
    args = dict(
        provider_payment_id=opened.created.provider_payment_id,
        transaction_id=trx,
        amount=Decimal("400.00"),
        reason="dup",
        idempotency_key="refund-1-" + trx,
    )
    first, second = await gateway.refund(**args), await gateway.refund(**args)  # type: ignore[arg-type]
    assert first.refund_id == second.refund_id
    assert sandbox.ledger.stats["refunds"] - before == 1


async def test_bkash_refund_is_not_resent_after_a_timeout(
    sandbox: RunningSandbox, http: httpx.AsyncClient, payment_settings: Settings
) -> None:
    """bKash has no refund idempotency key: after a timeout the adapter reports it and sends nothing more."""
    slow = BkashGateway.from_settings(payment_settings, http, timeout=0.25, retries=3)
    opened, trx = await paid(slow, sandbox, http, "bkash", payer_reference="sandbox:slow=refund")
    before = sandbox.ledger.stats["refunds"]
    with pytest.raises(GatewayTimeout) as timed_out:
        await slow.refund(
            provider_payment_id=opened.created.provider_payment_id,
            transaction_id=trx,
            amount=Decimal("10.00"),
            reason="x",
            idempotency_key="r-1",
        )
    assert timed_out.value.outcome_unknown
    assert sandbox.ledger.stats["refunds"] - before == 1  # made once by bKash, never re-sent
