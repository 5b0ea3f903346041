"""The figures' definitions (projections/analytics_queries.py, ADR 0015) on real PostgreSQL, against a model
written from the definitions, over generated shows: revenue net of refunds, a conversion rate never above 1, a
funnel in which no step shows more than the one before, products that add up to the revenue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from infra.postgres import apply_migrations
from projections.analytics_queries import conversion, show_figures, stream_analytics
from tests.conftest import Environments

T0 = datetime(2026, 3, 17, 19, 0)
PEOPLE = [str(uuid.UUID(int=i + 1)) for i in range(6)]
PRODUCTS = [str(uuid.UUID(int=100 + i)) for i in range(2)]
PRICES = [Decimal("2499.50"), Decimal("95000.00")]


class Reader:
    """``analytics_queries.Reader`` over a plain psycopg connection (the queries are the system under test)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)  # type: ignore[arg-type]
            return cur.fetchall()


@pytest.fixture(scope="module")
def conn(environments: Environments) -> Iterator[psycopg.Connection[Any]]:
    env = environments.new()
    apply_migrations(env.read_url)
    with psycopg.connect(env.read_url, autocommit=True) as c:
        yield c


@dataclass(frozen=True)
class Order:
    buyer: int
    status: str  # pending_payment, payment_failed, paid, refunded (in full)
    lines: tuple[tuple[int, int], ...]  # (product, quantity)
    discount_pct: int
    refund_pct: int  # of the total, for paid orders (a partial refund); refunded ones: all of it


orders_st = st.builds(
    Order, st.integers(0, len(PEOPLE) - 1), st.sampled_from(["pending_payment", "payment_failed", "paid", "refunded"]),
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=2).map(tuple),
    st.sampled_from([0, 10, 20]), st.sampled_from([0, 0, 25, 50]))


@dataclass(frozen=True)
class Show:
    viewers: tuple[str, ...]  # people (index) or anonymous connections ("anon-N"), one presence row each
    taps: frozenset[int]
    carts: frozenset[int]
    orders: tuple[Order, ...]


show_st = st.builds(
    Show, st.lists(st.one_of(st.sampled_from(PEOPLE), st.sampled_from(["anon-1", "anon-2"])), max_size=8).map(tuple),
    st.frozensets(st.integers(0, len(PEOPLE) - 1)), st.frozensets(st.integers(0, len(PEOPLE) - 1)),
    st.lists(orders_st, max_size=6).map(tuple))


def money(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


def write(conn: psycopg.Connection[Any], sid: str, s: Show) -> None:
    for i, who in enumerate(s.viewers):
        user = None if who.startswith("anon") else who
        conn.execute("INSERT INTO live_stream_viewers (id, stream_id, user_id, viewer_session_id, join_time,"
                     " leave_time, watch_duration_seconds) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (uuid.uuid4(), sid, user, who if user is None else f"c{i}", T0, T0 + timedelta(seconds=60), 60))
    for p in s.taps:
        conn.execute("INSERT INTO live_stream_interactions (id, stream_id, user_id, interaction_type, metadata,"
                     " timestamp) VALUES (%s, %s, %s, 'purchase_intent', '{}', %s)", (uuid.uuid4(), sid, PEOPLE[p], T0))
    for p in s.carts:
        cart = uuid.uuid4()
        conn.execute("INSERT INTO analytics_carts (id, stream_id, buyer_id) VALUES (%s, %s, %s)",
                     (cart, sid, PEOPLE[p]))
        conn.execute("INSERT INTO analytics_cart_adds (id, cart_id, product_id, quantity, at) VALUES"
                     " (%s, %s, %s, 1, %s)", (uuid.uuid4(), cart, PRODUCTS[0], T0))
    for o in s.orders:
        lines = [{"product_id": PRODUCTS[p], "quantity": q, "unit_price": str(PRICES[p])} for p, q in o.lines]
        subtotal = money(sum((PRICES[p] * q for p, q in o.lines), Decimal(0)))
        total = money(subtotal * (100 - o.discount_pct) / 100)
        refunded = total if o.status == "refunded" else money(total * o.refund_pct / 100) \
            if o.status == "paid" else Decimal("0.00")
        conn.execute("INSERT INTO orders (id, buyer_id, stream_id, status, lines, subtotal, discount, total,"
                     " payment_method, refunded, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                     " 'bkash', %s, %s, %s)", (uuid.uuid4(), PEOPLE[o.buyer], sid, o.status, json.dumps(lines),
                                               subtotal, subtotal - total, total, refunded, T0, T0))


def expected(s: Show) -> dict[str, Any]:
    """The definitions of analytics_queries' docstring, computed in Python."""
    sales = [o for o in s.orders if o.status in ("paid", "refunded")]
    revenue = Decimal("0.00")
    for o in sales:
        subtotal = money(sum((PRICES[p] * q for p, q in o.lines), Decimal(0)))
        total = money(subtotal * (100 - o.discount_pct) / 100)
        revenue += Decimal("0.00") if o.status == "refunded" else total - money(total * o.refund_pct / 100)
    buyers = {PEOPLE[o.buyer] for o in sales if o.status == "paid"}
    viewers = set(s.viewers)
    carts = {PEOPLE[p] for p in s.carts} | buyers
    taps = {PEOPLE[p] for p in s.taps} | carts
    reached = viewers | taps
    return {"viewers": len(viewers), "audience": len(reached), "buyers": len(buyers),
            "purchases": sum(1 for o in sales if o.status == "paid"), "revenue": revenue,
            "funnel": {"viewers": len(reached), "product_views": len(taps), "cart_adds": len(carts),
                       "purchases": len(buyers)}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(show_st)
def test_figures_follow_their_definitions(conn: psycopg.Connection[Any], s: Show) -> None:
    sid = str(uuid.uuid4())
    write(conn, sid, s)
    want = expected(s)
    f = asyncio.run(show_figures(Reader(conn), [sid]))[sid]
    assert (f.viewers, f.audience, f.buyers, f.purchases, f.revenue) == (
        want["viewers"], want["audience"], want["buyers"], want["purchases"], want["revenue"])
    assert 0.0 <= conversion(f) <= 1.0
    d = asyncio.run(stream_analytics(Reader(conn), sid))
    funnel = d["sales_analytics"]["conversion_funnel"]
    assert funnel == want["funnel"]
    assert funnel["purchases"] <= funnel["cart_adds"] <= funnel["product_views"] <= funnel["viewers"]
    assert d["overview"]["revenue"] == want["revenue"] and d["overview"]["total_purchases"] == want["purchases"]
    by_product = sum((p["revenue"] for p in d["sales_analytics"]["revenue_by_product"]), Decimal(0))
    assert abs(by_product - want["revenue"]) <= Decimal("0.01") * len(s.orders)  # shared pro rata, per order
