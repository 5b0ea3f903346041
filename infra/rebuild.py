"""Rebuild one read model from the start of the log: the event store, the source of truth.

Read models of log-only events (interactions, media: never in the store) are rebuilt from their Kafka topics,
read from the earliest offset to the end offsets taken when the rebuild starts.

Holds the read model's exclusive advisory lock so its live workers pause; resets the model, then feeds every
stored event through the same ``apply`` the workers use. Shows a progress bar and returns the event count.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from tqdm import tqdm

from application.event_store import LiveCommerceStore
from infra import kafka
from infra.postgres import ensure_event_store
from infra.projection_factory import open_projection
from infra.projection_runner import rebuild_lock
from infra.settings import Settings
from infra.store_reader import max_position, open_reader, read_after


async def _rebuild_from_topics(
    settings: Settings, name: str, progress: bool, *, reset: bool = True, topics: tuple[str, ...] | None = None
) -> int:
    from application.envelope import Envelope

    opened = await open_projection(settings, name)
    conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True)
    key = rebuild_lock(name)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    count = 0
    try:
        await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        await consumer.start()
        parts = [
            TopicPartition(settings.topic(t), p)
            for t in (topics or opened.projection.topics)
            for p in range(settings.topic_partitions)
        ]
        total = sum((await consumer.end_offsets(parts)).values())  # for the progress bar only
        if reset:
            await opened.projection.reset()
        with tqdm(total=total, unit="ev", desc=f"rebuild {name}", disable=not progress) as bar:
            async for records in kafka.read_to_end(consumer, parts):
                batch = [Envelope.from_json(m.value) for m in records]
                if batch:
                    await opened.projection.apply(batch)
                    count += len(batch)
                    bar.update(len(batch))
        await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        await consumer.stop()
        await conn.close()
        await opened.close()
    return count


async def rebuild(settings: Settings, name: str, *, progress: bool = True, page: int = 2_000) -> int:
    probe = await open_projection(settings, name)
    topics = probe.projection.topics
    await probe.close()
    if "domain" not in topics:
        return await _rebuild_from_topics(settings, name, progress)
    log_only = tuple(t for t in topics if t != "domain")
    count = await _rebuild_from_store(settings, name, progress=progress, page=page)
    if log_only:  # a read model of both logs: the store's part, then the log-only topics (no second reset)
        count += await _rebuild_from_topics(settings, name, progress, reset=False, topics=log_only)
    return count


async def _rebuild_from_store(settings: Settings, name: str, *, progress: bool, page: int) -> int:
    await asyncio.to_thread(
        ensure_event_store, settings.postgres_url, lambda: LiveCommerceStore(settings.eventsourcing_env())
    )
    opened = await open_projection(settings, name)
    conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True)
    reader = open_reader(settings)
    key = rebuild_lock(name)
    count = 0
    try:
        await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        end = await max_position(reader)
        await opened.projection.reset()
        position = 0
        with tqdm(total=end, unit="ev", desc=f"rebuild {name}", disable=not progress) as bar:
            while position < end:
                batch = await read_after(reader, position, page)
                batch = [e for e in batch if (e.position or 0) <= end]
                if not batch:
                    break
                await opened.projection.apply(batch)
                bar.update((batch[-1].position or position) - position)
                position = batch[-1].position or position
                count += len(batch)
        await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        await conn.close()
        await reader.close()
        await opened.close()
    return count
