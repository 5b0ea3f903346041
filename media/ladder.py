"""The adaptive-bitrate ladder: which renditions a source gets, at what size and bitrate.

Tuned for phones on 2G/3G in Bangladesh: the low rungs (360p ~365 kbps, 240p ~150 kbps) and an audio-only
rendition (~64 kbps AAC) matter more than the top one. The ladder is planned once per source so every
rendition has a known size, bitrate and codec string before the first frame is encoded, which the master
playlist needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AUDIO_CODECS = "mp4a.40.2"  # AAC-LC


def ts_bps(payload_kbps: float, fps: float = 30.0) -> int:
    """Bits/s on the wire for ``payload_kbps`` of audio+video in MPEG-TS: ~4 % for TS/PES headers, plus the
    half-filled last TS packet of every video frame (~100 bytes per frame: 24 kbps at 30 fps). Measured on
    our own segments; it is why 240p costs ~255 kbps, not 214, on a 2G link."""
    return int(payload_kbps * 1000 * 1.04 + fps * 100 * 8)


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of the ladder, named by the *short* side so portrait and landscape share the ladder."""

    name: str
    short_side: int
    video_kbps: int
    top: bool = False  # "source" rung: takes the source's own short side when that is smaller


# Bitrates: 360p and 240p are the 3G/2G workhorses; 720p is re-encoded, never passed through, so a
# 6 Mbps phone upload does not reach a viewer on 3G.
DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung("720p", 720, 1800, top=True),
    Rung("480p", 480, 750),
    Rung("360p", 360, 365),
    Rung("240p", 240, 150),
)
AUDIO_ONLY_NAME = "audio"


@dataclass(frozen=True, slots=True)
class VideoRendition:
    name: str
    width: int
    height: int
    video_kbps: int
    maxrate_kbps: int
    bufsize_kbits: int
    level: str  # H.264 level, e.g. "3.1"
    fps: float

    @property
    def codecs(self) -> str:
        """RFC 6381 string: Main profile (0x4D); x264 sets constraint_set1 (0x40) for Main; then the level."""
        return f"avc1.4d40{int(round(float(self.level) * 10)):02x}"


@dataclass(frozen=True, slots=True)
class LadderPlan:
    video: tuple[VideoRendition, ...]
    audio_kbps: int | None  # None when the source has no audio: no audio-only rendition then
    fps: float

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.video] + ([AUDIO_ONLY_NAME] if self.audio_kbps else [])

    def declared_bandwidth(self, r: VideoRendition) -> int:
        """Peak bits/s for EXT-X-STREAM-INF before anything is measured: the VBV ceiling plus audio."""
        return ts_bps(r.maxrate_kbps * 1.05 + (self.audio_kbps or 0), r.fps)

    def declared_average(self, r: VideoRendition) -> int:
        return ts_bps(r.video_kbps + (self.audio_kbps or 0), r.fps)


# (level, max frame size in macroblocks, max macroblocks/s, max Main-profile bitrate in kbps)
_H264_LEVELS = (
    ("2.1", 792, 19_800, 4_000),
    ("2.2", 1_620, 20_250, 4_000),
    ("3.0", 1_620, 40_500, 10_000),
    ("3.1", 3_600, 108_000, 14_000),
    ("3.2", 5_120, 216_000, 20_000),
    ("4.0", 8_192, 245_760, 20_000),
    ("4.1", 8_192, 245_760, 50_000),
)


def h264_level(width: int, height: int, fps: float, maxrate_kbps: int) -> str:
    """The lowest level that fits: low levels are what cheap phones' hardware decoders promise."""
    mbs = math.ceil(width / 16) * math.ceil(height / 16)
    for level, max_fs, max_mbps, max_br in _H264_LEVELS:
        if mbs <= max_fs and mbs * fps <= max_mbps and maxrate_kbps <= max_br:
            return level
    return _H264_LEVELS[-1][0]


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def scaled_size(src_w: int, src_h: int, short_side: int) -> tuple[int, int]:
    """Scale so the short side is ``short_side``, keeping orientation and aspect (portrait stays portrait)."""
    if src_w <= src_h:  # portrait or square: width is the short side
        return _even(short_side), _even(src_h * short_side / src_w)
    return _even(src_w * short_side / src_h), _even(short_side)


def plan_ladder(
    src_w: int,
    src_h: int,
    src_fps: float,
    has_audio: bool,
    *,
    ladder: tuple[Rung, ...] = DEFAULT_LADDER,
    audio_kbps: int = 64,
    max_fps: float = 30.0,
) -> LadderPlan:
    """Renditions for one source: never upscale, never two rungs of the same size, at most ``max_fps``."""
    fps = min(src_fps if src_fps and src_fps > 0 else 30.0, max_fps)
    src_short = min(src_w, src_h)
    rungs: list[tuple[str, int, int]] = []
    for rung in ladder:
        if rung.short_side <= src_short:
            rungs.append((rung.name, rung.short_side, rung.video_kbps))
        elif (
            rung.top
            and src_short >= min(r.short_side for r in ladder)
            and all(r.short_side != src_short for r in ladder)
        ):
            # A 540p source still gets a re-encoded "source" rung, priced by pixels (bits ~ pixels^0.75).
            kbps = int(rung.video_kbps * (src_short / rung.short_side) ** 1.5)
            rungs.append((f"{src_short}p", src_short, kbps))
    if not rungs:  # smaller than the smallest rung: one rendition at the source's own size
        smallest = min(ladder, key=lambda r: r.short_side)
        kbps = int(smallest.video_kbps * (src_short / smallest.short_side) ** 1.5)
        rungs.append((f"{src_short}p", src_short, max(kbps, 64)))
    seen: set[int] = set()
    video: list[VideoRendition] = []
    for name, short, kbps in sorted(rungs, key=lambda r: -r[1]):
        if short in seen:
            continue
        seen.add(short)
        w, h = scaled_size(src_w, src_h, short)
        maxrate = int(kbps * 1.1)
        video.append(
            VideoRendition(
                name=name,
                width=w,
                height=h,
                video_kbps=kbps,
                maxrate_kbps=maxrate,
                # One second of buffer: small enough that a 2 s segment never bursts far above the target,
                # which is what a 2G/3G link can sustain.
                bufsize_kbits=kbps,
                level=h264_level(w, h, fps, maxrate),
                fps=fps,
            )
        )
    return LadderPlan(video=tuple(video), audio_kbps=audio_kbps if has_audio else None, fps=fps)
