"""Redis ``STREAM_VIEWERS:{id}`` and ``STREAM_METRICS:{id}`` (spec §2.3), from the gateway's interactions.

``STREAM_VIEWERS`` holds who is watching now: user ids, and ``anon:{connection}`` for viewers without an
account. A viewer with two tabs is one viewer: connections are counted per viewer in
``STREAM_VIEWER_CONNS:{id}`` and only the first join and the last leave change the set.
``STREAM_METRICS`` fields: ``current_viewers``, ``total_viewers`` (distinct viewers ever, from
``STREAM_VIEWERS_SEEN:{id}``), ``peak_viewers``, ``likes``, ``hearts``, ``reactions`` (all kinds),
``reaction_{kind}`` for the other kinds, ``messages``, ``purchase_intents``, ``average_watch_time`` (seconds
per finished visit; answers show minutes). Sales figures are not kept here: they come from the orders
(``projections.analytics_queries``). Live shows also rise in ``TRENDING_STREAMS`` by a weight per interaction
of a signed-in viewer: an anonymous join counts as a viewer but lifts nothing (issue 19: a script of anonymous
connections cannot push a show up the list). Private shows are left out of trending when it is read.

``STREAM_HOT_PRODUCTS:{id}`` (sorted set, product id → purchase intents in the show): the show's hot products,
the Redis side of the §2.2 document's ``hot_products[].purchase_intent``. The gateway reads the top of it every
tick and pushes ``hot_products_update`` to the room when it changed (interfaces/realtime/room_ticker.py).

Idempotent by envelope id: one watermark per (show, gateway origin), see application.interactions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from application import interactions as it
from application.envelope import Envelope
from projections.ports import SequencedRedis
from projections.stream_status_redis import TRENDING

# How much one interaction lifts a live show among the trending ones: buying signals count most.
WEIGHTS = {it.PRESENCE_JOINED: 2, it.CHAT_SENT: 3, it.REACTION_ADDED: 1, it.PURCHASE_INTENT: 5}


def metrics_key(stream_id: str) -> str:
    return f"STREAM_METRICS:{stream_id}"


def hot_products_key(stream_id: str) -> str:
    return f"STREAM_HOT_PRODUCTS:{stream_id}"


def viewers_key(stream_id: str) -> str:
    return f"STREAM_VIEWERS:{stream_id}"


def _conns_key(stream_id: str) -> str:
    return f"STREAM_VIEWER_CONNS:{stream_id}"


def _seen_key(stream_id: str) -> str:
    return f"STREAM_VIEWERS_SEEN:{stream_id}"


def marks_key(stream_id: str) -> str:
    return f"PROJ:stream_metrics:{stream_id}"


def ops_for(e: Envelope) -> list[list[Any]]:
    sid = str(e.stream_id)
    m = metrics_key(sid)
    d = e.payload
    match e.type:
        case it.PRESENCE_JOINED:
            weight = WEIGHTS[e.type] if d.get("user_id") else 0  # anonymous viewers do not lift a show
            return [
                ["!JOIN", viewers_key(sid), _conns_key(sid), _seen_key(sid), m, TRENDING, d["viewer_id"], weight, sid]
            ]
        case it.PRESENCE_LEFT:
            return [
                ["!LEAVE", viewers_key(sid), _conns_key(sid), m, d["viewer_id"], float(d.get("watch_seconds") or 0)]
            ]
        case it.CHAT_SENT:
            return [["HINCRBY", m, "messages", 1], ["ZADD", TRENDING, "XX", "INCR", WEIGHTS[e.type], sid]]
        case it.REACTION_ADDED:
            kind = d.get("reaction_type", "like")
            field = {"like": "likes", "heart": "hearts"}.get(kind, f"reaction_{kind}")
            return [
                ["HINCRBY", m, field, 1],
                ["HINCRBY", m, "reactions", 1],
                ["ZADD", TRENDING, "XX", "INCR", WEIGHTS[e.type], sid],
            ]
        case it.PURCHASE_INTENT:
            return [
                ["HINCRBY", m, "purchase_intents", 1],
                ["ZINCRBY", hot_products_key(sid), 1, str(d["product_id"])],
                ["ZADD", TRENDING, "XX", "INCR", WEIGHTS[e.type], sid],
            ]
        case _:
            return []  # other interaction kinds still pass the watermark, so it keeps rising


def by_stream(envelopes: Sequence[Envelope]) -> dict[str, list[Envelope]]:
    """The batch per show, in log order (each show's envelopes come from one partition, in order)."""
    out: defaultdict[str, list[Envelope]] = defaultdict(list)
    for e in envelopes:
        if e.type in it.TYPES and e.stream_id:
            out[e.stream_id].append(e)
    return out


class StreamMetricsRedis:
    name = "stream_metrics"
    topics = ("interactions",)

    def __init__(self, redis: SequencedRedis) -> None:
        self._redis = redis

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for sid, events in by_stream(envelopes).items():
            items = [(*it.origin_and_seq(e.id), ops_for(e)) for e in events]
            applied += await self._redis.apply_sequenced(marks_key(sid), items)
        return applied

    async def reset(self) -> None:
        await self._redis.delete_matching(
            [
                "STREAM_VIEWERS:*",
                "STREAM_VIEWER_CONNS:*",
                "STREAM_VIEWERS_SEEN:*",
                "STREAM_METRICS:*",
                "STREAM_HOT_PRODUCTS:*",
                "PROJ:stream_metrics:*",
            ]
        )
