"""Histories for the analytics tests, written through the real aggregates and ``LiveCommerceStore.save``.

One flash sale goes through everything an auditor must reconcile: reservations until sold out, a waitlist,
a failed payment that releases its hold to the first waiter, expired holds (one of them an offered waiter's),
completed payments, a partial and a full refund, and the end of the sale; around it, shows with products.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.event_store import LiveCommerceStore
from domain.flash_sale import FlashSale
from domain.live_stream import LiveStream, StreamProduct
from domain.order import Order, OrderLine
from domain.payment import Payment
from infra.settings import Settings

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
PRICE = Decimal("1499.00")
ADDRESS = {"name": "Rahima", "line1": "House 7, Road 3", "area": "Mirpur", "city": "Dhaka"}


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


@dataclass
class SaleHistory:
    stream_id: UUID
    sale_id: UUID
    orders: dict[str, UUID] = field(default_factory=dict)  # buyer → order id
    payments: dict[str, UUID] = field(default_factory=dict)  # buyer → payment id
    quantity: int = 5


def shows(count: int, products: int = 3) -> list[LiveStream]:
    out = []
    for i in range(count):
        s = LiveStream.schedule(
            id=uuid.uuid4(),
            now=minutes(-60 + i),
            vendor_id=str(uuid.UUID(int=i + 1)),
            stream_key=uuid.uuid4().hex,
            title=f"লাইভ শো {i}",
            stream_type="product_demo",
            products=[StreamProduct(str(uuid.UUID(int=100)))],
        )
        s.start(now=minutes(-30 + i), rtmp_url="rtmp://x/live", stream_url="https://x/a.m3u8", chat_room_id=f"c{i}")
        for j in range(products):
            product = StreamProduct(str(uuid.UUID(int=200 + j)), None, j + 1)
            s.add_product(now=minutes(-29 + i), product=product)
        s.feature_product(now=minutes(-28 + i), product_id=str(uuid.UUID(int=200)))
        if i % 2 == 0:
            s.end(now=minutes(90 + i), summary="ধন্যবাদ সবাইকে")
        out.append(s)
    return out


def _checkout(sale: FlashSale, buyer: str, rid: str, at: float) -> tuple[Order, Payment]:
    order = Order.place(
        id=uuid.uuid4(),
        now=minutes(at),
        buyer_id=buyer,
        stream_id=str(sale.stream_id),
        lines=[OrderLine(str(sale.product_id), 1, PRICE, str(sale.id), rid)],
        payment_method="bkash",
        shipping_address=ADDRESS,
        buyer_phone="01711000000",
    )
    payment = Payment.initiate(
        id=uuid.uuid4(),
        now=minutes(at),
        order_id=str(order.id),
        method="bkash",
        amount=order.total,
        order_total=order.total,
    )
    payment.start_processing(provider_txn_id=f"txn-{buyer}", now=minutes(at + 0.1))
    return order, payment


def _paid(sale: FlashSale, order: Order, payment: Payment, buyer: str, rid: str, at: float) -> None:
    payment.handle_callback(provider_txn_id=f"txn-{buyer}", status="completed", amount=PRICE, now=minutes(at))
    order.mark_paid(payment_id=str(payment.id), now=minutes(at))
    sale.confirm(reservation_id=rid, order_id=str(order.id), now=minutes(at))


def flash_sale_history(settings: Settings, extra_shows: int = 4) -> SaleHistory:
    """Save the whole story in one ``save`` (one atomic write) and return the ids the tests need."""
    stream = shows(1)[0]
    sale = FlashSale.schedule(
        id=uuid.uuid4(),
        now=minutes(0),
        stream_id=str(stream.id),
        product_id=str(uuid.UUID(int=200)),
        vendor_id=stream.vendor_id,
        sale_name="জামদানি ফ্ল্যাশ সেল",
        original_price=Decimal("2500.00"),
        flash_price=PRICE,
        quantity=5,
        start_time=minutes(0),
        end_time=minutes(60),
        hold_seconds=300,
    )
    sale.start(now=minutes(0))
    h = SaleHistory(stream.id, sale.id)
    buyers = [f"buyer-{i}" for i in range(5)]
    for i, b in enumerate(buyers):  # the fifth reservation sells it out
        sale.reserve(reservation_id=f"r-{b}", buyer_id=b, quantity=1, now=minutes(1 + i * 0.1))
    for w in ("waiter-0", "waiter-1"):
        sale.join_waitlist(reservation_id=f"r-{w}", buyer_id=w, quantity=1, now=minutes(1.6))
    aggregates: list[Any] = [stream, sale]
    money: dict[str, tuple[Order, Payment]] = {}
    for i, b in enumerate(["buyer-0", "buyer-1", "buyer-3", "buyer-4"]):
        money[b] = _checkout(sale, b, f"r-{b}", 2 + i * 0.1)
    _paid(sale, *money["buyer-0"], "buyer-0", "r-buyer-0", 3)
    order, payment = money["buyer-1"]  # the gateway says no: the hold goes to the first waiter
    payment.handle_callback(
        provider_txn_id="txn-buyer-1", status="failed", reason="insufficient_balance", now=minutes(3.1)
    )
    order.mark_payment_failed(payment_id=str(payment.id), now=minutes(3.1), reason="insufficient_balance")
    sale.release(reservation_id="r-buyer-1", reason="payment_failed", now=minutes(3.1))
    _paid(sale, *money["buyer-3"], "buyer-3", "r-buyer-3", 3.5)
    _paid(sale, *money["buyer-4"], "buyer-4", "r-buyer-4", 3.6)
    sale.expire_reservations(now=minutes(6.2))  # buyer-2 never paid: the unit goes to waiter-1
    money["waiter-0"] = _checkout(sale, "waiter-0", "r-waiter-0", 6.5)
    _paid(sale, *money["waiter-0"], "waiter-0", "r-waiter-0", 7)
    sale.expire_reservations(now=minutes(11.5))  # waiter-1 let the offer lapse: back in stock
    order, payment = money["buyer-0"]  # a partial refund (one item damaged in transit) …
    payment.refund(refund_id="rf-1", amount=Decimal("500.00"), now=minutes(30), reason="damaged")
    order.refund(refund_id="rf-1", amount=Decimal("500.00"), now=minutes(30), reason="damaged")
    order, payment = money["buyer-3"]  # … and a full one
    payment.refund(refund_id="rf-2", amount=PRICE, now=minutes(31), reason="returned")
    order.refund(refund_id="rf-2", amount=PRICE, now=minutes(31), reason="returned")
    sale.end(now=minutes(60))
    for b, (order, payment) in money.items():
        h.orders[b], h.payments[b] = order.id, payment.id
        aggregates += [order, payment]
    store = LiveCommerceStore(settings.eventsourcing_env())
    try:
        store.save(*aggregates, *shows(extra_shows))
    finally:
        store.close()
    return h
