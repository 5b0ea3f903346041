"""Tuning knobs of the media plane and the shape of an input source, shared by the worker and the transcoder.

These are not in ``infra.settings.Settings`` (which the media plane does not own); every field has a default
that suits production, and ``run_media_worker(options=...)`` overrides them per show or per test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from media.encoders import X264Tuning
from media.forwarding import ForwardOptions
from media.highlight_scoring import HighlightRules
from media.ingest import Opened
from media.ladder import DEFAULT_LADDER, Rung


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """Tuning knobs of the media plane (not in ``Settings``: each has a default that suits production)."""

    segment_seconds: float = 2.0
    live_window: int | None = 6  # segments in the live playlist; None = a growing EVENT playlist
    part_seconds: float | None = None  # LL-HLS: parts this long in the live playlists (None: off); ~0.5-1 s
    quality_interval_s: float = 4.0
    thumbnail_interval_s: float = 10.0
    max_lag_s: float = 4.0  # RTMP: skip frames (never a cut frame) once encoding falls this far behind
    audio_kbps: int = 64
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    max_fps: float = 30.0
    tuning: X264Tuning = field(default_factory=X264Tuning)
    decode_threads: int = 1
    start_rendition: str = "360p"  # first variant in the master = where players start
    publish_timeout_s: float | None = None  # RTMP: wait for the first publish (None: until stopped)
    reconnect_grace_s: float = 10.0  # RTMP: wait for the host to come back after a dropped connection
    read_timeout_s: float = 10.0  # RTMP: a publisher silent this long counts as dropped
    forward: ForwardOptions = field(default_factory=ForwardOptions)  # back-off, catch-up, drain at the end
    highlight_clips: int = 5  # at most this many highlights per show
    highlight_seconds: float = 10.0  # each about this long (a whole number of segments)
    highlight_rules: HighlightRules = field(default_factory=HighlightRules)


class InputSource(Protocol):
    kind: str

    def next_input(self, first: bool, stop: threading.Event) -> Opened | None: ...

    def ended_cleanly(self) -> bool: ...
