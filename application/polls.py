"""Live polls during a show (spec §6.2): the staff opens one, signed-in viewers vote once, it closes at its
deadline (due work) or when the staff closes it.

Every vote is a command on the ``Poll`` aggregate through the batch writer: "one vote per viewer" and "nothing
counted after the close" are decided from the event store, and a burst of votes on one poll is saved in shared
transactions. After each accepted vote the poll's tally (with the poll's version) goes to ``PollTallies``, which
the gateway reads a few times a second to send ``poll_results_update`` (coalesced; the highest version wins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.access import Actor, check_show_staff, get_optional
from application.batch_writer import BatchWriter, UnitOfWork
from domain.errors import NotFound, StreamClosed, StreamNotFound, StreamNotLive
from domain.live_stream import LiveStream
from domain.poll import Poll
from domain.stream_moderators import moderators_id


class PollNotFound(NotFound):
    code = "poll_not_found"


class PollTallies(Protocol):
    async def publish(self, poll_id: str, stream_id: str, version: int, tally: dict[str, Any]) -> None:
        """Keep the poll's tally if ``version`` is newer than the one kept."""
        ...


@dataclass(frozen=True)
class OpenPoll:
    stream_id: UUID
    question: str
    question_bn: str | None
    options: list[dict[str, str | None]]
    duration_seconds: int
    allow_change: bool


def poll_view(p: Poll) -> dict[str, Any]:
    """A poll as clients see it (HTTP answers, ``stream_state``)."""
    return {
        "poll_id": str(p.id),
        "stream_id": p.stream_id,
        "question": p.question,
        "question_bn": p.question_bn,
        "options": [{**o, **r} for o, r in zip(p.options, p.results(), strict=True)],
        "total_votes": p.total_votes,
        "allow_change": p.allow_change,
        "closes_at": p.closes_at.isoformat(),
        "status": p.status,
        "closed_at": p.closed_at.isoformat() if p.closed_at else None,
        "close_reason": p.close_reason,
        "version": p.version,
    }


def tally(p: Poll) -> dict[str, Any]:
    return {"options": p.results(), "total_votes": p.total_votes}


def _missing(poll_id: UUID) -> Exception:
    return PollNotFound("poll not found", poll_id=str(poll_id))


def _staff(uow: UnitOfWork, actor: Actor | None, stream: LiveStream) -> None:
    """The show's host, its vendor, a moderator assigned to it (any permissions), or an admin."""
    if actor is None:
        return
    mods = get_optional(uow, moderators_id(stream.id)) if "moderator" in actor.roles else None
    check_show_staff(
        actor,
        host_id=stream.host_id,
        vendor_id=stream.vendor_id,
        moderator_ids=list(mods.moderators) if mods is not None else (),
    )


class PollService:
    def __init__(
        self,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        tallies: PollTallies | None = None,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self.tallies = tallies

    async def open(self, cmd: OpenPoll, actor: Actor | None) -> dict[str, Any]:
        now, poll_id = self._clock(), self._new_id()

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            stream: LiveStream = uow.get(cmd.stream_id)
            if not isinstance(stream, LiveStream):
                raise StreamNotFound("stream not found", stream_id=str(cmd.stream_id))
            _staff(uow, actor, stream)
            if stream.status in ("ended", "cancelled"):
                raise StreamClosed(f"a {stream.status} stream takes no polls", status=stream.status)
            if stream.status != "live":
                raise StreamNotLive("polls are opened during the show", status=stream.status)
            poll = Poll.open(
                id=poll_id,
                now=now,
                stream_id=str(cmd.stream_id),
                question=cmd.question,
                question_bn=cmd.question_bn,
                options=cmd.options,
                duration_seconds=cmd.duration_seconds,
                allow_change=cmd.allow_change,
                opened_by=actor.user_id if actor else None,
            )
            uow.add(poll)
            return poll_view(poll)

        return await self._writer.submit(
            decide, not_found=lambda i: StreamNotFound("stream not found", stream_id=str(i))
        )

    async def vote(self, poll_id: UUID, user_id: str, option_id: str) -> dict[str, Any]:
        """→ ``{poll_id, option_id, changed, version, …tally}``; refusals raise (nothing counted)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> tuple[dict[str, Any], str]:
            poll: Poll = uow.get(poll_id)
            if not isinstance(poll, Poll):
                raise _missing(poll_id)
            changed = poll.vote(user_id=user_id, option_id=option_id, now=now)
            return {
                "poll_id": str(poll_id),
                "option_id": option_id,
                "changed": changed,
                "version": poll.version,
                **tally(poll),
            }, poll.stream_id

        out, stream_id = await self._writer.submit(decide, not_found=_missing)
        if out["changed"] and self.tallies is not None:
            await self.tallies.publish(
                str(poll_id), stream_id, out["version"], {"options": out["options"], "total_votes": out["total_votes"]}
            )
        return out

    async def close(self, poll_id: UUID, actor: Actor | None) -> dict[str, Any]:
        now = self._clock()

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            poll: Poll = uow.get(poll_id)
            if not isinstance(poll, Poll):
                raise _missing(poll_id)
            _staff(uow, actor, uow.get(UUID(poll.stream_id)))
            poll.close(
                now=now, reason="deadline" if now >= poll.closes_at else "closed", by=actor.user_id if actor else None
            )
            return poll_view(poll)

        return await self._writer.submit(decide, not_found=_missing)

    async def close_due(self, poll_id: UUID, *, show_ended: bool = False) -> str | None:
        """At the deadline, or when the poll's show ends first (due work); → the reason, or None."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> str | None:
            poll: Poll = uow.get(poll_id)
            if poll.status != "open" or (now < poll.closes_at and not show_ended):
                return None
            reason = "deadline" if now >= poll.closes_at else "show_ended"
            poll.close(now=now, reason=reason)
            return reason

        return await self._writer.submit(decide, not_found=_missing)

    async def get(self, poll_id: UUID) -> dict[str, Any]:
        """The poll as the event store has it (the truth: a vote's answer and this read agree)."""

        def decide(uow: UnitOfWork) -> dict[str, Any]:
            poll = uow.current(poll_id)
            if not isinstance(poll, Poll):
                raise _missing(poll_id)
            return poll_view(poll)

        return await self._writer.submit(decide, not_found=_missing)

    async def many(self, poll_ids: list[UUID]) -> list[dict[str, Any]]:
        def decide(uow: UnitOfWork) -> list[dict[str, Any]]:
            out = []
            for pid in poll_ids:
                poll = get_optional(uow, pid)
                if isinstance(poll, Poll):
                    out.append(poll_view(uow.current(pid)))
            return out

        return await self._writer.submit(decide, not_found=_missing)
