"""Read-your-writes waiter on real PostgreSQL: the projection's NOTIFY carries the versions it reached.

The waiter must wake a request exactly when its version is in the table, skip reading rows it knows to be
behind, and still work with a notification that carries no versions (or none at all: the fallback timer).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import psycopg
from hypothesis import given
from hypothesis import strategies as st

from infra.postgres import apply_migrations
from infra.settings import Settings
from infra.version_waiter import VersionWaiter
from projections.live_streams_pg import CHANGED_CHANNEL, NOTIFY_LIMIT, changed_payloads, parse_changed


@given(st.dictionaries(st.uuids().map(str), st.integers(min_value=1, max_value=10**9), max_size=600))
def test_payloads_round_trip_and_fit_the_notify_limit(reached: dict[str, int]) -> None:
    payloads = changed_payloads(reached)
    assert all(len(p.encode()) <= NOTIFY_LIMIT for p in payloads)
    merged: dict[str, int] = {}
    for p in payloads:
        merged.update(parse_changed(p))
    assert merged == reached
    assert parse_changed("") == {} and parse_changed("not-a-payload") == {}


def _insert(url: str, sid: str, version: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO live_streams (id, vendor_id, stream_key, title, stream_type, status, created_at,"
            " updated_at, aggregate_version) VALUES (%s, %s, %s, 't', 'product_demo', 'scheduled', %s, %s, %s)",
            (sid, str(uuid.uuid4()), uuid.uuid4().hex, now, now, version),
        )


def _advance(url: str, sid: str, version: int, payload: str | None) -> None:
    """What the projection does: change the row, NOTIFY in the same transaction (delivered on commit)."""
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE live_streams SET aggregate_version = %s WHERE id = %s", (version, sid))
        if payload is not None:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANGED_CHANNEL, payload))
        conn.commit()


async def test_waiter_wakes_on_the_version_in_the_payload(environments: object) -> None:
    env: Settings = environments.new()  # type: ignore[attr-defined]
    apply_migrations(env.read_url)
    sid = str(uuid.uuid4())
    _insert(env.read_url, sid, 1)
    waiter = VersionWaiter(env.read_url, fallback_s=5.0)  # a long fallback: only notifications can wake it
    await waiter.start()
    try:
        await asyncio.sleep(0.3)  # LISTEN is in place
        assert not waiter.known_behind(sid, 2)  # nothing heard yet: the caller must read the row itself
        await asyncio.to_thread(_advance, env.read_url, sid, 1, f"{sid}:1")
        for _ in range(100):
            if waiter.known_behind(sid, 2):
                break
            await asyncio.sleep(0.02)
        assert waiter.known_behind(sid, 2) and not waiter.known_behind(sid, 1)

        fut = waiter.register(sid, 3)
        await asyncio.to_thread(_advance, env.read_url, sid, 2, f"{sid}:2")  # not there yet
        await asyncio.sleep(0.3)
        assert not fut.done()
        await asyncio.to_thread(_advance, env.read_url, sid, 3, f"{uuid.uuid4()}:9,{sid}:3")
        row = await waiter.wait_registered(sid, fut, 3.0)
        assert row is not None and row["aggregate_version"] == 3 and str(row["id"]) == sid

        # A notification without versions (an older projection) makes the waiter ask the table.
        fut = waiter.register(sid, 4)
        await asyncio.to_thread(_advance, env.read_url, sid, 4, "")
        row = await waiter.wait_registered(sid, fut, 3.0)
        assert row is not None and row["aggregate_version"] == 4
    finally:
        await waiter.stop()


async def test_waiter_falls_back_to_the_table_without_notifications(environments: object) -> None:
    env: Settings = environments.new()  # type: ignore[attr-defined]
    apply_migrations(env.read_url)
    sid = str(uuid.uuid4())
    _insert(env.read_url, sid, 1)
    waiter = VersionWaiter(env.read_url, fallback_s=0.2)
    await waiter.start()
    try:
        fut = waiter.register(sid, 2)
        await asyncio.to_thread(_advance, env.read_url, sid, 2, None)  # no NOTIFY at all
        row = await waiter.wait_registered(sid, fut, 3.0)
        assert row is not None and row["aggregate_version"] == 2
    finally:
        await waiter.stop()
