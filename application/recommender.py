"""Product recommendations from implicit feedback (purchases, cart adds, purchase intents), in numpy.

Item-item collaborative filtering: a user × item matrix of signal strengths (the strongest signal a user gave
an item: purchase 3, cart add 2, intent 1), item-item cosine similarity of its columns with a shrinkage on small
co-occurrence counts (two buyers in common say less than twenty), and for a user the items most similar to what
they touched. "Viewers also bought" is the same similarity seeded by the show's products instead of a user's
history. A user with no history, or a candidate no neighbour touched, falls back to popularity (distinct users
per item), which also breaks ties.

Pure functions of the rows the read model holds: the same rows give the same ranking (a projection rebuild gives
the same recommendations), and ``bench/recommendations.py`` evaluates exactly this code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

WEIGHTS: Mapping[str, float] = {"purchase": 3.0, "cart": 2.0, "intent": 1.0}
SHRINK = 3.0  # co-occurrence counts below this are damped: sim *= co / (co + SHRINK)
POPULARITY_TIE = 1e-3  # popularity's share of a personal score: orders the items similarity leaves tied


@dataclass(frozen=True)
class Pick:
    item: str
    score: float
    because: str | None  # the seed item that contributed most, or None for a popularity pick


@dataclass(frozen=True)
class Matrix:
    users: list[str]
    items: list[str]
    values: np.ndarray  # users × items, float64, 0 where nothing happened

    def item_index(self) -> dict[str, int]:
        return {it: i for i, it in enumerate(self.items)}


def matrix(rows: Iterable[tuple[str, str, str]], extra_items: Iterable[str] = ()) -> Matrix:
    """(user, item, kind) rows → the strongest signal per (user, item). Users and items are sorted so the
    answer does not depend on row order."""
    best: dict[tuple[str, str], float] = {}
    for user, item, kind in rows:
        w = WEIGHTS.get(kind, 0.0)
        if w > best.get((user, item), 0.0):
            best[(user, item)] = w
    users = sorted({u for u, _ in best})
    items = sorted({i for _, i in best} | set(extra_items))
    ui, ii = {u: k for k, u in enumerate(users)}, {it: k for k, it in enumerate(items)}
    values = np.zeros((len(users), len(items)))
    for (u, it), w in best.items():
        values[ui[u], ii[it]] = w
    return Matrix(users, items, values)


def similarity(m: Matrix, item_users: np.ndarray | None = None) -> np.ndarray:
    """Item × item cosine similarity of the weighted columns, damped for few co-occurrences; diagonal 0.

    ``item_users``: how many users touched each item in the whole log, when ``m`` holds only a neighbourhood
    of it (the service's case); the norms then come from the neighbourhood and the damping from true counts."""
    v = m.values
    dot = v.T @ v
    norms = np.sqrt(np.diag(dot))
    norms[norms == 0] = 1.0
    sim = dot / np.outer(norms, norms)
    b = (v > 0).astype(np.float64)
    co = b.T @ b
    sim *= co / (co + SHRINK)
    if item_users is not None:  # an item popular far outside the neighbourhood is less specific to it
        inside = np.maximum(np.diag(co), 1.0)
        spread = np.sqrt(inside / np.maximum(item_users, inside))
        sim *= spread[None, :]
    np.fill_diagonal(sim, 0.0)
    return sim  # type: ignore[no-any-return]


def popularity(m: Matrix) -> np.ndarray:
    return (m.values > 0).sum(axis=0).astype(np.float64)  # type: ignore[no-any-return]


def _ranked(
    scores: np.ndarray, m: Matrix, sim: np.ndarray, seeds: np.ndarray, k: int, allowed: np.ndarray, pop: np.ndarray
) -> list[Pick]:
    total = np.where(allowed, scores + POPULARITY_TIE * pop / max(float(pop.max(initial=0.0)), 1.0), -np.inf)
    order = np.lexsort((np.arange(len(total)), -total))  # best first; equal scores by item name (sorted)
    picks = []
    for j in order[:k]:
        if not np.isfinite(total[j]):
            break
        contrib = seeds * sim[:, j]
        because = m.items[int(np.argmax(contrib))] if scores[j] > 0 and contrib.max() > 0 else None
        picks.append(Pick(m.items[j], round(float(total[j]), 6), because))
    return picks


def for_user(
    m: Matrix,
    sim: np.ndarray,
    user: str | None,
    k: int,
    *,
    candidates: Sequence[str] | None = None,
    pop: np.ndarray | None = None,
    exclude_bought: bool = True,
) -> list[Pick]:
    """A user's top ``k`` among ``candidates`` (default: every item): Σ (their signal on i) · sim(i, j);
    an item they bought is left out. No history: most popular first."""
    pop = popularity(m) if pop is None else pop
    index = m.item_index()
    allowed = np.zeros(len(m.items), dtype=bool)
    for it in m.items if candidates is None else candidates:
        if it in index:
            allowed[index[it]] = True
    row = np.zeros(len(m.items))
    if user is not None and user in m.users:
        row = m.values[m.users.index(user)]
        if exclude_bought:
            allowed &= row < WEIGHTS["purchase"]
    return _ranked(row @ sim, m, sim, row, k, allowed, pop)


def also_bought(
    m: Matrix,
    sim: np.ndarray,
    seeds: Sequence[str],
    k: int,
    *,
    exclude: Sequence[str] = (),
    pop: np.ndarray | None = None,
) -> list[Pick]:
    """Items most similar to the ``seeds`` taken together (a show's products), seeds and ``exclude`` left out."""
    pop = popularity(m) if pop is None else pop
    index = m.item_index()
    seed = np.zeros(len(m.items))
    for it in seeds:
        if it in index:
            seed[index[it]] = 1.0
    allowed = seed == 0
    for it in exclude:
        if it in index:
            allowed[index[it]] = False
    scores = seed @ sim
    allowed &= scores > 0  # "also bought" means someone did: no popularity filler here
    return _ranked(scores, m, sim, seed, k, allowed, pop)
