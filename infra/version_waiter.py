"""Read-your-writes for every read model: a GET with ``min_version`` waits until its row reaches that version.

A command answers with the aggregate's new version; a client that needs to see its own write asks for it
(``GET /auctions/:id?min_version=3``). Every read table named here keeps its aggregate's version in a column
(the projections' idempotence guard), so "visible yet?" is one indexed lookup. ``at_least`` registers the request
before it reads the row, so a change committed after the read still wakes it, and answers with the row once it
reflects the version, or, after the timeout, with whatever the table has (the handler then answers
``409 read_model_behind``, never ``404`` for an id the client was just given).

What wakes a waiter: the ``live_streams`` projection NOTIFYs ``live_streams_changed`` with the version each
changed stream's row reached (``id:version,…``), so stream waiters need not ask and get their rows fetched in one
query for all of them. For every other table one query per table asks for the versions of the rows being waited
for, every ``poll_s`` while anyone waits (nothing while nobody does), and every ``fallback_s`` for streams (a
missed or payload-less notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from infra.postgres import PgDatabase
from projections.live_streams_pg import CHANGED_CHANNEL, parse_changed
from projections.stream_queries import get_streams

log = logging.getLogger(__name__)
Row = dict[str, Any]


@dataclass(frozen=True)
class ReadModel:
    """A read table whose rows carry the version of the aggregate they show."""

    name: str
    table: str
    version_column: str = "aggregate_version"
    id_column: str = "id"


STREAMS = ReadModel("live_streams", "live_streams")
AUCTIONS = ReadModel("auctions", "auctions")
GROUP_BUYS = ReadModel("group_buys", "group_buys")
FLASH_SALES = ReadModel("flash_sales", "flash_sales")
ORDERS = ReadModel("orders", "orders")
HOSTS = ReadModel("hosts", "live_commerce_hosts")  # host applications and profiles
CARTS = ReadModel("carts", "carts")
COIN_WALLETS = ReadModel("coins", "coin_wallets")
GIFT_CATALOGUE = ReadModel("gift_catalogue", "gift_catalogue")

_Key = tuple[str, str]  # (read model, id)


class VersionWaiter:
    def __init__(self, url: str, fallback_s: float = 0.25, poll_s: float = 0.05, remember: int = 100_000) -> None:
        self._url = url
        self._fallback = fallback_s
        self._poll = poll_s
        self._remember = remember
        self._models: dict[str, ReadModel] = {STREAMS.name: STREAMS}
        self._waiting: dict[_Key, list[tuple[int, asyncio.Future[Row | None]]]] = {}
        # Stream versions the read model is known to have reached, from notifications on the current
        # connection. Never ahead of the table (a NOTIFY is delivered after its commit); cleared on reconnect.
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

    async def at_least(
        self, model: ReadModel, key: str, version: int | None, read: Callable[[], Awaitable[Row | None]], timeout: float
    ) -> Row | None:
        """``read()``'s row once it reflects ``version`` (read at once when no version is asked for); after
        ``timeout``, whatever ``read()`` gives then. ``read`` must return a row with ``model.version_column``."""
        if version is None:
            return await read()
        fut = self.register(key, version, model)
        row = None
        if not self.known_behind(key, version, model):  # else reading now is wasted: the NOTIFY will bring it
            row = await read()
            if row is not None and row[model.version_column] >= version:
                self.unregister(key, fut, model)
                return row
        got = await self.wait_registered(key, fut, timeout, model)
        if got is not None:
            return got
        return await read()  # reached (a table without rows fetched for us), or the freshest after the timeout

    # --- the parts, also used directly by tests -----------------------------------------------------------
    def register(self, key: str, version: int, model: ReadModel = STREAMS) -> asyncio.Future[Row | None]:
        """Register before reading the row: a change committed after the read still wakes this waiter.

        The future resolves when the row is at or past ``version``: to the row itself for streams (fetched for
        every satisfied waiter in one query), to None for other tables (the caller reads its row)."""
        self._models.setdefault(model.name, model)
        fut: asyncio.Future[Row | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((model.name, key), []).append((version, fut))
        return fut

    def known_behind(self, key: str, version: int, model: ReadModel = STREAMS) -> bool:
        """True when a notification said the row is at a version below ``version`` (so reading it now is
        wasted); False when the row may already be there, or nothing is known about it."""
        if model.name != STREAMS.name:
            return False
        reached = self._reached.get(key)
        return reached is not None and reached < version

    def unregister(self, key: str, fut: asyncio.Future[Row | None], model: ReadModel = STREAMS) -> None:
        waiters = self._waiting.get((model.name, key), [])
        waiters[:] = [w for w in waiters if w[1] is not fut]
        if not waiters:
            self._waiting.pop((model.name, key), None)

    async def wait_registered(
        self, key: str, fut: asyncio.Future[Row | None], timeout: float, model: ReadModel = STREAMS
    ) -> Row | None:
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return None
        finally:
            self.unregister(key, fut, model)

    # --- the listener and the poll ------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as listen:
                    self._reached.clear()  # what was missed while disconnected is unknown
                    await listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANGED_CHANNEL)))
                    next_fallback = loop.time() + self._fallback
                    while True:
                        others = any(name != STREAMS.name for name, _ in self._waiting)
                        reached: dict[str, int] = {}
                        heard, informed = False, True
                        async for n in listen.notifies(timeout=self._poll if others else self._fallback, stop_after=1):
                            got = parse_changed(n.payload)
                            heard, informed = True, informed and bool(got)
                            reached.update(got)
                        if heard and reached and informed:
                            self._remember_reached(reached)
                            await self._resolve_streams([i for i, v in reached.items() if self._due(STREAMS, i, v)])
                        timer = loop.time() >= next_fallback
                        if timer or heard:
                            next_fallback = loop.time() + self._fallback
                        # Streams are asked for on the fallback timer, or on a notification without versions.
                        streams = (timer and not heard) or (heard and not (reached and informed))
                        if streams or others:
                            await self._check(streams=streams, others=others)
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

    def _due(self, model: ReadModel, key: str, version: int) -> bool:
        return any(not f.done() and version >= v for v, f in self._waiting.get((model.name, key), []))

    async def _check(self, *, streams: bool, others: bool) -> None:
        """One cheap query per waited-for table for the versions of the waited-for rows."""
        if not self._waiting or self._reader is None:
            return
        by_model: dict[str, list[str]] = {}
        for name, key in list(self._waiting):
            if streams if name == STREAMS.name else others:
                by_model.setdefault(name, []).append(key)
        for name, keys in by_model.items():
            m = self._models[name]
            rows = await self._reader.fetch(
                f"SELECT {m.id_column}::text AS id, {m.version_column} AS v FROM {m.table}"  # noqa: S608
                f" WHERE {m.id_column} = ANY(%s::uuid[])",
                (keys,),
            )
            due = {r["id"]: r["v"] for r in rows if self._due(m, r["id"], r["v"])}
            if name == STREAMS.name:
                await self._resolve_streams(list(due))
            else:
                for key, version in due.items():
                    self._settle(m, key, version, None)

    def _settle(self, model: ReadModel, key: str, reached: int, row: Row | None) -> None:
        for version, fut in self._waiting.get((model.name, key), []):
            if not fut.done() and reached >= version:
                fut.set_result(row)

    async def _resolve_streams(self, due: list[str]) -> None:
        if not due or self._reader is None:
            return
        for row in await get_streams(self._reader, due):
            self._settle(STREAMS, str(row["id"]), row["aggregate_version"], dict(row))
