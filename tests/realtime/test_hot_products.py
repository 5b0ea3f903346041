"""``purchase_intent`` makes a product hot: counted per show in Redis (``STREAM_HOT_PRODUCTS``) and on the
MongoDB real-time document (``hot_products[].purchase_intent``, spec §2.2), pushed to the room as
``hot_products_update`` at most once per tick, and shown to a late joiner."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import redis
from pymongo import MongoClient

from tests.realtime.conftest import Stack, Viewer, connect
from tests.support import wait_until


async def test_purchase_intents_make_products_hot(rt: Stack, viewers: list[Viewer]) -> None:
    saree, phone, unlisted = (str(uuid.uuid4()) for _ in range(3))
    sid = rt.live_stream(products=[saree, phone])
    watcher = await connect(rt.url, rt.token(name="Watcher"))
    buyers = [await connect(rt.url, rt.token(name=f"Buyer {i}")) for i in range(3)]
    viewers += [watcher, *buyers]
    for v in (watcher, *buyers):
        await v.join(sid)
    assert (await watcher.wait_for("stream_state"))["hot_products"] == []

    async def intent(v: Viewer, product: str, quantity: int = 1) -> None:
        ack = await v.call("purchase_intent", {"stream_id": sid, "product_id": product, "quantity": quantity})
        assert ack["ok"], ack

    await intent(buyers[0], phone)
    first = await watcher.wait_for("hot_products_update")
    assert first == {"stream_id": sid, "products": [{"product_id": phone, "purchase_intent": 1}]}

    # A burst: 40 intents in a moment reach the room as a few coalesced frames, not 40.
    before = len(watcher.got("hot_products_update"))
    started = time.monotonic()
    burst = (
        [intent(buyers[i % 3], saree, quantity=2) for i in range(30)]
        + [intent(buyers[i % 3], phone) for i in range(9)]
        + [intent(buyers[0], unlisted)]
    )
    await asyncio.gather(*burst)
    expected = [
        {"product_id": saree, "purchase_intent": 30},
        {"product_id": phone, "purchase_intent": 10},
        {"product_id": unlisted, "purchase_intent": 1},
    ]
    await watcher.wait_for("hot_products_update", lambda d: d["products"] == expected, timeout=15)
    took = time.monotonic() - started
    frames = len(watcher.got("hot_products_update")) - before
    # At most one frame per tick (the stack runs at 10 per second), however fast the intents come.
    assert 1 <= frames <= took * rt.env.fanout_max_fps + 2 and frames < 40, (frames, took)
    for b in buyers:  # every viewer of the room hears it, from the same coalesced frames
        await b.wait_for("hot_products_update", lambda d: d["products"] == expected)
    await asyncio.sleep(0.5)
    assert watcher.got("hot_products_update")[-1]["products"] == expected, "no frame after it settled"
    settled = len(watcher.got("hot_products_update"))
    await asyncio.sleep(0.5)
    assert len(watcher.got("hot_products_update")) == settled, "unchanged lists are not sent again"

    r = redis.Redis.from_url(rt.env.redis_url, decode_responses=True)
    assert r.zrevrange(f"STREAM_HOT_PRODUCTS:{sid}", 0, -1, withscores=True) == [
        (saree, 30.0),
        (phone, 10.0),
        (unlisted, 1.0),
    ]
    assert r.hget(f"STREAM_METRICS:{sid}", "purchase_intents") == "41"
    r.close()

    mongo: MongoClient[dict[str, Any]] = MongoClient(rt.env.mongo_url, tz_aware=True)
    docs = mongo[rt.env.mongo_db]["stream_realtime"]

    def hot() -> list[dict[str, Any]] | None:
        doc = docs.find_one({"stream_id": sid}) or {}
        got = {h["product_id"]: h for h in doc.get("hot_products") or []}
        return (
            doc["hot_products"]
            if got.get(unlisted, {}).get("purchase_intent") == 1
            and got[saree]["purchase_intent"] == 30
            and got[phone]["purchase_intent"] == 10
            else None
        )

    products = wait_until(hot, timeout=15, what="hot_products on the real-time document")
    assert [h["product_id"] for h in products] == [saree, phone, unlisted], "the show's list keeps its order"
    assert all(h["mentions"] == 0 and h["actual_purchases"] == 0 for h in products)
    doc = docs.find_one({"stream_id": sid}) or {}
    assert doc["purchase_intents_by_product"] == {saree: 60, phone: 10, unlisted: 1}
    mongo.close()

    late = await connect(rt.url, rt.token(name="Late"))
    viewers.append(late)
    await late.join(sid)
    assert (await late.wait_for("stream_state"))["hot_products"] == expected
