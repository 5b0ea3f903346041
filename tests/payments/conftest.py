"""The payment sandbox, started once per session on a free port, and adapters built from Settings for it.

Short sandbox delays (slow calls, late callbacks) keep the timeout and callback tests fast; adapters used
for timeouts are built per test with a short timeout of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from infra.payments import Gateway, gateways_from_settings
from infra.payments.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from infra.settings import Settings, load_settings

PROVIDERS = ("bkash", "nagad", "rocket", "card")  # card: SSLCommerz
NAME = {"bkash": "bkash", "nagad": "nagad", "rocket": "rocket", "card": "sslcommerz"}  # method → provider
SLOW_SECONDS = 0.6  # a "slow" call answers after this; timeout tests give adapters 0.25 s
LATE_SECONDS = 0.3  # a "late" callback arrives after this


@pytest.fixture(scope="session")
def payment_settings_base() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
async def sandbox(payment_settings_base: Settings) -> AsyncIterator[RunningSandbox]:
    config = SandboxConfig.from_settings(
        payment_settings_base, slow_seconds=SLOW_SECONDS, late_callback_seconds=LATE_SECONDS
    )
    async with running_sandbox(config) as running:
        yield running


@pytest.fixture(scope="session")
def payment_settings(payment_settings_base: Settings, sandbox: RunningSandbox) -> Settings:
    return payment_settings_base.model_copy(update=sandbox.settings_overrides())


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture(scope="session")
def gateways(payment_settings: Settings, http: httpx.AsyncClient) -> dict[str, Gateway]:
    return gateways_from_settings(payment_settings, http, timeout=5.0)


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def gateway(gateways: dict[str, Gateway], provider: str) -> Gateway:
    return gateways[provider]
