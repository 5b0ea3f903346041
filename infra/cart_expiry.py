"""Abandoned live carts give their units back: carts past their deadline, found from the event store itself.

``cart_deadlines`` is kept from the store's notification log (``Cart.ItemAdded`` sets a cart's deadline, a
checkout or an expiry removes it), in ONE transaction with this follower's position there, so it is exactly the
log's whatever state Kafka or the read models are in: a stalled relay or projection cannot leave a cart's
stock locked. The sweep hands each cart past its deadline to ``CheckoutService.expire_cart``; the Cart aggregate
decides (a cart refilled since has a later deadline and is left alone), so a stale row costs one load, never a
wrong release. Several copies may run: the position row is locked while a copy catches up.

This is a small follower of its own until the process managers' shared due-work list (``due_work``) is in main;
carts then become one more kind of entry there (ADR 0014).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from application.checkout import CheckoutService
from application.event_envelopes import envelope_from_state_bytes
from application.event_store import EVENTS_TABLE
from infra.bootstrap import utc_now
from infra.settings import Settings
from infra.store_reader import max_position

log = logging.getLogger(__name__)
NAME = "cart-expiry"
CART_TOPICS = "domain.cart:Cart.%"


class CartExpiry:
    def __init__(self, settings: Settings, checkout: CheckoutService, *, clock: Callable[[], datetime] = utc_now,
                 batch: int = 1000) -> None:
        self._s = settings
        self._checkout = checkout
        self._clock = clock
        self._batch = batch
        self._pool = AsyncConnectionPool(settings.postgres_url, min_size=1, max_size=2, open=False,
                                         kwargs={"autocommit": True})
        self._select = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{}"
            " WHERE notification_id > %s AND notification_id <= %s AND topic LIKE %s"
            " ORDER BY notification_id LIMIT %s").format(sql.Identifier(settings.postgres_schema),
                                                         sql.Identifier(EVENTS_TABLE))
        self.position = 0

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=10)
        async with self._pool.connection() as conn:
            await conn.execute("INSERT INTO cart_expiry_position (name, notification_id) VALUES (%s, 0)"
                               " ON CONFLICT (name) DO NOTHING", (NAME,))

    async def close(self) -> None:
        await self._pool.close()

    async def catch_up(self) -> int:
        """Apply every Cart event stored since the saved position; → how many."""
        seen = 0
        while True:
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute("SELECT notification_id FROM cart_expiry_position WHERE name = %s"
                                         " FOR UPDATE", (NAME,))
                row = await cur.fetchone()
                position = int(row[0]) if row else 0
                upto = await max_position(conn, self._s.postgres_schema)  # ids show in commit order
                cur = await conn.execute(self._select, (position, upto, CART_TOPICS, self._batch))
                rows = await cur.fetchall()
                for nid, oid, version, topic, state in rows:
                    await self._apply(conn, envelope_from_state_bytes(
                        topic=topic, aggregate_id=oid, aggregate_version=version, state=bytes(state), position=nid))
                full = len(rows) == self._batch
                position = int(rows[-1][0]) if full else max(upto, position)
                await conn.execute("UPDATE cart_expiry_position SET notification_id = %s WHERE name = %s",
                                   (position, NAME))
            seen += len(rows)
            self.position = position
            if not full:
                return seen

    @staticmethod
    async def _apply(conn: Any, e: Any) -> None:
        if e.type == "Cart.ItemAdded" and e.payload.get("expires_at"):
            await conn.execute(
                "INSERT INTO cart_deadlines (cart_id, expires_at, position) VALUES (%s, %s, %s)"
                " ON CONFLICT (cart_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, position = EXCLUDED.position",
                (e.aggregate_id, datetime.fromisoformat(e.payload["expires_at"]), e.position))
        elif e.type in ("Cart.CheckedOut", "Cart.Expired"):
            await conn.execute("DELETE FROM cart_deadlines WHERE cart_id = %s AND position < %s",
                               (e.aggregate_id, e.position))

    async def sweep_once(self) -> int:
        """Catch up, then expire every cart past its deadline; → lines whose units went back."""
        await self.catch_up()
        now = self._clock()
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT cart_id FROM cart_deadlines WHERE expires_at <= %s"
                                     " ORDER BY expires_at LIMIT 500", (now,))
            due = [UUID(str(r[0])) for r in await cur.fetchall()]
        released = 0
        for cart_id in due:
            try:
                n, deadline = await self._checkout.expire_cart(cart_id)
            except Exception:  # one cart must not stop the others; the next pass tries again
                log.exception("cart %s: expiry failed", cart_id)
                continue
            released += n
            if n:
                log.info("cart %s expired: %d lines given back", cart_id, n)
            elif deadline is None:  # empty (its event will remove the row too): nothing left to expire
                async with self._pool.connection() as conn:
                    await conn.execute("DELETE FROM cart_deadlines WHERE cart_id = %s AND expires_at <= %s",
                                       (cart_id, now))
        return released


async def run_cart_expiry(settings: Settings, checkout: CheckoutService, stop: asyncio.Event) -> None:
    """The sweep every ``sweep_interval_s`` until ``stop`` (a task of ``livecommerce process``)."""
    expiry = CartExpiry(settings, checkout)
    await expiry.open()
    try:
        while not stop.is_set():
            try:
                await expiry.sweep_once()
            except Exception:
                log.exception("cart expiry pass failed; retrying next pass")
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.sweep_interval_s)
            except TimeoutError:
                pass
    finally:
        await expiry.close()
