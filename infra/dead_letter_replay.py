"""``livecommerce dead-letters list / replay``: what consumers set aside, and applying it again after a fix.

A replay takes each open letter of a consumer in the order it was set aside (the log's order, per aggregate),
reads the event again — from the store at its position for store events, so a repaired row or an event too
large for the log is read whole; from the letter itself for interactions and media samples — and hands it to
the same code the consumer runs: a read model's ``apply`` (under the read model's shared rebuild lock), or,
for the relay, a publish of the whole event (once the log takes it). A letter that fails again stays open with
its new error, and the later letters of its aggregate stay parked behind it. Passes repeat while they make
progress, so events a running worker parked during the replay are applied too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import psycopg

from application.envelope import Envelope
from application.event_envelopes import envelope_or_error
from infra.dead_letters import DeadLetter, DeadLetterStore, describe, resolve_pointer
from infra.postgres import prepare_schema
from infra.settings import Settings
from infra.store_reader import StoreReader, open_reader, read_rows_after

Apply = Callable[[Sequence[Envelope]], Awaitable[int]]


@dataclass
class ReplayResult:
    replayed: dict[str, int] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)  # letter id → error
    skipped: dict[str, str] = field(default_factory=dict)  # consumer → why


async def list_letters(
    settings: Settings, consumer: str | None = None, *, include_done: bool = False, limit: int = 1000
) -> list[DeadLetter]:
    await asyncio.to_thread(prepare_schema, settings.postgres_url, settings.migrations, settings.migrations_wait_s)
    async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
        return await DeadLetterStore(conn).letters(consumer, status=None if include_done else "open", limit=limit)


async def replay(settings: Settings, consumer: str | None = None, ids: Sequence[int] = ()) -> ReplayResult:
    await asyncio.to_thread(prepare_schema, settings.postgres_url, settings.migrations, settings.migrations_wait_s)
    result = ReplayResult()
    async with (
        await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn,
        open_reader(settings) as reader,
    ):
        store = DeadLetterStore(conn)
        consumers = sorted({d.consumer for d in await store.letters(consumer, ids=ids, limit=100_000)})
        for name in consumers:
            async with AsyncExitStack() as stack:
                apply = await _applier(settings, name, conn, stack)
                if apply is None:
                    result.skipped[name] = "no replayer for this consumer"
                    continue
                result.replayed[name] = await _replay_consumer(store, reader, name, apply, ids, result)
    return result


async def _replay_consumer(
    store: DeadLetterStore,
    reader: StoreReader,
    name: str,
    apply: Apply,
    ids: Sequence[int],
    result: ReplayResult,
) -> int:
    done = 0
    while True:
        progress = False
        blocked: set[str] = set()
        for letter in await store.letters(name, limit=100_000):
            key = letter.park_key
            if key is not None and key in blocked:
                continue
            if ids and letter.id not in ids:
                if key is not None:
                    blocked.add(key)  # an earlier letter of the aggregate, not asked for: the rest waits
                continue
            try:
                envelope = await _envelope_of(letter, reader)
                await apply([envelope])
            except Exception as exc:
                error = describe(exc)
                await store.mark_failed(letter.id, error)
                result.failed[letter.id] = error
                if key is not None:
                    blocked.add(key)
                continue
            await store.mark_replayed(letter.id)
            result.failed.pop(letter.id, None)
            done += 1
            progress = True
        if not progress or ids:
            return done


async def _envelope_of(letter: DeadLetter, reader: StoreReader) -> Envelope:
    """The event as the store holds it now (store events), else as it was received."""
    if letter.position is not None and letter.aggregate_id is not None:
        rows = await read_rows_after(reader, letter.position - 1, 1)
        if not rows or int(rows[0][0]) != letter.position:
            raise LookupError(f"the store has no event at position {letter.position}")
        e, error = envelope_or_error(rows[0])
        if error is not None:
            raise ValueError(describe(error))
        return e
    if letter.message is None:
        raise LookupError("the letter keeps no message and names no store position")
    e = Envelope.from_json(letter.message)
    if e.payload.keys() == {"_log_pointer"}:
        return await resolve_pointer(reader, e)
    return e


async def _applier(
    settings: Settings, consumer: str, conn: psycopg.AsyncConnection[Any], stack: AsyncExitStack
) -> Apply | None:
    """The code ``consumer`` runs for one batch, opened for the replay (closed by ``stack``)."""
    if consumer.startswith("projection."):
        from infra.projection_factory import open_projection
        from infra.projection_runner import rebuild_lock
        from projections.registry import PROJECTIONS

        name = consumer.removeprefix("projection.")
        if name not in PROJECTIONS:
            return None
        opened = await open_projection(settings, name)
        stack.push_async_callback(opened.close)
        lock = rebuild_lock(name)

        async def apply_projection(envelopes: Sequence[Envelope]) -> int:
            await conn.execute("SELECT pg_advisory_lock_shared(%s)", (lock,))
            try:
                return await opened.projection.apply(envelopes)
            finally:
                await conn.execute("SELECT pg_advisory_unlock_shared(%s)", (lock,))

        return apply_projection
    if consumer == "relay":
        from infra import kafka

        producer = kafka.producer(settings)
        await kafka.start_with_retry(producer)
        stack.push_async_callback(producer.stop)

        async def republish(envelopes: Sequence[Envelope]) -> int:
            for e in envelopes:
                raw = e.to_json()
                if len(raw) > settings.kafka_max_message_bytes:
                    raise ValueError(
                        f"still {len(raw)} bytes; the log takes at most"
                        f" {settings.kafka_max_message_bytes} (raise kafka_max_message_bytes"
                        " with the broker's message.max.bytes first)"
                    )
                await producer.send_and_wait(settings.domain_topic, raw, key=e.key)
            return len(envelopes)

        return republish
    from infra.process_replay import process_applier

    return await process_applier(settings, consumer, stack)
