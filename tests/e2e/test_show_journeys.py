"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.journeys import P, Show, show  # noqa: F401  (the module-scoped stack fixture)
from tests.support import Proc, free_port, wait_until

# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────


# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────


# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────


# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────
def test_fulfilment_and_returns(show: Show) -> None:  # noqa: F811 (the fixture)
    """A vendor with a catalogue sells two sarees over bKash and one over cash on delivery; the orders move
    confirmed → packed → shipped → delivered (others 403, a skipped step 409), the buyer sees each step with
    courier, tracking id and times in GET /orders/:id and is told in English and Bangla; a return is accepted
    and refunded at bKash, another refused; the COD order is paid at the door, its return refunded by hand, and
    a server whose return window (its own clock) has passed refuses the return with 409 return_window_closed."""
    vendor = str(uuid.uuid4())
    seller = show.as_user("vendor", str(uuid.uuid4()), vendor)
    saree = str(uuid.uuid4())
    assert show.http.put("/catalog/vendors", json={"vendors": [
        {"id": vendor, "name": "Tangail Saree Ghor", "name_bn": "টাঙ্গাইল শাড়ি ঘর"}]}).status_code == 200
    assert seller.put("/catalog/products", json={"products": [
        {"id": saree, "vendor_id": vendor, "name": "Jamdani saree", "name_bn": "জামদানি শাড়ি",
         "list_price": 3000.00, "stock": 20}]}).status_code == 200
    created = seller.post("/streams", json={"title": "Jamdani live", "title_bn": "জামদানি লাইভ",
                                            "stream_type": "product_demo",
                                            "products": [{"product_id": saree, "special_price": 2500.00}]})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert seller.post(f"/streams/{sid}/start").status_code == 200

    buyer_id = str(uuid.uuid4())
    buyer = show.as_user("viewer", buyer_id)
    placed = buyer.post("/checkout/instant", headers={"Idempotency-Key": f"j8-{buyer_id}"}, json={
        "stream_id": sid, "payment_method": "bkash", "shipping_address": {"city": "Dhaka", "area": "Mirpur"},
        "cart_items": [{"product_id": saree, "quantity": 2}]})
    assert placed.status_code == 201, placed.text
    oid, pay_url = placed.json()["order_id"], placed.json()["payment_url"]
    assert show.pay(pay_url).status_code == 200
    order = _order_when(buyer, oid, lambda d: d["status"] == "paid" and d["fulfilment"]["status"] == "confirmed")
    assert order["fulfilment"]["confirmed_at"] and order["fulfilment"]["packed_at"] is None

    # Only the selling vendor moves it (or an admin); one step at a time.
    step = f"/orders/{oid}/fulfilment"
    other_vendor = show.as_user("vendor", str(uuid.uuid4()), str(uuid.uuid4()))
    for outsider in (other_vendor, buyer):
        r = outsider.post(step, json={"status": "packed"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_permitted", r.text
    skipped = seller.post(step, json={"status": "shipped", "courier": "Pathao", "tracking_id": "PTH-77"})
    assert skipped.status_code == 409, skipped.text
    err = skipped.json()["error"]
    assert (err["code"], err["details"]["current"], err["details"]["expected"]) == (
        "fulfilment_out_of_order", "confirmed", "packed")
    assert err["message_bn"]
    packed = seller.post(step, json={"status": "packed"})
    assert packed.status_code == 200 and (packed.json()["status"], packed.json()["changed"]) == ("packed", True)
    again = seller.post(step, json={"status": "packed"})
    assert again.status_code == 200 and (again.json()["status"], again.json()["changed"]) == ("packed", False)
    no_tracking = seller.post(step, json={"status": "shipped", "courier": "Pathao"})
    assert no_tracking.status_code == 422 and no_tracking.json()["error"]["code"] == "shipping_details_required"
    shipped = seller.post(step, json={"status": "shipped", "courier": "Pathao", "tracking_id": "PTH-77"})
    assert shipped.status_code == 200 and shipped.json()["tracking_id"] == "PTH-77", shipped.text
    assert seller.post(step, json={"status": "delivered"}).status_code == 200

    order = _order_when(buyer, oid, lambda d: d["fulfilment"]["status"] == "delivered")
    f = order["fulfilment"]
    assert (f["courier"], f["tracking_id"]) == ("Pathao", "PTH-77")
    times = [datetime.fromisoformat(f[k]) for k in ("confirmed_at", "packed_at", "shipped_at", "delivered_at")]
    assert times == sorted(times)
    told = wait_until(lambda: _told(show, buyer_id, 3), timeout=30, what="the buyer's three fulfilment notices")
    steps = {m["data"]["status"]: m for m in told}
    assert sorted(steps) == ["delivered", "packed", "shipped"] and {m["data"]["order_id"] for m in told} == {oid}
    assert "PTH-77" in steps["shipped"]["body"] and "PTH-77" in steps["shipped"]["body_bn"]
    assert steps["shipped"]["title_bn"] == "আপনার অর্ডার পাঠানো হয়েছে"
    assert steps["delivered"]["title"] == "Your order was delivered" and steps["packed"]["title_bn"]

    # Returns: the buyer's own, with a key; the units asked back never exceed the units bought.
    returns = f"/orders/{oid}/returns"
    one = {"reason": "torn border", "items": [{"product_id": saree, "quantity": 1}]}
    assert buyer.post(returns, json=one).status_code == 400  # no Idempotency-Key
    assert seller.post(returns, json=one, headers={"Idempotency-Key": "s"}).status_code == 403
    asked = buyer.post(returns, json=one, headers={"Idempotency-Key": "ret-1"})
    assert asked.status_code == 201, asked.text
    ret = asked.json()
    assert (ret["status"], ret["amount"], ret["items"]) == ("requested", 2500.0, [{"product_id": saree,
                                                                                    "quantity": 1}])
    assert datetime.fromisoformat(ret["window_closes_at"]) == times[3] + timedelta(days=7)
    assert buyer.post(returns, json=one, headers={"Idempotency-Key": "ret-1"}).json()["return_id"] == ret["return_id"]
    too_many = buyer.post(returns, headers={"Idempotency-Key": "ret-2"},
                          json={"reason": "both", "items": [{"product_id": saree, "quantity": 2}]})
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "return_exceeds_order"
    assert too_many.json()["error"]["details"]["left"] == {saree: 1}

    # The vendor accepts: the refund goes through the refund path to bKash.
    decision = f"{returns}/{ret['return_id']}/decision"
    assert other_vendor.post(decision, json={"accept": True}).status_code == 403
    accepted = seller.post(decision, json={"accept": True, "note": "received back, refunded"})
    assert accepted.status_code == 200, accepted.text
    a = accepted.json()
    assert (a["status"], a["refund"]["amount"], a["refund"]["status"], a["refund"]["manual"]) == (
        "accepted", 2500.0, "completed", False)
    assert a["refund"]["refund_id"] == a["refund_id"] and a["refund"]["provider_refund_id"].startswith("RFD")
    refused = seller.post(decision, json={"accept": False})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "return_already_decided"
    at_bkash = httpx.get(f"{show.sandbox_url}/sandbox/payments/{_provider_id(pay_url)}", timeout=10).json()
    assert [(r["reference"], r["amount"]) for r in at_bkash["refunds"]] == [(a["refund_id"], "2500.00")]
    last = buyer.post(returns, json=one, headers={"Idempotency-Key": "ret-3"})
    assert last.status_code == 201, last.text
    declined = seller.post(f"{returns}/{last.json()['return_id']}/decision", json={"accept": False,
                                                                                   "note": "worn"})
    assert declined.status_code == 200 and (declined.json()["status"], declined.json()["refund"]) == (
        "refused", None)
    order = _order_when(buyer, oid, lambda d: len(d["returns"]) == 2 and d["returns"][1]["status"] == "refused"
                        and d["refunds"] and d["refunds"][0]["status"] == "completed")
    assert [(r["status"], r["amount"]) for r in order["returns"]] == [("accepted", 2500.0), ("refused", 2500.0)]
    assert [(r["refund_id"], r["amount"], r["reason"]) for r in order["refunds"]] == [
        (a["refund_id"], 2500.0, "return accepted")]
    assert (order["status"], order["payment_status"], order["refunded"]) == ("paid", "completed", 2500.0)
    told = wait_until(lambda: _told(show, buyer_id, 5), timeout=30, what="the return decisions")
    decided = {m["data"]["return_id"]: m for m in told if "return_id" in m["data"]}
    assert decided[ret["return_id"]]["title"] == "Your return was accepted"
    assert "৳২,৫০০" in decided[ret["return_id"]]["body_bn"] and "৳2,500" in decided[ret["return_id"]]["body"]
    refused_note = decided[last.json()["return_id"]]
    assert refused_note["title_bn"] == "আপনার ফেরতের অনুরোধ গৃহীত হয়নি" and "worn" in refused_note["body"]

    # Cash on delivery: in fulfilment from the start, paid at the door, refunded by hand.
    cod_buyer_id = str(uuid.uuid4())
    cod_buyer = show.as_user("viewer", cod_buyer_id)
    cod = cod_buyer.post("/checkout/instant", headers={"Idempotency-Key": f"j8-cod-{cod_buyer_id}"}, json={
        "stream_id": sid, "payment_method": "cod", "phone": "01712345678",
        "shipping_address": {"city": "Sylhet"}, "cart_items": [{"product_id": saree, "quantity": 1}]})
    assert cod.status_code == 201, cod.text
    cod_id = cod.json()["order_id"]
    o = _order_when(cod_buyer, cod_id, lambda d: d["fulfilment"]["status"] == "confirmed")
    assert (o["status"], o["payment_status"]) == ("pending_payment", "pending")
    early = cod_buyer.post(f"/orders/{cod_id}/returns", json=one, headers={"Idempotency-Key": "early"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "return_not_allowed"
    cod_step = f"/orders/{cod_id}/fulfilment"
    assert seller.post(cod_step, json={"status": "packed"}).status_code == 200
    assert seller.post(cod_step, json={"status": "shipped", "courier": "Sundarban", "tracking_id": "SCS-9"}
                       ).status_code == 200
    at_door = seller.post(cod_step, json={"status": "delivered"})
    assert at_door.status_code == 200, at_door.text
    assert (at_door.json()["order_status"], at_door.json()["payment_status"]) == ("paid", "completed")
    o = _order_when(cod_buyer, cod_id, lambda d: d["fulfilment"]["status"] == "delivered")
    assert (o["status"], o["payment_status"]) == ("paid", "completed")

    # The window is the server's: an API whose window is 1 s refuses once 1 s has passed since delivery.
    env = show.env.model_copy(update={"http_port": free_port(), "return_window_s": 1.0})
    short = Proc(env, "api", log_dir=show.log_dir, name="journey-api-short-window")
    try:
        short.wait_for_output("realtime pusher ready", timeout=60)
        delivered_at = datetime.fromisoformat(o["fulfilment"]["delivered_at"])
        time.sleep(max(0.0, (delivered_at + timedelta(seconds=1.2) - datetime.now(UTC)).total_seconds()))
        closed = httpx.post(f"http://127.0.0.1:{env.http_port}{P}/orders/{cod_id}/returns", json=one, timeout=30,
                            headers={"Authorization": f"Bearer {show.token('viewer', cod_buyer_id)}",
                                     "Idempotency-Key": "late"})
    finally:
        short.stop()
    assert closed.status_code == 409, closed.text
    assert closed.json()["error"]["code"] == "return_window_closed"
    assert datetime.fromisoformat(closed.json()["error"]["details"]["closed_at"]) == delivered_at + timedelta(seconds=1)
    in_time = cod_buyer.post(f"/orders/{cod_id}/returns", json=one, headers={"Idempotency-Key": "late"})
    assert in_time.status_code == 201, in_time.text  # the 7-day window of the main API
    by_hand = seller.post(f"/orders/{cod_id}/returns/{in_time.json()['return_id']}/decision",
                          json={"accept": True})
    assert by_hand.status_code == 200, by_hand.text
    assert (by_hand.json()["refund"]["status"], by_hand.json()["refund"]["manual"],
            by_hand.json()["refund"]["provider_refund_id"]) == ("completed", True, None)
    _order_when(cod_buyer, cod_id, lambda d: d["status"] == "refunded" and d["refunds"]
                and d["refunds"][0]["manual"])


def _order_when(client: httpx.Client, order_id: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The order as ``client`` sees it in GET /orders/:id, once ``ready`` holds (the read model follows)."""
    def seen() -> dict[str, Any] | None:
        r = client.get(f"/orders/{order_id}")
        return r.json() if r.status_code == 200 and ready(r.json()) else None

    return dict(wait_until(seen, timeout=30, what=f"order {order_id}"))


def _told(stack: Show, buyer_id: str, count: int) -> list[dict[str, Any]] | None:
    mine = [m for m in stack.notifications() if m["recipient_id"] == buyer_id and m["kind"] == "order_update"]
    return mine if len(mine) >= count else None


def _provider_id(payment_url: str) -> str:
    return payment_url.rstrip("/").split("/")[-1].split("?")[0]



# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────


# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────


# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────


# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

