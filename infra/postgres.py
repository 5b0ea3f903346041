"""PostgreSQL plumbing shared by the processes: migrations, async pools, and the SQL port for projections."""

from __future__ import annotations

import hashlib
import time
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


class MigrationError(RuntimeError):
    """The schema is not what this release's migration files say: run ``livecommerce migrate`` (or fix the file)."""


def _checksum(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def _recorded(conn: psycopg.Connection[Any]) -> dict[str, str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    return {str(r[0]): str(r[1]) for r in conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()}


def _changed(recorded: Mapping[str, str], files: Sequence[tuple[str, str]]) -> list[str]:
    return [name for name, sql in files if name in recorded and recorded[name] != _checksum(sql)]


def apply_migrations(url: str) -> list[str]:
    """Apply every migration not yet applied, in order, each in its own transaction. Safe to run concurrently.

    The checksum of every migration already applied is compared with its file first: a file edited after it
    ran (the database no longer matches what the files say) stops everything with ``MigrationError``.
    """
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
        try:
            files = migration_files()
            done = _recorded(conn)
            changed = _changed(done, files)
            if changed:
                raise MigrationError(
                    "migration files changed after they were applied (checksum differs): " + ", ".join(changed)
                )
            for name, sql in files:
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)  # type: ignore[arg-type]
                    conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, _checksum(sql))
                    )
                applied.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATIONS_LOCK,))
    return applied


def migration_state(url: str) -> tuple[list[str], list[str]]:
    """(pending, changed): migrations not yet applied, and applied ones whose file no longer has their checksum."""
    files = migration_files()
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        done: dict[str, str] = {}
        if exists and exists[0]:
            rows = conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
            done = {str(r[0]): str(r[1]) for r in rows}
    return [name for name, _ in files if name not in done], _changed(done, files)


def verify_migrations(url: str, wait_s: float = 0.0) -> None:
    """Start only on a schema the migrate step made: every migration applied, each with its file's checksum.

    Pending migrations are waited for up to ``wait_s`` (the migrate Job may still be running when a pod
    starts); a changed checksum fails at once. Raises ``MigrationError`` naming the files.
    """
    deadline = time.monotonic() + wait_s
    while True:
        pending, changed = migration_state(url)
        if changed:
            raise MigrationError(
                "migration files changed after they were applied (checksum differs): " + ", ".join(changed)
            )
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise MigrationError("migrations not applied (run `livecommerce migrate` first): " + ", ".join(pending))
        time.sleep(0.5)


def prepare_schema(url: str, mode: str = "apply", wait_s: float = 0.0) -> list[str]:
    """What a process does with the read-model schema when it starts.

    ``apply`` (development, tests): apply what is missing (checksums verified). ``verify`` (production, where
    ``livecommerce migrate`` runs once per release as its own step): change nothing, refuse to start unless
    the migrate step has run with these very files.
    """
    if mode == "verify":
        verify_migrations(url, wait_s)
        return []
    return apply_migrations(url)


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
        self._pool = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, kwargs={"autocommit": True}
        )

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
