"""Media time: one clock for the whole show, whatever the inputs' own timestamps do.

Time 0 is the first video frame. When the host reconnects, the new input continues where the last frame
ended (the output stays continuous, so players need no discontinuity). Segment cuts fall on an exact grid
of ``segment`` ticks from the start (and from each resume point); the first frame at or after a grid point
gets the forced keyframe. Frames above the frame-rate cap, and frames going back in time, are skipped.
"""

from __future__ import annotations

from media.segmenter import TICKS


class Timeline:
    def __init__(self, *, segment_seconds: float, fps: float) -> None:
        self.segment = int(round(segment_seconds * TICKS))
        self.interval = int(round(TICKS / fps))
        self._origin: float | None = None  # source seconds of the current input's first video frame
        self._base = 0  # media ticks of that frame
        self._next_due = 0
        self._next_cut = 0
        self._last = -1
        self.cut_index = -1
        self.end = 0  # media ticks just after the last frame kept
        self.skipped = 0

    @property
    def started(self) -> bool:
        return self._origin is not None

    @property
    def input_start(self) -> int:
        """Media ticks at which the current input began."""
        return self._base

    def begin_input(self) -> None:
        """A new input (first publish or a reconnect): its first frame continues the show and opens a cut."""
        self._origin = None

    def video(self, source_s: float) -> tuple[int, bool] | None:
        """(media ticks, opens a segment) for a decoded frame, or None if it is to be skipped."""
        if self._origin is None:
            self._origin, self._base = source_s, self.end
            self._next_cut = self._base  # a cut (and a fresh grid) at the first frame of every input
        t = self._base + int(round((source_s - self._origin) * TICKS))
        if t <= self._last or t < self._next_due - self.interval // 4:
            self.skipped += 1
            return None
        self._next_due = max(self._next_due, t) + self.interval
        cut = t >= self._next_cut
        if cut:
            self.cut_index += 1
            while self._next_cut <= t:
                self._next_cut += self.segment
        self._last = t
        self.end = t + self.interval
        return t, cut

    def ticks(self, source_s: float) -> int | None:
        """Media ticks for audio; None until this input's first video frame fixed the origin."""
        if self._origin is None:
            return None
        return self._base + int(round((source_s - self._origin) * TICKS))
