"""Every process's Prometheus metrics on a running stack (issue 20 part 1): the figures move under a short load
and say what happened (three checkouts, two paid, one failed; one viewer in the room; 2 units left).

The stack of ``journeys.Show`` (relay, projections, process managers, notifications, API with Socket.IO, the
payment sandbox) runs with ``metrics_port`` set, so each non-HTTP process serves its own ``/metrics``.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.metrics import PORT_OFFSETS
from tests.conftest import Environments
from tests.e2e.journeys import P, Show, show_settings, until
from tests.e2e.test_show_journeys import live_show, order_when, room_of
from tests.support import Proc, free_port, wait_until


def _free_block(n: int) -> int:
    """A base port with the next ``n`` ports free."""
    for _ in range(200):
        base = free_port()
        socks = []
        try:
            for i in range(1, n + 1):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="module")
def measured(environments: Environments, log_dir: Path) -> Iterator[Show]:
    env, sandbox = show_settings(environments, metrics_port=_free_block(len(PORT_OFFSETS)))
    s = Show(env, log_dir, sandbox)
    yield s
    s.stop()


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics answer: (name, sorted labels) → value."""
    r = httpx.get(url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(got: dict, name: str, **labels: str) -> float:
    return got.get((name, tuple(sorted(labels.items()))), 0.0)


def total(got: dict, name: str, **labels: str) -> float:
    """Sum over every series of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in got.items() if n == name and set(labels.items()) <= set(ls))


async def test_metrics_of_every_process_move_under_load(measured: Show) -> None:
    s = measured
    ports = {kind: s.env.metrics_port + offset for kind, offset in PORT_OFFSETS.items()}
    api_url = f"{s.url}/metrics"
    before = samples(api_url)
    relay_before = samples(f"http://127.0.0.1:{ports['relay']}/metrics")
    assert samples(f"http://127.0.0.1:{ports['process']}/metrics")  # answers (python process metrics at least)
    assert samples(f"http://127.0.0.1:{ports['notify']}/metrics")

    product = str(uuid.uuid4())
    sid = live_show(s, [(product, 1200.0, 5)])
    room = await room_of(s, sid)
    buyers = [str(uuid.uuid4()) for _ in range(3)]
    placed = []
    for b in buyers:
        r = s.as_user("viewer", b).post(
            "/checkout/instant",
            headers={"Idempotency-Key": f"m-{b}"},
            json={
                "stream_id": sid,
                "cart_items": [{"product_id": product, "quantity": 1, "price": 1200.0}],
                "payment_method": "bkash",
                "shipping_address": {"city": "Dhaka", "area": "Mirpur"},
            },
        )
        assert r.status_code == 201, r.text
        placed.append(r.json())
    for p, outcome in zip(placed, ("success", "success", "failure"), strict=True):
        assert (await asyncio.to_thread(s.pay, p["payment_url"], outcome)).status_code == 200
    for b, p in zip(buyers[:2], placed[:2], strict=True):
        order_when(s, b, p["order_id"], "paid")

    def api_moved() -> dict | None:
        got = samples(api_url)
        ok = (
            value(got, "livecommerce_stock_available", kind="stream_product", id=product) == 3.0
            and value(got, "livecommerce_show_sockets", stream_id=sid) == 1.0
        )
        return got if ok else None

    got = await until(api_moved, "the API's gauges to show 3 units left and 1 socket in the show", timeout=20)
    checkout_route = next(
        ls
        for (n, ls) in got
        if n == "livecommerce_http_requests_total"
        and ("method", "POST") in ls
        and dict(ls)["route"].endswith("checkout/instant")
    )
    route = dict(checkout_route)["route"]
    assert value(got, "livecommerce_http_requests_total", route=route, method="POST", status="201") == 3.0
    assert value(got, "livecommerce_http_request_seconds_count", route=route, method="POST") == 3.0
    assert total(got, "livecommerce_http_requests_total", route="unmatched") == 0.0
    assert total(got, "livecommerce_command_batch_size_count") > total(before, "livecommerce_command_batch_size_count")
    appended = total(got, "livecommerce_store_appended_events_total") - total(
        before, "livecommerce_store_appended_events_total"
    )
    assert appended >= 3 * 3, appended  # at least order, payment and stock events for each checkout
    assert total(got, "livecommerce_socketio_connections") >= 1.0
    assert total(got, "livecommerce_fanout_window_viewers_count") > 0
    assert total(got, "livecommerce_payment_callbacks_total", provider="bkash") >= 3.0
    # read at scrape time from the store and Kafka: the relay's lag and every consumer group's
    assert ("livecommerce_relay_lag_events", ()) in got
    assert value(got, "livecommerce_store_position") >= appended
    assert {dict(ls)["consumer"] for (n, ls) in got if n == "livecommerce_consumer_lag_messages"} >= {
        "projection.orders",
        "projection.live_streams",
        "process.notifications",
    }

    # The relay published what the API appended, and says where it stands.
    relay = samples(f"http://127.0.0.1:{ports['relay']}/metrics")
    published = total(relay, "livecommerce_relay_published_events_total") - total(
        relay_before, "livecommerce_relay_published_events_total"
    )
    assert published >= appended
    assert value(relay, "livecommerce_relay_position") >= value(got, "livecommerce_store_position") - 50

    # The projections applied them, and read the payments' outcomes off the log: two paid, one failed.
    def projected() -> dict | None:
        p = samples(f"http://127.0.0.1:{ports['project']}/metrics")
        return p if value(p, "livecommerce_payments_total", provider="bkash", outcome="failed") == 1.0 else None

    proj = await until(projected, "the failed payment in the projections' metrics", timeout=20)
    assert value(proj, "livecommerce_payments_total", provider="bkash", outcome="completed") == 2.0
    assert value(proj, "livecommerce_projection_messages_total", model="orders") >= 6
    assert value(proj, "livecommerce_projection_apply_seconds_count", model="orders") >= 1
    assert ("livecommerce_projection_lag_seconds", (("model", "orders"),)) in proj
    await room.client.disconnect()


def test_api_workers_share_one_set_of_metrics(environments: Environments, log_dir: Path) -> None:
    """Two API worker processes (multiprocess mode): a scrape answered by either counts both workers' requests."""
    env = environments.new().model_copy(update={"http_port": free_port(), "http_workers": 2})
    api = Proc(env, "api", log_dir=log_dir, name="metrics-workers-api")
    try:
        url = f"http://127.0.0.1:{env.http_port}"
        wait_until(lambda: _answers(f"{url}/metrics"), timeout=60, what="the API's two workers")
        with httpx.Client(base_url=url, timeout=10) as client:  # new connections: both workers get some
            for _ in range(40):
                assert client.get(f"{P}/streams", headers={"Connection": "close"}).status_code == 200
        seen = [samples(f"{url}/metrics") for _ in range(6)]
        for got in seen:
            assert (
                total(got, "livecommerce_http_requests_total", method="GET", status="200", route=_route(got, "streams"))
                == 40.0
            )
    finally:
        api.stop()
    assert "Starting worker" in api.output() or api.output().count("realtime pusher ready") >= 2


def _route(got: dict, suffix: str) -> str:
    return next(
        dict(ls)["route"]
        for (n, ls) in got
        if n == "livecommerce_http_requests_total" and dict(ls)["route"].rstrip("/").endswith(suffix)
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
