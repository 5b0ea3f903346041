"""What the media plane reports: envelopes in order, with payloads a consumer can act on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from application.envelope import Envelope
from infra.settings import Settings
from media import events as ev
from media.kafka_sink import KafkaEventSink
from media.worker import _EventPump
from tests.media.conftest import PLAYBACK, LadderRun

RENDITIONS = ["720p", "480p", "360p", "240p", "audio"]


@pytest.mark.slow
def test_started_segments_quality_recording_stopped_arrive_in_order(landscape_run: LadderRun) -> None:
    types = landscape_run.sink.types
    assert types[0] == ev.INGEST_STARTED
    assert types[-2:] == [ev.RECORDING_READY, ev.INGEST_STOPPED]
    first_segment = types.index(ev.SEGMENT_PUBLISHED)
    assert types.index(ev.QUALITY_SAMPLE) > first_segment
    assert types.count(ev.SEGMENT_PUBLISHED) == 4 * len(RENDITIONS)
    assert ev.THUMBNAIL_READY in types
    assert not {ev.INGEST_FAILED, ev.INGEST_INTERRUPTED} & set(types)
    for e in landscape_run.sink.envelopes:
        assert e.stream_id == "show-landscape" and e.aggregate_id is None
        assert Envelope.from_json(e.to_json()) == e  # survives the trip through Kafka


@pytest.mark.slow
def test_segment_events_describe_each_segment(landscape_run: LadderRun) -> None:
    segs = [e.payload for e in landscape_run.sink.of_type(ev.SEGMENT_PUBLISHED)]
    for name in RENDITIONS:
        mine = [p for p in segs if p["rendition"] == name]
        assert [p["sequence"] for p in mine] == [0, 1, 2, 3]
        for p in mine:
            path = landscape_run.out / p["uri"]
            assert path.stat().st_size == p["bytes"] > 0
            assert p["url"] == f"{PLAYBACK}/show-landscape/{p['uri']}"
            assert p["duration_s"] == pytest.approx(2.0)
            assert p["start_s"] == pytest.approx(2.0 * p["sequence"])
            assert p["latency_ms"] >= 0 and p["program_date_time"]


@pytest.mark.slow
def test_quality_samples_measure_the_ladder(landscape_run: LadderRun) -> None:
    samples = [e.payload for e in landscape_run.sink.of_type(ev.QUALITY_SAMPLE)]
    assert [s["at_s"] for s in samples] == sorted(s["at_s"] for s in samples) and len(samples) >= 2
    full = samples[0]
    assert full["window_s"] == pytest.approx(4.0)
    assert full["encode_speed"] > 0 and full["cpu_per_media_second"] > 0
    assert full["dropped_frames"] == 0 and full["frames_in"] == 120
    assert -30 < full["audio"]["rms_dbfs"] < -10  # ffmpeg's sine source is at 1/8 full scale: -21 dBFS
    for name, r in full["renditions"].items():
        assert r["video_kbps"] == pytest.approx(r["target_kbps"], rel=0.25), name
        assert r["fps"] == pytest.approx(30, abs=1.5)
        assert r["keyframe_interval_s"] == pytest.approx(2.0)


@pytest.mark.slow
def test_started_and_recording_payloads(landscape_run: LadderRun) -> None:
    started = landscape_run.sink.of_type(ev.INGEST_STARTED)[0].payload
    assert started["source"] == "file" and started["resumed"] is False
    assert started["video"] == {"codec": "h264", "width": 1280, "height": 720, "fps": 30.0}
    assert started["master_url"] == f"{PLAYBACK}/show-landscape/master.m3u8"
    assert [r["name"] for r in started["renditions"]] == RENDITIONS
    rec = landscape_run.sink.of_type(ev.RECORDING_READY)[0].payload
    assert rec["duration_s"] == pytest.approx(8.0, abs=0.05)
    assert rec["segments"] == 4 and rec["master_url"].endswith("/show-landscape/recording.m3u8")
    on_disk = sum(p.stat().st_size for p in landscape_run.out.glob("*/*.ts"))
    assert rec["total_bytes"] == on_disk
    assert {r["name"] for r in rec["renditions"]} == set(RENDITIONS)
    # One anchor (no reconnect): media time 0 is the first segment's wall clock, as the live playlist said.
    first = next(e for e in landscape_run.sink.of_type(ev.SEGMENT_PUBLISHED) if e.payload["sequence"] == 0)
    assert [a["at_s"] for a in rec["clock"]] == [0.0]
    anchor = datetime.fromisoformat(rec["clock"][0]["program_date_time"].replace("Z", "+00:00"))
    live = datetime.fromisoformat(first.payload["program_date_time"].replace("Z", "+00:00"))
    assert abs((anchor - live).total_seconds()) < 0.001  # the playlist writes milliseconds
    stopped = landscape_run.sink.of_type(ev.INGEST_STOPPED)[0].payload
    assert stopped == {
        "reason": "end_of_input",
        "duration_s": pytest.approx(8.0, abs=0.05),
        "frames_in": 240,
        "frames_dropped": 0,
        "segments": 4,
    }
    thumb = landscape_run.sink.of_type(ev.THUMBNAIL_READY)[0].payload
    assert (landscape_run.out / thumb["uri"]).read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


async def test_a_failing_sink_is_retried_without_reordering_events() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls, self.got = 0, list[int]()

        async def publish(self, envelope: Envelope) -> None:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("broker away")
            self.got.append(envelope.payload["n"])

    sink = Flaky()
    pump = _EventPump(sink, "s", lambda: datetime.now(UTC), backoff_s=0.001)
    task = asyncio.create_task(pump.run())
    for n in range(3):
        pump.emit(ev.QUALITY_SAMPLE, {"n": n})
    pump.close()
    await task
    assert sink.got == [0, 1, 2] and pump.dropped == 0


async def test_a_sink_that_stays_down_costs_one_try_per_event_and_counts_drops() -> None:
    class Down:
        calls = 0

        async def publish(self, envelope: Envelope) -> None:
            Down.calls += 1
            raise ConnectionError("broker away")

    pump = _EventPump(Down(), "s", lambda: datetime.now(UTC), backoff_s=0.001)
    task = asyncio.create_task(pump.run())
    for n in range(3):
        pump.emit(ev.QUALITY_SAMPLE, {"n": n})
    pump.close()
    await task
    assert pump.dropped == 3 and Down.calls == 4 + 1 + 1


async def test_the_kafka_sink_is_inert_until_started() -> None:
    sink = KafkaEventSink(Settings(topic_prefix="lc"))  # nothing connects at construction
    assert sink.topic == "lc.media"
    with pytest.raises(RuntimeError):
        await sink.publish(ev.media_event(ev.QUALITY_SAMPLE, "s", {}, datetime.now(UTC)))
    with pytest.raises(ValueError):
        ev.media_event("media.unknown", "s", {}, datetime.now(UTC))
