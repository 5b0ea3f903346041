"""Timeouts and unreachable providers surface as clear errors; retries happen only where they are safe."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from infra.payments import Gateway, gateways_from_settings
from infra.payments.ports import GatewayTimeout, GatewayUnavailable
from infra.payments.sandbox import RunningSandbox
from infra.settings import Settings
from tests.payments.conftest import NAME, SLOW_SECONDS
from tests.payments.flow import buyer, open_payment
from tests.support import free_port


@pytest.fixture
def impatient(payment_settings: Settings, http: httpx.AsyncClient, provider: str) -> Gateway:
    return gateways_from_settings(payment_settings, http, timeout=0.25, retries=1)[provider]


async def test_slow_execute_times_out_clearly_and_the_outcome_is_found_by_query(
    impatient: Gateway, gateway: Gateway, sandbox: RunningSandbox, http: httpx.AsyncClient, provider: str
) -> None:
    opened = await open_payment(gateway, sandbox, provider, payer_reference="sandbox:slow=execute+query")
    await buyer(http, opened.created, "success")
    started = time.monotonic()
    with pytest.raises(GatewayTimeout, match="no answer within 0.25s after 2 attempt") as timed_out:
        await impatient.execute(opened.created.provider_payment_id)
    assert time.monotonic() - started < SLOW_SECONDS + 1
    assert timed_out.value.outcome_unknown and timed_out.value.provider == NAME[provider]
    # the provider did the work; a patient query (once the scenario is lifted) finds the money
    await http.post(f"{sandbox.url}/sandbox/payments/{opened.created.provider_payment_id}/scenario", json={"slow": []})
    result = await gateway.query(opened.created.provider_payment_id)
    assert result.status == "completed" and result.transaction_id


@pytest.mark.parametrize("provider", ["bkash", "nagad"])
async def test_create_without_idempotency_key_is_not_resent_after_a_timeout(
    impatient: Gateway, sandbox: RunningSandbox, provider: str
) -> None:
    before = len(sandbox.ledger.payments)
    with pytest.raises(GatewayTimeout):
        await impatient.create(
            payment_id="0a1b2c3d4e5f",
            amount=Decimal("10.00"),
            payer_reference="sandbox:slow=create",
            callback_url=f"{sandbox.url}/cb",
            idempotency_key="k-slow",
        )
    assert len(sandbox.ledger.payments) - before == 1  # sent once; that session expires unpaid


@pytest.mark.parametrize("provider", ["rocket"])
async def test_create_with_a_request_id_is_resent_and_recovers(
    impatient: Gateway, sandbox: RunningSandbox, provider: str
) -> None:
    before = sandbox.ledger.stats["rocket_create"]
    created = await impatient.create(
        payment_id="order-slow",
        amount=Decimal("10.00"),
        payer_reference="sandbox:slow=create",
        callback_url=f"{sandbox.url}/cb",
        idempotency_key="rocket-slow-create",
    )
    assert created.provider_payment_id.startswith("RK")
    assert sandbox.ledger.stats["rocket_create"] - before == 1  # the retry got the first answer back


async def test_unreachable_provider_is_unavailable_not_unknown(
    payment_settings: Settings, http: httpx.AsyncClient, provider: str
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/{NAME[provider]}"
    settings = payment_settings.model_copy(update={f"{NAME[provider]}_base_url": nowhere})
    gateway = gateways_from_settings(settings, http, timeout=0.5, retries=1)[provider]
    with pytest.raises(GatewayUnavailable, match="cannot connect") as failed:
        await gateway.query("ANY")
    assert failed.value.outcome_unknown is False  # nothing reached the provider
