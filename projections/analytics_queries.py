"""Analytics of a show and of a host (spec §4.5), aggregated in SQL over the read tables; nothing is replayed.

Definitions (written down so numbers can be checked by hand):
- viewers: distinct viewers (signed-in user, else the connection) who joined; peak: most connections at once.
- average watch time: mean of the viewers' watch durations (connections that left), in minutes.
- engagement: likes + hearts + messages. Engagement rate: engagement per viewer.
- funnel: viewers → product views (distinct viewers who tapped a product: a purchase intent) → cart adds
  (distinct buyers who added to the live cart) → purchases (paid orders).
- revenue: paid orders' totals; average order value: revenue / paid orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


class Reader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


VIEWER_KEY = "COALESCE(user_id::text, viewer_session_id)"


async def stream_analytics(db: Reader, stream_id: str) -> dict[str, Any]:
    p = {"s": stream_id}
    v = (await db.fetch(
        f"SELECT count(DISTINCT {VIEWER_KEY}) AS viewers,"
        " COALESCE(avg(watch_duration_seconds) FILTER (WHERE leave_time IS NOT NULL), 0) AS avg_watch"
        " FROM live_stream_viewers WHERE stream_id = %(s)s", p))[0]
    peak = (await db.fetch(
        "SELECT COALESCE(max(n), 0) AS peak FROM (SELECT sum(d) OVER (ORDER BY t, d) AS n FROM ("
        " SELECT join_time AS t, 1 AS d FROM live_stream_viewers WHERE stream_id = %(s)s UNION ALL"
        " SELECT leave_time, -1 FROM live_stream_viewers WHERE stream_id = %(s)s AND leave_time IS NOT NULL) x) y",
        p))[0]["peak"]
    kinds = {r["interaction_type"]: int(r["n"]) for r in await db.fetch(
        "SELECT interaction_type, count(*) AS n FROM live_stream_interactions WHERE stream_id = %(s)s"
        " GROUP BY 1", p)}
    by_location = {r["city"]: int(r["n"]) for r in await db.fetch(
        f"SELECT COALESCE(location->>'city', 'Other') AS city, count(DISTINCT {VIEWER_KEY}) AS n"
        " FROM live_stream_viewers WHERE stream_id = %(s)s GROUP BY 1 ORDER BY 2 DESC", p)}
    devices = {r["device"]: int(r["n"]) for r in await db.fetch(
        f"SELECT COALESCE(device_type, 'unknown') AS device, count(DISTINCT {VIEWER_KEY}) AS n"
        " FROM live_stream_viewers WHERE stream_id = %(s)s GROUP BY 1", p)}
    timeline = await db.fetch(
        "WITH m AS (SELECT generate_series(date_trunc('minute', min(join_time)),"
        " date_trunc('minute', max(COALESCE(leave_time, join_time))), interval '1 minute') AS t"
        " FROM live_stream_viewers WHERE stream_id = %(s)s)"
        " SELECT m.t, (SELECT count(*) FROM live_stream_viewers w WHERE w.stream_id = %(s)s"
        "   AND w.join_time < m.t + interval '1 minute' AND (w.leave_time IS NULL OR w.leave_time >= m.t)) AS viewers,"
        " (SELECT count(*) FROM live_stream_interactions i WHERE i.stream_id = %(s)s"
        "   AND i.timestamp >= m.t AND i.timestamp < m.t + interval '1 minute') AS interactions FROM m ORDER BY m.t",
        p)
    product_views = (await db.fetch(
        "SELECT count(DISTINCT user_id) AS n FROM live_stream_interactions WHERE stream_id = %(s)s"
        " AND interaction_type = 'purchase_intent'", p))[0]["n"]
    cart_adds = (await db.fetch(
        "SELECT count(DISTINCT c.buyer_id) AS n FROM analytics_cart_adds a JOIN analytics_carts c"
        " ON c.id = a.cart_id WHERE c.stream_id = %(s)s", p))[0]["n"]
    sales = (await db.fetch(
        "SELECT count(*) AS orders, COALESCE(sum(total), 0) AS revenue FROM orders WHERE stream_id = %(s)s"
        " AND status IN ('paid', 'refunded')", p))[0]
    by_product = await db.fetch(
        "SELECT l->>'product_id' AS product_id, sum((l->>'quantity')::int) AS units,"
        " sum((l->>'quantity')::int * (l->>'unit_price')::numeric) AS revenue FROM orders,"
        " jsonb_array_elements(lines) l WHERE stream_id = %(s)s AND status IN ('paid', 'refunded')"
        " GROUP BY 1 ORDER BY 3 DESC", p)
    viewers = int(v["viewers"])
    total_devices = sum(devices.values()) or 1
    revenue = Decimal(sales["revenue"])
    engagement = kinds.get("like", 0) + kinds.get("heart", 0) + kinds.get("message", 0)
    return {
        "overview": {
            "total_viewers": viewers, "peak_concurrent": int(peak),
            "average_watch_time": round(float(v["avg_watch"]) / 60, 1), "total_engagement": engagement,
            "total_purchases": int(sales["orders"]), "revenue": float(revenue),
        },
        "viewer_demographics": {
            "by_location": by_location,
            "by_device": {k: round(n / total_devices, 2) for k, n in devices.items()},
            "by_age_group": {},  # ages are not collected by this service
        },
        "engagement_timeline": [{"timestamp": _iso(r["t"]), "viewers": int(r["viewers"]),
                                 "interactions": int(r["interactions"])} for r in timeline],
        "sales_analytics": {
            "conversion_funnel": {"viewers": viewers, "product_views": int(product_views),
                                  "cart_adds": int(cart_adds), "purchases": int(sales["orders"])},
            "revenue_by_product": [{"product_id": r["product_id"], "units": int(r["units"]),
                                    "revenue": float(r["revenue"])} for r in by_product],
            "average_order_value": float((revenue / sales["orders"]).quantize(Decimal("0.01")))
            if sales["orders"] else 0.0,
        },
    }


def _iso(t: datetime) -> str:
    return t.isoformat() + "Z"


async def host_streams(db: Reader, host_id: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The host's shows that started in [since, until), with their audience and sales."""
    return await db.fetch(
        f"SELECT s.id, s.title, s.actual_start_time, s.duration_seconds,"
        f" (SELECT count(DISTINCT {VIEWER_KEY}) FROM live_stream_viewers v WHERE v.stream_id = s.id) AS viewers,"
        " (SELECT COALESCE(sum(watch_duration_seconds), 0) FROM live_stream_viewers v WHERE v.stream_id = s.id)"
        "   AS watch_seconds,"
        " (SELECT count(*) FROM live_stream_interactions i WHERE i.stream_id = s.id) AS interactions,"
        " (SELECT count(*) FROM orders o WHERE o.stream_id = s.id AND o.status IN ('paid', 'refunded')) AS orders,"
        " (SELECT COALESCE(sum(total), 0) FROM orders o WHERE o.stream_id = s.id"
        "   AND o.status IN ('paid', 'refunded')) AS revenue"
        " FROM live_streams s WHERE (s.host_id = %(h)s OR (s.host_id IS NULL AND s.vendor_id = %(h)s))"
        " AND s.actual_start_time >= %(a)s AND s.actual_start_time < %(b)s ORDER BY s.actual_start_time",
        {"h": host_id, "a": since, "b": until})
