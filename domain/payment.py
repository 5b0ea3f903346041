"""Payment: one attempt to collect an order's total through a gateway (bKash, Nagad, Rocket, card, ...).

Gateways call back at least once, sometimes twice, sometimes late and out of order. The rules here make every
callback safe to apply whenever it arrives:

* a callback that repeats the current state (a second ``completed``) is a no-op: no event;
* a stale ``processing`` after the outcome is a no-op;
* a ``failed`` after ``completed`` (or a callback for another transaction, or with another amount) never
  moves the money state: it is recorded once as ``CallbackAnomalyRecorded`` for reconciliation;
* a ``completed`` after ``failed`` IS applied: the gateway captured real money, and losing track of it is
  worse than a late success. The application then fulfils the order or refunds the payment.

Refunds may be partial; their sum never exceeds the amount. The status stays ``completed`` until the whole
amount is refunded, then becomes ``refunded`` (the spec's payment_status enum has no partial state).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import (
    Id,
    InvalidAmount,
    InvalidPaymentMethod,
    InvalidPaymentTransition,
    PaymentAmountMismatch,
    PaymentNotPending,
    RefundExceedsPayment,
    UnknownCallbackStatus,
    require_money,
)
from domain.order import PAYMENT_METHODS

CALLBACK_STATUSES = ("processing", "completed", "failed")
OPEN = ("pending", "processing")
SETTLED = ("completed", "refunded")


class Payment(Aggregate):
    """States: pending → processing → completed / failed; failed → completed (late); completed → refunded."""

    class Event(Aggregate.Event):
        pass

    class Initiated(Event, Aggregate.Created):
        order_id: Id
        method: str
        amount: Decimal
        currency: str

    def __init__(self, order_id: Id, method: str, amount: Decimal, currency: str) -> None:
        self.order_id = order_id
        self.method = method
        self.amount = amount
        self.currency = currency
        self.status = "pending"
        self.provider_txn_id: str | None = None
        self.failure_reason: str | None = None
        self.refunds: dict[Id, Decimal] = {}
        self.anomalies: list[dict[str, Any]] = []

    @classmethod
    def initiate(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        order_id: Id,
        method: str,
        amount: Decimal,
        order_total: Decimal,
    ) -> Payment:
        """Start collecting; ``order_total`` comes from the Order so a tampered amount is refused here."""
        amount = require_money(amount, "amount", positive=True)
        if method not in PAYMENT_METHODS:
            raise InvalidPaymentMethod(f"method must be one of {PAYMENT_METHODS}", method=method)
        if amount != require_money(order_total, "order_total"):
            raise PaymentAmountMismatch("the amount must equal the order total", order_total=str(order_total))
        return cls._create(
            cls.Initiated,
            id=id,
            timestamp=now,
            order_id=order_id,
            method=method,
            amount=amount,
            currency="BDT",
        )

    @property
    def refunded_amount(self) -> Decimal:
        return sum(self.refunds.values(), Decimal("0.00"))

    # ---- money state ---------------------------------------------------------------------------------
    class ProcessingStarted(Event):
        provider_txn_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.status = "processing"
            aggregate.provider_txn_id = self.provider_txn_id

    class Completed(Event):
        provider_txn_id: str
        after_failure: bool  # a late capture: the app must fulfil or refund

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.status = "completed"
            aggregate.provider_txn_id = self.provider_txn_id

    class Failed(Event):
        provider_txn_id: str | None
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.status = "failed"
            aggregate.failure_reason = self.reason
            aggregate.provider_txn_id = self.provider_txn_id or aggregate.provider_txn_id

    class CallbackAnomalyRecorded(Event):
        provider_txn_id: str
        callback_status: str
        anomaly: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.anomalies.append(
                {
                    "provider_txn_id": self.provider_txn_id,
                    "callback_status": self.callback_status,
                    "anomaly": self.anomaly,
                }
            )

    def start_processing(self, *, provider_txn_id: str, now: datetime) -> None:
        """The gateway session opened (the buyer is in the bKash / Nagad flow)."""
        if self.status == "processing" and self.provider_txn_id == provider_txn_id:
            return
        if self.status != "pending":
            raise PaymentNotPending(f"a {self.status} payment cannot start processing", status=self.status)
        self.trigger_event(self.ProcessingStarted, timestamp=now, provider_txn_id=provider_txn_id)

    def fail(self, *, now: datetime, reason: str) -> None:
        """The application gives up on an open payment (timeout, buyer cancelled in the app)."""
        if self.status not in OPEN:
            raise PaymentNotPending(f"a {self.status} payment cannot fail", status=self.status)
        self.trigger_event(self.Failed, timestamp=now, provider_txn_id=self.provider_txn_id, reason=reason)

    def handle_callback(
        self,
        *,
        provider_txn_id: str,
        status: str,
        now: datetime,
        amount: Decimal | None = None,
        reason: str | None = None,
    ) -> None:
        """Apply a gateway callback; safe to call again with the same, an older or a newer callback."""
        if status not in CALLBACK_STATUSES:
            raise UnknownCallbackStatus(f"callback status must be one of {CALLBACK_STATUSES}", status=status)
        if self.provider_txn_id is not None and provider_txn_id != self.provider_txn_id:
            return self._anomaly(provider_txn_id, status, "unknown_transaction", now)
        if status == "processing":
            if self.status == "pending":
                self.trigger_event(self.ProcessingStarted, timestamp=now, provider_txn_id=provider_txn_id)
            return None  # otherwise stale: the outcome is already known
        if status == "completed":
            if self.status in SETTLED:
                return None  # duplicate
            if amount is not None and amount != self.amount:
                return self._anomaly(provider_txn_id, status, "amount_mismatch", now)
            self.trigger_event(
                self.Completed,
                timestamp=now,
                provider_txn_id=provider_txn_id,
                after_failure=self.status == "failed",
            )
            return None
        if self.status in OPEN:
            self.trigger_event(self.Failed, timestamp=now, provider_txn_id=provider_txn_id, reason=reason)
        elif self.status in SETTLED:
            self._anomaly(provider_txn_id, status, "failed_after_completed", now)
        return None  # a repeated failure is a no-op

    def _anomaly(self, provider_txn_id: str, status: str, anomaly: str, now: datetime) -> None:
        record = {"provider_txn_id": provider_txn_id, "callback_status": status, "anomaly": anomaly}
        if record in self.anomalies:
            return  # the same odd callback redelivered: recorded once
        self.trigger_event(self.CallbackAnomalyRecorded, timestamp=now, **record)

    # ---- refunds -------------------------------------------------------------------------------------
    class Refunded(Event):
        refund_id: Id
        amount: Decimal
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.refunds[self.refund_id] = self.amount
            if aggregate.refunded_amount == aggregate.amount:
                aggregate.status = "refunded"

    def refund(self, *, refund_id: Id, amount: Decimal, now: datetime, reason: str | None = None) -> None:
        """Give money back, in part or in full. The same refund id again is a no-op."""
        amount = require_money(amount, "amount", positive=True)
        if refund_id in self.refunds:
            if self.refunds[refund_id] != amount:
                raise InvalidAmount("refund id reused with another amount", refund_id=str(refund_id))
            return
        if self.status not in SETTLED:
            raise InvalidPaymentTransition(f"a {self.status} payment cannot be refunded", status=self.status)
        left = self.amount - self.refunded_amount
        if amount > left:
            raise RefundExceedsPayment("refunds would exceed the amount paid", left=str(left))
        self.trigger_event(self.Refunded, timestamp=now, refund_id=refund_id, amount=amount, reason=reason)
