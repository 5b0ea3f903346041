"""The hostile suite's stack and tools (issue 19, ADR 0018): relay, projections and an API with the gateway,
real processes on the session's services, with the production rate limits and one trusted proxy, so every
test speaks from its own client IP (``X-Forwarded-For``) and counters never cross tests.

``canary()`` is the proof that an attack changed nothing for everyone else: a new stream, a chat message and
a flash-sale purchase made after it must show in every read model a client can see (the stream's detail and
the list, its Redis status, the chat in a newcomer's first screen and in the analytics, the sale's tables
and live counters) within ``CANARY_S`` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from sanic import Sanic

from infra.settings import Settings
from infra.tokens import issue_token
from tests.conftest import Environments
from tests.realtime.conftest import NS, Viewer
from tests.support import Proc, free_port

P = "/api/v1/live-commerce"
PRODUCT = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CANARY_S = float(os.environ.get("LIVECOMMERCE_TEST_CANARY_S", "2.0"))  # the issue's figure
_ips = itertools.count(1)


def new_ip() -> str:
    """A client address of the test's own (the stack trusts one proxy's X-Forwarded-For)."""
    n = next(_ips)
    return f"10.{os.getpid() % 250}.{n // 250 % 250}.{n % 250 + 1}"


@dataclass
class Edges:
    env: Settings
    procs: list[Proc]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env.http_port}"

    def token(self, role: str | None = "admin", user: str | None = None, vendor: str | None = None) -> str:
        return issue_token(self.env, user or str(uuid.uuid4()), [role] if role else [], None, vendor_id=vendor)

    def client(
        self, role: str | None = "admin", user: str | None = None, ip: str | None = None, vendor: str | None = None
    ) -> httpx.Client:
        headers = {"X-Forwarded-For": ip or new_ip()}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.token(role, user, vendor)}"
        return httpx.Client(base_url=f"{self.url}{P}", timeout=30, headers=headers)

    async def viewer(self, role: str | None = None, user: str | None = None, ip: str | None = None) -> Viewer:
        client = socketio.AsyncClient(reconnection=False)
        v = Viewer(client)

        @client.on("*", namespace=NS)
        async def record(event: str, data: Any = None) -> None:
            v.events.append((event, data))

        auth = {"token": self.token(role, user)} if role else {}
        await client.connect(
            self.url, namespaces=[NS], transports=["websocket"], auth=auth, headers={"X-Forwarded-For": ip or new_ip()}
        )
        return v

    def api(self) -> Proc:
        return next(p for p in self.procs if p.name.startswith("edges-api"))

    def live_stream(self, http: httpx.Client | None = None) -> str:
        own = http is None
        http = http or self.client()
        try:
            r = http.post(
                "/streams",
                json={
                    "title": "ক্যানারি শো",
                    "stream_type": "flash_sale",
                    "products": [{"product_id": PRODUCT, "special_price": 1000}],
                },
            )
            assert r.status_code == 201, r.text
            sid = str(r.json()["id"])
            assert http.post(f"/streams/{sid}/start").status_code == 200
            return sid
        finally:
            if own:
                http.close()


def app_routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path) of every route the API registers, read from a freshly built app's router, so a new
    route is attacked without anyone listing it here."""
    from interfaces.http.app import create_app

    app = create_app(settings, name=f"routes_{uuid.uuid4().hex[:8]}")
    try:
        out = sorted(
            {
                (m, "/" + r.path.lstrip("/"))
                for r in app.router.routes
                for m in r.methods
                if m not in ("HEAD", "OPTIONS") and not r.path.lstrip("/").startswith(("socket.io", "hls"))
            }
        )
    finally:
        Sanic.unregister_app(app)  # type: ignore[attr-defined]
    return out


def start(environments: Environments, log_dir: Path, **overrides: Any) -> Edges:
    env = environments.new().model_copy(update={"http_port": free_port(), "http_proxies_count": 1, **overrides})
    procs = [
        Proc(env, "relay", log_dir=log_dir, name="edges-relay"),
        Proc(env, "project", log_dir=log_dir, name="edges-project"),
    ]
    procs.append(Proc(env, "api", log_dir=log_dir, name="edges-api"))
    procs[-1].wait_for_output("realtime pusher ready", timeout=60)
    procs[1].wait_for_output("projection stream_engagement pid", timeout=60)
    return Edges(env, procs)


@pytest.fixture(scope="module")
def edges(environments: Environments, log_dir: Path) -> Iterator[Edges]:
    stack = start(environments, log_dir)
    try:
        yield stack
    finally:
        for p in stack.procs:
            p.stop()


def until(what: str, predicate: Any, timeout: float = CANARY_S) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"canary: {what} not visible within {timeout} s (last: {last!r})")
        time.sleep(0.02)


async def canary(stack: Edges) -> dict[str, Any]:
    """A stream, a chat message and a purchase, made now, visible everywhere within CANARY_S; the values seen."""
    http = stack.client()
    seen: dict[str, Any] = {}
    try:
        created = http.post(
            "/streams",
            json={
                "title": f"ক্যানারি {uuid.uuid4().hex[:6]}",
                "stream_type": "flash_sale",
                "category": "canary",
                "products": [{"product_id": PRODUCT, "special_price": 1000}],
            },
        )
        assert created.status_code == 201, created.text
        sid = str(created.json()["id"])
        started = http.post(f"/streams/{sid}/start")
        assert started.status_code == 200, started.text
        version = started.json()["version"]
        t0 = time.monotonic()
        detail = until(
            "stream detail (PostgreSQL live_streams + Redis status)",
            lambda: (
                (r := http.get(f"/streams/{sid}")).status_code == 200
                and r.json().get("status") == "live"
                and r.json().get("version", 0) >= version
                and r.json()
            ),
        )
        listed = until(
            "stream in the list",
            lambda: (
                sid
                in {
                    s["id"] for s in http.get("/streams", params={"category": "canary", "limit": 100}).json()["streams"]
                }
            ),
        )
        seen["stream"] = {
            "status": detail["status"],
            "version": detail["version"],
            "listed": bool(listed),
            "visible_after_s": round(time.monotonic() - t0, 2),
        }

        sale = http.post(
            "/flash-sales",
            json={
                "stream_id": sid,
                "product_id": PRODUCT,
                "flash_price": 499,
                "available_quantity": 5,
                "duration_minutes": 30,
            },
        )
        assert sale.status_code == 201, sale.text
        sale_id = sale.json()["id"]
        buyer = stack.client("viewer")
        try:
            bought = buyer.post(
                f"/flash-sales/{sale_id}/purchase",
                json={"quantity": 1},
                headers={"Idempotency-Key": f"canary-{uuid.uuid4()}"},
            )
        finally:
            buyer.close()
        assert bought.status_code == 201, bought.text
        t0 = time.monotonic()
        row = until(
            "purchase in flash_sales (PostgreSQL) and its live counter (Redis)",
            lambda: (
                (r := http.get(f"/flash-sales/{sale_id}")).status_code == 200
                and r.json()["reserved_quantity"] == 1
                and str(r.json()["live"].get("remaining_quantity")) == "4"
                and r.json()
            ),
        )
        seen["purchase"] = {
            "reserved_quantity": row["reserved_quantity"],
            "remaining_live": row["live"]["remaining_quantity"],
            "visible_after_s": round(time.monotonic() - t0, 2),
        }

        sender, watcher = await stack.viewer("viewer"), await stack.viewer()
        try:
            for v in (sender, watcher):
                ack = await v.call("join_stream", {"stream_id": sid})
                assert ack["ok"] is True, ack
            text = f"ক্যানারি বার্তা {uuid.uuid4().hex[:6]}"
            ack = await sender.call("send_message", {"stream_id": sid, "message": text})
            assert ack["ok"] is True, ack
            t0 = time.monotonic()
            got = await watcher.wait_for("new_message", lambda m: m["message"] == text, timeout=CANARY_S)
            newcomer = await stack.viewer()
            try:

                async def in_history() -> bool:
                    newcomer.events.clear()
                    await newcomer.call("leave_stream", {"stream_id": sid})
                    await newcomer.call("join_stream", {"stream_id": sid})
                    screen = await newcomer.wait_for("stream_state")
                    return any(m["message"] == text for m in screen["recent_messages"])

                deadline = time.monotonic() + CANARY_S
                while not await in_history():
                    assert time.monotonic() < deadline, "canary: chat not in a newcomer's first screen (Redis)"
                    await asyncio.sleep(0.05)
            finally:
                await newcomer.client.disconnect()
            engagement = await asyncio.to_thread(
                until,
                "chat in the analytics (PostgreSQL interactions)",
                lambda: (
                    http.get(f"/streams/{sid}/analytics").json()["overview"]["total_engagement"] >= 1
                    and http.get(f"/streams/{sid}/analytics").json()["overview"]
                ),
            )
            seen["chat"] = {
                "fan_out": got["message"] == text,
                "in_first_screen": True,
                "total_engagement": engagement["total_engagement"],
                "visible_after_s": round(time.monotonic() - t0, 2),
            }
        finally:
            await sender.client.disconnect()
            await watcher.client.disconnect()
    finally:
        http.close()
    return seen


def raw_json(value: Any) -> bytes:
    """A document as a hostile client sends it: lone surrogates as \\uD800 escapes (valid JSON text), NaN."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()
