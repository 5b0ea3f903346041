"""Due work on real PostgreSQL: the follower of the store's log, the process managers acting on it with a clock
the test moves, two copies racing, a restart, and a show's end closing its deals. No Kafka and no read model
are running here at all: the work is found from the event store alone."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from application.auctions import AuctionService, CreateAuction
from application.batch_writer import BatchWriter
from application.event_store import LiveCommerceStore
from application.flash_sales import CreateFlashSale, FlashSaleService
from application.group_buys import GroupBuyService, LaunchGroupBuy
from application.streams import ProductTerms, ScheduleStream, StreamService, StreamUrls
from domain.commerce_errors import AuctionClosed, FlashSaleNotActive, GroupBuyClosed
from domain.flash_sale import FlashSale
from infra.due_managers import AuctionCloser, GroupBuySettler, HoldExpiry, SaleClock
from infra.due_work import DueWork
from infra.process_managers import Housekeeping
from infra.settings import Settings
from tests.conftest import Environments
from tests.integration.test_process_managers import Clock, open_due

PRODUCT = str(uuid.UUID(int=42))


@dataclass
class Shop:
    env: Settings
    store: LiveCommerceStore
    writer: BatchWriter
    streams: StreamService
    sales: FlashSaleService
    auctions: AuctionService
    groups: GroupBuyService

    async def live_stream(self) -> UUID:
        sid = (
            await self.streams.schedule(
                ScheduleStream(
                    vendor_id=str(uuid.uuid4()),
                    title="ঈদ সেল",
                    stream_type="flash_sale",
                    products=[ProductTerms(PRODUCT, Decimal("1000.00"))],
                )
            )
        ).id
        await self.streams.start(sid)
        return sid

    def events(self, aggregate_id: UUID) -> list[str]:
        return [type(e).__name__ for e in self.store.events.get(aggregate_id)]

    def truth(self, aggregate_id: UUID) -> object:
        reader = LiveCommerceStore(self.env.eventsourcing_env())
        try:
            return reader.repository.get(aggregate_id)
        finally:
            reader.close()


def a_shop(env: Settings, clock: Clock) -> Shop:
    store = LiveCommerceStore(env.eventsourcing_env())
    writer = BatchWriter(store, window_ms=1)
    return Shop(
        env,
        store,
        writer,
        StreamService(
            writer,
            clock=clock,
            new_id=uuid.uuid4,
            new_token=lambda: uuid.uuid4().hex,
            urls=StreamUrls("rtmp://x/live", "http://x/hls"),
        ),
        FlashSaleService(writer, clock=clock, new_id=uuid.uuid4),
        AuctionService(writer, clock=clock, new_id=uuid.uuid4),
        GroupBuyService(writer, clock=clock, new_id=uuid.uuid4),
    )


async def close(*shops: Shop) -> None:
    for s in shops:
        await s.writer.stop()
        s.store.close()


def rows(env: Settings, kind: str) -> list[tuple[object, ...]]:
    with psycopg.connect(env.postgres_url) as conn:
        return conn.execute(
            "SELECT aggregate_id, item, due_at, show_ended FROM due_work WHERE kind = %s ORDER BY due_at", (kind,)
        ).fetchall()


async def test_a_scheduled_sale_starts_and_ends_by_the_clock_once_with_two_copies_and_a_restart(
    environments: Environments,
) -> None:
    env, clock = environments.new(), Clock()
    a, b = a_shop(env, clock), a_shop(env, clock)  # two `livecommerce process` copies on one store
    try:
        sid = await a.live_stream()
        sale = (
            await a.sales.create(
                CreateFlashSale(
                    stream_id=sid,
                    product_id=PRODUCT,
                    flash_price=Decimal("700.00"),
                    available_quantity=5,
                    duration_minutes=0,
                    duration_seconds=90,
                    starts_in_seconds=30,
                    hold_seconds=300,
                )
            )
        ).id
        first = await open_due(env)
        await first.close()  # the process dies after planning: the plan and its position are in PostgreSQL
        due_a, due_b = DueWork(env), DueWork(env)
        await due_a.open()
        await due_b.open()
        assert await due_b.catch_up() is None  # nothing new: the first follower's position was kept
        assert [r[0] for r in rows(env, "sale_start")] == [sale]
        with pytest.raises(FlashSaleNotActive):  # not yet
            await a.sales.purchase(sale, buyer_id="early", quantity=1, idempotency_key="k0")
        clocks = [SaleClock(due_a, a.sales, clock), SaleClock(due_b, b.sales, clock)]
        assert [await c.sweep_once() for c in clocks] == [0, 0]
        clock.now += timedelta(seconds=30)
        done = await asyncio.gather(*(c.sweep_once() for c in clocks))
        assert sorted(done) == [0, 1], "one copy starts it; the other finds it started"
        held = await a.sales.purchase(sale, buyer_id="b1", quantity=2, idempotency_key="k1")
        await due_a.catch_up()
        assert rows(env, "sale_start") == [] and [r[1] for r in rows(env, "hold")] == [held.reservation_id]
        clock.now += timedelta(seconds=90)
        done = await asyncio.gather(*(c.sweep_once() for c in clocks))
        assert sorted(done) == [0, 1]
        assert a.events(sale) == ["Scheduled", "Started", "StockReserved", "Ended"]
        await due_b.catch_up()
        assert rows(env, "sale_end") == [] and len(rows(env, "hold")) == 1, "the hold keeps its deadline"
        assert await HoldExpiry(due_a, a.sales, clock).sweep_once() == 0
        clock.now += timedelta(seconds=300)
        assert await HoldExpiry(due_b, b.sales, clock).sweep_once() == 1
        sold: FlashSale = a.truth(sale)  # type: ignore[assignment]
        assert (sold.status, sold.available, sold.reserved) == ("ended", 5, 0)
        await due_a.close()
        await due_b.close()
    finally:
        await close(a, b)


async def test_a_shows_end_closes_its_sales_auctions_and_group_buys_at_once(environments: Environments) -> None:
    env, clock = environments.new(), Clock()
    shop = a_shop(env, clock)
    try:
        sid = await shop.live_stream()
        running = (
            await shop.sales.create(
                CreateFlashSale(
                    stream_id=sid,
                    product_id=PRODUCT,
                    flash_price=Decimal("700.00"),
                    available_quantity=5,
                    duration_minutes=30,
                )
            )
        ).id
        later = (
            await shop.sales.create(
                CreateFlashSale(
                    stream_id=sid,
                    product_id=PRODUCT,
                    flash_price=Decimal("700.00"),
                    available_quantity=5,
                    duration_minutes=30,
                    starts_in_minutes=20,
                )
            )
        ).id
        hold = await shop.sales.purchase(running, buyer_id="b1", quantity=1, idempotency_key="k")
        lot = (
            await shop.auctions.create(
                CreateAuction(
                    stream_id=sid,
                    product_id=PRODUCT,
                    starting_price=Decimal("500.00"),
                    duration_minutes=30,
                    pay_within_minutes=60,
                )
            )
        ).auction_id
        await shop.auctions.bid(lot, bidder_id="rahim", max_amount=Decimal("900.00"), idempotency_key="r")
        full = (
            await shop.groups.launch(
                LaunchGroupBuy(
                    stream_id=sid, product_id=PRODUCT, group_price=Decimal("800.00"), min_buyers=2, duration_minutes=30
                )
            )
        ).group_buy_id
        thin = (
            await shop.groups.launch(
                LaunchGroupBuy(
                    stream_id=sid, product_id=PRODUCT, group_price=Decimal("800.00"), min_buyers=2, duration_minutes=30
                )
            )
        ).group_buy_id
        for buyer in ("x", "y"):
            await shop.groups.join(full, buyer, "k")
        await shop.groups.join(thin, "x", "k")
        due = await open_due(env)
        house = Housekeeping(
            due,
            [
                ("sales", SaleClock(due, shop.sales, clock).sweep_once),
                ("holds", HoldExpiry(due, shop.sales, clock).sweep_once),
                ("auctions", AuctionCloser(due, shop.auctions, clock).sweep_once),
                ("groups", GroupBuySettler(due, shop.groups, clock).sweep_once),
            ],
            interval=60,
            clock=clock,
        )
        await house.pass_once()
        assert shop.events(running)[-1] == "StockReserved" and house.seconds_to_next() > 0
        clock.now += timedelta(minutes=2)
        await shop.streams.end(sid)
        await house.pass_once()  # sees LiveStream.Ended: every open deal of the show is due now, and acted on
        assert shop.events(running)[-1] == "Ended" and shop.events(later)[-1] == "Cancelled"
        assert shop.events(lot)[-1] == "Closed" and shop.events(full)[-1] == "Unlocked"
        assert shop.events(thin)[-1] == "Failed"
        sale: FlashSale = shop.truth(running)  # type: ignore[assignment]
        assert sale.reservations[hold.reservation_id]["status"] == "held", "payable until its own deadline"
        auction = shop.truth(lot)
        assert (auction.status, str(auction.winner_id), auction.pay_by) == (  # type: ignore[attr-defined]
            "awarded",
            "rahim",
            clock.now + timedelta(minutes=60),
        )
        with pytest.raises(FlashSaleNotActive):
            await shop.sales.purchase(running, buyer_id="b2", quantity=1, idempotency_key="k2")
        with pytest.raises(AuctionClosed):
            await shop.auctions.bid(lot, bidder_id="karim", max_amount=Decimal("1900.00"), idempotency_key="k")
        with pytest.raises(GroupBuyClosed):
            await shop.groups.join(full, "z", "k")
        await house.pass_once()
        assert [r[0] for r in rows(env, "hold")] == [running] and len(rows(env, "auction_payment")) == 1
        assert rows(env, "sale_start") == rows(env, "sale_end") == rows(env, "group_buy") == []

        # A sale recorded after its show ended (its creation raced the end in another process) closes at once.
        straggler = FlashSale.schedule(
            id=uuid.uuid4(),
            now=clock.now,
            stream_id=str(sid),
            product_id=PRODUCT,
            vendor_id="v",
            sale_name="late",
            original_price=Decimal("1000.00"),
            flash_price=Decimal("700.00"),
            quantity=1,
            start_time=clock.now + timedelta(minutes=5),
            end_time=clock.now + timedelta(minutes=10),
        )
        shop.store.save(straggler)
        await house.pass_once()
        assert shop.events(straggler.id) == ["Scheduled", "Cancelled"]
        await due.close()
    finally:
        await close(shop)


async def test_a_lost_listening_connection_is_opened_again(environments: Environments) -> None:
    env = environments.new()
    LiveCommerceStore(env.eventsourcing_env()).close()  # the store's table, for the follower to read
    due = await open_due(env)
    try:
        with psycopg.connect(env.postgres_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE"
                " 'LISTEN%%' AND datname = current_database()"
            ).fetchall()
        assert killed == [(True,)]
        await due.wait(0.2)  # the lost connection: noticed, a plain sleep this time
        await due.wait(0.2)  # listening again
        with psycopg.connect(env.postgres_url, autocommit=True) as conn:
            listening = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' AND datname = current_database()"
            ).fetchone()
        assert listening == (1,)
    finally:
        await due.close()
