"""Redis ``STREAM_STATUS:{id}`` and ``TRENDING_STREAMS`` (spec §2.3), from LiveStream events.

Each event becomes a list of Redis commands run by one script that first compares the event's version with the
one stored under ``PROJ:stream_status:{id}``, so a redelivered event changes nothing. The trending score is the
engagement score; interaction projections raise it, this one only adds live streams and removes ended ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import GuardedRedis
from projections.timeutil import iso_utc

TRENDING = "TRENDING_STREAMS"


def status_key(stream_id: str) -> str:
    return f"STREAM_STATUS:{stream_id}"


def version_key(stream_id: str) -> str:
    return f"PROJ:stream_status:{stream_id}"


def ops_for(e: Envelope) -> list[list[Any]]:
    sid = str(e.aggregate_id)
    key = status_key(sid)
    match e.type:
        case "LiveStream.Scheduled":
            return [["HSET", key, "status", "scheduled"], ["HSETNX", key, "viewers", 0]]
        case "LiveStream.Started":
            return [
                ["HSET", key, "status", "live", "start_time", iso_utc(e.occurred_at)],
                ["ZADD", TRENDING, "NX", 0, sid],
            ]
        case "LiveStream.Ended":
            return [["HSET", key, "status", "ended", "end_time", iso_utc(e.occurred_at)], ["ZREM", TRENDING, sid]]
        case "LiveStream.Cancelled":
            return [["HSET", key, "status", "cancelled"], ["ZREM", TRENDING, sid]]
        case "LiveStream.ProductFeatured":
            return [["HSET", key, "featured_product", e.payload["product_id"]]]
        case _:
            return []  # still advances the version: every event of the aggregate passes through the guard


class StreamStatusRedis:
    name = "stream_status"
    topics = ("domain",)

    def __init__(self, redis: GuardedRedis) -> None:
        self._redis = redis

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for e in envelopes:
            if not e.type.startswith("LiveStream.") or e.aggregate_version is None:
                continue
            if await self._redis.apply_if_newer(version_key(str(e.aggregate_id)), e.aggregate_version, ops_for(e)):
                applied += 1
        return applied

    async def reset(self) -> None:
        await self._redis.delete_matching(["STREAM_STATUS:*", "PROJ:stream_status:*", TRENDING])
