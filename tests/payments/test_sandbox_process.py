"""``python -m infra.payments.sandbox --port N`` runs the same sandbox as a process (the dev stack's way)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from infra.payments import gateways_from_settings
from infra.settings import Settings
from tests.support import ROOT, free_port


@pytest.fixture
async def sandbox_process(tmp_path: Path) -> AsyncIterator[str]:
    port, log = free_port(), tmp_path / "sandbox.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.payments.sandbox", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{url}/sandbox/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"sandbox did not start: {log.read_text(errors='replace')}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_the_sandbox_runs_as_a_process(
    sandbox_process: str, payment_settings_base: Settings, http: httpx.AsyncClient
) -> None:
    settings = payment_settings_base.model_copy(
        update={f"{p}_base_url": f"{sandbox_process}/{p}" for p in ("bkash", "nagad", "rocket", "sslcommerz")}
    )
    for provider, gateway in gateways_from_settings(settings, http).items():
        if provider == "emi":
            continue  # the card gateway again
        created = await gateway.create(
            payment_id="0a1b2c3d",
            amount=Decimal("99.00"),
            payer_reference="017",
            callback_url=f"{sandbox_process}/sandbox/sink/cli",
            idempotency_key=f"cli-{provider}",
        )
        await http.get(created.redirect_url, params={"outcome": "success"})
        assert (await gateway.execute(created.provider_payment_id)).status == "completed", provider
