"""Analytics endpoints (spec §4.5): a show's analytics and a host's performance over a period."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso
from interfaces.http.schemas import Body
from projections.analytics_queries import host_streams, stream_analytics

bp = Blueprint("analytics", url_prefix="/api/v1/live-commerce")


class PeriodQuery(Body):
    period: Annotated[str, Field(pattern=r"^\d{1,3}d$")] = "30d"
    metrics: str = "all"



@bp.get("/streams/<stream_id:uuid>/analytics")
async def show_analytics(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    if await c.read_db.fetchone("SELECT 1 AS ok FROM live_streams WHERE id = %s", (str(stream_id),)) is None:
        return error_response(404, "stream_not_found", {"stream_id": str(stream_id)})
    return json(await stream_analytics(c.read_db, str(stream_id)))


def _rate(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _growth(now: float, before: float) -> float | None:
    return round((now - before) / before, 2) if before else None


def _totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    viewers = sum(int(r["viewers"]) for r in rows)
    return {"streams": len(rows), "viewers": viewers, "watch_min": sum(int(r["watch_seconds"]) for r in rows) / 60,
            "interactions": sum(int(r["interactions"]) for r in rows),
            "orders": sum(int(r["orders"]) for r in rows), "revenue": float(sum(r["revenue"] for r in rows))}


def suggestions(rows: list[dict[str, Any]], t: dict[str, float]) -> list[str]:
    """Advice computed from the host's own numbers, each with the figure behind it."""
    out: list[str] = []
    by_hour: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        if r["actual_start_time"] is not None:
            local = r["actual_start_time"].replace(tzinfo=UTC) + timedelta(hours=6)  # Asia/Dhaka
            by_hour[local.hour].append(int(r["viewers"]))
    if len(by_hour) >= 2:
        best = max(by_hour, key=lambda h: sum(by_hour[h]) / len(by_hour[h]))
        out.append(f"Try streaming around {best:02d}:00–{(best + 2) % 24:02d}:00 Dhaka time: your shows starting"
                   f" then drew {sum(by_hour[best]) / len(by_hour[best]):.0f} viewers on average")
    if t["viewers"] and _rate(t["orders"], t["viewers"]) < 0.03:
        out.append(f"Only {_rate(t['orders'], t['viewers']):.1%} of viewers bought: feature products longer and"
                   " run a flash sale or group buy during the show")
    if t["viewers"] and _rate(t["interactions"], t["viewers"]) < 0.5:
        out.append("Viewers rarely interact: ask questions, run polls and answer chat by name")
    if rows and t["watch_min"] / max(t["viewers"], 1) < 5:
        out.append("Viewers leave within five minutes on average: open with the best deal")
    return out


@bp.get("/hosts/<host_id:uuid>/analytics")
async def host_analytics(request: Request, host_id: UUID) -> HTTPResponse:
    q = PeriodQuery.model_validate({k: v[0] for k, v in request.args.items()})
    days = int(re.sub(r"\D", "", q.period))
    c = _c(request)
    assert c.read_db is not None
    now = datetime.now(UTC).replace(tzinfo=None)
    start, before = now - timedelta(days=days), now - timedelta(days=2 * days)
    rows = await host_streams(c.read_db, str(host_id), start, now + timedelta(seconds=1))
    prev = await host_streams(c.read_db, str(host_id), before, start)
    t, p = _totals(rows), _totals(prev)
    top = sorted(rows, key=lambda r: (float(r["revenue"]), int(r["viewers"])), reverse=True)[:5]
    return json({
        "period": q.period,
        "performance_metrics": {
            "total_streams": int(t["streams"]), "total_watch_time": round(t["watch_min"]),
            "average_viewers_per_stream": round(t["viewers"] / t["streams"]) if t["streams"] else 0,
            "engagement_rate": _rate(t["interactions"], t["viewers"]),
            "conversion_rate": _rate(t["orders"], t["viewers"]), "revenue_generated": t["revenue"],
        },
        "growth_metrics": {
            "viewership_growth": _growth(t["viewers"], p["viewers"]),
            "revenue_growth": _growth(t["revenue"], p["revenue"]),
            "follower_growth": None,  # followers arrive with host profiles (issue 3)
        },
        "top_performing_streams": [{"id": str(r["id"]), "title": r["title"], "started_at": iso(r["actual_start_time"]),
                                    "viewers": int(r["viewers"]), "revenue": float(r["revenue"])} for r in top],
        "improvement_suggestions": suggestions(rows, t),
    })
