"""MongoDB real-time stream document (spec §2.2 "Real-time stream data"), from LiveStream events.

One document per stream in ``stream_realtime``. Store events carry a version guard (``_version``); the counters
under ``current_metrics`` belong to the interaction projections, which deduplicate by envelope id instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import DocumentCollection

COLLECTION = "stream_realtime"


def _new_document(e: Envelope) -> dict[str, Any]:
    d = e.payload
    return {
        "stream_id": str(e.aggregate_id),
        "vendor_id": d.get("vendor_id"),
        "title": d.get("title"),
        "title_bn": d.get("title_bn"),
        "status": "scheduled",
        "current_metrics": {"viewers": 0, "likes": 0, "messages": 0, "purchases": 0, "revenue": 0.0},
        "viewer_locations": {},
        "engagement_timeline": [],
        "hot_products": [
            {"product_id": p["product_id"], "mentions": 0, "purchase_intent": 0, "actual_purchases": 0}
            for p in d.get("products") or []
        ],
        "chat_sentiment": {"positive": 0.0, "neutral": 0.0, "negative": 0.0},
        "featured_product": None,
        "created_at": e.occurred_at,
        "updated_at": e.occurred_at,
        "_version": e.aggregate_version,
    }


def update_for(e: Envelope) -> dict[str, Any] | None:
    at = e.occurred_at
    match e.type:
        case "LiveStream.Started":
            return {"$set": {"status": "live", "started_at": at, "updated_at": at}}
        case "LiveStream.Ended":
            return {"$set": {"status": "ended", "ended_at": at, "updated_at": at}}
        case "LiveStream.Cancelled":
            return {"$set": {"status": "cancelled", "updated_at": at}}
        case "LiveStream.ProductFeatured":
            return {"$set": {"featured_product": e.payload["product_id"], "updated_at": at}}
        case "LiveStream.ProductAdded":
            p = e.payload["product"]
            return {
                "$push": {
                    "hot_products": {
                        "product_id": p["product_id"],
                        "mentions": 0,
                        "purchase_intent": 0,
                        "actual_purchases": 0,
                    }
                },
                "$set": {"updated_at": at},
            }
        case _:
            return {"$set": {"updated_at": at}}


class StreamRealtimeMongo:
    name = "stream_realtime"
    topics = ("domain",)

    def __init__(self, collection: DocumentCollection) -> None:
        self._docs = collection

    async def ensure_indexes(self) -> None:
        await self._docs.create_index("stream_id", unique=True)

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for e in envelopes:
            if not e.type.startswith("LiveStream.") or e.aggregate_version is None:
                continue
            sid = str(e.aggregate_id)
            if e.type == "LiveStream.Scheduled":
                res = await self._docs.update_one({"stream_id": sid}, {"$setOnInsert": _new_document(e)}, upsert=True)
                applied += 1 if getattr(res, "upserted_id", None) is not None else 0
                continue
            update = update_for(e) or {"$set": {}}
            update.setdefault("$set", {})["_version"] = e.aggregate_version
            res = await self._docs.update_one({"stream_id": sid, "_version": {"$lt": e.aggregate_version}}, update)
            applied += getattr(res, "modified_count", 0)
        return applied

    async def reset(self) -> None:
        await self._docs.delete_many({})
