"""Store → relay → Kafka → projections, as real processes, including crashes (SIGKILL) in the middle."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from application.envelope import Envelope
from application.event_store import LiveCommerceStore
from domain.live_stream import LiveStream, StreamProduct
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, mongo_hash, pg_hash, redis_hash, wait_until

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def write_history(settings: Settings, streams: int, per_stream: int, chunk: int = 10, pause: float = 0.0) -> int:
    """``streams`` shows of ``per_stream`` events each (schedule, start, products…), saved in chunks."""
    store = LiveCommerceStore(settings.eventsourcing_env())
    total = 0
    try:
        for first in range(0, streams, chunk):
            batch = []
            for i in range(first, min(first + chunk, streams)):
                s = LiveStream.schedule(
                    id=uuid.uuid4(),
                    now=T0,
                    vendor_id=str(uuid.UUID(int=i)),
                    stream_key=f"k{uuid.uuid4().hex}",
                    title=f"শো {i}",
                    stream_type="product_demo",
                )
                s.start(now=T0 + timedelta(minutes=1), rtmp_url="r", stream_url="u", chat_room_id=f"c{i}")
                for j in range(per_stream - 3):
                    s.add_product(
                        now=T0 + timedelta(minutes=2, seconds=j),
                        product=StreamProduct(str(uuid.UUID(int=j + 1)), None, j + 1),
                    )
                s.feature_product(now=T0 + timedelta(minutes=5), product_id=str(uuid.UUID(int=1)))
                batch.append(s)
                total += per_stream
            store.save(*batch)
            if pause:
                time.sleep(pause)
    finally:
        store.close()
    return total


def relay_position(settings: Settings) -> int:
    with psycopg.connect(settings.postgres_url) as conn:
        row = conn.execute("SELECT notification_id FROM relay_positions").fetchone()
        return int(row[0]) if row else 0


def store_max(settings: Settings) -> int:
    with psycopg.connect(settings.postgres_url) as conn:
        row = conn.execute("SELECT COALESCE(MAX(notification_id), 0) FROM livecommerce_events").fetchone()
        return int(row[0]) if row else 0


def read_topic(settings: Settings, expected: int, timeout: float = 30.0) -> list[Envelope]:
    async def go() -> list[Envelope]:
        c = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await c.start()
        try:
            parts = [TopicPartition(settings.domain_topic, p) for p in range(settings.topic_partitions)]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            out: list[Envelope] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                got = await c.getmany(timeout_ms=500, max_records=5000)
                out += [Envelope.from_json(m.value) for msgs in got.values() for m in msgs]
                if len({e.dedup_key for e in out}) >= expected and not got:
                    break
            return out
        finally:
            await c.stop()

    return asyncio.run(go())


def assert_complete_and_ordered(envelopes: list[Envelope], total: int) -> None:
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for e in envelopes:
        per_aggregate[str(e.aggregate_id)].append(int(e.aggregate_version or 0))
    assert sum(len(set(v)) for v in per_aggregate.values()) == total, "every stored event published"
    for agg, versions in per_aggregate.items():
        seen: list[int] = []
        for v in versions:
            if v in seen:
                continue  # a redelivery after the crash: a duplicate of something already seen
            assert v == len(seen) + 1, f"{agg}: version {v} arrived after {seen[-3:]} (gap or reorder)"
            seen.append(v)


@pytest.fixture
def env(environments: Environments) -> Settings:
    return environments.new()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    running: list[Proc] = []
    yield running
    for p in running:
        p.stop()


@pytest.mark.slow
def test_relay_killed_mid_stream_loses_and_reorders_nothing(env: Settings, procs: list[Proc], log_dir: Path) -> None:
    relay = Proc(env, "relay", log_dir=log_dir)
    procs.append(relay)
    relay.wait_for_output("relay ready")
    writer = threading.Thread(target=write_history, args=(env, 100, 10), kwargs={"chunk": 4, "pause": 0.03})
    writer.start()
    wait_until(lambda: relay_position(env) > 150, what="relay to publish some events")
    relay.kill()
    killed_at = relay_position(env)
    writer.join()
    assert killed_at < 1000, "the kill must land in the middle"
    relay2 = Proc(env, "relay", log_dir=log_dir, name="relay-restarted")
    procs.append(relay2)
    wait_until(lambda: relay_position(env) == store_max(env), what="restarted relay to catch up")
    assert_complete_and_ordered(read_topic(env, 1000), 1000)


def caught_up(env: Settings, total: int) -> bool:
    with psycopg.connect(env.postgres_url) as conn:
        row = conn.execute("SELECT COALESCE(SUM(aggregate_version), 0) FROM live_streams").fetchone()
    pg = int(row[0]) if row else 0
    r = redis.Redis.from_url(env.redis_url, decode_responses=True)
    rv = sum(int(r.get(k) or 0) for k in r.scan_iter(match="PROJ:stream_status:*", count=1000))
    r.close()
    client: MongoClient[dict[str, object]] = MongoClient(env.mongo_url)
    mv = sum(int(d["_version"]) for d in client[env.mongo_db]["stream_realtime"].find({}, {"_version": 1}))
    client.close()
    return pg == total and rv == total and mv == total


def hashes(env: Settings) -> tuple[str, str, str]:
    return pg_hash(env.postgres_url), redis_hash(env.redis_url), mongo_hash(env.mongo_url, env.mongo_db)


@pytest.mark.slow
def test_projection_worker_killed_mid_stream_equals_a_fresh_rebuild(
    env: Settings, procs: list[Proc], log_dir: Path
) -> None:
    procs.append(Proc(env, "relay", log_dir=log_dir))
    worker = Proc(env, "project", log_dir=log_dir)
    procs.append(worker)
    worker.wait_for_output("projection live_streams pid")
    writer = threading.Thread(target=write_history, args=(env, 100, 10), kwargs={"chunk": 4, "pause": 0.03})
    writer.start()

    def some_projected() -> bool:
        with psycopg.connect(env.postgres_url) as conn:
            row = conn.execute("SELECT count(*) FROM live_streams").fetchone()
            return bool(row and row[0] >= 15)

    wait_until(some_projected, what="worker to project some events")
    worker.kill()
    writer.join()
    procs.append(Proc(env, "project", log_dir=log_dir, name="project-restarted"))
    wait_until(lambda: caught_up(env, 1000), timeout=60, what="restarted worker to catch up")
    live = hashes(env)
    for name in ("live_streams", "stream_status", "stream_realtime"):
        rebuild = Proc(env, "project", "--rebuild", name, "--no-progress", log_dir=log_dir, name=f"rebuild-{name}")
        assert rebuild.popen.wait(60) == 0, rebuild.output()
        assert f"rebuilt {name} from 1000 events" in rebuild.output()
    assert hashes(env) == live


def latest_assignments(p: Proc) -> list[int] | None:
    found = re.findall(r"projection live_streams pid \d+ assigned \[([\d, ]*)\]", p.output())
    if not found:
        return None
    return [int(x) for x in found[-1].split(",") if x.strip()]


@pytest.mark.slow
def test_two_workers_in_one_group_share_partitions_and_stay_exact(
    env: Settings, procs: list[Proc], log_dir: Path
) -> None:
    procs.append(Proc(env, "relay", log_dir=log_dir))
    a = Proc(env, "project", "--only", "live_streams", log_dir=log_dir, name="worker-a")
    procs.append(a)
    a.wait_for_output("projection live_streams pid")
    b = Proc(env, "project", "--only", "live_streams", log_dir=log_dir, name="worker-b")
    procs.append(b)

    def split() -> bool:
        pa, pb = latest_assignments(a), latest_assignments(b)
        return bool(pa and pb and not set(pa) & set(pb) and sorted(pa + pb) == [0, 1, 2, 3])

    wait_until(split, timeout=60, what="the group to split the four partitions between both workers")
    write_history(env, 60, 10, chunk=6)

    def pg_done() -> bool:
        with psycopg.connect(env.postgres_url) as conn:
            row = conn.execute("SELECT COALESCE(SUM(aggregate_version), 0) FROM live_streams").fetchone()
            return bool(row and row[0] == 600)

    wait_until(pg_done, timeout=60, what="both workers to project everything")
    live = pg_hash(env.postgres_url)
    rebuild = Proc(env, "project", "--rebuild", "live_streams", "--no-progress", log_dir=log_dir)
    assert rebuild.popen.wait(60) == 0, rebuild.output()
    assert pg_hash(env.postgres_url) == live
