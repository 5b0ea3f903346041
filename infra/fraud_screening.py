"""Has the fraud detector read an order? (``application.fraud_cases.FraudScreening``, issue 17 part 1.)

The detector (projection ``fraud_signals``) writes the last version it applied of each aggregate into
``fraud_seen`` in the same transaction in which it asks for a FraudCase; a case it opens is in the event store
before that row commits. So "the row exists" means "if this order is suspect, its case is in the store", and the
shipping command, which reads the case from the store, can no longer ship inside the detector's lag. This is the
"wait for the version" rule of the write path: the version waited for is the order's first, the placing.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from infra.postgres import PgDatabase


class PgFraudScreening:
    def __init__(self, db: PgDatabase, wait_s: float, poll_s: float = 0.1) -> None:
        self._db = db
        self._wait_s = wait_s
        self._poll_s = poll_s

    async def screened(self, order_id: UUID) -> bool:
        deadline = time.monotonic() + self._wait_s
        while True:
            row = await self._db.fetchone("SELECT version FROM fraud_seen WHERE aggregate_id = %s", (str(order_id),))
            if row is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self._poll_s)
