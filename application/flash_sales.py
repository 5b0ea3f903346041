"""Flash sales during a stream: create, purchase (hold stock), confirm on payment, release, expire.

A purchase is exactly-once by construction: its reservation id is derived from the client's idempotency key, so
a retry after a crash (or a lost answer) finds its own reservation in the aggregate and gets the same answer
instead of a second unit. A hot sale is served by the batch writer (all attempts queued in a batch apply in
memory to one aggregate, one save), and once the writer has seen the sale sold out, further attempts are refused
in microseconds without queueing, for a short while, except retries of reservations that exist.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.commerce_errors import FlashSaleSoldOut, IdempotencyKeyReused
from domain.errors import NotFound, ProductNotInStream, StreamClosed, StreamNotFound
from domain.flash_sale import FlashSale
from domain.live_stream import LiveStream

_RESERVATION_NS = uuid.UUID("3a4a7f0e-2b7c-4f41-9a1e-5d8c2e9b6f30")


class FlashSaleNotFound(NotFound):
    code = "flash_sale_not_found"


def reservation_id_for(sale_id: UUID, idempotency_key: str) -> str:
    return str(uuid.uuid5(_RESERVATION_NS, f"{sale_id}:{idempotency_key}"))


@dataclass(frozen=True)
class CreateFlashSale:
    stream_id: UUID
    product_id: str
    flash_price: Decimal
    available_quantity: int
    duration_minutes: int
    announcement_message: str | None = None
    original_price: Decimal | None = None
    sale_name: str | None = None
    max_per_buyer: int = 2
    hold_seconds: int = 300
    starts_in_minutes: int = 0
    # Finer-grained alternatives (an extension): when given they replace the minutes above.
    starts_in_seconds: int | None = None
    duration_seconds: int | None = None

    @property
    def starts_in(self) -> timedelta:
        if self.starts_in_seconds is not None:
            return timedelta(seconds=self.starts_in_seconds)
        return timedelta(minutes=self.starts_in_minutes)

    @property
    def duration(self) -> timedelta:
        if self.duration_seconds is not None:
            return timedelta(seconds=self.duration_seconds)
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class SaleCreated:
    id: UUID
    version: int
    status: str
    start_time: datetime
    end_time: datetime
    discount_percentage: Decimal


@dataclass(frozen=True)
class Purchase:
    sale_id: UUID
    reservation_id: str
    buyer_id: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    expires_at: datetime
    version: int
    replayed: bool  # True when this answers a retry of an earlier accepted purchase


@dataclass(frozen=True)
class Cancelled:
    sale_id: UUID
    status: str
    version: int
    released: list[str]  # the reservations whose units went back
    released_quantity: int
    available: int
    sold: int


def _sale_not_found(sale_id: UUID) -> Exception:
    return FlashSaleNotFound("flash sale not found", flash_sale_id=str(sale_id))


def _stream_not_found(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


class SoldOutMarks:
    """Per-process memory of sales the writer saw sold out: refuse at once for ``ttl`` seconds."""

    def __init__(self, ttl: float = 0.25) -> None:
        self.ttl = ttl
        self._marks: dict[UUID, tuple[float, frozenset[str]]] = {}
        self._known: dict[UUID, tuple[int, frozenset[str]]] = {}  # ids per sale version: built once per version

    def mark(self, sale: FlashSale) -> None:
        version, known = self._known.get(sale.id, (-1, frozenset()))
        if version != sale.version:
            known = frozenset(str(r) for r in sale.reservations)
            self._known[sale.id] = (sale.version, known)
        self._marks[sale.id] = (time.monotonic() + self.ttl, known)

    def clear(self, sale_id: UUID) -> None:
        self._marks.pop(sale_id, None)

    def refuses(self, sale_id: UUID, reservation_id: str) -> bool:
        """Refuse at once while the mark is fresh. When it runs out, the one caller who finds it so goes to the
        sale to check again (the mark is renewed for everyone else meanwhile, so a hot sale's refusals never
        queue at the writer all at once); that check renews the mark, or clears it if units came back."""
        mark = self._marks.get(sale_id)
        if mark is None:
            return False
        until, known = mark
        if reservation_id in known:
            return False
        now = time.monotonic()
        if now > until:
            self._marks[sale_id] = (now + self.ttl, known)
            return False
        return True


class FlashSaleService:
    def __init__(
        self,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        sold_out_ttl: float = 0.25,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self.sold_out = SoldOutMarks(sold_out_ttl)

    async def create(self, cmd: CreateFlashSale) -> SaleCreated:
        sale_id = self._new_id()
        now = self._clock()

        def decide(uow: UnitOfWork) -> SaleCreated:
            stream: LiveStream = uow.get(cmd.stream_id)
            if stream.status in ("ended", "cancelled"):
                raise StreamClosed(f"a {stream.status} stream takes no flash sales", status=stream.status)
            product = stream.products.get(cmd.product_id)
            if product is None:
                raise ProductNotInStream("product is not in this stream", product_id=cmd.product_id)
            original = cmd.original_price or product.get("special_price")
            start = now + cmd.starts_in
            sale = FlashSale.schedule(
                id=sale_id,
                now=now,
                stream_id=str(cmd.stream_id),
                product_id=cmd.product_id,
                vendor_id=stream.vendor_id,
                sale_name=cmd.sale_name or cmd.announcement_message or "Flash sale",
                original_price=Decimal(str(original)) if original is not None else Decimal("0"),
                flash_price=cmd.flash_price,
                quantity=cmd.available_quantity,
                start_time=start,
                end_time=start + cmd.duration,
                max_per_buyer=cmd.max_per_buyer,
                hold_seconds=cmd.hold_seconds,
            )
            if start <= now:  # starts at once; a later start is the process manager's (``advance``)
                sale.start(now=now)
            uow.add(sale)
            return SaleCreated(
                sale.id, sale.version, sale.status, sale.start_time, sale.end_time, sale.discount_percentage
            )

        return await self._writer.submit(decide, not_found=_stream_not_found)

    def early_refusal(self, sale_id: UUID, idempotency_key: str) -> FlashSaleSoldOut | None:
        """The refusal, at once, if this process just saw the sale sold out and this key never got a unit."""
        if self.sold_out.refuses(sale_id, reservation_id_for(sale_id, idempotency_key)):
            return FlashSaleSoldOut("no units left", waitlist_open=False)
        return None

    async def purchase(self, sale_id: UUID, *, buyer_id: str, quantity: int, idempotency_key: str) -> Purchase:
        # The early refusal is the caller's (``early_refusal``, before any I/O); asking the marks again here would
        # refuse the one buyer a stale mark sends to re-check, and the mark would never be re-checked.
        reservation_id = reservation_id_for(sale_id, idempotency_key)
        now = self._clock()

        def decide(uow: UnitOfWork) -> Purchase:
            sale: FlashSale = uow.get(sale_id)
            existing = sale.reservations.get(reservation_id)
            if existing is not None:  # a retry of an accepted purchase: the same answer, nothing new
                if existing["quantity"] != quantity or str(existing["buyer_id"]) != str(buyer_id):
                    raise IdempotencyKeyReused("this key was used for another purchase", reservation_id=reservation_id)
                return self._answer(sale, reservation_id, existing, replayed=True)
            try:
                sale.reserve(reservation_id=reservation_id, buyer_id=buyer_id, quantity=quantity, now=now)
            except FlashSaleSoldOut:
                self.sold_out.mark(sale)
                raise
            if sale.available == 0:
                self.sold_out.mark(sale)
            else:
                self.sold_out.clear(sale_id)  # units came back (a released hold): no early refusals
            return self._answer(sale, reservation_id, sale.reservations[reservation_id], replayed=False)

        return await self._writer.submit(decide, not_found=_sale_not_found)

    @staticmethod
    def _answer(sale: FlashSale, reservation_id: str, r: dict[str, Any], *, replayed: bool) -> Purchase:
        total = (sale.flash_price * r["quantity"]).quantize(Decimal("0.01"))
        return Purchase(
            sale.id,
            reservation_id,
            str(r["buyer_id"]),
            r["quantity"],
            sale.flash_price,
            total,
            r["expires_at"],
            r.get("version", sale.version),
            replayed,
        )

    async def confirm(self, sale_id: UUID, reservation_id: str, order_id: str) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            sale: FlashSale = uow.get(sale_id)
            sale.confirm(reservation_id=reservation_id, order_id=order_id, now=now)
            return int(sale.version)

        return await self._writer.submit(decide, not_found=_sale_not_found)

    async def release(self, sale_id: UUID, reservation_id: str, reason: str) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            sale: FlashSale = uow.get(sale_id)
            sale.release(reservation_id=reservation_id, reason=reason, now=now)
            self.sold_out.clear(sale_id)
            return int(sale.version)

        return await self._writer.submit(decide, not_found=_sale_not_found)

    async def advance(self, sale_id: UUID, *, show_ended: bool = False) -> str | None:
        """Start, end or cancel the sale as time (or its show's end) makes due (the process manager calls it);
        → what happened, None when nothing was due."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> str | None:
            sale: FlashSale = uow.get(sale_id)
            done = sale.advance(now=now, show_ended=show_ended)
            if done is not None:
                self.sold_out.clear(sale_id)
            return done

        return await self._writer.submit(decide, not_found=_sale_not_found)

    async def cancel(self, sale_id: UUID, reason: str | None = None) -> Cancelled:
        """Cancel the sale (its host, vendor or an admin, checked by the caller): every live hold is released."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> Cancelled:
            sale: FlashSale = uow.get(sale_id)
            held = {rid: r["quantity"] for rid, r in sale.reservations.items() if r["status"] == "held"}
            sale.cancel(now=now, reason=reason)
            self.sold_out.clear(sale_id)
            return Cancelled(
                sale.id,
                sale.status,
                int(sale.version),
                [str(r) for r in held],
                sum(held.values()),
                sale.available,
                sale.sold,
            )

        return await self._writer.submit(decide, not_found=_sale_not_found)

    async def expire(self, sale_id: UUID) -> list[str]:
        """Release every hold past its deadline (called by the expiry process manager)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> list[str]:
            sale: FlashSale = uow.get(sale_id)
            expired = [str(r) for r in sale.expire_reservations(now=now)]
            if expired:
                self.sold_out.clear(sale_id)
            return expired

        return await self._writer.submit(decide, not_found=_sale_not_found)
