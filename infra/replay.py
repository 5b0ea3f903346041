"""Replay the history for analysts: the event store (optionally the Kafka telemetry topics) to Parquet or CSV.

Why it exists: analysts need the whole log in a columnar file (pandas, DuckDB, Spark) and must not query
production tables by hand. The store is read in notification order, each row becomes the log's envelope, and
rows go to part files in row groups. A sidecar ``_checkpoint.json`` lists the committed parts and the position
(and Kafka offsets) they cover; a part is written under a temporary name and renamed before the checkpoint
names it, so a crash leaves no half file and a resume never writes an event twice. ``replay_into`` instead
feeds a named projection in a *separate* store, so a read model is built from history without touching the
production one. Rows, filters and part files: ``replay_parts.py``; the command line: ``replay_cli.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from application.envelope import Envelope
from infra.replay_parts import (
    Checkpoint,
    Format,
    PartSink,
    ReplayFilter,
    as_utc,
    envelope_row,
    stored_rows,
)
from infra.settings import Settings
from infra.store_reader import max_position, open_reader, read_after


@dataclass(frozen=True)
class ReplayReport:
    events: int  # rows written in this run
    seconds: float
    events_per_s: float
    scanned: int = 0  # events read (before filters)
    last_position: int = 0
    parts: tuple[str, ...] = ()


async def replay(
    settings: Settings,
    *,
    out: Path,
    fmt: Format = "parquet",
    since: datetime | None = None,
    until: datetime | None = None,
    stream_id: str | None = None,
    types: list[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    topics: Sequence[str] = (),
    max_events: int | None = None,
    page: int = 10_000,
    group: int = 100_000,
    part_rows: int = 1_000_000,
) -> ReplayReport:
    """Store events after the checkpoint, in notification order, then ``topics`` (e.g. interactions, media).

    ``max_events`` stops at the checkpointed position + that many (a sample, or a partial run; ids may have
    holes, so at most that many events).
    """
    out.mkdir(parents=True, exist_ok=True)
    flt = ReplayFilter(as_utc(since), as_utc(until), stream_id, frozenset(types or ()))
    cp = Checkpoint.open(out, fmt, flt, resume)
    sink = PartSink(out, fmt, cp, "", group, part_rows)
    started = time.perf_counter()
    scanned, position = 0, cp.position
    loop = asyncio.get_running_loop()
    # A worker thread fetches the next page (the store reader: the library's select_notifications) while this
    # thread decodes the current one: PostgreSQL and the decoder then run on two cores.
    async with open_reader(settings) as reader:
        end = await reader.max_position()
        if max_events is not None:
            end = min(end, position + max_events)  # ids may have holes: a bound, not an exact count

        def fetch(after: int) -> list[Any]:
            return reader.select_rows_after(after, min(page, end - after))

        pending = loop.run_in_executor(None, fetch, position) if position < end else None
        with tqdm(total=max(0, end - position), unit="ev", desc="replay store", disable=not progress) as bar:
            while pending is not None:
                rows = [r for r in await pending if r[0] <= end]
                if not rows:
                    break
                last = rows[-1][0]
                pending = loop.run_in_executor(None, fetch, last) if last < end else None
                sink.add(r for r in stored_rows(rows) if flt.keep(r))
                bar.update(last - position)
                position = last
                scanned += len(rows)
                sink.boundary({"position": position})
    sink.commit({"position": position})
    for topic in topics:
        scanned += await _replay_topic(settings, topic, out, fmt, cp, flt, progress, group, part_rows, sink)
    seconds = time.perf_counter() - started
    written = sink.written
    return ReplayReport(
        written, seconds, written / seconds if seconds else 0.0, scanned, cp.position, tuple(sink.new_parts)
    )


async def _replay_topic(
    settings: Settings,
    name: str,
    out: Path,
    fmt: Format,
    cp: Checkpoint,
    flt: ReplayFilter,
    progress: bool,
    group: int,
    part_rows: int,
    main: PartSink,
) -> int:
    """Read a Kafka topic from its checkpointed offsets (or the beginning) up to its end at the start."""
    from aiokafka import TopicPartition

    from infra.kafka import consumer as kafka_consumer
    from infra.kafka import end_offsets, start_with_retry

    topic = settings.topic(name)
    consumer = kafka_consumer(settings, group_id=None, client_id="livecommerce-replay")
    await start_with_retry(consumer)
    sink = PartSink(out, fmt, cp, f"{name}-", group, part_rows)
    scanned = 0
    try:
        await consumer.topics()  # fetch the cluster metadata
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return 0
        consumer.assign(tps)
        ends = await end_offsets(consumer, tps)
        done = dict(cp.offsets.get(name, {}))
        for tp in tps:
            if str(tp.partition) in done:
                consumer.seek(tp, done[str(tp.partition)])
            else:
                await consumer.seek_to_beginning(tp)
        todo = {tp for tp in tps if (await consumer.position(tp)) < ends[tp]}
        with tqdm(unit="ev", desc=f"replay {name}", disable=not progress) as bar:
            while todo:
                got = await consumer.getmany(*todo, timeout_ms=1_000, max_records=group)
                for tp, msgs in got.items():
                    msgs = [m for m in msgs if m.offset < ends[tp]]
                    rows = [envelope_row(Envelope.from_json(m.value)) for m in msgs if m.value is not None]
                    sink.add(r for r in rows if flt.keep(r))
                    scanned += len(msgs)
                    bar.update(len(msgs))
                    if msgs:
                        done[str(tp.partition)] = msgs[-1].offset + 1
                for tp in list(todo):  # by position, not last offset: control records leave offset gaps
                    if await consumer.position(tp) >= ends[tp]:
                        done[str(tp.partition)] = ends[tp]
                        todo.discard(tp)
                sink.boundary({"offsets": {**cp.offsets, name: dict(done)}})
        sink.commit({"offsets": {**cp.offsets, name: dict(done)}})
    finally:
        await consumer.stop()
    main.written += sink.written
    main.new_parts += sink.new_parts
    return scanned


def _same_target(source: Settings, target: Settings, name: str) -> bool:
    if name == "live_streams":
        return source.read_url == target.read_url
    if name == "stream_status":
        return source.redis_url == target.redis_url
    return (source.mongo_url, source.mongo_db) == (target.mongo_url, target.mongo_db)


async def replay_into(
    settings: Settings, target: Settings, projection_name: str, *, progress: bool = False, page: int = 2_000
) -> int:
    """Build ``projection_name`` in ``target``'s stores from ``settings``' event store; returns events fed.

    Refuses when the target is where the live read model lives: resetting it there would wipe production.
    """
    from infra.projection_factory import open_projection

    if _same_target(settings, target, projection_name):
        raise ValueError(f"target of {projection_name!r} is the live read model's store; give another one")
    opened = await open_projection(target, projection_name)
    count = 0
    try:
        await opened.projection.reset()
        async with open_reader(settings) as reader:
            end = await max_position(reader)
            position = 0
            with tqdm(total=end, unit="ev", desc=projection_name, disable=not progress) as bar:
                while position < end:
                    batch = await read_after(reader, position, page)
                    batch = [e for e in batch if (e.position or 0) <= end]
                    if not batch:
                        break
                    await opened.projection.apply(batch)
                    bar.update((batch[-1].position or position) - position)
                    position = batch[-1].position or position
                    count += len(batch)
    finally:
        await opened.close()
    return count
