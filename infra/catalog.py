"""The reference catalogue (``vendors``, ``products``): its writes (one transaction, upserts by id) and the
look-ups the stream commands make (``PgCatalogue``, the ``application.streams.ProductCatalogue`` port).

Ownership is checked in the write itself: a product id already owned by another vendor is never rewritten
nor moved by a vendor's upsert (``ProductOwnedElsewhere``, the whole batch refused), whatever the ids in the
body say and however two vendors race for a new id (the check runs after the upsert, on the rows as written,
under their row locks). Only the operator's import and an admin may move a product to another vendor.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
from tqdm import tqdm

from infra.postgres import PgDatabase, apply_migrations

BATCH = 500


class ProductOwnedElsewhere(Exception):
    """Some products of the batch belong to another vendor; nothing was written."""

    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(f"products owned by another vendor: {product_ids}")
        self.product_ids = product_ids


def known_vendor_ids(url: str) -> set[str]:
    apply_migrations(url)
    with psycopg.connect(url) as conn:
        return {str(r[0]) for r in conn.execute("SELECT id FROM vendors").fetchall()}


def upsert(url: str, vendors: list[Any], products: list[Any], *, progress: bool = True, reassign: bool = True) -> None:
    """Upsert by id in one transaction. ``reassign=False`` (a vendor's own write): a product that belongs to
    another vendor is neither changed nor taken over; the batch raises ``ProductOwnedElsewhere``."""
    with (
        psycopg.connect(url) as conn,
        conn.transaction(),
        conn.cursor() as cur,
        tqdm(total=len(vendors) + len(products), unit="row", desc="catalog", disable=not progress) as bar,
    ):
        for i in range(0, len(vendors), BATCH):
            chunk = vendors[i : i + BATCH]
            cur.executemany(
                "INSERT INTO vendors (id, name, name_bn) VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " name = EXCLUDED.name, name_bn = EXCLUDED.name_bn, updated_at = CURRENT_TIMESTAMP",
                [(v.id, v.name, v.name_bn) for v in chunk],
            )
            bar.update(len(chunk))
        for i in range(0, len(products), BATCH):
            chunk = products[i : i + BATCH]
            cur.executemany(
                "INSERT INTO products (id, vendor_id, name, name_bn, list_price, stock, images, category)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " vendor_id = EXCLUDED.vendor_id, name = EXCLUDED.name, name_bn = EXCLUDED.name_bn,"
                " list_price = EXCLUDED.list_price, stock = EXCLUDED.stock, images = EXCLUDED.images,"
                " category = EXCLUDED.category, updated_at = CURRENT_TIMESTAMP"
                " WHERE %s OR products.vendor_id = EXCLUDED.vendor_id",
                [
                    (
                        p.id,
                        p.vendor_id,
                        p.name,
                        p.name_bn,
                        p.list_price,
                        p.stock,
                        json.dumps(p.images, ensure_ascii=False),
                        p.category,
                        reassign,
                    )
                    for p in chunk
                ],
            )
            bar.update(len(chunk))
        if not reassign and products:
            taken = cur.execute(
                "SELECT p.id FROM products p JOIN unnest(%s::uuid[], %s::uuid[]) AS w(id, vendor_id)"
                " ON p.id = w.id WHERE p.vendor_id <> w.vendor_id ORDER BY p.id",
                ([str(p.id) for p in products], [str(p.vendor_id) for p in products]),
            ).fetchall()
            if taken:
                raise ProductOwnedElsewhere([str(r[0]) for r in taken])  # rolls the transaction back


class PgCatalogue:
    """``application.streams.ProductCatalogue`` over the catalogue's tables."""

    def __init__(self, db: PgDatabase, *, required: bool = False) -> None:
        self._db = db
        self._required = required

    async def owners(self, product_ids: list[str]) -> dict[str, str]:
        rows = await self._db.fetch(
            "SELECT id, vendor_id FROM products WHERE id = ANY(%s::uuid[])", (list(product_ids),)
        )
        return {str(r["id"]): str(r["vendor_id"]) for r in rows}

    async def list_prices(self, product_ids: list[str]) -> dict[str, Decimal]:
        """``application.checkout.ListPrices``: what a replay sells a product for."""
        rows = await self._db.fetch(
            "SELECT id, list_price FROM products WHERE id = ANY(%s::uuid[])", (list(product_ids),)
        )
        return {str(r["id"]): Decimal(str(r["list_price"])) for r in rows}

    async def requires_catalogue(self, vendor_id: str) -> bool:
        if self._required:
            return True
        row = await self._db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM products WHERE vendor_id = %s) AS has", (vendor_id,)
        )
        return bool(row and row["has"])
