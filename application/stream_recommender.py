"""Which live and upcoming shows to put in front of a viewer, from what they did before (numpy).

Six signals, each scaled to 0..1, added with fixed weights (``WEIGHTS``), every one shown as a reason when it
carried the pick:

- ``followed_host``: the show's host is one the viewer follows;
- ``category`` / ``language``: the share of the viewer's watched shows in the show's category / language;
- ``time_of_day``: how much of the viewer's watching fell near the show's hour, in Dhaka (a circular
  histogram, ±1 hour smoothing): a viewer of evening shows gets evening shows;
- ``similar_viewers``: host-host collaborative filtering over who watched whom (viewers who watch the hosts you
  watch also watch this host);
- ``trending``: joins in the last day (and the host's recent audience for a show not yet started).

A viewer with no watches and no follows (cold start) gets the trending order. Pure: the same read-model rows
and the same ``now`` give the same list, so a rebuilt read model recommends the same shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

DHAKA = ZoneInfo("Asia/Dhaka")
WEIGHTS: Mapping[str, float] = {
    "followed_host": 3.0,
    "category": 2.0,
    "similar_viewers": 2.0,
    "language": 1.0,
    "time_of_day": 1.0,
    "trending": 0.5,
}
LIVE_BONUS = 0.25  # a show on now beats an equal one later (it is there to be watched)
REASON_SHARE = 0.3  # a signal is named as a reason when it reached this share of its weight


@dataclass(frozen=True)
class Show:
    stream_id: str
    host_id: str | None
    category: str | None
    language: str | None
    live: bool
    starts_at: datetime | None  # scheduled start (upcoming) or start (live); aware UTC


@dataclass(frozen=True)
class Watch:
    host_id: str | None
    category: str | None
    language: str | None
    at: datetime  # aware UTC


@dataclass(frozen=True)
class StreamPick:
    stream_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


def dhaka_hour(at: datetime) -> int:
    return at.astimezone(DHAKA).hour


def hour_profile(watches: Sequence[Watch]) -> np.ndarray:
    """Share of watching per Dhaka hour, smoothed over the neighbouring hours, peak scaled to 1."""
    hist = np.zeros(24)
    for w in watches:
        hist[dhaka_hour(w.at)] += 1.0
    smooth = hist + 0.5 * (np.roll(hist, 1) + np.roll(hist, -1))
    top = smooth.max(initial=0.0)
    return smooth / top if top > 0 else smooth


def host_similarity(co_watch: Iterable[tuple[str, str, float]]) -> tuple[dict[str, int], np.ndarray]:
    """(viewer, host, shows watched) → host index and host × host cosine similarity (log-damped counts)."""
    rows = sorted(co_watch)
    users = sorted({r[0] for r in rows})
    hosts = sorted({r[1] for r in rows})
    ui, hi = {u: i for i, u in enumerate(users)}, {h: i for i, h in enumerate(hosts)}
    m = np.zeros((len(users), len(hosts)))
    for u, h, n in rows:
        m[ui[u], hi[h]] = np.log1p(n)
    dot = m.T @ m
    norms = np.sqrt(np.diag(dot))
    norms[norms == 0] = 1.0
    sim = dot / np.outer(norms, norms)
    np.fill_diagonal(sim, 0.0)
    return hi, sim


def _share(values: Sequence[str | None], value: str | None) -> float:
    if not values or value is None:
        return 0.0
    return sum(1 for v in values if v == value) / len(values)


def recommend(
    shows: Sequence[Show],
    watches: Sequence[Watch],
    follows: Iterable[str],
    now: datetime,
    *,
    co_watch: Iterable[tuple[str, str, float]] = (),
    trending: Mapping[str, float] | None = None,
    k: int = 10,
    hosts: tuple[dict[str, int], np.ndarray] | None = None,
) -> list[StreamPick]:
    """The top ``k`` of ``shows`` for a viewer with these ``watches`` and ``follows``. ``hosts``: a host
    similarity already computed from ``co_watch`` (``host_similarity``), to rank many viewers at once."""
    followed = set(follows)
    trend = dict(trending or {})
    top_trend = max(trend.values(), default=0.0) or 1.0
    cold = not watches and not followed
    hours = hour_profile(watches)
    hi, hsim = hosts if hosts is not None else host_similarity(co_watch)
    mine = np.zeros(len(hi))
    for w in watches:
        if w.host_id in hi:
            mine[hi[w.host_id]] += 1.0
    mine = np.log1p(mine)
    mine_total = mine.sum()
    cats, langs = [w.category for w in watches], [w.language for w in watches]
    picks = []
    for s in shows:
        signals = {"trending": trend.get(s.stream_id, 0.0) / top_trend}
        if not cold:
            at = now if s.live or s.starts_at is None else s.starts_at
            similar = 0.0
            if mine_total > 0 and s.host_id in hi:
                similar = float(mine @ hsim[:, hi[s.host_id]] / mine_total)
            signals.update(
                {
                    "followed_host": 1.0 if s.host_id in followed else 0.0,
                    "category": _share(cats, s.category),
                    "language": _share(langs, s.language),
                    "time_of_day": float(hours[dhaka_hour(at)]) if watches else 0.0,
                    "similar_viewers": similar,
                }
            )
        score = sum(WEIGHTS[n] * v for n, v in signals.items()) + (LIVE_BONUS if s.live else 0.0)
        reasons = (
            ["trending"] if cold else [n for n in WEIGHTS if n != "trending" and signals.get(n, 0.0) >= REASON_SHARE]
        )
        if not reasons and signals["trending"] >= REASON_SHARE:
            reasons = ["trending"]
        picks.append(StreamPick(s.stream_id, round(score, 6), reasons))
    picks.sort(key=lambda p: (-p.score, p.stream_id))
    return picks[:k]
