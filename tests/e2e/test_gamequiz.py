"""Quizzes and loyalty points (issue 14 parts 2 and 4) as clients meet them: the whole game (relay,
projections, process managers, API with Socket.IO, payment sandbox) on the session's real services, its clock
moved forward by the test instead of waiting; HTTP and Socket.IO only, the values users see asserted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.tokens import issue_token
from tests.conftest import Environments
from tests.e2e.journeys import Show, advance_clock, clocked_settings
from tests.realtime.conftest import Viewer, connect
from tests.support import Proc, wait_until

PRODUCT = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e41"
PRICE = 1250.0


class GameShow(Show):
    """The journeys' stack, given longer to start on a busy machine (the API's first start migrates)."""

    def start_api(self) -> Proc:
        self.procs["api"] = api = Proc(self.env, "api", log_dir=self.log_dir, name="game-api")
        api.wait_for_output("realtime pusher ready", timeout=180)
        wait_until(
            lambda: httpx.get(f"{self.sandbox_url}/sandbox/health", timeout=5).status_code == 200,
            timeout=60,
            what="payment sandbox",
        )
        return api


@pytest.fixture(scope="module")
def game(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = clocked_settings(
        environments,
        loyalty_watch_block_s=1.0,
        loyalty_watch_points=5,
        loyalty_watch_cap_per_show=15,
        loyalty_chat_points=2,
        loyalty_chat_cap_per_show=4,
        loyalty_purchase_points_per_100=1,
        loyalty_quiz_rewards="100,50,25",
        loyalty_point_value=Decimal("0.50"),
        loyalty_expiry_s=600.0,
    )
    s = GameShow(env, log_dir, sandbox)
    yield s
    s.stop()


def vendor_show(s: Show, vendor: str) -> str:
    """A show of this vendor's, on air, selling PRODUCT."""
    http = s.as_user("vendor", vendor, vendor)
    created = http.post(
        "/streams",
        json={
            "title": "কুইজ নাইট",
            "stream_type": "q_and_a",
            "products": [{"product_id": PRODUCT, "special_price": PRICE}],
        },
    )
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    started = http.post(f"/streams/{sid}/start")
    assert started.status_code == 200, started.text
    return sid


async def viewer_in(s: Show, sid: str, user: str | None, name: str | None = None) -> Viewer:
    v = await connect(s.url, issue_token(s.env, user, ["viewer"], name) if user else None)
    for _ in range(100):
        ack = await v.call("join_stream", {"stream_id": sid, "viewer_info": {"device_type": "mobile"}})
        if ack.get("ok"):
            return v
        await asyncio.sleep(0.1)
    raise AssertionError(f"could not join {sid}: {ack}")


def question(text: str, options: list[Any], correct: int, points: int, seconds: int) -> dict[str, Any]:
    return {
        "question": text,
        "question_bn": f"{text} (বাংলা)",
        "options": options,
        "correct_option": correct,
        "points": points,
        "seconds": seconds,
    }


def refused_with(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = dict(r.json()["error"])
    assert body["code"] == code and body["message"] and body["message_bn"], body
    return body


async def answer(v: Viewer, quiz_id: str, question_id: str, option: int) -> dict[str, Any]:
    return dict(await v.call("quiz_answer", {"quiz_id": quiz_id, "question_id": question_id, "option_id": option}))


def error_code(ack: dict[str, Any]) -> str:
    assert ack["ok"] is False and ack["error"]["message"] and ack["error"]["message_bn"], ack
    return str(ack["error"]["code"])


async def test_quiz_over_http_and_socketio(game: Show) -> None:
    vendor, moderator = str(uuid.uuid4()), str(uuid.uuid4())
    sid = vendor_show(game, vendor)
    host = game.as_user("vendor", vendor, vendor)
    body = {
        "title": "ঈদ কুইজ",
        "questions": [
            question(
                "Capital of Bangladesh?",
                ["Chattogram", {"text": "Khulna", "text_bn": "খুলনা"}, "Dhaka", "Sylhet"],
                2,
                100,
                20,
            ),
            question("2 + 2?", ["4", "5"], 0, 50, 10),
        ],
    }

    # Who may run a quiz: not a viewer, not another vendor (403, nothing created); an assigned moderator may.
    refused_with(game.as_user("viewer").post(f"/streams/{sid}/quizzes", json=body), 403, "not_permitted")
    other = str(uuid.uuid4())
    refused_with(game.as_user("vendor", other, other).post(f"/streams/{sid}/quizzes", json=body), 403, "not_permitted")
    bad = {"title": "x", "questions": [question("?", ["a", "b"], 3, 10, 10)]}
    refused_with(host.post(f"/streams/{sid}/quizzes", json=bad), 422, "invalid_quiz")
    refused_with(host.post(f"/streams/{sid}/quizzes", json={"title": "x", "questions": []}), 422, "validation_failed")
    assigned = game.http.post(
        f"/streams/{sid}/moderators", json={"moderator_id": moderator, "permissions": ["moderate_chat"]}
    )
    assert assigned.status_code == 201, assigned.text
    by_mod = game.as_user("moderator", moderator).post(f"/streams/{sid}/quizzes", json=body)
    assert by_mod.status_code == 201, by_mod.text

    created = host.post(f"/streams/{sid}/quizzes", json=body)
    assert created.status_code == 201, created.text
    quiz = created.json()
    qid = quiz["quiz_id"]
    assert (quiz["stream_id"], quiz["status"], quiz["questions"], quiz["question"]) == (sid, "ready", 2, None)

    users = {n: str(uuid.uuid4()) for n in ("a", "b", "c", "e")}
    a = await viewer_in(game, sid, users["a"], "রহিম")
    b = await viewer_in(game, sid, users["b"], "Karim")
    c = await viewer_in(game, sid, users["c"], "Sumi")
    e = await viewer_in(game, sid, users["e"], "Late Latif")
    anon = await viewer_in(game, sid, None)
    try:
        refused_with(game.as_user("viewer").post(f"/quizzes/{qid}/next"), 403, "not_permitted")
        shown = host.post(f"/quizzes/{qid}/next")
        assert shown.status_code == 200, shown.text
        q1 = shown.json()["question"]
        assert (q1["question_id"], q1["index"], q1["seconds"], q1["points"]) == ("q1", 0, 20, 100)
        assert "correct_option" not in q1
        pushed = await a.wait_for("quiz_question", lambda d: d["quiz_id"] == qid)
        assert "correct_option" not in pushed
        assert [o["text"] for o in pushed["options"]] == ["Chattogram", "Khulna", "Dhaka", "Sylhet"]
        assert pushed["options"][1]["text_bn"] == "খুলনা" and pushed["question_bn"] == "Capital of Bangladesh? (বাংলা)"

        assert (await answer(a, qid, "q1", 2))["ok"] is True
        assert (await answer(b, qid, "q1", 1))["ok"] is True
        # Bad answers: an error to the sender only, nothing counted, the socket stays up.
        assert error_code(await answer(a, qid, "q1", 3)) == "already_answered"
        assert error_code(await answer(c, qid, "q1", 7)) == "unknown_option"
        assert error_code(await answer(c, qid, "q1", -1)) == "unknown_option"
        assert error_code(await answer(c, qid, "q2", 0)) == "question_not_open"
        assert error_code(await answer(c, str(uuid.uuid4()), "q1", 0)) == "quiz_not_found"
        assert error_code(await answer(anon, qid, "q1", 2)) == "auth_required"
        assert a.got("error")[-1]["code"] == "already_answered" and a.client.connected
        refused_with(host.post(f"/quizzes/{qid}/next"), 409, "question_still_open")

        advance_clock(game, 10)  # half the time gone: a right answer is worth 75 of 100
        assert (await answer(c, qid, "q1", 2))["ok"] is True
        advance_clock(game, 11)  # the time is up
        assert error_code(await answer(e, qid, "q1", 2)) == "answer_too_late"
        assert e.client.connected and (await e.call("react", {"stream_id": sid, "reaction_type": "clap"}))["ok"]

        result = await a.wait_for("quiz_question_result", lambda d: d["question_id"] == "q1", timeout=20)
        assert result["correct_option"] == 2
        assert result["counts"] == [
            {"option_id": 0, "answers": 0},
            {"option_id": 1, "answers": 1},
            {"option_id": 2, "answers": 2},
            {"option_id": 3, "answers": 0},
        ]
        assert (result["answers"], result["correct_answers"]) == (3, 2)

        shown = host.post(f"/quizzes/{qid}/next")
        assert shown.status_code == 200 and shown.json()["question"]["question_id"] == "q2", shown.text
        await b.wait_for("quiz_question", lambda d: d["question_id"] == "q2")
        assert (await answer(b, qid, "q2", 0))["ok"] is True
        assert (await answer(a, qid, "q2", 1))["ok"] is True
        advance_clock(game, 11)
        ended = host.post(f"/quizzes/{qid}/next")
        assert ended.status_code == 200, ended.text
        final = await c.wait_for("quiz_ended", lambda d: d["quiz_id"] == qid, timeout=20)
        top = final["top"]
        assert [t["user_id"] for t in top] == [users["a"], users["c"], users["b"]]
        assert [t["rank"] for t in top] == [1, 2, 3] and top[0]["display_name"] == "রহিম"
        assert 95 <= top[0]["score"] <= 100 and 70 <= top[1]["score"] <= 75 and 47 <= top[2]["score"] <= 50
        assert final["participants"] == 3 and ended.json()["top"] == top and ended.json()["status"] == "ended"
        # The winners' loyalty points were credited with the end (ranks 1-3: 100, 50, 25).
        assert ended.json()["rewards"] == [
            {"user_id": users["a"], "rank": 1, "points": 100},
            {"user_id": users["c"], "rank": 2, "points": 50},
            {"user_id": users["b"], "rank": 3, "points": 25},
        ]
        refused_with(host.post(f"/quizzes/{qid}/next"), 409, "quiz_ended")
        won = game.as_user("viewer", users["a"]).get("/loyalty").json()
        assert (won["balance"], won["tier"], won["history"][0]["source"]) == (100, "bronze", "quiz")
        assert [r["question_id"] for r in a.got("quiz_question_result") if r["quiz_id"] == qid] == ["q1", "q2"]
    finally:
        for v in (a, b, c, e, anon):
            await v.client.disconnect()


CHEAP = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e42"


def loyalty_when(http: httpx.Client, what: str, check: Any) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        r = http.get("/loyalty")
        assert r.status_code == 200, r.text
        return dict(r.json()) if check(r.json()) else None

    return dict(wait_until(look, timeout=40, interval=0.1, what=what))


def buy(
    game: Show, buyer: httpx.Client, sid: str, key: str, product: str, price: float, **extra: Any
) -> httpx.Response:
    return buyer.post(
        "/checkout/instant",
        headers={"Idempotency-Key": key},
        json={
            "stream_id": sid,
            "payment_method": "bkash",
            "shipping_address": {"city": "Dhaka", "name": "Rahim"},
            "cart_items": [{"product_id": product, "quantity": 1, "price": price}],
            **extra,
        },
    )


async def test_loyalty_points_earned_spent_taken_back_and_expired(game: Show) -> None:
    vendor, user = str(uuid.uuid4()), str(uuid.uuid4())
    http = game.as_user("vendor", vendor, vendor)
    created = http.post(
        "/streams",
        json={
            "title": "পয়েন্ট শো",
            "stream_type": "product_demo",
            "products": [{"product_id": PRODUCT, "special_price": PRICE}, {"product_id": CHEAP, "special_price": 5}],
        },
    )
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    assert http.post(f"/streams/{sid}/start").status_code == 200
    buyer = game.as_user("viewer", user)
    empty = buyer.get("/loyalty").json()
    assert (empty["balance"], empty["tier"], empty["history"]) == (0, "bronze", [])

    # Watching (5 points a second here, at most 15 a show) and chatting (2 a message, at most 4 a show).
    v = await viewer_in(game, sid, user, "রহিম")
    for text in ("আসসালামু আলাইকুম", "দাম কত?", "ধন্যবাদ"):
        assert (await v.call("send_message", {"stream_id": sid, "message": text}))["ok"]
    await asyncio.sleep(3.2)  # presence time is the gateway's own (monotonic) clock
    await v.client.disconnect()
    earned = loyalty_when(buyer, "watch and chat points", lambda d: d["balance"] == 19)
    kinds = sorted((h["source"], h["points"]) for h in earned["history"])
    assert kinds == [("chat", 2), ("chat", 2), ("watch", 15)] and earned["lifetime_points"] == 19

    # A purchase: 1 point per 100 BDT paid (1,250 → 12), credited once the payment is confirmed.
    placed = buy(game, buyer, sid, uuid.uuid4().hex, PRODUCT, PRICE)
    assert placed.status_code == 201, placed.text
    assert game.pay(placed.json()["payment_url"]).status_code == 200
    paid = loyalty_when(buyer, "purchase points", lambda d: d["balance"] == 31)
    assert paid["history"][0]["source"] == "purchase" and paid["history"][0]["points"] == 12

    # Spending at checkout: 20 points = 10 BDT off, exactly once per Idempotency-Key; bad amounts change nothing.
    refused_with(buy(game, buyer, sid, uuid.uuid4().hex, PRODUCT, PRICE, loyalty_points=32), 409, "insufficient_points")
    refused_with(buy(game, buyer, sid, uuid.uuid4().hex, CHEAP, 5, loyalty_points=20), 422, "too_many_points")
    refused_with(buy(game, buyer, sid, uuid.uuid4().hex, PRODUCT, PRICE, loyalty_points=-5), 422, "validation_failed")
    key = uuid.uuid4().hex
    spent = buy(game, buyer, sid, key, PRODUCT, PRICE, loyalty_points=20)
    assert spent.status_code == 201, spent.text
    assert (spent.json()["discount"], spent.json()["total"], spent.json()["loyalty_points"]) == (10.0, 1240.0, 20)
    again = buy(game, buyer, sid, key, PRODUCT, PRICE, loyalty_points=20)
    assert again.status_code == 201 and again.json()["order_id"] == spent.json()["order_id"]
    after = buyer.get("/loyalty").json()
    assert after["balance"] == 11 and [h["kind"] for h in after["history"]].count("redeemed") == 1

    # A partial refund takes back what the refunded amount earned: 1,250 - 500 = 750 → 7 points stand, 5 go.
    order_id = placed.json()["order_id"]
    refund = game.http.post(
        f"/orders/{order_id}/refunds",
        json={"reason": "damaged", "amount": 500},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refund.status_code == 201, refund.text
    back = loyalty_when(buyer, "points taken back", lambda d: d["balance"] == 6)
    assert back["history"][0]["kind"] == "reversed" and back["history"][0]["points"] == -5

    # Every lot expires after loyalty_expiry_s (600 s here): the process managers expire what is left.
    advance_clock(game, 601)
    gone = loyalty_when(buyer, "points expired", lambda d: d["balance"] == 0 and d["history"][0]["kind"] == "expired")
    assert gone["history"][0]["points"] == -6 and gone["lifetime_points"] == 31 and gone["next_expiry"] is None
    # The rest of the refund finds nothing left to take: the balance never goes below zero.
    rest = game.http.post(
        f"/orders/{order_id}/refunds",
        json={"reason": "returned", "amount": 750},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert rest.status_code == 201, rest.text
    await asyncio.sleep(1.0)
    assert buyer.get("/loyalty").json()["balance"] == 0
