"""An order's lines, and what happens to the units behind them when the order is paid or its payment fails.

Every line names what keeps its units for the order, decided by an aggregate, never by a read model:

* a plain stream item: units of the stream product's stock (``domain.stream_stock``), held for the order (taken
  from available, or moved from the buyer's live cart);
* a flash-sale hold (``flash_sale_id, reservation_id``): the units the buyer holds in the sale, at the flash price;
* an auction lot (``auction_id``): the lot the buyer won, at the winning price;
* a group-buy hold (``group_buy_id, hold_id``): the buyer's hold in a group buy that unlocked, at the group price.

Holds, wins and group-buy holds were taken while the show was live and stay payable until their own deadline
after it ends. A plain item is sold at the stream's price while the show is live; after it ends, from its replay,
at the catalogue's list price (``sale_price``; the caller checks the replay window with ``check_replay_sales``):
the show's own prices, like its flash sales, auctions and group buys, end with the show (ADR 0026).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.auctions import AuctionNotFound
from application.batch_writer import UnitOfWork
from application.group_buys import GroupBuyNotFound
from application.stream_stock import cart_hold, order_hold, stock_for
from domain.auction import Auction
from domain.cart import Cart
from domain.commerce_errors import (
    GroupBuyNotUnlocked,
    HoldNotFound,
    InsufficientStock,
    NoAuctionWinner,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotHeld,
)
from domain.errors import DomainError, ProductNotInStream, StreamNotLive
from domain.flash_sale import FlashSale
from domain.group_buy import GroupBuy
from domain.live_stream import LiveStream
from domain.order import Order, OrderLine
from domain.stream_stock import ProductSoldOut, StreamStock

CENT = Decimal("0.01")


class PriceChanged(DomainError):
    code = "price_changed"


class ReplaySalesClosed(DomainError):
    """The show ended longer ago than its replay sells for (``replay_sales_days``)."""

    code = "replay_sales_closed"


class NeedListPrices(Exception):  # noqa: N818 - not an error: asks the caller for the catalogue's prices
    """Raised inside a decision that sells plain items of an ended show: the caller reads the catalogue's list
    prices (its own store, never behind) and decides again with them."""

    def __init__(self, product_ids: list[str]) -> None:
        super().__init__("list prices needed")
        self.product_ids = product_ids


@dataclass(frozen=True)
class Item:
    product_id: str
    quantity: int
    price: Decimal | None = None  # what the client saw; refused if it is not the stream's price
    flash_sale_id: UUID | None = None  # paying for units held in a flash sale (POST /flash-sales/:id/purchase)
    reservation_id: str | None = None  # the flash-sale reservation, or the group-buy hold
    auction_id: UUID | None = None  # the winner paying for an auction lot
    group_buy_id: UUID | None = None  # a member paying for their hold in a group buy that unlocked


def is_plain(item: Item) -> bool:
    return item.flash_sale_id is None and item.auction_id is None and item.group_buy_id is None


def merge_plain(items: list[Item]) -> list[Item]:
    """Plain items of one product become one line (one hold per product and order)."""
    out: list[Item] = []
    seen: dict[str, int] = {}
    for item in items:
        if not is_plain(item) or item.product_id not in seen:
            if is_plain(item):
                seen[item.product_id] = len(out)
            out.append(item)
            continue
        first = out[seen[item.product_id]]
        if item.price is not None and first.price is not None and item.price != first.price:
            raise PriceChanged("one product at two prices", product_id=item.product_id)
        out[seen[item.product_id]] = Item(item.product_id, first.quantity + item.quantity, first.price or item.price)
    return out


def stream_price(stream: LiveStream, item: Item) -> Decimal:
    product = stream.products.get(item.product_id)
    if product is None:
        raise ProductNotInStream("product is not in this stream", product_id=item.product_id)
    price = product.get("special_price")
    if price is None:
        raise PriceChanged("this product has no live price in the stream", product_id=item.product_id)
    price = Decimal(str(price))
    if item.price is not None and Decimal(str(item.price)).quantize(CENT) != price:
        raise PriceChanged("the price changed", product_id=item.product_id, current_price=str(price))
    return price


def check_replay_sales(stream: LiveStream, now: datetime, window_s: float) -> None:
    """The show's items are sold while it is live, and after it ended from its replay (a recorded show) for
    ``window_s``; never before it starts or after it was cancelled."""
    if stream.status == "live":
        return
    if stream.status != "ended" or stream.ended_at is None or not stream.is_recorded:
        raise StreamNotLive("stream items are sold while the stream is live, or from its replay", status=stream.status)
    until = stream.ended_at + timedelta(seconds=window_s)
    if now >= until:
        raise ReplaySalesClosed(
            "the replay no longer sells this show's products", ended_at=stream.ended_at, until=until
        )


def sale_price(stream: LiveStream, item: Item, list_prices: Mapping[str, Decimal] | None) -> Decimal:
    """The price of a plain item now: the stream's while live; after the show, the catalogue's list price (a
    product the catalogue does not price is not sold from the replay: ``stream_not_live``)."""
    if stream.status == "live":
        return stream_price(stream, item)
    if item.product_id not in stream.products:
        raise ProductNotInStream("product is not in this stream", product_id=item.product_id)
    if list_prices is None:
        raise NeedListPrices([item.product_id])
    price = list_prices.get(item.product_id)
    if price is None:
        raise StreamNotLive(
            "after the show only catalogue products are sold, at their list price",
            status=stream.status,
            product_id=item.product_id,
        )
    price = Decimal(str(price)).quantize(CENT)
    if item.price is not None and Decimal(str(item.price)).quantize(CENT) != price:
        raise PriceChanged("the price changed", product_id=item.product_id, current_price=str(price))
    return price


def _current(uow: UnitOfWork, aggregate_id: UUID) -> Any:
    """A deal as stored now: the process managers close auctions, settle group buys and expire holds in another
    process, and a payment line only reads the deal, so a cached copy could be behind."""
    return None if uow.find(aggregate_id) is None else uow.current(aggregate_id)


def _same_show(deal_stream: Any, stream: LiveStream) -> bool:
    return deal_stream is None or str(deal_stream) == str(stream.id)


def item_line(
    uow: UnitOfWork,
    stream: LiveStream,
    item: Item,
    buyer_id: str,
    order_id: UUID,
    now: datetime,
    list_prices: Mapping[str, Decimal] | None = None,
) -> OrderLine:
    """Price one item and hold its units for the order."""
    if item.auction_id is not None:
        auction: Auction | None = _current(uow, item.auction_id)
        if auction is None or not _same_show(auction.stream_id, stream):
            raise AuctionNotFound("auction not found in this stream", auction_id=str(item.auction_id))
        if auction.status != "awarded" or str(auction.winner_id) != buyer_id:
            raise NoAuctionWinner("only the winner can pay for this lot", status=auction.status)
        assert auction.winning_price is not None
        return OrderLine(str(auction.product_id), 1, auction.winning_price, auction_id=str(auction.id))
    if item.group_buy_id is not None:
        group: GroupBuy | None = _current(uow, item.group_buy_id)
        if group is None or not _same_show(group.stream_id, stream):
            raise GroupBuyNotFound("group buy not found in this stream", group_buy_id=str(item.group_buy_id))
        hold = group.payable_hold(hold_id=item.reservation_id or "", buyer_id=buyer_id)
        return OrderLine(
            str(group.product_id),
            int(hold["quantity"]),
            group.group_price,
            reservation_id=item.reservation_id,
            group_buy_id=str(group.id),
        )
    if item.flash_sale_id is not None:
        return _flash_line(uow, stream, item, buyer_id, now)
    price = sale_price(stream, item, list_prices)
    stock = stock_for(uow, stream, item.product_id, now)
    stock.reserve(hold_id=order_hold(order_id), quantity=item.quantity, now=now)
    return OrderLine(item.product_id, item.quantity, price, reservation_id=order_hold(order_id), stock_id=str(stock.id))


def _flash_line(uow: UnitOfWork, stream: LiveStream, item: Item, buyer_id: str, now: datetime) -> OrderLine:
    assert item.flash_sale_id is not None
    sale: FlashSale | None = _current(uow, item.flash_sale_id)
    hold = sale.reservations.get(item.reservation_id or "") if sale is not None else None
    if (
        sale is None
        or hold is None
        or str(hold["buyer_id"]) != buyer_id
        or str(sale.product_id) != item.product_id
        or not _same_show(sale.stream_id, stream)
    ):
        raise ReservationNotFound("no such hold for this buyer", reservation_id=str(item.reservation_id))
    if hold["status"] != "held" or hold["expires_at"] <= now:
        raise ReservationExpired("the hold ran out; purchase again", reservation_id=str(item.reservation_id))
    if item.price is not None and Decimal(str(item.price)).quantize(CENT) != sale.flash_price:
        raise PriceChanged("the price changed", product_id=item.product_id, current_price=str(sale.flash_price))
    return OrderLine(item.product_id, hold["quantity"], sale.flash_price, str(sale.id), item.reservation_id)


def cart_lines(uow: UnitOfWork, stream: LiveStream, cart: Cart, order_id: UUID, now: datetime) -> list[OrderLine]:
    """The cart's lines at the prices the buyer saw when adding them; the units the cart holds become the
    order's (any the cart does not hold, e.g. a cart from before holds existed, are taken from available)."""
    lines = []
    for product_id, line in cart.lines.items():
        quantity, pid = int(line["quantity"]), str(product_id)
        stock = stock_for(uow, stream, pid, now)
        moved = min(stock.held(cart_hold(cart.id)), quantity)
        if moved:
            stock.move(from_hold=cart_hold(cart.id), to_hold=order_hold(order_id), quantity=moved, now=now)
        if quantity > moved:
            stock.reserve(hold_id=order_hold(order_id), quantity=quantity - moved, now=now)
        lines.append(
            OrderLine(
                pid,
                quantity,
                Decimal(str(line["unit_price"])),
                reservation_id=order_hold(order_id),
                stock_id=str(stock.id),
            )
        )
    return lines


def settle_lines(uow: UnitOfWork, order: Order, now: datetime, *, paid: bool) -> Decimal:
    """Sell (paid) or give back (failed) what the order's lines hold; → the amount of units that were lost
    meanwhile (a hold ran out, a lot passed on, stock sold to others), which the caller refunds."""
    lost = Decimal("0.00")
    for line in order.lines:
        amount = Decimal(str(line["unit_price"])) * int(line["quantity"])
        try:
            _settle(uow, order, line, now, paid=paid)
        except (
            NoAuctionWinner,
            ReservationExpired,
            ReservationNotHeld,
            GroupBuyNotUnlocked,
            HoldNotFound,
            ProductSoldOut,
            InsufficientStock,
        ):
            if paid:
                lost += amount
    return lost.quantize(CENT)


def _settle(uow: UnitOfWork, order: Order, line: dict[str, Any], now: datetime, *, paid: bool) -> None:
    # As stored, not as cached: a refusal here is caught (the units count as lost and are refunded), so it must
    # never come from a copy that another process (the process managers, another API process) left behind.
    if line.get("auction_id"):  # the lot: sold when paid; a failed payment changes nothing
        if paid:
            auction: Auction = uow.current(UUID(str(line["auction_id"])))
            auction.mark_winner_paid(order_id=str(order.id), now=now)
    elif line.get("group_buy_id"):  # the hold stays payable after a failed payment
        if paid:
            group: GroupBuy = uow.current(UUID(str(line["group_buy_id"])))
            group.mark_hold_paid(hold_id=line["reservation_id"], order_id=str(order.id), now=now)
    elif line.get("flash_sale_id"):
        sale: FlashSale = uow.current(UUID(str(line["flash_sale_id"])))
        if paid:
            sale.confirm(reservation_id=line["reservation_id"], order_id=str(order.id), now=now)
        else:
            sale.release(reservation_id=line["reservation_id"], reason="payment_failed", now=now)
    elif line.get("stock_id"):
        stock: StreamStock = uow.current(UUID(str(line["stock_id"])))
        if paid:
            stock.sell(hold_id=line["reservation_id"], order_id=str(order.id), quantity=int(line["quantity"]), now=now)
        else:
            stock.release(hold_id=line["reservation_id"], reason="payment_failed", now=now)
