"""Replay the log into fresh leaderboard keys (``{prefix}LB:*``) and hash both, to show a rebuild gives the same
sorted sets as the live read model (issue 14 part 5). The live keys are not touched.

``source="store"``: every stored event, in the store's global order (what ``project --rebuild`` reads);
``source="log"``: the Kafka domain topic from its first offset, partition by partition (what the live workers read).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from application.envelope import Envelope
from infra import kafka
from infra.redis_leaderboards import RedisLeaderboards
from infra.redis_store import redis_client
from infra.settings import Settings
from infra.store_reader import max_position, open_reader, read_after
from projections.leaderboards_redis import LeaderboardsRedis, digest


async def replay_into(settings: Settings, prefix: str, source: str = "store", page: int = 2_000) -> int:
    """Reset ``{prefix}LB:*`` and apply the whole log to it; → how many events were read."""
    assert prefix, "a replay never writes the live keys"
    r = redis_client(settings.redis_url)
    proj = LeaderboardsRedis(RedisLeaderboards(r), prefix=prefix)
    count = 0
    try:
        await proj.reset()
        if source == "store":
            async with open_reader(settings) as reader:
                end, position = await max_position(reader), 0
                while position < end:
                    batch = [e for e in await read_after(reader, position, page) if (e.position or 0) <= end]
                    if not batch:
                        break
                    await proj.apply(batch)
                    position, count = batch[-1].position or position, count + len(batch)
        else:
            consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
            await consumer.start()
            try:
                parts = [TopicPartition(settings.topic("domain"), p) for p in range(settings.topic_partitions)]
                async for records in kafka.read_to_end(consumer, parts):
                    batch = [Envelope.from_json(m.value) for m in records]
                    await proj.apply(batch)
                    count += len(batch)
            finally:
                await consumer.stop()
    finally:
        await r.aclose()
    return count


async def digests(settings: Settings, *prefixes: str) -> list[tuple[str, int]]:
    """``digest`` of the boards under each prefix (``""`` = the live read model)."""
    r = redis_client(settings.redis_url)
    try:
        return [await digest(r, p) for p in prefixes]
    finally:
        await r.aclose()
