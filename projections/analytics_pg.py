"""Analytics base tables from both logs: who watched (``live_stream_viewers``: device, city, watch time), what
they did (``live_stream_interactions``), what they put in carts (the funnel's cart adds), who followed or
unfollowed a host when (``analytics_follower_changes``: a host's follower growth), and how far each person
got in each show (``analytics_reach``: joined the room, tapped a product, added to the cart or checked out),
so a show's audience and funnel are counted from one row per person instead of its whole history (ADR 0015).

Every row's id derives from its event (uuid5 of the envelope id, or of stream + connection for a viewer), and
inserts are ON CONFLICT DO NOTHING, so a redelivered event changes nothing. Orders come from ``orders``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

_NS = uuid.UUID("5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170")
KINDS = {"chat.message_sent": "message", "purchase.intent": "purchase_intent"}
FOLLOW_DELTAS = {"HostFollow.Refollowed": 1, "HostFollow.Unfollowed": -1}


def row_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_NS, ":".join(str(p) for p in parts))


def _uuid_or_none(value: object) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


async def _reach(
    tx: SqlTx, stream_id: object, who: str | None, *, joined: bool = False, tapped: bool = False, carted: bool = False
) -> None:
    """Raise a person's steps in a show (flags only ever turn on: replays and redeliveries change nothing)."""
    if not who or not stream_id:
        return
    await tx.execute(
        "INSERT INTO analytics_reach (stream_id, who, joined, tapped, carted) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (stream_id, who) DO UPDATE SET joined = analytics_reach.joined OR EXCLUDED.joined,"
        " tapped = analytics_reach.tapped OR EXCLUDED.tapped, carted = analytics_reach.carted OR EXCLUDED.carted"
        " WHERE (EXCLUDED.joined AND NOT analytics_reach.joined) OR (EXCLUDED.tapped AND NOT analytics_reach.tapped)"
        " OR (EXCLUDED.carted AND NOT analytics_reach.carted)",
        (stream_id, who, joined, tapped, carted),
    )


async def _interaction(tx: SqlTx, e: Envelope) -> None:
    d, at, sid = e.payload, naive_utc(e.occurred_at), e.stream_id
    if e.type == "presence.joined":
        user = _uuid_or_none(d.get("user_id") or d.get("viewer_id"))
        await _reach(tx, sid, user or str(d.get("connection_id")), joined=True)  # the viewer key of the queries
        loc = d.get("location")
        await tx.execute(
            "INSERT INTO live_stream_viewers (id, stream_id, user_id, viewer_session_id, join_time, device_type,"
            " location) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                row_id(sid, d.get("connection_id")),
                sid,
                _uuid_or_none(d.get("user_id") or d.get("viewer_id")),
                str(d.get("connection_id")),
                at,
                d.get("device_type"),
                json.dumps({"city": loc} if isinstance(loc, str) else loc) if loc else None,
            ),
        )
        return
    if e.type == "presence.left":
        await tx.execute(
            "UPDATE live_stream_viewers SET leave_time = %s, watch_duration_seconds = %s WHERE id = %s"
            " AND leave_time IS NULL",
            (at, int(round(float(d.get("watch_seconds") or 0))), row_id(sid, d.get("connection_id"))),
        )
        return
    kind = KINDS.get(e.type) or (d.get("reaction_type") if e.type == "reaction.added" else None)
    if kind is None:
        return
    if kind == "purchase_intent":
        await _reach(tx, sid, _uuid_or_none(d.get("user_id")), tapped=True)
    content = d.get("message") if e.type == "chat.message_sent" else None
    meta = {k: d[k] for k in ("product_id", "quantity", "language", "message_type") if k in d}
    await tx.execute(
        "INSERT INTO live_stream_interactions (id, stream_id, user_id, interaction_type, content, metadata,"
        " timestamp) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (row_id(e.id), sid, _uuid_or_none(d.get("user_id")), kind, content, json.dumps(meta), at),
    )


async def _domain(tx: SqlTx, e: Envelope) -> None:
    d = e.payload
    if e.type == "Cart.Opened":
        await tx.execute(
            "INSERT INTO analytics_carts (id, stream_id, buyer_id) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, d["stream_id"], d["buyer_id"]),
        )
    elif e.type == "Cart.ItemAdded":
        await tx.execute(
            "INSERT INTO analytics_cart_adds (id, cart_id, product_id, quantity, at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                row_id(e.aggregate_id, e.aggregate_version),
                e.aggregate_id,
                d["product_id"],
                d["quantity"],
                naive_utc(e.occurred_at),
            ),
        )
        rows = await tx.fetch("SELECT stream_id, buyer_id FROM analytics_carts WHERE id = %s", (e.aggregate_id,))
        for r in rows:
            await _reach(tx, r["stream_id"], str(r["buyer_id"]), carted=True)
    elif e.type == "Order.Placed":  # checked out (an instant checkout skips the cart): a cart add
        await _reach(tx, d.get("stream_id"), _uuid_or_none(d.get("buyer_id")), carted=True)
    elif e.type == "HostFollow.Followed":
        await tx.execute(
            "INSERT INTO analytics_follower_changes (id, follow_id, host_id, follower_id, delta, at)"
            " VALUES (%s, %s, %s, %s, 1, %s) ON CONFLICT (id) DO NOTHING",
            (
                row_id(e.aggregate_id, e.aggregate_version),
                e.aggregate_id,
                d["host_id"],
                str(d["follower_id"]),
                naive_utc(e.occurred_at),
            ),
        )
    elif e.type in FOLLOW_DELTAS:
        # Later events of a pair do not name the host: the pair's first row does (same partition, earlier).
        await tx.execute(
            "INSERT INTO analytics_follower_changes (id, follow_id, host_id, follower_id, delta, at)"
            " SELECT %s, follow_id, host_id, follower_id, %s, %s FROM analytics_follower_changes"
            " WHERE follow_id = %s ORDER BY at LIMIT 1 ON CONFLICT (id) DO NOTHING",
            (
                row_id(e.aggregate_id, e.aggregate_version),
                FOLLOW_DELTAS[e.type],
                naive_utc(e.occurred_at),
                e.aggregate_id,
            ),
        )


class AnalyticsTables:
    name = "analytics"
    topics = ("domain", "interactions")

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                if e.aggregate_id is None and e.stream_id:
                    await _interaction(tx, e)
                    n += 1
                elif e.type.startswith(("Cart.", "HostFollow.")) or e.type == "Order.Placed":
                    await _domain(tx, e)
                    n += 1
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "TRUNCATE live_stream_viewers, live_stream_interactions, analytics_carts,"
                " analytics_cart_adds, analytics_follower_changes, analytics_reach"
            )
