"""The gateway over real sockets: identity, bad payloads, moderation in the room, late joiners."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import socketio

from infra.tokens import issue_token
from tests.realtime.conftest import NS, Stack, Viewer, connect


async def chat(v: Viewer, sid: str, text: str) -> Any:
    return await v.call("send_message", {"stream_id": sid, "message": text, "message_type": "text"})


async def test_anonymous_viewers_watch_but_cannot_write(rt: Stack, viewers: list[Viewer]) -> None:
    sid = rt.fake_stream()
    anon = await connect(rt.url)
    user = await connect(rt.url, rt.token(name="Karim"))
    viewers += [anon, user]
    await anon.join(sid)
    await user.join(sid)
    assert (await anon.wait_for("stream_state"))["you"]["anonymous"] is True
    for event, body in (
        ("send_message", {"message": "hi"}),
        ("react", {"reaction_type": "like"}),
        ("purchase_intent", {"product_id": str(uuid.uuid4())}),
    ):
        ack = await anon.call(event, {"stream_id": sid, **body})
        assert ack["ok"] is False and ack["error"]["code"] == "auth_required", ack
    assert (await chat(user, sid, "ami dekhchi"))["ok"]
    msg = await anon.wait_for("new_message")
    assert msg["username"] == "Karim" and msg["message"] == "ami dekhchi"
    await anon.wait_for("viewer_count_update", lambda d: d["count"] == 2)


async def test_bad_or_expired_token_is_refused_at_connect(rt: Stack) -> None:
    other = rt.env.model_copy(update={"jwt_secret": "another-secret-of-at-least-thirty-two-bytes"})
    for token in ("not-a-jwt", issue_token(rt.env, "u1", ttl=-60), issue_token(other, "u1"), 12345):
        client = socketio.AsyncClient(reconnection=False)
        refused: list[Any] = []
        client.on("connect_error", refused.append, namespace=NS)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                rt.url, namespaces=[NS], auth={"token": token}, transports=["websocket"], wait_timeout=5
            )
        await client.disconnect()
        assert refused and refused[0]["message"] == "invalid_token", refused
        assert refused[0]["data"]["code"] == "invalid_token" and refused[0]["data"]["message_bn"]


BAD: list[tuple[str, Any, str]] = [
    ("join_stream", None, "invalid_payload"),
    ("join_stream", "stream-1", "invalid_payload"),
    ("join_stream", {}, "validation_failed"),
    ("join_stream", {"stream_id": 42}, "validation_failed"),
    ("join_stream", {"stream_id": "not-a-uuid"}, "validation_failed"),
    ("join_stream", {"stream_id": "UNKNOWN"}, "stream_not_found"),
    ("join_stream", {"stream_id": "STREAM", "viewer_info": {"device_type": "toaster"}}, "validation_failed"),
    ("join_stream", {"stream_id": "STREAM", "viewer_info": "mobile"}, "validation_failed"),
    ("leave_stream", {}, "validation_failed"),
    ("leave_stream", {"stream_id": "UNKNOWN"}, "not_in_stream"),
    ("send_message", {"stream_id": "STREAM"}, "validation_failed"),
    ("send_message", {"stream_id": "STREAM", "message": 12345}, "validation_failed"),
    ("send_message", {"stream_id": "STREAM", "message": ""}, "validation_failed"),
    ("send_message", {"stream_id": "STREAM", "message": "x" * 501}, "message_too_long"),
    ("send_message", {"stream_id": "STREAM", "message": "ক" * 30_000}, "message_too_long"),
    ("send_message", {"stream_id": "STREAM", "message": "hi", "message_type": "video"}, "validation_failed"),
    ("send_message", {"stream_id": "UNKNOWN", "message": "hi"}, "not_in_stream"),
    ("send_message", {"stream_id": "STREAM", "message": "   "}, "message_empty"),
    ("react", {"stream_id": "STREAM"}, "validation_failed"),
    ("react", {"stream_id": "STREAM", "reaction_type": "thumbs_down"}, "validation_failed"),
    ("react", {"stream_id": "STREAM", "reaction_type": ["like"]}, "validation_failed"),
    ("react", {"stream_id": "UNKNOWN", "reaction_type": "like"}, "not_in_stream"),
    ("purchase_intent", {"stream_id": "STREAM"}, "validation_failed"),
    ("purchase_intent", {"stream_id": "STREAM", "product_id": "p1"}, "validation_failed"),
    ("purchase_intent", {"stream_id": "STREAM", "product_id": "PRODUCT", "quantity": "2"}, "validation_failed"),
    ("purchase_intent", {"stream_id": "STREAM", "product_id": "PRODUCT", "quantity": 0}, "validation_failed"),
    ("purchase_intent", {"stream_id": "STREAM", "product_id": "PRODUCT", "quantity": 10**6}, "validation_failed"),
    ("moderate", {"stream_id": "STREAM", "action": "mute"}, "validation_failed"),
    ("moderate", {"stream_id": "STREAM", "action": "ban", "user_id": "u2"}, "forbidden"),
    ("dance", {"stream_id": "STREAM"}, "unknown_event"),
]


def _fill(value: Any, sid: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, sid) for k, v in value.items()}
    return (
        {"STREAM": sid, "UNKNOWN": str(uuid.UUID(int=7)), "PRODUCT": str(uuid.uuid4())}.get(value, value)
        if isinstance(value, str)
        else value
    )


async def test_bad_payloads_on_every_event_answer_only_the_sender(rt: Stack, viewers: list[Viewer]) -> None:
    sid = rt.fake_stream()
    sender = await connect(rt.url, rt.token())
    watcher = await connect(rt.url, rt.token())
    viewers += [sender, watcher]
    await sender.join(sid)
    await watcher.join(sid)
    for event, payload, code in BAD:
        before = len(sender.got("error"))
        ack = await sender.call(event, _fill(payload, sid))
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
        err = await sender.wait_for("error", lambda d, c=code, ev=event: d["code"] == c and d.get("event") == ev)
        assert err["message"] and err["message_bn"] and len(sender.got("error")) == before + 1
    await asyncio.sleep(0.3)
    assert watcher.got("new_message") == [] and watcher.got("error") == [], "nothing was broadcast"
    assert sender.client.connected and watcher.client.connected
    assert (await chat(sender, sid, "still here?"))["ok"]
    assert (await watcher.wait_for("new_message"))["message"] == "still here?"
    assert httpx.get(f"{rt.url}/health", timeout=5).status_code == 200


async def test_moderation_in_the_room(rt: Stack, viewers: list[Viewer]) -> None:
    sid = rt.live_stream()
    mod_id = str(uuid.uuid4())
    rt.assign_moderator(sid, mod_id, ["moderate_chat"])
    mod = await connect(rt.url, rt.token(mod_id, ("moderator",), "Moderator Apa"))
    troll = await connect(rt.url, rt.token("troll-1", (), "Troll"))
    fan = await connect(rt.url, rt.token("fan-1", (), "Fan"))
    viewers += [mod, troll, fan]
    for v in (mod, troll, fan):
        await v.join(sid)

    for text, code in (("tui ekta haramjada", "message_blocked"), ("deal at www.fake.xyz", "links_not_allowed")):
        ack = await chat(troll, sid, text)
        assert ack["error"]["code"] == code
    assert (await chat(fan, sid, "শাড়িটা কি সুতি?"))["ok"]
    assert (await chat(fan, sid, "শাড়িটা কি সুতি?"))["error"]["code"] == "message_repeated"
    await fan.wait_for("new_message")
    assert [m["message"] for m in fan.got("new_message")] == ["শাড়িটা কি সুতি?"], "blocked text never shown"

    # flooding
    acks = [await chat(troll, sid, f"buy buy {i}") for i in range(8)]
    assert any(not a["ok"] and a["error"]["code"] == "rate_limited" for a in acks)

    # mute, then unmute
    assert (await mod.call("moderate", {"stream_id": sid, "action": "mute", "user_id": "fan-1", "duration_s": 60}))[
        "ok"
    ]
    assert (await chat(fan, sid, "ami ki muted?"))["error"]["code"] == "user_muted"
    await mod.call("moderate", {"stream_id": sid, "action": "unmute", "user_id": "fan-1"})
    assert (await chat(fan, sid, "ami back!"))["ok"]

    # slow mode
    await mod.call("moderate", {"stream_id": sid, "action": "slow_mode", "seconds": 30})
    await fan.wait_for("moderation", lambda d: d["action"] == "slow_mode" and d["seconds"] == 30)
    ack = await chat(fan, sid, "slow?")
    assert ack["error"]["code"] == "slow_mode" and ack["error"]["details"]["retry_after"] > 0
    assert (await chat(mod, sid, "moderators are not slowed"))["ok"]
    await mod.call("moderate", {"stream_id": sid, "action": "slow_mode", "seconds": 0})

    # delete and pin
    sent = await chat(mod, sid, "Order link: https://shop.example.com/saree")
    assert sent["ok"], "moderators may post links"
    await fan.wait_for("new_message", lambda m: m["id"] == sent["id"])
    deleted = await mod.call("moderate", {"stream_id": sid, "action": "delete", "message_id": sent["id"]})
    assert deleted["ok"]
    assert (await fan.wait_for("message_deleted"))["message_id"] == sent["id"]
    pin_target = fan.got("new_message")[0]["id"]
    for _ in range(100):  # pin reads STREAM_CHAT, which the chat projection fills a moment later
        ack = await mod.call("moderate", {"stream_id": sid, "action": "pin", "message_id": pin_target})
        if ack["ok"]:
            break
        assert ack["error"]["code"] == "message_not_found"
        await asyncio.sleep(0.1)
    assert (await fan.wait_for("message_pinned"))["message"]["id"] == pin_target
    ack = await mod.call("moderate", {"stream_id": sid, "action": "pin", "message_id": str(uuid.uuid4())})
    assert ack["error"]["code"] == "message_not_found"

    # ban
    assert (await fan.call("moderate", {"stream_id": sid, "action": "ban", "user_id": "troll-1"}))["error"][
        "code"
    ] == "forbidden"
    await mod.call("moderate", {"stream_id": sid, "action": "ban", "user_id": "troll-1"})
    assert (await chat(troll, sid, "hello again"))["error"]["code"] == "user_banned"
    assert (await troll.call("react", {"stream_id": sid, "reaction_type": "like"}))["error"]["code"] == "user_banned"
    assert troll.client.connected, "a banned viewer may still watch"


async def test_closed_and_unknown_streams_cannot_be_joined(rt: Stack, viewers: list[Viewer]) -> None:
    v = await connect(rt.url, rt.token())
    viewers.append(v)
    ended = rt.fake_stream("ended")
    ack = await v.call("join_stream", {"stream_id": ended})
    assert ack["error"]["code"] == "stream_closed"
    ack = await v.call("join_stream", {"stream_id": str(uuid.uuid4())})
    assert ack["error"]["code"] == "stream_not_found" and "স্ট্রিম" in ack["error"]["message_bn"]
