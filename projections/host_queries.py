"""Queries for the host endpoints (spec §4.4): profiles, applications, and the dashboard's figures.

The dashboard reads several read models: ``live_commerce_hosts`` (profile, rating, commission rate),
``live_streams`` (streams and viewers), and sales from ``orders`` (paid, net of refunds) plus flash-sale
purchases paid without an order (``live_stream_purchases``). Earnings are the sales times the host's current
commission rate, by calendar month in Dhaka time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

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
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
                    ) -> list[dict[str, Any]]: ...


async def host_by_id(db: SqlReader, host_id: str) -> dict[str, Any] | None:
    rows = await db.fetch(f"SELECT {HOST_COLUMNS} FROM live_commerce_hosts h WHERE h.id = %s", (host_id,))
    return rows[0] if rows else None


async def hosts_by_user(db: SqlReader, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name and picture of the hosts of some streams, by user id (for stream listings)."""
    if not user_ids:
        return {}
    rows = await db.fetch(
        "SELECT id, user_id, host_name, profile_image_url, rating FROM live_commerce_hosts"
        " WHERE user_id = ANY(%s::uuid[])", (list(user_ids),))
    return {str(r["user_id"]): r for r in rows}


async def applications(db: SqlReader, *, status: str | None, page: int, limit: int
                       ) -> tuple[list[dict[str, Any]], int]:
    cond, params = ("h.verification_status = %(status)s", {"status": status}) if status else ("TRUE", {})
    rows = await db.fetch(
        f"SELECT {HOST_COLUMNS}, count(*) OVER () AS total_count FROM live_commerce_hosts h WHERE {cond}"
        " ORDER BY h.created_at, h.id LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": (page - 1) * limit})
    total = int(rows[0]["total_count"]) if rows else 0
    return rows, total


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Starts of this and last calendar month in Dhaka, as naive UTC (how the read tables store time)."""
    local = now.astimezone(DHAKA)
    this = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (this - timedelta(days=1)).replace(day=1)
    return tuple(t.astimezone(UTC).replace(tzinfo=None) for t in (this, last))  # type: ignore[return-value]


SALES = """
WITH mine AS (SELECT id FROM live_streams WHERE host_id = %(host)s),
sales AS (
    SELECT o.buyer_id AS buyer, o.total - o.refunded AS amount, o.created_at AS at FROM orders o
     WHERE o.stream_id IN (SELECT id FROM mine) AND o.status IN ('paid', 'refunded')
    UNION ALL
    SELECT p.user_id, p.total_amount, p.purchase_timestamp FROM live_stream_purchases p
     WHERE p.stream_id IN (SELECT id FROM mine) AND p.payment_status = 'completed'
       AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = p.order_id)
)
SELECT COALESCE(sum(amount), 0) AS total,
       COALESCE(sum(amount) FILTER (WHERE at >= %(this)s), 0) AS this_month,
       COALESCE(sum(amount) FILTER (WHERE at >= %(last)s AND at < %(this)s), 0) AS last_month,
       count(*) AS purchases, count(DISTINCT buyer) AS buyers
FROM sales
"""


def _money(value: Any) -> float:
    return float(Decimal(str(value or 0)).quantize(Decimal("0.01")))


async def dashboard(db: SqlReader, host: dict[str, Any], now: datetime, upcoming_limit: int = 20
                    ) -> dict[str, Any]:
    user = str(host["user_id"])
    this, last = month_bounds(now)
    streams = (await db.fetch(
        "SELECT count(*) FILTER (WHERE status IN ('live', 'ended')) AS total_streams,"
        " COALESCE(sum(total_unique_viewers), 0) AS total_viewers FROM live_streams WHERE host_id = %s",
        (user,)))[0]
    sales = (await db.fetch(SALES, {"host": user, "this": this, "last": last}))[0]
    upcoming = await db.fetch(
        "SELECT id, title, title_bn, stream_type::text AS stream_type, status::text AS status, category,"
        " scheduled_start_time, stream_settings FROM live_streams WHERE host_id = %s AND status = 'scheduled'"
        " ORDER BY scheduled_start_time NULLS LAST, id LIMIT %s", (user, upcoming_limit))
    rate = Decimal(str(host["commission_rate"] or 0)) / 100
    viewers = int(streams["total_viewers"] or 0)
    pending: list[dict[str, Any]] = []
    if host["verification_status"] == "pending":
        pending.append({"type": "host_verification", "status": "pending", "submitted_at": host["created_at"]})
    return {
        "performance_summary": {
            "total_streams": int(streams["total_streams"] or 0),
            "total_viewers": viewers,
            "total_sales": _money(sales["total"]),
            "total_purchases": int(sales["purchases"] or 0),
            "average_rating": float(host["rating"] or 0),
            "conversion_rate": round(int(sales["buyers"] or 0) / viewers, 4) if viewers else 0.0,
        },
        "upcoming_streams": upcoming,
        "pending_approvals": pending,
        "earnings_summary": {
            "this_month": _money(Decimal(str(sales["this_month"])) * rate),
            "last_month": _money(Decimal(str(sales["last_month"])) * rate),
            "total_earnings": _money(Decimal(str(sales["total"])) * rate),
            "commission_rate": float(host["commission_rate"] or 0),
            "currency": "BDT",
        },
    }
