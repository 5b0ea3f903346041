"""Loyalty points (issue 14 part 4): earned for watching, chatting, purchases and quiz wins, spent at checkout,
taken back on refunds, expired after a configured period.

The facts that earn points come from the log (``livecommerce process``'s loyalty consumer: presence and chat
interactions, paid and refunded orders), each credited once by its id; quiz winners are credited in the quiz's
own save (``quiz_rewards``) and a checkout spends points in the order's own save (``redeem``), so neither can
happen without the other nor twice. Every decision reads the account from the event store (through the
batching writer's unit of work), never from a read model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.errors import DomainError, NotFound
from domain.loyalty import InvalidPoints, LoyaltyAccount, loyalty_account_id
from domain.order import Order
from domain.quiz import Quiz


class TooManyPoints(DomainError):
    code = "too_many_points"
    http_status = 422


@dataclass(frozen=True)
class LoyaltyPolicy:
    watch_block_s: float = 300.0  # a block of presence earns watch_points
    watch_points: int = 5
    watch_cap_per_show: int = 60
    chat_points: int = 1
    chat_cap_per_show: int = 10
    purchase_points_per_100: int = 1  # per 100 BDT paid
    quiz_rewards: tuple[int, ...] = (100, 50, 25)  # by rank in a quiz's final scores
    point_value: Decimal = Decimal("0.50")  # BDT off per point spent at checkout
    expiry_s: float = 365 * 86_400.0


@dataclass(frozen=True)
class LoyaltyView:
    user_id: str
    balance: int
    tier: str
    lifetime: int
    point_value: Decimal
    next_expiry: datetime | None
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0


def account_of(uow: UnitOfWork, user_id: str, now: datetime) -> LoyaltyAccount:
    """The user's account as the store has it now, opened on first use."""
    acc: LoyaltyAccount | None = uow.find(loyalty_account_id(user_id))
    if acc is None:
        acc = LoyaltyAccount.open(user_id=user_id, now=now)
        uow.add(acc)
    return acc


class LoyaltyService:
    def __init__(self, writer: BatchWriter, policy: LoyaltyPolicy, *, clock: Callable[[], datetime]) -> None:
        self._writer = writer
        self.policy = policy
        self._clock = clock

    def _expires(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.policy.expiry_s)

    async def _credit(self, user_id: str, **earn: Any) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            return account_of(uow, user_id, now).earn(now=now, expires_at=self._expires(now), **earn)

        return await self._writer.submit(decide)

    # ---- earning from the log ---------------------------------------------------------------------------------
    async def watched(self, user_id: str, stream_id: str, seconds: float, source_id: str) -> int:
        p = self.policy
        points = int(seconds // p.watch_block_s) * p.watch_points
        if points <= 0:
            return 0
        return await self._credit(
            user_id, source="watch", source_id=source_id, points=points, stream_id=stream_id, cap=p.watch_cap_per_show
        )

    async def chatted(self, user_id: str, stream_id: str, source_id: str) -> int:
        p = self.policy
        return await self._credit(
            user_id,
            source="chat",
            source_id=source_id,
            points=p.chat_points,
            stream_id=stream_id,
            cap=p.chat_cap_per_show,
        )

    def _purchase_points(self, amount: Decimal) -> int:
        return int((amount / 100).to_integral_value(ROUND_DOWN)) * self.policy.purchase_points_per_100

    async def order_paid(self, order_id: UUID) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            order: Order = uow.current(order_id)
            if order.status not in ("paid", "refunded"):
                return 0
            points = self._purchase_points(order.total - order.refunded_amount)
            return account_of(uow, str(order.buyer_id), now).earn(
                source="purchase",
                source_id=str(order_id),
                points=points,
                now=now,
                expires_at=self._expires(now),
                stream_id=None,
                order_id=str(order_id),
            )

        return await self._writer.submit(decide)

    async def order_refunded(self, order_id: UUID, refund_id: str) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            order: Order = uow.current(order_id)
            keep = self._purchase_points(order.total - order.refunded_amount)
            acc = account_of(uow, str(order.buyer_id), now)
            return acc.reverse_purchase(order_id=str(order_id), refund_id=refund_id, keep=keep, now=now)

        return await self._writer.submit(decide)

    async def order_cancelled(self, order_id: UUID) -> int:
        """An order that will never be paid gives back the points spent on it (as a new lot)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            order: Order = uow.current(order_id)
            acc = account_of(uow, str(order.buyer_id), now)
            spent = acc.redeemed.get(str(order_id), 0)
            return (
                acc.earn(
                    source="returned",
                    source_id=f"returned:{order_id}",
                    points=spent,
                    now=now,
                    expires_at=self._expires(now),
                )
                if spent
                else 0
            )

        return await self._writer.submit(decide)

    async def expire_due(self, account_id: UUID) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            acc: LoyaltyAccount = uow.get(account_id)
            return acc.expire(now=now)

        return await self._writer.submit(decide, not_found=lambda i: NotFound("no such account", id=str(i)))

    # ---- inside other commands' units of work -----------------------------------------------------------------
    def quiz_rewards(self, uow: UnitOfWork, quiz: Quiz, now: datetime) -> list[dict[str, Any]]:
        """Credit the winners of a quiz that just ended (in the quiz's own save). → [{user_id, rank, points}]."""
        out = []
        for rank, s in enumerate(quiz.scores()[: len(self.policy.quiz_rewards)], start=1):
            if s["score"] <= 0:
                break
            points = account_of(uow, s["user_id"], now).earn(
                source="quiz",
                source_id=f"quiz:{quiz.id}",
                points=self.policy.quiz_rewards[rank - 1],
                now=now,
                expires_at=self._expires(now),
                stream_id=str(quiz.stream_id),
            )
            out.append({"user_id": s["user_id"], "rank": rank, "points": points})
        return out

    def redeem(
        self, uow: UnitOfWork, *, buyer_id: str, order_id: UUID, points: int, room: Decimal, now: datetime
    ) -> Decimal:
        """Spend ``points`` on an order being placed (at most worth ``room``, what is left to pay). → the
        discount in BDT. Refused (nothing spent) above the balance or above the order's worth."""
        if points <= 0:
            raise InvalidPoints("loyalty_points must be positive", loyalty_points=points)
        value = (Decimal(points) * self.policy.point_value).quantize(Decimal("0.01"))
        if value > room:
            raise TooManyPoints(
                "the points are worth more than the order",
                loyalty_points=points,
                most=int(room / self.policy.point_value),
            )
        acc = account_of(uow, buyer_id, now)
        acc.redeem(order_id=str(order_id), points=points, value=value, now=now)
        return value

    # ---- reading ------------------------------------------------------------------------------------------------
    async def view(self, user_id: str) -> LoyaltyView:
        now = self._clock()

        def decide(uow: UnitOfWork) -> LoyaltyView:
            acc: LoyaltyAccount | None = uow.find(loyalty_account_id(user_id))
            if acc is None:
                return LoyaltyView(user_id, 0, "bronze", 0, self.policy.point_value, None)
            acc = uow.current(acc.id)
            expiries = [lot["expires_at"] for lot in acc.lots.values() if lot["expires_at"] > now]
            return LoyaltyView(
                user_id,
                acc.available(now),
                acc.tier,
                acc.lifetime,
                self.policy.point_value,
                min(expiries) if expiries else None,
                list(reversed(acc.history)),
                acc.version,
            )

        return await self._writer.submit(decide)
