"""Interactions → Kafka (``{prefix}.interactions``), keyed by show, in the order the gateway saw them.

One sender task drains a queue: the envelope ids' sequence numbers (application.interactions) must reach the
show's partition in order, and concurrent ``send`` calls from many handlers would not guarantee that. Handlers
do not hold the room for the broker: a viewer's message is on screen before Kafka has acked it; but the
sender's ack waits for the broker's (``on_delivered``), so an acknowledged chat message is always in the log.
The realtime plane never writes to the event store; where an interaction must change business state, a process
manager reads this topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from application.envelope import Envelope
from application.interactions import InteractionIds, interaction
from infra import kafka
from infra.settings import Settings

log = logging.getLogger(__name__)
Delivered = Callable[[bool], None]  # called once with True when the broker acked the envelope, else False


class InteractionPublisher:
    def __init__(self, settings: Settings, ids: InteractionIds, max_queued: int = 100_000) -> None:
        self._settings = settings
        self._topic = settings.topic("interactions")
        self.ids = ids
        self._queue: deque[tuple[Envelope, Delivered | None]] = deque()
        self._max = max_queued
        self._wake = asyncio.Event()
        self._producer = kafka.producer(settings)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.published = 0
        self.dropped = 0
        self.failed = 0

    async def start(self) -> None:
        await kafka.ensure_topics(self._settings)
        await kafka.start_with_retry(self._producer)
        self._task = asyncio.create_task(self._run(), name="interaction-publisher")

    def publish(
        self,
        type_: str,
        stream_id: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        on_delivered: Delivered | None = None,
    ) -> Envelope:
        """Queue one fact; returns its envelope at once (its id is the fact's id everywhere).
        ``on_delivered`` learns whether the broker acked it (presence records follow the log, see presence)."""
        e = interaction(self.ids, type_, stream_id, payload, now)
        self.send(e, on_delivered)
        return e

    def send(self, e: Envelope, on_delivered: Delivered | None = None) -> None:
        """Queue an envelope built elsewhere (the presence reaper numbers its own)."""
        if len(self._queue) >= self._max:
            # The broker is gone for long: keep the gateway alive and say so, rather than grow without bound.
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.error("interaction queue full (%d); dropped %d so far", self._max, self.dropped)
            if on_delivered is not None:
                on_delivered(False)
            return
        self._queue.append((e, on_delivered))
        self._wake.set()

    async def deliver(self, e: Envelope) -> bool:
        """Queue an envelope and wait for the broker's answer: True once acked."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.send(e, lambda ok: done.done() or done.set_result(ok))
        return await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                e, then = self._queue.popleft()
                try:
                    fut = await self._producer.send(self._topic, e.to_json(), key=e.key)
                except Exception:  # a closed producer or a serialisation bug: count it, keep serving
                    self.failed += 1
                    log.exception("could not queue interaction %s", e.type)
                    if then is not None:
                        then(False)
                    continue
                fut.add_done_callback(lambda f, then=then: self._delivered(f, then))
            if self._closing:
                return

    def _delivered(self, fut: asyncio.Future[Any], then: Delivered | None) -> None:
        ok = not fut.cancelled() and fut.exception() is None
        if not ok:
            self.failed += 1
            log.error("interaction not delivered: %s", fut.exception() if not fut.cancelled() else "cancelled")
        else:
            self.published += 1
        if then is not None:
            try:
                then(ok)
            except Exception:
                log.exception("delivery callback failed")

    async def stop(self) -> None:
        """Send what is queued, wait for the broker's acks, close."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
        try:
            await self._producer.flush()
        finally:
            await self._producer.stop()
