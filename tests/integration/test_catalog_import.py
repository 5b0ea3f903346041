"""``livecommerce catalog import``: CSV and JSON into vendors and products, re-runnable; a bad file writes
nothing."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

import psycopg
import pytest

from infra.settings import Settings
from interfaces.catalog_cli import cmd_catalog
from tests.conftest import Environments

V1, V2 = str(uuid.uuid4()), str(uuid.uuid4())
P1, P2, P3 = (str(uuid.uuid4()) for _ in range(3))
CSV = f"""product_id,vendor_id,vendor_name,vendor_name_bn,name,name_bn,list_price,stock,category,images
{P1},{V1},Dhaka Gadgets,ঢাকা গ্যাজেটস,iPhone 14 Pro,আইফোন ১৪ প্রো,120000,50,electronics,https://cdn/x1.jpg|https://cdn/x2.jpg
{P2},{V1},Dhaka Gadgets,ঢাকা গ্যাজেটস,AirPods,এয়ারপডস,24999.5,10,electronics,
{P3},{V2},Tangail Saree Ghor,টাঙ্গাইল শাড়ি ঘর,Jamdani saree,জামদানি শাড়ি,8500,7,fashion,https://cdn/s.jpg
"""


@pytest.fixture(scope="module")
def env(environments: Environments) -> Settings:
    return environments.new()


def run(env: Settings, path: Path) -> int:
    return cmd_catalog(argparse.Namespace(action="import", file=str(path), no_progress=True), env)


def rows(env: Settings) -> list[tuple[object, ...]]:
    with psycopg.connect(env.postgres_url) as conn:
        return conn.execute(
            "SELECT p.id::text, v.name_bn, p.name_bn, p.list_price::text, p.stock, p.images, p.category"
            " FROM products p JOIN vendors v ON v.id = p.vendor_id ORDER BY p.list_price"
        ).fetchall()


def test_csv_then_json_upsert_by_id(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    assert run(env, csv_file) == 0
    assert "imported 2 vendors and 3 products" in capsys.readouterr().out
    got = rows(env)
    assert [r[0] for r in got] == [P3, P2, P1]
    assert got[2] == (
        P1,
        "ঢাকা গ্যাজেটস",
        "আইফোন ১৪ প্রো",
        "120000.00",
        50,
        ["https://cdn/x1.jpg", "https://cdn/x2.jpg"],
        "electronics",
    )
    assert got[1][3] == "24999.50" and got[1][5] == []
    assert run(env, csv_file) == 0 and rows(env) == got  # re-runnable: the same rows
    update = tmp_path / "update.json"
    update.write_text(
        json.dumps(
            {
                "products": [
                    {
                        "id": P3,
                        "vendor_id": V2,
                        "name": "Jamdani saree",
                        "name_bn": "জামদানি শাড়ি",
                        "list_price": 7999,
                        "stock": 3,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    assert run(env, update) == 0
    assert [r for r in rows(env) if r[0] == P3][0][3:5] == ("7999.00", 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (CSV.replace("120000", "-5"), "line 2: list_price"),
        (CSV.replace("120000", "12.345"), "line 2: list_price"),
        (CSV.replace(",50,", ",lots,"), "line 2: stock"),
        (CSV.replace("iPhone 14 Pro", ""), "line 2: name"),
        (CSV.replace(P2, P1), "listed twice"),
        (CSV.replace(f"{V2},Tangail Saree Ghor", f"{uuid.uuid4()},"), "neither in the file nor in the catalogue"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    fresh = str(uuid.uuid4())
    bad = tmp_path / "bad.csv"
    bad.write_text(content.replace(P3, fresh), encoding="utf-8")
    before = rows(env)
    assert run(env, bad) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing imported" in err
    assert rows(env) == before
    assert run(env, tmp_path / "missing.csv") == 2
