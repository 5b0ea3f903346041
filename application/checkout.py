"""Live cart and instant checkout during a stream: cart → Order + Payment, then the payment's outcome.

Prices come from the LiveStream aggregate (the stream's special price), never from the client: a client price
that differs is refused with the current one. Discount codes are the stream's own (``stream_settings``). A
checkout is exactly-once: the order and payment ids derive from the buyer's idempotency key, so a retry finds
the order it already placed. Mobile-money sessions are opened with the provider after the order is saved
(``PaymentSessions``); the provider's callback is confirmed with the provider before it changes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.auction import Auction
from domain.cart import Cart, DiscountRule
from domain.commerce_errors import (
    InvalidDiscountCode,
    NoAuctionWinner,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
)
from domain.errors import DomainError, NotFound, ProductNotInStream, StreamNotFound, StreamNotLive
from domain.flash_sale import FlashSale
from domain.live_stream import LiveStream
from domain.order import Order, OrderLine
from domain.payment import Payment

_NS = uuid.UUID("9b2f6c1e-7d4a-4e8b-a1c3-5f6e7d8c9b0a")
MOBILE_MONEY = ("bkash", "nagad", "rocket")
ONLINE = (*MOBILE_MONEY, "card", "emi")  # a provider session is opened: mobile money, or cards (EMI on cards)


class PriceChanged(DomainError):
    code = "price_changed"


class OrderNotFound(NotFound):
    code = "order_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


def cart_id_for(buyer_id: str, stream_id: UUID) -> UUID:
    return uuid.uuid5(_NS, f"cart:{buyer_id}:{stream_id}")


def order_id_for(buyer_id: str, idempotency_key: str) -> UUID:
    return uuid.uuid5(_NS, f"order:{buyer_id}:{idempotency_key}")


def payment_id_for(order_id: UUID) -> UUID:
    return uuid.uuid5(_NS, f"payment:{order_id}")


@dataclass(frozen=True)
class Item:
    product_id: str
    quantity: int
    price: Decimal | None = None  # what the client saw; refused if it is not the stream's price
    flash_sale_id: UUID | None = None  # paying for units held in a flash sale (POST /flash-sales/:id/purchase)
    reservation_id: str | None = None
    auction_id: UUID | None = None  # the winner paying for an auction lot


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
    open_cod_orders: int = 0


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


@dataclass(frozen=True)
class CartView:
    cart_id: UUID
    items: list[dict[str, Any]]
    subtotal: Decimal
    total: Decimal
    version: int


class ProviderAnswer(NamedTuple):
    """The provider's own view of a session (never a callback's claim), as the Payment aggregate takes it."""

    provider_id: str | None  # None: no session was ever opened with the provider
    status: str
    amount: Decimal | None
    reason: str | None
    reference: str | None  # the merchant reference the provider holds for it: our payment id


class PaymentSessions(Protocol):
    """Opens and confirms provider sessions (infra adapts the bKash / Nagad / Rocket gateways)."""

    async def open(self, method: str, payment_id: UUID, amount: Decimal, payer: str,
                   emi_months: int | None = None) -> tuple[str, str]:
        """→ (provider payment id, redirect URL for the buyer); EMI orders pass their months (card EMI)."""
        ...

    async def confirm(self, method: str, params: dict[str, Any]) -> ProviderAnswer:
        """A callback's claim checked with the provider."""
        ...

    async def status(self, method: str, provider_payment_id: str) -> ProviderAnswer:
        """The provider's current view of a session."""
        ...


def _stream_price(stream: LiveStream, item: Item) -> Decimal:
    product = stream.products.get(item.product_id)
    if product is None:
        raise ProductNotInStream("product is not in this stream", product_id=item.product_id)
    price = product.get("special_price")
    if price is None:
        raise PriceChanged("this product has no live price in the stream", product_id=item.product_id)
    price = Decimal(str(price))
    if item.price is not None and Decimal(str(item.price)).quantize(Decimal("0.01")) != price:
        raise PriceChanged("the price changed", product_id=item.product_id, current_price=str(price))
    return price


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
        code=code.upper(), percent=money("percent"), amount=money("amount"),
        min_total=money("min_total") or Decimal("0.00"), max_uses_per_buyer=terms.get("max_uses_per_buyer"),
        expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires)
    rule.check()
    return rule


class RefundExecutor(Protocol):
    async def execute_quietly(self, payment_id: UUID, refund_id: str) -> str | None:
        """Send a recorded refund to the provider now (application.refunds.RefundService)."""
        ...


class CheckoutService:
    def __init__(self, writer: BatchWriter, sessions: PaymentSessions, *, clock: Callable[[], datetime],
                 refunds: RefundExecutor | None = None) -> None:
        self._writer = writer
        self._sessions = sessions
        self._clock = clock
        self.refunds = refunds  # executes the automatic refund of a paid order whose hold ran out

    async def add_to_cart(self, stream_id: UUID, buyer_id: str, item: Item) -> CartView:
        now = self._clock()
        cart_id = cart_id_for(buyer_id, stream_id)

        def decide(uow: UnitOfWork) -> CartView:
            stream: LiveStream = uow.get(stream_id)
            if stream.status != "live":
                raise StreamNotLive("the live cart opens while the stream is live", status=stream.status)
            price = _stream_price(stream, item)
            cart = uow.find(cart_id)
            if cart is None:
                cart = Cart.open(id=cart_id, now=now, buyer_id=buyer_id, stream_id=str(stream_id))
                uow.add(cart)
            cart.add_item(product_id=item.product_id, quantity=item.quantity, unit_price=price, now=now)
            lines = [{**v, "product_id": str(p)} for p, v in cart.lines.items()]
            return CartView(cart.id, lines, cart.subtotal, cart.total, cart.version)

        return await self._writer.submit(decide, not_found=_stream_missing)

    async def checkout(self, cmd: Checkout) -> tuple[Placed, str | None]:
        """Place the order (exactly once per key); open the provider session; → (placed, redirect URL)."""
        now = self._clock()
        order_id = order_id_for(cmd.buyer_id, cmd.idempotency_key)
        payment_id = payment_id_for(order_id)

        def decide(uow: UnitOfWork) -> Placed:
            existing: Order | None = uow.find(order_id)
            if existing is not None:
                if existing.buyer_id != cmd.buyer_id:  # a key is scoped to its buyer; never someone else's order
                    raise OrderNotFound("order not found", order_id=str(order_id))
                return _placed(existing, uow.get(payment_id), replayed=True)
            stream: LiveStream = uow.get(cmd.stream_id)
            if stream.status != "live":
                raise StreamNotLive("instant checkout works while the stream is live", status=stream.status)
            lines = [_line(uow, stream, i, cmd.buyer_id, now) for i in cmd.items]
            subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal("0.00"))
            discount = Decimal("0.00")
            if cmd.discount_code:
                rule = _discount_rule(stream, cmd.discount_code)
                if rule.expires_at is not None and now >= rule.expires_at:
                    raise InvalidDiscountCode("the discount code has expired", code=cmd.discount_code)
                discount = rule.discount_on(subtotal)
            order = Order.place(
                id=order_id, now=now, buyer_id=cmd.buyer_id, lines=lines, payment_method=cmd.payment_method,
                shipping_address=cmd.shipping_address, buyer_phone=cmd.buyer_phone, stream_id=str(cmd.stream_id),
                discount=discount, discount_code=cmd.discount_code.upper() if cmd.discount_code else None,
                open_cod_orders=cmd.open_cod_orders, emi_months=cmd.emi_months)
            payment = Payment.initiate(id=payment_id, now=now, order_id=str(order_id), method=cmd.payment_method,
                                       amount=order.total, order_total=order.total)
            uow.add(order)
            uow.add(payment)
            if cmd.payment_method == "cod":  # paid on delivery: the held units are sold now
                _settle_holds(uow, order, now, paid=True)
            return _placed(order, payment, replayed=False)

        placed = await self._writer.submit(decide, not_found=_stream_missing)
        redirect = None
        if placed.payment_method in ONLINE and placed.payment_status == "pending":
            emi_months = int(placed.emi["months"]) if placed.emi else None
            provider_id, redirect = await self._sessions.open(placed.payment_method, payment_id, placed.total,
                                                              cmd.buyer_phone or cmd.buyer_id, emi_months)
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
            answer = ProviderAnswer(None, "failed" if give_up else "processing", None,
                                    "payment_session_not_opened", None)
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
                payment.handle_callback(provider_txn_id=provider_id, status=status, now=now, amount=amount,
                                        reason=reason)
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
                lost = _settle_holds(uow, order, now, paid=True)
                if lost:  # paid for units whose hold ran out meanwhile: the money goes back
                    refund_id = str(uuid.uuid5(_NS, f"refund:{order.id}:lost-hold"))
                    order.refund(refund_id=refund_id, amount=lost, now=now, reason="reservation_expired")
                    payment.refund(refund_id=refund_id, amount=lost, now=now, reason="reservation_expired")
                    recorded.append(refund_id)
            elif payment.status == "failed" and order.status == "pending_payment":
                order.mark_payment_failed(payment_id=str(payment_id), now=now, reason=reason)
                _settle_holds(uow, order, now, paid=False)
            return _placed(order, payment, replayed=False)

        placed = await self._writer.submit(decide, not_found=_payment_missing)
        for refund_id in recorded:  # recorded first; now sent to the provider (else the refund manager does)
            if self.refunds is not None:
                await self.refunds.execute_quietly(payment_id, refund_id)
        return placed


def _line(uow: UnitOfWork, stream: LiveStream, item: Item, buyer_id: str, now: datetime) -> OrderLine:
    """A stream line at the stream's price, a flash-sale line for units the buyer holds (the flash price), or
    the auction lot the buyer won (the winning price)."""
    if item.auction_id is not None:
        auction: Auction = uow.get(item.auction_id)
        if auction.status != "awarded" or str(auction.winner_id) != buyer_id:
            raise NoAuctionWinner("only the winner can pay for this lot", status=auction.status)
        assert auction.winning_price is not None
        return OrderLine(str(auction.product_id), 1, auction.winning_price, auction_id=str(auction.id))
    if item.flash_sale_id is None:
        return OrderLine(item.product_id, item.quantity, _stream_price(stream, item))
    sale: FlashSale = uow.get(item.flash_sale_id)
    hold = sale.reservations.get(item.reservation_id or "")
    if hold is None or str(hold["buyer_id"]) != buyer_id or str(sale.product_id) != item.product_id:
        raise ReservationNotFound("no such hold for this buyer", reservation_id=str(item.reservation_id))
    if hold["status"] != "held" or hold["expires_at"] <= now:
        raise ReservationExpired("the hold ran out; purchase again", reservation_id=str(item.reservation_id))
    if item.price is not None and Decimal(str(item.price)).quantize(Decimal("0.01")) != sale.flash_price:
        raise PriceChanged("the price changed", product_id=item.product_id, current_price=str(sale.flash_price))
    return OrderLine(item.product_id, hold["quantity"], sale.flash_price, str(sale.id), item.reservation_id)


def _settle_holds(uow: UnitOfWork, order: Order, now: datetime, *, paid: bool) -> Decimal:
    """Sell (paid) or release (failed) the order's flash-sale holds; → the amount of units that were lost."""
    lost = Decimal("0.00")
    for line in order.lines:
        if line.get("auction_id"):  # the lot's line: sold when paid; a failed payment changes nothing
            if paid:
                auction: Auction = uow.get(UUID(str(line["auction_id"])))
                try:
                    auction.mark_winner_paid(order_id=str(order.id), now=now)
                except NoAuctionWinner:
                    lost += Decimal(str(line["unit_price"]))  # passed on meanwhile: the money goes back
            continue
        if not line.get("flash_sale_id"):
            continue
        sale: FlashSale = uow.get(UUID(str(line["flash_sale_id"])))
        try:
            if paid:
                sale.confirm(reservation_id=line["reservation_id"], order_id=str(order.id), now=now)
            else:
                sale.release(reservation_id=line["reservation_id"], reason="payment_failed", now=now)
        except (ReservationExpired, ReservationNotHeld):
            if paid:
                lost += Decimal(str(line["unit_price"])) * int(line["quantity"])
    return lost.quantize(Decimal("0.01"))


def _placed(order: Order, payment: Payment, *, replayed: bool) -> Placed:
    return Placed(order.id, payment.id, order.total, order.discount, order.payment_method, order.status,
                  payment.status, order.emi, replayed)


def _stream_missing(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


def _payment_missing(payment_id: UUID) -> Exception:
    return PaymentNotFound("payment not found", payment_id=str(payment_id))
