"""The show's own log, read back from Kafka for highlights: interactions (chat, reactions, purchase intents)
and domain events (featured products, orders, the stream's end) that concern this stream.

Read from the earliest offsets to the end offsets taken when called; events of other shows are dropped.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from application.envelope import Envelope
from infra.settings import Settings


async def read_show_log(settings: Settings, stream_id: str, topics: tuple[str, ...] = ("domain", "interactions")
                        ) -> list[Envelope]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[Envelope] = []
    try:
        parts = [TopicPartition(settings.topic(t), p) for t in topics for p in range(settings.topic_partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while await _behind(consumer, parts, ends):
            got = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, msgs in got.items():
                for m in msgs:
                    if m.offset >= ends[tp]:
                        continue
                    e = Envelope.from_json(m.value)
                    if e.stream_id == stream_id:
                        out.append(e)
    finally:
        await consumer.stop()
    out.sort(key=lambda e: e.occurred_at)
    return out


async def _behind(consumer: AIOKafkaConsumer, parts: list[TopicPartition], ends: dict[TopicPartition, int]) -> bool:
    """True while some partition has not yet been read up to its end offset."""
    for tp in parts:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False
