"""The early refusal of a sold-out sale: refuse at once while fresh; when stale, one caller re-checks."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import Any

from application.flash_sales import SoldOutMarks


def sale(reservations: dict[str, Any], version: int = 7) -> Any:
    return SimpleNamespace(id=uuid.UUID(int=1), version=version, reservations=reservations)


def test_fresh_mark_refuses_strangers_and_lets_holders_through() -> None:
    marks = SoldOutMarks(ttl=60)
    s = sale({"held": {}})
    marks.mark(s)
    assert marks.refuses(s.id, "stranger") and marks.refuses(s.id, "another")
    assert not marks.refuses(s.id, "held")  # a retry of an accepted purchase goes on to its answer
    assert not marks.refuses(uuid.UUID(int=2), "stranger")  # other sales are not marked
    marks.clear(s.id)
    assert not marks.refuses(s.id, "stranger")


def test_a_stale_mark_sends_exactly_one_caller_to_check_again() -> None:
    marks = SoldOutMarks(ttl=0.05)
    s = sale({})
    marks.mark(s)
    time.sleep(0.06)
    answers = [marks.refuses(s.id, f"buyer-{i}") for i in range(100)]
    assert answers.count(False) == 1 and answers[0] is False  # the first one re-checks, the rest are refused
    marks.mark(s)  # the re-check found it still sold out
    assert marks.refuses(s.id, "buyer-x")
    time.sleep(0.06)
    assert not marks.refuses(s.id, "buyer-y")
    marks.clear(s.id)  # the re-check found units (a released hold)
    assert not marks.refuses(s.id, "buyer-z")
