"""Domain events from the log → the show's viewers: ``product_featured``, ``stream_status``, sales, bids, and
the live payment confirmation in chat (spec §5.4: a paid order becomes a system ``new_message`` in English and
Bangla, "R*** bought iPhone 14 Pro", see ``payment_message``).

Every API process reads the whole domain topic from its end (partitions assigned by hand, no consumer group:
each process must see every event, none of them owns a share, and nothing is left behind on the broker when it
exits) and tells only its own sockets (``ignore_queue``), so N processes never send an event N times.

Each pushed commerce event carries the store's ``position``. The last events per show are kept in memory, so a
client that reconnects with ``last_position`` gets what it missed, or ``resync: true`` when this process
cannot know (it started after that position, or the show's buffer overflowed); the client then reloads over
HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import socketio
from aiokafka import AIOKafkaConsumer, TopicPartition

from application.envelope import Envelope, json_default
from infra import kafka, metrics
from infra.settings import Settings
from interfaces.http.presenters import money
from interfaces.realtime import quiz_push
from interfaces.realtime.gifts import gift_received
from interfaces.realtime.room_ticker import chat_room_of, room_of
from interfaces.realtime.staff import staff_push

log = logging.getLogger(__name__)

# Aggregate state at the event's version, for events that carry too little (FlashSale.Started has no fields).
LoadState = Callable[[str, int], Awaitable[Any | None]]
FeaturedProduct = Callable[[str, str], Awaitable[dict[str, Any]]]
# Catalogue names of products: ids -> {id: {"name", "name_bn"}}.
ProductNames = Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]]
_PAYMENT_NS = uuid.UUID("4c7e2a9d-51b3-4f0e-9a6d-2e8b7c1f3d55")

STATUS_EVENTS = {"LiveStream.Started": "live", "LiveStream.Ended": "ended", "LiveStream.Cancelled": "cancelled"}
# A stream product's stock moved (``domain.stream_stock``): the room gets {stream_id, product_id, available, sold}.
STREAM_STOCK_EVENTS = {"StreamStock.Reserved", "StreamStock.Released", "StreamStock.Sold"}
STOCK_EVENTS = {
    "FlashSale.StockReserved",
    "FlashSale.ReservationConfirmed",
    "FlashSale.ReservationReleased",
    "FlashSale.HoldExpired",
    "FlashSale.SoldOut",
    "FlashSale.BackInStock",
    "FlashSale.Cancelled",
}


def _push_default(o: Any) -> Any:
    return money(o) if isinstance(o, Decimal) else json_default(o)


def _plain(value: Any) -> dict[str, Any]:
    """Event values as the viewers get them: amounts are numbers of taka like in every answer (ADR 0015)."""
    return dict(json.loads(json.dumps(value, default=_push_default, ensure_ascii=False)))


def _flash_sale(e: Envelope, sale: Any) -> dict[str, Any]:
    return _plain(
        {
            "sale_id": e.aggregate_id,
            "product_id": sale.product_id,
            "sale_name": sale.sale_name,
            "original_price": sale.original_price,
            "flash_price": sale.flash_price,
            "discount_percentage": sale.discount_percentage,
            "quantity": sale.quantity,
            "available": sale.available,
            "end_time": sale.end_time,
            "status": sale.status,
            "max_per_buyer": sale.max_per_buyer,
        }
    )


def _stock_metric(event: str, body: dict[str, Any]) -> None:
    """Flash-sale and stream stock as the room sees it (``livecommerce_stock_available``); a closed sale's
    series is removed."""
    if event not in ("stock_update", "flash_sale_started", "flash_sale_ended") or "available" not in body:
        return
    kind, ident = ("flash_sale", body["sale_id"]) if body.get("sale_id") else ("stream_product", body["product_id"])
    if event == "flash_sale_ended" or body.get("status") in ("ended", "cancelled"):
        try:
            metrics.ROOM_STOCK.remove(kind, str(ident))
        except KeyError:
            pass
        return
    if body["available"] is None:  # an item without a stock limit has no figure to show
        return
    metrics.ROOM_STOCK.labels(kind, str(ident)).set(float(body["available"]))


def _auction(e: Envelope, auction: Any) -> dict[str, Any]:
    # Never the bidders' maxima: a proxy bid's ceiling is the bidder's secret.
    return _plain(
        {
            "auction_id": e.aggregate_id,
            "product_id": auction.product_id,
            "current_price": auction.current_price,
            "bid_count": auction.bid_count,
            "leader_id": auction.leader_id,
            "ends_at": auction.ends_at,
            "status": auction.status,
        }
    )


class DomainPusher:
    def __init__(
        self,
        settings: Settings,
        sio: socketio.AsyncServer,
        namespace: str,
        *,
        load_state: LoadState,
        featured_product: FeaturedProduct,
        product_names: ProductNames | None = None,
        buffer_per_stream: int = 200,
    ) -> None:
        self._s = settings
        self._sio = sio
        self._ns = namespace
        self._load = load_state
        self._featured = featured_product
        self._names = product_names
        self._announced: OrderedDict[str, None] = OrderedDict()  # orders whose payment was told in chat
        self._routes: OrderedDict[str, str | None] = OrderedDict()  # aggregate id -> show id
        self._recent: dict[str, deque[tuple[int, str, dict[str, Any]]]] = {}
        self._evicted_upto: dict[str, int] = {}
        self._buffer = buffer_per_stream
        self.since: int | None = None  # first position seen: from here on nothing was missed
        self.closed_streams: set[str] = set()
        # The last product pushed per show, with its details: fresher than STREAM_STATUS for a late joiner.
        self.featured: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.ready = asyncio.Event()
        self.pushed = 0
        self.polls: Callable[[Envelope], tuple[str, str, dict[str, Any]] | None] | None = None  # PollRoom.pushed

    async def run(self, stop: asyncio.Event) -> None:
        await kafka.ensure_topics(self._s)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._s.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=self._s.kafka_fetch_max_wait_ms,
            client_id="realtime-pusher",
        )
        await kafka.start_with_retry(consumer)
        try:
            topic = self._s.domain_topic
            parts = consumer.partitions_for_topic(topic) or set(range(self._s.topic_partitions))
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:  # resolve now, so every event published after "ready" is seen
                await consumer.position(tp)
            self.ready.set()
            log.info("realtime pusher ready on %s", topic)
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for msgs in batches.values():
                    for m in msgs:
                        try:
                            await self.handle(Envelope.from_json(m.value))
                        except Exception:  # one odd event must not stop pushes for every show
                            log.exception("could not push a domain event")
        finally:
            await consumer.stop()

    async def handle(self, e: Envelope) -> None:
        if e.position is not None and self.since is None:
            self.since = e.position
        if e.type == "Order.Paid":
            await self._payment_confirmed(e)
            return
        staff = staff_push(e)
        if staff is not None:  # the host's and moderators' eyes only (ADR 0025)
            await self._sio.emit(staff[1], _plain(staff[2]), room=staff[0], namespace=self._ns, ignore_queue=True)
            return
        pushed = await self._map(e)
        if pushed is None:
            return
        stream_id, event, payload = pushed
        _stock_metric(event, payload)
        payload = {"stream_id": stream_id, **payload, "position": e.position, "occurred_at": e.occurred_at.isoformat()}
        self._remember(stream_id, e.position, event, payload)
        self.pushed += 1
        await self._sio.emit(event, payload, room=room_of(stream_id), namespace=self._ns, ignore_queue=True)

    async def _stream_of(self, e: Envelope) -> str | None:
        agg = str(e.aggregate_id)
        if e.stream_id:  # creation events name the show; later ones of the same aggregate do not
            self._routes[agg] = e.stream_id
            return e.stream_id
        if agg in self._routes:
            self._routes.move_to_end(agg)
            return self._routes[agg]
        state = await self._load(agg, int(e.aggregate_version or 0))
        sid = getattr(state, "stream_id", None)
        self._routes[agg] = str(sid) if sid else None
        if len(self._routes) > 50_000:
            self._routes.popitem(last=False)
        return self._routes[agg]

    async def _map(self, e: Envelope) -> tuple[str, str, dict[str, Any]] | None:
        t = e.type
        if t == "CoinWallet.GiftSent":
            return gift_received(e)
        if t == "LiveStream.ProductFeatured":
            sid = str(e.aggregate_id)
            product = await self._featured(sid, e.payload["product_id"])
            self.featured[sid] = product
            self.featured.move_to_end(sid)
            if len(self.featured) > 10_000:
                self.featured.popitem(last=False)
            return sid, "product_featured", {"product": product}
        if t.startswith("Poll.") and e.stream_id and self.polls is not None:
            return self.polls(e)
        if t in STATUS_EVENTS:
            sid = str(e.aggregate_id)
            if STATUS_EVENTS[t] != "live":
                self.closed_streams.add(sid)
            return sid, "stream_status", {"status": STATUS_EVENTS[t]}
        if t in STREAM_STOCK_EVENTS and e.stream_id:  # the event carries the counts: no load
            return (
                e.stream_id,
                "stock_update",
                {"product_id": e.payload["product_id"], "available": e.payload["available"], "sold": e.payload["sold"]},
            )
        if t.startswith("Quiz."):
            return quiz_push.room_event(e)
        if not (t.startswith("FlashSale.") or t.startswith("Auction.")) or e.aggregate_version is None:
            return None
        show = await self._stream_of(e)
        if show is None:
            return None
        sid = show
        if t in ("FlashSale.Started", "FlashSale.Ended") or t in STOCK_EVENTS:
            sale = await self._load(str(e.aggregate_id), e.aggregate_version)
            if sale is None:
                return None
            body = _flash_sale(e, sale)
            if t == "FlashSale.Started":
                return sid, "flash_sale_started", body
            if t == "FlashSale.Ended":
                return sid, "flash_sale_ended", body
            return sid, "stock_update", {**body, "change": t.split(".", 1)[1]}
        if t in ("Auction.BidPlaced", "Auction.Extended", "Auction.Closed"):
            auction = await self._load(str(e.aggregate_id), e.aggregate_version)
            if auction is None:
                return None
            event = {
                "Auction.BidPlaced": "new_bid",
                "Auction.Extended": "auction_extended",
                "Auction.Closed": "auction_closed",
            }[t]
            return sid, event, _auction(e, auction)
        return None

    async def _payment_confirmed(self, e: Envelope) -> None:
        """A paid order of a show → a system chat message to the show's room (once per order and process)."""
        order_id = str(e.aggregate_id)
        if order_id in self._announced:
            return
        order = await self._load(order_id, int(e.aggregate_version or 0))
        stream_id = getattr(order, "stream_id", None)
        lines = list(getattr(order, "lines", None) or [])
        if not stream_id or not lines:
            return
        self._announced[order_id] = None
        if len(self._announced) > 50_000:
            self._announced.popitem(last=False)
        ids = [str(line["product_id"]) for line in lines]
        names: dict[str, dict[str, Any]] = {}
        if self._names is not None:
            try:
                names = await self._names(ids)
            except Exception:  # the catalogue is a nicety here: the message still goes, naming "a product"
                log.warning("product names unavailable for a payment message", exc_info=True)
        msg = payment_message(
            order_id,
            str(stream_id),
            getattr(order, "shipping_address", None) or {},
            lines,
            names,
            e.occurred_at.isoformat(),
        )
        msg["position"] = e.position
        self.pushed += 1
        await self._sio.emit(
            "new_message", msg, room=chat_room_of(str(stream_id)), namespace=self._ns, ignore_queue=True
        )

    def _remember(self, stream_id: str, position: int | None, event: str, payload: dict[str, Any]) -> None:
        if position is None:
            return
        buf = self._recent.setdefault(stream_id, deque())
        buf.append((position, event, payload))
        if len(buf) > self._buffer:
            self._evicted_upto[stream_id] = buf.popleft()[0]

    def missed(self, stream_id: str, last_position: int) -> tuple[bool, list[tuple[str, dict[str, Any]]]]:
        """(complete?, events after ``last_position``) for a reconnecting client."""
        complete = (
            self.since is not None
            and last_position >= self.since - 1
            and last_position >= self._evicted_upto.get(stream_id, -1)
        )
        events = [(ev, p) for pos, ev, p in self._recent.get(stream_id, ()) if pos > last_position]
        return complete, events


# ---- live payment confirmation in chat (spec §5.4) -----------------------------------------------------------
NAME_KEYS = ("name", "full_name", "recipient_name", "recipient", "customer_name")
BN_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def bn_number(n: int) -> str:
    return str(n).translate(BN_DIGITS)


def mask_name(name: Any) -> str | None:
    """The first letter of the buyer's name (with its vowel signs, for Bangla) and ``***``: "R***"."""
    text = str(name or "").strip()
    if not text:
        return None
    first = text[0]
    for ch in text[1:]:
        if not unicodedata.category(ch).startswith("M"):
            break
        first += ch
    return f"{first}***"


def payment_message(
    order_id: str,
    stream_id: str,
    address: dict[str, Any],
    lines: list[dict[str, Any]],
    names: dict[str, dict[str, Any]],
    timestamp: str,
) -> dict[str, Any]:
    """The system chat message for a paid order: buyer masked (from the shipping name), the first product by
    its catalogue name, the rest counted. Its id derives from the order, so a client can drop a repeat."""
    buyer = next((mask_name(address.get(k)) for k in NAME_KEYS if mask_name(address.get(k))), None)
    first = lines[0]
    pid, qty, more = str(first["product_id"]), int(first.get("quantity") or 1), len(lines) - 1
    known = names.get(pid) or {}
    name_en = known.get("name") or "a product"
    name_bn = known.get("name_bn") or known.get("name") or "একটি পণ্য"
    items_en = (f"{qty} × " if qty > 1 else "") + name_en + (f" and {more} more" if more else "")
    items_bn = (
        (f"{bn_number(qty)}টি " if qty > 1 else "") + name_bn + (f" ও আরও {bn_number(more)}টি পণ্য" if more else "")
    )
    en = f"{buyer or 'Someone'} bought {items_en}"
    bn = f"{buyer or 'একজন ক্রেতা'} {items_bn} কিনেছেন"
    return {
        "id": str(uuid.uuid5(_PAYMENT_NS, order_id)),
        "stream_id": stream_id,
        "user_id": None,
        "username": "system",
        "message": en,
        "message_bn": bn,
        "message_type": "payment_confirmation",
        "language": "en",
        "timestamp": timestamp,
        "is_highlighted": True,
        "from_moderator": False,
        "system": True,
        "buyer": buyer,
        "product_id": pid,
        "product_name": known.get("name"),
        "product_name_bn": known.get("name_bn"),
        "quantity": qty,
        "items": len(lines),
    }
