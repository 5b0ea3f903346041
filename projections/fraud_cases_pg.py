"""PostgreSQL ``fraud_cases``: the admin review queue (``GET /admin/fraud/cases``), from FraudCase events."""

from __future__ import annotations

import json
from typing import Any

from application.envelope import Envelope
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc

STATUS = {"clear": "cleared", "confirm": "confirmed"}


async def _apply(tx: SqlTx, e: Envelope) -> None:
    d, at, v = e.payload, naive_utc(e.occurred_at), e.aggregate_version
    if e.type == "FraudCase.FraudSuspected":
        subject = d["subject"]
        await tx.execute(
            "INSERT INTO fraud_cases (case_id, subject_kind, subject_id, order_id, buyer_id, score, reasons,"
            " features, status, opened_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, %s)"
            " ON CONFLICT (case_id) DO NOTHING",
            (
                e.aggregate_id,
                subject["kind"],
                subject["id"],
                d.get("order_id"),
                d.get("buyer_id"),
                d["score"],
                json.dumps(d["reasons"]),
                json.dumps(d.get("features") or {}),
                at,
                v,
            ),
        )
    elif e.type == "FraudCase.Decided":
        await tx.execute(
            "UPDATE fraud_cases SET status = %s, decided_by = %s, note = %s, decided_at = %s, version = %s"
            " WHERE case_id = %s AND version < %s",
            (STATUS[d["decision"]], d["admin_id"], d.get("note"), at, v, e.aggregate_id, v),
        )


class FraudCasesTable(RoutedTable):
    name = "fraud_cases"
    routes = {"FraudCase.": _apply}
    truncate = ("fraud_cases",)


def case_row(r: dict[str, Any]) -> dict[str, Any]:
    """One case as the admin queue shows it (``interfaces.http.fraud``)."""
    return {
        "case_id": str(r["case_id"]),
        "subject": {"kind": r["subject_kind"], "id": r["subject_id"]},
        "order_id": r["order_id"],
        "buyer_id": r["buyer_id"],
        "score": float(r["score"]),
        "reasons": r["reasons"],
        "features": r["features"],
        "status": r["status"],
        "decided_by": r["decided_by"],
        "note": r["note"],
        "opened_at": r["opened_at"],
        "decided_at": r["decided_at"],
        "version": r["version"],
    }
