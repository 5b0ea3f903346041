"""bKash tokens: granted once, refreshed before they expire, renewed when bKash says they expired."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from infra.payments.bkash import BkashGateway
from infra.payments.ports import GatewayAuthFailed
from infra.payments.sandbox import RunningSandbox
from infra.settings import Settings
from tests.payments.flow import buyer, open_payment


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def counter(sandbox: RunningSandbox) -> Callable[[], dict[str, int]]:
    names = ("bkash_grant", "bkash_refresh", "bkash_token_refused")
    start = {n: sandbox.ledger.stats[n] for n in names}
    return lambda: {n.removeprefix("bkash_"): sandbox.ledger.stats[n] - start[n] for n in names}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bkash(payment_settings: Settings, http: httpx.AsyncClient, clock: Clock) -> BkashGateway:
    return BkashGateway.from_settings(payment_settings, http, timeout=5.0, clock=clock)


async def test_one_grant_serves_many_calls(bkash: BkashGateway, sandbox: RunningSandbox) -> None:
    seen = counter(sandbox)
    opened = await open_payment(bkash, sandbox, "bkash")
    for _ in range(3):
        await bkash.query(opened.created.provider_payment_id)
    assert seen() == {"grant": 1, "refresh": 0, "token_refused": 0}


async def test_token_is_refreshed_before_it_expires(
    bkash: BkashGateway, sandbox: RunningSandbox, http: httpx.AsyncClient, clock: Clock
) -> None:
    seen = counter(sandbox)
    opened = await open_payment(bkash, sandbox, "bkash")
    clock.now += 3600 - 30  # inside the refresh margin of a one-hour token
    await buyer(http, opened.created, "success")
    assert (await bkash.execute(opened.created.provider_payment_id)).status == "completed"
    assert seen() == {"grant": 1, "refresh": 1, "token_refused": 0}


async def test_token_expired_at_bkash_is_refreshed_and_the_call_resent(
    bkash: BkashGateway, sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    opened = await open_payment(bkash, sandbox, "bkash")
    seen = counter(sandbox)
    await http.post(f"{sandbox.url}/sandbox/bkash/tokens/expire", json={})
    assert (await bkash.query(opened.created.provider_payment_id)).status == "processing"
    assert seen() == {"grant": 0, "refresh": 1, "token_refused": 1}


async def test_expired_refresh_token_falls_back_to_a_new_grant(
    bkash: BkashGateway, sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    await open_payment(bkash, sandbox, "bkash")
    seen = counter(sandbox)
    await http.post(f"{sandbox.url}/sandbox/bkash/tokens/expire", json={"refresh": True})
    opened = await open_payment(bkash, sandbox, "bkash")  # a create, resent safely after the 401
    assert opened.created.provider_payment_id.startswith("TR0011")
    assert seen() == {"grant": 1, "refresh": 0, "token_refused": 1}


async def test_wrong_credentials_are_a_clear_error(payment_settings: Settings, http: httpx.AsyncClient) -> None:
    wrong = BkashGateway.from_settings(payment_settings.model_copy(update={"bkash_password": "nope"}), http)
    with pytest.raises(GatewayAuthFailed, match="token grant refused"):
        await wrong.create(
            payment_id="p",
            amount=Decimal("10.00"),
            payer_reference="01711000000",
            callback_url="http://127.0.0.1:9/cb",
            idempotency_key="k",
        )


async def test_repeated_execute_refused_as_in_production_still_returns_the_same_trx(
    bkash: BkashGateway, sandbox: RunningSandbox, http: httpx.AsyncClient
) -> None:
    opened = await open_payment(bkash, sandbox, "bkash", payer_reference="sandbox:repeat=refuse")
    await buyer(http, opened.created, "success")
    first = await bkash.execute(opened.created.provider_payment_id)
    second = await bkash.execute(opened.created.provider_payment_id)  # bKash answers 2062; status says why
    assert second.raw.get("statusCode") == "2062"
    assert (second.status, second.transaction_id) == ("completed", first.transaction_id)
