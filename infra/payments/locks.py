"""``application.refunds.Locks`` over PostgreSQL advisory locks: one refund is sent by one process at a time.

The lock is transaction-scoped (``pg_try_advisory_xact_lock``) on a pooled connection held for the block, so
a process that dies releases it with its connection; nobody waits: a busy lock means someone else is on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from infra.postgres import PgDatabase, lock_key


class PgLocks:
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT pg_try_advisory_xact_lock(%s) AS mine", (lock_key(name),))
            yield bool(row and row["mine"])
