"""Sales and audience figures of shows and hosts (spec §4.1 ``sales_stats``, §4.5 analytics, §4.4 dashboard),
aggregated in SQL over the read tables; nothing is replayed. Every answer that shows these figures takes them
from here, so a figure means the same thing everywhere (ADR 0015).

Definitions (written down so numbers can be checked by hand):
- sale: an order of the show that was paid (``orders.status`` paid, or refunded in full later), and flash-sale
  units confirmed against an order this service does not hold (``live_stream_purchases`` completed with no
  order row: a checkout outside this service).
- revenue: what the show's sales brought in, net of refunds: the sum of ``total - refunded`` over its sales (a
  discount is already out of ``total``; a refund the provider refused is not subtracted). By product, each
  order's net is shared among its lines in proportion to their gross (so the products add up to the revenue,
  within a paisa per order).
- purchases: sales not refunded in full (a partial refund keeps the purchase; a full one takes it back).
- buyers: distinct people with a purchase. Viewers: distinct people (signed-in user, else the connection) who
  joined the show's room. Audience: everyone the show reached: viewers, and anyone who tapped a product, added
  to the live cart or checked out (someone may buy on the show's page without joining the room; a refund does
  not take back that they were reached).
- conversion rate: buyers / audience: at most 1 by construction.
- funnel, in people, each step inside the one before: audience → product views (tapped a product: a purchase
  intent, or went further) → cart adds (added to the live cart or checked out: an instant checkout is a cart
  add) → purchases (buyers). So no step ever shows more than the step before it.
- people are counted from ``analytics_reach`` (one row per person and show, kept by the analytics projection),
  so a big show's figures cost an index range per show, not its history (ADR 0015).
- average watch time: mean of the viewers' finished visits, in minutes. Engagement: likes + hearts + messages.
  A host's engagement rate: the share of viewers who chatted, reacted or tapped a product (at most 1).
- average order value: revenue / purchases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


class Reader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


VIEWER_KEY = "COALESCE(user_id::text, viewer_session_id)"

# The shows' sales, one row each (params: ``streams``, a list of stream ids). ``counted``: still a purchase.
SALES = """
sales AS (
    SELECT o.stream_id, o.buyer_id::text AS buyer, o.created_at AS at, o.status = 'paid' AS counted,
           o.total - o.refunded AS net, o.subtotal AS gross, o.lines
      FROM orders o
     WHERE o.stream_id = ANY(%(streams)s::uuid[]) AND o.status IN ('paid', 'refunded')
    UNION ALL
    SELECT p.stream_id, p.user_id::text, p.purchase_timestamp, true, p.total_amount, p.total_amount,
           jsonb_build_array(jsonb_build_object('product_id', p.product_id, 'quantity', p.quantity,
                                                'unit_price', p.unit_price))
      FROM live_stream_purchases p
     WHERE p.stream_id = ANY(%(streams)s::uuid[]) AND p.payment_status = 'completed'
       AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = p.order_id)
)"""

# People of the shows (``analytics_reach``: one row per person and show) and their sales, one pass over each.
# A buyer the analytics projection has not seen check out yet (the orders' read model may be ahead) is still
# counted into the audience and each step of the funnel (``late``), so no share can pass 1 even then.
FIGURES = f"""
WITH {SALES},
buyers AS (SELECT DISTINCT stream_id, buyer AS who FROM sales WHERE counted),
people AS (SELECT stream_id, count(*) AS reached, count(*) FILTER (WHERE joined) AS viewers,
                  count(*) FILTER (WHERE tapped OR carted) AS tapped, count(*) FILTER (WHERE carted) AS carted
             FROM analytics_reach WHERE stream_id = ANY(%(streams)s::uuid[]) GROUP BY stream_id),
late AS (SELECT b.stream_id, count(*) AS buyers, count(*) FILTER (WHERE r.who IS NULL) AS unreached,
                count(*) FILTER (WHERE r.who IS NULL OR NOT (r.tapped OR r.carted)) AS untapped,
                count(*) FILTER (WHERE r.who IS NULL OR NOT r.carted) AS uncarted
           FROM buyers b LEFT JOIN analytics_reach r ON r.stream_id = b.stream_id AND r.who = b.who
          GROUP BY b.stream_id),
takings AS (SELECT stream_id, count(*) FILTER (WHERE counted) AS purchases, COALESCE(sum(net), 0) AS revenue
              FROM sales GROUP BY stream_id),
ids AS (SELECT DISTINCT unnest(%(streams)s::uuid[]) AS stream_id)
SELECT ids.stream_id::text AS stream_id, COALESCE(p.viewers, 0) AS viewers,
       COALESCE(p.reached, 0) + COALESCE(l.unreached, 0) AS audience,
       COALESCE(p.tapped, 0) + COALESCE(l.untapped, 0) AS product_views,
       COALESCE(p.carted, 0) + COALESCE(l.uncarted, 0) AS cart_adds,
       COALESCE(l.buyers, 0) AS buyers, COALESCE(t.purchases, 0) AS purchases, COALESCE(t.revenue, 0) AS revenue
  FROM ids LEFT JOIN people p USING (stream_id) LEFT JOIN late l USING (stream_id)
       LEFT JOIN takings t USING (stream_id)
"""


@dataclass(frozen=True)
class Figures:
    viewers: int = 0
    audience: int = 0
    buyers: int = 0
    purchases: int = 0
    revenue: Decimal = Decimal("0.00")
    product_views: int = 0
    cart_adds: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "viewers": self.viewers,
            "audience": self.audience,
            "buyers": self.buyers,
            "purchases": self.purchases,
            "revenue": self.revenue,
        }

    def funnel(self) -> dict[str, int]:
        return {
            "viewers": self.audience,
            "product_views": self.product_views,
            "cart_adds": self.cart_adds,
            "purchases": self.buyers,
        }


async def show_figures(db: Reader, stream_ids: Sequence[str]) -> dict[str, Figures]:
    """Viewers, audience, buyers, purchases and revenue of each show, in one query."""
    if not stream_ids:
        return {}
    rows = await db.fetch(FIGURES, {"streams": list(stream_ids)})
    return {
        r["stream_id"]: Figures(
            int(r["viewers"]),
            int(r["audience"]),
            int(r["buyers"]),
            int(r["purchases"]),
            Decimal(r["revenue"]),
            int(r["product_views"]),
            int(r["cart_adds"]),
        )
        for r in rows
    }


def total(figures: Sequence[Figures]) -> Figures:
    """Several shows together: counts of people are summed per show (someone at two shows counts twice)."""
    return Figures(
        sum(f.viewers for f in figures),
        sum(f.audience for f in figures),
        sum(f.buyers for f in figures),
        sum(f.purchases for f in figures),
        sum((f.revenue for f in figures), Decimal("0.00")),
        sum(f.product_views for f in figures),
        sum(f.cart_adds for f in figures),
    )


def conversion(f: Figures) -> float:
    return min(1.0, round(f.buyers / f.audience, 3)) if f.audience else 0.0


async def revenue_between(
    db: Reader, stream_ids: Sequence[str], bounds: Mapping[str, tuple[datetime | None, datetime | None]]
) -> dict[str, Decimal]:
    """Revenue of the shows' sales placed within each named [start, end) window (None: open)."""
    if not stream_ids or not bounds:
        return {k: Decimal("0.00") for k in bounds}
    params: dict[str, Any] = {"streams": list(stream_ids)}
    cols = []
    for i, (start, end) in enumerate(bounds.values()):
        params[f"a{i}"], params[f"b{i}"] = start, end
        cols.append(
            f"COALESCE(sum(net) FILTER (WHERE (%(a{i})s::timestamp IS NULL OR at >= %(a{i})s)"
            f" AND (%(b{i})s::timestamp IS NULL OR at < %(b{i})s)), 0) AS w{i}"
        )
    row = (await db.fetch(f"WITH {SALES} SELECT {', '.join(cols)} FROM sales", params))[0]
    return {name: Decimal(row[f"w{i}"]) for i, name in enumerate(bounds)}


async def stream_analytics(db: Reader, stream_id: str) -> dict[str, Any]:
    """The spec's §4.5 stream analytics, with amounts as Decimals (the HTTP layer shapes and redacts them)."""
    p: dict[str, Any] = {"s": stream_id, "streams": [stream_id]}
    fig = (await show_figures(db, [stream_id])).get(stream_id, Figures())
    v = (
        await db.fetch(
            "SELECT COALESCE(avg(watch_duration_seconds) FILTER (WHERE leave_time IS NOT NULL), 0) AS avg_watch"
            " FROM live_stream_viewers WHERE stream_id = %(s)s",
            p,
        )
    )[0]
    peak = (
        await db.fetch(
            "SELECT COALESCE(max(n), 0) AS peak FROM (SELECT sum(d) OVER (ORDER BY t, d) AS n FROM ("
            " SELECT join_time AS t, 1 AS d FROM live_stream_viewers WHERE stream_id = %(s)s UNION ALL"
            " SELECT leave_time, -1 FROM live_stream_viewers WHERE stream_id = %(s)s AND leave_time IS NOT NULL) x) y",
            p,
        )
    )[0]["peak"]
    kinds = {
        r["interaction_type"]: int(r["n"])
        for r in await db.fetch(
            "SELECT interaction_type, count(*) AS n FROM live_stream_interactions WHERE stream_id = %(s)s GROUP BY 1", p
        )
    }
    # Distinct viewers per city and per device in one pass (a viewer seen in two cities counts in both).
    places = await db.fetch(
        f"WITH d AS (SELECT DISTINCT COALESCE(location->>'city', 'Other') AS city,"
        f" COALESCE(device_type, 'unknown') AS device, {VIEWER_KEY} AS who"
        " FROM live_stream_viewers WHERE stream_id = %(s)s)"
        " SELECT 'city' AS kind, city AS k, count(*) AS n FROM (SELECT DISTINCT city, who FROM d) c GROUP BY city"
        " UNION ALL SELECT 'device', device, count(*) FROM (SELECT DISTINCT device, who FROM d) v GROUP BY device",
        p,
    )
    by_location = {
        r["k"]: int(r["n"])
        for r in sorted((r for r in places if r["kind"] == "city"), key=lambda r: (-int(r["n"]), r["k"]))
    }
    devices = {r["k"]: int(r["n"]) for r in places if r["kind"] == "device"}
    # Per minute: connections present (joined before its end, not left before its start) and interactions,
    # from per-minute counts and a running sum (one pass, not a scan per minute).
    timeline = await db.fetch(
        "WITH v AS (SELECT join_time, leave_time FROM live_stream_viewers WHERE stream_id = %(s)s),"
        " m AS (SELECT generate_series(date_trunc('minute', min(join_time)),"
        "   date_trunc('minute', max(COALESCE(leave_time, join_time))), interval '1 minute') AS t FROM v),"
        " j AS (SELECT date_trunc('minute', join_time) AS t, count(*) AS n FROM v GROUP BY 1),"
        " l AS (SELECT date_trunc('minute', leave_time) + interval '1 minute' AS t, count(*) AS n FROM v"
        "   WHERE leave_time IS NOT NULL GROUP BY 1),"
        " i AS (SELECT date_trunc('minute', timestamp) AS t, count(*) AS n FROM live_stream_interactions"
        "   WHERE stream_id = %(s)s GROUP BY 1)"
        " SELECT m.t, sum(COALESCE(j.n, 0) - COALESCE(l.n, 0)) OVER (ORDER BY m.t) AS viewers,"
        " COALESCE(i.n, 0) AS interactions"
        " FROM m LEFT JOIN j ON j.t = m.t LEFT JOIN l ON l.t = m.t LEFT JOIN i ON i.t = m.t ORDER BY m.t",
        p,
    )
    by_product = await db.fetch(
        f"WITH {SALES}"
        " SELECT l->>'product_id' AS product_id,"
        " sum((l->>'quantity')::int) FILTER (WHERE counted) AS units,"
        " sum(round((l->>'quantity')::int * (l->>'unit_price')::numeric"
        "     * CASE WHEN gross > 0 THEN net / gross ELSE 0 END, 2)) AS revenue"
        " FROM sales, jsonb_array_elements(lines) l GROUP BY 1 ORDER BY 3 DESC, 1",
        p,
    )
    engagement = kinds.get("like", 0) + kinds.get("heart", 0) + kinds.get("message", 0)
    total_devices = sum(devices.values()) or 1
    return {
        "overview": {
            "total_viewers": fig.viewers,
            "peak_concurrent": int(peak),
            "average_watch_time": round(float(v["avg_watch"]) / 60, 1),
            "total_engagement": engagement,
            "total_purchases": fig.purchases,
            "revenue": fig.revenue,
        },
        "viewer_demographics": {
            "by_location": by_location,
            "by_device": {k: round(n / total_devices, 2) for k, n in devices.items()},
            "by_age_group": {},  # ages are not collected by this service
        },
        "engagement_timeline": [
            {"timestamp": _iso(r["t"]), "viewers": int(r["viewers"]), "interactions": int(r["interactions"])}
            for r in timeline
        ],
        "sales_analytics": {
            "conversion_funnel": fig.funnel(),
            "conversion_rate": conversion(fig),
            "revenue_by_product": [
                {"product_id": r["product_id"], "units": int(r["units"] or 0), "revenue": Decimal(r["revenue"])}
                for r in by_product
            ],
            "average_order_value": (fig.revenue / fig.purchases).quantize(Decimal("0.01"))
            if fig.purchases
            else Decimal("0.00"),
        },
    }


def _iso(t: datetime) -> str:
    return t.isoformat() + "Z"


async def host_streams(db: Reader, host_user_id: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The host's shows that started in [since, until), with their audience, engagement and sales figures."""
    rows = await db.fetch(
        "SELECT s.id::text AS id, s.title, s.actual_start_time, s.duration_seconds,"
        " (SELECT COALESCE(sum(watch_duration_seconds), 0) FROM live_stream_viewers v WHERE v.stream_id = s.id)"
        "   AS watch_seconds,"
        " (SELECT count(*) FROM live_stream_interactions i WHERE i.stream_id = s.id) AS interactions,"
        " (SELECT count(DISTINCT i.user_id) FROM live_stream_interactions i WHERE i.stream_id = s.id) AS engaged"
        " FROM live_streams s WHERE s.host_id = %(h)s"
        " AND s.actual_start_time >= %(a)s AND s.actual_start_time < %(b)s ORDER BY s.actual_start_time",
        {"h": host_user_id, "a": since, "b": until},
    )
    figures = await show_figures(db, [r["id"] for r in rows])
    return [{**r, "figures": figures.get(r["id"], Figures())} for r in rows]


async def follower_counts(db: Reader, host_id: str, at: Sequence[datetime]) -> list[int]:
    """How many followed the host (profile id) just before each moment, from the follow history."""
    if not at:
        return []
    cols = ", ".join(f"COALESCE(sum(delta) FILTER (WHERE at < %(t{i})s), 0) AS n{i}" for i in range(len(at)))
    row = (
        await db.fetch(
            f"SELECT {cols} FROM analytics_follower_changes WHERE host_id = %(h)s",
            {"h": host_id, **{f"t{i}": t for i, t in enumerate(at)}},
        )
    )[0]
    return [int(row[f"n{i}"]) for i in range(len(at))]
