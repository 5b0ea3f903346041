"""Cart → Order → Payment: pricing in Decimal, COD and EMI rules, gateway callbacks in any order, refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain import commerce_errors as errors
from domain.cart import Cart, DiscountRule
from domain.errors import DomainError
from domain.order import Order, OrderLine, emi_plan
from domain.payment import Payment
from tests.unit.aggregates import MAPPER, fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 14, 0, tzinfo=UTC)
D = Decimal
ADDRESS = {"name": "Rahim", "line1": "House 12, Road 5", "area": "Dhanmondi", "city": "Dhaka"}
LIVE20 = DiscountRule(
    code="LIVE20",
    percent=D("20"),
    min_total=D("1000.00"),
    max_uses_per_buyer=1,
    expires_at=T0 + timedelta(hours=1),
)


def a_cart() -> Cart:
    cart = Cart.open(id=UUID(int=1), now=T0, buyer_id=UUID(int=50), stream_id=UUID(int=7))
    cart.collect_events()
    return cart


def place(**kw: Any) -> Order:
    terms: dict[str, Any] = {
        "id": UUID(int=2),
        "now": T0,
        "buyer_id": "buyer-1",
        "lines": [OrderLine("p1", 2, D("47500.00")), OrderLine("p2", 1, D("199.50"), "fs-1", "r-1")],
        "payment_method": "bkash",
        "shipping_address": ADDRESS,
    }
    order = Order.place(**{**terms, **kw})
    order.collect_events()
    return order


def a_payment(amount: Decimal | None = None) -> Payment:
    amount = amount or D("1000.00")
    payment = Payment.initiate(
        id=UUID(int=3), now=T0, order_id=UUID(int=2), method="bkash", amount=amount, order_total=amount
    )
    payment.collect_events()
    return payment


# ---- cart ----------------------------------------------------------------------------------------------
def test_cart_totals_are_decimal_to_the_paisa_and_a_readded_product_takes_the_new_price() -> None:
    cart = a_cart()
    cart.add_item(product_id="p1", quantity=3, unit_price=D("33.33"), now=T0)
    cart.add_item(product_id="p2", quantity=1, unit_price=D("0.10"), now=T0)
    assert cart.subtotal == D("100.09")
    cart.add_item(product_id="p1", quantity=1, unit_price=D("30.00"), now=T0)
    assert new_events(cart) == ["ItemAdded", "ItemAdded", "ItemAdded"]
    assert cart.lines["p1"] == {"product_id": "p1", "quantity": 4, "unit_price": D("30.00")}
    assert cart.total.as_tuple() == D("120.10").as_tuple()


def test_cart_item_refusals() -> None:
    cart = a_cart()
    refused(
        cart,
        errors.InvalidQuantity,
        lambda: cart.add_item(product_id="p", quantity=0, unit_price=D("1"), now=T0),
    )
    refused(
        cart,
        errors.InvalidAmount,
        lambda: cart.add_item(product_id="p", quantity=1, unit_price=1.5, now=T0),  # type: ignore[arg-type]
    )
    refused(cart, errors.ItemNotInCart, lambda: cart.remove_item(product_id="p", now=T0))
    cart.add_item(product_id="p", quantity=3, unit_price=D("10"), now=T0)
    cart.remove_item(product_id="p", quantity=2, now=T0)
    assert cart.lines["p"]["quantity"] == 1
    cart.remove_item(product_id="p", now=T0)
    assert cart.lines == {}


def test_discount_code_rules() -> None:
    cart = a_cart()
    apply = cart.apply_discount_code
    refused(cart, errors.CartEmpty, lambda: apply(code="LIVE20", rule=LIVE20, now=T0))
    cart.add_item(product_id="p", quantity=1, unit_price=D("999.99"), now=T0)
    refused(cart, errors.InvalidDiscountCode, lambda: apply(code="LIVE30", rule=LIVE20, now=T0))
    both = DiscountRule(code="X", percent=D("5"), amount=D("10"))
    refused(cart, errors.InvalidDiscountCode, lambda: apply(code="X", rule=both, now=T0))
    refused(
        cart,
        errors.DiscountCodeExpired,
        lambda: apply(code="LIVE20", rule=LIVE20, now=T0 + timedelta(hours=1)),
    )
    refused(cart, errors.DiscountUsageExceeded, lambda: apply(code="LIVE20", rule=LIVE20, now=T0, uses_by_buyer=1))
    refused(cart, errors.DiscountMinimumNotMet, lambda: apply(code="live20 ", rule=LIVE20, now=T0))
    cart.add_item(product_id="q", quantity=1, unit_price=D("0.01"), now=T0)
    apply(code="live20", rule=LIVE20, now=T0)
    assert cart.discount == D("200.00") and cart.total == D("800.00")
    cart.remove_item(product_id="q", now=T0)  # below the minimum again: the code stops applying
    assert cart.discount == D("0.00") and cart.total == D("999.99")


def test_amount_discount_never_exceeds_the_subtotal() -> None:
    cart = a_cart()
    cart.add_item(product_id="p", quantity=1, unit_price=D("50.00"), now=T0)
    cart.apply_discount_code(code="BIG", rule=DiscountRule(code="BIG", amount=D("80.00")), now=T0)
    assert (cart.discount, cart.total) == (D("50.00"), D("0.00"))


def test_checkout_empties_the_cart_into_a_priced_snapshot_and_retries_are_no_ops() -> None:
    cart = a_cart()
    refused(cart, errors.CartEmpty, lambda: cart.checkout(order_id="o1", now=T0))
    cart.add_item(product_id="p", quantity=2, unit_price=D("600.00"), now=T0)
    cart.apply_discount_code(code="LIVE20", rule=LIVE20, now=T0)
    cart.collect_events()
    cart.checkout(order_id="o1", now=T0)
    (event,) = list[Any](cart.collect_events())
    assert (event.subtotal, event.discount, event.total, event.discount_code) == (
        D("1200.00"),
        D("240.00"),
        D("960.00"),
        "LIVE20",
    )
    assert (cart.lines, cart.discount_rule, cart.order_id, cart.total) == ({}, None, "o1", D("0.00"))
    cart.checkout(order_id="o1", now=T0)
    assert new_events(cart) == []
    refused(cart, errors.CartEmpty, lambda: cart.checkout(order_id="o2", now=T0))
    cart.add_item(product_id="p", quantity=1, unit_price=D("1"), now=T0)  # still the viewer's live cart
    cart.checkout(order_id="o2", now=T0)
    assert cart.orders == ["o1", "o2"] and cart.lines == {}


def test_an_abandoned_cart_expires_after_its_last_add_and_names_what_it_held() -> None:
    cart = a_cart()
    assert cart.expire(now=T0 + timedelta(days=1)) == []  # empty: nothing to give back
    cart.add_item(product_id="p", quantity=2, unit_price=D("600.00"), now=T0, hold_seconds=600)
    cart.add_item(product_id="q", quantity=1, unit_price=D("5.00"), now=T0 + timedelta(minutes=5), hold_seconds=600)
    assert cart.expires_at == T0 + timedelta(minutes=15)  # the deadline follows the last add
    cart.collect_events()
    assert cart.expire(now=T0 + timedelta(minutes=14)) == [] and new_events(cart) == []
    held = cart.expire(now=T0 + timedelta(minutes=15))
    assert [(line["product_id"], line["quantity"]) for line in held] == [("p", 2), ("q", 1)]
    assert new_events(cart) == ["Expired"] and cart.lines == {} and cart.expires_at is None
    assert cart.expire(now=T0 + timedelta(hours=1)) == []  # twice: nothing more
    refused(
        cart,
        errors.InvalidQuantity,
        lambda: cart.add_item(product_id="p", quantity=1, unit_price=D("1"), now=T0, hold_seconds=0),
    )


def test_a_cart_item_stored_before_deadlines_is_upcast_to_no_deadline() -> None:
    cart = a_cart()
    cart.add_item(product_id="p", quantity=1, unit_price=D("10.00"), now=T0, hold_seconds=60)
    (event,) = cart.collect_events()
    stored = MAPPER.to_stored_event(event)
    import json

    state = json.loads(stored.state)
    state.pop("expires_at")
    state.pop("class_version")  # what version 1 stored
    old = MAPPER.to_domain_event(
        type(stored)(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=json.dumps(state).encode(),
        )
    )
    assert old.expires_at is None and old.quantity == 1


# ---- order ---------------------------------------------------------------------------------------------
def test_order_fixes_the_money_at_placement() -> None:
    order = place(discount=D("199.50"), discount_code="LIVE")
    assert (order.subtotal, order.discount, order.total, order.status) == (
        D("95199.50"),
        D("199.50"),
        D("95000.00"),
        "pending_payment",
    )
    assert order.lines[1]["reservation_id"] == "r-1"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"lines": []}, errors.CartEmpty),
        ({"payment_method": "paypal"}, errors.InvalidPaymentMethod),
        ({"shipping_address": {}}, errors.InvalidShippingAddress),
        ({"discount": D("999999.00")}, errors.InvalidAmount),
        ({"lines": [OrderLine("p", 0, D("1"))]}, errors.InvalidQuantity),
        ({"payment_method": "cod"}, errors.CodPhoneRequired),
        ({"payment_method": "cod", "buyer_phone": "01234"}, errors.CodPhoneRequired),
        (
            {"payment_method": "cod", "buyer_phone": "01712345678", "open_cod_orders": 3, "cod_order_cap": 3},
            errors.CodOrderCapReached,
        ),
        ({"payment_method": "emi", "emi_months": 4}, errors.EmiTermNotAllowed),
        ({"payment_method": "bkash", "emi_months": 3}, errors.EmiTermNotAllowed),
        ({"payment_method": "emi", "emi_months": 6, "emi_minimum": D("100000.00")}, errors.EmiBelowMinimum),
    ],
)
def test_order_placement_refusals(change: dict[str, Any], error: type[DomainError]) -> None:
    with pytest.raises(error):
        place(**change)


def test_cod_accepts_a_bangladeshi_mobile_and_emi_computes_instalments() -> None:
    cod = place(payment_method="cod", buyer_phone="+880 1712-345678", open_cod_orders=2, cod_order_cap=3)
    assert cod.buyer_phone == "+8801712345678"
    emi = place(payment_method="emi", emi_months=3, lines=[OrderLine("p", 1, D("10000.00"))])
    assert emi.emi == {"months": 3, "monthly_installment": D("3333.34"), "final_installment": D("3333.32")}
    plan = emi_plan(D("95000.00"), 12)
    assert plan["monthly_installment"] * 11 + plan["final_installment"] == D("95000.00")


def test_order_payment_outcomes_cancel_and_refund() -> None:
    order = place()
    order.mark_payment_failed(payment_id="pay-1", reason="insufficient balance", now=T0)
    order.mark_paid(payment_id="pay-2", now=T0)
    order.mark_paid(payment_id="pay-2", now=T0)  # redelivered
    assert new_events(order) == ["PaymentFailed", "Paid"]
    refused(order, errors.InvalidOrderTransition, lambda: order.mark_paid(payment_id="pay-3", now=T0))
    refused(order, errors.InvalidOrderTransition, lambda: order.mark_payment_failed(payment_id="pay-3", now=T0))
    refused(order, errors.InvalidOrderTransition, lambda: order.cancel(now=T0))
    refused(
        order,
        errors.RefundExceedsPayment,
        lambda: order.refund(refund_id="rf1", amount=D("95199.51"), now=T0),
    )
    order.refund(refund_id="rf1", amount=D("199.50"), now=T0)
    refused(order, errors.InvalidAmount, lambda: order.refund(refund_id="rf1", amount=D("1.00"), now=T0))
    order.refund(refund_id="rf2", amount=D("95000.00"), now=T0)
    assert order.status == "refunded" and order.refunded_amount == order.total


def test_only_unpaid_orders_cancel_and_cancelled_orders_are_not_paid() -> None:
    order = place()
    refused(order, errors.InvalidOrderTransition, lambda: order.refund(refund_id="rf", amount=D("1.00"), now=T0))
    order.cancel(now=T0, reason="reservation expired")
    order.cancel(now=T0)
    assert new_events(order) == ["Cancelled"]
    refused(order, errors.InvalidOrderTransition, lambda: order.mark_paid(payment_id="pay", now=T0))


# ---- payment -------------------------------------------------------------------------------------------
def test_payment_amount_must_equal_the_order_total() -> None:
    with pytest.raises(errors.PaymentAmountMismatch):
        Payment.initiate(
            id=UUID(int=3), now=T0, order_id="o", method="nagad", amount=D("999.99"), order_total=D("1000.00")
        )
    with pytest.raises(errors.InvalidPaymentMethod):
        Payment.initiate(id=UUID(int=3), now=T0, order_id="o", method="cash", amount=D("1"), order_total=D("1"))
    with pytest.raises(errors.InvalidAmount):
        Payment.initiate(id=UUID(int=3), now=T0, order_id="o", method="nagad", amount=D("0"), order_total=D("0"))


def test_callbacks_twice_late_or_out_of_order_change_nothing_wrong() -> None:
    payment = a_payment()
    payment.start_processing(provider_txn_id="TX1", now=T0)
    payment.handle_callback(provider_txn_id="TX1", status="completed", amount=D("1000.00"), now=T0)
    payment.handle_callback(provider_txn_id="TX1", status="completed", now=T0)  # duplicate
    payment.handle_callback(provider_txn_id="TX1", status="processing", now=T0)  # stale
    assert new_events(payment) == ["ProcessingStarted", "Completed"]
    payment.handle_callback(provider_txn_id="TX1", status="failed", reason="timeout", now=T0)
    payment.handle_callback(provider_txn_id="TX1", status="failed", reason="timeout", now=T0)
    payment.handle_callback(provider_txn_id="TX9", status="completed", now=T0)
    assert new_events(payment) == ["CallbackAnomalyRecorded", "CallbackAnomalyRecorded"]
    assert payment.status == "completed"
    assert [a["anomaly"] for a in payment.anomalies] == ["failed_after_completed", "unknown_transaction"]
    refused(
        payment,
        errors.UnknownCallbackStatus,
        lambda: payment.handle_callback(provider_txn_id="TX1", status="ok", now=T0),
    )
    refused(payment, errors.PaymentNotPending, lambda: payment.start_processing(provider_txn_id="TX2", now=T0))
    refused(payment, errors.PaymentNotPending, lambda: payment.fail(reason="timeout", now=T0))


def test_a_late_completion_after_a_failure_is_applied_and_flagged() -> None:
    payment = a_payment()
    payment.handle_callback(provider_txn_id="TX1", status="failed", reason="timeout", now=T0)
    payment.handle_callback(provider_txn_id="TX1", status="completed", amount=D("999.00"), now=T0)
    assert new_events(payment) == ["Failed", "CallbackAnomalyRecorded"] and payment.status == "failed"
    payment.handle_callback(provider_txn_id="TX1", status="completed", amount=D("1000.00"), now=T0)
    (event,) = list[Any](payment.collect_events())
    assert payment.status == "completed" and event.after_failure is True


def test_refunds_are_partial_up_to_the_amount() -> None:
    payment = a_payment()
    refused(
        payment,
        errors.InvalidPaymentTransition,
        lambda: payment.refund(refund_id="rf1", amount=D("1"), now=T0),
    )
    payment.handle_callback(provider_txn_id="TX1", status="completed", now=T0)
    payment.refund(refund_id="rf1", amount=D("400.00"), now=T0)
    payment.refund(refund_id="rf1", amount=D("400.00"), now=T0)  # redelivered
    refused(
        payment,
        errors.RefundExceedsPayment,
        lambda: payment.refund(refund_id="rf2", amount=D("600.01"), now=T0),
    )
    refused(payment, errors.InvalidAmount, lambda: payment.refund(refund_id="rf2", amount=D("0"), now=T0))
    payment.refund(refund_id="rf2", amount=D("600.00"), now=T0)
    assert payment.status == "refunded" and payment.refunded_amount == D("1000.00")
    assert new_events(payment) == ["Completed", "Refunded", "Refunded"]


# ---- replay and serialisation ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cart", "order", "payment"])
def test_replay_from_creation(kind: str) -> None:
    agg: Any
    if kind == "cart":
        agg = Cart.open(id=UUID(int=1), now=T0, buyer_id=UUID(int=50), stream_id="stream-7")
        agg.add_item(product_id=UUID(int=11), quantity=2, unit_price=D("600.05"), now=T0 + timedelta(microseconds=7))
        agg.add_item(product_id="p2", quantity=1, unit_price=D("5"), now=T0)
        agg.remove_item(product_id="p2", now=T0)
        agg.apply_discount_code(code="LIVE20", rule=LIVE20, now=T0)
        agg.checkout(order_id=UUID(int=2), now=T0)
    elif kind == "order":
        agg = Order.place(
            id=UUID(int=2),
            now=T0,
            buyer_id=UUID(int=9),
            lines=[OrderLine(UUID(int=5), 1, D("12000.00"), UUID(int=6), "r")],
            payment_method="emi",
            shipping_address=ADDRESS,
            emi_months=12,
        )
        agg.mark_payment_failed(payment_id="p1", now=T0)
        agg.mark_paid(payment_id="p2", now=T0)
        agg.refund(refund_id="rf", amount=D("12000.00"), now=T0)
    else:
        agg = Payment.initiate(
            id=UUID(int=3),
            now=T0,
            order_id=UUID(int=2),
            method="card",
            amount=D("10.10"),
            order_total=D("10.1"),
        )
        agg.handle_callback(provider_txn_id="T", status="processing", now=T0)
        agg.handle_callback(provider_txn_id="T", status="failed", reason="3ds", now=T0)
        agg.handle_callback(provider_txn_id="T", status="completed", amount=D("10.10"), now=T0)
        agg.handle_callback(provider_txn_id="U", status="completed", now=T0)
        agg.refund(refund_id=UUID(int=4), amount=D("10.10"), now=T0)
    events = agg.collect_events()
    assert fold(events) == agg and fold(round_trip(events)) == agg


# ---- any interleaving: totals hold, callbacks never move money backwards, refunds stay under payments -----
PRICES = [D("0.01"), D("99.99"), D("1250.50"), D("47500.00")]
RULES = [
    DiscountRule(code="PCT", percent=D("12.5")),
    DiscountRule(code="AMT", amount=D("300.00"), min_total=D("500.00")),
    DiscountRule(code="OLD", percent=D("5"), expires_at=T0),
]


class CheckoutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0 + timedelta(minutes=1)
        self.cart = Cart.open(id=UUID(int=1), now=T0, buyer_id="b", stream_id="s")
        self.cart.add_item(product_id="p1", quantity=1, unit_price=D("1250.50"), now=T0)
        self.order: Order | None = None
        self.payment: Payment | None = None
        self.events: dict[str, list[Any]] = {
            "cart": list(self.cart.collect_events()),
            "order": [],
            "payment": [],
        }
        self.ever_settled = False
        self.refund_outcomes: dict[str, str] = {}  # refund id → completed / failed, once the provider answered

    def attempt(self, name: str, command: Any) -> None:
        agg = getattr(self, name)
        version = agg.version
        try:
            command()
        except DomainError:
            assert agg.version == version and not agg.pending_events
        self.events[name] += agg.collect_events()

    @precondition(lambda self: self.order is None)
    @rule(product=st.sampled_from(["p1", "p2", "p3"]), quantity=st.integers(0, 3), price=st.sampled_from(PRICES))
    def add_item(self, product: str, quantity: int, price: Decimal) -> None:
        self.attempt(
            "cart",
            lambda: self.cart.add_item(product_id=product, quantity=quantity, unit_price=price, now=self.now),
        )

    @precondition(lambda self: self.order is None)
    @rule(product=st.sampled_from(["p1", "p2", "p3"]), quantity=st.none() | st.integers(1, 2))
    def remove_item(self, product: str, quantity: int | None) -> None:
        self.attempt("cart", lambda: self.cart.remove_item(product_id=product, quantity=quantity, now=self.now))

    @precondition(lambda self: self.order is None)
    @rule(discount=st.sampled_from(RULES))
    def apply_code(self, discount: DiscountRule) -> None:
        self.attempt("cart", lambda: self.cart.apply_discount_code(code=discount.code, rule=discount, now=self.now))

    @precondition(lambda self: self.order is None)
    @rule()
    def checkout_and_pay(self) -> None:
        self.attempt("cart", lambda: self.cart.checkout(order_id=UUID(int=2), now=self.now))
        if UUID(int=2) not in self.cart.orders:
            return
        snapshot = self.events["cart"][-1]
        lines = [OrderLine(r["product_id"], r["quantity"], r["unit_price"]) for r in snapshot.lines]
        self.order = Order.place(
            id=UUID(int=2),
            now=self.now,
            buyer_id="b",
            lines=lines,
            payment_method="bkash",
            shipping_address=ADDRESS,
            discount=snapshot.discount,
        )
        assert self.order.total == snapshot.total
        self.events["order"] += self.order.collect_events()
        if self.order.total > 0:
            self.payment = Payment.initiate(
                id=UUID(int=3),
                now=self.now,
                order_id=UUID(int=2),
                method="bkash",
                amount=self.order.total,
                order_total=self.order.total,
            )
            self.events["payment"] += self.payment.collect_events()

    @precondition(lambda self: self.payment is not None)
    @rule(
        txn=st.sampled_from(["TX1", "TX1", "TX2"]),
        status=st.sampled_from(["processing", "completed", "completed", "failed", "bogus"]),
        wrong_amount=st.sampled_from([False, False, False, True]),
    )
    def gateway_calls_back(self, txn: str, status: str, wrong_amount: bool) -> None:
        assert self.payment is not None
        amount = self.payment.amount + (D("1.00") if wrong_amount else 0)
        self.attempt(
            "payment",
            lambda: self.payment.handle_callback(provider_txn_id=txn, status=status, amount=amount, now=self.now),
        )

    @precondition(lambda self: self.payment is not None)
    @rule(timeout=st.booleans())
    def app_moves_payment(self, timeout: bool) -> None:
        assert self.payment is not None
        if timeout:
            self.attempt("payment", lambda: self.payment.fail(reason="timeout", now=self.now))
        else:
            self.attempt("payment", lambda: self.payment.start_processing(provider_txn_id="TX1", now=self.now))

    @precondition(lambda self: self.payment is not None)
    @rule(refund_id=st.sampled_from(["rf1", "rf2", "rf3"]), share=st.sampled_from([D("0.1"), D("0.5"), D("1")]))
    def refund(self, refund_id: str, share: Decimal) -> None:
        assert self.payment is not None and self.order is not None
        amount = (self.payment.amount * share).quantize(D("0.01"))
        known = refund_id in self.payment.refunds  # a retry: the application answers it, recording nothing
        self.attempt("payment", lambda: self.payment.refund(refund_id=refund_id, amount=amount, now=self.now))
        if refund_id in self.payment.refunds and not known:
            self.attempt(
                "order",
                lambda: self.order.refund(refund_id=refund_id, amount=self.payment.refunds[refund_id], now=self.now),
            )

    @precondition(lambda self: self.payment is not None)
    @rule(
        refund_id=st.sampled_from(["rf1", "rf2", "rf3", "rf-none"]),
        outcome=st.sampled_from(["completed", "completed", "failed", "manual"]),
    )
    def provider_answers_refund(self, refund_id: str, outcome: str) -> None:
        """The refund manager records the provider's answer (or a cash refund by hand), possibly twice."""
        assert self.payment is not None and self.order is not None
        if outcome == "failed":
            self.attempt(
                "payment", lambda: self.payment.fail_refund(refund_id=refund_id, now=self.now, reason="refused")
            )
            if self.payment.refund_status(refund_id) == "failed" and refund_id in self.order.refunds:
                self.attempt("order", lambda: self.order.refund_failed(refund_id=refund_id, now=self.now))
        else:
            self.attempt(
                "payment",
                lambda: self.payment.complete_refund(
                    refund_id=refund_id,
                    now=self.now,
                    provider_refund_id=None if outcome == "manual" else "RFD1",
                    manual=outcome == "manual",
                ),
            )

    @precondition(lambda self: self.payment is not None)
    @rule()
    def order_follows_payment(self) -> None:
        assert self.payment is not None and self.order is not None
        if self.payment.status in ("completed", "refunded"):
            self.attempt("order", lambda: self.order.mark_paid(payment_id=self.payment.id, now=self.now))
        elif self.payment.status == "failed":
            self.attempt("order", lambda: self.order.mark_payment_failed(payment_id=self.payment.id, now=self.now))

    @precondition(lambda self: self.order is not None)
    @rule()
    def buyer_cancels(self) -> None:
        assert self.order is not None
        self.attempt("order", lambda: self.order.cancel(now=self.now, reason="changed mind"))

    @invariant()
    def cart_totals_add_up(self) -> None:
        c = self.cart
        assert D("0.00") <= c.discount <= c.subtotal and c.total == c.subtotal - c.discount
        assert all(x.as_tuple().exponent == -2 for x in (c.subtotal, c.discount, c.total))
        assert all(line["quantity"] >= 1 for line in c.lines.values())

    @invariant()
    def refunds_never_exceed_payments(self) -> None:
        if self.payment is not None:
            p = self.payment
            assert D("0.00") <= p.refunded_amount <= p.amount
            assert not p.refunds or p.status in ("completed", "refunded")
            if p.status in ("completed", "refunded"):
                self.ever_settled = True
            assert not self.ever_settled or p.status in ("completed", "refunded"), "money state moved backwards"
        if self.order is not None:
            assert self.order.refunded_amount <= self.order.total
            assert self.order.status not in ("paid", "refunded") or self.order.payment_id is not None

    @invariant()
    def a_refund_answered_stays_answered(self) -> None:
        if self.payment is None:
            return
        p = self.payment
        for refund_id in p.refunds:
            status = p.refund_status(refund_id)
            assert status in ("requested", "completed", "failed", "manual_review")
            before = self.refund_outcomes.get(str(refund_id))
            assert before is None or before == status, f"refund {refund_id}: {before} → {status}"
            if status != "requested":
                self.refund_outcomes[str(refund_id)] = status
        assert "rf-none" not in p.refund_states  # an unknown refund never gets a state
        assert set(p.requested_refunds) == {str(r) for r in p.refunds if p.refund_status(r) == "requested"}
        failed = sum((a for r, a in p.refunds.items() if p.refund_status(r) == "failed"), D("0.00"))
        assert p.refunded_amount + failed == sum(p.refunds.values(), D("0.00"))  # a refused refund gives nothing
        if self.order is not None:
            for refund_id in self.order.refunds:  # the order forgets exactly the refunds the provider refused
                assert (str(refund_id) in self.order.failed_refunds) == (p.refund_status(refund_id) == "failed")

    def teardown(self) -> None:
        for name, events in self.events.items():
            if events:
                assert fold(events) == getattr(self, name)


class PaymentMachine(CheckoutMachine):
    """The same rules, starting with the order placed and the payment open: every step goes to callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.checkout_and_pay()


CheckoutMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
PaymentMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
TestCheckoutInvariants = CheckoutMachine.TestCase
TestPaymentInvariants = PaymentMachine.TestCase


# ---- refund states: requested → completed / failed ------------------------------------------------------
def a_paid_payment(amount: Decimal | None = None) -> Payment:
    payment = a_payment(amount)
    payment.start_processing(provider_txn_id="TX1", now=T0)
    payment.handle_callback(provider_txn_id="TX1", status="completed", now=T0, amount=payment.amount)
    payment.collect_events()
    return payment


def test_a_refund_is_requested_then_completed_once() -> None:
    payment = a_paid_payment()
    payment.refund(refund_id="rf1", amount=D("100.00"), now=T0, reason="damaged")
    assert payment.refund_status("rf1") == "requested" and payment.requested_refunds == ["rf1"]
    payment.complete_refund(refund_id="rf1", now=T0, provider_refund_id="RFD1")
    payment.complete_refund(refund_id="rf1", now=T0, provider_refund_id="RFD1")  # recorded again: nothing
    events = payment.collect_events()
    assert [type(e).__name__ for e in events] == ["Refunded", "RefundCompleted"]
    round_trip(events)
    assert payment.refund_states["rf1"]["provider_refund_id"] == "RFD1" and payment.requested_refunds == []
    refused(payment, errors.InvalidPaymentTransition, lambda: payment.fail_refund(refund_id="rf1", now=T0))
    refused(payment, errors.InvalidPaymentTransition, lambda: payment.complete_refund(refund_id="nope", now=T0))


def test_a_refused_refund_gives_nothing_back_and_the_amount_may_be_refunded_again() -> None:
    order = place()
    payment = a_paid_payment(order.total)
    order.mark_paid(payment_id=str(payment.id), now=T0)
    order.collect_events()
    whole = payment.amount
    assert order.total == whole
    payment.refund(refund_id="rf1", amount=whole, now=T0)
    order.refund(refund_id="rf1", amount=whole, now=T0)
    assert (payment.status, order.status) == ("refunded", "refunded")
    payment.fail_refund(refund_id="rf1", now=T0, reason="bKash 2056")
    order.refund_failed(refund_id="rf1", now=T0, reason="bKash 2056")
    assert (payment.status, order.status) == ("completed", "paid")
    assert payment.refunded_amount == order.refunded_amount == D("0.00")
    round_trip(payment.collect_events() + order.collect_events())
    refused(payment, errors.InvalidPaymentTransition, lambda: payment.complete_refund(refund_id="rf1", now=T0))
    payment.refund(refund_id="rf2", amount=whole, now=T0)  # the money is still there: refund it again
    assert payment.status == "refunded"


def test_a_cash_refund_is_manual() -> None:
    payment = a_paid_payment()
    payment.refund(refund_id="rf1", amount=D("10.00"), now=T0)
    payment.complete_refund(refund_id="rf1", now=T0, manual=True)
    assert payment.refund_states["rf1"] == {
        "status": "completed",
        "reason": None,
        "provider_refund_id": None,
        "manual": True,
    }
