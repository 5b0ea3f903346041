"""Quality telemetry: what the ladder actually delivers, sampled every few seconds of media.

Operators watch these samples (as ``media.quality_sample`` events) to see a host's upload falling apart
before viewers complain: bitrate per rendition against its target, frame rate, keyframe spacing, whether
encoding keeps up with real time, frames dropped, and the microphone level (a muted host is -inf dBFS).
Rendition threads add counts, the transcoder thread takes samples, hence the lock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from media.ladder import VideoRendition
from media.segmenter import TICKS


@dataclass(slots=True)
class _Counters:
    target_kbps: int
    width: int
    height: int
    bytes: int = 0
    frames: int = 0
    keyframe_gaps: list[float] = field(default_factory=list)
    last_key_pts: int | None = None


def dbfs(value: float) -> float | None:
    """Full-scale decibels; None stands for silence (-inf does not survive JSON)."""
    return round(20 * math.log10(value), 1) if value > 0 else None


class QualityMeter:
    def __init__(self, renditions: tuple[VideoRendition, ...], *, interval_s: float = 4.0) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._r = {r.name: _Counters(r.video_kbps, r.width, r.height) for r in renditions}
        self._sum_sq = 0.0
        self._n_samples = 0
        self._peak = 0.0
        self.frames_in = 0
        self.frames_dropped = 0
        self.decode_errors = 0
        self._win_frames_in = self._win_dropped = 0
        self._last_media = 0.0
        self._last_wall = time.monotonic()
        self._last_cpu = time.process_time()
        self._next_at = interval_s

    # --- called from rendition threads -----------------------------------------------------------------
    def video_packet(self, rendition: str, size: int, key: bool, pts: int) -> None:
        with self._lock:
            c = self._r[rendition]
            c.bytes += size
            c.frames += 1
            if key:
                if c.last_key_pts is not None:
                    c.keyframe_gaps.append((pts - c.last_key_pts) / TICKS)
                c.last_key_pts = pts

    # --- called from the transcoder thread -------------------------------------------------------------
    def audio(self, samples: np.ndarray) -> None:
        if samples.size:
            x = samples.astype(np.float64, copy=False)
            self._sum_sq += float(np.dot(x.ravel(), x.ravel()))
            self._n_samples += x.size
            self._peak = max(self._peak, float(np.max(np.abs(x))))

    def frame_in(self) -> None:
        self.frames_in += 1
        self._win_frames_in += 1

    def dropped(self, n: int = 1) -> None:
        self.frames_dropped += n
        self._win_dropped += n

    @property
    def last_sample_at(self) -> float:
        return self._last_media

    def due(self, media_s: float) -> bool:
        return media_s >= self._next_at

    def sample(self, media_s: float, *, lag_s: float | None = None) -> dict[str, Any]:
        """The payload of one ``media.quality_sample``, covering the time since the previous one."""
        now, cpu = time.monotonic(), time.process_time()
        window = max(media_s - self._last_media, 1e-6)
        wall = max(now - self._last_wall, 1e-6)
        renditions: dict[str, dict[str, Any]] = {}
        with self._lock:
            for name, c in self._r.items():
                gaps = c.keyframe_gaps
                renditions[name] = {
                    "video_kbps": round(c.bytes * 8 / window / 1000, 1),
                    "target_kbps": c.target_kbps,
                    "fps": round(c.frames / window, 2),
                    "width": c.width,
                    "height": c.height,
                    "keyframe_interval_s": round(sum(gaps) / len(gaps), 3) if gaps else None,
                }
                c.bytes = c.frames = 0
                c.keyframe_gaps = []
        rms = math.sqrt(self._sum_sq / self._n_samples) if self._n_samples else 0.0
        payload: dict[str, Any] = {
            "at_s": round(media_s, 3),
            "window_s": round(window, 3),
            # Media seconds per wall second: >= 1 means the worker keeps up (a live source caps it at ~1).
            "encode_speed": round(window / wall, 3),
            # CPU seconds (all threads) per media second: capacity left = cores / this.
            "cpu_per_media_second": round((cpu - self._last_cpu) / window, 3),
            "lag_s": None if lag_s is None else round(lag_s, 3),
            "frames_in": self._win_frames_in,
            "dropped_frames": self._win_dropped,
            "decode_errors": self.decode_errors,
            "audio": {"rms_dbfs": dbfs(rms), "peak_dbfs": dbfs(self._peak)} if self._n_samples else None,
            "renditions": renditions,
        }
        self._sum_sq, self._n_samples, self._peak = 0.0, 0, 0.0
        self._win_frames_in = self._win_dropped = 0
        self._last_media, self._last_wall, self._last_cpu = media_s, now, cpu
        while self._next_at <= media_s:
            self._next_at += self.interval_s
        return payload
