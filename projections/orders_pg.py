"""PostgreSQL ``orders``: each order with its payment's status, fulfilment and returns, from Order and Payment
events (``order_refunds`` and ``order_returns`` beside it).

Two guards on one row: ``aggregate_version`` for the Order's events, ``payment_version`` for the Payment's (a
Payment event can arrive before its Order's on another partition: it waits in the row only once the row
exists, so payment rows are upserted with the order id they carry).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from application.envelope import Envelope
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc

ORDER_STATUS = {
    "Order.Paid": "paid",
    "Order.PaymentFailed": "payment_failed",
    "Order.Cancelled": "cancelled",
    "Order.Refunded": "refunded",
    "Order.RefundFailed": "paid",
}
PAYMENT_STATUS = {
    "Payment.ProcessingStarted": "processing",
    "Payment.Completed": "completed",
    "Payment.Failed": "failed",
    "Payment.Refunded": "refunded",
    "Payment.RefundFailed": "completed",
}


FULFILMENT_EVENTS = ("Order.Paid", "Order.FulfilmentUpdated", "Order.ReturnRequested", "Order.ReturnDecided")
STEP_COLUMN = {"packed": "packed_at", "shipped": "shipped_at", "delivered": "delivered_at"}


async def _fulfilment(tx: SqlTx, e: Envelope) -> None:
    """A paid order is ``confirmed`` (a cash-on-delivery one when placed); then the vendor's steps and the
    buyer's returns. Guarded by the order's version like every Order event (written before the bump)."""
    d, at = e.payload, naive_utc(e.occurred_at)
    if e.type in ("Order.Paid", "Order.Placed"):
        await tx.execute(
            "UPDATE orders SET fulfilment_status = COALESCE(fulfilment_status, 'confirmed'),"
            " confirmed_at = COALESCE(confirmed_at, %s) WHERE id = %s AND aggregate_version <= %s",
            (at, e.aggregate_id, e.aggregate_version),
        )
    elif e.type == "Order.FulfilmentUpdated":
        column = STEP_COLUMN[d["status"]]
        await tx.execute(
            f"UPDATE orders SET fulfilment_status = %s, {column} = %s, courier = COALESCE(%s, courier),"  # noqa: S608
            " tracking_id = COALESCE(%s, tracking_id) WHERE id = %s AND aggregate_version < %s",
            (d["status"], at, d.get("courier"), d.get("tracking_id"), e.aggregate_id, e.aggregate_version),
        )
    elif e.type == "Order.ReturnRequested":
        await tx.execute(
            "INSERT INTO order_returns (return_id, order_id, status, items, reason, amount, requested_at, version)"
            " VALUES (%s, %s, 'requested', %s, %s, %s, %s, %s) ON CONFLICT (return_id) DO NOTHING",
            (d["return_id"], e.aggregate_id, json.dumps(d["items"]), d["reason"], d["amount"], at, e.aggregate_version),
        )
    elif e.type == "Order.ReturnDecided":
        await tx.execute(
            "UPDATE order_returns SET status = %s, note = %s, refund_id = %s, decided_at = %s, version = %s,"
            " amount = CASE WHEN %s THEN %s ELSE amount END WHERE return_id = %s AND version < %s",
            (
                "accepted" if d["accepted"] else "refused",
                d.get("note"),
                d.get("refund_id"),
                at,
                e.aggregate_version,
                bool(d["accepted"]),
                d["amount"],
                d["return_id"],
                e.aggregate_version,
            ),
        )


async def _order(tx: SqlTx, e: Envelope) -> None:
    d, at = e.payload, naive_utc(e.occurred_at)
    if e.type in FULFILMENT_EVENTS:  # before the version bump below
        await _fulfilment(tx, e)
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
            (
                e.aggregate_id,
                d["buyer_id"],
                d.get("stream_id"),
                json.dumps(d["lines"]),
                d["subtotal"],
                d["discount"],
                d.get("discount_code"),
                d["total"],
                d["payment_method"],
                json.dumps(d["emi"]) if d.get("emi") else None,
                at,
                at,
                e.aggregate_version,
            ),
        )
        if d.get("payment_method") == "cod":  # paid at the door: in fulfilment from the start
            await _fulfilment(tx, e)
        return
    status = ORDER_STATUS.get(e.type)
    refund = d.get("amount") if e.type == "Order.Refunded" else 0
    if e.type == "Order.Refunded":  # partial: the order stays paid (the event's apply decides; so does SQL)
        status = None
        await tx.execute(
            "UPDATE orders SET status = CASE WHEN refunded + %s >= total THEN 'refunded' ELSE status END"
            " WHERE id = %s AND aggregate_version < %s",
            (refund, e.aggregate_id, e.aggregate_version),
        )
    elif e.type == "Order.RefundFailed":
        refund = -Decimal(str(d.get("amount") or 0))
    await tx.execute(
        "UPDATE orders SET status = COALESCE(%s, status), refunded = refunded + %s,"
        " updated_at = greatest(updated_at, %s),"
        " payment_id = COALESCE(%s, payment_id), aggregate_version = %s WHERE id = %s AND aggregate_version < %s",
        (status, refund, at, d.get("payment_id"), e.aggregate_version, e.aggregate_id, e.aggregate_version),
    )


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
            (d["order_id"], d["amount"], d["method"], at, at, e.aggregate_id),
        )
        return
    status = PAYMENT_STATUS.get(e.type)
    if e.type.startswith("Payment.Refund"):
        await _refund(tx, e)
    if e.type == "Payment.Refunded":  # a partial refund leaves the payment completed
        status = None
        await tx.execute(
            "UPDATE orders SET payment_status = CASE WHEN (SELECT COALESCE(sum(amount), 0) FROM order_refunds"
            " WHERE payment_id = %s AND status <> 'failed') >= total THEN 'refunded' ELSE payment_status END"
            " WHERE payment_id = %s AND payment_version < %s",
            (e.aggregate_id, e.aggregate_id, e.aggregate_version),
        )
    await tx.execute(
        "UPDATE orders SET payment_status = COALESCE(%s, payment_status), provider_txn_id = COALESCE(%s,"
        " provider_txn_id), payment_version = %s, updated_at = greatest(updated_at, %s) WHERE payment_id = %s"
        " AND payment_version < %s",
        (status, d.get("provider_txn_id"), e.aggregate_version, at, e.aggregate_id, e.aggregate_version),
    )


async def _refund(tx: SqlTx, e: Envelope) -> None:
    """``order_refunds``: one row per refund, requested → completed / failed (guarded by the payment version)."""
    d, at = e.payload, naive_utc(e.occurred_at)
    if e.type == "Payment.Refunded":
        await tx.execute(
            "INSERT INTO order_refunds (refund_id, order_id, payment_id, amount, reason, status, requested_at,"
            " updated_at, version) SELECT %s, id, %s, %s, %s, 'requested', %s, %s, %s FROM orders"
            " WHERE payment_id = %s ON CONFLICT (refund_id) DO NOTHING",
            (
                str(d["refund_id"]),
                e.aggregate_id,
                d["amount"],
                d.get("reason"),
                at,
                at,
                e.aggregate_version,
                e.aggregate_id,
            ),
        )
    elif e.type == "Payment.RefundCompleted":
        await tx.execute(
            "UPDATE order_refunds SET status = 'completed', provider_refund_id = %s, manual = %s, updated_at = %s,"
            " version = %s WHERE refund_id = %s AND version < %s",
            (
                d.get("provider_refund_id"),
                bool(d.get("manual")),
                at,
                e.aggregate_version,
                str(d["refund_id"]),
                e.aggregate_version,
            ),
        )
    elif e.type == "Payment.RefundFailed":
        await tx.execute(
            "UPDATE order_refunds SET status = 'failed', failure = %s, updated_at = %s, version = %s"
            " WHERE refund_id = %s AND version < %s",
            (d.get("reason"), at, e.aggregate_version, str(d["refund_id"]), e.aggregate_version),
        )
    elif e.type == "Payment.RefundSent":  # still 'requested' for clients; the refund manager only asks now
        await tx.execute(
            "UPDATE order_refunds SET sent_at = %s, updated_at = %s, version = %s WHERE refund_id = %s"
            " AND version < %s",
            (at, at, e.aggregate_version, str(d["refund_id"]), e.aggregate_version),
        )
    elif e.type == "Payment.RefundReviewRequired":  # never sent again: a person settles it
        await tx.execute(
            "UPDATE order_refunds SET status = 'manual_review', failure = %s, updated_at = %s, version = %s"
            " WHERE refund_id = %s AND version < %s",
            (d.get("reason"), at, e.aggregate_version, str(d["refund_id"]), e.aggregate_version),
        )


class OrdersTable(RoutedTable):
    name = "orders"
    routes = {"Order.": _order, "Payment.": _payment}
    truncate = ("orders", "order_refunds", "order_returns")


async def open_cod_orders(db: Any, buyer_id: str) -> int:
    rows = await db.fetch(
        "SELECT count(*) AS n FROM orders WHERE buyer_id = %s AND payment_method = 'cod'"
        " AND status = 'pending_payment'",
        (buyer_id,),
    )
    return int(rows[0]["n"]) if rows else 0


async def get_order(db: Any, order_id: str) -> dict[str, Any] | None:
    rows = await db.fetch("SELECT * FROM orders WHERE id = %s", (order_id,))
    return rows[0] if rows else None


async def order_returns(db: Any, order_id: str) -> list[dict[str, Any]]:
    return list(
        await db.fetch("SELECT * FROM order_returns WHERE order_id = %s ORDER BY requested_at, return_id", (order_id,))
    )


async def order_refunds(db: Any, order_id: str) -> list[dict[str, Any]]:
    return list(
        await db.fetch("SELECT * FROM order_refunds WHERE order_id = %s ORDER BY requested_at, refund_id", (order_id,))
    )


async def stream_vendor(db: Any, stream_id: Any) -> str | None:
    row = await db.fetchone("SELECT vendor_id FROM live_streams WHERE id = %s", (stream_id,)) if stream_id else None
    return str(row["vendor_id"]) if row else None
