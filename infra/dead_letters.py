"""Dead letters: a message one consumer cannot handle is set aside with its error, and the rest of the log flows on.

Why: one poison event (a NUL in a text field, a value a column cannot hold, an event larger than the broker
takes) used to stop a read model for good — the worker raised, restarted, met the same message, raised again —
and with it every read model in the process. Now (ADR 0019):

- ``ConsumerGuard.handle`` (``consumer_guard.py``) applies a fetched batch; when the batch fails it applies the
  messages one at a time, and a message that still fails (``dead_letter_attempts`` tries) becomes a dead letter:
  a row in the ``dead_letters`` table (durable; what ``/health`` counts and the operator lists and replays) and a
  message on ``{prefix}.dead-letters`` (for whatever alerts on it), with an ERROR log line. The batch's other messages
  are applied and its offsets committed.
- Order per aggregate holds: once an event of an aggregate is a dead letter, that consumer's later events of
  the same aggregate are parked behind it (reason ``parked``) instead of being applied out of order, so a
  replay applies them in their log order. Messages without an aggregate version (chat, reactions, media
  samples) are deduplicated by id and are not parked.
- An outage is not poison: errors of an unreachable or restarting server (``is_transient``) are retried in
  place, never dead-lettered; the read model's lag shows in ``/health`` meanwhile.
- An event the relay could not put on the log whole travels as a pointer (``pointer_for``): the same id, type,
  aggregate, version and position, and instead of its payload the place to read it from. ``ConsumerGuard``
  reads such events from the store (``resolve_pointer``), so read models still get every event in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from application.envelope import Envelope
from infra.settings import Settings
from infra.store_reader import StoreReader, read_after

log = logging.getLogger(__name__)

TOPIC = "dead-letters"  # {prefix}.dead-letters
POINTER = "_log_pointer"  # the payload key of a pointer envelope
MAX_ERROR = 2000


# -- what is poison and what is an outage -------------------------------------------------------------------
def is_transient(exc: BaseException) -> bool:
    """An error of a server that is down, restarting or busy: retried, never a dead letter."""
    import aiokafka.errors
    import eventsourcing.persistence
    import pymongo.errors
    import redis.exceptions

    if isinstance(
        exc,
        (
            OSError,
            TimeoutError,
            asyncio.TimeoutError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
            eventsourcing.persistence.OperationalError,  # the store reader (the library's recorder) wraps them
            eventsourcing.persistence.InterfaceError,
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            pymongo.errors.ConnectionFailure,
            pymongo.errors.WaitQueueTimeoutError,
        ),
    ):
        return True
    if isinstance(exc, pymongo.errors.PyMongoError) and exc.has_error_label("RetryableWriteError"):
        return True
    if isinstance(exc, aiokafka.errors.KafkaError):
        return bool(getattr(exc, "retriable", False)) or isinstance(
            exc, (aiokafka.errors.KafkaConnectionError, aiokafka.errors.KafkaTimeoutError)
        )
    return False


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return storable(text.replace("\x00", "\\x00"))[:MAX_ERROR]


def storable(text: str) -> str:
    """Text PostgreSQL can hold: no NUL, no lone surrogate (a message's own fields may hold what made it
    poison)."""
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


def _clean(value: str | None) -> str | None:
    return None if value is None else storable(value)[:1000]


# -- pointers for events too large for the log -------------------------------------------------------------
def pointer_for(e: Envelope, size: int, reason: str) -> Envelope:
    return replace(e, payload={POINTER: {"position": e.position, "bytes": size, "reason": reason}})


def is_pointer(e: Envelope) -> bool:
    return POINTER in e.payload and len(e.payload) == 1


async def resolve_pointer(reader: StoreReader, e: Envelope) -> Envelope:
    """The whole event a pointer stands for, read from the store at its position."""
    position = int(e.payload[POINTER]["position"])
    found = await read_after(reader, position - 1, 1)
    if not found or found[0].position != position or found[0].aggregate_id != e.aggregate_id:
        raise LookupError(f"the store has no event {e.aggregate_id} v{e.aggregate_version} at {position}")
    return found[0]


# -- the record ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    consumer: str
    message_id: str
    reason: str
    error: str
    status: str
    attempts: int
    position: int | None
    aggregate_id: str | None
    aggregate_version: int | None
    event_type: str | None
    park_key: str | None
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    message: bytes | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeadLetter:
        raw = row["message"]
        return cls(**{**{k: row[k] for k in cls.__slots__}, "message": bytes(raw) if raw is not None else None})

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "consumer": self.consumer,
            "reason": self.reason,
            "status": self.status,
            "type": self.event_type,
            "aggregate_id": self.aggregate_id,
            "aggregate_version": self.aggregate_version,
            "position": self.position,
            "attempts": self.attempts,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
        }


_COLUMNS = ", ".join(DeadLetter.__slots__)


class DeadLetterStore:
    """The ``dead_letters`` table (in the event store's database, beside ``relay_positions``)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn  # autocommit

    async def record(
        self,
        consumer: str,
        *,
        message_id: str,
        reason: str,
        error: str,
        envelope: Envelope | None = None,
        message: bytes | None = None,
        park_key: str | None = None,
        source: tuple[str, int, int] | None = None,
    ) -> DeadLetter:
        """Insert (or, for a message set aside before, count one more attempt); the stored letter."""
        e = envelope
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO dead_letters (consumer, message_id, reason, error, park_key, position, aggregate_id,"
                " aggregate_version, event_type, source_topic, source_partition, source_offset, message)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (consumer, message_id) DO UPDATE SET attempts = dead_letters.attempts + 1,"
                " updated_at = now()"
                f" RETURNING {_COLUMNS}",
                (
                    consumer,
                    _clean(message_id),
                    reason,
                    error,
                    _clean(park_key),
                    e.position if e else None,
                    _clean(e.aggregate_id) if e else None,
                    e.aggregate_version if e else None,
                    _clean(e.type) if e else None,
                    *(source or (None, None, None)),
                    message,
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return DeadLetter.from_row(row)

    async def open_keys(self, consumer: str) -> set[str]:
        cur = await self._conn.execute(
            "SELECT DISTINCT park_key FROM dead_letters WHERE consumer = %s AND status = 'open'"
            " AND park_key IS NOT NULL",
            (consumer,),
        )
        return {r[0] for r in await cur.fetchall()}

    async def first_open(self, consumer: str, key: str) -> int | None:
        cur = await self._conn.execute(
            "SELECT min(id) FROM dead_letters WHERE consumer = %s AND park_key = %s AND status = 'open'",
            (consumer, key),
        )
        row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def letters(
        self, consumer: str | None = None, *, status: str | None = "open", ids: Sequence[int] = (), limit: int = 1000
    ) -> list[DeadLetter]:
        where, params = ["TRUE"], []
        if consumer:
            where.append("consumer = %s")
            params.append(consumer)
        if status:
            where.append("status = %s")
            params.append(status)
        if ids:
            where.append("id = ANY(%s)")
            params.append(list(ids))
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_COLUMNS} FROM dead_letters WHERE {' AND '.join(where)}"  # noqa: S608
                " ORDER BY id LIMIT %s",
                (*params, limit),
            )
            return [DeadLetter.from_row(r) for r in await cur.fetchall()]

    async def counts(self) -> dict[str, int]:
        """Open dead letters per consumer."""
        cur = await self._conn.execute(
            "SELECT consumer, count(*) FROM dead_letters WHERE status = 'open' GROUP BY consumer ORDER BY 1"
        )
        return {r[0]: int(r[1]) for r in await cur.fetchall()}

    async def mark_replayed(self, letter_id: int) -> None:
        await self._conn.execute(
            "UPDATE dead_letters SET status = 'replayed', replayed_at = now(), updated_at = now() WHERE id = %s",
            (letter_id,),
        )

    async def mark_failed(self, letter_id: int, error: str) -> None:
        await self._conn.execute(
            "UPDATE dead_letters SET error = %s, attempts = attempts + 1, updated_at = now() WHERE id = %s",
            (error, letter_id),
        )


class DeadLetterTopic:
    """``{prefix}.dead-letters``: each letter as JSON, keyed by consumer. The producer starts on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Any = None
        self._lock = asyncio.Lock()

    async def publish(self, letter: DeadLetter) -> None:
        from infra import kafka

        async with self._lock:
            if self._producer is None:
                await kafka.ensure_topics(self._settings, (TOPIC,))
                producer = kafka.producer(self._settings)
                await kafka.start_with_retry(producer)
                self._producer = producer
        body = {
            **letter.summary(),
            "message_id": letter.message_id,
            "source": {
                "topic": letter.source_topic,
                "partition": letter.source_partition,
                "offset": letter.source_offset,
            },
        }
        message = letter.message
        if message is not None and len(message) <= self._settings.kafka_max_message_bytes // 2:
            body["message"] = message.decode("utf-8", errors="replace")
        else:  # too big to carry: the table (or the store, at ``position``) holds it
            body["message"] = None
        await self._producer.send_and_wait(
            self._settings.topic(TOPIC), json.dumps(body).encode(), key=letter.consumer.encode()
        )

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def alert(letter: DeadLetter) -> None:
    """The log line operators alert on."""
    log.error(
        "DEAD LETTER #%d %s: %s %s %s v%s (position %s) set aside: %s",
        letter.id,
        letter.consumer,
        letter.reason,
        letter.event_type or "message",
        letter.aggregate_id or letter.message_id,
        letter.aggregate_version,
        letter.position,
        letter.error,
    )
