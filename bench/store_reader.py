"""The relay's reader (the `eventsourcing` library's API) against the hand-written SQL reader it replaced, same run.

Fills a fresh store with flash-sale histories (``bench.replay_parquet``), then reads every event after position
0, in notification order, and makes the relay's bytes for it (envelope → JSON), three ways:

1. the baseline: the hand-written SQL reader ``infra.store_reader`` had until issue 20 part 5 (async psycopg,
   the five columns it needs, a prepared keyset query), kept here only to measure against;
2. the relay's reader now (``infra.store_reader.read_rows_after``: the library's
   ``PostgresApplicationRecorder.select_notifications`` through ``asyncio.to_thread``, its own small pool, every
   column as a dict row);
3. the library's ``ApplicationSubscription`` (``recorder.subscribe``: LISTEN/NOTIFY in a thread, each
   notification mapped to a domain event by the application's mapper), each event's state through
   ``envelope_from_stored``.

Ways 1 and 2 read ``relay_batch_size`` rows a page, each row through ``envelope_or_error``. Prints events/s for
each and the ratio to the baseline. Decision rule (ADR 0030): the library's API unless the hand-written reader is
clearly faster for the relay's job (the library's below 0.5× of it).

    python -m bench.store_reader [--events 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import psycopg
from eventsourcing.projection import ApplicationSubscription
from eventsourcing.utils import get_topic
from psycopg import sql

from application.event_envelopes import envelope_from_stored, envelope_or_error
from application.event_store import EVENTS_TABLE, LiveCommerceStore
from bench._env import drop, fresh_settings
from bench.replay_parquet import fill_store
from infra.settings import Settings
from infra.store_reader import open_reader, read_rows_after


async def sql_rows_after(
    conn: psycopg.AsyncConnection[Any], position: int, limit: int, schema: str
) -> list[tuple[Any, ...]]:
    """The baseline: ``infra.store_reader.read_rows_after`` as it was, hand-written SQL on a caller's connection."""
    q = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}"
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(schema), sql.Identifier(EVENTS_TABLE))
    cur = await conn.execute(q, (position, limit), prepare=True)
    return await cur.fetchall()


async def sql_reader(settings: Settings, n: int) -> tuple[int, float, str]:
    page = settings.relay_batch_size
    async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
        t0 = time.perf_counter()
        position, count, last = 0, 0, ""
        while count < n:
            rows = await sql_rows_after(conn, position, page, settings.postgres_schema)
            if not rows:
                break
            for row in rows:
                e, error = envelope_or_error(row)
                assert error is None
                last = e.to_json().decode()[:60]
            count += len(rows)
            position = int(rows[-1][0])
        return count, time.perf_counter() - t0, last


async def relay_reader(settings: Settings, n: int) -> tuple[int, float, str]:
    page = settings.relay_batch_size
    async with open_reader(settings) as reader:  # a fresh pool each round, as the SQL way connects each round
        await reader.max_position()  # connected before the clock starts, as the SQL way is
        t0 = time.perf_counter()
        position, count, last = 0, 0, ""
        while count < n:
            rows = await read_rows_after(reader, position, page)
            if not rows:
                break
            for row in rows:
                e, error = envelope_or_error(row)
                assert error is None
                last = e.to_json().decode()[:60]
            count += len(rows)
            position = int(rows[-1][0])
        return count, time.perf_counter() - t0, last


def library_subscription(settings: Settings, n: int) -> tuple[int, float, str]:
    app = LiveCommerceStore(settings.eventsourcing_env(create_tables=False))
    try:
        t0 = time.perf_counter()
        count, last = 0, ""
        with ApplicationSubscription(app, gt=0) as sub:
            for event, tracking in sub:
                e = envelope_from_stored(
                    topic=get_topic(type(event)),
                    aggregate_id=event.originator_id,
                    aggregate_version=event.originator_version,
                    state=dict(vars(event)),
                    position=tracking.notification_id,
                )
                last = e.to_json().decode()[:60]
                count += 1
                if count >= n:
                    break
        return count, time.perf_counter() - t0, last
    finally:
        app.close()


async def main(events: int, rounds: int) -> None:
    settings = fresh_settings()
    try:
        stored = fill_store(settings, events)
        print(
            f"store filled: {stored:,} events; reading {stored:,} after position 0, "
            f"{settings.relay_batch_size} a page, each to the relay's envelope JSON"
        )
        ways = [
            ("hand-written SQL (the old reader)", lambda: sql_reader(settings, stored)),
            ("infra.store_reader (select_notifications)", lambda: relay_reader(settings, stored)),
            ("library ApplicationSubscription", lambda: asyncio.to_thread(library_subscription, settings, stored)),
        ]
        runs: dict[str, list[tuple[int, float, str]]] = {name: [] for name, _ in ways}
        for r in range(rounds):  # each way first in turn: warm-up (imports, caches) and load fall on all
            for name, way in ways[r % len(ways) :] + ways[: r % len(ways)]:
                runs[name].append(await way())
        best = {name: min(got, key=lambda g: g[1]) for name, got in runs.items()}
        base = best[ways[0][0]][0] / best[ways[0][0]][1]
        print(f"best of {rounds} rounds each:")
        for name, (count, seconds, _last) in best.items():
            rate = count / seconds
            print(
                f"{name:<42}: {count:,} events in {seconds:.2f} s = {rate:>9,.0f} events/s "
                f"({rate / base:.2f}× the hand-written SQL)"
            )
        outcomes = {(g[0], g[2]) for got in runs.values() for g in got}
        assert len(outcomes) == 1, outcomes
        print("all three read the same events and made the same last envelope")
    finally:
        drop(settings)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    asyncio.run(main(a.events, a.rounds))
