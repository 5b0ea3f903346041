"""The notifications process manager's jobs (``notification_jobs``): events → jobs (``plan``), and a due job →
a notification with one delivery per follower and channel (``fire``), checked against the stream's current state.
``infra.notifications`` runs them and sends the deliveries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from application import notifications as n
from application.envelope import Envelope
from infra import notification_delivery as delivery
from infra.postgres import PgTx

UNKNOWN_STREAM_GRACE = timedelta(minutes=10)  # a job whose stream is not known yet waits this long


# ---- events → jobs ----------------------------------------------------------------------------------------
async def _add_job(
    tx: PgTx, jid: Any, kind: str, stream_id: str, due: datetime, payload: dict[str, Any], status: str = "pending"
) -> None:
    await tx.execute(
        "INSERT INTO notification_jobs (id, kind, stream_id, due_at, payload, status) VALUES (%s, %s, %s, %s, %s,"
        " %s) ON CONFLICT (id) DO NOTHING",
        (jid, kind, stream_id, due, json.dumps(payload, ensure_ascii=False), status),
    )


async def _cancel_jobs(tx: PgTx, stream_id: str, kinds: tuple[str, ...], at: datetime) -> None:
    await tx.execute(
        "UPDATE notification_jobs SET status = 'cancelled', finished_at = %s WHERE stream_id = %s"
        " AND status IN ('pending', 'waiting') AND kind::text = ANY(%s)",
        (at, stream_id, list(kinds)),
    )


async def plan(tx: PgTx, e: Envelope) -> None:
    d, at = e.payload, e.occurred_at
    if e.type == "LiveStream.Scheduled":
        sid = str(e.aggregate_id)
        start = datetime.fromisoformat(d["scheduled_start_time"]) if d.get("scheduled_start_time") else None
        await tx.execute(
            "INSERT INTO notification_streams (stream_id, host_user_id, title, title_bn, status,"
            " scheduled_start_time, aggregate_version) VALUES (%s, %s, %s, %s, 'scheduled', %s, %s)"
            " ON CONFLICT (stream_id) DO NOTHING",
            (sid, d.get("host_id"), d["title"], d.get("title_bn"), start, e.aggregate_version),
        )
        if d.get("host_id") and start is not None:
            for jid, lead, due in n.reminders_for(sid, start, at):
                await _add_job(tx, jid, "stream_reminder", sid, due, {"lead": lead})
    elif e.type in ("LiveStream.Started", "LiveStream.Ended", "LiveStream.Cancelled"):
        sid = str(e.aggregate_id)
        status = {"LiveStream.Started": "live", "LiveStream.Ended": "ended"}.get(e.type, "cancelled")
        await tx.execute(
            "UPDATE notification_streams SET status = %s, aggregate_version = %s WHERE stream_id = %s"
            " AND aggregate_version < %s",
            (status, e.aggregate_version, sid, e.aggregate_version),
        )
        await _cancel_jobs(
            tx,
            sid,
            ("stream_reminder",) if status == "live" else ("stream_reminder", "stream_starting", "flash_sale_alert"),
            at,
        )
        if status == "live":
            await _add_job(tx, n.job_id(sid, "starting"), "stream_starting", sid, at, {})
    elif e.type == "FlashSale.Scheduled" and d.get("stream_id"):
        # The alert says the sale has started: it waits for FlashSale.Started, whenever that comes (the process
        # manager starts a scheduled sale at its start_time; a sale that never starts never alerts).
        await _add_job(
            tx,
            n.job_id(e.aggregate_id, "flash_sale"),
            "flash_sale_alert",
            str(d["stream_id"]),
            datetime.fromisoformat(d["start_time"]),
            {
                "sale_id": str(e.aggregate_id),
                "sale_name": d["sale_name"],
                "flash_price": d["flash_price"],
                "original_price": d["original_price"],
                "end_time": d["end_time"],
                "product_id": d["product_id"],
            },
            status="waiting",
        )
    elif e.type == "Order.Placed":  # who to tell about the order later
        await tx.execute(
            "INSERT INTO notification_orders (order_id, buyer_id, stream_id) VALUES (%s, %s, %s)"
            " ON CONFLICT (order_id) DO NOTHING",
            (e.aggregate_id, d["buyer_id"], d.get("stream_id")),
        )
    elif e.type in ("Order.FulfilmentUpdated", "Order.ReturnDecided") and d.get("stream_id"):
        oid = str(e.aggregate_id)
        if e.type == "Order.FulfilmentUpdated":
            jid, payload = (
                n.job_id(oid, "fulfilment", d["status"]),
                {
                    "order_id": oid,
                    "status": d["status"],
                    "courier": d.get("courier"),
                    "tracking_id": d.get("tracking_id"),
                },
            )
        else:
            jid, payload = (
                n.job_id(oid, "return", d["return_id"]),
                {
                    "order_id": oid,
                    "return_id": d["return_id"],
                    "return_accepted": d["accepted"],
                    "amount": d["amount"],
                    "note": d.get("note"),
                },
            )
        await _add_job(tx, jid, "order_update", str(d["stream_id"]), at, payload)
    elif e.type == "FlashSale.Started":
        await tx.execute(
            "UPDATE notification_jobs SET status = 'pending', due_at = %s WHERE id = %s AND status = 'waiting'",
            (at, n.job_id(e.aggregate_id, "flash_sale")),
        )
    elif e.type in ("FlashSale.Cancelled", "FlashSale.Ended"):
        await tx.execute(
            "UPDATE notification_jobs SET status = 'cancelled', finished_at = %s WHERE id = %s"
            " AND status IN ('pending', 'waiting')",
            (at, n.job_id(e.aggregate_id, "flash_sale")),
        )


# ---- due jobs → notifications → deliveries ----------------------------------------------------------------
def _texts(job: dict[str, Any], stream: dict[str, Any], host: str | None) -> n.Texts | None:
    p = job["payload"]
    if job["kind"] == "stream_reminder":
        return n.reminder_texts(host, stream["title"], stream["title_bn"], stream["scheduled_start_time"], p["lead"])
    if job["kind"] == "stream_starting":
        return n.starting_texts(host, stream["title"], stream["title_bn"])
    return n.flash_sale_texts(
        p["sale_name"], p["flash_price"], p["original_price"], datetime.fromisoformat(p["end_time"])
    )


def _still_wanted(job: dict[str, Any], stream: dict[str, Any], now: datetime) -> bool:
    if job["kind"] == "stream_reminder":
        start = stream["scheduled_start_time"]
        return bool(stream["status"] == "scheduled" and start is not None and start > now)
    if job["kind"] == "stream_starting":
        return bool(stream["status"] == "live")
    return bool(stream["status"] in ("scheduled", "live") and datetime.fromisoformat(job["payload"]["end_time"]) > now)


async def _fire_order_update(tx: PgTx, job: dict[str, Any], now: datetime, channels: tuple[str, ...]) -> str:
    """To the order's buyer only (``targeted_audience``): a fulfilment step or a return decision."""
    p = job["payload"]
    rows = await tx.fetch("SELECT buyer_id FROM notification_orders WHERE order_id = %s", (p["order_id"],))
    if not rows:
        return "expired" if now - job["created_at"] > UNKNOWN_STREAM_GRACE else "pending"
    buyer = str(rows[0]["buyer_id"])
    texts = n.order_update_texts(p)
    await tx.execute(
        "INSERT INTO live_stream_notifications (id, stream_id, notification_type, recipient_type, recipients,"
        " title, message, title_bn, message_bn, delivery_status, metadata, created_at)"
        " VALUES (%s, %s, 'order_update', 'targeted_audience', %s, %s, %s, %s, %s, 'pending', %s, %s)"
        " ON CONFLICT (id) DO NOTHING",
        (
            job["id"],
            job["stream_id"],
            json.dumps([buyer]),
            texts.title,
            texts.body,
            texts.title_bn,
            texts.body_bn,
            json.dumps({**p, "channels": list(channels)}, ensure_ascii=False, default=str),
            naive_utc(now),
        ),
    )
    for channel in (await delivery.channels_for(tx, [buyer], channels))[buyer]:
        await tx.execute(
            "INSERT INTO live_stream_notification_deliveries (notification_id, recipient_id, channel)"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (job["id"], buyer, channel),
        )
    return "done"


async def fire(tx: PgTx, job: dict[str, Any], now: datetime, channels: tuple[str, ...]) -> str:
    if job["kind"] == "order_update":
        return await _fire_order_update(tx, job, now, channels)
    streams = await tx.fetch("SELECT * FROM notification_streams WHERE stream_id = %s", (job["stream_id"],))
    stream = streams[0] if streams else None
    if stream is None:
        return "expired" if now - job["created_at"] > UNKNOWN_STREAM_GRACE else "pending"
    if not stream["host_user_id"] or not _still_wanted(job, stream, now):
        return "expired"
    host = (
        await tx.fetch("SELECT host_name FROM live_commerce_hosts WHERE user_id = %s", (stream["host_user_id"],))
        or [{"host_name": None}]
    )[0]["host_name"]
    followers = [
        str(r["follower_id"])
        for r in await tx.fetch(
            "SELECT follower_id FROM live_commerce_host_followers WHERE host_user_id = %s AND following"
            " ORDER BY follower_id",
            (stream["host_user_id"],),
        )
    ]
    texts = _texts(job, stream, host)
    assert texts is not None
    meta = {
        **job["payload"],
        "host_user_id": str(stream["host_user_id"]),
        "host_name": host,
        "channels": list(channels),
        "due_at": job["due_at"].isoformat(),
    }
    await tx.execute(
        "INSERT INTO live_stream_notifications (id, stream_id, notification_type, recipient_type, recipients,"
        " title, message, title_bn, message_bn, delivery_status, sent_at, metadata, created_at)"
        " VALUES (%s, %s, %s, 'followers', %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (
            job["id"],
            job["stream_id"],
            job["kind"],
            json.dumps(followers),
            texts.title,
            texts.body,
            texts.title_bn,
            texts.body_bn,
            "pending" if followers else "sent",
            None if followers else naive_utc(now),
            json.dumps(meta, ensure_ascii=False),
            naive_utc(now),
        ),
    )
    chosen = await delivery.channels_for(tx, followers, channels)  # each person's channels (preferences)
    for follower in followers:
        for channel in chosen[follower]:
            await tx.execute(
                "INSERT INTO live_stream_notification_deliveries (notification_id, recipient_id, channel)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (job["id"], follower, channel),
            )
    return "done"


def naive_utc(at: datetime) -> datetime:
    """The spec's TIMESTAMP columns hold naive UTC."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at
