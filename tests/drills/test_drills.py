"""Drills (issue 19): kill -9 of each process under load, and an outage of Kafka, Redis and MongoDB.

After each drill nothing acknowledged is lost or duplicated, and every read model fed by the store equals the
same read model replayed from the store (``harness.py`` says what is checked and how). The drills share one
stack, in the order below, so later drills also run on what earlier ones left.

Outages last ``DRILL_OUTAGE_S`` seconds (4 in CI; ``bench/drills.py`` runs them at 30 s). Each drill's figures
go to ``DRILL_REPORT`` (JSON lines; default: the session's log folder) for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from pymongo import MongoClient

from infra.tokens import issue_token
from media.playlists import read_playlist
from tests.conftest import Environments
from tests.drills.harness import DrillResult, DrillStack, P, report, run_drill
from tests.support import wait_until

OUTAGE_S = float(os.environ.get("DRILL_OUTAGE_S", "4"))
NS = "/live-stream"
RESULTS: list[DrillResult] = []


@pytest.fixture(scope="module")
def drills(environments: Environments, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    stack = DrillStack(environments, log_dir, tmp_path_factory.mktemp("drills"))
    try:
        yield stack
    finally:
        stack.close()
        report(RESULTS, Path(os.environ.get("DRILL_REPORT") or log_dir / "drills.jsonl"))


def assert_clean(result: DrillResult) -> None:
    RESULTS.append(result)
    s = result.store
    assert s["lost"] == [] and s["duplicated"] == [] and s["streams_lost"] == [], s
    assert s["purchases_acked"] > 0 and s["reservations_stored"] >= s["purchases_acked"], s
    assert result.replay_equal == {n: True for n in result.replay_equal}, result.replay_equal


@pytest.mark.slow
@pytest.mark.parametrize("process", ["api", "relay", "project", "process"])
def test_kill_9_under_load(drills: DrillStack, process: str) -> None:
    def kill() -> None:
        drills.restart(process)

    assert_clean(run_drill(drills, f"kill -9 {process}", kill))


@pytest.mark.slow
@pytest.mark.parametrize("server", ["kafka", "redis", "mongodb"])
def test_outage_under_load(drills: DrillStack, server: str) -> None:
    def outage() -> dict[str, Any]:
        proxy = drills.proxies[server]
        proxy.cut()
        down = time.monotonic()
        seen: set[str] = set()
        try:
            while time.monotonic() - down < OUTAGE_S:
                h = drills.health()
                if h is not None:
                    seen.update(h["failing"])
                time.sleep(0.5)
        finally:
            proxy.resume()
        return {"outage_s": OUTAGE_S, "health_failing_seen": sorted(seen)}

    result = run_drill(drills, f"{server} outage {OUTAGE_S:.0f} s", outage)
    assert_clean(result)
    assert server in result.notes["health_failing_seen"]  # /health said so while it lasted


# -- the gateway: viewers chatting while the API process (which carries Socket.IO) is killed ---------------------
class Chatters:
    """Viewers in one show sending chat, each message acknowledged by the gateway (``{"ok": true, "id"}``);
    they reconnect when the API comes back, as the Socket.IO client does."""

    def __init__(self, drills: DrillStack, stream_id: str, viewers: int = 3) -> None:
        self.drills, self.stream_id, self.viewers = drills, stream_id, viewers
        self.acked: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Chatters:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    async def _run(self) -> None:
        await asyncio.gather(*(self._viewer(i) for i in range(self.viewers)))

    async def _viewer(self, i: int) -> None:
        url = f"http://127.0.0.1:{self.drills.env.http_port}"
        token = issue_token(self.drills.env, str(uuid.uuid4()), ["viewer"], f"দর্শক {i}")
        n = 0
        while not self._stop.is_set():
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    url, namespaces=[NS], auth={"token": token}, transports=["websocket"], wait_timeout=5
                )
                ack = await client.call("join_stream", {"stream_id": self.stream_id}, namespace=NS, timeout=5)
                assert ack["ok"], ack
                while not self._stop.is_set():
                    n += 1
                    ack = await client.call(
                        "send_message",
                        {"stream_id": self.stream_id, "message": f"দাম কত? {i}-{n}"},
                        namespace=NS,
                        timeout=5,
                    )
                    if ack.get("ok"):
                        self.acked.append(ack["id"])
                    await asyncio.sleep(0.25)
            except Exception:  # the API went away mid-call: no ack, so nothing was promised
                self.failed += 1
                await asyncio.sleep(0.3)
            finally:
                try:
                    await client.disconnect()
                except Exception:
                    pass


@pytest.mark.slow
def test_kill_9_of_the_gateway_while_viewers_chat(drills: DrillStack) -> None:
    sid = drills.http.post(f"{P}/streams", json={"title": "চ্যাট শো", "stream_type": "product_demo"}).json()["id"]
    assert drills.http.post(f"{P}/streams/{sid}/start").status_code == 200
    wait_until(
        lambda: drills.http.get(f"{P}/streams/{sid}").json().get("status") == "live",
        timeout=60,
        what="the chat show live",
    )
    chat = Chatters(drills, sid).start()
    try:
        wait_until(lambda: len(chat.acked) >= 10, timeout=60, what="chat to flow")

        def kill() -> dict[str, Any]:
            drills.restart("api")
            before = len(chat.acked)
            wait_until(lambda: len(chat.acked) >= before + 10, timeout=120, what="chat after the restart")
            return {}

        result = run_drill(drills, "kill -9 gateway (API with Socket.IO)", kill)
    finally:
        chat.stop()
    acked = set(chat.acked)
    client: MongoClient[dict[str, Any]] = MongoClient(drills.direct.mongo_url)
    try:

        def stored() -> list[str]:
            return [
                d["message_id"]
                for d in client[drills.env.mongo_db]["chat_messages"].find({"stream_id": sid}, {"message_id": 1})
            ]

        wait_until(lambda: acked <= set(stored()), timeout=60, what="every acknowledged chat message stored")
        ids = stored()
    finally:
        client.close()
    result.notes.update(
        chat_acked=len(acked),
        chat_stored=len(ids),
        chat_calls_failed=chat.failed,
        chat_lost=len(acked - set(ids)),
        chat_duplicated=len(ids) - len(set(ids)),
    )
    assert_clean(result)
    assert len(ids) == len(set(ids))


# -- the RTMP door: killed (with its media workers) mid-show; the host's app publishes again ---------------------
def publish(url: str, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "ffmpeg",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=426x240:rate=15",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-an",
            "-f",
            "flv",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def segments(drills: DrillStack, sid: str) -> list[str]:
    """The live playlist's segment files (of the show's first rendition), in playlist order."""
    media = Path(drills.env.media_root) / sid
    for playlist in sorted(media.glob("*/index.m3u8")):
        return [str(playlist.parent / s["uri"]) for s in read_playlist(playlist.read_text())["segments"]]
    return []


@pytest.mark.slow
def test_kill_9_of_the_rtmp_door_mid_show(drills: DrillStack) -> None:
    created = drills.http.post(f"{P}/streams", json={"title": "লাইভ শো", "stream_type": "product_demo"}).json()
    sid = created["id"]
    started = drills.http.post(f"{P}/streams/{sid}/start").json()
    url = f"{drills.env.rtmp_base_url}/{started['stream_key']}"
    wait_until(lambda: drills.http.get(f"{P}/streams/{sid}").status_code == 200, timeout=60, what="show readable")
    host = publish(url, 120)
    before_kill: list[str] = []
    try:
        wait_until(lambda: len(segments(drills, sid)) >= 2, timeout=90, interval=0.5, what="the show on air")

        def kill() -> dict[str, Any]:
            nonlocal host
            before = segments(drills, sid)
            drills.restart("ingest")
            drills.procs["ingest"].wait_for_output("ingest ready", timeout=60)
            host.kill()
            host.wait(10)
            host = publish(url, 120)  # the host's app reconnects
            wait_until(
                lambda: len(segments(drills, sid)) >= len(before) + 2,
                timeout=120,
                interval=0.5,
                what="the show on air again",
            )
            nonlocal before_kill
            before_kill = before
            return {"segments_before_kill": len(before)}

        result = run_drill(drills, "kill -9 ingest (RTMP door and its media workers)", kill)
    finally:
        host.kill()
        host.wait(10)
    after = segments(drills, sid)
    result.notes.update(segments_after=len(after))
    assert_clean(result)
    assert len(after) == len(set(after)) and after == sorted(after), after  # numbering went on: none reused
    assert all(Path(p).exists() for p in before_kill)  # what was on air before the kill is still there
