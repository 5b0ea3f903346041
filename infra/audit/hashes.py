"""A hash chain over each aggregate's stored events, kept in ``audit_hashes`` at audit time.

Why: the fold and the version check catch edits that break a rule or leave a gap, but not an edit that
keeps the history valid (another buyer id, a refund reason, an event's type swapped for a sibling) nor the
deletion of an aggregate's *last* event. Once an audit has seen an event, its hash is on record: a later audit
that finds a
different chain, or fewer versions than recorded, reports exactly which event changed since. Each link hashes
the previous link, the topic and the state bytes, so rewriting one event cannot be hidden by rewriting its
hash alone. The table lives beside the events (same database and schema); recording is idempotent.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

from infra.audit.model import AuditReport, StoredRow

TABLE = "audit_hashes"


def chain(rows: list[StoredRow]) -> list[str]:
    """The chain of one aggregate's rows, in version order."""
    out, prev = [], b""
    for row in rows:
        h = hashlib.sha256(prev + b"\n" + row.topic.encode() + b"\n" + row.state).hexdigest()
        out.append(h)
        prev = h.encode()
    return out


async def ensure_table(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
    await conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.{} (aggregate_id UUID NOT NULL, version BIGINT NOT NULL,"
            " sha256 TEXT NOT NULL, audited_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
            " PRIMARY KEY (aggregate_id, version))"
        ).format(sql.Identifier(schema), sql.Identifier(TABLE))
    )


async def verify_and_record(
    conn: psycopg.AsyncConnection[Any],
    schema: str,
    rows: dict[str, list[StoredRow]],
    report: AuditReport,
    *,
    record: bool = True,
) -> None:
    """Compare with the recorded chain, report what changed, then record links not yet on record.

    An aggregate found changed records nothing new, so the evidence stays until someone looks at it.
    """
    table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(TABLE))
    exists = await (await conn.execute("SELECT to_regclass(%s)", (f'"{schema}".{TABLE}',))).fetchone()
    recorded: dict[str, dict[int, str]] = {}
    if exists and exists[0]:
        query = sql.SQL(
            "SELECT aggregate_id::text, version, sha256 FROM {} WHERE aggregate_id = ANY(%s::uuid[])"
        ).format(table)
        cur = await conn.execute(query, (list(rows),))
        for agg, ver, digest in await cur.fetchall():
            recorded.setdefault(agg, {})[int(ver)] = digest
    fresh: list[tuple[str, int, str]] = []
    for agg, agg_rows in rows.items():
        links = chain(agg_rows)
        known = recorded.get(agg, {})
        missing = sorted(set(known) - {r.version for r in agg_rows})
        changed = False
        for row, link in zip(agg_rows, links, strict=True):
            if missing and row.version > missing[0]:
                break  # every link after a deleted event differs: the deletion is the finding
            if row.version in known and known[row.version] != link:
                report.add(
                    "tamper",
                    "hash_mismatch",
                    f"{row.type} v{row.version} of {agg} differs from what an earlier audit recorded "
                    "(this event or one before it was edited)",
                    aggregate_id=agg,
                    version=row.version,
                    position=row.position,
                )
                changed = True
                break
        if missing:
            changed = True
            listed = ", ".join(map(str, missing[:10])) + (", …" if len(missing) > 10 else "")
            report.add(
                "tamper",
                "deleted_since_audit",
                f"version(s) {listed} of {agg} were audited earlier and are gone",
                aggregate_id=agg,
                version=missing[0],
            )
        if not changed:
            fresh += [(agg, r.version, link) for r, link in zip(agg_rows, links, strict=True) if r.version not in known]
    if record and fresh:
        await ensure_table(conn, schema)
        # COPY into a scratch table, then insert what is not there: two audits at once record each link once.
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE audit_fresh (aggregate_id UUID, version BIGINT, sha256 TEXT) ON COMMIT DROP"
            )
            async with conn.cursor() as cur, cur.copy("COPY audit_fresh FROM STDIN") as cp:
                for item in fresh:
                    await cp.write_row(item)
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (aggregate_id, version, sha256) SELECT * FROM audit_fresh ON CONFLICT DO NOTHING"
                ).format(table)
            )
        report.hashes_recorded = len(fresh)
