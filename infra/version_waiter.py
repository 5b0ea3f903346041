"""Read-your-writes without polling: wait until the stream read model reaches a version.

The live_streams projection NOTIFYs ``live_streams_changed`` when a batch commits. One listener per API process
wakes, checks every waited-for stream in one query, and resolves the waiters that are satisfied. A slow
fallback check covers a dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from psycopg import sql

from infra.postgres import PgDatabase
from projections.live_streams_pg import CHANGED_CHANNEL
from projections.stream_queries import get_streams

log = logging.getLogger(__name__)


class VersionWaiter:
    def __init__(self, url: str, fallback_s: float = 0.25) -> None:
        self._url = url
        self._fallback = fallback_s
        self._waiting: dict[str, list[tuple[int, asyncio.Future[dict[str, Any]]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reader: PgDatabase | None = None

    async def start(self) -> None:
        self._reader = PgDatabase(self._url, min_size=1, max_size=1)
        await self._reader.open()
        self._task = asyncio.create_task(self._run(), name="version-waiter")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._reader:
            await self._reader.close()

    def register(self, stream_id: str, version: int) -> asyncio.Future[dict[str, Any]]:
        """Register before reading the row: a change committed after the read still wakes this waiter.

        The future resolves to the stream row (with products) at or past ``version``.
        """
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(stream_id, []).append((version, fut))
        return fut

    def unregister(self, stream_id: str, fut: asyncio.Future[dict[str, Any]]) -> None:
        waiters = self._waiting.get(stream_id, [])
        waiters[:] = [w for w in waiters if w[1] is not fut]
        if not waiters:
            self._waiting.pop(stream_id, None)

    async def wait_registered(self, stream_id: str, fut: asyncio.Future[dict[str, Any]], timeout: float
                              ) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return None
        finally:
            self.unregister(stream_id, fut)

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as listen:
                    await listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANGED_CHANNEL)))
                    while True:
                        async for _ in listen.notifies(timeout=self._fallback, stop_after=1):
                            pass
                        await self._check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("version waiter lost its connection; reconnecting")
                await asyncio.sleep(0.5)

    async def _check(self) -> None:
        """One cheap query for the versions of every waited-for stream; full rows only for the satisfied."""
        if not self._waiting or self._reader is None:
            return
        rows = await self._reader.fetch(
            "SELECT id::text AS id, aggregate_version FROM live_streams WHERE id = ANY(%s::uuid[])",
            (list(self._waiting),))
        due = [r["id"] for r in rows
               if any(not f.done() and r["aggregate_version"] >= v for v, f in self._waiting.get(r["id"], []))]
        if not due:
            return
        for row in await get_streams(self._reader, due):
            for version, fut in self._waiting.get(str(row["id"]), []):
                if not fut.done() and row["aggregate_version"] >= version:
                    fut.set_result(dict(row))
