"""The live engagement advisor, one task of ``livecommerce process`` (ADR 0025).

Every ``engagement_tick_s`` it looks at the shows on air in the engagement read model (``engagement_pg``, its
own consumer group) and, for each:
- records ``ShowEngagement.SentimentMeasured`` when the chat of the show's latest minute changed (at most every
  ``engagement_sentiment_every_s``): the API processes push it to the host and moderators as ``sentiment_update``;
- closes the minutes the clock has passed (``engagement_grace_s`` after their end, for late interactions) and
  records each suggestion ``application.engagement.advise`` makes (``engagement_suggestion``).
The aggregate refuses a suggestion already made or a kind still cooling down, so copies of this process and
restarts are harmless. Advice is not money: reading a read model to decide it is fine (the write path rule is
about stock and payments).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from application.engagement import Minute, Rules, advise, minute_of, series
from application.engagement_service import EngagementService
from projections import engagement_queries as q
from projections.analytics_queries import Reader

log = logging.getLogger(__name__)
WATCH_MINUTES = 15  # a show with no minute in this long is no longer watched
DEFAULT_RULES = Rules()


class EngagementAdvisor:
    def __init__(
        self,
        db: Reader,
        service: EngagementService,
        *,
        clock: Callable[[], datetime],
        grace_s: float = 2.0,
        sentiment_every_s: float = 3.0,
        rules: Rules = DEFAULT_RULES,
    ) -> None:
        self._db = db
        self._svc = service
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._every = timedelta(seconds=sentiment_every_s)
        self._rules = rules
        self._closed: dict[str, datetime] = {}  # show -> last minute decided
        self._measured: dict[str, tuple[object, datetime]] = {}  # show -> (what was recorded, when)
        self.suggested = 0

    async def tick(self) -> None:
        now = self._clock()
        last_closed = minute_of(now - self._grace) - timedelta(minutes=1)
        shows = await q.shows_on_air(self._db, now - timedelta(minutes=WATCH_MINUTES))
        for sid in list(self._closed):
            if sid not in shows:
                self._closed.pop(sid, None)
                self._measured.pop(sid, None)
        for sid in shows:
            try:
                await self._show(sid, now, last_closed)
            except Exception:  # one show's trouble must not stop the advice for the others
                log.exception("engagement advisor: show %s", sid)

    async def _show(self, sid: str, now: datetime, last_closed: datetime) -> None:
        rows = await q.minutes(self._db, sid)
        if not rows:
            return
        await self._sentiment(sid, now, rows)
        start = self._closed.setdefault(sid, last_closed)  # first sight: from the next minute to close on
        m = start + timedelta(minutes=1)
        while m <= last_closed:
            window = series(rows, m, length=self._rules.window + 1)
            for s in advise(
                sid,
                window,
                prepared_sale=await q.prepared_sale(self._db, sid),
                question=await q.top_question(self._db, sid),
                rules=self._rules,
            ):
                if await self._svc.suggest(sid, s):
                    self.suggested += 1
                    log.info("engagement: %s suggested %s at %s", sid, s.kind, s.minute)
            self._closed[sid] = m
            m += timedelta(minutes=1)

    async def _sentiment(self, sid: str, now: datetime, rows: list[Minute]) -> None:
        chatty = [r for r in rows if r.messages]
        if not chatty:
            return
        latest, total = chatty[-1], q.overall(rows)
        key = (latest.minute, latest.messages, total["messages"])
        before = self._measured.get(sid)
        if before is not None and (before[0] == key or now - before[1] < self._every):
            return
        await self._svc.measure(
            sid,
            minute=latest.minute,
            messages=latest.messages,
            score=latest.score,
            shares=latest.shares(),
            overall=total,
            top_complaints=await q.top_complaints(self._db, sid),
        )
        self._measured[sid] = (key, now)


async def run_engagement_advisor(advisor: EngagementAdvisor, stop: asyncio.Event, tick_s: float) -> None:
    print("engagement advisor ready", flush=True)
    while not stop.is_set():
        try:
            await advisor.tick()
        except Exception:
            log.exception("engagement advisor pass failed; retrying next tick")
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick_s)
        except TimeoutError:
            pass
