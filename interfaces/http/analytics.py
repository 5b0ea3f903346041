"""Analytics endpoints (spec §4.5): a show's analytics and a host's performance over a period.

Both need sign-in; a show's analytics are for anyone signed in who may see the show (a private one only for
its invited), its revenue only for the show's host, vendor and admins; a host's analytics only for the host
themself, their vendor and admins. Every query runs under a statement timeout (``503 analytics_timeout``).
The figures and their definitions are ``projections.analytics_queries``' (ADR 0015).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from uuid import UUID

import psycopg
from pydantic import Field, field_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.access import is_show_owner, may_view_stream, sees_revenue
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso, money, rate
from interfaces.http.schemas import Body
from projections import host_queries as hq
from projections.analytics_queries import Figures, Reader, follower_counts, host_streams, stream_analytics, total
from projections.engagement_queries import sentiment_section
from projections.stream_moderators_pg import moderators_of

bp = Blueprint("analytics", url_prefix="/api/v1/live-commerce")

SECTIONS = {
    "performance": "performance_metrics",
    "growth": "growth_metrics",
    "top_streams": "top_performing_streams",
    "suggestions": "improvement_suggestions",
}
T = TypeVar("T")


class PeriodQuery(Body):
    period: Annotated[str, Field(pattern=r"^\d{1,3}d$")] = "30d"
    # ``all``, or a comma-separated list of sections: performance, growth, top_streams, suggestions (or the
    # answer's own keys: performance_metrics, …).
    metrics: Annotated[str, Field(max_length=200)] = "all"

    @field_validator("period")
    @classmethod
    def _days(cls, v: str) -> str:
        if not 1 <= int(v[:-1]) <= 366:
            raise ValueError("period is 1d to 366d")
        return v

    @field_validator("metrics")
    @classmethod
    def _sections(cls, v: str) -> str:
        names = [n.strip() for n in v.split(",") if n.strip()]
        known = {"all", *SECTIONS, *SECTIONS.values()}
        unknown = sorted(set(names) - known)
        if not names or unknown:
            raise ValueError(f"metrics is all, or some of {sorted(SECTIONS)}; unknown: {unknown}")
        return ",".join(names)

    def days(self) -> int:
        return int(self.period[:-1])

    def sections(self) -> set[str]:
        names = set(self.metrics.split(","))
        if "all" in names:
            return set(SECTIONS.values())
        return {SECTIONS.get(n, n) for n in names}


class AnalyticsTimeout(Exception):
    pass


async def _timed(request: Request, query: Callable[[Reader], Awaitable[T]]) -> T:
    """Run the reads in one transaction under the analytics statement timeout."""
    c = _c(request)
    try:
        async with c.read_db.transaction() as tx:
            await tx.execute(
                "SELECT set_config('statement_timeout', %s, true)", (str(c.settings.analytics_statement_timeout_ms),)
            )
            return await query(tx)
    except psycopg.errors.QueryCanceled:
        raise AnalyticsTimeout() from None


def _refused_timeout() -> HTTPResponse:
    return error_response(503, "analytics_timeout")


@bp.get("/streams/<stream_id:uuid>/analytics")
@requires("analytics.read")
@api(errors=(404,))
async def show_analytics(request: Request, stream_id: UUID) -> HTTPResponse:
    """A show's analytics (spec §4.5); revenue figures are ``null`` for anyone but its host, vendor, admins."""
    c = _c(request)
    sid, actor = str(stream_id), actor_of(request)
    row = await c.read_db.fetchone(
        "SELECT host_id::text AS host_id, vendor_id::text AS vendor_id, is_public FROM live_streams WHERE id = %s",
        (sid,),
    )
    if row is None:
        return error_response(404, "stream_not_found", {"stream_id": sid})
    mods = [] if row["is_public"] else [m["moderator_id"] for m in await moderators_of(c.read_db, sid)]
    if not may_view_stream(
        actor, is_public=row["is_public"], host_id=row["host_id"], vendor_id=row["vendor_id"], moderator_ids=mods
    ):
        return error_response(404, "stream_not_found", {"stream_id": sid})
    try:
        d = await _timed(request, lambda db: stream_analytics(db, sid))
        d.update(await _timed(request, lambda db: sentiment_section(db, sid)))  # chat mood (ADR 0025)
    except AnalyticsTimeout:
        return _refused_timeout()
    revenue = sees_revenue(actor, host_id=row["host_id"], vendor_id=row["vendor_id"])
    sales = d["sales_analytics"]
    d["overview"]["revenue"] = money(d["overview"]["revenue"]) if revenue else None
    sales["average_order_value"] = money(sales["average_order_value"]) if revenue else None
    sales["revenue_by_product"] = [
        {**p, "revenue": money(p["revenue"]) if revenue else None} for p in sales["revenue_by_product"]
    ]
    return json(d)


def _growth(now: float, before: float) -> float | None:
    return round((now - before) / before, 2) if before else None


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    f: Figures = total([r["figures"] for r in rows])
    return {
        "streams": len(rows),
        "figures": f,
        "viewers": f.viewers,
        "watch_min": sum(int(r["watch_seconds"]) for r in rows) / 60,
        "engaged": sum(int(r["engaged"]) for r in rows),
        "revenue": f.revenue,
    }


def suggestions(rows: list[dict[str, Any]], t: dict[str, Any]) -> list[str]:
    """Advice computed from the host's own numbers, each with the figure behind it."""
    out: list[str] = []
    by_hour: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        if r["actual_start_time"] is not None:
            local = r["actual_start_time"].replace(tzinfo=UTC) + timedelta(hours=6)  # Asia/Dhaka
            by_hour[local.hour].append(r["figures"].viewers)
    if len(by_hour) >= 2:
        best = max(by_hour, key=lambda h: sum(by_hour[h]) / len(by_hour[h]))
        out.append(
            f"Try streaming around {best:02d}:00–{(best + 2) % 24:02d}:00 Dhaka time: your shows starting"
            f" then drew {sum(by_hour[best]) / len(by_hour[best]):.0f} viewers on average"
        )
    f: Figures = t["figures"]
    if f.audience and rate(f.buyers, f.audience) < 0.03:
        out.append(
            f"Only {rate(f.buyers, f.audience):.1%} of viewers bought: feature products longer and"
            " run a flash sale or group buy during the show"
        )
    if t["viewers"] and rate(t["engaged"], t["viewers"]) < 0.5:
        out.append(
            f"Only {rate(t['engaged'], t['viewers']):.0%} of viewers chatted, reacted or tapped a product:"
            " ask questions, run polls and answer chat by name"
        )
    if rows and t["watch_min"] / max(t["viewers"], 1) < 5:
        out.append("Viewers leave within five minutes on average: open with the best deal")
    return out


@bp.get("/hosts/<host_id:uuid>/analytics")
@requires("host.analytics")
@api(query=PeriodQuery, errors=(403, 404))
async def host_analytics(request: Request, host_id: UUID, query: PeriodQuery) -> HTTPResponse:
    """A host's performance over ``period`` (host profile id, like every ``/hosts/:id``): for the host
    themself, their vendor and admins. ``metrics`` picks the sections."""
    c = _c(request)
    profile = await hq.host_by_id(c.read_db, str(host_id))
    if profile is None:
        return error_response(404, "host_not_found", {"host_id": str(host_id)})
    if not is_show_owner(
        actor_of(request),
        host_id=str(profile["user_id"]),
        vendor_id=str(profile["vendor_id"]) if profile["vendor_id"] else None,
    ):
        return error_response(
            403,
            "not_permitted",
            {"reason": "a host's analytics are for the host, their vendor and admins", "action": "host.analytics"},
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    until, start = now + timedelta(seconds=1), now - timedelta(days=query.days())
    before = start - timedelta(days=query.days())
    user = str(profile["user_id"])

    async def read(db: Reader) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
        return (
            await host_streams(db, user, start, until),
            await host_streams(db, user, before, start),
            await follower_counts(db, str(host_id), [start, until]),
        )

    try:
        rows, prev, (followers_then, followers_now) = await _timed(request, read)
    except AnalyticsTimeout:
        return _refused_timeout()
    t, p = _totals(rows), _totals(prev)
    f: Figures = t["figures"]
    top = sorted(rows, key=lambda r: (r["figures"].revenue, r["figures"].viewers), reverse=True)[:5]
    answer = {
        "performance_metrics": {
            "total_streams": t["streams"],
            "total_watch_time": round(t["watch_min"]),  # minutes
            "average_viewers_per_stream": round(t["viewers"] / t["streams"]) if t["streams"] else 0,
            "engagement_rate": rate(t["engaged"], t["viewers"]),
            "conversion_rate": rate(f.buyers, f.audience),
            "revenue_generated": money(f.revenue),
        },
        "growth_metrics": {
            "follower_growth": _growth(followers_now, followers_then),
            "followers": followers_now,
            "followers_at_start": followers_then,
            "viewership_growth": _growth(t["viewers"], p["viewers"]),
            "revenue_growth": _growth(float(t["revenue"]), float(p["revenue"])),
        },
        "top_performing_streams": [
            {
                "id": r["id"],
                "title": r["title"],
                "started_at": iso(r["actual_start_time"]),
                "viewers": r["figures"].viewers,
                "purchases": r["figures"].purchases,
                "revenue": money(r["figures"].revenue),
            }
            for r in top
        ],
        "improvement_suggestions": suggestions(rows, t),
    }
    wanted = query.sections()
    return json(
        {
            "host_id": str(host_id),
            "period": query.period,
            "metrics": query.metrics,
            **{k: v for k, v in answer.items() if k in wanted},
        }
    )
