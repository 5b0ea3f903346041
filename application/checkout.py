"""Live cart and instant checkout during a stream: cart → Order + Payment, then the payment's outcome.

Prices come from aggregates (the LiveStream's special price, the flash sale, the auction, the group buy), never
from the client: a client price that differs is refused with the current one. Discount codes are the stream's own
(``stream_settings``). Stock is decided by the stream product's stock aggregate: a cart add holds units for the
cart (until the cart is checked out or expires), a checkout holds them for the order, payment sells them and a
failed or timed-out payment gives them back (``application.checkout_lines``). The per-buyer caps (open
cash-on-delivery orders, a code's uses) are decided on the buyer's ledger (``application.buyer_limits``).

A checkout is exactly-once: the order and payment ids derive from the buyer's idempotency key, so a retry finds
the order it already placed. Mobile-money sessions are opened with the provider after the order is saved
(``PaymentSessions``); the provider's callback is confirmed with the provider before it changes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from application.buyer_limits import discount_uses, ledger_of, open_cod_orders
from application.checkout_lines import (
    Item,
    NeedListPrices,
    PriceChanged,
    ReplaySalesClosed,
    cart_lines,
    check_replay_sales,
    is_plain,
    item_line,
    merge_plain,
    sale_price,
    settle_lines,
)
from application.stream_stock import cart_hold, stock_for, stock_id_for
from domain.buyer_ledger import BuyerLedger
from domain.cart import Cart, DiscountRule
from domain.commerce_errors import CartEmpty, InvalidDiscountCode
from domain.errors import NotFound, StreamNotFound
from domain.live_stream import LiveStream
from domain.order import Order
from domain.payment import Payment
from domain.stream_stock import StreamStock

__all__ = [
    "CheckoutService",
    "Checkout",
    "Item",
    "Placed",
    "PriceChanged",
    "CartView",
    "OrderNotFound",
    "PaymentNotFound",
    "CartNotFound",
    "ReplaySalesClosed",
    "ListPrices",
    "cart_id_for",
    "order_id_for",
    "payment_id_for",
]

T = TypeVar("T")

_NS = uuid.UUID("9b2f6c1e-7d4a-4e8b-a1c3-5f6e7d8c9b0a")
MOBILE_MONEY = ("bkash", "nagad", "rocket")
ONLINE = (*MOBILE_MONEY, "card", "emi")  # a provider session is opened: mobile money, or cards (EMI on cards)


class OrderNotFound(NotFound):
    code = "order_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class CartNotFound(NotFound):
    code = "cart_not_found"


def cart_id_for(buyer_id: str, stream_id: UUID) -> UUID:
    return uuid.uuid5(_NS, f"cart:{buyer_id}:{stream_id}")


def order_id_for(buyer_id: str, idempotency_key: str) -> UUID:
    return uuid.uuid5(_NS, f"order:{buyer_id}:{idempotency_key}")


def payment_id_for(order_id: UUID) -> UUID:
    return uuid.uuid5(_NS, f"payment:{order_id}")


@dataclass(frozen=True)
class Checkout:
    stream_id: UUID
    buyer_id: str
    items: list[Item]
    payment_method: str
    shipping_address: dict[str, Any]
    idempotency_key: str
    discount_code: str | None = None
    buyer_phone: str | None = None
    emi_months: int | None = None
    from_cart: bool = False  # check out the buyer's live cart for the stream (``items`` then stays empty)
    cart_id: UUID | None = None  # named by the client: it must be that cart
    loyalty_points: int = 0  # points to spend as a discount (issue 14; application.loyalty)
    device_id: str | None = None  # the app's id for the buyer's device (a fraud signal, issue 17)


@dataclass(frozen=True)
class Placed:
    order_id: UUID
    payment_id: UUID
    total: Decimal
    discount: Decimal
    payment_method: str
    order_status: str
    payment_status: str
    emi: dict[str, Any] | None
    replayed: bool
    version: int = 0  # the order's: GET /orders/:id?min_version= waits for it


@dataclass(frozen=True)
class CartView:
    cart_id: UUID
    items: list[dict[str, Any]]
    subtotal: Decimal
    total: Decimal
    version: int
    expires_at: datetime | None = None  # when an abandoned cart gives its units back
    discount: Decimal = Decimal("0.00")
    discount_code: str | None = None
    order_id: UUID | None = None  # the last order the cart was emptied into


class ProviderAnswer(NamedTuple):
    """The provider's own view of a session (never a callback's claim), as the Payment aggregate takes it."""

    provider_id: str | None  # None: no session was ever opened with the provider
    status: str
    amount: Decimal | None
    reason: str | None
    reference: str | None  # the merchant reference the provider holds for it: our payment id


class PaymentSessions(Protocol):
    """Opens and confirms provider sessions (infra adapts the bKash / Nagad / Rocket gateways)."""

    async def open(
        self, method: str, payment_id: UUID, amount: Decimal, payer: str, emi_months: int | None = None
    ) -> tuple[str, str]:
        """→ (provider payment id, redirect URL for the buyer); EMI orders pass their months (card EMI)."""
        ...

    async def confirm(self, method: str, params: dict[str, Any]) -> ProviderAnswer:
        """A callback's claim checked with the provider."""
        ...

    async def status(self, method: str, provider_payment_id: str) -> ProviderAnswer:
        """The provider's current view of a session."""
        ...


def _discount_rule(stream: LiveStream, code: str) -> DiscountRule:
    codes = (stream.stream_settings or {}).get("discount_codes") or {}
    terms = codes.get(code.upper())
    if terms is None:
        raise InvalidDiscountCode("unknown discount code for this stream", code=code)

    def money(key: str) -> Decimal | None:
        value = terms.get(key)
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))

    expires = terms.get("expires_at")
    rule = DiscountRule(
        code=code.upper(),
        percent=money("percent"),
        amount=money("amount"),
        min_total=money("min_total") or Decimal("0.00"),
        max_uses_per_buyer=terms.get("max_uses_per_buyer"),
        expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
    )
    rule.check()
    return rule


class ListPrices(Protocol):
    """The catalogue's regular prices (its own store, written directly: never behind, not a read model)."""

    async def list_prices(self, product_ids: list[str]) -> dict[str, Decimal]:
        """product id → list price, for the products the catalogue knows."""
        ...


class RefundExecutor(Protocol):
    async def execute_quietly(self, payment_id: UUID, refund_id: str) -> str | None:
        """Send a recorded refund to the provider now (application.refunds.RefundService)."""
        ...


class CheckoutService:
    def __init__(
        self,
        writer: BatchWriter,
        sessions: PaymentSessions,
        *,
        clock: Callable[[], datetime],
        refunds: RefundExecutor | None = None,
        cart_hold_s: int = 900,
        replay_sales_s: float = 30 * 86400.0,
    ) -> None:
        self._writer = writer
        self._sessions = sessions
        self._clock = clock
        self.refunds = refunds  # executes the automatic refund of a paid order whose hold ran out
        self.loyalty: Any = None  # application.loyalty.LoyaltyService: spends points in the order's save
        self._cart_hold_s = cart_hold_s
        self._replay_sales_s = replay_sales_s  # how long after a show its replay sells its products
        self.catalogue: ListPrices | None = None  # set by the composition root: list prices for replay sales

    async def _priced(self, product_ids: list[str], run: Callable[[Mapping[str, Decimal] | None], Awaitable[T]]) -> T:
        """Decide without list prices (a live show needs none); if the decision sells plain items of an ended
        show, read the catalogue's prices for them and decide again."""
        try:
            return await run(None)
        except NeedListPrices:
            prices = await self.catalogue.list_prices(product_ids) if self.catalogue is not None else {}
            return await run(prices)

    # ---- the live cart -------------------------------------------------------------------------------
    async def add_to_cart(self, stream_id: UUID, buyer_id: str, item: Item) -> CartView:
        """Add units at the stream's price and hold them for the cart (refused when the stock has too few)."""
        return await self._priced(
            [item.product_id], lambda prices: self._add_to_cart(stream_id, buyer_id, item, prices)
        )

    async def _add_to_cart(
        self, stream_id: UUID, buyer_id: str, item: Item, list_prices: Mapping[str, Decimal] | None
    ) -> CartView:
        now = self._clock()
        cart_id = cart_id_for(buyer_id, stream_id)

        def decide(uow: UnitOfWork) -> CartView:
            stream: LiveStream = uow.current(stream_id)  # ended elsewhere? (another API process)
            check_replay_sales(stream, now, self._replay_sales_s)  # live, or the replay of a recent show
            price = sale_price(stream, item, list_prices)
            cart = uow.find(cart_id)
            if cart is None:
                cart = Cart.open(id=cart_id, now=now, buyer_id=buyer_id, stream_id=str(stream_id))
                uow.add(cart)
            cart.add_item(
                product_id=item.product_id,
                quantity=item.quantity,
                unit_price=price,
                now=now,
                hold_seconds=self._cart_hold_s,
            )
            stock_for(uow, stream, item.product_id, now).reserve(
                hold_id=cart_hold(cart_id), quantity=item.quantity, now=now
            )
            return _cart_view(cart)

        return await self._writer.submit(decide, not_found=_stream_missing)

    async def cart(self, stream_id: UUID, buyer_id: str) -> CartView:
        """The buyer's live cart for the stream, from the store (an empty one if they never added anything)."""
        cart_id = cart_id_for(buyer_id, stream_id)

        def decide(uow: UnitOfWork) -> CartView:
            if uow.find(cart_id) is None:
                return CartView(cart_id, [], Decimal("0.00"), Decimal("0.00"), 0)
            return _cart_view(uow.current(cart_id))  # expired by the process managers meanwhile?

        return await self._writer.submit(decide)

    async def expire_cart(self, cart_id: UUID) -> tuple[int, datetime | None]:
        """An abandoned cart past its deadline is emptied and its units go back; → (lines given back, the cart's
        deadline now: a later one when it was refilled since, None when it holds nothing)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> tuple[int, datetime | None]:
            if uow.find(cart_id) is None:
                return 0, None
            cart: Cart = uow.current(cart_id)  # refilled through the API since this process last saw it?
            lines = cart.expire(now=now)
            for line in lines:
                stock_id = stock_id_for(cart.stream_id, line["product_id"])
                if uow.find(stock_id) is not None:  # as stored: a stale copy would hold nothing and release nothing
                    stock: StreamStock = uow.current(stock_id)
                    stock.release(
                        hold_id=cart_hold(cart.id), quantity=int(line["quantity"]), reason="cart_expired", now=now
                    )
            return len(lines), cart.expires_at if cart.lines else None

        return await self._writer.submit(decide)

    # ---- checkout ------------------------------------------------------------------------------------
    async def checkout(self, cmd: Checkout) -> tuple[Placed, str | None]:
        """Place the order (exactly once per key); open the provider session; → (placed, redirect URL)."""
        plain = sorted({i.product_id for i in cmd.items if is_plain(i)})
        return await self._priced(plain, lambda prices: self._checkout(cmd, prices))

    async def _checkout(self, cmd: Checkout, list_prices: Mapping[str, Decimal] | None) -> tuple[Placed, str | None]:
        now = self._clock()
        order_id = order_id_for(cmd.buyer_id, cmd.idempotency_key)
        payment_id = payment_id_for(order_id)

        def decide(uow: UnitOfWork) -> Placed:
            existing: Order | None = uow.find(order_id)
            if existing is not None:
                if existing.buyer_id != cmd.buyer_id:  # a key is scoped to its buyer; never someone else's order
                    raise OrderNotFound("order not found", order_id=str(order_id))
                return _placed(existing, uow.get(payment_id), replayed=True)
            stream: LiveStream = uow.current(cmd.stream_id)  # ended elsewhere? (another API process)
            cart = _cart_to_check_out(uow, cmd) if cmd.from_cart else None
            items = merge_plain(cmd.items)
            if cart is not None or any(is_plain(i) for i in items):
                # Holds, wins and group-buy holds stay payable after the show until their own deadline; the
                # stream's own items are sold after it from its replay, for the replay window, at list price.
                check_replay_sales(stream, now, self._replay_sales_s)
            lines = (
                cart_lines(uow, stream, cart, order_id, now)
                if cart is not None
                else [item_line(uow, stream, i, cmd.buyer_id, order_id, now, list_prices) for i in items]
            )
            subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
            discount, rule = Decimal("0.00"), None
            if cmd.discount_code:
                rule = _discount_rule(stream, cmd.discount_code)
                if rule.expires_at is not None and now >= rule.expires_at:
                    raise InvalidDiscountCode("the discount code has expired", code=cmd.discount_code)
                discount = rule.discount_on(subtotal)
            if cmd.loyalty_points:  # spent in this same save: exactly once with the order (keyed by it)
                if self.loyalty is None:
                    raise InvalidDiscountCode("loyalty points are not available here")
                discount += self.loyalty.redeem(
                    uow,
                    buyer_id=cmd.buyer_id,
                    order_id=order_id,
                    points=cmd.loyalty_points,
                    room=subtotal - discount,
                    now=now,
                )
            capped = rule is not None and rule.max_uses_per_buyer is not None
            ledger = ledger_of(uow, cmd.buyer_id, now) if cmd.payment_method == "cod" or capped else None
            if capped:
                assert rule is not None and ledger is not None
                rule.refuse_reuse(discount_uses(uow, ledger, str(cmd.stream_id), rule.code))
            order = Order.place(
                id=order_id,
                now=now,
                buyer_id=cmd.buyer_id,
                lines=lines,
                payment_method=cmd.payment_method,
                shipping_address=cmd.shipping_address,
                buyer_phone=cmd.buyer_phone,
                stream_id=str(cmd.stream_id),
                cart_id=str(cart.id) if cart is not None else None,
                discount=discount,
                discount_code=cmd.discount_code.upper() if cmd.discount_code else None,
                open_cod_orders=open_cod_orders(uow, ledger, now) if ledger and cmd.payment_method == "cod" else 0,
                emi_months=cmd.emi_months,
                device_id=cmd.device_id,
            )
            payment = Payment.initiate(
                id=payment_id,
                now=now,
                order_id=str(order_id),
                method=cmd.payment_method,
                amount=order.total,
                order_total=order.total,
                stream_id=str(cmd.stream_id),
            )
            uow.add(order)
            uow.add(payment)
            if cart is not None:
                cart.checkout(order_id=order_id, now=now)  # the cart is emptied into the order
            if ledger is not None:
                _record_commitments(ledger, cmd, rule if capped else None, order_id, now)
            if cmd.payment_method == "cod":  # paid on delivery: the held units are sold now
                settle_lines(uow, order, now, paid=True)
            return _placed(order, payment, replayed=False)

        placed = await self._writer.submit(decide, not_found=_stream_missing)
        redirect = None
        if placed.payment_method in ONLINE and placed.payment_status == "pending":
            emi_months = int(placed.emi["months"]) if placed.emi else None
            provider_id, redirect = await self._sessions.open(
                placed.payment_method, payment_id, placed.total, cmd.buyer_phone or cmd.buyer_id, emi_months
            )
            await self._start_processing(payment_id, provider_id)
            placed = Placed(**{**placed.__dict__, "payment_status": "processing"})
        return placed, redirect

    async def _start_processing(self, payment_id: UUID, provider_id: str) -> None:
        now = self._clock()

        def decide(uow: UnitOfWork) -> None:
            payment: Payment = uow.get(payment_id)
            payment.start_processing(provider_txn_id=provider_id, now=now)

        await self._writer.submit(decide, not_found=_payment_missing)

    async def payment_callback(self, payment_id: UUID, method: str, params: dict[str, Any]) -> Placed:
        """A provider called back: confirm with the provider, then apply to Payment and Order (idempotent).
        An answer that names another payment, or came through another method's door, is refused (409) and
        writes nothing: a provider transaction pays only the payment it was opened for."""
        return await self._apply_outcome(payment_id, method, await self._sessions.confirm(method, params))

    async def reconcile(self, payment_id: UUID, method: str, provider_id: str | None, *, give_up: bool) -> Placed:
        """Nobody called back: ask the provider; still open and ``give_up`` → the payment fails (timeout).
        A session that never opened (no ``provider_id``: the provider was down when the buyer checked out) has
        nothing to ask: with ``give_up`` it fails, and the order's holds go back."""
        if provider_id is None:
            answer = ProviderAnswer(
                None, "failed" if give_up else "processing", None, "payment_session_not_opened", None
            )
        else:
            answer = await self._sessions.status(method, provider_id)
            if answer.status == "processing" and give_up:
                answer = answer._replace(status="failed", reason="payment_timeout")
        return await self._apply_outcome(payment_id, method, answer)

    async def _apply_outcome(self, payment_id: UUID, method: str, answer: ProviderAnswer) -> Placed:
        provider_id, status, amount, reason = answer.provider_id, answer.status, answer.amount, answer.reason
        now = self._clock()
        recorded: list[str] = []

        def decide(uow: UnitOfWork) -> Placed:
            recorded.clear()
            payment: Payment = uow.get(payment_id)
            if provider_id is None:  # our own deadline for a session that never opened
                if status == "failed" and payment.status == "pending":
                    payment.fail(now=now, reason=reason or "payment_session_not_opened")
            else:
                payment.check_provider_answer(method=method, reference=answer.reference)
                payment.handle_callback(
                    provider_txn_id=provider_id, status=status, now=now, amount=amount, reason=reason
                )
            order: Order = uow.get(UUID(str(payment.order_id)))
            if payment.status == "completed" and order.status == "cancelled" and not payment.refunds:
                # Captured after the buyer cancelled: nothing to deliver, all the money goes back.
                refund_id = str(uuid.uuid5(_NS, f"refund:{order.id}:cancelled"))
                payment.refund(refund_id=refund_id, amount=payment.amount, now=now, reason="order_cancelled")
                recorded.append(refund_id)
            elif payment.status == "completed" and order.status in ("pending_payment", "payment_failed"):
                # On time, or late (after we had failed it: the money was captured, so the order is paid;
                # units whose hold was released meanwhile are refunded below).
                order.mark_paid(payment_id=str(payment_id), now=now)
                lost = settle_lines(uow, order, now, paid=True)
                if lost:  # paid for units whose hold ran out meanwhile: the money goes back
                    refund_id = str(uuid.uuid5(_NS, f"refund:{order.id}:lost-hold"))
                    order.refund(refund_id=refund_id, amount=lost, now=now, reason="reservation_expired")
                    payment.refund(refund_id=refund_id, amount=lost, now=now, reason="reservation_expired")
                    recorded.append(refund_id)
            elif payment.status == "failed" and order.status == "pending_payment":
                order.mark_payment_failed(payment_id=str(payment_id), now=now, reason=reason)
                settle_lines(uow, order, now, paid=False)
            return _placed(order, payment, replayed=False)

        placed = await self._writer.submit(decide, not_found=_payment_missing)
        for refund_id in recorded:  # recorded first; now sent to the provider (else the refund manager does)
            if self.refunds is not None:
                await self.refunds.execute_quietly(payment_id, refund_id)
        return placed


def _cart_to_check_out(uow: UnitOfWork, cmd: Checkout) -> Cart:
    cart_id = cart_id_for(cmd.buyer_id, cmd.stream_id)
    if cmd.cart_id is not None and cmd.cart_id != cart_id:  # only one's own cart, for this stream
        raise CartNotFound("no such cart for this buyer and stream", cart_id=str(cmd.cart_id))
    cart: Cart | None = uow.find(cart_id)
    if cart is None or not cart.lines:
        raise CartEmpty("the cart is empty", cart_id=str(cart_id))
    return cart


def _record_commitments(
    ledger: BuyerLedger, cmd: Checkout, rule: DiscountRule | None, order_id: UUID, now: datetime
) -> None:
    if cmd.payment_method == "cod":
        ledger.record_cod_order(order_id=order_id, now=now)
    if rule is not None:
        ledger.record_discount_use(stream_id=str(cmd.stream_id), code=rule.code, order_id=order_id, now=now)


def _cart_view(cart: Cart) -> CartView:
    lines = [{**v, "product_id": str(p)} for p, v in cart.lines.items()]
    return CartView(
        cart.id,
        lines,
        cart.subtotal,
        cart.total,
        cart.version,
        cart.expires_at,
        cart.discount,
        cart.discount_rule.code if cart.discount_rule else None,
        UUID(str(cart.order_id)) if cart.order_id else None,
    )


def _placed(order: Order, payment: Payment, *, replayed: bool) -> Placed:
    return Placed(
        order.id,
        payment.id,
        order.total,
        order.discount,
        order.payment_method,
        order.status,
        payment.status,
        order.emi,
        replayed,
        order.version,
    )


def _stream_missing(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


def _payment_missing(payment_id: UUID) -> Exception:
    return PaymentNotFound("payment not found", payment_id=str(payment_id))
