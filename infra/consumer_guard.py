"""The guard every Kafka consumer applies its batches through (ADR 0019): a failing batch is applied one message at
a time, a message that still fails becomes a dead letter (``infra.dead_letters``) and the rest flows on; later
events of its aggregate are parked behind it; outages are retried in place; pointers are read from the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg

from application.envelope import Envelope
from infra import metrics
from infra.dead_letters import (
    DeadLetterStore,
    DeadLetterTopic,
    alert,
    describe,
    is_pointer,
    is_transient,
    resolve_pointer,
)
from infra.settings import Settings
from infra.store_reader import StoreReader, open_reader

log = logging.getLogger(__name__)
Apply = Callable[[Sequence[Envelope]], Awaitable[int]]


class ConsumerGuard:
    """Applies batches of Kafka records for one consumer; poison becomes dead letters, outages are retried."""

    def __init__(
        self,
        settings: Settings,
        consumer: str,
        apply: Apply,
        store: DeadLetterStore,
        topic: DeadLetterTopic,
        reader: StoreReader,
        stop: asyncio.Event,
    ) -> None:
        self.consumer, self._apply = consumer, apply
        self._store, self._topic, self._reader = store, topic, reader
        self._attempts = max(1, settings.dead_letter_attempts)
        self._retry_s = settings.consumer_transient_retry_s
        self._stop = stop
        self._parked: set[str] = set()
        self.dead_lettered = 0

    async def load(self) -> None:
        """Read which aggregates wait behind dead letters (at start and when partitions move)."""
        self._parked = await self._store.open_keys(self.consumer)

    async def handle(self, records: Sequence[Any]) -> int:
        """Apply ``records`` (aiokafka ConsumerRecords); returns how many events the consumer applied."""
        deadline: float | None = None
        delay = 0.2
        while True:
            try:
                return await self._handle_once(records)
            except Exception as exc:
                if not is_transient(exc) or self._stop.is_set():
                    raise
                now = time.monotonic()
                deadline = deadline or now + self._retry_s
                if now > deadline:
                    raise
                log.warning(
                    "%s: %s; retrying in %.1f s (not a dead letter: a server is unreachable)",
                    self.consumer,
                    describe(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _handle_once(self, records: Sequence[Any]) -> int:
        ready: list[tuple[Any, Envelope]] = []
        for r in records:
            try:
                e = Envelope.from_json(r.value)
            except Exception as exc:  # not even an envelope: nothing can ever apply it
                await self._dead(r, None, describe(exc), "undecodable")
                continue
            if is_pointer(e):
                try:
                    e = await resolve_pointer(self._reader, e)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    await self._dead(r, e, describe(exc), "failed")
                    continue
            if await self._waits(r, e):
                continue
            ready.append((r, e))
        if not ready:
            return 0
        try:
            return await self._apply([e for _, e in ready])
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning(
                "%s: a batch of %d failed (%s); applying them one at a time", self.consumer, len(ready), describe(exc)
            )
        applied = 0
        for r, e in ready:
            if await self._waits(r, e):  # an earlier event of its aggregate in this batch was set aside
                continue
            error = None
            for attempt in range(self._attempts):
                try:
                    applied += await self._apply([e])
                    error = None
                    break
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    error = describe(exc)
                    await asyncio.sleep(0.05 * (attempt + 1))
            if error is not None:
                await self._dead(r, e, error, "failed")
        return applied

    async def _waits(self, record: Any, e: Envelope) -> bool:
        """True (and the event parked) when an earlier event of its aggregate is a dead letter here."""
        key = park_key(e)
        if key is None or key not in self._parked:
            return False
        first = await self._store.first_open(self.consumer, key)
        if first is None:  # replayed meanwhile
            self._parked.discard(key)
            return False
        await self._dead(record, e, f"waits behind dead letter #{first} of the same aggregate", "parked")
        return True

    async def _dead(self, record: Any, e: Envelope | None, error: str, reason: str) -> None:
        key = park_key(e) if e is not None else None
        message_id = e.id if e is not None else f"{record.topic}:{record.partition}:{record.offset}"
        letter = await self._store.record(
            self.consumer,
            message_id=message_id,
            reason=reason,
            error=error,
            envelope=e,
            message=record.value,
            park_key=key,
            source=(record.topic, record.partition, record.offset),
        )
        metrics.DEAD_LETTERS.labels(self.consumer).inc()
        if key is not None:
            self._parked.add(key)
        self.dead_lettered += 1
        alert(letter)
        await self._topic.publish(letter)


def park_key(e: Envelope) -> str | None:
    """Store events wait behind their aggregate's dead letter; interactions and media samples do not."""
    return e.aggregate_id if e.aggregate_id is not None and e.aggregate_version is not None else None


class GuardedConsumer:
    """A ``ConsumerGuard`` with its own store connection, store reader and dead-letter topic, for a consumer
    outside the projection runner (the process managers): ``async with GuardedConsumer(...) as guard``."""

    def __init__(self, settings: Settings, consumer: str, apply: Apply, stop: asyncio.Event) -> None:
        self._settings, self._consumer, self._apply, self._stop = settings, consumer, apply, stop
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._reader: StoreReader | None = None
        self._topic = DeadLetterTopic(settings)

    async def __aenter__(self) -> ConsumerGuard:
        from infra.postgres import prepare_schema

        s = self._settings
        await asyncio.to_thread(prepare_schema, s.postgres_url, s.migrations, s.migrations_wait_s)
        self._conn = await psycopg.AsyncConnection.connect(self._settings.postgres_url, autocommit=True)
        self._reader = open_reader(self._settings)
        guard = ConsumerGuard(
            self._settings,
            self._consumer,
            self._apply,
            DeadLetterStore(self._conn),
            self._topic,
            self._reader,
            self._stop,
        )
        await guard.load()
        return guard

    async def __aexit__(self, *exc: object) -> None:
        await self._topic.close()
        if self._conn is not None:
            await self._conn.close()
        if self._reader is not None:
            await self._reader.close()
