"""A local stand-in for bKash, Nagad, Rocket and SSLCommerz (cards) checkout: the providers cannot be reached
from dev and CI.

One Sanic app, one blueprint per provider (``/bkash``, ``/nagad``, ``/rocket``, ``/sslcommerz``) plus
``/sandbox`` for the buyer's page and the test controls; state is in memory and lost on restart. Run it with
``python -m infra.payments.sandbox --port 8090`` (Settings' default URLs point there), or in-process with
``async with running_sandbox(config) as sandbox: ...`` (tests). See docs/payments.md.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import httpx
from sanic import Sanic

from infra.payments.sandbox import bkash, nagad, payer, rocket, sslcommerz
from infra.payments.sandbox.state import Ledger, SandboxConfig, Scenario

__all__ = ["RunningSandbox", "SandboxConfig", "Scenario", "create_sandbox_app", "running_sandbox"]


def create_sandbox_app(config: SandboxConfig, name: str = "payments-sandbox") -> Sanic:
    app = Sanic(name, dumps=partial(json.dumps, default=str))
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.TOUCHUP = False  # several in-process apps per test session; touch-up rewrites shared classes
    app.config.MOTD = False
    app.config.AUTO_EXTEND = False  # sanic-ext is installed for the API's OpenAPI document; none of it here
    app.ctx.ledger = Ledger(config)
    app.ctx.providers = {
        "bkash": bkash.HOOKS,
        "nagad": nagad.HOOKS,
        "rocket": rocket.HOOKS,
        "sslcommerz": sslcommerz.HOOKS,
    }
    app.ctx.tasks = set()
    for blueprint in (payer.bp, bkash.bp, nagad.bp, rocket.bp, sslcommerz.bp):
        app.blueprint(blueprint)

    @app.before_server_start
    async def open_client(app: Sanic) -> None:
        app.ctx.http = httpx.AsyncClient()  # delivers callbacks to the merchant

    @app.after_server_stop
    async def close_client(app: Sanic) -> None:
        for task in list(app.ctx.tasks):
            task.cancel()
        await asyncio.gather(*app.ctx.tasks, return_exceptions=True)
        await app.ctx.http.aclose()

    return app


@dataclass(frozen=True)
class RunningSandbox:
    app: Sanic
    url: str

    @property
    def ledger(self) -> Ledger:
        return self.app.ctx.ledger  # type: ignore[no-any-return]

    def settings_overrides(self) -> dict[str, str]:
        """Point Settings' provider URLs here: ``load_settings(**sandbox.settings_overrides())``."""
        return {f"{p}_base_url": f"{self.url}/{p}" for p in ("bkash", "nagad", "rocket", "sslcommerz")}


@asynccontextmanager
async def running_sandbox(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSandbox]:
    """The sandbox serving on the running event loop (port 0: a free one), stopped on exit."""
    app = create_sandbox_app(config, name=f"payments-sandbox-{secrets.token_hex(4)}")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    server = await app.create_server(sock=sock, access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield RunningSandbox(app, f"http://{host}:{sock.getsockname()[1]}")
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()
        sock.close()
        Sanic.unregister_app(app)
