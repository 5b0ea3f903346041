"""Interactions reach Kafka as envelopes and the Redis/MongoDB read models, exactly once per envelope."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from application import interactions as it
from application.envelope import Envelope
from infra.mongo import mongo_client
from infra.redis_sequenced import RedisSequenced
from infra.redis_store import redis_client
from infra.settings import Settings
from projections.chat_messages_mongo import ChatMessagesMongo
from projections.stream_chat_redis import StreamChatRedis
from projections.stream_engagement_mongo import StreamEngagementMongo
from projections.stream_metrics_redis import StreamMetricsRedis
from tests.conftest import Environments
from tests.realtime.conftest import Stack, Viewer, connect
from tests.support import wait_until


async def interactions_of(env: Settings, stream_id: str, expected: int, timeout: float = 15) -> list[Envelope]:
    c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        parts = [TopicPartition(env.topic("interactions"), p) for p in range(env.topic_partitions)]
        c.assign(parts)
        await c.seek_to_beginning(*parts)
        out: list[Envelope] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(out) < expected:
            got = await c.getmany(timeout_ms=300, max_records=5000)
            out += [Envelope.from_json(m.value) for ms in got.values() for m in ms if m.key == stream_id.encode()]
        return out
    finally:
        await c.stop()


async def test_interactions_land_in_kafka_and_every_read_model(rt: Stack, viewers: list[Viewer]) -> None:
    product = str(uuid.uuid4())
    sid = rt.live_stream(products=[product])
    rahim = await connect(rt.url, rt.token("rahim", name="Rahim"))
    karim = await connect(rt.url, rt.token("karim", name="Karim"))
    anon = await connect(rt.url)
    viewers += [rahim, karim, anon]
    await rahim.join(sid)
    await karim.join(sid)
    await anon.call("join_stream", {"stream_id": sid, "viewer_info": {"location": "Chittagong"}})
    sent = await rahim.call("send_message", {"stream_id": sid, "message": "শাড়িটার দাম কত?"})
    await karim.call("send_message", {"stream_id": sid, "message": "price koto bhai?"})
    for kind in ("like", "like", "heart", "fire"):
        await karim.call("react", {"stream_id": sid, "reaction_type": kind})
    await rahim.call("purchase_intent", {"stream_id": sid, "product_id": product, "quantity": 2})
    await anon.call("leave_stream", {"stream_id": sid})

    envs = await interactions_of(rt.env, sid, expected=11)
    types = [e.type for e in envs]
    assert types.count(it.PRESENCE_JOINED) == 3 and types.count(it.CHAT_SENT) == 2
    assert types.count(it.REACTION_ADDED) == 4 and types.count(it.PURCHASE_INTENT) == 1
    assert types.count(it.PRESENCE_LEFT) == 1
    for e in envs:
        assert e.stream_id == sid and e.aggregate_id is None and e.schema_version == 1
        assert it.origin_and_seq(e.id)[1] >= 1
    chat = next(e for e in envs if e.type == it.CHAT_SENT and e.payload["user_id"] == "rahim")
    assert chat.payload["id"] == sent["id"] and chat.payload["language"] == "bn"

    r = redis.Redis.from_url(rt.env.redis_url, decode_responses=True)

    def metrics() -> dict[str, str] | None:
        m = r.hgetall(f"STREAM_METRICS:{sid}")
        return m if m.get("purchase_intents") == "1" and m.get("current_viewers") == "2" else None

    m = wait_until(metrics, timeout=15, what="STREAM_METRICS")
    assert m["likes"] == "2" and m["hearts"] == "1" and m["reactions"] == "4" and m["reaction_fire"] == "1"
    assert m["messages"] == "2" and m["total_viewers"] == "3" and m["peak_viewers"] == "3"
    assert float(m["average_watch_time"]) >= 0
    assert r.smembers(f"STREAM_VIEWERS:{sid}") == {"rahim", "karim"}
    history = [json.loads(x) for x in r.lrange(f"STREAM_CHAT:{sid}", 0, -1)]
    assert [h["message"] for h in history] == ["শাড়িটার দাম কত?", "price koto bhai?"]
    assert float(r.zscore("TRENDING_STREAMS", sid) or 0) > 0, "interactions lift a live show"
    r.close()

    detail = rt.http.get(f"/api/v1/live-commerce/streams/{sid}").json()
    assert detail["viewer_stats"]["current_viewers"] == 2 and detail["viewer_stats"]["peak_viewers"] == 3
    engagement_stats = detail["engagement_stats"]
    assert engagement_stats["total_likes"] == 2 and engagement_stats["total_messages"] == 2

    mongo: MongoClient[dict[str, Any]] = MongoClient(rt.env.mongo_url, tz_aware=True)
    db = mongo[rt.env.mongo_db]

    def engagement() -> dict[str, Any] | None:
        doc = db["stream_realtime"].find_one({"stream_id": sid})
        ok = (
            doc
            and doc.get("current_metrics", {}).get("purchase_intents") == 1
            and doc["current_metrics"].get("viewers") == 2
        )
        return doc if ok else None

    doc = wait_until(engagement, timeout=15, what="stream_realtime counters")
    assert doc["current_metrics"]["likes"] == 2 and doc["current_metrics"]["messages"] == 2
    assert doc["viewer_locations"] == {"Dhaka": 2, "Chittagong": 0}
    assert doc["purchase_intents_by_product"] == {product: 2}
    assert doc["status"] == "live", "the owner's fields are untouched"
    msg = wait_until(lambda: db["chat_messages"].find_one({"message_id": sent["id"]}), what="chat document")
    assert msg["stream_id"] == sid and msg["username"] == "Rahim" and msg["language"] == "bn"
    assert msg["moderator_approved"] is True and msg["message_type"] == "text" and msg["replies"] == []
    mongo.close()

    # A late joiner's first screen: recent chat from STREAM_CHAT, the count, the live status.
    late = await connect(rt.url, rt.token("late"))
    viewers.append(late)
    await late.join(sid)
    screen = await late.wait_for("stream_state")
    assert [x["message"] for x in screen["recent_messages"]] == ["শাড়িটার দাম কত?", "price koto bhai?"]
    assert screen["status"] == "live" and screen["viewer_count"] == 3


def _batch(ids: it.InteractionIds, sid: str, product: str) -> list[Envelope]:
    t0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
    out = []
    for i in range(30):
        v = f"user{i % 7}"
        out.append(
            it.interaction(
                ids, it.PRESENCE_JOINED, sid, {"viewer_id": v, "connection_id": f"c{i}", "location": "Dhaka"}, t0
            )
        )
        out.append(it.interaction(ids, it.REACTION_ADDED, sid, {"user_id": v, "reaction_type": "like"}, t0))
        out.append(
            it.interaction(
                ids,
                it.CHAT_SENT,
                sid,
                {
                    "id": str(uuid.UUID(int=i + 1)),
                    "user_id": v,
                    "username": v,
                    "message": f"বার্তা {i}",
                    "message_type": "text",
                    "language": "bn",
                    "timestamp": (t0 + timedelta(seconds=i)).isoformat(),
                },
                t0,
            )
        )
        if i % 3 == 0:
            left = {"viewer_id": v, "connection_id": f"c{i}", "watch_seconds": 10.0, "location": "Dhaka"}
            out.append(it.interaction(ids, it.PRESENCE_LEFT, sid, left, t0))
    out.append(
        it.interaction(ids, it.PURCHASE_INTENT, sid, {"user_id": "user1", "product_id": product, "quantity": 3}, t0)
    )
    return out


async def test_projections_are_idempotent_under_redelivery(environments: Environments) -> None:
    """The whole history applied, then redelivered in other batch cuts, then applied again: no change."""
    env = environments.new()
    sid, product = str(uuid.uuid4()), str(uuid.uuid4())
    history = _batch(it.InteractionIds(), sid, product) + _batch(it.InteractionIds(), sid, product)
    r = redis_client(env.redis_url)
    m = mongo_client(env.mongo_url)
    db = m[env.mongo_db]
    await db["stream_realtime"].insert_one(
        {"stream_id": sid, "status": "live", "current_metrics": {}, "viewer_locations": {}}
    )
    chat = ChatMessagesMongo(db["chat_messages"])
    await chat.ensure_indexes()
    projections = [
        StreamMetricsRedis(RedisSequenced(r)),
        StreamChatRedis(RedisSequenced(r), 50),
        chat,
        StreamEngagementMongo(db["stream_realtime"]),
    ]

    async def state() -> tuple[Any, ...]:
        keys = sorted([k async for k in r.scan_iter(match=f"*{sid}*")])
        red = []
        for k in keys:
            kind = await r.type(k)
            red.append(
                (
                    k,
                    await {
                        "hash": r.hgetall,
                        "set": r.smembers,
                        "list": lambda x: r.lrange(x, 0, -1),
                        "zset": lambda x: r.zrange(x, 0, -1, withscores=True),
                    }.get(kind, r.get)(k),
                )
            )
        doc = await db["stream_realtime"].find_one({"stream_id": sid}, {"_id": 0})
        msgs = [d async for d in db["chat_messages"].find({"stream_id": sid}, {"_id": 0}).sort("message_id")]
        return repr(red), doc, msgs

    for p in projections:
        await p.apply(history[:50])
        await p.apply(history[:120])  # overlaps the first batch: a crash before the offset commit
        await p.apply(history[120:])
    once = await state()
    for p in projections:
        for start in range(0, len(history), 37):
            await p.apply(history[start : start + 37])
    assert await state() == once
    metrics = await r.hgetall(f"STREAM_METRICS:{sid}")
    assert metrics["likes"] == "60" and metrics["messages"] == "60" and metrics["purchase_intents"] == "2"
    assert metrics["total_viewers"] == "7" and metrics["current_viewers"] == "7"
    doc = once[1]
    assert doc["current_metrics"]["likes"] == 60 and doc["current_metrics"]["viewers"] == 60 - 20
    assert doc["purchase_intents_by_product"] == {product: 6} and len(once[2]) == 30
    assert doc["hot_products"] == [{"product_id": product, "mentions": 0, "purchase_intent": 2, "actual_purchases": 0}]
    assert await r.zrange(f"STREAM_HOT_PRODUCTS:{sid}", 0, -1, withscores=True) == [(product, 2.0)]
    assert await r.llen(f"STREAM_CHAT:{sid}") == 50
    await asyncio.gather(r.aclose(), m.close())
