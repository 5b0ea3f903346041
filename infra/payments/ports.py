"""What the application needs from a payment provider (bKash, Nagad, Rocket, and any later one).

Three small ports rather than one wide one: every adapter in this package implements all three, and the
contract tests (tests/payments) run one suite against each. Results are already in the Payment aggregate's
vocabulary (``processing`` / ``completed`` / ``failed``), so the application passes them on unchanged:

* ``CreatedPayment`` → ``Payment.start_processing(provider_txn_id=provider_payment_id)``;
* ``GatewayResult``  → ``Payment.handle_callback(provider_txn_id=provider_payment_id, status=...,
  amount=..., reason=...)``.

The aggregate's ``provider_txn_id`` is the provider's *payment* id (bKash paymentID, Nagad paymentReferenceId,
Rocket paymentId), known from ``create`` on; the money transaction id (trxID) arrives later in
``GatewayResult.transaction_id`` and is what ``refund`` needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

Status = Literal["processing", "completed", "failed"]
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class CreatedPayment:
    provider_payment_id: str
    redirect_url: str  # send the buyer here (the provider's checkout page)
    status: Status = "processing"


@dataclass(frozen=True)
class GatewayResult:
    status: Status
    provider_payment_id: str
    transaction_id: str | None  # the provider's money transaction id once captured (bKash trxID)
    amount: Decimal | None
    raw: Mapping[str, Any] = field(repr=False)
    reason: str | None = None  # the provider's words when it declined, for Payment.Failed.reason
    # The merchant reference the provider holds for the session: our payment id as we sent it at create (bKash
    # merchantInvoiceNumber, Nagad orderId without dashes, Rocket orderId, SSLCommerz tran_id). It binds the
    # provider's transaction to one payment (Payment.check_provider_answer).
    reference: str | None = None


@dataclass(frozen=True)
class RefundResult:
    refund_id: str  # the provider's refund transaction id
    amount: Decimal
    status: Literal["completed", "processing"]
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class CallbackHint:
    """What a callback *claims*. Never apply it as is: confirm with ``execute`` (bKash) or ``query`` first."""

    provider_payment_id: str
    status: Status
    raw: Mapping[str, Any] = field(repr=False)


class CheckoutGateway(Protocol):
    async def create(
        self,
        *,
        payment_id: str,
        amount: Decimal,
        payer_reference: str,
        callback_url: str,
        idempotency_key: str,
        currency: str = "BDT",
    ) -> CreatedPayment:
        """Open a checkout session; the buyer finishes it at ``redirect_url``."""
        ...

    async def execute(self, provider_payment_id: str) -> GatewayResult:
        """Capture what the buyer authorised (bKash); verify where the provider captures by itself.

        Safe to call again: a repeated execute returns the first outcome and the same transaction id."""
        ...

    async def query(self, provider_payment_id: str) -> GatewayResult:
        """The provider's current view; changes nothing."""
        ...


class RefundGateway(Protocol):
    async def refund(
        self,
        *,
        provider_payment_id: str,
        transaction_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
    ) -> RefundResult:
        """Give back part or all of a completed payment; the provider refuses more than was paid."""
        ...


class RefundLookup(Protocol):
    async def find_refund(
        self, *, provider_payment_id: str, transaction_id: str, idempotency_key: str
    ) -> RefundResult | None:
        """The refund made under our key, if the provider can tell (bKash: refund status; SSLCommerz:
        transaction query). Providers that de-duplicate the refund call by our key (Nagad ``referenceNo``,
        Rocket ``requestId``) answer None: sending the refund again is the lookup."""
        ...


class CallbackReader(Protocol):
    def read_callback(self, params: Mapping[str, Any]) -> CallbackHint:
        """Parse the provider's callback (query string or body) into a hint to confirm."""
        ...


# ---- errors: named for what the caller can do next ---------------------------------------------------
class GatewayError(Exception):
    outcome_unknown = False  # True: the provider may have acted; query before trying again

    def __init__(
        self, provider: str, message: str, *, code: str | None = None, raw: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{provider}: {message}" + (f" [{code}]" if code else ""))
        self.provider = provider
        self.message = message
        self.code = code
        self.raw = raw or {}


class GatewayRejected(GatewayError):
    """The provider answered and refused (bad amount, wrong state, refund above the paid amount)."""


class GatewayAuthFailed(GatewayRejected):
    """Our credentials were refused: configuration, not something a retry fixes."""


class GatewayUnavailable(GatewayError):
    """The provider could not be reached, or answered with a server error."""

    def __init__(self, provider: str, message: str, *, outcome_unknown: bool = False, **kw: Any) -> None:
        super().__init__(provider, message, **kw)
        self.outcome_unknown = outcome_unknown


class GatewayTimeout(GatewayError):
    """No answer in time. The request may have been carried out: query the payment before retrying."""

    outcome_unknown = True


class InvalidCallback(GatewayError):
    """A callback without the fields its provider always sends: answer 400 and change nothing."""


def money(amount: Decimal) -> str:
    """A positive BDT amount with at most two places, as the providers want it: ``"1250.50"``."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise ValueError("amount must be a Decimal")
    value = Decimal(amount)
    if not value.is_finite() or value <= 0 or value != value.quantize(CENTS):
        raise ValueError(f"amount must be positive with at most 2 decimal places, got {amount}")
    return str(value.quantize(CENTS))


def parse_money(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text)).quantize(CENTS) if text not in (None, "") else None
    except InvalidOperation:
        return None


def require_bdt(currency: str) -> str:
    if currency != "BDT":
        raise ValueError(f"bKash, Nagad, Rocket and card payments settle in BDT only, got {currency!r}")
    return currency


def result_from(
    data: Mapping[str, Any],
    statuses: Mapping[str, Status],
    *,
    payment_id: str,
    status_field: str,
    id_field: str | None,
    transaction_field: str | None,
    reference_field: str,
    reason_field: str | None = None,
) -> GatewayResult:
    """A provider's payment answer as a ``GatewayResult``: its status word mapped (unknown → processing), its
    ids (ours when it leaves its own out or has none: ``id_field`` None), the transaction id (none before the
    money moved: ``transaction_field`` None), the amount, the merchant reference it holds, and on failure its
    words (or the status word)."""
    raw_status = str(data.get(status_field) or "")
    status = statuses.get(raw_status, "processing")
    reason = (data.get(reason_field) if reason_field else None) or raw_status
    return GatewayResult(
        status=status,
        provider_payment_id=(data.get(id_field) if id_field else None) or payment_id,
        transaction_id=(data.get(transaction_field) if transaction_field else None) or None,
        amount=parse_money(data.get("amount")),
        raw=data,
        reason=reason if status == "failed" else None,
        reference=str(data[reference_field]) if data.get(reference_field) else None,
    )
