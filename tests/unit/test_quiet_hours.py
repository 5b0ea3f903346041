"""Quiet hours in Dhaka time (issue 20 part 7): a window may span midnight; urgent kinds are never held."""

from __future__ import annotations

from datetime import UTC, datetime, time

from application.notification_prefs import Preferences, quiet_until
from application.notifications import DHAKA

NIGHT = Preferences(user_id="u", quiet_start=time(22, 0), quiet_end=time(7, 0))


def dhaka(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=DHAKA).astimezone(UTC)


def test_a_window_over_midnight_holds_until_the_next_morning_in_dhaka() -> None:
    assert quiet_until(NIGHT, "stream_reminder", dhaka(17, 23, 30)) == datetime(2026, 3, 18, 7, 0, tzinfo=DHAKA)
    assert quiet_until(NIGHT, "stream_reminder", dhaka(18, 2, 0)) == datetime(2026, 3, 18, 7, 0, tzinfo=DHAKA)
    assert quiet_until(NIGHT, "flash_sale_alert", dhaka(17, 22, 0)) is not None  # the start is inside
    assert quiet_until(NIGHT, "stream_reminder", dhaka(18, 7, 0)) is None  # the end is outside
    assert quiet_until(NIGHT, "stream_reminder", dhaka(17, 21, 59)) is None
    # 16:30 UTC is 22:30 in Dhaka: quiet, though it is afternoon in UTC
    assert quiet_until(NIGHT, "stream_starting", datetime(2026, 3, 17, 16, 30, tzinfo=UTC)) is not None


def test_a_daytime_window_and_the_exceptions() -> None:
    lunch = Preferences(user_id="u", quiet_start=time(13, 0), quiet_end=time(14, 0))
    assert quiet_until(lunch, "stream_reminder", dhaka(17, 13, 15)) == datetime(2026, 3, 17, 14, 0, tzinfo=DHAKA)
    assert quiet_until(lunch, "stream_reminder", dhaka(17, 14, 15)) is None
    assert quiet_until(NIGHT, "order_update", dhaka(17, 23, 30)) is None  # a buyer's own order goes at once
    assert quiet_until(None, "stream_reminder", dhaka(17, 23, 30)) is None
    assert quiet_until(Preferences(user_id="u"), "stream_reminder", dhaka(17, 23, 30)) is None


def test_preferences_round_trip_through_their_stored_json() -> None:
    p = Preferences(
        user_id="u",
        language="en",
        channels=("sms", "email"),
        quiet_start=time(22, 30),
        quiet_end=time(6, 0),
        email="a@b.co",
        msisdn="8801712345678",
    )
    assert Preferences.from_json(p.to_json()) == p
