"""The fraud review queue (issue 17 part 1): admins list the cases the detector opened and decide them.

- ``GET /admin/fraud/cases?status=open|cleared|confirmed|all&limit=N``: newest first, each with its subject,
  score, reasons and the features behind them.
- ``GET /admin/fraud/cases/:id?min_version=N``: one case.
- ``POST /admin/fraud/cases/:id/decision {decision: clear|confirm, note}``: the decision is a
  ``FraudCase.Decided`` event; clearing an order's case releases its shipping, confirming keeps it refused.
  The same decision again answers ``200`` with ``changed: false``; the other one ``409
  fraud_case_already_decided``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.version_waiter import ReadModel
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body
from projections.fraud_cases_pg import case_row

bp = Blueprint("fraud", url_prefix="/api/v1/live-commerce")
FRAUD_CASES = ReadModel("fraud_cases", "fraud_cases", version_column="version", id_column="case_id")


class CasesQuery(Body):
    status: Literal["open", "cleared", "confirmed", "all"] = "open"
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class DecisionBody(Body):
    decision: Literal["clear", "confirm"]
    note: Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")] | None = None


def _case(r: dict[str, Any]) -> dict[str, Any]:
    row = case_row(r)
    return {**row, "opened_at": iso(row["opened_at"]), "decided_at": iso(row["decided_at"])}


@bp.get("/admin/fraud/cases")
@requires("fraud.review")
@api(query=CasesQuery, other_query=True)
async def cases(request: Request, query: CasesQuery) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    where = "" if query.status == "all" else "WHERE status = %s"
    rows = await c.read_db.fetch(
        f"SELECT * FROM fraud_cases {where} ORDER BY opened_at DESC, case_id LIMIT %s",  # noqa: S608
        ((query.status,) if where else ()) + (query.limit,),
    )
    return json({"cases": [_case(r) for r in rows], "count": len(rows)})


@bp.get("/admin/fraud/cases/<case_id:uuid>")
@requires("fraud.review")
@api(min_version=True)
async def case(request: Request, case_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    cid = str(case_id)
    r = await visible(
        request,
        FRAUD_CASES,
        cid,
        lambda: c.read_db.fetchone("SELECT * FROM fraud_cases WHERE case_id = %s", (cid,)),
        "fraud_case_not_found",
        {"case_id": cid},
    )
    if isinstance(r, HTTPResponse):
        return r
    return json(_case(r))


@bp.post("/admin/fraud/cases/<case_id:uuid>/decision")
@requires("fraud.review")
@api(body=DecisionBody)
async def decide(request: Request, case_id: UUID, body: DecisionBody) -> HTTPResponse:
    c = _c(request)
    assert c.fraud_cases is not None
    v = await c.fraud_cases.decide(case_id, decision=body.decision, note=body.note, actor=actor_of(request))
    return json(
        {
            "case_id": str(v.case_id),
            "status": v.status,
            "decision": v.decision,
            "version": v.version,
            "changed": v.changed,
        }
    )
