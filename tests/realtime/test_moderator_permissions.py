"""Moderation is per show: a token's role is not enough, the show's host, vendor, assigned moderators (with
their permissions) and admins are. A refused action answers only the sender, changes nothing, broadcasts
nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis

from application.moderation import ShowStaff, moderation_refusal
from tests.realtime.conftest import P, Stack, Viewer, connect

MOD = "m1"
STAFF = ShowStaff(host_id="h1", vendor_id="v1", moderators={MOD: ["moderate_chat"], "m2": ["feature_products"]})


@pytest.mark.parametrize(
    ("user", "roles", "vendor", "staff", "expected"),
    [
        ("h1", {"host"}, None, STAFF, None),  # the show's host
        ("h2", {"host"}, None, STAFF, "not_stream_moderator"),  # another show's host
        ("x", {"vendor"}, "v1", STAFF, None),  # the show's vendor
        ("x", {"vendor"}, "v2", STAFF, "not_stream_moderator"),
        (MOD, {"moderator"}, None, STAFF, None),
        (MOD, {"moderator"}, None, ShowStaff("h1", "v1", {}), "not_stream_moderator"),  # another show
        ("m2", {"moderator"}, None, STAFF, "moderator_permission_missing"),
        (MOD, set(), None, STAFF, "forbidden"),  # listed, but the token no longer carries the role
        ("a", {"admin"}, None, None, None),  # an admin anywhere, even a show the store does not know
        (MOD, {"moderator"}, None, None, "not_stream_moderator"),
        ("v", {"viewer"}, None, STAFF, "forbidden"),
    ],
)
def test_who_may_moderate_a_show(
    user: str, roles: set[str], vendor: str | None, staff: ShowStaff | None, expected: str | None
) -> None:
    for action in ("mute", "ban", "delete", "pin", "slow_mode"):
        got = moderation_refusal(user_id=user, roles=roles, vendor_id=vendor, action=action, staff=staff)
        assert (got[0] if got else None) == expected, (user, action, got)


def show(rt: Stack, host_id: str) -> str:
    return rt.live_stream(host_id=host_id)


def moderation_state(rt: Stack, sid: str) -> dict[str, str]:
    r = redis.Redis.from_url(rt.env.redis_url, decode_responses=True)
    try:
        return r.hgetall(f"STREAM_MODERATION:{sid}")  # type: ignore[return-value]
    finally:
        r.close()


async def refused(v: Viewer, body: dict[str, Any], code: str) -> dict[str, Any]:
    before = len(v.got("error"))
    ack = await v.call("moderate", body)
    assert ack["ok"] is False and ack["error"]["code"] == code, (body, ack)
    err = await v.wait_for("error", lambda d: len(v.got("error")) > before and d is v.got("error")[-1])
    assert err["code"] == code and err["event"] == "moderate" and err["details"]["action"] == body["action"]
    assert err["message"] and err["message_bn"]
    return ack


async def test_moderators_act_only_in_their_shows_and_within_their_permissions(
    rt: Stack, viewers: list[Viewer]
) -> None:
    host_a, host_b = str(uuid.uuid4()), str(uuid.uuid4())
    show_a, show_b = show(rt, host_a), show(rt, host_b)
    mod_id, weak_id, fan_id, troll_id = (str(uuid.uuid4()) for _ in range(4))
    rt.assign_moderator(show_a, mod_id, ["moderate_chat"])
    rt.assign_moderator(show_a, weak_id, ["feature_products", "end_stream"])
    mod = await connect(rt.url, rt.token(mod_id, ("moderator",), "Moderator Apa"))
    weak = await connect(rt.url, rt.token(weak_id, ("moderator",), "Feature-only"))
    host = await connect(rt.url, rt.token(host_a, ("host",), "Host A"))
    admin = await connect(rt.url, rt.token(str(uuid.uuid4()), ("admin",), "Admin"))
    fan = await connect(rt.url, rt.token(fan_id, (), "Fan"))
    troll = await connect(rt.url, rt.token(troll_id, (), "Troll"))
    watcher_b = await connect(rt.url, rt.token())
    viewers += [mod, weak, host, admin, fan, troll, watcher_b]
    for v in (mod, weak, host, admin, fan, troll):
        await v.join(show_a)
        await v.join(show_b)
    await watcher_b.join(show_b)
    you = {
        name: v.got("stream_state")
        for name, v in (("mod", mod), ("weak", weak), ("host", host), ("admin", admin), ("fan", fan))
    }
    # The first screen tells each client whether it moderates that show.
    assert [s["you"]["moderator"] for s in you["mod"]] == [True, False]
    assert [s["you"]["moderator"] for s in you["weak"]] == [False, False]
    assert [s["you"]["moderator"] for s in you["host"]] == [True, False]
    assert [s["you"]["moderator"] for s in you["admin"]] == [True, True]
    assert [s["you"]["moderator"] for s in you["fan"]] == [False, False]

    # A moderator of show A cannot mute in show B; the host of A cannot ban there; a viewer cannot at all.
    await refused(mod, {"stream_id": show_b, "action": "mute", "user_id": fan_id}, "not_stream_moderator")
    await refused(host, {"stream_id": show_b, "action": "ban", "user_id": troll_id}, "not_stream_moderator")
    await refused(fan, {"stream_id": show_a, "action": "mute", "user_id": troll_id}, "forbidden")
    await refused(mod, {"stream_id": show_b, "action": "slow_mode", "seconds": 60}, "not_stream_moderator")
    # A moderator of show A without the chat permission cannot ban, mute, delete or pin there.
    ack = await refused(
        weak, {"stream_id": show_a, "action": "ban", "user_id": troll_id}, "moderator_permission_missing"
    )
    assert ack["error"]["details"]["permission"] == "moderate_chat"
    await refused(weak, {"stream_id": show_a, "action": "delete", "message_id": "m-1"}, "moderator_permission_missing")

    # Nothing changed and nothing was broadcast.
    await asyncio.sleep(0.3)
    assert moderation_state(rt, show_a) == {} and moderation_state(rt, show_b) == {}
    for v in (fan, troll, watcher_b, mod):
        assert v.got("moderation") == [] and v.got("message_deleted") == [], v.got("moderation")
    assert (await fan.call("send_message", {"stream_id": show_b, "message": "still talking in B"}))["ok"]
    assert (await troll.call("send_message", {"stream_id": show_a, "message": "not banned yet"}))["ok"]

    # The host bans in their own show, the assigned moderator mutes there, an admin acts anywhere.
    assert (await host.call("moderate", {"stream_id": show_a, "action": "ban", "user_id": troll_id}))["ok"]
    assert (await troll.call("send_message", {"stream_id": show_a, "message": "hello?"}))["error"][
        "code"
    ] == "user_banned"
    assert (await troll.call("send_message", {"stream_id": show_b, "message": "B is fine"}))["ok"]
    assert (await mod.call("moderate", {"stream_id": show_a, "action": "mute", "user_id": fan_id}))["ok"]
    assert (await fan.call("send_message", {"stream_id": show_a, "message": "muted?"}))["error"]["code"] == "user_muted"
    assert (await admin.call("moderate", {"stream_id": show_b, "action": "slow_mode", "seconds": 30}))["ok"]
    await watcher_b.wait_for("moderation", lambda d: d["action"] == "slow_mode" and d["seconds"] == 30)
    assert moderation_state(rt, show_b) == {"slow_mode": "30"}
    assert watcher_b.got("moderation") == [
        {"stream_id": show_b, "action": "slow_mode", "moderator_id": admin_id(admin), "seconds": 30}
    ]

    # Revoked: refused from the next action on (the gateway reads the store, not a lagging read model).
    assert rt.http.delete(f"{P}/streams/{show_a}/moderators/{mod_id}").status_code == 200
    await refused(mod, {"stream_id": show_a, "action": "unmute", "user_id": fan_id}, "not_stream_moderator")
    assert f"mute:{fan_id}" in moderation_state(rt, show_a)


def admin_id(v: Viewer) -> str:
    return str(v.got("stream_state")[0]["you"]["user_id"])
