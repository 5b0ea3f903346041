"""Poll: a question the show's staff asks the room mid-show, with 2–6 options and a deadline (spec §6.2).

One vote per signed-in viewer is a rule of this aggregate: ``votes`` (viewer → option) is folded from the
poll's own events, so a second vote is decided on the write path from the event store, never from a read model
(the batch writer saves a hot poll's votes in shared transactions; ``docs/adr/0020``). With ``allow_change`` a
new option replaces the viewer's vote (``VoteCast`` names the option it replaces); the same option again is a
no-op. After the deadline or a close nothing is counted; the close records the final results once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.show_scoped import ShowScoped

MIN_OPTIONS, MAX_OPTIONS = 2, 6
MIN_SECONDS, MAX_SECONDS = 5, 24 * 3600


class InvalidPoll(DomainError):
    code = "invalid_poll"
    http_status = 422


class PollClosed(DomainError):
    code = "poll_closed"


class AlreadyVoted(DomainError):
    code = "already_voted"


class UnknownPollOption(DomainError):
    code = "unknown_option"
    http_status = 422


def option_id(index: int) -> str:
    """Options are named by their place: ``o1`` … ``o6`` (stable, short, the same in every language)."""
    return f"o{index + 1}"


class Poll(ShowScoped):
    """States: open → closed (at the deadline, by the staff, or when the show ends)."""

    class Event(ShowScoped.Event):
        pass

    class Opened(Event, Aggregate.Created):
        stream_id: str
        question: str
        question_bn: str | None
        options: list[dict[str, Any]]  # [{option_id, text, text_bn}]
        allow_change: bool
        closes_at: datetime
        opened_by: str | None

    def __init__(
        self,
        stream_id: str,
        question: str,
        question_bn: str | None,
        options: list[dict[str, Any]],
        allow_change: bool,
        closes_at: datetime,
        opened_by: str | None,
    ) -> None:
        self.stream_id = stream_id
        self.question = question
        self.question_bn = question_bn
        self.options = [dict(o) for o in options]
        self.allow_change = allow_change
        self.closes_at = closes_at
        self.opened_by = opened_by
        self.status = "open"
        self.votes: dict[str, str] = {}  # viewer → option
        self.counts: dict[str, int] = {o["option_id"]: 0 for o in options}
        self.closed_at: datetime | None = None
        self.close_reason: str | None = None

    @classmethod
    def open(
        cls,
        *,
        id: UUID,
        now: datetime,
        stream_id: str,
        question: str,  # noqa: A002 - library's name
        question_bn: str | None,
        options: list[dict[str, str | None]],
        duration_seconds: int,
        allow_change: bool,
        opened_by: str | None,
    ) -> Poll:
        if not question.strip():
            raise InvalidPoll("the question is empty", field="question")
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise InvalidPoll(f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options", options=len(options))
        texts = [str(o.get("text") or "").strip() for o in options]
        if not all(texts):
            raise InvalidPoll("every option needs a text", field="options")
        if len({t.casefold() for t in texts}) != len(texts):
            raise InvalidPoll("two options have the same text", field="options")
        if not MIN_SECONDS <= duration_seconds <= MAX_SECONDS:
            raise InvalidPoll(f"a poll runs {MIN_SECONDS} s to {MAX_SECONDS} s", duration_seconds=duration_seconds)
        named = [
            {"option_id": option_id(i), "text": t, "text_bn": (o.get("text_bn") or None)}
            for i, (t, o) in enumerate(zip(texts, options, strict=True))
        ]
        return cls._create(
            cls.Opened,
            id=id,
            timestamp=now,
            stream_id=stream_id,
            question=question.strip(),
            question_bn=question_bn or None,
            options=named,
            allow_change=allow_change,
            closes_at=now + timedelta(seconds=duration_seconds),
            opened_by=opened_by,
        )

    # ---- reading ------------------------------------------------------------------------------------------
    def is_open(self, now: datetime) -> bool:
        return self.status == "open" and now < self.closes_at

    @property
    def total_votes(self) -> int:
        return len(self.votes)

    def results(self) -> list[dict[str, Any]]:
        """``[{option_id, votes, percent}]`` in the options' order; percents to one decimal place."""
        total = self.total_votes
        return [
            {"option_id": o, "votes": n, "percent": round(100 * n / total, 1) if total else 0.0}
            for o, n in self.counts.items()
        ]

    # ---- voting -------------------------------------------------------------------------------------------
    class VoteCast(Event):
        user_id: str
        option_id: str
        replaces: str | None  # the option this viewer's vote moved from (allow_change), else None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Poll)
            if self.replaces is not None:
                aggregate.counts[self.replaces] -= 1
            aggregate.counts[self.option_id] += 1
            aggregate.votes[self.user_id] = self.option_id

    def vote(self, *, user_id: str, option_id: str, now: datetime) -> bool:
        """Count the viewer's vote; True if anything changed (the same option again changes nothing)."""
        if not self.is_open(now):
            raise PollClosed("the poll is closed", poll_id=str(self.id))
        if option_id not in self.counts:
            raise UnknownPollOption("no such option in this poll", option_id=option_id, options=list(self.counts))
        previous = self.votes.get(user_id)
        if previous == option_id:
            return False
        if previous is not None and not self.allow_change:
            raise AlreadyVoted("you have already voted in this poll", option_id=previous)
        self.trigger_event(self.VoteCast, timestamp=now, user_id=user_id, option_id=option_id, replaces=previous)
        return True

    # ---- closing ------------------------------------------------------------------------------------------
    class Closed(Event):
        reason: str  # deadline | closed | show_ended
        closed_by: str | None
        results: list[dict[str, Any]]
        total_votes: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Poll)
            aggregate.status = "closed"
            aggregate.closed_at = self.timestamp
            aggregate.close_reason = self.reason

    def close(self, *, now: datetime, reason: str, by: str | None = None) -> bool:
        """Close once, with the final results; a second close changes nothing."""
        if self.status != "open":
            return False
        self.trigger_event(
            self.Closed,
            timestamp=now,
            reason=reason,
            closed_by=by,
            results=self.results(),
            total_votes=self.total_votes,
        )
        return True
