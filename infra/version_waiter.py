"""Read-your-writes without polling: wait until the stream read model reaches a version.

The live_streams projection NOTIFYs ``live_streams_changed`` when a batch commits, with the version each
changed stream's row reached (``id:version,…``). One listener per API process keeps those versions while it is
connected, so a request that asks for a version the row has not reached yet does not read the row first: it
waits, and the listener fetches the rows of every satisfied waiter in one query. A payload-less notification
(an older projection) or the slow fallback timer falls back to asking PostgreSQL for the versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any

import psycopg
from psycopg import sql

from infra.postgres import PgDatabase
from projections.live_streams_pg import CHANGED_CHANNEL, parse_changed
from projections.stream_queries import get_streams

log = logging.getLogger(__name__)


class VersionWaiter:
    def __init__(self, url: str, fallback_s: float = 0.25, remember: int = 100_000) -> None:
        self._url = url
        self._fallback = fallback_s
        self._remember = remember
        self._waiting: dict[str, list[tuple[int, asyncio.Future[dict[str, Any]]]]] = {}
        # Versions the read model is known to have reached, from notifications on the current connection.
        # Never ahead of the table (a NOTIFY is delivered after its commit); cleared on reconnect.
        self._reached: OrderedDict[str, int] = OrderedDict()
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

    def known_behind(self, stream_id: str, version: int) -> bool:
        """True when a notification said the row is at a version below ``version`` (so reading it now is
        wasted); False when the row may already be there, or nothing is known about it."""
        reached = self._reached.get(stream_id)
        return reached is not None and reached < version

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
                    self._reached.clear()  # what was missed while disconnected is unknown
                    await listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANGED_CHANNEL)))
                    while True:
                        reached: dict[str, int] = {}
                        informed = True
                        async for n in listen.notifies(timeout=self._fallback, stop_after=1):
                            got = parse_changed(n.payload)
                            informed = informed and bool(got)
                            reached.update(got)
                        if reached and informed:
                            self._remember_reached(reached)
                            await self._resolve([i for i, v in reached.items() if self._due(i, v)])
                        else:  # the fallback timer, or a notification without versions
                            await self._check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("version waiter lost its connection; reconnecting")
                await asyncio.sleep(0.5)

    def _remember_reached(self, reached: dict[str, int]) -> None:
        for stream_id, version in reached.items():
            if self._reached.get(stream_id, -1) < version:
                self._reached[stream_id] = version
            self._reached.move_to_end(stream_id)
        while len(self._reached) > self._remember:
            self._reached.popitem(last=False)

    def _due(self, stream_id: str, version: int) -> bool:
        return any(not f.done() and version >= v for v, f in self._waiting.get(stream_id, []))

    async def _check(self) -> None:
        """One cheap query for the versions of every waited-for stream; full rows only for the satisfied."""
        if not self._waiting or self._reader is None:
            return
        rows = await self._reader.fetch(
            "SELECT id::text AS id, aggregate_version FROM live_streams WHERE id = ANY(%s::uuid[])",
            (list(self._waiting),))
        await self._resolve([r["id"] for r in rows if self._due(r["id"], r["aggregate_version"])])

    async def _resolve(self, due: list[str]) -> None:
        if not due or self._reader is None:
            return
        for row in await get_streams(self._reader, due):
            for version, fut in self._waiting.get(str(row["id"]), []):
                if not fut.done() and row["aggregate_version"] >= version:
                    fut.set_result(dict(row))
