"""Real notification channels (issue 20 part 7): people set their channels, language and quiet hours through
the API; a reminder then reaches the provider sandbox over each real protocol (FCM HTTP v1 with its OAuth2
token, a Bangladeshi SMS gateway's HTTP API, web push encrypted aes128gcm with VAPID, SMTP), a person in
quiet hours (Dhaka time) gets it when they end, and every outcome comes back into the log as a receipt."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import http_ece
import httpx
import jwt
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from prometheus_client import REGISTRY

from application import notifications as n
from application.envelope import Envelope
from infra.notification_prefs_pg import PgPreferences
from infra.notifications import FileNotifier, NotificationProcess, run_notifications
from infra.notify_channels import build_channels
from infra.postgres import PgDatabase
from infra.settings import Settings
from tests.conftest import Environments
from tests.e2e.test_notifications import Clock, q
from tests.support import ROOT, Proc, auth, free_port, settings_env, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "3c2b1a09-8f7e-4d6c-9b5a-4a3b2c1d0e9f"
B64 = base64.urlsafe_b64encode


def b64(raw: bytes) -> str:
    return B64(raw).decode().rstrip("=")


class ChannelWorker:
    """``run_notifications`` with the real channels, on its own thread and loop (as ``notify`` runs it)."""

    def __init__(self, env: Settings, clock: Clock, outbox: Path) -> None:
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, args=(env, clock, outbox), daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self, env: Settings, clock: Clock, outbox: Path) -> None:
        async def main() -> None:
            self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
            db = PgDatabase(env.read_url, max_size=2)
            await db.open()
            self.ready.set()
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    notifier = build_channels(env, http, PgPreferences(db), FileNotifier(outbox))
                    await run_notifications(env, self.stop_event, notifier=notifier, clock=clock, poll_s=0.1)
            finally:
                await db.close()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        assert self.loop is not None and self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, self.error


@pytest.fixture(scope="module")
def channels_stack(
    environments: Environments, log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, httpx.Client, str]]:
    tmp = tmp_path_factory.mktemp("notify-sandbox")
    http_port, smtp_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{http_port}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = tmp / "service-account.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "lc-test",
                "private_key_id": "k1",
                "client_email": "notify@lc-test.iam.gserviceaccount.com",
                "token_uri": f"{sandbox_url}/oauth2/token",
                "private_key": key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ).decode(),
            }
        )
    )
    vapid = ec.generate_private_key(ec.SECP256R1())
    env = environments.new().model_copy(
        update={
            "http_port": free_port(),
            "fcm_project_id": "lc-test",
            "fcm_service_account_file": account,
            "fcm_base_url": sandbox_url,
            "sms_base_url": sandbox_url,
            "sms_api_key": "test-sms-key",
            "sms_sender_id": "8809612345678",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_from": "Live Commerce <no-reply@lc.test>",
            "vapid_subject": "mailto:ops@lc.test",
            "vapid_private_key": vapid.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            "notify_channels": "push",
        }
    )
    sandbox_log = open(log_dir / "notify-sandbox.log", "wb")  # noqa: SIM115
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.notify_sandbox",
            "--http-port",
            str(http_port),
            "--smtp-port",
            str(smtp_port),
            "--fcm-service-account",
            str(account),
            "--sms-api-key",
            "test-sms-key",
        ],
        cwd=ROOT,
        env={**os.environ, **settings_env(env)},
        stdout=sandbox_log,
        stderr=subprocess.STDOUT,
    )
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", "--only", "hosts", log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=15)

    def up(url: str) -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(lambda: up(f"http://127.0.0.1:{env.http_port}/health"), timeout=60, what="API health")
        wait_until(lambda: up(f"{sandbox_url}/sandbox/received"), timeout=30, what="notify sandbox")
        procs[1].wait_for_output("projection hosts pid")
        yield env, http, sandbox_url
    finally:
        http.close()
        for p in procs:
            p.stop()
        sandbox.terminate()
        sandbox.wait(10)
        sandbox_log.close()


def received(sandbox: str, kind: str) -> list[dict[str, Any]]:
    return httpx.get(f"{sandbox}/sandbox/received", params={"kind": kind}, timeout=5).json()  # type: ignore[no-any-return]


def receipts(env: Settings) -> list[Envelope]:
    async def go() -> list[Envelope]:
        c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(env.topic("notifications"), p) for p in range(env.topic_partitions)]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            got = await c.getmany(timeout_ms=1500, max_records=10_000)
        finally:
            await c.stop()
        return [Envelope.from_json(m.value) for ms in got.values() for m in ms]

    return asyncio.run(go())


def test_preferences_refuse_bad_input_in_english_and_bangla(channels_stack: tuple[Settings, httpx.Client, str]) -> None:
    env, http, _ = channels_stack
    me = auth(env, "viewer", str(uuid.uuid4()))
    url = f"{P}/me/notification-preferences"
    assert http.get(url).status_code == 401
    assert http.get(url, headers=me).json()["channels"] == ["push"]  # nothing chosen yet: the defaults
    for body, field in (
        ({"channels": ["sms"]}, "channels without an address: sms"),
        ({"channels": ["sms"], "msisdn": "12345"}, "msisdn"),
        ({"channels": ["email"], "email": "not-mail"}, "email"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
        ({"channels": ["fax"]}, "channels"),
        ({"language": "fr"}, "language"),
    ):
        r = http.put(url, json=body, headers=me)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["error"]
        assert err["code"] == "validation_failed" and err["message_bn"] == "অনুরোধে ভুল তথ্য আছে।"
        assert field in json.dumps(err["details"], ensure_ascii=False), (field, err)
    ok = http.put(
        url,
        headers=me,
        json={
            "language": "en",
            "channels": ["sms"],
            "msisdn": "+880 1812-345678",
            "quiet_hours": {"start": "22:30", "end": "07:00"},
        },
    )
    assert ok.status_code == 200, ok.text
    assert http.get(url, headers=me).json() | {"user_id": None} == {
        "user_id": None,
        "language": "en",
        "channels": ["sms"],
        "msisdn": "8801812345678",
        "email": None,
        "quiet_hours": {"start": "22:30", "end": "07:00", "time_zone": "Asia/Dhaka"},
        "fcm_tokens": [],
        "web_push_subscriptions": [],
    }


def test_a_reminder_on_every_channel_held_in_quiet_hours_with_receipts(
    channels_stack: tuple[Settings, httpx.Client, str], tmp_path: Path
) -> None:
    env, http, sandbox = channels_stack
    host_user, vendor = str(uuid.uuid4()), str(uuid.uuid4())
    host = auth(env, "host", host_user, vendor)
    hid = http.post(
        f"{P}/hosts/apply", json={"host_name": "Sarah Khan", "languages": ["bn", "en"]}, headers=host
    ).json()["id"]
    assert http.post(f"{P}/hosts/{hid}/verify", headers=auth(env)).status_code == 200
    rina, tom, gone = (str(uuid.uuid4()) for _ in range(3))
    browser_key, browser_auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
    browser_pub = browser_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    clock = Clock()
    start = clock.now.replace(microsecond=0) + timedelta(minutes=20)
    due = start - timedelta(minutes=15)
    dhaka_due = due.astimezone(n.DHAKA)
    quiet = {
        "start": (dhaka_due - timedelta(minutes=30)).strftime("%H:%M"),
        "end": (dhaka_due + timedelta(minutes=30)).strftime("%H:%M"),
    }  # the reminder falls inside
    prefs = {
        rina: {
            "language": "bn",
            "channels": ["push", "web_push", "sms", "email"],
            "email": "rina@example.com",
            "msisdn": "01712345678",
            "fcm_tokens": ["fcm-token-rina"],
            "web_push_subscriptions": [
                {
                    "endpoint": f"{sandbox}/push/rina-browser",
                    "keys": {"p256dh": b64(browser_pub), "auth": b64(browser_auth)},
                }
            ],
        },
        tom: {"language": "en", "channels": ["email"], "email": "tom@example.com", "quiet_hours": quiet},
        gone: {"channels": ["push"], "fcm_tokens": ["unregistered-old-phone"]},
    }
    for fan, body in prefs.items():
        r = http.put(f"{P}/me/notification-preferences", json=body, headers=auth(env, "viewer", fan))
        assert r.status_code == 200, r.text
        assert http.post(f"{P}/hosts/{hid}/follow", headers=auth(env, "viewer", fan)).status_code == 200
    wait_until(
        lambda: q(env, "SELECT count(*) FROM live_commerce_host_followers WHERE following")[0][0] == 3, what="followers"
    )

    worker = ChannelWorker(env, clock, tmp_path / "outbox.jsonl")
    try:
        planned = http.post(
            f"{P}/hosts/schedule-stream",
            headers=host,
            json={
                "title": "iPhone 14 Pro Flash Sale",
                "title_bn": "আইফোন ১৪ প্রো ফ্ল্যাশ সেল",
                "scheduled_start_time": start.isoformat(),
                "products_to_feature": [PRODUCT],
            },
        )
        assert planned.status_code == 201, planned.text
        wait_until(lambda: q(env, "SELECT count(*) FROM notification_jobs")[0][0] == 1, what="reminder planned")
        clock.advance(minutes=6)  # the 15-minute reminder is due; Tom is in his quiet hours
        for kind in ("fcm", "web_push", "sms", "email"):
            wait_until(lambda k=kind: received(sandbox, k), timeout=20, what=f"{kind} at the sandbox")
        wait_until(
            lambda: q(env, "SELECT count(*) FROM notification_receipts WHERE outcome = 'held'")[0][0] == 1,
            what="Tom's e-mail held",
        )
        assert [m["rcpt_tos"] for m in received(sandbox, "email")] == [["rina@example.com"]]

        title_bn = "Sarah Khan ১৫ মিনিট পর লাইভে আসছেন"
        mail = received(sandbox, "email")[0]
        assert mail["subject"] == title_bn and n.when_bn(start) in mail["body"]
        assert mail["headers"]["From"] == "Live Commerce <no-reply@lc.test>"
        [fcm] = received(sandbox, "fcm")
        issued = {t["access_token"] for t in received(sandbox, "fcm_token")}
        assert fcm["authorization"].removeprefix("Bearer ") in issued and fcm["project"] == "lc-test"
        assert fcm["message"]["token"] == "fcm-token-rina"
        assert fcm["message"]["notification"] == {"title": title_bn, "body": mail["body"].strip()}
        assert fcm["message"]["data"]["kind"] == "stream_reminder" and fcm["message"]["data"]["lead"] == "15m"
        [sms] = received(sandbox, "sms")
        assert sms["number"] == "8801712345678" and sms["senderid"] == "8809612345678"
        assert sms["message"].startswith(title_bn)
        [push] = received(sandbox, "web_push")
        assert push["subscription"] == "rina-browser" and push["headers"]["Content-Encoding"] == "aes128gcm"
        scheme, _, params = push["headers"]["Authorization"].partition(" ")
        fields = dict(p.split("=", 1) for p in params.split(","))
        assert scheme == "vapid"
        assert env.vapid_private_key is not None
        vapid_pub = serialization.load_pem_private_key(env.vapid_private_key.encode(), None).public_key()
        claims = jwt.decode(fields["t"], vapid_pub, algorithms=["ES256"], audience=sandbox)  # type: ignore[arg-type]
        assert claims["sub"] == "mailto:ops@lc.test"
        plain = http_ece.decrypt(
            base64.b64decode(push["body_b64"]), private_key=browser_key, auth_secret=browser_auth, version="aes128gcm"
        )
        shown = json.loads(plain)
        assert shown["title"] == title_bn and shown["lang"] == "bn" and shown["data"]["kind"] == "stream_reminder"

        held_until = q(env, "SELECT held_until FROM live_stream_notification_deliveries WHERE recipient_id = %s", tom)[
            0
        ][0]
        assert held_until.astimezone(n.DHAKA).strftime("%H:%M") == quiet["end"]
        clock.now = held_until + timedelta(seconds=1)  # quiet hours over
        wait_until(lambda: len(received(sandbox, "email")) == 2, what="Tom's e-mail after his quiet hours")
        tom_mail = received(sandbox, "email")[1]
        assert tom_mail["rcpt_tos"] == ["tom@example.com"]
        assert tom_mail["subject"] == "Sarah Khan goes live in 15 minutes" and n.when_en(start) in tom_mail["body"]

        def all_receipts() -> list[Envelope] | None:
            got = receipts(env)
            return got if len([e for e in got if e.type == "Notification.DeliveryAccepted"]) == 5 else None

        got = wait_until(all_receipts, timeout=30, what="receipts in the log")
    finally:
        worker.stop()
    accepted = {
        (e.payload["recipient_id"], e.payload["channel"]): e.payload
        for e in got
        if e.type == "Notification.DeliveryAccepted"
    }
    assert set(accepted) == {(rina, c) for c in ("push", "web_push", "sms", "email")} | {(tom, "email")}
    assert accepted[(rina, "push")]["provider_message_id"] == f"projects/lc-test/messages/{fcm['id']}"
    assert accepted[(rina, "sms")]["provider_message_id"] == str(sms["id"])
    assert "SANDBOX" in accepted[(tom, "email")]["provider_message_id"]
    held = [e.payload for e in got if e.type == "Notification.DeliveryHeld"]
    assert [(h["recipient_id"], h["channel"]) for h in held] == [(tom, "email")]
    failed = [e.payload for e in got if e.type == "Notification.DeliveryFailed"]
    assert failed and {(f["recipient_id"], f["channel"]) for f in failed} == {(gone, "push")}
    assert "UNREGISTERED" in failed[0]["error"] and len(failed) == 1, "a dead token is not retried"
    assert len({e.id for e in got}) == len(got), "one envelope per receipt"
    counted = {
        (ch, o): REGISTRY.get_sample_value("livecommerce_notification_deliveries_total", {"channel": ch, "outcome": o})
        or 0
        for ch in ("push", "email")
        for o in ("accepted", "failed", "held")
    }
    assert counted[("email", "accepted")] >= 2 and counted[("email", "held")] >= 1  # /metrics of notify
    assert counted[("push", "accepted")] >= 1 and counted[("push", "failed")] >= 1


def test_a_buyers_order_update_goes_out_during_quiet_hours(
    channels_stack: tuple[Settings, httpx.Client, str], tmp_path: Path
) -> None:
    """The buyer's own order is not marketing: shipped at 23:00 in Dhaka, the SMS goes at once."""
    env, http, sandbox = channels_stack
    buyer, order, stream = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    clock = Clock()
    now = clock.now.astimezone(n.DHAKA)
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    r = http.put(
        f"{P}/me/notification-preferences",
        headers=auth(env, "viewer", buyer),
        json={"language": "en", "channels": ["sms"], "msisdn": "01998765432", "quiet_hours": quiet},
    )
    assert r.status_code == 200, r.text
    events = [
        Envelope(
            id=str(uuid.uuid4()),
            type=t,
            schema_version=1,
            aggregate_id=order,
            aggregate_version=v,
            stream_id=stream,
            occurred_at=clock.now,
            payload=p,
        )
        for t, v, p in (
            ("Order.Placed", 1, {"buyer_id": buyer, "stream_id": stream}),
            (
                "Order.FulfilmentUpdated",
                2,
                {"status": "shipped", "courier": "Pathao", "tracking_id": "PTH-77", "stream_id": stream},
            ),
        )
    ]

    async def go() -> None:
        db = PgDatabase(env.read_url, max_size=2)
        await db.open()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                notifier = build_channels(env, client, PgPreferences(db), FileNotifier(tmp_path / "outbox"))
                process = NotificationProcess(db, notifier, clock=clock)
                await process.handle(events)
                assert await process.fire_due() == 1
                assert await process.deliver() == 1
        finally:
            await db.close()

    asyncio.run(go())
    [sms] = [m for m in received(sandbox, "sms") if m["number"] == "8801998765432"]
    assert sms["message"].startswith("Your order is on its way\n")
    assert f"Order {order[:8].upper()} is on its way." in sms["message"] and "PTH-77" in sms["message"]
    assert q(env, "SELECT outcome FROM notification_receipts WHERE recipient_id = %s", buyer) == [("accepted",)]
