"""Reading HLS playlists — every reader in the project goes through the ``m3u8`` package.

The recording's segments (``media_segments``: sequence, media time, PROGRAM-DATE-TIME, discontinuities), a
master's variants (``master_variants``), and ``read_playlist``, a plain-dict view for tests, the bench and a
live reader loop (LL-HLS parts go with the segment they precede; ``open_parts`` are those of the segment being
made). Writing stays hand-written in ``hls.py``: the live playlist's low-latency tags (``EXT-X-PART``,
``EXT-X-PART-INF``, ``EXT-X-SERVER-CONTROL``) are written as players expect them, with fixed precision, on every
segment and part, which is cheaper and more exact than building an ``m3u8`` object each time (ADR 0030).

Byte ranges (``EXT-X-BYTERANGE``) are not used by our playlists; ``media_segments`` refuses a playlist with them
rather than place a range as a whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import m3u8

from media.hls import Variant, format_pdt


@dataclass(frozen=True, slots=True)
class PlaylistSegment:
    sequence: int
    uri: str  # relative to its playlist
    start_s: float  # media time
    duration: float
    pdt: datetime | None  # its own EXT-X-PROGRAM-DATE-TIME, when it has one
    discontinuity: bool = False

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration


def media_segments(text: str) -> list[PlaylistSegment]:
    """The segments of a media playlist, numbered from its EXT-X-MEDIA-SEQUENCE, placed end to end."""
    pl = m3u8.loads(text)
    out: list[PlaylistSegment] = []
    sequence, start = pl.media_sequence or 0, 0.0
    for seg in pl.segments:
        if seg.uri is None:  # LL-HLS parts of the segment being made
            continue
        if seg.byterange:
            raise ValueError(f"{seg.uri}: byte-range segments are not read here")
        duration = float(seg.duration or 0.0)
        out.append(
            PlaylistSegment(sequence, seg.uri, start, duration, _utc(seg.program_date_time), bool(seg.discontinuity))
        )
        sequence, start = sequence + 1, start + duration
    return out


def master_variants(text: str) -> list[Variant]:
    """A master playlist's variants, in its order."""
    out = []
    for p in m3u8.loads(text).playlists:
        si = p.stream_info
        out.append(
            Variant(
                p.uri,
                int(si.bandwidth or 0),
                int(si.average_bandwidth or si.bandwidth or 0),
                si.codecs or "",
                tuple(si.resolution) if si.resolution else None,
                float(si.frame_rate) if si.frame_rate else None,
            )
        )
    return out


def read_playlist(text: str) -> dict[str, Any]:
    """``{"segments": [{uri, duration, pdt, discontinuity, parts}], "variants": [{uri, BANDWIDTH, ...}],
    "tags": {tag: value}, "open_parts": [...]}``; ``tags`` holds the playlist-wide tags present (as written:
    ``"#EXT-X-MEDIA-SEQUENCE": "2"``, ``"#EXT-X-ENDLIST": ""``), parts are ``{uri, duration, independent}``."""
    pl = m3u8.loads(text)
    segments: list[dict[str, Any]] = []
    open_parts: list[dict[str, Any]] = []
    for seg in pl.segments:
        parts = [
            {"uri": p.uri, "duration": float(p.duration), "independent": p.independent == "YES"} for p in seg.parts
        ]
        if seg.uri is None:
            open_parts = parts
            continue
        d: dict[str, Any] = {"uri": seg.uri, "duration": float(seg.duration or 0.0), "parts": parts}
        if seg.program_date_time is not None:
            d["pdt"] = format_pdt(seg.program_date_time)
        if seg.discontinuity:
            d["discontinuity"] = True
        segments.append(d)
    variants = []
    for v in pl.playlists:
        si = v.stream_info
        attrs = {"BANDWIDTH": str(si.bandwidth)}
        if si.average_bandwidth is not None:
            attrs["AVERAGE-BANDWIDTH"] = str(si.average_bandwidth)
        if si.resolution:
            attrs["RESOLUTION"] = f"{si.resolution[0]}x{si.resolution[1]}"
        if si.frame_rate:
            attrs["FRAME-RATE"] = f"{si.frame_rate:.3f}"
        if si.codecs:
            attrs["CODECS"] = si.codecs
        variants.append({"uri": v.uri, **attrs})
    return {"segments": segments, "variants": variants, "tags": _tags(pl), "open_parts": open_parts}


def _tags(pl: m3u8.M3U8) -> dict[str, str]:
    tags: dict[str, str] = {}
    if pl.version is not None:
        tags["#EXT-X-VERSION"] = str(pl.version)
    if pl.target_duration is not None:
        tags["#EXT-X-TARGETDURATION"] = str(pl.target_duration)
    if pl.media_sequence is not None and not pl.is_variant:
        tags["#EXT-X-MEDIA-SEQUENCE"] = str(pl.media_sequence)
    if pl.playlist_type:
        tags["#EXT-X-PLAYLIST-TYPE"] = pl.playlist_type.upper()
    if pl.is_independent_segments:
        tags["#EXT-X-INDEPENDENT-SEGMENTS"] = ""
    if pl.is_endlist:
        tags["#EXT-X-ENDLIST"] = ""
    for tag in (pl.server_control, pl.part_inf):
        if tag is not None and str(tag):
            name, _, value = str(tag).partition(":")
            tags[name] = value
    return tags


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
