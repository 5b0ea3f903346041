"""The relay: the event store's notification log → Kafka, in order, at least once, never a gap.

One active relay per store (a PostgreSQL advisory lock; a second copy waits as a hot standby). It LISTENs on the
store's channel (the library NOTIFYs inside every insert), reads everything after its saved position, publishes
each event as an envelope keyed by aggregate id, waits for the broker's acks, then saves the position. A crash
between publishing and saving republishes a few events; consumers drop them by (aggregate id, version).

No event stops it (ADR 0019). One larger than ``kafka_max_message_bytes`` (or one the broker refuses as too
large, or one that cannot be decoded) goes on the log as a pointer in its place — same id, type, aggregate,
version and position, the payload replaced by where to read it — and becomes a dead letter of the ``relay``
with its position; consumers read the whole event from the store, so the log's order holds and nothing is
skipped in silence. A broker that does not answer is waited for, batch by batch, never skipped. The position
row's ``updated_at`` is refreshed whenever the relay publishes or finds nothing waiting: ``/health`` answers
503 when events wait and it is older than ``relay_stuck_after_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from opentelemetry.trace import SpanKind
from psycopg import sql

from application.envelope import Envelope
from application.event_envelopes import envelope_or_error
from application.event_store import LiveCommerceStore
from infra import kafka, tracing
from infra.dead_letters import DeadLetterStore, DeadLetterTopic, alert, describe, is_transient, pointer_for
from infra.postgres import ensure_event_store, lock_key, prepare_schema
from infra.settings import Settings
from infra.store_reader import CHANNEL, open_reader, read_rows_after

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


_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError)


class Relay:
    def __init__(self, settings: Settings, *, on_batch: Callable[[int, int], None] | None = None) -> None:
        self.settings = settings
        self.published = 0
        self.position = 0
        self.pointers = 0  # events published as pointers (too large, undecodable)
        self._on_batch = on_batch
        self._saved_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        # Creating the store application creates its table if needed, so LISTEN and SELECT have a target.
        await asyncio.to_thread(prepare_schema, s.postgres_url, s.migrations, s.migrations_wait_s)
        if s.migrations == "apply":  # else the migrate step made the event store with the read models
            await asyncio.to_thread(
                ensure_event_store, s.postgres_url, lambda: LiveCommerceStore(s.eventsourcing_env())
            )
        await kafka.ensure_topics(s)
        listen = await psycopg.AsyncConnection.connect(s.postgres_url, autocommit=True)
        reader = await psycopg.AsyncConnection.connect(s.postgres_url, autocommit=True)  # positions, letters
        store = open_reader(s)
        producer = kafka.producer(s)
        letters = DeadLetterTopic(s)
        try:
            await self._become_leader(listen, stop)
            if stop.is_set():
                return
            await listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            await kafka.start_with_retry(producer)
            self.position = await load_position(reader, s.relay_name)
            await self._save(reader)  # "a relay leads from here": /health's clock starts now
            log.info("relay %s leading from position %d", s.relay_name, self.position)
            print(f"relay ready at position {self.position}", flush=True)
            dead = DeadLetterStore(reader)
            while not stop.is_set():
                rows = await read_rows_after(store, self.position, s.relay_batch_size)
                if not rows:
                    if time.monotonic() - self._saved_at >= 1.0:
                        await self._save(reader)  # caught up: still alive
                    await self._wait_for_notify(listen, stop)
                    continue
                t0 = time.perf_counter()
                batch = []
                spans: list[Any] = []  # one per traced event, ended when the broker has it
                for row in rows:
                    e, raw, problem = self._encode(row, spans)
                    if problem is not None:
                        e, raw = await self._pointer(e, len(raw), *problem, dead, letters)
                    batch.append((e, raw))
                published = await self._publish(producer, batch, dead, letters, stop)
                for span in spans:
                    span.end()
                if not published:
                    break
                self.position = int(rows[-1][0])
                await self._save(reader)
                self.published += len(batch)
                if self._on_batch:
                    self._on_batch(len(batch), int((time.perf_counter() - t0) * 1e6))
        finally:
            await producer.stop()
            await letters.close()
            await listen.close()
            await reader.close()
            await store.close()

    async def _save(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await save_position(conn, self.settings.relay_name, self.position)
        self._saved_at = time.monotonic()

    def _encode(self, row: tuple[Any, ...], spans: list[Any]) -> tuple[Envelope, bytes, tuple[str, str] | None]:
        """(envelope, its bytes, None), or (…, (reason, error)) when it cannot go on the log whole. An event
        stamped with its command's trace is published under a span continuing it (``infra.tracing``)."""
        e, error = envelope_or_error(row)
        if error is not None:
            return e, b"", ("undecodable", describe(error))
        if e.trace is not None and tracing.enabled():
            span = tracing.follow(
                "relay.publish",
                e.trace,
                SpanKind.PRODUCER,
                **{
                    "messaging.system": "kafka",
                    "messaging.destination.name": self.settings.domain_topic,
                    "event.type": e.type,
                    "event.position": e.position or 0,
                },
            )
            spans.append(span)
            e = replace(e, trace=tracing.traceparent(span))
        try:
            raw = e.to_json()
        except Exception as exc:  # e.g. a lone surrogate, which UTF-8 cannot carry
            return e, b"", ("undecodable", describe(exc))
        limit = self.settings.kafka_max_message_bytes
        if len(raw) > limit:
            return e, raw, ("too_large", f"{len(raw)} bytes; the log takes at most {limit}")
        return e, raw, None

    async def _pointer(
        self, e: Envelope, size: int, reason: str, error: str, dead: DeadLetterStore, letters: DeadLetterTopic
    ) -> tuple[Envelope, bytes]:
        letter = await dead.record("relay", message_id=e.id, reason=reason, error=error, envelope=e)
        alert(letter)
        await letters.publish(letter)
        self.pointers += 1
        p = pointer_for(e, size, reason)
        try:
            return p, p.to_json()
        except Exception:  # its stream id came from the payload that could not be encoded
            p = replace(p, stream_id=None)
            return p, p.to_json()

    async def _publish(
        self,
        producer: Any,
        batch: list[tuple[Envelope, bytes]],
        dead: DeadLetterStore,
        letters: DeadLetterTopic,
        stop: asyncio.Event,
    ) -> bool:
        """Publish ``batch`` and wait for the acks; a broker that does not answer is waited for. False: stopped
        before it was all acknowledged."""
        topic, delay = self.settings.domain_topic, 0.2
        while not stop.is_set():
            try:
                futures = [await producer.send(topic, raw, key=e.key) for e, raw in batch]
                await asyncio.gather(*futures)
                return True
            except _TOO_LARGE:
                return await self._publish_one_by_one(producer, batch, dead, letters, stop)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("relay: the broker did not take a batch (%s); retrying in %.1f s", describe(exc), delay)
                await _sleep(stop, delay)
                delay = min(5.0, delay * 2)
        return False

    async def _publish_one_by_one(
        self,
        producer: Any,
        batch: list[tuple[Envelope, bytes]],
        dead: DeadLetterStore,
        letters: DeadLetterTopic,
        stop: asyncio.Event,
    ) -> bool:
        """The broker refused something as too large (its limit is below ours): each event in turn, in order,
        a refused one replaced by its pointer."""
        for e, raw in batch:
            while True:
                try:
                    await producer.send_and_wait(self.settings.domain_topic, raw, key=e.key)
                    break
                except _TOO_LARGE as exc:
                    e, raw = await self._pointer(e, len(raw), "too_large", describe(exc), dead, letters)
                except Exception as exc:
                    if not is_transient(exc) or stop.is_set():
                        raise
                    await _sleep(stop, 1.0)
        return True

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


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
