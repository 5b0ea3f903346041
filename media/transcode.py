"""The transcoder thread: one decode feeding the whole ladder, from the first input to the recording.

It demuxes and decodes each input once, puts every frame on the show's single ``Timeline`` (which decides
the 2 s cuts), hands frames to the rendition threads and AAC packets to all of them, samples quality, picks
thumbnails, and at the end writes the VOD recording. It is plain blocking code on purpose: ``worker.py`` runs
it in a thread so the event loop stays free for the RTMP gate and the event sink.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.encoders import AudioEncoder, VideoEncoder
from media.errors import CorruptMedia, IngestFailed
from media.events import (
    INGEST_FAILED,
    INGEST_INTERRUPTED,
    INGEST_STARTED,
    INGEST_STOPPED,
    QUALITY_SAMPLE,
    RECORDING_READY,
    THUMBNAIL_READY,
)
from media.hls import MASTER_PLAYLIST, VOD_PLAYLIST, MediaPlaylist, Segment
from media.ingest import Opened
from media.ladder import AUDIO_CODECS, AUDIO_ONLY_NAME, LadderPlan, plan_ladder
from media.options import InputSource, MediaOptions
from media.orientation import Upright
from media.playlists import media_segments
from media.quality import QualityMeter
from media.recording import finish_recording, write_live_master
from media.rendition import Emit, RenditionWorker
from media.segmenter import TICKS, TIME_BASE, Cut, PacketRecord
from media.thumbnails import ThumbnailPicker, luma_of, save_thumbnail
from media.timeline import Timeline


class Transcoder:
    def __init__(
        self,
        *,
        stream_id: str,
        out_dir: Path,
        url_base: str,
        source: InputSource,
        emit: Emit,
        options: MediaOptions,
        stop: threading.Event,
        clock: Callable[[], datetime],
        append: bool = False,
    ) -> None:
        """``append``: the show may already have output from an earlier worker (a live show whose host came
        back after its worker had finished, or a restarted worker): number on after its segments, never over
        them, and let the VOD recording list the earlier take too, after an ``EXT-X-DISCONTINUITY``."""
        self.out_dir, self.url_base = out_dir, url_base.rstrip("/")
        self.append = append
        self._first_index = 0
        self.source, self.emit, self.opt, self.stop, self.clock = source, emit, options, stop, clock
        self.plan: LadderPlan | None = None
        self.timeline = Timeline(segment_seconds=options.segment_seconds, fps=options.max_fps)
        self.meter: QualityMeter | None = None
        self.workers: list[RenditionWorker] = []
        self.audio: AudioEncoder | None = None
        self.picker = ThumbnailPicker(interval_s=options.thumbnail_interval_s)
        self.upright = Upright()
        self.thumbnails = 0
        self._prev_luma: np.ndarray | None = None
        self._slack = float("inf")
        self._last_src_s = 0.0
        self._live = False
        self._wall0 = 0.0

    # --- the show --------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        try:
            return self._run()
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """After a failure: let the rendition threads end (they are daemons, but hold encoders and files)."""
        for w in self.workers:
            with contextlib.suppress(Exception):
                w.inbox.put(("end", self.timeline.end), timeout=1)
        for w in self.workers:
            w.join(timeout=5)

    def _run(self) -> dict[str, Any]:
        first, reason = True, "end_of_input"
        while True:
            try:
                opened = self.source.next_input(first, self.stop)
            except IngestFailed as exc:
                if first:
                    raise
                self.emit(INGEST_FAILED, {"error": exc.code, "message": str(exc), "source": self.source.kind})
                reason = "ingest_failed"
                break
            if opened is None:
                reason = "stopped" if self.stop.is_set() else ("no_publisher" if first else "publisher_lost")
                break
            self._live = opened.live
            outcome = self._run_input(opened, resumed=not first)
            first = False
            if outcome == "stopped":
                reason = "stopped"
                break
            if self.source.kind == "rtmp":
                if self.source.ended_cleanly():  # FFmpeg reports a clean unpublish as an I/O error too
                    reason = "unpublished"
                    break
                self.emit(
                    INGEST_INTERRUPTED,
                    {"reason": "connection_lost", "at_s": self._now_s(), "waiting_s": self.opt.reconnect_grace_s},
                )
                continue
            if outcome == "read_error":
                self.emit(INGEST_INTERRUPTED, {"reason": "read_error", "at_s": self._now_s(), "waiting_s": 0})
                reason = "input_error"
            else:
                reason = "end_of_input"
            break
        if self.plan is None:  # nothing was ever decoded (a stop before the first publish)
            self.emit(
                INGEST_STOPPED,
                {"reason": reason, "duration_s": 0.0, "frames_in": 0, "frames_dropped": 0, "segments": 0},
            )
            return {"reason": reason, "recording": None}
        return self._finish(reason)

    def _run_input(self, opened: Opened, *, resumed: bool) -> str:
        c = opened.container
        video = c.streams.video[0]
        video.codec_context.thread_count = self.opt.decode_threads
        audio = c.streams.audio[0] if opened.info.audio_codec else None
        self.timeline.begin_input()
        self._slack = float("inf")
        pending_audio: list[av.AudioFrame] = []
        started, decoded, errors_in_row = False, 0, 0
        pace = opened.pace
        packets = c.demux(*([video] + ([audio] if audio else [])))
        try:
            while not self.stop.is_set():
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError:  # a dropped publisher, a truncated file
                    if not decoded:
                        raise CorruptMedia(f"{opened.info.url}: unreadable stream") from None
                    for stream in [video] + ([audio] if audio else []):  # frames still in the decoders
                        with contextlib.suppress(av.error.FFmpegError):
                            for out in stream.codec_context.decode(None):
                                if isinstance(out, av.VideoFrame):
                                    self._video(self.upright(out), pace)
                                elif isinstance(out, av.AudioFrame):
                                    self._audio(out)
                    return "read_error"
                try:
                    frames = packet.decode()
                    errors_in_row = 0
                except av.error.FFmpegError:
                    errors_in_row += 1
                    if self.meter is not None:
                        self.meter.decode_errors += 1
                    if errors_in_row > 100 and not decoded:
                        raise CorruptMedia(f"{opened.info.url}: no decodable video") from None
                    continue
                for raw in frames:
                    if isinstance(raw, av.VideoFrame):
                        picture = self.upright(raw)
                        if not started:
                            started = True
                            self._on_first_frame(picture, opened, resumed)
                            for af in pending_audio:
                                self._audio(af)
                        decoded += 1
                        self._video(picture, pace)
                    elif isinstance(raw, av.AudioFrame):
                        if started:
                            self._audio(raw)
                        elif len(pending_audio) < 500:  # audio ahead of the first picture
                            pending_audio.append(raw)
            else:  # the loop condition failed: a stop request, not the end of the input
                return "stopped"
            if not decoded:
                raise CorruptMedia(f"{opened.info.url}: no decodable video")
            return "eof"
        finally:
            if self.audio is not None and self.meter is not None:  # per input: each has its own clock
                self._send_audio(self.audio.end_input(self.meter.audio))
            c.close()

    def _on_first_frame(self, frame: av.VideoFrame, opened: Opened, resumed: bool) -> None:
        if self.plan is None:
            self._setup(frame, opened)
        plan = self.plan
        assert plan is not None
        if self.audio is not None:
            self.audio.begin_input()
        self._wall0 = time.monotonic()  # real time starts with this input's first picture, after set-up
        self.emit(
            INGEST_STARTED,
            {
                **opened.info.payload(),
                "resumed": resumed,
                "segment_seconds": self.opt.segment_seconds,
                "master_url": f"{self.url_base}/{MASTER_PLAYLIST}",
                "renditions": [
                    {
                        "name": r.name,
                        "width": r.width,
                        "height": r.height,
                        "video_kbps": r.video_kbps,
                        "codecs": r.codecs,
                        "bandwidth": plan.declared_bandwidth(r),
                    }
                    for r in plan.video
                ]
                + (
                    [{"name": AUDIO_ONLY_NAME, "audio_kbps": plan.audio_kbps, "codecs": AUDIO_CODECS}]
                    if plan.audio_kbps
                    else []
                ),
            },
        )

    def _setup(self, frame: av.VideoFrame, opened: Opened) -> None:
        """Plan the ladder from the first decoded picture (its real size) and start the renditions."""
        info, o = opened.info, self.opt
        plan = plan_ladder(
            frame.width,
            frame.height,
            info.fps,
            info.audio_codec is not None,
            ladder=o.ladder,
            audio_kbps=o.audio_kbps,
            max_fps=o.max_fps,
        )
        self.plan = plan
        self.timeline = Timeline(segment_seconds=o.segment_seconds, fps=plan.fps)
        self.timeline.begin_input()
        if self.append:
            self._first_index = next_segment_index(self.out_dir)
            self.timeline.cut_index = self._first_index - 1
            thumbs = self.out_dir / "thumbs"
            self.thumbnails = len(list(thumbs.glob("*.jpg"))) if thumbs.is_dir() else 0
        self.meter = QualityMeter(plan.video, interval_s=o.quality_interval_s)
        if plan.audio_kbps:
            self.audio = AudioEncoder(kbps=plan.audio_kbps, channels=min(info.channels or 2, 2))
        a_tpl = self.audio.stream if self.audio else None
        for r in plan.video:
            enc = VideoEncoder(r, segment_seconds=o.segment_seconds, tuning=o.tuning)
            self.workers.append(self._worker(r.name, enc, a_tpl))
        if a_tpl is not None:
            self.workers.append(self._worker(AUDIO_ONLY_NAME, None, a_tpl))
        for w in self.workers:
            w.start()
        write_live_master(self.out_dir, plan, self.workers, o.start_rendition)

    def _worker(self, name: str, encoder: VideoEncoder | None, audio: Any) -> RenditionWorker:
        d = self.out_dir / name
        d.mkdir(parents=True, exist_ok=True)
        playlist = MediaPlaylist(
            d, segment_seconds=self.opt.segment_seconds, window=self.opt.live_window, part_target=self.opt.part_seconds
        )
        playlist.write_empty()  # players polling before the first segment get a valid, empty live list
        previous = earlier_take(d, self._first_index) if self._first_index else []
        playlist.previous = previous
        worker = RenditionWorker(
            name,
            d,
            encoder=encoder,
            audio=audio,
            playlist=playlist,
            meter=self.meter if encoder else None,
            emit=self.emit,
            url_base=self.url_base,
            part_seconds=self.opt.part_seconds,
        )
        worker.published.count_earlier(previous)
        return worker

    # --- per frame -------------------------------------------------------------------------------------
    def _video(self, frame: av.VideoFrame, pace: bool) -> None:
        assert self.meter is not None
        t = frame.time
        if t is None or not math.isfinite(t):  # a frame flushed out without a timestamp: the next slot
            t = self._last_src_s + self.timeline.interval / TICKS
        self._last_src_s = t
        placed = self.timeline.video(t)
        if placed is None:
            self.meter.frame_in()
            return
        ticks, cut = placed
        media_s, input_s = ticks / TICKS, (ticks - self.timeline.input_start) / TICKS
        wall0 = self._wall0
        if pace:  # a pre-recorded show played out as live
            delay = wall0 + input_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        now = time.monotonic()
        # Behind real time by how much, relative to the best we ever were (opening an input buffers some).
        self._slack = min(self._slack, (now - wall0) - input_s)
        lag = (now - wall0) - input_s - self._slack
        live = self._live
        if self.meter.due(media_s):  # the window ends just before this frame
            self.emit(QUALITY_SAMPLE, self.meter.sample(media_s, lag_s=lag if live else None))
        self.meter.frame_in()
        if live and not cut and lag > self.opt.max_lag_s:
            self.meter.dropped()
            return
        luma = luma_of(frame)
        self.picker.offer(media_s, frame, luma, self._prev_luma)
        self._prev_luma = luma
        frame.pts, frame.time_base = ticks, TIME_BASE
        if cut:
            c = Cut(self.timeline.cut_index, ticks, self.clock(), now)
            for w in self.workers:
                w.send("cut", c)
        for w in self.workers:
            if w.encoder is not None:
                w.send("frame", frame, cut)
        self._thumbnail(media_s, final=False)

    def _audio(self, frame: av.AudioFrame) -> None:
        t = frame.time
        if self.audio is None or self.meter is None or t is None or not math.isfinite(t):
            return
        ticks = self.timeline.ticks(t)
        if ticks is None or ticks < self.timeline.input_start - TICKS // 10:
            return  # sound from before the first picture of this input
        self._send_audio(self.audio.push(frame, ticks, self.meter.audio))

    def _send_audio(self, records: list[PacketRecord]) -> None:
        if records:
            for w in self.workers:
                w.send("audio", records)

    def _thumbnail(self, media_s: float, *, final: bool) -> None:
        chosen = self.picker.take_due(media_s, final=final)
        if chosen is None:
            return
        path, size = save_thumbnail(chosen, self.out_dir, self.thumbnails)
        self.thumbnails += 1
        rel = path.relative_to(self.out_dir).as_posix()
        self.emit(
            THUMBNAIL_READY,
            {
                "uri": rel,
                "url": f"{self.url_base}/{rel}",
                "width": chosen.frame.width,
                "height": chosen.frame.height,
                "at_s": round(chosen.at_s, 3),
                "bytes": size,
                "sharpness": round(chosen.score.sharpness, 1),
                "brightness": round(chosen.score.brightness, 1),
            },
        )

    # --- the end ---------------------------------------------------------------------------------------
    def _now_s(self) -> float:
        return round(self.timeline.end / TICKS, 3)

    def _finish(self, reason: str) -> dict[str, Any]:
        assert self.plan is not None and self.meter is not None
        if self.audio is not None:
            self._send_audio(self.audio.finish())
        for w in self.workers:
            w.send("end", self.timeline.end)
        for w in self.workers:
            w.join()
        if self.audio is not None:
            self.audio.close()
        failed = [w for w in self.workers if w.error is not None]
        if failed:
            raise RuntimeError(f"rendition {failed[0].rendition} failed") from failed[0].error
        end_s = self.timeline.end / TICKS
        if end_s - self.meter.last_sample_at > 0.5:
            self.emit(QUALITY_SAMPLE, self.meter.sample(end_s))
        if self.thumbnails == 0:
            self._thumbnail(end_s, final=True)
        recording = finish_recording(
            self.out_dir, self.plan, self.workers, start_with=self.opt.start_rendition, url_base=self.url_base
        )
        self.emit(RECORDING_READY, recording)
        self.emit(
            INGEST_STOPPED,
            {
                "reason": reason,
                "duration_s": round(end_s, 3),
                "frames_in": self.meter.frames_in,
                "frames_dropped": self.meter.frames_dropped,
                "segments": recording["segments"],
            },
        )
        return {"reason": reason, "recording": recording}


_SEGMENT_NAME = re.compile(r"^(\d{6})\.ts$")


def next_segment_index(out_dir: Path) -> int:
    """One past the highest segment number any rendition of the show has on disk (0 for a new show)."""
    highest = -1
    for path in out_dir.glob("*/*.ts"):
        m = _SEGMENT_NAME.match(path.name)
        if m:
            highest = max(highest, int(m.group(1)))
    return highest + 1


def earlier_take(directory: Path, before: int) -> list[Segment]:
    """A rendition's recording from an earlier worker (its VOD playlist), to keep in the show's recording."""
    vod = directory / VOD_PLAYLIST
    if not vod.exists():
        return []  # that worker died before its recording: its segments stay on disk, unlisted
    out = []
    for seg in media_segments(vod.read_text()):
        path = directory / seg.uri
        if seg.sequence >= before or not path.exists():
            continue
        out.append(
            Segment(
                sequence=seg.sequence,
                uri=seg.uri,
                duration=seg.duration,
                bytes=path.stat().st_size,
                program_date_time=seg.pdt,
                discontinuity=seg.discontinuity,
            )
        )
    return out
