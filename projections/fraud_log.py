"""The fraud detector's place in the log (ADR 0023): it scores events in the store's notification order, live
and when rebuilt, so its features (and so its decisions) are a function of the log alone.

Kafka gives order per aggregate only: events of two orders on one phone can reach the detector in either order,
so the live detector and a rebuild by replay could score the same order differently. The detector therefore
treats a batch from Kafka as news that the log has grown and reads the log itself from the store, from its saved
``position`` up to the batch's last one (``ReadLog``); without a reader (the bench and tests feed a generated log
in order) it takes the batch's envelopes past ``position``.

``decided_upto`` is kept across a rebuild: events up to it were decided when they were new, and their decisions
are FraudCase events further on in the same log, read back as such. Only events past it are decided, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from application.envelope import Envelope
from projections.ports import SqlTx

ReadLog = Callable[[int, int], Awaitable[list[Envelope]]]  # (after position, at most) -> envelopes in log order
PAGE = 500


@dataclass
class Cursor:
    position: int
    decided_upto: int

    def decides(self, e: Envelope) -> bool:
        """Is this event new to the detector (decided now), or one it decided before (a rebuild replaying)?"""
        return e.position is None or e.position > self.decided_upto


async def cursor(tx: SqlTx) -> Cursor:
    """Locked for the transaction: two workers of the detector take turns."""
    rows = await tx.fetch("SELECT position, decided_upto FROM fraud_log WHERE id = 1 FOR UPDATE", ())
    if not rows:
        await tx.execute("INSERT INTO fraud_log (id) VALUES (1) ON CONFLICT (id) DO NOTHING", ())
        return Cursor(0, 0)
    return Cursor(int(rows[0]["position"]), int(rows[0]["decided_upto"]))


async def in_log_order(batch: Sequence[Envelope], at: Cursor, read: ReadLog | None) -> list[Envelope]:
    """The events past the cursor, in the log's order, up to the batch's last position."""
    positions = [e.position for e in batch if e.position is not None]
    if read is None or not positions:
        fresh = [e for e in batch if e.position is None or e.position > at.position]
        return sorted(fresh, key=lambda e: e.position or 0)
    target, after, out = max(positions), at.position, []
    while after < target:
        page = [e for e in await read(after, PAGE) if (e.position or 0) <= target]
        if not page:
            break
        out.extend(page)
        after = page[-1].position or target
    return out


async def advance(tx: SqlTx, events: Sequence[Envelope], at: Cursor) -> None:
    last = max((e.position or 0 for e in events), default=0)
    if last > at.position:
        await tx.execute(
            "UPDATE fraud_log SET position = %s, decided_upto = GREATEST(decided_upto, %s) WHERE id = 1", (last, last)
        )


async def restart(tx: SqlTx, *, forget_decisions: bool) -> None:
    """A rebuild reads the log again from its start; a new log (a bench, a test) forgets the decisions too."""
    await tx.execute("INSERT INTO fraud_log (id) VALUES (1) ON CONFLICT (id) DO NOTHING", ())
    await tx.execute(
        "UPDATE fraud_log SET position = 0" + (", decided_upto = 0" if forget_decisions else "") + " WHERE id = 1", ()
    )
