"""The show's own log, read back from Kafka for highlights: interactions (chat, reactions, purchase intents)
and domain events (featured products, orders, the stream's end) that concern this stream.

Read from the earliest offsets to the end offsets taken when called; events of other shows are dropped.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from application.envelope import Envelope
from infra.kafka import read_to_end
from infra.settings import Settings


async def read_show_log(
    settings: Settings, stream_id: str, topics: tuple[str, ...] = ("domain", "interactions")
) -> list[Envelope]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[Envelope] = []
    try:
        parts = [TopicPartition(settings.topic(t), p) for t in topics for p in range(settings.topic_partitions)]
        async for records in read_to_end(consumer, parts, batch=5000):
            out += [e for e in (Envelope.from_json(m.value) for m in records) if e.stream_id == stream_id]
    finally:
        await consumer.stop()
    out.sort(key=lambda e: e.occurred_at)
    return out
