"""Forwarding a show to other platforms: two real RTMP receivers (the ffmpeg CLI in listen mode), one of
which goes away mid-show and comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from media import events as ev
from media.events import CollectingSink
from media.forwarding import Destination, ForwardHub, ForwardOptions, parse_destinations, redact_url
from media.options import MediaOptions
from media.playlists import read_playlist
from media.worker import run_media_worker
from tests.media.conftest import ffprobe, free_port, make_video, media_settings

FORWARD_EVENTS = (ev.FORWARD_STARTED, ev.FORWARD_RETRYING, ev.FORWARD_FAILED, ev.FORWARD_STOPPED)


async def receiver(port: int, path: Path) -> asyncio.subprocess.Process:
    """A platform's ingest: accepts one RTMP publish and records it as it comes (no re-encode)."""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "flv",
        "-listen",
        "1",
        "-i",
        f"rtmp://127.0.0.1:{port}/live/x",
        "-c",
        "copy",
        "-f",
        "flv",
        str(path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.3)  # listening (a probe connection would use up its one accept)
    return proc


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def forward_events(sink: CollectingSink, name: str) -> list[tuple[str, dict]]:
    return [
        (e.type, e.payload) for e in sink.envelopes if e.type in FORWARD_EVENTS and e.payload["destination"] == name
    ]


def video_seconds(path: Path) -> float:
    """Seconds of video actually received, from the packets (a receiver that was killed has no trailer)."""
    packets = ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time")["packets"]
    times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
    return max(times) - min(times) if times else 0.0


def test_destinations_are_named_and_never_show_their_key() -> None:
    fb, yt, other, yt2 = parse_destinations(
        [
            "rtmps://live-api-s.facebook.com:443/rtmp/FB-123?s_bl=1&a=secret",
            "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl",
            "studio=rtmp://user:pw@10.0.0.5/live/k1",
            Destination("youtube", "rtmp://b.rtmp.youtube.com/live2/other"),
        ]
    )
    assert (fb.name, yt.name, other.name, yt2.name) == ("facebook", "youtube", "studio", "youtube-2")
    for d, secret in ((fb, "FB-123"), (fb, "secret"), (yt, "abcd"), (other, "pw"), (other, "k1")):
        assert secret not in d.redacted and secret not in repr(d)
    assert yt.redacted.startswith("rtmp://a.rtmp.youtube.com/live2/<key ")
    assert fb.redacted.startswith("rtmps://live-api-s.facebook.com:443/rtmp/<key ")
    assert redact_url("rtmp://h/app/k") == redact_url("rtmp://h/app/k")  # stable: correlate attempts
    with pytest.raises(ValueError):
        Destination.parse("http://example.com/live/k")


@pytest.mark.slow
async def test_forwarding_to_two_platforms_survives_one_going_away(tmp_path: Path) -> None:
    show_s = 14
    src = await asyncio.to_thread(make_video, tmp_path / "show.mp4", size="640x360", seconds=show_s)
    port_a, port_b = free_port(), free_port()
    a = await receiver(port_a, tmp_path / "a.flv")
    b1 = await receiver(port_b, tmp_path / "b1.flv")
    b2: asyncio.subprocess.Process | None = None
    sink = CollectingSink()
    opts = MediaOptions(forward=ForwardOptions(retry_initial_s=0.25, retry_max_s=1.0, drain_s=10.0))
    worker = asyncio.create_task(
        run_media_worker(
            media_settings(tmp_path / "out"),
            "show-fwd",
            src,
            sink,
            options=opts,
            pace=True,
            forward_to=[
                f"facebook=rtmp://127.0.0.1:{port_a}/live/fb-secret-key",
                f"youtube=rtmp://127.0.0.1:{port_b}/live/yt-secret-key",
            ],
        )
    )
    try:
        await until(lambda: len(sink.of_type(ev.FORWARD_STARTED)) == 2, 15, "both destinations started")
        await asyncio.sleep(3.0)
        b1.terminate()  # YouTube's ingest goes away mid-show
        await b1.wait()
        await until(
            lambda: any(t == ev.FORWARD_RETRYING for t, _ in forward_events(sink, "youtube")), 5, "youtube retrying"
        )
        await asyncio.sleep(1.0)  # still away: refused connections, more retries
        b2 = await receiver(port_b, tmp_path / "b2.flv")  # ... and comes back
        result = await asyncio.wait_for(worker, 40)
        for rx in (a, b2):  # each receiver ends when its publisher closes the stream
            await asyncio.wait_for(rx.wait(), 15)
    finally:
        worker.cancel()
        for proc in (a, b1, b2):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()

    fb = forward_events(sink, "facebook")
    assert [t for t, _ in fb] == [ev.FORWARD_STARTED, ev.FORWARD_STOPPED], fb  # never disturbed
    assert fb[0][1]["rendition"] == "360p" and fb[0][1]["resumed"] is False
    assert fb[-1][1]["reason"] == "show_ended" and fb[-1][1]["connected"] is True
    assert fb[-1][1]["seconds"] == pytest.approx(show_s, abs=0.1)

    yt = forward_events(sink, "youtube")
    types = [t for t, _ in yt]
    assert types[0] == ev.FORWARD_STARTED and types[-1] == ev.FORWARD_STOPPED
    assert types[1] == ev.FORWARD_RETRYING and types.count(ev.FORWARD_STARTED) == 2, types
    assert ev.FORWARD_FAILED not in types
    retries = [p for t, p in yt if t == ev.FORWARD_RETRYING]
    assert [r["attempt"] for r in retries] == list(range(1, len(retries) + 1)) and len(retries) >= 2
    assert all(r["delay_s"] <= 1.0 for r in retries)
    resumed = [p for t, p in yt if t == ev.FORWARD_STARTED][1]
    assert resumed["resumed"] is True and resumed["session"] == 2 and resumed["from_sequence"] > 0
    assert yt[-1][1]["connected"] is True and yt[-1][1]["sessions"] == 2
    everything = str([e.payload for e in sink.envelopes])
    assert "secret-key" not in everything  # redacted URLs only
    assert "<key " in yt[0][1]["url"]

    # What the platforms received: one whole show, and the second one's show from where it came back.
    assert video_seconds(tmp_path / "a.flv") == pytest.approx(show_s, abs=0.5)
    assert (tmp_path / "b1.flv").stat().st_size > 10_000
    second = video_seconds(tmp_path / "b2.flv")
    assert second >= 3.0, second
    info = ffprobe(tmp_path / "b2.flv", "-show_streams")
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]

    # HLS and the recording did not notice any of it.
    assert result.reason == "end_of_input"
    assert not {ev.INGEST_FAILED, ev.INGEST_INTERRUPTED} & set(sink.types)
    assert sink.of_type(ev.INGEST_STOPPED)[0].payload["frames_dropped"] == 0
    for name in ("360p", "240p", "audio"):
        vod = read_playlist((result.out_dir / name / "recording.m3u8").read_text())
        assert [s["duration"] for s in vod["segments"]] == [2.0] * (show_s // 2), name


async def test_a_destination_that_never_answers_is_given_up_alone(tmp_path: Path) -> None:
    """The hub fed a finished recording's real segments: a dead destination retries, then gives up, while
    a live one gets the whole show."""
    src = await asyncio.to_thread(make_video, tmp_path / "short.mp4", size="640x360", seconds=4)
    settings = media_settings(tmp_path / "out")
    done = CollectingSink()
    result = await run_media_worker(settings, "show-hub", src, done)
    port = free_port()
    rx = await receiver(port, tmp_path / "ok.flv")
    events: list[tuple[str, dict]] = []
    hub = ForwardHub(
        [f"ok=rtmp://127.0.0.1:{port}/live/k", f"dead=rtmp://127.0.0.1:{free_port()}/live/k"],
        out_dir=result.out_dir,
        emit=lambda t, p: events.append((t, p)),
        options=ForwardOptions(retry_initial_s=0.05, max_attempts=3, lead_s=60),
    )
    hub.start()
    try:
        hub.observe(ev.INGEST_STARTED, done.of_type(ev.INGEST_STARTED)[0].payload)
        for e in done.of_type(ev.SEGMENT_PUBLISHED):
            hub.observe(e.type, e.payload)
        await until(lambda: any(t == ev.FORWARD_FAILED for t, _ in events), 10, "the dead one giving up")
        hub.end()
        assert await asyncio.to_thread(hub.join, 10)
        await asyncio.wait_for(rx.wait(), 10)
    finally:
        hub.stop()
        if rx.returncode is None:
            rx.kill()
            await rx.wait()
    dead = [(t, p.get("attempt", p.get("attempts"))) for t, p in events if p["destination"] == "dead"]
    assert dead == [(ev.FORWARD_RETRYING, 1), (ev.FORWARD_RETRYING, 2), (ev.FORWARD_FAILED, 3)]
    ok = [(t, p) for t, p in events if p["destination"] == "ok"]
    assert [t for t, _ in ok] == [ev.FORWARD_STARTED, ev.FORWARD_STOPPED]
    assert ok[0][1]["rendition"] == "360p" and ok[1][1]["seconds"] == pytest.approx(4.0)
    assert video_seconds(tmp_path / "ok.flv") == pytest.approx(4.0, abs=0.2)
