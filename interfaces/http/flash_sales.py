"""Flash-sale endpoints (spec §4.3): create, purchase (with an Idempotency-Key), confirm/release, cancel, deals.

Writes need a bearer token: a sale is created by its stream's host or vendor (or an admin); the buyer of a
purchase is the token's user (an admin may buy for a ``buyer_id`` in the body); confirm is the payment
process's (admin); a hold is released by its buyer, the sale's vendor or host, or an admin; a sale is cancelled
by the show's host or vendor, or an admin. A sale starting later (``starts_in_minutes``) is started and ended
by ``livecommerce process``. Idempotency keys
are the buyer's own: the same key from two buyers is two purchases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.access import refuse
from application.flash_sales import CreateFlashSale, Purchase
from application.sale_access import authorize_sale
from infra.version_waiter import FLASH_SALES
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso, money
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, Money, Text
from projections.flash_sales import deals_for_stream, sale_key

bp = Blueprint("flash_sales", url_prefix="/api/v1/live-commerce")


class CreateFlashSaleBody(Body):
    stream_id: UUID
    product_id: UUID
    flash_price: Money
    available_quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None  # required unless duration_seconds
    announcement_message: Annotated[Text, Field(max_length=500)] | None = None
    # Extensions: defaults come from the stream's product (original price) and house rules.
    original_price: Money | None = None
    sale_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    max_per_buyer: Annotated[int, Field(ge=1, le=100)] = 2
    hold_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    starts_in_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 0
    # To the second (a short on-air countdown; and how tests run a whole sale in seconds): instead of the
    # minutes above, never beside them.
    starts_in_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    duration_seconds: Annotated[int, Field(ge=5, le=24 * 3600)] | None = None

    @model_validator(mode="after")
    def one_unit_each(self) -> CreateFlashSaleBody:
        if self.duration_minutes is None and self.duration_seconds is None:
            raise ValueError("duration_minutes is required")
        if self.duration_minutes is not None and self.duration_seconds is not None:
            raise ValueError("give duration_minutes or duration_seconds, not both")
        if self.starts_in_seconds is not None and "starts_in_minutes" in self.model_fields_set:
            raise ValueError("give starts_in_minutes or starts_in_seconds, not both")
        return self


class CancelBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class PurchaseBody(Body):
    buyer_id: UUID | None = None  # the token's user; only an admin may buy for someone else
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


class ConfirmBody(Body):
    order_id: UUID


class ReleaseBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=200)] = "payment_failed"


@bp.post("/flash-sales")
@requires("flash_sale.create")
@api(body=CreateFlashSaleBody, status=201)
async def create_flash_sale(request: Request, body: CreateFlashSaleBody) -> HTTPResponse:
    c = _c(request)
    assert c.flash_sales is not None and c.streams is not None
    await c.streams.authorize(body.stream_id, actor_of(request), "flash_sale.create")
    res = await c.flash_sales.create(
        CreateFlashSale(
            stream_id=body.stream_id,
            product_id=str(body.product_id),
            flash_price=body.flash_price,
            available_quantity=body.available_quantity,
            duration_minutes=body.duration_minutes or 0,
            announcement_message=body.announcement_message,
            original_price=body.original_price,
            sale_name=body.sale_name,
            max_per_buyer=body.max_per_buyer,
            hold_seconds=body.hold_seconds,
            starts_in_minutes=body.starts_in_minutes,
            starts_in_seconds=body.starts_in_seconds,
            duration_seconds=body.duration_seconds,
        )
    )
    return json(
        {
            "id": str(res.id),
            "version": res.version,
            "status": res.status,
            "start_time": iso(res.start_time),
            "end_time": iso(res.end_time),
            "discount_percentage": float(res.discount_percentage),
        },
        status=201,
    )


def _purchase_reply(p: Purchase) -> dict[str, Any]:
    return {
        "reservation_id": p.reservation_id,
        "flash_sale_id": str(p.sale_id),
        "buyer_id": p.buyer_id,
        "quantity": p.quantity,
        "unit_price": money(p.unit_price),
        "total": money(p.total),
        "expires_at": iso(p.expires_at),
        "status": "reserved",
        "version": p.version,
    }


@bp.post("/flash-sales/<sale_id:uuid>/purchase")
@requires("flash_sale.purchase")
@api(body=PurchaseBody, status=201, idempotency_key=True, errors=(409,))
async def purchase(request: Request, sale_id: UUID, body: PurchaseBody) -> HTTPResponse:
    """Hold units for the buyer until paid. Requires ``Idempotency-Key``: retries return the first answer."""
    key = request.ctx.idempotency_key
    actor = actor_of(request)
    buyer = str(body.buyer_id) if body.buyer_id is not None else actor.user_id
    if buyer != actor.user_id and not actor.is_admin:
        raise refuse("flash_sale.purchase", "only an admin may buy for someone else", field="buyer_id")
    key = f"{buyer}:{key}"  # the buyer's own key: another buyer's identical key is another purchase
    c = _c(request)
    assert c.flash_sales is not None
    # Before any I/O: a key that never got a unit of a sale just seen sold out is refused in microseconds
    # (a key that did get one is known to the marker and goes on to its stored answer).
    if (refused := c.flash_sales.early_refusal(sale_id, key)) is not None:
        return error_response(409, refused.code, {"reason": refused.message, **refused.details})
    # The sale itself is the idempotency record: the key names the reservation (uuid5), so a retry finds
    # its hold and gets the first answer, and the same key with another quantity is refused (422).
    res = await c.flash_sales.purchase(sale_id, buyer_id=buyer, quantity=body.quantity, idempotency_key=key)
    return json(_purchase_reply(res), status=201)


@bp.post("/flash-sales/<sale_id:uuid>/reservations/<reservation_id:uuid>/confirm")
@requires("flash_sale.confirm")
@api(body=ConfirmBody)
async def confirm(request: Request, sale_id: UUID, reservation_id: UUID, body: ConfirmBody) -> HTTPResponse:
    """Payment completed: the held units are sold (called by the payment process; idempotent)."""
    c = _c(request)
    assert c.flash_sales is not None
    version = await c.flash_sales.confirm(sale_id, str(reservation_id), str(body.order_id))
    return json(
        {"flash_sale_id": str(sale_id), "reservation_id": str(reservation_id), "status": "sold", "version": version}
    )


@bp.post("/flash-sales/<sale_id:uuid>/reservations/<reservation_id:uuid>/release")
@requires("flash_sale.release")
@api(body=ReleaseBody)
async def release(request: Request, sale_id: UUID, reservation_id: UUID, body: ReleaseBody) -> HTTPResponse:
    c = _c(request)
    assert c.flash_sales is not None and c.writer is not None
    await authorize_sale(c.writer, sale_id, actor_of(request), "flash_sale.release", reservation_id=str(reservation_id))
    version = await c.flash_sales.release(sale_id, str(reservation_id), body.reason)
    return json(
        {"flash_sale_id": str(sale_id), "reservation_id": str(reservation_id), "status": "released", "version": version}
    )


@bp.post("/flash-sales/<sale_id:uuid>/cancel")
@requires("flash_sale.cancel")
@api(body=CancelBody)
async def cancel(request: Request, sale_id: UUID, body: CancelBody) -> HTTPResponse:
    """Cancel a flash sale (the show's host or vendor, or an admin): its live holds are released at once.

    Units already paid for stay sold (refunds are separate)."""
    c = _c(request)
    assert c.flash_sales is not None and c.writer is not None
    await authorize_sale(c.writer, sale_id, actor_of(request), "flash_sale.cancel")
    res = await c.flash_sales.cancel(sale_id, body.reason)
    return json(
        {
            "flash_sale_id": str(res.sale_id),
            "status": res.status,
            "version": res.version,
            "released_reservations": res.released,
            "released_quantity": res.released_quantity,
            "available_quantity": res.available,
            "sold_quantity": res.sold,
        }
    )


@bp.get("/flash-sales/<sale_id:uuid>")
@api(min_version=True)
async def get_flash_sale(request: Request, sale_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    fid = str(sale_id)
    # The product's name from the catalogue: the sale's own name is often its announcement (issue 13, j. 14).
    row = await visible(
        request,
        FLASH_SALES,
        fid,
        lambda: c.read_db.fetchone(
            "SELECT f.*, p.name AS product_name, p.name_bn AS product_name_bn FROM flash_sales f"
            " LEFT JOIN products p ON p.id = f.product_id WHERE f.id = %s",
            (fid,),
        ),
        "flash_sale_not_found",
        {"flash_sale_id": fid},
    )
    if isinstance(row, HTTPResponse):
        return row
    live = await c.redis.hgetall(sale_key(str(sale_id)))
    return json(
        {
            **_deal(row),
            "id": str(row["id"]),
            "stream_id": str(row["stream_id"]),
            "status": row["status"],
            "sold_quantity": row["sold_quantity"],
            "reserved_quantity": row["reserved_quantity"],
            "total_quantity": row["total_quantity"],
            "version": row["aggregate_version"],
            "live": _live(live),
        }
    )


def _live(h: dict[str, str]) -> dict[str, Any]:
    """Redis ``FLASH_SALE:{id}`` as the API answers: counts as integers, the price as money (a number)."""
    out: dict[str, Any] = dict(h)
    for k in ("remaining_quantity", "sold", "reserved", "version"):
        if out.get(k) not in (None, ""):
            out[k] = int(out[k])
    if "current_price" in out:
        out["current_price"] = money(out["current_price"])
    return out


def _deal(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "flash_sale_id": str(r["id"]),
        "product_id": str(r["product_id"]),
        "product_name": r.get("product_name"),
        "product_name_bn": r.get("product_name_bn"),
        "sale_name": r["sale_name"],
        "original_price": money(r["original_price"]),
        "live_price": money(r["flash_price"]),
        "discount_percentage": float(r["discount_percentage"] or Decimal(0)),
        "available_quantity": r["available_quantity"],
        "sale_start_time": iso(r["start_time"]),
        "sale_end_time": iso(r["end_time"]),
    }


@bp.get("/streams/<stream_id:uuid>/deals")
@api()
async def deals(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    now = datetime.now(UTC).replace(tzinfo=None)
    active, upcoming, expired = [], [], []
    for r in await deals_for_stream(c.read_db, str(stream_id)):
        if r["status"] in ("ended", "cancelled") or r["end_time"] <= now:
            expired.append(_deal(r))
        elif r["status"] == "scheduled" or r["start_time"] > now:
            upcoming.append(_deal(r))
        else:
            active.append(_deal(r))
    return json({"active_deals": active, "upcoming_deals": upcoming, "expired_deals": expired})
