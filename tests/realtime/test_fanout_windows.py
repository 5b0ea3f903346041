"""The fan-out writes a show's emits to each viewer once per window (interfaces/realtime/fanout.py): what a
viewer receives is unchanged (every event, in order), counters are one frame per window with the sum of all
processes' reactions, a viewer who joins mid-window gets only what comes after, and a viewer who stops reading
loses frames without holding up the others."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from interfaces.realtime.fanout import Audience, FanoutManager, ws_text_frame
from tests.realtime.conftest import NS, Stack, Viewer, connect, fanout_counts, own_api


def _client_frame(text: str) -> bytes:
    """A masked client → server text frame (RFC 6455 §5.2) with a zero mask key, under 126 bytes."""
    data = text.encode()
    assert len(data) < 126
    return bytes((0x81, 0x80 | len(data))) + b"\0\0\0\0" + data


def _manager(writes_per_s: float, max_window_s: float, batch_window_s: float) -> FanoutManager:
    return FanoutManager(
        "redis://127.0.0.1:1/0",
        channel="unused",
        queue_limit=10,
        batch_window_s=batch_window_s,
        writes_per_s=writes_per_s,
        max_window_s=max_window_s,
    )


@given(st.integers(1, 200_000), st.integers(1, 200_000), st.floats(1_000, 100_000), st.booleans())
def test_the_window_grows_with_the_show_and_keeps_writes_within_the_budget(
    a: int, b: int, budget: float, batch: bool
) -> None:
    m = _manager(budget, 0.25, 0.1)
    aud = Audience("stream:x:chat-batch" if batch else "stream:x:chat", batch, "x")
    small, big = sorted((a, b))
    assert m.window_s(aud, small) <= m.window_s(aud, big) <= 0.25 or (batch and m.window_s(aud, big) == 0.1)
    w = m.window_s(aud, big)
    if w < 0.25:  # under the cap, one write per viewer per window stays within the budget
        assert big / w <= budget * 1.000001
    if batch:
        assert w >= 0.1


def test_frames_are_rfc6455_text_frames() -> None:
    for n in (0, 125, 126, 65_535, 65_536):
        frame = ws_text_frame(b"x" * n)
        assert frame[0] == 0x81
        if n < 126:
            assert frame[1] == n and len(frame) == n + 2
        elif n < 65_536:
            assert frame[1] == 126 and int.from_bytes(frame[2:4], "big") == n and len(frame) == n + 4
        else:
            assert frame[1] == 127 and int.from_bytes(frame[2:10], "big") == n and len(frame) == n + 10


async def test_reactions_from_two_processes_arrive_summed_and_writes_carry_several_frames(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    async with own_api(rt, log_dir, "api-windows", viewers) as (url, other):
        sid = rt.fake_stream()
        here = await connect(rt.url, rt.token())
        there = await connect(url, rt.token())
        likers = [await connect(u, rt.token()) for u in (rt.url, url) for _ in range(3)]
        viewers += [here, there, *likers]
        for v in (here, there, *likers):
            await v.join(sid)
        per_liker = 15  # under the per-user burst: none refused
        for _ in range(per_liker):
            for v in likers:
                await v.client.emit("react", {"stream_id": sid, "reaction_type": "heart"}, namespace=NS)
        total = per_liker * len(likers)

        def hearts(v: Viewer) -> int:
            return sum(b["counts"].get("heart", 0) for b in v.got("reaction_burst"))

        for v in (here, there):
            for _ in range(200):
                if hearts(v) >= total:
                    break
                await asyncio.sleep(0.05)
            assert hearts(v) == total, v.got("reaction_burst")
            assert all(b["stream_id"] == sid for b in v.got("reaction_burst"))
        assert all(v.got("error") == [] for v in likers)
    delivered, writes, _ = fanout_counts(other)
    assert 0 < writes < delivered, (delivered, writes)  # direct writes are made, and some carry several frames


async def test_a_viewer_joining_mid_window_gets_only_what_follows(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    # A budget of one write a second makes every window the longest (1 s), so the join lands inside one.
    async with own_api(rt, log_dir, "api-midwindow", viewers, fanout_writes_per_s=1, fanout_max_window_ms=1000) as (
        url,
        _api,
    ):
        sid = rt.fake_stream()
        host = await connect(url, rt.token(str(uuid.uuid4()), ("admin",), "Host"))
        early = await connect(url, rt.token())
        late = await connect(url, rt.token())
        viewers += [host, early, late]
        await host.join(sid)
        await early.join(sid)
        await host.client.emit("send_message", {"stream_id": sid, "message": "প্রথম"}, namespace=NS)
        await early.wait_for("new_message", lambda m: m["message"] == "প্রথম", timeout=10)  # window 1 written
        await host.client.emit("send_message", {"stream_id": sid, "message": "দ্বিতীয়"}, namespace=NS)
        await asyncio.sleep(0.2)  # the message is in the open window (written ~1 s after the first)
        await late.join(sid)
        await host.client.emit("send_message", {"stream_id": sid, "message": "তৃতীয়"}, namespace=NS)
        await late.wait_for("new_message", lambda m: m["message"] == "তৃতীয়", timeout=10)
        await early.wait_for("new_message", lambda m: m["message"] == "তৃতীয়", timeout=10)
        assert [m["message"] for m in early.got("new_message")] == ["প্রথম", "দ্বিতীয়", "তৃতীয়"]
        assert [m["message"] for m in late.got("new_message")] == ["তৃতীয়"]
        names = [e for e, _ in late.events]
        assert names.index("stream_state") < names.index("new_message"), names  # its first screen, then chat


async def test_a_deletion_never_overtakes_the_batch_with_its_message(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    # Batches of 3 s: the message is still in the open batch when its deletion comes.
    async with own_api(rt, log_dir, "api-batch-order", viewers, chat_batch_window_ms=3000) as (url, _api):
        sid = rt.fake_stream()
        host = await connect(url, rt.token(str(uuid.uuid4()), ("admin",), "Host"))
        batched = await connect(url, rt.token())
        viewers += [host, batched]
        await host.join(sid)
        await batched.join(sid, chat_batch=True)
        await host.call("send_message", {"stream_id": sid, "message": "স্বাগতম"})  # a quiet show's first: now
        await batched.wait_for("new_messages", timeout=10)
        sent = await host.call("send_message", {"stream_id": sid, "message": "ভুল দাম"})
        assert sent["ok"], sent
        for _ in range(100):  # the gateway finds the message in the projected chat history
            ack = await host.call("moderate", {"stream_id": sid, "action": "delete", "message_id": sent["id"]})
            if ack["ok"]:
                break
            await asyncio.sleep(0.05)
        assert ack["ok"], ack
        await batched.wait_for("message_deleted", timeout=10)
        order = [
            e if e != "new_messages" else [m["message"] for m in d["messages"]]
            for e, d in batched.events
            if e in ("new_messages", "message_deleted")
        ]
        assert order.index(["ভুল দাম"]) < order.index("message_deleted"), order


async def test_a_viewer_who_stops_reading_loses_frames_and_nobody_else_does(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    async with own_api(rt, log_dir, "api-slow", viewers, client_queue_limit=4) as (url, api):
        port = int(url.rsplit(":", 1)[1])
        sid = rt.fake_stream()
        host = await connect(url, rt.token(str(uuid.uuid4()), ("admin",), "H"))
        fan = await connect(url, rt.token())
        viewers += [host, fan]
        await host.join(sid)
        await fan.join(sid)
        # A phone on a bad link: a tiny receive buffer, joins, then never reads again (a raw socket: a client
        # library would keep reading into its own buffers).
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", port))
        raw.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        seen = b""
        while b"0{" not in seen:  # the engine.io open packet
            seen += raw.recv(4096)
        raw.sendall(_client_frame(f"40{NS},{{}}"))
        while f"40{NS},{{".encode() not in seen:
            seen += raw.recv(4096)
        raw.sendall(_client_frame(f"42{NS}," + json.dumps(["join_stream", {"stream_id": sid}])))
        # More than the kernel holds for it (the gateway caps a viewer's send buffer at 128 KB; uncapped, Linux
        # let ~3 MB pile up for a peer that stopped reading).
        n = 400
        text = ("শাড়ির দাম কত? " * 40)[:480]
        for i in range(n):
            await host.client.emit("send_message", {"stream_id": sid, "message": f"{i} {text}"}, namespace=NS)
        await fan.wait_for("new_message", lambda m: m["message"].startswith(f"{n - 1} "), timeout=60)
        got: list[Any] = [int(m["message"].split()[0]) for m in fan.got("new_message")]
        assert got == list(range(n))  # the reader who keeps up gets every message, in order
        raw.close()
    assert fanout_counts(api)[2] > 0  # frames dropped for the slow one
