"""The relay's reader against the `eventsourcing` library's own ways of reading the notification log, same run.

Fills a fresh store with flash-sale histories (``bench.replay_parquet``), then reads every event after position
0, in notification order, and makes the relay's bytes for it (envelope → JSON), three ways:

1. the relay's reader (``infra.store_reader.read_rows_after``: async psycopg, the five columns it needs, a
   prepared keyset query), ``relay_batch_size`` rows a page, each row through ``envelope_or_error``;
2. the library's ``PostgresApplicationRecorder.select_notifications`` (sync, its pool, every column as a dict
   row), same pages, each notification's stored state through the same envelope path;
3. the library's ``ApplicationSubscription`` (``recorder.subscribe``: LISTEN/NOTIFY in a thread, each
   notification mapped to a domain event by the application's mapper), each event's state through
   ``envelope_from_stored``.

Prints events/s for each and the ratio to the relay's reader. Decision rule (ADR 0030): keep the custom reader
only if it is clearly faster for the relay's job.

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

from application.event_envelopes import envelope_from_state_bytes, envelope_from_stored, envelope_or_error
from application.event_store import LiveCommerceStore
from bench._env import drop, fresh_settings
from bench.replay_parquet import fill_store
from infra.settings import Settings
from infra.store_reader import read_rows_after


async def relay_reader(settings: Settings, n: int) -> tuple[int, float, str]:
    page = settings.relay_batch_size
    async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
        t0 = time.perf_counter()
        position, count, last = 0, 0, ""
        while count < n:
            rows = await read_rows_after(conn, position, page, settings.postgres_schema)
            if not rows:
                break
            for row in rows:
                e, error = envelope_or_error(row)
                assert error is None
                last = e.to_json().decode()[:60]
            count += len(rows)
            position = int(rows[-1][0])
        return count, time.perf_counter() - t0, last


def library_select(settings: Settings, n: int) -> tuple[int, float, str]:
    app = LiveCommerceStore(settings.eventsourcing_env(create_tables=False))
    try:
        recorder: Any = app.recorder
        page = settings.relay_batch_size
        t0 = time.perf_counter()
        position, count, last = 0, 0, ""
        while count < n:
            got = recorder.select_notifications(start=position, limit=page, inclusive_of_start=False)
            if not got:
                break
            for x in got:
                e = envelope_from_state_bytes(
                    topic=x.topic,
                    aggregate_id=x.originator_id,
                    aggregate_version=x.originator_version,
                    state=x.state,
                    position=x.id,
                )
                last = e.to_json().decode()[:60]
            count += len(got)
            position = got[-1].id
        return count, time.perf_counter() - t0, last
    finally:
        app.close()


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
            ("relay reader (infra.store_reader)", lambda: relay_reader(settings, stored)),
            ("library select_notifications", lambda: asyncio.to_thread(library_select, settings, stored)),
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
                f"{name:<36}: {count:,} events in {seconds:.2f} s = {rate:>9,.0f} events/s "
                f"({rate / base:.2f}× the relay reader)"
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
