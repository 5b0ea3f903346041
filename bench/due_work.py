"""How fast the due-work follower plans the store's log, beside reading the same log alone (the relay's reader)
in the same run. A hot flash sale is the worst case: every purchase is a StockReserved (an upsert) and every
payment or expiry its removal.

Fills a fresh store with SALES sales of HOLDS holds each (half then paid, half released), then (1) reads the
whole log with ``store_reader.read_after`` in batches of 1000 (the baseline: what any follower pays), (2) runs
``DueWork.catch_up`` from position 0. The follower must keep well ahead of the store's own write rate for such
events (ADR 0002/0007: a few thousand purchases a second on one sale).

    python -m bench.due_work [--sales 100] [--holds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from application.event_store import LiveCommerceStore
from bench._env import drop, fresh_settings
from domain.flash_sale import FlashSale
from infra.due_work import DueWork
from infra.postgres import apply_migrations
from infra.settings import Settings
from infra.store_reader import open_reader, read_after

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def fill_store(settings: Settings, sales: int, holds: int) -> int:
    store = LiveCommerceStore(settings.eventsourcing_env())
    events = 0
    for s in range(sales):
        sale = FlashSale.schedule(
            id=uuid.uuid4(),
            now=T0,
            stream_id=str(uuid.uuid4()),
            product_id="p",
            vendor_id="v",
            sale_name="ঈদ ফ্ল্যাশ সেল",
            original_price=Decimal("1000.00"),
            flash_price=Decimal("700.00"),
            quantity=holds,
            start_time=T0,
            end_time=T0 + timedelta(hours=1),
            max_per_buyer=1,
        )
        sale.start(now=T0)
        for h in range(holds):
            sale.reserve(reservation_id=f"{s}-{h}", buyer_id=f"b{h}", quantity=1, now=T0)
        for h in range(holds):
            if h % 2:
                sale.confirm(reservation_id=f"{s}-{h}", order_id=f"o{h}", now=T0)
            else:
                sale.release(reservation_id=f"{s}-{h}", reason="payment_failed", now=T0)
        events += len(sale.pending_events)
        store.save(sale)
    store.close()
    return events


async def read_rate(settings: Settings, events: int) -> float:
    reader = open_reader(settings)
    t0, position, seen = time.perf_counter(), 0, 0
    while True:
        batch = await read_after(reader, position, 1000)
        if not batch:
            break
        position, seen = batch[-1].position or position, seen + len(batch)
    elapsed = time.perf_counter() - t0
    await reader.close()
    assert seen == events, (seen, events)
    return events / elapsed


async def follow_rate(settings: Settings, events: int) -> float:
    due = DueWork(settings)
    await due.open()
    t0 = time.perf_counter()
    await due.catch_up()
    elapsed = time.perf_counter() - t0
    assert due.position >= events and due.skipped == 0
    await due.close()
    return events / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=100)
    ap.add_argument("--holds", type=int, default=100)
    args = ap.parse_args()
    settings = fresh_settings()
    try:
        apply_migrations(settings.postgres_url)
        events = fill_store(settings, args.sales, args.holds)
        print(f"stored {events} events ({args.sales} sales × {args.holds} holds, half paid, half released)")
        base = asyncio.run(read_rate(settings, events))
        follow = asyncio.run(follow_rate(settings, events))
        print(f"baseline: reading the log alone (store_reader, 1000 a batch): {base:,.0f} events/s")
        print(
            f"due-work follower (plan + upsert/delete + position, one transaction a batch): {follow:,.0f} "
            f"events/s ({follow / base:.2f}× reading alone)"
        )
    finally:
        drop(settings)


if __name__ == "__main__":
    main()
