"""Quiz: questions revealed one by one during a show, answered by viewers against the server's clock.

The host (or the show's vendor or a moderator) creates the quiz with its questions and reveals them in turn.
While a question is open each signed-in viewer may answer it once; an answer is judged when it arrives, by the
clock the application passes in (never the client's): after ``closes_at`` it is refused. A correct answer
scores the question's points scaled by speed, from 100 % (at once) down to 50 % (at the last second); a wrong
one scores nothing. When a question's time is up it is closed (``QuestionClosed``: the answer and the counts);
revealing past the last question ends the quiz (``Ended``: every participant's score, highest first).

``Ended.scores`` is a contract read by the leaderboard projection: a list of
``{"user_id", "display_name", "score"}`` for every participant, sorted highest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.show_scoped import ShowScoped

MAX_QUESTIONS = 50
MIN_OPTIONS, MAX_OPTIONS = 2, 6
MIN_SECONDS, MAX_SECONDS = 5, 600
MAX_POINTS = 10_000
SLOWEST_SHARE = 0.5  # a correct answer at the last second still earns half the points


class InvalidQuiz(DomainError):
    code = "invalid_quiz"
    http_status = 422


class QuizEnded(DomainError):
    code = "quiz_ended"


class QuestionStillOpen(DomainError):
    code = "question_still_open"


class QuestionNotOpen(DomainError):
    code = "question_not_open"


class AnswerTooLate(DomainError):
    code = "answer_too_late"


class UnknownOption(DomainError):
    code = "unknown_option"
    http_status = 422


class AlreadyAnswered(DomainError):
    code = "already_answered"


def question_id_of(index: int) -> str:
    return f"q{index + 1}"


def _check_questions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        raise InvalidQuiz(f"a quiz has 1 to {MAX_QUESTIONS} questions", questions=len(questions))
    out = []
    for i, q in enumerate(questions):
        options = list(q["options"])
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise InvalidQuiz(f"a question has {MIN_OPTIONS} to {MAX_OPTIONS} options", question=i)
        correct = int(q["correct_option"])
        if not 0 <= correct < len(options):
            raise InvalidQuiz("correct_option must be the index of one of the options", question=i)
        points, seconds = int(q["points"]), int(q["seconds"])
        if not 1 <= points <= MAX_POINTS or not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise InvalidQuiz("points or seconds out of range", question=i)
        out.append(
            {
                "question_id": question_id_of(i),
                "question": q["question"],
                "question_bn": q.get("question_bn"),
                "options": options,
                "correct_option": correct,
                "points": points,
                "seconds": seconds,
            }
        )
    return out


def speed_score(points: int, seconds: int, elapsed: float) -> int:
    """Points for a correct answer ``elapsed`` seconds after the reveal (speed counts, never below half)."""
    left = max(0.0, min(1.0, 1 - elapsed / seconds))
    return round(points * (SLOWEST_SHARE + (1 - SLOWEST_SHARE) * left))


class Quiz(ShowScoped):
    """States: ready → running → ended."""

    class Event(ShowScoped.Event):
        pass

    class Created(Event, Aggregate.Created):
        stream_id: str | None
        title: str
        questions: list[dict[str, Any]]
        created_by: str | None

    def __init__(
        self, stream_id: str | None, title: str, questions: list[dict[str, Any]], created_by: str | None
    ) -> None:
        self.stream_id = stream_id
        self.title = title
        self.questions = questions
        self.created_by = created_by
        self.status = "ready"
        self.current = -1  # index of the last revealed question
        self.closes_at: datetime | None = None
        self.revealed_at: datetime | None = None
        self.closed: set[str] = set()
        self.answers: dict[str, dict[str, dict[str, Any]]] = {}  # question id -> user id -> answer
        self.players: dict[str, dict[str, Any]] = {}  # user id -> {display_name, score, correct, ms}

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        now: datetime,
        stream_id: str,
        title: str,  # noqa: A002
        questions: list[dict[str, Any]],
        created_by: str | None,
    ) -> Quiz:
        if not title.strip():
            raise InvalidQuiz("the quiz needs a title")
        return cls._create(
            cls.Created,
            id=id,
            timestamp=now,
            stream_id=stream_id,
            title=title,
            questions=_check_questions(questions),
            created_by=created_by,
        )

    @property
    def question(self) -> dict[str, Any] | None:
        return self.questions[self.current] if 0 <= self.current < len(self.questions) else None

    def is_open(self, now: datetime) -> bool:
        q = self.question
        return (
            q is not None
            and q["question_id"] not in self.closed
            and self.closes_at is not None
            and now <= self.closes_at
        )

    # ---- revealing -----------------------------------------------------------------------------------------
    class QuestionRevealed(Event):
        question_id: str
        index: int
        question: str
        question_bn: str | None
        options: list[Any]
        points: int
        seconds: int
        revealed_at: datetime
        closes_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quiz)
            aggregate.status = "running"
            aggregate.current = self.index
            aggregate.revealed_at = self.revealed_at
            aggregate.closes_at = self.closes_at
            aggregate.answers[self.question_id] = {}

    class QuestionClosed(Event):
        question_id: str
        correct_option: int
        counts: list[int]
        answers: int
        correct_answers: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quiz)
            aggregate.closed.add(self.question_id)

    class Ended(Event):
        scores: list[dict[str, Any]]
        questions: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quiz)
            aggregate.status = "ended"

    def reveal_next(self, *, now: datetime) -> str:
        """Close the current question (its time must be up), then reveal the next or end the quiz.
        → "revealed" or "ended"."""
        if self.status == "ended":
            raise QuizEnded("the quiz has ended")
        if self.is_open(now):
            assert self.closes_at is not None
            raise QuestionStillOpen("the current question is still open", closes_at=self.closes_at.isoformat())
        self.close_question(now=now)
        nxt = self.current + 1
        if nxt >= len(self.questions):
            self.trigger_event(self.Ended, timestamp=now, scores=self.scores(), questions=len(self.questions))
            return "ended"
        q = self.questions[nxt]
        self.trigger_event(
            self.QuestionRevealed,
            timestamp=now,
            question_id=q["question_id"],
            index=nxt,
            question=q["question"],
            question_bn=q["question_bn"],
            options=q["options"],
            points=q["points"],
            seconds=q["seconds"],
            revealed_at=now,
            closes_at=now + timedelta(seconds=q["seconds"]),
        )
        return "revealed"

    def close_question(self, *, now: datetime) -> bool:
        """Reveal the answer and the counts of the current question once its time is up (else nothing)."""
        q = self.question
        if q is None or q["question_id"] in self.closed or self.is_open(now):
            return False
        given = self.answers.get(q["question_id"], {})
        counts = [0] * len(q["options"])
        for a in given.values():
            counts[a["option_id"]] += 1
        self.trigger_event(
            self.QuestionClosed,
            timestamp=now,
            question_id=q["question_id"],
            correct_option=q["correct_option"],
            counts=counts,
            answers=len(given),
            correct_answers=counts[q["correct_option"]],
        )
        return True

    # ---- answering -----------------------------------------------------------------------------------------
    class Answered(Event):
        question_id: str
        user_id: str
        display_name: str
        option_id: int
        correct: bool
        score: int
        elapsed_ms: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Quiz)
            aggregate.answers[self.question_id][self.user_id] = {"option_id": self.option_id, "score": self.score}
            p = aggregate.players.setdefault(
                self.user_id, {"display_name": self.display_name, "score": 0, "correct": 0, "ms": 0}
            )
            p["display_name"] = self.display_name
            p["score"] += self.score
            p["correct"] += int(self.correct)
            p["ms"] += self.elapsed_ms

    def answer(self, *, user_id: str, display_name: str, question_id: str, option_id: int, now: datetime) -> None:
        if self.status == "ended":
            raise QuizEnded("the quiz has ended")
        q = self.question
        asked = [x["question_id"] for x in self.questions[: self.current + 1]]
        if q is None or question_id not in asked:
            raise QuestionNotOpen("this question is not open for answers", question_id=question_id)
        assert self.closes_at is not None and self.revealed_at is not None
        if question_id != q["question_id"] or question_id in self.closed or now > self.closes_at:
            raise AnswerTooLate("the time for this question is up", question_id=question_id)
        if not 0 <= option_id < len(q["options"]):
            raise UnknownOption("no such option", option_id=option_id, options=len(q["options"]))
        if user_id in self.answers.get(question_id, {}):
            raise AlreadyAnswered("one answer per question", question_id=question_id)
        elapsed = max(0.0, (now - self.revealed_at).total_seconds())
        correct = option_id == q["correct_option"]
        score = speed_score(q["points"], q["seconds"], elapsed) if correct else 0
        self.trigger_event(
            self.Answered,
            timestamp=now,
            question_id=question_id,
            user_id=user_id,
            display_name=display_name,
            option_id=option_id,
            correct=correct,
            score=score,
            elapsed_ms=round(elapsed * 1000),
        )

    def scores(self) -> list[dict[str, Any]]:
        """Every participant, highest score first; ties go to more correct answers, then to the faster."""
        ranked = sorted(self.players.items(), key=lambda kv: (-kv[1]["score"], -kv[1]["correct"], kv[1]["ms"], kv[0]))
        return [{"user_id": uid, "display_name": p["display_name"], "score": p["score"]} for uid, p in ranked]
