"""Real video for the media tests: synthetic sources made with the ffmpeg CLI, checked with ffprobe."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from infra.settings import Settings
from media.events import CollectingSink
from media.worker import WorkerResult, run_media_worker

PLAYBACK = "http://cdn.test/hls"


def make_video(
    path: Path,
    *,
    size: str = "1280x720",
    seconds: float = 8,
    fps: int = 30,
    audio: bool = True,
    vcodec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "30"),
    extra: tuple[str, ...] = (),
) -> Path:
    """testsrc2 (moving, detailed: a fair load for the encoder) plus a 440 Hz tone."""
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    cmd += ["-t", str(seconds), *vcodec, "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac", "-b:a", "96k"]
    subprocess.run([*cmd, *extra, str(path)], check=True, timeout=60)
    return path


def ffprobe(path: Path | str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def media_settings(root: Path) -> Settings:
    return Settings(media_root=root, playback_base_url=PLAYBACK)


@dataclass
class LadderRun:
    source: Path
    out: Path
    sink: CollectingSink
    result: WorkerResult
    seconds: float


@pytest.fixture(scope="session")
def media_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def landscape_run(media_tmp: Path) -> LadderRun:
    """One 8 s 720p30 show through the whole worker; several test modules inspect what it left behind."""
    src = await asyncio.to_thread(make_video, media_tmp / "landscape.mp4", seconds=8)
    sink = CollectingSink()
    result = await run_media_worker(media_settings(media_tmp / "out"), "show-landscape", src, sink)
    return LadderRun(src, result.out_dir, sink, result, 8.0)
