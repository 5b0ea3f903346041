"""The ``StreamKeys`` port over the ``live_streams`` read model: which show a publishing host's key belongs to.

Only keys of streams that are scheduled or live are accepted; an ended or cancelled show's key is refused.
A connection refused for a moment (a busy server's "too many clients") is retried briefly: a host's app
gives up on its own after a few seconds, and refusing a valid key is worse than a short wait.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

log = logging.getLogger(__name__)


class PgStreamKeys:
    def __init__(self, url: str) -> None:
        self._url = url

    async def lookup(self, key: str) -> str | None:
        for delay in (0.2, 0.5, 1.0):
            try:
                return await self._lookup(key)
            except psycopg.OperationalError as exc:
                log.warning("stream key lookup failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
        return await self._lookup(key)

    async def _lookup(self, key: str) -> str | None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT id::text FROM live_streams WHERE stream_key = %s AND status IN ('scheduled', 'live')",
                (key,))
            row = await cur.fetchone()
        return str(row[0]) if row else None
