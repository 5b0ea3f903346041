"""Highlights from real recordings: the log's spikes and the picture and sound pick the moments, each clip
carries the product featured then, and players (ffprobe) can read what was cut."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from application.envelope import Envelope, new_interaction
from media import events as ev
from media.events import CollectingSink
from media.highlight_scoring import pick_clips
from media.highlights import featured_at, make_highlights, wants_highlights
from media.options import MediaOptions
from media.playlists import read_playlist
from media.worker import run_media_worker
from tests.media.conftest import ffprobe, make_video, media_settings

SHOW = "show-highlights"


def domain(type_: str, stream: str, at: datetime, version: int, **payload: object) -> Envelope:
    """A LiveStream store event as the relay puts it on the ``domain`` topic."""
    return Envelope(str(uuid.uuid4()), type_, 1, stream, version, stream, at, dict(payload), version)


def show_log(t0: datetime, seconds: float) -> list[Envelope]:
    """What the caller reads back from ``interactions`` and ``domain``; ``t0`` = the show's first frame."""

    def at(s: float) -> datetime:
        return t0 + timedelta(seconds=s)

    rnd = random.Random(7)
    log: list[Envelope] = [domain("LiveStream.ProductFeatured", SHOW, at(-20), 3, product_id="p-saree")]
    for k in range(int(seconds)):  # an ordinary show: a message now and then, a reaction a second
        log.append(new_interaction("reaction.added", SHOW, {"reaction_type": "like"}, at(k + rnd.random())))
        if k % 2:
            log.append(new_interaction("chat.message_sent", SHOW, {"message": "দাম কত?"}, at(k + 0.5)))
    # 3.0–3.8 s: the host shows the saree's embroidery; the audience goes wild.
    log += [new_interaction("reaction.added", SHOW, {"reaction_type": "love"}, at(3.0 + i * 0.02)) for i in range(40)]
    log.append(domain("LiveStream.ProductFeatured", SHOW, at(7.2), 4, product_id="p-lipstick"))
    # 10.2–11.0 s: a price drop on the lipstick; chat floods and people buy.
    log += [new_interaction("chat.message_sent", SHOW, {"message": "নিলাম!"}, at(10.2 + i * 0.025)) for i in range(30)]
    log += [
        new_interaction("purchase.intent", SHOW, {"product_id": "p-lipstick", "quantity": 1}, at(10.4 + i * 0.1))
        for i in range(5)
    ]
    # Another show's storm at the same time must not count here.
    log += [new_interaction("reaction.added", "show-elsewhere", {"reaction_type": "love"}, at(6.5)) for _ in range(100)]
    log.append(
        domain(
            "LiveStream.Ended",
            SHOW,
            at(seconds + 0.5),
            5,
            summary=None,
            auto_generate_highlights=True,
            duration_seconds=int(seconds),
        )
    )
    rnd.shuffle(log)  # two topics, several partitions: no order to rely on
    return log


@pytest.mark.slow
async def test_the_worker_cuts_shoppable_highlights_at_the_spikes(tmp_path: Path) -> None:
    show_s = 14
    src = await asyncio.to_thread(make_video, tmp_path / "show.mp4", size="640x360", seconds=show_s)
    sink = CollectingSink()

    def log_after_the_show() -> list[Envelope]:
        first = next(e for e in sink.of_type(ev.SEGMENT_PUBLISHED) if e.payload["sequence"] == 0)
        return show_log(datetime.fromisoformat(first.payload["program_date_time"]), show_s)

    result = await run_media_worker(
        media_settings(tmp_path / "out"),
        SHOW,
        src,
        sink,
        pace=True,  # live: the log's clock is real time
        options=MediaOptions(highlight_clips=2, highlight_seconds=4),
        highlights="auto",
        log_events=log_after_the_show,
    )

    clips = result.highlights
    assert [(c.index, c.featured_product_id) for c in clips] == [(1, "p-saree"), (2, "p-lipstick")]
    for clip, moment, reason in ((clips[0], 3.4, "reactions"), (clips[1], 10.6, "chat")):
        assert clip.start_s <= moment <= clip.end_s and clip.duration_s == pytest.approx(4.0)
        assert int(clip.peak_s // 2) == int(moment // 2)  # the peak is placed within the right segment
        assert clip.reasons[0] == reason
    assert "purchases" in clips[1].reasons and clips[1].counts["purchases"] == 5
    assert clips[0].counts["reactions"] >= 40 and clips[0].counts["reactions"] < 100  # not the other show

    # Events: one per clip, after the recording, with what a replay page needs.
    types = sink.types
    assert types[-4:] == [ev.RECORDING_READY, ev.INGEST_STOPPED, ev.HIGHLIGHT_READY, ev.HIGHLIGHT_READY]
    payloads = [e.payload for e in sink.of_type(ev.HIGHLIGHT_READY)]
    assert payloads == [c.payload() for c in clips]
    assert payloads[1]["url"] == f"http://cdn.test/hls/{SHOW}/highlights/02/index.m3u8"
    assert {p["rank"] for p in payloads} == {1, 2}
    for p in payloads:  # the peak's picture, for the replay page's list
        assert p["thumbnail_url"] == f"http://cdn.test/hls/{SHOW}/{p['thumbnail_uri']}"
        assert (result.out_dir / p["thumbnail_uri"]).read_bytes()[:3] == b"\xff\xd8\xff"

    # The clips: VOD playlists over the recording's own segments (no re-encode), and an MP4 to share.
    out = result.out_dir
    for clip in clips:
        master = out / clip.uri
        info = ffprobe(master, "-show_format", "-show_streams")
        assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
        assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
        variants = read_playlist(master.read_text())["variants"]
        assert [v["uri"] for v in variants] == ["360p.m3u8", "240p.m3u8", "audio.m3u8"]
        media = read_playlist((master.parent / "360p.m3u8").read_text())
        assert [s["uri"] for s in media["segments"]] == [
            f"../../360p/{n:06d}.ts" for n in range(clip.first_sequence, clip.last_sequence + 1)
        ]
        assert all("pdt" in s for s in media["segments"])  # lines the clip up with the show's log
        mp4 = ffprobe(out / str(clip.mp4_uri), "-show_format", "-show_streams")
        assert float(mp4["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
        assert {(s["codec_name"], s.get("width")) for s in mp4["streams"]} == {("h264", 640), ("aac", None)}


@pytest.mark.slow
async def test_picture_and_sound_find_moments_without_any_log(tmp_path: Path) -> None:
    """A flat grey card except 10–12 s (moving picture), a tone that is 12 dB louder at 4–6 s."""
    src = await asyncio.to_thread(
        make_video,
        tmp_path / "av.mp4",
        size="640x360",
        seconds=14,
        extra=(
            "-vf",
            "drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill:enable='not(between(t,10,12))'",
            "-af",
            "volume=volume=4:enable='between(t,4,6)'",
        ),
    )
    settings = media_settings(tmp_path / "out")
    await run_media_worker(settings, "show-av", src, CollectingSink())
    sink = CollectingSink()

    clips = await make_highlights(settings, "show-av", [], max_clips=2, clip_seconds=2, sink=sink)

    assert [(c.start_s, c.end_s) for c in clips] == [(4.0, 6.0), (10.0, 12.0)]
    assert clips[0].reasons == ("audio",) and clips[1].reasons == ("motion",)
    assert all(c.featured_product_id is None for c in clips)
    assert [e.payload for e in sink.of_type(ev.HIGHLIGHT_READY)] == [c.payload() for c in clips]
    assert all(e.stream_id == "show-av" for e in sink.envelopes)


async def test_no_recording_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await make_highlights(media_settings(tmp_path), "show-none", [])


def test_clips_take_the_best_windows_without_overlapping() -> None:
    score = np.array([0, 0, 5, 1, 0, 0, 0, 4, 4.5, 0, 0.5, 0])
    picks = pick_clips(score, clip_segments=3, max_clips=5, min_score=1.0)
    assert picks[0] == (1, 3, 2)  # 1-3 and 2-4 score alike: the one with a lead-in (reactions come late)
    assert picks[1] == (7, 9, 8) and len(picks) == 2  # 7 is inside the second clip; 10 scores too little
    assert pick_clips(score, clip_segments=3, max_clips=5, min_score=1.0, lead=1.0)[1] == (6, 8, 8)
    assert pick_clips(score, clip_segments=3, max_clips=1, min_score=1.0) == [(1, 3, 2)]
    assert pick_clips(score, clip_segments=20, max_clips=5, min_score=1.0) == [(0, 11, 2)]
    featured = [(0.0, "a"), (7.2, "b")]
    assert [featured_at(featured, t) for t in (0.0, 7.1, 7.2, 99)] == ["a", "a", "b", "b"]
    assert featured_at([], 3.0) is None


def test_auto_mode_follows_the_end_command() -> None:
    t = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    yes = domain("LiveStream.Ended", SHOW, t, 9, auto_generate_highlights=True)
    no = domain("LiveStream.Ended", SHOW, t, 9, auto_generate_highlights=False)
    other = domain("LiveStream.Ended", "show-other", t, 9, auto_generate_highlights=True)
    assert wants_highlights([yes], SHOW) and not wants_highlights([no, other], SHOW)
