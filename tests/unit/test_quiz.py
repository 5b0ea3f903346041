"""Quiz: answers judged by the clock passed in, one per viewer and question, speed-weighted scores, and the
``Quiz.Ended`` contract the leaderboard projection reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import quiz as q
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
S = "7b0f4a9e-8a52-4c8e-9f51-2f6a3c1d7e00"


def a_quiz(**kw: Any) -> q.Quiz:
    questions = kw.pop(
        "questions",
        [
            {
                "question": "রাজধানী?",
                "question_bn": "রাজধানী?",
                "options": ["Dhaka", "Khulna", "Sylhet"],
                "correct_option": 0,
                "points": 100,
                "seconds": 20,
            },
            {"question": "2+2?", "options": ["3", "4"], "correct_option": 1, "points": 50, "seconds": 10},
        ],
    )
    return q.Quiz.create(
        id=UUID(int=5), now=T0, stream_id=S, title="Eid quiz", questions=questions, created_by="host", **kw
    )


def test_a_quiz_judges_by_the_clock_and_ends_with_sorted_scores() -> None:
    quiz = a_quiz()
    assert quiz.reveal_next(now=T0) == "revealed"
    refused(quiz, q.QuestionStillOpen, lambda: quiz.reveal_next(now=T0 + timedelta(seconds=5)))
    quiz.answer(user_id="a", display_name="রহিম", question_id="q1", option_id=0, now=T0)  # at once: 100
    quiz.answer(
        user_id="b", display_name="Karim", question_id="q1", option_id=0, now=T0 + timedelta(seconds=10)
    )  # half the time left: 75
    quiz.answer(user_id="c", display_name="Sumi", question_id="q1", option_id=2, now=T0 + timedelta(seconds=1))
    refused(
        quiz,
        q.AlreadyAnswered,
        lambda: quiz.answer(user_id="a", display_name="রহিম", question_id="q1", option_id=1, now=T0),
    )
    refused(
        quiz, q.UnknownOption, lambda: quiz.answer(user_id="d", display_name="D", question_id="q1", option_id=3, now=T0)
    )
    refused(
        quiz,
        q.QuestionNotOpen,
        lambda: quiz.answer(user_id="d", display_name="D", question_id="q2", option_id=0, now=T0),
    )
    refused(
        quiz,
        q.AnswerTooLate,
        lambda: quiz.answer(
            user_id="d", display_name="D", question_id="q1", option_id=0, now=T0 + timedelta(seconds=20.001)
        ),
    )
    t1 = T0 + timedelta(seconds=21)
    assert quiz.close_question(now=t1) is True and quiz.close_question(now=t1) is False
    assert quiz.reveal_next(now=t1) == "revealed"
    quiz.answer(user_id="c", display_name="Sumi", question_id="q2", option_id=1, now=t1 + timedelta(seconds=10))
    assert quiz.reveal_next(now=t1 + timedelta(seconds=11)) == "ended"
    refused(quiz, q.QuizEnded, lambda: quiz.reveal_next(now=t1 + timedelta(seconds=12)))
    events = quiz.collect_events()
    names = [type(e).__name__ for e in events]
    assert names == [
        "Created",
        "QuestionRevealed",
        "Answered",
        "Answered",
        "Answered",
        "QuestionClosed",
        "QuestionRevealed",
        "Answered",
        "QuestionClosed",
        "Ended",
    ]
    closed = events[5]
    assert (closed.correct_option, closed.counts, closed.answers, closed.correct_answers) == (0, [2, 0, 1], 3, 2)
    revealed = events[1]
    assert "correct_option" not in vars(revealed)  # the room hears the question, never its answer
    ended = events[-1]
    assert ended.stream_id == S
    assert ended.scores == [
        {"user_id": "a", "display_name": "রহিম", "score": 100},
        {"user_id": "b", "display_name": "Karim", "score": 75},
        {"user_id": "c", "display_name": "Sumi", "score": 25},
    ]
    assert vars(fold(round_trip(events)))["players"] == vars(quiz)["players"]


def test_bad_quizzes_are_refused() -> None:
    bad = {"question": "?", "options": ["x", "y"], "correct_option": 2, "points": 10, "seconds": 10}
    try:
        a_quiz(questions=[bad])
    except q.InvalidQuiz as exc:
        assert exc.code == "invalid_quiz"
    else:
        raise AssertionError("a correct option outside the options was accepted")
    quiz = a_quiz()
    quiz.collect_events()
    refused(
        quiz,
        q.QuestionNotOpen,
        lambda: quiz.answer(user_id="a", display_name="A", question_id="q1", option_id=0, now=T0),
    )
    assert new_events(quiz) == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(-1, 3), st.floats(0, 25)), max_size=30))
def test_one_counted_answer_per_viewer_in_time_and_scores_never_exceed_the_points(
    tries: list[tuple[str, int, float]],
) -> None:
    quiz = a_quiz()
    quiz.reveal_next(now=T0)
    accepted: dict[str, tuple[int, float]] = {}
    for user, option, after in tries:
        try:
            quiz.answer(
                user_id=user, display_name=user, question_id="q1", option_id=option, now=T0 + timedelta(seconds=after)
            )
        except q.DomainError:
            continue
        assert user not in accepted and 0 <= option < 3 and after <= 20
        accepted[user] = (option, after)
    quiz.reveal_next(now=T0 + timedelta(seconds=30))
    scores = {s["user_id"]: s["score"] for s in quiz.scores()}
    assert scores.keys() == accepted.keys()
    for user, (option, after) in accepted.items():
        assert scores[user] == (q.speed_score(100, 20, after) if option == 0 else 0)
        assert 0 <= scores[user] <= 100
    listed = [s["score"] for s in quiz.scores()]
    assert listed == sorted(listed, reverse=True)
