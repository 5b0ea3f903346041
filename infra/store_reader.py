"""Read the event store's notification log as envelopes, in notification order (relay, rebuild, replay,
every catch-up). Each row becomes its envelope through ``application.event_envelopes.envelope_of_row``, the
one stored-event → envelope path.

Inserts into the store take a table lock, so notification ids become visible in commit order: reading
``notification_id > position`` never skips an event that commits later. Ids may have holes (a rolled-back
insert consumes sequence values); those are not gaps in the log and are never waited for.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from application.envelope import Envelope
from application.event_envelopes import envelope_of_row
from application.event_store import EVENTS_TABLE

CHANNEL = EVENTS_TABLE  # the library NOTIFYs on a channel named after the table, in the insert transaction


def _select(schema: str) -> sql.Composed:
    return sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}"
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(schema), sql.Identifier(EVENTS_TABLE))


async def read_rows_after(
    conn: psycopg.AsyncConnection[Any], position: int, limit: int, schema: str = "public"
) -> list[tuple[Any, ...]]:
    """The stored rows themselves: (notification_id, originator_id, originator_version, topic, state)."""
    cur = await conn.execute(_select(schema), (position, limit), prepare=True)
    return await cur.fetchall()


async def read_after(
    conn: psycopg.AsyncConnection[Any], position: int, limit: int, schema: str = "public"
) -> list[Envelope]:
    rows = await read_rows_after(conn, position, limit, schema)
    return [envelope_of_row(row) for row in rows]


async def max_position(conn: psycopg.AsyncConnection[Any], schema: str = "public") -> int:
    q = sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(EVENTS_TABLE)
    )
    cur = await conn.execute(q)
    row = await cur.fetchone()
    return int(row[0]) if row else 0
