"""The replay's rows and files: a stored event as a row of ``SCHEMA`` (through the one envelope path), the
filters (``--since/--until/--stream/--type``), and the part files with their ``_checkpoint.json`` — a part is
written under a temporary name and renamed before the checkpoint names it, so a crash leaves no half file and a
resume never writes an event twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from application.envelope import Envelope
from application.event_envelopes import StoredRow, fields_of_row

Format = Literal["parquet", "csv"]
CHECKPOINT = "_checkpoint.json"
SCHEMA = pa.schema(
    [
        ("position", pa.int64()),
        ("id", pa.string()),
        ("type", pa.string()),
        ("schema_version", pa.int32()),
        ("aggregate_id", pa.string()),
        ("aggregate_version", pa.int64()),
        ("stream_id", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("payload", pa.string()),
    ]
)
Row = tuple[int | None, str, str, int, str | None, int | None, str | None, datetime, str]  # SCHEMA's columns

_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DECODE = json.JSONDecoder().decode


def stored_rows(rows: Iterable[StoredRow]) -> list[Row]:
    """Store rows as replay rows, each through the one stored-event → envelope decode (``fields_of_row``)."""
    out: list[Row] = []
    for r in rows:
        i, t, v, agg, ver, sid, at, payload, pos, _ = fields_of_row(r)
        out.append((pos, i, t, v, agg, ver, sid, at, _PAYLOAD.encode(payload)))
    return out


def envelope_row(e: Envelope) -> Row:
    return (
        e.position,
        e.id,
        e.type,
        e.schema_version,
        e.aggregate_id,
        e.aggregate_version,
        e.stream_id,
        e.occurred_at,
        _PAYLOAD.encode(e.payload),
    )


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
        return (
            of_show
            and (self.since is None or r[7] >= self.since)
            and (self.until is None or r[7] < self.until)
            and (not self.types or r[2] in self.types)
        )

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
        return {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "stream_id": self.stream_id,
            "types": sorted(self.types),
        }


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
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, SCHEMA, strict=True)], schema=SCHEMA)


class PartSink:
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
            self.buffer = self.buffer[self.group :]

    def _flush(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self.writer is None:
            self.name = f"{self.prefix}part-{len(self.cp.parts):05d}.{self.fmt}"
            tmp = self.out / f"{self.name}.tmp"
            self.writer = (
                pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
                if self.fmt == "parquet"
                else pa_csv.CSVWriter(tmp, SCHEMA)
            )
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


def as_utc(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None
