"""Refunds (admin or the selling vendor): recorded in the event store first, then executed at the provider.

Two steps, each exactly once:

1. ``request`` decides and records: ``Order.refund`` + ``Payment.refund`` in one unit of work (the refund is
   ``requested``). Its id derives from the order, the caller and their Idempotency-Key, so a retry finds the
   refund it already recorded. A cash-on-delivery order paid in cash is refunded by hand: the refund is
   recorded ``completed`` (manual) at once and no provider is called.
2. ``execute`` sends a requested refund to the provider, keyed by the refund id, under a lock on that id (the
   API's inline attempt and the refund manager of ``livecommerce process`` never call at the same time).
   A refund is sent at most once: ``RefundSent`` is recorded before the call. The answer is recorded:
   ``completed``; ``failed`` when the provider refused (nothing was paid back); still ``requested`` when the
   answer was lost (timeout, dropped connection) or the provider says it is processing. A refund already
   sent is never sent again: the next pass only asks the provider whether it has a refund under our id
   (bKash refund status, SSLCommerz transaction query). Found → recorded; the provider cannot say (Nagad and
   Rocket have no lookup; bKash and SSLCommerz do not list it) → ``manual_review``: a person checks the
   provider's portal and settles it (``resolve``), and the refund manager leaves it alone.

The automatic refund recorded when a paid order's flash-sale hold had run out (checkout, reason
``reservation_expired``) is executed by the same ``execute``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.access import Actor, get_optional, refuse, require_role
from application.batch_writer import BatchWriter, UnitOfWork
from application.checkout import OrderNotFound, PaymentNotFound, payment_id_for
from application.fraud_cases import refund_hold
from domain.commerce_errors import InvalidOrderTransition, InvalidPaymentTransition
from domain.live_stream import LiveStream
from domain.order import Order
from domain.payment import Payment

log = logging.getLogger(__name__)
_NS = uuid.UUID("5d0c7f4e-2b1a-4c9e-8f3d-7a6b5c4d3e2f")
MANUAL_METHODS = ("cod",)  # paid in cash: refunded in cash, by hand


def refund_id_for(order_id: UUID, user_id: str, idempotency_key: str) -> str:
    return str(uuid.uuid5(_NS, f"refund:{order_id}:{user_id}:{idempotency_key}"))


class RefundRefused(Exception):
    """The provider answered and refused the refund: nothing was paid back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    status: str  # "completed" or "processing"


class RefundGateways(Protocol):
    """The providers' refund calls (infra adapts bKash, Nagad, Rocket, SSLCommerz)."""

    async def find_refund(self, method: str, provider_payment_id: str, refund_id: str) -> ProviderRefund | None:
        """The provider's refund made under ``refund_id``, if one was made (None: none, or cannot tell and the
        provider de-duplicates the refund call by our key, so sending it is safe)."""
        ...

    async def refund(
        self, method: str, provider_payment_id: str, amount: Decimal, reason: str, refund_id: str
    ) -> ProviderRefund:
        """Send the refund, keyed by ``refund_id``; raises ``RefundRefused``; other errors: outcome unknown."""
        ...


class Locks(Protocol):
    def hold(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Try to hold ``name`` for the block: True if this caller holds it, False if someone else does."""
        ...


@dataclass(frozen=True)
class RequestRefund:
    order_id: UUID
    idempotency_key: str
    amount: Decimal | None  # None: everything not yet refunded
    reason: str


@dataclass(frozen=True)
class RefundView:
    refund_id: str
    order_id: UUID
    payment_id: UUID
    amount: Decimal
    reason: str | None
    status: str  # requested, completed, failed, manual_review
    manual: bool
    provider_refund_id: str | None
    order_status: str
    payment_status: str
    refunded_total: Decimal
    replayed: bool


def view_of(order: Order, payment: Payment, refund_id: str, *, replayed: bool) -> RefundView:
    state = payment.refund_states.get(refund_id, {})
    amount = next(a for r, a in payment.refunds.items() if str(r) == refund_id)
    return RefundView(
        refund_id,
        order.id,
        payment.id,
        amount,
        state.get("reason"),
        payment.refund_status(refund_id) or "requested",
        bool(state.get("manual")),
        state.get("provider_refund_id"),
        order.status,
        payment.status,
        payment.refunded_amount,
        replayed,
    )


def check_seller(uow: UnitOfWork, actor: Actor | None, order: Order) -> None:
    """Admins (and internal callers) may act on any order; a vendor only on orders from their own streams."""
    if actor is None or actor.is_admin:
        return
    require_role(actor, "order.refund")
    stream: LiveStream | None = get_optional(uow, UUID(str(order.stream_id))) if order.stream_id else None
    if stream is None or actor.vendor_id is None or str(stream.vendor_id) != actor.vendor_id:
        raise refuse("order.refund", "this order was not sold by your vendor")


def record_refund(
    order: Order, payment: Payment, *, refund_id: str, amount: Decimal, reason: str, now: datetime
) -> None:
    """A refund decided on the Order and its Payment together (a cash-on-delivery payment is given back in
    cash, by hand: completed at once). ``POST /refunds`` and accepted returns record through here (checkout's
    automatic refunds take the same two steps inline); ``RefundService.execute`` then carries it out."""
    order.refund(refund_id=refund_id, amount=amount, now=now, reason=reason)
    payment.refund(refund_id=refund_id, amount=amount, now=now, reason=reason)
    if payment.method in MANUAL_METHODS:
        payment.complete_refund(refund_id=refund_id, now=now, manual=True)


@dataclass(frozen=True)
class _Due:
    method: str
    provider_payment_id: str | None
    amount: Decimal
    reason: str
    status: str
    sent: bool


class RefundService:
    def __init__(
        self, writer: BatchWriter, gateways: RefundGateways, locks: Locks, *, clock: Callable[[], datetime]
    ) -> None:
        self._writer = writer
        self._gateways = gateways
        self._locks = locks
        self._clock = clock

    async def request(self, cmd: RequestRefund, actor: Actor | None) -> RefundView:
        """Record the refund (exactly once per order, caller and key); a COD refund completes by hand."""
        now = self._clock()
        refund_id = refund_id_for(cmd.order_id, actor.user_id if actor else "system", cmd.idempotency_key)

        def decide(uow: UnitOfWork) -> RefundView:
            order: Order = uow.get(cmd.order_id)
            check_seller(uow, actor, order)
            payment: Payment = uow.get(
                UUID(str(order.payment_id)) if order.payment_id else payment_id_for(cmd.order_id)
            )
            if refund_id in {str(r) for r in payment.refunds}:
                return view_of(order, payment, refund_id, replayed=True)
            if order.status not in ("paid", "refunded"):
                raise InvalidOrderTransition(f"a {order.status} order cannot be refunded", status=order.status)
            refund_hold(uow, str(order.buyer_id), actor)  # a buyer under a refund-abuse review (issue 17)
            amount = cmd.amount if cmd.amount is not None else order.total - order.refunded_amount
            record_refund(order, payment, refund_id=refund_id, amount=amount, reason=cmd.reason, now=now)
            return view_of(order, payment, refund_id, replayed=False)

        return await self._writer.submit(decide, not_found=_order_missing)

    async def execute(self, payment_id: UUID, refund_id: str) -> str | None:
        """Carry a requested refund out at the provider, exactly once → its status (None: someone else is)."""
        async with self._locks.hold(f"refund:{refund_id}") as mine:
            if not mine:
                return None
            due = await self._writer.submit(
                lambda uow: _due(uow.get(payment_id), refund_id), not_found=_payment_missing
            )
            if due.status != "requested":
                return due.status
            if due.method in MANUAL_METHODS or due.provider_payment_id is None:
                return await self._record(payment_id, refund_id, "completed", None, manual=True)
            if due.sent:  # sent before and the answer never came: ask, never send again
                found = await self._gateways.find_refund(due.method, due.provider_payment_id, refund_id)
                if found is None:
                    return await self._record(
                        payment_id,
                        refund_id,
                        "manual_review",
                        None,
                        reason="sent; the provider cannot confirm the outcome",
                    )
            else:
                try:  # a refund recorded before RefundSent existed may have reached the provider: ask first
                    found = await self._gateways.find_refund(due.method, due.provider_payment_id, refund_id)
                    if found is None:
                        await self._record(payment_id, refund_id, "sent", None)
                        found = await self._gateways.refund(
                            due.method, due.provider_payment_id, due.amount, due.reason, refund_id
                        )
                except RefundRefused as exc:
                    return await self._record(payment_id, refund_id, "failed", None, reason=exc.reason)
            if found.status != "completed":
                return "requested"  # the provider is still working on it: asked again next pass
            return await self._record(payment_id, refund_id, "completed", found.provider_refund_id)

    async def execute_quietly(self, payment_id: UUID, refund_id: str) -> str | None:
        """``execute`` for callers that must not fail on the provider (the API's inline attempt, checkout):
        anything that goes wrong leaves the refund requested for the refund manager."""
        try:
            return await self.execute(payment_id, refund_id)
        except Exception:  # noqa: BLE001 - outcome unknown: the refund manager asks the provider again
            log.warning(
                "refund %s of payment %s not executed yet; the refund manager retries",
                refund_id,
                payment_id,
                exc_info=True,
            )
            return "requested"

    async def current(self, order_id: UUID, refund_id: str) -> RefundView:
        def decide(uow: UnitOfWork) -> RefundView:
            order: Order = uow.get(order_id)
            return view_of(order, uow.get(UUID(str(order.payment_id))), refund_id, replayed=False)

        return await self._writer.submit(decide, not_found=_order_missing)

    async def resolve(
        self, order_id: UUID, refund_id: str, *, completed: bool, provider_refund_id: str | None, note: str | None
    ) -> RefundView:
        """An admin settles a refund under review, from the provider's portal: it went back (``completed``, with
        the provider's refund id) or it did not (``failed``: the amount may be refunded again)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> RefundView:
            order: Order = uow.get(order_id)
            payment: Payment = uow.get(UUID(str(order.payment_id)) if order.payment_id else payment_id_for(order_id))
            if refund_id not in {str(r) for r in payment.refunds}:
                raise PaymentNotFound("no such refund on this order", refund_id=refund_id)
            if payment.refund_status(refund_id) == "requested":
                raise InvalidPaymentTransition(
                    "the refund is still being carried out; only a refund under review is settled by hand",
                    refund_id=refund_id,
                )
            if completed:
                payment.complete_refund(refund_id=refund_id, now=now, provider_refund_id=provider_refund_id)
            else:
                payment.fail_refund(refund_id=refund_id, now=now, reason=note or "settled by hand: not paid back")
                if refund_id in {str(r) for r in order.refunds}:
                    order.refund_failed(refund_id=refund_id, now=now, reason=note)
            return view_of(order, payment, refund_id, replayed=False)

        return await self._writer.submit(decide, not_found=_order_missing)

    async def collect_cash(self, order_id: UUID, actor: Actor | None) -> tuple[str, str]:
        """Cash on delivery: the courier collected the total; the order is paid → (order, payment status)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> tuple[str, str]:
            order: Order = uow.get(order_id)
            check_seller(uow, actor, order)
            if order.payment_method != "cod":
                raise InvalidOrderTransition(
                    "only a cash-on-delivery order is paid in cash", payment_method=order.payment_method
                )
            payment_id = payment_id_for(order_id)
            payment: Payment = uow.get(payment_id)
            payment.handle_callback(
                provider_txn_id=f"cash:{order_id}", status="completed", now=now, amount=payment.amount
            )
            if order.status == "pending_payment":
                order.mark_paid(payment_id=str(payment_id), now=now)
            return order.status, payment.status

        return await self._writer.submit(decide, not_found=_order_missing)

    async def _record(
        self,
        payment_id: UUID,
        refund_id: str,
        status: str,
        provider_refund_id: str | None,
        *,
        manual: bool = False,
        reason: str | None = None,
    ) -> str:
        now = self._clock()

        def decide(uow: UnitOfWork) -> str:
            payment: Payment = uow.get(payment_id)
            if status == "sent":
                payment.send_refund(refund_id=refund_id, now=now)
                return "requested"
            if status == "manual_review":
                payment.require_review(refund_id=refund_id, now=now, reason=reason or "outcome unknown")
            elif status == "completed":
                payment.complete_refund(
                    refund_id=refund_id, now=now, provider_refund_id=provider_refund_id, manual=manual
                )
            else:
                payment.fail_refund(refund_id=refund_id, now=now, reason=reason)
                order: Order = uow.get(UUID(str(payment.order_id)))
                if refund_id in {str(r) for r in order.refunds}:  # a cancelled order's late capture has none
                    order.refund_failed(refund_id=refund_id, now=now, reason=reason)
            return payment.refund_status(refund_id) or status

        return await self._writer.submit(decide, not_found=_payment_missing)


def _due(payment: Payment, refund_id: str) -> _Due:
    amount = next((a for r, a in payment.refunds.items() if str(r) == refund_id), None)
    if amount is None:
        raise PaymentNotFound("no such refund on this payment", refund_id=refund_id)
    state: dict[str, Any] = payment.refund_states.get(refund_id, {})
    provider = payment.provider_txn_id if not str(payment.provider_txn_id or "").startswith("cash:") else None
    return _Due(
        payment.method,
        provider,
        amount,
        str(state.get("reason") or "refund"),
        payment.refund_status(refund_id) or "requested",
        payment.refund_sent(refund_id),
    )


def _order_missing(order_id: UUID) -> Exception:
    return OrderNotFound("order not found", order_id=str(order_id))


def _payment_missing(payment_id: UUID) -> Exception:
    return PaymentNotFound("payment not found", payment_id=str(payment_id))
