"""Recommendations answered from the ``rec_*`` read model (``projections.recommendations_pg``).

Products: the viewer's history and the show's products are the seeds; the matrix is their neighbourhood (every
signal of the most recent ``NEIGHBOURS`` users who touched a seed item), and the damping uses each item's true
number of users, so the cost of an answer follows the seeds' audience, not the whole log. The ranking itself
is ``application.recommender`` (the code ``bench/recommendations.py`` evaluates).

Shows: candidates are public shows live now or starting within ``UPCOMING``; the viewer's watches and follows,
the co-watching of the hosts they watched, and the last day's joins go to ``application.stream_recommender``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from application import recommender as rec
from application import stream_recommender as srec

NEIGHBOURS = 2_000  # users in a product neighbourhood
CO_WATCHERS = 2_000  # viewers in a host co-watching neighbourhood
UPCOMING = timedelta(days=7)
TRENDING_WINDOW = timedelta(days=1)
HOST_WINDOW = timedelta(days=30)
K = 10


class SqlReader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


# --- products -------------------------------------------------------------------------------------------------
async def show_products(db: SqlReader, stream_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT product_id FROM rec_stream_products WHERE stream_id = %s ORDER BY display_order, product_id",
        (stream_id,),
    )
    return [r["product_id"] for r in rows]


async def _neighbourhood(db: SqlReader, user: str | None, seeds: Sequence[str]) -> list[tuple[str, str, str]]:
    rows = await db.fetch(
        "WITH u AS (SELECT user_id, max(at) AS last FROM rec_signals WHERE product_id = ANY(%(seeds)s)"
        " OR user_id = %(user)s GROUP BY user_id ORDER BY last DESC, user_id LIMIT %(n)s)"
        " SELECT s.user_id, s.product_id, s.kind FROM rec_signals s JOIN u USING (user_id)",
        {"seeds": list(seeds), "user": user or "", "n": NEIGHBOURS},
    )
    return [(r["user_id"], r["product_id"], r["kind"]) for r in rows]


async def _item_users(db: SqlReader, items: Sequence[str]) -> np.ndarray:
    rows = await db.fetch(
        "SELECT product_id, count(DISTINCT user_id) AS n FROM rec_signals"
        " WHERE product_id = ANY(%s) GROUP BY product_id",
        (list(items),),
    )
    counts = {r["product_id"]: float(r["n"]) for r in rows}
    return np.array([counts.get(i, 0.0) for i in items])


async def _popular(db: SqlReader, limit: int) -> list[tuple[str, int]]:
    rows = await db.fetch(
        "SELECT product_id, count(DISTINCT user_id) AS n FROM rec_signals GROUP BY product_id"
        " ORDER BY n DESC, product_id LIMIT %s",
        (limit,),
    )
    return [(r["product_id"], int(r["n"])) for r in rows]


async def _details(db: SqlReader, items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name, price and category from the catalogue, where it has the product."""
    ids = []
    for i in items:
        try:
            ids.append(str(uuid.UUID(i)))
        except ValueError:
            continue
    if not ids:
        return {}
    rows = await db.fetch(
        "SELECT id::text AS id, name, name_bn, list_price, category FROM products WHERE id = ANY(%s::uuid[])", (ids,)
    )
    return {r["id"]: r for r in rows}


def _shape(picks: Sequence[rec.Pick], details: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in picks:
        d = details.get(p.item, {})
        out.append(
            {
                "product_id": p.item,
                "score": p.score,
                "because_of": p.because,
                "reason": "similar" if p.because else "popular",
                "name": d.get("name"),
                "name_bn": d.get("name_bn"),
                "category": d.get("category"),
                "price": d.get("list_price"),
            }
        )
    return out


async def product_recommendations(db: SqlReader, stream_id: str, user: str | None, k: int = K) -> dict[str, Any]:
    """``show_products``: the show's own products in the order this viewer is likeliest to want them;
    ``catalogue``: products from elsewhere for this viewer (popular ones for a viewer with no history);
    ``also_bought``: what buyers of the show's products also bought."""
    in_show = await show_products(db, stream_id)
    rows = await _neighbourhood(db, user, in_show)
    popular = await _popular(db, k + len(in_show))
    m = rec.matrix(rows, extra_items=[*in_show, *(p for p, _ in popular)])
    counts = await _item_users(db, m.items)
    sim = rec.similarity(m, item_users=counts)
    show_set = set(in_show)
    others = [i for i in m.items if i not in show_set]
    picks_show = rec.for_user(m, sim, user, len(in_show), candidates=in_show, pop=counts, exclude_bought=False)
    picks_cat = rec.for_user(m, sim, user, k, candidates=others, pop=counts)
    picks_also = rec.also_bought(m, sim, in_show, k, pop=counts)
    details = await _details(db, list({p.item for p in (*picks_show, *picks_cat, *picks_also)}))
    return {
        "stream_id": stream_id,
        "show_products": _shape(picks_show, details),
        "catalogue": _shape(picks_cat, details),
        "also_bought": _shape(picks_also, details),
    }


def recommended_products(answer: Mapping[str, Any], k: int = K) -> list[dict[str, Any]]:
    """One list for a viewer's first screen: the show's products for them first, then the catalogue's."""
    return [*answer["show_products"], *answer["catalogue"]][:k]


# --- shows ----------------------------------------------------------------------------------------------------
async def stream_recommendations(
    db: SqlReader, user: str | None, now: datetime, k: int = K
) -> tuple[list[srec.StreamPick], bool]:
    """(picks, cold start: the viewer has no watches and follows, so the picks are the trending order)."""
    n = _naive(now)
    shows = [
        srec.Show(
            r["id"],
            r["host_id"],
            r["category"],
            r["language"],
            r["status"] == "live",
            _aware(r["started_at"] if r["status"] == "live" else r["scheduled_start_time"]),
        )
        for r in await db.fetch(
            "SELECT id, host_id, category, language, status, started_at, scheduled_start_time FROM rec_streams"
            " WHERE is_public AND (status = 'live' OR (status = 'scheduled' AND scheduled_start_time"
            " BETWEEN %s AND %s)) ORDER BY id",
            (n, n + UPCOMING),
        )
    ]
    watches: list[srec.Watch] = []
    follows: list[str] = []
    co_watch: list[tuple[str, str, float]] = []
    if user:
        watches = [
            srec.Watch(r["host_id"], r["category"], r["language"], _aware(r["at"]) or now)
            for r in await db.fetch(
                "SELECT s.host_id, s.category, s.language, min(w.at) AS at FROM rec_watches w"
                " JOIN rec_streams s ON s.id = w.stream_id WHERE w.user_id = %s"
                " GROUP BY s.id, s.host_id, s.category, s.language",
                (user,),
            )
        ]
        follows = [
            r["host_user_id"]
            for r in await db.fetch(
                "SELECT host_user_id FROM rec_follows WHERE follower_id = %s AND following", (user,)
            )
        ]
        hosts = sorted({w.host_id for w in watches if w.host_id})
        if hosts:
            co_watch = [
                (r["user_id"], r["host_id"], float(r["n"]))
                for r in await db.fetch(
                    "WITH u AS (SELECT DISTINCT w.user_id FROM rec_watches w JOIN rec_streams s ON s.id = w.stream_id"
                    " WHERE s.host_id = ANY(%(hosts)s) ORDER BY w.user_id LIMIT %(n)s)"
                    " SELECT w.user_id, s.host_id, count(DISTINCT s.id) AS n FROM rec_watches w JOIN u USING (user_id)"
                    " JOIN rec_streams s ON s.id = w.stream_id WHERE s.host_id IS NOT NULL"
                    " GROUP BY w.user_id, s.host_id",
                    {"hosts": hosts, "n": CO_WATCHERS},
                )
            ]
    trending = await _trending(db, [s.stream_id for s in shows], n)
    picks = srec.recommend(shows, watches, follows, now, co_watch=co_watch, trending=trending, k=k)
    return picks, not watches and not follows


async def _trending(db: SqlReader, stream_ids: Sequence[str], now: datetime) -> dict[str, float]:
    """Joins of each show in the last day, plus a tenth of its host's audience over the last month."""
    if not stream_ids:
        return {}
    rows = await db.fetch(
        "SELECT s.id, (SELECT count(DISTINCT w.user_id) FROM rec_watches w WHERE w.stream_id = s.id"
        " AND w.at > %(day)s) AS joins, (SELECT count(DISTINCT w.user_id) FROM rec_watches w JOIN rec_streams h"
        " ON h.id = w.stream_id WHERE h.host_id = s.host_id AND w.at > %(month)s) AS host_audience"
        " FROM rec_streams s WHERE s.id = ANY(%(ids)s)",
        {"ids": list(stream_ids), "day": now - TRENDING_WINDOW, "month": now - HOST_WINDOW},
    )
    return {r["id"]: float(r["joins"]) + 0.1 * float(r["host_audience"]) for r in rows}
