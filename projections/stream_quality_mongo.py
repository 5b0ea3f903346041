"""MongoDB stream quality documents (spec §2.2 "Stream quality metrics"), one per quality sample.

Keyed by the envelope id (``_id``), so a redelivered sample is an upsert of the same document. The latest
sample per stream is what ``GET /streams/:id/health`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import DocumentCollection

COLLECTION = "stream_quality"


def quality_document(e: Envelope) -> dict[str, Any]:
    d = e.payload
    renditions = d.get("renditions") or {}
    top = max(renditions.values(), key=lambda r: r.get("width", 0) * r.get("height", 0), default={})
    return {
        "stream_id": e.stream_id,
        "timestamp": e.occurred_at,
        "quality_metrics": {
            "bitrate": round(sum(float(r.get("video_kbps") or 0) for r in renditions.values())),
            "fps": top.get("fps"),
            "resolution": f"{top.get('width')}x{top.get('height')}" if top else None,
            "latency": d.get("lag_s"),
            "encode_speed": d.get("encode_speed"),
            "dropped_frames": d.get("dropped_frames"),
            "keyframe_interval": top.get("keyframe_interval_s"),
            "audio_level_dbfs": (d.get("audio") or {}).get("rms_dbfs"),
        },
        "renditions": renditions,
    }


class StreamQualityMongo:
    name = "stream_quality"
    topics = ("media",)

    def __init__(self, collection: DocumentCollection) -> None:
        self._docs = collection

    async def ensure_indexes(self) -> None:
        await self._docs.create_index([("stream_id", 1), ("timestamp", -1)])

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        for e in envelopes:
            if e.type == "media.quality_sample" and e.stream_id:
                await self._docs.update_one({"_id": e.id}, {"$set": quality_document(e)}, upsert=True)
                n += 1
        return n

    async def reset(self) -> None:
        await self._docs.delete_many({})
