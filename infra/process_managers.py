"""``livecommerce process``: the process managers that act when time passes rather than when a request comes.

- Auctions: closed when their time is up; a lot passes to the next bidder when its winner did not pay in time.
- Group buys: at the deadline, unlocked for everyone or released for everyone.
- Media policy: the first segment of a scheduled show starts it; an interrupted ingest marks its video
  interrupted, a resumed one clears it (a consumer of the media topic).
- Hold expiry: flash-sale holds past their deadline are released (the aggregate decides which; returned units
  go to the waitlist first). Candidates come from the read model; the decision is the aggregate's.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.auctions import AuctionService
from application.checkout import CheckoutService
from application.envelope import Envelope
from application.flash_sales import FlashSaleService
from application.group_buys import GroupBuyService
from application.media_policy import MediaPolicy
from application.refunds import RefundService
from domain.errors import DomainError
from infra.bootstrap import Container, utc_now
from infra.postgres import PgDatabase
from infra.settings import Settings

log = logging.getLogger(__name__)


class HoldExpiry:
    def __init__(self, db: PgDatabase, flash_sales: FlashSaleService) -> None:
        self._db = db
        self._sales = flash_sales

    async def sweep_once(self) -> int:
        rows = await self._db.fetch("SELECT id FROM flash_sales WHERE reserved_quantity > 0")
        expired = 0
        for r in rows:
            expired += len(await self._sales.expire(UUID(str(r["id"]))))
        return expired


class AuctionCloser:
    """Closes auctions whose time is up and passes a lot on when its winner did not pay in time."""

    def __init__(self, db: PgDatabase, auctions: AuctionService, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._auctions = auctions
        self._clock = clock

    async def sweep_once(self) -> int:
        now = self._clock().astimezone(UTC).replace(tzinfo=None)
        rows = await self._db.fetch(
            "SELECT id FROM auctions WHERE (status = 'open' AND ends_at <= %s) OR (status = 'awarded' AND pay_by < %s)",
            (now, now))
        done = 0
        for r in rows:
            if await self._auctions.settle_due(UUID(str(r["id"]))):
                done += 1
        return done


class GroupBuySettler:
    """At the deadline a group buy unlocks for everyone or releases everyone."""

    def __init__(self, db: PgDatabase, group_buys: GroupBuyService, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._groups = group_buys
        self._clock = clock

    async def sweep_once(self) -> int:
        now = self._clock().astimezone(UTC).replace(tzinfo=None)
        rows = await self._db.fetch("SELECT id FROM group_buys WHERE status = 'open' AND deadline <= %s", (now,))
        settled = 0
        for r in rows:
            if await self._groups.settle_due(UUID(str(r["id"]))):
                settled += 1
        return settled


class PaymentReconciler:
    def __init__(self, db: PgDatabase, checkout: CheckoutService, *, after_s: float, timeout_s: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._checkout = checkout
        self._after = after_s
        self._timeout = timeout_s
        self._clock = clock

    async def sweep_once(self) -> int:
        now = self._clock().astimezone(UTC).replace(tzinfo=None)
        rows = await self._db.fetch(
            "SELECT payment_id, payment_method, provider_txn_id, updated_at FROM orders WHERE payment_status ="
            " 'processing' AND provider_txn_id IS NOT NULL AND updated_at < %s",
            (now - timedelta(seconds=self._after),))
        for r in rows:
            give_up = (now - r["updated_at"]).total_seconds() >= self._timeout
            try:
                await self._checkout.reconcile(UUID(str(r["payment_id"])), r["payment_method"], r["provider_txn_id"],
                                               give_up=give_up)
            except Exception:  # one provider down must not stop the others; the next pass retries
                log.exception("reconciling payment %s failed", r["payment_id"])
        from projections.orders_pg import unopened_payments

        unopened = await unopened_payments(self._db, now - timedelta(seconds=self._timeout))
        for r in unopened:  # the provider never opened a session (down at checkout): nothing to ask, it fails
            try:
                await self._checkout.reconcile(UUID(str(r["payment_id"])), r["payment_method"], None, give_up=True)
            except Exception:
                log.exception("timing out unopened payment %s failed", r["payment_id"])
        return len(rows) + len(unopened)


class RefundManager:
    """Requested refunds nobody finished: ask the provider, send if it has none, record the answer."""

    def __init__(self, db: PgDatabase, refunds: RefundService, *, after_s: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._refunds = refunds
        self._after = after_s
        self._clock = clock

    async def sweep_once(self) -> int:
        from projections.orders_pg import refunds_due

        now = self._clock().astimezone(UTC).replace(tzinfo=None)
        done = 0
        for r in await refunds_due(self._db, now - timedelta(seconds=self._after)):
            try:
                status = await self._refunds.execute(UUID(str(r["payment_id"])), str(r["refund_id"]))
                log.info("refund %s: %s", r["refund_id"], status or "busy elsewhere")
                done += status in ("completed", "failed")
            except Exception:  # one provider down must not stop the others; the next pass asks again
                log.exception("refund %s of payment %s not executed; retrying next pass", r["refund_id"],
                              r["payment_id"])
        return done


async def run_media_policy(settings: Settings, policy: MediaPolicy, stop: asyncio.Event) -> None:
    """Media events → the stream's state (MediaPolicy); its own consumer group, offsets committed after."""
    from infra import kafka

    await kafka.ensure_topics(settings)
    consumer = kafka.consumer(settings, settings.topic("media"), group_id=f"{settings.topic_prefix}.process.media",
                              client_id="media-policy")
    await kafka.start_with_retry(consumer)
    print("media policy ready", flush=True)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for msgs in batches.values():
                for m in msgs:
                    try:
                        done = await policy.handle(Envelope.from_json(m.value))
                        if done:
                            log.info("media policy: stream %s %s", Envelope.from_json(m.value).stream_id, done)
                    except DomainError as exc:  # e.g. an unverified host's stream cannot start: logged, skipped
                        log.warning("media policy refused: %s", exc)
            if batches:
                await consumer.commit()
            for sid in await policy.sweep_silent():
                log.info("media policy: stream %s went quiet: video interrupted", sid)
    finally:
        await consumer.stop()


async def run_process_managers(settings: Settings, stop: asyncio.Event) -> None:
    container = Container(settings)
    await container.open()
    assert container.read_db and container.flash_sales and container.checkout and container.auctions
    expiry = HoldExpiry(container.read_db, container.flash_sales)
    closer = AuctionCloser(container.read_db, container.auctions)
    assert container.group_buys is not None
    groups = GroupBuySettler(container.read_db, container.group_buys)
    payments = PaymentReconciler(container.read_db, container.checkout, after_s=settings.payment_reconcile_after_s,
                                 timeout_s=settings.payment_session_timeout_s)
    assert container.refunds is not None
    refunds = RefundManager(container.read_db, container.refunds, after_s=settings.refund_retry_after_s)
    assert container.writer and container.streams
    policy = asyncio.create_task(run_media_policy(
        settings, MediaPolicy(container.writer, container.streams, clock=utc_now,
                              silence_s=settings.media_silence_s), stop))
    print("process managers ready", flush=True)
    try:
        while not stop.is_set():
            for name, sweep in (("hold expiry", expiry.sweep_once), ("auctions", closer.sweep_once),
                                ("group buys", groups.sweep_once),
                                ("payments", payments.sweep_once), ("refunds", refunds.sweep_once)):
                try:
                    n = await sweep()
                    if n:
                        log.info("%s: %d handled", name, n)
                except Exception:
                    log.exception("%s pass failed; retrying next pass", name)
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.sweep_interval_s)
            except TimeoutError:
                pass
    finally:
        policy.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await policy
        await container.close()
