"""Idempotency keys for commands that move money or stock (checkout, purchase, payment).

The first answer to a key is kept (``idempotency_ttl_hours``, at least 24 h); a retry with the same key and the
same body gets that answer again, the same key with another body is refused. The effect itself is made
exactly-once by the command (its ids derive from the key), so a crash before the answer is stored is safe too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from infra.postgres import PgDatabase


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status: int
    response: dict[str, Any]


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, db: PgDatabase, ttl_hours: int) -> None:
        self._db = db
        self._ttl = max(24, ttl_hours)

    async def get(self, scope: str, key: str) -> Stored | None:
        row = await self._db.fetchone(
            "SELECT request_hash, status_code, response FROM idempotency_keys WHERE scope = %s AND key = %s"
            " AND created_at > now() - make_interval(hours => %s)",
            (scope, key, self._ttl),
        )
        return Stored(row["request_hash"], row["status_code"], row["response"]) if row else None

    async def put(self, scope: str, key: str, rhash: str, status: int, response: dict[str, Any]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope, key) DO NOTHING",
                (scope, key, rhash, status, json.dumps(response, default=str)),
            )

    async def purge(self) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => %s)", (self._ttl,)
            )
