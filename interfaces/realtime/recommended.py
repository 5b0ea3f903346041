"""``recommended_products`` in a joining viewer's ``stream_state`` (issue 17 part 2, ADR 0024).

The same answer as ``GET /streams/:id/recommendations`` (the show's products for this viewer first, then the
catalogue's), from the ``recommendations`` read model. A join must not wait on it: the answer is kept a few
seconds per (show, viewer) so a reconnect storm costs the database one query per viewer, the lookup has a time
limit, and a slow or failing read model gives an empty list (the first screen still goes out).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from interfaces.http.presenters import json_default
from projections import recommendation_queries as rq

log = logging.getLogger(__name__)


class RecommendedProducts:
    def __init__(
        self, db: Callable[[], Any], *, ttl_s: float = 10.0, timeout_s: float = 1.0, size: int = 20_000
    ) -> None:
        self._db, self.ttl_s, self.timeout_s, self.size = db, ttl_s, timeout_s, size
        self._cache: dict[tuple[str, str | None], tuple[float, list[dict[str, Any]]]] = {}

    async def __call__(self, stream_id: str, user_id: str | None) -> list[dict[str, Any]]:
        key, now = (stream_id, user_id), time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        db = self._db()
        if db is None:
            return []
        try:
            answer = await asyncio.wait_for(rq.product_recommendations(db, stream_id, user_id), self.timeout_s)
        except Exception:  # the first screen goes out without them
            log.warning("recommended products unavailable for %s", stream_id, exc_info=True)
            return []
        # prices come from numeric columns as Decimals: numbers of taka, like every answer (ADR 0015)
        picks = json.loads(json.dumps(rq.recommended_products(answer), default=json_default, ensure_ascii=False))
        if len(self._cache) >= self.size:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[key] = (now + self.ttl_s, picks)
        return picks
