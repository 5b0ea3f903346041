"""Bad input ends in a named error and a ``media.ingest_failed`` event, never in a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from media import events as ev
from media.errors import CorruptMedia, IngestFailed, SourceUnavailable, UnsupportedMedia
from media.events import CollectingSink
from media.worker import run_media_worker
from tests.media.conftest import ffprobe, make_video, media_settings


async def _fails(tmp: Path, source: Path, error: type[IngestFailed]) -> dict[str, Any]:
    sink = CollectingSink()
    with pytest.raises(error) as caught:
        await run_media_worker(media_settings(tmp / "out"), "show-bad", source, sink)
    assert sink.types == [ev.INGEST_FAILED]
    payload = sink.envelopes[0].payload
    assert payload["error"] == caught.value.code and payload["source"] == "file"
    assert str(source) in payload["message"]
    return payload


async def test_garbage_bytes_are_corrupt_input(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(bytes(range(256)) * 400)
    payload = await _fails(tmp_path, bad, CorruptMedia)
    assert payload["error"] == "corrupt_input"


async def test_an_mp4_cut_before_its_index_is_corrupt_input(tmp_path: Path) -> None:
    whole = await asyncio.to_thread(make_video, tmp_path / "whole.mp4", size="320x240", seconds=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # the moov atom is at the end
    await _fails(tmp_path, cut, CorruptMedia)


async def test_a_header_with_no_decodable_frames_is_corrupt_input(tmp_path: Path) -> None:
    whole = await asyncio.to_thread(
        make_video, tmp_path / "whole.ts", size="320x240", seconds=2, extra=("-f", "mpegts")
    )
    data = bytearray(whole.read_bytes())
    # Keep the tables (PAT/PMT) but scramble every payload byte after the first few packets.
    for i in range(188 * 4, len(data), 188):
        data[i + 8 : i + 188] = bytes((j * 37) & 0xFF for j in range(180))
    bad = tmp_path / "scrambled.ts"
    bad.write_bytes(bytes(data))
    await _fails(tmp_path, bad, CorruptMedia)


@pytest.mark.slow
async def test_a_truncated_transport_stream_gives_a_shorter_show_not_a_crash(tmp_path: Path) -> None:
    whole = await asyncio.to_thread(
        make_video, tmp_path / "whole.ts", size="640x360", seconds=4, extra=("-f", "mpegts")
    )
    cut = tmp_path / "cut.ts"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2 + 77])  # mid-packet, mid-frame
    sink = CollectingSink()
    result = await run_media_worker(media_settings(tmp_path / "out"), "show-cut", cut, sink)
    assert sink.types[0] == ev.INGEST_STARTED and sink.types[-1] == ev.INGEST_STOPPED
    info = ffprobe(result.out_dir / "360p" / "recording.m3u8", "-show_format")
    duration = float(info["format"]["duration"])
    assert 1.0 < duration < 3.5


async def test_an_unsupported_video_codec_is_refused_by_name(tmp_path: Path) -> None:
    ffv1 = await asyncio.to_thread(
        make_video, tmp_path / "archive.mkv", size="320x240", seconds=1, audio=False, vcodec=("-c:v", "ffv1")
    )
    payload = await _fails(tmp_path, ffv1, UnsupportedMedia)
    assert "ffv1" in payload["message"] and payload["error"] == "unsupported_media"


async def test_audio_without_video_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "voice.m4a"
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", str(src)
    )
    assert await proc.wait() == 0
    payload = await _fails(tmp_path, src, UnsupportedMedia)
    assert "no video" in payload["message"]


async def test_a_missing_file_is_source_unavailable(tmp_path: Path) -> None:
    payload = await _fails(tmp_path, tmp_path / "nowhere.mp4", SourceUnavailable)
    assert payload["error"] == "source_unavailable"
