"""Consumers survive any message (issue 19 part 2): poison goes to a dead letter, the rest flows on, /health tells.

Real processes (relay, projections, process managers, API) on the session's real servers. The poison is written
into the store through the `eventsourcing` library itself, bypassing the HTTP edge (which refuses it), as an
older version of the service or a bug in a command could have written it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from application.envelope import Envelope, new_interaction
from application.event_store import LiveCommerceStore
from domain.host_profile import HostProfile, host_profile_id
from domain.live_stream import LiveStream
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
NOW = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
STREAM_BODY = {
    "title": "ঈদ সেল",
    "stream_type": "flash_sale",
    "category": "electronics",
    "scheduled_start_time": "2027-03-17T19:00:00Z",
    "is_public": True,
    "language": "bn",
    "products": [],
}


class Stack:
    def __init__(self, env: Settings, log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.procs = {
            name: Proc(env, name, log_dir=log_dir, name=f"dl-{name}") for name in ("relay", "project", "process")
        }
        self.procs["api"] = Proc(env, "api", log_dir=log_dir, name="dl-api")
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=15, headers=auth(env))
        wait_until(self.healthy, timeout=90, what="API health")
        self.procs["project"].wait_for_output("projection hosts pid", timeout=60)
        self.procs["process"].wait_for_output("media policy ready", timeout=60)

    def healthy(self) -> bool:
        try:
            return self.http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any]:
        return self.http.get("/health").json()  # type: ignore[no-any-return]

    def open_letters(self, consumer: str) -> int:
        return int(self.health()["log"]["dead_letters"]["by_consumer"].get(consumer, 0))

    def cli(self, *args: str, settings: Settings | None = None) -> tuple[int, str]:
        p = Proc(settings or self.env, *args, log_dir=self.log_dir, name="dl-cli")
        code = p.popen.wait(120)
        p.stop()
        return code, p.output()

    def close(self) -> None:
        self.http.close()
        for p in self.procs.values():
            p.stop()


@pytest.fixture(scope="module")
def dl_stack(environments: Environments, log_dir: Path) -> Iterator[Stack]:
    env = environments.new().model_copy(update={"http_port": free_port(), "relay_stuck_after_s": 3.0})
    s = Stack(env, log_dir)
    try:
        yield s
    finally:
        s.close()


def save(env: Settings, *aggregates: Any) -> None:
    store = LiveCommerceStore(env.eventsourcing_env())
    try:
        store.save(*aggregates)
    finally:
        store.close()


def poison_host_application(env: Settings, user_id: str, host_name: str) -> HostProfile:
    """An application as the aggregate records it, with the edge's and the aggregate's checks bypassed."""
    return HostProfile._create(  # type: ignore[return-value]
        HostProfile.ApplicationSubmitted,
        id=host_profile_id(user_id),
        timestamp=NOW,
        user_id=user_id,
        commission_rate=Decimal("10.00"),
        vendor_id=None,
        host_name=host_name,
        bio=None,
        bio_bn=None,
        profile_image_url=None,
        specializations=[],
        languages=["bn"],
        experience_level="beginner",
        portfolio_links=[],
        sample_videos=[],
    )


def store_position(env: Settings, aggregate_id: uuid.UUID, version: int) -> int:
    with psycopg.connect(env.postgres_url) as conn:
        row = conn.execute(
            "SELECT notification_id FROM livecommerce_events WHERE originator_id = %s AND originator_version = %s",
            (aggregate_id, version),
        ).fetchone()
    assert row is not None
    return int(row[0])


def read_topic(env: Settings, topic: str) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(topic, p) for p in (c.partitions_for_topic(topic) or range(env.topic_partitions))]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            out: list[dict[str, Any]] = []
            while got := await c.getmany(timeout_ms=1500, max_records=10_000):
                out += [json.loads(m.value) for ms in got.values() for m in ms]
            return out
        finally:
            await c.stop()

    return asyncio.run(go())


def create_stream(s: Stack, **extra: Any) -> str:
    r = s.http.post(f"{P}/streams", json={**STREAM_BODY, **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def visible(s: Stack, path: str) -> bool:
    return s.http.get(path).status_code == 200


def test_a_nul_in_a_host_application_is_a_dead_letter_the_rest_flows_and_a_replay_applies_it_after_the_repair(
    dl_stack: Stack,
) -> None:
    s, env = dl_stack, dl_stack.env
    poisoned_user = str(uuid.uuid4())
    profile = poison_host_application(env, poisoned_user, "Rahim\x00Traders")
    save(env, profile)
    position = store_position(env, profile.id, 1)
    # Later events of the same host must wait behind the dead letter, not overtake it.
    profile.set_availability(now=NOW, status="busy")
    save(env, profile)
    assert s.http.post(f"{P}/hosts/{profile.id}/verify").status_code == 200  # the store's aggregate is fine

    wait_until(lambda: s.open_letters("projection.hosts") == 3, timeout=60, what="three dead letters of hosts")
    # The same read model goes on (another host's application), and so do the others (a new stream).
    other = str(uuid.uuid4())
    r = s.http.post(
        f"{P}/hosts/apply", json={"host_name": "Karim", "languages": ["bn"]}, headers=auth(env, "viewer", user=other)
    )
    assert r.status_code == 201, r.text
    assert s.http.post(f"{P}/hosts/{host_profile_id(other)}/verify").status_code == 200
    sid = create_stream(s)
    wait_until(lambda: visible(s, f"{P}/streams/{sid}"), timeout=30, what="a stream created after the poison")
    wait_until(lambda: visible(s, f"{P}/hosts/{host_profile_id(other)}"), timeout=30, what="a later host")
    assert s.http.get(f"{P}/hosts/{profile.id}").status_code == 404

    health = s.http.get("/health")
    assert health.status_code == 200, health.text  # dead letters are counted, they do not fail the API
    log = health.json()["log"]
    assert log["dead_letters"] == {"open": 3, "by_consumer": {"projection.hosts": 3}}
    assert log["consumers"]["projection.hosts"]["dead_letters"] == 3
    assert log["relay"]["lag"] == 0 and log["relay"]["stuck"] is False
    letters = [m for m in read_topic(env, env.topic("dead-letters")) if m["consumer"] == "projection.hosts"]
    first = next(m for m in letters if m["aggregate_version"] == 1)
    assert first["reason"] == "failed" and "NUL" in first["error"] and first["position"] == position
    assert [m["reason"] for m in sorted(letters, key=lambda m: m["aggregate_version"])[1:]] == ["parked"] * 2
    assert "DEAD LETTER" in s.procs["project"].output() and " ERROR " in s.procs["project"].output()

    code, listed = s.cli("dead-letters", "list")
    assert code == 0 and "projection.hosts" in listed and "3 dead letter(s) open" in listed, listed
    code, out = s.cli("dead-letters", "replay")  # not fixed yet: still failing, nothing lost
    assert code == 1 and "still failing 1" in out, out

    # The repair: the stored event without the NUL (what an operator's data fix does).
    with psycopg.connect(env.postgres_url, autocommit=True) as conn:
        row = conn.execute("SELECT state FROM livecommerce_events WHERE notification_id = %s", (position,)).fetchone()
        assert row is not None
        state = json.loads(bytes(row[0]))
        state["host_name"] = state["host_name"].replace("\x00", " ")
        conn.execute(
            "UPDATE livecommerce_events SET state = %s WHERE notification_id = %s",
            (json.dumps(state).encode(), position),
        )
    code, out = s.cli("dead-letters", "replay")
    assert code == 0 and "projection.hosts: 3 replayed" in out, out
    host = s.http.get(f"{P}/hosts/{profile.id}")
    assert host.status_code == 200 and host.json()["host_name"] == "Rahim Traders", host.text
    # The parked events, applied after it, in order: its availability, then its verification.
    assert host.json()["availability"]["status"] == "busy" and host.json()["verification_status"] == "verified"
    wait_until(
        lambda: s.health()["log"]["dead_letters"]["open"] == 0,
        timeout=10,  # /health reuses 1 s
        what="no open dead letter in /health",
    )


def test_an_event_too_large_for_the_log_goes_as_a_pointer_and_read_models_still_get_it_whole(dl_stack: Stack) -> None:
    s, env = dl_stack, dl_stack.env
    big = LiveStream.schedule(
        id=uuid.uuid4(),
        now=NOW,
        vendor_id=env.default_vendor_id,
        stream_key=f"k{uuid.uuid4().hex}",
        title="বড় শো",
        stream_type="product_demo",
        description="ঠিকানা " * 200_000,
    )  # about 2.6 MB of JSON
    save(env, big)
    after = create_stream(s)  # published after it: the relay did not stop
    wait_until(lambda: visible(s, f"{P}/streams/{after}"), timeout=30, what="the stream after the big one")
    detail = s.http.get(f"{P}/streams/{big.id}")
    assert detail.status_code == 200 and len(detail.json()["description"]) == len("ঠিকানা " * 200_000)
    wait_until(lambda: s.open_letters("relay") == 1, timeout=10, what="the relay's dead letter in /health")
    letter = next(m for m in read_topic(env, env.topic("dead-letters")) if m["consumer"] == "relay")
    assert letter["reason"] == "too_large" and letter["position"] == store_position(env, big.id, 1)
    on_log = [
        Envelope.from_json(json.dumps(m)) for m in read_topic(env, env.domain_topic) if m["aggregate_id"] == str(big.id)
    ]
    assert [e.payload["_log_pointer"]["reason"] for e in on_log] == ["too_large"]

    code, out = s.cli("dead-letters", "replay", "--consumer", "relay")
    assert code == 1 and "still" in out and "bytes" in out, out  # the log's limit was not raised: still open
    assert s.open_letters("relay") == 1


def test_a_media_event_the_process_managers_cannot_handle_is_a_dead_letter_and_the_next_one_starts_the_show(
    dl_stack: Stack,
) -> None:
    s, env = dl_stack, dl_stack.env
    sid = create_stream(s)
    wait_until(lambda: visible(s, f"{P}/streams/{sid}"), timeout=30, what="the scheduled show")

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=env.kafka_bootstrap)
        await producer.start()
        try:
            for e in (
                new_interaction("media.segment_published", "not-a-stream\x00", {"n": 1}, datetime.now(UTC)),
                new_interaction(
                    "media.segment_published", sid, {"rendition": "360p", "sequence": 0}, datetime.now(UTC)
                ),
            ):
                await producer.send_and_wait(env.topic("media"), e.to_json(), key=e.key)
        finally:
            await producer.stop()

    asyncio.run(publish())
    wait_until(
        lambda: s.http.get(f"{P}/streams/{sid}").json().get("status") == "live",
        timeout=30,
        what="the show started by its first segment",
    )
    wait_until(lambda: s.open_letters("process.media") == 1, timeout=30, what="the process managers' dead letter")


def test_the_health_check_answers_503_while_the_relay_is_down_and_events_wait(dl_stack: Stack) -> None:
    s = dl_stack
    assert s.health()["failing"] == []
    s.procs["relay"].kill()
    sid = create_stream(s)  # accepted: the store has it; nobody publishes it

    def unavailable() -> dict[str, Any] | None:
        r = s.http.get("/health")
        return r.json() if r.status_code == 503 else None

    body = wait_until(unavailable, timeout=30, what="/health to answer 503")
    assert body["failing"] == ["log"] and body["log"]["relay"]["stuck"] is True
    assert body["log"]["relay"]["lag"] >= 1 and "relay has not published" in body["log"]["relay"]["reason"]
    assert s.http.get(f"{P}/streams/{sid}").status_code == 404
    s.procs["relay"] = Proc(s.env, "relay", log_dir=s.log_dir, name="dl-relay-restarted")
    wait_until(s.healthy, timeout=60, what="/health back to 200")
    wait_until(lambda: visible(s, f"{P}/streams/{sid}"), timeout=30, what="the waiting stream")


@pytest.mark.slow
def test_a_read_model_whose_store_is_down_restarts_alone_and_the_others_in_its_process_go_on(
    environments: Environments, log_dir: Path
) -> None:
    from tests.drills.tcp_proxy import TcpProxy
    from tests.integration.test_log_pipeline import write_history

    base = environments.new()
    mongo = urlsplit(base.mongo_url)
    proxy = TcpProxy(mongo.hostname or "127.0.0.1", mongo.port or 27017)  # not listening yet: MongoDB is "down"
    env = base.model_copy(update={"mongo_url": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"})
    procs = [
        Proc(env, "relay", log_dir=log_dir, name="iso-relay"),
        Proc(
            env, "project", "--only", "live_streams", "--only", "stream_realtime", log_dir=log_dir, name="iso-project"
        ),
    ]
    try:
        total = write_history(env, 30, 5)

        def pg_versions() -> int:
            with psycopg.connect(env.postgres_url) as conn:
                try:
                    row = conn.execute("SELECT COALESCE(SUM(aggregate_version), 0) FROM live_streams").fetchone()
                except psycopg.errors.UndefinedTable:  # the worker has not migrated yet
                    return 0
            return int(row[0]) if row else 0

        wait_until(lambda: pg_versions() == total, timeout=60, what="live_streams, beside a failing read model")
        procs[1].wait_for_output("projection stream_realtime stopped; restarting it", timeout=60)
        proxy.resume()  # MongoDB is back: the failed read model starts again on its own and catches up

        def mongo_versions() -> int:
            from pymongo import MongoClient

            client: MongoClient[dict[str, Any]] = MongoClient(base.mongo_url)
            try:
                docs = client[env.mongo_db]["stream_realtime"].find({}, {"_version": 1})
                return sum(int(d["_version"]) for d in docs)
            finally:
                client.close()

        wait_until(lambda: mongo_versions() == total, timeout=90, what="stream_realtime after MongoDB came back")
        assert procs[1].popen.poll() is None  # one process all along
    finally:
        for p in procs:
            p.stop()
        proxy.close()
