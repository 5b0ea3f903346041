"""``livecommerce notify``: the notifications process manager (reminders, stream starting, flash-sale alerts,
and a buyer's own order: its fulfilment steps and return decisions, to that buyer only).

It reads the domain topic in its own consumer group and turns events into jobs in PostgreSQL
(``notification_jobs``): a stream scheduled with a host → reminders 24 h and 15 min before (those still
ahead); a stream going live → "stream starting"; a flash sale → an alert when it starts. Jobs wait in the
database, so reminders survive restarts, and their ids come from what they are about, so a redelivered event
adds nothing.
When a job is due (by the injected clock) it is checked against the stream's current state, addressed to the
host's followers at that moment (hosts read model), and recorded in ``live_stream_notifications`` with one
``live_stream_notification_deliveries`` row per follower and channel. A flash-sale alert is planned
``waiting`` when the sale is scheduled and becomes due when ``FlashSale.Started`` arrives: followers hear
"it started" when it did, not at the planned time. Deliveries are sent through the notifier
port and marked sent in the same transaction that locked them, so a sent delivery is never sent again.
Events → jobs and a due job → its deliveries: ``notification_jobs.py``; the channels: ``notify_channels/``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from application import notifications as n
from application.envelope import Envelope
from infra import kafka
from infra import notification_delivery as delivery
from infra.notification_jobs import fire, naive_utc, plan
from infra.postgres import PgDatabase, prepare_schema
from infra.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
DATA_KEYS = ("sale_id", "lead", "product_id", "order_id", "status", "tracking_id", "return_id")  # the screen


class FileNotifier:
    """The development adapter: one JSON line per delivery in a file (``tail -f`` it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, message: n.OutgoingMessage) -> None:
        line = json.dumps(
            {
                "delivery_id": message.delivery_id,
                "notification_id": message.notification_id,
                "kind": message.kind,
                "channel": message.channel,
                "recipient_id": message.recipient_id,
                "stream_id": message.stream_id,
                "title": message.texts.title,
                "body": message.texts.body,
                "title_bn": message.texts.title_bn,
                "body_bn": message.texts.body_bn,
                "data": message.data,
            },
            ensure_ascii=False,
        )
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


class NotificationProcess:
    """One pass of each step is idempotent and safe to run in several processes at once (SKIP LOCKED)."""

    def __init__(
        self,
        db: PgDatabase,
        notifier: n.Notifier,
        *,
        clock: Callable[[], datetime],
        channels: tuple[str, ...] = ("push",),
        batch: int = 200,
        receipts: Callable[[], Any] | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.channels = channels
        self.batch = batch
        self.publish_receipts = receipts  # receipts → the log (run_notifications gives it a Kafka producer)

    async def handle(self, envelopes: list[Envelope]) -> None:
        async with self.db.transaction() as tx:
            for e in envelopes:
                await plan(tx, e)

    async def fire_due(self) -> int:
        now = self.clock()
        fired = 0
        async with self.db.transaction() as tx:
            jobs = await tx.fetch(
                "SELECT id, kind::text AS kind, stream_id, due_at, payload, created_at FROM notification_jobs"
                " WHERE status = 'pending' AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
                (now, self.batch),
            )
            for job in jobs:
                outcome = await fire(tx, job, now, self.channels)
                if outcome != "pending":
                    await tx.execute(
                        "UPDATE notification_jobs SET status = %s, finished_at = %s WHERE id = %s",
                        (outcome, now, job["id"]),
                    )
                    fired += outcome == "done"
        return fired

    async def deliver(self) -> int:
        now = self.clock()
        sent = 0
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT d.notification_id, d.recipient_id, d.channel, d.attempts, d.held_until, n.stream_id,"
                " n.notification_type::text AS kind, n.title, n.message, n.title_bn, n.message_bn, n.metadata"
                " FROM live_stream_notification_deliveries d JOIN live_stream_notifications n"
                " ON n.id = d.notification_id WHERE d.status = 'pending'"
                " AND (d.held_until IS NULL OR d.held_until <= %s) ORDER BY d.created_at LIMIT %s"
                " FOR UPDATE OF d SKIP LOCKED",
                (now, self.batch),
            )
            touched = set()
            for r in rows:
                touched.add(r["notification_id"])
                msg = n.OutgoingMessage(
                    delivery_id=f"{r['notification_id']}:{r['recipient_id']}:{r['channel']}",
                    notification_id=str(r["notification_id"]),
                    kind=r["kind"],
                    channel=r["channel"],
                    recipient_id=str(r["recipient_id"]),
                    stream_id=str(r["stream_id"]),
                    texts=n.Texts(
                        r["title"], r["message"], r["title_bn"] or r["title"], r["message_bn"] or r["message"]
                    ),
                    data={k: v for k, v in (r["metadata"] or {}).items() if k in DATA_KEYS},
                )
                held = None if r["held_until"] else await delivery.held_until(tx, r, now)  # quiet hours
                if held is not None:
                    await delivery.record(tx, msg, "held", now, r["attempts"], held=held)
                    continue
                try:
                    receipt = await self.notifier.send(msg)
                except Exception as exc:  # a provider's failure: retried on the next pass, up to MAX_ATTEMPTS
                    log.warning("delivery %s failed: %s", msg.delivery_id, exc)
                    await delivery.record(tx, msg, "failed", now, r["attempts"] + 1, error=str(exc)[:500])
                    await tx.execute(
                        "UPDATE live_stream_notification_deliveries SET attempts = attempts + 1,"
                        " last_error = %s, status = CASE WHEN attempts + 1 >= %s"
                        " THEN 'failed'::delivery_status ELSE status END"
                        " WHERE notification_id = %s AND recipient_id = %s AND channel = %s",
                        (
                            str(exc)[:500],
                            1 if isinstance(exc, n.DeliveryRefused) else MAX_ATTEMPTS,
                            r["notification_id"],
                            r["recipient_id"],
                            r["channel"],
                        ),
                    )
                    continue
                await tx.execute(
                    "UPDATE live_stream_notification_deliveries SET status = 'sent', attempts = attempts + 1,"
                    " sent_at = %s WHERE notification_id = %s AND recipient_id = %s AND channel = %s",
                    (now, r["notification_id"], r["recipient_id"], r["channel"]),
                )
                await delivery.record(tx, msg, "accepted", now, r["attempts"] + 1, receipt=receipt)
                sent += 1
            if touched:
                await tx.execute(
                    "UPDATE live_stream_notifications n SET delivery_status = CASE"
                    " WHEN EXISTS (SELECT 1 FROM live_stream_notification_deliveries d"
                    "   WHERE d.notification_id = n.id AND d.status = 'failed')"
                    " THEN 'failed'::delivery_status ELSE 'sent'::delivery_status END,"
                    " sent_at = %s WHERE n.id = ANY(%s::uuid[]) AND NOT EXISTS (SELECT 1 FROM"
                    " live_stream_notification_deliveries d WHERE d.notification_id = n.id"
                    "   AND d.status = 'pending')",
                    (naive_utc(now), [str(t) for t in touched]),
                )
        return sent


def group_id(settings: Settings) -> str:
    return f"{settings.topic_prefix}.process.notifications"


def _consumer(settings: Settings, group: str) -> AIOKafkaConsumer:
    """Like ``infra.kafka.consumer``, with short session and rebalance timeouts: a restarted notifier rejoins
    its group in seconds instead of waiting out the old member (its due reminders fire meanwhile anyway)."""
    return AIOKafkaConsumer(
        settings.domain_topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        client_id="notifications",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=3_000,
        heartbeat_interval_ms=300,
        rebalance_timeout_ms=3_000,
    )


async def _tick(process: NotificationProcess, stop: asyncio.Event, poll_s: float) -> None:
    """Due jobs fire by the clock alone: while Kafka is slow or the group rebalances, reminders go out."""
    while not stop.is_set():
        try:
            await process.fire_due()
            await process.deliver()
            if process.publish_receipts is not None:
                await process.publish_receipts()
        except Exception:  # the next pass retries; the jobs and deliveries are still in the database
            log.exception("notification pass failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_s)
        except TimeoutError:
            pass


async def _consume(
    process: NotificationProcess, consumer: AIOKafkaConsumer, stop: asyncio.Event, poll_s: float, settings: Settings
) -> None:
    from infra.consumer_guard import GuardedConsumer

    async def plan_jobs(envelopes: Sequence[Envelope]) -> int:
        await process.handle(list(envelopes))
        return len(envelopes)

    await kafka.start_with_retry(consumer)
    print("notifications ready", flush=True)
    async with GuardedConsumer(settings, "process.notifications", plan_jobs, stop) as guard:
        while not stop.is_set():  # an event it cannot plan from becomes a dead letter (infra.dead_letters)
            batches = await consumer.getmany(timeout_ms=int(poll_s * 1000), max_records=500)
            records = [m for msgs in batches.values() for m in msgs]
            if records:
                await guard.handle(records)
                await consumer.commit()


async def run_notifications(
    settings: Settings,
    stop: asyncio.Event,
    *,
    notifier: n.Notifier,
    clock: Callable[[], datetime],
    poll_s: float = 1.0,
    group: str | None = None,
) -> None:
    """Plan jobs from the domain topic and fire due ones until ``stop``. Offsets are committed after the jobs
    of a batch are stored: a crash in between plans the same jobs again, which adds nothing."""
    await asyncio.to_thread(prepare_schema, settings.read_url, settings.migrations, settings.migrations_wait_s)
    db = PgDatabase(settings.read_url, max_size=3)
    await db.open()
    await kafka.ensure_topics(settings, ("domain", delivery.TOPIC))
    producer = kafka.producer(settings)
    await kafka.start_with_retry(producer)
    process = NotificationProcess(
        db,
        notifier,
        clock=clock,
        channels=tuple(c.strip() for c in settings.notify_channels.split(",") if c),
        receipts=lambda: delivery.publish_receipts(db, producer, settings.topic(delivery.TOPIC)),
    )
    consumer = _consumer(settings, group or group_id(settings))
    tasks = [
        asyncio.create_task(_tick(process, stop, poll_s), name="notify-tick"),
        asyncio.create_task(_consume(process, consumer, stop, poll_s, settings), name="notify-consume"),
    ]
    try:
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopped and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await consumer.stop()
            await producer.stop()
        finally:
            await db.close()
