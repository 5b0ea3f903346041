"""What the notifications process does around each send (issue 20 part 7): whom to address on which channels
(the person's preferences, else the process's defaults), holding a message during the person's quiet hours
(Dhaka time), and the delivery receipts it puts back into the log.

Receipts are written in the transaction that records the delivery's outcome (``notification_receipts``) and
published afterwards to ``{prefix}.notifications`` as envelopes (``Notification.DeliveryAccepted`` /
``DeliveryFailed`` / ``DeliveryHeld``); a crash between the two publishes them on the next pass, with the same
envelope id, so consumers deduplicate by id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from application import notification_prefs as np
from application import notifications as n
from application.envelope import SCHEMA_VERSION, Envelope
from infra.metrics import NOTIFICATION_DELIVERIES
from infra.notification_prefs_pg import preferences_in
from infra.postgres import PgDatabase, PgTx

_NS = uuid.UUID("0b7c6e1d-2f3a-4c5b-9e8d-7a6f5e4d3c2b")
TOPIC = "notifications"


async def channels_for(tx: PgTx, recipients: list[str], default: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Each recipient's channels: their chosen ones, or the process's defaults when they chose none."""
    prefs = await preferences_in(tx, recipients)
    return {r: (prefs[r].channels if r in prefs else default) for r in recipients}


async def held_until(tx: PgTx, row: dict[str, Any], now: datetime) -> datetime | None:
    """When a pending delivery may go out if its person is in quiet hours now (the row is then held)."""
    prefs = (await preferences_in(tx, [str(row["recipient_id"])])).get(str(row["recipient_id"]))
    until = np.quiet_until(prefs, row["kind"], now)
    if until is not None:
        await tx.execute(
            "UPDATE live_stream_notification_deliveries SET held_until = %s"
            " WHERE notification_id = %s AND recipient_id = %s AND channel = %s",
            (until, row["notification_id"], row["recipient_id"], row["channel"]),
        )
    return until


async def record(
    tx: PgTx,
    msg: n.OutgoingMessage,
    outcome: str,
    at: datetime,
    attempt: int,
    *,
    receipt: n.Receipt | None = None,
    error: str | None = None,
    held: datetime | None = None,
) -> None:
    rid = uuid.uuid5(_NS, f"{msg.delivery_id}:{outcome}:{attempt}")
    await tx.execute(
        "INSERT INTO notification_receipts (id, delivery_id, notification_id, recipient_id, stream_id, kind,"
        " channel, outcome, provider, provider_message_id, error, attempt, held_until, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (
            rid,
            msg.delivery_id,
            msg.notification_id,
            msg.recipient_id,
            msg.stream_id or None,
            msg.kind,
            msg.channel,
            outcome,
            receipt.provider if receipt else None,
            receipt.provider_message_id if receipt else None,
            error,
            attempt,
            held,
            at,
        ),
    )
    NOTIFICATION_DELIVERIES.labels(msg.channel, outcome).inc()


_TYPES = {"accepted": np.RECEIPT_ACCEPTED, "failed": np.RECEIPT_FAILED, "held": np.RECEIPT_HELD}


def envelope(r: dict[str, Any]) -> Envelope:
    return Envelope(
        id=str(r["id"]),
        type=_TYPES[r["outcome"]],
        schema_version=SCHEMA_VERSION,
        aggregate_id=None,
        aggregate_version=None,
        stream_id=str(r["stream_id"]) if r["stream_id"] else None,
        occurred_at=r["occurred_at"],
        payload={
            "delivery_id": r["delivery_id"],
            "notification_id": str(r["notification_id"]),
            "recipient_id": str(r["recipient_id"]),
            "kind": r["kind"],
            "channel": r["channel"],
            "provider": r["provider"],
            "provider_message_id": r["provider_message_id"],
            "error": r["error"],
            "attempt": r["attempt"],
            "held_until": r["held_until"].isoformat() if r["held_until"] else None,
        },
    )


async def publish_receipts(db: PgDatabase, producer: AIOKafkaProducer, topic: str, batch: int = 500) -> int:
    async with db.transaction() as tx:
        rows = await tx.fetch(
            "SELECT * FROM notification_receipts WHERE published_at IS NULL ORDER BY occurred_at LIMIT %s"
            " FOR UPDATE SKIP LOCKED",
            (batch,),
        )
        if not rows:
            return 0
        futures = [await producer.send(topic, e.to_json(), key=e.key) for e in map(envelope, rows)]
        for f in futures:
            await f
        await tx.execute(
            "UPDATE notification_receipts SET published_at = now() WHERE id = ANY(%s::uuid[])",
            ([str(r["id"]) for r in rows],),
        )
    return len(rows)
