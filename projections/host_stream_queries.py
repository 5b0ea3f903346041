"""One host's shows, newest first, in pages that never repeat or skip a show (``GET /hosts/:id/streams``).

Keyset paging on ``(created_at, id)``: both are fixed when the show is scheduled, so a show changing status while
someone pages does not move it. The cursor is the last row's key, opaque to clients (base64url of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from projections.stream_queries import STREAM_COLUMNS


class SqlReader(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]: ...


class BadCursor(ValueError):
    """A cursor this service did not hand out (or one damaged on the way)."""


def encode_cursor(row: Mapping[str, Any]) -> str:
    key = json.dumps([row["created_at"].isoformat(), str(row["id"])], separators=(",", ":"))
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, sid = json.loads(raw.decode())
        return datetime.fromisoformat(created_at), str(uuid.UUID(sid))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc


async def host_streams(
    db: SqlReader,
    *,
    host_user_id: str,
    status: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
    public_only: bool,
) -> tuple[list[dict[str, Any]], bool]:
    """→ (up to ``limit`` shows of the host after the cursor's key, newest first; whether more follow)."""
    where, params = ["host_id = %(host)s"], {"host": host_user_id, "limit": limit + 1}
    if status:
        where.append("status = %(status)s")
        params["status"] = status
    if public_only:
        where.append("is_public")
    if after is not None:
        where.append("(created_at, id) < (%(at)s, %(id)s::uuid)")
        params.update(at=after[0], id=after[1])
    rows = await db.fetch(
        f"SELECT {STREAM_COLUMNS} FROM live_streams WHERE {' AND '.join(where)}"
        " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        params,
    )
    return rows[:limit], len(rows) > limit
