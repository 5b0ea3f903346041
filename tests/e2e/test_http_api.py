"""The running service over real HTTP: API, relay and projections as processes on the real services."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e11"
SPEC_BODY: dict[str, Any] = {  # the spec's own example body (§4.1), with a real product id
    "title": "iPhone 14 Pro Flash Sale",
    "title_bn": "আইফোন ১৪ প্রো ফ্ল্যাশ সেল",
    "description": "Exclusive flash sale with 20% discount",
    "stream_type": "flash_sale",
    "category": "electronics",
    "scheduled_start_time": "2024-03-17T19:00:00Z",
    "products": [{"product_id": PRODUCT, "special_price": 95000.00, "limited_quantity": 50}],
    "is_public": True,
    "language": "bn",
}


@pytest.fixture(scope="module")
def service(environments: Environments, log_dir: Path) -> Iterator[tuple[Settings, httpx.Client]]:
    env = environments.new().model_copy(update={"http_port": free_port()})
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    # Signed in as an admin: these tests are about the API's behaviour, tests/e2e/test_hosts.py about roles.
    client = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=10, headers=auth(env))

    def healthy() -> bool:
        try:
            return client.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="API health")
        procs[1].wait_for_output("projection stream_realtime pid")
        yield env, client
    finally:
        client.close()
        for p in procs:
            p.stop()


def event_count(env: Settings) -> int:
    with psycopg.connect(env.postgres_url) as conn:
        row = conn.execute("SELECT count(*) FROM livecommerce_events").fetchone()
        return int(row[0]) if row else 0


def topic_events(env: Settings, stream_id: str) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(env.domain_topic, p) for p in range(env.topic_partitions)]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            got = await c.getmany(timeout_ms=2000, max_records=10_000)
            return [json.loads(m.value) for ms in got.values() for m in ms if m.key == stream_id.encode()]
        finally:
            await c.stop()

    return asyncio.run(go())


def test_spec_body_create_start_and_see_it_everywhere(service: tuple[Settings, httpx.Client]) -> None:
    env, http = service
    created = http.post(f"{P}/streams", json=SPEC_BODY)
    assert created.status_code == 201, created.text
    sid, v1 = created.json()["id"], created.json()["version"]
    assert v1 == 1
    started = http.post(f"{P}/streams/{sid}/start")
    assert started.status_code == 200, started.text
    s = started.json()
    assert set(s) >= {"stream_key", "rtmp_url", "stream_url", "chat_room_id"} and s["version"] == 2
    assert s["stream_key"].startswith("live_") and s["rtmp_url"].startswith("rtmp://")

    got = http.get(f"{P}/streams/{sid}", params={"min_version": 2})
    assert got.status_code == 200, got.text
    d = got.json()
    assert d["status"] == "live" and d["title_bn"] == SPEC_BODY["title_bn"] and d["version"] == 2
    assert d["featured_products"][0] == {
        **d["featured_products"][0],
        "product_id": PRODUCT,
        "special_price": 95000.0,
        "limited_quantity": 50,
    }
    assert set(d["viewer_stats"]) == {"current_viewers", "peak_viewers", "total_unique_viewers"}
    assert set(d["sales_stats"]) == {"total_purchases", "total_revenue", "conversion_rate"}

    listed = http.get(f"{P}/streams", params={"status": "live", "category": "electronics"}).json()
    assert sid in [x["id"] for x in listed["streams"]] and listed["total_count"] >= 1
    wait_until(
        lambda: sid in [x["id"] for x in http.get(f"{P}/streams").json()["trending_streams"]],
        what="stream among trending",
    )

    with psycopg.connect(env.postgres_url) as conn:
        row = conn.execute(
            "SELECT status, title_bn, stream_key, aggregate_version FROM live_streams WHERE id=%s", (sid,)
        ).fetchone()
        prod = conn.execute(
            "SELECT special_price, limited_quantity FROM live_stream_products WHERE stream_id=%s", (sid,)
        ).fetchone()
    assert row == ("live", SPEC_BODY["title_bn"], s["stream_key"], 2)
    assert prod is not None and str(prod[0]) == "95000.00" and prod[1] == 50

    r = redis.Redis.from_url(env.redis_url, decode_responses=True)
    assert r.hget(f"STREAM_STATUS:{sid}", "status") == "live"
    assert r.zscore("TRENDING_STREAMS", sid) is not None

    def mongo_doc() -> dict[str, Any] | None:
        client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_url)
        doc = client[env.mongo_db]["stream_realtime"].find_one({"stream_id": sid})
        client.close()
        return doc if doc and doc.get("status") == "live" else None

    doc = wait_until(mongo_doc, what="MongoDB real-time document")
    assert doc["hot_products"][0]["product_id"] == PRODUCT and doc["current_metrics"]["viewers"] == 0

    events = topic_events(env, sid)
    assert [(e["type"], e["aggregate_version"]) for e in events][:2] == [
        ("LiveStream.Scheduled", 1),
        ("LiveStream.Started", 2),
    ]
    assert events[0]["payload"]["products"][0]["special_price"] == "95000.00"
    assert {
        "id",
        "type",
        "schema_version",
        "aggregate_id",
        "aggregate_version",
        "stream_id",
        "occurred_at",
        "payload",
    } <= set(events[0])

    ended = http.post(
        f"{P}/streams/{sid}/end",
        json={"summary": "Great stream! Sold 45 out of 50 iPhones.", "auto_generate_highlights": True},
    )
    assert ended.status_code == 200 and ended.json()["version"] == 3
    final = http.get(f"{P}/streams/{sid}", params={"min_version": 3}).json()
    assert final["status"] == "ended" and final["summary"].startswith("Great stream")


def test_products_can_be_added_and_featured(service: tuple[Settings, httpx.Client]) -> None:
    _, http = service
    sid = http.post(f"{P}/streams", json={"title": "Saree haat", "stream_type": "product_demo"}).json()["id"]
    other = str(uuid.uuid4())
    assert (
        http.post(f"{P}/streams/{sid}/products", json={"product_id": other, "special_price": 1200}).status_code == 201
    )
    http.post(f"{P}/streams/{sid}/start")
    featured = http.post(f"{P}/streams/{sid}/feature", json={"product_id": other})
    assert featured.status_code == 200 and featured.json()["version"] == 4
    d = http.get(f"{P}/streams/{sid}", params={"min_version": 4}).json()
    assert d["featured_product_id"] == other and d["featured_products"][0]["product_id"] == other


def test_filters_and_pagination(service: tuple[Settings, httpx.Client]) -> None:
    _, http = service
    cat = f"cat{uuid.uuid4().hex[:6]}"
    ids = [
        http.post(f"{P}/streams", json={"title": f"s{i}", "stream_type": "tutorial", "category": cat}).json()["id"]
        for i in range(5)
    ]
    wait_until(
        lambda: http.get(f"{P}/streams", params={"category": cat}).json()["total_count"] == 5,
        what="five streams projected",
    )
    p1 = http.get(f"{P}/streams", params={"category": cat, "limit": 2, "page": 1}).json()
    p3 = http.get(f"{P}/streams", params={"category": cat, "limit": 2, "page": 3}).json()
    assert len(p1["streams"]) == 2 and len(p3["streams"]) == 1 and p1["total_count"] == 5
    seen = {
        x["id"]
        for page in (1, 2, 3)
        for x in http.get(f"{P}/streams", params={"category": cat, "limit": 2, "page": page}).json()["streams"]
    }
    assert seen == set(ids)
    assert http.get(f"{P}/streams", params={"category": cat, "status": "live"}).json()["total_count"] == 0


BAD_BODIES = [
    ({**SPEC_BODY, "title": ""}, "title"),
    ({k: v for k, v in SPEC_BODY.items() if k != "title"}, "title"),
    ({**SPEC_BODY, "title": "ক" * 256}, "title"),
    ({**SPEC_BODY, "stream_type": "concert"}, "stream_type"),
    ({**SPEC_BODY, "language": "fr"}, "language"),
    ({**SPEC_BODY, "scheduled_start_time": "tomorrow"}, "scheduled_start_time"),
    ({**SPEC_BODY, "scheduled_start_time": "2024-03-17T19:00:00"}, "scheduled_start_time"),
    ({**SPEC_BODY, "is_public": "sometimes"}, "is_public"),
    ({**SPEC_BODY, "products": [{"product_id": "not-a-uuid"}]}, "products.0.product_id"),
    ({**SPEC_BODY, "products": [{"product_id": PRODUCT, "special_price": -5}]}, "products.0.special_price"),
    ({**SPEC_BODY, "products": [{"product_id": PRODUCT, "limited_quantity": 0}]}, "products.0.limited_quantity"),
    ({**SPEC_BODY, "surprise": 1}, "surprise"),
    ([1, 2, 3], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_input_is_refused_with_field_errors_and_writes_nothing(
    service: tuple[Settings, httpx.Client], body: Any, field: str
) -> None:
    env, http = service
    before = event_count(env)
    r = http.post(f"{P}/streams", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_failed" and err["message"] and err["message_bn"]
    fields = [f["field"] for f in err["details"]["fields"]]
    assert any(f == field or f.startswith(field) for f in fields) or field == "body", fields
    assert event_count(env) == before


def test_invalid_json_unknown_ids_and_broken_rules(service: tuple[Settings, httpx.Client]) -> None:
    env, http = service
    before = event_count(env)
    r = http.post(f"{P}/streams", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    unknown = str(uuid.uuid4())
    for method, path in (
        ("get", f"{P}/streams/{unknown}"),
        ("post", f"{P}/streams/{unknown}/start"),
        ("post", f"{P}/streams/{unknown}/end"),
    ):
        r = http.request(method, path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "stream_not_found", (path, r.text)
    assert event_count(env) == before
    sid = http.post(f"{P}/streams", json={"title": "t", "stream_type": "q_and_a"}).json()["id"]
    after_create = event_count(env)
    r = http.post(f"{P}/streams/{sid}/end", json={})
    assert r.status_code == 409
    e = r.json()["error"]
    assert e["code"] == "stream_not_live" and e["message_bn"] and e["details"]["status"] == "scheduled"
    assert http.post(f"{P}/streams/{sid}/feature", json={"product_id": PRODUCT}).status_code == 409
    assert http.get(f"{P}/streams", params={"limit": 0}).status_code == 422
    assert http.get(f"{P}/streams", params={"status": "dancing"}).status_code == 422
    assert event_count(env) == after_create


def test_writes_need_a_token_and_write_nothing_without_one(service: tuple[Settings, httpx.Client]) -> None:
    env, http = service
    before = event_count(env)
    r = http.post(f"{P}/streams", json=SPEC_BODY, headers={"Authorization": ""})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    err = r.json()["error"]
    assert err["code"] == "sign_in_required" and err["message_bn"]
    r = http.post(f"{P}/streams", json=SPEC_BODY, headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert event_count(env) == before
    assert http.get(f"{P}/streams", headers={"Authorization": ""}).status_code == 200  # reading is open


def test_openapi_document_lists_every_route(service: tuple[Settings, httpx.Client]) -> None:
    _, http = service
    doc = http.get("/docs/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in (
        f"{P}/streams",
        f"{P}/streams/{{stream_id}}",
        f"{P}/streams/{{stream_id}}/start",
        f"{P}/streams/{{stream_id}}/end",
        "/health",
    ):
        assert path in doc["paths"], path
    assert "CreateStreamBody" in doc["components"]["schemas"]
    for path in (
        f"{P}/checkout/instant",
        f"{P}/cart/add",
        f"{P}/flash-sales",
        f"{P}/hosts/apply",
        f"{P}/auctions/{{auction_id}}/bids",
        f"{P}/streams/{{stream_id}}/analytics",
    ):
        assert path in doc["paths"], path  # every registered route, not only the hand-described ones
    assert "requestBody" in doc["paths"][f"{P}/checkout/instant"]["post"]
    assert "bearer" in doc["components"]["securitySchemes"]


def test_health_names_the_failing_dependency(service: tuple[Settings, httpx.Client], log_dir: Path) -> None:
    env, http = service
    assert http.get("/health").json()["failing"] == []
    broken = env.model_copy(
        update={"http_port": free_port(), "mongo_url": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"}
    )
    api = Proc(broken, "api", log_dir=log_dir, name="api-broken-mongo")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{broken.http_port}", timeout=15) as c:

            def answered() -> httpx.Response | None:
                try:
                    return c.get("/health")
                except httpx.HTTPError:
                    return None

            r = wait_until(answered, timeout=30, what="broken API to answer")
            assert r.status_code == 503 and r.json()["failing"] == ["mongodb"]
    finally:
        api.stop()
