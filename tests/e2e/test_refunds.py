"""Refunds over real HTTP, executed at the payment sandbox (a process), and card payments through SSLCommerz.

One stack for the module: the sandbox (slow calls answer after 3 s, the adapters time out after 1.5 s), relay,
projections, API, and ``livecommerce process`` (its refund manager retries requested refunds after 1 s).
Crash tests SIGKILL the process manager and count, at the sandbox, the refunds made under each refund id.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from infra.tokens import issue_token
from tests.conftest import Environments
from tests.support import ROOT, Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
SAREE = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
IPHONE = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b"
SLOW_S = 3.0  # a call steered "slow" does its work at once and answers after this
TIMEOUT_S = 1.5  # the adapters give up before: the answer of a slow call is lost


class Stack:
    def __init__(self, env: Settings, log_dir: Path, sandbox_port: int) -> None:
        self.env, self.log_dir = env, log_dir
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        log = open(log_dir / f"sandbox-refunds-{sandbox_port}.log", "wb")
        self.sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.payments.sandbox",
                "--port",
                str(sandbox_port),
                "--slow-seconds",
                str(SLOW_S),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs = [
            Proc(env, "relay", log_dir=log_dir),
            Proc(env, "project", log_dir=log_dir),
            Proc(env, "api", log_dir=log_dir),
        ]
        self.process = self.start_process()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=30, headers=auth(env))

        def up() -> bool:
            try:
                return (
                    self.http.get("/health").status_code == 200
                    and httpx.get(f"{self.sandbox_url}/sandbox/health").status_code == 200
                )
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, what="API and payment sandbox")
        self.procs[1].wait_for_output("projection orders pid")

    def start_process(self) -> Proc:
        proc = Proc(self.env, "process", log_dir=self.log_dir)
        proc.wait_for_output("process managers ready", timeout=60)
        return proc

    def token(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.env, user, ['viewer'])}"}

    def sandbox_payment(self, provider_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.sandbox_url}/sandbox/payments/{provider_id}", timeout=10)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def steer(self, provider_id: str, **hooks: Any) -> None:
        r = httpx.post(f"{self.sandbox_url}/sandbox/payments/{provider_id}/scenario", json=hooks, timeout=10)
        assert r.status_code == 200, r.text

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.sandbox_url}/sandbox/stats", timeout=10).json())

    def stop(self) -> None:
        self.http.close()
        for p in (*self.procs, self.process):
            p.stop()
        self.sandbox.terminate()
        self.sandbox.wait(10)


@pytest.fixture(scope="module")
def lc(environments: Environments, log_dir: Path) -> Iterator[Stack]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environments.new().model_copy(
        update={
            "http_port": free_port(),
            "bkash_base_url": f"{base}/bkash",
            "nagad_base_url": f"{base}/nagad",
            "rocket_base_url": f"{base}/rocket",
            "sslcommerz_base_url": f"{base}/sslcommerz",
            "payment_timeout_s": TIMEOUT_S,
            "refund_retry_after_s": 1.0,
            "sweep_interval_s": 0.3,
        }
    )
    s = Stack(env, log_dir, port)
    yield s
    s.stop()


# ---- helpers ---------------------------------------------------------------------------------------------
def live_stream(lc: Stack) -> str:
    r = lc.http.post(
        f"{P}/streams",
        json={
            "title": "Refund show",
            "title_bn": "ফেরত শো",
            "stream_type": "flash_sale",
            "products": [
                {"product_id": IPHONE, "special_price": 95000.00, "limited_quantity": 50},
                {"product_id": SAREE, "special_price": 2500.00},
            ],
        },
    )
    assert r.status_code == 201, r.text
    sid = str(r.json()["id"])
    assert lc.http.post(f"{P}/streams/{sid}/start").status_code == 200
    return sid


def checkout(lc: Stack, buyer: str, key: str, **body: Any) -> dict[str, Any]:
    r = lc.http.post(f"{P}/checkout/instant", json=body, headers={**lc.token(buyer), "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return dict(r.json())


def order(lc: Stack, buyer: str, order_id: str, **want: Any) -> dict[str, Any]:
    """The order as its buyer sees it, once the read model shows every field in ``want``."""

    def ready() -> dict[str, Any] | None:
        r = lc.http.get(f"{P}/orders/{order_id}", headers=lc.token(buyer))
        if r.status_code != 200:
            return None
        d = r.json()
        return d if all(want_fn(d) for want_fn in want.values()) else None

    return dict(wait_until(ready, timeout=30, what=f"order {order_id} with {list(want)}"))


def provider_id(placed: dict[str, Any]) -> str:
    return str(placed["payment_url"].rstrip("/").split("/")[-1].split("?")[0])


def paid_order(lc: Stack, method: str = "bkash", quantity: int = 2) -> tuple[str, dict[str, Any]]:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        f"chk-{uuid.uuid4()}",
        stream_id=sid,
        payment_method=method,
        shipping_address={"city": "Dhaka"},
        cart_items=[{"product_id": SAREE, "quantity": quantity}],
    )
    paid = httpx.get(placed["payment_url"], params={"outcome": "success"}, timeout=30)
    assert paid.status_code == 200, paid.text
    order(lc, buyer, placed["order_id"], paid=lambda d: d["status"] == "paid")
    return buyer, placed


def refund(
    lc: Stack, order_id: str, key: str | None, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return lc.http.post(f"{P}/orders/{order_id}/refunds", json=body, headers={**(headers or {}), **extra})


def refunds_at_provider(lc: Stack, pid: str, refund_id: str) -> int:
    return sum(1 for r in lc.sandbox_payment(pid)["refunds"] if r["reference"] == refund_id)


def record_refund(lc: Stack, order_id: str, key: str, amount: str) -> str:
    """Record a refund the way the API does, without executing it (as if the API died right after)."""
    from application.refunds import RequestRefund
    from infra.bootstrap import Container

    async def run() -> str:
        c = Container(lc.env)
        await c.open()
        try:
            assert c.refunds is not None
            view = await c.refunds.request(RequestRefund(uuid.UUID(order_id), key, Decimal(amount), "damaged"), None)
            return view.refund_id
        finally:
            await c.close()

    return asyncio.run(run())


# ---- refunds over the API ---------------------------------------------------------------------------------
def test_refunds_full_and_partial_by_admin_and_the_selling_vendor_only(lc: Stack) -> None:
    buyer, placed = paid_order(lc)  # 2 × 2500 = 5000
    oid, pid = placed["order_id"], provider_id(placed)
    viewer = refund(lc, oid, "v", lc.token(buyer), amount=100.00, reason="x")
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "not_permitted"
    assert viewer.json()["error"]["message_bn"]
    other = refund(lc, oid, "o", auth(lc.env, "vendor", vendor=str(uuid.uuid4())), amount=100.00, reason="x")
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_permitted"
    assert refund(lc, oid, None, amount=100.00, reason="x").status_code == 400
    for bad in (
        {"amount": -5, "reason": "x"},
        {"amount": 100.00},
        {"amount": 1.234, "reason": "x"},
        {"amount": 0, "reason": "x"},
        {"amount": 10, "reason": "x", "extra": 1},
    ):
        r = refund(lc, oid, f"bad-{uuid.uuid4()}", **bad)
        assert r.status_code == 422, (bad, r.text)
    assert refund(lc, str(uuid.uuid4()), "u", amount=1.00, reason="x").status_code == 404
    assert lc.sandbox_payment(pid)["refunds"] == []  # nothing refused changed anything

    seller = auth(lc.env, "vendor", vendor=lc.env.default_vendor_id)
    first = refund(lc, oid, "r-1", seller, amount=1000.00, reason="one saree damaged")
    assert first.status_code == 201, first.text
    f = first.json()
    assert (f["status"], f["amount"], f["order_status"], f["refunded_total"]) == ("completed", 1000.0, "paid", 1000.0)
    assert f["provider_refund_id"].startswith("RFD") and f["manual"] is False
    again = refund(lc, oid, "r-1", seller, amount=1000.00, reason="one saree damaged")
    assert again.status_code == 201 and again.json() == f  # a retry: the first answer, no second refund
    reused = refund(lc, oid, "r-1", seller, amount=999.00, reason="one saree damaged")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    over = refund(lc, oid, "r-2", amount=4000.01, reason="too much")
    assert over.status_code == 409 and over.json()["error"]["code"] == "refund_exceeds_payment"
    assert over.json()["error"]["details"]["left"] == 4000.0
    rest = refund(lc, oid, "r-3", reason="order returned")  # no amount: everything left
    assert rest.status_code == 201, rest.text
    assert (rest.json()["amount"], rest.json()["order_status"], rest.json()["payment_status"]) == (
        4000.0,
        "refunded",
        "refunded",
    )
    none_left = refund(lc, oid, "r-4", amount=1.00, reason="again")
    assert none_left.status_code == 409

    at_provider = lc.sandbox_payment(pid)
    assert Decimal(at_provider["refunded"]) == Decimal("5000.00") and len(at_provider["refunds"]) == 2
    assert {r["reference"] for r in at_provider["refunds"]} == {f["refund_id"], rest.json()["refund_id"]}
    o = order(
        lc,
        buyer,
        oid,
        refunded=lambda d: (
            d["status"] == "refunded"
            and len(d["refunds"]) == 2
            and all(r["status"] == "completed" for r in d["refunds"])
        ),
    )
    assert o["payment_status"] == "refunded" and o["refunded"] == 5000.0
    assert sorted(r["amount"] for r in o["refunds"]) == [1000.0, 4000.0]
    seen_by_seller = lc.http.get(f"{P}/orders/{oid}", headers=seller)
    assert seen_by_seller.status_code == 200 and len(seen_by_seller.json()["refunds"]) == 2
    assert lc.http.get(f"{P}/orders/{oid}", headers=lc.token(str(uuid.uuid4()))).status_code == 404


def test_an_unpaid_order_is_not_refunded(lc: Stack) -> None:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "unpaid",
        stream_id=sid,
        payment_method="nagad",
        shipping_address={"city": "Khulna"},
        cart_items=[{"product_id": SAREE, "quantity": 1}],
    )
    r = refund(lc, placed["order_id"], "u-1", amount=100.00, reason="x")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_order_transition"


@pytest.mark.parametrize("method", ["nagad", "rocket"])
def test_partial_refunds_reach_nagad_and_rocket(lc: Stack, method: str) -> None:
    buyer, placed = paid_order(lc, method, quantity=1)
    first = refund(lc, placed["order_id"], "p-1", amount=500.00, reason="late delivery")
    assert first.status_code == 201 and first.json()["status"] == "completed", first.text
    assert refunds_at_provider(lc, provider_id(placed), first.json()["refund_id"]) == 1
    order(lc, buyer, placed["order_id"], partial=lambda d: d["status"] == "paid" and d["refunded"] == 500.0)


# ---- exactly once across crashes ---------------------------------------------------------------------------
def test_a_refund_recorded_while_the_process_manager_is_down_is_made_once_after_restart(lc: Stack) -> None:
    buyer, placed = paid_order(lc)
    lc.process.kill()  # SIGKILL: nobody executes refunds now
    refund_id = record_refund(lc, placed["order_id"], "crash-1", "700.00")
    o = order(lc, buyer, placed["order_id"], requested=lambda d: len(d["refunds"]) == 1)
    assert o["refunds"][0]["status"] == "requested"
    time.sleep(1.5)
    assert refunds_at_provider(lc, provider_id(placed), refund_id) == 0
    lc.process = lc.start_process()
    order(lc, buyer, placed["order_id"], done=lambda d: d["refunds"][0]["status"] == "completed")
    assert refunds_at_provider(lc, provider_id(placed), refund_id) == 1


def test_a_process_manager_killed_while_the_provider_refunds_does_not_refund_twice(lc: Stack) -> None:
    buyer, placed = paid_order(lc)
    pid = provider_id(placed)
    lc.steer(pid, slow=["refund"])  # bKash refunds at once but answers after SLOW_S: the answer is lost
    refund_id = record_refund(lc, placed["order_id"], "crash-2", "1200.00")
    wait_until(
        lambda: refunds_at_provider(lc, pid, refund_id) == 1,
        timeout=30,
        interval=0.01,
        what="the refund manager's call reaching bKash",
    )
    lc.process.kill()  # mid-call (it waits up to TIMEOUT_S): bKash refunded, we never recorded the answer
    time.sleep(0.5)
    o = order(lc, buyer, placed["order_id"], listed=lambda d: len(d["refunds"]) == 1)
    assert o["refunds"][0]["status"] == "requested"
    lc.steer(pid, slow=[])
    lc.process = lc.start_process()  # asks bKash (refund status) first: found, recorded, not re-sent
    o = order(lc, buyer, placed["order_id"], done=lambda d: d["refunds"][0]["status"] == "completed")
    assert refunds_at_provider(lc, pid, refund_id) == 1
    assert o["refunds"][0]["provider_refund_id"] == lc.sandbox_payment(pid)["refunds"][0]["refund_id"]


def test_an_api_refund_that_times_out_is_finished_by_the_refund_manager_without_a_second_refund(
    lc: Stack,
) -> None:
    buyer, placed = paid_order(lc)
    pid = provider_id(placed)
    lc.steer(pid, slow=["refund"])  # bKash refunds, but the API stops waiting before it answers
    r = refund(lc, placed["order_id"], "slow-1", amount=300.00, reason="slow bKash")
    assert r.status_code == 201, r.text
    # Outcome unknown: never "failed" (the refund manager may already have found it: "completed").
    assert r.json()["status"] in ("requested", "completed")
    refund_id = r.json()["refund_id"]
    assert refunds_at_provider(lc, pid, refund_id) == 1
    # The refund manager asks bKash first (refund status), finds it, records it: no second refund.
    o = order(lc, buyer, placed["order_id"], done=lambda d: d["refunds"] and d["refunds"][0]["status"] == "completed")
    assert o["refunded"] == 300.0
    assert refunds_at_provider(lc, pid, refund_id) == 1
    again = refund(lc, placed["order_id"], "slow-1", amount=300.00, reason="slow bKash")
    assert again.json() == r.json()  # the retry gets the first answer


def test_a_refused_refund_fails_and_gives_the_amount_back_to_refund(lc: Stack) -> None:
    buyer, placed = paid_order(lc, "rocket", quantity=1)
    pid = provider_id(placed)
    # Someone refunded 2000 at Rocket directly (outside our system): our 1000 is then more than Rocket has left.
    trx = lc.sandbox_payment(pid)["trx_id"]
    direct = httpx.post(
        f"{lc.sandbox_url}/rocket/payment/refund",
        timeout=10,
        headers={"X-Merchant-Id": lc.env.rocket_merchant_id},
        json={
            "merchantId": lc.env.rocket_merchant_id,
            "paymentId": pid,
            "transactionId": trx,
            "amount": "2000.00",
            "reason": "portal",
            "requestId": "portal-1",
        },
    )
    assert direct.status_code == 200, direct.text
    r = refund(lc, placed["order_id"], "refused-1", amount=1000.00, reason="x")
    assert r.status_code == 201 and r.json()["status"] == "failed", r.text
    assert r.json()["order_status"] == "paid" and r.json()["refunded_total"] == 0.0
    o = order(
        lc,
        buyer,
        placed["order_id"],
        failed=lambda d: d["refunds"] and d["refunds"][0]["status"] == "failed" and d["refunded"] == 0.0,
    )
    assert o["refunds"][0]["failure"] and o["status"] == "paid" and o["payment_status"] == "completed"
    ok = refund(lc, placed["order_id"], "refused-2", amount=500.00, reason="what is left")
    assert ok.status_code == 201 and ok.json()["status"] == "completed", ok.text


# ---- the automatic refund of an expired flash-sale hold ----------------------------------------------------
def test_the_automatic_refund_of_an_expired_hold_reaches_the_provider(lc: Stack) -> None:
    from application.flash_sales import CreateFlashSale
    from infra.bootstrap import Container

    sid, buyer = live_stream(lc), str(uuid.uuid4())

    async def create_sale() -> str:
        c = Container(lc.env)
        await c.open()
        try:
            assert c.flash_sales is not None
            created = await c.flash_sales.create(
                CreateFlashSale(
                    stream_id=uuid.UUID(sid),
                    product_id=IPHONE,
                    flash_price=Decimal("85000.00"),
                    available_quantity=3,
                    duration_minutes=30,
                    hold_seconds=2,
                )
            )
            return str(created.id)
        finally:
            await c.close()

    sale = asyncio.run(create_sale())
    held = lc.http.post(
        f"{P}/flash-sales/{sale}/purchase",
        json={"buyer_id": buyer, "quantity": 1},
        headers={"Idempotency-Key": f"hold-{buyer}"},
    )
    assert held.status_code in (200, 201), held.text
    placed = checkout(
        lc,
        buyer,
        f"pay-{buyer}",
        stream_id=sid,
        payment_method="bkash",
        shipping_address={"city": "Dhaka"},
        cart_items=[
            {
                "product_id": IPHONE,
                "quantity": 1,
                "flash_sale_id": sale,
                "reservation_id": held.json()["reservation_id"],
            }
        ],
    )
    time.sleep(2.5)  # the hold runs out while the buyer is on the bKash page
    assert httpx.get(placed["payment_url"], params={"outcome": "success"}, timeout=30).status_code == 200
    o = order(
        lc,
        buyer,
        placed["order_id"],
        done=lambda d: d["status"] == "refunded" and d["refunds"] and d["refunds"][0]["status"] == "completed",
    )
    assert o["refunds"][0]["reason"] == "reservation_expired" and o["refunds"][0]["amount"] == 85000.0
    at_bkash = lc.sandbox_payment(provider_id(placed))
    assert [r["reference"] for r in at_bkash["refunds"]] == [o["refunds"][0]["refund_id"]]
    assert Decimal(at_bkash["refunded"]) == Decimal("85000.00")


# ---- cash on delivery: refunded by hand -------------------------------------------------------------------
def test_a_cash_on_delivery_refund_is_manual(lc: Stack) -> None:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "cod",
        stream_id=sid,
        payment_method="cod",
        phone="01712345678",
        shipping_address={"city": "Sylhet"},
        cart_items=[{"product_id": SAREE, "quantity": 1}],
    )
    early = refund(lc, placed["order_id"], "cod-0", reason="x")
    assert early.status_code == 409  # not paid yet: the courier has not collected the cash
    viewer = lc.http.post(f"{P}/orders/{placed['order_id']}/cash-collected", headers=lc.token(buyer))
    assert viewer.status_code == 403
    collected = lc.http.post(f"{P}/orders/{placed['order_id']}/cash-collected")
    assert collected.status_code == 200 and collected.json()["order_status"] == "paid", collected.text
    assert lc.http.post(f"{P}/orders/{placed['order_id']}/cash-collected").json()["order_status"] == "paid"
    before = lc.stats().get("refunds", 0)
    r = refund(lc, placed["order_id"], "cod-1", amount=2500.00, reason="returned at the door")
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["manual"], r.json()["provider_refund_id"]) == ("completed", True, None)
    assert lc.stats().get("refunds", 0) == before  # no provider was called
    order(
        lc,
        buyer,
        placed["order_id"],
        done=lambda d: d["status"] == "refunded" and d["refunds"] and d["refunds"][0]["manual"],
    )


# ---- cards through SSLCommerz -----------------------------------------------------------------------------
def test_card_checkout_ipn_validated_order_paid_and_refunded(lc: Stack) -> None:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "card-1",
        stream_id=sid,
        payment_method="card",
        phone="01712345678",
        shipping_address={"city": "Dhaka"},
        cart_items=[{"product_id": SAREE, "quantity": 2}],
    )
    assert placed["payment_status"] == "processing" and "/sandbox/pay/SSLCZ" in placed["payment_url"]
    tran_id = placed["payment_id"]
    lc.steer(tran_id, callback="out_of_order")  # the IPN says VALID, then a stale FAILED arrives
    paid = httpx.get(placed["payment_url"], params={"outcome": "success"}, timeout=30)
    assert paid.status_code == 200 and [d["http_status"] for d in paid.json()["deliveries"]] == [200, 200], paid.text
    o = order(lc, buyer, placed["order_id"], paid=lambda d: d["status"] == "paid")
    assert o["payment_status"] == "completed" and o["total"] == 5000.0
    ipn = f"{lc.http.base_url}{P}/payments/{placed['payment_id']}/callback/card"
    view = lc.sandbox_payment(tran_id)
    form = {
        "tran_id": tran_id,
        "val_id": "VAL" + view["id"][5:],
        "amount": "5000.00",
        "currency": "BDT",
        "bank_tran_id": view["trx_id"],
    }
    for status in ("VALID", "FAILED", "CANCELLED"):  # a duplicate, and forged failures: confirmed, no change
        r = httpx.post(ipn, data={**form, "status": status}, timeout=30)
        assert r.status_code == 200 and r.json()["payment_status"] == "completed", r.text
    assert httpx.post(ipn, data={"status": "VALID"}, timeout=30).status_code == 400  # no tran_id
    time.sleep(0.5)
    o = order(lc, buyer, placed["order_id"], paid=lambda d: d["status"] == "paid")
    assert o["payment_status"] == "completed"
    r = refund(lc, placed["order_id"], "card-r", amount=2500.00, reason="one returned")
    assert r.status_code == 201 and r.json()["status"] == "completed", r.text
    assert [x["reference"] for x in lc.sandbox_payment(tran_id)["refunds"]] == [r.json()["refund_id"]]


def test_a_declined_card_fails_the_order_once_even_with_a_duplicate_ipn(lc: Stack) -> None:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "card-late",
        stream_id=sid,
        payment_method="card",
        shipping_address={"city": "Dhaka"},
        cart_items=[{"product_id": SAREE, "quantity": 1}],
    )
    lc.steer(placed["payment_id"], callback="twice")
    failed = httpx.get(placed["payment_url"], params={"outcome": "failure"}, timeout=30)
    assert failed.status_code == 200 and len(failed.json()["deliveries"]) == 2
    o = order(
        lc,
        buyer,
        placed["order_id"],
        failed=lambda d: d["status"] == "payment_failed" and d["payment_status"] == "failed",
    )
    assert o["payment_status"] == "failed"


def test_emi_on_cards_opens_an_sslcommerz_emi_session(lc: Stack) -> None:
    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "emi-1",
        stream_id=sid,
        payment_method="emi",
        emi_months=6,
        shipping_address={"city": "Dhaka"},
        cart_items=[{"product_id": IPHONE, "quantity": 1}],
    )
    assert placed["emi"]["months"] == 6 and placed["payment_url"]
    q = httpx.get(
        f"{lc.sandbox_url}/sslcommerz/validator/api/merchantTransIDvalidationAPI.php",
        timeout=10,
        params={
            "tran_id": placed["payment_id"],
            "store_id": lc.env.sslcommerz_store_id,
            "store_passwd": lc.env.sslcommerz_store_password,
            "format": "json",
        },
    ).json()
    assert q["element"][0]["emi_instalment"] == 6 and q["element"][0]["amount"] == "95000.00"
    assert httpx.get(placed["payment_url"], params={"outcome": "success"}, timeout=30).status_code == 200
    order(lc, buyer, placed["order_id"], paid=lambda d: d["status"] == "paid")


def test_a_card_paid_after_our_session_timed_out_is_applied_late_and_the_order_is_paid(lc: Stack) -> None:
    from infra.bootstrap import Container
    from infra.due_managers import PaymentReconciler
    from infra.due_work import DueWork

    sid, buyer = live_stream(lc), str(uuid.uuid4())
    placed = checkout(
        lc,
        buyer,
        "card-late",
        stream_id=sid,
        payment_method="card",
        shipping_address={"city": "Dhaka"},
        cart_items=[{"product_id": SAREE, "quantity": 1}],
    )
    order(lc, buyer, placed["order_id"], open=lambda d: d["payment_status"] == "processing")

    async def give_up() -> None:
        c = Container(lc.env)
        await c.open()
        due = DueWork(lc.env)  # the reconciler's work, from the store's log
        await due.open()
        try:
            assert c.checkout
            await due.catch_up()
            await PaymentReconciler(due, c.checkout, after_s=0, timeout_s=0).sweep_once()
        finally:
            await due.close()
            await c.close()

    asyncio.run(give_up())  # still pending at SSLCommerz and past our timeout: failed
    order(lc, buyer, placed["order_id"], failed=lambda d: d["status"] == "payment_failed")
    paid = httpx.get(placed["payment_url"], params={"outcome": "success"}, timeout=30)  # the buyer pays anyway
    assert paid.status_code == 200 and paid.json()["deliveries"][0]["http_status"] == 200, paid.text
    o = order(lc, buyer, placed["order_id"], paid=lambda d: d["status"] == "paid")
    assert o["payment_status"] == "completed" and o["refunds"] == []
