"""One public RTMP URL for every show (`livecommerce ingest`): the ffmpeg CLI publishes as the hosts' apps.

The door looks each key up in the ``live_streams`` read model of a real PostgreSQL database, starts one
``livecommerce media --from-ingest`` worker per show, and every event goes to a real Kafka (Tansu).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.postgres import apply_migrations
from infra.settings import Settings
from media.events import CollectingSink
from media.ingest import RtmpListen, StaticStreamKeys
from media.ingest_door import IngestDoor
from media.playlists import read_playlist
from media.rtmp_gate import key_hint
from media.rtmp_server import FLV_HEADER, Message, amf0, flv_tags
from tests.conftest import Environments
from tests.media.conftest import ffprobe
from tests.support import Proc, free_port


def show(env: Settings, status: str = "scheduled") -> tuple[str, str]:
    """A show in the read model, as `POST /streams` and `/start` leave it: (stream id, stream key)."""
    sid, key = str(uuid.uuid4()), f"live_{uuid.uuid4().hex}"
    with psycopg.connect(env.read_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO live_streams (id, vendor_id, stream_key, title, stream_type, status)"
            " VALUES (%s, %s, %s, %s, 'tutorial', %s)",
            (sid, str(uuid.uuid4()), key, "শো", status),
        )
    return sid, key


def door(env: Settings, log_dir: Path, tmp_path: Path) -> tuple[Settings, Proc]:
    apply_migrations(env.read_url)
    env = env.model_copy(
        update={"rtmp_base_url": f"rtmp://127.0.0.1:{free_port()}/live", "media_root": tmp_path / "media"}
    )
    proc = Proc(env, "ingest", log_dir=log_dir, name="ingest")
    proc.wait_for_output("ingest ready on rtmp://", timeout=30)
    return env, proc


async def publish(env: Settings, key: str, seconds: float) -> asyncio.subprocess.Process:
    """The broadcaster from ENVIRONMENT.md (360p to keep two live ladders within two cores)."""
    return await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "60",
        "-c:a",
        "aac",
        "-f",
        "flv",
        f"{env.rtmp_base_url}/{key}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def media_events(env: Settings) -> list[dict[str, Any]]:
    c = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        parts = [TopicPartition(env.topic("media"), p) for p in range(env.topic_partitions)]
        c.assign(parts)
        await c.seek_to_beginning(*parts)
        out: list[dict[str, Any]] = []
        while got := await c.getmany(timeout_ms=1500, max_records=10_000):
            out += [json.loads(m.value) for ms in got.values() for m in ms]
        return sorted(out, key=lambda e: e["occurred_at"])
    finally:
        await c.stop()


def types_of(events: list[dict[str, Any]], sid: str) -> list[str]:
    return [e["type"] for e in events if e["stream_id"] == sid]


async def wait_events(env: Settings, done: Any, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        events = await media_events(env)
        if done(events) or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.5)


async def on_air(env: Settings, sid: str, timeout: float = 30) -> None:
    """Until the show's live playlist lists a segment (its worker started, decoded and published)."""
    playlist = env.media_root / sid / "360p" / "index.m3u8"
    deadline = time.monotonic() + timeout
    while not (playlist.exists() and read_playlist(playlist.read_text())["segments"]):
        assert time.monotonic() < deadline, f"{sid} not on air after {timeout} s"
        await asyncio.sleep(0.1)


def recorded_seconds(out: Path, rendition: str = "360p") -> float:
    return float(ffprobe(out / rendition / "recording.m3u8", "-show_format")["format"]["duration"])


@pytest.mark.slow
async def test_two_shows_publish_at_once_on_one_url_and_a_wrong_key_is_refused_meanwhile(
    environments: Environments, log_dir: Path, tmp_path: Path
) -> None:
    env, ingest = door(environments.new(), log_dir, tmp_path)
    try:
        (a, key_a), (b, key_b) = show(env), show(env, "live")
        _, ended_key = show(env, "ended")
        first, second = await publish(env, key_a, 5), await publish(env, key_b, 5)
        await on_air(env, a)
        await on_air(env, b)
        refused = []
        for wrong in ("live_not-a-key", ended_key):
            p = await publish(env, wrong, 2)
            _, err = await p.communicate()
            assert p.returncode != 0 and b"unknown_stream_key" in err, err  # the app hears why
            refused.append(wrong)
        for p in (first, second):
            _, err = await p.communicate()
            assert p.returncode == 0, err  # the shows went on, undisturbed, to their clean end
        events = await wait_events(env, lambda ev: all("media.ingest_stopped" in types_of(ev, s) for s in (a, b)))
    finally:
        ingest.stop()

    for sid in (a, b):
        types = types_of(events, sid)
        assert types[0] == "media.ingest_started" and types[-2:] == ["media.recording_ready", "media.ingest_stopped"], (
            types
        )
        assert {"media.segment_published", "media.quality_sample", "media.thumbnail_ready"} <= set(types)
        mine = [e for e in events if e["stream_id"] == sid]
        assert mine[-1]["payload"]["reason"] == "unpublished"
        assert mine[0]["payload"]["source"] == "rtmp" and mine[0]["payload"]["remote"].startswith("127.0.0.1:")
        segments = [e for e in mine if e["type"] == "media.segment_published"]
        assert all(f"/{sid}/" in e["payload"]["url"] for e in segments)
        out = env.media_root / sid
        assert "#EXT-X-STREAM-INF" in (out / "master.m3u8").read_text()
        for name in ("360p", "240p", "audio"):
            assert recorded_seconds(out, name) == pytest.approx(5.0, rel=0.2), (sid, name)
        vod = read_playlist((out / "360p" / "recording.m3u8").read_text())
        assert [s["uri"] for s in vod["segments"]] == [f"{i:06d}.ts" for i in range(len(vod["segments"]))]
    refusals = [e for e in events if e["type"] == "media.ingest_refused"]
    assert [e["payload"]["reason"] for e in refusals] == ["unknown_stream_key"] * 2
    assert all(e["stream_id"] not in (a, b) for e in refusals)  # not charged to a show it did not open
    assert [e["payload"]["key_hint"] for e in refusals] == [key_hint(k) for k in refused]
    assert not any(k in json.dumps(events) for k in (key_a, key_b, *refused))  # never a key on the log
    assert "started media worker" in ingest.output() and ingest.output().count("started media worker") == 2


@pytest.mark.slow
async def test_a_second_publisher_for_a_live_show_is_refused_and_a_dropped_host_comes_back(
    environments: Environments, log_dir: Path, tmp_path: Path
) -> None:
    env, ingest = door(environments.new(), log_dir, tmp_path)
    try:
        sid, key = show(env)
        host = await publish(env, key, 30)
        await on_air(env, sid)
        intruder = await publish(env, key, 2)  # a leaked key, or the host's second phone
        _, err = await intruder.communicate()
        assert intruder.returncode != 0 and b"busy" in err, err
        await asyncio.sleep(1.0)
        assert host.returncode is None  # the show is still going
        host.kill()  # the phone loses its network: no FCUnpublish, just a dead TCP connection
        await host.wait()
        await asyncio.sleep(0.5)
        back = await publish(env, key, 3)
        _, err = await back.communicate()
        assert back.returncode == 0, err
        events = await wait_events(env, lambda ev: "media.ingest_stopped" in types_of(ev, sid))
        first_take = recorded_seconds(env.media_root / sid)
        # The host ended the stream in the app, then goes live again: the worker has finished, so a new one
        # takes the show on, numbering after the first take and keeping it in the recording.
        again = await publish(env, key, 2)
        _, err = await again.communicate()
        assert again.returncode == 0, err
        events = await wait_events(env, lambda ev: types_of(ev, sid).count("media.ingest_stopped") == 2)
    finally:
        ingest.stop()

    mine = [e for e in events if e["stream_id"] == sid]
    lifecycle = [
        e["type"]
        for e in mine
        if e["type"]
        in ("media.ingest_started", "media.ingest_interrupted", "media.ingest_refused", "media.ingest_stopped")
    ]
    assert lifecycle == [
        "media.ingest_started",
        "media.ingest_refused",
        "media.ingest_interrupted",
        "media.ingest_started",
        "media.ingest_stopped",
        "media.ingest_started",
        "media.ingest_stopped",
    ], lifecycle
    refused = next(e for e in mine if e["type"] == "media.ingest_refused")["payload"]
    assert refused["reason"] == "busy" and refused["key_hint"] == key_hint(key)
    assert [e["payload"]["resumed"] for e in mine if e["type"] == "media.ingest_started"] == [False, True, False]
    assert [e["payload"]["reason"] for e in mine if e["type"] == "media.ingest_stopped"] == ["unpublished"] * 2
    # The same worker carried the show across the dropped connection; the second take needed a new one.
    assert ingest.output().count(f"started media worker for {sid}") == 2
    # First take: one continuous recording across the reconnect (~4 s, then all of the 3 s comeback).
    out = env.media_root / sid
    dropped_at = next(e for e in mine if e["type"] == "media.ingest_interrupted")["payload"]["at_s"]
    assert dropped_at > 2.0 and first_take - dropped_at == pytest.approx(3.0, rel=0.25)
    # Both takes in the recording, numbered on, nothing written over.
    text = (out / "360p" / "recording.m3u8").read_text()
    vod = read_playlist(text)
    assert [s["uri"] for s in vod["segments"]] == [f"{i:06d}.ts" for i in range(len(vod["segments"]))]
    assert text.count("#EXT-X-DISCONTINUITY") == 1
    assert recorded_seconds(out) == pytest.approx(first_take + 2.0, abs=0.5)
    recordings = [e["payload"] for e in mine if e["type"] == "media.recording_ready"]
    assert recordings[-1]["duration_s"] == pytest.approx(first_take + 2.0, abs=0.5)


# -- the door alone, in-process: refusals happen before any worker exists ---------------------------------


async def _door_in_process(**kw: Any) -> tuple[IngestDoor, CollectingSink]:
    sink = CollectingSink()

    def no_worker(stream_id: str) -> list[str]:
        raise AssertionError(f"no worker may start for a refused publisher ({stream_id})")

    d = IngestDoor(
        listen=RtmpListen("127.0.0.1", 0),
        keys=StaticStreamKeys({"sk-live": "show-x"}),
        sink=sink,
        worker_command=no_worker,
        **kw,
    )
    await d.start()
    return d, sink


async def test_refusals_before_publish_name_their_reason_and_start_no_worker() -> None:
    d, sink = await _door_in_process(publish_timeout_s=1.0)
    url = f"rtmp://127.0.0.1:{d.port}/live"
    try:
        # A player, not a publisher.
        player = await asyncio.create_subprocess_exec(
            "ffmpeg",
            "-v",
            "error",
            "-i",
            f"{url}/sk-live",
            "-t",
            "1",
            "-f",
            "null",
            "-",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert await asyncio.wait_for(player.wait(), 20) != 0
        # Not RTMP at all.
        r, w = await asyncio.open_connection("127.0.0.1", d.port)
        w.write(b"GET / HTTP/1.1\r\n\r\n" + bytes(2000))
        assert await asyncio.wait_for(r.read(), 5) == b""  # closed on us
        w.close()
        # Connected, then nothing: the door does not hold the connection forever.
        r, w = await asyncio.open_connection("127.0.0.1", d.port)
        started = time.monotonic()
        assert await asyncio.wait_for(r.read(), 5) == b""
        assert time.monotonic() - started == pytest.approx(1.0, abs=0.5)
        w.close()
        # A real publisher with an unknown key hears why.
        p = await publish_to(f"{url}/sk-nope", 1)
        _, err = await p.communicate()
        assert p.returncode != 0 and b"unknown_stream_key" in err
    finally:
        await d.close()
    assert [e.payload["reason"] for e in sink.envelopes] == [
        "play_not_allowed",
        "protocol_error",
        "no_publish_in_time",
        "unknown_stream_key",
    ]
    assert sink.envelopes[-1].payload["key_hint"] == key_hint("sk-nope")
    assert all(e.stream_id == "" for e in sink.envelopes) and not d.workers


async def publish_to(url: str, seconds: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "flv",
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def test_media_messages_become_flv_tags_ffmpeg_can_read(tmp_path: Path) -> None:
    """What the door hands a worker: publisher messages → FLV (``@setDataFrame`` dropped, aggregates split)."""
    import subprocess

    import av

    src = tmp_path / "src.flv"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-f",
            "flv",
            str(src),
        ],
        check=True,
        timeout=60,
    )
    data = src.read_bytes()
    tags, i = [], 13
    while i + 11 <= len(data):
        size = int.from_bytes(data[i + 1 : i + 4], "big")
        ts = int.from_bytes(data[i + 4 : i + 7], "big") | data[i + 7] << 24
        tags.append((data[i], ts, data[i + 11 : i + 11 + size], data[i : i + 15 + size]))
        i += 15 + size
    script, video = tags[0], [t for t in tags if t[0] == 9]
    out = FLV_HEADER + flv_tags(Message(18, 0, 1, amf0("@setDataFrame") + script[2]))
    out += b"".join(flv_tags(Message(9, ts, 1, body)) for _, ts, body, _ in video[:10])
    rest = video[10:]  # the rest as one aggregate message, its inner timestamps relative to its own
    out += flv_tags(Message(22, rest[0][1], 1, b"".join(raw for *_, raw in rest)))
    assert flv_tags(Message(20, 0, 1, amf0("FCUnpublish"))) == b""  # commands are not media
    rebuilt = tmp_path / "rebuilt.flv"
    rebuilt.write_bytes(out)
    with av.open(str(rebuilt)) as c:
        pts = [f.time for f in c.decode(video=0)]
    assert len(video) == 27 and len(pts) == 25 and pts == sorted(pts)  # + AVC header, end of sequence
    assert pts[-1] == pytest.approx(0.96)  # the aggregate's frames kept their own times


async def test_a_worker_takes_relayed_publishes_only_from_its_door_and_one_at_a_time() -> None:
    """The worker's private port: the door's token is required, a second publisher is ``busy``, and once the
    worker stopped waiting for publishers it answers ``closing`` (the door then starts a new worker)."""
    import threading

    from media.errors import SourceUnavailable
    from media.ingest_relay import RelayListen, RelaySource

    src = RelaySource(RelayListen(token="t0k3n"), stream_id="show-x", publish_timeout_s=0.5)
    await src.start()

    async def hello(token: str) -> tuple[str, asyncio.StreamWriter]:
        r, w = await asyncio.open_connection("127.0.0.1", src.port)
        w.write(json.dumps({"token": token, "remote": "1.2.3.4:5", "key_hint": "ab"}).encode() + b"\n")
        return (await asyncio.wait_for(r.readline(), 5)).decode().strip(), w

    try:
        answer, w0 = await hello("guess")
        assert answer == "NO bad_token"
        answer, w1 = await hello("t0k3n")
        assert answer == "OK"
        answer, w2 = await hello("t0k3n")
        assert answer == "NO busy"
        w1.close()  # the first publisher went away without a word: the worker may take the next
        await asyncio.sleep(0.2)
        answer, w3 = await hello("t0k3n")
        assert answer == "OK"
        w3.close()
        # Nothing decodable arrives; the first wait runs out: a clear failure, and the port now says closing.
        stop = threading.Event()
        with pytest.raises(SourceUnavailable):
            await asyncio.to_thread(src.next_input, True, stop)
        answer, w4 = await hello("t0k3n")
        assert answer == "NO closing"
        for w in (w0, w2, w4):
            w.close()
    finally:
        await src.close()
