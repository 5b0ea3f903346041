"""Sign-in, roles and hosts over real HTTP: the role matrix over every write endpoint, hosts who may only
touch their own streams, the host lifecycle (apply → verify → go live), the dashboard, and bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
APPLICATION = {
    "host_name": "Sarah Khan",
    "bio": "Tech enthusiast and product reviewer",
    "bio_bn": "প্রযুক্তি উৎসাহী এবং পণ্য পর্যালোচনাকারী",
    "specializations": ["electronics", "fashion"],
    "languages": ["bn", "en"],
    "experience_level": "intermediate",
    "portfolio_links": ["https://youtube.com/sarahtech"],
    "sample_videos": ["video_url1"],
}


def uid() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    env: Settings
    http: httpx.Client
    users: dict[str, dict[str, str]]  # name -> Authorization header
    ids: dict[str, str]

    def h(self, who: str | None) -> dict[str, str]:
        return {"Authorization": ""} if who is None else self.users[who]

    def call(self, who: str | None, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = {**self.h(who), **kw.pop("headers", {})}
        return self.http.request(method, f"{P}{path}", json=body, headers=headers, **kw)

    def events(self) -> int:
        with psycopg.connect(self.env.postgres_url) as conn:
            row = conn.execute("SELECT count(*) FROM livecommerce_events").fetchone()
            return int(row[0]) if row else 0


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(environments: Environments, log_dir: Path) -> Iterator[World]:
    env = environments.new().model_copy(update={"http_port": free_port()})
    only = [a for n in ("live_streams", "hosts", "flash_sales", "stream_moderators") for a in ("--only", n)]
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", *only, log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=15)
    vendor, vendor2 = uid(), uid()
    ids = {
        "host_a": uid(),
        "host_b": uid(),
        "vendor": vendor,
        "vendor2": vendor2,
        "mod": uid(),
        "mod2": uid(),
        "viewer": uid(),
        "viewer2": uid(),
        "admin": uid(),
    }
    users = {
        "host_a": auth(env, "host", ids["host_a"], vendor),
        "host_b": auth(env, "host", ids["host_b"]),
        "vendor": auth(env, "vendor", ids["vendor"]),
        "vendor2": auth(env, "vendor", ids["vendor2"]),
        "mod": auth(env, "moderator", ids["mod"]),
        "mod2": auth(env, "moderator", ids["mod2"]),
        "viewer": auth(env, "viewer", ids["viewer"]),
        "viewer2": auth(env, "viewer", ids["viewer2"]),
        "admin": auth(env, "admin", ids["admin"]),
    }

    def healthy() -> bool:
        try:
            return http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="API health")
        procs[1].wait_for_output("projection hosts pid")
        yield World(env, http, users, ids)
    finally:
        http.close()
        for p in procs:
            p.stop()


def verified_host(w: World, who: str) -> str:
    """Apply as ``who`` and have the admin verify; returns the host profile id."""
    hid = ok(w.call(who, "POST", "/hosts/apply", {**APPLICATION, "host_name": who}), 201)["id"]
    ok(w.call("admin", "POST", f"/hosts/{hid}/verify"))
    return str(hid)


@pytest.fixture(scope="module")
def t(world: World) -> dict[str, str]:
    """The things the role matrix aims at: host A (verified) with a scheduled stream S and a live stream L (a
    moderator assigned, a flash sale F with the viewer's reservation R), host B (pending)."""
    w = world
    ids = dict(w.ids)
    ids["A"] = verified_host(w, "host_a")
    ids["B"] = ok(w.call("host_b", "POST", "/hosts/apply", {**APPLICATION, "host_name": "B"}), 201)["id"]
    body = {
        "title": "শাড়ি হাট",
        "stream_type": "product_demo",
        "products": [{"product_id": PRODUCT, "special_price": 120000}],
    }
    ids["S"] = ok(w.call("host_a", "POST", "/streams", body), 201)["id"]
    ids["L"] = ok(w.call("host_a", "POST", "/streams", body), 201)["id"]
    ok(w.call("host_a", "POST", f"/streams/{ids['L']}/start"))
    ok(w.call("host_a", "POST", f"/streams/{ids['L']}/moderators", {"moderator_id": ids["mod"]}), 201)
    ids["F"] = ok(w.call("vendor", "POST", "/flash-sales", sale_body(ids["L"])), 201)["id"]
    ids["R"] = ok(
        w.call("viewer", "POST", f"/flash-sales/{ids['F']}/purchase", {}, headers={"Idempotency-Key": "r-1"}), 201
    )["reservation_id"]
    return ids


def sale_body(stream: str) -> dict[str, Any]:
    return {
        "stream_id": stream,
        "product_id": PRODUCT,
        "flash_price": 85000,
        "available_quantity": 10,
        "duration_minutes": 30,
        "max_per_buyer": 5,
    }


def future(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


OWNERS_ONLY = ["viewer", "mod", "host_b", "vendor2"]
ADMIN_ONLY = ["host_a", "vendor", "viewer", "mod"]
MATRIX: list[tuple[str, str, Any, list[str]]] = [
    ("POST", "/streams", {"title": "x", "stream_type": "tutorial"}, ["viewer", "mod"]),
    ("POST", "/streams", {"title": "x", "stream_type": "tutorial", "vendor_id": "{vendor2}"}, ["host_a", "vendor"]),
    ("POST", "/streams", {"title": "x", "stream_type": "tutorial", "host_id": "{host_b}"}, ["host_a", "vendor"]),
    ("POST", "/streams/{S}/start", None, OWNERS_ONLY),
    ("POST", "/streams/{S}/cancel", {}, OWNERS_ONLY),
    ("POST", "/streams/{S}/products", {"product_id": "{mod2}"}, OWNERS_ONLY),
    ("POST", "/streams/{S}/moderators", {"moderator_id": "{mod2}"}, OWNERS_ONLY),
    ("DELETE", "/streams/{L}/moderators/{mod}", None, OWNERS_ONLY),
    ("POST", "/streams/{L}/end", {}, ["viewer", "mod", "mod2", "host_b", "vendor2"]),
    ("POST", "/streams/{L}/feature", {"product_id": PRODUCT}, ["viewer", "mod2", "host_b", "vendor2"]),
    ("POST", "/flash-sales", sale_body("{L}"), OWNERS_ONLY),
    ("POST", "/flash-sales/{F}/purchase", {"buyer_id": "{viewer2}"}, ["viewer", "host_a", "vendor"]),
    ("POST", "/flash-sales/{F}/reservations/{R}/confirm", {"order_id": "{mod2}"}, ADMIN_ONLY),
    ("POST", "/flash-sales/{F}/reservations/{R}/release", {}, ["viewer2", "mod", "host_b", "vendor2"]),
    ("POST", "/hosts/schedule-stream", {"title": "x", "scheduled_start_time": "{future}"}, ["viewer", "vendor", "mod"]),
    (
        "POST",
        "/hosts/schedule-stream",
        {"title": "x", "scheduled_start_time": "{future}", "host_id": "{B}"},
        ["host_a"],
    ),
    ("PUT", "/hosts/availability", {"status": "busy"}, ["viewer", "vendor", "mod"]),
    ("PUT", "/hosts/availability", {"status": "busy", "host_id": "{B}"}, ["host_a"]),
    ("POST", "/hosts/{B}/verify", None, ADMIN_ONLY),
    ("POST", "/hosts/{B}/reject", {"reason": "x"}, ADMIN_ONLY),
    ("POST", "/hosts/{A}/suspend", {"reason": "x"}, ADMIN_ONLY),
    ("POST", "/hosts/{A}/reinstate", None, ADMIN_ONLY),
    ("PUT", "/hosts/{A}/commission", {"commission_rate": 50}, ADMIN_ONLY),
    ("GET", "/hosts/applications", None, ["host_a", "viewer"]),
    ("GET", "/hosts/dashboard", None, ["viewer", "vendor", "mod"]),
    ("POST", "/hosts/apply", APPLICATION, []),
    ("POST", "/hosts/{A}/follow", None, []),
    ("POST", "/hosts/{A}/unfollow", None, []),
    ("POST", "/hosts/{A}/reviews", {"stream_id": "{L}", "rating": 5}, []),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.replace("{future}", future()).format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def test_role_matrix_no_token_401_wrong_role_or_owner_403_and_nothing_written(world: World, t: dict[str, str]) -> None:
    w = world
    before = w.events()
    checked = 0
    for method, path, body, forbidden in MATRIX:
        url, payload = fill(path, t), fill(body, t)
        key = {"Idempotency-Key": f"m-{checked}"}
        r = w.call(None, method, url, payload, headers=key)
        assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_required", (method, url, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        for who in forbidden:
            r = w.call(who, method, url, payload, headers=key)
            assert r.status_code == 403, (who, method, url, r.text)
            err = r.json()["error"]
            assert err["code"] == "not_permitted" and err["message"] and err["message_bn"], err
            checked += 1
    expired = auth(w.env, "admin") | {"Authorization": "Bearer " + _expired(w.env)}
    assert (
        w.http.post(f"{P}/streams", json={"title": "x", "stream_type": "tutorial"}, headers=expired).json()["error"][
            "code"
        ]
        == "invalid_token"
    )
    assert checked > 60 and w.events() == before, "refused requests must write nothing"
    # and the owners may: the host starts S, the buyer releases R, the host's vendor adds a product
    ok(w.call("host_a", "POST", f"/streams/{t['S']}/start"))
    ok(w.call("viewer", "POST", f"/flash-sales/{t['F']}/reservations/{t['R']}/release", {}))
    ok(w.call("vendor", "POST", f"/streams/{t['S']}/products", {"product_id": uid()}), 201)


def _expired(env: Settings) -> str:
    from tests.support import token

    return token(env, "admin", ttl=-60)


def test_a_host_goes_live_only_once_verified_and_hosts_touch_only_their_own_streams(world: World) -> None:
    w = world
    me, vendor = uid(), uid()
    w.users["host_c"] = auth(w.env, "host", me, vendor)
    hid = ok(w.call("host_c", "POST", "/hosts/apply", APPLICATION), 201)["id"]
    again = w.call("host_c", "POST", "/hosts/apply", APPLICATION)
    assert again.status_code == 409 and again.json()["error"]["code"] == "host_already_applied"
    body = {
        "title": "Eid collection",
        "stream_type": "product_demo",
        "products": [{"product_id": PRODUCT, "special_price": 2000}],
    }
    sid = ok(w.call("host_c", "POST", "/streams", body), 201)["id"]
    before = w.events()
    r = w.call("host_c", "POST", f"/streams/{sid}/start")
    assert r.status_code == 409 and r.json()["error"]["code"] == "host_not_verified", r.text
    for other in ("host_a", "host_b", "vendor"):
        assert w.call(other, "POST", f"/streams/{sid}/cancel", {}).status_code == 403
    assert w.events() == before
    ok(w.call("admin", "POST", f"/hosts/{hid}/verify"))
    assert ok(w.call("host_c", "POST", f"/streams/{sid}/start"))["rtmp_url"].startswith("rtmp://")
    got = ok(w.http.get(f"{P}/streams/{sid}", params={"min_version": 2}))
    host = got["host"]
    assert host["host_id"] == me and host["vendor_id"] == vendor and host["name"] == APPLICATION["host_name"]
    assert host["profile_id"] == hid

    rd = redis.Redis.from_url(w.env.redis_url, decode_responses=True)
    wait_until(lambda: rd.hget(f"HOST_STATUS:{hid}", "status") == "live", what="HOST_STATUS live")
    assert rd.hget(f"HOST_STATUS:{hid}", "current_stream") == sid
    ok(w.call("admin", "POST", f"/hosts/{hid}/suspend", {"reason": "copyright strikes"}))
    other = ok(w.call("host_c", "POST", "/streams", {"title": "t", "stream_type": "q_and_a"}), 201)["id"]
    r = w.call("host_c", "POST", f"/streams/{other}/start")
    assert r.status_code == 409 and r.json()["error"]["code"] == "host_suspended"
    ok(w.call("admin", "POST", f"/hosts/{hid}/reinstate"))
    ok(w.call("host_c", "POST", f"/streams/{sid}/end", {"summary": "ধন্যবাদ"}))
    wait_until(lambda: rd.hget(f"HOST_STATUS:{hid}", "status") == "offline", what="HOST_STATUS back")


def test_followers_reviews_schedule_and_the_dashboard(world: World, t: dict[str, str]) -> None:
    w = world
    assert ok(w.call("viewer", "POST", f"/hosts/{t['A']}/follow"))["changed"] is True
    assert ok(w.call("viewer", "POST", f"/hosts/{t['A']}/follow"))["changed"] is False  # idempotent
    ok(w.call("viewer", "POST", f"/hosts/{t['A']}/reviews", {"stream_id": t["L"], "rating": 4}), 201)
    r = w.call("viewer", "POST", f"/hosts/{t['A']}/reviews", {"stream_id": t["L"], "rating": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_reviewed"
    ok(w.call("admin", "PUT", f"/hosts/{t['A']}/commission", {"commission_rate": 10}))
    week = {"monday": ["19:00", "21:00"], "saturday": ["15:00", "17:00"]}
    ok(
        w.call(
            "host_a",
            "PUT",
            "/hosts/availability",
            {"status": "available", "weekly_schedule": week, "next_available": future(120)},
        )
    )
    planned = ok(
        w.call(
            "host_a",
            "POST",
            "/hosts/schedule-stream",
            {
                "title": "Weekly Tech Reviews",
                "scheduled_start_time": future(24 * 60),
                "estimated_duration": 60,
                "products_to_feature": [PRODUCT, uid()],
                "stream_type": "product_demo",
            },
        ),
        201,
    )
    r = w.call("viewer2", "POST", f"/hosts/{t['A']}/reviews", {"stream_id": planned["id"], "rating": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_not_allowed"  # not presented yet
    # a sale on the host's live stream, bought and paid: the host earns their commission on it
    sale = ok(w.call("host_a", "POST", "/flash-sales", sale_body(t["L"])), 201)["id"]
    held = ok(
        w.call(
            "viewer2", "POST", f"/flash-sales/{sale}/purchase", {"quantity": 2}, headers={"Idempotency-Key": "dash"}
        ),
        201,
    )
    ok(
        w.call(
            "admin", "POST", f"/flash-sales/{sale}/reservations/{held['reservation_id']}/confirm", {"order_id": uid()}
        )
    )

    def dashboard() -> dict[str, Any] | None:
        d = ok(w.call("host_a", "GET", "/hosts/dashboard"))
        done = (
            d["performance_summary"]["total_sales"] == 170000.0
            and d["host_info"]["followers_count"] == 1
            and d["host_info"]["rating"] == 4.0
            and d["host_info"]["commission_rate"] == 10.0
            and any(s["id"] == planned["id"] for s in d["upcoming_streams"])
        )
        return d if done else None

    d = wait_until(dashboard, what="dashboard figures")
    assert d["earnings_summary"] == {
        "this_month": 17000.0,
        "last_month": 0.0,
        "total_earnings": 17000.0,
        "commission_rate": 10.0,
        "currency": "BDT",
        "gifts": {"this_month": 0.0, "last_month": 0.0, "total": 0.0, "gifts_received": 0, "coins_received": 0},
    }
    assert d["performance_summary"]["total_streams"] >= 1 and d["pending_approvals"] == []
    assert d["host_info"]["availability"]["weekly_schedule"] == week
    upcoming = next(s for s in d["upcoming_streams"] if s["id"] == planned["id"])
    assert upcoming["estimated_duration"] == 60 and upcoming["title"] == "Weekly Tech Reviews"
    public = ok(w.http.get(f"{P}/hosts/{t['A']}"))
    assert public["host_name"] == "host_a" and "commission_rate" not in public
    apps = ok(w.call("admin", "GET", "/hosts/applications", params={"status": "pending"}))
    assert t["B"] in [a["id"] for a in apps["applications"]]
    assert ok(w.call("viewer", "POST", f"/hosts/{t['A']}/unfollow"))["following"] is False


INVALID = "validation_failed"
PLAN = "/hosts/schedule-stream"
BAD: list[tuple[str, str, str, Any, int, str]] = [
    ("viewer2", "POST", "/hosts/apply", {**APPLICATION, "host_name": ""}, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/apply", {**APPLICATION, "languages": []}, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/apply", {**APPLICATION, "experience_level": "guru"}, 422, INVALID),
    ("viewer2", "POST", "/hosts/apply", {**APPLICATION, "salary": 1}, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/apply", [1], 422, "validation_failed"),
    (
        "host_a",
        "POST",
        PLAN,
        {"title": "x", "scheduled_start_time": "2020-01-01T10:00:00Z"},
        422,
        "stream_time_in_past",
    ),
    ("host_a", "POST", PLAN, {"title": "x", "scheduled_start_time": "2030-01-01T10:00:00"}, 422, INVALID),
    ("host_a", "POST", PLAN, {"title": "x", "scheduled_start_time": "{future}", "estimated_duration": 0}, 422, INVALID),
    (
        "host_a",
        "POST",
        PLAN,
        {"title": "x", "scheduled_start_time": "{future}", "products_to_feature": ["nope"]},
        422,
        INVALID,
    ),
    ("host_a", "PUT", "/hosts/availability", {"status": "asleep"}, 422, "validation_failed"),
    (
        "host_a",
        "PUT",
        "/hosts/availability",
        {"status": "busy", "weekly_schedule": {"funday": ["1", "2"]}},
        422,
        "validation_failed",
    ),
    (
        "host_a",
        "PUT",
        "/hosts/availability",
        {"status": "busy", "weekly_schedule": {"monday": ["21:00", "19:00"]}},
        422,
        "invalid_availability",
    ),
    (
        "host_a",
        "PUT",
        "/hosts/availability",
        {"status": "busy", "next_available": "2020-01-01T00:00:00Z"},
        422,
        "invalid_availability",
    ),
    ("admin", "POST", "/hosts/{B}/reject", {}, 422, "validation_failed"),
    ("admin", "POST", "/hosts/{A}/verify", None, 409, "host_not_pending"),
    ("admin", "POST", "/hosts/{mod2}/verify", None, 404, "host_not_found"),
    ("admin", "PUT", "/hosts/{A}/commission", {"commission_rate": 101}, 422, "validation_failed"),
    ("admin", "PUT", "/hosts/{A}/commission", {"commission_rate": "ten"}, 422, "validation_failed"),
    ("admin", "GET", "/hosts/applications?status=sleeping", None, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/{A}/reviews", {"stream_id": "{L}", "rating": 6}, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/{A}/reviews", {"stream_id": "{L}", "rating": "5"}, 422, "validation_failed"),
    ("viewer2", "POST", "/hosts/{A}/reviews", {"stream_id": "{mod2}", "rating": 5}, 404, "stream_not_found"),
    ("host_a", "POST", "/hosts/{A}/reviews", {"stream_id": "{L}", "rating": 5}, 409, "review_not_allowed"),
    ("viewer2", "POST", "/hosts/{mod2}/follow", None, 404, "host_not_found"),
    ("host_a", "POST", "/hosts/{A}/follow", None, 409, "cannot_follow_self"),
    (
        "host_a",
        "POST",
        "/streams/{L}/moderators",
        {"moderator_id": "{mod2}", "permissions": ["ban"]},
        422,
        "invalid_moderator_permissions",
    ),
    ("host_a", "POST", "/streams/{L}/moderators", {"moderator_id": "nope"}, 422, "validation_failed"),
    ("viewer2", "POST", "/flash-sales/{F}/purchase", {"buyer_id": "nope"}, 422, "validation_failed"),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status", "code"), BAD)
def test_bad_input_on_each_new_endpoint_is_refused_clearly_and_writes_nothing(
    world: World, t: dict[str, str], who: str, method: str, path: str, body: Any, status: int, code: str
) -> None:
    w = world
    before = w.events()
    r = w.call(who, method, fill(path, t), fill(body, t), headers={"Idempotency-Key": "bad"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["message_bn"], err
    assert w.events() == before
