"""``quiz_answer {quiz_id, question_id, option_id}``: a signed-in viewer of the quiz's show answers the open
question. The application judges it by the server's clock (``application.quizzes``); a refusal (too late, an
unknown option, a second answer, a quiz not in a show this socket joined) is an ``error`` to the sender only,
nothing is counted, and the socket stays up. The ack never tells whether the answer was right: the whole room
learns that together from ``quiz_question_result``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import DomainError
from interfaces.realtime.context import Conn, Refused, Services
from interfaces.realtime.schemas import QuizAnswer


async def answer(svc: Services, sid: str, conn: Conn, p: QuizAnswer) -> dict[str, Any]:
    ident = conn.identity
    if not ident.can_write:
        raise Refused("auth_required")
    quizzes = svc.container.quizzes if svc.container is not None else None
    if quizzes is None:
        raise Refused("internal_error")
    try:
        v = await quizzes.answer(
            UUID(p.quiz_id),
            user_id=ident.user_id,
            display_name=ident.name or f"user-{ident.user_id[:6]}",
            question_id=p.question_id,
            option_id=p.option_id,
            joined=set(conn.streams),
        )
    except DomainError as exc:
        raise Refused(exc.code, reason=exc.message, **exc.details) from None
    return {
        "ok": True,
        "quiz_id": p.quiz_id,
        "question_id": p.question_id,
        "option_id": p.option_id,
        "version": v.version,
    }
