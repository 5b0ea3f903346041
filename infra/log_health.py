"""How the log is flowing, for ``GET /health``: the relay's lag, each consumer's lag, the open dead letters.

- Relay: the store's newest notification id against the relay's saved position, and how long ago the relay
  last published or found itself caught up (``relay_positions.updated_at``, refreshed about once a second by
  a live relay). Events waiting while that is older than ``relay_stuck_after_s`` — the relay crash-looping,
  stopped, or unable to publish — is "the log is stuck": ``/health`` answers 503.
- Consumers (each read model's group, the process managers' groups): messages on their topics not yet
  committed by the group (end offset − committed offset, per partition, summed), asked of Kafka itself, so a
  stopped worker shows as a growing lag.
- Dead letters: open ones per consumer (``infra.dead_letters``).

One probe per API process; its Kafka clients start on first use and its answer is reused for a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql

from application.event_store import EVENTS_TABLE
from infra.settings import Settings

PROCESS_GROUPS = {
    "process.media": ("media",),
    "process.notifications": ("domain",),
    "process.loyalty": ("interactions", "domain"),
}


def consumer_groups(settings: Settings) -> dict[str, tuple[str, tuple[str, ...]]]:
    """consumer name (as in dead letters) → (Kafka group id, topics without prefix)."""
    from infra.projection_factory import topics_of
    from infra.projection_runner import group_id
    from projections.registry import PROJECTIONS

    groups = {f"projection.{n}": (group_id(settings, n), topics_of(n)) for n in PROJECTIONS}
    for name, topics in PROCESS_GROUPS.items():
        groups[name] = (f"{settings.topic_prefix}.{name}", topics)
    return groups


class LogHealth:
    def __init__(self, settings: Settings, *, cache_s: float = 1.0) -> None:
        self.settings = settings
        self._cache_s = cache_s
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._pg: psycopg.AsyncConnection[Any] | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def report(self) -> dict[str, Any]:
        """``{"stuck": bool, "relay": {...}, "consumers": {...}, "dead_letters": {...}}``; never raises."""
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._cache_s:
                return self._cached[1]
            store, consumers = await asyncio.gather(
                self._guarded(self._store_part(), "_pg"), self._guarded(self._kafka_part(), "_kafka")
            )
            relay = store.get("relay", {"error": store.get("error")})
            letters = store.get("dead_letters", {})
            if "error" not in consumers:
                for name, open_count in letters.get("by_consumer", {}).items():
                    consumers.setdefault(name, {})["dead_letters"] = open_count
            out = {"stuck": bool(relay.get("stuck")), "relay": relay, "consumers": consumers, "dead_letters": letters}
            self._cached = (time.monotonic(), out)
            return out

    async def _guarded(self, work: Any, reset: str) -> dict[str, Any]:
        try:
            return dict(await asyncio.wait_for(work, timeout=3.0))
        except Exception as exc:  # the dependency checks name the failing server; here only say what is unknown
            await (self._reset_pg() if reset == "_pg" else self._reset_kafka())
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}

    # -- PostgreSQL: relay position, store head, dead letters -----------------------------------------
    async def _store_part(self) -> dict[str, Any]:
        s = self.settings
        if self._pg is None or self._pg.closed:
            self._pg = await psycopg.AsyncConnection.connect(s.postgres_url, autocommit=True, connect_timeout=3)
        conn = self._pg
        head_q = sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(
            sql.Identifier(s.postgres_schema), sql.Identifier(EVENTS_TABLE)
        )
        head_row = await (await conn.execute(head_q)).fetchone()
        head = int(head_row[0]) if head_row else 0
        row = await (
            await conn.execute(
                "SELECT notification_id, EXTRACT(EPOCH FROM now() - updated_at) FROM relay_positions WHERE name = %s",
                (s.relay_name,),
            )
        ).fetchone()
        position = int(row[0]) if row else 0
        quiet_s = float(row[1]) if row else None
        lag = max(0, head - position)
        stuck = lag > 0 and (quiet_s is None or quiet_s > s.relay_stuck_after_s)
        relay: dict[str, Any] = {
            "store_position": head,
            "published_position": position,
            "lag": lag,
            "seconds_since_progress": round(quiet_s, 1) if quiet_s is not None else None,
            "stuck": stuck,
        }
        if stuck:
            relay["reason"] = (
                f"{lag} events wait and the relay has not published for {relay['seconds_since_progress']} s"
                if quiet_s is not None
                else f"{lag} events wait and no relay has ever run"
            )
        rows = await (
            await conn.execute(
                "SELECT consumer, count(*) FROM dead_letters WHERE status = 'open' GROUP BY consumer ORDER BY 1"
            )
        ).fetchall()
        by_consumer = {r[0]: int(r[1]) for r in rows}
        return {"relay": relay, "dead_letters": {"open": sum(by_consumer.values()), "by_consumer": by_consumer}}

    # -- Kafka: each group's lag ------------------------------------------------------------------------
    async def _kafka_part(self) -> dict[str, Any]:
        s = self.settings
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=s.kafka_bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=3_000,
                client_id="health",
            )
            admin = AIOKafkaAdminClient(
                bootstrap_servers=s.kafka_bootstrap, request_timeout_ms=3_000, client_id="health"
            )
            try:
                await consumer.start()
                await admin.start()
            except BaseException:
                await consumer.stop()
                await admin.close()
                raise
            self._consumer, self._admin = consumer, admin
        consumer, admin = self._consumer, self._admin
        assert admin is not None
        known = await consumer.topics()
        parts: dict[str, list[TopicPartition]] = {}
        for t in ("domain", "interactions", "media"):
            name = s.topic(t)
            if name in known:
                parts[t] = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        every = [tp for tps in parts.values() for tp in tps]
        if not every:
            return {}
        ends, starts = await asyncio.gather(consumer.end_offsets(every), consumer.beginning_offsets(every))
        groups = consumer_groups(s)

        async def lag_of(group: str, topics: tuple[str, ...]) -> dict[str, Any]:
            tps = [tp for t in topics for tp in parts.get(t, [])]
            if not tps:
                return {"lag": 0, "committed": False}
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
            lag, seen = 0, False
            for tp in tps:
                offset = committed[tp].offset if tp in committed else -1
                seen = seen or offset >= 0
                lag += max(0, ends[tp] - (offset if offset >= 0 else starts[tp]))
            return {"lag": lag, "committed": seen}

        names = list(groups)
        lags = await asyncio.gather(*(lag_of(*groups[n]) for n in names))
        return dict(zip(names, lags, strict=True))

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def _reset_pg(self) -> None:
        if self._pg is not None:
            try:
                await self._pg.close()
            except Exception:
                pass
            self._pg = None

    async def _reset_kafka(self) -> None:
        consumer, admin = self._consumer, self._admin
        self._consumer = self._admin = None
        for close in ((consumer.stop if consumer else None), (admin.close if admin else None)):
            if close is not None:
                try:
                    await close()
                except Exception:
                    pass

    async def close(self) -> None:
        await self._reset_pg()
        await self._reset_kafka()
