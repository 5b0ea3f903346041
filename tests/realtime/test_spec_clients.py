"""The spec's client snippet with the npm socket.io-client, and one show served by two API processes."""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.realtime.conftest import P, Stack, Viewer, connect, start_api
from tests.support import free_port

NODE_DIR = Path(__file__).parent / "node"


def node_modules() -> None:
    if (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300, capture_output=True
    )


def _lines(proc: subprocess.Popen[str], out: queue.Queue[dict[str, Any]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            out.put(json.loads(line))
        except ValueError:
            out.put({"what": "stray", "data": line})


@pytest.mark.slow
def test_spec_snippet_with_the_npm_socket_io_client(rt: Stack) -> None:
    node_modules()
    product = str(uuid.uuid4())
    sid = rt.live_stream(products=[product])
    token = rt.token(name="Nusrat")
    proc = subprocess.Popen(
        ["node", "spec_client.js", rt.url, token, sid],
        cwd=NODE_DIR,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    seen: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, seen), daemon=True).start()
    got: dict[str, Any] = {}
    try:
        while not {"new_message", "viewer_count_update", "product_featured"} <= set(got):
            item = seen.get(timeout=30)
            got.setdefault(item["what"], item["data"])
            if item["what"] == "joined":
                assert item["data"]["ok"], item
                featured = rt.http.post(f"{P}/streams/{sid}/feature", json={"product_id": product})
                assert featured.status_code == 200, featured.text
            assert item["what"] not in ("connect_error", "timeout", "error"), item
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert got["new_message"]["message"] == "When will the iPhone be available?"
    assert got["new_message"]["username"] == "Nusrat" and got["new_message"]["language"] == "en"
    assert got["viewer_count_update"] == {"stream_id": sid, "count": 1}
    pushed = got["product_featured"]
    assert pushed["product"]["product_id"] == product and pushed["product"]["special_price"] == 1500.0
    assert pushed["stream_id"] == sid and isinstance(pushed["position"], int) and pushed["position"] > 0


@pytest.mark.slow
async def test_a_message_sent_on_one_api_process_reaches_a_viewer_on_another(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    env2 = rt.env.model_copy(update={"http_port": free_port()})
    api2 = start_api(env2, log_dir, name="api-second")
    try:
        sid = rt.fake_stream()
        on_first = await connect(rt.url, rt.token(name="Dhaka viewer"))
        on_second = await connect(f"http://127.0.0.1:{env2.http_port}", rt.token(name="Sylhet viewer"))
        viewers += [on_first, on_second]
        await on_first.join(sid)
        await on_second.join(sid)
        ack = await on_first.call("send_message", {"stream_id": sid, "message": "সিলেট থেকে কেউ আছেন?"})
        assert ack["ok"], ack
        msg = await on_second.wait_for("new_message")
        assert msg["id"] == ack["id"] and msg["username"] == "Dhaka viewer" and msg["language"] == "bn"
        # Each process counts its own sockets; both viewers see the show's total.
        await on_first.wait_for("viewer_count_update", lambda d: d["count"] == 2)
        await on_second.wait_for("viewer_count_update", lambda d: d["count"] == 2)
        # Reactions are coalesced per tick and still cross processes.
        for _ in range(5):
            assert (await on_second.call("react", {"stream_id": sid, "reaction_type": "heart"}))["ok"]

        def hearts() -> int:
            return sum(b["counts"].get("heart", 0) for b in on_first.got("reaction_burst"))

        for _ in range(200):
            if hearts() >= 5:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert hearts() == 5
        # summed per tick (one or two frames; three when a loaded CI machine delays the reacts across two ticks)
        assert len(on_first.got("reaction_burst")) <= 3, "five hearts summed into few frames, not one each"
        # A viewer leaving on one process changes the count on the other.
        await on_second.client.disconnect()
        await on_first.wait_for("viewer_count_update", lambda d: d["count"] == 1)
    finally:
        api2.stop()
