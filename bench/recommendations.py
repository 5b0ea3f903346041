"""Offline evaluation of the recommenders (issue 17 parts 2 and 3, ADR 0024): hit rate@10 and NDCG@10 on a
held-out split, each beside its baseline in the same run, on generated histories with structure.

Products: shoppers with category affinities (1–3 favourite categories of 12), products with a popularity
within their category, and complements (a phone, then its case: 35% of next picks); each pick is an intent,
most go to the cart, many are bought. Held out: each shopper's last purchase (and everything after it). The
item-item recommender (``application.recommender.for_user``, the code the API runs) ranks every product the
shopper has not bought; "viewers also bought" (``also_bought``) is seeded with their last purchase before it.
Baseline: most popular (distinct users per product), the shopper's purchases left out.

Shows: hosts with a category, a language and a usual hour (Dhaka); viewers with favourite categories, a
language, an evening or daytime habit, and a few followed hosts; 30 days of shows and watches drawn from those
preferences; then the next day's shows, and for each viewer the first show they watch that day is held out.
``application.stream_recommender.recommend`` ranks the day's shows; baseline: trending (the host's audience
over the month, the same figure the recommender's trending signal uses).

    python -m bench.recommendations [--shoppers 3000] [--viewers 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from application import recommender as rec
from application import stream_recommender as srec

K = 10


@dataclass
class Score:
    hits: int = 0
    ndcg: float = 0.0
    n: int = 0

    def add(self, ranked: list[str], truth: str) -> None:
        self.n += 1
        if truth in ranked[:K]:
            self.hits += 1
            self.ndcg += 1.0 / math.log2(ranked.index(truth) + 2)

    def row(self, name: str) -> str:
        return f"| {name:<44} | {self.hits / self.n:8.3f} | {self.ndcg / self.n:8.3f} | {self.n:6d} |"


HEAD = (
    f"| {'method':<44} | {'HR@10':>8} | {'NDCG@10':>8} | {'users':>6} |\n|{'-' * 46}|{'-' * 10}|{'-' * 10}|{'-' * 8}|"
)


# --- products -------------------------------------------------------------------------------------------------
def shopping(
    rng: np.random.Generator, shoppers: int, categories: int = 12, per_category: int = 25
) -> list[list[tuple[str, str, str]]]:
    """Each shopper's events in time order: (user, product, kind)."""
    items = [f"p{c:02d}-{i:02d}" for c in range(categories) for i in range(per_category)]
    within = 1.0 / np.arange(1, per_category + 1) ** 0.9
    within /= within.sum()
    complement = {
        it: items[(k // per_category) * per_category + (k % per_category + 1) % per_category]
        for k, it in enumerate(items)
    }  # the next product of the same category goes with it
    histories = []
    for u in range(shoppers):
        favs = rng.choice(categories, size=rng.integers(1, 4), replace=False)
        affinity = rng.dirichlet(np.ones(len(favs)))
        events: list[tuple[str, str, str]] = []
        last: str | None = None
        for _ in range(int(rng.integers(4, 16))):
            if last is not None and rng.random() < 0.35:
                item = complement[last]
            elif rng.random() < 0.1:  # now and then something from anywhere
                item = items[int(rng.integers(len(items)))]
            else:
                c = int(rng.choice(favs, p=affinity))
                item = items[c * per_category + int(rng.choice(per_category, p=within))]
            user = f"u{u}"
            events.append((user, item, "intent"))
            if rng.random() < 0.7:
                events.append((user, item, "cart"))
                if rng.random() < 0.6:
                    events.append((user, item, "purchase"))
                    last = item
        histories.append(events)
    return histories


def products(seed: int, shoppers: int) -> None:
    rng = np.random.default_rng(seed)
    histories = shopping(rng, shoppers)
    train: list[tuple[str, str, str]] = []
    held: dict[str, str] = {}
    seeds: dict[str, str] = {}
    for events in histories:
        bought = [i for i, e in enumerate(events) if e[2] == "purchase"]
        if len(bought) >= 2:
            cut = bought[-1]
            held[events[cut][0]] = events[cut][1]
            seeds[events[cut][0]] = events[bought[-2]][1]
            events = [e for e in events[:cut] if e[1] != events[cut][1]]
        train += events
    t0 = time.perf_counter()
    m = rec.matrix(train)
    sim = rec.similarity(m)
    fit = time.perf_counter() - t0
    pop = rec.popularity(m)
    by_pop = [m.items[j] for j in np.lexsort((np.arange(len(pop)), -pop))]
    users = {u: i for i, u in enumerate(m.users)}
    item_item, baseline, also = Score(), Score(), Score()
    t0 = time.perf_counter()
    for user, truth in sorted(held.items()):
        item_item.add([p.item for p in rec.for_user(m, sim, user, K)], truth)
        row = m.values[users[user]] if user in users else np.zeros(len(m.items))
        bought = {m.items[j] for j in np.flatnonzero(row >= rec.WEIGHTS["purchase"])}
        baseline.add([i for i in by_pop if i not in bought][:K], truth)
        also.add([p.item for p in rec.also_bought(m, sim, [seeds[user]], K, exclude=sorted(bought))], truth)
    per_user = (time.perf_counter() - t0) / max(len(held), 1) * 1000
    print(
        f"\nProducts: {shoppers} shoppers, {len(m.items)} products, {len(train)} training events, "
        f"{len(held)} held-out purchases; fit {fit * 1000:.0f} ms, {per_user:.2f} ms per user for the three"
    )
    print(HEAD)
    print(item_item.row("item-item, personalised (for_user)"))
    print(also.row("viewers also bought (seed: previous purchase)"))
    print(baseline.row("baseline: most popular"))


# --- shows ----------------------------------------------------------------------------------------------------
def shows(seed: int, viewers: int, hosts: int = 120, categories: int = 8) -> None:
    rng = np.random.default_rng(seed + 1)
    day0 = datetime(2026, 11, 1, tzinfo=UTC)
    host_cat = rng.integers(categories, size=hosts)
    host_lang = np.where(rng.random(hosts) < 0.8, "bn", "en")
    host_hour = rng.choice([11, 13, 15, 17, 19, 20, 21, 22], size=hosts)  # Dhaka
    host_pull = rng.lognormal(0.0, 0.6, size=hosts)
    host_ids = [f"h{h:03d}" for h in range(hosts)]
    people = []
    for _ in range(viewers):
        favs = set(rng.choice(categories, size=rng.integers(1, 3), replace=False).tolist())
        lang = "bn" if rng.random() < 0.75 else "en"
        evening = rng.random() < 0.6
        liked = [h for h in range(hosts) if host_cat[h] in favs]
        follows = (
            set(rng.choice(liked, size=min(len(liked), int(rng.integers(0, 4))), replace=False).tolist())
            if liked
            else set()
        )
        people.append((favs, lang, evening, follows))

    def appeal(v: int, h: int) -> float:
        favs, lang, evening, follows = people[v]
        a = host_pull[h] * (4.0 if host_cat[h] in favs else 0.3) * (2.0 if host_lang[h] == lang else 0.4)
        a *= 2.0 if (host_hour[h] >= 18) == evening else 0.5
        return a * (5.0 if h in follows else 1.0)

    def schedule(day: int) -> list[tuple[str, int, datetime]]:
        out = []
        for h in range(hosts):
            if rng.random() < 0.5 or day == 30:
                at = day0 + timedelta(days=day, hours=int(host_hour[h]) - 6 + int(rng.integers(-1, 2)))
                out.append((f"s{day:02d}-{h:03d}", h, at))
        return out

    appeal_m = np.array([[appeal(v, h) for h in range(hosts)] for v in range(viewers)])
    watches: dict[int, list[srec.Watch]] = defaultdict(list)
    co: dict[tuple[str, str], float] = defaultdict(float)
    audience: dict[str, set[int]] = defaultdict(set)
    for day in range(30):
        for _sid, h, at in schedule(day):
            p = np.minimum(0.006 * appeal_m[:, h], 0.9)
            for v in np.flatnonzero(rng.random(viewers) < p):
                watches[int(v)].append(srec.Watch(host_ids[h], f"c{host_cat[h]}", str(host_lang[h]), at))
                co[(f"v{v}", host_ids[h])] += 1
                audience[host_ids[h]].add(int(v))
    tomorrow = schedule(30)
    now = day0 + timedelta(days=30) - timedelta(hours=6)  # midnight in Dhaka
    candidates = [
        srec.Show(sid, host_ids[h], f"c{host_cat[h]}", str(host_lang[h]), False, at) for sid, h, at in tomorrow
    ]
    trending = {sid: 0.1 * len(audience[host_ids[h]]) for sid, h, _ in tomorrow}
    by_trend = sorted(trending, key=lambda s: (-trending[s], s))
    host_sim = srec.host_similarity((u, h, n) for (u, h), n in co.items())
    ours, baseline, cold, cold_base = Score(), Score(), Score(), Score()
    t0 = time.perf_counter()
    for v in range(viewers):
        w = np.array([appeal_m[v, h] for _, h, _ in tomorrow])
        truth = tomorrow[int(rng.choice(len(tomorrow), p=w / w.sum()))][0]
        follows = [host_ids[h] for h in people[v][3]]
        picks = srec.recommend(candidates, watches[v], follows, now, hosts=host_sim, trending=trending, k=K)
        target, base = (cold, cold_base) if not watches[v] and not follows else (ours, baseline)
        target.add([p.stream_id for p in picks], truth)
        base.add(by_trend[:K], truth)
    per_viewer = (time.perf_counter() - t0) / viewers * 1000
    print(
        f"\nShows: {viewers} viewers, {hosts} hosts, {sum(len(x) for x in watches.values())} watches over 30 days, "
        f"{len(candidates)} shows tomorrow; {per_viewer:.2f} ms per viewer"
    )
    print(HEAD)
    print(ours.row("stream recommender (viewers with history)"))
    print(baseline.row("baseline: trending (same viewers)"))
    if cold.n:
        print(cold.row("cold start → trending (viewers with none)"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoppers", type=int, default=3000)
    ap.add_argument("--viewers", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    products(a.seed, a.shoppers)
    shows(a.seed, a.viewers)


if __name__ == "__main__":
    main()
