"""The process managers of ``livecommerce process`` with a clock the test moves: hold expiry, auctions, group
buys, flash sales starting and ending by themselves and closing with their show. Their work comes from the
``due_work`` table kept from the event store's log (no read model, no Kafka involved)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from application.batch_writer import BatchWriter
from application.event_store import LiveCommerceStore
from application.flash_sales import CreateFlashSale, FlashSaleService
from application.streams import ProductTerms, ScheduleStream, StreamService, StreamUrls
from domain.flash_sale import FlashSale
from infra.due_managers import HoldExpiry
from infra.due_work import DueWork
from infra.settings import Settings
from tests.conftest import Environments


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def open_due(env: Settings) -> DueWork:
    """The due-work follower on the test's store, caught up with it (run_migrations made its tables)."""
    from infra.postgres import apply_migrations

    apply_migrations(env.postgres_url)
    due = DueWork(env)
    await due.open()
    await due.catch_up()
    return due


async def test_expired_holds_are_released_and_fresh_ones_kept(environments: Environments) -> None:
    env: Settings = environments.new()
    store = LiveCommerceStore(env.eventsourcing_env())
    writer = BatchWriter(store, window_ms=1)
    clock = Clock()
    streams = StreamService(
        writer,
        clock=clock,
        new_id=uuid.uuid4,
        new_token=lambda: uuid.uuid4().hex,
        urls=StreamUrls("rtmp://x/live", "http://x/hls"),
    )
    sales = FlashSaleService(writer, clock=clock, new_id=uuid.uuid4)
    product = str(uuid.uuid4())
    sid = (
        await streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="t",
                stream_type="flash_sale",
                products=[ProductTerms(product, Decimal("1000.00"))],
            )
        )
    ).id
    await streams.start(sid)
    sale = (
        await sales.create(
            CreateFlashSale(
                stream_id=sid,
                product_id=product,
                flash_price=Decimal("500.00"),
                available_quantity=3,
                duration_minutes=30,
                hold_seconds=60,
            )
        )
    ).id
    b1, b2 = str(uuid.uuid4()), str(uuid.uuid4())
    await sales.purchase(sale, buyer_id=b1, quantity=1, idempotency_key="early")
    clock.now += timedelta(seconds=45)
    await sales.purchase(sale, buyer_id=b2, quantity=1, idempotency_key="late")
    due = await open_due(env)
    try:
        sweeper = HoldExpiry(due, sales, clock=clock)
        assert await sweeper.sweep_once() == 0  # nothing due yet
        clock.now += timedelta(seconds=20)  # b1's hold (60 s) is past, b2's is not
        assert await sweeper.sweep_once() == 1
        assert await sweeper.sweep_once() == 0  # idempotent, even before the follower saw the expiry
        await due.catch_up()
        assert await sweeper.sweep_once() == 0
    finally:
        await due.close()
        await writer.stop()
    reader = LiveCommerceStore(env.eventsourcing_env())  # keep a reference: closing it closes its pool
    truth: FlashSale = reader.repository.get(sale)
    reader.close()
    assert (truth.available, truth.reserved, truth.sold) == (2, 1, 0)
    statuses = {str(r["buyer_id"]): r["status"] for r in truth.reservations.values()}
    assert statuses == {b1: "released", b2: "held"}
    store.close()


async def test_auctions_close_on_time_and_pass_on_when_the_winner_does_not_pay(environments: Environments) -> None:
    from application.auctions import AuctionService, CreateAuction
    from domain.auction import Auction
    from infra.due_managers import AuctionCloser

    env: Settings = environments.new()
    store = LiveCommerceStore(env.eventsourcing_env())
    writer = BatchWriter(store, window_ms=1)
    clock = Clock()
    streams = StreamService(
        writer,
        clock=clock,
        new_id=uuid.uuid4,
        new_token=lambda: uuid.uuid4().hex,
        urls=StreamUrls("rtmp://x/live", "http://x/hls"),
    )
    auctions = AuctionService(writer, clock=clock, new_id=uuid.uuid4)
    product = str(uuid.uuid4())
    sid = (
        await streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="নকশি কাঁথা নিলাম",
                stream_type="auction",
                products=[ProductTerms(product)],
            )
        )
    ).id
    lot = (
        await auctions.create(
            CreateAuction(
                stream_id=sid,
                product_id=product,
                starting_price=Decimal("1000.00"),
                duration_minutes=10,
                pay_within_minutes=30,
            )
        )
    ).auction_id
    rahim, karim = str(uuid.uuid4()), str(uuid.uuid4())
    await auctions.bid(lot, bidder_id=rahim, max_amount=Decimal("8000.00"), idempotency_key="r1")
    s = await auctions.bid(lot, bidder_id=karim, max_amount=Decimal("4000.00"), idempotency_key="k1")
    assert (s.leader_id, s.current_price) == (rahim, Decimal("4100.00"))  # second max + the 1000+ tier (100)
    due = await open_due(env)
    try:
        closer = AuctionCloser(due, auctions, clock=clock)
        assert await closer.sweep_once() == 0  # still running
        clock.now += timedelta(minutes=11)
        assert await closer.sweep_once() == 1  # closed: rahim wins at the visible price
        await due.catch_up()
        clock.now += timedelta(minutes=31)
        assert await closer.sweep_once() == 1  # rahim never paid: karim is offered the lot
    finally:
        await due.close()
        await writer.stop()
    reader = LiveCommerceStore(env.eventsourcing_env())
    truth: Auction = reader.repository.get(lot)
    reader.close()
    store.close()
    assert truth.status == "awarded" and str(truth.winner_id) == karim


async def test_group_buys_unlock_with_enough_buyers_and_fail_without(environments: Environments) -> None:
    from application.group_buys import GroupBuyService, LaunchGroupBuy
    from domain.group_buy import GroupBuy
    from infra.due_managers import GroupBuySettler

    env: Settings = environments.new()
    store = LiveCommerceStore(env.eventsourcing_env())
    writer = BatchWriter(store, window_ms=1)
    clock = Clock()
    streams = StreamService(
        writer,
        clock=clock,
        new_id=uuid.uuid4,
        new_token=lambda: uuid.uuid4().hex,
        urls=StreamUrls("rtmp://x/live", "http://x/hls"),
    )
    groups = GroupBuyService(writer, clock=clock, new_id=uuid.uuid4)
    product = str(uuid.uuid4())
    sid = (
        await streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="t",
                stream_type="flash_sale",
                products=[ProductTerms(product, Decimal("2000.00"))],
            )
        )
    ).id
    full = (
        await groups.launch(
            LaunchGroupBuy(
                stream_id=sid, product_id=product, group_price=Decimal("1500.00"), min_buyers=3, duration_minutes=20
            )
        )
    ).group_buy_id
    thin = (
        await groups.launch(
            LaunchGroupBuy(
                stream_id=sid, product_id=product, group_price=Decimal("1500.00"), min_buyers=3, duration_minutes=20
            )
        )
    ).group_buy_id
    buyers = [str(uuid.uuid4()) for _ in range(3)]
    for b in buyers:
        await groups.join(full, b, "k")
        await groups.join(full, b, "k")  # a retry: one hold
    await groups.join(thin, buyers[0], "k")
    due = await open_due(env)
    try:
        settler = GroupBuySettler(due, groups, clock=clock)
        assert await settler.sweep_once() == 0  # before the deadline: buyers may still come and go
        clock.now += timedelta(minutes=21)
        assert await settler.sweep_once() == 2
    finally:
        await due.close()
        await writer.stop()
    reader = LiveCommerceStore(env.eventsourcing_env())
    a: GroupBuy = reader.repository.get(full)
    b: GroupBuy = reader.repository.get(thin)
    reader.close()
    store.close()
    converted = sorted(str(h["buyer_id"]) for h in a.holds.values() if h["status"] == "converted")
    assert (a.status, converted, b.status) == ("unlocked", sorted(buyers), "failed")
    assert all(h["status"] == "released" for h in b.holds.values())


async def test_a_stale_sold_out_mark_is_rechecked_and_units_released_elsewhere_are_sold(
    environments: Environments,
) -> None:
    """Two API processes on one sale (two services, one store): the one that saw the sell-out refuses early,
    but once its mark is stale the next buyer goes to the sale and gets a unit the other process released."""
    env: Settings = environments.new()
    store_a, store_b = LiveCommerceStore(env.eventsourcing_env()), LiveCommerceStore(env.eventsourcing_env())
    writer_a, writer_b = BatchWriter(store_a, window_ms=1), BatchWriter(store_b, window_ms=1)
    clock = Clock()
    streams = StreamService(
        writer_a,
        clock=clock,
        new_id=uuid.uuid4,
        new_token=lambda: uuid.uuid4().hex,
        urls=StreamUrls("rtmp://x/live", "http://x/hls"),
    )
    a = FlashSaleService(writer_a, clock=clock, new_id=uuid.uuid4, sold_out_ttl=0.2)
    b = FlashSaleService(writer_b, clock=clock, new_id=uuid.uuid4, sold_out_ttl=0.2)
    product = str(uuid.uuid4())
    try:
        sid = (
            await streams.schedule(
                ScheduleStream(
                    vendor_id=str(uuid.uuid4()),
                    title="t",
                    stream_type="flash_sale",
                    products=[ProductTerms(product, Decimal("1000.00"))],
                )
            )
        ).id
        await streams.start(sid)
        sale = (
            await a.create(
                CreateFlashSale(
                    stream_id=sid,
                    product_id=product,
                    flash_price=Decimal("500.00"),
                    available_quantity=1,
                    duration_minutes=30,
                )
            )
        ).id
        held = await a.purchase(sale, buyer_id=str(uuid.uuid4()), quantity=1, idempotency_key="first")
        assert a.early_refusal(sale, "second") is not None  # sold out, seen by process A
        await b.release(sale, held.reservation_id, "payment_failed")  # the unit comes back in process B
        assert a.early_refusal(sale, "second") is not None  # A's mark is still fresh
        await asyncio.sleep(0.25)
        assert a.early_refusal(sale, "second") is None  # stale: this buyer goes to the sale…
        assert a.early_refusal(sale, "third") is not None  # …while the others are still refused early
        got = await a.purchase(sale, buyer_id=str(uuid.uuid4()), quantity=1, idempotency_key="second")
        assert got.quantity == 1
    finally:
        await writer_a.stop()
        await writer_b.stop()
