"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.journeys import P, Show, show  # noqa: F401  (the module-scoped stack fixture)
from tests.support import wait_until

# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────

async def test_journey_05_sales_figures(show: Show) -> None:  # noqa: F811
    """Paid orders and refunds move ``sales_stats`` and the §4.5 analytics, from the log: the amounts."""
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    fs = fig_live_show(show)
    owner = show.as_user("vendor", fs.vendor)  # the show's vendor: sees the revenue
    stranger = show.as_user("viewer", str(uuid.uuid4()))
    await fig_watch(show, fs.sid, a, c, None)  # a and c signed in, one more anonymous: three viewers
    fig_cart_add(show, fs, a, fs.saree, 2)
    paid_a = fig_buy(show, fs, a, fs.saree, 2)  # 5,000.00 through the live cart
    placed_b = fig_checkout(show, fs, b, fs.iphone, 1)  # 95,000.00 by instant checkout; b never joined
    assert show.pay(placed_b["payment_url"]).status_code == 200
    t0 = time.monotonic()
    d = fig_until(lambda: fig_detail(owner, fs.sid, total_purchases=2), "sales_stats after two payments")
    print(f"\njourney 5: sales_stats moved {time.monotonic() - t0:.3f}s after the provider confirmed the payment")
    # audience = viewers {a, c, anonymous} ∪ buyers {a, b} = 4, buyers 2: 0.5
    assert d["sales_stats"] == {"total_purchases": 2, "total_revenue": 100000.0, "conversion_rate": 0.5}
    an = fig_until(lambda: fig_analytics(owner, fs.sid, cart_adds=2, total_viewers=3), "analytics, two sales")
    assert an["overview"]["total_purchases"] == 2 and an["overview"]["revenue"] == 100000.0
    assert an["sales_analytics"]["conversion_funnel"] == {"viewers": 4, "product_views": 2, "cart_adds": 2,
                                                          "purchases": 2}
    assert an["sales_analytics"]["conversion_rate"] == 0.5
    assert an["sales_analytics"]["average_order_value"] == 50000.0
    assert an["sales_analytics"]["revenue_by_product"] == [
        {"product_id": fs.iphone, "units": 1, "revenue": 95000.0},
        {"product_id": fs.saree, "units": 2, "revenue": 5000.0}]
    # Anyone signed in sees the counts; the amounts are for the show's host, vendor and admins.
    assert fig_detail(stranger, fs.sid)["sales_stats"] == {  # type: ignore[index]
        "total_purchases": 2, "total_revenue": None, "conversion_rate": 0.5}
    other = fig_analytics(stranger, fs.sid)
    assert other is not None and other["overview"]["revenue"] is None
    assert other["overview"]["total_purchases"] == 2 and other["sales_analytics"]["average_order_value"] is None
    assert {p["revenue"] for p in other["sales_analytics"]["revenue_by_product"]} == {None}

    # A partial refund of a's order (1,000.00 of 5,000.00): revenue is net of it, the purchase stays.
    fig_refund(owner, paid_a["order_id"], 1000.00)
    d = fig_until(lambda: fig_detail(owner, fs.sid, total_revenue=99000.0), "sales_stats, partial refund")
    assert d["sales_stats"] == {"total_purchases": 2, "total_revenue": 99000.0, "conversion_rate": 0.5}
    an = fig_until(lambda: fig_analytics(owner, fs.sid, revenue=99000.0), "analytics, partial refund")
    assert an["sales_analytics"]["revenue_by_product"] == [
        {"product_id": fs.iphone, "units": 1, "revenue": 95000.0},
        {"product_id": fs.saree, "units": 2, "revenue": 4000.0}]
    assert an["sales_analytics"]["average_order_value"] == 49500.0

    # b's order refunded in full (an admin): the purchase is taken back, b is a buyer no more (b still checked
    # out: the show reached b, as far as the cart).
    fig_refund(show.http, placed_b["order_id"], None)
    d = fig_until(lambda: fig_detail(owner, fs.sid, total_purchases=1), "sales_stats, full refund")
    # audience {a, b, c, anonymous} = 4, buyers {a} = 1
    assert d["sales_stats"] == {"total_purchases": 1, "total_revenue": 4000.0, "conversion_rate": 0.25}
    an = fig_until(lambda: fig_analytics(owner, fs.sid, total_purchases=1), "analytics, full refund")
    assert an["overview"]["revenue"] == 4000.0 and an["sales_analytics"]["average_order_value"] == 4000.0
    assert an["sales_analytics"]["conversion_funnel"] == {"viewers": 4, "product_views": 2, "cart_adds": 2,
                                                          "purchases": 1}
    assert an["sales_analytics"]["revenue_by_product"] == [
        {"product_id": fs.saree, "units": 2, "revenue": 4000.0},
        {"product_id": fs.iphone, "units": 0, "revenue": 0.0}]


# Helpers of journeys 5, 6, 7, 9, 12 and 14 (the figures): a catalogue, a live show, paying as a buyer does.
FIG_NS = uuid.UUID("3d5c7e9a-1b2f-4a6c-8e0d-2f4a6c8e0b1d")
FIG_CATALOGUE = {"iphone": ("iPhone 14 Pro", "আইফোন ১৪ প্রো", 120000.00, 95000.00),
                 "saree": ("Jamdani Saree", "জামদানি শাড়ি", 3000.00, 2500.00)}


@dataclass
class FigShow:
    """A live show of one vendor selling two catalogue products (ids of that vendor's own)."""

    sid: str
    vendor: str
    iphone: str
    saree: str

    def price(self, product: str) -> float:
        return FIG_CATALOGUE["iphone" if product == self.iphone else "saree"][3]


def fig_product(vendor: str, kind: str) -> str:
    return str(uuid.uuid5(FIG_NS, f"{vendor}:{kind}"))


def fig_catalogue(stack: Show, vendor: str) -> None:
    """The vendor and its products in the reference catalogue (their names are what the chat shows)."""
    r = stack.http.put("/catalog/vendors", json={"vendors": [{"id": vendor, "name": "Dhaka Gadgets",
                                                             "name_bn": "ঢাকা গ্যাজেটস"}]})
    assert r.status_code == 200, r.text
    r = stack.http.put("/catalog/products", json={"products": [
        {"id": fig_product(vendor, kind), "vendor_id": vendor, "name": n, "name_bn": bn, "list_price": lp,
         "stock": 100} for kind, (n, bn, lp, _) in FIG_CATALOGUE.items()]})
    assert r.status_code == 200, r.text


def fig_live_show(stack: Show, vendor: str | None = None, *, client: httpx.Client | None = None,
                  start: bool = True, **extra: Any) -> FigShow:
    """A stack of ``vendor`` (an admin creates it for the vendor; or ``client``, a host, for theirs)."""
    vendor = vendor or str(uuid.uuid4())
    fig_catalogue(stack, vendor)
    http = client or stack.http
    body: dict[str, Any] = {
        "title": "ঈদ লাইভ সেল", "stream_type": "flash_sale", "category": "electronics",
        "products": [{"product_id": fig_product(vendor, kind), "special_price": price, "limited_quantity": 50}
                     for kind, (*_, price) in FIG_CATALOGUE.items()],
        "stream_settings": {"discount_codes": {"LIVE20": {"percent": 20, "min_total": 1000}}},
        **({} if client is not None else {"vendor_id": vendor}), **extra}
    r = http.post("/streams", json=body)
    assert r.status_code == 201, r.text
    sid, version = str(r.json()["id"]), r.json()["version"]
    if start:
        r = http.post(f"/streams/{sid}/start")
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    assert http.get(f"/streams/{sid}", params={"min_version": version}).status_code == 200
    return FigShow(sid, vendor, fig_product(vendor, "iphone"), fig_product(vendor, "saree"))


def fig_cart_add(stack: Show, fs: FigShow, buyer: str, product: str, quantity: int) -> None:
    r = stack.as_user("viewer", buyer).post("/cart/add", json={"stream_id": fs.sid, "product_id": product,
                                                              "quantity": quantity})
    assert r.status_code == 200, r.text


def fig_checkout(stack: Show, fs: FigShow, buyer: str, product: str, quantity: int, name: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    address = {"city": "Dhaka", "area": "Mirpur", **({"name": name} if name else {})}
    r = stack.as_user("viewer", buyer).post(
        "/checkout/instant", headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"stream_id": fs.sid, "payment_method": "bkash", "shipping_address": address,
              "cart_items": [{"product_id": product, "quantity": quantity, "price": fs.price(product)}], **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def fig_pay(stack: Show, buyer: str, placed: dict[str, Any]) -> dict[str, Any]:
    """Pay at the provider (the sandbox) as the buyer does; returns once the buyer sees the order paid."""
    assert stack.pay(placed["payment_url"]).status_code == 200
    buyer_http = stack.as_user("viewer", buyer)

    def paid() -> dict[str, Any] | None:
        r = buyer_http.get(f"/orders/{placed['order_id']}")
        return r.json() if r.status_code == 200 and r.json()["status"] == "paid" else None

    return dict(fig_until(paid, f"order {placed['order_id']} paid"))


def fig_buy(stack: Show, fs: FigShow, buyer: str, product: str, quantity: int, name: str | None = None,
            **extra: Any) -> dict[str, Any]:
    placed = fig_checkout(stack, fs, buyer, product, quantity, name, **extra)
    fig_pay(stack, buyer, placed)
    return placed


def fig_refund(http: httpx.Client, order_id: str, amount: float | None) -> None:
    body = {"reason": "customer changed their mind", **({"amount": amount} if amount else {})}
    r = http.post(f"/orders/{order_id}/refunds", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text


def fig_until(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    return wait_until(predicate, timeout=timeout, interval=0.05, what=what)


async def fig_until_async(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    """``fig_until`` for tests with Socket.IO viewers: the loop keeps running (their sockets answer pings)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(predicate)
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


def fig_detail(http: httpx.Client, sid: str, **want: Any) -> dict[str, Any] | None:
    """GET /streams/:id once ``want`` holds in its ``sales_stats`` (or its top level, or ``viewer_stats``)."""
    r = http.get(f"/streams/{sid}")
    assert r.status_code == 200, r.text
    d = r.json()
    flat = {**d, **d["viewer_stats"], **d["sales_stats"]}
    return d if all(flat[k] == v for k, v in want.items()) else None


def fig_analytics(http: httpx.Client, sid: str, **want: Any) -> dict[str, Any] | None:
    """GET /streams/:id/analytics once ``want`` holds in its overview or its funnel."""
    r = http.get(f"/streams/{sid}/analytics")
    assert r.status_code == 200, r.text
    d = r.json()
    flat = {**d["overview"], **d["sales_analytics"]["conversion_funnel"]}
    return d if all(flat[k] == v for k, v in want.items()) else None


def fig_anonymous(stack: Show) -> httpx.Client:
    """A client of the API that is not signed in."""
    return httpx.Client(base_url=stack.http.base_url, timeout=30)


async def fig_watch(stack: Show, sid: str, *users: str | None) -> None:
    """Viewers join the stack's room over Socket.IO and leave again (None: anonymous)."""
    for user in users:
        v = await stack.viewer("viewer", user) if user else await stack.viewer()
        await v.join(sid)
        await v.client.disconnect()



# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────

def test_journey_06_featured_streams(show: Show) -> None:  # noqa: F811
    """An admin features a show (``POST /streams/:id/feature`` without a body) and takes it off (``DELETE``);
    it appears in ``featured_streams`` of ``GET /streams`` meanwhile; the product feature keeps working."""
    fs = fig_live_show(show, start=False)
    host = show.as_user("host", str(uuid.uuid4()))
    vendor = show.as_user("vendor", fs.vendor)
    anonymous = fig_anonymous(show)

    def featured_ids() -> list[str]:
        return [s["id"] for s in show.http.get("/streams", params={"limit": 100}).json()["featured_streams"]]

    # Only admins feature a show: anonymous 401, the show's own vendor and other roles 403; nothing written.
    assert anonymous.post(f"/streams/{fs.sid}/feature").status_code == 401
    for who in (vendor, host, show.as_user("viewer")):
        r = who.post(f"/streams/{fs.sid}/feature")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_permitted", r.text
    assert vendor.delete(f"/streams/{fs.sid}/feature").status_code == 403
    assert show.http.get(f"/streams/{fs.sid}").json()["version"] == 1

    featured = show.http.post(f"/streams/{fs.sid}/feature")
    assert featured.status_code == 200, featured.text
    assert featured.json() == {"id": fs.sid, "version": 2, "is_featured": True}
    again = show.http.post(f"/streams/{fs.sid}/feature", json={})  # already featured: nothing recorded
    assert again.json() == {"id": fs.sid, "version": 2, "is_featured": True}
    d = show.http.get(f"/streams/{fs.sid}", params={"min_version": 2}).json()
    assert d["is_featured"] is True and d["featured_at"] is not None
    assert fs.sid in featured_ids()
    listed = show.http.get("/streams", params={"limit": 100}).json()
    entry = next(s for s in listed["featured_streams"] if s["id"] == fs.sid)
    assert entry["is_featured"] is True and entry["status"] == "scheduled" and entry["title"] == "ঈদ লাইভ সেল"

    # The product feature of the same route still works (its body names the product), for the show's staff.
    assert vendor.post(f"/streams/{fs.sid}/start").status_code == 200
    product = vendor.post(f"/streams/{fs.sid}/feature", json={"product_id": fs.iphone})
    assert product.status_code == 200, product.text
    assert product.json() == {"id": fs.sid, "version": 4, "featured_product_id": fs.iphone}
    d = show.http.get(f"/streams/{fs.sid}", params={"min_version": 4}).json()
    assert d["featured_product_id"] == fs.iphone and d["is_featured"] is True and d["status"] == "live"
    bad = show.http.post(f"/streams/{fs.sid}/feature", json={"product": fs.iphone})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"

    # A private show is never among the featured ones, even featured.
    private = fig_live_show(show, start=False, is_public=False)
    assert show.http.post(f"/streams/{private.sid}/feature").status_code == 200
    assert show.http.get(f"/streams/{private.sid}", params={"min_version": 2}).json()["is_featured"] is True
    assert private.sid not in featured_ids()

    # Unfeatured by an admin: off the list at once (read your write), and again changes nothing.
    off = show.http.delete(f"/streams/{fs.sid}/feature")
    assert off.status_code == 200 and off.json() == {"id": fs.sid, "version": 5, "is_featured": False}
    assert show.http.get(f"/streams/{fs.sid}", params={"min_version": 5}).json()["is_featured"] is False
    assert fs.sid not in featured_ids()
    assert show.http.delete(f"/streams/{fs.sid}/feature").json()["version"] == 5

    # A show that is over cannot be featured; an unknown one is 404.
    assert show.http.post(f"/streams/{fs.sid}/end", json={}).status_code == 200
    closed = show.http.post(f"/streams/{fs.sid}/feature")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "stream_closed"
    assert show.http.post(f"/streams/{uuid.uuid4()}/feature").status_code == 404
    anonymous.close()



# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────

async def test_journey_07_live_payment_confirmation_in_chat(show: Show) -> None:  # noqa: F811
    """A confirmed payment becomes a system chat message in English and Bangla: masked buyer, product name."""
    fs = fig_live_show(show)
    spec_client = await show.viewer()  # the spec's client: one new_message per message
    batch_client = await show.viewer("viewer", str(uuid.uuid4()))  # big-show mode: new_messages
    await spec_client.join(fs.sid)
    await batch_client.join(fs.sid, chat_batch=True)

    failed = await asyncio.to_thread(fig_checkout, show, fs, str(uuid.uuid4()), fs.iphone, 1, "Failing Farid")
    assert (await asyncio.to_thread(show.pay, failed["payment_url"], "failure")).status_code == 200
    rahima, karim = str(uuid.uuid4()), str(uuid.uuid4())
    first = await asyncio.to_thread(fig_checkout, show, fs, rahima, fs.iphone, 1, "Rahima Akter")
    second = await asyncio.to_thread(fig_checkout, show, fs, karim, fs.saree, 2, "করিম")
    for placed in (first, second):
        assert (await asyncio.to_thread(show.pay, placed["payment_url"])).status_code == 200

    def confirmations(v: Any) -> list[dict[str, Any]]:
        one = [m for m in v.got("new_message") if m.get("message_type") == "payment_confirmation"]
        many = [m for b in v.got("new_messages") for m in b["messages"]
                if m.get("message_type") == "payment_confirmation"]
        return one + many

    for v in (spec_client, batch_client):
        deadline = time.monotonic() + 30
        while len(confirmations(v)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    got = confirmations(spec_client)
    assert [(m["message"], m["message_bn"]) for m in got] == [
        ("R*** bought iPhone 14 Pro", "R*** আইফোন ১৪ প্রো কিনেছেন"),
        ("ক*** bought 2 × Jamdani Saree", "ক*** ২টি জামদানি শাড়ি কিনেছেন")]
    assert got[0] == {**got[0], "stream_id": fs.sid, "user_id": None, "username": "system", "system": True,
                      "buyer": "R***", "product_id": fs.iphone, "product_name": "iPhone 14 Pro",
                      "product_name_bn": "আইফোন ১৪ প্রো", "quantity": 1, "is_highlighted": True}
    assert "Rahima" not in str(got) and rahima not in str(got) and first["order_id"] not in str(got)
    assert [m["id"] for m in confirmations(batch_client)] == [m["id"] for m in got]
    assert not any("Farid" in m["message"] or "F***" in m["message"] for m in got)  # the failed one: nothing
    for v in (spec_client, batch_client):
        await v.client.disconnect()



# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────


# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────

async def test_journey_09_host_analytics(show: Show) -> None:  # noqa: F811
    """``GET /hosts/:host_id/analytics`` by profile id, signed in as the host, their vendor or an admin;
    ``metrics`` picks sections; ``follower_growth`` from the follow history."""
    vendor, user = str(uuid.uuid4()), str(uuid.uuid4())
    host = show.as_user("host", user, vendor)
    applied = host.post("/hosts/apply", json={"host_name": "Sarah Khan", "languages": ["bn", "en"]})
    assert applied.status_code == 201, applied.text
    profile = applied.json()["id"]
    assert show.http.post(f"/hosts/{profile}/verify").status_code == 200
    # Two followers from before the period (40 days ago: written to the store as they were then), one now.
    old = [str(uuid.uuid4()), str(uuid.uuid4())]
    fig_seed_follows(show, profile, user, old, datetime.now(UTC) - timedelta(days=40))
    assert show.as_user("viewer").post(f"/hosts/{profile}/follow").status_code == 200

    fs = fig_live_show(show, vendor, client=host)  # the host's own show
    buyer = str(uuid.uuid4())
    await fig_watch(show, fs.sid, buyer, str(uuid.uuid4()))
    fig_buy(show, fs, buyer, fs.iphone, 1)

    url = f"/hosts/{profile}/analytics"
    want = {"total_streams": 1, "revenue_generated": 95000.0, "conversion_rate": 0.5}

    def figures(who: httpx.Client, **params: str) -> dict[str, Any] | None:
        r = who.get(url, params={"period": "30d", **params})
        assert r.status_code == 200, r.text
        d = r.json()
        perf = d.get("performance_metrics", {})
        ok = all(perf.get(k) == v for k, v in want.items()) and d["growth_metrics"]["followers"] == 3
        return d if ok else None

    d = fig_until(lambda: figures(host), "host analytics with the show and three followers")
    assert d["host_id"] == profile and d["period"] == "30d"
    perf = d["performance_metrics"]
    assert perf == {**perf, "total_streams": 1, "average_viewers_per_stream": 2, "revenue_generated": 95000.0,
                    "conversion_rate": 0.5, "engagement_rate": 0.0}
    assert d["growth_metrics"] == {"follower_growth": 0.5, "followers": 3, "followers_at_start": 2,
                                   "viewership_growth": None, "revenue_growth": None}
    assert d["top_performing_streams"][0] == {**d["top_performing_streams"][0], "id": fs.sid, "viewers": 2,
                                              "purchases": 1, "revenue": 95000.0}
    assert isinstance(d["improvement_suggestions"], list)
    # The host's vendor and an admin see the same; anyone else may not; nobody without signing in.
    assert figures(show.as_user("vendor", vendor)) == d and figures(show.http) == d
    for who in (show.as_user("viewer"), show.as_user("vendor", str(uuid.uuid4())),
                show.as_user("host", str(uuid.uuid4()), vendor)):
        r = who.get(url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_permitted", r.text
    anonymous = fig_anonymous(show).get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "sign_in_required"
    # The profile id, like every /hosts/:id: the host's user id is not a host.
    by_user = show.http.get(f"/hosts/{user}/analytics")
    assert by_user.status_code == 404 and by_user.json()["error"]["code"] == "host_not_found"

    # metrics picks sections; an unknown one or period is refused.
    only = host.get(url, params={"metrics": "growth"}).json()
    assert set(only) == {"host_id", "period", "metrics", "growth_metrics"}
    two = host.get(url, params={"metrics": "performance,top_streams"}).json()
    assert set(two) == {"host_id", "period", "metrics", "performance_metrics", "top_performing_streams"}
    for bad in ({"metrics": "revenue"}, {"period": "forever"}, {"period": "0d"}):
        r = host.get(url, params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed", (bad, r.text)

    # One of the old followers leaves: as many now as when the period began.
    assert show.as_user("viewer", old[0]).post(f"/hosts/{profile}/unfollow").status_code == 200

    def left() -> dict[str, Any] | None:
        g = host.get(url, params={"metrics": "growth"}).json()["growth_metrics"]
        return g if g["followers"] == 2 else None

    assert fig_until(left, "an unfollow in the growth") == {
        "follower_growth": 0.0, "followers": 2, "followers_at_start": 2, "viewership_growth": None,
        "revenue_growth": None}


def fig_seed_follows(stack: Show, profile: str, host_user: str, followers: list[str], at: datetime) -> None:
    """Follows from before this test's time, written through the real aggregate into the event store (there is
    no way to follow in the past over HTTP); the relay and projections take them from there."""
    from application.event_store import LiveCommerceStore
    from domain.host_follow import HostFollow

    store = LiveCommerceStore(stack.env.eventsourcing_env(create_tables=False))
    try:
        store.save(*[HostFollow.start(now=at, host_id=profile, host_user_id=host_user, follower_id=f)
                     for f in followers])
    finally:
        store.close()



# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────

async def test_journey_12_viewer_counts_move(show: Show) -> None:  # noqa: F811
    """``current_viewers`` in GET /streams and on top of GET /streams/:id, and the host dashboard's
    ``total_viewers``, follow presence: joins raise them, leaves lower the current count."""
    vendor, user = str(uuid.uuid4()), str(uuid.uuid4())
    host = show.as_user("host", user, vendor)
    profile = host.post("/hosts/apply", json={"host_name": "Nusrat", "languages": ["bn"]}).json()["id"]
    assert show.http.post(f"/hosts/{profile}/verify").status_code == 200
    fs = fig_live_show(show, vendor, client=host)

    def counts(want: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        """(in GET /streams, on top of GET /streams/:id, in its viewer_stats, the dashboard's total_viewers)"""
        listed = show.http.get("/streams", params={"status": "live", "limit": 100}).json()["streams"]
        in_list = next(s["current_viewers"] for s in listed if s["id"] == fs.sid)
        d = show.http.get(f"/streams/{fs.sid}").json()
        dash = host.get("/hosts/dashboard")
        if dash.status_code != 200:  # the new profile not projected yet
            return None
        got = (in_list, d["current_viewers"], d["viewer_stats"]["current_viewers"],
               dash.json()["performance_summary"]["total_viewers"])
        return got if got == want else None

    await fig_until_async(lambda: counts((0, 0, 0, 0)), "nobody watching yet")
    signed_in, anonymous = await show.viewer("viewer", str(uuid.uuid4())), await show.viewer()
    await signed_in.join(fs.sid)
    await anonymous.join(fs.sid)
    await fig_until_async(lambda: counts((2, 2, 2, 2)), "two viewers counted everywhere")
    await anonymous.client.disconnect()
    # One left: the current counts drop; the dashboard counts everyone who watched.
    await fig_until_async(lambda: counts((1, 1, 1, 2)), "one viewer left")
    await signed_in.client.disconnect()
    await fig_until_async(lambda: counts((0, 0, 0, 2)), "everyone left")
    d = show.http.get(f"/streams/{fs.sid}").json()["viewer_stats"]
    assert d == {"current_viewers": 0, "peak_viewers": 2, "total_unique_viewers": 2}


async def test_journey_12_private_and_anonymous_out_of_trending(show: Show) -> None:  # noqa: F811
    """Issue 19 (part 6): anonymous viewers lift no show in trending; a private show is in no list, and its
    detail is for its invited only (its host, vendor, assigned moderators, admins)."""
    import redis

    crowd, watched = fig_live_show(show), fig_live_show(show)
    vendor, user, moderator = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    host = show.as_user("host", user, vendor)
    profile = host.post("/hosts/apply", json={"host_name": "Private Pia", "languages": ["bn"]}).json()["id"]
    assert show.http.post(f"/hosts/{profile}/verify").status_code == 200
    private = fig_live_show(show, vendor, client=host, is_public=False)
    assert host.post(f"/streams/{private.sid}/moderators", json={"moderator_id": moderator}).status_code == 201

    viewers = [await show.viewer() for _ in range(3)]  # three anonymous viewers
    for v in viewers:
        await v.join(crowd.sid)
    one = await show.viewer("viewer", str(uuid.uuid4()))  # one signed-in viewer
    await one.join(watched.sid)
    fan = await show.viewer("viewer", str(uuid.uuid4()))
    await fan.join(private.sid)
    r = redis.Redis.from_url(show.env.redis_url, decode_responses=True)

    def lifted() -> bool:
        return (r.hget(f"STREAM_METRICS:{crowd.sid}", "current_viewers") == "3"
                and r.zscore("TRENDING_STREAMS", watched.sid) == 2.0
                and r.zscore("TRENDING_STREAMS", private.sid) == 2.0)

    await fig_until_async(lifted, "joins projected")
    assert r.zscore("TRENDING_STREAMS", crowd.sid) == 0.0, "three anonymous joins lift nothing"
    r.close()
    listing = show.http.get("/streams", params={"limit": 100}).json()
    trending = [s["id"] for s in listing["trending_streams"]]
    assert watched.sid in trending and private.sid not in trending
    assert crowd.sid not in trending or trending.index(crowd.sid) > trending.index(watched.sid)
    every = [s["id"] for k in ("streams", "trending_streams", "featured_streams") for s in listing[k]]
    assert private.sid not in every and crowd.sid in every

    url = f"/streams/{private.sid}"
    anonymous = fig_anonymous(show).get(url)
    assert anonymous.status_code == 404 and anonymous.json()["error"]["code"] == "stream_not_found"
    for outsider in (show.as_user("viewer"), show.as_user("vendor", str(uuid.uuid4())),
                     show.as_user("host", str(uuid.uuid4()), vendor)):
        refused = outsider.get(url)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "stream_not_found"
        assert outsider.get(f"{url}/analytics").status_code == 404
    for invited in (host, show.as_user("vendor", vendor), show.as_user("moderator", moderator), show.http):
        seen = invited.get(url)
        assert seen.status_code == 200 and seen.json()["is_public"] is False, seen.text
    bad_token = fig_anonymous(show).get(url, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    for v in (*viewers, one, fan):
        await v.client.disconnect()



# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────

async def test_journey_14_one_set_of_figures(show: Show) -> None:  # noqa: F811
    """Revenue net of refunds is one figure in analytics, sales_stats, the dashboard and host analytics; no
    conversion rate above 1; a funnel that only narrows; watch time in minutes; a flash sale named after its
    product; every amount a number."""
    vendor, user, a, b = (str(uuid.uuid4()) for _ in range(4))
    host = show.as_user("host", user, vendor)
    profile = host.post("/hosts/apply", json={"host_name": "Tania", "languages": ["bn"]}).json()["id"]
    assert show.http.post(f"/hosts/{profile}/verify").status_code == 200
    fs = fig_live_show(show, vendor, client=host)
    await fig_watch(show, fs.sid, a)  # one viewer; b buys without ever joining the room
    fig_cart_add(show, fs, a, fs.saree, 2)
    paid_a = fig_buy(show, fs, a, fs.saree, 2, live_discount_code="LIVE20")  # 5,000.00 − 20% = 4,000.00
    fig_buy(show, fs, b, fs.iphone, 1)  # 95,000.00
    fig_refund(show.as_user("vendor", vendor), paid_a["order_id"], 500.00)  # net: 3,500.00 + 95,000.00
    await fig_visit(show, fs.sid, a, watch_seconds=600)  # a came back and watched ten minutes

    expected = {
        "sales_stats": 98500.0, "analytics": 98500.0, "by_product": 98500.0, "dashboard": 98500.0,
        "host_analytics": 98500.0,
        # audience = viewers {a} ∪ buyers {a, b}: 2 buyers of 2 (purchases per joined viewer said 2.0)
        "conversion": [1.0, 1.0, 1.0, 1.0],
        # b's instant checkout counts as a cart add: no step shows more than the one before it
        "funnel": {"viewers": 2, "product_views": 2, "cart_adds": 2, "purchases": 2},
        # (600 s + a first visit of a moment) / 2 finished visits = 5.0 minutes, from Redis and from SQL alike
        "watch": [5.0, 5.0]}

    def figures() -> dict[str, Any] | None:
        d = show.http.get(f"/streams/{fs.sid}").json()
        an = show.http.get(f"/streams/{fs.sid}/analytics").json()
        dash = host.get("/hosts/dashboard").json()["performance_summary"]
        ha = host.get(f"/hosts/{profile}/analytics").json()["performance_metrics"]
        out = {"sales_stats": d["sales_stats"]["total_revenue"], "analytics": an["overview"]["revenue"],
               "by_product": sum(p["revenue"] for p in an["sales_analytics"]["revenue_by_product"]),
               "dashboard": dash["total_sales"], "host_analytics": ha["revenue_generated"],
               "conversion": [d["sales_stats"]["conversion_rate"], an["sales_analytics"]["conversion_rate"],
                              dash["conversion_rate"], ha["conversion_rate"]],
               "funnel": an["sales_analytics"]["conversion_funnel"],
               "watch": [d["engagement_stats"]["average_watch_time"], an["overview"]["average_watch_time"]]}
        return out if out == expected else None

    assert await fig_until_async(figures, "one set of figures everywhere") == expected

    # A flash sale names its product, not its announcement; its live price is a number like every amount.
    sale = host.post("/flash-sales", json={
        "stream_id": fs.sid, "product_id": fs.iphone, "flash_price": 85000.00, "available_quantity": 20,
        "duration_minutes": 30, "announcement_message": "Flash Sale: iPhone 14 Pro for 85,000 BDT!"})
    assert sale.status_code == 201, sale.text

    def sale_read() -> dict[str, Any] | None:
        r = show.http.get(f"/flash-sales/{sale.json()['id']}")
        return r.json() if r.status_code == 200 and r.json()["live"].get("status") == "active" else None

    fl = await fig_until_async(sale_read, "the flash sale read model")
    assert (fl["product_name"], fl["product_name_bn"]) == ("iPhone 14 Pro", "আইফোন ১৪ প্রো")
    assert fl["sale_name"] == "Flash Sale: iPhone 14 Pro for 85,000 BDT!"
    assert (fl["live_price"], fl["original_price"], fl["live"]["current_price"]) == (85000.0, 95000.0, 85000.0)
    assert fl["live"]["remaining_quantity"] == 20
    deals = show.http.get(f"/streams/{fs.sid}/deals").json()["active_deals"]
    assert [d["product_name"] for d in deals] == ["iPhone 14 Pro"]

    # One money format in every answer: numbers of taka, never "85000.00" strings.
    stale = show.as_user("viewer", a).post("/cart/add", json={"stream_id": fs.sid, "product_id": fs.iphone,
                                                              "special_price": 90000.00})
    assert stale.status_code == 409 and stale.json()["error"]["details"]["current_price"] == 95000.0
    answers = [fl, deals, stale.json(), show.as_user("viewer", a).get(f"/orders/{paid_a['order_id']}").json(),
               host.get("/hosts/dashboard").json(), show.http.get(f"/streams/{fs.sid}/analytics").json(),
               show.http.get(f"/streams/{fs.sid}").json(), show.http.get("/streams").json(),
               host.get(f"/hosts/{profile}/analytics").json()]
    assert fig_string_amounts(answers) == []
    order = answers[3]
    assert (order["total"], order["refunded"]) == (4000.0, 500.0)


async def test_journey_14_analytics_sign_in_and_timeout(show: Show) -> None:  # noqa: F811
    """Issue 19 (part 6): analytics reads need sign-in, and a read that cannot finish within the statement
    timeout answers ``503 analytics_timeout`` instead of holding the connection."""
    import psycopg

    fs = fig_live_show(show)
    for path in (f"/streams/{fs.sid}/analytics", f"/hosts/{uuid.uuid4()}/analytics"):
        r = fig_anonymous(show).get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_required", r.text
    assert show.http.get(f"/streams/{fs.sid}/analytics").status_code == 200
    # A table the analytics read held by a long maintenance lock: the read gives up after the timeout.
    with psycopg.connect(show.env.read_url) as conn:
        conn.execute("LOCK TABLE live_stream_viewers IN ACCESS EXCLUSIVE MODE")
        t0 = time.monotonic()
        slow = await asyncio.to_thread(show.http.get, f"/streams/{fs.sid}/analytics")
        waited = time.monotonic() - t0
        conn.rollback()
    assert slow.status_code == 503 and slow.json()["error"]["code"] == "analytics_timeout", slow.text
    assert slow.json()["error"]["message_bn"]
    print(f"\njourney 14: analytics gave up after {waited:.2f}s (statement timeout "
          f"{show.env.analytics_statement_timeout_ms} ms)")
    assert show.http.get(f"/streams/{fs.sid}/analytics").status_code == 200


def fig_string_amounts(answer: Any, path: str = "") -> list[str]:
    """Where an answer still carries an amount as a string ("85000.00")."""
    if isinstance(answer, dict):
        return [p for k, v in answer.items() for p in fig_string_amounts(v, f"{path}.{k}")]
    if isinstance(answer, list):
        return [p for i, v in enumerate(answer) for p in fig_string_amounts(v, f"{path}[{i}]")]
    if isinstance(answer, str) and re.fullmatch(r"-?\d+\.\d{2}", answer):
        return [f"{path}={answer!r}"]
    return []


async def fig_visit(stack: Show, sid: str, user: str, watch_seconds: int) -> None:
    """A finished visit of ``watch_seconds``, as the gateway records it on the log (joined, left): a ten
    minute visit cannot be waited for in a test."""
    from aiokafka import AIOKafkaProducer

    from application.interactions import InteractionIds, interaction

    ids, conn = InteractionIds(f"visit-{uuid.uuid4().hex[:8]}"), f"visit-{uuid.uuid4().hex[:8]}"
    t0 = datetime.now(UTC) - timedelta(seconds=watch_seconds)
    producer = AIOKafkaProducer(bootstrap_servers=stack.env.kafka_bootstrap)
    await producer.start()
    try:
        for type_, at, payload in (
                ("presence.joined", t0, {"viewer_id": user, "user_id": user, "connection_id": conn,
                                         "device_type": "mobile", "location": "Dhaka"}),
                ("presence.left", t0 + timedelta(seconds=watch_seconds),
                 {"viewer_id": user, "connection_id": conn, "watch_seconds": watch_seconds})):
            e = interaction(ids, type_, sid, payload, at)
            await producer.send_and_wait(stack.env.topic("interactions"), e.to_json(), key=e.key)
    finally:
        await producer.stop()



# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

