"""The relay: the event store's notification log → Kafka, in order, at least once, never a gap.

One active relay per store (a PostgreSQL advisory lock; a second copy waits as a hot standby). It LISTENs on the
store's channel (the library NOTIFYs inside every insert), reads everything after its saved position, publishes
each event as an envelope keyed by aggregate id, waits for the broker's acks, then saves the position. A crash
between publishing and saving republishes a few events; consumers drop them by (aggregate id, version).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from application.event_store import LiveCommerceStore
from infra import kafka
from infra.postgres import apply_migrations, ensure_event_store, lock_key
from infra.settings import Settings
from infra.store_reader import CHANNEL, read_after

log = logging.getLogger(__name__)


async def load_position(conn: psycopg.AsyncConnection[Any], name: str) -> int:
    cur = await conn.execute("SELECT notification_id FROM relay_positions WHERE name = %s", (name,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def save_position(conn: psycopg.AsyncConnection[Any], name: str, position: int) -> None:
    await conn.execute(
        "INSERT INTO relay_positions (name, notification_id, updated_at) VALUES (%s, %s, now())"
        " ON CONFLICT (name) DO UPDATE SET notification_id = EXCLUDED.notification_id, updated_at = now()",
        (name, position),
    )


class Relay:
    def __init__(self, settings: Settings, *, on_batch: Callable[[int, int], None] | None = None) -> None:
        self.settings = settings
        self.published = 0
        self.position = 0
        self._on_batch = on_batch

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        # Creating the store application creates its table if needed, so LISTEN and SELECT have a target.
        await asyncio.to_thread(ensure_event_store, s.postgres_url, lambda: LiveCommerceStore(s.eventsourcing_env()))
        await asyncio.to_thread(apply_migrations, s.postgres_url)
        await kafka.ensure_topics(s)
        listen = await psycopg.AsyncConnection.connect(s.postgres_url, autocommit=True)
        reader = await psycopg.AsyncConnection.connect(s.postgres_url, autocommit=True)
        producer = kafka.producer(s)
        try:
            await self._become_leader(listen, stop)
            if stop.is_set():
                return
            await listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            await kafka.start_with_retry(producer)
            self.position = await load_position(reader, s.relay_name)
            log.info("relay %s leading from position %d", s.relay_name, self.position)
            print(f"relay ready at position {self.position}", flush=True)
            topic = s.domain_topic
            while not stop.is_set():
                envelopes = await read_after(reader, self.position, s.relay_batch_size,
                                             s.postgres_schema)
                if not envelopes:
                    await self._wait_for_notify(listen, stop)
                    continue
                t0 = time.perf_counter()
                futures = [await producer.send(topic, e.to_json(), key=e.key) for e in envelopes]
                await asyncio.gather(*futures)
                self.position = envelopes[-1].position or self.position
                await save_position(reader, s.relay_name, self.position)
                self.published += len(envelopes)
                if self._on_batch:
                    self._on_batch(len(envelopes), int((time.perf_counter() - t0) * 1e6))
        finally:
            await producer.stop()
            await listen.close()
            await reader.close()

    async def _become_leader(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> None:
        key = lock_key(f"relay:{self.settings.relay_name}")
        while not stop.is_set():
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cur.fetchone()
            if row and row[0]:
                return
            log.info("another relay is active; standing by")
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            except TimeoutError:
                pass

    async def _wait_for_notify(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> None:
        # The timeout is a safety net (a missed NOTIFY, a stop request), not the way new events are found.
        async for _ in conn.notifies(timeout=self.settings.relay_idle_check_seconds, stop_after=1):
            break
