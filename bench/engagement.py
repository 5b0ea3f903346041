"""How often an engagement suggestion came before a rise in sales, replaying generated shows, beside a baseline
of as many suggestions at random minutes of the same shows, in the same run.

Each generated show is a log: viewers joining and leaving, chat (English, Bangla, romanized Bangla; some of it
negative), reactions, purchase intents and ``Order.Placed``, minute by minute. Shows have quiet spells (chat
drops) and moments of hype (a product reveal: intents jump, orders follow within three minutes). The replay
folds the envelopes into minutes with the read model's own ``application.engagement.facts``, closes each
minute with ``advise`` and records through the ``ShowEngagement`` aggregate (its cool-downs), exactly as the
live advisor does. A rise in sales after minute t: orders in t+1..t+3 at least 1.5 times those of t-2..t and
at least 2 more.

    .venv/bin/python -m bench.engagement --shows 120
    .venv/bin/livecommerce replay --out /tmp/log --kafka   # the past shows of a real log, then:
    .venv/bin/python -m bench.engagement --export /tmp/log
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from application import interactions as it
from application.engagement import Minute, advise, facts, minute_of, series
from application.envelope import Envelope
from domain.show_engagement import ShowEngagement

T0 = datetime(2026, 3, 17, 13, 0, tzinfo=UTC)
CHAT = {
    "positive": ["darun 😍", "খুব সুন্দর শাড়ি", "nice quality, love it", "ekdom fatafati"],
    "neutral": ["hello from Sylhet", "আমি দেখছি", "next product plz", "দাম কত?", "price koto?"],
    "negative": ["delivery late bhai, ekdom faltu", "ডেলিভারি অনেক দেরি", "নকল মনে হচ্ছে", "dam beshi"],
}
LENGTH = 60


def generate(rng: np.random.Generator, sid: str) -> list[Envelope]:
    """One show's log: a random audience, quiet spells and hype moments."""
    out: list[Envelope] = []
    n = 0

    def emit(kind: str, minute: int, payload: dict[str, object], aggregate: str | None = None) -> None:
        nonlocal n
        n += 1
        at = T0 + timedelta(minutes=minute, seconds=float(rng.uniform(0, 59)))
        out.append(Envelope(f"bench{sid}.{n}", kind, 1, aggregate, 1 if aggregate else None, sid, at, payload))

    viewers, chat_rate = 0, float(rng.uniform(0.3, 1.0))
    quiet = set()
    for _ in range(int(rng.integers(1, 4))):
        start = int(rng.integers(8, LENGTH - 4))
        quiet.update(range(start, start + int(rng.integers(2, 4))))
    hype = {int(m) for m in rng.choice(np.arange(8, LENGTH - 4), size=int(rng.integers(1, 4)), replace=False)}
    for m in range(LENGTH):
        joins = int(rng.poisson(12 if m < 5 else 3))
        leaves = min(viewers + joins, int(rng.poisson(2 if m < 40 else 5)))
        viewers += joins - leaves
        for _ in range(joins):
            emit(it.PRESENCE_JOINED, m, {})
        for _ in range(leaves):
            emit(it.PRESENCE_LEFT, m, {})
        rate = chat_rate * (0.15 if m in quiet else 1.0)
        for _ in range(int(rng.poisson(rate * viewers))):
            mood = str(rng.choice(["positive", "neutral", "negative"], p=[0.5, 0.35, 0.15]))
            emit(it.CHAT_SENT, m, {"message": str(rng.choice(CHAT[mood]))})
        for _ in range(int(rng.poisson(rate * viewers * 0.5))):
            emit(it.REACTION_ADDED, m, {"reaction_type": "heart"})
        intents = int(rng.poisson(max(1.0, viewers * 0.04) * (4.0 if m in hype else 1.0)))
        for _ in range(intents):
            emit(it.PURCHASE_INTENT, m, {"product_id": "p1", "quantity": 1})
        lag = [h for h in hype if 1 <= m - h <= 3]
        for _ in range(int(rng.poisson(0.6 + (0.5 * intents if lag else 0.0) + (3.0 if lag else 0.0)))):
            emit("Order.Placed", m, {}, aggregate=f"order-{sid}-{n}")
    return out


def minutes_of(envelopes: list[Envelope]) -> list[Minute]:
    """Fold a log into minutes with the read model's own ``facts`` (engagement_pg does the same in SQL)."""
    rows: dict[datetime, Minute] = {}
    for e in sorted(envelopes, key=lambda e: e.occurred_at):
        f = facts(e)
        if f is None:
            continue
        m = rows.setdefault(minute_of(e.occurred_at), Minute(minute_of(e.occurred_at)))
        for k, v in f.counters.items():
            setattr(m, k, getattr(m, k) + v)
        m.score_sum += f.score
    return [rows[k] for k in sorted(rows)]


def rise_after(orders: list[int], t: int) -> bool:
    before, after = sum(orders[max(0, t - 2) : t + 1]), sum(orders[t + 1 : t + 4])
    return after >= 1.5 * before and after >= before + 2


def replay(sid: str, rows: list[Minute], start: datetime = T0, length: int = LENGTH) -> list[tuple[str, int]]:
    """(kind, minute index from ``start``) of each suggestion the advisor would have made in this show."""
    agg = ShowEngagement.open(now=start, stream_id=sid)
    sale = {"sale_id": "00000000-0000-4000-8000-000000000001", "product_id": "p1", "sale_name": "prepared"}
    made = []
    for i in range(length):
        at = start + timedelta(minutes=i)
        for s in advise(sid, series(rows, at), prepared_sale=sale):
            if agg.suggest(
                now=at,
                suggestion_id=s.suggestion_id,
                kind=s.kind,
                minute=s.minute,
                message=s.message,
                message_bn=s.message_bn,
                evidence=s.evidence,
                action=s.action,
            ):
                made.append((s.kind, i))
    return made


@dataclass
class Tally:
    """Per suggestion kind: was each followed by a rise in sales; and the same for random minutes."""

    hits: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    random_hits: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    shows: int = 0
    events: int = 0

    def show(self, sid: str, log: list[Envelope], rng: np.random.Generator, start: datetime | None = None) -> None:
        """One show's log, its minutes counted from ``start`` (default: its first minute with a fact)."""
        rows = minutes_of(log)
        self.events += len(log)
        if not rows:
            return
        start = start or rows[0].minute
        length = int((rows[-1].minute - start).total_seconds() // 60) + 1
        if length < 10:  # too short to have a baseline and a "then"
            return
        self.shows += 1
        orders = [0] * length
        for r in rows:
            orders[int((r.minute - start).total_seconds() // 60)] = r.orders
        for kind, i in replay(sid, rows, start, length):
            self.hits[kind].append(rise_after(orders, i))
            j = int(rng.integers(6, length - 3))  # the baseline: a suggestion at a random minute
            self.random_hits[kind].append(rise_after(orders, j))

    def print(self, what: str, took: float) -> None:
        print(f"{self.shows} {what}, {self.events} events replayed in {took:.1f} s")
        print(f"{'suggestion':<18}{'count':>7}{'then sales rose':>17}{'random minute':>15}{'lift':>7}")
        all_hits = [h for v in self.hits.values() for h in v]
        all_random = [h for v in self.random_hits.values() for h in v]
        for kind, got in [*sorted(self.hits.items()), ("all", all_hits)]:
            base = self.random_hits[kind] if kind != "all" else all_random
            share = float(np.mean(got)) if got else float("nan")
            base_share = float(np.mean(base)) if base else float("nan")
            lift = f"{share / base_share:.2f}x" if base_share else "-"
            print(f"{kind:<18}{len(got):>7}{share:>16.1%}{base_share:>15.1%}{lift:>7}")


def past_shows(folder: Path) -> dict[str, list[Envelope]]:
    """The envelopes of an export by ``livecommerce replay --out DIR --kafka`` (its Parquet parts: the store
    and the interactions topic), by show."""
    shows: dict[str, list[Envelope]] = defaultdict(list)
    for part in sorted(folder.glob("*part-*.parquet")):
        for r in pq.read_table(part).to_pylist():
            if r["stream_id"]:
                shows[r["stream_id"]].append(
                    Envelope(
                        r["id"],
                        r["type"],
                        r["schema_version"],
                        r["aggregate_id"],
                        r["aggregate_version"],
                        r["stream_id"],
                        r["occurred_at"],
                        json.loads(r["payload"]),
                        position=r["position"],
                    )
                )
    return shows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shows", type=int, default=120)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument(
        "--export",
        type=Path,
        help="replay the past shows of this `livecommerce replay --kafka` export instead of generated ones",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    tally, t = Tally(), time.perf_counter()
    if args.export:
        for sid, log in sorted(past_shows(args.export).items()):
            tally.show(sid, log, rng)
        tally.print(f"past shows of {args.export}", time.perf_counter() - t)
        return
    for k in range(args.shows):
        sid = f"show{k}"
        tally.show(sid, generate(rng, sid), rng, start=T0)
    tally.print("generated shows", time.perf_counter() - t)


if __name__ == "__main__":
    main()
