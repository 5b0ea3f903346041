"""Encoder set-up: libx264 for each video rendition, one AAC encoder shared by all renditions.

Each encoder lives on a stream of a throw-away in-memory MPEG-TS container whose header we write once: that
fills the stream's codec parameters (AAC's AudioSpecificConfig, sample rate, channels), so every segment
container can copy them with ``add_stream_from_template``. PyAV offers no other way to hand encoder output
to many short-lived muxers.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream

from media.ladder import VideoRendition
from media.segmenter import TICKS, TIME_BASE, PacketRecord

AUDIO_RATE = 48_000
AUDIO_TB = Fraction(1, AUDIO_RATE)
AAC_FRAME = 1024


@dataclass(frozen=True, slots=True)
class X264Tuning:
    """Live encoding on a small box: fast preset, no lookahead (latency), one thread per encoder because
    each rendition already runs in its own thread and two cores are shared by four encoders and a decoder."""

    preset: str = "veryfast"
    tune: str = "zerolatency"
    profile: str = "main"
    threads: int = 1


class VideoEncoder:
    def __init__(self, rendition: VideoRendition, *, segment_seconds: float, tuning: X264Tuning = X264Tuning()) -> None:
        self.rendition = rendition
        self._proto: OutputContainer = av.open(io.BytesIO(), "w", format="mpegts")
        fps = Fraction(rendition.fps).limit_denominator(1001)
        stream = self._proto.add_stream("libx264", rate=fps)
        assert isinstance(stream, VideoStream)
        cc = stream.codec_context
        cc.width, cc.height, cc.pix_fmt = rendition.width, rendition.height, "yuv420p"
        cc.time_base = TIME_BASE
        stream.time_base = TIME_BASE
        cc.bit_rate = rendition.video_kbps * 1000
        cc.thread_count = tuning.threads
        gop = max(2, int(round(segment_seconds * rendition.fps)))
        cc.options = {
            "preset": tuning.preset,
            "tune": tuning.tune,
            "profile": tuning.profile,
            "level": rendition.level,
            "maxrate": str(rendition.maxrate_kbps * 1000),
            "bufsize": str(rendition.bufsize_kbits * 1000),
            # Keyframes come only from us, at the 2 s boundaries, identically in every rendition: x264's
            # own scene-cut and GOP-length decisions would differ per rendition and misalign segments.
            "g": str(gop * 4),
            "sc_threshold": "0",
            "forced-idr": "1",
        }
        self._proto.start_encoding()
        self.stream = stream
        self.codec = cc

    def encode(self, frame: av.VideoFrame | None) -> list[av.Packet]:
        return self.codec.encode(frame)

    def close(self) -> None:
        self._proto.close()


class AudioEncoder:
    """Decoded audio of any rate/layout in, AAC packet records (90 kHz) out, on one sample clock.

    Each input gets its own resampler (its timestamps are its own); the encoder and its clock carry on, so a
    reconnect never makes AAC timestamps go backwards, which the MPEG-TS muxer would reject.
    """

    def __init__(self, *, kbps: int, channels: int) -> None:
        self._proto: OutputContainer = av.open(io.BytesIO(), "w", format="mpegts")
        stream = self._proto.add_stream("aac", rate=AUDIO_RATE)
        assert isinstance(stream, AudioStream)
        cc = stream.codec_context
        self.layout = "mono" if channels == 1 else "stereo"
        cc.layout = self.layout
        cc.format = "fltp"
        cc.bit_rate = kbps * 1000
        cc.time_base = Fraction(1, AUDIO_RATE)
        cc.options = {"aac_coder": "fast"}  # the default "twoloop" coder costs CPU the video needs
        self._proto.start_encoding()
        self.stream = stream
        self.codec = cc
        self._resampler: av.AudioResampler | None = None
        self._next: int | None = None  # PTS (48 kHz) of the next AAC frame

    def begin_input(self) -> None:
        # Cuts the decoded audio into the 1024-sample frames AAC needs, at 48 kHz, whatever the source.
        self._resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=AUDIO_RATE, frame_size=AAC_FRAME)

    def push(self, frame: av.AudioFrame, ticks: int, level: Callable[[np.ndarray], None]) -> list[PacketRecord]:
        """Encode ``frame``, which starts at media time ``ticks``; ``level`` sees the samples (dBFS meter)."""
        if self._resampler is None:
            self.begin_input()
        assert self._resampler is not None
        frame.pts, frame.time_base = int(round(ticks * AUDIO_RATE / TICKS)), AUDIO_TB
        return self._encode(self._resampler.resample(frame), level)

    def end_input(self, level: Callable[[np.ndarray], None]) -> list[PacketRecord]:
        if self._resampler is None:
            return []
        tail, self._resampler = self._resampler.resample(None), None
        return self._encode(tail, level)

    def finish(self) -> list[PacketRecord]:
        return self._records(self.codec.encode(None))

    def _encode(self, frames: list[av.AudioFrame], level: Callable[[np.ndarray], None]) -> list[PacketRecord]:
        out: list[PacketRecord] = []
        for rf in frames:
            # Count samples rather than trust each input timestamp (RTMP rounds them to ms); re-anchor
            # only on a real gap (> 100 ms), never backwards.
            if self._next is None or (rf.pts is not None and rf.pts - self._next > AUDIO_RATE // 10):
                self._next = rf.pts if rf.pts is not None else 0
            rf.pts, rf.time_base = self._next, AUDIO_TB
            self._next += rf.samples
            level(rf.to_ndarray())
            out += self._records(self.codec.encode(rf))
        return out

    @staticmethod
    def _records(packets: list[av.Packet]) -> list[PacketRecord]:
        recs = []
        for p in packets:
            pts = to_ticks(p.pts, p.time_base)
            recs.append(PacketRecord("a", pts, pts, bytes(p), True, to_ticks(p.duration, p.time_base)))
        return recs

    def close(self) -> None:
        self._proto.close()


def to_ticks(value: int | None, time_base: Fraction | None) -> int:
    """Rescale a PyAV timestamp into 90 kHz ticks."""
    if value is None or time_base is None:
        raise ValueError("timestamp without a time base")
    return int(round(value * time_base * TICKS))
