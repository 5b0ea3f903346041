"""Per-room counters that change far more often than a phone should be told: viewer counts and reactions.

Viewer counts: every process keeps how many of a show's sockets it holds and writes that number to
``RT_ROOM_COUNTS:{stream_id}`` (field = process origin), with a heartbeat in ``RT_GATEWAYS``. A process that
died stops heart-beating and its numbers stop counting; the presence reaper (``presence.py``) then sends its
viewers' ``presence.left``. Each tick (at most ``fanout_max_fps`` per second) a
process reads the totals of the rooms it serves, in one round trip, and tells its own viewers only when the
number changed: latest value wins, one frame per room per tick, encoded once.

Hot products: the projection keeps ``STREAM_HOT_PRODUCTS:{stream_id}`` (purchase intents per product); the
tick reads the top ``HOT_TOP`` of each served room in the same round trip as the counts and sends
``hot_products_update`` to its own viewers when the list changed: coalesced exactly like the counts.

Reactions: 500 likes a second are 500 frames a second per viewer if relayed one by one. They are summed per
room and type over a tick and sent as one ``reaction_burst`` to the room (all processes) by the process that
received them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from typing import Any

import socketio

from projections.stream_metrics_redis import hot_products_key

log = logging.getLogger(__name__)
GATEWAYS = "RT_GATEWAYS"
HOT_TOP = 5
DEAD_AFTER_S = 6.0  # a heartbeat goes with every tick (4 per second by default): many missed beats = dead


def counts_key(stream_id: str) -> str:
    return f"RT_ROOM_COUNTS:{stream_id}"


def room_of(stream_id: str) -> str:
    return f"stream:{stream_id}"


CHAT_SUFFIX = ":chat"
BATCH_SUFFIX = "-batch"


def chat_room_of(stream_id: str) -> str:
    """Viewers who take chat one ``new_message`` at a time (the spec's client; the default)."""
    return f"stream:{stream_id}{CHAT_SUFFIX}"


def chat_batch_room_of(stream_id: str) -> str:
    """Viewers who joined with ``chat_batch``: chat arrives as ``new_messages`` a few times a second."""
    return chat_room_of(stream_id) + BATCH_SUFFIX


def hot_list(ranked: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """``[(product_id, intents)]`` best first → the pushed shape (the §2.2 ``hot_products`` field names)."""
    return [{"product_id": pid, "purchase_intent": int(score)} for pid, score in ranked]


class RoomTicker:
    def __init__(self, redis: Any, sio: socketio.AsyncServer, namespace: str, origin: str, fps: float) -> None:
        self._r = redis
        self._sio = sio
        self._ns = namespace
        self._origin = origin
        self._period = 1.0 / max(fps, 0.1)
        self.local: Counter[str] = Counter()  # stream_id -> sockets of this process in the room
        self._dirty: set[str] = set()
        self._sent: dict[str, int] = {}
        self._hot_sent: dict[str, list[dict[str, Any]]] = {}
        self._reactions: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.frames = 0

    def joined(self, stream_id: str) -> None:
        self.local[stream_id] += 1
        self._dirty.add(stream_id)

    def left(self, stream_id: str) -> None:
        self.local[stream_id] -= 1
        if self.local[stream_id] <= 0:
            del self.local[stream_id]
            self._sent.pop(stream_id, None)
            self._hot_sent.pop(stream_id, None)
        self._dirty.add(stream_id)

    def reacted(self, stream_id: str, reaction_type: str) -> None:
        self._reactions[stream_id][reaction_type] += 1

    async def total(self, stream_id: str) -> int:
        """The show's viewer count now (for a late joiner's first screen), this process's change included."""
        await self._flush_counts()
        got, _ = await self._read_totals([stream_id])
        return got.get(stream_id, 0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:  # Redis hiccup: skip a frame, never kill the loop
                log.exception("room tick failed")
            await asyncio.sleep(max(0.0, self._period - (time.monotonic() - started)))

    async def tick(self) -> None:
        await self._flush_counts()
        rooms = list(self.local)
        if rooms:
            totals, hot = await self._read_totals(rooms, hot=True)
            for sid in rooms:
                n = totals.get(sid, 0)
                if self._sent.get(sid) != n:
                    self._sent[sid] = n
                    self.frames += 1
                    # ignore_queue: every process tells its own viewers; no Redis hop, no duplicates.
                    await self._sio.emit(
                        "viewer_count_update",
                        {"stream_id": sid, "count": n},
                        room=room_of(sid),
                        namespace=self._ns,
                        ignore_queue=True,
                    )
                products = hot.get(sid, [])
                if products and self._hot_sent.get(sid) != products:
                    self._hot_sent[sid] = products
                    self.frames += 1
                    await self._sio.emit(
                        "hot_products_update",
                        {"stream_id": sid, "products": products},
                        room=room_of(sid),
                        namespace=self._ns,
                        ignore_queue=True,
                    )
        if self._reactions:
            bursts, self._reactions = self._reactions, defaultdict(Counter)
            for sid, counts in bursts.items():
                self.frames += 1
                await self._sio.emit(
                    "reaction_burst", {"stream_id": sid, "counts": dict(counts)}, room=room_of(sid), namespace=self._ns
                )

    async def _flush_counts(self) -> None:
        dirty, self._dirty = self._dirty, set()
        async with self._r.pipeline(transaction=False) as pipe:
            for sid in dirty:
                n = self.local.get(sid, 0)
                if n > 0:
                    pipe.hset(counts_key(sid), self._origin, n)
                else:
                    pipe.hdel(counts_key(sid), self._origin)
            pipe.zadd(GATEWAYS, {self._origin: time.time()})
            await pipe.execute()

    async def _read_totals(
        self, rooms: list[str], hot: bool = False
    ) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(GATEWAYS, time.time() - DEAD_AFTER_S, "+inf")
            for sid in rooms:
                pipe.hgetall(counts_key(sid))
            if hot:
                for sid in rooms:
                    pipe.zrevrange(hot_products_key(sid), 0, HOT_TOP - 1, withscores=True)
            alive_list, *replies = await pipe.execute()
        per_room = replies[: len(rooms)]
        hot_lists = {sid: hot_list(ranked) for sid, ranked in zip(rooms, replies[len(rooms) :], strict=False)}
        alive = set(alive_list)
        out: dict[str, int] = {}
        stale: list[tuple[str, str]] = []
        for sid, counts in zip(rooms, per_room, strict=True):
            total = 0
            for origin, n in counts.items():
                if origin in alive:
                    total += int(n)
                else:
                    stale.append((sid, origin))
            out[sid] = total
        if stale:  # a crashed process's numbers: forget them so nobody has to filter them again
            async with self._r.pipeline(transaction=False) as pipe:
                for sid, origin in stale:
                    pipe.hdel(counts_key(sid), origin)
                await pipe.execute()
        return out, hot_lists

    def recount(self) -> None:
        """Write every room's count again (after a reaper took this process for dead and removed them)."""
        self._dirty.update(self.local)

    async def close(self, forget: bool = True) -> None:
        """Graceful stop: this process's viewers are gone now, not in a few seconds. ``forget=False`` keeps
        the heartbeat to run out, so the reaper sends what this process could not (see presence.py)."""
        async with self._r.pipeline(transaction=False) as pipe:
            for sid in list(self.local):
                pipe.hdel(counts_key(sid), self._origin)
            if forget:
                pipe.zrem(GATEWAYS, self._origin)
            await pipe.execute()
