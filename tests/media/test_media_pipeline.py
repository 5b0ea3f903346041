"""The media plane wired into the service: `livecommerce media` → Kafka → projections → HTTP (HLS and health)."""

from __future__ import annotations

import asyncio
import json
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
from tests.support import Proc, free_port, wait_until

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
        environments: Environments, log_dir: Path, tmp_path: Path) -> None:
    env = environments.new().model_copy(update={"http_port": free_port()})
    env = env.model_copy(update={"playback_base_url": f"http://127.0.0.1:{env.http_port}/hls"})
    video = make_video(tmp_path / "show.mp4", size="640x360", seconds=7)
    procs = [Proc(env, "relay", log_dir=log_dir), Proc(env, "project", log_dir=log_dir),
             Proc(env, "api", log_dir=log_dir)]
    http = httpx.Client(base_url=f"http://127.0.0.1:{env.http_port}", timeout=30)
    try:
        procs[1].wait_for_output("projection stream_quality pid")
        wait_until(lambda: _ok(http), timeout=60, what="API")
        sid = http.post(f"{P}/streams", json={"title": "রেকর্ড করা শো", "stream_type": "tutorial"}).json()["id"]
        http.post(f"{P}/streams/{sid}/start")
        media = Proc(env, "media", "--stream", sid, "--source", str(video), log_dir=log_dir, name="media")
        assert media.popen.wait(120) == 0, media.output()[-3000:]

        types = [e["type"] for e in media_events(env, sid)]
        assert types[0] == "media.ingest_started" and types[-1] == "media.ingest_stopped"
        for t in ("media.segment_published", "media.quality_sample", "media.recording_ready",
                  "media.thumbnail_ready"):
            assert t in types, types

        def recording() -> tuple[Any, ...] | None:
            with psycopg.connect(env.postgres_url) as conn:
                return conn.execute("SELECT recording_url, duration_seconds, file_size_bytes FROM"
                                    " live_stream_recordings WHERE stream_id = %s", (sid,)).fetchone()

        url, duration, size = wait_until(recording, timeout=30, what="recording row")
        assert 5 <= duration <= 9 and size > 10_000 and url.endswith(".m3u8")

        client: MongoClient[dict[str, Any]] = MongoClient(env.mongo_url)
        wait_until(lambda: client[env.mongo_db]["stream_quality"].count_documents({"stream_id": sid}) > 0,
                   timeout=30, what="quality documents")
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
