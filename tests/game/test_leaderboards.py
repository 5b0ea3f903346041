"""Issue 14 part 5: leaderboards as clients meet them, against every process of the stack
(``tests/e2e/journeys.py``): gifts, a quiz and paid (and refunded) orders → the boards over HTTP and the room's
``leaderboard_update``; a host's fans; the week's board; bad input; a replay of the log into fresh keys giving the
same sorted sets (hash); a kill -9 of the projection process mid-stream converging to the same boards."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.leaderboard_replay import digests, replay_into
from infra.tokens import issue_token
from tests.conftest import Environments
from tests.e2e.journeys import P, Show, advance_clock, clocked_settings, joined
from tests.support import Proc, wait_until

APPLICATION = {
    "host_name": "Sarah Khan",
    "bio": "Gadgets",
    "bio_bn": "গ্যাজেট",
    "specializations": ["electronics"],
    "languages": ["bn", "en"],
    "experience_level": "intermediate",
}
PRODUCT = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e51"
PRICE = 1250.0
BN_BAD_BOARD = "অজানা লিডারবোর্ড: gifts, quiz বা buyers দিন।"


class GameShow(Show):
    """The journeys' stack, given longer to start on a busy machine."""

    def start_api(self) -> Proc:
        self.procs["api"] = api = Proc(self.env, "api", log_dir=self.log_dir, name="board-api")
        api.wait_for_output("realtime pusher ready", timeout=240)
        wait_until(
            lambda: httpx.get(f"{self.sandbox_url}/sandbox/health", timeout=5).status_code == 200,
            timeout=60,
            what="payment sandbox",
        )
        return api


@pytest.fixture(scope="module")
def boards(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = clocked_settings(environments, fanout_max_fps=10.0, rate_limits_enabled=False)
    s = GameShow(env, log_dir, sandbox)
    ok(s.http.put("/gifts/rose", json={"name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"}))
    ok(s.http.put("/gifts/car", json={"name": "Car", "name_bn": "গাড়ি", "coins": 100, "animation_key": "car"}))
    yield s
    s.stop()


def client(s: Show, name: str | None, role: str = "viewer", user: str | None = None) -> httpx.Client:
    tok = issue_token(s.env, user or str(uuid.uuid4()), [role], name=name)
    return httpx.Client(base_url=f"{s.url}{P}", timeout=30, headers={"Authorization": f"Bearer {tok}"})


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _sub(c: httpx.Client) -> str:
    import base64
    import json

    body = c.headers["Authorization"].split()[1].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sub"])


def with_coins(s: Show, name: str, coins: int) -> httpx.Client:
    """A signed-in viewer who bought ``coins`` through the payment sandbox (credited once confirmed)."""
    c = client(s, name)
    placed = ok(
        c.post(
            "/wallet/top-ups",
            json={"coins": coins, "payment_method": "bkash"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    assert s.pay(placed["payment_url"]).status_code == 200
    wait_until(lambda: ok(c.get("/wallet"))["balance"] == coins, timeout=30, what=f"{name}'s {coins} coins")
    return c


def host_show(s: Show) -> tuple[httpx.Client, str, str]:
    """A verified host with a live show; → (the host's client, host profile id, stream id)."""
    host = client(s, "Sarah", "host")
    hid = ok(host.post("/hosts/apply", json=APPLICATION), 201)["id"]
    ok(s.http.post(f"/hosts/{hid}/verify"))
    sid = ok(
        host.post(
            "/streams",
            json={
                "title": "উপহারের শো",
                "stream_type": "product_demo",
                "products": [{"product_id": PRODUCT, "special_price": PRICE}],
            },
        ),
        201,
    )["id"]
    ok(host.post(f"/streams/{sid}/start"))
    return host, str(hid), str(sid)


def gift(c: httpx.Client, sid: str, gift_id: str, quantity: int = 1) -> dict[str, Any]:
    """One send; a 5xx (the shared database restarting under the suite) is retried with the same key, as a
    client would: the wallet spends it once whatever the retries."""
    key = uuid.uuid4().hex
    for _ in range(5):
        r = c.post(
            f"/streams/{sid}/gifts", json={"gift_id": gift_id, "quantity": quantity}, headers={"Idempotency-Key": key}
        )
        if r.status_code < 500:
            break
        time.sleep(1.0)
    return dict(ok(r, 201))


def board_when(s: Show, path: str, expected: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def look() -> bool:
        nonlocal last
        last = ok(httpx.get(f"{s.url}{P}{path}", params=params, timeout=30))
        return bool(last["entries"] == expected)

    try:
        wait_until(look, timeout=40, interval=0.2, what=f"{path} {params}")
    except AssertionError:
        raise AssertionError(f"{path}: expected {expected}, last {last}") from None
    return last


def rows(*ranked: tuple[str, str, float]) -> list[dict[str, Any]]:
    return [{"rank": i + 1, "user_id": u, "name": n, "score": sc} for i, (u, n, sc) in enumerate(ranked)]


async def test_gift_boards_over_http_and_socketio(boards: Show) -> None:
    s = boards
    _, hid, sid = host_show(s)
    nusrat, rahim, sumi = with_coins(s, "Nusrat", 100), with_coins(s, "Rahim", 100), with_coins(s, "সুমি", 200)
    n, r, m = _sub(nusrat), _sub(rahim), _sub(sumi)
    room = await joined(s, sid)
    try:
        gift(nusrat, sid, "rose", 3)  # 30
        gift(rahim, sid, "car")  # 100
        gift(sumi, sid, "rose", 7)  # 70
        gift(nusrat, sid, "rose", 2)  # 50 in all
        expected = rows((r, "Rahim", 100), (m, "সুমি", 70), (n, "Nusrat", 50))
        got = board_when(s, f"/streams/{sid}/leaderboard", expected, board="gifts")
        assert got == {"stream_id": sid, "board": "gifts", "entries": expected}
        assert board_when(s, f"/streams/{sid}/leaderboard", expected)["board"] == "gifts"  # the default board
        assert board_when(s, f"/streams/{sid}/leaderboard", expected[:2], board="gifts", limit=2)

        # The room: a coalesced update with the top ten, then nothing while nothing changes.
        pushed = await room.wait_for(
            "leaderboard_update", lambda d: d["board"] == "gifts" and d["entries"] == expected, timeout=20
        )
        assert pushed["stream_id"] == sid
        frames = len(room.got("leaderboard_update"))
        assert frames <= 4  # four gifts, at most one frame each (fewer when a tick took several)
        await asyncio.sleep(2.0)  # 20 ticks at 10 per second
        assert len(room.got("leaderboard_update")) == frames
        gift(sumi, sid, "car")  # Sumi 170 takes the lead: one more frame, with the new order
        lead = rows((m, "সুমি", 170), (r, "Rahim", 100), (n, "Nusrat", 50))
        await room.wait_for("leaderboard_update", lambda d: d["entries"] == lead, timeout=20)
        await asyncio.sleep(1.0)
        assert len(room.got("leaderboard_update")) == frames + 1
        assert {d["board"] for d in room.got("leaderboard_update")} == {"gifts"}  # empty boards are not sent

        # The host's fans: all time and this month (Dhaka time); the week's board across shows.
        fans = board_when(s, f"/hosts/{hid}/leaderboard", lead)
        assert (fans["host_id"], fans["period"]) == (hid, "all")
        month = board_when(s, f"/hosts/{hid}/leaderboard", lead, period="month")
        now = datetime.now(UTC) + timedelta(seconds=float(s.env.test_clock_file.read_text()))  # type: ignore[union-attr]
        assert month["month"] == now.astimezone(timezone(timedelta(hours=6))).strftime("%Y-%m")
        weekly = ok(httpx.get(f"{s.url}{P}/leaderboards/weekly", params={"limit": 100}))
        mine = [e for e in weekly["entries"] if e["user_id"] in (n, r, m)]
        assert [(e["user_id"], e["score"]) for e in mine] == [(m, 170), (r, 100), (n, 50)]
        assert weekly["board"] == "weekly" and weekly["week"].startswith(str(now.year)[:3])

        # Bad input: a clear error in English and Bangla, nothing else.
        bad = httpx.get(f"{s.url}{P}/streams/{sid}/leaderboard", params={"board": "likes"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_leaderboard"
        assert bad.json()["error"]["message_bn"] == BN_BAD_BOARD and bad.json()["error"]["message"]
        for limit in ("0", "101", "-3", "ten"):
            wrong = httpx.get(f"{s.url}{P}/streams/{sid}/leaderboard", params={"board": "gifts", "limit": limit})
            assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "validation_failed", wrong.text
        assert httpx.get(f"{s.url}{P}/hosts/{hid}/leaderboard", params={"period": "year"}).status_code == 422
        malformed = httpx.get(f"{s.url}{P}/streams/not-a-show/leaderboard")
        assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalid_id"
        empty = ok(httpx.get(f"{s.url}{P}/streams/{uuid.uuid4()}/leaderboard", params={"board": "quiz"}))
        assert empty["entries"] == []
        assert room.client.connected
    finally:
        await room.client.disconnect()


async def test_quiz_and_buyers_boards(boards: Show) -> None:
    s = boards
    staff, _, sid = host_show(s)  # the show's host runs the quiz
    a_id, c_id = str(uuid.uuid4()), str(uuid.uuid4())
    watcher = await joined(s, sid)
    from tests.e2e.test_gamequiz import answer, viewer_in

    a = await viewer_in(s, sid, a_id, "রহিম")
    c = await viewer_in(s, sid, c_id, "Karim")
    try:
        quiz_body = {
            "title": "কুইজ",
            "questions": [
                {
                    "question": "Capital?",
                    "question_bn": "রাজধানী?",
                    "options": ["Khulna", "Dhaka"],
                    "correct_option": 1,
                    "points": 100,
                    "seconds": 20,
                }
            ],
        }
        qid = ok(staff.post(f"/streams/{sid}/quizzes", json=quiz_body), 201)["quiz_id"]
        ok(staff.post(f"/quizzes/{qid}/next"))
        await a.wait_for("quiz_question", lambda d: d["quiz_id"] == qid)
        assert (await answer(a, qid, "q1", 1))["ok"]
        advance_clock(s, 10)
        assert (await answer(c, qid, "q1", 1))["ok"]
        advance_clock(s, 11)
        await a.wait_for("quiz_question_result", lambda d: d["quiz_id"] == qid, timeout=20)
        ended = ok(staff.post(f"/quizzes/{qid}/next"))
        top = {t["user_id"]: t["score"] for t in ended["top"]}
        assert set(top) == {a_id, c_id} and top[a_id] > top[c_id] > 0
        quiz = rows((a_id, "রহিম", top[a_id]), (c_id, "Karim", top[c_id]))
        assert board_when(s, f"/streams/{sid}/leaderboard", quiz, board="quiz")["board"] == "quiz"
        await watcher.wait_for(
            "leaderboard_update", lambda d: d["board"] == "quiz" and d["entries"] == quiz, timeout=20
        )

        # Buyers: what each paid in the show, counted when the payment is confirmed, less refunds.
        def buy(c: httpx.Client) -> str:
            placed = ok(
                c.post(
                    "/checkout/instant",
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={
                        "stream_id": sid,
                        "payment_method": "bkash",
                        "shipping_address": {"city": "Dhaka"},
                        "cart_items": [{"product_id": PRODUCT, "quantity": 1, "price": PRICE}],
                    },
                ),
                201,
            )
            assert s.pay(placed["payment_url"]).status_code == 200
            return str(placed["order_id"])

        rahim = client(s, "রহিম", user=a_id)
        stranger_id = str(uuid.uuid4())
        stranger = client(s, None, user=stranger_id)
        buy(rahim)
        first = buy(stranger)
        buy(stranger)
        buyers = rows((stranger_id, f"user-{stranger_id[:6]}", 2500.0), (a_id, "রহিম", 1250.0))
        assert board_when(s, f"/streams/{sid}/leaderboard", buyers, board="buyers")["entries"] == buyers
        ok(
            s.http.post(
                f"/orders/{first}/refunds",
                json={"reason": "damaged", "amount": 500},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        after = rows((stranger_id, f"user-{stranger_id[:6]}", 2000.0), (a_id, "রহিম", 1250.0))
        board_when(s, f"/streams/{sid}/leaderboard", after, board="buyers")
        await watcher.wait_for(
            "leaderboard_update", lambda d: d["board"] == "buyers" and d["entries"] == after, timeout=20
        )
        assert isinstance(after[0]["score"], float)
    finally:
        for v in (a, c, watcher):
            await v.client.disconnect()


def test_a_replay_of_the_log_gives_the_same_sorted_sets(boards: Show) -> None:
    s = boards
    assert asyncio.run(replay_into(s.env, "REPLAY_STORE:", source="store")) > 0
    (store,) = asyncio.run(digests(s.env, "REPLAY_STORE:"))
    assert store[1] == 6, store  # gifts, host all + month, week (show 1); quiz, buyers (show 2)
    # the Kafka topic, partition by partition: the same sets (a replay again if the broker's tail was not yet
    # readable when the end offsets were taken; the difference is shown if it persists)
    diffs = []
    for _ in range(3):
        assert asyncio.run(replay_into(s.env, "REPLAY_LOG:", source="log")) > 0
        (log,) = asyncio.run(digests(s.env, "REPLAY_LOG:"))
        if log == store:
            break
        diffs.append(boards_diff(s, "REPLAY_STORE:", "REPLAY_LOG:"))
    assert log == store, diffs
    # the live read model is eventually consistent: it reaches the same hash (nothing is being written now)
    same_as_live(s, store)


def boards_diff(s: Show, a: str, b: str) -> dict[str, Any]:
    import redis

    r = redis.Redis.from_url(s.env.redis_url, decode_responses=True)

    def sets(prefix: str) -> dict[str, Any]:
        return {
            k[len(prefix) :]: r.zrange(k, 0, -1, withscores=True)
            for k in r.scan_iter(f"{prefix}LB:*")
            if r.type(k) == "zset"
        }

    sa, sb = sets(a), sets(b)
    return {k: (sa.get(k), sb.get(k)) for k in set(sa) | set(sb) if sa.get(k) != sb.get(k)}


def same_as_live(s: Show, expected: tuple[str, int]) -> None:
    last: list[tuple[str, int]] = []

    def look() -> bool:
        nonlocal last
        last = asyncio.run(digests(s.env, ""))
        return last[0] == expected

    try:
        wait_until(look, timeout=30, interval=0.5, what="the live boards' hash")
    except AssertionError:
        raise AssertionError(f"live {last} != replayed {expected}") from None


async def test_a_killed_projection_process_converges_to_the_same_boards(boards: Show) -> None:
    s = boards
    _, _, sid = host_show(s)
    fans = [with_coins(s, f"Fan {i}", 500) for i in range(4)]
    spent: Counter[str] = Counter()
    done = threading.Event()

    def send(start: int, count: int) -> None:
        for i in range(start, start + count):
            fan = fans[i % len(fans)]
            sent = gift(fan, sid, "rose", 1 + i % 3)
            spent[_sub(fan)] += sent["coins"]

    send(0, 20)
    # kill -9 the projection process while gifts keep coming; the next 40 are sent while it is down or starting
    sender = threading.Thread(target=lambda: (send(20, 40), done.set()))
    sender.start()
    s.kill("project")
    await asyncio.sleep(1.0)
    revived = s.revive("project")
    await asyncio.to_thread(revived.wait_for_output, "projection leaderboards pid", 120)
    await asyncio.to_thread(sender.join, 120)
    assert done.is_set() and sum(spent.values()) > 0
    names = {_sub(f): f"Fan {i}" for i, f in enumerate(fans)}
    # highest first; equal scores in the sorted set's order (member, descending)
    expected = rows(*[(u, names[u], c) for u, c in sorted(spent.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)])
    board_when(s, f"/streams/{sid}/leaderboard", expected, board="gifts")
    await replay_into(s.env, "REPLAY_AFTER_KILL:", source="store")
    (again,) = await digests(s.env, "REPLAY_AFTER_KILL:")
    await asyncio.to_thread(same_as_live, s, again)
