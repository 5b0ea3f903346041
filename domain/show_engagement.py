"""ShowEngagement: what the engagement optimizer told a show's host, and the chat mood it measured.

Every suggestion is an event with the figures behind it, so an auditor sees why the host was told to run a
poll or start a sale. The id is derived from the stream's, so the advisor finds it without a lookup. The rules
here make the advisor safe to run in several copies and to re-run after a crash: a suggestion id already made
is not made again, a kind is not suggested again within ``COOLDOWN_MINUTES`` of the same show's minutes, and a
measurement equal to the last one of its minute is not recorded again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.show_scoped import ShowScoped

_NS = uuid.UUID("6a2c4e8f-1b3d-4f5a-9c7e-0d2b4f6a8c1e")
COOLDOWN_MINUTES = {"run_poll": 5, "start_flash_sale": 10, "answer_question": 1}
KINDS = tuple(COOLDOWN_MINUTES)


def engagement_id(stream_id: str | UUID) -> UUID:
    return uuid.uuid5(_NS, f"engagement:{stream_id}")


class ShowEngagement(ShowScoped):
    class Event(ShowScoped.Event):
        pass

    class Opened(Event, Aggregate.Created):
        stream_id: str

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.suggested: set[str] = set()
        self.last_of_kind: dict[str, datetime] = {}
        self.measured: dict[str, Any] = {}  # the last measurement: its minute and counts

    @classmethod
    def open(cls, *, now: datetime, stream_id: str) -> ShowEngagement:
        return cls._create(cls.Opened, id=engagement_id(stream_id), timestamp=now, stream_id=stream_id)

    def may_suggest(self, suggestion_id: str, kind: str, minute: datetime) -> bool:
        if suggestion_id in self.suggested:
            return False
        last = self.last_of_kind.get(kind)
        return last is None or minute - last >= timedelta(minutes=COOLDOWN_MINUTES.get(kind, 5))

    class SuggestionMade(Event):
        suggestion_id: str
        kind: str
        minute: datetime
        message: str
        message_bn: str
        evidence: dict[str, Any]
        action: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ShowEngagement)
            aggregate.suggested.add(self.suggestion_id)
            aggregate.last_of_kind[self.kind] = self.minute

    def suggest(
        self,
        *,
        now: datetime,
        suggestion_id: str,
        kind: str,
        minute: datetime,
        message: str,
        message_bn: str,
        evidence: dict[str, Any],
        action: dict[str, Any],
    ) -> bool:
        """→ False (nothing recorded) for a suggestion already made or a kind still cooling down."""
        if not self.may_suggest(suggestion_id, kind, minute):
            return False
        self.trigger_event(
            self.SuggestionMade,
            timestamp=now,
            suggestion_id=suggestion_id,
            kind=kind,
            minute=minute,
            message=message,
            message_bn=message_bn,
            evidence=evidence,
            action=action,
        )
        return True

    class SentimentMeasured(Event):
        minute: datetime
        messages: int
        score: float
        positive: float
        neutral: float
        negative: float
        overall: dict[str, Any]
        top_complaints: list[dict[str, Any]]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ShowEngagement)
            aggregate.measured = {
                "minute": self.minute.isoformat(),
                "messages": self.messages,
                "overall": self.overall.get("messages"),
            }

    def measure(
        self,
        *,
        now: datetime,
        minute: datetime,
        messages: int,
        score: float,
        shares: dict[str, float],
        overall: dict[str, Any],
        top_complaints: list[dict[str, Any]],
    ) -> bool:
        """→ False when nothing changed since the last measurement of this minute."""
        key = {"minute": minute.isoformat(), "messages": messages, "overall": overall.get("messages")}
        if key == self.measured:
            return False
        self.trigger_event(
            self.SentimentMeasured,
            timestamp=now,
            minute=minute,
            messages=messages,
            score=score,
            positive=shares["positive"],
            neutral=shares["neutral"],
            negative=shares["negative"],
            overall=overall,
            top_complaints=top_complaints,
        )
        return True
