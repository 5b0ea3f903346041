"""The common shape of the small PostgreSQL read tables fed by one aggregate type (or two): one transaction per
batch, each envelope routed by its type's prefix (``"Auction."``) to the handler that writes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import ClassVar

from application.envelope import Envelope
from projections.ports import SqlDatabase, SqlTx

Handler = Callable[[SqlTx, Envelope], Awaitable[None]]


class RoutedTable:
    name: ClassVar[str]
    topics: ClassVar[tuple[str, ...]] = ("domain",)
    routes: ClassVar[Mapping[str, Handler]]  # event type prefix, e.g. "Auction." → handler
    truncate: ClassVar[tuple[str, ...]]  # what ``reset`` empties, in order

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            for e in envelopes:
                handler = self.routes.get(e.type.split(".", 1)[0] + ".")
                if handler is not None:
                    await handler(tx, e)
                    n += 1
        return n

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            for table in self.truncate:
                await tx.execute(f"TRUNCATE {table}")
