"""Writes of the reference catalogue (``vendors``, ``products``): one transaction, upserts by id."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from tqdm import tqdm

from infra.postgres import apply_migrations

BATCH = 500


def known_vendor_ids(url: str) -> set[str]:
    apply_migrations(url)
    with psycopg.connect(url) as conn:
        return {str(r[0]) for r in conn.execute("SELECT id FROM vendors").fetchall()}


def upsert(url: str, vendors: list[Any], products: list[Any], *, progress: bool = True) -> None:
    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur, \
            tqdm(total=len(vendors) + len(products), unit="row", desc="catalog", disable=not progress) as bar:
        for i in range(0, len(vendors), BATCH):
            chunk = vendors[i:i + BATCH]
            cur.executemany(
                "INSERT INTO vendors (id, name, name_bn) VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " name = EXCLUDED.name, name_bn = EXCLUDED.name_bn, updated_at = CURRENT_TIMESTAMP",
                [(v.id, v.name, v.name_bn) for v in chunk])
            bar.update(len(chunk))
        for i in range(0, len(products), BATCH):
            chunk = products[i:i + BATCH]
            cur.executemany(
                "INSERT INTO products (id, vendor_id, name, name_bn, list_price, stock, images, category)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " vendor_id = EXCLUDED.vendor_id, name = EXCLUDED.name, name_bn = EXCLUDED.name_bn,"
                " list_price = EXCLUDED.list_price, stock = EXCLUDED.stock, images = EXCLUDED.images,"
                " category = EXCLUDED.category, updated_at = CURRENT_TIMESTAMP",
                [(p.id, p.vendor_id, p.name, p.name_bn, p.list_price, p.stock,
                  json.dumps(p.images, ensure_ascii=False), p.category) for p in chunk])
            bar.update(len(chunk))
