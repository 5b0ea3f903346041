"""Queries for the host endpoints (spec §4.4): profiles, applications, and the dashboard's figures.

The dashboard reads ``live_commerce_hosts`` (profile, rating, commission rate), ``live_streams`` (the host's
shows), and the shows' figures from ``projections.analytics_queries`` (viewers who joined, purchases, revenue
net of refunds, conversion: one definition for every answer, ADR 0015). Earnings are the revenue times the
host's current commission rate, by calendar month in Dhaka time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from projections import analytics_queries as aq
from projections.coins_pg import host_gift_totals

DHAKA = ZoneInfo("Asia/Dhaka")
HOST_COLUMNS = (
    "h.id, h.user_id, h.vendor_id, h.host_name, h.bio, h.bio_bn, h.profile_image_url, h.specializations,"
    " h.languages, h.experience_level::text AS experience_level, h.rating, h.rating_count,"
    " h.verification_status::text AS verification_status, h.is_active, h.commission_rate,"
    " h.portfolio_links, h.sample_videos, h.availability_status, h.next_available, h.weekly_schedule,"
    " h.rejection_reason, h.suspension_reason, h.verified_at, h.created_at, h.updated_at,"
    " h.aggregate_version,"
    " (SELECT count(*) FROM live_commerce_host_followers f WHERE f.host_id = h.id AND f.following)"
    " AS followers_count"
)


class SqlReader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


async def host_by_id(db: SqlReader, host_id: str) -> dict[str, Any] | None:
    rows = await db.fetch(f"SELECT {HOST_COLUMNS} FROM live_commerce_hosts h WHERE h.id = %s", (host_id,))
    return rows[0] if rows else None


async def hosts_by_user(db: SqlReader, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name and picture of the hosts of some streams, by user id (for stream listings)."""
    if not user_ids:
        return {}
    rows = await db.fetch(
        "SELECT id, user_id, host_name, profile_image_url, rating FROM live_commerce_hosts"
        " WHERE user_id = ANY(%s::uuid[])",
        (list(user_ids),),
    )
    return {str(r["user_id"]): r for r in rows}


async def applications(db: SqlReader, *, status: str | None, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    cond, params = ("h.verification_status = %(status)s", {"status": status}) if status else ("TRUE", {})
    rows = await db.fetch(
        f"SELECT {HOST_COLUMNS}, count(*) OVER () AS total_count FROM live_commerce_hosts h WHERE {cond}"
        " ORDER BY h.created_at, h.id LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": (page - 1) * limit},
    )
    total = int(rows[0]["total_count"]) if rows else 0
    return rows, total


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Starts of this and last calendar month in Dhaka, as naive UTC (how the read tables store time)."""
    local = now.astimezone(DHAKA)
    this = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (this - timedelta(days=1)).replace(day=1)
    return tuple(t.astimezone(UTC).replace(tzinfo=None) for t in (this, last))  # type: ignore[return-value]


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


async def dashboard(db: SqlReader, host: dict[str, Any], now: datetime, upcoming_limit: int = 20) -> dict[str, Any]:
    """The §4.4 dashboard. Sales, revenue, viewers and conversion are ``analytics_queries``' figures over the
    host's shows (so they equal the shows' own ``sales_stats`` and analytics); amounts are Decimals."""
    user = str(host["user_id"])
    this, last = month_bounds(now)
    shows = await db.fetch(
        "SELECT id::text AS id, status::text AS status FROM live_streams WHERE host_id = %s", (user,)
    )
    ids = [r["id"] for r in shows]
    fig = aq.total(list((await aq.show_figures(db, ids)).values()))
    months = await aq.revenue_between(db, ids, {"this": (this, None), "last": (last, this)})
    upcoming = await db.fetch(
        "SELECT id, title, title_bn, stream_type::text AS stream_type, status::text AS status, category,"
        " scheduled_start_time, stream_settings FROM live_streams WHERE host_id = %s AND status = 'scheduled'"
        " ORDER BY scheduled_start_time NULLS LAST, id LIMIT %s",
        (user, upcoming_limit),
    )
    rate = Decimal(str(host["commission_rate"] or 0)) / 100
    gifts = await host_gift_totals(db, user, {"this": (this, None), "last": (last, this)})  # type: ignore[arg-type]
    pending: list[dict[str, Any]] = []
    if host["verification_status"] == "pending":
        pending.append({"type": "host_verification", "status": "pending", "submitted_at": host["created_at"]})
    return {
        "performance_summary": {
            "total_streams": sum(1 for r in shows if r["status"] in ("live", "ended")),
            "total_viewers": fig.viewers,
            "total_sales": _money(fig.revenue),
            "total_purchases": fig.purchases,
            "average_rating": float(host["rating"] or 0),
            "conversion_rate": aq.conversion(fig),
        },
        "upcoming_streams": upcoming,
        "pending_approvals": pending,
        "earnings_summary": {
            "this_month": _money(months["this"] * rate),
            "last_month": _money(months["last"] * rate),
            "total_earnings": _money(fig.revenue * rate),
            "commission_rate": float(host["commission_rate"] or 0),
            "currency": "BDT",
            # The host's share of the virtual gifts viewers sent to their shows (issue 14 part 3, ADR 0022).
            "gifts": {
                "this_month": _money(gifts["this"]["amount"]),
                "last_month": _money(gifts["last"]["amount"]),
                "total": _money(gifts["total"]["amount"]),
                "gifts_received": int(gifts["total"]["gifts"]),
                "coins_received": int(gifts["total"]["coins"]),
            },
        },
    }
