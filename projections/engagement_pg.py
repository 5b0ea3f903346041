"""The engagement optimizer's read model (ADR 0025), from both logs, in its own consumer group:

- ``engagement_minutes``: per show and minute of event time, viewers in and out, chat messages by sentiment
  (with the sum of their scores), reactions, purchase intents and orders: the sentiment timeline of GET
  /streams/:id/analytics and what the advisor (``infra.engagement_advisor``) decides from;
- ``engagement_themes``: repeated complaints (negative messages by theme) and repeated questions;
- ``engagement_sales``: the show's flash sales and their status (a prepared one is suggested at an intent peak);
- ``engagement_shows``: shows that ended (the advisor stops watching them);
- ``engagement_suggestions``: ``ShowEngagement.SuggestionMade``, for GET /streams/:id/suggestions.

Idempotent: interactions by a watermark per show and gateway origin read and moved in the same transaction;
orders by (aggregate, version); sales by aggregate version; suggestions by their id. So a redelivered batch
changes nothing, and a rebuild from the log gives the same tables.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from application import engagement as eg
from application import interactions as it
from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

SALE_STATUS = {
    "FlashSale.Scheduled": "scheduled",
    "FlashSale.Started": "active",
    "FlashSale.Ended": "ended",
    "FlashSale.Cancelled": "cancelled",
}
TABLES = (
    "engagement_minutes",
    "engagement_marks",
    "engagement_seen",
    "engagement_themes",
    "engagement_sales",
    "engagement_shows",
    "engagement_suggestions",
)


class EngagementTables:
    name = "engagement"
    topics = ("domain", "interactions")

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        interactions: dict[str, list[Envelope]] = defaultdict(list)
        async with self._db.transaction() as tx:
            for e in envelopes:
                if e.aggregate_id is None:
                    if e.stream_id and e.type in it.TYPES:
                        interactions[e.stream_id].append(e)
                else:
                    n += await _domain(tx, e)
            for sid, events in interactions.items():
                n += await _interactions(tx, sid, events)
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(f"TRUNCATE {', '.join(TABLES)}")


async def _add(tx: SqlTx, sid: str, minute: Any, counters: Counter[str], score: float) -> None:
    cols = [c for c in eg.COUNTERS if counters.get(c)]
    names = ", ".join(["stream_id", "minute", *cols, "score_sum"])
    values = ", ".join(["%s"] * (len(cols) + 3))
    sets = ", ".join(
        [f"{c} = engagement_minutes.{c} + EXCLUDED.{c}" for c in cols]
        + ["score_sum = engagement_minutes.score_sum + EXCLUDED.score_sum"]
    )
    await tx.execute(
        f"INSERT INTO engagement_minutes ({names}) VALUES ({values})"
        f" ON CONFLICT (stream_id, minute) DO UPDATE SET {sets}",
        (sid, minute, *[counters[c] for c in cols], score),
    )


async def _theme(tx: SqlTx, sid: str, kind: str, key: str, example: str, at: Any, n: int) -> None:
    await tx.execute(
        "INSERT INTO engagement_themes (stream_id, kind, key, example, count, last_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (stream_id, kind, key) DO UPDATE"
        " SET count = engagement_themes.count + EXCLUDED.count,"
        " last_at = GREATEST(engagement_themes.last_at, EXCLUDED.last_at)",
        (sid, kind, key[:200], example[:500], n, at),
    )


async def _interactions(tx: SqlTx, sid: str, events: list[Envelope]) -> int:
    rows = await tx.fetch("SELECT origin, seq FROM engagement_marks WHERE stream_id = %s FOR UPDATE", (sid,))
    marks = {r["origin"]: int(r["seq"]) for r in rows}
    top: dict[str, int] = {}
    minutes: dict[Any, tuple[Counter[str], list[float]]] = {}
    themes: dict[tuple[str, str], list[Any]] = {}
    fresh = 0
    for e in events:
        origin, seq = it.origin_and_seq(e.id)
        if seq <= marks.get(origin, 0) or seq <= top.get(origin, 0):
            continue
        top[origin] = seq
        fresh += 1
        f = eg.facts(e)
        if f is None:
            continue
        at = naive_utc(e.occurred_at)
        assert at is not None
        counters, score = minutes.setdefault(eg.minute_of(at), (Counter(), [0.0]))
        counters.update(f.counters)
        score[0] += f.score
        for kind, found in (("complaint", f.complaint), ("question", f.question)):
            if found:
                entry = themes.setdefault((kind, found[0]), [found[1], at, 0])
                entry[1], entry[2] = max(entry[1], at), entry[2] + 1
    for minute, (counters, score) in sorted(minutes.items()):
        await _add(tx, sid, minute, counters, score[0])
    for (kind, key), (example, at, count) in themes.items():
        await _theme(tx, sid, kind, key, example, at, count)
    for origin, seq in top.items():
        await tx.execute(
            "INSERT INTO engagement_marks (stream_id, origin, seq) VALUES (%s, %s, %s)"
            " ON CONFLICT (stream_id, origin) DO UPDATE SET seq = EXCLUDED.seq",
            (sid, origin, seq),
        )
    return fresh


async def _domain(tx: SqlTx, e: Envelope) -> int:
    d, t = e.payload, e.type
    if t == "Order.Placed" and e.stream_id:
        new = await tx.fetch(
            "INSERT INTO engagement_seen (aggregate_id, version) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (e.aggregate_id, e.aggregate_version or 0),
        )
        if new:
            at = naive_utc(e.occurred_at)
            assert at is not None
            await _add(tx, e.stream_id, eg.minute_of(at), Counter(orders=1), 0.0)
        return 1
    if t in SALE_STATUS:
        if t == "FlashSale.Scheduled":
            if not (e.stream_id or d.get("stream_id")):
                return 0
            await tx.execute(
                "INSERT INTO engagement_sales (sale_id, stream_id, product_id, sale_name, status, start_time,"
                " aggregate_version) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (sale_id) DO NOTHING",
                (
                    e.aggregate_id,
                    e.stream_id or d.get("stream_id"),
                    str(d.get("product_id") or ""),
                    str(d.get("sale_name") or ""),
                    "scheduled",
                    naive_utc(d.get("start_time")),
                    e.aggregate_version,
                ),
            )
        else:
            await tx.execute(
                "UPDATE engagement_sales SET status = %s, aggregate_version = %s"
                " WHERE sale_id = %s AND aggregate_version < %s",
                (SALE_STATUS[t], e.aggregate_version, e.aggregate_id, e.aggregate_version),
            )
        return 1
    if t in ("LiveStream.Ended", "LiveStream.Cancelled"):
        await tx.execute(
            "INSERT INTO engagement_shows (stream_id, ended_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.aggregate_id, naive_utc(e.occurred_at)),
        )
        return 1
    if t == "ShowEngagement.SuggestionMade":
        await tx.execute(
            "INSERT INTO engagement_suggestions (suggestion_id, stream_id, kind, minute, message, message_bn,"
            " evidence, action, made_at, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (suggestion_id) DO NOTHING",
            (
                d["suggestion_id"],
                e.stream_id or d.get("stream_id"),
                d["kind"],
                naive_utc(d["minute"]),
                d["message"],
                d["message_bn"],
                json.dumps(d.get("evidence") or {}),
                json.dumps(d.get("action") or {}),
                naive_utc(e.occurred_at),
                e.position,
            ),
        )
        return 1
    return 0
