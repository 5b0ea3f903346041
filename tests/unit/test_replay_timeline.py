"""The replay's product timeline: log times placed on the recording through its wall-clock anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from projections.replay_queries import place, timeline

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
# 30 s recorded from T0, then the host was away 60 s and came back for 20 s more (recording 30..50 s).
CLOCK = [
    {"at_s": 0.0, "program_date_time": T0.isoformat()},
    {"at_s": 30.0, "program_date_time": (T0 + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")},
]


def test_a_time_is_placed_from_the_latest_anchor_and_never_in_the_gap() -> None:
    assert place(CLOCK, T0 - timedelta(seconds=5), 50.0) == 0.0  # featured before the first picture
    assert place(CLOCK, T0 + timedelta(seconds=12.25), 50.0) == 12.25
    assert place(CLOCK, T0 + timedelta(seconds=70), 50.0) == 30.0  # while away: where the picture resumes
    assert place(CLOCK, T0 + timedelta(seconds=95), 50.0) == 35.0
    assert place(CLOCK, T0 + timedelta(seconds=500), 50.0) == 50.0  # after the end: the end
    assert place([], T0, 50.0) == 0.0


def test_each_featuring_lasts_until_the_next_and_naive_times_are_utc() -> None:
    history = [
        {"product_id": "a", "featured_at": (T0 - timedelta(seconds=60)).replace(tzinfo=None)},
        {"product_id": "b", "featured_at": T0 + timedelta(seconds=10)},
        {"product_id": "c", "featured_at": T0 + timedelta(seconds=95)},
    ]
    line = timeline(history, CLOCK, 50.0)
    assert [(e["product_id"], e["start_s"], e["end_s"]) for e in line] == [
        ("a", 0.0, 10.0),
        ("b", 10.0, 35.0),
        ("c", 35.0, 50.0),
    ]
    assert line[0]["featured_at"] == T0 - timedelta(seconds=60)


def test_two_featurings_before_the_picture_keep_the_later() -> None:
    history = [
        {"product_id": "a", "featured_at": T0 - timedelta(seconds=9)},
        {"product_id": "b", "featured_at": T0 - timedelta(seconds=3)},
    ]
    assert [(e["product_id"], e["start_s"], e["end_s"]) for e in timeline(history, CLOCK, 50.0)] == [("b", 0.0, 50.0)]
