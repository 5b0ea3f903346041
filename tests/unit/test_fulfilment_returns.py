"""After payment: fulfilment steps in order, returns within the window, a refund's review, and a provider's
answer bound to its payment (issue 13 journey 8, issue 19 part 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import commerce_errors as errors
from domain import fulfilment as f
from domain.order import Order, OrderLine
from domain.payment import Payment
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 14, 0, tzinfo=UTC)
D = Decimal
ADDRESS = {"name": "Rahim", "city": "Dhaka"}
SAREE, SCARF = "p-saree", "p-scarf"


def paid(**kw: Any) -> Order:
    terms: dict[str, Any] = {
        "id": UUID(int=2),
        "now": T0,
        "buyer_id": "buyer-1",
        "payment_method": "bkash",
        "lines": [OrderLine(SAREE, 2, D("2500.00")), OrderLine(SCARF, 1, D("1000.00"))],
        "shipping_address": ADDRESS,
        "stream_id": "stream-1",
    }
    order = Order.place(**{**terms, **kw})
    if order.payment_method != "cod":
        order.mark_paid(payment_id="pay-1", now=T0)
    return order


def delivered(at: datetime = T0, **kw: Any) -> Order:
    order = paid(**kw)
    order.update_fulfilment(status="packed", now=at)
    order.update_fulfilment(status="shipped", courier="Pathao", tracking_id="PTH-1", now=at)
    if order.status != "paid":
        order.mark_paid(payment_id="cash", now=at)
    order.update_fulfilment(status="delivered", now=at)
    order.collect_events()
    return order


# ---- fulfilment ----------------------------------------------------------------------------------------------
def test_a_paid_order_moves_one_step_at_a_time() -> None:
    order = paid()
    order.collect_events()
    assert order.fulfilment_stage == "confirmed"
    e = refused(
        order,
        f.FulfilmentOutOfOrder,
        lambda: order.update_fulfilment(status="shipped", now=T0, courier="x", tracking_id="y"),
    )
    assert e.details == {"current": "confirmed", "expected": "packed"}
    assert order.update_fulfilment(status="packed", now=T0) is True
    assert order.update_fulfilment(status="packed", now=T0) is False  # a retry: nothing new
    refused(order, f.ShippingDetailsRequired, lambda: order.update_fulfilment(status="shipped", now=T0))
    order.update_fulfilment(status="shipped", courier="Pathao", tracking_id="PTH-1", now=T0 + timedelta(hours=1))
    refused(
        order,
        f.FulfilmentOutOfOrder,
        lambda: order.update_fulfilment(status="shipped", now=T0, courier="RedX", tracking_id="R-9"),
    )
    refused(order, f.FulfilmentOutOfOrder, lambda: order.update_fulfilment(status="packed", now=T0))
    order.update_fulfilment(status="delivered", now=T0 + timedelta(days=1))
    refused(order, errors.InvalidCommerceValue, lambda: order.update_fulfilment(status="lost", now=T0))
    assert new_events(order) == ["FulfilmentUpdated"] * 3
    assert order.fulfilment_stage == "delivered" and order.step_at("delivered") == T0 + timedelta(days=1)
    assert order.fulfilment_steps is not None and order.fulfilment_steps["shipped"]["tracking_id"] == "PTH-1"


def test_unpaid_cancelled_or_refunded_orders_are_not_fulfilled_and_cod_is_paid_at_the_door() -> None:
    unpaid = Order.place(
        id=UUID(int=3),
        now=T0,
        buyer_id="b",
        lines=[OrderLine("p", 1, D("10.00"))],
        payment_method="nagad",
        shipping_address=ADDRESS,
    )
    assert unpaid.fulfilment_stage is None
    refused(unpaid, f.OrderNotFulfillable, lambda: unpaid.update_fulfilment(status="packed", now=T0))
    refunded = paid()
    refunded.refund(refund_id="rf", amount=refunded.total, now=T0)
    refused(refunded, f.OrderNotFulfillable, lambda: refunded.update_fulfilment(status="packed", now=T0))
    cod = paid(payment_method="cod", buyer_phone="01712345678")
    assert (cod.status, cod.fulfilment_stage) == ("pending_payment", "confirmed")
    cod.update_fulfilment(status="packed", now=T0)
    cod.update_fulfilment(status="shipped", courier="Pathao", tracking_id="P", now=T0)
    refused(cod, f.OrderNotFulfillable, lambda: cod.update_fulfilment(status="delivered", now=T0))
    cod.mark_paid(payment_id="cash", now=T0)
    cod.update_fulfilment(status="delivered", now=T0)
    assert cod.fulfilment_stage == "delivered"


# ---- returns -----------------------------------------------------------------------------------------------
def test_a_return_within_the_window_is_priced_from_what_the_buyer_paid() -> None:
    order = delivered(discount=D("600.00"))  # subtotal 6000, total 5400: every line paid 90%
    order.request_return(
        return_id="r1",
        items=[{"product_id": SAREE, "quantity": 1}],
        reason="torn",
        now=T0 + timedelta(days=6, hours=23),
    )
    order.request_return(return_id="r1", items=[{"product_id": SAREE, "quantity": 1}], reason="torn", now=T0)
    assert new_events(order) == ["ReturnRequested"]
    assert order.returns["r1"]["amount"] == D("2250.00") and order.returns["r1"]["status"] == "requested"
    refused(
        order,
        errors.IdempotencyKeyReused,
        lambda: order.request_return(
            return_id="r1", items=[{"product_id": SAREE, "quantity": 2}], reason="torn", now=T0
        ),
    )
    e = refused(
        order,
        f.ReturnExceedsOrder,
        lambda: order.request_return(return_id="r2", items=[{"product_id": SAREE, "quantity": 2}], reason="x", now=T0),
    )
    assert e.details == {"left": {SAREE: 1}}
    for bad in ([], [{"product_id": "p-other", "quantity": 1}], [{"product_id": SAREE, "quantity": 0}]):
        refused(
            order,
            errors.InvalidCommerceValue,
            lambda bad=bad: order.request_return(return_id="r3", items=bad, reason="x", now=T0),
        )


def test_the_window_closes_seven_days_after_delivery_by_the_callers_clock() -> None:
    order = delivered()
    e = refused(
        order,
        f.ReturnWindowClosed,
        lambda: order.request_return(
            return_id="late", items=[{"product_id": SCARF, "quantity": 1}], reason="x", now=T0 + timedelta(days=7)
        ),
    )
    assert e.details["closed_at"] == (T0 + timedelta(days=7)).isoformat()
    order.request_return(
        return_id="short",
        items=[{"product_id": SCARF, "quantity": 1}],
        reason="x",
        now=T0 + timedelta(days=7),
        window=timedelta(days=8),
    )
    not_yet = paid()
    refused(
        not_yet,
        f.ReturnNotAllowed,
        lambda: not_yet.request_return(return_id="r", items=[{"product_id": SCARF, "quantity": 1}], reason="x", now=T0),
    )


def test_a_decision_is_taken_once_and_a_refused_return_frees_its_units() -> None:
    order = delivered()
    order.request_return(return_id="r1", items=[{"product_id": SAREE, "quantity": 2}], reason="x", now=T0)
    order.request_return(return_id="r2", items=[{"product_id": SCARF, "quantity": 1}], reason="x", now=T0)
    refused(order, f.ReturnNotFound, lambda: order.decide_return(return_id="nope", accept=True, now=T0))
    assert order.decide_return(return_id="r1", accept=False, note="worn", now=T0) == D("0.00")
    assert order.decide_return(return_id="r2", accept=True, refund_id="rf2", now=T0) == D("1000.00")
    assert order.decide_return(return_id="r2", accept=True, refund_id="rf2", now=T0) == D("1000.00")
    refused(order, f.ReturnAlreadyDecided, lambda: order.decide_return(return_id="r1", accept=True, now=T0))
    assert [order.returns[r]["status"] for r in ("r1", "r2")] == ["refused", "accepted"]
    assert order.returns["r2"]["refund_id"] == "rf2" and order.returns["r1"]["refund_id"] is None
    order.request_return(return_id="r3", items=[{"product_id": SAREE, "quantity": 2}], reason="y", now=T0)
    assert new_events(order) == [
        "ReturnRequested",
        "ReturnRequested",
        "ReturnDecided",
        "ReturnDecided",
        "ReturnRequested",
    ]


@given(st.lists(st.tuples(st.sampled_from([SAREE, SCARF]), st.integers(1, 3), st.booleans()), max_size=8))
def test_units_asked_back_never_exceed_units_bought(asks: list[tuple[str, int, bool]]) -> None:
    order = delivered()
    for i, (product, quantity, accept) in enumerate(asks):
        try:
            order.request_return(
                return_id=f"r{i}", items=[{"product_id": product, "quantity": quantity}], reason="x", now=T0
            )
            order.decide_return(return_id=f"r{i}", accept=accept, refund_id=f"rf{i}", now=T0)
        except (f.ReturnExceedsOrder, errors.RefundExceedsPayment):
            pass
        left = f.returnable_units(order.lines, order.returns)
        assert all(0 <= n for n in left.values())
    accepted = sum((r["amount"] for r in order.returns.values() if r["status"] == "accepted"), D("0.00"))
    assert accepted <= order.total


def test_fulfilment_and_returns_replay_and_round_trip() -> None:
    order = paid()
    order.update_fulfilment(status="packed", now=T0)
    order.update_fulfilment(status="shipped", courier="Pathao", tracking_id="PTH-1", now=T0)
    order.update_fulfilment(status="delivered", now=T0)
    order.request_return(return_id="r1", items=[{"product_id": SAREE, "quantity": 1}], reason="x", now=T0)
    order.decide_return(return_id="r1", accept=True, refund_id="rf1", now=T0)
    events = round_trip(order.collect_events())
    again = fold(events)
    assert (again.fulfilment_steps, again.returns) == (order.fulfilment_steps, order.returns)
    assert Order.fulfilment_steps is None and Order.return_requests is None  # class defaults never mutated


# ---- payments bound to their order ----------------------------------------------------------------------------
def test_a_provider_answer_must_name_this_payment_and_come_through_its_method() -> None:
    payment = Payment.initiate(
        id=UUID("6b1f0c2e-0000-4000-8000-00000000000a"),
        now=T0,
        order_id="o",
        method="nagad",
        amount=D("10.00"),
        order_total=D("10.00"),
    )
    payment.check_provider_answer(method="nagad", reference="6b1f0c2e000040008000-00000000000A")
    refused(
        payment,
        errors.PaymentMethodMismatch,
        lambda: payment.check_provider_answer(method="bkash", reference=str(payment.id)),
    )
    for other in (str(UUID(int=9)), None, ""):
        refused(
            payment,
            errors.PaymentReferenceMismatch,
            lambda other=other: payment.check_provider_answer(method="nagad", reference=other),
        )


def test_a_refund_is_sent_once_and_an_unconfirmed_one_goes_to_review() -> None:
    payment = Payment.initiate(
        id=UUID(int=3), now=T0, order_id="o", method="rocket", amount=D("100.00"), order_total=D("100.00")
    )
    payment.handle_callback(provider_txn_id="RK1", status="completed", now=T0)
    payment.refund(refund_id="rf1", amount=D("40.00"), now=T0)
    refused(
        payment, errors.InvalidPaymentTransition, lambda: payment.require_review(refund_id="rf1", now=T0, reason="x")
    )  # never sent: nothing to review
    payment.send_refund(refund_id="rf1", now=T0)
    refused(payment, errors.InvalidPaymentTransition, lambda: payment.send_refund(refund_id="rf1", now=T0))
    payment.require_review(refund_id="rf1", now=T0, reason="answer lost")
    payment.require_review(refund_id="rf1", now=T0, reason="answer lost")
    assert payment.refund_status("rf1") == "manual_review" and payment.requested_refunds == []
    assert payment.refunded_amount == D("40.00")  # it may have gone back: it still counts
    payment.complete_refund(refund_id="rf1", now=T0, provider_refund_id="RFD-from-portal")
    events = round_trip(list(payment.collect_events()))
    assert [type(e).__name__ for e in events][-3:] == ["RefundSent", "RefundReviewRequired", "RefundCompleted"]
    assert payment.refund_states["rf1"]["provider_refund_id"] == "RFD-from-portal"
    assert fold(events).refund_states == payment.refund_states


@pytest.mark.parametrize("settle", ["completed", "failed"])
def test_a_refund_under_review_is_settled_by_hand(settle: str) -> None:
    payment = Payment.initiate(
        id=UUID(int=3), now=T0, order_id="o", method="bkash", amount=D("100.00"), order_total=D("100.00")
    )
    payment.handle_callback(provider_txn_id="B1", status="completed", now=T0)
    payment.refund(refund_id="rf1", amount=D("100.00"), now=T0)
    payment.send_refund(refund_id="rf1", now=T0)
    payment.require_review(refund_id="rf1", now=T0, reason="lost")
    if settle == "completed":
        payment.complete_refund(refund_id="rf1", now=T0)
        assert payment.status == "refunded"
    else:
        payment.fail_refund(refund_id="rf1", now=T0, reason="never arrived")
        assert payment.status == "completed" and payment.refunded_amount == D("0.00")
    refused(
        payment,
        errors.InvalidPaymentTransition,
        lambda: payment.require_review(refund_id="rf1", now=T0, reason="again"),
    )
