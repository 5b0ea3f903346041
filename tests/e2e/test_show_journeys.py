"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from domain.stream_moderators import moderators_id
from tests.conftest import Environments
from tests.e2e.journeys import P, Show, show, show_settings  # noqa: F401  (the module-scoped stack fixture)
from tests.support import ROOT, Proc, free_port, settings_env, wait_until

# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────


# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────


# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────


# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────


# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────


# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────

async def test_go_live_at_once(fresh_show: Show) -> None:
    """On a stack started a moment ago (its projections still finding their feet), the host publishes with
    ffmpeg 0.1 s after ``start`` and the spec's viewer joins 0.5 s after it: the door and the gateway decide
    from the event store, so the publish is accepted and the viewer sees the show live."""
    s = fresh_show
    viewer = await s.viewer("viewer")  # the spec's snippet: signed in, connected before the show starts
    # However long the read models take (seconds on a fresh stack), nothing here may wait for them: the
    # projections are frozen from before the show exists until the publish and the join have been decided.
    frozen = s.procs["project"].popen.pid
    os.killpg(frozen, signal.SIGSTOP)
    created = s.http.post("/streams", json={"title": "ঈদ শাড়ি লাইভ", "stream_type": "product_demo",
                                            "vendor_id": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    started = s.http.post(f"/streams/{sid}/start")
    assert started.status_code == 200, started.text
    at = time.monotonic()
    live = started.json()
    await asyncio.sleep(0.1)
    host = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi",
        "-i", "sine", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
        "-f", "flv", f"{live['rtmp_url']}/{live['stream_key']}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - at)))
    try:
        ack = await viewer.call("join_stream", {"stream_id": sid,
                                                "viewer_info": {"device_type": "mobile", "location": "Dhaka"}})
        assert ack["ok"], ack
        state = await viewer.wait_for("stream_state")
        assert state["stream_id"] == sid and state["status"] == "live", state
        assert viewer.got("error") == []
        _, err = await asyncio.wait_for(host.communicate(), 60)
        assert s.http.get(f"/streams/{sid}").json()["error"]["code"] == "stream_not_found"  # still frozen
    finally:
        os.killpg(frozen, signal.SIGCONT)
        await viewer.client.disconnect()
        if host.returncode is None:
            host.kill()
    assert host.returncode == 0 and b"unknown_stream_key" not in err, err  # the publish was taken, to its end
    ingest = s.procs["ingest"].output()
    assert f"started media worker for {sid}" in ingest and f"→ show {sid}" in ingest, ingest[-2000:]
    # What a player sees: the show's HLS master playlist with its renditions.
    master = wait_until(lambda: (r := httpx.get(f"{s.url}/hls/{sid}/master.m3u8", timeout=10)).status_code == 200
                        and r, timeout=30, what="the show's master playlist")
    assert "#EXT-X-STREAM-INF" in master.text
    # The read model catches up afterwards, as it always does.
    shown = wait_until(lambda: (r := s.http.get(f"/streams/{sid}", params={"min_version": live["version"]}))
                       .status_code == 200 and r, timeout=60, what="the read model after the thaw")
    assert shown.json()["status"] == "live"


@pytest.fixture(scope="module")
def fresh_show(environments: Environments, log_dir: Path) -> Iterator[Show]:
    """A stack of its own, started for Journey 10 alone, with the RTMP door (``livecommerce ingest``): its first
    writes meet projections that have not caught up yet."""
    env, sandbox = show_settings(environments, rtmp_base_url=f"rtmp://127.0.0.1:{free_port()}/live")
    s = Show(env, log_dir, sandbox)
    s.procs["ingest"] = Proc(env, "ingest", log_dir=log_dir, name="journey-ingest")
    s.procs["ingest"].wait_for_output("ingest ready on rtmp://", timeout=30)
    yield s
    s.stop()


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────

async def test_the_spec_s_own_values(show: Show) -> None:  # noqa: F811  (the fixture)
    """Every ``viewer_info.device_type`` the spec lists is taken at ``join_stream`` (``smart_tv`` too, and our
    older ``tv`` is counted as one), each viewer is counted under it, and ``average_watch_time`` reads in minutes
    in the stream's details and in its analytics, as the spec shows."""
    sid = live_show(show)
    devices = ("mobile", "desktop", "tablet", "smart_tv", "tv")
    viewers = [await show.viewer("viewer") for _ in devices]
    try:
        for v, device in zip(viewers, devices, strict=True):
            ack = await v.call("join_stream", {"stream_id": sid,
                                               "viewer_info": {"device_type": device, "location": "Dhaka"}})
            assert ack["ok"], (device, ack)
            assert (await v.wait_for("stream_state"))["status"] == "live"
            assert v.got("error") == []
        await asyncio.sleep(6)  # every viewer watches about 6 s = 0.1 minutes
        for v in viewers:
            assert (await v.call("leave_stream", {"stream_id": sid}))["ok"]
        refused = viewers[0]
        bad = await refused.call("join_stream", {"stream_id": sid, "viewer_info": {"device_type": "fridge"}})
        assert bad["ok"] is False and bad["error"]["code"] == "validation_failed"
        assert bad["error"]["details"]["fields"][0]["field"] == "viewer_info.device_type"
    finally:
        for v in viewers:
            await v.client.disconnect()

    def figures() -> tuple[dict[str, Any], dict[str, Any]] | None:
        detail = show.http.get(f"/streams/{sid}").json()
        analytics = show.http.get(f"/streams/{sid}/analytics").json()
        done = detail["engagement_stats"]["average_watch_time"] > 0 and analytics["overview"]["total_viewers"] == 5
        return (detail, analytics) if done and analytics["overview"]["average_watch_time"] > 0 else None

    detail, analytics = wait_until(figures, timeout=60, what="watch time in the read models")
    assert detail["engagement_stats"]["average_watch_time"] == 0.1  # minutes (it read 6.0, in seconds)
    assert analytics["overview"]["average_watch_time"] == 0.1
    assert analytics["viewer_demographics"]["by_device"] == {"mobile": 0.2, "desktop": 0.2, "tablet": 0.2,
                                                             "smart_tv": 0.4}


def live_show(s: Show, **body: Any) -> str:
    """A vendor's show, created and started over HTTP by the admin client (no host profile needed)."""
    created = s.http.post("/streams", json={"title": "ঈদ শাড়ি লাইভ", "stream_type": "product_demo",
                                            "vendor_id": str(uuid.uuid4()), **body})
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    started = s.http.post(f"/streams/{sid}/start")
    assert started.status_code == 200, started.text
    return sid


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────


# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────


# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────

SAREE = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e11"


def test_read_your_writes_everywhere(show: Show) -> None:  # noqa: F811  (the fixture)
    """Each command's answer carries the version; the GET of what it created or changed, given that version,
    answers with it at once (auctions, group buys, flash sales, carts, orders, host applications, hosts). An id
    the read models have not seen yet answers 409 read_model_behind after the wait, and 404 only without a
    version; an auction's bid_count counts every accepted bid, also a leader raising their own maximum."""
    s = show
    sid = live_show(s, products=[{"product_id": SAREE, "special_price": 2500.00, "limited_quantity": 50}])

    def seen(path: str, version: int, client: httpx.Client | None = None, **params: Any) -> dict[str, Any]:
        r = (client or s.http).get(path, params={**params, "min_version": version})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["version"] >= version, (path, r.json())
        return dict(r.json())

    auction = s.http.post("/auctions", json={"stream_id": sid, "product_id": SAREE, "starting_price": 1000.00,
                                             "duration_minutes": 30})
    assert auction.status_code == 201, auction.text
    lot = auction.json()["auction_id"]
    assert seen(f"/auctions/{lot}", auction.json()["version"])["status"] == "open"
    rahim, karim = (s.as_user("viewer", str(uuid.uuid4())) for _ in range(2))
    shown = []
    for who, amount in ((rahim, 1500.00), (rahim, 3000.00), (karim, 2000.00)):  # rahim raises his own max
        bid = who.post(f"/auctions/{lot}/bids", json={"max_amount": amount},
                       headers={"Idempotency-Key": str(uuid.uuid4())})
        assert bid.status_code == 201, bid.text
        got = seen(f"/auctions/{lot}", bid.json()["version"])
        shown.append((bid.json()["bid_count"], got["bid_count"], got["current_price"], got["leader_id"]))
    # The raise (2nd bid) moved neither price nor leader, and still counts; karim's bid lifts the price.
    rahim_id = shown[0][3]
    assert shown == [(1, 1, 1000.0, rahim_id), (2, 2, 1000.0, rahim_id), (3, 3, 2100.0, rahim_id)]

    group = s.http.post("/group-buys", json={"stream_id": sid, "product_id": SAREE, "group_price": 2000.00,
                                             "min_buyers": 3, "duration_minutes": 60})
    assert group.status_code == 201, group.text
    gid = group.json()["group_buy_id"]
    joined = rahim.post(f"/group-buys/{gid}/join", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert joined.status_code == 201, joined.text
    assert seen(f"/group-buys/{gid}", joined.json()["version"])["buyers"] == 1

    sale = s.http.post("/flash-sales", json={"stream_id": sid, "product_id": SAREE, "flash_price": 1800.00,
                                             "available_quantity": 10, "duration_minutes": 30,
                                             "announcement_message": "ঈদ অফার"})
    assert sale.status_code == 201, sale.text
    assert seen(f"/flash-sales/{sale.json()['id']}", sale.json()["version"])["total_quantity"] == 10

    added = karim.post("/cart/add", json={"stream_id": sid, "product_id": SAREE, "quantity": 2,
                                          "special_price": 2500.00})
    assert added.status_code == 200, added.text
    cart = seen("/cart", added.json()["version"], karim, stream_id=sid)
    assert cart["cart_id"] == added.json()["cart_id"] and cart["status"] == "open"
    assert cart["items"] == [{"product_id": SAREE, "quantity": 2, "unit_price": 2500.0}] and cart["total"] == 5000.0
    empty = rahim.get("/cart", params={"stream_id": sid})  # nothing added: an empty cart, not an error
    assert empty.status_code == 200 and empty.json()["items"] == [] and empty.json()["version"] == 0

    placed = karim.post("/checkout/instant", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
        "stream_id": sid, "cart_items": [{"product_id": SAREE, "quantity": 1, "price": 2500.00}],
        "payment_method": "cod", "phone": "01712345678", "shipping_address": {"city": "Dhaka"}})
    assert placed.status_code == 201, placed.text
    order = seen(f"/orders/{placed.json()['order_id']}", placed.json()["version"], karim)
    assert order["total"] == 2500.0 and order["payment_method"] == "cod"

    applicant = str(uuid.uuid4())
    hopeful = s.as_user("viewer", applicant)
    applied = hopeful.post("/hosts/apply", json={"host_name": "Sarah Khan", "bio": "শাড়ি ও গয়না",
                                                 "languages": ["bn"], "experience_level": "beginner"})
    assert applied.status_code == 201, applied.text
    hid = applied.json()["id"]
    assert seen(f"/hosts/applications/{hid}", applied.json()["version"], hopeful)["verification_status"] == "pending"
    assert rahim.get(f"/hosts/applications/{hid}").status_code == 404  # not theirs
    verified = s.http.post(f"/hosts/{hid}/verify")
    assert verified.status_code == 200, verified.text
    assert seen(f"/hosts/{hid}", verified.json()["version"])["host_name"] == "Sarah Khan"

    # Not yet visible: with the projections frozen, a new auction is in the store but in no read model.
    frozen = s.procs["project"].popen.pid
    os.killpg(frozen, signal.SIGSTOP)
    try:
        later = s.http.post("/auctions", json={"stream_id": sid, "product_id": SAREE, "starting_price": 500.00,
                                               "duration_minutes": 30})
        assert later.status_code == 201, later.text
        behind = s.http.get(f"/auctions/{later.json()['auction_id']}", params={"min_version": 1})
        assert behind.status_code == 409, behind.text
        err = behind.json()["error"]
        assert err["code"] == "read_model_behind" and err["message_bn"] and err["details"]["version"] is None
        cart_behind = rahim.post("/cart/add", json={"stream_id": sid, "product_id": SAREE, "quantity": 1})
        assert cart_behind.status_code == 200, cart_behind.text
        r = rahim.get("/cart", params={"stream_id": sid, "min_version": cart_behind.json()["version"]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "read_model_behind"
        plain = s.http.get(f"/auctions/{later.json()['auction_id']}")  # no version: the read model as it is
        assert plain.status_code == 404 and plain.json()["error"]["code"] == "auction_not_found"
    finally:
        os.killpg(frozen, signal.SIGCONT)
    wait_until(lambda: s.http.get(f"/auctions/{later.json()['auction_id']}",
                                  params={"min_version": later.json()["version"]}).status_code == 200,
               timeout=60, what="the auction after the thaw")
    bad = s.http.get(f"/auctions/{lot}", params={"min_version": "soon"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "min_version"


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────

async def test_a_show_s_whole_history(show: Show, tmp_path: Path) -> None:  # noqa: F811  (the fixture)
    """A show with a chat, a flash-sale hold paid through the provider, a bid, a cart and a moderator: every
    stored event of every aggregate of the show names it, and ``livecommerce replay --stream ID`` (the CLI) holds
    all of them, plus the show's chat and joins from the interactions topic."""
    s = show
    sid = live_show(s, products=[{"product_id": SAREE, "special_price": 2500.00, "limited_quantity": 50}])
    buyer, bidder = str(uuid.uuid4()), str(uuid.uuid4())
    viewer = await s.viewer("viewer", buyer)
    try:
        assert (await viewer.call("join_stream", {"stream_id": sid}))["ok"]
        said = await viewer.call("send_message", {"stream_id": sid, "message": "শাড়িটা কত?"})
        assert said["ok"], said
    finally:
        await viewer.client.disconnect()
    moderator = s.http.post(f"/streams/{sid}/moderators", json={"moderator_id": str(uuid.uuid4())})
    assert moderator.status_code == 201, moderator.text
    sale = s.http.post("/flash-sales", json={"stream_id": sid, "product_id": SAREE, "flash_price": 1800.00,
                                             "available_quantity": 5, "duration_minutes": 30,
                                             "announcement_message": "ঈদ অফার"}).json()
    shopper = s.as_user("viewer", buyer)
    held = shopper.post(f"/flash-sales/{sale['id']}/purchase", json={"quantity": 1},
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert held.status_code == 201, held.text
    cart = shopper.post("/cart/add", json={"stream_id": sid, "product_id": SAREE, "quantity": 1}).json()
    placed = shopper.post("/checkout/instant", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
        "stream_id": sid, "payment_method": "bkash", "shipping_address": {"city": "Dhaka"},
        "cart_items": [{"product_id": SAREE, "quantity": 1, "price": 1800.00, "flash_sale_id": sale["id"],
                        "reservation_id": held.json()["reservation_id"]}]})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert s.pay(order["payment_url"]).status_code == 200
    wait_until(lambda: shopper.get(f"/orders/{order['order_id']}").json().get("payment_status") == "completed",
               timeout=30, what="the payment confirmed")
    lot = s.http.post("/auctions", json={"stream_id": sid, "product_id": SAREE, "starting_price": 1000.00,
                                         "duration_minutes": 30}).json()["auction_id"]
    bid = s.as_user("viewer", bidder).post(f"/auctions/{lot}/bids", json={"max_amount": 1200.00},
                                           headers={"Idempotency-Key": str(uuid.uuid4())})
    assert bid.status_code == 201, bid.text

    # The store's own list: every event of every aggregate of this show.
    aggregates = {sid, sale["id"], cart["cart_id"], order["order_id"], order["payment_id"], lot,
                  str(moderators_id(sid))}
    with psycopg.connect(s.env.postgres_url) as conn:
        stored = conn.execute("SELECT originator_id::text, originator_version, topic FROM livecommerce_events"
                              " WHERE originator_id = ANY(%s::uuid[])", (list(aggregates),)).fetchall()
    types = {t.rsplit(":", 1)[-1] for _, _, t in stored}
    assert {"Payment.Completed", "FlashSale.ReservationConfirmed", "Auction.BidPlaced", "Cart.ItemAdded",
            "Order.Paid", "StreamModerators.ModeratorAssigned"} <= types, types
    # Every kind of aggregate of the show is in the store, and in the replay below.
    assert {a for a, _, _ in stored} == aggregates

    out = tmp_path / "replay"
    done = subprocess.run([sys.executable, "-m", "interfaces.cli", "replay", "--out", str(out), "--format",
                           "csv", "--stream", sid, "--kafka", "--no-progress"], cwd=ROOT,
                          env=settings_env(s.env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [r for part in sorted(out.glob("*part-*.csv")) for r in csv.DictReader(part.open(encoding="utf-8"))]
    assert rows and all(r["stream_id"] == sid for r in rows)
    replayed = {(r["aggregate_id"], int(r["aggregate_version"])) for r in rows if r["aggregate_id"]}
    assert replayed == {(a, v) for a, v, _ in stored}, f"{len(replayed)} replayed of {len(stored)} stored"
    kinds = [r["type"] for r in rows if not r["aggregate_id"]]
    assert "chat.message_sent" in kinds and "presence.joined" in kinds, kinds
    chat = next(json.loads(r["payload"]) for r in rows if r["type"] == "chat.message_sent")
    assert chat["message"] == "শাড়িটা কত?" and chat["user_id"] == buyer


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

def test_a_newcomer_s_first_minutes(show: Show, tmp_path: Path) -> None:  # noqa: F811  (the fixture)
    """The README's "Try it" block runs as written (bash and curl, only the address changed); a malformed id
    is a 400 invalid_id on every route, not "No such endpoint"; an HLS address before anyone publishes says the
    show is not on air yet, in English and Bangla; two checkouts' ``livecommerce dev up`` give two stores."""
    s = show
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("Try it", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", block.replace("http://localhost:8000", s.url)],
                         cwd=ROOT, env=settings_env(s.env), capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    hls, started, shown, malformed = (json.loads(line) for line in ran.stdout.splitlines())
    assert hls["error"]["code"] == "stream_not_on_air" and hls["error"]["message_bn"]
    assert started["stream_key"].startswith("live_") and started["version"] == 2
    assert (shown["id"], shown["status"], shown["version"]) == (started["id"], "live", 2)
    assert shown["title_bn"] == "আইফোন ১৪ প্রো ফ্ল্যাশ সেল"
    assert malformed["error"]["code"] == "invalid_id" and malformed["error"]["details"]["parameter"] == "stream_id"

    for method, path in (("GET", "/streams/not-a-uuid"), ("POST", "/streams/42/start"), ("GET", "/orders/abc"),
                         ("GET", "/auctions/x"), ("GET", "/group-buys/1"), ("GET", "/flash-sales/%20"),
                         ("GET", "/hosts/me"), ("POST", "/auctions/nope/bids")):
        r = s.http.request(method, path)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_id", (path, r.text)
        assert r.json()["error"]["message_bn"]
    assert s.http.get("/no-such-thing").json()["error"]["code"] == "route_not_found"
    unknown = s.http.get(f"/streams/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "stream_not_found"

    sid = live_show(s)
    assert s.http.get(f"/streams/{sid}", params={"min_version": 2}).json()["status"] == "live"
    for name in ("master.m3u8", "720p/index.m3u8"):
        r = httpx.get(f"{s.url}/hls/{sid}/{name}", timeout=10)
        assert r.status_code == 404, r.text
        err = r.json()["error"]
        assert (err["code"], err["details"]) == ("stream_not_on_air", {"stream_id": sid, "status": "live"})
        assert "not on air" in err["message"] and err["message_bn"]
    assert httpx.get(f"{s.url}/hls/not-a-show/master.m3u8", timeout=10).json()["error"]["code"] == "invalid_id"

    # Two checkouts of the project on this machine: `dev up` in each (the session's Kafka and MongoDB given, as
    # a developer's settings would; PostgreSQL and Redis found as a newcomer's laptop has them).
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")}
    env.update(LIVECOMMERCE_KAFKA_BOOTSTRAP=s.env.kafka_bootstrap, LIVECOMMERCE_MONGO_URL=s.env.mongo_url)
    cli = str(ROOT / ".venv" / "bin" / "livecommerce")
    checkouts = [tmp_path / "one" / "live-commerce", tmp_path / "two" / "live-commerce"]
    stacks = []
    try:
        for checkout in checkouts:
            checkout.mkdir(parents=True)
            for step in (["dev", "up"], ["migrate"]):
                done = subprocess.run([cli, *step], cwd=checkout, env=env, capture_output=True, text=True,
                                      timeout=120)
                assert done.returncode == 0, done.stdout + done.stderr
            stacks.append(dict(line.split("=", 1) for line in
                               (checkout / ".livecommerce" / "stack.env").read_text().splitlines()))
        one, two = stacks
        for key in ("LIVECOMMERCE_POSTGRES_URL", "LIVECOMMERCE_REDIS_URL", "LIVECOMMERCE_MONGO_DB",
                    "LIVECOMMERCE_TOPIC_PREFIX"):
            assert one[key] != two[key], key
        assert one["LIVECOMMERCE_KAFKA_BOOTSTRAP"] == two["LIVECOMMERCE_KAFKA_BOOTSTRAP"]  # one broker, two names
        # An event stored by the first checkout is not in the second's store.
        with psycopg.connect(one["LIVECOMMERCE_POSTGRES_URL"], autocommit=True) as conn:
            conn.execute("INSERT INTO livecommerce_events (originator_id, originator_version, topic, state)"
                         " VALUES (%s, 1, 'poisoned:Event', '\\x7b7d')", (uuid.uuid4(),))
        counts = []
        for stack in stacks:
            with psycopg.connect(stack["LIVECOMMERCE_POSTGRES_URL"]) as conn:
                counts.append(conn.execute("SELECT count(*) FROM livecommerce_events").fetchone()[0])  # type: ignore[index]
        assert counts == [1, 0]
        shared = tmp_path / "three" / "live-commerce"
        shared.mkdir(parents=True)
        done = subprocess.run([cli, "dev", "up"], cwd=shared, env={**env, "LIVECOMMERCE_DEV_SHARED_STACK": "1"},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        told = (shared / ".livecommerce" / "stack.env").read_text()
        assert "/livecommerce\n" in told and "TOPIC_PREFIX" not in told  # told to share: the one default store
    finally:
        for checkout in checkouts:
            if (checkout / ".livecommerce").exists():
                subprocess.run([cli, "dev", "down"], cwd=checkout, env=env, capture_output=True, timeout=60)
        for stack in stacks:
            admin, db = stack["LIVECOMMERCE_POSTGRES_URL"].rsplit("/", 1)
            with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

