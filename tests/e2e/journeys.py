"""The whole show as a client meets it, for ``test_show_journeys.py``: every process of ``livecommerce run``
(relay, projections, process managers, notifications, API with Socket.IO) and the payment sandbox, each a real
child process on the session's real services, started once per module.

Tests drive it only over HTTP and Socket.IO (and the sandbox's payment pages, as a buyer's browser would), and
read only what a user sees: answers, room events, notification lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from tests.conftest import Environments
from tests.realtime.conftest import NS, Viewer, connect  # noqa: F401  (re-exported for the journeys)
from tests.support import ROOT, Proc, free_port, token, wait_until

P = "/api/v1/live-commerce"


class Show:
    """The running stack. ``http`` is an admin's client; ``as_user`` gives any other signed-in client."""

    def __init__(self, env: Settings, log_dir: Path, sandbox_port: int) -> None:
        self.env = env
        self.log_dir = log_dir
        self.outbox = log_dir / f"notifications-{env.topic_prefix}.jsonl"
        sandbox_log = open(log_dir / f"sandbox-{sandbox_port}.log", "wb")
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "infra.payments.sandbox", "--port", str(sandbox_port)],
            cwd=ROOT,
            stdout=sandbox_log,
            stderr=subprocess.STDOUT,
        )
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.procs: dict[str, Proc] = {}
        for name, args in (
            ("relay", ("relay",)),
            ("project", ("project",)),
            ("process", ("process",)),
            ("notify", ("notify", "--outbox", str(self.outbox), "--poll", "0.2")),
        ):
            self.procs[name] = Proc(env, *args, log_dir=log_dir, name=f"journey-{name}")
        self.start_api()
        self.admin_id = str(uuid.uuid4())
        self.http = self.as_user("admin", self.admin_id)
        self.procs["project"].wait_for_output("projection orders pid", timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env.http_port}"

    def start_api(self) -> Proc:
        self.procs["api"] = api = Proc(self.env, "api", log_dir=self.log_dir, name="journey-api")
        api.wait_for_output("realtime pusher ready", timeout=60)

        def up() -> bool:
            try:
                return httpx.get(f"{self.sandbox_url}/sandbox/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, what="payment sandbox")
        return api

    def restart(self, name: str) -> Proc:
        """SIGKILL one process and start it again with the same arguments (a crash and a supervisor's restart)."""
        old = self.procs[name]
        old.kill()
        if name == "api":
            return self.start_api()
        args = old.popen.args[3:]  # [python, -m, interfaces.cli, *args]
        self.procs[name] = Proc(self.env, *args, log_dir=self.log_dir, name=f"journey-{name}")
        return self.procs[name]

    def kill(self, name: str) -> None:
        """SIGKILL one process and leave it down (``revive`` starts it again): a crash nobody restarts yet."""
        self.procs[name].kill()

    def revive(self, name: str) -> Proc:
        """Start a killed process again with the same arguments."""
        old = self.procs[name]
        if name == "api":
            return self.start_api()
        self.procs[name] = Proc(self.env, *old.popen.args[3:], log_dir=self.log_dir, name=f"journey-{name}")
        return self.procs[name]

    def pause(self, name: str) -> None:
        """SIGSTOP one process: alive, holding its connections, doing nothing (a stuck consumer)."""
        os.killpg(self.procs[name].popen.pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.killpg(self.procs[name].popen.pid, signal.SIGCONT)

    def token(self, role: str = "viewer", user: str | None = None, vendor: str | None = None) -> str:
        return token(self.env, role, user, vendor)

    def as_user(self, role: str = "viewer", user: str | None = None, vendor: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}{P}", timeout=30, headers={"Authorization": f"Bearer {self.token(role, user, vendor)}"}
        )

    async def viewer(self, role: str | None = None, user: str | None = None) -> Viewer:
        """A Socket.IO client on ``/live-stream`` recording every event (signed in when ``role`` is given)."""
        return await connect(self.url, self.token(role, user) if role else None)

    def notifications(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text(encoding="utf-8").splitlines() if line]

    def pay(self, payment_url: str, outcome: str = "success") -> httpx.Response:
        """The buyer on the provider's page (the sandbox), paying or failing."""
        return httpx.get(payment_url, params={"outcome": outcome}, timeout=30)

    def stop(self) -> None:
        self.http.close()
        for p in self.procs.values():
            p.stop()
        self.sandbox.terminate()
        self.sandbox.wait(10)


def show_settings(environments: Environments, **overrides: Any) -> tuple[Settings, int]:
    sandbox = free_port()
    base = f"http://127.0.0.1:{sandbox}"
    env = environments.new().model_copy(
        update={
            "http_port": free_port(),
            "bkash_base_url": f"{base}/bkash",
            "nagad_base_url": f"{base}/nagad",
            "rocket_base_url": f"{base}/rocket",
            "sslcommerz_base_url": f"{base}/sslcommerz",
            "sweep_interval_s": 0.5,
            **overrides,
        }
    )
    return env, sandbox


@pytest.fixture(scope="module")
def show(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = show_settings(environments)
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


async def until(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll without blocking the event loop (a room's Socket.IO client keeps recording meanwhile)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = predicate()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


async def joined(show: Show, stream_id: str) -> Viewer:
    """A viewer in the show's room (the gateway admits them once it knows the show is live)."""
    viewer = await show.viewer()

    async def join() -> bool:
        ack = await viewer.call("join_stream", {"stream_id": stream_id, "viewer_info": {"device_type": "mobile"}})
        return bool(ack.get("ok"))

    deadline = asyncio.get_running_loop().time() + 30
    while not await join():
        assert asyncio.get_running_loop().time() < deadline, "the gateway never admitted the viewer"
        await asyncio.sleep(0.2)
    return viewer


def clocked_settings(environments: Environments, **overrides: Any) -> tuple[Settings, int]:
    """``show_settings`` with a clock the test moves forward (``advance_clock``): every process of the stack adds
    the seconds in ``test_clock_file`` to its clock, so an auction's end or a cart's deadline needs no waiting."""
    clock = environments.tmp.mktemp("clock") / "offset"
    clock.write_text("0")
    return show_settings(environments, test_clock_file=clock, **overrides)


def advance_clock(show: Show, seconds: float) -> None:
    """Move the clock of every process of a ``clocked_settings`` stack forward by ``seconds``."""
    from infra import test_clock

    assert show.env.test_clock_file is not None, "a clocked_settings stack"
    test_clock.advance(show.env.test_clock_file, seconds)
