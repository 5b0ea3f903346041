"""PostgreSQL ``carts``: each buyer's live cart for a show, its lines priced as the buyer saw them, and totals.

Lines and totals follow the Cart aggregate's own rules: adding more of a product re-prices the line and moves
the cart's deadline (``expires_at``), removing takes units off or the whole line, a discount code's rule is
recomputed on every change (``domain.cart.DiscountRule``). A cart is always open: checking out empties it into
the order (``order_id`` names the last one) and an abandoned cart past its deadline is emptied too (its units go
back to the show's stock). Each event is applied once, behind the row's ``aggregate_version``; an event this
table does not know only moves the version on (so ``GET /cart?min_version=`` is never kept waiting by it).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from application.envelope import Envelope
from domain.cart import DiscountRule
from domain.commerce_errors import PAISA
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc

ZERO = Decimal("0.00")


def _rule(data: dict[str, Any] | None) -> DiscountRule | None:
    if not data:
        return None
    dec = {k: (Decimal(str(data[k])) if data.get(k) is not None else None) for k in ("percent", "amount")}
    return DiscountRule(code=str(data.get("code") or ""), min_total=Decimal(str(data.get("min_total") or 0)), **dec)


def totals(lines: list[dict[str, Any]], rule: DiscountRule | None) -> tuple[Decimal, Decimal, Decimal]:
    subtotal = sum((int(x["quantity"]) * Decimal(str(x["unit_price"])) for x in lines), ZERO).quantize(PAISA)
    discount = rule.discount_on(subtotal) if rule else ZERO
    return subtotal, discount, subtotal - discount


def folded(e: Envelope, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cart's lines after one item event (the same rules as ``Cart.ItemAdded`` / ``Cart.ItemRemoved``)."""
    d = e.payload
    by_product = {str(x["product_id"]): dict(x) for x in lines}
    pid = str(d.get("product_id"))
    if e.type == "Cart.ItemAdded":
        before = by_product.get(pid)
        by_product[pid] = {
            "product_id": pid,
            "quantity": int(d["quantity"]) + (before["quantity"] if before else 0),
            "unit_price": str(d["unit_price"]),
        }
    elif e.type == "Cart.ItemRemoved" and pid in by_product:
        left = by_product[pid]["quantity"] - int(d["quantity"])
        if left <= 0:
            del by_product[pid]
        else:
            by_product[pid]["quantity"] = left
    return list(by_product.values())


async def _apply(tx: SqlTx, e: Envelope) -> None:
    d, at, v = e.payload, naive_utc(e.occurred_at), e.aggregate_version
    if e.type == "Cart.Opened":
        await tx.execute(
            "INSERT INTO carts (id, stream_id, buyer_id, status, created_at, updated_at, aggregate_version)"
            " VALUES (%s, %s, %s, 'open', %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, d["stream_id"], str(d["buyer_id"]), at, at, v),
        )
        return
    rows = await tx.fetch(
        "SELECT lines, discount_rule, status, order_id, expires_at, aggregate_version"
        " FROM carts WHERE id = %s FOR UPDATE",
        (e.aggregate_id,),
    )
    if not rows or rows[0]["aggregate_version"] >= (v or 0):
        return
    row = rows[0]
    lines, rule_data, status, order_id = row["lines"] or [], row["discount_rule"], row["status"], row["order_id"]
    expires_at = row["expires_at"]
    if e.type in ("Cart.ItemAdded", "Cart.ItemRemoved"):
        lines = folded(e, lines)
        if e.type == "Cart.ItemAdded":
            expires_at = naive_utc(d.get("expires_at"))
    elif e.type == "Cart.DiscountApplied":
        rule_data = d["rule"]
    elif e.type in ("Cart.CheckedOut", "Cart.Expired"):  # emptied into the order, or given back
        lines, rule_data, expires_at = [], None, None
        if e.type == "Cart.CheckedOut":
            order_id = d["order_id"]
    subtotal, discount, total = totals(lines, _rule(rule_data))
    await tx.execute(
        "UPDATE carts SET lines = %s, discount_rule = %s, status = %s, order_id = %s, subtotal = %s, discount = %s,"
        " total = %s, expires_at = %s, updated_at = %s, aggregate_version = %s WHERE id = %s",
        (
            json.dumps(lines),
            json.dumps(rule_data) if rule_data else None,
            status,
            order_id,
            subtotal,
            discount,
            total,
            expires_at,
            at,
            v,
            e.aggregate_id,
        ),
    )


class CartsTable(RoutedTable):
    name = "carts"
    routes = {"Cart.": _apply}
    truncate = ("carts",)


async def get_cart(db: Any, cart_id: str) -> dict[str, Any] | None:
    return await db.fetchone("SELECT * FROM carts WHERE id = %s", (cart_id,))  # type: ignore[no-any-return]
