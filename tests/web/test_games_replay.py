"""Gamification and replays in real Chromium on the real stack (every process, the RTMP door, ffmpeg publishing):
the host opens a poll and starts a quiz in the studio, viewers vote and answer on the watch page and see the
results (Bangla numerals in Bangla mode), a viewer buys coins and sends a gift the room sees; then the show ends,
the media plane records it and cuts highlights, and the replay API and the ended show's watch page serve them.

Set ``LIVECOMMERCE_SCREENSHOTS=docs/screenshots`` to save the README's screenshots while it runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from infra.tokens import issue_token
from tests.e2e.journeys import Show
from tests.web.browser import DESKTOP, MOBILE, Browser
from tests.web.seed import P, Seeded, publish, seed_show, wait_for_video
from tests.web.test_viewer import SHOTS, ready, web  # noqa: F401  (web: the stack's fixture)


@pytest.fixture(scope="module")
def on_air(web: Show) -> Iterator[Seeded]:  # noqa: F811
    seeded = seed_show(web.url, web.token, title="Gift hour", title_bn="উপহারের ঘণ্টা")
    publish(seeded, seconds=600)
    seeded.extra["published_at"] = time.time()
    wait_for_video(web.url, seeded.stream_id, timeout=120)
    yield seeded
    if seeded.publisher is not None and seeded.publisher.poll() is None:
        seeded.publisher.kill()
        seeded.publisher.wait(10)


def shot(b: Browser, name: str, focus: str | None = None) -> None:
    """The page at 360×640 and 1280×800 (when screenshots are asked for), then back to the browser's size."""
    if not SHOTS:
        return
    size = b.size
    for w, h in (MOBILE, DESKTOP):
        b.resize(w, h, mobile=w < 700)
        b.js(
            "window.scrollTo(0, 0); const el = arguments[0] && document.querySelector(arguments[0]);"
            " if (el && el.getBoundingClientRect().bottom > innerHeight) el.scrollIntoView({block: 'end'})",
            focus,
        )
        time.sleep(0.3)
        b.screenshot(Path(SHOTS) / f"{name}-{w}x{h}.png")
    b.resize(*size, mobile=size[0] < 700)


def named(web: Show, name: str, user: str | None = None) -> str:  # noqa: F811
    return issue_token(web.env, user or str(uuid.uuid4()), ["viewer"], name=name)


def ok(r: httpx.Response, *codes: int) -> dict:  # type: ignore[type-arg]
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()  # type: ignore[no-any-return]


def test_poll_quiz_and_gifts_in_the_browser(
    web: Show,  # noqa: F811
    on_air: Seeded,
    chromium: Callable[..., Browser],
) -> None:
    sid = on_air.stream_id
    ok(web.http.put("/gifts/rose", json={"name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"}))
    rahim, karim = chromium(*MOBILE), chromium(*DESKTOP)
    rahim.open(f"{web.url}/watch/{sid}", token=named(web, "Rahim"), lang="en")
    karim.open(f"{web.url}/watch/{sid}", token=named(web, "Karim"), lang="bn")
    ready(rahim)
    ready(karim)
    # The leaderboard API is merged from another branch: until then the route answers 404 and the panel stays
    # hidden instead of showing an error; once it is documented, the panel must list the gift sender (below).
    paths = ok(httpx.get(f"{web.url}/docs/openapi.json"))["paths"]
    has_board = any(p.startswith(P) and p.endswith("/leaderboard") for p in paths)
    rahim.wait(
        lambda: rahim.js(
            "return window.performance.getEntriesByType('resource').some((r) => r.name.includes('/leaderboard'))"
        ),
        "the leaderboard asked for",
    )
    if not has_board:
        assert rahim.js("return document.getElementById('leaderboard').hidden") is True

    # ── The host opens a poll in the studio; both viewers see it and vote; the percentages follow ──
    studio = chromium(*DESKTOP)
    studio.open(
        f"{web.url}/static/i18n/en.json", token=web.token("viewer host", on_air.host_user, on_air.vendor_id), lang="en"
    )  # the studio opens the show it was last on: set before the page loads
    studio.js(f"localStorage.setItem('lc_studio_open', '{sid}')")
    studio.driver.get(f"{web.url}/studio#shows")
    # My shows: this host's live show, found with GET /streams?status=live (this browser never opened it).
    studio.wait_for(f"#show-list [data-group=live] li.show-row[data-id='{sid}']", visible=True, timeout=60)
    assert "Gift hour" in studio.text(f"li.show-row[data-id='{sid}']")
    studio.click("[data-tab=live]")
    studio.wait_for("#start-poll:not([disabled])", visible=True, timeout=60)
    studio.type("#game-form [name=question]", "Which colour next?")
    studio.type("#game-form [name=question_bn]", "এরপর কোন রং?")
    studio.type("#game-form [name=option_0]", "Red")
    studio.type("#game-form [name=option_1]", "Blue")
    studio.click("#start-poll")
    card = studio.wait_for("#game-state .game-poll[data-status=open]", visible=True)
    poll_id = card.get_attribute("data-poll-id")
    poll = f"#polls [data-poll-id='{poll_id}']"
    rahim.wait_text(f"{poll} .poll-question", lambda t: t == "Which colour next?", "the poll on Rahim's page")
    karim.wait_text(f"{poll} .poll-question", lambda t: t == "এরপর কোন রং?", "the poll on Karim's page, in Bangla")
    rahim.click(f"{poll} button[data-option=o1]")
    karim.click(f"{poll} button[data-option=o2]")
    # a third viewer votes over HTTP: Red 2 of 3
    ok(web.as_user("viewer", str(uuid.uuid4())).post(f"/polls/{poll_id}/votes", json={"option_id": "o1"}))
    rahim.wait_text(f"{poll} button[data-option=o1] .percent", lambda t: t == "67%", "Red at 67% for Rahim")
    assert rahim.text(f"{poll} button[data-option=o2] .percent") == "33%"
    assert rahim.text(f"{poll} .poll-total") == "3 votes"
    karim.wait_text(f"{poll} button[data-option=o1] .percent", lambda t: t == "৬৭%", "৬৭% for Karim")
    assert karim.text(f"{poll} button[data-option=o2] .percent") == "৩৩%"
    assert karim.text(f"{poll} .poll-total") == "৩টি ভোট"
    assert rahim.find(f"{poll} button[data-option=o1]").get_attribute("aria-pressed") == "true"
    studio.wait_text("#game-state li[data-option=o1] .poll-percent", lambda t: t == "67%", "the host's results")
    assert ok(httpx.get(f"{web.url}{P}/polls/{poll_id}"))["total_votes"] == 3

    # ── Coins: a top-up paid at the provider, then a rose; the room (Karim) sees it, the balance drops ──
    rahim.click(".top-up[data-coins='100']")
    pay = rahim.wait(
        lambda: rahim.js("const a = document.getElementById('top-up-pay'); return a && a.href"),
        "the provider's payment link",
    )
    assert web.pay(pay).status_code == 200  # the buyer on the provider's page
    rahim.wait_text("#coin-balance", lambda t: t == "🪙 100", "100 coins after paying")
    shot(rahim, "watch-games", "#polls")
    rahim.click(".gift[data-gift=rose]")
    rahim.wait_text("#coin-balance", lambda t: t == "🪙 90", "90 coins after the rose")
    karim.wait_text("#gift-feed", lambda t: "Rahim পাঠিয়েছেন গোলাপ ×১" in t, "the gift in the room, in Bangla")
    if has_board:  # the gifts board (its default) names the sender, on every page in the room
        karim.wait_text("#leaderboard .board", lambda t: "Rahim" in t, "Rahim on the gifts leaderboard")
    wallet = ok(web.as_user("viewer").get("/wallet"))  # another user's wallet stays empty
    assert wallet["balance"] == 0
    shot(karim, "watch-games-bn", "#polls")

    # ── A quiz started in the studio, answered in the browser, scored when the time is up ──
    studio.click("[data-game=quiz]")
    studio.type("#game-form [name=question]", "Where is Jamdani woven?")
    studio.type("#game-form [name=option_0]", "Sonargaon")
    studio.type("#game-form [name=option_1]", "Sylhet")
    studio.type("#game-form [name=seconds]", "8")
    studio.click("#start-quiz")
    rahim.wait_text("#quiz .quiz-question", lambda t: t == "Where is Jamdani woven?", "the quiz question")
    assert rahim.text("#quiz .quiz-status") == "Up to 100 points: answer fast!"
    rahim.click("#quiz button[data-option='0']")
    rahim.wait_text("#quiz .quiz-status", lambda t: t.startswith("Answer sent"), "the answer acknowledged")
    karim.click("#quiz button[data-option='1']")
    rahim.wait_text("#quiz .quiz-status", lambda t: t == "Right! Well done.", "the right answer told", timeout=40)
    karim.wait_text("#quiz .quiz-status", lambda t: t == "এবার হলো না।", "the wrong answer told, in Bangla")
    assert rahim.text("#quiz button[data-option='0'] .percent") == "1"
    studio.wait_text("#quiz-result", lambda t: t == "1 of 2 answered right", "the host's quiz result")
    studio.click("#quiz-next")  # the last question: the quiz ends
    rahim.wait_text("#quiz", lambda t: "Quiz winners" in t and "Rahim" in t, "the winners")
    score = int(rahim.text("#quiz .board li:first-child b").replace(",", ""))
    assert 50 <= score <= 100, score  # 100 points × (50 % + 50 % × time left)
    assert rahim.text("#quiz .board li:first-child .who") == "Rahim"
    studio.wait_text("#game-state .game-quiz", lambda t: "Quiz over" in t and "Rahim" in t, "the host sees the winners")
    shot(studio, "studio-games", "#games-card")


def test_replay_and_highlights_of_the_ended_show(
    web: Show,  # noqa: F811
    on_air: Seeded,
    chromium: Callable[..., Browser],
) -> None:
    sid = on_air.stream_id
    host = httpx.Client(
        base_url=web.url + P,
        timeout=30,
        headers={"Authorization": f"Bearer {web.token('host', on_air.host_user, on_air.vendor_id)}"},
    )
    time.sleep(max(0.0, on_air.extra["published_at"] + 12 - time.time()))  # some picture before the second product
    ok(host.post(f"/streams/{sid}/feature", json={"product_id": on_air.products[1]}))
    featured_local = time.time()
    time.sleep(8)
    ok(host.post(f"/streams/{sid}/end", json={"summary": "Thanks!", "auto_generate_highlights": True}))
    assert on_air.publisher is not None
    on_air.publisher.kill()
    on_air.publisher.wait(10)

    def clips() -> dict | None:  # type: ignore[type-arg]
        r = ok(httpx.get(f"{web.url}{P}/streams/{sid}/highlights"))
        return r if r["highlights"] else None

    found = web_wait(clips, "highlights in the read model", 180)
    replay = ok(httpx.get(f"{web.url}{P}/streams/{sid}/replay"))
    assert replay["status"] == "ended"
    rec = replay["recording"]
    assert rec["playlist_url"] == f"{web.url}/hls/{sid}/recording.m3u8"
    master = httpx.get(rec["playlist_url"])
    assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    # The timeline against the recording itself: the first segment's wall clock, from the rendition's playlist.
    rendition = next(ln for ln in master.text.splitlines() if ln and not ln.startswith("#"))
    media = httpx.get(f"{web.url}/hls/{sid}/{rendition}").text
    pdt0 = next(ln.split(":", 1)[1] for ln in media.splitlines() if ln.startswith("#EXT-X-PROGRAM-DATE-TIME:"))
    start = datetime.fromisoformat(pdt0.replace("Z", "+00:00")).timestamp()
    total = sum(float(ln[8:].split(",")[0]) for ln in media.splitlines() if ln.startswith("#EXTINF:"))
    assert abs(rec["duration_s"] - total) <= 1.0, (rec["duration_s"], total)
    line = replay["product_timeline"]
    assert [(e["product_id"], e["name"], e["price"]) for e in line] == [
        (on_air.products[0], "Jamdani saree", 4500.0),
        (on_air.products[1], "Nakshi kantha", 2499.5),
    ]
    second = datetime.fromisoformat(line[1]["featured_at"]).timestamp()
    assert abs(second - featured_local) < 2.0
    assert line[0]["start_s"] == 0.0 and line[0]["end_s"] == line[1]["start_s"]
    assert abs(line[1]["start_s"] - (second - start)) < 0.05, (line[1], second - start)
    assert line[1]["end_s"] == pytest.approx(rec["duration_s"], abs=0.01)
    # The highlight at the moment the second product was featured: its product, times, picture and playlist.
    at = line[1]["start_s"]
    clip = next(h for h in found["highlights"] if h["start_s"] <= at <= h["end_s"])
    assert "product_featured" in clip["reasons"]
    assert clip["product"]["product_id"] == on_air.products[1] and clip["product"]["price"] == 2499.5
    assert clip["product"]["list_price"] == 3124.38  # the catalogue's price: what the replay sells it for
    assert clip["product"]["name_bn"] == "নকশি কাঁথা"
    assert 4 <= clip["duration_s"] <= 12
    assert clip["playlist_url"] == f"{web.url}/hls/{sid}/highlights/{clip['index']:02d}/index.m3u8"
    assert "#EXT-X-STREAM-INF" in httpx.get(clip["playlist_url"]).text
    thumb = httpx.get(clip["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"  # a JPEG
    assert ok(httpx.get(f"{web.url}{P}/streams/{uuid.uuid4()}/replay"), 404)["error"]["code"] == "stream_not_found"

    # ── The ended show's watch page: the replay plays, the highlights are listed, a tap seeks and shops ──
    b = chromium(*MOBILE)
    b.open(f"{web.url}/watch/{sid}", token=named(web, "Rina"), lang="en")
    ready(b)
    b.wait(lambda: b.js("document.getElementById('video').currentTime") > 0.5, "the replay to play", 60)
    button = f"#replay .highlight[data-index='{clip['index']}']"
    assert "Nakshi kantha" in b.wait_for(button, visible=True).text and "৳3,124.38" in b.text(button)
    b.click(button)
    b.wait(
        lambda: clip["start_s"] - 0.5 <= b.js("document.getElementById('video').currentTime") <= clip["end_s"],
        "the replay at the highlight",
    )
    b.wait_text("#featured-name", lambda t: t == "Nakshi kantha", "the highlight's product")
    assert b.text("#featured-price") == "৳3,124.38"  # the list price: the show's ৳2,499.50 ended with it
    assert b.find("#add-to-cart").is_displayed()
    shot(b, "watch-replay", "#replay")
    # Shoppable: add the highlight's product to the cart, check out (cash on delivery), the order is placed at
    # the list price and the show's stock of it drops by one (decided by the stock aggregate, as live).
    kantha = on_air.products[1]

    def sold() -> int:
        shown = ok(httpx.get(f"{web.url}{P}/streams/{sid}"))
        return int(next(p["sold_quantity"] for p in shown["featured_products"] if p["product_id"] == kantha))

    before = sold()
    b.click("#add-to-cart")
    b.wait_text("#cart-button", lambda t: "৳3,124.38" in t, "the cart with the kantha at the list price")
    b.click("#cart-button")
    b.wait_for("#checkout[open]")
    for field, value in (
        ("name", "Rina Akter"),
        ("phone", "01812345678"),
        ("address", "House 3, Road 9"),
        ("city", "Rajshahi"),
    ):
        b.type(f"#co-{field}", value)
    b.click("#checkout input[value='cod']")
    b.click("#checkout-submit")
    b.wait_text("#order-status", lambda t: "Order placed" in t, "the replay order's status")
    assert "৳3,124.38" in b.text("#order-status")
    web_wait(lambda: sold() == before + 1, "one kantha sold from the replay", 30)
    shot(b, "watch-replay-order")
    b.open(f"{web.url}/watch/{sid}", token=named(web, "Rina"), lang="bn")
    ready(b)
    assert "৳৩,১২৪.৩৮" in b.wait_for(button, visible=True).text
    shot(b, "watch-replay-bn", "#replay")

    # My shows in the studio: the show is listed as ended, its dashboard one tap away.
    studio = chromium(*DESKTOP)
    studio.open(
        f"{web.url}/studio#shows", token=web.token("viewer host", on_air.host_user, on_air.vendor_id), lang="en"
    )
    studio.wait_for(f"#show-list [data-group=ended] li.show-row[data-id='{sid}']", visible=True, timeout=60)
    shot(studio, "studio-shows", "#show-list")
    studio.click(f"li.show-row[data-id='{sid}'] button.dashboard")
    studio.wait_for("#show-analytics:not([hidden]) #sa-figures .figure", visible=True, timeout=30)
    assert studio.js("return document.getElementById('analytics-show').value") == sid


def web_wait(fn: Callable[[], object], what: str, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")
