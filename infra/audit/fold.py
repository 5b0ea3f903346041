"""Replay each aggregate's stored events through the domain's own ``apply``, checking the history is whole.

Why the domain classes and not a second implementation of the rules: an audit must answer "does the
stored history still produce a valid aggregate?", and the aggregate's fold is the definition of valid
(FlashSale checks its stock rule in every stock-moving event). What the fold cannot see is checked here:
a missing version (a deleted row), rows out of version order, a state that no longer decodes. The first
break stops an aggregate's fold (what follows cannot be trusted); decoding goes on, to report every mangled
row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from application.event_store import new_transcoder
from domain.flash_sale import FlashSale
from domain.order import Order
from domain.payment import Payment
from infra.audit.model import AuditReport, MoneyHistory, SaleLedger, Step, StockPoint, StoredRow

_MAPPER: Mapper[Any] = Mapper(new_transcoder())
Holes = list[tuple[int, int]]


def _versions(first: int, last: int) -> str:
    return f"version {first} is" if first == last else f"versions {first}–{last} are"


def _hole_between(holes: Holes, low: int, high: int) -> tuple[int, int] | None:
    for first, last in holes:
        if first > low and last < high:
            return first, last
    return None


class Folder:
    """Folds every aggregate of one audit into ledgers (sales) and money histories (orders, payments)."""

    def __init__(self, report: AuditReport, holes: Holes, at: datetime | None) -> None:
        self.report, self.holes, self.at = report, holes, at
        self.explained: set[tuple[int, int]] = set()  # holes where an audited aggregate misses a version

    def fold(self, rows: list[StoredRow]) -> None:
        """The whole history is folded (tamper checks ignore ``at``); only events up to ``at`` are shown."""
        agg_id = rows[0].aggregate_id
        self.report.aggregates[agg_id] = rows[0].topic.split(":")[-1].split(".")[0]
        self._check_sequence(rows)
        oid = UUID(agg_id)  # once, not per event
        observe: Callable[[Any, StoredRow, Any], None] | None = None
        aggregate: Any = None
        broken = past = False
        for expected, row in enumerate(rows, start=1):
            broken = broken or row.version != expected  # a gap (reported above): nothing after it folds
            try:
                event = _MAPPER.to_domain_event(
                    StoredEvent(originator_id=oid, originator_version=row.version, topic=row.topic, state=row.state)
                )
            except Exception as e:  # noqa: BLE001 - whatever fails, the stored row is unreadable
                self.report.add(
                    "tamper",
                    "undecodable",
                    f"{row.type} v{row.version} no longer decodes: {e}",
                    aggregate_id=agg_id,
                    version=row.version,
                    position=row.position,
                )
                broken = True
                continue
            if broken:
                continue
            at = event.timestamp  # type: ignore[attr-defined]
            if not past and self.at is not None and at > self.at:
                past = True
                self._freeze(aggregate)
            try:
                aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
            except Exception as e:  # noqa: BLE001 - a rule or a sequence check of the domain refused it
                self.report.add(
                    "tamper",
                    "does_not_fold",
                    f"{row.type} v{row.version} breaks the aggregate on replay: {type(e).__name__}: {e}",
                    aggregate_id=agg_id,
                    version=row.version,
                    position=row.position,
                )
                broken = True
                continue
            if past:
                continue
            observe = observe or self._observer(aggregate)
            observe(aggregate, row, at)
            self.report.event_counts[row.type] = self.report.event_counts.get(row.type, 0) + 1
        if not past:
            self._freeze(aggregate)

    def _freeze(self, aggregate: Any) -> None:
        """The state as of ``at`` (or the end) that the cross-checks need beyond the per-event steps."""
        if aggregate is None:
            return
        self.report.aggregates[str(aggregate.id)] = type(aggregate).__name__
        if isinstance(aggregate, FlashSale):
            for ledger in self.report.sales:
                if ledger.sale_id == str(aggregate.id):
                    ledger.reservations = reservations(aggregate)

    def _check_sequence(self, rows: list[StoredRow]) -> None:
        agg_id, expected, prev = rows[0].aggregate_id, 1, None
        for row in rows:
            if row.version != expected:
                low = prev.position if prev else 0
                hole = _hole_between(self.holes, low, row.position)
                where = ""
                if hole:
                    self.explained.add(hole)
                    ids = f"id {hole[0]} is" if hole[0] == hole[1] else f"ids {hole[0]}–{hole[1]} are"
                    where = f"; notification {ids} missing between its neighbours: a deleted row"
                self.report.add(
                    "tamper",
                    "version_gap",
                    f"{agg_id}: {_versions(expected, row.version - 1)} missing{where}",
                    aggregate_id=agg_id,
                    version=expected,
                    position=row.position,
                )
            elif prev is not None and row.position < prev.position:
                self.report.add(
                    "tamper",
                    "out_of_order",
                    f"v{row.version} was stored before v{prev.version} (ids edited?)",
                    aggregate_id=agg_id,
                    version=row.version,
                    position=row.position,
                )
            expected, prev = row.version + 1, row

    # ---- what each kind of aggregate contributes to the report ---------------------------------------
    def _observer(self, aggregate: Any) -> Callable[[Any, StoredRow, Any], None]:
        if isinstance(aggregate, FlashSale):
            ledger = SaleLedger(str(aggregate.id), aggregate.sale_name, aggregate.quantity)
            self.report.sales.append(ledger)

            def sale(agg: FlashSale, row: StoredRow, at: datetime) -> None:
                ledger.points.append(
                    StockPoint(
                        row.position,
                        row.version,
                        at,
                        row.type,
                        agg.status,
                        agg.sold,
                        agg.reserved,
                        agg.available,
                        len(agg.waitlist),
                    )
                )

            return sale
        if isinstance(aggregate, Order):
            history = MoneyHistory(
                "order",
                str(aggregate.id),
                aggregate.total,
                method=aggregate.payment_method,
                lines=[dict(x) for x in aggregate.lines],
            )
            self.report.orders.append(history)
        elif isinstance(aggregate, Payment):
            history = MoneyHistory(
                "payment",
                str(aggregate.id),
                aggregate.amount,
                order_id=str(aggregate.order_id),
                method=aggregate.method,
            )
            self.report.payments.append(history)
        else:
            return lambda agg, row, at: None  # shows and others: counted, checked for integrity only
        is_order = history.kind == "order"

        def money(agg: Any, row: StoredRow, at: datetime) -> None:
            if is_order and agg.payment_id is not None:
                history.payment_id = str(agg.payment_id)
            refunded: Decimal = agg.refunded_amount
            history.steps.append(Step(row.position, row.version, at, row.type, agg.status, refunded))

        return money


def reservations(sale: FlashSale) -> dict[str, dict[str, Any]]:
    """A sale's reservations as plain values, for the report and the cross-checks with orders."""
    return {
        str(rid): {
            "buyer_id": str(r["buyer_id"]),
            "quantity": r["quantity"],
            "status": r["status"],
            "order_id": str(r["order_id"]) if r.get("order_id") else None,
            "reason": r.get("reason"),
        }
        for rid, r in sale.reservations.items()
    }
