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

from projections.live_streams_pg import CHANGED_CHANNEL

log = logging.getLogger(__name__)


class VersionWaiter:
    def __init__(self, url: str, fallback_s: float = 0.25) -> None:
        self._url = url
        self._fallback = fallback_s
        self._waiting: dict[str, list[tuple[int, asyncio.Future[bool]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._query: psycopg.AsyncConnection[Any] | None = None

    async def start(self) -> None:
        self._query = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        self._task = asyncio.create_task(self._run(), name="version-waiter")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._query:
            await self._query.close()

    async def wait(self, stream_id: str, version: int, timeout: float) -> bool:
        # Register first, then look: a change that commits after the look still wakes this waiter.
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(stream_id, []).append((version, fut))
        try:
            if await self._current(stream_id) >= version:
                return True
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return False
        finally:
            waiters = self._waiting.get(stream_id, [])
            waiters[:] = [w for w in waiters if w[1] is not fut]
            if not waiters:
                self._waiting.pop(stream_id, None)

    async def _current(self, stream_id: str) -> int:
        assert self._query is not None
        cur = await self._query.execute("SELECT aggregate_version FROM live_streams WHERE id = %s", (stream_id,))
        row = await cur.fetchone()
        return int(row[0]) if row else 0

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
        if not self._waiting or self._query is None:
            return
        ids = list(self._waiting)
        cur = await self._query.execute(
            "SELECT id::text, aggregate_version FROM live_streams WHERE id = ANY(%s::uuid[])", (ids,))
        versions = {r[0]: int(r[1]) for r in await cur.fetchall()}
        for sid in ids:
            for version, fut in self._waiting.get(sid, []):
                if not fut.done() and versions.get(sid, 0) >= version:
                    fut.set_result(True)
