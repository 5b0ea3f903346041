"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e.journeys import P, Show, show, show_settings  # noqa: F401  (the module-scoped stack fixture)
from tests.support import Proc, free_port, wait_until

# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────


# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────


# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────


# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────


# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────


# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────

async def test_go_live_at_once(fresh_show: Show) -> None:
    """On a stack started a moment ago (its projections still finding their feet), the host publishes with
    ffmpeg 0.1 s after ``start`` and the spec's viewer joins 0.5 s after it: the door and the gateway decide
    from the event store, so the publish is accepted and the viewer sees the show live."""
    s = fresh_show
    viewer = await s.viewer("viewer")  # the spec's snippet: signed in, connected before the show starts
    # However long the read models take (seconds on a fresh stack), nothing here may wait for them: the
    # projections are frozen from before the show exists until the publish and the join have been decided.
    frozen = s.procs["project"].popen.pid
    os.killpg(frozen, signal.SIGSTOP)
    created = s.http.post("/streams", json={"title": "ঈদ শাড়ি লাইভ", "stream_type": "product_demo",
                                            "vendor_id": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    started = s.http.post(f"/streams/{sid}/start")
    assert started.status_code == 200, started.text
    at = time.monotonic()
    live = started.json()
    await asyncio.sleep(0.1)
    host = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi",
        "-i", "sine", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
        "-f", "flv", f"{live['rtmp_url']}/{live['stream_key']}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - at)))
    try:
        ack = await viewer.call("join_stream", {"stream_id": sid,
                                                "viewer_info": {"device_type": "mobile", "location": "Dhaka"}})
        assert ack["ok"], ack
        state = await viewer.wait_for("stream_state")
        assert state["stream_id"] == sid and state["status"] == "live", state
        assert viewer.got("error") == []
        _, err = await asyncio.wait_for(host.communicate(), 60)
        assert s.http.get(f"/streams/{sid}").json()["error"]["code"] == "stream_not_found"  # still frozen
    finally:
        os.killpg(frozen, signal.SIGCONT)
        await viewer.client.disconnect()
        if host.returncode is None:
            host.kill()
    assert host.returncode == 0 and b"unknown_stream_key" not in err, err  # the publish was taken, to its end
    ingest = s.procs["ingest"].output()
    assert f"started media worker for {sid}" in ingest and f"→ show {sid}" in ingest, ingest[-2000:]
    # What a player sees: the show's HLS master playlist with its renditions.
    master = wait_until(lambda: (r := httpx.get(f"{s.url}/hls/{sid}/master.m3u8", timeout=10)).status_code == 200
                        and r, timeout=30, what="the show's master playlist")
    assert "#EXT-X-STREAM-INF" in master.text
    # The read model catches up afterwards, as it always does.
    shown = wait_until(lambda: (r := s.http.get(f"/streams/{sid}", params={"min_version": live["version"]}))
                       .status_code == 200 and r, timeout=60, what="the read model after the thaw")
    assert shown.json()["status"] == "live"


@pytest.fixture(scope="module")
def fresh_show(environments: Environments, log_dir: Path) -> Iterator[Show]:
    """A stack of its own, started for Journey 10 alone, with the RTMP door (``livecommerce ingest``): its first
    writes meet projections that have not caught up yet."""
    env, sandbox = show_settings(environments, rtmp_base_url=f"rtmp://127.0.0.1:{free_port()}/live")
    s = Show(env, log_dir, sandbox)
    s.procs["ingest"] = Proc(env, "ingest", log_dir=log_dir, name="journey-ingest")
    s.procs["ingest"].wait_for_output("ingest ready on rtmp://", timeout=30)
    yield s
    s.stop()


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────


# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────


# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

