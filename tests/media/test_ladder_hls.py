"""The adaptive-bitrate ladder on real video: what players and ffprobe see in the HLS output."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from media.events import CollectingSink
from media.ladder import plan_ladder, scaled_size
from media.playlists import read_playlist
from media.worker import run_media_worker
from tests.media.conftest import LadderRun, ffprobe, make_video, media_settings

TARGET_KBPS = {"720p": 1800, "480p": 750, "360p": 365, "240p": 150}
SIZES = {"720p": (1280, 720), "480p": (854, 480), "360p": (640, 360), "240p": (426, 240)}


def _playlist(path: Path) -> dict:
    return read_playlist(path.read_text())


def test_plan_keeps_portrait_portrait_and_never_upscales() -> None:
    plan = plan_ladder(720, 1280, 30, True)
    assert [(r.width, r.height) for r in plan.video] == [(720, 1280), (480, 854), (360, 640), (240, 426)]
    small = plan_ladder(640, 360, 60, False)
    assert [r.name for r in small.video] == ["360p", "240p"] and small.audio_kbps is None
    assert small.fps == 30  # 60 fps sources are halved for phones
    assert [r.name for r in plan_ladder(1920, 1080, 30, True).video][0] == "720p"
    assert [r.name for r in plan_ladder(960, 540, 30, True).video] == ["540p", "480p", "360p", "240p"]
    assert scaled_size(1080, 1920, 360) == (360, 640)


@pytest.mark.slow
def test_every_rendition_is_readable_with_the_right_size_duration_and_bitrate(landscape_run: LadderRun) -> None:
    out = landscape_run.out
    for name, (w, h) in SIZES.items():
        info = ffprobe(out / name / "recording.m3u8", "-show_streams", "-show_format")
        video = [s for s in info["streams"] if s["codec_type"] == "video"]
        audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
        assert (video[0]["codec_name"], video[0]["width"], video[0]["height"]) == ("h264", w, h)
        assert video[0]["profile"] == "Main"
        assert audio and audio[0]["codec_name"] == "aac"
        assert abs(float(info["format"]["duration"]) - landscape_run.seconds) < 0.2 * landscape_run.seconds
        packets = ffprobe(out / name / "recording.m3u8", "-select_streams", "v:0", "-show_entries", "packet=size")[
            "packets"
        ]
        kbps = sum(int(p["size"]) for p in packets) * 8 / landscape_run.seconds / 1000
        assert abs(kbps - TARGET_KBPS[name]) < 0.2 * TARGET_KBPS[name], (name, kbps)
    audio_only = ffprobe(out / "audio" / "recording.m3u8", "-show_streams", "-show_format")
    assert [s["codec_type"] for s in audio_only["streams"]] == ["audio"]
    packets = ffprobe(out / "audio" / "recording.m3u8", "-show_entries", "packet=size")["packets"]
    kbps = sum(int(p["size"]) for p in packets) * 8 / landscape_run.seconds / 1000
    assert abs(kbps - 64) < 0.2 * 64, kbps


@pytest.mark.slow
def test_segments_are_aligned_across_renditions_and_open_with_a_keyframe(landscape_run: LadderRun) -> None:
    out = landscape_run.out
    lists = {name: _playlist(out / name / "recording.m3u8") for name in [*SIZES, "audio"]}
    durations = {name: [s["duration"] for s in pl["segments"]] for name, pl in lists.items()}
    reference = durations["360p"]
    assert len(reference) == 4 and all(abs(d - 2.0) < 1e-6 for d in reference)
    assert all(d == reference for d in durations.values())
    for name in SIZES:
        for k, seg in enumerate(lists[name]["segments"]):
            frames = ffprobe(
                out / name / seg["uri"],
                "-select_streams",
                "v:0",
                "-read_intervals",
                "%+#1",
                "-show_entries",
                "frame=key_frame,pict_type,pts_time",
            )["frames"]
            assert frames[0]["key_frame"] == 1 and frames[0]["pict_type"] == "I", (name, k)
            if k == 0:
                first = float(frames[0]["pts_time"])
            # Every segment starts exactly 2 s after the previous one: the cut grid is on PTS.
            assert abs(float(frames[0]["pts_time"]) - (first + 2.0 * k)) < 1e-3, (name, k)
        # Inside a segment there is no other keyframe: the GOP is the segment.
        keys = ffprobe(
            out / name / lists[name]["segments"][1]["uri"],
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
        )["frames"]
        assert len(keys) == 1


@pytest.mark.slow
def test_master_playlist_lists_every_rendition_with_bandwidth_resolution_and_codecs(landscape_run: LadderRun) -> None:
    out = landscape_run.out
    for master in ("master.m3u8", "recording.m3u8"):
        text = (out / master).read_text()
        assert text.startswith("#EXTM3U\n")
        variants = read_playlist(text)["variants"]
        assert [v["uri"].split("/")[0] for v in variants] == ["360p", "720p", "480p", "240p", "audio"]
        for v in variants:
            assert int(v["BANDWIDTH"]) >= int(v["AVERAGE-BANDWIDTH"]) > 0
            assert (out / v["uri"]).is_file()
            name = v["uri"].split("/")[0]
            if name == "audio":
                assert v["CODECS"] == "mp4a.40.2" and "RESOLUTION" not in v
            else:
                assert v["RESOLUTION"] == "{}x{}".format(*SIZES[name])
                assert v["CODECS"].startswith("avc1.4d40") and v["CODECS"].endswith(",mp4a.40.2")
    recorded = read_playlist((out / "recording.m3u8").read_text())["variants"]
    for v in recorded:  # measured peaks: a player trusting BANDWIDTH never stalls on these segments
        name = v["uri"].split("/")[0]
        for seg in read_playlist((out / v["uri"]).read_text())["segments"][:-1]:
            assert (out / name / seg["uri"]).stat().st_size * 8 / seg["duration"] <= int(v["BANDWIDTH"])
    # What the live master promised before anything was measured is within Apple's 10 % of the truth.
    promised = {
        v["uri"].split("/")[0]: int(v["BANDWIDTH"])
        for v in read_playlist((out / "master.m3u8").read_text())["variants"]
    }
    for v in recorded:
        assert promised[v["uri"].split("/")[0]] >= 0.9 * int(v["BANDWIDTH"]), v
    info = ffprobe(out / "master.m3u8", "-show_programs")
    assert len(info["programs"]) == 5  # ffprobe's HLS demuxer found every variant


@pytest.mark.slow
def test_live_playlists_end_and_the_recording_is_a_complete_vod(landscape_run: LadderRun) -> None:
    out = landscape_run.out
    for name in [*SIZES, "audio"]:
        live = (out / name / "index.m3u8").read_text()
        vod = (out / name / "recording.m3u8").read_text()
        assert live.rstrip().endswith("#EXT-X-ENDLIST")
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.rstrip().endswith("#EXT-X-ENDLIST")
        segments = read_playlist(vod)["segments"]
        assert [s["uri"] for s in segments] == [f"{i:06d}.ts" for i in range(4)]
        assert all("pdt" in s for s in segments)
    assert not list(out.rglob("*.tmp"))  # every temporary file was renamed into place


@pytest.mark.slow
async def test_portrait_source_stays_portrait(media_tmp: Path) -> None:
    src = await asyncio.to_thread(make_video, media_tmp / "portrait.mp4", size="720x1280", seconds=4)
    sink = CollectingSink()
    result = await run_media_worker(media_settings(media_tmp / "out"), "show-portrait", src, sink)
    for name, (w, h) in {"720p": (720, 1280), "360p": (360, 640), "240p": (240, 426)}.items():
        stream = ffprobe(result.out_dir / name / "recording.m3u8", "-select_streams", "v:0", "-show_streams")[
            "streams"
        ][0]
        assert (stream["width"], stream["height"]) == (w, h)
    master = read_playlist((result.out_dir / "master.m3u8").read_text())["variants"]
    assert {v["RESOLUTION"] for v in master if "RESOLUTION" in v} == {"720x1280", "480x854", "360x640", "240x426"}
    thumb = [e for e in sink.envelopes if e.type == "media.thumbnail_ready"][0].payload
    assert thumb["height"] > thumb["width"]


def _write_rotated(src: Path, dst: Path) -> None:
    """Landscape pixels flagged "turn 90 degrees counter-clockwise", as phones store portrait video."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.set_display_rotation(90)  # the ffmpeg 5.1 CLI can no longer write this flag
        for frame in inp.decode(video=0):
            frame.pict_type = PictureType.NONE
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)


@pytest.mark.slow
async def test_a_phone_video_with_a_rotation_flag_is_turned_upright(media_tmp: Path) -> None:
    src = await asyncio.to_thread(make_video, media_tmp / "rot-src.mp4", size="640x360", seconds=2, audio=False)
    rotated = media_tmp / "rotated.mp4"
    await asyncio.to_thread(_write_rotated, src, rotated)
    settings = media_settings(media_tmp / "out")
    result = await run_media_worker(settings, "show-rotated", rotated, CollectingSink())
    with av.open(str(result.out_dir / "360p" / "000000.ts")) as c:
        ours = next(c.decode(video=0)).to_ndarray(format="gray").astype(np.float32)
    assert ours.shape == (640, 360)
    # The ffmpeg CLI applies the flag itself when decoding: our picture must look like its picture.
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(rotated), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True,
        capture_output=True,
    ).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(640, 360).astype(np.float32)
    assert np.abs(ours - theirs).mean() < 8
    assert np.abs(ours - theirs[::-1, ::-1]).mean() > 30  # upside down would be far off
