"""Choosing and saving thumbnails: a live show's poster should not be a black frame, a blur or a half-cut.

Frames are judged on a small copy of their luma plane with numpy only: mean brightness (black or washed
out), contrast (a flat card), variance of a Laplacian (blur: a sharp image has strong second derivatives),
and the change from the previous frame (a scene cut or a fade in progress). Among acceptable candidates of
each interval the sharpest is kept and saved as JPEG with FFmpeg's MJPEG encoder (no Pillow needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from media.hls import write_atomic
from media.ladder import scaled_size


@dataclass(frozen=True, slots=True)
class ThumbnailRules:
    min_brightness: float = 28.0  # mean luma; studio black is 16
    max_brightness: float = 235.0
    min_contrast: float = 12.0  # std of luma: below this the frame is a flat card or a fade
    min_sharpness: float = 50.0  # variance of the Laplacian on the ~180-line working copy
    max_change: float = 0.12  # mean |difference| to the previous frame, 0..1: above this, a cut


@dataclass(frozen=True, slots=True)
class FrameScore:
    brightness: float
    contrast: float
    sharpness: float
    change: float


def luma_of(frame: av.VideoFrame, short_side: int = 180) -> np.ndarray:
    """A ~``short_side``-line float copy of the Y plane, by striding: cheap enough for every frame."""
    plane = frame.planes[0]
    y = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    step = max(1, min(plane.width, plane.height) // short_side)
    return y[::step, ::step].astype(np.float32)


def laplacian_variance(luma: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low when the image has no sharp edges."""
    if luma.shape[0] < 3 or luma.shape[1] < 3:
        return 0.0
    c = luma[1:-1, 1:-1]
    lap = luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:] - 4.0 * c
    return float(lap.var())


def score_frame(luma: np.ndarray, previous: np.ndarray | None) -> FrameScore:
    change = 0.0
    if previous is not None and previous.shape == luma.shape:
        change = float(np.abs(luma - previous).mean()) / 255.0
    return FrameScore(
        brightness=float(luma.mean()), contrast=float(luma.std()), sharpness=laplacian_variance(luma), change=change
    )


def rejection(score: FrameScore, rules: ThumbnailRules = ThumbnailRules()) -> str | None:
    """Why a frame is not fit to be a thumbnail, or None when it is."""
    if score.brightness < rules.min_brightness:
        return "black"
    if score.brightness > rules.max_brightness:
        return "washed_out"
    if score.contrast < rules.min_contrast:
        return "flat"
    if score.sharpness < rules.min_sharpness:
        return "blurred"
    if score.change > rules.max_change:
        return "scene_cut"
    return None


@dataclass(slots=True)
class Candidate:
    at_s: float
    frame: av.VideoFrame  # already scaled to thumbnail size, independent of decoder buffers
    score: FrameScore


class ThumbnailPicker:
    """Looks at a frame every ``sample_every_s``; hands out the sharpest acceptable one per interval."""

    def __init__(
        self,
        *,
        interval_s: float = 10.0,
        first_after_s: float = 1.0,
        sample_every_s: float = 0.25,
        short_side: int = 360,
        rules: ThumbnailRules = ThumbnailRules(),
    ) -> None:
        self.interval_s, self.sample_every_s = interval_s, sample_every_s
        self.short_side, self.rules = short_side, rules
        self._next_sample = 0.0
        self._due_at = first_after_s  # the first poster early, so a new show has a picture at once
        self.best: Candidate | None = None
        self.rejected: dict[str, int] = {}

    def offer(self, at_s: float, frame: av.VideoFrame, luma: np.ndarray, previous: np.ndarray | None) -> None:
        if at_s < self._next_sample:
            return
        self._next_sample = at_s + self.sample_every_s
        s = score_frame(luma, previous)
        why = rejection(s, self.rules)
        if why:
            self.rejected[why] = self.rejected.get(why, 0) + 1
            return
        if self.best is None or s.sharpness > self.best.score.sharpness:
            w, h = scaled_size(frame.width, frame.height, min(self.short_side, frame.width, frame.height))
            self.best = Candidate(at_s, frame.reformat(w, h, format="yuvj420p"), s)

    def take_due(self, at_s: float, *, final: bool = False) -> Candidate | None:
        if self.best is None or (at_s < self._due_at and not final):
            return None
        chosen, self.best = self.best, None
        self._due_at = at_s + self.interval_s
        return chosen


def encode_jpeg(frame: av.VideoFrame, quality: int = 4) -> bytes:
    """JPEG bytes of a yuvj420p frame; ``quality`` is MJPEG's qscale (2 best .. 31 worst)."""
    cc = av.CodecContext.create("mjpeg", "w")
    cc.width, cc.height, cc.pix_fmt = frame.width, frame.height, "yuvj420p"
    cc.time_base = Fraction(1, 25)
    cc.qscale = True  # fixed quality instead of a bitrate
    cc.global_quality = quality * 118  # FF_QP2LAMBDA
    frame.pts = 0
    packets = cc.encode(frame) + cc.encode(None)
    return b"".join(bytes(p) for p in packets)


def save_thumbnail(candidate: Candidate, directory: Path, index: int) -> tuple[Path, int]:
    """Write ``thumbs/NNNN.jpg`` and refresh ``poster.jpg`` (the latest one) atomically."""
    data = encode_jpeg(candidate.frame)
    thumbs = directory / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    path = thumbs / f"{index:04d}.jpg"
    write_atomic(path, data)
    write_atomic(directory / "poster.jpg", data)
    return path, len(data)


def clip_poster(segment: Path, path: Path, *, short_side: int = 360) -> int:
    """A highlight's picture: the first video frame of ``segment`` (its peak), scaled to ``short_side``, as JPEG
    at ``path``. Returns its size in bytes (0: the segment has no readable picture, nothing written)."""
    try:
        with av.open(str(segment)) as c:
            if not c.streams.video:
                return 0
            frame = next(c.decode(c.streams.video[0]), None)
    except (av.error.FFmpegError, StopIteration):
        return 0
    if frame is None:
        return 0
    scale = short_side / max(1, min(frame.width, frame.height))
    width, height = (max(2, round(frame.width * scale / 2) * 2), max(2, round(frame.height * scale / 2) * 2))
    data = encode_jpeg(frame.reformat(width=width, height=height, format="yuvj420p"))
    write_atomic(path, data)
    return len(data)
