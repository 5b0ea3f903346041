"""Projection workers: one Kafka consumer group per read model, offsets committed after the change.

Order per aggregate holds because the relay keys by aggregate id and a partition is consumed in order. A batch
is applied, then its offsets are committed (at most every ``projection_commit_interval_ms``, and when the worker
stops); a crash in between redelivers what was applied since, which the projection's version guard turns into
no-ops. While ``--rebuild`` runs for a read model (exclusive advisory lock), its
workers wait on the shared lock instead of writing into the half-built model.

Each read model is on its own (ADR 0019): a message it cannot apply becomes a dead letter
(``infra.dead_letters``) and the batch goes on; an outage of its store is retried in place; anything else that
stops a worker (its store unreachable at start, the group lost) restarts that worker alone, from its committed
offsets, with a growing delay, while the other read models of the process carry on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import psycopg
from aiokafka import ConsumerRebalanceListener, TopicPartition
from opentelemetry.trace import SpanKind

from infra import kafka, metrics, tracing
from infra.consumer_guard import ConsumerGuard
from infra.dead_letters import DeadLetterStore, DeadLetterTopic
from infra.postgres import lock_key, prepare_schema
from infra.projection_factory import open_projection
from infra.settings import Settings
from infra.store_reader import open_reader

log = logging.getLogger(__name__)


def group_id(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}.projection.{name}"


def rebuild_lock(name: str) -> int:
    return lock_key(f"projection:{name}")


class _Announce(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, name: str, guard: ConsumerGuard) -> None:
        self.name, self.guard = name, guard

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.guard.load()  # aggregates parked by the partitions' previous owner wait here too
        parts = sorted(tp.partition for tp in assigned)
        print(f"projection {self.name} pid {os.getpid()} assigned {parts}", flush=True)


async def run_projection(
    settings: Settings, name: str, stop: asyncio.Event, letters: DeadLetterTopic | None = None
) -> None:
    await asyncio.to_thread(
        prepare_schema, settings.postgres_url, settings.migrations, settings.migrations_wait_s
    )  # the dead_letters table lives here
    own_letters = letters is None
    letters = letters or DeadLetterTopic(settings)
    lock_conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
        settings.postgres_url, autocommit=True
    )
    try:
        opened = await open_projection(settings, name)
    except BaseException:
        await lock_conn.close()
        raise
    reader = open_reader(settings)  # pointers are read from the store (connects on the first one)
    guard = ConsumerGuard(
        settings,
        f"projection.{name}",
        _measured(name, opened.projection.apply),
        DeadLetterStore(lock_conn),
        letters,
        reader,
        stop,
    )
    consumer = kafka.consumer(settings, group_id=group_id(settings, name), client_id=f"projection-{name}")
    key = rebuild_lock(name)
    stats = _LagStats(name)
    try:
        await kafka.ensure_topics(settings)
        await guard.load()
        consumer.subscribe([settings.topic(t) for t in opened.projection.topics], listener=_Announce(name, guard))
        await kafka.start_with_retry(consumer)
        commit_every = settings.projection_commit_interval_ms / 1000
        last_commit, uncommitted = time.monotonic(), False
        while not stop.is_set():
            wait_ms = 500 if not uncommitted else max(1, int(1000 * (last_commit + commit_every - time.monotonic())))
            batches = await consumer.getmany(timeout_ms=wait_ms, max_records=settings.projection_batch_size)
            records = [m for msgs in batches.values() for m in msgs]
            if not records:
                if uncommitted and time.monotonic() >= last_commit + commit_every:
                    await consumer.commit()
                    last_commit, uncommitted = time.monotonic(), False
                continue
            received = time.time()
            await lock_conn.execute("SELECT pg_advisory_lock_shared(%s)", (key,))
            try:
                await guard.handle(records)
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock_shared(%s)", (key,))
            uncommitted = True
            if time.monotonic() >= last_commit + commit_every:
                await consumer.commit()
                last_commit, uncommitted = time.monotonic(), False
            stats.add(records, received)
        if uncommitted:
            await consumer.commit()
    finally:
        try:
            await consumer.stop()
        finally:
            try:
                await opened.close()
            finally:
                await lock_conn.close()
                await reader.close()
                if own_letters:
                    await letters.close()


def _measured(name: str, apply: Any) -> Any:
    """The read model's ``apply`` with its counts and time in ``infra.metrics``; the read models that see
    payments and the media plane's quality samples also feed the figures read off them (``LogObserver``)."""
    observer = metrics.LogObserver() if name in ("orders", "stream_quality") else None
    applied = metrics.PROJECTION_APPLIED.labels(name)
    seconds = metrics.PROJECTION_APPLY_SECONDS.labels(name)

    async def measured(envelopes: list[Any]) -> Any:
        t0 = time.perf_counter()
        spans = (
            [
                tracing.follow(
                    f"projection.apply {name}",
                    e.trace,
                    SpanKind.CONSUMER,
                    **{"messaging.consumer.group.name": f"projection.{name}", "event.type": e.type},
                )
                for e in envelopes
                if getattr(e, "trace", None)
            ]
            if tracing.enabled()
            else []
        )
        try:
            result = await apply(envelopes)
        finally:
            for span in spans:
                span.end()
        seconds.observe(time.perf_counter() - t0)
        applied.inc(len(envelopes))
        if observer is not None:
            observer.observe(envelopes)
        return result

    return measured


class _LagStats:
    """Every 10 s: events applied and lag from when the relay (or the gateway, the media plane) sent them to
    received / applied (what operators watch)."""

    def __init__(self, name: str, every: float = 10.0) -> None:
        self.name, self.every = name, every
        self.next = time.monotonic() + every
        self.count = 0
        self.recv: list[float] = []
        self.done: list[float] = []

    def add(self, records: list[Any], received: float) -> None:
        """``records``: Kafka records; their timestamp is when the producer sent them."""
        applied = time.time()
        self.count += len(records)
        newest = max(r.timestamp for r in records) / 1000
        oldest = min(r.timestamp for r in records) / 1000
        self.recv.append(received - newest)
        self.done.append(applied - oldest)
        metrics.PROJECTION_LAG_SECONDS.labels(self.name).set(max(0.0, applied - oldest))
        if time.monotonic() >= self.next:
            self.recv.sort()
            self.done.sort()
            log.info(
                "projection %s: %d events in %d batches; lag to receive p50 %.0f ms, to apply max p50 %.0f"
                " ms p99 %.0f ms",
                self.name,
                self.count,
                len(self.done),
                1000 * self.recv[len(self.recv) // 2],
                1000 * self.done[len(self.done) // 2],
                1000 * self.done[int(0.99 * (len(self.done) - 1))],
            )
            self.next = time.monotonic() + self.every
            self.count = 0
            self.recv.clear()
            self.done.clear()


async def run_projections(settings: Settings, names: list[str], stop: asyncio.Event) -> None:
    """Every read model in ``names`` in this process, each supervised on its own."""
    letters = DeadLetterTopic(settings)
    try:
        await asyncio.gather(*(supervise(settings, n, stop, letters) for n in names))
    finally:
        await letters.close()


async def supervise(
    settings: Settings,
    name: str,
    stop: asyncio.Event,
    letters: DeadLetterTopic,
    *,
    first_delay: float = 1.0,
    max_delay: float = 30.0,
) -> None:
    """Run one read model until ``stop``; when it fails, restart it alone, waiting longer each time."""
    delay = first_delay
    while not stop.is_set():
        started = time.monotonic()
        try:
            await run_projection(settings, name, stop, letters)
            return
        except Exception:
            if stop.is_set():  # stopping anyway: what broke on the way out is not news
                return
            log.exception("projection %s stopped; restarting it in %.0f s (the other read models go on)", name, delay)
        if time.monotonic() - started > 60:  # it had been running: start again quickly
            delay = first_delay
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass
        delay = min(max_delay, delay * 2)
