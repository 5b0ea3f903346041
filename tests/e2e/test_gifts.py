"""Issue 14 part 3: coins bought through the payment sandbox, the gift catalogue, gifts sent over HTTP and seen
in the room (python-socketio and the official npm socket.io-client), racing sends, and the host's earnings.
One stack for the module (``tests/e2e/journeys.py``)."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.tokens import issue_token
from tests.conftest import Environments
from tests.e2e.journeys import P, Show, joined, show_settings
from tests.realtime.test_spec_clients import NODE_DIR, node_modules
from tests.support import wait_until

APPLICATION = {
    "host_name": "Sarah Khan",
    "bio": "Gadgets",
    "bio_bn": "গ্যাজেট",
    "specializations": ["electronics"],
    "languages": ["bn", "en"],
    "experience_level": "intermediate",
}


@pytest.fixture(scope="module")
def gifts_stack(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = show_settings(environments, rate_limits_enabled=False)
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


def client(s: Show, name: str, role: str = "viewer", user: str | None = None) -> httpx.Client:
    tok = issue_token(s.env, user or str(uuid.uuid4()), [role], name=name)
    return httpx.Client(base_url=f"{s.url}{P}", timeout=30, headers={"Authorization": f"Bearer {tok}"})


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def refused(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["message_bn"], err
    return dict(err)


def wallet_when(c: httpx.Client, balance: int) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        w = ok(c.get("/wallet"))
        return w if w["balance"] == balance else None

    return wait_until(look, timeout=30, what=f"wallet balance {balance}")  # type: ignore[no-any-return]


def buy_coins(s: Show, c: httpx.Client, coins: int, key: str) -> dict[str, Any]:
    placed = ok(
        c.post("/wallet/top-ups", json={"coins": coins, "payment_method": "bkash"}, headers={"Idempotency-Key": key}),
        201,
    )
    assert placed["status"] == "processing" and placed["amount"] == float(coins) and placed["payment_url"]
    assert s.pay(placed["payment_url"]).status_code == 200
    return placed


def host_show(s: Show) -> tuple[httpx.Client, str, str]:
    """A verified host with a live show; → (host client, host profile id, stream id)."""
    host = client(s, "Sarah", "host")
    hid = ok(host.post("/hosts/apply", json=APPLICATION), 201)["id"]
    ok(s.http.post(f"/hosts/{hid}/verify"))
    sid = ok(
        host.post(
            "/streams",
            json={
                "title": "উপহারের শো",
                "stream_type": "product_demo",
                "products": [{"product_id": str(uuid.uuid4()), "special_price": 100}],
            },
        ),
        201,
    )["id"]
    ok(host.post(f"/streams/{sid}/start"))
    return host, str(hid), str(sid)


async def test_coins_gifts_and_the_hosts_share(gifts_stack: Show) -> None:
    s = gifts_stack
    # the catalogue: admins only, checked, read by anyone
    ok(s.http.put("/gifts/rose", json={"name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"}))
    v = ok(s.http.put("/gifts/car", json={"name": "Car", "name_bn": "গাড়ি", "coins": 500, "animation_key": "car_zoom"}))[
        "version"
    ]
    viewer = client(s, "Nusrat")
    refused(
        viewer.put("/gifts/rose", json={"name": "R", "name_bn": "গ", "coins": 1, "animation_key": "r"}),
        403,
        "not_permitted",
    )
    refused(
        s.http.put("/gifts/Bad Id!", json={"name": "R", "name_bn": "গ", "coins": 1, "animation_key": "r"}),
        422,
        "invalid_gift",
    )
    refused(
        s.http.put("/gifts/x", json={"name": "R", "name_bn": "গ", "coins": -5, "animation_key": "r"}),
        422,
        "validation_failed",
    )
    cat = ok(httpx.get(f"{s.url}{P}/gifts", params={"min_version": v}))
    assert cat["gifts"] == [
        {"id": "rose", "name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"},
        {"id": "car", "name": "Car", "name_bn": "গাড়ি", "coins": 500, "animation_key": "car_zoom"},
    ]
    assert cat["coin_price"] == 1.0

    host, hid, sid = host_show(s)
    # coins through the payment sandbox: credited once, whatever repeats
    assert ok(viewer.get("/wallet")) == {
        "wallet_id": ok(viewer.get("/wallet"))["wallet_id"],
        "balance": 0,
        "coins_bought": 0,
        "coins_spent": 0,
        "history": [],
        "version": 0,
    }
    first = buy_coins(s, viewer, 100, "buy-1")
    w = wallet_when(viewer, 100)
    assert [(h["kind"], h["status"], h["coins"], h["amount"]) for h in w["history"]] == [
        ("top_up", "credited", 100, 100.0)
    ]
    again = ok(
        viewer.post(
            "/wallet/top-ups", json={"coins": 100, "payment_method": "bkash"}, headers={"Idempotency-Key": "buy-1"}
        ),
        201,
    )
    assert (again["top_up_id"], again["payment_url"], again["status"]) == (
        first["top_up_id"],
        first["payment_url"],
        "credited",
    )
    callback = f"/wallets/{first['wallet_id']}/top-ups/{first['top_up_id']}/callback/bkash"
    replayed = httpx.get(
        f"{s.url}{P}{callback}", params={"paymentID": first["payment_url"].rsplit("/", 1)[-1], "status": "success"}
    )
    assert replayed.status_code in (200, 409), replayed.text  # confirmed again with the provider: no new coins
    refused(
        viewer.post(
            "/wallet/top-ups", json={"coins": 5, "payment_method": "bkash"}, headers={"Idempotency-Key": "buy-1"}
        ),
        422,
        "idempotency_key_reused",
    )
    refused(
        viewer.post(
            "/wallet/top-ups", json={"coins": 0, "payment_method": "bkash"}, headers={"Idempotency-Key": "buy-0"}
        ),
        422,
        "validation_failed",
    )

    # a gift: spent once per key, seen in the room with the sender's name
    room = await joined(s, sid)
    gift = {"gift_id": "rose", "quantity": 3, "message": "দারুণ শো!"}
    sent = ok(viewer.post(f"/streams/{sid}/gifts", json=gift, headers={"Idempotency-Key": "g-1"}), 201)
    assert (sent["coins"], sent["balance"], sent["quantity"]) == (30, 70, 3)
    got = await room.wait_for("gift_received", timeout=20)
    assert {k: got[k] for k in ("from", "gift_id", "quantity", "message", "stream_id")} == {
        "from": "Nusrat",
        "gift_id": "rose",
        "quantity": 3,
        "message": "দারুণ শো!",
        "stream_id": sid,
    }
    assert ok(viewer.post(f"/streams/{sid}/gifts", json=gift, headers={"Idempotency-Key": "g-1"}), 201) == sent
    refused(
        viewer.post(f"/streams/{sid}/gifts", json={**gift, "quantity": 4}, headers={"Idempotency-Key": "g-1"}),
        422,
        "idempotency_key_reused",
    )
    for q in (-1, 0, 1000, 10**30):
        refused(
            viewer.post(f"/streams/{sid}/gifts", json={**gift, "quantity": q}, headers={"Idempotency-Key": f"q{q}"}),
            422,
            "validation_failed",
        )
    refused(viewer.post(f"/streams/{sid}/gifts", json=gift), 400, "idempotency_key_required")
    err = refused(
        viewer.post(f"/streams/{sid}/gifts", json={"gift_id": "car"}, headers={"Idempotency-Key": "g-2"}),
        409,
        "insufficient_coins",
    )
    assert err["details"]["needed"] == 500 and err["details"]["balance"] == 70
    refused(
        viewer.post(f"/streams/{sid}/gifts", json={"gift_id": "tulip"}, headers={"Idempotency-Key": "g-3"}),
        404,
        "gift_not_found",
    )
    refused(
        viewer.post(f"/streams/{uuid.uuid4()}/gifts", json=gift, headers={"Idempotency-Key": "g-4"}),
        404,
        "stream_not_found",
    )
    refused(
        client(s, "nobody").post(f"/streams/{sid}/gifts", json=gift, headers={"Idempotency-Key": "g-5"}),
        409,
        "insufficient_coins",
    )
    w = ok(viewer.get("/wallet", params={"min_version": sent["version"]}))
    assert (w["balance"], w["coins_spent"], w["history"][0]["kind"], w["history"][0]["coins"]) == (70, 30, "gift", -30)
    assert len(room.got("gift_received")) == 1  # the retry was not sent again

    # racing sends: 30 at once for 7 gifts' worth of coins; exactly 7 go through, the balance ends at zero
    async with httpx.AsyncClient(base_url=f"{s.url}{P}", headers=dict(viewer.headers), timeout=60) as a:
        answers = await asyncio.gather(
            *(
                a.post(f"/streams/{sid}/gifts", json={"gift_id": "rose"}, headers={"Idempotency-Key": f"race-{i}"})
                for i in range(30)
            )
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 7 + [409] * 23, codes
    assert sorted(r.json()["balance"] for r in answers if r.status_code == 201) == [0, 10, 20, 30, 40, 50, 60]
    assert wallet_when(viewer, 0)["coins_spent"] == 100

    # the host's share (70% of 100 coins at 1 taka) in the dashboard's earnings
    def earned() -> dict[str, Any] | None:
        gifts = ok(host.get("/hosts/dashboard"))["earnings_summary"]["gifts"]
        return gifts if gifts["coins_received"] == 100 else None

    assert wait_until(earned, timeout=30, what="gift earnings") == {
        "this_month": 70.0,
        "last_month": 0.0,
        "total": 70.0,
        "gifts_received": 8,
        "coins_received": 100,
    }
    await room.client.disconnect()


async def test_a_gift_reaches_the_npm_socket_io_client(gifts_stack: Show) -> None:
    s = gifts_stack
    node_modules()
    ok(s.http.put("/gifts/star", json={"name": "Star", "name_bn": "তারা", "coins": 5, "animation_key": "star"}))
    _, _, sid = host_show(s)
    fan = client(s, "Rahim")
    buy_coins(s, fan, 5, "star-coins")
    wallet_when(fan, 5)
    tok = issue_token(s.env, str(uuid.uuid4()), ["viewer"], name="Watcher")
    proc = subprocess.Popen(
        ["node", "gift_client.js", s.url, tok, sid],
        cwd=NODE_DIR,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                lines.put(json.loads(line))
            except ValueError:
                lines.put({"what": "stray", "data": line})

    threading.Thread(target=read, daemon=True).start()
    try:
        got: dict[str, Any] = {}
        while "gift_received" not in got:
            item = await asyncio.to_thread(lines.get, True, 30)
            assert item["what"] not in ("connect_error", "timeout", "stray"), item
            got[item["what"]] = item["data"]
            if item["what"] == "joined":
                ok(
                    fan.post(
                        f"/streams/{sid}/gifts",
                        json={"gift_id": "star", "message": "hello"},
                        headers={"Idempotency-Key": "star-1"},
                    ),
                    201,
                )
        assert await asyncio.to_thread(proc.wait, 10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    g = got["gift_received"]
    assert (g["from"], g["gift_id"], g["quantity"], g["message"], g["stream_id"]) == ("Rahim", "star", 1, "hello", sid)


async def test_card_testing_holds_the_wallet_until_an_admin_decides(gifts_stack: Show) -> None:
    """Issue 17 part 1 (card testing on coin top-ups): a new account buys a small pack, then four small top-ups
    are declined at the provider within minutes. The detector opens a case on the wallet and the same save holds it:
    no top-up and no gift (409 wallet_under_review, English and Bangla), the balance untouched, until an admin
    clears the case; then both work again."""
    s = gifts_stack
    ok(s.http.put("/gifts/rose", json={"name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"}))
    _host, _hid, sid = host_show(s)
    tester = client(s, "Card Tester")
    buy_coins(s, tester, 20, "ct-ok")
    w = wallet_when(tester, 20)
    declined = 0
    for i in range(4):
        r = tester.post(
            "/wallet/top-ups", json={"coins": 10 + i, "payment_method": "bkash"}, headers={"Idempotency-Key": f"ct-{i}"}
        )
        if r.status_code == 409:  # the detector was quicker than the tester: held already
            refused(r, 409, "wallet_under_review")
            break
        placed = ok(r, 201)
        assert s.pay(placed["payment_url"], outcome="failure").status_code in (200, 400, 402)
        declined += 1
    assert declined >= 1

    def case() -> dict[str, Any] | None:
        cases = ok(s.http.get("/admin/fraud/cases", params={"status": "open"}))["cases"]
        return next((c for c in cases if c["subject"] == {"kind": "wallet", "id": w["wallet_id"]}), None)

    held = wait_until(case, timeout=60, what="a fraud case on the card tester's wallet")
    assert held["reasons"][0] == "card_testing" and held["score"] >= 0.5
    assert 1 <= held["features"]["failed_topups_1h"] <= declined and held["features"]["small_topups_1h"] >= 1

    def refused_while_held() -> bool:
        r = tester.post(
            "/wallet/top-ups", json={"coins": 15, "payment_method": "bkash"}, headers={"Idempotency-Key": "ct-held"}
        )
        return r.status_code == 409

    wait_until(refused_while_held, timeout=30, what="the wallet held")  # the case and the hold: one save
    refused(
        tester.post(
            "/wallet/top-ups", json={"coins": 15, "payment_method": "bkash"}, headers={"Idempotency-Key": "ct-held"}
        ),
        409,
        "wallet_under_review",
    )
    refused(
        tester.post(f"/streams/{sid}/gifts", json={"gift_id": "rose"}, headers={"Idempotency-Key": "ct-gift"}),
        409,
        "wallet_under_review",
    )
    assert ok(tester.get("/wallet"))["balance"] == 20  # nothing spent, nothing bought

    cleared = ok(s.http.post(f"/admin/fraud/cases/{held['case_id']}/decision", json={"decision": "clear"}))
    assert cleared["status"] == "cleared"
    sent = ok(
        tester.post(f"/streams/{sid}/gifts", json={"gift_id": "rose"}, headers={"Idempotency-Key": "ct-gift"}), 201
    )
    assert (sent["coins"], sent["balance"]) == (10, 10)
    again = ok(
        tester.post(
            "/wallet/top-ups", json={"coins": 15, "payment_method": "bkash"}, headers={"Idempotency-Key": "ct-after"}
        ),
        201,
    )
    assert again["status"] == "processing" and again["payment_url"]
