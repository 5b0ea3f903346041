"""PostgreSQL plumbing shared by the processes: migrations, async pools, and the SQL port for projections."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

MIGRATIONS_LOCK = 7_310_001


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("infra") / "migrations"
    files = sorted((p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir() if p.name.endswith(".sql"))
    return files


def apply_migrations(url: str) -> list[str]:
    """Apply every migration not yet applied, in order, each in its own transaction. Safe to run concurrently."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations").fetchall()}
            for name, sql in migration_files():
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)  # type: ignore[arg-type]
                    conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                        (name, hashlib.sha256(sql.encode()).hexdigest()),
                    )
                applied.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATIONS_LOCK,))
    return applied


def ensure_event_store(url: str, create: Callable[[], object]) -> None:
    """Create the event store's tables under the migrations lock.

    Two processes starting together on a fresh database otherwise race inside PostgreSQL's catalog
    (``CREATE TABLE IF NOT EXISTS`` is not safe against itself). ``create`` builds and closes the store.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
        try:
            closer = create()
            close = getattr(closer, "close", None)
            if callable(close):
                close()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATIONS_LOCK,))


def lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


class PgTx:
    """The projections' SQL port over one psycopg async connection inside a transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], pipelined: bool = False) -> None:
        self._conn = conn
        self._pipelined = pipelined

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """The affected row count; -1 when pipelined (the result arrives later)."""
        cur = await self._conn.execute(sql, params, prepare=True)  # type: ignore[arg-type]
        return -1 if self._pipelined else cur.rowcount

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        async with self._conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)  # type: ignore[arg-type]
            return await cur.fetchall()

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None


class PgDatabase:
    """An async pool that hands out transactions (projections, queries)."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        # Autocommit: a read is one round trip (no COMMIT after it); transaction() still opens a real one.
        self._pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                                         kwargs={"autocommit": True})

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=10)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self, pipeline: bool = False) -> AsyncIterator[PgTx]:
        async with self._pool.connection() as conn:
            if pipeline:
                async with conn.pipeline(), conn.transaction():
                    yield PgTx(conn, pipelined=True)
            else:
                async with conn.transaction():
                    yield PgTx(conn)

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            return await PgTx(conn).fetch(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        await self.fetch("SELECT 1 AS ok")
