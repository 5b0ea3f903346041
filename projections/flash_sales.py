"""Flash-sale read models: PostgreSQL ``flash_sales`` and ``live_stream_purchases`` (spec §2.1), and Redis
``FLASH_SALE:{id}`` (spec §2.3: remaining quantity, current price, end time) for the live countdown.

PostgreSQL is guarded by ``flash_sales.aggregate_version``. After each batch commits, the Redis hash of every
sale the batch touched is rewritten from the committed row (its version as the guard), so a redelivered batch
also repairs a Redis write that was lost in a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import GuardedRedis, SqlDatabase, SqlTx
from projections.timeutil import iso_utc, naive_utc


def sale_key(sale_id: str) -> str:
    return f"FLASH_SALE:{sale_id}"


async def _bump(tx: SqlTx, e: Envelope, sets: str = "", params: dict[str, Any] | None = None) -> bool:
    p = {"id": e.aggregate_id, "v": e.aggregate_version, "at": naive_utc(e.occurred_at), **(params or {})}
    sql = (
        "UPDATE flash_sales SET aggregate_version = %(v)s, updated_at = %(at)s"
        + (", " + sets if sets else "")
        + " WHERE id = %(id)s AND aggregate_version < %(v)s"
    )
    return await tx.execute(sql, p) == 1


async def _hold(tx: SqlTx, e: Envelope) -> None:
    d = e.payload
    q = int(d["quantity"])
    await tx.execute(
        "UPDATE flash_sales SET available_quantity = available_quantity - %s, reserved_quantity = "
        "reserved_quantity + %s WHERE id = %s",
        (q, q, e.aggregate_id),
    )
    await tx.execute(
        "INSERT INTO live_stream_purchases (id, stream_id, user_id, product_id, quantity, unit_price, total_amount,"
        " purchase_timestamp, payment_status, flash_sale_id)"
        " SELECT %s, stream_id, %s, product_id, %s, flash_price, flash_price * %s, %s, 'pending', id"
        " FROM flash_sales WHERE id = %s ON CONFLICT (id) DO NOTHING",
        (d["reservation_id"], d["buyer_id"], q, q, naive_utc(e.occurred_at), e.aggregate_id),
    )


async def _settle(tx: SqlTx, e: Envelope, sold: bool) -> None:
    """A hold ends: paid (sold) or released (back to available)."""
    rows = await tx.fetch("SELECT quantity FROM live_stream_purchases WHERE id = %s", (e.payload["reservation_id"],))
    q = int(rows[0]["quantity"]) if rows else 0
    if sold:
        await tx.execute(
            "UPDATE flash_sales SET reserved_quantity = reserved_quantity - %s, sold_quantity ="
            " sold_quantity + %s WHERE id = %s",
            (q, q, e.aggregate_id),
        )
        await tx.execute(
            "UPDATE live_stream_purchases SET payment_status = 'completed', order_id = %s WHERE id = %s",
            (e.payload.get("order_id"), e.payload["reservation_id"]),
        )
    else:
        await tx.execute(
            "UPDATE flash_sales SET reserved_quantity = reserved_quantity - %s, available_quantity ="
            " available_quantity + %s WHERE id = %s",
            (q, q, e.aggregate_id),
        )
        await tx.execute(
            "UPDATE live_stream_purchases SET payment_status = 'failed' WHERE id = %s", (e.payload["reservation_id"],)
        )


async def apply_event(tx: SqlTx, e: Envelope) -> bool:
    d = e.payload
    if e.type == "FlashSale.Scheduled":
        n = await tx.execute(
            "INSERT INTO flash_sales (id, stream_id, product_id, vendor_id, sale_name, original_price, flash_price,"
            " discount_percentage, available_quantity, total_quantity, start_time, end_time, status, max_per_buyer,"
            " created_at, updated_at, aggregate_version) VALUES (%(id)s, %(stream_id)s, %(product_id)s,"
            " %(vendor_id)s, %(sale_name)s, %(original)s, %(flash)s,"
            " round((%(original)s::numeric - %(flash)s::numeric) * 100 / %(original)s::numeric, 2),"
            " %(q)s, %(q)s, %(start)s, %(end)s, 'scheduled', %(max)s, %(at)s, %(at)s, %(v)s)"
            " ON CONFLICT (id) DO NOTHING",
            {
                "id": e.aggregate_id,
                "stream_id": d.get("stream_id"),
                "product_id": d["product_id"],
                "vendor_id": d["vendor_id"],
                "sale_name": d["sale_name"],
                "original": d["original_price"],
                "flash": d["flash_price"],
                "q": d["quantity"],
                "start": naive_utc(d["start_time"]),
                "end": naive_utc(d["end_time"]),
                "max": d["max_per_buyer"],
                "at": naive_utc(e.occurred_at),
                "v": e.aggregate_version,
            },
        )
        return n == 1
    if not await _bump(tx, e):
        return False
    match e.type:
        case "FlashSale.Started" | "FlashSale.BackInStock":
            await tx.execute("UPDATE flash_sales SET status = 'active' WHERE id = %s", (e.aggregate_id,))
        case "FlashSale.SoldOut":
            await tx.execute("UPDATE flash_sales SET status = 'sold_out' WHERE id = %s", (e.aggregate_id,))
        case "FlashSale.Ended":
            await tx.execute("UPDATE flash_sales SET status = 'ended' WHERE id = %s", (e.aggregate_id,))
        case "FlashSale.Cancelled":
            await tx.execute(
                "UPDATE live_stream_purchases SET payment_status = 'failed' WHERE flash_sale_id = %s"
                " AND payment_status = 'pending'",
                (e.aggregate_id,),
            )
            await tx.execute(
                "UPDATE flash_sales SET status = 'cancelled', reserved_quantity = 0,"
                " available_quantity = total_quantity - sold_quantity WHERE id = %s",
                (e.aggregate_id,),
            )
        case "FlashSale.StockReserved" | "FlashSale.WaitlistOffered":
            await _hold(tx, e)
        case "FlashSale.ReservationConfirmed":
            await _settle(tx, e, sold=True)
        case "FlashSale.ReservationReleased" | "FlashSale.HoldExpired":
            await _settle(tx, e, sold=False)
    return True


class FlashSalesProjection:
    name = "flash_sales"
    topics = ("domain",)

    def __init__(self, db: SqlDatabase, redis: GuardedRedis) -> None:
        self._db = db
        self._redis = redis

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        touched: list[str] = []
        async with self._db.transaction() as tx:
            for e in envelopes:
                if not e.type.startswith("FlashSale."):
                    continue
                if str(e.aggregate_id) not in touched:
                    touched.append(str(e.aggregate_id))
                if await apply_event(tx, e):
                    applied += 1
        if touched:
            await self._publish(touched)
        return applied

    async def _publish(self, sale_ids: list[str]) -> None:
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id::text AS id, end_time, available_quantity, flash_price, status::text AS status,"
                " sold_quantity, reserved_quantity, aggregate_version FROM flash_sales WHERE id = ANY(%s::uuid[])",
                (sale_ids,),
            )
        for r in rows:
            ops: list[list[Any]] = [
                [
                    "HSET",
                    sale_key(r["id"]),
                    "end_time",
                    iso_utc(r["end_time"]),
                    "remaining_quantity",
                    r["available_quantity"],
                    "current_price",
                    str(r["flash_price"]),
                    "status",
                    r["status"],
                    "sold",
                    r["sold_quantity"],
                    "reserved",
                    r["reserved_quantity"],
                    "version",
                    r["aggregate_version"],
                ]
            ]
            await self._redis.apply_if_newer(f"PROJ:flash_sale:{r['id']}", r["aggregate_version"], ops)

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE live_stream_purchases, flash_sales")
        await self._redis.delete_matching(["FLASH_SALE:*", "PROJ:flash_sale:*"])


async def deals_for_stream(db: Any, stream_id: str) -> list[dict[str, Any]]:
    """The stream's flash sales with their product, for ``GET /streams/:id/deals``."""
    return list(
        await db.fetch(
            "SELECT f.id, f.product_id, f.sale_name, COALESCE(p.name, f.sale_name) AS product_name,"
            " p.name_bn AS product_name_bn, f.original_price, f.flash_price, f.discount_percentage,"
            " f.available_quantity, f.sold_quantity, f.reserved_quantity, f.total_quantity, f.start_time, f.end_time,"
            " f.status::text AS status FROM flash_sales f LEFT JOIN products p ON p.id = f.product_id"
            " WHERE f.stream_id = %s ORDER BY f.start_time, f.id",
            (stream_id,),
        )
    )
