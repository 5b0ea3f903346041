"""PostgreSQL ``orders``: each order with its payment's status, from Order and Payment events.

Two guards on one row: ``aggregate_version`` for the Order's events, ``payment_version`` for the Payment's (a
Payment event can arrive before its Order's on another partition: it waits in the row only once the row
exists, so payment rows are upserted with the order id they carry).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

ORDER_STATUS = {"Order.Paid": "paid", "Order.PaymentFailed": "payment_failed", "Order.Cancelled": "cancelled",
                "Order.Refunded": "refunded"}
PAYMENT_STATUS = {"Payment.ProcessingStarted": "processing", "Payment.Completed": "completed",
                  "Payment.Failed": "failed", "Payment.Refunded": "refunded"}


async def _order(tx: SqlTx, e: Envelope) -> None:
    d, at = e.payload, naive_utc(e.occurred_at)
    if e.type == "Order.Placed":
        await tx.execute(
            "INSERT INTO orders (id, buyer_id, stream_id, status, lines, subtotal, discount, discount_code, total,"
            " payment_method, emi, created_at, updated_at, aggregate_version) VALUES (%s, %s, %s, 'pending_payment',"
            " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET buyer_id = EXCLUDED.buyer_id,"
            " stream_id = EXCLUDED.stream_id, lines = EXCLUDED.lines, subtotal = EXCLUDED.subtotal,"
            " discount = EXCLUDED.discount, discount_code = EXCLUDED.discount_code, total = EXCLUDED.total,"
            " payment_method = EXCLUDED.payment_method, emi = EXCLUDED.emi, created_at = EXCLUDED.created_at,"
            " updated_at = greatest(orders.updated_at, EXCLUDED.updated_at), aggregate_version = 1"
            " WHERE orders.aggregate_version < 1",
            (e.aggregate_id, d["buyer_id"], d.get("stream_id"), json.dumps(d["lines"]), d["subtotal"],
             d["discount"], d.get("discount_code"), d["total"], d["payment_method"],
             json.dumps(d["emi"]) if d.get("emi") else None, at, at, e.aggregate_version))
        return
    status = ORDER_STATUS.get(e.type)
    refund = d.get("amount") if e.type == "Order.Refunded" else 0
    await tx.execute(
        "UPDATE orders SET status = COALESCE(%s, status), refunded = refunded + %s,"
        " updated_at = greatest(updated_at, %s),"
        " payment_id = COALESCE(%s, payment_id), aggregate_version = %s WHERE id = %s AND aggregate_version < %s",
        (status, refund, at, d.get("payment_id"), e.aggregate_version, e.aggregate_id, e.aggregate_version))


async def _payment(tx: SqlTx, e: Envelope) -> None:
    d, at = e.payload, naive_utc(e.occurred_at)
    if e.type == "Payment.Initiated":
        # The order row may not exist yet (another partition): create a placeholder the Placed event completes.
        await tx.execute(
            "INSERT INTO orders (id, buyer_id, status, lines, subtotal, total, payment_method, created_at,"
            " updated_at, payment_id, payment_version) VALUES (%s, '00000000-0000-0000-0000-000000000000',"
            " 'pending_payment', '[]', 0, %s, %s, %s, %s, %s, 1) ON CONFLICT (id) DO UPDATE SET"
            " payment_id = EXCLUDED.payment_id, payment_version = 1,"
            " updated_at = greatest(orders.updated_at, EXCLUDED.updated_at) WHERE orders.payment_version < 1",
            (d["order_id"], d["amount"], d["method"], at, at, e.aggregate_id))
        return
    status = PAYMENT_STATUS.get(e.type)
    await tx.execute(
        "UPDATE orders SET payment_status = COALESCE(%s, payment_status), provider_txn_id = COALESCE(%s,"
        " provider_txn_id), payment_version = %s, updated_at = greatest(updated_at, %s) WHERE payment_id = %s"
        " AND payment_version < %s",
        (status, d.get("provider_txn_id"), e.aggregate_version, at, e.aggregate_id, e.aggregate_version))


class OrdersTable:
    name = "orders"
    topics = ("domain",)

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                if e.type.startswith("Order."):
                    await _order(tx, e)
                elif e.type.startswith("Payment."):
                    await _payment(tx, e)
                else:
                    continue
                n += 1
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("TRUNCATE orders")


async def open_cod_orders(db: Any, buyer_id: str) -> int:
    rows = await db.fetch("SELECT count(*) AS n FROM orders WHERE buyer_id = %s AND payment_method = 'cod'"
                          " AND status = 'pending_payment'", (buyer_id,))
    return int(rows[0]["n"]) if rows else 0


async def get_order(db: Any, order_id: str) -> dict[str, Any] | None:
    rows = await db.fetch("SELECT * FROM orders WHERE id = %s", (order_id,))
    return rows[0] if rows else None
