"""The ``StreamKeys`` port over the ``live_streams`` read model: which show a publishing host's key belongs to.

Only keys of streams that are scheduled or live are accepted; an ended or cancelled show's key is refused.
"""

from __future__ import annotations

import psycopg


class PgStreamKeys:
    def __init__(self, url: str) -> None:
        self._url = url

    async def lookup(self, key: str) -> str | None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT id::text FROM live_streams WHERE stream_key = %s AND status IN ('scheduled', 'live')",
                (key,))
            row = await cur.fetchone()
        return str(row[0]) if row else None
