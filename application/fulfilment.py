"""Fulfilment and returns (issue 13, journey 8): the selling vendor moves a paid order ``confirmed → packed →
shipped → delivered``; the buyer asks for a return within the window after delivery; the vendor accepts or
refuses, and an accepted return becomes a refund through the refund path (``application.refunds``).

Cash on delivery: the order enters fulfilment when it is placed (it is paid at the door), and ``delivered``
records the cash the courier collected in the same unit of work (Payment completed, Order paid), so a COD
order is never delivered unpaid. A parcel refused at the door is cancelled instead (still unpaid).

Who: fulfilment and decisions by the vendor whose stream sold the order, or an admin (``order.fulfil``);
returns by the order's buyer only. Every decision loads the Order (and the LiveStream for its vendor) from the
event store, never a read model. Ids are deterministic (a return's from the buyer's Idempotency-Key, its
refund's from the return), so a retry finds what the first attempt wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import Actor, get_optional, refuse, require_role
from application.batch_writer import BatchWriter, UnitOfWork
from application.checkout import OrderNotFound, payment_id_for
from application.fraud_cases import FraudScreening, refund_hold, shipping_hold
from application.refunds import record_refund
from domain.fraud_case import FraudScreeningPending
from domain.fulfilment import RETURN_WINDOW
from domain.live_stream import LiveStream
from domain.order import Order
from domain.payment import Payment

_NS = uuid.UUID("0b7e4f2a-93c1-4d5e-8a6f-1c2d3e4f5a6b")


def return_id_for(order_id: UUID, buyer_id: str, idempotency_key: str) -> str:
    return str(uuid.uuid5(_NS, f"return:{order_id}:{buyer_id}:{idempotency_key}"))


def return_refund_id(order_id: UUID, return_id: str) -> str:
    return str(uuid.uuid5(_NS, f"return-refund:{order_id}:{return_id}"))


@dataclass(frozen=True)
class FulfilmentView:
    order_id: UUID
    status: str | None
    courier: str | None
    tracking_id: str | None
    steps: dict[str, datetime]
    order_status: str
    payment_status: str
    version: int
    changed: bool


@dataclass(frozen=True)
class ReturnView:
    return_id: str
    order_id: UUID
    status: str  # requested, accepted, refused
    items: list[dict[str, Any]]
    reason: str
    amount: Decimal
    note: str | None
    refund_id: str | None
    requested_at: datetime
    decided_at: datetime | None
    window_closes_at: datetime | None
    payment_id: UUID
    version: int


def _seller(uow: UnitOfWork, actor: Actor | None, order: Order) -> None:
    """Admins (and internal callers) act on any order; a vendor only on orders sold in their own streams."""
    if actor is None or actor.is_admin:
        return
    require_role(actor, "order.fulfil")
    stream: LiveStream | None = get_optional(uow, UUID(str(order.stream_id))) if order.stream_id else None
    if stream is None or actor.vendor_id is None or str(stream.vendor_id) != actor.vendor_id:
        raise refuse("order.fulfil", "this order was not sold by your vendor")


def _order(uow: UnitOfWork, order_id: UUID) -> Order:
    order: Order = uow.get(order_id)
    return order


def _payment(uow: UnitOfWork, order: Order) -> Payment:
    payment: Payment = uow.get(UUID(str(order.payment_id)) if order.payment_id else payment_id_for(order.id))
    return payment


class FulfilmentService:
    def __init__(
        self,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        return_window: timedelta = RETURN_WINDOW,
        screening: FraudScreening | None = None,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._window = return_window
        self._screening = screening  # None: no fraud detector runs (shipping asks only the cases in the store)

    async def update(
        self, order_id: UUID, status: str, *, courier: str | None, tracking_id: str | None, actor: Actor | None
    ) -> FulfilmentView:
        """The vendor's next step; ``delivered`` on a cash-on-delivery order also records the cash, ``refused``
        (a shipped COD parcel the buyer would not take) cancels the unpaid order with that reason."""
        if status == "shipped" and self._screening is not None and not await self._screening.screened(order_id):
            raise FraudScreeningPending("the fraud detector has not read this order yet", order_id=str(order_id))
        now = self._clock()

        def decide(uow: UnitOfWork) -> FulfilmentView:
            order = _order(uow, order_id)
            _seller(uow, actor, order)
            payment = _payment(uow, order)
            if status == "shipped" and order.fulfilment_stage != "shipped":
                shipping_hold(uow, order_id)  # an open (or confirmed) fraud case holds the parcel (issue 17)
            if (
                status == "delivered"
                and order.payment_method == "cod"
                and order.status == "pending_payment"
                and order.fulfilment_stage == "shipped"
            ):
                payment.handle_callback(
                    provider_txn_id=f"cash:{order_id}", status="completed", now=now, amount=payment.amount
                )
                order.mark_paid(payment_id=str(payment.id), now=now)
            if status == "refused":  # a COD parcel refused at the door: the unpaid order is cancelled
                return _fulfilment_view(order, payment, order.refused_at_door(now=now))
            changed = order.update_fulfilment(status=status, now=now, courier=courier, tracking_id=tracking_id)
            return _fulfilment_view(order, payment, changed)

        return await self._writer.submit(decide, not_found=_order_missing)

    async def request_return(
        self, order_id: UUID, *, idempotency_key: str, items: list[dict[str, Any]], reason: str, actor: Actor
    ) -> ReturnView:
        """The buyer asks to return units of a delivered order, within the window (the server's clock)."""
        now = self._clock()
        return_id = return_id_for(order_id, actor.user_id, idempotency_key)

        def decide(uow: UnitOfWork) -> ReturnView:
            order = _order(uow, order_id)
            if str(order.buyer_id) != actor.user_id:
                raise refuse("order.return", "only the order's buyer asks for a return")
            order.request_return(return_id=return_id, items=items, reason=reason, now=now, window=self._window)
            return self._return_view(order, return_id)

        return await self._writer.submit(decide, not_found=_order_missing)

    async def decide_return(
        self, order_id: UUID, return_id: str, *, accept: bool, note: str | None, actor: Actor | None
    ) -> ReturnView:
        """Accept (the return's amount is refunded: recorded here with the decision, carried out by
        ``RefundService.execute``) or refuse; the same decision again answers the same."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> ReturnView:
            order = _order(uow, order_id)
            _seller(uow, actor, order)
            refund_id = return_refund_id(order_id, return_id)
            if accept and (order.returns.get(return_id) or {}).get("status") == "requested":
                refund_hold(uow, str(order.buyer_id), actor)  # a buyer under a refund-abuse review (issue 17)
            amount = order.decide_return(return_id=return_id, accept=accept, now=now, note=note, refund_id=refund_id)
            payment = _payment(uow, order)
            if amount > 0 and refund_id not in {str(r) for r in payment.refunds}:
                record_refund(order, payment, refund_id=refund_id, amount=amount, reason="return accepted", now=now)
            return self._return_view(order, return_id)

        return await self._writer.submit(decide, not_found=_order_missing)

    def _return_view(self, order: Order, return_id: str) -> ReturnView:
        r = order.returns[return_id]
        delivered = order.step_at("delivered")
        return ReturnView(
            return_id,
            order.id,
            r["status"],
            r["items"],
            r["reason"],
            Decimal(r["amount"]),
            r["note"],
            r["refund_id"],
            r["requested_at"],
            r["decided_at"],
            delivered + self._window if delivered else None,
            UUID(str(order.payment_id)) if order.payment_id else payment_id_for(order.id),
            order.version,
        )


def _fulfilment_view(order: Order, payment: Payment, changed: bool) -> FulfilmentView:
    steps = {step: v["at"] for step, v in (order.fulfilment_steps or {}).items()}
    shipped = (order.fulfilment_steps or {}).get("shipped") or {}
    return FulfilmentView(
        order.id,
        order.fulfilment_stage,
        shipped.get("courier"),
        shipped.get("tracking_id"),
        steps,
        order.status,
        payment.status,
        order.version,
        changed,
    )


def _order_missing(order_id: UUID) -> Exception:
    return OrderNotFound("order not found", order_id=str(order_id))
