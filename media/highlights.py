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
"""

from __future__ import annotations

import asyncio
import bisect
import math
import shutil
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np

from application.envelope import Envelope
from infra.settings import Settings
from media.events import HIGHLIGHT_READY, EventSink, media_event
from media.forwarding import dts_seconds, shift_packet
from media.hls import (
    VOD_PLAYLIST,
    MediaPlaylist,
    Segment,
    Variant,
    render_master,
    write_atomic,
)
from media.playlists import PlaylistSegment, master_variants, media_segments
from media.thumbnails import clip_poster, luma_of

Emit = Callable[[str, dict[str, Any]], None]
LogEvents = Iterable[Envelope] | AsyncIterable[Envelope]
# What the worker accepts: the envelopes, or a function called at the end of the show that returns them.
LogSource = LogEvents | Callable[[], LogEvents | Awaitable[LogEvents]]

HIGHLIGHTS_DIR = "highlights"
CLIP_INDEX = "index.m3u8"  # highlights/NN/index.m3u8: the clip's master playlist
CHAT_TYPES = frozenset({"chat.message_sent"})
REACTION_TYPES = frozenset({"reaction.added"})
# One purchase is one of these (a checkout also emits Cart.CheckedOut, later Order.Paid: not counted twice).
PURCHASE_TYPES = frozenset({"purchase.intent", "Order.Placed", "FlashSale.StockReserved", "GroupBuy.Joined",
                            "Auction.BidPlaced"})
PRODUCT_FEATURED = "LiveStream.ProductFeatured"
STREAM_ENDED = "LiveStream.Ended"


@dataclass(frozen=True, slots=True)
class HighlightRules:
    """How moments are scored. A signal's strength is a robust z-score against the show's own median."""

    chat: float = 1.0
    reactions: float = 1.0
    purchases: float = 1.5
    motion: float = 0.5
    audio: float = 0.5
    featured: float = 1.5  # flat bonus for the segment where a product is featured
    min_score: float = 1.0  # a segment scoring less is never a highlight's peak
    reason_z: float = 2.0  # a signal this far above normal is named in the clip's reasons
    max_z: float = 8.0  # one runaway signal must not drown the others
    # Viewers react to what they saw, HLS latency later: their chat/reaction/purchase times are moved back
    # by this much before scoring (0: trust the timestamps; the clip's lead-in covers a few seconds anyway).
    viewer_delay_s: float = 0.0
    lead: float = 2 / 3  # where the peak sits in its clip (0: at the start, 1: at the end)


@dataclass(frozen=True, slots=True)
class RecordedVariant:
    name: str
    variant: Variant  # as in the recording master: bandwidth, resolution, codecs ...

    @property
    def height(self) -> int:
        return self.variant.resolution[1] if self.variant.resolution else 0


@dataclass(slots=True)
class Recording:
    out_dir: Path
    variants: list[RecordedVariant]  # in the recording master's order
    segments: dict[str, list[PlaylistSegment]]

    @property
    def video(self) -> list[RecordedVariant]:
        return sorted((v for v in self.variants if v.height), key=lambda v: v.height, reverse=True)

    def timeline(self) -> list[PlaylistSegment]:
        """Every rendition is cut at the same instants: any one gives the show's segment list."""
        return self.segments[(self.video or self.variants)[0].name]


def read_recording(out_dir: Path) -> Recording:
    """The finished recording as the worker left it (``recording.m3u8`` and one per rendition)."""
    master = out_dir / VOD_PLAYLIST
    if not master.exists():
        raise FileNotFoundError(f"{master}: no finished recording")
    variants = [RecordedVariant(v.uri.split("/", 1)[0], v) for v in master_variants(master.read_text())]
    return Recording(out_dir, variants, {v.name: media_segments((out_dir / v.name / VOD_PLAYLIST).read_text())
                                         for v in variants})


class ShowClock:
    """Wall-clock time on the log → media time in the recording, from the segments' PROGRAM-DATE-TIME."""

    def __init__(self, segments: list[PlaylistSegment]) -> None:
        self._segs = [s for s in segments if s.pdt is not None]
        if not self._segs:
            raise ValueError("the recording has no EXT-X-PROGRAM-DATE-TIME: log times cannot be placed")
        self._walls = [s.pdt.timestamp() for s in self._segs]  # type: ignore[union-attr]
        self.end_s = segments[-1].end_s

    def media_s(self, at: datetime, *, before_start: float | None = None, after_end_s: float = 2.0
                ) -> float | None:
        """Where ``at`` falls in the recording; None when outside it. A time in a gap (the host was away)
        goes to the end of the segment before it. ``before_start`` is used for times before the show."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        t = at.timestamp()
        i = bisect.bisect_right(self._walls, t) - 1
        if i < 0:
            return before_start
        seg = self._segs[i]
        offset = t - self._walls[i]
        if i == len(self._segs) - 1 and offset > seg.duration + after_end_s:
            return None
        return seg.start_s + min(offset, max(0.0, seg.duration - 1e-3))


@dataclass(slots=True)
class LogSignals:
    """Per-segment counts from the log, plus the times behind them."""

    chat: np.ndarray
    reactions: np.ndarray
    purchases: np.ndarray
    featured_at: np.ndarray  # 1 where a product was featured
    featured: list[tuple[float, str]] = field(default_factory=list)  # (media s, product id), in time order
    moments: list[list[float]] = field(default_factory=list)  # per segment: times of the counted events


def _segment_index(starts: list[float], media_s: float) -> int:
    return max(0, bisect.bisect_right(starts, media_s) - 1)


def _belongs(e: Envelope, stream_id: str) -> bool:
    return e.stream_id == stream_id or (e.type.startswith("LiveStream.") and e.aggregate_id == stream_id)


def log_signals(events: Iterable[Envelope], stream_id: str, segments: list[PlaylistSegment],
                rules: HighlightRules = HighlightRules()) -> LogSignals:
    """Bin the show's log envelopes into the recording's segments (other shows' envelopes are skipped)."""
    clock = ShowClock(segments)
    starts = [s.start_s for s in segments]
    n = len(segments)
    sig = LogSignals(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), [], [[] for _ in range(n)])
    for e in events:
        if not _belongs(e, stream_id):
            continue
        if e.type == PRODUCT_FEATURED:
            at = clock.media_s(e.occurred_at, before_start=0.0)  # featured before going live: from the start
            product = e.payload.get("product_id")
            if at is not None and product:
                sig.featured.append((at, str(product)))
                if at > 0.0:  # featured during the show: that is a moment too
                    i = _segment_index(starts, at)
                    sig.featured_at[i] = 1.0
                    sig.moments[i].append(at)
            continue
        if e.type in CHAT_TYPES:
            counts = sig.chat
        elif e.type in REACTION_TYPES:
            counts = sig.reactions
        elif e.type in PURCHASE_TYPES:
            counts = sig.purchases
        else:
            continue
        at = clock.media_s(e.occurred_at)
        if at is None:
            continue
        at = max(0.0, at - rules.viewer_delay_s)
        i = _segment_index(starts, at)
        counts[i] += 1
        sig.moments[i].append(at)
    sig.featured.sort(key=lambda f: f[0])
    return sig


@dataclass(slots=True)
class AvSignals:
    motion: np.ndarray  # per segment: mean |luma difference| between consecutive frames, 0..1
    loudness_db: np.ndarray  # per segment: RMS level in dBFS (-120 for silence or no audio)


def av_signals(rendition_dir: Path, segments: list[PlaylistSegment]) -> AvSignals:
    """Decode each segment once (video and audio) and measure motion energy and loudness with numpy."""
    motion = np.zeros(len(segments))
    loud = np.full(len(segments), -120.0)
    previous: np.ndarray | None = None
    for k, seg in enumerate(segments):
        if seg.discontinuity:
            previous = None  # the picture after a reconnect is not "motion"
        diffs: list[float] = []
        square_sum, samples = 0.0, 0
        try:
            with av.open(str(rendition_dir / seg.uri)) as c:
                streams = list(c.streams.video[:1]) + list(c.streams.audio[:1])
                for frame in c.decode(*streams):
                    if isinstance(frame, av.VideoFrame):
                        luma = luma_of(frame, short_side=90)
                        if previous is not None and previous.shape == luma.shape:
                            diffs.append(float(np.abs(luma - previous).mean()) / 255.0)
                        previous = luma
                    elif isinstance(frame, av.AudioFrame):
                        pcm = frame.to_ndarray().astype(np.float64)
                        if pcm.dtype.kind != "f":
                            pcm /= 32768.0
                        square_sum += float(np.square(pcm).sum())
                        samples += pcm.size
        except av.error.FFmpegError:
            continue  # an unreadable segment scores nothing, it does not stop the job
        motion[k] = float(np.mean(diffs)) if diffs else 0.0
        if samples:
            rms = math.sqrt(square_sum / samples)
            loud[k] = 20 * math.log10(rms) if rms > 1e-6 else -120.0
    return AvSignals(motion, loud)


def robust_z(x: np.ndarray, floor: float) -> np.ndarray:
    """(x - median) / spread, the spread being the scaled MAD but never below ``floor``."""
    if x.size == 0:
        return x
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med))) * 1.4826
    return (x - med) / max(mad, floor)


def _count_z(x: np.ndarray) -> np.ndarray:
    # Counts are Poisson-like: a quiet show (median 0 or 1) must not turn 2 messages into a spike.
    return robust_z(x, math.sqrt(max(float(np.median(x)) if x.size else 1.0, 1.0)))


@dataclass(slots=True)
class Scored:
    score: np.ndarray
    reasons: list[list[str]]


def score_segments(log: LogSignals, media: AvSignals | None, rules: HighlightRules = HighlightRules()
                   ) -> Scored:
    n = len(log.chat)
    parts: list[tuple[str, float, np.ndarray]] = [
        ("chat", rules.chat, _count_z(log.chat)),
        ("reactions", rules.reactions, _count_z(log.reactions)),
        ("purchases", rules.purchases, robust_z(log.purchases, 1.0)),
    ]
    if media is not None:
        parts.append(("motion", rules.motion,
                      robust_z(media.motion, max(0.1 * float(np.median(media.motion)), 1e-3))))
        parts.append(("audio", rules.audio, robust_z(media.loudness_db, 1.5)))
    score = rules.featured * log.featured_at
    reasons: list[list[str]] = [["product_featured"] if log.featured_at[i] else [] for i in range(n)]
    for name, weight, z in parts:
        z = np.clip(z, 0.0, rules.max_z)
        score = score + weight * np.maximum(z - 1.0, 0.0)  # ordinary ups and downs (z < 1) add nothing
        for i in np.flatnonzero(z >= rules.reason_z):
            reasons[int(i)].append(name)
    return Scored(score, reasons)


def pick_clips(score: np.ndarray, *, clip_segments: int, max_clips: int, min_score: float,
               lead: float = 2 / 3) -> list[tuple[int, int, int]]:
    """(first, last, peak) segment indices, best first: each clip is the window of ``clip_segments`` around
    a peak with the most score in it, not overlapping the clips already taken."""
    n = len(score)
    taken = np.zeros(n, dtype=bool)
    clips: list[tuple[int, int, int]] = []
    want = max(0, min(clip_segments - 1, round((clip_segments - 1) * lead)))  # peak's place in its clip
    for peak in sorted(range(n), key=lambda i: (-score[i], i)):
        if len(clips) >= max_clips or score[peak] < min_score:
            break
        if taken[peak]:
            continue
        lo = peak
        while lo > 0 and not taken[lo - 1]:
            lo -= 1
        hi = peak
        while hi < n - 1 and not taken[hi + 1]:
            hi += 1
        length = min(clip_segments, hi - lo + 1)
        best: tuple[float, int, int] | None = None
        for first in range(max(lo, peak - length + 1), min(peak, hi - length + 1) + 1):
            key = (float(score[first:first + length].sum()), -abs(peak - first - want), first)
            if best is None or key[:2] > best[:2]:
                best = key
        assert best is not None
        first = best[2]
        taken[first:first + length] = True
        clips.append((first, first + length - 1, peak))
    return clips


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
            "index": self.index, "rank": self.rank, "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3), "duration_s": round(self.duration_s, 3),
            "peak_s": round(self.peak_s, 3), "score": round(self.score, 3), "reasons": list(self.reasons),
            "featured_product_id": self.featured_product_id,
            "segments": {"first": self.first_sequence, "last": self.last_sequence},
            "uri": self.uri, "url": self.url, "mp4_uri": self.mp4_uri, "mp4_url": self.mp4_url,
            "program_date_time": self.program_date_time.isoformat() if self.program_date_time else None,
            "counts": self.counts, "thumbnail_uri": self.thumbnail_uri, "thumbnail_url": self.thumbnail_url,
        }


def featured_at(featured: list[tuple[float, str]], media_s: float) -> str | None:
    """The product featured at ``media_s``: the latest one featured at or before it."""
    i = bisect.bisect_right([t for t, _ in featured], media_s + 1e-6) - 1
    return featured[i][1] if i >= 0 else None


def wants_highlights(events: Iterable[Envelope], stream_id: str) -> bool:
    """Did the show's end command ask for highlights (``LiveStream.Ended.auto_generate_highlights``)?"""
    return any(e.type == STREAM_ENDED and _belongs(e, stream_id) and e.payload.get("auto_generate_highlights")
               for e in events)


def generate_highlights(out_dir: Path, stream_id: str, events: Iterable[Envelope], *, url_base: str,
                        max_clips: int = 5, clip_seconds: float = 10.0,
                        rules: HighlightRules = HighlightRules(), mp4: bool = True) -> list[Highlight]:
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
    picks = pick_clips(scored.score, clip_segments=clip_segments, max_clips=max_clips,
                       min_score=rules.min_score, lead=rules.lead)
    root = out_dir / HIGHLIGHTS_DIR
    shutil.rmtree(root, ignore_errors=True)  # a re-run replaces the previous set
    url_base = url_base.rstrip("/")
    out: list[Highlight] = []
    ranks = {p: r for r, p in enumerate(picks, start=1)}
    for index, (first, last, peak) in enumerate(sorted(picks), start=1):
        moments = sorted(log.moments[peak])
        peak_s = moments[len(moments) // 2] if moments else \
            timeline[peak].start_s + timeline[peak].duration / 2
        directory = root / f"{index:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        _write_clip_playlists(rec, directory, first, last)
        mp4_rel = None
        if mp4 and rec.video:
            top = rec.video[0].name
            _remux_mp4(out_dir / top, rec.segments[top][first:last + 1], directory / "clip.mp4")
            mp4_rel = (directory / "clip.mp4").relative_to(out_dir).as_posix()
        rel = (directory / CLIP_INDEX).relative_to(out_dir).as_posix()
        poster = None
        if rec.video:
            top = rec.video[0].name
            if clip_poster(out_dir / top / rec.segments[top][peak].uri, directory / "poster.jpg"):
                poster = (directory / "poster.jpg").relative_to(out_dir).as_posix()
        reasons = tuple(dict.fromkeys(r for i in range(first, last + 1) for r in scored.reasons[i]))
        out.append(Highlight(
            index=index, rank=ranks[(first, last, peak)], start_s=timeline[first].start_s,
            end_s=timeline[last].end_s, peak_s=peak_s, score=float(scored.score[peak]),
            reasons=tuple(sorted(reasons, key=lambda r: r not in scored.reasons[peak])),
            featured_product_id=featured_at(log.featured, peak_s),
            first_sequence=timeline[first].sequence, last_sequence=timeline[last].sequence,
            uri=rel, url=f"{url_base}/{rel}", mp4_uri=mp4_rel,
            mp4_url=f"{url_base}/{mp4_rel}" if mp4_rel else None, program_date_time=timeline[first].pdt,
            counts={"chat": int(log.chat[first:last + 1].sum()),
                    "reactions": int(log.reactions[first:last + 1].sum()),
                    "purchases": int(log.purchases[first:last + 1].sum())},
            thumbnail_uri=poster, thumbnail_url=f"{url_base}/{poster}" if poster else None,
        ))
    return out


def _write_clip_playlists(rec: Recording, directory: Path, first: int, last: int) -> None:
    """Per rendition a VOD playlist of the recording's own segment files; ``index.m3u8`` is their master."""
    variants: list[Variant] = []
    for v in rec.variants:
        segs = rec.segments[v.name][first:last + 1]
        target = max(1, round(max(s.duration for s in segs)))
        playlist = MediaPlaylist(directory, segment_seconds=target, window=None)
        text = playlist.render([Segment(sequence=s.sequence, uri=f"../../{v.name}/{s.uri}",
                                        duration=s.duration, bytes=0, program_date_time=s.pdt,
                                        discontinuity=s.discontinuity) for s in segs],
                               playlist_type="VOD", ended=True)
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
                        mapping = {s.index: out.add_stream_from_template(s) for s in c.streams
                                   if s.type in ("video", "audio")}
                    packets = [p for p in c.demux() if p.dts is not None and p.pts is not None
                               and p.stream.index in mapping]
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


async def make_highlights(settings: Settings, stream_id: str, log_events: LogEvents, *, max_clips: int = 5,
                          clip_seconds: float = 10.0, rules: HighlightRules = HighlightRules(),
                          mp4: bool = True, sink: EventSink | None = None, emit: Emit | None = None,
                          clock: Callable[[], datetime] = _utc_now) -> list[Highlight]:
    """Cut up to ``max_clips`` clips of about ``clip_seconds`` from the finished recording under
    ``settings.media_root / stream_id``, at the moments ``log_events`` (the show's envelopes from the
    ``interactions`` and ``domain`` topics, in any order) and the picture and sound point to.

    Each clip gets a ``media.highlight_ready`` event, through ``emit(type, payload)`` (the worker's) or
    published on ``sink``. Returns the clips in show order. Raises FileNotFoundError without a recording.
    """
    out_dir = Path(settings.media_root) / stream_id
    events = await collect_events(log_events)
    url_base = f"{settings.playback_base_url.rstrip('/')}/{stream_id}"
    highlights = await asyncio.to_thread(generate_highlights, out_dir, stream_id, events, url_base=url_base,
                                         max_clips=max_clips, clip_seconds=clip_seconds, rules=rules, mp4=mp4)
    for h in highlights:
        if emit is not None:
            emit(HIGHLIGHT_READY, h.payload())
        if sink is not None:
            await sink.publish(media_event(HIGHLIGHT_READY, stream_id, h.payload(), clock()))
    return highlights
