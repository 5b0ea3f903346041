"""PostgreSQL ``live_stream_recordings`` (spec §2.1), ``live_stream_highlights`` (the replay's clips) and the
stream's thumbnail, from the media plane's events.

Media events are not store events: they are deduplicated by envelope id (the recording row's id), and the
thumbnail is a plain "latest wins" value, so a redelivery changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc


class RecordingsTable:
    name = "recordings"
    topics = ("media",)

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                d = e.payload
                if e.type == "media.recording_ready":
                    n += 1
                    await tx.execute(
                        "INSERT INTO live_stream_recordings (id, stream_id, recording_url, duration_seconds,"
                        " file_size_bytes, quality_levels, is_processed, created_at)"
                        " VALUES (%s, %s, %s, %s, %s, %s, true, %s) ON CONFLICT (id) DO NOTHING",
                        (
                            e.id,
                            e.stream_id,
                            d.get("master_url") or d.get("master_uri"),
                            int(round(float(d.get("duration_s") or 0))),
                            d.get("total_bytes"),
                            json.dumps(d.get("renditions") or []),
                            naive_utc(e.occurred_at),
                        ),
                    )
                    await tx.execute(
                        "UPDATE live_stream_recordings SET clock = %s WHERE id = %s",
                        (json.dumps(d.get("clock") or []), e.id),
                    )
                    await tx.execute(
                        "UPDATE live_streams SET recording_url = %s WHERE id = %s",
                        (d.get("master_url") or d.get("master_uri"), e.stream_id),
                    )
                elif e.type == "media.highlight_ready":
                    n += 1
                    await _highlight(tx, e)
                elif e.type == "media.thumbnail_ready":
                    n += 1
                    await tx.execute(
                        "UPDATE live_stream_recordings SET thumbnail_url = %s WHERE stream_id = %s"
                        " AND thumbnail_url IS NULL",
                        (d.get("url"), e.stream_id),
                    )
                    await tx.execute(
                        "UPDATE live_streams SET thumbnail_url = COALESCE(thumbnail_url, %s) WHERE id = %s",
                        (d.get("url"), e.stream_id),
                    )
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE live_stream_recordings, live_stream_highlights")


async def _highlight(tx: SqlTx, e: Envelope) -> None:
    """One clip, by its place in the show: a later run of the highlight job replaces the clip at that place."""
    d = e.payload
    pdt = d.get("program_date_time")
    await tx.execute(
        "INSERT INTO live_stream_highlights (stream_id, clip_index, event_id, clip_rank, start_s, end_s, peak_s,"
        " score, reasons, product_id, playlist_url, mp4_url, thumbnail_url, program_date_time, counts, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (stream_id, clip_index) DO UPDATE SET event_id = EXCLUDED.event_id,"
        " clip_rank = EXCLUDED.clip_rank, start_s = EXCLUDED.start_s, end_s = EXCLUDED.end_s,"
        " peak_s = EXCLUDED.peak_s, score = EXCLUDED.score, reasons = EXCLUDED.reasons,"
        " product_id = EXCLUDED.product_id, playlist_url = EXCLUDED.playlist_url, mp4_url = EXCLUDED.mp4_url,"
        " thumbnail_url = EXCLUDED.thumbnail_url, program_date_time = EXCLUDED.program_date_time,"
        " counts = EXCLUDED.counts, created_at = EXCLUDED.created_at"
        " WHERE live_stream_highlights.created_at <= EXCLUDED.created_at",
        (
            e.stream_id,
            int(d["index"]),
            e.id,
            int(d.get("rank") or d["index"]),
            float(d["start_s"]),
            float(d["end_s"]),
            float(d.get("peak_s") or d["start_s"]),
            float(d.get("score") or 0.0),
            json.dumps(d.get("reasons") or []),
            d.get("featured_product_id"),
            d.get("url") or d["uri"],
            d.get("mp4_url"),
            d.get("thumbnail_url"),
            naive_utc(datetime.fromisoformat(pdt)) if pdt else None,
            json.dumps(d.get("counts") or {}),
            naive_utc(e.occurred_at),
        ),
    )
