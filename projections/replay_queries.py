"""Queries for the replay of an ended show (issue 15): its recording, its highlight clips and its product timeline.

The recording row (``live_stream_recordings``) carries ``clock``: where the wall clock meets the recording (its
first segment and the first after each reconnect). A time on the log (``live_stream_featured_history``: every
``LiveStream.ProductFeatured``) is placed on the replay through it, as the highlight job does for its clips.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from typing import Any

from projections.ports import SqlDatabase

PRODUCT_COLUMNS = (
    "p.product_id::text AS product_id, p.special_price, p.discount_percentage, p.limited_quantity,"
    " p.sold_quantity, c.name, c.name_bn, c.list_price, c.images"
)


async def recording_of(db: SqlDatabase, sid: str) -> dict[str, Any] | None:
    """The show's latest recording (a resumed show writes its recording again)."""
    return await db.fetchone(
        "SELECT recording_url, duration_seconds, thumbnail_url, clock, created_at FROM live_stream_recordings"
        " WHERE stream_id = %s ORDER BY created_at DESC LIMIT 1",
        (sid,),
    )


async def products_of(db: SqlDatabase, sid: str) -> dict[str, dict[str, Any]]:
    """The show's products with their show price and catalogue names, by product id."""
    rows = await db.fetch(
        f"SELECT {PRODUCT_COLUMNS} FROM live_stream_products p LEFT JOIN products c ON c.id = p.product_id"
        " WHERE p.stream_id = %s ORDER BY p.display_order, p.product_id",
        (sid,),
    )
    return {r["product_id"]: r for r in rows}


async def highlights_of(db: SqlDatabase, sid: str) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT clip_index, clip_rank, start_s, end_s, peak_s, score, reasons, product_id, playlist_url, mp4_url,"
        " thumbnail_url, program_date_time, counts FROM live_stream_highlights WHERE stream_id = %s"
        " ORDER BY clip_index",
        (sid,),
    )


async def featured_history(db: SqlDatabase, sid: str) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT product_id, featured_at FROM live_stream_featured_history WHERE stream_id = %s"
        " ORDER BY featured_at, aggregate_version",
        (sid,),
    )


def _utc(value: datetime | str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def place(clock: list[dict[str, Any]], at: datetime, duration_s: float) -> float:
    """Seconds into the recording of the wall-clock time ``at``: from the latest anchor at or before it, never
    past the next anchor (time the host was away is not in the recording) nor the end; before the first: 0."""
    anchors = sorted((_utc(a["program_date_time"]).timestamp(), float(a["at_s"])) for a in clock)
    if not anchors:
        return 0.0
    t = _utc(at).timestamp()
    i = bisect.bisect_right([w for w, _ in anchors], t) - 1
    if i < 0:
        return 0.0
    wall, at_s = anchors[i]
    limit = anchors[i + 1][1] if i + 1 < len(anchors) else duration_s
    return round(max(0.0, min(at_s + (t - wall), limit)), 3)


def timeline(history: list[dict[str, Any]], clock: list[dict[str, Any]], duration_s: float) -> list[dict[str, Any]]:
    """Which product was on screen when: ``[{product_id, featured_at, start_s, end_s}]``, one entry per
    featuring, each until the next one (or the end of the recording)."""
    out: list[dict[str, Any]] = []
    for row in history:
        start = place(clock, row["featured_at"], duration_s)
        if out and out[-1]["start_s"] >= start:
            out.pop()  # featured again before the picture moved on: the later one is what viewers saw
        out.append({"product_id": row["product_id"], "featured_at": _utc(row["featured_at"]), "start_s": start})
    for k, entry in enumerate(out):
        entry["end_s"] = out[k + 1]["start_s"] if k + 1 < len(out) else round(float(duration_s), 3)
    return out
