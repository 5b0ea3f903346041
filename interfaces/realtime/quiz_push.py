"""Quiz events of the log → the show's room (called by ``DomainPusher``). The events carry what viewers see,
so nothing is loaded; ``QuestionRevealed`` never carries the correct option (it is revealed by
``QuestionClosed``)."""

from __future__ import annotations

from typing import Any

from application.envelope import Envelope

TOP = 10


def room_event(e: Envelope) -> tuple[str, str, dict[str, Any]] | None:
    """(stream id, room event, payload) for a quiz event the room hears, else None."""
    if not e.stream_id:
        return None
    d, quiz_id = e.payload, str(e.aggregate_id)
    if e.type == "Quiz.QuestionRevealed":
        return (
            e.stream_id,
            "quiz_question",
            {
                "quiz_id": quiz_id,
                "question_id": d["question_id"],
                "index": d["index"],
                "question": d["question"],
                "question_bn": d.get("question_bn"),
                "options": d["options"],
                "points": d["points"],
                "seconds": d["seconds"],
                "revealed_at": d["revealed_at"],
                "closes_at": d["closes_at"],
            },
        )
    if e.type == "Quiz.QuestionClosed":
        return (
            e.stream_id,
            "quiz_question_result",
            {
                "quiz_id": quiz_id,
                "question_id": d["question_id"],
                "correct_option": d["correct_option"],
                "counts": [{"option_id": i, "answers": n} for i, n in enumerate(d["counts"])],
                "answers": d["answers"],
                "correct_answers": d["correct_answers"],
            },
        )
    if e.type == "Quiz.Ended":
        scores = list(d["scores"])
        return (
            e.stream_id,
            "quiz_ended",
            {
                "quiz_id": quiz_id,
                "top": [{"rank": i + 1, **s} for i, s in enumerate(scores[:TOP])],
                "participants": len(scores),
            },
        )
    return None
