"""The ledger invariants an auditor signs off, checked on the folded histories (up to ``at``).

Why these and not only the aggregates' own rules: each aggregate guards itself, but money and stock cross
aggregate boundaries. A payment is decided against its order's total once, at initiation; a refund is decided
by the payment alone. An edited stored event can keep each aggregate folding while breaking what ties them
together, and that is what these checks catch.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from infra.audit.model import AuditReport, MoneyHistory

SETTLED = ("completed", "refunded")


def check_stock(report: AuditReport) -> None:
    """sold + reserved + available = quantity, none negative, after every event of every sale."""
    held = True
    for sale in report.sales:
        for p in sale.points:
            if p.sold + p.reserved + p.available != sale.quantity or min(p.sold, p.reserved, p.available) < 0:
                held = False
                report.add(
                    "violation",
                    "stock_unbalanced",
                    f"{sale.name}: after {p.type} v{p.version} sold {p.sold} + reserved "
                    f"{p.reserved} + available {p.available} ≠ quantity {sale.quantity}",
                    aggregate_id=sale.sale_id,
                    version=p.version,
                    position=p.position,
                )
    report.checks["stock: sold + reserved + available = quantity at every event"] = held


def check_payments(report: AuditReport) -> None:
    """Every payment collects exactly its order's total."""
    orders = {o.id: o for o in report.orders}
    held = True
    for pay in report.payments:
        order = orders.get(pay.order_id or "")
        if order is None:
            held = False
            report.add(
                "violation",
                "payment_without_order",
                f"payment {pay.id} ({pay.amount}) names order {pay.order_id}, which has no events",
                aggregate_id=pay.id,
            )
        elif pay.amount != order.amount:
            held = False
            report.add(
                "violation",
                "payment_amount_mismatch",
                f"payment {pay.id} is for {pay.amount} but order {order.id} totals {order.amount}",
                aggregate_id=pay.id,
            )
    report.checks["payments: each payment's amount = its order's total"] = held


def _completed_before(pay: MoneyHistory, at: datetime) -> bool:
    # By time, not position: one save() writes an order's events before its payment's, whatever their order.
    return any(s.status in SETTLED and s.at <= at for s in pay.steps)


def check_refunds(report: AuditReport) -> None:
    """A refund follows a completed payment and, summed, never exceeds it (payment side and order side)."""
    held = True
    for pay in report.payments:
        before = "pending"
        for s in pay.steps:
            if s.type.endswith(".Refunded"):
                if before not in SETTLED:
                    held = False
                    report.add(
                        "violation",
                        "refund_without_payment",
                        f"payment {pay.id} refunded while {before}",
                        aggregate_id=pay.id,
                        version=s.version,
                        position=s.position,
                    )
                if s.refunded > pay.amount:
                    held = False
                    report.add(
                        "violation",
                        "refund_exceeds_payment",
                        f"payment {pay.id}: refunds {s.refunded} exceed the {pay.amount} paid",
                        aggregate_id=pay.id,
                        version=s.version,
                        position=s.position,
                    )
            before = s.status
    by_order: dict[str, list[MoneyHistory]] = {}
    for pay in report.payments:
        by_order.setdefault(pay.order_id or "", []).append(pay)
    for order in report.orders:
        for s in (s for s in order.steps if s.type.endswith(".Refunded")):
            paid = [p for p in by_order.get(order.id, []) if _completed_before(p, s.at)]
            if not paid:
                held = False
                report.add(
                    "violation",
                    "refund_without_payment",
                    f"order {order.id} refunded {s.refunded} with no completed payment before it",
                    aggregate_id=order.id,
                    version=s.version,
                    position=s.position,
                )
            elif s.refunded > max(p.amount for p in paid):
                held = False
                report.add(
                    "violation",
                    "refund_exceeds_payment",
                    f"order {order.id}: refunds {s.refunded} exceed the payment of {max(p.amount for p in paid)}",
                    aggregate_id=order.id,
                    version=s.version,
                    position=s.position,
                )
    report.checks["refunds: each matches a completed payment and never exceeds it"] = held


def check_reservations(report: AuditReport) -> None:
    """Cross-checks between a sale and its orders; warnings, since the app may confirm before marking paid."""
    orders = {o.id: o for o in report.orders}
    for sale in report.sales:
        for rid, r in sale.reservations.items():
            if r["status"] != "confirmed":
                continue
            order = orders.get(r["order_id"] or "")
            if order is None and report.kind == "order":
                continue  # an order's audit loads that order only, not the sale's other buyers
            if order is None:
                report.add(
                    "warning",
                    "confirmed_without_order",
                    f"{sale.name}: reservation {rid} confirmed for order {r['order_id']}, not found",
                    aggregate_id=sale.sale_id,
                )
            elif order.status not in ("paid", "refunded"):
                report.add(
                    "warning",
                    "confirmed_but_unpaid",
                    f"{sale.name}: reservation {rid} confirmed but order {order.id} is {order.status}",
                    aggregate_id=sale.sale_id,
                )
        sold = sum(r["quantity"] for r in sale.reservations.values() if r["status"] == "confirmed")
        if sale.points and sold != sale.points[-1].sold:
            report.add(
                "violation",
                "sold_mismatch",
                f"{sale.name}: confirmed reservations hold {sold} units, the ledger says sold {sale.points[-1].sold}",
                aggregate_id=sale.sale_id,
            )


def money_total(histories: list[MoneyHistory], status: tuple[str, ...]) -> Decimal:
    return sum((h.amount for h in histories if h.status in status), Decimal("0.00"))


def check_all(report: AuditReport) -> None:
    check_stock(report)
    check_payments(report)
    check_refunds(report)
    check_reservations(report)
