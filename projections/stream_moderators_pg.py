"""PostgreSQL ``live_stream_moderators`` (spec §2.1), from StreamModerators events.

A revoked moderator's row is deleted, so the version guard lives in its own table
(``live_stream_moderator_versions``, one row per stream); every event first advances it and touches the
moderator rows only if it moved. Row ids are derived from (stream, moderator), so a rebuild is identical.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

_NS = uuid.UUID("b3c1d2e4-5f60-4a7b-8c9d-0e1f2a3b4c5d")


def moderator_row_id(stream_id: str, moderator_id: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"{stream_id}:{moderator_id}")


async def apply_event(tx: SqlTx, e: Envelope) -> bool:
    d = e.payload
    if e.type == "StreamModerators.Opened":
        n = await tx.execute(
            "INSERT INTO live_stream_moderator_versions (aggregate_id, stream_id, aggregate_version)"
            " VALUES (%s, %s, %s) ON CONFLICT (aggregate_id) DO NOTHING",
            (e.aggregate_id, d["stream_id"], e.aggregate_version),
        )
        return n == 1
    rows = await tx.fetch(
        "UPDATE live_stream_moderator_versions SET aggregate_version = %s WHERE aggregate_id = %s"
        " AND aggregate_version < %s RETURNING stream_id::text AS stream_id",
        (e.aggregate_version, e.aggregate_id, e.aggregate_version),
    )
    if not rows:
        return False
    sid = rows[0]["stream_id"]
    if e.type == "StreamModerators.ModeratorAssigned":
        await tx.execute(
            "INSERT INTO live_stream_moderators (id, stream_id, moderator_id, permissions, assigned_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream_id, moderator_id) DO UPDATE SET"
            " permissions = EXCLUDED.permissions, assigned_at = EXCLUDED.assigned_at",
            (
                moderator_row_id(sid, d["moderator_id"]),
                sid,
                d["moderator_id"],
                json.dumps(d["permissions"]),
                naive_utc(e.occurred_at),
            ),
        )
    elif e.type == "StreamModerators.ModeratorRevoked":
        await tx.execute(
            "DELETE FROM live_stream_moderators WHERE stream_id = %s AND moderator_id = %s", (sid, d["moderator_id"])
        )
    return True


class StreamModeratorsTable:
    name = "stream_moderators"
    topics = ("domain",)

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                if e.type.startswith("StreamModerators.") and await apply_event(tx, e):
                    applied += 1
        return applied

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE live_stream_moderators, live_stream_moderator_versions")


async def moderators_of(db: SqlDatabase, stream_id: str) -> list[dict[str, Any]]:
    async with db.transaction() as tx:
        return await tx.fetch(
            "SELECT moderator_id::text AS moderator_id, permissions, assigned_at FROM live_stream_moderators"
            " WHERE stream_id = %s ORDER BY assigned_at, moderator_id",
            (stream_id,),
        )
