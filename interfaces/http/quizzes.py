"""Quizzes (issue 14 part 2): a show's host, vendor or moderator creates a quiz and reveals its questions.

Viewers answer over Socket.IO (``quiz_answer``, ``interfaces.realtime.quiz_actions``); the room hears
``quiz_question`` (never the answer), ``quiz_question_result`` and ``quiz_ended`` from the log.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.quizzes import QuizView
from domain.errors import DomainError
from interfaces.http.auth import authenticate, refusal
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso
from interfaces.http.schemas import Body

bp = Blueprint("quizzes", url_prefix="/api/v1/live-commerce")

ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class OptionBody(Body):
    text: ShortText
    text_bn: ShortText | None = None


class QuestionBody(Body):
    question: Annotated[str, Field(min_length=1, max_length=500)]
    question_bn: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    options: Annotated[list[ShortText | OptionBody], Field(min_length=2, max_length=6)]
    correct_option: Annotated[int, Field(ge=0, le=5)]
    points: Annotated[int, Field(ge=1, le=10_000)] = 100
    seconds: Annotated[int, Field(ge=5, le=600)] = 20


class CreateQuizBody(Body):
    title: ShortText
    questions: Annotated[list[QuestionBody], Field(min_length=1, max_length=50)]


def _options(q: QuestionBody) -> list[dict[str, Any]]:
    return [
        {"option_id": i, "text": o, "text_bn": None}
        if isinstance(o, str)
        else {"option_id": i, "text": o.text, "text_bn": o.text_bn}
        for i, o in enumerate(q.options)
    ]


def quiz_json(v: QuizView) -> dict[str, Any]:
    current = None if v.current is None else {**v.current, "closes_at": iso(v.current["closes_at"])}
    top = None if v.scores is None else [{"rank": i + 1, **s} for i, s in enumerate(v.scores[:10])]
    return {
        "quiz_id": str(v.quiz_id),
        "stream_id": v.stream_id,
        "status": v.status,
        "questions": v.questions,
        "question": current,
        "top": top,
        "rewards": v.rewards,
        "version": v.version,
    }


@bp.post("/streams/<stream_id:uuid>/quizzes")
@api(body=CreateQuizBody, status=201, signed_in=True)
async def create(request: Request, stream_id: UUID, body: CreateQuizBody) -> HTTPResponse:
    try:
        actor = authenticate(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    assert c.quizzes is not None
    questions = [
        {
            "question": q.question,
            "question_bn": q.question_bn,
            "options": _options(q),
            "correct_option": q.correct_option,
            "points": q.points,
            "seconds": q.seconds,
        }
        for q in body.questions
    ]
    v = await c.quizzes.create(stream_id, actor, body.title, questions)
    return json(quiz_json(v), status=201)


@bp.post("/quizzes/<quiz_id:uuid>/next")
@api(signed_in=True)
async def reveal_next(request: Request, quiz_id: UUID) -> HTTPResponse:
    try:
        actor = authenticate(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    assert c.quizzes is not None
    return json(quiz_json(await c.quizzes.next(quiz_id, actor)))
