"""Stream stock and live carts on the real event store: two processes' writers, the cart-expiry follower."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.auctions import AuctionService, CreateAuction
from application.batch_writer import BatchWriter
from application.checkout import Checkout, CheckoutService, ProviderAnswer
from application.checkout_lines import Item
from application.event_store import LiveCommerceStore
from application.stream_stock import stock_id_for
from application.streams import ProductTerms, ScheduleStream, StreamService, StreamUrls
from domain.commerce_errors import NoAuctionWinner
from domain.stream_stock import ProductSoldOut, StreamStock
from infra.due_managers import CartExpiry
from infra.due_work import DueWork
from infra.postgres import apply_migrations
from infra.settings import Settings
from tests.conftest import Environments


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class NoSessions:
    """A provider that opens sessions and is never asked again (no callback in these tests)."""

    async def open(self, method: str, payment_id: Any, *a: Any, **k: Any) -> tuple[str, str]:
        return f"prov-{payment_id}", f"http://pay.invalid/{payment_id}"

    async def confirm(self, method: str, params: dict[str, Any]) -> Any:
        pid = params["provider_id"]  # the provider says: paid, for our payment named in its reference
        return ProviderAnswer(pid, "completed", Decimal(params["amount"]), None, pid.removeprefix("prov-"))

    async def status(self, *a: Any) -> Any:
        raise AssertionError


class Process:
    """What one process of the service has: its own store connection, writer and cache."""

    def __init__(self, env: Settings, clock: Clock) -> None:
        self.store = LiveCommerceStore(env.eventsourcing_env())
        self.writer = BatchWriter(self.store, window_ms=1)
        self.streams = StreamService(
            self.writer,
            clock=clock,
            new_id=uuid.uuid4,
            new_token=lambda: uuid.uuid4().hex,
            urls=StreamUrls("rtmp://x/live", "http://x/hls"),
        )
        self.checkout = CheckoutService(self.writer, NoSessions(), clock=clock, cart_hold_s=600)
        self.auctions = AuctionService(self.writer, clock=clock, new_id=uuid.uuid4)

    async def close(self) -> None:
        await self.writer.stop()
        self.store.close()


def cod(
    stream_id: uuid.UUID, buyer: str, key: str, *items: Item, from_cart: bool = False, method: str = "cod"
) -> Checkout:
    return Checkout(
        stream_id=stream_id,
        buyer_id=buyer,
        items=list(items),
        payment_method=method,
        shipping_address={"city": "Dhaka"},
        idempotency_key=key,
        buyer_phone="01712345678",
        from_cart=from_cart,
    )


@pytest.fixture
async def two(environments: Environments) -> Any:
    env = environments.new()
    apply_migrations(env.postgres_url)
    clock = Clock()
    a, b = Process(env, clock), Process(env, clock)
    yield env, clock, a, b
    await a.close()
    await b.close()


class Expiry:
    """The process managers' cart expiry on its due-work list (caught up from the store before each sweep)."""

    def __init__(self, env: Any, checkout: Any, clock: Any) -> None:
        self.due = DueWork(env)
        self.carts = CartExpiry(self.due, checkout, clock)

    async def open(self) -> None:
        await self.due.open()

    async def close(self) -> None:
        await self.due.close()

    async def sweep_once(self) -> int:
        await self.due.catch_up()
        return await self.carts.sweep_once()


async def test_a_deal_changed_by_another_process_is_read_as_stored_before_a_payment_is_accepted(two: Any) -> None:
    """Process A knows the auction as won by rahim; process B (the process managers) passes the lot on to karim.
    A payment line only reads the lot (no write to conflict on), so A must read it as stored, not as cached."""
    env, clock, a, b = two
    lot = str(uuid.uuid4())
    sid = (
        await a.streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="t",
                stream_type="auction",
                products=[ProductTerms(lot, Decimal("5000.00"))],
            )
        )
    ).id
    await a.streams.start(sid)
    aid = (
        await a.auctions.create(
            CreateAuction(
                stream_id=sid,
                product_id=lot,
                starting_price=Decimal("1000.00"),
                duration_minutes=1,
                pay_within_minutes=5,
            )
        )
    ).auction_id
    rahim, karim = str(uuid.uuid4()), str(uuid.uuid4())
    await a.auctions.bid(aid, bidder_id=rahim, max_amount=Decimal("3000.00"), idempotency_key="r")
    await a.auctions.bid(aid, bidder_id=karim, max_amount=Decimal("2000.00"), idempotency_key="k")
    clock.now += timedelta(minutes=2)
    assert await b.auctions.settle_due(aid) == "closed"  # rahim wins, in process B
    with pytest.raises(NoAuctionWinner):  # A now knows the lot as awarded to rahim
        await a.checkout.checkout(cod(sid, karim, "early", Item("", 1, auction_id=aid), method="bkash"))
    clock.now += timedelta(minutes=6)
    assert await b.auctions.settle_due(aid) == "passed_on"  # rahim did not pay in time: karim's now, in B
    with pytest.raises(NoAuctionWinner):  # an online payment writes nothing to the lot before it is paid
        await a.checkout.checkout(cod(sid, rahim, "late", Item("", 1, auction_id=aid), method="bkash"))
    placed, url = await a.checkout.checkout(cod(sid, karim, "pay", Item("", 1, auction_id=aid), method="bkash"))
    assert (placed.total, placed.payment_status, url) == (
        Decimal("1000.00"),
        "processing",
        f"http://pay.invalid/{placed.payment_id}",
    )


async def test_two_processes_never_sell_more_than_the_stock_and_an_abandoned_cart_gives_it_back(two: Any) -> None:
    env, clock, a, b = two
    shirt = str(uuid.uuid4())
    sid = (
        await a.streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="t",
                stream_type="flash_sale",
                products=[ProductTerms(shirt, Decimal("800.00"), 3)],
            )
        )
    ).id
    await a.streams.start(sid)
    walker = str(uuid.uuid4())
    await b.checkout.add_to_cart(sid, walker, Item(shirt, 2))  # process B holds 2 for a cart
    await a.checkout.checkout(cod(sid, str(uuid.uuid4()), "k1", Item(shirt, 1)))  # A sells the third
    with pytest.raises(ProductSoldOut):
        await a.checkout.checkout(cod(sid, str(uuid.uuid4()), "k2", Item(shirt, 1)))
    with pytest.raises(ProductSoldOut):
        await b.checkout.add_to_cart(sid, str(uuid.uuid4()), Item(shirt, 1))

    expiry = Expiry(env, a.checkout, clock)
    await expiry.open()
    try:
        assert await expiry.sweep_once() == 0  # the walker's cart is not due yet
        clock.now += timedelta(seconds=601)
        assert await expiry.sweep_once() == 1  # its one line's two units go back
        assert await expiry.sweep_once() == 0  # and only once
        assert (await b.checkout.cart(sid, walker)).items == []
        await b.checkout.add_to_cart(sid, walker, Item(shirt, 1))  # back, through the other process
        clock.now += timedelta(seconds=601)
        assert await expiry.sweep_once() == 1  # the expiring process sees the cart as stored, not as it left it
    finally:
        await expiry.close()
    await b.checkout.checkout(cod(sid, str(uuid.uuid4()), "k3", Item(shirt, 2)))  # B sells the two that came back
    reader = LiveCommerceStore(env.eventsourcing_env())
    stock: StreamStock = reader.repository.get(stock_id_for(sid, shirt))
    reader.close()
    assert (stock.available, stock.reserved, stock.sold) == (0, 0, 3)


async def test_a_payment_confirmed_in_another_process_sells_the_units_its_order_holds(two: Any) -> None:
    """Process B last saw the only shirt held by a walker's cart; process A expired that cart and sold the shirt
    to an order paid online. The provider's callback lands in B: B must sell the order's held unit, not find the
    shirt gone (in its old copy) and refund the buyer."""
    env, clock, a, b = two
    shirt = str(uuid.uuid4())
    sid = (
        await a.streams.schedule(
            ScheduleStream(
                vendor_id=str(uuid.uuid4()),
                title="t",
                stream_type="flash_sale",
                products=[ProductTerms(shirt, Decimal("800.00"), 1)],
            )
        )
    ).id
    await a.streams.start(sid)
    await b.checkout.add_to_cart(sid, str(uuid.uuid4()), Item(shirt, 1))  # B: the shirt is in a cart
    clock.now += timedelta(seconds=601)
    expiry = Expiry(env, a.checkout, clock)
    await expiry.open()
    try:
        assert await expiry.sweep_once() == 1  # A: the cart expired, the shirt is back
    finally:
        await expiry.close()
    placed, _ = await a.checkout.checkout(cod(sid, str(uuid.uuid4()), "online", Item(shirt, 1), method="bkash"))
    paid = await b.checkout.payment_callback(
        placed.payment_id, "bkash", {"provider_id": f"prov-{placed.payment_id}", "amount": "800.00"}
    )
    assert (paid.order_status, paid.payment_status) == ("paid", "completed")  # not refunded
    reader = LiveCommerceStore(env.eventsourcing_env())
    stock: StreamStock = reader.repository.get(stock_id_for(sid, shirt))
    reader.close()
    assert (stock.available, stock.reserved, stock.sold) == (0, 0, 1)
