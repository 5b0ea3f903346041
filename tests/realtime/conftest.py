"""The running service for realtime tests: relay, projections and an API process with the Socket.IO gateway.

One stack per test package (starting Kafka consumer groups is the slow part). Tests that must not see each
other's rooms use their own stream ids.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import socketio

from infra.settings import Settings
from infra.tokens import issue_token
from tests.conftest import Environments
from tests.support import Proc, free_port, wait_until

NS = "/live-stream"
P = "/api/v1/live-commerce"


@dataclass
class Stack:
    env: Settings
    http: httpx.Client
    api: Proc
    project: Proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env.http_port}"

    def token(self, user_id: str | None = None, roles: tuple[str, ...] = (), name: str | None = None) -> str:
        return issue_token(self.env, user_id or str(uuid.uuid4()), roles, name)

    def fake_stream(self, status: str = "live") -> str:
        """A show known to the gateway (``STREAM_STATUS``) without going through the store: for tests of the
        gateway alone, which do not need the HTTP API's stream."""
        sid = str(uuid.uuid4())
        r = redis.Redis.from_url(self.env.redis_url)
        r.hset(f"STREAM_STATUS:{sid}", mapping={"status": status})
        r.close()
        return sid

    def live_stream(self, products: list[str] | None = None, host_id: str | None = None) -> str:
        """A real show: scheduled and started over HTTP, visible to the gateway once projected. With
        ``host_id`` it is only scheduled (starting needs a verified host profile); viewers may join it too."""
        body: dict[str, Any] = {
            "title": "শাড়ি হাট লাইভ",
            "stream_type": "product_demo",
            "products": [{"product_id": p, "special_price": 1500} for p in products or []],
        }
        if host_id is not None:
            body["host_id"] = host_id
        created = self.http.post(f"{P}/streams", json=body)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        status = "scheduled" if host_id else "live"
        if not host_id:
            assert self.http.post(f"{P}/streams/{sid}/start").status_code == 200
        r = redis.Redis.from_url(self.env.redis_url, decode_responses=True)
        wait_until(lambda: r.hget(f"STREAM_STATUS:{sid}", "status") == status, what="stream status projected")
        r.close()
        return str(sid)

    def assign_moderator(self, stream_id: str, moderator_id: str, permissions: list[str]) -> None:
        res = self.http.post(
            f"{P}/streams/{stream_id}/moderators", json={"moderator_id": moderator_id, "permissions": permissions}
        )
        assert res.status_code == 201, res.text


def start_api(env: Settings, log_dir: Path, name: str = "api") -> Proc:
    api = Proc(env, "api", log_dir=log_dir, name=name)
    api.wait_for_output("realtime pusher ready", timeout=60)
    return api


@asynccontextmanager
async def own_api(
    rt: Stack, log_dir: Path, name: str, viewers: list[Viewer], **settings: Any
) -> AsyncIterator[tuple[str, Proc]]:
    """A second API process on the test stack with its own settings: its URL and process. On the way out the
    test's viewers are closed first (their presence goes out), then the process stops (its log is complete)."""
    env = rt.env.model_copy(update={"http_port": free_port(), "postgres_pool_size": 2, **settings})
    api = start_api(env, log_dir, name)
    try:
        yield f"http://127.0.0.1:{env.http_port}", api
    finally:
        for v in viewers:
            await v.client.disconnect()
        viewers.clear()
        api.stop()


def fanout_counts(api: Proc) -> tuple[int, int, int]:
    """Frames delivered, direct writes, frames dropped: the fan-out's line in a stopped API's log."""
    line = next(x for x in api.output().splitlines() if "fan-out:" in x)
    delivered = int(line.split("fan-out: ")[1].split()[0])
    writes = int(line.split(" in ")[1].split()[0])
    dropped = int(line.split(", ")[-1].split()[0])
    return delivered, writes, dropped


@pytest.fixture(scope="package")
def rt(environments: Environments, log_dir: Path) -> Iterator[Stack]:
    env = environments.new().model_copy(update={"http_port": free_port(), "fanout_max_fps": 10.0})
    procs = [Proc(env, "relay", log_dir=log_dir), Proc(env, "project", log_dir=log_dir)]
    # HTTP commands need a signed-in owner; an admin may do all of them on any show.
    admin = issue_token(env, str(uuid.uuid4()), ["admin"], "test admin")
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{env.http_port}", timeout=10, headers={"Authorization": f"Bearer {admin}"}
    )
    try:
        api = start_api(env, log_dir)
        procs.append(api)
        procs[1].wait_for_output("projection stream_engagement pid", timeout=60)
        yield Stack(env, http, api, procs[1])
    finally:
        http.close()
        for p in procs:
            p.stop()


@dataclass
class Viewer:
    """A python-socketio client that records every event it receives, in order."""

    client: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)

    def got(self, name: str) -> list[Any]:
        return [d for e, d in self.events if e == name]

    async def wait_for(self, name: str, predicate: Any = None, timeout: float = 10.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for d in self.got(name):
                if predicate is None or predicate(d):
                    return d
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} matching in {timeout}s; got {self.events[-10:]}")

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, namespace=NS, timeout=10)

    async def join(self, stream_id: str, **extra: Any) -> Any:
        ack = await self.call(
            "join_stream",
            {"stream_id": stream_id, "viewer_info": {"device_type": "mobile", "location": "Dhaka"}, **extra},
        )
        assert ack["ok"], ack
        return ack


async def connect(url: str, token: str | None = None) -> Viewer:
    client = socketio.AsyncClient(reconnection=False)
    viewer = Viewer(client)

    @client.on("*", namespace=NS)
    async def record(event: str, data: Any = None) -> None:
        viewer.events.append((event, data))

    await client.connect(
        url, namespaces=[NS], auth={"token": token} if token else None, transports=["websocket"], wait_timeout=10
    )
    return viewer


@pytest.fixture
async def viewers() -> AsyncIterator[list[Viewer]]:
    """Clients opened by a test, closed after it."""
    opened: list[Viewer] = []
    yield opened
    for v in opened:
        await v.client.disconnect()
