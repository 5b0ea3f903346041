"""The composition root: builds every object of the API process from one Settings. Nothing connects at import.

``Container.open()`` connects (called from Sanic's before_server_start), ``close()`` releases everything.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from application.auctions import AuctionService
from application.batch_writer import BatchWriter
from application.checkout import CheckoutService
from application.coins import CoinService
from application.event_store import LiveCommerceStore
from application.flash_sales import FlashSaleService
from application.fraud_cases import FraudCaseService
from application.fulfilment import FulfilmentService
from application.gifts import GiftService
from application.group_buys import GroupBuyService
from application.hosts import HostService
from application.loyalty import LoyaltyPolicy, LoyaltyService
from application.polls import PollService
from application.quizzes import QuizService
from application.refunds import RefundService
from application.streams import StreamService, StreamUrls
from infra import metrics, test_clock, tracing
from infra.idempotency import IdempotencyStore
from infra.mongo import mongo_client
from infra.postgres import PgDatabase, ensure_event_store, prepare_schema
from infra.redis_store import redis_client
from infra.settings import Settings
from infra.tokens import TokenVerifier
from infra.version_waiter import VersionWaiter


def utc_now() -> datetime:
    return datetime.now(UTC) + test_clock.offset()  # the offset is zero unless settings.test_clock_file is set


def loyalty_policy(s: Settings) -> LoyaltyPolicy:
    return LoyaltyPolicy(
        watch_block_s=s.loyalty_watch_block_s,
        watch_points=s.loyalty_watch_points,
        watch_cap_per_show=s.loyalty_watch_cap_per_show,
        chat_points=s.loyalty_chat_points,
        chat_cap_per_show=s.loyalty_chat_cap_per_show,
        purchase_points_per_100=s.loyalty_purchase_points_per_100,
        quiz_rewards=tuple(int(p) for p in s.loyalty_quiz_rewards.split(",") if p.strip()),
        point_value=Decimal(str(s.loyalty_point_value)),
        expiry_s=s.loyalty_expiry_s,
    )


@dataclass
class Container:
    settings: Settings
    store: LiveCommerceStore | None = None
    writer: BatchWriter | None = None
    streams: StreamService | None = None
    flash_sales: FlashSaleService | None = None
    checkout: CheckoutService | None = None
    auctions: AuctionService | None = None
    group_buys: GroupBuyService | None = None
    http_client: Any = None
    idempotency: IdempotencyStore | None = None
    read_db: PgDatabase | None = None
    redis: Any = None
    mongo: Any = None
    versions: VersionWaiter | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    hosts: HostService | None = None
    tokens: TokenVerifier | None = None
    refunds: RefundService | None = None
    fulfilment: FulfilmentService | None = None
    fraud_cases: FraudCaseService | None = None
    polls: PollService | None = None
    coins: CoinService | None = None
    gifts: GiftService | None = None
    quizzes: QuizService | None = None
    loyalty: LoyaltyService | None = None
    notification_prefs: Any = None  # application.notification_prefs.NotificationPreferencesService

    async def open(self) -> None:
        s = self.settings
        test_clock.use(s.test_clock_file)
        await asyncio.to_thread(prepare_schema, s.read_url, s.migrations, s.migrations_wait_s)
        if s.read_url != s.postgres_url:
            await asyncio.to_thread(prepare_schema, s.postgres_url, s.migrations, s.migrations_wait_s)
        if s.migrations == "apply":  # else the migrate step made the event store with the read models
            await asyncio.to_thread(
                ensure_event_store, s.postgres_url, lambda: LiveCommerceStore(s.eventsourcing_env())
            )
        self.store = await asyncio.to_thread(LiveCommerceStore, s.eventsourcing_env(create_tables=False))
        self.writer = BatchWriter(
            self.store,
            max_batch=s.command_batch_max,
            window_ms=s.command_batch_window_ms,
            max_event_bytes=s.max_event_bytes,
            on_batch=metrics.observe_batch,
            trace=tracing.batch_tracing(),
        )
        await self.writer.start()
        self.streams = StreamService(
            self.writer,
            clock=utc_now,
            new_id=uuid.uuid4,
            new_token=lambda: secrets.token_urlsafe(12),
            urls=StreamUrls(s.rtmp_base_url, s.playback_base_url),
        )
        self.flash_sales = FlashSaleService(self.writer, clock=utc_now, new_id=uuid.uuid4)
        self.hosts = HostService(self.writer, self.streams, clock=utc_now, default_vendor_id=s.default_vendor_id)
        self.tokens = TokenVerifier(s)
        import httpx

        from infra.payments import gateways_from_settings
        from infra.payments.sessions import GatewaySessions

        self.http_client = httpx.AsyncClient()
        sessions = GatewaySessions(
            gateways_from_settings(s, self.http_client, timeout=s.payment_timeout_s), s.public_url
        )
        self.checkout = CheckoutService(
            self.writer, sessions, clock=utc_now, cart_hold_s=s.cart_hold_s, replay_sales_s=s.replay_sales_days * 86400
        )
        self.coins = CoinService(
            self.writer, sessions, clock=utc_now, coin_price=s.coin_price_bdt, callback_url=sessions.top_up_callback_url
        )
        self.gifts = GiftService(
            self.writer, clock=utc_now, coin_price=s.coin_price_bdt, host_share_percent=s.gift_host_share_percent
        )
        self.auctions = AuctionService(self.writer, clock=utc_now, new_id=uuid.uuid4)
        self.group_buys = GroupBuyService(self.writer, clock=utc_now, new_id=uuid.uuid4)
        self.loyalty = LoyaltyService(self.writer, loyalty_policy(s), clock=utc_now)
        self.checkout.loyalty = self.loyalty  # points are spent in the order's own save
        self.quizzes = QuizService(
            self.writer, clock=utc_now, new_id=uuid.uuid4, rewards=self.loyalty.quiz_rewards
        )  # winners credited in the quiz's save
        self.read_db = PgDatabase(s.read_url, max_size=s.postgres_pool_size)
        await self.read_db.open()
        from infra.payments.locks import PgLocks

        self.refunds = RefundService(self.writer, sessions, PgLocks(self.read_db), clock=utc_now)
        self.checkout.refunds = self.refunds  # the automatic refund of an expired hold goes out at once
        from infra.fraud_screening import PgFraudScreening

        self.fulfilment = FulfilmentService(
            self.writer,
            clock=utc_now,
            return_window=timedelta(seconds=s.return_window_s),
            screening=PgFraudScreening(self.read_db, s.fraud_screening_wait_s) if s.fraud_screening else None,
        )
        self.fraud_cases = FraudCaseService(self.writer, clock=utc_now)
        from application.notification_prefs import NotificationPreferencesService
        from infra.notification_prefs_pg import PgPreferences

        self.notification_prefs = NotificationPreferencesService(PgPreferences(self.read_db), clock=utc_now)
        from infra.catalog import PgCatalogue

        self.streams.catalogue = PgCatalogue(self.read_db, required=s.stream_products_require_catalogue)
        self.checkout.catalogue = self.streams.catalogue  # list prices of what a replay sells
        self.idempotency = IdempotencyStore(self.read_db, s.idempotency_ttl_hours)
        self.redis = redis_client(s.redis_url)
        from infra.poll_tallies import RedisPollTallies

        self.polls = PollService(self.writer, clock=utc_now, new_id=uuid.uuid4, tallies=RedisPollTallies(self.redis))
        self.mongo = mongo_client(s.mongo_url)
        self.versions = VersionWaiter(s.read_url)
        await self.versions.start()

    async def close(self) -> None:
        if self.http_client is not None:
            await self.http_client.aclose()
        if self.versions is not None:
            await self.versions.stop()
        if self.writer is not None:
            await self.writer.stop()
        if self.read_db is not None:
            await self.read_db.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.mongo is not None:
            await self.mongo.close()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
