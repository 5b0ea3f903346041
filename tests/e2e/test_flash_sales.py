"""Flash sales over real HTTP: rules, idempotency keys, read models, and the 10,000-buyer race with a SIGKILL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from application.event_store import LiveCommerceStore
from bench._http import Pool
from domain.flash_sale import FlashSale
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


class Service:
    def __init__(self, env: Settings, log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.others = [Proc(env, "relay", log_dir=log_dir), Proc(env, "project", log_dir=log_dir)]
        self.api = self.start_api()
        self.admin = auth(env)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=20, headers=self.admin)
        self.wait_healthy()

    def start_api(self) -> Proc:
        return Proc(self.env, "api", log_dir=self.log_dir)

    def wait_healthy(self) -> None:
        def ok() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{self.env.http_port}/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ok, timeout=60, what="API health")

    def stop(self) -> None:
        self.http.close()
        for p in [self.api, *self.others]:
            p.stop()


@pytest.fixture(scope="module")
def svc(environments: Environments, log_dir: Path) -> Iterator[Service]:
    # 10,000 purchases from one address in seconds: the per-IP limit raised (per-user limits stay on).
    env = environments.new().model_copy(update={"http_port": free_port(), "rate_limit_ip_writes": "1000000/minute"})
    s = Service(env, log_dir)
    s.others[1].wait_for_output("projection flash_sales pid")
    yield s
    s.stop()


def live_stream(http: httpx.Client, price: float = 120000.0) -> str:
    sid = http.post(
        f"{P}/streams",
        json={
            "title": "Eid flash sale",
            "title_bn": "ঈদ ফ্ল্যাশ সেল",
            "stream_type": "flash_sale",
            "products": [{"product_id": PRODUCT, "special_price": price, "limited_quantity": 5000}],
        },
    ).json()["id"]
    assert http.post(f"{P}/streams/{sid}/start").status_code == 200
    return str(sid)


def create_sale(http: httpx.Client, stream_id: str, quantity: int, **extra: Any) -> str:
    r = http.post(
        f"{P}/flash-sales",
        json={
            "stream_id": stream_id,
            "product_id": PRODUCT,
            "flash_price": 85000.00,
            "available_quantity": quantity,
            "duration_minutes": 30,
            "announcement_message": "Flash Sale: iPhone 14 Pro for 85,000 BDT!",
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def buy(svc: Service, sale: str, key: str, buyer: str, quantity: int = 1) -> httpx.Response:
    """As the buyer: signed in with their own token, the buyer comes from it."""
    return svc.http.post(
        f"{P}/flash-sales/{sale}/purchase",
        json={"quantity": quantity},
        headers={"Idempotency-Key": key, **auth(svc.env, "viewer", user=buyer)},
    )


def test_spec_body_creates_a_running_sale_and_deals_show_it(svc: Service) -> None:
    sid = live_stream(svc.http)
    r = svc.http.post(
        f"{P}/flash-sales",
        json={
            "stream_id": sid,
            "product_id": PRODUCT,
            "flash_price": 85000.00,
            "available_quantity": 20,
            "duration_minutes": 30,
            "announcement_message": "Flash Sale: iPhone 14 Pro for 85,000 BDT!",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active" and body["discount_percentage"] == pytest.approx(29.17)

    def deal() -> dict[str, Any] | None:
        d = svc.http.get(f"{P}/streams/{sid}/deals").json()
        return d if d["active_deals"] else None

    d = wait_until(deal, what="deal in read model")
    active = d["active_deals"][0]
    assert active["original_price"] == 120000.0 and active["live_price"] == 85000.0
    assert active["available_quantity"] == 20 and d["upcoming_deals"] == [] and d["expired_deals"] == []
    later = create_sale(svc.http, sid, 5, starts_in_minutes=60)
    wait_until(lambda: svc.http.get(f"{P}/streams/{sid}/deals").json()["upcoming_deals"], what="upcoming")
    r = buy(svc, later, "k-early", str(uuid.uuid4()))
    assert r.status_code == 409 and r.json()["error"]["code"] == "flash_sale_not_active"


def test_purchase_rules_and_idempotency_keys(svc: Service) -> None:
    sale = create_sale(svc.http, live_stream(svc.http), 3, max_per_buyer=1)
    buyer = str(uuid.uuid4())
    first = buy(svc, sale, "key-1", buyer)
    assert first.status_code == 201, first.text
    again = buy(svc, sale, "key-1", buyer)
    assert again.status_code == 201 and again.json() == first.json()  # the first answer, nothing new
    other_body = buy(svc, sale, "key-1", buyer, quantity=2)
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"
    over = buy(svc, sale, "key-2", buyer)
    assert over.status_code == 409 and over.json()["error"]["code"] == "purchase_limit_exceeded"
    no_key = svc.http.post(f"{P}/flash-sales/{sale}/purchase", json={"buyer_id": buyer})
    assert no_key.status_code == 400 and no_key.json()["error"]["code"] == "idempotency_key_required"
    for i in range(2):
        assert buy(svc, sale, f"other-{i}", str(uuid.uuid4())).status_code == 201
    sold_out = buy(svc, sale, "late", str(uuid.uuid4()))
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "flash_sale_sold_out"
    assert sold_out.json()["error"]["message_bn"]
    rid = first.json()["reservation_id"]
    released = svc.http.post(f"{P}/flash-sales/{sale}/reservations/{rid}/release", json={"reason": "payment_failed"})
    assert released.status_code == 200
    assert buy(svc, sale, "after-release", str(uuid.uuid4())).status_code == 201

    r = redis.Redis.from_url(svc.env.redis_url, decode_responses=True)
    wait_until(lambda: r.hget(f"FLASH_SALE:{sale}", "remaining_quantity") == "0", what="Redis FLASH_SALE")
    assert r.hget(f"FLASH_SALE:{sale}", "current_price") == "85000.00"


async def _race(
    port: int, sale: str, buyers: list[tuple[str, str]], kill_after: int | None, on_kill: Any, admin: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]], Counter[int]]:
    """Every buyer tries once (an admin buying for them: one token, the ``buyer_id`` in the body); returns
    accepted answers by key, unanswered requests, and status counts."""
    pool = Pool("127.0.0.1", port, 200)
    answers: dict[str, dict[str, Any]] = {}
    unanswered: list[tuple[str, str]] = []
    statuses: Counter[int] = Counter()
    sent = 0

    async def one(key: str, buyer: str) -> None:
        nonlocal sent
        sent += 1
        if kill_after is not None and sent == kill_after:
            on_kill()
        try:
            status, body = await asyncio.wait_for(
                pool.request(
                    "POST",
                    f"{P}/flash-sales/{sale}/purchase",
                    {"buyer_id": buyer, "quantity": 1},
                    {"Idempotency-Key": key, **admin},
                ),
                30,
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            unanswered.append((key, buyer))
            return
        statuses[status] += 1
        if status == 201:
            answers[key] = body
        elif status != 409:
            unanswered.append((key, buyer))

    await asyncio.gather(*(one(k, b) for k, b in buyers))
    return answers, unanswered, statuses


@pytest.mark.slow
def test_ten_thousand_buyers_a_thousand_units_and_a_sigkill(svc: Service) -> None:
    sale = create_sale(svc.http, live_stream(svc.http), 1000, max_per_buyer=1)
    buyers = [(f"race-{i}", str(uuid.uuid4())) for i in range(10_000)]
    answers, unanswered, statuses = asyncio.run(_race(svc.env.http_port, sale, buyers, 4000, svc.api.kill, svc.admin))
    assert unanswered, "the SIGKILL must leave requests unanswered"
    svc.api = svc.start_api()
    svc.wait_healthy()
    retried, still, st2 = asyncio.run(_race(svc.env.http_port, sale, unanswered, None, None, svc.admin))
    assert still == [], f"every retry answered ({st2})"
    answers.update(retried)
    store = LiveCommerceStore(svc.env.eventsourcing_env())
    try:
        truth: FlashSale = store.repository.get(uuid.UUID(sale))
    finally:
        store.close()
    held = {str(rid): r for rid, r in truth.reservations.items() if r["status"] != "released"}
    assert truth.reserved + truth.sold == 1000 and truth.available == 0, "exactly 1,000, none oversold"
    assert len(held) == 1000
    per_buyer = Counter(str(r["buyer_id"]) for r in held.values())
    assert max(per_buyer.values()) == 1, "no buyer holds two units: no double charge"
    answered_ids = {a["reservation_id"] for a in answers.values()}
    assert answered_ids == set(held), "every held unit was answered to its buyer, every answer is held"
    for a in list(answers.values())[:1000]:
        r = svc.http.post(
            f"{P}/flash-sales/{sale}/reservations/{a['reservation_id']}/confirm", json={"order_id": str(uuid.uuid4())}
        )
        assert r.status_code == 200, r.text
    wait_until(
        lambda: svc.http.get(f"{P}/flash-sales/{sale}").json().get("sold_quantity") == 1000,
        timeout=60,
        what="read model: 1,000 sold",
    )
    final = svc.http.get(f"{P}/flash-sales/{sale}").json()
    assert final["available_quantity"] == 0 and final["reserved_quantity"] == 0
