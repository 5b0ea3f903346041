"""A finished recording as the media worker left it, read back for cutting highlights: its renditions (from the
``recording.m3u8`` master) and each one's segments, and ``ShowClock``, which places a wall-clock time on the log
at its media time in the recording through the segments' EXT-X-PROGRAM-DATE-TIME.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media.hls import (
    VOD_PLAYLIST,
    Variant,
)
from media.playlists import PlaylistSegment, master_variants, media_segments


@dataclass(frozen=True, slots=True)
class RecordedVariant:
    name: str
    variant: Variant  # as in the recording master: bandwidth, resolution, codecs ...

    @property
    def height(self) -> int:
        return self.variant.resolution[1] if self.variant.resolution else 0


@dataclass(slots=True)
class Recording:
    out_dir: Path
    variants: list[RecordedVariant]  # in the recording master's order
    segments: dict[str, list[PlaylistSegment]]

    @property
    def video(self) -> list[RecordedVariant]:
        return sorted((v for v in self.variants if v.height), key=lambda v: v.height, reverse=True)

    def timeline(self) -> list[PlaylistSegment]:
        """Every rendition is cut at the same instants: any one gives the show's segment list."""
        return self.segments[(self.video or self.variants)[0].name]


def read_recording(out_dir: Path) -> Recording:
    """The finished recording as the worker left it (``recording.m3u8`` and one per rendition)."""
    master = out_dir / VOD_PLAYLIST
    if not master.exists():
        raise FileNotFoundError(f"{master}: no finished recording")
    variants = [RecordedVariant(v.uri.split("/", 1)[0], v) for v in master_variants(master.read_text())]
    return Recording(
        out_dir, variants, {v.name: media_segments((out_dir / v.name / VOD_PLAYLIST).read_text()) for v in variants}
    )


class ShowClock:
    """Wall-clock time on the log → media time in the recording, from the segments' PROGRAM-DATE-TIME."""

    def __init__(self, segments: list[PlaylistSegment]) -> None:
        self._segs = [s for s in segments if s.pdt is not None]
        if not self._segs:
            raise ValueError("the recording has no EXT-X-PROGRAM-DATE-TIME: log times cannot be placed")
        self._walls = [s.pdt.timestamp() for s in self._segs]  # type: ignore[union-attr]
        self.end_s = segments[-1].end_s

    def media_s(self, at: datetime, *, before_start: float | None = None, after_end_s: float = 2.0) -> float | None:
        """Where ``at`` falls in the recording; None when outside it. A time in a gap (the host was away)
        goes to the end of the segment before it. ``before_start`` is used for times before the show."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        t = at.timestamp()
        i = bisect.bisect_right(self._walls, t) - 1
        if i < 0:
            return before_start
        seg = self._segs[i]
        offset = t - self._walls[i]
        if i == len(self._segs) - 1 and offset > seg.duration + after_end_s:
            return None
        return seg.start_s + min(offset, max(0.0, seg.duration - 1e-3))
