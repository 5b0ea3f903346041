"""One sender's burst reaches every viewer complete and in the order it was sent (a socket's events are
handled one at a time), while likes from others are coalesced alongside."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from tests.realtime.conftest import Stack, Viewer, connect, fanout_counts, start_api
from tests.support import Proc, free_port


async def test_a_burst_of_chat_arrives_complete_and_in_order(rt: Stack, viewers: list[Viewer], log_dir: Path) -> None:
    env = rt.env.model_copy(update={"http_port": free_port(), "postgres_pool_size": 2})
    api: Proc = start_api(env, log_dir, "api-fanout")
    try:
        url = f"http://127.0.0.1:{env.http_port}"
        sid = rt.fake_stream()
        # An admin is not rate limited, so one socket can send a burst; two others send alongside.
        host = await connect(url, rt.token(str(uuid.uuid4()), ("admin",), "Host"))
        fans = [await connect(url, rt.token(name=f"Fan {i}")) for i in range(2)]
        watchers = [await connect(url, rt.token()) for _ in range(20)]
        viewers += [host, *fans, *watchers]
        for v in (host, *fans, *watchers):
            await v.join(sid)
        n = 300

        async def burst() -> None:
            for i in range(n):
                await host.client.emit(
                    "send_message", {"stream_id": sid, "message": f"lot {i}"}, namespace="/live-stream"
                )
                if i % 50 == 0:
                    await asyncio.sleep(0.01)

        async def likes() -> None:
            for i in range(100):
                await fans[i % 2].client.emit(
                    "react", {"stream_id": sid, "reaction_type": "like"}, namespace="/live-stream"
                )
                await asyncio.sleep(0.005)

        await asyncio.gather(burst(), likes())
        for w in watchers:
            await w.wait_for("new_message", lambda m: m["message"] == f"lot {n - 1}", timeout=30)
            got = [m["message"] for m in w.got("new_message")]
            assert host.got("error") == []
            missing = sorted(set(range(n)) - {int(x.split()[1]) for x in got})
            assert not missing, (missing, host.got("error")[:3])
            bad = [(i, x) for i, x in enumerate(got) if x != f"lot {i}"]
            assert not bad, bad[:5]
            assert got == [f"lot {i}" for i in range(n)], got[:20]
            assert sum(sum(b["counts"].values()) for b in w.got("reaction_burst")) <= 100
        late = await connect(url, rt.token())
        viewers.append(late)
        await late.join(sid)
        assert (await late.wait_for("stream_state"))["stream_id"] == sid
        for v in viewers:
            await v.client.disconnect()
        viewers.clear()
    finally:
        api.stop()
    assert fanout_counts(api)[0] >= 20 * 300
