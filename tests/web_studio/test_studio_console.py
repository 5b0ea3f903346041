"""Issue 15 parts 2 and 3 in real Chromium against the real stack (every process of ``livecommerce run`` plus the
RTMP door): a host applies in the studio, an admin verifies the application in the console and the studio shows
the host verified; the host schedules a show with products picked from the catalogue, goes live, broadcasts from
``ffmpeg`` to the RTMP URL and key the studio shows (the health card charts its bitrate), starts a flash sale that
a viewer's socket receives with its values, and deletes a viewer's chat message. Screenshots of both pages at
360×640 and 1280×800 go to ``docs/screenshots/``.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e.journeys import Show, show_settings, until
from tests.support import ROOT, Proc, free_port
from tests.web.browser import DESKTOP, MOBILE, Browser

SHOTS = ROOT / "docs" / "screenshots"
VENDOR = str(uuid.uuid4())
PHONE, WATCH = str(uuid.uuid4()), str(uuid.uuid4())


class PatientShow(Show):
    """The journeys' stack, waiting longer for the API on a busy machine (8 engineers' stacks on 2 cores)."""

    def start_api(self) -> Proc:
        self.procs["api"] = api = Proc(self.env, "api", log_dir=self.log_dir, name="studio-api")
        api.wait_for_output("realtime pusher ready", timeout=240)
        return api


@pytest.fixture(scope="module")
def studio_stack(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = show_settings(environments, rtmp_base_url=f"rtmp://127.0.0.1:{free_port()}/live")
    s = PatientShow(env, log_dir, sandbox)
    s.procs["ingest"] = Proc(env, "ingest", log_dir=log_dir, name="studio-ingest")
    s.procs["ingest"].wait_for_output("ingest ready on rtmp://", timeout=120)
    assert (
        s.http.put(
            "/catalog/vendors", json={"vendors": [{"id": VENDOR, "name": "Gadget Ghar", "name_bn": "গ্যাজেট ঘর"}]}
        ).status_code
        == 200
    )
    assert (
        s.http.put(
            "/catalog/products",
            json={
                "products": [
                    {
                        "id": PHONE,
                        "vendor_id": VENDOR,
                        "name": "Galaxy A54 phone",
                        "name_bn": "গ্যালাক্সি এ৫৪ ফোন",
                        "list_price": 42999,
                        "stock": 80,
                        "category": "electronics",
                    },
                    {
                        "id": WATCH,
                        "vendor_id": VENDOR,
                        "name": "Walton smart watch",
                        "name_bn": "ওয়ালটন স্মার্ট ঘড়ি",
                        "list_price": 3499,
                        "stock": 300,
                        "category": "electronics",
                    },
                ]
            },
        ).status_code
        == 200
    )
    yield s
    s.stop()


async def off(fn, *args, **kw):  # type: ignore[no-untyped-def]
    """A blocking browser wait, off the event loop (the test's Socket.IO client keeps receiving meanwhile)."""
    return await asyncio.to_thread(fn, *args, **kw)


def shoot(b: Browser, name: str) -> None:
    for w, h in (MOBILE, DESKTOP):
        b.resize(w, h, mobile=w < 700)
        b.js("window.scrollTo(0, 0)")
        b.screenshot(SHOTS / f"{name}-{w}x{h}.png")
    b.resize(*DESKTOP)


def test_catalogue_browse(studio_stack: Show) -> None:
    """``GET /catalog/products``: a vendor's products found by name in English or Bangla, paged; bad input 422."""
    anyone = httpx.Client(base_url=f"{studio_stack.url}/api/v1/live-commerce", timeout=10)
    r = anyone.get("/catalog/products", params={"vendor_id": VENDOR, "q": "phone"}).json()
    assert r["total_count"] == 1 and r["products"][0]["id"] == PHONE and r["products"][0]["list_price"] == 42999.0
    assert anyone.get("/catalog/products", params={"q": "ঘড়ি"}).json()["products"][0]["id"] == WATCH
    both = anyone.get("/catalog/products", params={"vendor_id": VENDOR, "limit": 1, "page": 2}).json()
    assert both["total_count"] == 2 and [p["name"] for p in both["products"]] == ["Walton smart watch"]
    assert anyone.get("/catalog/products", params={"q": "100%_"}).json()["total_count"] == 0  # LIKE escapes
    bad = anyone.get("/catalog/products", params={"limit": 500})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"


async def test_studio_and_console(studio_stack: Show, chromium) -> None:  # type: ignore[no-untyped-def]
    stack = studio_stack
    host_user = str(uuid.uuid4())
    studio = chromium(*DESKTOP)
    console = chromium(*DESKTOP)
    studio.open(f"{stack.url}/studio", token=stack.token("viewer host", host_user, VENDOR), lang="en")

    # ── Apply as a host in the studio ──
    studio.type("#apply-form [name=host_name]", "Sarah Khan")
    studio.type("#apply-form [name=bio]", "Phones and gadgets, reviewed live from Dhaka")
    studio.type("#apply-form [name=specializations]", "electronics, gadgets")
    studio.click("#apply-form button[type=submit]")
    await off(studio.wait_text, "#host-status", lambda t: t == "Pending review", "the pending application")

    # ── The admin verifies it in the console; the studio shows the host verified ──
    console.open(f"{stack.url}/admin", token=stack.token("admin", stack.admin_id), lang="en")
    card = await off(console.wait_for, "#hosts li.host[data-status=pending]", visible=True)
    profile_id = card.get_attribute("data-host")  # the list re-renders every 10 s: read the card by its id
    text = console.text(f"li.host[data-host='{profile_id}']")
    assert "Sarah Khan" in text and "electronics, gadgets" in text
    assert stack.http.get(f"/hosts/applications/{profile_id}").json()["verification_status"] == "pending"
    shoot(console, "admin-hosts")
    console.click(f"li.host[data-host='{profile_id}'] button.verify")
    await off(console.wait, lambda: not console.finds(f"li.host[data-host='{profile_id}']"), "the card to leave")
    assert stack.http.get(f"/hosts/applications/{profile_id}").json()["verification_status"] == "verified"
    await off(studio.wait_text, "#host-status", lambda t: t == "Verified", "the studio to show the host verified")

    # ── Schedule a show with a product from the catalogue ──
    studio.click("[data-tab=shows]")
    studio.type("#schedule-form [name=title]", "Phones under 45k")
    studio.type("#catalogue-q", "phone")
    studio.click("#catalogue-search")
    studio.click(f"button.pick[data-product='{PHONE}']")
    price = await off(studio.wait_for, "#picked input[type=number]", visible=True)
    price.clear()
    price.send_keys("39999")
    studio.find("#picked tr td:nth-child(3) input").send_keys("20")
    studio.click("#schedule-form button[type=submit]")
    row = await off(studio.wait_for, "#show-list li.show-row", visible=True)
    sid = row.get_attribute("data-id")
    shown = stack.http.get(f"/streams/{sid}").json()
    assert shown["status"] == "scheduled" and shown["title"] == "Phones under 45k"
    assert [(p["product_id"], p["special_price"], p["limited_quantity"]) for p in shown["featured_products"]] == [
        (PHONE, 39999.0, 20)
    ]

    # ── A private show the host made elsewhere (over HTTP, not through this page) is among "my shows" ──
    host_http = stack.as_user("viewer host", host_user, VENDOR)
    made = host_http.post(
        "/streams", json={"title": "Watches, members only", "stream_type": "product_demo", "is_public": False}
    )
    assert made.status_code == 201, made.text
    elsewhere = made.json()["id"]
    await until(lambda: host_http.get(f"/streams/{elsewhere}").status_code == 200, "the private show in the read model")
    studio.click("[data-tab=shows]")  # the tab reads the host's shows again (GET /hosts/:id/streams)
    other = await off(studio.wait_for, f"#show-list li.show-row[data-id='{elsewhere}']", visible=True)
    assert "Watches, members only" in other.text and other.get_attribute("data-status") == "scheduled"
    assert studio.finds(f"#show-list li.show-row[data-id='{sid}']")
    assert stack.http.get(f"/streams/{elsewhere}").status_code == 200  # the admin sees it; it is private:
    assert stack.as_user("viewer", str(uuid.uuid4())).get(f"/streams/{elsewhere}").status_code == 404

    # ── Go live: the RTMP URL and key to copy; ffmpeg broadcasts to them ──
    studio.click(f"li.show-row[data-id='{sid}'] button")
    studio.click("#start-show")
    key = (await off(studio.wait_for, "#stream-key", visible=True)).get_attribute("value")
    url = studio.find("#rtmp-url").get_attribute("value")
    assert url == stack.env.rtmp_base_url and key.startswith(f"live_{sid.replace('-', '')}_")
    broadcaster = subprocess.Popen(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=426x240:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "40",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-f",
            "flv",
            f"{url}/{key}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    viewer_id = str(uuid.uuid4())
    viewer = await stack.viewer("viewer", viewer_id)
    try:
        await viewer.join(sid)
        # The live figures: who watches now (the viewer, and the host's own studio), as the API counts them.
        await off(
            studio.wait,
            lambda: (
                (n := studio.text("#f-viewers")).isdigit()
                and int(n) >= 1
                and int(n) == stack.http.get(f"/streams/{sid}").json()["current_viewers"]
            ),
            "the viewer count",
        )
        assert studio.text("#f-status") == "Live"

        # ── A flash sale started in the studio reaches the viewer, values as set ──
        studio.click("[data-deal=flash]")
        studio.type("#deal-form [name=flash_price]", "35999")
        studio.type("#deal-form [name=available_quantity]", "5")
        studio.click("#start-flash")
        started = await viewer.wait_for("flash_sale_started", timeout=20)
        assert (started["product_id"], started["flash_price"], started["available"], started["status"]) == (
            PHONE,
            35999.0,
            5,
            "active",
        )
        assert started["original_price"] == 39999.0 and started["discount_percentage"] == 10.0
        deal = await off(studio.wait_for, f"#deal-list li[data-deal='{started['sale_id']}']", visible=True)
        assert "৳35,999" in deal.text and "5 left" in deal.text

        # ── Chat: a viewer's message appears in the studio; the host deletes it, the room hears it ──
        ack = await viewer.call("send_message", {"stream_id": sid, "message": "Is the A54 waterproof?"})
        assert ack["ok"], ack
        msg = f"#chat li.msg[data-id='{ack['id']}']"
        await off(studio.wait_text, msg, lambda t: "Is the A54 waterproof?" in t, "the viewer's message")
        studio.click(f"{msg} button[title='Delete']")
        gone = await viewer.wait_for("message_deleted", timeout=10)
        assert gone["message_id"] == ack["id"]
        await off(studio.wait, lambda: not studio.finds(msg), "the message to leave the studio's chat")

        # ── Stream health: the bitrate of the broadcast, charted ──
        await off(
            studio.wait_text,
            "#health-now",
            lambda t: "kbps" in t and "Bitrate: 0 kbps" not in t,
            "the broadcast's bitrate",
            timeout=45,
        )
        assert studio.finds("#bitrate-chart svg path.series")
        shoot(studio, "studio-live")

        # ── The console's live view lists the show with its health ──
        console.click("[data-tab=shows]")
        live_row = await off(console.wait_for, f"#live-rows tr[data-stream='{sid}']", visible=True)
        assert "Phones under 45k" in live_row.text and "Sarah Khan" in live_row.text
        await until(lambda: "kbps" in console.text(f"#live-rows tr[data-stream='{sid}']"), "bitrate in the console")
        shoot(console, "admin-live")
    finally:
        await viewer.client.disconnect()
        broadcaster.kill()
        broadcaster.wait(10)
