"""Replay throughput, event store → Parquet, beside a plain paged ``SELECT`` of the same rows in the same run.

Fills a fresh store with flash-sale histories (reserve, sold out, waitlist, release, confirm, expire, end) and
shows, saved in big ``save(*aggregates)`` batches, then (1) reads every row with a plain keyset query (the one the
library's ``select_notifications`` runs, as tuples) and no decoding (the floor: what PostgreSQL and psycopg cost),
(2) replays them into Parquet (the store reader, decode, envelope, columns, zstd row groups).
Target: replay ≥ 50,000 events/s.

    python -m bench.replay_parquet [--events 300000] [--csv]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from eventsourcing.domain import Aggregate

from application.event_store import EVENTS_TABLE, LiveCommerceStore
from bench._env import drop, fresh_settings
from domain.flash_sale import FlashSale
from domain.live_stream import LiveStream, StreamProduct
from infra.replay import replay
from infra.settings import Settings

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def sale_history(i: int) -> list[Aggregate]:
    """One show and one flash sale with ~35 events between them, through the real domain commands."""
    at = T0 + timedelta(seconds=i)
    stream = LiveStream.schedule(
        id=uuid.uuid4(),
        now=at,
        vendor_id=str(uuid.UUID(int=i % 500 + 1)),
        stream_key=uuid.uuid4().hex,
        title="ঈদ স্পেশাল শাড়ি লাইভ",
        stream_type="flash_sale",
        products=[StreamProduct(str(uuid.UUID(int=1)))],
    )
    stream.start(now=at, rtmp_url="rtmp://x/live", stream_url="https://x/y.m3u8", chat_room_id=f"c{i}")
    sale = FlashSale.schedule(
        id=uuid.uuid4(),
        now=at,
        product_id=str(uuid.UUID(int=1)),
        vendor_id=stream.vendor_id,
        sale_name="জামদানি ফ্ল্যাশ",
        stream_id=str(stream.id),
        original_price=Decimal("2500.00"),
        flash_price=Decimal("1499.00"),
        quantity=10,
        start_time=at,
        end_time=at + timedelta(hours=1),
        hold_seconds=300,
    )
    sale.start(now=at)
    for b in range(10):
        sale.reserve(reservation_id=f"r{b}", buyer_id=f"buyer-{b}", quantity=1, now=at + timedelta(seconds=b))
    for w in range(3):
        sale.join_waitlist(reservation_id=f"w{w}", buyer_id=f"waiter-{w}", quantity=1, now=at + timedelta(seconds=20))
    sale.release(reservation_id="r0", reason="payment_failed", now=at + timedelta(seconds=30))
    sale.release(reservation_id="r1", reason="buyer_cancelled", now=at + timedelta(seconds=31))
    for b in range(2, 8):
        sale.confirm(reservation_id=f"r{b}", order_id=str(uuid.uuid4()), now=at + timedelta(seconds=60))
    sale.expire_reservations(now=at + timedelta(seconds=400))
    sale.end(now=at + timedelta(seconds=500))
    stream.end(now=at + timedelta(seconds=600), summary="done")
    return [stream, sale]


def fill_store(settings: Settings, events: int, per_save: int = 250) -> int:
    store = LiveCommerceStore(settings.eventsourcing_env())
    done, i = 0, 0
    try:
        while done < events:
            batch: list[Aggregate] = []
            for _ in range(per_save):
                batch += sale_history(i)
                i += 1
            done += sum(len(a.pending_events) for a in batch)
            store.save(*batch)
    finally:
        store.close()
    return done


async def plain_select(settings: Settings, page: int = 10_000) -> tuple[int, float]:
    """The store's keyset query as tuples, rows fetched and dropped: the floor a replay cannot beat."""
    q = (
        f"SELECT notification_id, originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"  # noqa: S608
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    )
    async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
        t0 = time.perf_counter()
        position, rows = 0, 0
        while True:
            cur = await conn.execute(q, (position, page), prepare=True)
            got = await cur.fetchall()
            if not got:
                break
            rows += len(got)
            position = got[-1][0]
        return rows, time.perf_counter() - t0


async def main(events: int, csv: bool) -> None:
    settings = fresh_settings()
    try:
        t0 = time.perf_counter()
        n = fill_store(settings, events)
        fill_s = time.perf_counter() - t0
        print(f"store filled: {n:,} events in {fill_s:.1f} s ({n / fill_s:,.0f} events/s through save())")
        rows, select_s = await plain_select(settings)
        print(f"plain SELECT      : {rows:,} rows in {select_s:.2f} s = {rows / select_s:>9,.0f} rows/s")
        with tempfile.TemporaryDirectory() as tmp:
            r = await replay(settings, out=Path(tmp) / "pq", fmt="parquet", progress=False)
            size = sum(p.stat().st_size for p in (Path(tmp) / "pq").glob("*.parquet"))
            print(
                f"replay → Parquet  : {r.events:,} events in {r.seconds:.2f} s = "
                f"{r.events_per_s:>9,.0f} events/s  ({r.events_per_s / (rows / select_s):.2f}× the plain "
                f"SELECT rate; {size / 1e6:.1f} MB zstd)"
            )
            if csv:
                c = await replay(settings, out=Path(tmp) / "csv", fmt="csv", progress=False)
                print(
                    f"replay → CSV      : {c.events:,} events in {c.seconds:.2f} s = {c.events_per_s:>9,.0f} events/s"
                )
        verdict = "meets" if r.events_per_s >= 50_000 else "MISSES"
        print(f"target ≥ 50,000 events/s into Parquet: {verdict}")
    finally:
        drop(settings)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=300_000, help="events to generate (1000000: the full run)")
    ap.add_argument("--csv", action="store_true", help="also time a CSV replay")
    a = ap.parse_args()
    asyncio.run(main(a.events, a.csv))
