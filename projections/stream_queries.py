"""Queries over the stream read tables. SQL lives beside the projection that owns the tables."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

STREAM_COLUMNS = (
    "id, vendor_id, host_id, title, title_bn, description, description_bn, stream_type, category,"
    " thumbnail_url, cover_image_url, status, scheduled_start_time, actual_start_time, end_time,"
    " duration_seconds, max_viewers, current_viewers, total_unique_viewers, peak_concurrent_viewers,"
    " is_recorded, recording_url, is_public, is_featured, language, tags, metadata, created_at, updated_at,"
    " aggregate_version"
)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class SqlReader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


async def list_streams(
    db: SqlReader, *, status: str | None, category: str | None, page: int, limit: int, public_only: bool = True
) -> tuple[list[dict[str, Any]], int]:
    where, params = ["TRUE"], {}
    if status:
        where.append("status = %(status)s")
        params["status"] = status
    if category:
        where.append("category = %(category)s")
        params["category"] = category
    if public_only:
        where.append("is_public")
    cond = " AND ".join(where)
    rows = await db.fetch(
        f"SELECT {STREAM_COLUMNS}, count(*) OVER () AS total_count FROM live_streams WHERE {cond}"
        " ORDER BY (status = 'live') DESC, COALESCE(actual_start_time, scheduled_start_time, created_at) DESC, id"
        " LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": (page - 1) * limit},
    )
    if rows:
        return rows, int(rows[0]["total_count"])
    total = await db.fetch(f"SELECT count(*) AS n FROM live_streams WHERE {cond}", params)
    return rows, int(total[0]["n"])


async def streams_by_ids(db: SqlReader, ids: Sequence[str], *, public_only: bool = False) -> list[dict[str, Any]]:
    """The streams with these ids, in the order given (ids not found, or private ones if ``public_only``, are
    left out)."""
    if not ids:
        return []
    rows = await db.fetch(
        f"SELECT {STREAM_COLUMNS} FROM live_streams WHERE id = ANY(%s::uuid[])"
        + (" AND is_public" if public_only else ""),
        (list(ids),),
    )
    by_id = {str(r["id"]): r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def featured_streams(db: SqlReader, limit: int) -> list[dict[str, Any]]:
    """Streams an admin featured, public and not over: live ones first, then the most recently featured."""
    return await db.fetch(
        f"SELECT {STREAM_COLUMNS} FROM live_streams WHERE is_featured AND is_public"
        " AND status IN ('scheduled', 'live')"
        " ORDER BY (status = 'live') DESC, metadata->>'featured_at' DESC NULLS LAST, scheduled_start_time, id"
        " LIMIT %s",
        (limit,),
    )


async def product_names(db: SqlReader, product_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Names of products from the reference catalogue (``products``): ``{id: {name, name_bn}}``."""
    ids = [i for i in product_ids if _is_uuid(i)]
    if not ids:
        return {}
    rows = await db.fetch("SELECT id::text AS id, name, name_bn FROM products WHERE id = ANY(%s::uuid[])", (ids,))
    return {r["id"]: {"name": r["name"], "name_bn": r["name_bn"]} for r in rows}


PRODUCTS_JSON = (
    "(SELECT COALESCE(jsonb_agg(jsonb_build_object("
    "'product_id', p.product_id, 'display_order', p.display_order, 'special_price', p.special_price,"
    " 'discount_percentage', p.discount_percentage, 'limited_quantity', p.limited_quantity,"
    " 'sold_quantity', p.sold_quantity, 'is_flash_sale', p.is_flash_sale,"
    " 'featured_timestamp', to_char(p.featured_timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
    " ORDER BY p.display_order, p.product_id), '[]'::jsonb)"
    " FROM live_stream_products p WHERE p.stream_id = s.id) AS products"
)

# The host's public profile (``live_commerce_hosts``, the hosts projection), so a stream's page is one query.
HOST_PROFILE_JSON = (
    "(SELECT jsonb_build_object('id', h.id, 'host_name', h.host_name,"
    " 'profile_image_url', h.profile_image_url, 'rating', h.rating)"
    " FROM live_commerce_hosts h WHERE h.user_id = s.host_id LIMIT 1) AS host_profile"
)


async def get_stream(db: SqlReader, stream_id: str) -> dict[str, Any] | None:
    """The stream row with its products (as a list of plain dicts) and its host's profile in one round trip."""
    rows = await db.fetch(
        f"SELECT {STREAM_COLUMNS}, {PRODUCTS_JSON}, {HOST_PROFILE_JSON} FROM live_streams s WHERE id = %s", (stream_id,)
    )
    return rows[0] if rows else None


async def products_of(db: SqlReader, stream_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    if not stream_ids:
        return {}
    rows = await db.fetch(
        "SELECT stream_id, product_id, display_order, featured_timestamp, special_price, discount_percentage,"
        " limited_quantity, sold_quantity, is_flash_sale, flash_sale_end_time, presentation_notes"
        " FROM live_stream_products WHERE stream_id = ANY(%s::uuid[]) ORDER BY stream_id, display_order,"
        " product_id",
        (list(stream_ids),),
    )
    out: dict[str, list[dict[str, Any]]] = {str(i): [] for i in stream_ids}
    for r in rows:
        out[str(r["stream_id"])].append(r)
    return out


async def get_streams(db: SqlReader, stream_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Several streams with their products, one round trip (the read-your-writes waiter's check)."""
    return await db.fetch(
        f"SELECT {STREAM_COLUMNS}, {PRODUCTS_JSON}, {HOST_PROFILE_JSON} FROM live_streams s WHERE id = ANY(%s::uuid[])",
        (list(stream_ids),),
    )
