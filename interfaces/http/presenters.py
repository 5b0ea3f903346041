"""Shape read-model rows into the spec's response bodies (§4.1, §4.5), and the one money format.

Money (ADR 0015): every amount in every answer (HTTP bodies and Socket.IO events) is a JSON *number* of taka,
rounded half-up to the paisa (two decimals): ``95000.0`` and ``95000.5`` are numbers, never ``"95000.00"``.
``money`` is the one place a Decimal becomes that number; ``json_default`` is the app's serializer fallback,
so a Decimal that reaches an answer unshaped still comes out as the same number, not a string.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from projections.timeutil import iso_utc

PAISA = Decimal("0.01")


def iso(dt: datetime | None) -> str | None:
    return iso_utc(dt)


def money(v: Decimal | float | int | str | None) -> float | None:
    """An amount of taka as the API answers it: a number rounded to the paisa (None stays None)."""
    if v is None or v == "":
        return None
    return float(Decimal(str(v)).quantize(PAISA, rounding=ROUND_HALF_UP))


# Amounts kept inside JSON documents of the read models (order lines, EMI plans), stored as "95000.00" strings.
MONEY_KEYS = frozenset(
    {"unit_price", "price", "total", "subtotal", "discount", "amount", "monthly_installment", "final_installment"}
)


def money_fields(value: Any) -> Any:
    """A stored JSON document with its amounts (``MONEY_KEYS``) turned into money numbers, at any depth."""
    if isinstance(value, dict):
        return {
            k: money(v)
            if k in MONEY_KEYS and isinstance(v, (str, int, float, Decimal)) and v != ""
            else money_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [money_fields(v) for v in value]
    return value


def json_default(o: Any) -> Any:
    """The serializer's fallback for the API's answers: Decimals are money (a number), times ISO 8601 UTC."""
    if isinstance(o, Decimal):
        return money(o)
    if isinstance(o, datetime):
        return iso(o)
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, UUID):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def rate(part: float, whole: float) -> float:
    """A share in [0, 1], three decimals (0.053): never above 1, 0 when there is nothing to share."""
    return min(1.0, round(part / whole, 3)) if whole else 0.0


def minutes(seconds: float | str | None) -> float:
    """Watch time as the API answers it: minutes with one decimal (12.5)."""
    try:
        return round(float(seconds or 0) / 60, 1)
    except (TypeError, ValueError):
        return 0.0


def _iso_any(v: datetime | str | None) -> str | None:
    return v if isinstance(v, str) or v is None else iso(v)


def product(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": str(p["product_id"]),
        "special_price": money(p["special_price"]),
        "discount_percentage": None if p["discount_percentage"] is None else float(p["discount_percentage"]),
        "limited_quantity": p["limited_quantity"],
        "sold_quantity": p["sold_quantity"],
        "display_order": p["display_order"],
        "is_flash_sale": p["is_flash_sale"],
        "featured_at": _iso_any(p["featured_timestamp"]),
    }


def host(row: dict[str, Any]) -> dict[str, Any]:
    # The profile's name and picture are added by the handler (``streams._with_host``).
    return {"id": str(row["host_id"] or row["vendor_id"]), "name": None, "profile_image_url": None}


def _num(d: dict[str, Any], key: str) -> float:
    try:
        return float(d.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0


def stream_summary(
    row: dict[str, Any], products: list[dict[str, Any]], current_viewers: int | None = None
) -> dict[str, Any]:
    """A stream in a listing. ``current_viewers`` is the presence count (Redis ``STREAM_METRICS``), which
    the read table's column of the same name never holds."""
    featured = (row.get("metadata") or {}).get("featured_product_id")
    ordered = sorted(products, key=lambda p: (str(p["product_id"]) != featured, p["display_order"]))
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "title_bn": row["title_bn"],
        "host": host(row),
        "status": row["status"],
        "stream_type": row["stream_type"],
        "category": row["category"],
        "language": row["language"],
        "current_viewers": int(current_viewers if current_viewers is not None else row["current_viewers"] or 0),
        "thumbnail_url": row["thumbnail_url"],
        "scheduled_start_time": iso(row["scheduled_start_time"]),
        "started_at": iso(row["actual_start_time"]),
        "is_featured": row["is_featured"],
        "featured_products": [product(p) for p in ordered],
        "version": row["aggregate_version"],
    }


def sales_stats(figures: dict[str, Any], *, with_revenue: bool) -> dict[str, Any]:
    """The spec's ``sales_stats`` from ``analytics_queries.show_figures``; revenue only for the show's staff."""
    return {
        "total_purchases": int(figures["purchases"]),
        "total_revenue": money(figures["revenue"]) if with_revenue else None,
        "conversion_rate": rate(figures["buyers"], figures["audience"]),
    }


def stream_detail(
    row: dict[str, Any], products: list[dict[str, Any]], metrics: dict[str, Any], sales: dict[str, Any]
) -> dict[str, Any]:
    """The spec's stream detail: presence and engagement from Redis ``STREAM_METRICS``, sales from the
    orders (``sales`` is ``sales_stats(...)``)."""
    current = int(_num(metrics, "current_viewers"))
    meta = row.get("metadata") or {}
    return {
        **stream_summary(row, products, current),
        "description": row["description"],
        "description_bn": row["description_bn"],
        "is_public": row["is_public"],
        "tags": row["tags"] or [],
        "ended_at": iso(row["end_time"]),
        "duration_seconds": row["duration_seconds"],
        "stream_url": meta.get("stream_url"),
        "chat_room_id": meta.get("chat_room_id"),
        "featured_product_id": meta.get("featured_product_id"),
        "featured_at": meta.get("featured_at"),
        "summary": meta.get("summary"),
        "viewer_stats": {
            "current_viewers": current,
            "peak_viewers": max(int(_num(metrics, "peak_viewers")), row["peak_concurrent_viewers"] or 0),
            "total_unique_viewers": max(int(_num(metrics, "total_viewers")), row["total_unique_viewers"] or 0),
        },
        "engagement_stats": {
            "total_likes": int(_num(metrics, "likes")),
            "total_messages": int(_num(metrics, "messages")),
            "average_watch_time": minutes(metrics.get("average_watch_time")),  # Redis keeps seconds
        },
        "sales_stats": sales,
    }
