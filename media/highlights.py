"""Highlights: short, shoppable clips cut from a finished recording at the show's best moments.

The moments come from two places. The log says what the audience and the host did — chat and reaction
spikes, purchases, a product being featured — as envelopes (``interactions`` and ``domain`` topics) that the
caller reads and hands over. The recording says what was seen and heard: motion energy between frames and
the loudness of the sound, measured with numpy on the smallest rendition.

Everything is scored per recorded segment (2 s, an IDR at each start in every rendition), because a clip is
a range of segments: it is cut without re-encoding, as a small VOD playlist per clip that points at the
recording's own segment files (``highlights/NN/index.m3u8``, every rendition, so a phone on 2G still gets
an adaptive replay) and, for sharing, the top rendition remuxed to MP4 (``highlights/NN/clip.mp4``).

Wall-clock times on the log are placed on the recording with the segments' EXT-X-PROGRAM-DATE-TIME. Each
clip carries the product featured at its peak (the latest ``LiveStream.ProductFeatured`` before it), so a
replay can show a "buy" button for what was on screen.

Where things live: the recording read back and its wall clock in ``recorded.py``; the signals, scores and the
clips' choice in ``highlight_scoring.py``; this module cuts the chosen clips and announces them.
"""

from __future__ import annotations

import asyncio
import bisect
import shutil
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np

from application.envelope import Envelope
from infra.settings import Settings
from media.events import HIGHLIGHT_READY, EventSink, media_event
from media.forwarding import dts_seconds, shift_packet
from media.highlight_scoring import (
    DEFAULT_RULES,
    STREAM_ENDED,
    HighlightRules,
    av_signals,
    belongs,
    log_signals,
    pick_clips,
    score_segments,
)
from media.hls import (
    MediaPlaylist,
    Segment,
    Variant,
    render_master,
    write_atomic,
)
from media.playlists import PlaylistSegment
from media.recorded import Recording, read_recording
from media.thumbnails import clip_poster

Emit = Callable[[str, dict[str, Any]], None]
LogEvents = Iterable[Envelope] | AsyncIterable[Envelope]
# What the worker accepts: the envelopes, or a function called at the end of the show that returns them.
LogSource = LogEvents | Callable[[], LogEvents | Awaitable[LogEvents]]

HIGHLIGHTS_DIR = "highlights"
CLIP_INDEX = "index.m3u8"  # highlights/NN/index.m3u8: the clip's master playlist


@dataclass(frozen=True, slots=True)
class Highlight:
    index: int  # NN in highlights/NN/, 1-based, in show order
    rank: int  # 1 = the best
    start_s: float
    end_s: float
    peak_s: float
    score: float
    reasons: tuple[str, ...]
    featured_product_id: str | None
    first_sequence: int
    last_sequence: int
    uri: str  # highlights/NN/index.m3u8, relative to the show's directory
    url: str
    mp4_uri: str | None
    mp4_url: str | None
    program_date_time: datetime | None
    counts: dict[str, int]
    thumbnail_uri: str | None = None  # highlights/NN/poster.jpg: the peak's first frame
    thumbnail_url: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def payload(self) -> dict[str, Any]:
        """The ``media.highlight_ready`` payload."""
        return {
            "index": self.index,
            "rank": self.rank,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "peak_s": round(self.peak_s, 3),
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
            "featured_product_id": self.featured_product_id,
            "segments": {"first": self.first_sequence, "last": self.last_sequence},
            "uri": self.uri,
            "url": self.url,
            "mp4_uri": self.mp4_uri,
            "mp4_url": self.mp4_url,
            "program_date_time": self.program_date_time.isoformat() if self.program_date_time else None,
            "counts": self.counts,
            "thumbnail_uri": self.thumbnail_uri,
            "thumbnail_url": self.thumbnail_url,
        }


def featured_at(featured: list[tuple[float, str]], media_s: float) -> str | None:
    """The product featured at ``media_s``: the latest one featured at or before it."""
    i = bisect.bisect_right([t for t, _ in featured], media_s + 1e-6) - 1
    return featured[i][1] if i >= 0 else None


def wants_highlights(events: Iterable[Envelope], stream_id: str) -> bool:
    """Did the show's end command ask for highlights (``LiveStream.Ended.auto_generate_highlights``)?"""
    return any(
        e.type == STREAM_ENDED and belongs(e, stream_id) and e.payload.get("auto_generate_highlights") for e in events
    )


def generate_highlights(
    out_dir: Path,
    stream_id: str,
    events: Iterable[Envelope],
    *,
    url_base: str,
    max_clips: int = 5,
    clip_seconds: float = 10.0,
    rules: HighlightRules = DEFAULT_RULES,
    mp4: bool = True,
) -> list[Highlight]:
    """The blocking part of ``make_highlights``: analyse, choose, write the clips (in show order)."""
    rec = read_recording(out_dir)
    timeline = rec.timeline()
    if not timeline:
        return []
    log = log_signals(events, stream_id, timeline, rules)
    smallest = rec.video[-1] if rec.video else None
    media = av_signals(out_dir / smallest.name, rec.segments[smallest.name]) if smallest else None
    scored = score_segments(log, media, rules)
    seg_s = float(np.median([s.duration for s in timeline]))
    clip_segments = max(1, round(clip_seconds / seg_s))
    picks = pick_clips(
        scored.score, clip_segments=clip_segments, max_clips=max_clips, min_score=rules.min_score, lead=rules.lead
    )
    root = out_dir / HIGHLIGHTS_DIR
    shutil.rmtree(root, ignore_errors=True)  # a re-run replaces the previous set
    url_base = url_base.rstrip("/")
    out: list[Highlight] = []
    ranks = {p: r for r, p in enumerate(picks, start=1)}
    for index, (first, last, peak) in enumerate(sorted(picks), start=1):
        moments = sorted(log.moments[peak])
        peak_s = moments[len(moments) // 2] if moments else timeline[peak].start_s + timeline[peak].duration / 2
        directory = root / f"{index:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        _write_clip_playlists(rec, directory, first, last)
        mp4_rel = None
        if mp4 and rec.video:
            top = rec.video[0].name
            _remux_mp4(out_dir / top, rec.segments[top][first : last + 1], directory / "clip.mp4")
            mp4_rel = (directory / "clip.mp4").relative_to(out_dir).as_posix()
        rel = (directory / CLIP_INDEX).relative_to(out_dir).as_posix()
        poster = None
        if rec.video:
            top = rec.video[0].name
            if clip_poster(out_dir / top / rec.segments[top][peak].uri, directory / "poster.jpg"):
                poster = (directory / "poster.jpg").relative_to(out_dir).as_posix()
        reasons = tuple(dict.fromkeys(r for i in range(first, last + 1) for r in scored.reasons[i]))
        out.append(
            Highlight(
                index=index,
                rank=ranks[(first, last, peak)],
                start_s=timeline[first].start_s,
                end_s=timeline[last].end_s,
                peak_s=peak_s,
                score=float(scored.score[peak]),
                reasons=tuple(sorted(reasons, key=lambda r: r not in scored.reasons[peak])),
                featured_product_id=featured_at(log.featured, peak_s),
                first_sequence=timeline[first].sequence,
                last_sequence=timeline[last].sequence,
                uri=rel,
                url=f"{url_base}/{rel}",
                mp4_uri=mp4_rel,
                mp4_url=f"{url_base}/{mp4_rel}" if mp4_rel else None,
                program_date_time=timeline[first].pdt,
                counts={
                    "chat": int(log.chat[first : last + 1].sum()),
                    "reactions": int(log.reactions[first : last + 1].sum()),
                    "purchases": int(log.purchases[first : last + 1].sum()),
                },
                thumbnail_uri=poster,
                thumbnail_url=f"{url_base}/{poster}" if poster else None,
            )
        )
    return out


def _write_clip_playlists(rec: Recording, directory: Path, first: int, last: int) -> None:
    """Per rendition a VOD playlist of the recording's own segment files; ``index.m3u8`` is their master."""
    variants: list[Variant] = []
    for v in rec.variants:
        segs = rec.segments[v.name][first : last + 1]
        target = max(1, round(max(s.duration for s in segs)))
        playlist = MediaPlaylist(directory, segment_seconds=target, window=None)
        text = playlist.render(
            [
                Segment(
                    sequence=s.sequence,
                    uri=f"../../{v.name}/{s.uri}",
                    duration=s.duration,
                    bytes=0,
                    program_date_time=s.pdt,
                    discontinuity=s.discontinuity,
                )
                for s in segs
            ],
            playlist_type="VOD",
            ended=True,
        )
        write_atomic(directory / f"{v.name}.m3u8", text)
        variants.append(replace(v.variant, uri=f"{v.name}.m3u8"))
    write_atomic(directory / CLIP_INDEX, render_master(variants))


def _remux_mp4(rendition_dir: Path, segments: list[PlaylistSegment], path: Path) -> None:
    """The clip's segments, copied (no re-encode) into one MP4 that starts at 0, moov first for phones."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            mapping: dict[int, Any] = {}
            offset: float | None = None
            for seg in segments:
                with av.open(str(rendition_dir / seg.uri)) as c:
                    if not mapping:
                        mapping = {
                            s.index: out.add_stream_from_template(s) for s in c.streams if s.type in ("video", "audio")
                        }
                    packets = [
                        p for p in c.demux() if p.dts is not None and p.pts is not None and p.stream.index in mapping
                    ]
                    if not packets:
                        continue
                    if offset is None:
                        offset = min(dts_seconds(p) for p in packets)
                    for p in packets:
                        shift_packet(p, offset)
                        p.stream = mapping[p.stream.index]
                        out.mux(p)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


async def collect_events(events: LogEvents) -> list[Envelope]:
    if isinstance(events, AsyncIterable):
        return [e async for e in events]
    return list(events)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def make_highlights(
    settings: Settings,
    stream_id: str,
    log_events: LogEvents,
    *,
    max_clips: int = 5,
    clip_seconds: float = 10.0,
    rules: HighlightRules = DEFAULT_RULES,
    mp4: bool = True,
    sink: EventSink | None = None,
    emit: Emit | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> list[Highlight]:
    """Cut up to ``max_clips`` clips of about ``clip_seconds`` from the finished recording under
    ``settings.media_root / stream_id``, at the moments ``log_events`` (the show's envelopes from the
    ``interactions`` and ``domain`` topics, in any order) and the picture and sound point to.

    Each clip gets a ``media.highlight_ready`` event, through ``emit(type, payload)`` (the worker's) or
    published on ``sink``. Returns the clips in show order. Raises FileNotFoundError without a recording.
    """
    out_dir = Path(settings.media_root) / stream_id
    events = await collect_events(log_events)
    url_base = f"{settings.playback_base_url.rstrip('/')}/{stream_id}"
    highlights = await asyncio.to_thread(
        generate_highlights,
        out_dir,
        stream_id,
        events,
        url_base=url_base,
        max_clips=max_clips,
        clip_seconds=clip_seconds,
        rules=rules,
        mp4=mp4,
    )
    for h in highlights:
        if emit is not None:
            emit(HIGHLIGHT_READY, h.payload())
        if sink is not None:
            await sink.publish(media_event(HIGHLIGHT_READY, stream_id, h.payload(), clock()))
    return highlights
