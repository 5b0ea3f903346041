"""Replay the history for analysts: the event store (optionally the Kafka telemetry topics) to Parquet or CSV.

Why it exists: analysts need the whole log in a columnar file (pandas, DuckDB, Spark) and must not query
production tables by hand. The store is read in notification order, each row becomes the log's envelope, and
rows go to part files in row groups. A sidecar ``_checkpoint.json`` lists the committed parts and the position
(and Kafka offsets) they cover; a part is written under a temporary name and renamed before the checkpoint
names it, so a crash leaves no half file and a resume never writes an event twice. ``replay_into`` instead
feeds a named projection in a *separate* store, so a read model is built from history without touching the
production one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg import sql
from tqdm import tqdm

from application.envelope import Envelope
from application.event_envelopes import StoredRow, envelope_of_row
from application.event_store import EVENTS_TABLE
from infra.settings import Settings
from infra.store_reader import max_position, read_after

Format = Literal["parquet", "csv"]
CHECKPOINT = "_checkpoint.json"
SCHEMA = pa.schema([
    ("position", pa.int64()), ("id", pa.string()), ("type", pa.string()), ("schema_version", pa.int32()),
    ("aggregate_id", pa.string()), ("aggregate_version", pa.int64()), ("stream_id", pa.string()),
    ("occurred_at", pa.timestamp("us", tz="UTC")), ("payload", pa.string()),
])
Row = tuple[int | None, str, str, int, str | None, int | None, str | None, datetime, str]  # SCHEMA's columns

_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DECODE = json.JSONDecoder().decode
_SELECT = ("SELECT notification_id, originator_id::text, originator_version, topic, state FROM {}.{}"
           " WHERE notification_id > %s ORDER BY notification_id LIMIT %s")


def stored_rows(rows: Iterable[StoredRow]) -> list[Row]:
    """Store rows as replay rows, each through the one stored-event → envelope path."""
    return [envelope_row(envelope_of_row(r)) for r in rows]


def envelope_row(e: Envelope) -> Row:
    return (e.position, e.id, e.type, e.schema_version, e.aggregate_id, e.aggregate_version, e.stream_id,
            e.occurred_at, _PAYLOAD.encode(e.payload))


@dataclass(frozen=True)
class ReplayReport:
    events: int  # rows written in this run
    seconds: float
    events_per_s: float
    scanned: int = 0  # events read (before filters)
    last_position: int = 0
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplayFilter:
    since: datetime | None = None
    until: datetime | None = None
    stream_id: str | None = None
    types: frozenset[str] = frozenset()
    # ``--stream``: aggregates created for the show (their first event named it, or a payment of its order),
    # so that their events stored before every event named its show are still the show's.
    members: set[str] = field(default_factory=set, compare=False)

    def keep(self, r: Row) -> bool:
        of_show = self.stream_id is None or self._of_show(r)  # first: it learns the show's aggregates
        return (of_show and (self.since is None or r[7] >= self.since) and (self.until is None or r[7] < self.until)
                and (not self.types or r[2] in self.types))

    def _of_show(self, r: Row) -> bool:
        aggregate, version = r[4], r[5]
        if r[6] == self.stream_id:
            if aggregate is not None and version == 1:
                self.members.add(aggregate)
            return True
        if r[6] is not None or aggregate is None:
            return False
        if aggregate in self.members:
            return True
        if version == 1 and r[2] == "Payment.Initiated" and _DECODE(r[8]).get("order_id") in self.members:
            self.members.add(aggregate)
            return True
        return False

    def fingerprint(self) -> dict[str, Any]:
        return {"since": _iso(self.since), "until": _iso(self.until), "stream_id": self.stream_id,
                "types": sorted(self.types)}


@dataclass
class Checkpoint:
    """What the committed parts cover; written atomically after each part is renamed into place."""

    format: str
    filter: dict[str, Any]
    position: int = 0
    offsets: dict[str, dict[str, int]] = field(default_factory=dict)  # topic → partition → next offset
    parts: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, out: Path, fmt: Format, flt: ReplayFilter, resume: bool) -> Checkpoint:
        path = out / CHECKPOINT
        if not path.exists():
            if any(out.glob("*part-*")):
                raise ValueError(f"{out} already holds part files but no checkpoint; use another --out")
            return cls(fmt, flt.fingerprint())
        if not resume:
            raise ValueError(f"{out} holds an earlier replay; pass resume=True (--resume) or another --out")
        cp = cls(**json.loads(path.read_text(encoding="utf-8")))
        if (cp.format, cp.filter) != (fmt, flt.fingerprint()):
            raise ValueError(f"{out} holds a {cp.format} replay filtered by {cp.filter}: not resumable so")
        for stray in out.iterdir():  # a crash leaves temp files, or a part renamed but never checkpointed
            if stray.name.endswith(".tmp") or ("part-" in stray.name and stray.name not in cp.parts):
                stray.unlink()
        return cp

    def save(self, out: Path) -> None:
        tmp = out / (CHECKPOINT + ".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=1), encoding="utf-8")
        os.replace(tmp, out / CHECKPOINT)


def to_table(rows: Sequence[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, SCHEMA, strict=True)],
                                schema=SCHEMA)


class _Sink:
    """Buffers kept rows into row groups of a part file (``*.tmp`` until committed) and rotates parts;
    each commit renames the part into place, then names it in the checkpoint."""

    def __init__(self, out: Path, fmt: Format, cp: Checkpoint, prefix: str, group: int, part_rows: int):
        self.out, self.fmt, self.cp, self.prefix = out, fmt, cp, prefix
        self.group, self.part_rows = group, part_rows
        self.buffer: list[Row] = []
        self.writer: pq.ParquetWriter | pa_csv.CSVWriter | None = None
        self.name, self.part_written, self.written = "", 0, 0
        self.new_parts: list[str] = []

    def add(self, kept: Iterable[Row]) -> None:
        self.buffer.extend(kept)
        while len(self.buffer) >= self.group:
            self._flush(self.buffer[: self.group])
            self.buffer = self.buffer[self.group:]

    def _flush(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self.writer is None:
            self.name = f"{self.prefix}part-{len(self.cp.parts):05d}.{self.fmt}"
            tmp = self.out / f"{self.name}.tmp"
            self.writer = (pq.ParquetWriter(tmp, SCHEMA, compression="zstd") if self.fmt == "parquet"
                           else pa_csv.CSVWriter(tmp, SCHEMA))
            self.part_written = 0
        self.writer.write_table(to_table(rows))
        self.part_written += len(rows)
        self.written += len(rows)

    def boundary(self, mark: dict[str, Any]) -> None:
        """Called between pages, where ``mark`` is exactly what the written rows cover: rotate if full."""
        if self.writer is not None and self.part_written + len(self.buffer) >= self.part_rows:
            self.commit(mark)

    def commit(self, mark: dict[str, Any]) -> None:
        self._flush(self.buffer)
        self.buffer = []
        if self.writer is not None:
            self.writer.close()
            os.replace(self.out / f"{self.name}.tmp", self.out / self.name)
            self.cp.parts.append(self.name)
            self.new_parts.append(self.name)
            self.writer = None
        for k, v in mark.items():
            setattr(self.cp, k, v)
        self.cp.save(self.out)


async def replay(settings: Settings, *, out: Path, fmt: Format = "parquet", since: datetime | None = None,
                 until: datetime | None = None, stream_id: str | None = None, types: list[str] | None = None,
                 resume: bool = False, progress: bool = True, topics: Sequence[str] = (),
                 max_events: int | None = None, page: int = 10_000, group: int = 100_000,
                 part_rows: int = 1_000_000) -> ReplayReport:
    """Store events after the checkpoint, in notification order, then ``topics`` (e.g. interactions, media).

    ``max_events`` stops at the checkpointed position + that many (a sample, or a partial run; ids may have
    holes, so at most that many events).
    """
    out.mkdir(parents=True, exist_ok=True)
    flt = ReplayFilter(_utc(since), _utc(until), stream_id, frozenset(types or ()))
    cp = Checkpoint.open(out, fmt, flt, resume)
    sink = _Sink(out, fmt, cp, "", group, part_rows)
    started = time.perf_counter()
    scanned, position = 0, cp.position
    loop = asyncio.get_running_loop()
    # A sync connection in a worker thread fetches the next page while this thread decodes the current one:
    # PostgreSQL and the decoder then run on two cores.
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        table = (sql.Identifier(settings.postgres_schema), sql.Identifier(EVENTS_TABLE))
        query = sql.SQL(_SELECT).format(*table)
        top = sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(*table)
        row = conn.execute(top).fetchone()
        end = int(row[0]) if row else 0
        if max_events is not None:
            end = min(end, position + max_events)  # ids may have holes: a bound, not an exact count

        def fetch(after: int) -> list[Any]:
            return conn.execute(query, (after, min(page, end - after)), prepare=True).fetchall()

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
    return ReplayReport(written, seconds, written / seconds if seconds else 0.0, scanned, cp.position,
                        tuple(sink.new_parts))


async def _replay_topic(settings: Settings, name: str, out: Path, fmt: Format, cp: Checkpoint,
                        flt: ReplayFilter, progress: bool, group: int, part_rows: int, main: _Sink) -> int:
    """Read a Kafka topic from its checkpointed offsets (or the beginning) up to its end at the start."""
    from aiokafka import TopicPartition

    from infra.kafka import consumer as kafka_consumer
    from infra.kafka import start_with_retry

    topic = settings.topic(name)
    consumer = kafka_consumer(settings, group_id=None, client_id="livecommerce-replay")
    await start_with_retry(consumer)
    sink = _Sink(out, fmt, cp, f"{name}-", group, part_rows)
    scanned = 0
    try:
        await consumer.topics()  # fetch the cluster metadata
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return 0
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
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


async def replay_into(settings: Settings, target: Settings, projection_name: str, *, progress: bool = False,
                      page: int = 2_000) -> int:
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
        async with await psycopg.AsyncConnection.connect(settings.postgres_url, autocommit=True) as conn:
            end = await max_position(conn, settings.postgres_schema)
            position = 0
            with tqdm(total=end, unit="ev", desc=projection_name, disable=not progress) as bar:
                while position < end:
                    batch = await read_after(conn, position, page, settings.postgres_schema)
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


def _utc(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (part files + _checkpoint.json)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--since", type=datetime.fromisoformat, help="ISO time (UTC if no offset), inclusive")
    parser.add_argument("--until", type=datetime.fromisoformat, help="ISO time, exclusive")
    parser.add_argument("--stream", dest="stream_id", help="only events about this show")
    parser.add_argument("--type", dest="types", action="append", help="only this event type (repeatable)")
    parser.add_argument("--kafka", action="store_true", help="also the interactions and media topics")
    parser.add_argument("--resume", action="store_true", help="continue an earlier replay into --out")
    parser.add_argument("--max-events", type=int, help="stop after this many store events")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--into", metavar="PROJECTION", help="build this read model in a separate store")
    parser.add_argument("--target-read-url", help="--into: PostgreSQL URL of the analyst's database")
    parser.add_argument("--target-redis-url", help="--into: Redis URL (stream_status)")
    parser.add_argument("--target-mongo-db", help="--into: MongoDB database (stream_realtime)")


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    if args.into:
        given = {"read_postgres_url": args.target_read_url, "redis_url": args.target_redis_url,
                 "mongo_db": args.target_mongo_db}
        update = {k: v for k, v in given.items() if v}
        n = asyncio.run(replay_into(settings, settings.model_copy(update=update), args.into,
                                    progress=not args.no_progress))
        print(f"replayed {n} events into {args.into}")
        return 0
    if args.out is None:
        print("replay: --out DIR (or --into PROJECTION) is required")
        return 2
    report = asyncio.run(replay(
        settings, out=args.out, fmt=args.format, since=args.since, until=args.until, stream_id=args.stream_id,
        types=args.types, resume=args.resume, progress=not args.no_progress,
        topics=("interactions", "media") if args.kafka else (), max_events=args.max_events))
    print(f"replayed {report.events} events ({report.scanned} read) in {report.seconds:.1f} s: "
          f"{report.events_per_s:,.0f} events/s; up to position {report.last_position}; "
          f"new parts: {', '.join(report.parts) or 'none'}")
    return 0
