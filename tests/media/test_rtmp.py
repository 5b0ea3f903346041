"""RTMP ingest with the ffmpeg CLI as the host's broadcaster: keys, live playlists, reconnects, recording."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from media import events as ev
from media.errors import SourceUnavailable
from media.events import CollectingSink
from media.ingest import RtmpListen, StaticStreamKeys
from media.options import MediaOptions
from media.playlists import read_playlist
from media.worker import WorkerResult, run_media_worker
from tests.media.conftest import ffprobe, free_port, media_settings

KEYS = StaticStreamKeys({"sk-live": "show-rtmp", "sk-other": "show-someone-else"})


async def publish(port: int, key: str, seconds: float, size: str = "1280x720") -> asyncio.subprocess.Process:
    """The broadcaster from ENVIRONMENT.md: testsrc2 + sine, x264 veryfast, AAC, FLV over RTMP, real time."""
    return await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=30",
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
        f"rtmp://127.0.0.1:{port}/live/{key}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def start_worker(
    root: Path, port: int, sink: CollectingSink, ready: asyncio.Event, **options: object
) -> asyncio.Task[WorkerResult]:
    opts = MediaOptions(**{"publish_timeout_s": 30.0, "reconnect_grace_s": 1.0, **options})  # type: ignore
    listen = RtmpListen("127.0.0.1", port)
    return asyncio.create_task(
        run_media_worker(media_settings(root), "show-rtmp", listen, sink, KEYS, options=opts, ready=ready)
    )


async def read_live(playlist: Path, publisher: asyncio.subprocess.Process) -> list[tuple[float, int]]:
    """An HLS player's loop: poll the live playlist, fetch each new segment; (when, how many) per change."""
    seen: dict[str, int] = {}
    growth: list[tuple[float, int]] = []
    while publisher.returncode is None:
        if playlist.exists():
            for seg in read_playlist(playlist.read_text())["segments"]:
                if seg["uri"] not in seen:
                    data = (playlist.parent / seg["uri"]).read_bytes()
                    assert data[0] == 0x47 and len(data) % 188 == 0  # a whole MPEG-TS segment
                    seen[seg["uri"]] = len(data)
                    growth.append((time.monotonic(), len(seen)))
        await asyncio.sleep(0.2)
    return growth


@pytest.mark.slow
async def test_publish_with_the_right_key_goes_live_and_is_recorded(tmp_path: Path) -> None:
    port, sink, ready = free_port(), CollectingSink(), asyncio.Event()
    worker = start_worker(tmp_path, port, sink, ready)
    await ready.wait()
    for wrong in ("sk-wrong", "sk-other"):
        refused = await publish(port, wrong, 2)
        _, err = await refused.communicate()
        assert refused.returncode != 0, err  # the broadcaster sees the connection closed
    publisher = await publish(port, "sk-live", 10)
    growth = await read_live(tmp_path / "show-rtmp" / "360p" / "index.m3u8", publisher)
    ended = time.monotonic()
    result = await asyncio.wait_for(worker, 30)

    reasons = [e.payload["reason"] for e in sink.of_type(ev.INGEST_REFUSED)]
    assert reasons == ["unknown_stream_key", "key_for_another_stream"]
    assert all("sk-" not in str(e.payload) for e in sink.of_type(ev.INGEST_REFUSED))  # never the key
    # The playlist grew while the host was still streaming: at least two segments before the end.
    assert len([t for t, _ in growth if t < ended]) >= 2
    assert result.reason == "unpublished"
    started = sink.of_type(ev.INGEST_STARTED)[0].payload
    assert started["source"] == "rtmp" and started["remote"].startswith("127.0.0.1:")
    assert sink.types[-2:] == [ev.RECORDING_READY, ev.INGEST_STOPPED]
    out = result.out_dir
    vod = read_playlist((out / "360p" / "recording.m3u8").read_text())
    assert len(vod["segments"]) == 5
    assert (out / "360p" / "index.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    for name in ("720p", "360p", "240p", "audio"):
        duration = float(ffprobe(out / name / "recording.m3u8", "-show_format")["format"]["duration"])
        assert duration == pytest.approx(10.0, rel=0.2), name
    samples = sink.of_type(ev.QUALITY_SAMPLE)
    assert samples and samples[0].payload["lag_s"] is not None


@pytest.mark.slow
async def test_a_dropped_connection_is_an_interruption_and_the_host_can_come_back(tmp_path: Path) -> None:
    port, sink, ready = free_port(), CollectingSink(), asyncio.Event()
    worker = start_worker(tmp_path, port, sink, ready, reconnect_grace_s=4.0)
    await ready.wait()
    first = await publish(port, "sk-live", 30, size="640x360")
    await asyncio.sleep(4.5)
    first.kill()  # the phone loses its network: no FCUnpublish, just a dead TCP connection
    await first.wait()
    await asyncio.sleep(0.5)
    second = await publish(port, "sk-live", 3, size="640x360")
    assert await second.wait() == 0
    result = await asyncio.wait_for(worker, 30)

    types = [t for t in sink.types if t not in (ev.SEGMENT_PUBLISHED, ev.QUALITY_SAMPLE, ev.THUMBNAIL_READY)]
    assert types == [ev.INGEST_STARTED, ev.INGEST_INTERRUPTED, ev.INGEST_STARTED, ev.RECORDING_READY, ev.INGEST_STOPPED]
    assert sink.of_type(ev.INGEST_INTERRUPTED)[0].payload["reason"] == "connection_lost"
    assert sink.of_type(ev.INGEST_STARTED)[1].payload["resumed"] is True
    assert result.reason == "unpublished"
    # One continuous recording: sequence numbers and timestamps carry on across the reconnect.
    vod = read_playlist((result.out_dir / "360p" / "recording.m3u8").read_text())
    assert [s["uri"] for s in vod["segments"]] == [f"{i:06d}.ts" for i in range(len(vod["segments"]))]
    total = sum(s["duration"] for s in vod["segments"])
    frames = ffprobe(
        result.out_dir / "360p" / "recording.m3u8", "-select_streams", "v:0", "-show_entries", "frame=pts_time"
    )["frames"]
    times = [float(f["pts_time"]) for f in frames]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < 0.1  # no hole where the host was away
    assert times[-1] - times[0] == pytest.approx(total, abs=0.1)
    dropped_at = sink.of_type(ev.INGEST_INTERRUPTED)[0].payload["at_s"]
    stopped = sink.of_type(ev.INGEST_STOPPED)[0].payload
    assert dropped_at > 1.0 and stopped["duration_s"] == pytest.approx(total, abs=0.1)
    assert total - dropped_at == pytest.approx(3.0, rel=0.2)  # all of the second, cleanly ended publish


async def test_no_publisher_in_time_is_a_clear_failure(tmp_path: Path) -> None:
    port, sink, ready = free_port(), CollectingSink(), asyncio.Event()
    worker = start_worker(tmp_path, port, sink, ready, publish_timeout_s=1.0)
    with pytest.raises(SourceUnavailable):
        await asyncio.wait_for(worker, 15)
    assert sink.types == [ev.INGEST_FAILED]
    assert sink.envelopes[0].payload["error"] == "source_unavailable"


async def test_stopping_a_worker_that_waits_for_its_host(tmp_path: Path) -> None:
    port, sink, ready, stop = free_port(), CollectingSink(), asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(
        run_media_worker(
            media_settings(tmp_path), "show-rtmp", RtmpListen("127.0.0.1", port), sink, KEYS, stop=stop, ready=ready
        )
    )
    await ready.wait()
    await asyncio.sleep(0.3)
    stop.set()
    result = await asyncio.wait_for(worker, 10)
    assert result.reason == "stopped" and result.recording is None
    assert sink.types == [ev.INGEST_STOPPED]
