"""The process managers that act on due work (``infra.due_work``): flash-sale clocks, hold expiry, auctions, group
buys, polls, quizzes, loyalty expiry, carts, payment reconciliation and refunds — each asks its aggregate to
decide. ``infra.process_managers`` runs them (see its docstring for what each one does).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from application import due_work as dw
from application.auctions import AuctionService
from application.checkout import CheckoutService
from application.flash_sales import FlashSaleService
from application.group_buys import GroupBuyService
from application.loyalty import LoyaltyService
from application.polls import PollService
from application.quizzes import QuizService
from application.refunds import RefundService
from domain.errors import DomainError
from infra import metrics
from infra.bootstrap import utc_now
from infra.due_work import DueWork, Entry

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

    def __init__(self, due: DueWork, flash_sales: FlashSaleService, clock: Callable[[], datetime] = utc_now) -> None:
        self._due = due
        self._sales = flash_sales
        self._clock = clock

    async def sweep_once(self) -> int:
        entries = await self._due.due((dw.SALE_START, dw.SALE_END), self._clock())
        ended = _show_ended(entries)

        async def act(e: Entry) -> bool:
            done = await self._sales.advance(e.aggregate_id, show_ended=ended[e.aggregate_id])
            if done:
                log.info(
                    "flash sale %s %s%s", e.aggregate_id, done, " (its show ended)" if ended[e.aggregate_id] else ""
                )
            return done is not None

        return await _each(entries, act, "flash sale")


class HoldExpiry:
    def __init__(self, due: DueWork, flash_sales: FlashSaleService, clock: Callable[[], datetime] = utc_now) -> None:
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
            return (
                await self._auctions.settle_due(e.aggregate_id, show_ended=ended.get(e.aggregate_id, False)) is not None
            )

        return await _each(entries, act, "auction")


class GroupBuySettler:
    """At the deadline (or the end of its show) a group buy unlocks for everyone or releases everyone."""

    def __init__(self, due: DueWork, group_buys: GroupBuyService, clock: Callable[[], datetime] = utc_now) -> None:
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
    def __init__(
        self,
        due: DueWork,
        checkout: CheckoutService,
        *,
        after_s: float,
        timeout_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._due = due
        self._checkout = checkout
        self._after = after_s
        self._timeout = timeout_s
        self._clock = clock

    async def sweep_once(self) -> int:
        now = self._clock()
        rows = [
            e
            for e in await self._due.due((dw.PAYMENT,), now - timedelta(seconds=self._after))
            if e.data.get("provider_txn_id")
        ]
        for e in rows:
            give_up = (now - e.due_at).total_seconds() >= self._timeout
            try:
                await self._checkout.reconcile(
                    e.aggregate_id, str(e.data["method"]), str(e.data["provider_txn_id"]), give_up=give_up
                )
            except Exception:  # one provider down must not stop the others; the next pass retries
                log.exception("reconciling payment %s failed", e.aggregate_id)
        # The provider never opened a session (down at checkout): nothing to ask; past the timeout it fails.
        unopened = [
            e
            for e in await self._due.due((dw.PAYMENT,), now - timedelta(seconds=self._timeout))
            if not e.data.get("provider_txn_id")
        ]
        for e in unopened:
            try:
                await self._checkout.reconcile(e.aggregate_id, str(e.data["method"]), None, give_up=True)
            except Exception:
                log.exception("timing out unopened payment %s failed", e.aggregate_id)
        return len(rows) + len(unopened)


class RefundManager:
    """Requested refunds nobody finished: ask the provider, send if it has none, record the answer."""

    def __init__(
        self, due: DueWork, refunds: RefundService, *, after_s: float, clock: Callable[[], datetime] = utc_now
    ) -> None:
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
