"""One rendition of the ladder, in its own thread: scale, encode, cut into segments, publish.

libx264 and swscale release the GIL, so four renditions in four threads use both cores while the transcoder
thread decodes; each encoder runs single-threaded (``X264Tuning.threads``) to avoid oversubscribing. The
audio-only rendition is the same class without an encoder: it only segments the shared AAC packets.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from av.stream import Stream
from av.video.frame import PictureType
from av.video.reformatter import Interpolation, VideoReformatter

from media.encoders import VideoEncoder, to_ticks
from media.events import SEGMENT_PUBLISHED
from media.hls import MediaPlaylist, Part, Segment
from media.quality import QualityMeter
from media.segmenter import (
    TICKS,
    ClosedPart,
    ClosedSegment,
    PacketRecord,
    SegmentAssembler,
    split_parts,
    write_segment,
)

Emit = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class Published:
    """What the recording needs to know about a rendition once the show is over."""

    segments: int = 0
    bytes: int = 0
    peak_bps: float = 0.0
    seconds: float = 0.0

    def count_earlier(self, segments: list[Segment]) -> None:
        """An earlier take of the show belongs to its recording: its sizes and durations count too."""
        for s in segments:
            self.segments += 1
            self.bytes += s.bytes
            self.seconds += s.duration
            if s.duration > 0.5:
                self.peak_bps = max(self.peak_bps, s.bytes * 8 / s.duration)


class RenditionWorker(threading.Thread):
    def __init__(
        self,
        name: str,
        directory: Path,
        *,
        encoder: VideoEncoder | None,
        audio: Stream | None,
        playlist: MediaPlaylist,
        meter: QualityMeter | None,
        emit: Emit,
        url_base: str,
        max_queue: int = 8,
        part_seconds: float | None = None,
    ) -> None:
        super().__init__(name=f"rendition-{name}", daemon=True)
        self.rendition, self.directory = name, directory
        self.encoder, self.playlist, self.meter = encoder, playlist, meter
        self._emit, self._url_base = emit, url_base.rstrip("/")
        self.templates: dict[str, Stream] = {}
        if encoder is not None:
            self.templates["v"] = encoder.stream
        if audio is not None:
            self.templates["a"] = audio
        self._part = None if not part_seconds else int(round(part_seconds * TICKS))
        self.assembler = SegmentAssembler(has_video=encoder is not None, has_audio=audio is not None, part=self._part)
        self._part_files: dict[int, list[Path]] = {}  # LL-HLS part files per segment, removed once unlisted
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=max_queue)
        self.published = Published()
        self.error: BaseException | None = None
        self._scaler = VideoReformatter()

    # --- called by the transcoder thread ---------------------------------------------------------------
    def send(self, *message: Any) -> None:
        """Queue work; blocks while the rendition is behind (back-pressure), fails if it died."""
        while True:
            if self.error is not None:
                raise RuntimeError(f"rendition {self.rendition} failed") from self.error
            try:
                self.inbox.put(message, timeout=0.5)
                return
            except queue.Full:
                continue

    # --- the thread ------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            while True:
                kind, *args = self.inbox.get()
                if kind == "frame":
                    self._encode(*args)
                elif kind == "audio":
                    for rec in args[0]:
                        self.assembler.add_packet(rec)
                elif kind == "cut":
                    self.assembler.add_cut(args[0])
                elif kind == "end":
                    if self.encoder is not None:
                        self._collect(self.encoder.encode(None))
                    for seg in self.assembler.finish(args[0]):
                        self._publish(seg)
                    for paths in self._part_files.values():  # the show is over: parts serve no one now
                        for path in paths:
                            path.unlink(missing_ok=True)
                    self._part_files.clear()
                    return
                for seg in self.assembler.ready():
                    self._publish(seg)
                for part in self.assembler.parts():
                    self._publish_part(part)
        except BaseException as exc:  # reported to the transcoder through send()/join
            self.error = exc
            while True:  # keep draining so the transcoder never blocks on a dead rendition
                try:
                    if self.inbox.get(timeout=5)[0] == "end":
                        return
                except queue.Empty:
                    return
        finally:
            if self.encoder is not None:
                self.encoder.close()

    def _encode(self, frame: av.VideoFrame, keyframe: bool) -> None:
        assert self.encoder is not None
        r = self.encoder.rendition
        scaled = self._scaler.reformat(frame, r.width, r.height, format="yuv420p", interpolation=Interpolation.AREA)
        # At source size the reformatter hands back the decoded frame itself; only this thread encodes it,
        # the other renditions merely read its pixels, so setting pts/pict_type on it is safe.
        scaled.pts, scaled.time_base = frame.pts, frame.time_base
        # The forced IDR at every cut is what makes segments start at the same instant in every rendition.
        scaled.pict_type = PictureType.I if keyframe else PictureType.NONE
        self._collect(self.encoder.encode(scaled))

    def _collect(self, packets: list[av.Packet]) -> None:
        for p in packets:
            pts = to_ticks(p.pts, p.time_base)
            dts = to_ticks(p.dts, p.time_base) if p.dts is not None else pts
            rec = PacketRecord(
                "v", pts, dts, bytes(p), p.is_keyframe, to_ticks(p.duration, p.time_base) if p.duration else 0
            )
            if self.meter is not None:
                self.meter.video_packet(self.rendition, p.size, p.is_keyframe, pts)
            self.assembler.add_packet(rec)

    def _publish_part(self, part: ClosedPart) -> None:
        uri = f"{part.cut.index:06d}.{part.number}.ts"
        path = self.directory / uri
        write_segment(path, part, self.templates)
        self._part_files.setdefault(part.cut.index, []).append(path)
        self.playlist.add_part(part.cut.index, Part(uri, part.duration, part.independent))

    def _publish(self, seg: ClosedSegment) -> None:
        cut = seg.cut
        if self._part is not None:
            for part in split_parts(seg, self._part):  # the rest of its parts first, as players expect
                self._publish_part(part)
            # Parts of older segments are no longer listed; one more segment of slack for slow pollers.
            for seq in [q for q in self._part_files if q < cut.index - MediaPlaylist.PARTS_FOR_SEGMENTS]:
                for path in self._part_files.pop(seq):
                    path.unlink(missing_ok=True)
        uri = f"{cut.index:06d}.ts"
        size = write_segment(self.directory / uri, seg, self.templates)
        self.playlist.add(
            Segment(
                sequence=cut.index,
                uri=uri,
                duration=seg.duration,
                bytes=size,
                program_date_time=cut.wall,
                discontinuity=cut.discontinuity,
            )
        )
        latency_ms = (time.monotonic() - cut.ingest_mono) * 1000
        p = self.published
        p.segments += 1
        p.bytes += size
        p.seconds += seg.duration
        if seg.duration > 0.5:  # a short tail segment says nothing about the peak rate
            p.peak_bps = max(p.peak_bps, size * 8 / seg.duration)
        self._emit(
            SEGMENT_PUBLISHED,
            {
                "rendition": self.rendition,
                "sequence": cut.index,
                "duration_s": round(seg.duration, 6),
                "bytes": size,
                "uri": f"{self.rendition}/{uri}",
                "url": f"{self._url_base}/{self.rendition}/{uri}",
                "start_s": round(cut.start / TICKS, 6),
                "program_date_time": cut.wall.isoformat(),
                "latency_ms": round(latency_ms, 1),
            },
        )


def publish_order(names: list[str], start_with: str) -> list[str]:
    """Master playlist order: players start with the first variant, so a sensible 3G rung goes first."""
    return sorted(names, key=lambda n: (n != start_with, n == "audio"))
