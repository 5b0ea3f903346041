"""Stream recommendations by time of day use the viewer's hours in Dhaka (UTC+6), smoothed over neighbours."""

from __future__ import annotations

from datetime import UTC, datetime

from application.stream_recommender import Show, Watch, dhaka_hour, hour_profile, recommend


def test_the_hour_is_dhakas_and_the_profile_peaks_there() -> None:
    evening = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)  # 20:30 in Dhaka
    assert dhaka_hour(evening) == 20 and dhaka_hour(datetime(2026, 12, 5, 20, 0, tzinfo=UTC)) == 2
    watches = [Watch("h1", "fashion", "bn", evening), Watch("h1", "fashion", "bn", evening)]
    profile = hour_profile(watches)
    assert profile[20] == 1.0 and profile[19] == profile[21] == 0.5 and profile[8] == 0.0


def test_an_evening_viewer_gets_the_evening_show_first() -> None:
    evening = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # 20:00 in Dhaka
    watches = [Watch("h9", "books", "en", evening)]
    at_eight = Show("eve", "h1", "fashion", "bn", live=False, starts_at=datetime(2026, 12, 6, 14, 0, tzinfo=UTC))
    at_eight_am = Show("morn", "h1", "fashion", "bn", live=False, starts_at=datetime(2026, 12, 6, 2, 0, tzinfo=UTC))
    picks = recommend([at_eight_am, at_eight], watches, (), evening)
    assert [p.stream_id for p in picks] == ["eve", "morn"]
    assert picks[0].reasons == ["time_of_day"] and picks[1].reasons == []
