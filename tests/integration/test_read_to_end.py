"""Reading a topic to its end (rebuilds, replays, the show's log) gets every record, on Tansu as on Kafka.

Tansu answers ListOffsets(latest) with the last producer batch's base offset + 1, so a tail batch of three records
at offsets n, n+1, n+2 reads as end n+1; the engagement rebuild once came out a reaction short from it.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra import kafka
from infra.settings import Settings


async def _tail_batch(settings: Settings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=50)
    await producer.start()
    try:
        offsets = []
        for round_ in range(2):  # each round: three sends queued before any is acked, so one batch
            futures = [await producer.send(topic, f"{round_}.{i}".encode(), key=b"show") for i in range(3)]
            offsets += [(await f).offset for f in futures]
        return offsets
    finally:
        await producer.stop()


def test_every_record_of_a_tail_batch_is_read(stack: Settings) -> None:
    async def run() -> tuple[list[int], dict[TopicPartition, int], list[bytes]]:
        topic = f"read-to-end-{uuid.uuid4().hex[:8]}"
        offsets = await _tail_batch(stack, topic)
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            ends = await kafka.end_offsets(consumer, [tp])
            values = [m.value for records in [r async for r in kafka.read_to_end(consumer, [tp])] for m in records]
            return offsets, ends, values
        finally:
            await consumer.stop()

    offsets, ends, values = asyncio.run(run())
    assert offsets == [0, 1, 2, 3, 4, 5]
    assert list(ends.values()) == [6]
    assert values == [b"0.0", b"0.1", b"0.2", b"1.0", b"1.1", b"1.2"]
