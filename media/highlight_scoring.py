"""Where a show's best moments are: per recorded segment (2 s), signals from the log (chat and reaction spikes,
purchases, a product featured) and from the recording (motion energy and loudness, measured with numpy on the
smallest rendition), scored as robust z-scores against the show's own median, and the clips picked around the
peaks. ``highlights.py`` cuts the picked clips.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from application.envelope import Envelope
from media.playlists import PlaylistSegment
from media.recorded import ShowClock
from media.thumbnails import luma_of

CHAT_TYPES = frozenset({"chat.message_sent"})
REACTION_TYPES = frozenset({"reaction.added"})
# One purchase is one of these (a checkout also emits Cart.CheckedOut, later Order.Paid: not counted twice).
PURCHASE_TYPES = frozenset(
    {"purchase.intent", "Order.Placed", "FlashSale.StockReserved", "GroupBuy.Joined", "Auction.BidPlaced"}
)
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


DEFAULT_RULES = HighlightRules()


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


def belongs(e: Envelope, stream_id: str) -> bool:
    return e.stream_id == stream_id or (e.type.startswith("LiveStream.") and e.aggregate_id == stream_id)


def log_signals(
    events: Iterable[Envelope],
    stream_id: str,
    segments: list[PlaylistSegment],
    rules: HighlightRules = HighlightRules(),
) -> LogSignals:
    """Bin the show's log envelopes into the recording's segments (other shows' envelopes are skipped)."""
    clock = ShowClock(segments)
    starts = [s.start_s for s in segments]
    n = len(segments)
    sig = LogSignals(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), [], [[] for _ in range(n)])
    for e in events:
        if not belongs(e, stream_id):
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


def score_segments(log: LogSignals, media: AvSignals | None, rules: HighlightRules = HighlightRules()) -> Scored:
    n = len(log.chat)
    parts: list[tuple[str, float, np.ndarray]] = [
        ("chat", rules.chat, _count_z(log.chat)),
        ("reactions", rules.reactions, _count_z(log.reactions)),
        ("purchases", rules.purchases, robust_z(log.purchases, 1.0)),
    ]
    if media is not None:
        parts.append(("motion", rules.motion, robust_z(media.motion, max(0.1 * float(np.median(media.motion)), 1e-3))))
        parts.append(("audio", rules.audio, robust_z(media.loudness_db, 1.5)))
    score = rules.featured * log.featured_at
    reasons: list[list[str]] = [["product_featured"] if log.featured_at[i] else [] for i in range(n)]
    for name, weight, z in parts:
        z = np.clip(z, 0.0, rules.max_z)
        score = score + weight * np.maximum(z - 1.0, 0.0)  # ordinary ups and downs (z < 1) add nothing
        for i in np.flatnonzero(z >= rules.reason_z):
            reasons[int(i)].append(name)
    return Scored(score, reasons)


def pick_clips(
    score: np.ndarray, *, clip_segments: int, max_clips: int, min_score: float, lead: float = 2 / 3
) -> list[tuple[int, int, int]]:
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
            key = (float(score[first : first + length].sum()), -abs(peak - first - want), first)
            if best is None or key[:2] > best[:2]:
                best = key
        assert best is not None
        first = best[2]
        taken[first : first + length] = True
        clips.append((first, first + length - 1, peak))
    return clips
