"""PostgreSQL ``live_stream_recordings`` (spec §2.1) and the stream's thumbnail, from the media plane's events.

Media events are not store events: they are deduplicated by envelope id (the recording row's id), and the
thumbnail is a plain "latest wins" value, so a redelivery changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from application.envelope import Envelope
from projections.ports import SqlDatabase
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
                        (e.id, e.stream_id, d.get("master_url") or d.get("master_uri"),
                         int(round(float(d.get("duration_s") or 0))), d.get("total_bytes"),
                         json.dumps(d.get("renditions") or []), naive_utc(e.occurred_at)))
                    await tx.execute(
                        "UPDATE live_streams SET recording_url = %s WHERE id = %s",
                        (d.get("master_url") or d.get("master_uri"), e.stream_id))
                elif e.type == "media.thumbnail_ready":
                    n += 1
                    await tx.execute(
                        "UPDATE live_stream_recordings SET thumbnail_url = %s WHERE stream_id = %s"
                        " AND thumbnail_url IS NULL", (d.get("url"), e.stream_id))
                    await tx.execute("UPDATE live_streams SET thumbnail_url = COALESCE(thumbnail_url, %s)"
                                     " WHERE id = %s", (d.get("url"), e.stream_id))
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE live_stream_recordings")
