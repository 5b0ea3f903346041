"""Projection workers: one Kafka consumer group per read model, offsets committed after the change.

Order per aggregate holds because the relay keys by aggregate id and a partition is consumed in order. A batch
is applied, then its offsets are committed (at most every ``projection_commit_interval_ms``, and when the worker
stops); a crash in between redelivers what was applied since, which the projection's version guard turns into
no-ops. While ``--rebuild`` runs for a read model (exclusive advisory lock), its
workers wait on the shared lock instead of writing into the half-built model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import psycopg
from aiokafka import ConsumerRebalanceListener, TopicPartition

from application.envelope import Envelope
from infra import kafka
from infra.postgres import lock_key
from infra.projection_factory import open_projection
from infra.settings import Settings

log = logging.getLogger(__name__)


def group_id(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}.projection.{name}"


def rebuild_lock(name: str) -> int:
    return lock_key(f"projection:{name}")


class _Announce(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.name = name

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in assigned)
        print(f"projection {self.name} pid {os.getpid()} assigned {parts}", flush=True)


async def run_projection(settings: Settings, name: str, stop: asyncio.Event) -> None:
    opened = await open_projection(settings, name)
    lock_conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
        settings.postgres_url, autocommit=True)
    await kafka.ensure_topics(settings)
    topics = [settings.topic(t) for t in opened.projection.topics]
    consumer = kafka.consumer(settings, group_id=group_id(settings, name), client_id=f"projection-{name}")
    consumer.subscribe(topics, listener=_Announce(name))
    key = rebuild_lock(name)
    stats = _LagStats(name)
    try:
        await kafka.start_with_retry(consumer)
        commit_every = settings.projection_commit_interval_ms / 1000
        last_commit, uncommitted = time.monotonic(), False
        while not stop.is_set():
            wait_ms = 500 if not uncommitted else max(1, int(1000 * (last_commit + commit_every - time.monotonic())))
            batches = await consumer.getmany(timeout_ms=wait_ms, max_records=settings.projection_batch_size)
            envelopes = [Envelope.from_json(m.value) for msgs in batches.values() for m in msgs]
            if not envelopes:
                if uncommitted and time.monotonic() >= last_commit + commit_every:
                    await consumer.commit()
                    last_commit, uncommitted = time.monotonic(), False
                continue
            received = time.time()
            await lock_conn.execute("SELECT pg_advisory_lock_shared(%s)", (key,))
            try:
                await opened.projection.apply(envelopes)
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock_shared(%s)", (key,))
            uncommitted = True
            if time.monotonic() >= last_commit + commit_every:
                await consumer.commit()
                last_commit, uncommitted = time.monotonic(), False
            stats.add(envelopes, received)
        if uncommitted:
            await consumer.commit()
    finally:
        try:
            await consumer.stop()
        finally:
            await opened.close()
            await lock_conn.close()


class _LagStats:
    """Every 10 s: events applied and lag from the event's time to received / applied (what operators watch)."""

    def __init__(self, name: str, every: float = 10.0) -> None:
        self.name, self.every = name, every
        self.next = time.monotonic() + every
        self.count = 0
        self.recv: list[float] = []
        self.done: list[float] = []

    def add(self, envelopes: list[Envelope], received: float) -> None:
        applied = time.time()
        self.count += len(envelopes)
        newest = max(e.occurred_at.timestamp() for e in envelopes)
        oldest = min(e.occurred_at.timestamp() for e in envelopes)
        self.recv.append(received - newest)
        self.done.append(applied - oldest)
        if time.monotonic() >= self.next:
            self.recv.sort()
            self.done.sort()
            log.info("projection %s: %d events in %d batches; lag to receive p50 %.0f ms, to apply max p50 %.0f"
                     " ms p99 %.0f ms", self.name, self.count, len(self.done), 1000 * self.recv[len(self.recv) // 2],
                     1000 * self.done[len(self.done) // 2], 1000 * self.done[int(0.99 * (len(self.done) - 1))])
            self.next = time.monotonic() + self.every
            self.count = 0
            self.recv.clear()
            self.done.clear()


async def run_projections(settings: Settings, names: list[str], stop: asyncio.Event) -> None:
    tasks = [asyncio.create_task(run_projection(settings, n, stop), name=f"projection-{n}") for n in names]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for t in done:
        if t.exception() is not None:
            stop.set()
            for p in pending:
                p.cancel()
            raise t.exception()  # type: ignore[misc]
