"""The hosts read model on real PostgreSQL and Redis: a redelivered batch changes nothing, and a rebuild cut
into other batches comes out identical (tables and HOST_STATUS)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis
from eventsourcing.domain import Aggregate

from application.envelope import Envelope
from application.event_envelopes import envelope_from_state_bytes
from application.event_store import LiveCommerceStore
from domain.host_follow import HostFollow
from domain.host_profile import HostProfile, host_profile_id
from domain.live_stream import LiveStream
from infra.postgres import PgDatabase, apply_migrations
from infra.redis_store import RedisGuard, redis_client
from infra.settings import Settings
from projections.hosts_pg import HostsProjection
from tests.conftest import Environments
from tests.support import redis_hash

T0 = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
TABLES = (
    "live_commerce_hosts",
    "live_commerce_host_followers",
    "live_commerce_host_streams",
    "live_commerce_host_status_seq",
)


def history() -> list[Envelope]:
    """Two hosts, followers coming and going, streams scheduled and live: as the relay would send them."""
    host, other = str(uuid.uuid4()), str(uuid.uuid4())
    aggregates: list[Aggregate] = []
    for user in (host, other):
        p = HostProfile.submit(
            id=host_profile_id(user),
            now=T0,
            user_id=user,
            application={"host_name": "Sarah Khan", "languages": ["bn", "en"]},
        )
        p.verify(now=T0, by="admin")
        p.set_availability(
            now=T0,
            status="available",
            next_available=T0 + timedelta(days=1),
            weekly_schedule={"monday": ["19:00", "21:00"]},
        )
        p.set_commission_rate(now=T0, rate=Decimal("7.5"), by="admin")
        p.review(now=T0, viewer_id="v1", stream_id="s1", rating=4)
        p.review(now=T0, viewer_id="v2", stream_id="s1", rating=5)
        aggregates.append(p)
        for i in range(3):
            fan = str(uuid.UUID(int=i))
            f = HostFollow.start(now=T0, host_id=str(p.id), host_user_id=user, follower_id=fan)
            if i == 1:
                f.unfollow(now=T0)
                f.follow(now=T0)
                f.unfollow(now=T0)
            aggregates.append(f)
        for live in (True, False):
            s = LiveStream.schedule(
                id=uuid.uuid4(),
                now=T0,
                vendor_id=str(uuid.uuid4()),
                host_id=user,
                stream_key=f"live_{uuid.uuid4().hex}",
                title="t",
                stream_type="product_demo",
                scheduled_start_time=T0 + timedelta(hours=2),
            )
            if live:
                s.start(now=T0, rtmp_url="r", stream_url="u", chat_room_id="c")
            aggregates.append(s)
    store = LiveCommerceStore()
    out: list[Envelope] = []
    for agg in aggregates:
        for e in agg.collect_events():
            stored = store.mapper.to_stored_event(e)
            out.append(
                envelope_from_state_bytes(
                    topic=stored.topic,
                    aggregate_id=stored.originator_id,
                    aggregate_version=stored.originator_version,
                    state=stored.state,
                    position=len(out) + 1,
                )
            )
    return out


@pytest.fixture
async def model(environments: Environments) -> AsyncIterator[tuple[Settings, HostsProjection]]:
    env = environments.new()
    apply_migrations(env.read_url)
    db = PgDatabase(env.read_url, max_size=2)
    await db.open()
    r = redis_client(env.redis_url)
    yield env, HostsProjection(db, RedisGuard(r))
    await db.close()
    await r.aclose()


def snapshot(env: Settings) -> tuple[list[list[tuple[Any, ...]]], str]:
    with psycopg.connect(env.read_url) as conn:
        tables = [
            conn.execute(f"SELECT to_jsonb(t)::text AS j FROM {t} t ORDER BY j").fetchall()  # noqa: S608
            for t in TABLES
        ]
    return tables, redis_hash(env.redis_url, ("HOST_STATUS:*", "PROJ:host_status:*"))


async def test_redelivery_changes_nothing_and_a_rebuild_in_other_batches_is_identical(
    model: tuple[Settings, HostsProjection],
) -> None:
    env, proj = model
    events = history()
    for i in range(0, len(events), 7):
        await proj.apply(events[i : i + 7])
    first = snapshot(env)
    await proj.apply(events)  # everything again, as after a lost commit
    assert snapshot(env) == first
    await proj.reset()
    await proj.apply(events)  # one batch this time
    assert snapshot(env) == first

    r = redis.Redis.from_url(env.redis_url, decode_responses=True)
    statuses = [r.hgetall(k) for k in sorted(r.scan_iter("HOST_STATUS:*"))]
    assert len(statuses) == 2 and all(s["status"] == "live" and s["current_stream"] for s in statuses)
    assert all(s["availability"] == "available" and s["next_scheduled"] for s in statuses)
    with psycopg.connect(env.read_url) as conn:
        hosts = conn.execute(
            "SELECT rating::text, rating_count, commission_rate::text, verification_status::text,"
            " (SELECT count(*) FROM live_commerce_host_followers f WHERE f.host_id = h.id AND f.following)"
            " FROM live_commerce_hosts h"
        ).fetchall()
    assert hosts == [("4.50", 2, "7.50", "verified", 2)] * 2
