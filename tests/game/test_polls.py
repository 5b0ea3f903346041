"""Issue 14 part 1: live polls, end to end over HTTP and Socket.IO (python-socketio and the official npm
socket.io-client under Node) against every process of the stack (``tests/e2e/journeys.py``), with a clock the
test moves so the deadline passes without waiting."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Environments
from tests.e2e.journeys import Show, advance_clock, clocked_settings, joined
from tests.realtime.test_spec_clients import NODE_DIR, node_modules
from tests.support import Proc, wait_until

BN_Q = "কোন রঙের শাড়ি পরের শোতে চান?"


class GameShow(Show):
    """The journeys' stack, with more patience at start-up (a shared 2-core machine under load)."""

    def start_api(self) -> Proc:
        self.procs["api"] = api = Proc(self.env, "api", log_dir=self.log_dir, name="game-api")
        api.wait_for_output("realtime pusher ready", timeout=240)
        return api


@pytest.fixture(scope="module")
def show(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = clocked_settings(environments, fanout_max_fps=10.0)
    s = GameShow(env, log_dir, sandbox)
    wait_until(
        lambda: httpx.get(f"{s.sandbox_url}/sandbox/health", timeout=5).status_code == 200,
        timeout=120,
        what="payment sandbox",
    )
    yield s
    s.stop()


def live_show(show: Show, vendor: str) -> str:
    created = show.as_user("vendor", str(uuid.uuid4()), vendor).post(
        "/streams", json={"title": "Saree haat", "stream_type": "product_demo"}
    )
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    assert show.http.post(f"/streams/{sid}/start").status_code == 200
    return sid


def poll_body(**over: Any) -> dict[str, Any]:
    return {
        "question": "Which colour next?",
        "question_bn": BN_Q,
        "options": [
            {"text": "Red", "text_bn": "লাল"},
            {"text": "Blue", "text_bn": "নীল"},
            {"text": "Green", "text_bn": "সবুজ"},
        ],
        "duration_seconds": 60,
        "allow_change": False,
        **over,
    }


def node_vote(show: Show, sid: str, poll_id: str, option: str) -> dict[str, Any]:
    node_modules()
    user = str(uuid.uuid4())
    proc = subprocess.run(
        [
            "node",
            str(Path(__file__).parent.parent / "realtime" / "node" / "poll_vote.js"),
            show.url,
            show.token("viewer", user),
            sid,
            poll_id,
            option,
        ],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return {x["what"]: x["data"] for x in reversed(lines)} | {"user": user}


async def test_a_live_poll_from_open_to_its_deadline(show: Show) -> None:
    vendor = str(uuid.uuid4())
    sid = live_show(show, vendor)
    mod = str(uuid.uuid4())
    assert (
        show.http.post(
            f"/streams/{sid}/moderators", json={"moderator_id": mod, "permissions": ["moderate_chat"]}
        ).status_code
        == 201
    )
    room = await joined(show, sid)

    # Who may open one: the show's vendor and an assigned moderator; a host of another show, a viewer: no.
    stranger = show.as_user("host", str(uuid.uuid4())).post(f"/streams/{sid}/polls", json=poll_body())
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "not_permitted"
    assert stranger.json()["error"]["message_bn"]
    assert show.as_user("viewer").post(f"/streams/{sid}/polls", json=poll_body()).status_code == 403
    bad = show.as_user("vendor", str(uuid.uuid4()), vendor).post(
        f"/streams/{sid}/polls", json=poll_body(options=[{"text": "Only one"}])
    )
    assert bad.status_code == 422
    opened = show.as_user("moderator", mod).post(f"/streams/{sid}/polls", json=poll_body())
    assert opened.status_code == 201, opened.text
    poll = opened.json()
    pid = poll["poll_id"]
    assert poll["status"] == "open" and poll["question_bn"] == BN_Q and poll["total_votes"] == 0
    assert [(o["option_id"], o["text_bn"], o["votes"]) for o in poll["options"]] == [
        ("o1", "লাল", 0),
        ("o2", "নীল", 0),
        ("o3", "সবুজ", 0),
    ]
    started = await room.wait_for("poll_started", lambda d: d["poll_id"] == pid)
    assert started["question"] == "Which colour next?" and len(started["options"]) == 3

    # Votes: Socket.IO with ack, HTTP, and the npm client; refusals change nothing and keep the socket up.
    voters = [await show.viewer("viewer", str(uuid.uuid4())) for _ in range(3)]
    acks = [
        await v.call("poll_vote", {"poll_id": pid, "option_id": o})
        for v, o in zip(voters, ["o1", "o1", "o2"], strict=True)
    ]
    assert [(a["ok"], a["poll_id"], a["option_id"]) for a in acks] == [
        (True, pid, "o1"),
        (True, pid, "o1"),
        (True, pid, "o2"),
    ]
    again = await voters[0].call("poll_vote", {"poll_id": pid, "option_id": "o2"})
    assert again["ok"] is False and again["error"]["code"] == "already_voted" and again["error"]["message_bn"]
    unknown = await voters[1].call("poll_vote", {"poll_id": pid, "option_id": "o7"})
    assert unknown["error"]["code"] == "unknown_option"
    anon = await room.call("poll_vote", {"poll_id": pid, "option_id": "o1"})
    assert anon["error"]["code"] == "auth_required"
    assert (await voters[0].call("poll_vote", {"poll_id": pid, "option_id": "o1"}))["ok"]  # same vote: no-op
    http_voter = show.as_user("viewer")
    r = http_voter.post(f"/polls/{pid}/votes", json={"option_id": "o3"})
    assert r.status_code == 201 and r.json()["total_votes"] == 4, r.text
    twice = http_voter.post(f"/polls/{pid}/votes", json={"option_id": "o1"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_voted"
    assert twice.json()["error"]["message_bn"] == "আপনি ইতিমধ্যে এই পোলে ভোট দিয়েছেন।"
    npm = await asyncio.to_thread(node_vote, show, sid, pid, "o2")
    assert npm["vote_ack"] == {"ok": True, "poll_id": pid, "option_id": "o2", "changed": True, "total_votes": 5}
    assert npm["bad_ack"]["error"]["code"] == "unknown_option"
    assert [p["poll_id"] for p in npm["stream_state"]["polls"]] == [pid]  # a late joiner sees the open poll

    # Coalesced results: the room's last update shows every vote; fewer frames than votes.
    last = await room.wait_for("poll_results_update", lambda d: d["poll_id"] == pid and d["total_votes"] == 5)
    assert [(o["option_id"], o["votes"], o["percent"]) for o in last["options"]] == [
        ("o1", 2, 40.0),
        ("o2", 2, 40.0),
        ("o3", 1, 20.0),
    ]
    assert len(room.got("poll_results_update")) <= 5
    got = show.http.get(f"/polls/{pid}").json()
    assert got["total_votes"] == 5 and [o["votes"] for o in got["options"]] == [2, 2, 1]
    listed = show.http.get(f"/streams/{sid}/polls").json()["polls"]
    assert [p["poll_id"] for p in listed] == [pid]

    # The deadline passes (the test clock): the process managers close it; poll_ended carries the results.
    advance_clock(show, 61)
    ended = await room.wait_for("poll_ended", lambda d: d["poll_id"] == pid, timeout=20)
    assert ended["reason"] == "deadline" and ended["total_votes"] == 5
    assert [o["votes"] for o in ended["options"]] == [2, 2, 1]
    late = show.as_user("viewer").post(f"/polls/{pid}/votes", json={"option_id": "o1"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "poll_closed"
    assert show.http.get(f"/polls/{pid}").json()["status"] == "closed"
    for v in [*voters, room]:
        await v.client.disconnect()


async def test_allow_change_and_close_by_the_host(show: Show) -> None:
    vendor = str(uuid.uuid4())
    sid = live_show(show, vendor)
    owner = show.as_user("vendor", str(uuid.uuid4()), vendor)
    room = await joined(show, sid)
    pid = owner.post(f"/streams/{sid}/polls", json=poll_body(allow_change=True, duration_seconds=600)).json()["poll_id"]
    voter = await show.viewer("viewer", str(uuid.uuid4()))
    assert (await voter.call("poll_vote", {"poll_id": pid, "option_id": "o1"}))["ok"]
    changed = await voter.call("poll_vote", {"poll_id": pid, "option_id": "o3"})
    assert changed["ok"] and changed["total_votes"] == 1
    upd = await room.wait_for("poll_results_update", lambda d: d["poll_id"] == pid and d["options"][2]["votes"] == 1)
    assert [o["votes"] for o in upd["options"]] == [0, 0, 1] and upd["total_votes"] == 1
    other = show.as_user("vendor", str(uuid.uuid4()), str(uuid.uuid4())).post(f"/polls/{pid}/close")
    assert other.status_code == 403
    closed = owner.post(f"/polls/{pid}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["close_reason"] == "closed"
    ended = await room.wait_for("poll_ended", lambda d: d["poll_id"] == pid)
    assert ended["reason"] == "closed" and [o["votes"] for o in ended["options"]] == [0, 0, 1]
    refused = await voter.call("poll_vote", {"poll_id": pid, "option_id": "o2"})
    assert refused["error"]["code"] == "poll_closed" and voter.client.connected
    assert show.http.get(f"/polls/{pid}").json()["options"][2]["votes"] == 1
    missing = show.http.get(f"/polls/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "poll_not_found"
    for v in (voter, room):
        await v.client.disconnect()
