"""The reference catalogue over HTTP (issue 3): vendors (admins) and products (admins, or a vendor for their own),
upserted by id like ``livecommerce catalog import``; a product read for clients and the deals."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.catalog import ProductOwnedElsewhere, known_vendor_ids, upsert
from interfaces.catalog_cli import ProductIn, VendorIn
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import money
from interfaces.http.schemas import Body

bp = Blueprint("catalog", url_prefix="/api/v1/live-commerce")


class VendorsBody(Body):
    vendors: Annotated[list[VendorIn], Field(min_length=1, max_length=1000)]


class ProductsBody(Body):
    products: Annotated[list[ProductIn], Field(min_length=1, max_length=1000)]


@bp.put("/catalog/vendors")
@requires("catalog.vendors")
@api(body=VendorsBody)
async def put_vendors(request: Request, body: VendorsBody) -> HTTPResponse:
    url = _c(request).settings.read_url
    await asyncio.to_thread(upsert, url, body.vendors, [], progress=False)
    return json({"upserted": len(body.vendors)})


@bp.put("/catalog/products")
@requires("catalog.products")
@api(body=ProductsBody, errors=(403, 409))
async def put_products(request: Request, body: ProductsBody) -> HTTPResponse:
    """Upsert products: a vendor only their own, never one another vendor owns (409, nothing written).

    Every product's vendor must be in the catalogue. An admin may move a product to another vendor."""
    actor = actor_of(request)
    if not actor.is_admin:
        others = sorted({str(p.vendor_id) for p in body.products} - {actor.vendor_id or ""})
        if others:
            return error_response(
                403, "not_permitted", {"reason": "a vendor writes only their own products", "vendor_ids": others}
            )
    url = _c(request).settings.read_url
    known = await asyncio.to_thread(known_vendor_ids, url)
    unknown = sorted({str(p.vendor_id) for p in body.products} - known)
    if unknown:
        return error_response(
            422,
            "validation_failed",
            {
                "fields": [
                    {"field": "products.vendor_id", "message": f"unknown vendor {v}", "type": "unknown_vendor"}
                    for v in unknown
                ]
            },
        )
    try:  # a vendor never rewrites nor takes over another vendor's product: checked in the write
        await asyncio.to_thread(upsert, url, [], body.products, progress=False, reassign=actor.is_admin)
    except ProductOwnedElsewhere as exc:
        return error_response(
            409,
            "product_owned_by_another_vendor",
            {"reason": "these products belong to another vendor; nothing was written", "product_ids": exc.product_ids},
        )
    return json({"upserted": len(body.products)})


@bp.get("/catalog/products/<product_id:uuid>")
@api(errors=(404,))
async def get_product(request: Request, product_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    r = await c.read_db.fetchone("SELECT * FROM products WHERE id = %s", (str(product_id),))
    if r is None:
        return error_response(404, "not_found", {"product_id": str(product_id)})
    out: dict[str, Any] = {
        "id": str(r["id"]),
        "vendor_id": str(r["vendor_id"]),
        "name": r["name"],
        "name_bn": r["name_bn"],
        "list_price": money(r["list_price"]),
        "stock": r["stock"],
        "images": r["images"],
        "category": r["category"],
    }
    return json(out)
