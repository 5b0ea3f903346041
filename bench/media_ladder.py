"""Benchmark: the media plane's HLS ladder against the ffmpeg command-line tool, in the same run.

Prints, for a 10 s 720p30 source (testsrc2 + sine, like a phone upload):
  1. the real-time factor (media seconds per wall second) of our worker and of one ``ffmpeg`` process
     producing the same ladder (720p/480p/360p/240p + 64 kbps audio-only, 2 s GOPs and segments),
     median of three interleaved runs each;
  2. glass-to-playlist time with 2 s segments: the source played out at real time, and for every segment
     the wall time from its first frame entering to the segment being listed in the live playlist
     (the worst frame of a segment; its last frame waits ~2 s less), for both.
Ratios matter, not absolute times: the machine is shared. Run: ``python bench/media_ladder.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.settings import Settings  # noqa: E402
from media import events as ev  # noqa: E402
from media.events import CollectingSink  # noqa: E402
from media.ladder import plan_ladder  # noqa: E402
from media.playlists import read_playlist  # noqa: E402
from media.worker import run_media_worker  # noqa: E402

SECONDS = 10
RUNS = 3


def make_source(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            str(SECONDS),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "4M",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(path),
        ],
        check=True,
    )


def ffmpeg_ladder(src: Path, out: Path, *, live: bool) -> list[str]:
    """One ffmpeg process, one decode, the same renditions, rate control and 2 s forced keyframes."""
    plan = plan_ladder(1280, 720, 30, True)
    n = len(plan.video)
    split = (
        f"[0:v]split={n}"
        + "".join(f"[s{i}]" for i in range(n))
        + ";"
        + ";".join(f"[s{i}]scale={r.width}:{r.height}:flags=area[v{i}]" for i, r in enumerate(plan.video))
    )
    cmd = ["ffmpeg", "-v", "error", "-y"] + (["-re"] if live else []) + ["-i", str(src), "-filter_complex", split]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
    cmd += ["-map", "0:a"] * (n + 1)
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "main",
        "-sc_threshold",
        "0",
        "-g",
        "240",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
    ]
    for i, r in enumerate(plan.video):
        cmd += [
            f"-b:v:{i}",
            f"{r.video_kbps}k",
            f"-maxrate:v:{i}",
            f"{r.maxrate_kbps}k",
            f"-bufsize:v:{i}",
            f"{r.bufsize_kbits}k",
            f"-level:v:{i}",
            r.level,
        ]
    cmd += [
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-ar",
        "48000",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_playlist_type",
        "event" if live else "vod",
        "-hls_segment_filename",
        str(out / "%v" / "%06d.ts"),
        "-master_pl_name",
        "master.m3u8",
        "-var_stream_map",
        " ".join([f"v:{i},a:{i}" for i in range(n)] + [f"a:{n}"]),
        str(out / "%v" / "index.m3u8"),
    ]
    return cmd


async def ours(src: Path, root: Path, *, pace: bool) -> tuple[float, CollectingSink, list[float]]:
    sink = CollectingSink()
    playlist = root / "bench" / "360p" / "index.m3u8"
    listed: dict[str, float] = {}
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set():
            _poll(playlist, listed)
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    t0 = time.monotonic()
    await run_media_worker(Settings(media_root=root), "bench", src, sink, pace=pace)
    wall = time.monotonic() - t0
    done.set()
    await poller
    return wall, sink, _latencies(listed, t0)


def theirs(src: Path, out: Path, *, live: bool) -> tuple[float, list[float]]:
    for i in range(5):
        (out / str(i)).mkdir(parents=True, exist_ok=True)
    listed: dict[str, float] = {}
    t0 = time.monotonic()
    proc = subprocess.Popen(ffmpeg_ladder(src, out, live=live))
    while proc.poll() is None:
        if live:
            _poll(out / "2" / "index.m3u8", listed)  # variant 2 is 360p
        time.sleep(0.01)
    wall = time.monotonic() - t0
    if proc.returncode:
        raise SystemExit(f"ffmpeg failed with {proc.returncode}")
    return wall, _latencies(listed, t0)


def _poll(playlist: Path, listed: dict[str, float]) -> None:
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return
    now = time.monotonic()
    for seg in read_playlist(text)["segments"]:
        listed.setdefault(seg["uri"], now)


def _latencies(listed: dict[str, float], t0: float) -> list[float]:
    """Segment k's first frame enters at t0 + 2k when the source is played out at real time."""
    ordered = sorted(listed.items())
    return [at - (t0 + 2.0 * k) for k, (_, at) in enumerate(ordered)]


def _fmt(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"min {min(xs):.2f} s, median {statistics.median(xs):.2f} s, max {max(xs):.2f} s ({len(xs)} segments)"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "source.mp4"
        make_source(src)
        print(f"source: {SECONDS} s 720p30 H.264 + AAC; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")

        walls: list[float] = []
        ff_walls: list[float] = []
        for i in range(RUNS):  # interleaved, so a neighbour's CPU burst hits both sides alike
            wall, sink, _ = asyncio.run(ours(src, root / f"ours{i}", pace=False))
            walls.append(wall)
            ff_walls.append(theirs(src, root / f"ffmpeg{i}", live=False)[0])
        wall, ff_wall = statistics.median(walls), statistics.median(ff_walls)
        ours_rtf, ff_rtf = SECONDS / wall, SECONDS / ff_wall
        print(f"\nladder throughput (720p+480p+360p+240p+audio, 2 s GOPs and segments), median of {RUNS}:")
        print(
            f"  media worker (PyAV): {wall:.2f} s -> {ours_rtf:.2f}x real time  "
            f"(runs: {', '.join(f'{w:.2f}' for w in walls)} s)"
        )
        print(
            f"  ffmpeg CLI         : {ff_wall:.2f} s -> {ff_rtf:.2f}x real time  "
            f"(runs: {', '.join(f'{w:.2f}' for w in ff_walls)} s)"
        )
        print(f"  ratio ours/ffmpeg  : {ours_rtf / ff_rtf:.2f}")
        samples = [e.payload for e in sink.of_type(ev.QUALITY_SAMPLE)]
        if samples:
            cpu = statistics.mean(s["cpu_per_media_second"] for s in samples)
            print(f"  worker CPU per media second: {cpu:.2f} s")

        _, live_sink, ours_lat = asyncio.run(ours(src, root / "ours-live", pace=True))
        _, ff_lat = theirs(src, root / "ffmpeg-live", live=True)
        internal = [
            e.payload["latency_ms"] / 1000
            for e in live_sink.of_type(ev.SEGMENT_PUBLISHED)
            if e.payload["rendition"] == "360p"
        ]
        print("\nglass-to-playlist, 2 s segments, source played out at real time (first frame of a segment):")
        print(f"  media worker, measured by the worker : {_fmt(internal)}")
        print(f"  media worker, polling the playlist   : {_fmt(ours_lat)}")
        print(f"  ffmpeg CLI -re, polling the playlist : {_fmt(ff_lat)}")
        print("  (a segment's last frame is listed ~2 s sooner than its first)")


if __name__ == "__main__":
    main()
