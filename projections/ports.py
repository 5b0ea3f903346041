"""The small ports projections write through. Implemented in infra (psycopg, redis-py, pymongo)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from application.envelope import Envelope

Params = Sequence[Any] | Mapping[str, Any]


class SqlTx(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def fetch(self, sql: str, params: Params = ()) -> list[dict[str, Any]]: ...


class SqlDatabase(Protocol):
    def transaction(self, pipeline: bool = False) -> AbstractAsyncContextManager[SqlTx]:
        """``pipeline``: statements are sent without waiting for each result (their rowcount is unknown)."""
        ...


class GuardedRedis(Protocol):
    async def apply_if_newer(self, version_key: str, version: int, ops: list[list[Any]]) -> bool:
        """Run ``ops`` (Redis commands as lists) atomically, only if ``version`` is above the stored one."""
        ...

    async def delete_matching(self, patterns: Sequence[str]) -> int: ...


class DocumentCollection(Protocol):
    async def update_one(self, filter: Mapping[str, Any], update: Any, upsert: bool = False) -> Any: ...
    async def delete_many(self, filter: Mapping[str, Any]) -> Any: ...
    async def create_index(self, keys: Any, **kwargs: Any) -> Any: ...


class Projection(Protocol):
    """A read model. ``apply`` must be idempotent: a redelivered envelope changes nothing."""

    name: str
    topics: tuple[str, ...]  # log topic names without prefix, e.g. ("domain",)

    async def apply(self, envelopes: Sequence[Envelope]) -> int: ...

    async def reset(self) -> None: ...


class SequencedRedis(Protocol):
    """Interaction read models in Redis (see application.interactions for the ``{origin}.{seq}`` ids)."""

    async def apply_sequenced(self, marks_key: str, items: list[tuple[str, int, list[list[Any]]]]) -> int:
        """Atomically, for each (origin, seq, ops): run ``ops`` only if ``seq`` is above the watermark kept
        for ``origin`` in the hash ``marks_key``, then raise it. Ops are Redis commands, or the script's own
        ``!``-prefixed steps (presence and chat list bookkeeping). Returns how many items were applied."""
        ...

    async def delete_matching(self, patterns: Sequence[str]) -> int: ...


class DocumentCounters(Protocol):
    """A collection whose documents another read model owns and this one only adds counters to."""

    async def find_one(self, filter: Mapping[str, Any], projection: Any = None) -> Any: ...
    async def update_one(self, filter: Mapping[str, Any], update: Any, upsert: bool = False) -> Any: ...
    async def update_many(self, filter: Mapping[str, Any], update: Any) -> Any: ...
