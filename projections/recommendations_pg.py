"""The recommendations' read model (PostgreSQL ``rec_*``, migration 026): the facts both recommenders rank from.

- ``rec_signals``: who showed interest in which product, how strongly: ``purchase`` (each line of
  ``Order.Placed``), ``cart`` (``Cart.ItemAdded``, the buyer from the cart's ``Cart.Opened``, same aggregate so
  earlier on its partition), ``intent`` (the gateway's ``purchase.intent``, signed-in viewers).
- ``rec_stream_products``: each show's products (``LiveStream.Scheduled``, ``LiveStream.ProductAdded``).
- ``rec_streams``: each show's host, category, language, visibility, status and start.
- ``rec_follows``: who follows which host (``HostFollow.*``).
- ``rec_watches``: who joined which show when (``presence.joined`` of signed-in viewers).

Only facts, never a derived figure: rows from the store and rows from the interactions topic never depend on
each other, so a rebuild (the store's events first, then the topic's) gives the same tables as the live
consumer, and the same tables give the same recommendations. Ids derive from events; store rows are guarded by
the aggregate's version: a redelivered event changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

_NS = uuid.UUID("0b7e4c1a-9d26-4f53-8e1b-26a4c3f0d024")
STATUS = {"LiveStream.Started": "live", "LiveStream.Ended": "ended", "LiveStream.Cancelled": "cancelled"}


def row_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_NS, ":".join(str(p) for p in parts))


async def _signal(
    tx: SqlTx, rid: uuid.UUID, user: object, product: object, stream: object, kind: str, e: Envelope
) -> None:
    if not user or not product:
        return
    await tx.execute(
        "INSERT INTO rec_signals (id, user_id, product_id, stream_id, kind, at) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING",
        (rid, str(user), str(product), str(stream) if stream else None, kind, naive_utc(e.occurred_at)),
    )


async def _stream(tx: SqlTx, e: Envelope) -> None:
    d, v = e.payload, e.aggregate_version
    if e.type == "LiveStream.Scheduled":
        await tx.execute(
            "INSERT INTO rec_streams (id, host_id, category, language, is_public, status, scheduled_start_time,"
            " aggregate_version) VALUES (%s, %s, %s, %s, %s, 'scheduled', %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                e.aggregate_id,
                d.get("host_id"),
                d.get("category"),
                d.get("language"),
                bool(d.get("is_public", True)),
                naive_utc(d.get("scheduled_start_time")),
                v,
            ),
        )
        for i, p in enumerate(d.get("products") or []):
            await _product(tx, e.aggregate_id, p, i)
    elif e.type == "LiveStream.ProductAdded":
        await _product(tx, e.aggregate_id, d["product"], 1_000 + (v or 0))
    if e.type in STATUS:
        extra = ", started_at = %(at)s" if e.type == "LiveStream.Started" else ""
        await tx.execute(
            f"UPDATE rec_streams SET status = %(s)s, aggregate_version = %(v)s{extra}"
            " WHERE id = %(id)s AND aggregate_version < %(v)s",
            {"s": STATUS[e.type], "v": v, "at": naive_utc(e.occurred_at), "id": e.aggregate_id},
        )


async def _product(tx: SqlTx, stream_id: str, p: dict[str, object], fallback_order: int) -> None:
    order = p.get("display_order")
    await tx.execute(
        "INSERT INTO rec_stream_products (stream_id, product_id, display_order) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (stream_id, str(p["product_id"]), order if isinstance(order, int) else fallback_order),
    )


async def _domain(tx: SqlTx, e: Envelope) -> bool:
    d = e.payload
    if e.type.startswith("LiveStream."):
        await _stream(tx, e)
    elif e.type == "Order.Placed":
        for i, line in enumerate(d.get("lines") or []):
            await _signal(
                tx,
                row_id(e.aggregate_id, e.aggregate_version, i),
                d.get("buyer_id"),
                line.get("product_id"),
                d.get("stream_id"),
                "purchase",
                e,
            )
    elif e.type == "Cart.Opened":
        await tx.execute(
            "INSERT INTO rec_carts (id, buyer_id, stream_id) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, str(d["buyer_id"]), d.get("stream_id")),
        )
    elif e.type == "Cart.ItemAdded":
        rows = await tx.fetch("SELECT buyer_id FROM rec_carts WHERE id = %s", (e.aggregate_id,))
        for r in rows:
            await _signal(
                tx,
                row_id(e.aggregate_id, e.aggregate_version),
                r["buyer_id"],
                d.get("product_id"),
                d.get("stream_id"),
                "cart",
                e,
            )
    elif e.type == "HostFollow.Followed":
        await tx.execute(
            "INSERT INTO rec_follows (id, host_user_id, follower_id, following, aggregate_version)"
            " VALUES (%s, %s, %s, true, %s) ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, str(d["host_user_id"]), str(d["follower_id"]), e.aggregate_version),
        )
    elif e.type in ("HostFollow.Refollowed", "HostFollow.Unfollowed"):
        await tx.execute(
            "UPDATE rec_follows SET following = %s, aggregate_version = %s WHERE id = %s AND aggregate_version < %s",
            (e.type == "HostFollow.Refollowed", e.aggregate_version, e.aggregate_id, e.aggregate_version),
        )
    else:
        return False
    return True


async def _interaction(tx: SqlTx, e: Envelope) -> bool:
    d = e.payload
    if e.type == "purchase.intent":
        await _signal(tx, row_id(e.id), d.get("user_id"), d.get("product_id"), e.stream_id, "intent", e)
    elif e.type == "presence.joined" and d.get("user_id") and e.stream_id:
        await tx.execute(
            "INSERT INTO rec_watches (id, user_id, stream_id, at) VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (row_id(e.id), str(d["user_id"]), e.stream_id, naive_utc(e.occurred_at)),
        )
    else:
        return False
    return True


class RecommendationsTables:
    name = "recommendations"
    topics = ("domain", "interactions")

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                handled = await (_interaction(tx, e) if e.aggregate_id is None else _domain(tx, e))
                n += int(handled)
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            for table in (
                "rec_signals",
                "rec_carts",
                "rec_stream_products",
                "rec_streams",
                "rec_follows",
                "rec_watches",
            ):
                await tx.execute(f"TRUNCATE {table}")
