"""A big show's figures (ADR 0015) beside the stream's own row read, in the same run.

One show with ``--viewers`` people who joined (a quarter of them tapped a product, ``--orders`` of them bought),
30,000 interactions, written as the read models hold them. Prints the median of: the detail page's row
(``get_stream``, the floor), the sales figures of ``sales_stats`` (``show_figures``, kept 0.25 s per API
process by the handler), and the whole §4.5 analytics (``stream_analytics``, under a 5 s statement timeout).

    python -m bench.show_figures [--viewers 20000] [--orders 3000] [--rounds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from bench._env import drop, fresh_settings
from infra.postgres import PgDatabase, apply_migrations
from projections.analytics_queries import show_figures, stream_analytics
from projections.stream_queries import get_stream

T0 = datetime(2026, 3, 17, 19, 0)


def fill(url: str, viewers: int, orders: int) -> str:
    sid = str(uuid.uuid4())
    users = [str(uuid.uuid4()) for _ in range(viewers)]
    line = json.dumps([{"product_id": str(uuid.UUID(int=1)), "quantity": 1, "unit_price": "2500.00"}])
    with psycopg.connect(url) as c, c.cursor() as cur:
        cur.execute(
            "INSERT INTO live_streams (id, vendor_id, stream_key, title, stream_type, status)"
            " VALUES (%s, %s, %s, 'Eid', 'flash_sale', 'live')",
            (sid, str(uuid.uuid4()), sid),
        )
        cur.executemany(
            "INSERT INTO live_stream_viewers (id, stream_id, user_id, viewer_session_id, join_time, leave_time,"
            " watch_duration_seconds, device_type, location) VALUES (%s, %s, %s, %s, %s, %s, 300, %s, %s)",
            [
                (
                    uuid.uuid4(),
                    sid,
                    u,
                    f"c{i}",
                    T0 + timedelta(seconds=i % 3600),
                    T0 + timedelta(seconds=i % 3600 + 300),
                    ("mobile", "desktop")[i % 2],
                    json.dumps({"city": ("Dhaka", "Sylhet", "Khulna")[i % 3]}),
                )
                for i, u in enumerate(users)
            ],
        )
        cur.executemany(
            "INSERT INTO analytics_reach (stream_id, who, joined, tapped, carted) VALUES (%s, %s, true, %s, %s)",
            [(sid, u, i % 4 == 0, i < orders) for i, u in enumerate(users)],
        )
        cur.executemany(
            "INSERT INTO orders (id, buyer_id, stream_id, status, lines, subtotal, total, payment_method, created_at,"
            " updated_at) VALUES (%s, %s, %s, 'paid', %s, 2500, 2500, 'bkash', %s, %s)",
            [(uuid.uuid4(), users[i], sid, line, T0, T0) for i in range(orders)],
        )
        cur.executemany(
            "INSERT INTO live_stream_interactions (id, stream_id, user_id, interaction_type, metadata, timestamp)"
            " VALUES (%s, %s, %s, %s, '{}', %s)",
            [
                (
                    uuid.uuid4(),
                    sid,
                    users[i % viewers],
                    ("like", "message", "purchase_intent")[i % 3],
                    T0 + timedelta(seconds=i % 3600),
                )
                for i in range(30_000)
            ],
        )
        cur.execute("ANALYZE")
    return sid


async def run(url: str, sid: str, rounds: int) -> dict[str, float]:
    db = PgDatabase(url, max_size=2)
    await db.open()
    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "the stream's row (get_stream, floor)": lambda: get_stream(db, sid),
        "sales_stats figures (show_figures)": lambda: show_figures(db, [sid]),
        "§4.5 analytics (stream_analytics)": lambda: stream_analytics(db, sid),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    try:
        for _ in range(rounds):  # interleaved, so a busy machine slows every case alike
            for name, case in cases.items():
                t = time.perf_counter()
                await case()
                times[name].append((time.perf_counter() - t) * 1000)
    finally:
        await db.close()
    return {k: statistics.median(v[2:] or v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=20_000)
    ap.add_argument("--orders", type=int, default=3_000)
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    settings = fresh_settings()
    try:
        apply_migrations(settings.read_url)
        sid = fill(settings.read_url, args.viewers, args.orders)
        medians = asyncio.run(run(settings.read_url, sid, args.rounds))
    finally:
        drop(settings)
    floor = next(iter(medians.values()))
    print(
        f"show of {args.viewers:,} viewers, {args.orders:,} paid orders, 30,000 interactions;"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    for name, ms in medians.items():
        print(f"  {name:<40} median {ms:8.1f} ms  ({ms / floor:5.1f}x the row)")


if __name__ == "__main__":
    main()
