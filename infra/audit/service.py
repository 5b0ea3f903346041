"""Run one audit: find the scope in the store, fold it, check the ledger, the hash chain and the read models.

The order of the steps matters: integrity first (a history that does not fold cannot be trusted to balance),
then the invariants on what did fold, then the hash chain (recorded only for aggregates found unchanged), and
the read models last, because they are the least trusted source.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal

import psycopg

from infra.audit import hashes, ledger, readmodels
from infra.audit.fold import Folder
from infra.audit.loader import FLASH_SALE, ORDER, STREAM, StoreScope, as_uuid, referenced
from infra.audit.model import AuditReport
from infra.settings import Settings

Kind = Literal["flash-sale", "order", "stream"]
ROOT_TYPE = {"flash-sale": FLASH_SALE, "order": ORDER, "stream": STREAM}


class AuditSubjectNotFound(LookupError):
    pass


async def discover(scope: StoreScope, kind: Kind, subject: str) -> None:
    """Load the subject and everything tied to it: sales, their orders, the orders' payments."""
    if not await scope.load([subject]):
        raise AuditSubjectNotFound(f"no stored events for {kind} {subject}")
    root = scope.rows[subject][0].type.split(".")[0]
    if root != ROOT_TYPE[kind]:
        raise AuditSubjectNotFound(f"{subject} is a {root}, not a {ROOT_TYPE[kind]}")
    sales: list[str] = []
    orders: list[str] = []
    if kind == "flash-sale":
        sales = [subject]
    elif kind == "order":
        orders = [subject]
        sales = sorted(referenced(scope.rows[subject], "flash_sale_id"))
    else:
        sales = await scope.mentioning(FLASH_SALE, subject, "stream_id")
        orders = await scope.mentioning(ORDER, subject, "stream_id")
    await scope.load(sales)
    if kind != "order":
        for sale in sales:
            orders += await scope.mentioning(ORDER, sale, "lines")
    await scope.load(orders)
    payments = set(await scope.payments_of(orders))
    for order in orders:  # the payment an order names, even if its own creation event is gone
        payments |= referenced(scope.rows.get(order, []), "payment_id")
    await scope.load(payments)


async def audit(
    settings: Settings,
    kind: Kind,
    subject_id: str,
    *,
    at: datetime | None = None,
    record_hashes: bool = True,
    compare_read_models: bool = True,
) -> AuditReport:
    started = time.perf_counter()
    subject = as_uuid(subject_id)
    if subject is None:
        raise AuditSubjectNotFound(f"{subject_id!r} is not an aggregate id (a UUID)")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    report = AuditReport(kind, subject, at, datetime.now(UTC))
    schema = settings.postgres_schema
    async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
        scope = StoreScope(conn, schema)
        await discover(scope, kind, subject)
        report.events = sum(len(rows) for rows in scope.rows.values())
        positions = [r.position for rows in scope.rows.values() for r in (rows[0], rows[-1])]
        holes = await scope.holes(min(positions), max(positions))
        folder = Folder(report, holes, at)
        for rows in scope.rows.values():
            folder.fold(rows)
        _report_other_holes(report, [h for h in holes if h not in folder.explained])
        report.sales.sort(key=lambda s: s.points[0].position if s.points else 0)
        for money in (report.orders, report.payments):
            money.sort(key=lambda h: h.steps[0].position if h.steps else 0)
        ledger.check_all(report)
        await hashes.verify_and_record(conn, schema, scope.rows, report, record=record_hashes)
    if compare_read_models:
        await readmodels.compare(settings.read_url, report)
    report.seconds = time.perf_counter() - started
    return report


def _report_other_holes(report: AuditReport, other: list[tuple[int, int]]) -> None:
    """Holes not tied to a missing version: rolled-back inserts leave them too, so they are information."""
    if other:
        ranges = ", ".join(f"{a}–{b}" if a != b else str(a) for a, b in other[:10])
        report.add(
            "info",
            "position_hole",
            f"{sum(b - a + 1 for a, b in other)} notification id(s) never seen ({ranges}"
            f"{', …' if len(other) > 10 else ''}): rolled-back inserts leave such holes, and no "
            "audited aggregate misses a version there; an audited aggregate's deleted last event "
            "shows up in the hash chain instead",
        )
