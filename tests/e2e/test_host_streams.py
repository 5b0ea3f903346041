"""``GET /hosts/:host_id/streams`` over real HTTP (issue 15, the studio's "my shows"): the host sees every show of
theirs (private, scheduled, live, ended, cancelled), anyone else only the public ones; cursor paging gives each
show once, newest first; unknown host and bad input are refused with stable codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from tests.conftest import Environments
from tests.e2e.test_hosts import APPLICATION, uid
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"


@pytest.fixture(scope="module")
def api(environments: Environments, log_dir: Path) -> Iterator[tuple[Settings, httpx.Client]]:
    env = environments.new().model_copy(update={"http_port": free_port()})
    only = [a for n in ("live_streams", "hosts") for a in ("--only", n)]
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", *only, log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}{P}", timeout=15)

    def healthy() -> bool:
        try:
            return http.get(f"http://127.0.0.1:{env.http_port}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="API health")
        procs[1].wait_for_output("projection hosts pid")
        yield env, http
    finally:
        http.close()
        for p in procs:
            p.stop()


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def every_page(http: httpx.Client, path: str, headers: dict[str, str], **query: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        body = ok(http.get(path, params=params, headers=headers))
        pages.append(body["streams"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "paging does not end"


def test_a_hosts_shows_for_the_host_for_others_and_paged(api: tuple[Settings, httpx.Client]) -> None:
    env, http = api
    host_user, other, admin, pending_user = uid(), uid(), uid(), uid()
    host = auth(env, "host", host_user)
    viewer, boss, pending = auth(env, "viewer", other), auth(env, "admin", admin), auth(env, "host", pending_user)
    profile = ok(http.post("/hosts/apply", json={**APPLICATION, "host_name": "Rupa"}, headers=host), 201)["id"]
    ok(http.post(f"/hosts/{profile}/verify", headers=boss))

    def show(title: str, *, public: bool = True) -> str:
        body = {"title": title, "stream_type": "product_demo", "is_public": public}
        return str(ok(http.post("/streams", json=body, headers=host), 201)["id"])

    made: list[tuple[str, str, bool]] = []  # (id, status, public) in the order they were made
    for i in range(9):
        made.append((show(f"public {i}"), "scheduled", True))
    private_scheduled = show("private upcoming", public=False)
    made.append((private_scheduled, "scheduled", False))
    ended = show("ended public")
    ok(http.post(f"/streams/{ended}/start", headers=host))
    ok(http.post(f"/streams/{ended}/end", json={}, headers=host))
    made.append((ended, "ended", True))
    private_live = show("private live", public=False)
    ok(http.post(f"/streams/{private_live}/start", headers=host))
    made.append((private_live, "live", False))
    cancelled = show("cancelled public")
    ok(http.post(f"/streams/{cancelled}/cancel", json={"reason": "ill"}, headers=host))
    made.append((cancelled, "cancelled", True))
    path = f"/hosts/{profile}/streams"

    def settled() -> list[dict[str, Any]] | None:
        rows = ok(http.get(path, params={"limit": 100}, headers=host))["streams"]
        seen = {(r["id"], r["status"]) for r in rows}
        return rows if seen == {(i, s) for i, s, _ in made} else None

    mine = wait_until(settled, timeout=30, what="every show of the host in the read model")
    newest_first = [i for i, _, _ in reversed(made)]
    assert [r["id"] for r in mine] == newest_first
    by_id = {r["id"]: r for r in mine}
    assert by_id[private_scheduled]["is_public"] is False and by_id[private_scheduled]["status"] == "scheduled"
    assert by_id[private_live]["status"] == "live" and by_id[ended]["ended_at"] is not None
    assert {r["host"]["profile_id"] for r in mine} == {profile} and mine[0]["host"]["name"] == "Rupa"

    public = [i for i, _, pub in reversed(made) if pub]
    for who in (viewer, {}):  # another user, and nobody signed in: the public shows only
        assert [r["id"] for r in ok(http.get(path, params={"limit": 100}, headers=who))["streams"]] == public
    assert len(ok(http.get(path, params={"limit": 100}, headers=boss))["streams"]) == len(made)  # an admin: all

    # Paging over more shows than a page: each show exactly once, in order, for the host and for a viewer.
    pages = every_page(http, path, host, limit=4)
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [r["id"] for p in pages for r in p] == newest_first
    assert [r["id"] for p in every_page(http, path, viewer, limit=5) for r in p] == public

    only_ended = ok(http.get(path, params={"status": "ended"}, headers=viewer))["streams"]
    assert [(r["id"], r["status"]) for r in only_ended] == [(ended, "ended")]
    only_live = ok(http.get(path, params={"status": "live"}, headers=viewer))["streams"]
    assert only_live == []  # the live show is private
    assert [r["id"] for r in ok(http.get(path, params={"status": "live"}, headers=host))["streams"]] == [private_live]

    # A host not verified yet: their own list works; to anyone else they do not exist.
    pending_profile = ok(http.post("/hosts/apply", json={**APPLICATION, "host_name": "P"}, headers=pending), 201)["id"]
    ok(http.post("/streams", json={"title": "soon", "stream_type": "product_demo"}, headers=pending), 201)

    def pending_list() -> bool:  # the profile and the show reach the read model in their own time (404 first)
        r = http.get(f"/hosts/{pending_profile}/streams", headers=pending)
        return r.status_code == 200 and [s["title"] for s in r.json()["streams"]] == ["soon"]

    wait_until(pending_list, timeout=30, what="the pending host's show, for the pending host")
    refused = http.get(f"/hosts/{pending_profile}/streams", headers=viewer)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "host_not_found"

    # Bad input: stable codes with English and Bangla messages.
    def refusal(url: str, http_status: int, code: str, **params: Any) -> dict[str, Any]:
        r = http.get(url, params=params, headers=viewer)
        assert r.status_code == http_status, r.text
        err = r.json()["error"]
        assert err["code"] == code and err["message"] and err["message_bn"] and err["message"] != err["message_bn"]
        return err  # type: ignore[no-any-return]

    refusal(f"/hosts/{uid()}/streams", 404, "host_not_found")
    assert refusal(path, 422, "validation_failed", status="dancing")["details"]["fields"][0]["field"] == "status"
    refusal(path, 422, "validation_failed", limit=0)
    refusal(path, 422, "validation_failed", limit=101)
    refusal(path, 422, "validation_failed", limit="ten")
    refusal(path, 422, "invalid_cursor", cursor="not-a-cursor")
    refusal(path, 422, "invalid_cursor", cursor="WyJ4IiwieSJd")  # base64 of ["x","y"]: not a key we gave
    # Documented in the OpenAPI document the API serves, with its query parameters.
    doc = ok(http.get(f"http://127.0.0.1:{env.http_port}/docs/openapi.json"))
    op = doc["paths"][f"{P}/hosts/{{host_id}}/streams"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"host_id", "status", "limit", "cursor"}
    assert "newest first" in op["summary"]
    bad_id = http.get("/hosts/not-a-uuid/streams").json()["error"]
    assert bad_id["code"] == "invalid_id" and bad_id["message_bn"]
