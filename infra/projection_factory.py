"""Build a named projection with its store adapter; the caller closes the returned resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from infra.mongo import mongo_client
from infra.postgres import PgDatabase, prepare_schema
from infra.redis_sequenced import RedisSequenced
from infra.redis_store import RedisGuard, redis_client
from infra.settings import Settings
from projections.analytics_pg import AnalyticsTables
from projections.auctions_pg import AuctionsTable
from projections.carts_pg import CartsTable
from projections.chat_messages_mongo import ChatMessagesMongo
from projections.coins_pg import CoinsTables
from projections.engagement_pg import EngagementTables
from projections.flash_sales import FlashSalesProjection
from projections.fraud_cases_pg import FraudCasesTable
from projections.fraud_signals_pg import FraudSignals
from projections.group_buys_pg import GroupBuysTable
from projections.leaderboards_redis import LeaderboardsRedis
from projections.live_streams_pg import LiveStreamsTable
from projections.media_pg import RecordingsTable
from projections.orders_pg import OrdersTable
from projections.polls_redis import PollsRedis
from projections.ports import Projection
from projections.recommendations_pg import RecommendationsTables
from projections.registry import PROJECTIONS
from projections.stream_chat_redis import StreamChatRedis
from projections.stream_engagement_mongo import StreamEngagementMongo
from projections.stream_metrics_redis import StreamMetricsRedis
from projections.stream_quality_mongo import COLLECTION as QUALITY_COLLECTION
from projections.stream_quality_mongo import StreamQualityMongo
from projections.stream_realtime_mongo import COLLECTION, StreamRealtimeMongo
from projections.stream_status_redis import StreamStatusRedis


@dataclass
class OpenProjection:
    projection: Projection
    close: Callable[[], Awaitable[None]]


# Read models that are one class over the read database: name -> (class, pool size).
PG_TABLES: dict[str, tuple[Callable[[PgDatabase], Projection], int]] = {
    "live_streams": (LiveStreamsTable, 4),
    "orders": (OrdersTable, 4),
    "auctions": (AuctionsTable, 2),
    "group_buys": (GroupBuysTable, 2),
    "analytics": (AnalyticsTables, 2),
    "recordings": (RecordingsTable, 2),
    "carts": (CartsTable, 2),
    "fraud_cases": (FraudCasesTable, 2),
    "coins": (CoinsTables, 2),
    "recommendations": (RecommendationsTables, 2),
    "engagement": (EngagementTables, 2),
}


def topics_of(name: str) -> tuple[str, ...]:
    """The log topics a read model consumes (without the prefix), known without opening it (``/health``)."""
    from projections.hosts_pg import HostsProjection
    from projections.stream_moderators_pg import StreamModeratorsTable

    classes: dict[str, Any] = {n: cls for n, (cls, _) in PG_TABLES.items()}
    classes.update(
        stream_quality=StreamQualityMongo,
        flash_sales=FlashSalesProjection,
        stream_metrics=StreamMetricsRedis,
        stream_chat=StreamChatRedis,
        chat_messages=ChatMessagesMongo,
        stream_engagement=StreamEngagementMongo,
        hosts=HostsProjection,
        stream_moderators=StreamModeratorsTable,
        stream_status=StreamStatusRedis,
        stream_realtime=StreamRealtimeMongo,
        polls=PollsRedis,
        fraud_signals=FraudSignals,
    )
    classes["leaderboards"] = LeaderboardsRedis
    return tuple(classes[name].topics)


async def _read_db(settings: Settings, pool: int) -> PgDatabase:
    """The read database, migrated, with an open pool of at most ``pool`` connections."""
    prepare_schema(settings.read_url, settings.migrations, settings.migrations_wait_s)
    db = PgDatabase(settings.read_url, max_size=pool)
    await db.open()
    return db


async def open_projection(settings: Settings, name: str) -> OpenProjection:
    if name not in PROJECTIONS:
        raise ValueError(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    if name in PG_TABLES:
        cls, pool = PG_TABLES[name]
        db = await _read_db(settings, pool)
        return OpenProjection(cls(db), db.close)
    if name == "stream_quality":
        qclient = mongo_client(settings.mongo_url)
        quality = StreamQualityMongo(qclient[settings.mongo_db][QUALITY_COLLECTION])
        await quality.ensure_indexes()

        async def close_quality() -> None:
            await qclient.close()

        return OpenProjection(quality, close_quality)
    if name == "flash_sales":
        db = await _read_db(settings, 4)
        r = redis_client(settings.redis_url)

        async def close_both() -> None:
            await db.close()
            await r.aclose()

        return OpenProjection(FlashSalesProjection(db, RedisGuard(r)), close_both)
    if name in ("stream_metrics", "stream_chat"):
        r = redis_client(settings.redis_url)
        await r.ping()
        seq = RedisSequenced(r)
        proj: Projection = (
            StreamMetricsRedis(seq) if name == "stream_metrics" else StreamChatRedis(seq, settings.chat_history_size)
        )
        return OpenProjection(proj, r.aclose)
    if name in ("chat_messages", "stream_engagement"):
        return await _open_interactions_mongo(settings, name)
    if name in ("hosts", "stream_moderators"):
        return await _open_hosts(settings, name)
    if name == "fraud_signals":
        return await _open_fraud_signals(settings)
    if name == "leaderboards":
        from infra.redis_leaderboards import RedisLeaderboards

        lr = redis_client(settings.redis_url)
        await lr.ping()
        return OpenProjection(LeaderboardsRedis(RedisLeaderboards(lr)), lr.aclose)
    if name in ("stream_status", "polls"):
        r = redis_client(settings.redis_url)
        await r.ping()
        guarded = StreamStatusRedis(RedisGuard(r)) if name == "stream_status" else PollsRedis(RedisGuard(r))
        return OpenProjection(guarded, r.aclose)
    client = mongo_client(settings.mongo_url)
    proj = StreamRealtimeMongo(client[settings.mongo_db][COLLECTION])
    await proj.ensure_indexes()

    async def close() -> None:
        await client.close()

    return OpenProjection(proj, close)


async def _open_interactions_mongo(settings: Settings, name: str) -> OpenProjection:
    client = mongo_client(settings.mongo_url)
    db = client[settings.mongo_db]
    if name == "chat_messages":
        chat = ChatMessagesMongo(db[ChatMessagesMongo.name])
        await chat.ensure_indexes()
        proj: Projection = chat
    else:
        proj = StreamEngagementMongo(db[COLLECTION])

    async def close() -> None:
        await client.close()

    return OpenProjection(proj, close)


async def _open_hosts(settings: Settings, name: str) -> OpenProjection:
    from projections.hosts_pg import HostsProjection
    from projections.stream_moderators_pg import StreamModeratorsTable

    db = await _read_db(settings, 4)
    if name == "stream_moderators":
        return OpenProjection(StreamModeratorsTable(db), db.close)
    r = redis_client(settings.redis_url)

    async def close_both() -> None:
        await db.close()
        await r.aclose()

    return OpenProjection(HostsProjection(db, RedisGuard(r)), close_both)


async def _open_fraud_signals(settings: Settings) -> OpenProjection:
    """The detector writes its decisions as FraudCase commands: it needs the event store's writer too."""
    import asyncio

    from application.batch_writer import BatchWriter
    from application.event_store import LiveCommerceStore
    from application.fraud_cases import FraudCaseService
    from infra.bootstrap import utc_now
    from infra.postgres import ensure_event_store
    from infra.store_reader import open_reader, read_after

    db = await _read_db(settings, 2)
    await asyncio.to_thread(
        ensure_event_store, settings.postgres_url, lambda: LiveCommerceStore(settings.eventsourcing_env())
    )
    log_reader = open_reader(settings)

    async def read_log(after: int, limit: int) -> list[Any]:  # the detector scores in the store's order
        return await read_after(log_reader, after, limit)

    store = await asyncio.to_thread(LiveCommerceStore, settings.eventsourcing_env(create_tables=False))
    writer = BatchWriter(store, max_event_bytes=settings.max_event_bytes)
    await writer.start()
    cases = FraudCaseService(writer, clock=utc_now)

    async def close() -> None:
        await writer.stop()
        await db.close()
        await log_reader.close()
        await asyncio.to_thread(store.close)

    return OpenProjection(FraudSignals(db, cases.suspect, read_log=read_log), close)
