"""Browsing the reference catalogue: a vendor's products, found by name (issue 15 part 2).

The host studio schedules a show "with products from the catalogue"; ``GET /catalog/products/:id`` reads one
product whose id one already knows, so a host needs a list to choose from. Read-only, on the catalogue table
(``products``, indexed by vendor and category); at most 50 rows a page, so it is no expensive read.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import money
from interfaces.http.schemas import Body

bp = Blueprint("catalog_browse", url_prefix="/api/v1/live-commerce")


class BrowseQuery(Body):
    vendor_id: UUID | None = None
    q: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=50)] = 20


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@bp.get("/catalog/products")
@api(query=BrowseQuery)
async def browse(request: Request, query: BrowseQuery) -> HTTPResponse:
    """Catalogue products, by vendor, category and name (a page of at most 50)"""
    c = _c(request)
    assert c.read_db is not None
    where, params = ["TRUE"], {"limit": query.limit, "offset": (query.page - 1) * query.limit}
    if query.vendor_id is not None:
        where.append("vendor_id = %(vendor)s")
        params["vendor"] = str(query.vendor_id)
    if query.category is not None:
        where.append("category = %(category)s")
        params["category"] = query.category
    if query.q is not None:
        where.append("(name ILIKE %(q)s OR name_bn ILIKE %(q)s)")
        params["q"] = _like(query.q)
    rows = await c.read_db.fetch(
        "SELECT id, vendor_id, name, name_bn, list_price, stock, images, category, count(*) OVER () AS total"
        f" FROM products WHERE {' AND '.join(where)} ORDER BY name, id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    products: list[dict[str, Any]] = [
        {
            "id": str(r["id"]),
            "vendor_id": str(r["vendor_id"]),
            "name": r["name"],
            "name_bn": r["name_bn"],
            "list_price": money(r["list_price"]),
            "stock": r["stock"],
            "images": r["images"],
            "category": r["category"],
        }
        for r in rows
    ]
    return json(
        {
            "products": products,
            "total_count": int(rows[0]["total"]) if rows else 0,
            "page": query.page,
            "limit": query.limit,
        }
    )
