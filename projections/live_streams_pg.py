"""PostgreSQL read tables ``live_streams`` and ``live_stream_products`` (spec §2.1), from LiveStream events.

Idempotence: ``live_streams.aggregate_version`` is the guard. The created event inserts with ON CONFLICT DO
NOTHING; every later event first bumps the version with ``WHERE aggregate_version < v`` and touches the
products only if that row changed. Row ids and timestamps come from the events, so a rebuild is identical.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import iso_utc, naive_utc

CHANGED_CHANNEL = "live_streams_changed"
_PRODUCT_NS = uuid.UUID("0b0e7a4e-3f40-4c4b-8f6d-4a3c8f1f2e11")


def product_row_id(stream_id: str, product_id: str) -> uuid.UUID:
    return uuid.uuid5(_PRODUCT_NS, f"{stream_id}:{product_id}")


async def _bump(tx: SqlTx, e: Envelope, sets: str = "", params: dict[str, Any] | None = None) -> bool:
    """Advance the row to this event's version; a redelivered event matches no row and changes nothing."""
    p = {"id": e.aggregate_id, "v": e.aggregate_version, "at": naive_utc(e.occurred_at), **(params or {})}
    sql = (
        "UPDATE live_streams SET aggregate_version = %(v)s, updated_at = %(at)s"
        + (", " + sets if sets else "")
        + " WHERE id = %(id)s AND aggregate_version < %(v)s"
    )
    await tx.execute(sql, p)
    return True


async def _insert_product(tx: SqlTx, stream_id: str, p: dict[str, Any], at: Any) -> None:
    await tx.execute(
        "INSERT INTO live_stream_products (id, stream_id, product_id, display_order, special_price,"
        " discount_percentage, limited_quantity, presentation_notes, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (stream_id, product_id) DO NOTHING",
        (
            product_row_id(stream_id, p["product_id"]),
            stream_id,
            p["product_id"],
            p.get("display_order") or 0,
            p.get("special_price"),
            p.get("discount_percentage"),
            p.get("limited_quantity"),
            p.get("presentation_notes"),
            at,
        ),
    )


async def on_scheduled(tx: SqlTx, e: Envelope) -> bool:
    d = e.payload
    at = naive_utc(e.occurred_at)
    inserted = await tx.execute(
        "INSERT INTO live_streams (id, vendor_id, host_id, stream_key, title, title_bn, description,"
        " description_bn, stream_type, category, thumbnail_url, cover_image_url, status, scheduled_start_time,"
        " max_viewers, is_recorded, is_public, language, tags, stream_settings, metadata, created_at,"
        " updated_at, aggregate_version)"
        " VALUES (%(id)s, %(vendor_id)s, %(host_id)s, %(stream_key)s, %(title)s, %(title_bn)s,"
        " %(description)s, %(description_bn)s, %(stream_type)s, %(category)s, %(thumbnail_url)s,"
        " %(cover_image_url)s, 'scheduled', %(scheduled_start_time)s, %(max_viewers)s, %(is_recorded)s,"
        " %(is_public)s, %(language)s, %(tags)s, %(stream_settings)s, %(metadata)s, %(at)s, %(at)s, %(v)s)"
        " ON CONFLICT (id) DO NOTHING",
        {
            **{
                k: d.get(k)
                for k in (
                    "vendor_id",
                    "host_id",
                    "stream_key",
                    "title",
                    "title_bn",
                    "description",
                    "description_bn",
                    "stream_type",
                    "category",
                    "thumbnail_url",
                    "cover_image_url",
                    "max_viewers",
                    "is_recorded",
                    "is_public",
                    "language",
                )
            },
            "id": e.aggregate_id,
            "v": e.aggregate_version,
            "at": at,
            "scheduled_start_time": naive_utc(d.get("scheduled_start_time")),
            "tags": json.dumps(d.get("tags") or [], ensure_ascii=False),
            "stream_settings": json.dumps(d.get("stream_settings") or {}, ensure_ascii=False),
            "metadata": json.dumps({}),
        },
    )
    # ON CONFLICT DO NOTHING on both: a redelivered creation inserts nothing twice.
    for p in d.get("products") or []:
        await _insert_product(tx, str(e.aggregate_id), p, at)
    return inserted != 0


async def on_started(tx: SqlTx, e: Envelope) -> bool:
    return await _bump(
        tx,
        e,
        "status = 'live', actual_start_time = %(at)s,"
        " metadata = metadata || jsonb_build_object('stream_url', %(url)s::text, 'chat_room_id', %(chat)s::text)",
        {"url": e.payload.get("stream_url"), "chat": e.payload.get("chat_room_id")},
    )


async def on_ended(tx: SqlTx, e: Envelope) -> bool:
    return await _bump(
        tx,
        e,
        "status = 'ended', end_time = %(at)s, duration_seconds = %(dur)s,"
        " metadata = metadata || jsonb_build_object('summary', %(summary)s::text)",
        {"dur": e.payload.get("duration_seconds") or 0, "summary": e.payload.get("summary")},
    )


async def on_cancelled(tx: SqlTx, e: Envelope) -> bool:
    return await _bump(
        tx,
        e,
        "status = 'cancelled', metadata = metadata || jsonb_build_object('cancel_reason', %(reason)s::text)",
        {"reason": e.payload.get("reason")},
    )


async def on_product_added(tx: SqlTx, e: Envelope) -> bool:
    # One statement: the product row is inserted only if the version guard let the event through.
    p = e.payload["product"]
    sid = str(e.aggregate_id)
    await tx.execute(
        "WITH bumped AS (UPDATE live_streams SET aggregate_version = %(v)s, updated_at = %(at)s"
        " WHERE id = %(id)s AND aggregate_version < %(v)s RETURNING id)"
        " INSERT INTO live_stream_products (id, stream_id, product_id, display_order, special_price,"
        " discount_percentage, limited_quantity, presentation_notes, created_at)"
        " SELECT %(pid)s, id, %(product)s, %(order)s, %(price)s, %(disc)s, %(qty)s, %(notes)s, %(at)s FROM bumped"
        " ON CONFLICT (stream_id, product_id) DO NOTHING",
        {
            "id": sid,
            "v": e.aggregate_version,
            "at": naive_utc(e.occurred_at),
            "pid": product_row_id(sid, p["product_id"]),
            "product": p["product_id"],
            "order": p.get("display_order") or 0,
            "price": p.get("special_price"),
            "disc": p.get("discount_percentage"),
            "qty": p.get("limited_quantity"),
            "notes": p.get("presentation_notes"),
        },
    )
    return True


async def on_product_featured(tx: SqlTx, e: Envelope) -> bool:
    await tx.execute(
        "WITH bumped AS (UPDATE live_streams SET aggregate_version = %(v)s, updated_at = %(at)s,"
        " metadata = metadata || jsonb_build_object('featured_product_id', %(pid)s::text)"
        " WHERE id = %(id)s AND aggregate_version < %(v)s RETURNING id)"
        " UPDATE live_stream_products p SET featured_timestamp = %(at)s FROM bumped"
        " WHERE p.stream_id = bumped.id AND p.product_id = %(pid_uuid)s::uuid",
        {
            "id": str(e.aggregate_id),
            "v": e.aggregate_version,
            "at": naive_utc(e.occurred_at),
            "pid": e.payload["product_id"],
            "pid_uuid": e.payload["product_id"],
        },
    )
    # The replay's product timeline: every time a product was featured, once per event.
    await tx.execute(
        "INSERT INTO live_stream_featured_history (stream_id, aggregate_version, product_id, featured_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (str(e.aggregate_id), e.aggregate_version, str(e.payload["product_id"]), naive_utc(e.occurred_at)),
    )
    return True


async def on_video(tx: SqlTx, e: Envelope) -> bool:
    interrupted = e.type == "LiveStream.VideoInterrupted"
    return await _bump(
        tx, e, "metadata = metadata || jsonb_build_object('video_interrupted', %(i)s::boolean)", {"i": interrupted}
    )


async def on_featured(tx: SqlTx, e: Envelope) -> bool:
    """An admin featured the show (``is_featured``; ``metadata.featured_at`` orders the featured list)."""
    return await _bump(
        tx,
        e,
        "is_featured = true, metadata = metadata || jsonb_build_object('featured_at', %(iso)s::text)",
        {"iso": iso_utc(e.occurred_at)},
    )


async def on_unfeatured(tx: SqlTx, e: Envelope) -> bool:
    return await _bump(tx, e, "is_featured = false, metadata = metadata - 'featured_at'")


async def on_stock(tx: SqlTx, e: Envelope) -> bool:
    """A stream product's ``sold_quantity`` from its stock aggregate (the event carries the count after it);
    guarded by that aggregate's version. Not a version of the stream row: False keeps it out of the waiters'."""
    await tx.execute(
        "UPDATE live_stream_products SET sold_quantity = %(sold)s, stock_version = %(v)s"
        " WHERE stream_id = %(sid)s AND product_id = %(pid)s AND stock_version < %(v)s",
        {
            "sold": e.payload["sold"],
            "v": e.aggregate_version,
            "sid": e.payload["stream_id"],
            "pid": e.payload["product_id"],
        },
    )
    return False


HANDLERS: dict[str, Callable[[SqlTx, Envelope], Awaitable[bool]]] = {
    "LiveStream.Scheduled": on_scheduled,
    "LiveStream.Started": on_started,
    "LiveStream.Ended": on_ended,
    "LiveStream.Cancelled": on_cancelled,
    "LiveStream.ProductAdded": on_product_added,
    "LiveStream.ProductFeatured": on_product_featured,
    "LiveStream.VideoInterrupted": on_video,
    "LiveStream.VideoResumed": on_video,
    "LiveStream.Featured": on_featured,
    "LiveStream.Unfeatured": on_unfeatured,
    "StreamStock.Reserved": on_stock,
    "StreamStock.Released": on_stock,
    "StreamStock.HoldMoved": on_stock,
    "StreamStock.Sold": on_stock,
}


NOTIFY_LIMIT = 7900  # PostgreSQL's payload limit is 8,000 bytes


def changed_payloads(reached: dict[str, int]) -> list[str]:
    """``id:version`` pairs joined by commas, split so that each NOTIFY payload fits the limit."""
    out: list[str] = []
    parts: list[str] = []
    size = 0
    for stream_id, version in reached.items():
        item = f"{stream_id}:{version}"
        if parts and size + len(item) + 1 > NOTIFY_LIMIT:
            out.append(",".join(parts))
            parts, size = [], 0
        parts.append(item)
        size += len(item) + 1
    if parts:
        out.append(",".join(parts))
    return out


def parse_changed(payload: str) -> dict[str, int]:
    """The inverse of ``changed_payloads`` for one payload; an empty or foreign payload gives ``{}``."""
    out: dict[str, int] = {}
    for item in payload.split(","):
        stream_id, sep, version = item.partition(":")
        if sep and version.isdigit():
            out[stream_id] = int(version)
    return out


class LiveStreamsTable:
    name = "live_streams"
    topics = ("domain",)
    tables = ("live_streams", "live_stream_products")

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        """One transaction per batch, its statements pipelined (one statement per event, no waiting between)."""
        applied = 0
        reached: dict[str, int] = {}
        async with self._db.transaction(pipeline=True) as tx:
            for e in envelopes:
                handler = HANDLERS.get(e.type)
                if handler is not None and await handler(tx, e):
                    applied += 1
                    if e.aggregate_id is not None and e.aggregate_version is not None:
                        reached[e.aggregate_id] = max(e.aggregate_version, reached.get(e.aggregate_id, 0))
            # Delivered on commit: wakes read-your-writes waiters in the API processes, telling them which
            # version each stream's row has reached, so they need not ask.
            for payload in changed_payloads(reached):
                await tx.execute("SELECT pg_notify(%s, %s)", (CHANGED_CHANNEL, payload))
        return applied

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE live_stream_products, live_streams")
            await tx.execute("TRUNCATE live_stream_featured_history")
