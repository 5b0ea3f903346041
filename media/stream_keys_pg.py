"""The ``StreamKeys`` port: which show a publishing host's key opens, decided by the event store.

A key names its show (``live_{stream id}_{secret}``, ``application.streams.new_stream_key``), so the door loads
that ``LiveStream`` from the event store and compares the whole key with the one its ``Scheduled`` event
recorded: a host who publishes a moment after ``POST /streams/:id/start`` is accepted even while the read models
are still catching up (on a freshly started stack the first writes take seconds to be projected). Only
scheduled and live shows open; an ended or cancelled show's key is refused.

Keys issued before keys named their show (``live_{secret}``) are looked up in the ``live_streams`` read model,
as before: those shows were scheduled long ago, so the read model has them.

A connection refused for a moment (a busy server's "too many clients") is retried briefly: a host's app
gives up on its own after a few seconds, and refusing a valid key is worse than a short wait.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import PersistenceError

from application.event_store import LiveCommerceStore
from application.streams import stream_id_in_key
from domain.live_stream import LiveStream
from infra.settings import Settings

log = logging.getLogger(__name__)
OPEN = ("scheduled", "live")
T = TypeVar("T")


class PgStreamKeys:
    def __init__(self, settings: Settings) -> None:
        self._read_url = settings.read_url
        # A reader of the store: no aggregate cache (another process writes the shows), tables already there.
        self._env = {**settings.eventsourcing_env(create_tables=False), "AGGREGATE_CACHE_MAXSIZE": ""}
        self._store: LiveCommerceStore | None = None
        self._opening = threading.Lock()

    async def lookup(self, key: str) -> str | None:
        stream_id = stream_id_in_key(key)
        if stream_id is not None:
            return await self._retrying(lambda: asyncio.to_thread(self._from_store, stream_id, key))
        return await self._retrying(lambda: self._from_read_model(key))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for delay in (0.2, 0.5, 1.0):
            try:
                return await attempt()
            except (psycopg.OperationalError, PersistenceError) as exc:
                log.warning("stream key lookup failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
        return await attempt()

    def _open(self) -> LiveCommerceStore:
        with self._opening:
            if self._store is None:
                self._store = LiveCommerceStore(self._env)
            return self._store

    def _from_store(self, stream_id: UUID, key: str) -> str | None:
        try:
            stream = self._open().repository.get(stream_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(stream, LiveStream) or not hmac.compare_digest(stream.stream_key.encode(), key.encode()):
            return None
        return str(stream_id) if stream.status in OPEN else None

    async def _from_read_model(self, key: str) -> str | None:
        async with await psycopg.AsyncConnection.connect(self._read_url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT id::text FROM live_streams WHERE stream_key = %s AND status IN ('scheduled', 'live')", (key,)
            )
            row = await cur.fetchone()
        return str(row[0]) if row else None
