"""Sentiment on screen and the engagement optimizer on the real stack (relay, projections, process managers,
API with Socket.IO), driven over HTTP and Socket.IO only, the clock moved forward instead of waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Environments
from tests.e2e import journeys
from tests.e2e.journeys import Show, advance_clock, connect, until
from tests.realtime.conftest import Viewer
from tests.support import Proc

NEGATIVE = ["ডেলিভারি অনেক দেরি, খুব বাজে সার্ভিস", "delivery late bhai, ekdom faltu", "Terrible product, looks fake"]
QUESTIONS = ["দাম কত?", "দাম কত ভাই?", "price koto?"]
TABLES = ("engagement_minutes", "engagement_themes", "engagement_suggestions", "engagement_sales")


def tables(url: str) -> list[list[str]]:
    """Every row of the read model (the part a rebuild must give back), in a stable order."""
    with psycopg.connect(url) as conn:
        return [
            [r[0] for r in conn.execute(f"SELECT to_jsonb(t)::text AS j FROM {t} t ORDER BY j").fetchall()]
            for t in TABLES
        ]


@pytest.fixture(scope="module")
def live(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = journeys.clocked_settings(environments, engagement_sentiment_every_s=0.5)
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


async def _join(v: Viewer, sid: str) -> dict[str, Any]:
    for _ in range(100):
        ack = await v.call("join_stream", {"stream_id": sid, "viewer_info": {"device_type": "mobile"}})
        if ack.get("ok"):
            return dict(ack)
        await asyncio.sleep(0.2)
    raise AssertionError("never admitted")


# This failed on the full stack until the engagement projection stored a theme's count and time in their own
# columns: every chat message with a complaint or a question was refused by PostgreSQL (count given a timestamp)
# and set aside as a dead letter with its batch, so no minute had chat, and the advisor had no mood to measure.
async def test_sentiment_and_suggestions_reach_the_host_only(live: Show, log_dir: Path) -> None:
    """Viewers complain in Bangla, English and Banglish, ask the price three times and tap the product: the host's
    socket gets a negative ``sentiment_update`` with the delivery complaint on top, a viewer's does not; the
    analytics show the minute's mood; when the chat goes quiet (clock moved on) the host is told to run a poll,
    to start the prepared flash sale and to answer the price question, each an event listed by GET suggestions
    (403 for a viewer); a rebuild of the read model gives the same tables."""
    vendor, owner = str(uuid.uuid4()), str(uuid.uuid4())
    host = live.as_user("vendor", owner, vendor)
    product = str(uuid.uuid4())
    created = host.post(
        "/streams",
        json={
            "title": "জামদানি লাইভ",
            "stream_type": "product_demo",
            "products": [{"product_id": product, "special_price": 1500.00}],
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert host.post(f"/streams/{sid}/start").status_code == 200
    sale = host.post(
        "/flash-sales",
        json={
            "stream_id": sid,
            "product_id": product,
            "flash_price": 999.00,
            "available_quantity": 10,
            "sale_name": "জামদানি ফ্ল্যাশ",
            "starts_in_minutes": 30,
            "duration_minutes": 10,
        },
    )
    assert sale.status_code == 201, sale.text
    sale_id = sale.json()["id"]

    host_socket = await connect(live.url, live.token("vendor", owner, vendor))
    await _join(host_socket, sid)
    assert host_socket.got("stream_state")[-1]["you"]["moderator"] is True
    # An assigned moderator (a viewer's account the host names) is told what the host is told.
    moderator = str(uuid.uuid4())
    named = host.post(f"/streams/{sid}/moderators", json={"moderator_id": moderator})
    assert named.status_code == 201, named.text
    mod_socket = await connect(live.url, live.token("viewer moderator", moderator))
    await _join(mod_socket, sid)  # the gateway asks the event store, so the assignment counts at once
    assert mod_socket.got("stream_state")[-1]["you"]["moderator"] is True
    viewer_ids = [str(uuid.uuid4()) for _ in range(3)]
    viewers = [await connect(live.url, live.token("viewer", u)) for u in viewer_ids]
    for v in viewers:
        await _join(v, sid)
        assert v.got("stream_state")[-1]["you"]["moderator"] is False
    for v, text in zip(viewers, NEGATIVE, strict=True):
        assert (await v.call("send_message", {"stream_id": sid, "message": text}))["ok"]
    for v, text in zip(viewers, QUESTIONS, strict=True):
        assert (await v.call("send_message", {"stream_id": sid, "message": text}))["ok"]
    for v in viewers:
        for _ in range(2):
            assert (await v.call("purchase_intent", {"stream_id": sid, "product_id": product, "quantity": 1}))["ok"]
        await v.call("react", {"stream_id": sid, "reaction_type": "heart"})

    mood = await host_socket.wait_for("sentiment_update", lambda d: d["overall"]["messages"] == 6, timeout=30)
    assert mood["stream_id"] == sid and mood["score"] < 0 and mood["overall"]["score"] < 0
    assert mood["overall"]["negative"] == 0.5 and mood["overall"]["neutral"] == 0.5
    assert mood["top_complaints"][0]["theme"] == "delivery" and mood["top_complaints"][0]["count"] == 2
    assert {c["theme"] for c in mood["top_complaints"]} == {"delivery", "authenticity"}
    told_mod = await mod_socket.wait_for("sentiment_update", lambda d: d["overall"]["messages"] == 6, timeout=30)
    assert told_mod["overall"] == mood["overall"] and told_mod["top_complaints"][0]["theme"] == "delivery"
    await asyncio.sleep(0.5)
    assert all(not v.got("sentiment_update") for v in viewers)

    analytics = host.get(f"/streams/{sid}/analytics").json()
    assert analytics["chat_sentiment"]["messages"] == 6 and analytics["chat_sentiment"]["negative"] == 0.5
    timeline = analytics["sentiment_timeline"]
    assert sum(m["messages"] for m in timeline) == 6 and sum(m["negative"] for m in timeline) == 3
    assert all(m["timestamp"].endswith(":00Z") for m in timeline) and min(m["score"] for m in timeline) < 0
    assert (
        analytics["top_complaints"][0] == {"theme": "delivery", "count": 2, "example": NEGATIVE[0]}
        or analytics["top_complaints"][0]["example"] == NEGATIVE[1]
    )

    advance_clock(live, 150)  # the chat went quiet for two minutes
    kinds = ("run_poll", "start_flash_sale", "answer_question")
    await until(
        lambda: {d["kind"] for d in host_socket.got("engagement_suggestion")} >= set(kinds),
        "three suggestions",
        timeout=30,
    )
    told = {d["kind"]: d for d in host_socket.got("engagement_suggestion")}
    assert told["start_flash_sale"]["action"]["sale_id"] == sale_id
    assert told["start_flash_sale"]["evidence"]["intents"] >= 3
    assert told["answer_question"]["action"]["question"] in QUESTIONS
    assert told["answer_question"]["evidence"]["asked"] == 3
    await until(
        lambda: {d["kind"] for d in mod_socket.got("engagement_suggestion")} >= set(kinds),
        "the moderator told the same three",
        timeout=30,
    )
    assert {d["kind"]: d["position"] for d in mod_socket.got("engagement_suggestion")} == {
        k: d["position"] for k, d in told.items()
    }
    poll = told["run_poll"]
    assert poll["evidence"]["viewers"] == 5 and poll["evidence"]["per_viewer"] < poll["evidence"]["baseline_per_viewer"]
    assert "পোল" in poll["message_bn"] and all(d["position"] for d in told.values())
    assert all(not v.got("engagement_suggestion") for v in viewers)

    listed = await until(
        lambda: (r := host.get(f"/streams/{sid}/suggestions").json()).get("count") == 3 and r, "suggestions listed"
    )
    assert {s["kind"] for s in listed["suggestions"]} == set(kinds)
    assert {s["suggestion_id"] for s in listed["suggestions"]} == {d["suggestion_id"] for d in told.values()}
    refused = live.as_user("viewer", viewer_ids[0]).get(f"/streams/{sid}/suggestions")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_permitted"

    before = tables(live.env.read_url)
    rebuild = Proc(
        live.env, "project", "--rebuild", "engagement", "--no-progress", log_dir=log_dir, name="rebuild-engagement"
    )
    assert rebuild.popen.wait(120) == 0, rebuild.output()
    assert tables(live.env.read_url) == before and before[2]
    assert host.get(f"/streams/{sid}/suggestions").json() == listed
    for s in (host_socket, mod_socket, *viewers):
        await s.client.disconnect()
