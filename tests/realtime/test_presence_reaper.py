"""A SIGKILLed gateway's viewers leave: counts drop on the survivors within a few seconds and each of its
viewers gets one ``presence.left`` on the log, however many survivors notice the death."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from application import interactions as it
from application.interactions import InteractionIds
from infra.redis_store import redis_client
from interfaces.realtime.presence import PresenceReaper, presence_key
from interfaces.realtime.publisher import InteractionPublisher
from interfaces.realtime.room_ticker import DEAD_AFTER_S, GATEWAYS, counts_key
from tests.realtime.conftest import Stack, Viewer, connect, start_api
from tests.realtime.test_interactions import interactions_of
from tests.support import free_port, wait_until


def members(r: redis.Redis, sid: str) -> set[str]:
    return set(r.smembers(f"STREAM_VIEWERS:{sid}"))  # type: ignore[arg-type]


async def test_killed_gateway_viewers_leave_once(rt: Stack, viewers: list[Viewer], log_dir: Path) -> None:
    victim_env = rt.env.model_copy(update={"http_port": free_port(), "postgres_pool_size": 2})
    other_env = rt.env.model_copy(update={"http_port": free_port(), "postgres_pool_size": 2})
    victim = start_api(victim_env, log_dir, "api-victim")
    other = start_api(other_env, log_dir, "api-survivor")
    r = redis.Redis.from_url(rt.env.redis_url, decode_responses=True)
    try:
        sid = rt.fake_stream()
        v_url, o_url = (f"http://127.0.0.1:{e.http_port}" for e in (victim_env, other_env))
        doomed_ids = [str(uuid.uuid4()) for _ in range(3)]
        doomed = [await connect(v_url, rt.token(u)) for u in doomed_ids] + [await connect(v_url)]
        stay_a = await connect(rt.url, rt.token("stayer-a"))
        stay_b = await connect(o_url, rt.token("stayer-b"))
        viewers += [*doomed, stay_a, stay_b]
        for v in (*doomed, stay_a, stay_b):
            await v.join(sid)
        anon_id = doomed[-1].got("stream_state")[0]["you"]["user_id"]
        everyone = {*doomed_ids, anon_id, "stayer-a", "stayer-b"}
        wait_until(lambda: members(r, sid) == everyone, timeout=20, what="six viewers projected")
        await stay_b.wait_for("viewer_count_update", lambda d: d["count"] == 6, timeout=15)
        joined = await interactions_of(rt.env, sid, expected=6)
        victim_origin = next(
            it.origin_and_seq(e.id)[0]
            for e in joined
            if e.type == it.PRESENCE_JOINED and e.payload["viewer_id"] == doomed_ids[0]
        )
        # The victim's record follows the broker's acks of its presence.joined.
        wait_until(lambda: r.hlen(presence_key(victim_origin)) == 4, timeout=10, what="presence recorded")

        victim.kill()
        killed = time.monotonic()
        for v in (stay_a, stay_b):  # each survivor tells its own viewers the lower count
            await v.wait_for("viewer_count_update", lambda d: d["count"] == 2, timeout=DEAD_AFTER_S + 10)
        wait_until(
            lambda: members(r, sid) == {"stayer-a", "stayer-b"},
            timeout=DEAD_AFTER_S + 15,
            what="the victim's viewers gone from STREAM_VIEWERS",
        )
        took = time.monotonic() - killed
        assert took < DEAD_AFTER_S + 8, f"reaped after {took:.1f}s"
        assert r.hget(f"STREAM_METRICS:{sid}", "current_viewers") == "2"

        await asyncio.sleep(3)  # let the other survivor have its chances to send them a second time
        envs = await interactions_of(rt.env, sid, expected=10**6, timeout=4)
        lefts = [e for e in envs if e.type == it.PRESENCE_LEFT]
        assert sorted(e.payload["viewer_id"] for e in lefts) == sorted([*doomed_ids, anon_id]), lefts
        assert len({e.id for e in lefts}) == 4
        for e in lefts:
            assert e.payload["reason"] == "gateway_lost" and e.payload["gateway"] == victim_origin
            assert e.id.startswith(f"{victim_origin}~reaped.") and e.payload["watch_seconds"] >= 0
        assert not r.exists(presence_key(victim_origin)) and r.zscore(GATEWAYS, victim_origin) is None
        assert victim_origin not in r.hgetall(counts_key(sid))
        # Still live: the survivors' viewers are counted and heard.
        assert (await stay_a.call("send_message", {"stream_id": sid, "message": "still here"}))["ok"]
        await stay_b.wait_for("new_message", lambda m: m["message"] == "still here")
    finally:
        r.close()
        victim.kill()
        other.stop()


async def test_two_reapers_noticing_together_send_each_left_once(rt: Stack) -> None:
    """Two survivors' reapers run at the same instant against one dead origin: one claim, one set of lefts."""
    r = redis_client(rt.env.redis_url)
    dead = f"dead-{uuid.uuid4().hex}"
    sid = str(uuid.uuid4())
    records = {
        f"{sid} conn-{i}": json.dumps({"viewer_id": f"v{i}", "location": "Dhaka", "joined_at": time.time() - 60})
        for i in range(5)
    }
    publishers: list[InteractionPublisher] = []
    reapers: list[PresenceReaper] = []
    announced: list[Any] = []
    for _ in range(2):
        ids = InteractionIds()
        pub = InteractionPublisher(rt.env, ids)
        await pub.start()
        publishers.append(pub)
        reapers.append(PresenceReaper(r, pub, ids.origin, reannounce=lambda: announced.append(1) or 0))
    # The dead origin appears only now, right before both look: the stack's own gateway reaps too, and while the
    # publishers were connecting to Kafka it could take the dead origin before the two reapers under test did.
    await r.hset(presence_key(dead), mapping=records)
    await r.hset(counts_key(sid), dead, 5)
    await r.zadd(GATEWAYS, {dead: time.time() - DEAD_AFTER_S - 1})
    try:
        got = await asyncio.gather(*(reaper.once() for reaper in reapers))
        assert sorted(got) == [0, 1], got
        assert await asyncio.gather(*(reaper.once() for reaper in reapers)) == [0, 0], "nothing left"
        envs = await interactions_of(rt.env, sid, expected=6, timeout=4)
        assert sorted(e.payload["connection_id"] for e in envs) == [f"conn-{i}" for i in range(5)]
        # watch time runs to the dead process's last heartbeat (60 s ago - its 7 s of silence)
        assert all(e.type == it.PRESENCE_LEFT and 50 <= e.payload["watch_seconds"] <= 55 for e in envs)
        assert not await r.exists(presence_key(dead)) and await r.zscore(GATEWAYS, dead) is None
        assert not await r.hexists(counts_key(sid), dead)
        assert announced == []
    finally:
        for pub in publishers:
            await pub.stop()
        await r.aclose()
