"""Shape read-model rows into the spec's response bodies (§4.1)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from projections.timeutil import iso_utc


def iso(dt: datetime | None) -> str | None:
    return iso_utc(dt)


def money(v: Decimal | float | None) -> float | None:
    return None if v is None else float(v)


def _iso_any(v: datetime | str | None) -> str | None:
    return v if isinstance(v, str) or v is None else iso(v)


def product(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": str(p["product_id"]),
        "special_price": money(p["special_price"]),
        "discount_percentage": money(p["discount_percentage"]),
        "limited_quantity": p["limited_quantity"],
        "sold_quantity": p["sold_quantity"],
        "display_order": p["display_order"],
        "is_flash_sale": p["is_flash_sale"],
        "featured_at": _iso_any(p["featured_timestamp"]),
    }


def host(row: dict[str, Any]) -> dict[str, Any]:
    # Host profiles arrive with issue 3; until then the host is known by id only.
    return {"id": str(row["host_id"] or row["vendor_id"]), "name": None, "profile_image_url": None}


def stream_summary(row: dict[str, Any], products: list[dict[str, Any]], live: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    live = live or {}
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
        "current_viewers": int(live.get("viewers") or row["current_viewers"] or 0),
        "thumbnail_url": row["thumbnail_url"],
        "scheduled_start_time": iso(row["scheduled_start_time"]),
        "started_at": iso(row["actual_start_time"]),
        "is_featured": row["is_featured"],
        "featured_products": [product(p) for p in ordered],
        "version": row["aggregate_version"],
    }


def _num(d: dict[str, Any], key: str) -> float:
    try:
        return float(d.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0


def stream_detail(row: dict[str, Any], products: list[dict[str, Any]], status: dict[str, Any],
                  metrics: dict[str, Any]) -> dict[str, Any]:
    unique = max(int(_num(metrics, "total_viewers")), row["total_unique_viewers"] or 0)
    purchases = int(_num(metrics, "purchases"))
    meta = row.get("metadata") or {}
    return {
        **stream_summary(row, products, status),
        "description": row["description"],
        "description_bn": row["description_bn"],
        "is_public": row["is_public"],
        "tags": row["tags"] or [],
        "ended_at": iso(row["end_time"]),
        "duration_seconds": row["duration_seconds"],
        "stream_url": meta.get("stream_url"),
        "chat_room_id": meta.get("chat_room_id"),
        "featured_product_id": meta.get("featured_product_id"),
        "summary": meta.get("summary"),
        "viewer_stats": {
            "current_viewers": int(_num(metrics, "current_viewers") or _num(status, "viewers")),
            "peak_viewers": max(int(_num(metrics, "peak_viewers")), row["peak_concurrent_viewers"] or 0),
            "total_unique_viewers": unique,
        },
        "engagement_stats": {
            "total_likes": int(_num(metrics, "likes")),
            "total_messages": int(_num(metrics, "messages")),
            # minutes, as the spec shows (and as analytics has it); the metric is kept in seconds
            "average_watch_time": round(_num(metrics, "average_watch_time") / 60, 1),
        },
        "sales_stats": {
            "total_purchases": purchases,
            "total_revenue": _num(metrics, "revenue"),
            "conversion_rate": round(purchases / unique, 3) if unique else 0.0,
        },
    }
