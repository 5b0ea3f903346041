"""Find every stored event an audit needs, from the event store alone, and the holes in its notification ids.

An auditor must not trust a read model to say which orders belong to a flash sale: the scope is found in
the store itself. Orders name their sale in their lines (``flash_sale_id``), payments name their order,
orders name the payment that paid them, sales name their show. A row that matches the search text but no
longer decodes is kept in scope on purpose: it is exactly what the integrity checks must see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from application.event_store import EVENTS_TABLE, new_transcoder
from infra.audit.model import StoredRow

_TRANSCODER = new_transcoder()
FLASH_SALE, ORDER, PAYMENT, STREAM = "FlashSale", "Order", "Payment", "LiveStream"
_TOPIC = {
    ORDER: "domain.order:Order.Placed",
    PAYMENT: "domain.payment:Payment.Initiated",
    FLASH_SALE: "domain.flash_sale:FlashSale.Scheduled",
}
# A payment's order id, as the transcoder writes it (a UUID, or the caller's text), read without decoding:
# ``encode(state, 'escape')`` never fails, even on a row whose bytes were mangled.
_ORDER_OF_PAYMENT = (  # braces doubled: this is a psycopg sql.SQL format string
    "SELECT x.id FROM (SELECT originator_id::text AS id, COALESCE("
    r""" substring(t from '"order_id":\{{"_type_":"uuid_hex","_data_":"([0-9a-f]{{32}})"\}}'),"""
    r""" replace(lower(substring(t from '"order_id":"([^"\\]*)"')), '-', '')) AS oid"""
    " FROM (SELECT originator_id, encode(state, 'escape') AS t FROM {}.{} WHERE topic = %s) s) x"
    " WHERE x.oid = ANY(%s)"
)


def as_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError):
        return None


def decode(row: StoredRow) -> dict[str, Any] | None:
    try:
        state = _TRANSCODER.decode(row.state)
    except Exception:  # noqa: BLE001 - any failure means "no longer decodes"; the fold reports it
        return None
    return state if isinstance(state, dict) else None


class StoreScope:
    """Reads one audit's rows; ``rows`` maps aggregate id → its rows in version order."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], schema: str = "public") -> None:
        self.conn = conn
        self.schema = schema
        self.table = (sql.Identifier(schema), sql.Identifier(EVENTS_TABLE))
        self.rows: dict[str, list[StoredRow]] = {}

    async def load(self, ids: Iterable[str]) -> list[str]:
        """Load every event of these aggregates (those not loaded yet); returns the ids that had events."""
        todo = sorted({i for i in (as_uuid(x) for x in ids) if i is not None} - set(self.rows))
        if not todo:
            return []
        cur = await self.conn.execute(
            sql.SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {}.{}"
                " WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
            ).format(*self.table),
            (todo,),
        )
        found: list[str] = []
        for nid, oid, ver, topic, state in await cur.fetchall():
            if oid not in self.rows:
                self.rows[oid] = []
                found.append(oid)
            self.rows[oid].append(StoredRow(int(nid), oid, int(ver), topic, bytes(state)))
        return found

    async def mentioning(self, kind: str, needle: str, field: str) -> list[str]:
        """Aggregates whose creation event mentions ``needle`` (text or hex), checked by decoding."""
        u = as_uuid(needle)
        needles = [needle.encode()] + ([u.encode(), uuid.UUID(u).hex.encode()] if u else [])
        cur = await self.conn.execute(
            sql.SQL(
                "SELECT originator_id::text, originator_version, notification_id, topic, state FROM {}.{}"
                " WHERE topic = %s"
                " AND EXISTS (SELECT 1 FROM unnest(%s::bytea[]) n WHERE position(n in state) > 0)"
            ).format(*self.table),
            (_TOPIC[kind], needles),
        )
        out = []
        for oid, ver, nid, topic, state in await cur.fetchall():
            d = decode(StoredRow(nid, oid, ver, topic, bytes(state)))
            if d is None or _mentions(d, field, u or needle):
                out.append(oid)
        return out

    async def payments_of(self, order_ids: Iterable[str]) -> list[str]:
        keys = sorted({(as_uuid(o) or str(o)).replace("-", "").lower() for o in order_ids})
        if not keys:
            return []
        cur = await self.conn.execute(sql.SQL(_ORDER_OF_PAYMENT).format(*self.table), (_TOPIC[PAYMENT], keys))
        return [r[0] for r in await cur.fetchall()]

    async def holes(self, first: int, last: int, limit: int = 1_000) -> list[tuple[int, int]]:
        """Notification ids never seen from ``first`` (the scope's rows) on, up to the row after ``last``,
        and a tail the sequence handed out beyond the table's last row."""
        cur = await self.conn.execute(
            sql.SQL(
                "SELECT prev + 1, nid - 1 FROM (SELECT notification_id AS nid,"
                " lag(notification_id) OVER (ORDER BY notification_id) AS prev FROM {0}.{1}"
                " WHERE notification_id >= %s AND notification_id <= COALESCE("
                "  (SELECT MIN(notification_id) FROM {0}.{1} WHERE notification_id > %s), %s)) x"
                " WHERE nid - prev > 1 ORDER BY prev LIMIT %s"
            ).format(*self.table),
            (first, last, last, limit),
        )
        out = [(int(a), int(b)) for a, b in await cur.fetchall()]
        cur = await self.conn.execute(
            sql.SQL(
                "SELECT COALESCE(MAX(notification_id), 0), pg_get_serial_sequence(%s, 'notification_id') FROM {}.{}"
            ).format(*self.table),
            (f'"{self.schema}".{EVENTS_TABLE}',),
        )
        row = await cur.fetchone()
        if row and row[1]:
            top, seq = int(row[0]), row[1]
            cur = await self.conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(seq)))
            handed = await cur.fetchone()
            if handed and handed[1] and int(handed[0]) > top:
                out.append((top + 1, int(handed[0])))
        return out


def _mentions(state: dict[str, Any], field: str, target: str) -> bool:
    if field == "lines":
        return any(_same(line.get("flash_sale_id"), target) for line in state.get("lines") or [])
    return _same(state.get(field), target)


def _same(value: Any, target: str) -> bool:
    return value is not None and (as_uuid(value) or str(value)) == target


def referenced(rows: list[StoredRow], field: str) -> set[str]:
    """Ids an aggregate's events name in ``field`` (``payment_id``, or its lines' ``flash_sale_id``)."""
    out: set[str] = set()
    for row in rows:
        d = decode(row)
        if d is None:
            continue
        lines = d.get("lines") or []
        values = [line.get(field) for line in lines] if field == "flash_sale_id" else [d.get(field)]
        out |= {u for u in (as_uuid(v) for v in values if v is not None) if u}
    return out
