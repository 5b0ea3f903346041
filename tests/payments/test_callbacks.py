"""Callbacks delivered twice, late and out of order: confirmed before applying, the aggregate stays right."""

from __future__ import annotations

import httpx

from domain.payment import Payment
from infra.payments import Gateway
from infra.payments.sandbox import RunningSandbox
from tests.payments.conftest import LATE_SECONDS
from tests.payments.flow import buyer, callbacks, event_names, now, open_payment, settle


async def test_callback_delivered_twice_completes_once(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:callback=twice")
    answer = await buyer(http, opened.created, "success")
    assert [d["http_status"] for d in answer["deliveries"]] == [200, 200]
    received = await callbacks(http, sandbox, opened.sink, expect=2)
    assert len(received) == 2
    results = [await settle(opened.payment, gateway, gateway.read_callback(r)) for r in received]
    assert results[0].transaction_id == results[1].transaction_id
    assert event_names(opened.payment) == ["Completed"]


async def test_late_success_after_we_gave_up_is_still_applied(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:callback=late")
    await buyer(http, opened.created, "success")
    assert await callbacks(http, sandbox, opened.sink, wait=0) == []  # not yet
    opened.payment.fail(now=now(), reason="no confirmation in time")  # the app's own deadline passed
    [received] = await callbacks(http, sandbox, opened.sink, wait=LATE_SECONDS + 2)
    await settle(opened.payment, gateway, gateway.read_callback(received))
    assert opened.payment.status == "completed"  # real money was captured: fulfil or refund, never lose it
    events = opened.payment.collect_events()
    assert [type(e).__name__ for e in events] == ["Failed", "Completed"]
    assert events[-1].after_failure is True  # type: ignore[attr-defined]


async def test_out_of_order_callbacks_confirmed_leave_no_anomaly(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:callback=out_of_order")
    await buyer(http, opened.created, "success")
    received = await callbacks(http, sandbox, opened.sink, expect=2)
    hints = [gateway.read_callback(r) for r in received]
    assert [h.status for h in hints] == ["completed", "failed"]  # the stale failure arrives last

    for hint in hints:  # the rule: confirm each callback with the provider, then apply
        await settle(opened.payment, gateway, hint)
    assert opened.payment.status == "completed"
    assert event_names(opened.payment) == ["Completed"]


async def test_out_of_order_callbacks_applied_blindly_are_recorded_as_an_anomaly(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    """Without confirming, the aggregate still keeps the money state and flags the stale failure once."""
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:callback=out_of_order")
    await buyer(http, opened.created, "success")
    received = await callbacks(http, sandbox, opened.sink, expect=2)
    payment: Payment = opened.payment
    for hint in [gateway.read_callback(r) for r in received] * 2:  # and every callback redelivered
        payment.handle_callback(provider_txn_id=hint.provider_payment_id, status=hint.status, now=now())
    assert payment.status == "completed"
    assert event_names(payment) == ["Completed", "CallbackAnomalyRecorded"]
    assert payment.anomalies[0]["anomaly"] == "failed_after_completed"


async def test_no_callback_at_all_is_caught_by_querying(
    gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:callback=none")
    await buyer(http, opened.created, "success")
    assert await callbacks(http, sandbox, opened.sink, wait=0) == []
    result = await gateway.execute(opened.created.provider_payment_id)  # the app's sweep of open payments
    assert result.status == "completed"
