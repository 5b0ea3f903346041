"""The figures' definitions (projections/analytics_queries.py, ADR 0015) on real PostgreSQL, against a model
written from the definitions, over generated shows (their interactions and carts through the analytics
projection, their orders as the orders read model holds them): revenue net of refunds, a conversion rate never
above 1, a funnel in which no step shows more than the one before, products that add up to the revenue; and a
redelivered batch changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from application.envelope import Envelope
from infra.postgres import apply_migrations
from projections.analytics_pg import AnalyticsTables
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
    Order,
    st.integers(0, len(PEOPLE) - 1),
    st.sampled_from(["pending_payment", "payment_failed", "paid", "refunded"]),
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=2).map(tuple),
    st.sampled_from([0, 10, 20]),
    st.sampled_from([0, 0, 25, 50]),
)


@dataclass(frozen=True)
class Show:
    viewers: tuple[str, ...]  # people (index) or anonymous connections ("anon-N"), one presence row each
    taps: frozenset[int]
    carts: frozenset[int]
    orders: tuple[Order, ...]


show_st = st.builds(
    Show,
    st.lists(st.one_of(st.sampled_from(PEOPLE), st.sampled_from(["anon-1", "anon-2"])), max_size=8).map(tuple),
    st.frozensets(st.integers(0, len(PEOPLE) - 1)),
    st.frozensets(st.integers(0, len(PEOPLE) - 1)),
    st.lists(orders_st, max_size=6).map(tuple),
)


def money(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


class Tx:
    """The projections' SQL port over the same connection (the analytics projection writes through it)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.reader = Reader(conn)
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount  # type: ignore[arg-type]

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        return await self.reader.fetch(sql, params)


class Db:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    @asynccontextmanager
    async def transaction(self, pipeline: bool = False) -> AsyncIterator[Tx]:
        with self.conn.transaction():
            yield Tx(self.conn)


def envelope(type_: str, sid: str, payload: dict[str, Any], aggregate: str | None = None) -> Envelope:
    return Envelope(
        id=f"t.{uuid.uuid4().hex}",
        type=type_,
        schema_version=1,
        aggregate_id=aggregate,
        aggregate_version=1 if aggregate else None,
        stream_id=None if aggregate else sid,
        occurred_at=T0.replace(tzinfo=UTC),
        payload=payload,
    )


def write(conn: psycopg.Connection[Any], sid: str, s: Show) -> list[Envelope]:
    """The show's interactions and carts through the analytics projection; its orders as the orders read model
    holds them (their status and refunds are the inputs of the definitions)."""
    log: list[Envelope] = []
    for i, who in enumerate(s.viewers):
        user = None if who.startswith("anon") else who
        log.append(
            envelope(
                "presence.joined",
                sid,
                {
                    "viewer_id": user or f"anon:{who}",
                    "user_id": user,
                    "connection_id": who if user is None else f"c{i}",
                },
            )
        )
    log += [
        envelope("purchase.intent", sid, {"user_id": PEOPLE[p], "product_id": PRODUCTS[0], "quantity": 1})
        for p in s.taps
    ]
    for p in s.carts:
        cart = str(uuid.uuid4())
        log.append(envelope("Cart.Opened", sid, {"stream_id": sid, "buyer_id": PEOPLE[p]}, cart))
        log.append(
            replace(
                envelope("Cart.ItemAdded", sid, {"product_id": PRODUCTS[0], "quantity": 1}, cart), aggregate_version=2
            )
        )
    log += [
        envelope("Order.Placed", sid, {"stream_id": sid, "buyer_id": PEOPLE[o.buyer]}, str(uuid.uuid4()))
        for o in s.orders
    ]
    asyncio.run(AnalyticsTables(Db(conn)).apply(log))  # type: ignore[arg-type]
    for o in s.orders:
        lines = [{"product_id": PRODUCTS[p], "quantity": q, "unit_price": str(PRICES[p])} for p, q in o.lines]
        subtotal = money(sum((PRICES[p] * q for p, q in o.lines), Decimal(0)))
        total = money(subtotal * (100 - o.discount_pct) / 100)
        refunded = (
            total
            if o.status == "refunded"
            else money(total * o.refund_pct / 100)
            if o.status == "paid"
            else Decimal("0.00")
        )
        conn.execute(
            "INSERT INTO orders (id, buyer_id, stream_id, status, lines, subtotal, discount, total,"
            " payment_method, refunded, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
            " 'bkash', %s, %s, %s)",
            (
                uuid.uuid4(),
                PEOPLE[o.buyer],
                sid,
                o.status,
                json.dumps(lines),
                subtotal,
                subtotal - total,
                total,
                refunded,
                T0,
                T0,
            ),
        )
    return log


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
    carts = {PEOPLE[p] for p in s.carts} | {PEOPLE[o.buyer] for o in s.orders}  # checked out: a cart add
    taps = {PEOPLE[p] for p in s.taps} | carts
    reached = viewers | taps
    return {
        "viewers": len(viewers),
        "audience": len(reached),
        "buyers": len(buyers),
        "purchases": sum(1 for o in sales if o.status == "paid"),
        "revenue": revenue,
        "funnel": {
            "viewers": len(reached),
            "product_views": len(taps),
            "cart_adds": len(carts),
            "purchases": len(buyers),
        },
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(show_st)
def test_figures_follow_their_definitions(conn: psycopg.Connection[Any], s: Show) -> None:
    sid = str(uuid.uuid4())
    log = write(conn, sid, s)
    want = expected(s)
    f = asyncio.run(show_figures(Reader(conn), [sid]))[sid]
    assert (f.viewers, f.audience, f.buyers, f.purchases, f.revenue) == (
        want["viewers"],
        want["audience"],
        want["buyers"],
        want["purchases"],
        want["revenue"],
    )
    assert 0.0 <= conversion(f) <= 1.0
    d = asyncio.run(stream_analytics(Reader(conn), sid))
    funnel = d["sales_analytics"]["conversion_funnel"]
    assert funnel == want["funnel"]
    assert funnel["purchases"] <= funnel["cart_adds"] <= funnel["product_views"] <= funnel["viewers"]
    assert d["overview"]["revenue"] == want["revenue"] and d["overview"]["total_purchases"] == want["purchases"]
    by_product = sum((p["revenue"] for p in d["sales_analytics"]["revenue_by_product"]), Decimal(0))
    assert abs(by_product - want["revenue"]) <= Decimal("0.01") * len(s.orders)  # shared pro rata, per order
    asyncio.run(AnalyticsTables(Db(conn)).apply(log))  # redelivered: nothing changes
    assert asyncio.run(show_figures(Reader(conn), [sid]))[sid] == f
