"""The due-work table, kept from the event store's notification log; the process managers' list of work.

``catch_up`` locks its position row, reads the store's log after it (``infra.store_reader``, the relay's
reader: the library's ``select_notifications`` on its own connection), turns each event into changes
(``application.due_work.plan``), applies them to ``due_work`` and saves the new position, the changes and the
position in ONE transaction on the event store's database: a crash anywhere leaves the table and the position
together, so no event is planned twice or skipped. It needs neither Kafka nor any read model, so a
stalled relay or projection cannot leave a hold locked or a payment open. Several copies of the process may run:
the position row is locked for the transaction, so they take turns and each event is planned once.

``wait`` sleeps until a deadline or until the store NOTIFYs a new event (the library NOTIFYs on every insert),
so a show's end closes its deals at once and a sale starts on its second rather than on the next sweep.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from application import due_work as dw
from application.envelope import Envelope
from infra.settings import Settings
from infra.store_reader import CHANNEL, open_reader, read_after

log = logging.getLogger(__name__)
POSITION = "due-work"
# Kinds whose due_at is the moment to act (payments and refunds wait a setting's time after theirs).
TIMED = (
    dw.SALE_START,
    dw.SALE_END,
    dw.HOLD,
    dw.AUCTION_CLOSE,
    dw.AUCTION_PAYMENT,
    dw.GROUP_BUY,
    dw.CART,
    dw.POLL_CLOSE,
    dw.QUIZ_QUESTION,
    dw.LOYALTY_LOT,
)

_UPSERT = """
INSERT INTO due_work AS w (kind, aggregate_id, item, due_at, stream_id, show_ended, data, position)
SELECT %(kind)s, %(agg)s, %(item)s, LEAST(%(due)s, c.closed_at), %(stream)s, c.closed_at IS NOT NULL,
       %(data)s, %(pos)s
FROM (SELECT (SELECT due_at FROM due_work WHERE kind = 'show_closed' AND aggregate_id = %(stream)s
              AND item = '') AS closed_at) c
ON CONFLICT (kind, aggregate_id, item) DO UPDATE SET
    due_at = CASE WHEN w.show_ended THEN LEAST(w.due_at, EXCLUDED.due_at) ELSE EXCLUDED.due_at END,
    stream_id = COALESCE(EXCLUDED.stream_id, w.stream_id),
    data = w.data || EXCLUDED.data,
    position = EXCLUDED.position
"""


@dataclass(frozen=True)
class Entry:
    kind: str
    aggregate_id: UUID
    item: str
    due_at: datetime
    show_ended: bool
    data: dict[str, Any]


async def apply_change(conn: psycopg.AsyncConnection[Any], change: dw.Change, position: int) -> None:
    """Apply one change (no result is read: a batch's statements go down one pipeline)."""
    if isinstance(change, dw.Due):
        await conn.execute(
            _UPSERT,
            {
                "kind": change.kind,
                "agg": change.aggregate_id,
                "item": change.item,
                "due": change.due_at,
                "stream": change.stream_id,
                "data": json.dumps(change.data),
                "pos": position,
            },
            prepare=True,
        )
    elif isinstance(change, dw.Done):
        if change.item is None:
            await conn.execute(
                "DELETE FROM due_work WHERE kind = %s AND aggregate_id = %s",
                (change.kind, change.aggregate_id),
                prepare=True,
            )
        else:
            await conn.execute(
                "DELETE FROM due_work WHERE kind = %s AND aggregate_id = %s AND item = %s",
                (change.kind, change.aggregate_id, change.item),
                prepare=True,
            )
    else:
        await conn.execute(
            "INSERT INTO due_work (kind, aggregate_id, item, due_at, position) VALUES (%s, %s, '', %s, %s)"
            " ON CONFLICT (kind, aggregate_id, item) DO NOTHING",
            (dw.SHOW_CLOSED, change.stream_id, change.at, position),
            prepare=True,
        )
        await conn.execute(
            "UPDATE due_work SET show_ended = true, due_at = LEAST(due_at, %s), position = %s"
            " WHERE stream_id = %s AND kind = ANY(%s)",
            (change.at, position, change.stream_id, list(dw.CLOSE_WITH_SHOW)),
            prepare=True,
        )


class DueWork:
    def __init__(self, settings: Settings, *, batch: int = 1000, name: str = POSITION) -> None:
        self._s = settings
        self._batch = batch
        self._name = name
        self._pool = AsyncConnectionPool(
            settings.postgres_url, min_size=1, max_size=3, open=False, kwargs={"autocommit": True}
        )
        self._listen: psycopg.AsyncConnection[Any] | None = None
        self._store = open_reader(settings)
        self.position = 0
        self.skipped = 0  # events whose plan failed (logged): a bug to fix, never a reason to stop

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=10)
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO due_work_positions (name, notification_id) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING",
                (self._name,),
            )
        await self._listen_again()

    async def _listen_again(self) -> None:
        if self._listen is not None:
            await self._listen.close()
        self._listen = await psycopg.AsyncConnection.connect(self._s.postgres_url, autocommit=True)
        await self._listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))

    async def close(self) -> None:
        if self._listen is not None:
            await self._listen.close()
        await self._pool.close()
        await self._store.close()

    async def catch_up(self) -> datetime | None:
        """Plan every event stored since the saved position; → the earliest moment the new changes make due."""
        earliest: datetime | None = None
        while True:
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "SELECT notification_id FROM due_work_positions WHERE name = %s FOR UPDATE", (self._name,)
                )
                row = await cur.fetchone()
                position = int(row[0]) if row else 0
                envelopes = await read_after(self._store, position, self._batch)
                if envelopes:
                    async with conn.pipeline():
                        for e in envelopes:
                            for change in self._plan(e):
                                await apply_change(conn, change, e.position or 0)
                    # The entries this batch set (their stored due time: earlier when their show has ended).
                    cur = await conn.execute(
                        "SELECT min(due_at) FROM due_work WHERE position > %s AND kind = ANY(%s)",
                        (position, [*TIMED, dw.SHOW_CLOSED]),
                    )
                    row = await cur.fetchone()
                    if row and row[0] is not None and (earliest is None or row[0] < earliest):
                        earliest = row[0]
                    position = envelopes[-1].position or position
                    await conn.execute(
                        "UPDATE due_work_positions SET notification_id = %s, updated_at = now() WHERE name = %s",
                        (position, self._name),
                    )
            self.position = position
            if len(envelopes) < self._batch:
                return earliest

    def _plan(self, e: Envelope) -> list[dw.Change]:
        try:
            return dw.plan(e)
        except Exception:  # our own events: a plan that fails is a bug, logged loudly, never a stop
            self.skipped += 1
            log.exception("due work: cannot plan %s %s v%s", e.type, e.aggregate_id, e.aggregate_version)
            return []

    async def due(self, kinds: tuple[str, ...], before: datetime, limit: int = 500) -> list[Entry]:
        """Entries of these kinds due at or before ``before``, oldest first."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT kind, aggregate_id, item, due_at, show_ended, data FROM due_work"
                " WHERE kind = ANY(%s) AND due_at <= %s ORDER BY due_at LIMIT %s",
                (list(kinds), before, limit),
            )
            return [Entry(**r) for r in await cur.fetchall()]

    async def next_due(self, after: datetime) -> datetime | None:
        """The first moment after ``after`` when a timed entry falls due."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT min(due_at) FROM due_work WHERE kind = ANY(%s) AND due_at > %s", (list(TIMED), after)
            )
            row = await cur.fetchone()
            return row[0] if row else None

    async def wait(self, seconds: float) -> None:
        """Until ``seconds`` pass or the store has a new event (a burst of inserts is one wake-up). A lost
        listening connection is opened again; meanwhile the wait is a plain sleep (the timers still hold)."""
        if seconds <= 0:
            return
        try:
            if self._listen is None or self._listen.closed:
                await self._listen_again()
            assert self._listen is not None
            async for _ in self._listen.notifies(timeout=seconds, stop_after=1):
                break
        except psycopg.Error as exc:
            log.warning("due work: listening for new events failed (%s); polling until it is back", exc)
            if self._listen is not None:
                await self._listen.close()
            self._listen = None
            await asyncio.sleep(seconds)
