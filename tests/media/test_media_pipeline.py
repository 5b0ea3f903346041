"""The media plane wired into the service: `livecommerce media` → Kafka → projections → HTTP (HLS and health)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from infra.settings import Settings
from tests.conftest import Environments
from tests.media.conftest import make_video
from tests.support import Proc, auth, free_port, wait_until

P = "/api/v1/live-commerce"


def media_events(env: Settings, stream_id: str) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
        await c.start()
        try:
            parts = [TopicPartition(env.topic("media"), p) for p in range(env.topic_partitions)]
            c.assign(parts)
            await c.seek_to_beginning(*parts)
            got = await c.getmany(timeout_ms=3000, max_records=10_000)
            return [json.loads(m.value) for ms in got.values() for m in ms if m.key == stream_id.encode()]
        finally:
            await c.stop()

    return asyncio.run(go())


@pytest.mark.slow
def test_a_recorded_show_flows_through_kafka_into_read_models_and_is_served(
    environments: Environments, log_dir: Path, tmp_path: Path
) -> None:
    env = environments.new().model_copy(update={"http_port": free_port()})
    env = env.model_copy(update={"playback_base_url": f"http://127.0.0.1:{env.http_port}/hls"})
    video = make_video(tmp_path / "show.mp4", size="640x360", seconds=7)
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=30, headers=auth(env))
    try:
        procs[1].wait_for_output("projection stream_quality pid")
        wait_until(lambda: _ok(http), timeout=60, what="API")
        sid = http.post(f"{P}/streams", json={"title": "রেকর্ড করা শো", "stream_type": "tutorial"}).json()["id"]
        http.post(f"{P}/streams/{sid}/start")
        media = Proc(
            env, "media", "--stream", sid, "--source", str(video), "--highlights", "yes", log_dir=log_dir, name="media"
        )
        assert media.popen.wait(120) == 0, media.output()[-3000:]

        assert "highlight clips" in media.output() and "highlights for" not in media.output()  # ran, no failure
        types = [e["type"] for e in media_events(env, sid)]
        assert types[0] == "media.ingest_started" and types[-1] == "media.ingest_stopped"
        for t in ("media.segment_published", "media.quality_sample", "media.recording_ready", "media.thumbnail_ready"):
            assert t in types, types

        def recording() -> tuple[Any, ...] | None:
            with psycopg.connect(env.postgres_url) as conn:
                return conn.execute(
                    "SELECT recording_url, duration_seconds, file_size_bytes FROM"
                    " live_stream_recordings WHERE stream_id = %s",
                    (sid,),
                ).fetchone()

        url, duration, size = wait_until(recording, timeout=30, what="recording row")
        assert 5 <= duration <= 9 and size > 10_000 and url.endswith(".m3u8")

        client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_url)
        wait_until(
            lambda: client[env.mongo_db]["stream_quality"].count_documents({"stream_id": sid}) > 0,
            timeout=30,
            what="quality documents",
        )
        client.close()

        master = http.get(f"/hls/{sid}/master.m3u8")
        assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
        health = http.get(f"{P}/streams/{sid}/health").json()
        assert health["latest_sample"]["quality_metrics"]["resolution"] and isinstance(health["alerts"], list)
        assert health["recording_url"] == url
    finally:
        http.close()
        for p in procs:
            p.stop()


def _ok(http: httpx.Client) -> bool:
    try:
        return http.get("/health").status_code == 200
    except httpx.HTTPError:
        return False


def test_log_only_read_models_rebuild_from_kafka_to_the_same_content(environments: Environments, log_dir: Path) -> None:
    """Media events never enter the store: `--rebuild recordings` replays the media topic instead."""
    import uuid
    from datetime import datetime

    from aiokafka import AIOKafkaProducer

    from application.envelope import new_interaction
    from tests.support import pg_hash

    env = environments.new()
    sid = str(uuid.uuid4())

    async def publish() -> None:
        p = AIOKafkaProducer(bootstrap_servers=env.kafka_bootstrap)
        await p.start()
        for i in range(3):
            e = new_interaction(
                "media.recording_ready",
                sid,
                {
                    "master_url": f"http://cdn/hls/{sid}/recording-{i}.m3u8",
                    "duration_s": 60.0 + i,
                    "total_bytes": 1000 * (i + 1),
                    "renditions": [],
                },
                datetime.now(UTC),
            )
            await p.send_and_wait(env.topic("media"), e.to_json(), key=e.key)
        await p.stop()

    worker = Proc(env, "project", "--only", "recordings", log_dir=log_dir, name="recordings-worker")
    try:
        worker.wait_for_output("projection recordings pid")
        asyncio.run(publish())

        def rows() -> int:
            with psycopg.connect(env.postgres_url) as conn:
                r = conn.execute("SELECT count(*) FROM live_stream_recordings").fetchone()
                return int(r[0]) if r else 0

        wait_until(lambda: rows() == 3, what="three recordings projected")
        live = pg_hash(env.postgres_url, ("live_stream_recordings",))
        rebuild = Proc(
            env, "project", "--rebuild", "recordings", "--no-progress", log_dir=log_dir, name="rebuild-recordings"
        )
        assert rebuild.popen.wait(60) == 0, rebuild.output()
        assert "rebuilt recordings from 3 events" in rebuild.output()
        assert pg_hash(env.postgres_url, ("live_stream_recordings",)) == live
    finally:
        worker.stop()


@pytest.mark.slow
def test_killing_the_media_process_mid_show_interrupts_and_a_restart_resumes(
    environments: Environments, log_dir: Path, tmp_path: Path
) -> None:
    import uuid
    from datetime import datetime

    from application.event_store import LiveCommerceStore
    from domain.live_stream import LiveStream

    env = environments.new().model_copy(update={"media_silence_s": 3.0})
    video = make_video(tmp_path / "show.mp4", size="640x360", seconds=12)
    store = LiveCommerceStore(env.eventsourcing_env())
    sid = uuid.uuid4()
    store.save(
        LiveStream.schedule(
            id=sid,
            now=datetime.now(UTC),
            vendor_id=str(uuid.uuid4()),
            stream_key=uuid.uuid4().hex,
            title="crash test",
            stream_type="tutorial",
        )
    )

    def events() -> list[str]:
        return [type(e).__name__ for e in store.events.get(sid)]

    process = Proc(env, "process", log_dir=log_dir, name="process-managers")
    try:
        process.wait_for_output("media policy ready", timeout=60)
        media = Proc(
            env,
            "media",
            "--stream",
            str(sid),
            "--source",
            str(video),
            "--pace",
            "--highlights",
            "no",
            log_dir=log_dir,
            name="media-first",
        )
        wait_until(lambda: "Started" in events(), timeout=60, what="the first segment to start the show")
        time.sleep(2)
        media.kill()  # no goodbye: the process cannot report its own death
        wait_until(lambda: "VideoInterrupted" in events(), timeout=30, what="silence to interrupt the video")
        again = Proc(
            env,
            "media",
            "--stream",
            str(sid),
            "--source",
            str(video),
            "--highlights",
            "no",
            log_dir=log_dir,
            name="media-restarted",
        )
        assert again.popen.wait(120) == 0, again.output()[-2000:]
        wait_until(lambda: "VideoResumed" in events(), timeout=30, what="the restarted worker to resume it")
        out = env.media_root / str(sid)
        assert "#EXT-X-STREAM-INF" in (out / "master.m3u8").read_text()
        assert "#EXT-X-STREAM-INF" in (out / "recording.m3u8").read_text()  # the VOD master
        assert "#EXT-X-ENDLIST" in (out / "360p" / "recording.m3u8").read_text()  # a complete rendition
    finally:
        process.stop()
        store.close()
