"""Interaction counters on the MongoDB real-time stream document (``stream_realtime``, spec §2.2):
``current_metrics.{viewers, likes, hearts, reactions, messages, purchase_intents}``,
``viewer_locations.{city}`` (current viewers per city, as in the spec's example),
``purchase_intents_by_product.{product_id}`` (quantities) and the spec's ``hot_products[].purchase_intent``
(how many purchase intents each product drew; a product not in the show's list gets its own entry).

The document itself belongs to ``stream_realtime_mongo`` (created by ``LiveStream.Scheduled``); this read
model only adds to its counters and never creates it, or the owner's insert would find a half document. A
batch's interactions are summed per show into one ``$inc``; the watermarks of the origins in the batch
(``_interactions.{origin}``) are read first, already-applied envelopes dropped, and the update is guarded by
the watermarks it read, so a redelivered or concurrent batch changes nothing twice.

``current_metrics.viewers`` counts open connections (a viewer with two tabs is two here; Redis
``STREAM_VIEWERS`` has the per-person figure).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from application import interactions as it
from application import sentiment
from application.envelope import Envelope
from projections.ports import DocumentCounters
from projections.stream_metrics_redis import by_stream

log = logging.getLogger(__name__)
COLLECTION = "stream_realtime"
MARKS = "_interactions"
SENTIMENT_COUNTS = "chat_sentiment_counts"
HOT_COUNTS = "hot_product_intents"  # product id -> intents, counted under the watermark guard


def increments(e: Envelope) -> Counter[str]:
    d = e.payload
    inc: Counter[str] = Counter()
    match e.type:
        case it.PRESENCE_JOINED:
            inc["current_metrics.viewers"] += 1
            if d.get("location"):
                inc[f"viewer_locations.{d['location']}"] += 1
        case it.PRESENCE_LEFT:
            inc["current_metrics.viewers"] -= 1
            if d.get("location"):
                inc[f"viewer_locations.{d['location']}"] -= 1
        case it.CHAT_SENT:
            inc["current_metrics.messages"] += 1
            inc[f"{SENTIMENT_COUNTS}.{sentiment.label(str(d.get('message') or ''))}"] += 1
        case it.REACTION_ADDED:
            kind = d.get("reaction_type", "like")
            inc["current_metrics.reactions"] += 1
            if kind in ("like", "heart"):
                inc[f"current_metrics.{kind}s"] += 1
        case it.PURCHASE_INTENT:
            inc["current_metrics.purchase_intents"] += 1
            inc[f"purchase_intents_by_product.{d['product_id']}"] += int(d.get("quantity") or 1)
            inc[f"{HOT_COUNTS}.{d['product_id']}"] += 1
    return inc


class StreamEngagementMongo:
    name = "stream_engagement"
    topics = ("interactions",)

    def __init__(self, collection: DocumentCounters, wait_for_document_s: float = 2.0) -> None:
        self._docs = collection
        self._wait = wait_for_document_s
        self._missing: dict[str, float] = {}  # show -> when we stopped waiting for its document

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for sid, events in by_stream(envelopes).items():
            applied += await self._apply_stream(sid, events)
        return applied

    async def _marks(self, sid: str) -> dict[str, int] | None:
        """The show's watermarks; waits briefly for the owner to create the document (it reads the domain
        topic, which runs a little behind or ahead of this one)."""
        loop = asyncio.get_running_loop()
        # A show already waited for is not waited for again for a minute: one unknown show (a client with a
        # made-up id got past the gateway, or its document was deleted) must not stall every other show.
        gave_up = self._missing.get(sid)
        deadline = loop.time() + (0 if gave_up and loop.time() - gave_up < 60 else self._wait)
        while True:
            doc = await self._docs.find_one({"stream_id": sid}, {MARKS: 1})
            if doc is not None:
                self._missing.pop(sid, None)
                return {k: int(v) for k, v in (doc.get(MARKS) or {}).items()}
            if loop.time() >= deadline:
                if sid not in self._missing:
                    log.warning("no stream_realtime document for %s: interactions not counted there", sid)
                self._missing.setdefault(sid, loop.time())
                return None
            await asyncio.sleep(0.1)

    async def _apply_stream(self, sid: str, events: list[Envelope]) -> int:
        for _attempt in range(5):
            marks = await self._marks(sid)
            if marks is None:
                return 0
            inc: Counter[str] = Counter()
            top: dict[str, int] = {}
            fresh = 0
            for e in events:
                origin, seq = it.origin_and_seq(e.id)
                if seq <= marks.get(origin, 0) or seq <= top.get(origin, 0):
                    continue
                inc.update(increments(e))
                top[origin] = seq
                fresh += 1
            if not fresh:
                return 0
            guard: dict[str, Any] = {"stream_id": sid}
            for origin in top:
                guard[f"{MARKS}.{origin}"] = marks[origin] if origin in marks else {"$exists": False}
            update: dict[str, Any] = {"$set": {f"{MARKS}.{o}": s for o, s in top.items()}}
            if inc:  # zeros too: a join and a leave in one batch leave the same fields as in two batches
                update["$inc"] = dict(inc)
            res = await self._docs.update_one(guard, update)
            if getattr(res, "matched_count", 1):
                if any(k.startswith(SENTIMENT_COUNTS) for k in inc):
                    await self._sentiment_shares(sid)
                if any(k.startswith(HOT_COUNTS) for k in inc):
                    await self._hot_products(sid)
                return fresh
            # Someone else moved a watermark between our read and write (a rebalance): read again.
        log.error("stream_realtime %s: gave up after repeated watermark conflicts", sid)
        return 0

    async def _sentiment_shares(self, sid: str) -> None:
        """``chat_sentiment`` (spec §2.2) as shares of the counted messages; derived, so rewriting it is safe."""
        doc = await self._docs.find_one({"stream_id": sid}, {SENTIMENT_COUNTS: 1})
        counts = (doc or {}).get(SENTIMENT_COUNTS) or {}
        total = sum(int(v) for v in counts.values())
        if total:
            shares = {k: round(int(counts.get(k, 0)) / total, 3) for k in ("positive", "neutral", "negative")}
            await self._docs.update_one({"stream_id": sid}, {"$set": {"chat_sentiment": shares}})

    async def _hot_products(self, sid: str) -> None:
        """``hot_products[].purchase_intent`` from the guarded counts; derived, so rewriting it is safe (and a
        crash before this step is repaired by the show's next intent)."""
        doc = await self._docs.find_one({"stream_id": sid}, {HOT_COUNTS: 1})
        for product_id, n in ((doc or {}).get(HOT_COUNTS) or {}).items():
            res = await self._docs.update_one(
                {"stream_id": sid, "hot_products.product_id": product_id},
                {"$set": {"hot_products.$.purchase_intent": int(n)}},
            )
            if not getattr(res, "matched_count", 1):  # not among the show's products: its own entry
                await self._docs.update_one(
                    {"stream_id": sid, "hot_products.product_id": {"$ne": product_id}},
                    {
                        "$push": {
                            "hot_products": {
                                "product_id": product_id,
                                "mentions": 0,
                                "purchase_intent": int(n),
                                "actual_purchases": 0,
                            }
                        }
                    },
                )

    async def reset(self) -> None:
        """Counters only; the document belongs to stream_realtime_mongo."""
        zero = {
            f"current_metrics.{k}": 0
            for k in ("viewers", "likes", "hearts", "reactions", "messages", "purchase_intents")
        }
        await self._docs.update_many(
            {"hot_products.0": {"$exists": True}}, {"$set": {"hot_products.$[].purchase_intent": 0}}
        )
        await self._docs.update_many(
            {},
            {
                "$unset": {MARKS: "", "purchase_intents_by_product": "", SENTIMENT_COUNTS: "", HOT_COUNTS: ""},
                "$set": {
                    "viewer_locations": {},
                    **zero,
                    "chat_sentiment": {"positive": 0.0, "neutral": 0.0, "negative": 0.0},
                },
            },
        )
