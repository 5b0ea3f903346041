"""Cutting encoded packets into 2 s MPEG-TS segments at the same instants in every rendition.

The transcoder decides the cut instants once (a keyframe is forced at each 2 s PTS boundary in every
rendition), and each rendition's ``SegmentAssembler`` routes its packets by timestamp into those windows.
A segment is written only when both its video and its audio are complete, because AAC frames and the
demuxer's interleaving make audio arrive a little after the video frame that opens the next segment.
Segments are written whole to a temporary file and renamed, so no one ever downloads half a segment.

Low-latency HLS (``part`` ticks, off by default): each window is also cut on a ``part`` grid from its start,
and a part is released as soon as video and audio have passed its end, long before the whole segment is
done. Parts are written as their own small MPEG-TS files; the whole segment is still written as before.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
from av.stream import Stream

TICKS = 90_000  # every timestamp here is in 90 kHz media time: 0 = the first video frame
TIME_BASE = Fraction(1, TICKS)
# Output timestamps start at 10 s, as broadcast MPEG-TS does (ffmpeg uses 1.4 s), so the AAC encoder's
# priming packet (slightly negative PTS) never makes the muxer shift the first segment against the others.
TS_OFFSET = 10 * TICKS
# Overhead matters at 150 kbps. max_delay lets the muxer pack ~0.7 s of AAC frames into one PES (otherwise
# each 170-byte frame takes two TS packets: +100 % on the audio-only rendition). A 2 s segment needs its
# PAT/PMT once, at its start, not every 100 ms (~30 kbps on every rendition), and no SDT repeats.
_TS_OPTIONS = {"max_delay": "700000", "pat_period": "60", "sdt_period": "60"}


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """An encoded packet, copied out of PyAV so several threads can mux the same audio safely."""

    kind: str  # "v" or "a"
    pts: int
    dts: int
    data: bytes
    key: bool
    duration: int = 0


@dataclass(frozen=True, slots=True)
class Cut:
    """Where segment ``index`` starts, and when its first frame reached the worker."""

    index: int
    start: int
    wall: datetime  # for EXT-X-PROGRAM-DATE-TIME
    ingest_mono: float  # time.monotonic() when its first frame was demuxed, for glass-to-playlist latency
    discontinuity: bool = False


@dataclass(slots=True)
class ClosedSegment:
    cut: Cut
    end: int
    packets: list[PacketRecord] = field(default_factory=list)
    parts_done: int = 0  # LL-HLS: parts of this window already released before it closed

    @property
    def duration(self) -> float:
        return (self.end - self.cut.start) / TICKS


@dataclass(frozen=True, slots=True)
class ClosedPart:
    """LL-HLS partial segment ``number`` of segment ``cut.index``: media ticks [start, end)."""

    cut: Cut
    number: int
    start: int
    end: int
    packets: list[PacketRecord]

    @property
    def duration(self) -> float:
        return (self.end - self.start) / TICKS

    @property
    def independent(self) -> bool:
        """Opens with a keyframe (every segment's first part does: the cut forces an IDR)."""
        video = [p for p in self.packets if p.kind == "v"]
        return not video or min(video, key=lambda p: p.dts).key


def split_parts(seg: ClosedSegment, part: int) -> list[ClosedPart]:
    """The parts of a closed window not yet released, up to its end (the last one may be shorter)."""
    out = []
    k = seg.parts_done
    while True:
        start = seg.cut.start + k * part
        if start >= seg.end and k > 0:
            return out
        end = min(start + part, seg.end)
        last = end >= seg.end
        out.append(ClosedPart(seg.cut, k, start, end, _between(seg.packets, start, end, k == 0, last)))
        if last:
            return out
        k += 1


def _between(packets: list[PacketRecord], start: int, end: int, first: bool, last: bool) -> list[PacketRecord]:
    """Packets of [start, end); the first part also takes anything earlier, the last anything later."""
    return [p for p in packets if (first or p.pts >= start) and (last or p.pts < end)]


class SegmentAssembler:
    """Routes packets into cut windows and releases a window once nothing more can arrive for it."""

    def __init__(self, *, has_video: bool, has_audio: bool, audio_grace: int = TICKS, part: int | None = None) -> None:
        self.has_video, self.has_audio = has_video, has_audio
        self.part = part  # LL-HLS part length in ticks, or None
        self._parts_done: dict[int, int] = {}
        # If audio lags video by more than this, close anyway: a stalled audio track must not stall HLS.
        self.audio_grace = audio_grace
        self._cuts: list[Cut] = []
        self._starts: list[int] = []
        self._packets: dict[int, list[PacketRecord]] = {}
        self._orphans: list[PacketRecord] = []  # audio that arrives before the first cut
        self._v_mark = self._a_mark = -(1 << 62)
        self._closed_any = False
        self.late_packets = 0

    def add_cut(self, cut: Cut) -> None:
        if self._starts and cut.start <= self._starts[-1]:
            raise ValueError(f"cut {cut.index} at {cut.start} is not after {self._starts[-1]}")
        self._cuts.append(cut)
        self._starts.append(cut.start)
        self._packets[cut.index] = []
        if len(self._cuts) == 1 and self._orphans:
            self._packets[cut.index].extend(self._orphans)
            self._orphans.clear()

    def add_packet(self, rec: PacketRecord) -> None:
        if rec.kind == "v":
            self._v_mark = max(self._v_mark, rec.pts)
        else:
            self._a_mark = max(self._a_mark, rec.pts)
        if not self._cuts:
            self._orphans.append(rec)
            return
        i = bisect.bisect_right(self._starts, rec.pts) - 1
        if i < 0:
            if self._closed_any:  # its window was already written: too late to add
                self.late_packets += 1
                return
            i = 0
        self._packets[self._cuts[i].index].append(rec)

    def ready(self) -> list[ClosedSegment]:
        """Segments whose next cut is known and whose video and audio have both passed that cut."""
        out: list[ClosedSegment] = []
        while len(self._cuts) >= 2:
            end = self._starts[1]
            video_done = not self.has_video or self._v_mark >= end
            audio_done = (
                not self.has_audio or self._a_mark >= end or (self.has_video and self._v_mark >= end + self.audio_grace)
            )
            if not (video_done and audio_done):
                break
            out.append(self._pop(end))
        return out

    def parts(self) -> list[ClosedPart]:
        """LL-HLS: parts of the oldest open window whose video and audio have both passed their end (a part
        that would reach the next cut is left to ``split_parts`` when the window closes)."""
        if self.part is None or not self._cuts:
            return []
        out: list[ClosedPart] = []
        cut = self._cuts[0]
        next_start = self._starts[1] if len(self._cuts) > 1 else None
        k = self._parts_done.get(cut.index, 0)
        while True:
            start = cut.start + k * self.part
            end = start + self.part
            if next_start is not None and end >= next_start:
                break
            video_done = not self.has_video or self._v_mark >= end
            audio_done = (
                not self.has_audio or self._a_mark >= end or (self.has_video and self._v_mark >= end + self.audio_grace)
            )
            if not (video_done and audio_done):
                break
            out.append(ClosedPart(cut, k, start, end, _between(self._packets[cut.index], start, end, k == 0, False)))
            k += 1
            self._parts_done[cut.index] = k
        return out

    def finish(self, end: int) -> list[ClosedSegment]:
        """At the end of input: everything left, the last segment ending at ``end``."""
        out = []
        while self._cuts:
            seg_end = self._starts[1] if len(self._cuts) > 1 else max(end, self._starts[0] + 1)
            out.append(self._pop(seg_end))
        return out

    def _pop(self, end: int) -> ClosedSegment:
        cut = self._cuts.pop(0)
        self._starts.pop(0)
        self._closed_any = True
        return ClosedSegment(
            cut=cut, end=end, packets=self._packets.pop(cut.index), parts_done=self._parts_done.pop(cut.index, 0)
        )


def write_segment(path: Path, segment: ClosedSegment | ClosedPart, templates: Mapping[str, Stream]) -> int:
    """Mux one segment to MPEG-TS (``templates`` maps "v"/"a" to a stream carrying the codec parameters)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with av.open(str(tmp), "w", format="mpegts", container_options=_TS_OPTIONS) as out:
            streams = {kind: out.add_stream_from_template(t) for kind, t in templates.items()}
            # Write PAT/PMT even if this window got no packets (audio that ended early): the segment must
            # exist so every rendition keeps the same sequence numbers.
            out.start_encoding()
            # Video first on equal DTS so the segment opens with the keyframe (and its SPS/PPS).
            for rec in sorted(segment.packets, key=lambda r: (r.dts, r.kind != "v")):
                stream = streams.get(rec.kind)
                if stream is None:
                    continue
                pkt = av.Packet(rec.data)
                pkt.pts, pkt.dts = rec.pts + TS_OFFSET, rec.dts + TS_OFFSET
                pkt.duration = rec.duration
                pkt.time_base = TIME_BASE
                pkt.is_keyframe = rec.key
                pkt.stream = stream
                out.mux(pkt)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size
