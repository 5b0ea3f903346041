"""``livecommerce catalog import FILE.csv|FILE.json``: the vendors and products reference catalogue.

Vendors and products belong to the catalogue service; this service keeps a reference copy (names in English
and Bangla, list price in BDT, stock, images, category) for its own screens and checks. Every row is validated
first; one bad row refuses the whole file with its line and field, and nothing is written. Valid files are
upserted by id in one transaction, so an import can be re-run.

CSV: one row per product, columns ``product_id, vendor_id, vendor_name, vendor_name_bn, name, name_bn,
list_price, stock, category, images`` (images separated by ``|``). JSON: ``{"vendors": [{id, name, name_bn}],
"products": [{id, vendor_id, name, name_bn, list_price, stock, category, images: [...]}]}``, or a list of rows
shaped like the CSV's.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from application.notifications import taka
from infra.settings import Settings
from interfaces.http.schemas import Money

Name = Annotated[str, Field(min_length=1, max_length=255)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VendorIn(_Row):
    id: UUID
    name: Name
    name_bn: Annotated[str, Field(max_length=255)] | None = None


class ProductIn(_Row):
    id: UUID
    vendor_id: UUID
    name: Name
    name_bn: Annotated[str, Field(max_length=255)] | None = None
    list_price: Money
    stock: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    images: Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]], Field(max_length=20)] = []


class CatalogError(Exception):
    """A file that cannot be imported; ``problems`` lists (where, what)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _from_flat(
    rows: list[dict[str, Any]], first_line: int
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    vendors: list[tuple[str, dict[str, Any]]] = []
    products: list[tuple[str, dict[str, Any]]] = []
    for i, r in enumerate(rows):
        where = f"line {first_line + i}"
        images = r.get("images") or []
        if isinstance(images, str):
            images = [x.strip() for x in images.split("|") if x.strip()]
        if _blank(r.get("vendor_name")) is not None:
            vendors.append(
                (
                    where,
                    {
                        "id": r.get("vendor_id"),
                        "name": r.get("vendor_name"),
                        "name_bn": _blank(r.get("vendor_name_bn")),
                    },
                )
            )
        products.append(
            (
                where,
                {
                    "id": r.get("product_id") or r.get("id"),
                    "vendor_id": r.get("vendor_id"),
                    "name": r.get("name"),
                    "name_bn": _blank(r.get("name_bn")),
                    "list_price": r.get("list_price"),
                    "stock": _blank(r.get("stock")) or 0,
                    "category": _blank(r.get("category")),
                    "images": images,
                },
            )
        )
    return vendors, products


def read_file(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    """(where, raw row) for vendors and products, from a CSV or JSON file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return _from_flat(list(csv.DictReader(text.splitlines())), first_line=2)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError([(f"line {exc.lineno}", f"not valid JSON: {exc.msg}")]) from None
    if isinstance(data, list):
        return _from_flat(data, first_line=1)
    if not isinstance(data, dict):
        raise CatalogError([("file", "expected {vendors, products} or a list of rows")])
    return (
        [(f"vendors[{i}]", v) for i, v in enumerate(data.get("vendors") or [])],
        [(f"products[{i}]", p) for i, p in enumerate(data.get("products") or [])],
    )


def validate(
    vendors: list[tuple[str, dict[str, Any]]], products: list[tuple[str, dict[str, Any]]], known_vendors: set[str]
) -> tuple[list[VendorIn], list[ProductIn]]:
    problems: list[tuple[str, str]] = []
    good_vendors: dict[UUID, VendorIn] = {}
    good_products: dict[UUID, ProductIn] = {}
    for model, rows, out in ((VendorIn, vendors, good_vendors), (ProductIn, products, good_products)):
        for where, raw in rows:
            try:
                row = model.model_validate(raw)
            except ValidationError as exc:
                problems += [
                    (where, f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}") for e in exc.errors(include_url=False)
                ]
                continue
            if model is ProductIn and row.id in out:
                problems.append((where, f"product {row.id} is listed twice"))
            elif model is VendorIn and row.id in out and out[row.id] != row:
                problems.append((where, f"vendor {row.id} is listed twice with different names"))
            out[row.id] = row  # type: ignore[assignment]
    for where, raw in products:
        vid = raw.get("vendor_id")
        try:
            ok = UUID(str(vid)) in good_vendors or str(UUID(str(vid))) in known_vendors
        except ValueError:
            continue  # already reported
        if not ok:
            problems.append((where, f"vendor {vid} is neither in the file nor in the catalogue"))
    if problems:
        raise CatalogError(problems)
    return list(good_vendors.values()), list(good_products.values())


def cmd_catalog(args: argparse.Namespace, settings: Settings) -> int:
    from infra.catalog import known_vendor_ids, upsert

    path = Path(args.file)
    if not path.is_file() or path.suffix.lower() not in (".csv", ".json"):
        print(f"{path}: give an existing .csv or .json file", file=sys.stderr)
        return 2
    try:
        vendors, products = validate(*read_file(path), known_vendor_ids(settings.read_url))
    except CatalogError as err:
        for where, what in err.problems[:50]:
            print(f"{path}: {where}: {what}", file=sys.stderr)
        print(f"{path}: {len(err.problems)} problem(s); nothing imported", file=sys.stderr)
        return 1
    upsert(settings.read_url, vendors, products, progress=not args.no_progress)
    value = sum((p.list_price * p.stock for p in products), Decimal(0))
    print(f"imported {len(vendors)} vendors and {len(products)} products (stock worth {taka(value)})")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["import"])
    p.add_argument("file", help="a .csv or .json file")
    p.add_argument("--no-progress", action="store_true")
