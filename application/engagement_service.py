"""Recording the engagement optimizer's suggestions and sentiment measurements in the event store.

The advisor decides from the read model; the ``ShowEngagement`` aggregate decides whether a suggestion is new
(its id, its kind's cool-down), so several advisors, or one restarted, never tell the host twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from application.engagement import Suggestion
from domain.show_engagement import ShowEngagement, engagement_id


def _of(uow: UnitOfWork, stream_id: str, now: datetime) -> ShowEngagement:
    agg: ShowEngagement | None = uow.find(engagement_id(stream_id))
    if agg is None:
        agg = ShowEngagement.open(now=now, stream_id=stream_id)
        uow.add(agg)
    return agg


class EngagementService:
    def __init__(self, writer: BatchWriter, *, clock: Callable[[], datetime]) -> None:
        self._writer = writer
        self._clock = clock

    async def suggest(self, stream_id: str, s: Suggestion) -> bool:
        now = self._clock()

        def decide(uow: UnitOfWork) -> bool:
            agg = _of(uow, stream_id, now)
            return agg.suggest(
                now=now,
                suggestion_id=s.suggestion_id,
                kind=s.kind,
                minute=s.minute,
                message=s.message,
                message_bn=s.message_bn,
                evidence=s.evidence,
                action=s.action,
            )

        return await self._writer.submit(decide)

    async def measure(
        self,
        stream_id: str,
        *,
        minute: datetime,
        messages: int,
        score: float,
        shares: dict[str, float],
        overall: dict[str, Any],
        top_complaints: list[dict[str, Any]],
    ) -> bool:
        now = self._clock()

        def decide(uow: UnitOfWork) -> bool:
            return _of(uow, stream_id, now).measure(
                now=now,
                minute=minute,
                messages=messages,
                score=score,
                shares=shares,
                overall=overall,
                top_complaints=top_complaints,
            )

        return await self._writer.submit(decide)

    @staticmethod
    def aggregate_id(stream_id: str) -> UUID:
        return engagement_id(stream_id)
