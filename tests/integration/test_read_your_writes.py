"""The read-your-writes waiter on tables other than streams (no notifications: a short poll while anyone waits).

A waiter must come back as soon as its row reaches the version, not before, for rows that do not exist yet too,
and a timed-out wait must hand back the row as it is (the handler's 409)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import psycopg

from infra.postgres import apply_migrations
from infra.settings import Settings
from infra.version_waiter import AUCTIONS, VersionWaiter


def _write(url: str, aid: str, version: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO auctions (id, product_id, status, mode, starting_price, starts_at, ends_at, updated_at,"
            " aggregate_version) VALUES (%s, %s, 'open', 'anti_sniping', 100, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET aggregate_version = EXCLUDED.aggregate_version",
            (aid, str(uuid.uuid4()), now, now, now, version),
        )


async def test_a_wait_ends_when_the_row_reaches_the_version_even_a_row_not_there_yet(environments: object) -> None:
    env: Settings = environments.new()  # type: ignore[attr-defined]
    apply_migrations(env.read_url)
    waiter = VersionWaiter(env.read_url, fallback_s=5.0, poll_s=0.05)
    await waiter.start()
    aid = str(uuid.uuid4())
    reads = 0

    async def read() -> dict[str, object] | None:
        nonlocal reads
        reads += 1
        with psycopg.connect(env.read_url) as conn:
            row = conn.execute("SELECT aggregate_version FROM auctions WHERE id = %s", (aid,)).fetchone()
        return {"aggregate_version": row[0]} if row else None

    try:
        waiting = asyncio.create_task(waiter.at_least(AUCTIONS, aid, 2, read, timeout=10.0))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # no row at all yet
        await asyncio.to_thread(_write, env.read_url, aid, 1)
        await asyncio.sleep(0.3)
        assert not waiting.done()  # there, but behind
        await asyncio.to_thread(_write, env.read_url, aid, 2)
        row = await asyncio.wait_for(waiting, 5.0)
        assert row == {"aggregate_version": 2} and reads == 2  # read before waiting, and once when reached

        started = time.monotonic()
        row = await waiter.at_least(AUCTIONS, aid, 3, read, timeout=0.5)  # never reached: the row as it is
        assert row == {"aggregate_version": 2} and time.monotonic() - started >= 0.5
        assert await waiter.at_least(AUCTIONS, aid, None, read, timeout=0.5) == {"aggregate_version": 2}
        assert not waiter._waiting  # nobody left behind
    finally:
        await waiter.stop()
