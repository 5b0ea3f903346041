"""Compare the audited final state with the read models, where they exist.

Why only "where they exist": read models are disposable and may live in another database, or not be built yet
(the commerce tables land with their own projections). A missing table is reported as "read model not
available", never as a failure; a difference is a warning, since a read model may simply be behind (its
``aggregate_version`` says how far). The store stays the truth either way.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from infra.audit.model import AuditReport, Comparison

# read-model table → (which report list, {column: attribute of the audited state})
SALE_COLUMNS = {
    "total_quantity": "quantity",
    "sold_quantity": "sold",
    "reserved_quantity": "reserved",
    "available_quantity": "available",
    "status": "status",
    "aggregate_version": "version",
}
MONEY_COLUMNS = {"status": "status", "total_amount": "amount", "amount": "amount", "aggregate_version": "version"}
TABLES = {"flash_sales": SALE_COLUMNS, "orders": MONEY_COLUMNS, "payments": MONEY_COLUMNS}


def audited_state(report: AuditReport, table: str) -> dict[str, dict[str, Any]]:
    if table == "flash_sales":
        return {
            s.sale_id: {
                "quantity": s.quantity,
                "sold": p.sold,
                "reserved": p.reserved,
                "available": p.available,
                "status": p.status,
                "version": p.version,
            }
            for s in report.sales
            for p in s.points[-1:]
        }
    histories = report.orders if table == "orders" else report.payments
    return {
        h.id: {"status": h.status, "amount": h.amount, "version": h.steps[-1].version} for h in histories if h.steps
    }


async def compare(url: str, report: AuditReport) -> None:
    if report.at is not None:
        report.read_models_note = "read models hold the present; not compared for a past moment (--at)"
        return
    missing: list[str] = []
    try:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.Error as e:
        report.read_models_note = f"read model not available (cannot connect: {e.__class__.__name__})"
        return
    async with conn:
        for table, columns in TABLES.items():
            state = audited_state(report, table)
            if not state:
                continue
            exists = await (await conn.execute("SELECT to_regclass(%s)", (table,))).fetchone()
            if not (exists and exists[0]):
                missing.append(table)
                continue
            query = sql.SQL("SELECT id::text, to_jsonb(t) FROM {} t WHERE id::text = ANY(%s)").format(
                sql.Identifier(table)
            )
            cur = await conn.execute(query, (list(state),))
            rows = {rid: doc for rid, doc in await cur.fetchall()}
            for rid, audited in state.items():
                doc = rows.get(rid)
                if doc is None:
                    report.read_models.append(Comparison(table, rid, "row", "present", "missing"))
                    continue
                for column, attr in columns.items():
                    if column in doc and attr in audited:
                        report.read_models.append(Comparison(table, rid, column, audited[attr], doc[column]))
    for c in report.read_models:
        if not c.equal:
            report.add(
                "warning",
                "read_model_differs",
                f"{c.table} {c.row_id}: {c.field} is {c.read_model!r} in the read model, "
                f"{c.store!r} from the store (the read model may be behind)",
                aggregate_id=c.row_id,
            )
    if missing:
        report.read_models_note = f"read model not available: {', '.join(missing)}"
    elif report.read_models:
        agree = sum(c.equal for c in report.read_models)
        report.read_models_note = f"{agree}/{len(report.read_models)} fields agree"
