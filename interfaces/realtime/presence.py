"""Who is watching through which gateway process, so a crashed process's viewers still leave (exactly once).

A process that is SIGKILLed sends no ``presence.left``: without help its viewers would stay in
``STREAM_VIEWERS`` / ``current_viewers`` forever. So every process keeps, in Redis, the viewers the log
believes it holds: ``RT_PRESENCE:{origin}`` (field ``{stream_id} {connection_id}``, value the facts a
``presence.left`` needs). The record follows the log, not the socket: it is written when the broker acks the
``presence.joined`` and removed when it acks the ``presence.left``. So the record set is "joined on the log and
not yet left on the log" (up to the instant between an ack and the Redis write).

The reaper, in every process, looks once a second for origins whose heartbeat in ``RT_GATEWAYS`` is older than
``DEAD_AFTER_S``. Each dead origin is claimed with ``SET RT_REAP:{origin} NX EX``, so when two survivors notice
the same death only one publishes. The claimant sends one ``presence.left`` per record, numbered under the
origin ``{dead}~reaped`` in record order and dated at the dead process's last heartbeat: if the claimant
itself dies half-way, the next claimant (after the claim expires) sends the same ids with the same payloads,
and read models, idempotent by id, apply each once. Only after every one is acked are the records, the dead
process's room counts and its heartbeat deleted.

A process that was only frozen past ``DEAD_AFTER_S`` and comes back finds ``RT_REAPED:{origin}``: it
announces its viewers again (new ``presence.joined``) and rewrites its room counts, so nobody is lost either
way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from application import interactions as it
from application.interactions import InteractionIds, interaction
from interfaces.realtime.publisher import InteractionPublisher
from interfaces.realtime.room_ticker import DEAD_AFTER_S, GATEWAYS, counts_key

log = logging.getLogger(__name__)
CLAIM_S = 30  # a claimant that died half-way is replaced after this long
REAP_EVERY_S = 1.0


def presence_key(origin: str) -> str:
    return f"RT_PRESENCE:{origin}"


def reaped_key(origin: str) -> str:
    return f"RT_REAPED:{origin}"


def _claim_key(origin: str) -> str:
    return f"RT_REAP:{origin}"


class PresenceLedger:
    """This process's records: changed by broker acks, written to Redis by one task in order."""

    def __init__(self, redis: Any, origin: str) -> None:
        self._r = redis
        self._key = presence_key(origin)
        self._pending: dict[str, str | None] = {}
        self._wake = asyncio.Event()

    def joined(self, stream_id: str, connection_id: str, record: dict[str, Any]) -> Any:
        """A delivery callback: remember the viewer once ``presence.joined`` is on the log."""

        def on_delivered(ok: bool) -> None:
            if ok:
                self._change(f"{stream_id} {connection_id}", json.dumps(record))

        return on_delivered

    def left(self, stream_id: str, connection_id: str) -> Any:
        def on_delivered(ok: bool) -> None:
            if ok:  # not acked: keep the record, so a reaper still sends a left if this process dies
                self._change(f"{stream_id} {connection_id}", None)

        return on_delivered

    def _change(self, field: str, value: str | None) -> None:
        self._pending.pop(field, None)  # keep arrival order: a later change goes after earlier ones
        self._pending[field] = value
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # Redis hiccup: the changes stay pending and go with the next flush
                log.exception("presence records not written")
                await asyncio.sleep(0.5)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for field, value in batch.items():
                    if value is None:
                        pipe.hdel(self._key, field)
                    else:
                        pipe.hset(self._key, field, value)
                await pipe.execute()
        except Exception:
            batch.update(self._pending)
            self._pending = batch
            raise

    async def close(self) -> bool:
        """After the publisher's last acks: write what is pending; True if no viewer is left on record."""
        await self.flush()
        return int(await self._r.hlen(self._key)) == 0


def _left_payload(field: str, raw: str, dead: str, last_seen: float) -> tuple[str, dict[str, Any]]:
    stream_id, _, connection_id = field.partition(" ")
    try:
        rec = json.loads(raw)
    except ValueError:
        rec = {}
    joined_at = float(rec.get("joined_at") or last_seen)
    return stream_id, {
        "viewer_id": rec.get("viewer_id"),
        "connection_id": connection_id,
        "watch_seconds": round(max(0.0, last_seen - joined_at), 1),
        "location": rec.get("location"),
        "reason": "gateway_lost",
        "gateway": dead,
    }


class PresenceReaper:
    def __init__(
        self, redis: Any, publisher: InteractionPublisher, origin: str, *, reannounce: Callable[[], int]
    ) -> None:
        self._r = redis
        self._pub = publisher
        self._origin = origin
        self._reannounce = reannounce
        self.reaped_origins = 0
        self.reaped_viewers = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.once()
            except Exception:
                log.exception("presence reaper round failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=REAP_EVERY_S)
            except TimeoutError:
                pass

    async def once(self) -> int:
        """One look for dead processes; returns how many this process reaped."""
        if await self._r.delete(reaped_key(self._origin)):
            n = self._reannounce()
            log.warning("this gateway was taken for dead (frozen?) and reaped: %d viewers announced again", n)
        dead = await self._r.zrangebyscore(GATEWAYS, "-inf", time.time() - DEAD_AFTER_S, withscores=True)
        n = 0
        for origin, last_seen in dead:
            if origin == self._origin:
                continue
            if not await self._r.set(_claim_key(origin), self._origin, nx=True, ex=CLAIM_S):
                continue  # another survivor has it
            try:
                if await self._reap(origin, float(last_seen)):
                    n += 1
            finally:
                # Release only our own claim: done → nothing left to reap; failed → the next round retries.
                if await self._r.get(_claim_key(origin)) == self._origin:
                    await self._r.delete(_claim_key(origin))
        return n

    async def _reap(self, dead: str, last_seen: float) -> bool:
        records: dict[str, str] = await self._r.hgetall(presence_key(dead))
        ids = InteractionIds(f"{dead}~reaped")
        at = datetime.fromtimestamp(last_seen, UTC)
        sends = []
        streams = set()
        for field in sorted(records):
            stream_id, payload = _left_payload(field, records[field], dead, last_seen)
            streams.add(stream_id)
            sends.append(self._pub.deliver(interaction(ids, it.PRESENCE_LEFT, stream_id, payload, at)))
        if sends and not all(await asyncio.gather(*sends)):
            log.error("reaping gateway %s: some presence.left not acked; retrying later", dead)
            return False
        async with self._r.pipeline(transaction=True) as pipe:
            for stream_id in streams:
                pipe.hdel(counts_key(stream_id), dead)
            pipe.delete(presence_key(dead))
            pipe.set(reaped_key(dead), self._origin, ex=86_400)
            pipe.zrem(GATEWAYS, dead)
            await pipe.execute()
        self.reaped_origins += 1
        self.reaped_viewers += len(records)
        log.warning("gateway %s stopped heart-beating: %d viewers left on its behalf", dead, len(records))
        return True
