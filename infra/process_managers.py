"""``livecommerce process``: the process managers that act when time passes rather than when a request comes.

Every one finds its work in ``due_work`` (``infra.due_work``), which this process keeps from the event store's
own notification log in the same transaction as its position there: never from a read model, so a stalled
relay, broker or projection cannot leave stock locked, a sale unstarted or a payment open. The decision is
always the aggregate's (an entry only says when to look).

- Flash sales: started at ``start_time`` and ended at ``end_time`` (a sale whose window passed unstarted is
  cancelled); the waits are timed to the next due moment, not to the sweep interval.
- Hold expiry: flash-sale holds past their deadline are released (returned units go to the waitlist first);
  holds taken before a sale ended keep their deadline.
- A show's end: its open flash sales, auctions and group buys close (``show_ended``), at once.
- Auctions: closed when their time is up; a lot passes to the next bidder when its winner did not pay in time.
- Group buys: at the deadline, unlocked for everyone or released for everyone.
- Media policy: the first segment of a scheduled show starts it; an interrupted ingest marks its video
  interrupted, a resumed one clears it (a consumer of the media topic).
- Payment reconciliation: payments still "processing" after ``payment_reconcile_after_s`` are checked with the
  provider; after ``payment_session_timeout_s`` an open one fails, its order fails and its holds are released;
  so does an online payment whose provider session never opened (the provider was down at checkout).
- Refunds: refunds still "requested" after ``refund_retry_after_s`` (the API's inline attempt failed, timed
  out, or the process died between recording and calling) are executed by ``RefundService.execute``: under a
  lock per refund, the provider is asked first whether the refund already exists, and it is sent only if not.
All are idempotent, so several copies may run; each pass is cheap when there is nothing to do. The managers
of due work live in ``due_managers.py``; this module runs them with the media policy and housekeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from application.envelope import Envelope
from application.media_policy import MediaPolicy
from domain.errors import DomainError
from infra.bootstrap import Container, utc_now
from infra.due_managers import (
    AuctionCloser,
    CartExpiry,
    GroupBuySettler,
    HoldExpiry,
    LoyaltyExpiry,
    PaymentReconciler,
    PollCloser,
    QuizCloser,
    RefundManager,
    SaleClock,
)
from infra.due_work import DueWork
from infra.loyalty_consumer import run_loyalty
from infra.settings import Settings

log = logging.getLogger(__name__)


async def run_media_policy(settings: Settings, policy: MediaPolicy, stop: asyncio.Event) -> None:
    """Media events → the stream's state (MediaPolicy); its own consumer group, offsets committed after. An
    event it cannot handle becomes a dead letter of ``process.media`` (``infra.dead_letters``)."""
    from infra import kafka
    from infra.consumer_guard import GuardedConsumer

    await kafka.ensure_topics(settings)
    consumer = kafka.consumer(
        settings, settings.topic("media"), group_id=f"{settings.topic_prefix}.process.media", client_id="media-policy"
    )
    await kafka.start_with_retry(consumer)
    print("media policy ready", flush=True)
    try:
        async with GuardedConsumer(settings, "process.media", media_policy_apply(policy), stop) as guard:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                records = [m for msgs in batches.values() for m in msgs]
                if records:
                    await guard.handle(records)
                    await consumer.commit()
                for sid in await policy.sweep_silent():
                    log.info("media policy: stream %s went quiet: video interrupted", sid)
    finally:
        await consumer.stop()


def media_policy_apply(policy: MediaPolicy) -> Callable[[Sequence[Envelope]], Awaitable[int]]:
    async def apply(envelopes: Sequence[Envelope]) -> int:
        for e in envelopes:
            try:
                done = await policy.handle(e)
                if done:
                    log.info("media policy: stream %s %s", e.stream_id, done)
            except DomainError as exc:  # e.g. an unverified host's stream cannot start: logged, skipped
                log.warning("media policy refused: %s", exc)
        return len(envelopes)

    return apply


class Housekeeping:
    """One pass: plan new events into ``due_work``, then run the sweeps when something is due; the wait until
    the next pass ends at the next due moment, at a new event in the store, or after ``interval``."""

    def __init__(
        self,
        due: DueWork,
        sweeps: list[tuple[str, Callable[[], Awaitable[int]]]],
        *,
        interval: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.due = due
        self.sweeps = sweeps
        self.interval = interval
        self.clock = clock
        self.next_sweep = clock()

    async def pass_once(self) -> None:
        try:
            earliest = await self.due.catch_up()
            if earliest is not None and earliest < self.next_sweep:
                self.next_sweep = earliest
        except Exception:
            log.exception("due work: catching up with the store failed; retrying next pass")
        if self.clock() < self.next_sweep:
            return
        for name, sweep in self.sweeps:
            try:
                n = await sweep()
                if n:
                    log.info("%s: %d handled", name, n)
            except Exception:
                log.exception("%s pass failed; retrying next pass", name)
        now = self.clock()
        self.next_sweep = now + timedelta(seconds=self.interval)
        try:
            upcoming = await self.due.next_due(now)
        except Exception:
            log.exception("due work: cannot read the next due moment")
            upcoming = None
        if upcoming is not None and upcoming < self.next_sweep:
            self.next_sweep = upcoming

    def seconds_to_next(self) -> float:
        return min(self.interval, max(0.0, (self.next_sweep - self.clock()).total_seconds()))


async def run_process_managers(settings: Settings, stop: asyncio.Event) -> None:
    # The API writes the same aggregates (a sale's holds): every decision here reads the store's newer events
    # first. With a warm cache alone, "nothing is due" on a stale sale writes nothing, so no conflict ever
    # refreshes it, and holds taken since were never expired (found by the kill -9 drill, tests/drills).
    settings = settings.model_copy(update={"command_cache_fastforward": True})
    container = Container(settings)
    await container.open()
    assert container.flash_sales and container.checkout and container.auctions and container.group_buys
    assert container.refunds is not None and container.writer and container.streams and container.polls
    assert container.refunds is not None and container.writer and container.streams and container.quizzes
    assert container.loyalty is not None
    due = DueWork(settings)
    await due.open()
    payments = PaymentReconciler(
        due,
        container.checkout,
        after_s=settings.payment_reconcile_after_s,
        timeout_s=settings.payment_session_timeout_s,
    )
    refunds = RefundManager(due, container.refunds, after_s=settings.refund_retry_after_s)
    house = Housekeeping(
        due,
        [
            ("flash sales", SaleClock(due, container.flash_sales).sweep_once),
            ("hold expiry", HoldExpiry(due, container.flash_sales).sweep_once),
            ("auctions", AuctionCloser(due, container.auctions).sweep_once),
            ("group buys", GroupBuySettler(due, container.group_buys).sweep_once),
            ("live carts", CartExpiry(due, container.checkout).sweep_once),
            ("polls", PollCloser(due, container.polls).sweep_once),
            ("quizzes", QuizCloser(due, container.quizzes).sweep_once),
            ("loyalty points", LoyaltyExpiry(due, container.loyalty).sweep_once),
            ("payments", payments.sweep_once),
            ("refunds", refunds.sweep_once),
        ],
        interval=settings.sweep_interval_s,
    )
    policy = asyncio.create_task(
        run_media_policy(
            settings,
            MediaPolicy(container.writer, container.streams, clock=utc_now, silence_s=settings.media_silence_s),
            stop,
        )
    )
    loyalty = asyncio.create_task(run_loyalty(settings, container.loyalty, stop))
    advisor = asyncio.create_task(_engagement_advisor(settings, container, stop))
    await house.pass_once()
    print(f"process managers ready at position {due.position}", flush=True)
    try:
        while not stop.is_set():
            await due.wait(house.seconds_to_next())
            await house.pass_once()
    finally:
        for task in (policy, loyalty, advisor):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await due.close()
        await container.close()


async def _engagement_advisor(settings: Settings, container: Container, stop: asyncio.Event) -> None:
    from application.engagement_service import EngagementService
    from infra.engagement_advisor import EngagementAdvisor, run_engagement_advisor

    assert container.writer is not None and container.read_db is not None
    advisor = EngagementAdvisor(
        container.read_db,
        EngagementService(container.writer, clock=utc_now),
        clock=utc_now,
        grace_s=settings.engagement_grace_s,
        sentiment_every_s=settings.engagement_sentiment_every_s,
    )
    await run_engagement_advisor(advisor, stop, settings.engagement_tick_s)
