"""Notifications with a clock the test controls: follow a host, schedule a stream 20 minutes ahead, move the
clock, and each follower gets exactly one reminder, across a worker restart and a redelivery of every event;
then "stream starting" and a flash-sale alert, in English and Bangla with Dhaka times."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from application import notifications as n
from application.envelope import Envelope
from infra.notifications import FileNotifier, NotificationProcess, run_notifications
from infra.postgres import PgDatabase
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "3c2b1a09-8f7e-4d6c-9b5a-4a3b2c1d0e9f"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Worker:
    """``run_notifications`` on its own thread and event loop, as the ``notify`` process runs it."""

    def __init__(self, env: Settings, notifier: FileNotifier, clock: Clock) -> None:
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(env, notifier, clock), daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self, env: Settings, notifier: FileNotifier, clock: Clock) -> None:
        async def main() -> None:
            self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
            self.ready.set()
            await run_notifications(env, self.stop_event, notifier=notifier, clock=clock, poll_s=0.1)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        assert self.loop is not None and self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, self.error


@pytest.fixture(scope="module")
def running(environments: Environments, log_dir: Path) -> Iterator[tuple[Settings, httpx.Client]]:
    env = environments.new().model_copy(update={"http_port": free_port()})
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", "--only", "hosts", log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=15)

    def healthy() -> bool:
        try:
            return http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="API health")
        procs[1].wait_for_output("projection hosts pid")
        yield env, http
    finally:
        http.close()
        for p in procs:
            p.stop()


def q(env: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(env.postgres_url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def sent(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]


def redeliver_everything(env: Settings, outbox: Path, clock: Clock) -> None:
    """Every event of the topic handled again (as after a lost offset commit), then a full pass."""

    async def go() -> None:
        c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(env.domain_topic, p) for p in range(env.topic_partitions)]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            got = await c.getmany(timeout_ms=2000, max_records=10_000)
        finally:
            await c.stop()
        envelopes = [Envelope.from_json(m.value) for ms in got.values() for m in ms]
        assert any(e.type == "LiveStream.Scheduled" for e in envelopes)
        db = PgDatabase(env.read_url, max_size=1)
        await db.open()
        try:
            process = NotificationProcess(db, FileNotifier(outbox), clock=clock)
            await process.handle(envelopes)
            await process.fire_due()
            await process.deliver()
        finally:
            await db.close()

    asyncio.run(go())


def test_one_reminder_per_follower_across_a_restart_and_redelivery(
    running: tuple[Settings, httpx.Client], tmp_path: Path
) -> None:
    env, http = running
    admin = auth(env)
    host_user, vendor = str(uuid.uuid4()), str(uuid.uuid4())
    host = auth(env, "host", host_user, vendor)
    fans = [str(uuid.uuid4()) for _ in range(3)]
    hid = http.post(
        f"{P}/hosts/apply", json={"host_name": "Sarah Khan", "languages": ["bn", "en"]}, headers=host
    ).json()["id"]
    assert http.post(f"{P}/hosts/{hid}/verify", headers=admin).status_code == 200
    for fan in fans:
        assert http.post(f"{P}/hosts/{hid}/follow", headers=auth(env, "viewer", fan)).status_code == 200
    assert http.post(f"{P}/hosts/{hid}/unfollow", headers=auth(env, "viewer", fans[2])).status_code == 200
    wait_until(
        lambda: (
            q(env, "SELECT count(*) FROM live_commerce_host_followers WHERE following")[0][0] == 2
            and q(env, "SELECT count(*) FROM live_commerce_host_followers")[0][0] == 3
        ),
        what="followers",
    )

    clock, outbox = Clock(), tmp_path / "outbox.jsonl"
    notifier = FileNotifier(outbox)
    worker = Worker(env, notifier, clock)
    start = clock.now.replace(microsecond=0) + timedelta(minutes=20)
    planned = http.post(
        f"{P}/hosts/schedule-stream",
        headers=host,
        json={
            "title": "iPhone 14 Pro Flash Sale",
            "title_bn": "আইফোন ১৪ প্রো ফ্ল্যাশ সেল",
            "scheduled_start_time": start.isoformat(),
            "products_to_feature": [PRODUCT],
        },
    )
    assert planned.status_code == 201, planned.text
    sid = planned.json()["id"]
    jobs = wait_until(
        lambda: q(env, "SELECT kind::text, payload->>'lead', due_at FROM notification_jobs WHERE stream_id = %s", sid),
        what="reminder planned",
    )
    assert [(k, lead) for k, lead, _ in jobs] == [("stream_reminder", "15m")]  # 24 h before is already past
    assert jobs[0][2] == start - timedelta(minutes=15)

    worker.stop()  # the reminder is in PostgreSQL, not in the worker
    worker = Worker(env, notifier, clock)
    try:
        clock.advance(minutes=4)
        assert sent(outbox) == []  # not due yet
        clock.advance(minutes=2)
        wait_until(lambda: len(sent(outbox)) == 2, what="two reminders")
        redeliver_everything(env, outbox, clock)
        clock.advance(minutes=3)
        assert http.post(f"{P}/streams/{sid}/start", headers=host).status_code == 200
        wait_until(lambda: len(sent(outbox)) == 4, what="stream starting")
        sale = http.post(
            f"{P}/flash-sales",
            headers=host,
            json={
                "stream_id": sid,
                "product_id": PRODUCT,
                "original_price": 120000,
                "flash_price": 85000,
                "available_quantity": 20,
                "duration_minutes": 60,
                "sale_name": "iPhone 14 Pro",
            },
        )
        assert sale.status_code == 201, sale.text
        wait_until(lambda: len(sent(outbox)) == 6, what="flash-sale alerts")
    finally:
        worker.stop()

    messages = sent(outbox)
    kinds = Counter((m["kind"], m["recipient_id"]) for m in messages)
    assert kinds == Counter(
        {(k, f): 1 for k in ("stream_reminder", "stream_starting", "flash_sale_alert") for f in fans[:2]}
    ), "exactly one of each per follower, none to the unfollower"
    assert len({m["delivery_id"] for m in messages}) == 6
    reminder = next(m for m in messages if m["kind"] == "stream_reminder")
    assert reminder["title"] == "Sarah Khan goes live in 15 minutes"
    assert n.when_en(start) in reminder["body"] and "(Dhaka time)" in reminder["body"]
    assert n.when_bn(start) in reminder["body_bn"] and "১৫ মিনিট পর" in reminder["title_bn"]
    alert = next(m for m in messages if m["kind"] == "flash_sale_alert")
    assert "৳85,000" in alert["title"] and "৳৮৫,০০০" in alert["title_bn"] and "29% off" in alert["body"]
    rows = q(
        env,
        "SELECT notification_type::text, delivery_status::text, jsonb_array_length(recipients)"
        " FROM live_stream_notifications WHERE stream_id = %s ORDER BY created_at",
        sid,
    )
    assert rows == [(kind, "sent", 2) for kind in ("stream_reminder", "stream_starting", "flash_sale_alert")]
    unsent = "SELECT count(*) FROM live_stream_notification_deliveries WHERE status <> 'sent'"
    assert q(env, unsent)[0][0] == 0
