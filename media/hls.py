"""HLS playlists: per-rendition media playlists (live and VOD) and the master playlist.

Players and the CDN origin read these files while we write them, so every write goes to a temporary file in
the same directory and is renamed into place: a reader sees the old playlist or the new one, never half.
The live playlist is a sliding window by default because a phone on 2G re-downloads it every 2 s; the full
list of segments goes to the VOD ``recording.m3u8`` when the show ends.

Low-latency HLS (``part_target``): the live playlist also lists partial segments (``EXT-X-PART``) of its
last segments and of the segment being made, with ``EXT-X-PART-INF`` and ``EXT-X-SERVER-CONTROL``
(``PART-HOLD-BACK`` = 3 part targets, as the spec requires). The files are static, so no blocking reload
(``CAN-BLOCK-RELOAD``) and no preload hints are advertised: players poll, and start 3 parts from the edge.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

LIVE_PLAYLIST = "index.m3u8"
VOD_PLAYLIST = "recording.m3u8"
MASTER_PLAYLIST = "master.m3u8"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write then rename, so a concurrent reader never sees a partial file."""
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the HTTP origin may run as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class Segment:
    sequence: int
    uri: str  # relative to the playlist
    duration: float
    bytes: int
    program_date_time: datetime | None = None
    discontinuity: bool = False


@dataclass(frozen=True, slots=True)
class Part:
    uri: str
    duration: float
    independent: bool


def format_pdt(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MediaPlaylist:
    """One rendition's playlist. ``window=None`` gives a growing EVENT playlist, else a sliding window."""

    PARTS_FOR_SEGMENTS = 2  # closed segments at the live edge whose parts stay listed

    def __init__(
        self, directory: Path, *, segment_seconds: float, window: int | None = 6, part_target: float | None = None
    ) -> None:
        self.directory = directory
        self.window = window
        self.part_target = part_target
        self.segments: list[Segment] = []
        self.previous: list[Segment] = []  # an earlier worker's take of this show: in the VOD recording only
        self.parts: dict[int, list[Part]] = {}  # segment sequence → its parts (LL-HLS)
        # TARGETDURATION must not change during a live stream, so it is fixed from the configured segment
        # length; a longer segment (source stall) raises it, which players tolerate better than a lie.
        self.target = max(1, round(segment_seconds))
        self.ended = False

    def add(self, segment: Segment) -> None:
        self.segments.append(segment)
        self.target = max(self.target, round(segment.duration))
        listed = {s.sequence for s in self.segments[-self.PARTS_FOR_SEGMENTS :]}
        for seq in [q for q in self.parts if q < segment.sequence and q not in listed]:
            del self.parts[seq]  # no longer listed: keep the dict small over a long show
        self._write_live()

    def add_part(self, sequence: int, part: Part) -> None:
        """LL-HLS: a part of segment ``sequence`` (the one being made, or one just closed)."""
        self.parts.setdefault(sequence, []).append(part)
        self._write_live()

    def write_empty(self) -> None:
        """Before the first segment: a valid live playlist with nothing in it yet (players keep polling)."""
        self._write_live()

    def end(self) -> None:
        """Close the live playlist (viewers at the live edge stop cleanly) and write the VOD recording."""
        self.ended = True
        self._write_live()
        take = list(self.segments)
        if self.previous and take:  # an earlier worker's take first; the encoders restarted in between
            take[0] = replace(take[0], discontinuity=True)
        write_atomic(
            self.directory / VOD_PLAYLIST,
            self.render(self.previous + take, playlist_type="VOD", ended=True, parts=False),
        )

    def _write_live(self) -> None:
        shown = self.segments if self.window is None else self.segments[-self.window :]
        write_atomic(
            self.directory / LIVE_PLAYLIST,
            self.render(shown, playlist_type="EVENT" if self.window is None else None, ended=self.ended),
        )

    def render(self, shown: list[Segment], *, playlist_type: str | None, ended: bool, parts: bool = True) -> str:
        target = max([self.target] + [math.ceil(s.duration - 0.5) for s in shown])
        ll = parts and self.part_target is not None and not ended  # an ended list needs no parts
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{6 if ll else 3}", f"#EXT-X-TARGETDURATION:{target}"]
        if ll:
            assert self.part_target is not None
            lines.append(f"#EXT-X-SERVER-CONTROL:PART-HOLD-BACK={3 * self.part_target:.3f}")
            lines.append(f"#EXT-X-PART-INF:PART-TARGET={self.part_target:.3f}")
        lines += [f"#EXT-X-MEDIA-SEQUENCE:{shown[0].sequence if shown else 0}", "#EXT-X-INDEPENDENT-SEGMENTS"]
        if playlist_type:
            lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
        with_parts = {s.sequence for s in shown[-self.PARTS_FOR_SEGMENTS :]} if ll else set()
        for seg in shown:
            if seg.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if seg.program_date_time is not None:
                # Wall-clock of the segment's first frame: lets viewers line up flash-sale events with video.
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_pdt(seg.program_date_time)}")
            if seg.sequence in with_parts:
                lines += [_part_line(p) for p in self.parts.get(seg.sequence, ())]
            lines.append(f"#EXTINF:{seg.duration:.3f},")
            lines.append(seg.uri)
        if ll and not ended:  # the segment being made: its parts so far, after the last whole segment
            nxt = shown[-1].sequence + 1 if shown else 0
            lines += [_part_line(p) for p in self.parts.get(nxt, ())]
        if ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


def _part_line(p: Part) -> str:
    return f'#EXT-X-PART:DURATION={p.duration:.5f},URI="{p.uri}"' + (",INDEPENDENT=YES" if p.independent else "")


@dataclass(frozen=True, slots=True)
class Variant:
    uri: str
    bandwidth: int
    average_bandwidth: int
    codecs: str
    resolution: tuple[int, int] | None = None  # None for audio-only
    frame_rate: float | None = None


def render_master(variants: Iterable[Variant]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        attrs = [f"BANDWIDTH={v.bandwidth}", f"AVERAGE-BANDWIDTH={v.average_bandwidth}"]
        if v.resolution:
            attrs.append(f"RESOLUTION={v.resolution[0]}x{v.resolution[1]}")
        if v.frame_rate:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        attrs.append(f'CODECS="{v.codecs}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(v.uri)
    return "\n".join(lines) + "\n"
