"""One contract, three providers: checkout over real HTTP against the sandbox, mapped onto Payment."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from infra.payments import Gateway
from infra.payments.ports import GatewayRejected, InvalidCallback
from infra.payments.sandbox import RunningSandbox
from tests.payments.flow import buyer, callbacks, event_names, open_payment, settle


async def test_happy_path_completes_the_payment(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, amount="95000.00")
    assert opened.created.status == "processing"
    assert (await gateway.query(opened.created.provider_payment_id)).status == "processing"

    await buyer(http, opened.created, "success")
    [received] = await callbacks(http, sandbox, opened.sink)
    hint = gateway.read_callback(received)
    assert (hint.provider_payment_id, hint.status) == (opened.created.provider_payment_id, "completed")

    result = await settle(opened.payment, gateway, hint)
    assert result.status == "completed" and result.transaction_id
    assert result.amount == Decimal("95000.00")
    assert opened.payment.status == "completed"
    assert opened.payment.provider_txn_id == opened.created.provider_payment_id
    assert event_names(opened.payment) == ["Completed"]
    queried = await gateway.query(opened.created.provider_payment_id)
    assert (queried.status, queried.transaction_id) == ("completed", result.transaction_id)


@pytest.mark.parametrize("outcome", ["failure", "cancel"])
async def test_buyer_failure_or_cancel_fails_the_payment(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str, outcome: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider)
    await buyer(http, opened.created, outcome)
    [received] = await callbacks(http, sandbox, opened.sink)
    hint = gateway.read_callback(received)
    assert hint.status == "failed"
    result = await settle(opened.payment, gateway, hint)
    assert (result.status, result.transaction_id) == ("failed", None)
    assert opened.payment.status == "failed" and opened.payment.failure_reason
    # executing a failed payment changes nothing and says so
    assert (await gateway.execute(opened.created.provider_payment_id)).status == "failed"


async def test_declined_for_balance_fails_with_the_providers_reason(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:fail=insufficient")
    await buyer(http, opened.created, "success")
    [received] = await callbacks(http, sandbox, opened.sink)
    result = await settle(opened.payment, gateway, gateway.read_callback(received))
    assert result.status == "failed"
    assert "Insufficient Balance" in (opened.payment.failure_reason or "")


async def test_execute_twice_returns_the_same_transaction(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider)
    await buyer(http, opened.created, "success")
    first = await gateway.execute(opened.created.provider_payment_id)
    second = await gateway.execute(opened.created.provider_payment_id)
    assert first.status == second.status == "completed"
    assert first.transaction_id == second.transaction_id is not None
    assert first.amount == second.amount


async def test_execute_before_the_buyer_pays_is_still_processing(
    gateway: Gateway, sandbox: RunningSandbox, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider)
    result = await gateway.execute(opened.created.provider_payment_id)
    assert (result.status, result.transaction_id) == ("processing", None)


async def test_bad_amounts_are_refused(gateway: Gateway, sandbox: RunningSandbox, provider: str) -> None:
    with pytest.raises(ValueError):  # refused before any request: three decimal places
        await gateway.create(
            payment_id="p-1",
            amount=Decimal("10.005"),
            payer_reference="01711000000",
            callback_url=f"{sandbox.url}/sandbox/sink/x",
            idempotency_key="k-1",
        )
    with pytest.raises(GatewayRejected):  # above the sandbox's per-payment limit
        await open_payment(gateway, sandbox, provider, amount="600000.00")


async def test_unknown_payments_and_malformed_callbacks_are_refused(gateway: Gateway) -> None:
    with pytest.raises(GatewayRejected):
        await gateway.query("NO-SUCH-PAYMENT")
    with pytest.raises(InvalidCallback):
        gateway.read_callback({"status": "success"})
