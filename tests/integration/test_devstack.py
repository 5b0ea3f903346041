"""The dev stack against real processes: it starts Tansu and SecantusDB, reuses them, and stops only those.

PostgreSQL and Redis are the machine's when it runs them (standard ports, or LIVECOMMERCE_POSTGRES_URL and
LIVECOMMERCE_REDIS_URL): then the test checks that `up` uses them and `down` leaves them running.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra import devstack
from infra.devstack import kafka, mongo, postgres, redis
from infra.devstack.checkout import checkout_names, checkout_tag
from infra.settings import Settings


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pids(state_dir: Path) -> dict[str, int]:
    return {p.stem: json.loads(p.read_text())["pid"] for p in state_dir.glob("*.json")}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    if kafka.answers("127.0.0.1:9092") or mongo.answers("mongodb://127.0.0.1:27017/?directConnection=true"):
        pytest.skip("a Kafka or MongoDB already answers on its standard port: up would use it, not start one")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        state_dir=tmp_path / "state",
        kafka_bootstrap=f"127.0.0.1:{_unused_port()}",
        mongo_url=f"mongodb://127.0.0.1:{_unused_port()}/?directConnection=true",
    )
    yield settings
    devstack.down(settings, echo=lambda line: None)  # never leave servers behind, even on failure
    _drop_database(checkout_names(settings, Path(settings.state_dir).parent).settings.postgres_url)


def _drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = url.rsplit("/", 1)
    try:
        with psycopg.connect(f"{admin}/postgres", autocommit=True, connect_timeout=2) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.OperationalError:
        pass  # a private server `down` already stopped


async def _kafka_round_trip(bootstrap: str) -> bytes:
    topic = f"devstack-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=10)
    finally:
        await consumer.stop()
    return message.value


def test_up_reuse_status_down(settings: Settings) -> None:
    before = devstack.status(settings, echo=lambda line: None)
    assert not before["kafka"]["answering"] and not before["kafka"]["managed"]
    assert not list(Path(settings.state_dir).glob("*.json")), "status must not start anything"

    lines: list[str] = []
    urls = devstack.up(settings, echo=lines.append)
    assert [line.split()[0] for line in lines] == ["postgres", "redis", "kafka", "mongo", "names"]
    started = {line.split()[0] for line in lines if line.endswith("(started)")}
    found = {"postgres", "redis"} - started  # the machine's own servers, on this machine
    assert {"redis", "kafka", "mongo"} <= started, lines  # Redis: the checkout's own, not the machine's
    assert set(_pids(settings.state_dir)) == started
    assert urls["mongo"].endswith("/?directConnection=true")
    env = (settings.state_dir / "stack.env").read_text().splitlines()
    names = checkout_names(settings, settings.state_dir.parent).settings
    assert env == [
        f"LIVECOMMERCE_POSTGRES_URL={urls['postgres']}",
        f"LIVECOMMERCE_REDIS_URL={urls['redis']}",
        f"LIVECOMMERCE_KAFKA_BOOTSTRAP={urls['kafka']}",
        f"LIVECOMMERCE_MONGO_URL={urls['mongo']}",
        f"LIVECOMMERCE_MONGO_DB={names.mongo_db}",
        f"LIVECOMMERCE_TOPIC_PREFIX={names.topic_prefix}",
        "LIVECOMMERCE_ALLOW_DEV_JWT_SECRET=true",  # a laptop's stack signs with the development secret
    ]
    assert names.mongo_db == names.topic_prefix == f"livecommerce_{checkout_tag(settings.state_dir.parent)}"
    assert urls["postgres"].endswith(f"/{names.topic_prefix}")
    assert postgres.answers(urls["postgres"])  # the database in the URL exists now
    assert redis.answers(urls["redis"])

    assert asyncio.run(_kafka_round_trip(urls["kafka"])) == b"hello"
    with pymongo.MongoClient(urls["mongo"]) as client:
        collection = client["devstack_test"]["items"]
        collection.insert_one({"_id": "a", "n": 1})
        assert collection.find_one({"_id": "a"}) == {"_id": "a", "n": 1}

    pids = _pids(settings.state_dir)
    assert devstack.up(settings, echo=lambda line: None) == urls
    assert _pids(settings.state_dir) == pids, "a second up must start nothing"

    report = devstack.status(settings, echo=lambda line: None)
    assert all(entry["answering"] for entry in report.values()), report
    assert {name for name, entry in report.items() if entry["managed"]} == started

    assert set(devstack.down(settings, echo=lambda line: None)) == started
    assert not kafka.answers(urls["kafka"])
    assert not mongo.answers(urls["mongo"])
    checks = {"postgres": postgres.answers, "redis": redis.answers}
    assert all(checks[name](urls[name]) for name in found), "down must not stop servers it did not start"
    assert not list(settings.state_dir.glob("*.json"))
    assert devstack.down(settings, echo=lambda line: None) == []
