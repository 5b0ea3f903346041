"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e import journeys
from tests.e2e.journeys import P, Show, show  # noqa: F401  (the module-scoped stack fixture)
from tests.support import wait_until

# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


async def test_journey_2_stream_stock(clocked: Show) -> None:
    """A stream product's ``limited_quantity`` is real stock: cart adds and checkouts hold it, payment sells it,
    a failed or timed-out payment gives it back; ``sold_quantity`` and the room's ``stock_update`` follow; 60
    buyers racing for 20 units buy exactly 20, and retries with the same key get the first answer."""
    s = clocked
    phone, case = str(uuid.uuid4()), str(uuid.uuid4())
    sid = live_show(s, [(phone, 15000.00, 20), (case, 300.00, 3)])
    room = await room_of(s, sid)

    # Cart adds hold stock: 2 of the 3 cases are held, a second viewer cannot take 2 more.
    held = s.as_user("viewer", str(uuid.uuid4())).post("/cart/add", json={
        "stream_id": sid, "product_id": case, "quantity": 2})
    assert held.status_code == 200 and held.json()["total"] == 600.0, held.text
    assert await stock_seen(room, case, 1, 0) == {"stream_id": sid, "product_id": case, "available": 1, "sold": 0}
    short = s.as_user("viewer", str(uuid.uuid4())).post("/cart/add", json={
        "stream_id": sid, "product_id": case, "quantity": 2})
    assert short.status_code == 409 and short.json()["error"]["code"] == "insufficient_stock"
    assert short.json()["error"]["details"]["available"] == 1

    # 60 buyers race through /checkout/instant for the 20 phones; each then retries with its key.
    buyers = [str(uuid.uuid4()) for _ in range(60)]
    body = {"stream_id": sid, "cart_items": [{"product_id": phone, "quantity": 1, "price": 15000.00}],
            "payment_method": "bkash", "shipping_address": {"city": "Dhaka", "area": "Mirpur"}}
    first = await race_checkouts(s, buyers, body)
    again = await race_checkouts(s, buyers, body)
    assert Counter(r.status_code for r in first) == {201: 20, 409: 40}
    assert {r.json()["error"]["code"] for r in first if r.status_code == 409} == {"product_sold_out"}
    assert [(r.status_code, r.json()) for r in again] == [(r.status_code, r.json()) for r in first]
    won = [(b, r.json()) for b, r in zip(buyers, first, strict=True) if r.status_code == 201]
    assert {(p["total"], p["payment_status"], p["order_status"]) for _, p in won} == {
        (15000.0, "processing", "pending_payment")}
    assert (await stock_seen(room, phone, 0, 0))["available"] == 0  # all 20 held

    # 18 pay, one payment fails, one is never paid.
    for _, p in won[:18]:
        assert (await asyncio.to_thread(s.pay, p["payment_url"])).status_code == 200
    failed_buyer, failed = won[18]
    assert (await asyncio.to_thread(s.pay, failed["payment_url"], "failure")).status_code == 200
    for buyer, p in won[:18]:
        assert order_when(s, buyer, p["order_id"], "paid")["payment_status"] == "completed"
    assert order_when(s, failed_buyer, failed["order_id"], "payment_failed")["payment_status"] == "failed"
    assert await stock_seen(room, phone, 1, 18) == {"stream_id": sid, "product_id": phone, "available": 1, "sold": 18}
    assert product_when(s, sid, phone, 18)["limited_quantity"] == 20

    # The unpaid one times out (the clock moves past payment_session_timeout_s): its phone comes back.
    late_buyer, late = won[19]
    mark = len(room.got("stock_update"))
    journeys.advance_clock(s, s.env.payment_session_timeout_s + 1)
    assert order_when(s, late_buyer, late["order_id"], "payment_failed")["payment_status"] == "failed"
    assert await stock_seen(room, phone, 2, 18, mark) == {"stream_id": sid, "product_id": phone, "available": 2,
                                                          "sold": 18}

    # The two that came back sell (cash on delivery: sold at once); then the product is sold out.
    last = s.as_user("viewer", str(uuid.uuid4())).post("/checkout/instant", headers={"Idempotency-Key": "last"}, json={
        **body, "cart_items": [{"product_id": phone, "quantity": 2}], "payment_method": "cod", "phone": "01712345678"})
    assert last.status_code == 201 and last.json()["total"] == 30000.0, last.text
    assert await stock_seen(room, phone, 0, 20) == {"stream_id": sid, "product_id": phone, "available": 0,
                                                         "sold": 20}
    assert product_when(s, sid, phone, 20)["sold_quantity"] == 20
    gone = s.as_user("viewer", str(uuid.uuid4())).post("/checkout/instant", headers={"Idempotency-Key": "gone"},
                                                       json=body)
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "product_sold_out"
    phones = [d for d in room.got("stock_update") if d.get("product_id") == phone]
    assert (phones[-1]["available"], phones[-1]["sold"]) == (0, 20)  # in order: the last word is sold out
    assert all(d["available"] + d["sold"] <= 20 for d in phones)
    await room.client.disconnect()


PRODUCT_NAMES: dict[str, str] = {}


@pytest.fixture(scope="module")
def clocked(environments: Environments, log_dir: Path) -> Iterator[Show]:
    """The stack of journeys 2, 3, 4 and 13's payable-after-the-show half: its clock moves forward on demand."""
    env, sandbox = journeys.clocked_settings(environments)
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


def live_show(s: Show, products: list[tuple[str, float, int | None]], **extra: Any) -> str:
    """A show on air with these (product id, special price, limited quantity)."""
    created = s.http.post("/streams", json={
        "title": "ঈদের লাইভ সেল", "stream_type": "flash_sale", **extra,
        "products": [{"product_id": p, "special_price": price, **({"limited_quantity": q} if q else {})}
                     for p, price, q in products]})
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    started = s.http.post(f"/streams/{sid}/start")
    assert started.status_code == 200, started.text
    shown = s.http.get(f"/streams/{sid}", params={"min_version": started.json()["version"]})
    assert shown.status_code == 200 and shown.json()["status"] == "live", shown.text
    return sid


async def room_of(s: Show, sid: str) -> Any:
    """A viewer in the show's room (joined once the gateway knows the show is live)."""
    room = await s.viewer()
    for _ in range(100):
        ack = await room.call("join_stream", {"stream_id": sid, "viewer_info": {"device_type": "mobile"}})
        if ack.get("ok"):
            return room
        await asyncio.sleep(0.1)
    raise AssertionError(f"could not join {sid}: {ack}")


async def stock_seen(room: Any, product_id: str, available: int | None, sold: int, since: int = 0
                     ) -> dict[str, Any]:
    """The room's ``stock_update`` for this product with these counts (available, sold), among the room's stock
    updates after the first ``since`` of them (``len(room.got("stock_update"))`` before the action)."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        for d in room.got("stock_update")[since:]:
            if (d.get("product_id") == product_id and "sale_id" not in d and d["available"] == available
                    and d["sold"] == sold):
                return {k: d[k] for k in ("stream_id", "product_id", "available", "sold")}
        await asyncio.sleep(0.05)
    raise AssertionError(f"no stock_update {available}/{sold} for {product_id}: {room.got('stock_update')[since:]}")


async def race_checkouts(s: Show, buyers: list[str], body: dict[str, Any]) -> list[httpx.Response]:
    """Every buyer's /checkout/instant at once (each with its own key: ``race-{buyer}``)."""
    async with httpx.AsyncClient(base_url=f"{s.url}{P}", timeout=120) as client:
        return list(await asyncio.gather(*(client.post(
            "/checkout/instant", json=body,
            headers={"Authorization": f"Bearer {s.token('viewer', b)}", "Idempotency-Key": f"race-{b}"})
            for b in buyers)))


def order_when(s: Show, buyer: str, order_id: str, status: str) -> dict[str, Any]:
    """The buyer's order once the read model shows ``status``."""
    client = s.as_user("viewer", buyer)

    def look() -> dict[str, Any] | None:
        r = client.get(f"/orders/{order_id}")
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None

    found: dict[str, Any] = wait_until(look, timeout=30, interval=0.1, what=f"order {order_id} {status}")
    return found


def product_when(s: Show, sid: str, product_id: str, sold: int) -> dict[str, Any]:
    """The stream product of ``GET /streams/:id`` once its ``sold_quantity`` is ``sold``."""
    def look() -> dict[str, Any] | None:
        for p in s.http.get(f"/streams/{sid}").json().get("featured_products", []):
            if p["product_id"] == product_id and p["sold_quantity"] == sold:
                return dict(p)
        return None

    found: dict[str, Any] = wait_until(look, timeout=30, interval=0.1, what=f"sold_quantity {sold}")
    return found


def checkout_as(s: Show, buyer: str, key: str, **body: Any) -> httpx.Response:
    return s.as_user("viewer", buyer).post("/checkout/instant", json=body, headers={"Idempotency-Key": key})


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


async def test_journey_3_auction_winner_and_group_buy_members_pay(clocked: Show) -> None:
    """The auction's winner pays with a checkout item ``{auction_id}``; when the winner does not pay in time the
    lot passes to the next bidder, who pays; group-buy members pay for their holds with ``{group_buy_id,
    hold_id}`` once the group unlocks (a failed payment leaves the hold payable; a paid one is not paid twice)."""
    s = clocked
    lot, tee = str(uuid.uuid4()), str(uuid.uuid4())
    sid = live_show(s, [(lot, 5000.00, None), (tee, 2000.00, None)], stream_type="auction")
    auction = s.http.post("/auctions", json={"stream_id": sid, "product_id": lot, "starting_price": 1000.00,
                                             "duration_minutes": 1, "pay_within_minutes": 5})
    assert auction.status_code == 201, auction.text
    aid = auction.json()["auction_id"]
    rahim, karim = str(uuid.uuid4()), str(uuid.uuid4())
    for bidder, top in ((rahim, 8000.00), (karim, 4000.00)):
        bid = s.as_user("viewer", bidder).post(f"/auctions/{aid}/bids", json={"max_amount": top},
                                               headers={"Idempotency-Key": f"bid-{bidder}"})
        assert bid.status_code == 201, bid.text
    group = s.http.post("/group-buys", json={"stream_id": sid, "product_id": tee, "group_price": 1500.00,
                                             "min_buyers": 2, "duration_minutes": 1})
    assert group.status_code == 201, group.text
    gid = group.json()["group_buy_id"]
    members = [str(uuid.uuid4()), str(uuid.uuid4())]
    holds = {}
    for m in members:
        joined = s.as_user("viewer", m).post(f"/group-buys/{gid}/join", headers={"Idempotency-Key": f"join-{m}"})
        assert joined.status_code == 201, joined.text
        holds[m] = joined.json()["hold_id"]

    def pay_lot(buyer: str, key: str) -> httpx.Response:
        return checkout_as(s, buyer, key, stream_id=sid, cart_items=[{"auction_id": aid}], payment_method="bkash",
                           shipping_address={"city": "Rajshahi"})

    def pay_hold(buyer: str, key: str) -> httpx.Response:
        return checkout_as(s, buyer, key, stream_id=sid, payment_method="nagad", shipping_address={"city": "Bogura"},
                           cart_items=[{"group_buy_id": gid, "hold_id": holds[buyer]}])

    # Before the end: nobody has won yet, the group has not unlocked.
    early = pay_lot(rahim, "lot-early")
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_auction_winner"
    locked = pay_hold(members[0], "hold-early")
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "group_buy_not_unlocked"
    mixed = checkout_as(s, rahim, "mixed", stream_id=sid, payment_method="bkash", shipping_address={"c": "x"},
                        cart_items=[{"auction_id": aid, "hold_id": holds[members[0]]}])
    assert mixed.status_code == 422 and mixed.json()["error"]["code"] == "validation_failed"

    journeys.advance_clock(s, 61)  # the auction's end and the group buy's deadline pass
    won = wait_until(lambda: (r := s.http.get(f"/auctions/{aid}").json()).get("status") == "awarded" and r,
                     timeout=30, what="auction awarded")
    assert (won["winner_id"], won["winning_price"]) == (rahim, 4100.0)  # karim's 4000 + one 100 step
    wait_until(lambda: s.http.get(f"/group-buys/{gid}").json().get("status") == "unlocked", timeout=30,
               what="group buy unlocked")

    # Group-buy members pay at the group price; a failed payment leaves the hold payable.
    first = pay_hold(members[0], "hold-1")
    assert first.status_code == 201 and first.json()["total"] == 1500.0, first.text
    assert s.pay(first.json()["payment_url"]).status_code == 200
    assert order_when(s, members[0], first.json()["order_id"], "paid")["total"] == 1500.0
    twice = pay_hold(members[0], "hold-2")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "group_buy_not_unlocked"
    declined = pay_hold(members[1], "hold-1")
    assert s.pay(declined.json()["payment_url"], "failure").status_code == 200
    assert order_when(s, members[1], declined.json()["order_id"], "payment_failed")["payment_status"] == "failed"
    retried = pay_hold(members[1], "hold-2")
    assert retried.status_code == 201 and retried.json()["total"] == 1500.0, retried.text
    assert s.pay(retried.json()["payment_url"]).status_code == 200
    assert order_when(s, members[1], retried.json()["order_id"], "paid")["payment_status"] == "completed"
    stranger = checkout_as(s, str(uuid.uuid4()), "steal", stream_id=sid, payment_method="bkash",
                           shipping_address={"c": "x"},
                           cart_items=[{"group_buy_id": gid, "hold_id": holds[members[1]]}])
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "hold_not_found"

    # Only the winner may pay; rahim lets the deadline pass, the lot passes to karim at the price without rahim.
    not_winner = pay_lot(karim, "lot-karim-early")
    assert not_winner.status_code == 409 and not_winner.json()["error"]["code"] == "no_auction_winner"
    journeys.advance_clock(s, 5 * 60 + 1)
    passed = wait_until(lambda: (r := s.http.get(f"/auctions/{aid}").json()).get("winner_id") == karim and r,
                        timeout=30, what="lot passed to the next bidder")
    assert (passed["status"], passed["winning_price"]) == ("awarded", 1000.0)
    too_late = pay_lot(rahim, "lot-rahim-late")
    assert too_late.status_code == 409 and too_late.json()["error"]["code"] == "no_auction_winner"
    paid = pay_lot(karim, "lot-karim")
    assert paid.status_code == 201 and paid.json()["total"] == 1000.0, paid.text
    assert s.pay(paid.json()["payment_url"]).status_code == 200
    order = order_when(s, karim, paid.json()["order_id"], "paid")
    assert [(line["product_id"], line["quantity"], line["auction_id"]) for line in order["lines"]] == [(lot, 1, aid)]
    wait_until(lambda: s.http.get(f"/auctions/{aid}").json().get("status") == "sold", timeout=30, what="lot sold")


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


async def test_journey_4_cart_to_order(clocked: Show) -> None:
    """``POST /checkout/instant`` without ``cart_items`` (or with ``cart_id``) checks the buyer's live cart out at
    the prices they saw; the order empties the cart; an abandoned cart expires and gives its stock back."""
    s = clocked
    shirt, saree = str(uuid.uuid4()), str(uuid.uuid4())
    sid = live_show(s, [(shirt, 800.00, 5), (saree, 2500.00, None)])
    room = await room_of(s, sid)
    buyer = str(uuid.uuid4())
    me = s.as_user("viewer", buyer)
    for product, quantity in ((shirt, 2), (saree, 1)):
        added = me.post("/cart/add", json={"stream_id": sid, "product_id": product, "quantity": quantity})
        assert added.status_code == 200, added.text
    cart = me.get("/cart", params={"stream_id": sid}).json()
    assert (cart["total"], sorted((i["product_id"], i["quantity"]) for i in cart["items"])) == (
        4100.0, sorted([(shirt, 2), (saree, 1)]))
    assert cart["expires_at"] is not None
    assert await stock_seen(room, shirt, 3, 0) == {"stream_id": sid, "product_id": shirt, "available": 3, "sold": 0}

    body = {"stream_id": sid, "payment_method": "bkash", "shipping_address": {"city": "Chattogram"}}
    both = checkout_as(s, buyer, "both", **body, cart_id=cart["cart_id"], cart_items=[{"product_id": shirt}])
    assert both.status_code == 422 and both.json()["error"]["code"] == "validation_failed"
    not_mine = checkout_as(s, str(uuid.uuid4()), "not-mine", **body, cart_id=cart["cart_id"])
    assert not_mine.status_code == 404 and not_mine.json()["error"]["code"] == "cart_not_found"
    placed = checkout_as(s, buyer, "cart-1", **body)
    assert placed.status_code == 201, placed.text
    assert (placed.json()["total"], placed.json()["payment_status"]) == (4100.0, "processing")
    assert checkout_as(s, buyer, "cart-1", **body).json() == placed.json()  # a retry: the first answer
    emptied = me.get("/cart", params={"stream_id": sid}).json()
    assert (emptied["items"], emptied["total"], emptied["expires_at"]) == ([], 0.0, None)
    empty = checkout_as(s, buyer, "cart-2", **body)
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "cart_empty"
    assert s.pay(placed.json()["payment_url"]).status_code == 200
    order = order_when(s, buyer, placed.json()["order_id"], "paid")
    assert sorted((line["product_id"], line["quantity"], line["unit_price"]) for line in order["lines"]) == sorted(
        [(shirt, 2, "800.00"), (saree, 1, "2500.00")])
    assert product_when(s, sid, shirt, 2)["limited_quantity"] == 5
    assert product_when(s, sid, saree, 1)["limited_quantity"] is None

    # Another buyer fills a cart with the last three shirts and walks away; a third finds none.
    walker, late = str(uuid.uuid4()), str(uuid.uuid4())
    held = s.as_user("viewer", walker).post("/cart/add", json={"stream_id": sid, "product_id": shirt, "quantity": 3})
    assert held.status_code == 200, held.text
    assert await stock_seen(room, shirt, 0, 2) == {"stream_id": sid, "product_id": shirt, "available": 0, "sold": 2}
    refused = s.as_user("viewer", late).post("/cart/add", json={"stream_id": sid, "product_id": shirt})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "product_sold_out"

    mark = len(room.got("stock_update"))
    journeys.advance_clock(s, s.env.cart_hold_s + 1)  # the walker's cart passes its deadline
    assert await stock_seen(room, shirt, 3, 2, mark) == {"stream_id": sid, "product_id": shirt, "available": 3,
                                                       "sold": 2}
    gone = s.as_user("viewer", walker).get("/cart", params={"stream_id": sid}).json()
    assert (gone["items"], gone["total"]) == ([], 0.0)
    mine = s.as_user("viewer", late).post("/cart/add", json={"stream_id": sid, "product_id": shirt, "quantity": 3})
    assert mine.status_code == 200 and mine.json()["total"] == 2400.0, mine.text
    by_id = checkout_as(s, late, "late-cart", **{**body, "payment_method": "cod"}, phone="01812345678",
                        cart_id=mine.json()["cart_id"])
    assert by_id.status_code == 201 and by_id.json()["total"] == 2400.0, by_id.text
    assert product_when(s, sid, shirt, 5)["sold_quantity"] == 5  # cash on delivery: sold at once
    await room.client.disconnect()


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────


# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────


# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────


# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────


# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────


# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────


# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# Second half: what was taken during the show stays payable after it (on the clocked stack of journey 2).


async def test_journey_13_holds_and_wins_stay_payable_after_the_show_ends(clocked: Show) -> None:
    """After the show ends, a flash-sale hold, an auction win and a group-buy hold taken during it are still paid
    for until their own deadline; the show's plain items are not sold any more (``stream_not_live``)."""
    s = clocked
    gadget, lot, tee, plain = (str(uuid.uuid4()) for _ in range(4))
    sid = live_show(s, [(gadget, 2000.00, None), (lot, 5000.00, None), (tee, 900.00, None), (plain, 100.00, 10)])
    sale = s.http.post("/flash-sales", json={"stream_id": sid, "product_id": gadget, "flash_price": 1500.00,
                                             "available_quantity": 5, "duration_minutes": 30, "hold_seconds": 600})
    assert sale.status_code == 201, sale.text
    fid = sale.json()["id"]
    holder, late_holder, winner, g1, g2 = (str(uuid.uuid4()) for _ in range(5))
    reservations = {}
    for b in (holder, late_holder):
        r = s.as_user("viewer", b).post(f"/flash-sales/{fid}/purchase", json={"quantity": 1},
                                        headers={"Idempotency-Key": f"hold-{b}"})
        assert r.status_code == 201, r.text
        reservations[b] = r.json()["reservation_id"]
    aid = s.http.post("/auctions", json={"stream_id": sid, "product_id": lot, "starting_price": 3000.00,
                                         "duration_minutes": 1, "pay_within_minutes": 30}).json()["auction_id"]
    assert s.as_user("viewer", winner).post(f"/auctions/{aid}/bids", json={"max_amount": 3500.00},
                                            headers={"Idempotency-Key": "b1"}).status_code == 201
    gid = s.http.post("/group-buys", json={"stream_id": sid, "product_id": tee, "group_price": 700.00,
                                           "min_buyers": 2, "duration_minutes": 1}).json()["group_buy_id"]
    holds = {m: s.as_user("viewer", m).post(f"/group-buys/{gid}/join", headers={"Idempotency-Key": "j"}).json()[
        "hold_id"] for m in (g1, g2)}
    journeys.advance_clock(s, 61)  # the auction and the group buy end during the show
    wait_until(lambda: s.http.get(f"/auctions/{aid}").json().get("winner_id") == winner, timeout=30,
               what="auction won")
    wait_until(lambda: s.http.get(f"/group-buys/{gid}").json().get("status") == "unlocked", timeout=30,
               what="group buy unlocked")

    ended = s.http.post(f"/streams/{sid}/end", json={"summary": "thanks"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text
    address = {"city": "Sylhet"}
    plain_buy = checkout_as(s, holder, "plain", stream_id=sid, payment_method="bkash", shipping_address=address,
                            cart_items=[{"product_id": plain, "quantity": 1}])
    assert plain_buy.status_code == 409 and plain_buy.json()["error"]["code"] == "stream_not_live"
    cart_add = s.as_user("viewer", holder).post("/cart/add", json={"stream_id": sid, "product_id": plain})
    assert cart_add.status_code == 409 and cart_add.json()["error"]["code"] == "stream_not_live"

    payable = {
        holder: ([{"product_id": gadget, "flash_sale_id": fid, "reservation_id": reservations[holder]}], 1500.0),
        winner: ([{"auction_id": aid}], 3000.0),
        g1: ([{"group_buy_id": gid, "hold_id": holds[g1]}], 700.0),
    }
    for buyer, (items, total) in payable.items():
        placed = checkout_as(s, buyer, "after-show", stream_id=sid, payment_method="bkash", shipping_address=address,
                             cart_items=items)
        assert placed.status_code == 201 and placed.json()["total"] == total, placed.text
        assert s.pay(placed.json()["payment_url"]).status_code == 200
        assert order_when(s, buyer, placed.json()["order_id"], "paid")["total"] == total
    assert s.http.get(f"/streams/{sid}").json()["status"] == "ended"

    # Each until its own deadline: the other flash hold ran out 600 s after it was taken.
    journeys.advance_clock(s, 600)
    run_out = {"product_id": gadget, "flash_sale_id": fid, "reservation_id": reservations[late_holder]}
    expired = checkout_as(s, late_holder, "after-deadline", stream_id=sid, payment_method="bkash",
                          shipping_address=address, cart_items=[run_out])
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "reservation_expired"
    still = checkout_as(s, g2, "after-show", stream_id=sid, payment_method="cod", phone="01912345678",
                        shipping_address=address, cart_items=[{"group_buy_id": gid, "hold_id": holds[g2]}])
    assert still.status_code == 201 and still.json()["total"] == 700.0, still.text  # a group hold has no deadline


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────


# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

