"""``livecommerce process``: the log's facts that earn or take back loyalty points (issue 14 part 4).

One consumer group (``{prefix}.process.loyalty``) reads the interactions topic (a signed-in viewer's
``presence.left`` with its watch time, ``chat.message_sent``) and the domain topic (``Order.Paid``,
``Order.Refunded``, ``Order.Cancelled``) and turns each into a command of ``LoyaltyService``. Offsets are
committed after the commands are saved; a redelivered fact is a no-op because the account remembers every
source it credited (the event id, the order id, the refund id). A fact that cannot be handled becomes a dead
letter of ``process.loyalty`` (ADR 0019), never a stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from application import interactions as it
from application.envelope import Envelope
from application.loyalty import LoyaltyService
from domain.errors import DomainError
from infra.settings import Settings

log = logging.getLogger(__name__)


def _one(loyalty: LoyaltyService, e: Envelope) -> Awaitable[int] | None:
    d = e.payload
    if e.type == it.PRESENCE_LEFT and e.stream_id:
        viewer = str(d.get("viewer_id") or "")
        if not viewer or viewer.startswith("anon:"):
            return None
        return loyalty.watched(viewer, e.stream_id, float(d.get("watch_seconds") or 0), str(e.id))
    if e.type == it.CHAT_SENT and e.stream_id and d.get("user_id"):
        return loyalty.chatted(str(d["user_id"]), e.stream_id, str(e.id))
    if e.type == "Order.Paid":
        return loyalty.order_paid(UUID(str(e.aggregate_id)))
    if e.type == "Order.Refunded":
        return loyalty.order_refunded(UUID(str(e.aggregate_id)), str(d["refund_id"]))
    if e.type == "Order.Cancelled":
        return loyalty.order_cancelled(UUID(str(e.aggregate_id)))
    return None


def loyalty_apply(loyalty: LoyaltyService) -> Callable[[Sequence[Envelope]], Awaitable[int]]:
    """Interactions of a batch are submitted together (the writer saves them in a few transactions); an
    account's order events one after another, in the log's order."""

    async def apply(envelopes: Sequence[Envelope]) -> int:
        together = [c for e in envelopes if not e.type.startswith("Order.") and (c := _one(loyalty, e))]
        results = await asyncio.gather(*together, return_exceptions=True)
        for r in results:
            if isinstance(r, DomainError):
                log.warning("loyalty: refused: %s", r)
            elif isinstance(r, BaseException):
                raise r
        for e in envelopes:
            if e.type.startswith("Order.") and (c := _one(loyalty, e)) is not None:
                try:
                    await c
                except DomainError as exc:
                    log.warning("loyalty: %s %s refused: %s", e.type, e.aggregate_id, exc)
        return len(envelopes)

    return apply


async def run_loyalty(settings: Settings, loyalty: LoyaltyService, stop: asyncio.Event) -> None:
    from infra import kafka
    from infra.consumer_guard import GuardedConsumer

    await kafka.ensure_topics(settings)
    consumer = kafka.consumer(
        settings,
        settings.topic("interactions"),
        settings.domain_topic,
        group_id=f"{settings.topic_prefix}.process.loyalty",
        client_id="loyalty",
    )
    await kafka.start_with_retry(consumer)
    print("loyalty points ready", flush=True)
    try:
        async with GuardedConsumer(settings, "process.loyalty", loyalty_apply(loyalty), stop) as guard:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                records = [m for msgs in batches.values() for m in msgs]
                if records:
                    await guard.handle(records)
                    await consumer.commit()
    finally:
        await consumer.stop()
