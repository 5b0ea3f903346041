"""Low-latency HLS: partial segments in the live playlists, read the way a part-aware player reads them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from media import events as ev
from media.events import CollectingSink
from media.options import MediaOptions
from media.playlists import read_playlist
from media.worker import run_media_worker
from tests.media.conftest import ffprobe, make_video, media_settings

PART = 0.5


def check_ll_playlist(text: str, directory: Path, seen_parts: dict[str, float]) -> dict[str, Any]:
    """What a part-aware player relies on; every part file listed must be there (and is remembered)."""
    pl = read_playlist(text)
    tags = pl["tags"]
    assert int(tags["#EXT-X-VERSION"]) >= 6
    part_target = float(tags["#EXT-X-PART-INF"].split("PART-TARGET=")[1])
    assert part_target == PART
    hold_back = float(tags["#EXT-X-SERVER-CONTROL"].split("PART-HOLD-BACK=")[1].split(",")[0])
    assert hold_back >= 3 * part_target  # RFC 8216bis: at least three part targets
    sequence = int(tags["#EXT-X-MEDIA-SEQUENCE"])
    segs = pl["segments"]
    for i, seg in enumerate(segs):
        seg["sequence"] = sequence + i
        if seg["parts"]:
            _check_parts(seg["parts"], seg["sequence"], directory, part_target, seen_parts)
            assert sum(p["duration"] for p in seg["parts"]) == pytest.approx(seg["duration"], abs=0.002)
    assert all(not s["parts"] for s in segs[:-2])  # parts only near the live edge
    if pl["open_parts"]:
        _check_parts(pl["open_parts"], sequence + len(segs), directory, part_target, seen_parts)
    return pl


def _check_parts(
    parts: list[dict[str, Any]], sequence: int, directory: Path, target: float, seen: dict[str, float]
) -> None:
    assert [p["uri"] for p in parts] == [f"{sequence:06d}.{k}.ts" for k in range(len(parts))]
    assert parts[0]["independent"]  # a segment's first part opens with its IDR
    for p in parts:
        assert 0 < p["duration"] <= target + 1e-6
        data = (directory / p["uri"]).read_bytes()
        assert data[0] == 0x47 and len(data) % 188 == 0
        seen.setdefault(p["uri"], p["duration"])


@pytest.mark.slow
async def test_live_playlists_list_parts_a_part_aware_reader_accepts(tmp_path: Path) -> None:
    src = await asyncio.to_thread(make_video, tmp_path / "src.mp4", size="640x360", seconds=5)
    sink = CollectingSink()
    worker = asyncio.create_task(
        run_media_worker(
            media_settings(tmp_path / "out"), "show-ll", src, sink, pace=True, options=MediaOptions(part_seconds=PART)
        )
    )
    live = tmp_path / "out" / "show-ll" / "360p"
    seen: dict[str, float] = {}
    first_seen: dict[str, float] = {}  # uri (part or segment) → when a poller first saw it listed
    snapshots = 0
    probed: list[tuple[float, float]] = []  # (listed, ffprobe) duration of a part while it was live
    while not worker.done():
        if (live / "index.m3u8").exists():
            text = (live / "index.m3u8").read_text()
            if "#EXT-X-ENDLIST" not in text:
                pl = check_ll_playlist(text, live, seen)
                snapshots += 1
                now = time.monotonic()
                for uri in [s["uri"] for s in pl["segments"]] + [p["uri"] for p in pl["open_parts"]]:
                    first_seen.setdefault(uri, now)
                if not probed and len(pl["open_parts"]) >= 2:
                    part = pl["open_parts"][1]
                    info = await asyncio.to_thread(ffprobe, live / part["uri"], "-show_entries", "format=duration")
                    probed.append((part["duration"], float(info["format"]["duration"])))
        await asyncio.sleep(0.05)
    result = await worker
    assert result.reason == "end_of_input" and snapshots > 20

    # Parts of a segment showed up before the segment did: the point of LL-HLS (~1.5 s earlier here).
    segments = sorted(u for u in first_seen if u.count(".") == 1)
    assert len(segments) >= 2
    earlier = [
        first_seen[s] - first_seen[s.replace(".ts", ".0.ts")]
        for s in segments[1:]
        if s.replace(".ts", ".0.ts") in first_seen
    ]
    assert earlier and min(earlier) > 0.5, earlier
    # A part is real video: ffprobe reads one, and its length is the listed duration.
    assert probed and probed[0][1] == pytest.approx(probed[0][0], abs=0.1), probed
    # The end: no parts left listed or on disk; the VOD recording is plain HLS, as before.
    ended = (live / "index.m3u8").read_text()
    assert "#EXT-X-ENDLIST" in ended and "#EXT-X-PART" not in ended
    assert not list(live.glob("*.*.ts"))
    vod = (live / "recording.m3u8").read_text()
    assert "#EXT-X-PART" not in vod and "#EXT-X-VERSION:3" in vod
    assert float(ffprobe(live / "recording.m3u8", "-show_format")["format"]["duration"]) == pytest.approx(5, rel=0.1)
    assert sink.types[-1] == ev.INGEST_STOPPED
