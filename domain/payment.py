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

Each refund has its own state: ``requested`` when recorded (``Refunded``: the decision, taken before any
provider is called), then ``completed`` (the provider confirmed, or a manual cash refund) or ``failed`` (the
provider refused: nothing was paid back, so the amount no longer counts and may be refunded again).
``RefundSent`` is recorded before the one call that sends it: a refund sent whose answer was lost is never
sent again; if the provider cannot confirm it afterwards it goes to ``manual_review`` (``RefundReviewRequired``)
and a person settles it (``complete_refund`` / ``fail_refund``).

A provider's answer is bound to this payment: it must name our payment as its merchant reference (bKash
``merchantInvoiceNumber``, Nagad ``orderId``, Rocket ``orderId``, SSLCommerz ``tran_id``) and come through our
method (``check_provider_answer``). Each reference names one payment, so a provider transaction can pay only
the payment it was opened for: replaying payment A's transaction against payment B is refused, writing nothing.
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
    PaymentMethodMismatch,
    PaymentNotPending,
    PaymentReferenceMismatch,
    RefundExceedsPayment,
    UnknownCallbackStatus,
    require_money,
)
from domain.order import PAYMENT_METHODS
from domain.show_scoped import ShowScoped

CALLBACK_STATUSES = ("processing", "completed", "failed")
REFUND_STATES = ("requested", "completed", "failed", "manual_review")
OPEN = ("pending", "processing")
SETTLED = ("completed", "refunded")


class Payment(ShowScoped):
    """States: pending → processing → completed / failed; failed → completed (late); completed → refunded."""

    class Event(ShowScoped.Event):
        pass

    class Initiated(Event, Aggregate.Created):
        order_id: Id
        method: str
        amount: Decimal
        currency: str

    def __init__(self, order_id: Id, method: str, amount: Decimal, currency: str, stream_id: Id | None = None) -> None:
        self.order_id = order_id
        self.stream_id = stream_id  # the show it pays for (None for payments stored before payments named it)
        self.method = method
        self.amount = amount
        self.currency = currency
        self.status = "pending"
        self.provider_txn_id: str | None = None
        self.failure_reason: str | None = None
        self.refunds: dict[Id, Decimal] = {}
        self.refund_states: dict[str, dict[str, Any]] = {}  # refund id → status, reason, provider's refund id
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
        stream_id: Id | None = None,
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
            stream_id=None if stream_id is None else str(stream_id),
        )

    @property
    def refunded_amount(self) -> Decimal:
        """What is given back or on its way: every refund except those the provider refused."""
        return sum((a for r, a in self.refunds.items() if self.refund_status(r) != "failed"), Decimal("0.00"))

    def refund_status(self, refund_id: Id) -> str | None:
        state = self.refund_states.get(str(refund_id))
        if state is not None:
            return str(state["status"])
        return "requested" if refund_id in self.refunds else None

    @property
    def requested_refunds(self) -> list[str]:
        """Refunds recorded but not yet confirmed or refused by the provider: the refund manager's work."""
        return [str(r) for r in self.refunds if self.refund_status(r) == "requested"]

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

    def check_provider_answer(self, *, method: str, reference: str | None) -> None:
        """Refuse (changing nothing) a provider's answer that came through another method's door or names
        another payment as its merchant reference; providers may write our id without dashes (Nagad)."""
        if method != self.method:
            raise PaymentMethodMismatch(f"this is a {self.method} payment, not {method}", method=self.method)
        if reference is None or _plain(reference) != _plain(str(self.id)):
            raise PaymentReferenceMismatch("the provider's transaction belongs to another payment", reference=reference)

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
            aggregate.refund_states[str(self.refund_id)] = {
                "status": "requested",
                "reason": self.reason,
                "provider_refund_id": None,
                "manual": False,
            }
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

    class RefundCompleted(Event):
        refund_id: str
        provider_refund_id: str | None
        manual: bool  # paid back in cash (cash on delivery): no provider involved

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.refund_states[self.refund_id] = {
                **aggregate.refund_states.get(self.refund_id, {"reason": None}),
                "status": "completed",
                "provider_refund_id": self.provider_refund_id,
                "manual": self.manual,
            }

    class RefundFailed(Event):
        refund_id: str
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.refund_states[self.refund_id] = {
                **aggregate.refund_states.get(
                    self.refund_id, {"reason": None, "provider_refund_id": None, "manual": False}
                ),
                "status": "failed",
                "failure": self.reason,
            }
            if aggregate.status == "refunded" and aggregate.refunded_amount < aggregate.amount:
                aggregate.status = "completed"

    def refund_sent(self, refund_id: Id) -> bool:
        """Whether the refund was (maybe) sent to the provider: then it is never sent again."""
        return bool(self.refund_states.get(str(refund_id), {}).get("sent"))

    class RefundSent(Event):
        refund_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.refund_states[self.refund_id] = {**aggregate.refund_states[self.refund_id], "sent": True}

    def send_refund(self, *, refund_id: Id, now: datetime) -> None:
        """Recorded before the one call to the provider; a refund is sent at most once."""
        status = self.refund_status(refund_id)
        if status != "requested" or self.refund_sent(refund_id):
            raise InvalidPaymentTransition(f"a {status} refund is not sent (again)", refund_id=str(refund_id))
        self.trigger_event(self.RefundSent, timestamp=now, refund_id=str(refund_id))

    class RefundReviewRequired(Event):
        refund_id: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Payment)
            aggregate.refund_states[self.refund_id] = {
                **aggregate.refund_states[self.refund_id],
                "status": "manual_review",
                "failure": self.reason,
            }

    def require_review(self, *, refund_id: Id, now: datetime, reason: str) -> None:
        """Sent, and the provider cannot confirm what became of it: a person decides; never sent again."""
        status = self.refund_status(refund_id)
        if status == "manual_review":
            return
        if status != "requested" or not self.refund_sent(refund_id):
            raise InvalidPaymentTransition(f"a {status} refund needs no review", refund_id=str(refund_id))
        self.trigger_event(self.RefundReviewRequired, timestamp=now, refund_id=str(refund_id), reason=reason)

    def complete_refund(
        self, *, refund_id: Id, now: datetime, provider_refund_id: str | None = None, manual: bool = False
    ) -> None:
        """The provider confirmed the refund (or the cash went back by hand, or a person settled a refund under
        review); a repeat is a no-op."""
        status = self.refund_status(refund_id)
        if status is None:
            raise InvalidPaymentTransition("no such refund", refund_id=str(refund_id))
        if status == "completed":
            return
        if status not in ("requested", "manual_review"):
            raise InvalidPaymentTransition(f"a {status} refund cannot complete", refund_id=str(refund_id))
        self.trigger_event(
            self.RefundCompleted,
            timestamp=now,
            refund_id=str(refund_id),
            provider_refund_id=provider_refund_id,
            manual=manual,
        )

    def fail_refund(self, *, refund_id: Id, now: datetime, reason: str | None = None) -> None:
        """The provider refused the refund: nothing went back; its amount may be refunded again."""
        status = self.refund_status(refund_id)
        if status is None:
            raise InvalidPaymentTransition("no such refund", refund_id=str(refund_id))
        if status == "failed":
            return
        if status not in ("requested", "manual_review"):
            raise InvalidPaymentTransition(f"a {status} refund cannot fail", refund_id=str(refund_id))
        self.trigger_event(self.RefundFailed, timestamp=now, refund_id=str(refund_id), reason=reason)


def _plain(reference: str) -> str:
    return reference.replace("-", "").lower()
