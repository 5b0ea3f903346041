"""Read the event store's notification log as envelopes, in notification order (relay, rebuild, replay,
every catch-up), through the `eventsourcing` library's own API: ``PostgresApplicationRecorder.select_notifications``
and ``max_notification_id`` (ADR 0030: the hand-written SQL reader this replaces was not measurably faster,
``bench/store_reader.py``). Each notification becomes its envelope through
``application.event_envelopes.envelope_of_row``, the one stored-event → envelope path.

Inserts into the store take a table lock (the library's ``LOCK TABLE … IN EXCLUSIVE MODE``), so notification ids
become visible in commit order: reading ``notification_id > position`` never skips an event that commits later.
Ids may have holes (a rolled-back insert consumes sequence values); those are not gaps in the log and are never
waited for.

The library's recorder is synchronous (a psycopg pool): its calls run in a thread (``asyncio.to_thread``). A
process has ONE ``StoreReader`` per event store (database URL and schema), shared by every reader in it and
counted: ``open_reader`` takes it (made lazily; its pool connects on the first read, one connection kept, at
most two), ``close`` gives it back and the last one closes the pool.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import Environment

from application.envelope import Envelope
from application.event_envelopes import StoredRow, envelope_of_row
from application.event_store import EVENTS_TABLE, LiveCommerceStore
from infra.settings import Settings

CHANNEL = EVENTS_TABLE  # the library NOTIFYs on a channel named after the table, in the insert transaction

_readers: dict[tuple[str, str], StoreReader] = {}


class StoreReader:
    """The library's application recorder for one event store, with a small pool of its own."""

    def __init__(self, settings: Settings) -> None:
        env = settings.eventsourcing_env(create_tables=False)  # reading never creates tables
        env["POSTGRES_POOL_SIZE"] = "1"  # the pool connects on the first read and keeps one connection
        env["POSTGRES_MAX_OVERFLOW"] = "1"
        self._factory = PostgresFactory(Environment(LiveCommerceStore.name, env))
        recorder = self._factory.application_recorder()
        assert isinstance(recorder, PostgresApplicationRecorder)
        assert recorder.events_table_name == EVENTS_TABLE and recorder.channel_name == CHANNEL
        self.recorder = recorder
        self.schema = settings.postgres_schema
        self._key = (settings.postgres_url, settings.postgres_schema)
        self._users = 0

    def select_rows_after(self, position: int, limit: int) -> list[StoredRow]:
        """Blocking: the stored rows after ``position`` (the replay runs it in a worker to read ahead)."""
        got: list[Notification] = list(
            self.recorder.select_notifications(start=position, limit=limit, inclusive_of_start=False)
        )
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in got]

    def select_max_position(self) -> int:
        """Blocking: the last notification id (0 for an empty store)."""
        return int(self.recorder.max_notification_id() or 0)

    async def rows_after(self, position: int, limit: int) -> list[StoredRow]:
        return await asyncio.to_thread(self.select_rows_after, position, limit)

    async def max_position(self) -> int:
        return await asyncio.to_thread(self.select_max_position)

    async def close(self) -> None:
        """Give the shared reader back; the last user closes its pool."""
        self._users -= 1
        if self._users > 0:
            return
        if _readers.get(self._key) is self:
            del _readers[self._key]
        await asyncio.to_thread(self._factory.close)

    async def __aenter__(self) -> StoreReader:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def open_reader(settings: Settings) -> StoreReader:
    """This process's reader of ``settings``' event store (no connection yet); ``close`` it when done, or use
    ``async with open_reader(settings) as reader``."""
    key = (settings.postgres_url, settings.postgres_schema)
    reader = _readers.get(key)
    if reader is None:
        reader = _readers[key] = StoreReader(settings)
    reader._users += 1
    return reader


async def read_rows_after(reader: StoreReader, position: int, limit: int) -> list[StoredRow]:
    """The stored rows themselves: (notification_id, originator_id, originator_version, topic, state)."""
    return await reader.rows_after(position, limit)


async def read_after(reader: StoreReader, position: int, limit: int) -> list[Envelope]:
    rows = await reader.rows_after(position, limit)
    return [envelope_of_row(row) for row in rows]


async def max_position(reader: StoreReader) -> int:
    return await reader.max_position()
