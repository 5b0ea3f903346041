"""Shoppable replays over real HTTP (issue 15, ADR 0026): after a recorded show ends, its catalogue products are
sold from the replay at their catalogue list price, with the stock still decided by the show's stock aggregate;
the show's own prices (the special price, a flash sale's) end with it; outside the replay window (30 days) the
refusal is ``409 replay_sales_closed``. A product the catalogue does not price, and an unrecorded show, are not
sold after the show (``409 stream_not_live``, as before)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e import journeys
from tests.e2e.journeys import Show, until

VENDOR = str(uuid.uuid4())
KURTA, SAREE, LOOSE = (str(uuid.uuid4()) for _ in range(3))  # LOOSE: not in the catalogue


@pytest.fixture(scope="module")
def clocked(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = journeys.clocked_settings(environments)
    s = Show(env, log_dir, sandbox)
    assert (
        s.http.put(
            "/catalog/vendors", json={"vendors": [{"id": VENDOR, "name": "Taant Ghar", "name_bn": "তাঁত ঘর"}]}
        ).status_code
        == 200
    )
    assert (
        s.http.put(
            "/catalog/products",
            json={
                "products": [
                    {
                        "id": KURTA,
                        "vendor_id": VENDOR,
                        "name": "Khadi kurta",
                        "name_bn": "খাদি কুর্তা",
                        "list_price": 2500,
                        "stock": 40,
                        "category": "fashion",
                    },
                    {
                        "id": SAREE,
                        "vendor_id": VENDOR,
                        "name": "Jamdani saree",
                        "name_bn": "জামদানি শাড়ি",
                        "list_price": 12000,
                        "stock": 5,
                        "category": "fashion",
                    },
                ]
            },
        ).status_code
        == 200
    )
    yield s
    s.stop()


def ended_show(s: Show, *, recorded: bool = True, vendor: str = VENDOR) -> str:
    """A show on air (ended by the test). ``vendor``: one without a catalogue sells a product it lacks."""
    products = (
        [
            {"product_id": KURTA, "special_price": 1800, "limited_quantity": 2},
            {"product_id": SAREE, "special_price": 9999},
        ]
        if vendor == VENDOR
        else [{"product_id": LOOSE, "special_price": 100}]
    )
    created = s.http.post(
        "/streams",
        json={
            "title": "Pohela Boishakh",
            "stream_type": "flash_sale",
            "vendor_id": vendor,
            "is_recorded": recorded,
            "products": products,
        },
    )
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    assert s.http.post(f"/streams/{sid}/start").status_code == 200
    return sid


def sold(s: Show, sid: str, product_id: str) -> int:
    products = s.http.get(f"/streams/{sid}").json()["featured_products"]
    return int(next(p["sold_quantity"] for p in products if p["product_id"] == product_id))


def refused(r: httpx.Response, code: str) -> dict[str, Any]:
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message_bn"] and err["message"] != err["message_bn"], err
    return err  # type: ignore[no-any-return]


async def test_the_replay_sells_at_the_list_price_for_30_days(clocked: Show) -> None:
    s = clocked
    sid = ended_show(s)
    sale = s.http.post(
        "/flash-sales",
        json={
            "stream_id": sid,
            "product_id": SAREE,
            "flash_price": 8000,
            "available_quantity": 3,
            "duration_minutes": 30,
        },
    )
    assert sale.status_code == 201, sale.text
    fid = sale.json()["id"]
    ended = s.http.post(f"/streams/{sid}/end", json={"summary": "thanks"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text
    buyer, other = str(uuid.uuid4()), str(uuid.uuid4())
    me = s.as_user("viewer", buyer)

    # Add to cart from the replay: the catalogue's price, the units held on the show's stock.
    added = me.post("/cart/add", json={"stream_id": sid, "product_id": KURTA, "quantity": 1})
    assert added.status_code == 200, added.text
    assert [(i["product_id"], i["quantity"], i["unit_price"]) for i in added.json()["items"]] == [(KURTA, 1, 2500.0)]
    assert added.json()["total"] == 2500.0
    # Check the cart out (cash on delivery sells at once): the stock drops once, a retry is the same order.
    body = {"stream_id": sid, "payment_method": "cod", "phone": "01711000000", "shipping_address": {"city": "Khulna"}}
    placed = me.post("/checkout/instant", json=body, headers={"Idempotency-Key": "replay-cod"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["total"], order["payment_method"], order["payment_url"]) == (2500.0, "cod", None)
    again = me.post("/checkout/instant", json=body, headers={"Idempotency-Key": "replay-cod"})
    assert again.status_code == 201 and again.json()["order_id"] == order["order_id"]
    await until(lambda: sold(s, sid, KURTA) == 1, "one kurta sold in the read model")
    shown = me.get(f"/orders/{order['order_id']}", params={"min_version": order["version"]})
    assert shown.status_code == 200 and [(ln["product_id"], ln["unit_price"]) for ln in shown.json()["lines"]] == [
        (KURTA, 2500.0)
    ]

    # Instant checkout of an item at the price the replay shows: 201 with the provider's payment page.
    instant = s.as_user("viewer", other).post(
        "/checkout/instant",
        json={
            "stream_id": sid,
            "cart_items": [{"product_id": KURTA, "quantity": 1, "price": 2500}],
            "payment_method": "bkash",
            "shipping_address": {"city": "Rajshahi"},
        },
        headers={"Idempotency-Key": "bk"},
    )
    assert instant.status_code == 201, instant.text
    assert instant.json()["total"] == 2500.0 and instant.json()["payment_url"]
    # The show had 2 kurtas: one sold, one held for the bKash order: the third is refused by the stock aggregate.
    third = me.post(
        "/checkout/instant",
        json={**body, "cart_items": [{"product_id": KURTA, "quantity": 1}]},
        headers={"Idempotency-Key": "third"},
    )
    assert third.status_code == 409 and third.json()["error"]["code"] in ("insufficient_stock", "product_sold_out")
    assert sold(s, sid, KURTA) == 1

    # The show's own prices ended with it: the special price and the flash price are refused with the list price.
    for stale in (1800, 9999, 8000):
        product = KURTA if stale == 1800 else SAREE
        r = me.post(
            "/checkout/instant",
            json={**body, "cart_items": [{"product_id": product, "quantity": 1, "price": stale}]},
            headers={"Idempotency-Key": f"stale-{stale}"},
        )
        assert refused(r, "price_changed")["details"]["current_price"] == (2500.0 if product == KURTA else 12000.0)
    flash = me.post(f"/flash-sales/{fid}/purchase", json={"quantity": 1}, headers={"Idempotency-Key": "late"})
    assert flash.status_code == 409 and flash.json()["error"]["code"] == "flash_sale_not_active", flash.text
    # A product the catalogue does not price (a vendor without a catalogue) is not sold after the show, as before.
    loose = ended_show(s, vendor=str(uuid.uuid4()))
    assert me.post("/cart/add", json={"stream_id": loose, "product_id": LOOSE}).status_code == 200  # live: sold
    assert s.http.post(f"/streams/{loose}/end", json={}).status_code == 200
    refused(me.post("/cart/add", json={"stream_id": loose, "product_id": LOOSE}), "stream_not_live")

    # A show that was not recorded has no replay to sell from.
    unrecorded = ended_show(s, recorded=False)
    assert s.http.post(f"/streams/{unrecorded}/end", json={}).status_code == 200
    refused(me.post("/cart/add", json={"stream_id": unrecorded, "product_id": KURTA}), "stream_not_live")

    # 30 days after the show the replay stops selling: 409 replay_sales_closed, nothing written.
    journeys.advance_clock(s, 30 * 86400 + 60)
    late = me.post("/cart/add", json={"stream_id": sid, "product_id": SAREE})
    assert refused(late, "replay_sales_closed")["details"]["until"]
    refused(
        s.as_user("viewer", str(uuid.uuid4())).post(
            "/checkout/instant",
            json={**body, "cart_items": [{"product_id": SAREE, "quantity": 1, "price": 12000}]},
            headers={"Idempotency-Key": "late"},
        ),
        "replay_sales_closed",
    )
    assert sold(s, sid, SAREE) == 0
