"""Order: what a viewer bought during a stream, for how much, and how they will pay.

The order fixes the money (lines, subtotal, discount, total) at placement, and carries the Bangladesh payment
rules that must be decided once, up front: cash on delivery needs a reachable mobile number and is capped per
buyer (fake COD orders are the costliest fraud in this market), EMI only for 3/6/12 months above a minimum.
Counts and limits that live elsewhere (the buyer's open COD orders, the cap, the EMI minimum) come in as
arguments from the application, so the rule is here and the lookup is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import fulfilment as f
from domain.commerce_errors import (
    PAISA,
    CartEmpty,
    CodOrderCapReached,
    CodPhoneRequired,
    EmiBelowMinimum,
    EmiTermNotAllowed,
    Id,
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidOrderTransition,
    InvalidPaymentMethod,
    InvalidShippingAddress,
    RefundExceedsPayment,
    require_money,
    require_quantity,
)
from domain.show_scoped import ShowScoped

PAYMENT_METHODS = ("bkash", "nagad", "rocket", "card", "cod", "emi")
EMI_TERMS = (3, 6, 12)
BD_MOBILE = re.compile(r"^(?:\+?88)?01[3-9]\d{8}$")  # operator prefixes 013–019
UNPAID = ("pending_payment", "payment_failed")
REFUSED_AT_DOOR = "refused at the door"


@dataclass(frozen=True)
class OrderLine:
    """One product at the price the buyer was shown, and the hold that keeps its units for the order:
    ``reservation_id`` in the flash sale, the group buy, or the stream's stock (``stock_id``)."""

    product_id: Id
    quantity: int
    unit_price: Decimal
    flash_sale_id: Id | None = None
    reservation_id: Id | None = None
    auction_id: Id | None = None  # the lot of an auction the buyer won
    group_buy_id: Id | None = None  # a group buy the buyer's hold unlocked in
    stock_id: Id | None = None  # the stream product's stock (``domain.stream_stock``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "quantity": require_quantity(self.quantity),
            "unit_price": require_money(self.unit_price, "unit_price"),
            "flash_sale_id": self.flash_sale_id,
            "reservation_id": self.reservation_id,
            "auction_id": self.auction_id,
            "group_buy_id": self.group_buy_id,
            "stock_id": self.stock_id,
        }


def emi_plan(total: Decimal, months: int) -> dict[str, Any]:
    """Equal monthly instalments rounded up to the paisa; the last one absorbs the rounding (never more)."""
    monthly = (total / months).quantize(PAISA, rounding=ROUND_UP)
    return {
        "months": months,
        "monthly_installment": monthly,
        "final_installment": total - monthly * (months - 1),
    }


class Order(ShowScoped):
    """States: pending_payment ⇄ payment_failed → cancelled; either unpaid state → paid → refunded."""

    class Event(ShowScoped.Event):
        pass

    class Placed(Event, Aggregate.Created):
        buyer_id: Id
        stream_id: Id | None
        cart_id: Id | None
        lines: list[dict[str, Any]]
        subtotal: Decimal
        discount: Decimal
        discount_code: str | None
        total: Decimal
        payment_method: str
        shipping_address: dict[str, Any]
        buyer_phone: str | None
        emi: dict[str, Any] | None
        device_id: str | None = None  # the buyer's device, as the app reports it (fraud signals, issue 17)

    def __init__(
        self,
        buyer_id: Id,
        stream_id: Id | None,
        cart_id: Id | None,
        lines: list[dict[str, Any]],
        subtotal: Decimal,
        discount: Decimal,
        discount_code: str | None,
        total: Decimal,
        payment_method: str,
        shipping_address: dict[str, Any],
        buyer_phone: str | None,
        emi: dict[str, Any] | None,
        device_id: str | None = None,
    ) -> None:
        self.buyer_id = buyer_id
        self.stream_id = stream_id
        self.cart_id = cart_id
        self.lines = [dict(line) for line in lines]
        self.subtotal = subtotal
        self.discount = discount
        self.discount_code = discount_code
        self.total = total
        self.payment_method = payment_method
        self.shipping_address = dict(shipping_address)
        self.buyer_phone = buyer_phone
        self.emi = dict(emi) if emi else None
        self.device_id = device_id
        self.status = "pending_payment"
        self.payment_id: Id | None = None
        self.refunds: dict[Id, Decimal] = {}
        self.failed_refunds: set[str] = set()  # refused by the provider: they no longer count
        self.cancel_reason: str | None = None

    @property
    def refunded_amount(self) -> Decimal:
        return sum((a for r, a in self.refunds.items() if str(r) not in self.failed_refunds), Decimal("0.00"))

    @classmethod
    def place(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        buyer_id: Id,
        lines: list[OrderLine],
        payment_method: str,
        shipping_address: dict[str, Any],
        buyer_phone: str | None = None,
        stream_id: Id | None = None,
        cart_id: Id | None = None,
        discount: Decimal = Decimal("0.00"),
        discount_code: str | None = None,
        open_cod_orders: int = 0,
        cod_order_cap: int = 3,
        emi_months: int | None = None,
        emi_minimum: Decimal = Decimal("5000.00"),
        device_id: str | None = None,
    ) -> Order:
        if not lines:
            raise CartEmpty("an order needs at least one line")
        rows = [line.as_dict() for line in lines]
        subtotal = sum((r["quantity"] * r["unit_price"] for r in rows), Decimal("0.00")).quantize(PAISA)
        discount = require_money(discount, "discount")
        if discount > subtotal:
            raise InvalidAmount("the discount exceeds the subtotal", discount=str(discount))
        total = subtotal - discount
        if payment_method not in PAYMENT_METHODS:
            raise InvalidPaymentMethod(f"payment_method must be one of {PAYMENT_METHODS}", method=payment_method)
        if not shipping_address or not all(isinstance(k, str) for k in shipping_address):
            raise InvalidShippingAddress("a shipping address is required")
        phone = buyer_phone.strip().replace(" ", "").replace("-", "") if buyer_phone else None
        if payment_method == "cod":
            if not phone or not BD_MOBILE.match(phone):
                raise CodPhoneRequired("cash on delivery needs a valid Bangladeshi mobile number")
            if open_cod_orders >= cod_order_cap:
                raise CodOrderCapReached("too many open cash-on-delivery orders", cap=cod_order_cap)
        emi = None
        if payment_method == "emi":
            if emi_months not in EMI_TERMS:
                raise EmiTermNotAllowed(f"EMI runs for {EMI_TERMS} months", months=emi_months)
            if total < emi_minimum:
                raise EmiBelowMinimum(f"EMI needs a total of at least {emi_minimum}", minimum=str(emi_minimum))
            emi = emi_plan(total, emi_months)
        elif emi_months is not None:
            raise EmiTermNotAllowed("emi_months is only for EMI orders", months=emi_months)
        return cls._create(
            cls.Placed,
            id=id,
            timestamp=now,
            buyer_id=buyer_id,
            stream_id=stream_id,
            cart_id=cart_id,
            lines=rows,
            subtotal=subtotal,
            discount=discount,
            discount_code=discount_code,
            total=total,
            payment_method=payment_method,
            shipping_address=dict(shipping_address),
            buyer_phone=phone,
            emi=emi,
            device_id=device_id,
        )

    def _refuse(self, action: str) -> InvalidOrderTransition:
        return InvalidOrderTransition(f"a {self.status} order cannot be {action}", status=self.status)

    # ---- payment outcome -----------------------------------------------------------------------------
    class Paid(Event):
        payment_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.status = "paid"
            aggregate.payment_id = self.payment_id

    def mark_paid(self, *, payment_id: Id, now: datetime) -> None:
        """Payment confirmed; a redelivered confirmation of the same payment changes nothing."""
        if self.status in ("paid", "refunded") and self.payment_id == payment_id:
            return
        if self.status not in UNPAID:
            raise self._refuse("marked paid")
        self.trigger_event(self.Paid, timestamp=now, payment_id=payment_id)

    class PaymentFailed(Event):
        payment_id: Id
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.status = "payment_failed"

    def mark_payment_failed(self, *, payment_id: Id, now: datetime, reason: str | None = None) -> None:
        """An attempt failed; the buyer may try again (another attempt, another method) until cancelled."""
        if self.status not in UNPAID:
            raise self._refuse("marked failed")
        self.trigger_event(self.PaymentFailed, timestamp=now, payment_id=payment_id, reason=reason)

    # ---- cancel and refund ---------------------------------------------------------------------------
    class Cancelled(Event):
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.status = "cancelled"
            aggregate.cancel_reason = self.reason

    def cancel(self, *, now: datetime, reason: str | None = None) -> None:
        """Only an unpaid order is cancelled; a paid one is refunded instead. Cancelling twice is a no-op."""
        if self.status == "cancelled":
            return
        if self.status not in UNPAID:
            raise self._refuse("cancelled (refund it instead)")
        self.trigger_event(self.Cancelled, timestamp=now, reason=reason)

    def refused_at_door(self, *, now: datetime) -> bool:
        """A cash-on-delivery parcel the buyer refused when the courier came: the unpaid order is cancelled with
        that reason (what the fraud detector counts as COD refusal history). → False when already recorded."""
        if self.status == "cancelled":
            return False
        if self.payment_method != "cod" or self.fulfilment_stage != "shipped" or self.status not in UNPAID:
            raise self._refuse("refused at the door (only a shipped, unpaid cash-on-delivery parcel can be)")
        self.cancel(now=now, reason=REFUSED_AT_DOOR)
        return True

    class Refunded(Event):
        refund_id: Id
        amount: Decimal
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.refunds[self.refund_id] = self.amount
            if aggregate.refunded_amount == aggregate.total:
                aggregate.status = "refunded"

    def refund(self, *, refund_id: Id, amount: Decimal, now: datetime, reason: str | None = None) -> None:
        """Give back part or all of a paid order; the sum of refunds never exceeds the total."""
        amount = require_money(amount, "amount", positive=True)
        if refund_id in self.refunds:
            if self.refunds[refund_id] != amount:
                raise InvalidAmount("refund id reused with another amount", refund_id=str(refund_id))
            return
        if self.status not in ("paid", "refunded"):
            raise self._refuse("refunded")
        if amount > self.total - self.refunded_amount:
            raise RefundExceedsPayment(
                "refunds would exceed the order total", left=str(self.total - self.refunded_amount)
            )
        self.trigger_event(self.Refunded, timestamp=now, refund_id=refund_id, amount=amount, reason=reason)

    class RefundFailed(Event):
        refund_id: str
        amount: Decimal
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.failed_refunds.add(self.refund_id)
            if aggregate.status == "refunded" and aggregate.refunded_amount < aggregate.total:
                aggregate.status = "paid"

    def refund_failed(self, *, refund_id: Id, now: datetime, reason: str | None = None) -> None:
        """The provider refused the refund: the money was not given back, so it no longer counts."""
        if refund_id not in self.refunds and str(refund_id) not in {str(r) for r in self.refunds}:
            raise InvalidOrderTransition("no such refund", refund_id=str(refund_id))
        if str(refund_id) in self.failed_refunds:
            return
        amount = next(a for r, a in self.refunds.items() if str(r) == str(refund_id))
        self.trigger_event(self.RefundFailed, timestamp=now, refund_id=str(refund_id), amount=amount, reason=reason)

    # ---- fulfilment and returns (rules: domain/fulfilment.py) -------------------------------------------
    # Set only by their events; class defaults, so an order without them folds as before. Applies assign new
    # dicts, never mutate these.
    fulfilment_status: str | None = None
    fulfilment_steps: dict[str, dict[str, Any]] | None = None  # step → {at, courier, tracking_id}
    return_requests: dict[str, dict[str, Any]] | None = None  # return id → {status, items, amount, ...}

    @property
    def fulfilment_stage(self) -> str | None:
        """Where the parcel is: ``confirmed`` once paid (a cash-on-delivery order at once), then the vendor's
        steps; None while there is nothing to send."""
        if self.fulfilment_status is not None:
            return self.fulfilment_status
        return "confirmed" if self._fulfillable else None

    @property
    def _fulfillable(self) -> bool:
        return self.status == "paid" or (self.payment_method == "cod" and self.status == "pending_payment")

    @property
    def returns(self) -> dict[str, dict[str, Any]]:
        return self.return_requests or {}

    def step_at(self, step: str) -> datetime | None:
        return (self.fulfilment_steps or {}).get(step, {}).get("at")

    class FulfilmentUpdated(Event):
        status: str
        courier: str | None
        tracking_id: str | None
        stream_id: Id | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.fulfilment_status = self.status
            aggregate.fulfilment_steps = {
                **(aggregate.fulfilment_steps or {}),
                self.status: {"at": self.timestamp, "courier": self.courier, "tracking_id": self.tracking_id},
            }

    def update_fulfilment(
        self, *, status: str, now: datetime, courier: str | None = None, tracking_id: str | None = None
    ) -> bool:
        """The vendor's next step; the same step again with the same details changes nothing (→ False)."""
        current = self.fulfilment_stage
        same = (self.fulfilment_steps or {}).get(status)
        if (
            status == current
            and same is not None
            and (same["courier"], same["tracking_id"])
            == (courier or same["courier"], tracking_id or same["tracking_id"])
        ):
            return False
        if not self._fulfillable:
            raise f.OrderNotFulfillable(f"a {self.status} order is not fulfilled", status=self.status)
        f.check_step(current, status, courier, tracking_id)
        if status == "delivered" and self.status != "paid":
            raise f.OrderNotFulfillable(
                "a cash-on-delivery order is delivered with its cash collected", status=self.status
            )
        self.trigger_event(
            self.FulfilmentUpdated,
            timestamp=now,
            status=status,
            courier=courier,
            tracking_id=tracking_id,
            stream_id=self.stream_id,
        )
        return True

    class ReturnRequested(Event):
        return_id: str
        items: list[dict[str, Any]]
        reason: str
        amount: Decimal
        stream_id: Id | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.return_requests = {
                **aggregate.returns,
                self.return_id: {
                    "status": "requested",
                    "items": [dict(i) for i in self.items],
                    "reason": self.reason,
                    "amount": self.amount,
                    "requested_at": self.timestamp,
                    "note": None,
                    "refund_id": None,
                    "decided_at": None,
                },
            }

    def request_return(
        self,
        *,
        return_id: str,
        items: list[dict[str, Any]],
        reason: str,
        now: datetime,
        window: timedelta = f.RETURN_WINDOW,
    ) -> None:
        """The buyer asks to return units within ``window`` of delivery; the same request again is a no-op."""
        if return_id in self.returns:
            known = self.returns[return_id]
            if (known["items"], known["reason"]) != (f.return_items(items, self.lines, {}), reason):
                raise IdempotencyKeyReused("this return id was used for another request", return_id=return_id)
            return
        f.check_window(self.step_at("delivered"), now, window)
        rows = f.return_items(items, self.lines, self.returns)
        amount = f.refund_of(
            rows, self.lines, subtotal=self.subtotal, total=self.total, refundable=self.total - self.refunded_amount
        )
        self.trigger_event(
            self.ReturnRequested,
            timestamp=now,
            return_id=return_id,
            items=rows,
            reason=reason,
            amount=amount,
            stream_id=self.stream_id,
        )

    class ReturnDecided(Event):
        return_id: str
        accepted: bool
        note: str | None
        refund_id: str | None  # the refund an accepted return becomes (None: nothing left to refund)
        amount: Decimal  # refunded (refused: 0; the return keeps the amount asked)
        stream_id: Id | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Order)
            aggregate.return_requests = {
                **aggregate.returns,
                self.return_id: {
                    **aggregate.returns[self.return_id],
                    "status": "accepted" if self.accepted else "refused",
                    "note": self.note,
                    "refund_id": self.refund_id,
                    "decided_at": self.timestamp,
                    "amount": self.amount if self.accepted else aggregate.returns[self.return_id]["amount"],
                },
            }

    def decide_return(
        self, *, return_id: str, accept: bool, now: datetime, note: str | None = None, refund_id: str | None = None
    ) -> Decimal:
        """The vendor accepts (→ the amount to refund under ``refund_id``) or refuses; the same decision
        again changes nothing, the other one is refused."""
        known = self.returns.get(return_id)
        if known is None:
            raise f.ReturnNotFound("no such return on this order", return_id=return_id)
        if known["status"] != "requested":
            if (known["status"] == "accepted") != accept:
                raise f.ReturnAlreadyDecided(f"the return was already {known['status']}", status=known["status"])
            return Decimal(known["amount"]) if accept else Decimal("0.00")
        amount = min(Decimal(known["amount"]), self.total - self.refunded_amount) if accept else Decimal("0.00")
        self.trigger_event(
            self.ReturnDecided,
            timestamp=now,
            return_id=return_id,
            accepted=accept,
            note=note,
            refund_id=refund_id if amount > 0 else None,
            amount=amount,
            stream_id=self.stream_id,
        )
        return amount
