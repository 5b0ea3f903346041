"""Domain events from the log pushed to the show's room, each with its log position; resuming after a drop."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import socketio

from application.envelope import Envelope
from interfaces.realtime.pusher import DomainPusher
from tests.realtime.conftest import P, Stack, Viewer, connect


async def test_flash_sale_and_stock_pushed_with_positions_and_replayed_on_resume(
    rt: Stack, viewers: list[Viewer]
) -> None:
    product = str(uuid.uuid4())
    sid = rt.live_stream(products=[product])
    v = await connect(rt.url, rt.token())
    viewers.append(v)
    await v.join(sid)

    sale = rt.http.post(
        f"{P}/flash-sales",
        json={
            "stream_id": sid,
            "product_id": product,
            "flash_price": 999,
            "original_price": 1500,
            "available_quantity": 10,
            "duration_minutes": 15,
            "sale_name": "ঈদ ফ্ল্যাশ সেল",
        },
    )
    assert sale.status_code == 201, sale.text
    sale_id = sale.json()["id"]
    started = await v.wait_for("flash_sale_started", timeout=15)
    assert started["sale_id"] == sale_id and started["stream_id"] == sid and started["product_id"] == product
    assert started["flash_price"] == 999.0 and started["available"] == 10 and started["status"] == "active"
    assert started["sale_name"] == "ঈদ ফ্ল্যাশ সেল" and started["position"] > 0

    bought = rt.http.post(
        f"{P}/flash-sales/{sale_id}/purchase",
        json={"buyer_id": str(uuid.uuid4()), "quantity": 2},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    stock = await v.wait_for("stock_update", timeout=15)
    assert stock["change"] == "StockReserved" and stock["available"] == 8
    assert stock["position"] > started["position"]

    featured = rt.http.post(f"{P}/streams/{sid}/feature", json={"product_id": product})
    assert featured.status_code == 200
    pushed = await v.wait_for("product_featured", timeout=15)
    assert pushed["position"] > stock["position"]

    # A phone that dropped after the flash sale started reconnects: it gets what it missed, in order.
    again = await connect(rt.url, rt.token())
    viewers.append(again)
    await again.join(sid, last_position=started["position"])
    screen = await again.wait_for("stream_state")
    assert screen["resync"] is False and screen["featured_product"]["product_id"] == product
    await again.wait_for("product_featured")
    replayed = [(e, d["position"]) for e, d in again.events if isinstance(d, dict) and "position" in d]
    assert replayed == [("stock_update", stock["position"]), ("product_featured", pushed["position"])]


async def test_stream_end_is_pushed_and_closes_the_chat(rt: Stack, viewers: list[Viewer]) -> None:
    sid = rt.live_stream()
    v = await connect(rt.url, rt.token())
    viewers.append(v)
    await v.join(sid)
    assert rt.http.post(f"{P}/streams/{sid}/end", json={"summary": "ধন্যবাদ সবাইকে"}).status_code == 200
    status = await v.wait_for("stream_status", lambda d: d["status"] == "ended", timeout=15)
    assert status["stream_id"] == sid and status["position"] > 0
    ack = await v.call("send_message", {"stream_id": sid, "message": "শেষ?"})
    assert ack["error"]["code"] == "stream_closed"


async def test_resume_needs_a_reload_when_the_gap_is_not_in_memory(rt: Stack) -> None:
    """Before the first event this process saw, or past a show's buffer: ``resync``, not a silent gap."""

    async def product(sid: str, pid: str) -> dict[str, Any]:
        return {"product_id": pid}

    async def no_state(agg: str, v: int) -> None:
        return None

    # A real server with no sockets: emits go nowhere, the buffer logic runs as in the API process.
    pusher = DomainPusher(
        rt.env,
        socketio.AsyncServer(async_mode="asgi"),
        "/live-stream",
        load_state=no_state,
        featured_product=product,
        buffer_per_stream=3,
    )
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    for pos in range(100, 106):
        show = sid if pos % 2 else other
        await pusher.handle(
            Envelope(
                str(uuid.uuid4()),
                "LiveStream.ProductFeatured",
                1,
                show,
                pos,
                show,
                datetime.now(UTC),
                {"product_id": f"p{pos}"},
                pos,
            )
        )
    assert pusher.missed(sid, 98)[0] is False, "position 99 may have been this show's, and was not seen"
    assert pusher.missed(sid, 99)[0] is True
    complete, events = pusher.missed(sid, 101)
    assert complete and [p["position"] for _, p in events] == [103, 105]
    assert pusher.missed(other, 50)[0] is False, "before the first event this process saw"
    for pos in range(106, 112, 2):
        await pusher.handle(
            Envelope(
                str(uuid.uuid4()),
                "LiveStream.ProductFeatured",
                1,
                other,
                pos,
                other,
                datetime.now(UTC),
                {"product_id": f"p{pos}"},
                pos,
            )
        )
    assert pusher.missed(other, 101)[0] is False, "the show's buffer (3) overflowed past 101"
    complete, events = pusher.missed(other, 104)
    assert complete and [p["position"] for _, p in events] == [106, 108, 110]
