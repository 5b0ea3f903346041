"""Kafka clients with the project's settings: topics, producer, consumer.

Idempotent producers are a setting: on for Apache Kafka, off for the dev broker (Tansu lacks InitProducerId).
Every consumer is idempotent anyway, so at-least-once delivery is enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from infra.settings import Settings

log = logging.getLogger(__name__)
LOG_TOPICS = ("domain", "interactions", "media")


async def ensure_topics(settings: Settings, names: tuple[str, ...] = LOG_TOPICS) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(settings.topic(n), num_partitions=settings.topic_partitions, replication_factor=1)
            for n in names
            if settings.topic(n) not in existing
        ]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=settings.kafka_linger_ms,
        enable_idempotence=settings.kafka_idempotent_producer,
        max_batch_size=1_048_576,
        # Above the relay's own limit (kafka_max_message_bytes), which turns bigger events into pointers.
        max_request_size=max(1_048_576, settings.kafka_max_message_bytes + 65_536),
        request_timeout_ms=30_000,
    )


def consumer(
    settings: Settings, *topics: str, group_id: str | None, client_id: str = "livecommerce"
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        max_partition_fetch_bytes=4 * 1_048_576,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )


async def start_with_retry(client: AIOKafkaProducer | AIOKafkaConsumer, attempts: int = 30) -> None:
    for i in range(attempts):
        try:
            await client.start()
            return
        except KafkaConnectionError:
            if i == attempts - 1:
                raise
            log.warning("kafka not reachable yet; retrying")
            await asyncio.sleep(min(2.0, 0.2 * (i + 1)))


async def end_offsets(consumer: AIOKafkaConsumer, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The offset after each partition's last record, for a consumer that has ``parts`` assigned.

    Apache Kafka's ListOffsets(latest) is exactly that. Tansu (the dev broker) answers the last record *batch's*
    base offset + 1, so a producer batch of three records at offsets 6, 7, 8 reads as end 7: a rebuild that stopped
    there lost records 7 and 8 (seen as a flaky engagement rebuild, a reaction short). So read from end − 1: the
    fetch returns the whole batch holding it, and its last offset + 1 is the end on either broker. The caller's
    position is left wherever this fetch ended: seek afterwards.
    """
    ends = dict(await consumer.end_offsets(parts))
    for tp in parts:
        if ends[tp] <= 0:
            continue
        consumer.seek(tp, ends[tp] - 1)
        got = await consumer.getmany(tp, timeout_ms=2_000)
        last = [m.offset for m in got.get(tp, ())]
        if last:
            ends[tp] = max(ends[tp], max(last) + 1)
    return ends


async def read_to_end(
    consumer: AIOKafkaConsumer, parts: list[TopicPartition], *, batch: int = 2000
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """Batches of records from ``parts`` up to the end offsets taken when called (rebuilds, replays)."""
    consumer.assign(parts)
    ends = await end_offsets(consumer, parts)
    await consumer.seek_to_beginning(*parts)
    while True:
        behind = False
        for tp in parts:
            if await consumer.position(tp) < ends[tp]:
                behind = True
                break
        if not behind:
            return
        got = await consumer.getmany(timeout_ms=1000, max_records=batch)
        yield [m for tp, msgs in got.items() for m in msgs if m.offset < ends[tp]]
