"""Quizzes during a show: create, reveal the next question, answer, close a question whose time is up.

Who runs a quiz: the show's host, its vendor, a moderator assigned to it (whatever their permissions), an
admin; checked on the stream and its moderators as the store has them, inside the command's unit of work.
Answers go through the batching writer like any command, so a burst of viewers answering one question is
saved in a few transactions and each answer is judged against the server's clock when it is decided. When the
quiz ends, its winners' loyalty points are credited in the same save (``rewards``), so a quiz never ends
without them nor pays them twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.access import Actor, get_optional, refuse
from application.batch_writer import BatchWriter, UnitOfWork
from domain.errors import NotFound, StreamClosed, StreamNotFound
from domain.live_stream import LiveStream
from domain.quiz import Quiz
from domain.stream_moderators import moderators_id

Rewards = Callable[[UnitOfWork, Quiz, datetime], list[dict[str, Any]]]


class QuizNotFound(NotFound):
    code = "quiz_not_found"


class NotInQuizStream(NotFound):
    """The viewer answering has not joined the quiz's show (the quiz is not theirs to see)."""

    code = "quiz_not_found"


@dataclass(frozen=True)
class QuizView:
    quiz_id: UUID
    stream_id: str
    status: str
    questions: int
    current: dict[str, Any] | None  # the open question, without its answer
    scores: list[dict[str, Any]] | None
    rewards: list[dict[str, Any]]
    version: int


def public_question(quiz: Quiz) -> dict[str, Any] | None:
    q = quiz.question
    if q is None:
        return None
    return {
        "question_id": q["question_id"],
        "index": quiz.current,
        "question": q["question"],
        "question_bn": q["question_bn"],
        "options": q["options"],
        "points": q["points"],
        "seconds": q["seconds"],
        "closes_at": quiz.closes_at,
    }


def _view(quiz: Quiz, rewards: list[dict[str, Any]] | None = None) -> QuizView:
    return QuizView(
        quiz.id,
        str(quiz.stream_id),
        quiz.status,
        len(quiz.questions),
        public_question(quiz) if quiz.status == "running" else None,
        quiz.scores() if quiz.status == "ended" else None,
        rewards or [],
        quiz.version,
    )


def check_runs_show(uow: UnitOfWork, actor: Actor | None, stream: LiveStream, action: str) -> None:
    """The show's host, vendor, an assigned moderator, or an admin (``actor=None``: an internal caller)."""
    if actor is None or actor.is_admin:
        return
    if "host" in actor.roles and stream.host_id is not None and str(stream.host_id) == actor.user_id:
        return
    if "vendor" in actor.roles and actor.vendor_id is not None and str(stream.vendor_id) == actor.vendor_id:
        return
    if "moderator" in actor.roles:
        mods = get_optional(uow, moderators_id(stream.id))
        if mods is not None and actor.user_id in mods.moderators:
            return
    raise refuse(action, "only the show's host, vendor or moderators run its quizzes")


def _missing(quiz_id: UUID) -> Exception:
    return QuizNotFound("quiz not found", quiz_id=str(quiz_id))


class QuizService:
    def __init__(
        self,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        rewards: Rewards | None = None,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self.rewards = rewards

    async def create(
        self, stream_id: UUID, actor: Actor | None, title: str, questions: list[dict[str, Any]]
    ) -> QuizView:
        now, quiz_id = self._clock(), self._new_id()

        def decide(uow: UnitOfWork) -> QuizView:
            stream: LiveStream = uow.get(stream_id)
            check_runs_show(uow, actor, stream, "quiz.create")
            if stream.status in ("ended", "cancelled"):
                raise StreamClosed(f"a {stream.status} stream takes no quizzes", status=stream.status)
            quiz = Quiz.create(
                id=quiz_id,
                now=now,
                stream_id=str(stream_id),
                title=title,
                questions=questions,
                created_by=actor.user_id if actor else None,
            )
            uow.add(quiz)
            return _view(quiz)

        return await self._writer.submit(
            decide, not_found=lambda i: StreamNotFound("stream not found", stream_id=str(i))
        )

    async def next(self, quiz_id: UUID, actor: Actor | None) -> QuizView:
        now = self._clock()

        def decide(uow: UnitOfWork) -> QuizView:
            quiz: Quiz = uow.get(quiz_id)
            check_runs_show(uow, actor, uow.get(UUID(str(quiz.stream_id))), "quiz.next")
            rewards: list[dict[str, Any]] = []
            if quiz.reveal_next(now=now) == "ended" and self.rewards is not None:
                rewards = self.rewards(uow, quiz, now)
            return _view(quiz, rewards)

        return await self._writer.submit(decide, not_found=_missing)

    async def answer(
        self,
        quiz_id: UUID,
        *,
        user_id: str,
        display_name: str,
        question_id: str,
        option_id: int,
        joined: Collection[str],
    ) -> QuizView:
        """One viewer's answer, judged now; ``joined``: the shows this viewer's socket is in."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> QuizView:
            quiz = uow.get(quiz_id)
            if not isinstance(quiz, Quiz) or str(quiz.stream_id) not in joined:
                raise NotInQuizStream("quiz not found in the shows you have joined", quiz_id=str(quiz_id))
            quiz.answer(
                user_id=user_id, display_name=display_name, question_id=question_id, option_id=option_id, now=now
            )
            return _view(quiz)

        return await self._writer.submit(decide, not_found=_missing)

    async def close_due(self, quiz_id: UUID) -> bool:
        """The question's time is up: reveal its answer and counts (nothing when it is not due)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> bool:
            quiz: Quiz = uow.get(quiz_id)
            return quiz.status == "running" and quiz.close_question(now=now)

        return await self._writer.submit(decide, not_found=_missing)
