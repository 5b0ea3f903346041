"""Issue 19 part 8: money housekeeping from the source of truth. With the projections process frozen (SIGSTOP:
alive, connected, consuming nothing) before anything of the test was projected, a scheduled sale still starts,
a payment nobody finishes still times out and gives its hold back, an unpaid hold still expires, and a refund
the API did not send is still sent: ``livecommerce process`` finds its work in the event store's own log, never
in a read model. The read models, thawed, then agree with what was done."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e.journeys import Show, joined, show_settings, until

SAREE = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"


@pytest.fixture(scope="module")
def stalled(environments: Environments, log_dir: Path) -> Iterator[Show]:
    """The whole stack, with payments that time out in seconds and refunds left to the refund manager."""
    env, sandbox = show_settings(
        environments,
        payment_reconcile_after_s=1.0,
        payment_session_timeout_s=4.0,
        refund_execute_inline=False,
        refund_retry_after_s=1.0,
    )
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


def buy(client: httpx.Client, sale_id: str, key: str) -> httpx.Response:
    return client.post(f"/flash-sales/{sale_id}/purchase", json={"quantity": 1}, headers={"Idempotency-Key": key})


def provider_view(stack: Show, payment_url: str) -> dict[str, Any]:
    """The sandbox provider's own record of a payment (what the provider's statement would show)."""
    provider_id = payment_url.split("/sandbox/pay/")[1].split("?")[0]
    return httpx.get(f"{stack.sandbox_url}/sandbox/payments/{provider_id}", timeout=10).json()


async def test_holds_expire_sales_start_payments_time_out_and_refunds_go_while_projections_are_stuck(
    stalled: Show,
) -> None:
    show = stalled
    sid = show.http.post(
        "/streams",
        json={
            "title": "জামদানি হাট",
            "stream_type": "flash_sale",
            "products": [{"product_id": SAREE, "special_price": 8500.00}],
        },
    ).json()["id"]
    assert show.http.post(f"/streams/{sid}/start").status_code == 200
    room = await joined(show, sid)  # (the gateway's own check needs the show projected once)
    show.pause("project")
    try:
        sale = show.http.post(
            "/flash-sales",
            json={
                "stream_id": sid,
                "product_id": SAREE,
                "flash_price": 6999,
                "available_quantity": 3,
                "hold_seconds": 30,
                "duration_minutes": 30,
            },
        ).json()["id"]
        later = show.http.post(
            "/flash-sales",
            json={
                "stream_id": sid,
                "product_id": SAREE,
                "flash_price": 7499,
                "available_quantity": 3,
                "starts_in_seconds": 2,
                "duration_seconds": 120,
            },
        )
        assert later.status_code == 201 and later.json()["status"] == "scheduled"
        later_id = later.json()["id"]
        stuck = show.http.get(f"/flash-sales/{sale}")
        assert stuck.status_code == 404, "the read models are really stuck: the sale was never projected"

        keeper, quitter, payer = (show.as_user("viewer", str(uuid.uuid4())) for _ in range(3))
        kept = buy(keeper, sale, "keep")  # never paid: expires after 30 s
        assert kept.status_code == 201 and kept.json()["quantity"] == 1
        held = buy(quitter, sale, "quit")
        abandoned = quitter.post(
            "/checkout/instant",
            headers={"Idempotency-Key": "quit-pay"},
            json={
                "stream_id": sid,
                "payment_method": "bkash",
                "shipping_address": {"city": "Narayanganj"},
                "cart_items": [
                    {
                        "product_id": SAREE,
                        "quantity": 1,
                        "flash_sale_id": sale,
                        "reservation_id": held.json()["reservation_id"],
                    }
                ],
            },
        )
        assert abandoned.status_code == 201 and abandoned.json()["payment_status"] == "processing"
        bought = payer.post(
            "/checkout/instant",
            headers={"Idempotency-Key": "paid"},
            json={
                "stream_id": sid,
                "payment_method": "bkash",
                "shipping_address": {"city": "Dhaka"},
                "cart_items": [{"product_id": SAREE, "quantity": 1, "price": 8500.00}],
            },
        )
        assert bought.status_code == 201, bought.text
        paid = show.pay(bought.json()["payment_url"])
        assert paid.status_code == 200 and paid.json()["deliveries"][0]["http_status"] == 200

        started = await room.wait_for("flash_sale_started", lambda d: d["sale_id"] == later_id, timeout=30)
        assert (started["status"], started["available"]) == ("active", 3)
        refund = show.http.post(
            f"/orders/{bought.json()['order_id']}/refunds",
            headers={"Idempotency-Key": "r1"},
            json={"reason": "damaged in transit"},
        )
        assert refund.status_code == 201 and refund.json()["status"] == "requested"  # not sent by the API
        timed_out = await room.wait_for(
            "stock_update", lambda d: d.get("sale_id") == sale and d["change"] == "ReservationReleased", timeout=60
        )
        assert (timed_out["available"], timed_out["status"]) == (2, "active")
        sent = await until(
            lambda: provider_view(show, bought.json()["payment_url"])["refunded"] == "8500.00",
            "the refund at the provider",
            timeout=60,
        )
        assert sent
        expired = await room.wait_for(
            "stock_update", lambda d: d.get("sale_id") == sale and d["change"] == "HoldExpired", timeout=90
        )
        assert expired["available"] == 3
        assert show.http.get(f"/flash-sales/{sale}").status_code == 404, "still stuck all along"
    finally:
        show.resume("project")

    def caught_up() -> dict[str, Any] | None:
        r = show.http.get(f"/flash-sales/{sale}")
        return r.json() if r.status_code == 200 and r.json()["reserved_quantity"] == 0 else None

    thawed = await until(caught_up, "the read model caught up", timeout=60)
    assert (thawed["available_quantity"], thawed["sold_quantity"], thawed["status"]) == (3, 0, "active")
    orders = {
        o: await until(lambda o=o, c=c: (r := c.get(f"/orders/{o}")).status_code == 200 and r.json(), "order visible")
        for o, c in ((abandoned.json()["order_id"], quitter), (bought.json()["order_id"], payer))
    }
    failed, refunded = orders.values()
    assert (failed["status"], failed["payment_status"]) == ("payment_failed", "failed")
    assert [(r["status"], r["amount"]) for r in refunded["refunds"]] == [("completed", 8500.0)]
    # another aggregate, maybe on another partition: it catches up on its own time
    await until(
        lambda: show.http.get(f"/flash-sales/{later_id}").json().get("status") == "active",
        "the scheduled sale shown active",
    )
    await room.client.disconnect()
