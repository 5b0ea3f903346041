"""Big shows: a viewer who joins with ``chat_batch`` gets the chat as a few ``new_messages`` frames a second,
complete and in order, also from another gateway process; the spec's client beside it still gets one
``new_message`` per message."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.realtime.conftest import NS, Stack, Viewer, connect, start_api
from tests.support import Proc, free_port


async def test_batch_viewers_get_every_message_in_order_in_a_few_frames(
    rt: Stack, viewers: list[Viewer], log_dir: Path
) -> None:
    env = rt.env.model_copy(update={"http_port": free_port(), "chat_batch_window_ms": 300})
    other: Proc = start_api(env, log_dir, "api-batch")
    try:
        sid = rt.fake_stream()
        host = await connect(rt.url, rt.token(str(uuid.uuid4()), ("admin",), "Host"))  # not rate limited
        one_by_one = await connect(rt.url, rt.token())
        batched_here = await connect(rt.url, rt.token())
        batched_there = await connect(f"http://127.0.0.1:{env.http_port}", rt.token())
        viewers += [host, one_by_one, batched_here, batched_there]
        await host.join(sid)
        await one_by_one.join(sid)
        await batched_here.join(sid, chat_batch=True)
        await batched_there.join(sid, chat_batch=True)
        n = 60
        for i in range(n):
            await host.client.emit("send_message", {"stream_id": sid, "message": f"দাম {i}"}, namespace=NS)
        await one_by_one.wait_for("new_message", lambda m: m["message"] == f"দাম {n - 1}", timeout=20)
        assert [m["message"] for m in one_by_one.got("new_message")] == [f"দাম {i}" for i in range(n)]
        assert one_by_one.got("new_messages") == []
        for v in (batched_here, batched_there):
            await v.wait_for("new_messages", lambda b: b["messages"][-1]["message"] == f"দাম {n - 1}", timeout=20)
            frames = v.got("new_messages")
            got = [m["message"] for b in frames for m in b["messages"]]
            assert got == [f"দাম {i}" for i in range(n)]
            assert all(b["stream_id"] == sid for b in frames)
            assert len(frames) < n / 5, len(frames)  # a few frames, not one per message
            assert v.got("new_message") == []  # and no single ones beside them
            assert frames[0]["messages"][0]["username"] == "Host"  # the same message shape as new_message
        ack = await batched_here.call("join_stream", {"stream_id": sid, "chat_batch": "yes"})
        assert ack["ok"] is False and ack["error"]["code"] == "validation_failed"
    finally:
        for v in viewers:
            await v.client.disconnect()
        viewers.clear()
        other.stop()
