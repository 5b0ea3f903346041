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
All are idempotent, so several copies may run; each pass is cheap when there is nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from application import due_work as dw
from application.auctions import AuctionService
from application.checkout import CheckoutService
from application.envelope import Envelope
from application.flash_sales import FlashSaleService
from application.group_buys import GroupBuyService
from application.loyalty import LoyaltyService
from application.media_policy import MediaPolicy
from application.polls import PollService
from application.quizzes import QuizService
from application.refunds import RefundService
from domain.errors import DomainError
from infra import metrics
from infra.bootstrap import Container, utc_now
from infra.due_work import DueWork, Entry
from infra.loyalty_consumer import run_loyalty
from infra.settings import Settings

log = logging.getLogger(__name__)


async def _each(entries: list[Entry], act: Callable[[Entry], Awaitable[bool]], what: str) -> int:
    """Act on each aggregate once (entries of one aggregate grouped); one refusal never stops the others."""
    done, seen = 0, set()
    for entry in entries:
        if entry.aggregate_id in seen:
            continue
        seen.add(entry.aggregate_id)
        try:
            acted = bool(await act(entry))
        except DomainError as exc:
            log.warning("%s %s: refused: %s", what, entry.aggregate_id, exc)
            continue
        done += acted
        if acted:
            metrics.DUE_WORK_DONE.labels(entry.kind).inc()
    return done


def _show_ended(entries: list[Entry]) -> dict[UUID, bool]:
    ended: dict[UUID, bool] = {}
    for e in entries:
        ended[e.aggregate_id] = ended.get(e.aggregate_id, False) or e.show_ended
    return ended


class SaleClock:
    """Flash sales start and end by themselves, or close with their show."""

    def __init__(self, due: DueWork, flash_sales: FlashSaleService, clock: Callable[[], datetime] = utc_now
                 ) -> None:
        self._due = due
        self._sales = flash_sales
        self._clock = clock

    async def sweep_once(self) -> int:
        entries = await self._due.due((dw.SALE_START, dw.SALE_END), self._clock())
        ended = _show_ended(entries)

        async def act(e: Entry) -> bool:
            done = await self._sales.advance(e.aggregate_id, show_ended=ended[e.aggregate_id])
            if done:
                log.info("flash sale %s %s%s", e.aggregate_id, done, " (its show ended)" if ended[e.aggregate_id]
                         else "")
            return done is not None

        return await _each(entries, act, "flash sale")


class HoldExpiry:
    def __init__(self, due: DueWork, flash_sales: FlashSaleService, clock: Callable[[], datetime] = utc_now
                 ) -> None:
        self._due = due
        self._sales = flash_sales
        self._clock = clock

    async def sweep_once(self) -> int:
        expired = 0

        async def act(e: Entry) -> bool:
            nonlocal expired
            n = len(await self._sales.expire(e.aggregate_id))
            expired += n
            return n > 0

        await _each(await self._due.due((dw.HOLD,), self._clock()), act, "hold expiry")
        return expired


class AuctionCloser:
    """Closes auctions whose time is up (or whose show ended) and passes a lot on when its winner did not pay."""

    def __init__(self, due: DueWork, auctions: AuctionService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._auctions = auctions
        self._clock = clock

    async def sweep_once(self) -> int:
        entries = await self._due.due((dw.AUCTION_CLOSE, dw.AUCTION_PAYMENT), self._clock())
        ended = _show_ended([e for e in entries if e.kind == dw.AUCTION_CLOSE])

        async def act(e: Entry) -> bool:
            return await self._auctions.settle_due(e.aggregate_id, show_ended=ended.get(e.aggregate_id, False)
                                                   ) is not None

        return await _each(entries, act, "auction")


class GroupBuySettler:
    """At the deadline (or the end of its show) a group buy unlocks for everyone or releases everyone."""

    def __init__(self, due: DueWork, group_buys: GroupBuyService, clock: Callable[[], datetime] = utc_now
                 ) -> None:
        self._due = due
        self._groups = group_buys
        self._clock = clock

    async def sweep_once(self) -> int:
        async def act(e: Entry) -> bool:
            return await self._groups.settle_due(e.aggregate_id, show_ended=e.show_ended) is not None

        return await _each(await self._due.due((dw.GROUP_BUY,), self._clock()), act, "group buy")


class PollCloser:
    """A poll closes at its deadline (or when its show ends first), with its final results."""

    def __init__(self, due: DueWork, polls: PollService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._polls = polls
        self._clock = clock

    async def sweep_once(self) -> int:
        async def act(e: Entry) -> bool:
            return await self._polls.close_due(e.aggregate_id, show_ended=e.show_ended) is not None

        return await _each(await self._due.due((dw.POLL_CLOSE,), self._clock()), act, "poll")


class QuizCloser:
    """A quiz question whose time is up: its answer and counts are revealed (``quiz_question_result``)."""

    def __init__(self, due: DueWork, quizzes: QuizService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._quizzes = quizzes
        self._clock = clock

    async def sweep_once(self) -> int:
        async def act(e: Entry) -> bool:
            return await self._quizzes.close_due(e.aggregate_id)

        return await _each(await self._due.due((dw.QUIZ_QUESTION,), self._clock()), act, "quiz question")


class LoyaltyExpiry:
    """Loyalty points whose lot's time is up expire (what is left of the lot)."""

    def __init__(self, due: DueWork, loyalty: LoyaltyService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._loyalty = loyalty
        self._clock = clock

    async def sweep_once(self) -> int:
        async def act(e: Entry) -> bool:
            return await self._loyalty.expire_due(e.aggregate_id) > 0

        return await _each(await self._due.due((dw.LOYALTY_LOT,), self._clock()), act, "loyalty points")


class CartExpiry:
    """An abandoned live cart gives its units back at its deadline (the Cart decides: one refilled since has a
    later deadline, which its ItemAdded has already moved the entry to)."""

    def __init__(self, due: DueWork, checkout: CheckoutService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._checkout = checkout
        self._clock = clock

    async def sweep_once(self) -> int:
        released = 0

        async def act(e: Entry) -> bool:
            nonlocal released
            n, _ = await self._checkout.expire_cart(e.aggregate_id)
            released += n
            return n > 0

        await _each(await self._due.due((dw.CART,), self._clock()), act, "live cart")
        return released


class PaymentReconciler:
    def __init__(self, due: DueWork, checkout: CheckoutService, *, after_s: float, timeout_s: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._checkout = checkout
        self._after = after_s
        self._timeout = timeout_s
        self._clock = clock

    async def sweep_once(self) -> int:
        now = self._clock()
        rows = [e for e in await self._due.due((dw.PAYMENT,), now - timedelta(seconds=self._after))
                if e.data.get("provider_txn_id")]
        for e in rows:
            give_up = (now - e.due_at).total_seconds() >= self._timeout
            try:
                await self._checkout.reconcile(e.aggregate_id, str(e.data["method"]), str(e.data["provider_txn_id"]),
                                               give_up=give_up)
            except Exception:  # one provider down must not stop the others; the next pass retries
                log.exception("reconciling payment %s failed", e.aggregate_id)
        # The provider never opened a session (down at checkout): nothing to ask; past the timeout it fails.
        unopened = [e for e in await self._due.due((dw.PAYMENT,), now - timedelta(seconds=self._timeout))
                    if not e.data.get("provider_txn_id")]
        for e in unopened:
            try:
                await self._checkout.reconcile(e.aggregate_id, str(e.data["method"]), None, give_up=True)
            except Exception:
                log.exception("timing out unopened payment %s failed", e.aggregate_id)
        return len(rows) + len(unopened)


class RefundManager:
    """Requested refunds nobody finished: ask the provider, send if it has none, record the answer."""

    def __init__(self, due: DueWork, refunds: RefundService, *, after_s: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._refunds = refunds
        self._after = after_s
        self._clock = clock

    async def sweep_once(self) -> int:
        done = 0
        for e in await self._due.due((dw.REFUND,), self._clock() - timedelta(seconds=self._after), limit=200):
            try:
                status = await self._refunds.execute(e.aggregate_id, e.item)
                log.info("refund %s: %s", e.item, status or "busy elsewhere")
                done += status in ("completed", "failed")
            except Exception:  # one provider down must not stop the others; the next pass asks again
                log.exception("refund %s of payment %s not executed; retrying next pass", e.item, e.aggregate_id)
        return done


async def run_media_policy(settings: Settings, policy: MediaPolicy, stop: asyncio.Event) -> None:
    """Media events → the stream's state (MediaPolicy); its own consumer group, offsets committed after. An
    event it cannot handle becomes a dead letter of ``process.media`` (``infra.dead_letters``)."""
    from infra import kafka
    from infra.dead_letters import GuardedConsumer

    await kafka.ensure_topics(settings)
    consumer = kafka.consumer(settings, settings.topic("media"), group_id=f"{settings.topic_prefix}.process.media",
                              client_id="media-policy")
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

    def __init__(self, due: DueWork, sweeps: list[tuple[str, Callable[[], Awaitable[int]]]], *, interval: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
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
    payments = PaymentReconciler(due, container.checkout, after_s=settings.payment_reconcile_after_s,
                                 timeout_s=settings.payment_session_timeout_s)
    refunds = RefundManager(due, container.refunds, after_s=settings.refund_retry_after_s)
    house = Housekeeping(due, [
        ("flash sales", SaleClock(due, container.flash_sales).sweep_once),
        ("hold expiry", HoldExpiry(due, container.flash_sales).sweep_once),
        ("auctions", AuctionCloser(due, container.auctions).sweep_once),
        ("group buys", GroupBuySettler(due, container.group_buys).sweep_once),
        ("live carts", CartExpiry(due, container.checkout).sweep_once),
        ("polls", PollCloser(due, container.polls).sweep_once),
        ("quizzes", QuizCloser(due, container.quizzes).sweep_once),
        ("loyalty points", LoyaltyExpiry(due, container.loyalty).sweep_once),
        ("payments", payments.sweep_once), ("refunds", refunds.sweep_once)], interval=settings.sweep_interval_s)
    policy = asyncio.create_task(run_media_policy(
        settings, MediaPolicy(container.writer, container.streams, clock=utc_now,
                              silence_s=settings.media_silence_s), stop))
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
    advisor = EngagementAdvisor(container.read_db, EngagementService(container.writer, clock=utc_now),
                                clock=utc_now, grace_s=settings.engagement_grace_s,
                                sentiment_every_s=settings.engagement_sentiment_every_s)
    await run_engagement_advisor(advisor, stop, settings.engagement_tick_s)
