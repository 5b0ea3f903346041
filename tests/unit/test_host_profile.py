"""HostProfile, HostFollow, StreamModerators: given events, when a command, then events or a named refusal."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.event_store import LiveCommerceStore
from domain.errors import DomainError
from domain.host_errors import (
    AlreadyReviewed,
    CannotFollowSelf,
    HostNotPending,
    HostNotRejected,
    HostNotSuspended,
    HostNotVerified,
    HostSuspended,
    InvalidAvailability,
    InvalidCommissionRate,
    InvalidHostProfile,
    InvalidModeratorPermissions,
    InvalidRating,
    ReviewNotAllowed,
)
from domain.host_follow import HostFollow, follow_id
from domain.host_profile import HostProfile, host_profile_id
from domain.stream_moderators import StreamModerators, moderators_id

T0 = datetime(2026, 3, 17, 13, 0, tzinfo=UTC)
USER, ADMIN, VIEWER = str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), str(uuid.UUID(int=3))
SPEC_APPLICATION: dict[str, Any] = {  # the spec's own body (§4.4)
    "host_name": "Sarah Khan",
    "bio": "Tech enthusiast and product reviewer",
    "bio_bn": "প্রযুক্তি উৎসাহী এবং পণ্য পর্যালোচনাকারী",
    "specializations": ["electronics", "fashion", "beauty"],
    "languages": ["bn", "en"],
    "experience_level": "intermediate",
    "portfolio_links": ["https://youtube.com/sarahtech"],
    "sample_videos": ["video_url1", "video_url2"],
}


def applied(**changes: Any) -> HostProfile:
    return HostProfile.submit(
        id=host_profile_id(USER), now=T0, user_id=USER, application={**SPEC_APPLICATION, **changes}
    )


def verified() -> HostProfile:
    p = applied()
    p.verify(now=T0, by=ADMIN)
    return p


def test_application_keeps_the_specs_fields_and_waits_for_verification() -> None:
    p = applied()
    (event,) = p.collect_events()
    assert type(event).__name__ == "ApplicationSubmitted" and p.id == host_profile_id(USER)
    assert p.verification_status == "pending" and p.bio_bn == SPEC_APPLICATION["bio_bn"]
    assert p.languages == ["bn", "en"] and p.commission_rate == Decimal("5.00")
    assert p.rating == Decimal("0.00")
    with pytest.raises(HostNotVerified):
        p.check_can_host()


def test_verification_then_suspension_decide_who_may_host() -> None:
    p = verified()
    p.check_can_host()
    p.suspend(now=T0, by=ADMIN, reason="fake reviews")
    with pytest.raises(HostSuspended):
        p.check_can_host()
    p.reinstate(now=T0, by=ADMIN)
    p.check_can_host()
    assert [type(e).__name__ for e in p.collect_events()] == [
        "ApplicationSubmitted",
        "Verified",
        "Suspended",
        "Reinstated",
    ]


def test_rejected_application_can_be_resubmitted() -> None:
    p = applied()
    p.reject(now=T0, by=ADMIN, reason="portfolio links do not work")
    assert p.verification_status == "rejected" and p.rejection_reason
    p.resubmit(now=T0, application={**SPEC_APPLICATION, "portfolio_links": ["https://youtube.com/sarah2"]})
    assert p.verification_status == "pending" and p.rejection_reason is None
    assert p.portfolio_links == ["https://youtube.com/sarah2"]


@pytest.mark.parametrize(
    "changes",
    [
        {"host_name": "  "},
        {"host_name": "x" * 256},
        {"languages": []},
        {"languages": ["Bangla"]},
        {"experience_level": "guru"},
        {"specializations": [""]},
        {"portfolio_links": ["x"] * 21},
    ],
)
def test_invalid_applications_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidHostProfile):
        applied(**changes)


def _week(p: HostProfile, day: str, window: list[str]) -> None:
    p.set_availability(now=T0, status="busy", weekly_schedule={day: window})


def _rate(p: HostProfile, rate: str) -> None:
    p.set_commission_rate(now=T0, rate=Decimal(rate), by=ADMIN)


def _review(p: HostProfile, viewer: str = VIEWER, stream: str = "s1", rating: int = 5) -> None:
    p.review(now=T0, viewer_id=viewer, stream_id=stream, rating=rating)


@pytest.mark.parametrize(
    ("prepare", "command", "error"),
    [
        (verified, lambda p: p.verify(now=T0, by=ADMIN), HostNotPending),
        (verified, lambda p: p.reject(now=T0, by=ADMIN, reason="late"), HostNotPending),
        (applied, lambda p: p.reject(now=T0, by=ADMIN, reason=" "), InvalidHostProfile),
        (applied, lambda p: p.resubmit(now=T0, application=SPEC_APPLICATION), HostNotRejected),
        (applied, lambda p: p.suspend(now=T0, by=ADMIN, reason="x"), HostNotVerified),
        (verified, lambda p: p.reinstate(now=T0, by=ADMIN), HostNotSuspended),
        (verified, lambda p: p.set_availability(now=T0, status="asleep"), InvalidAvailability),
        (verified, lambda p: p.set_availability(now=T0, status="busy", next_available=T0), InvalidAvailability),
        (verified, lambda p: _week(p, "funday", ["19:00", "21:00"]), InvalidAvailability),
        (verified, lambda p: _week(p, "monday", ["21:00", "19:00"]), InvalidAvailability),
        (verified, lambda p: _week(p, "monday", ["7pm", "9pm"]), InvalidAvailability),
        (verified, lambda p: _rate(p, "100.01"), InvalidCommissionRate),
        (verified, lambda p: _rate(p, "-1"), InvalidCommissionRate),
        (verified, lambda p: _rate(p, "5.555"), InvalidCommissionRate),
        (verified, lambda p: _review(p, rating=0), InvalidRating),
        (verified, lambda p: _review(p, rating=6), InvalidRating),
        (verified, lambda p: _review(p, viewer=USER), ReviewNotAllowed),
    ],
)
def test_broken_rules_are_refused_and_change_nothing(prepare, command, error) -> None:  # type: ignore[no-untyped-def]
    p = prepare()
    p.collect_events()
    before = copy.deepcopy(p.__dict__)
    with pytest.raises(error) as info:
        command(p)
    assert isinstance(info.value, DomainError) and info.value.code
    assert p.collect_events() == [] and p.__dict__ == before


def test_one_review_per_viewer_per_stream_and_the_rating_is_their_mean() -> None:
    p = verified()
    _review(p, rating=5)
    with pytest.raises(AlreadyReviewed):
        _review(p, rating=1)
    _review(p, stream="s2", rating=4)
    _review(p, viewer=ADMIN, rating=4)
    assert p.rating == Decimal("4.33") and p.rating_count == 3


def test_availability_and_commission_are_recorded() -> None:
    p = verified()
    week = {"saturday": ["15:00", "17:00"], "monday": ["19:00", "21:00"]}
    p.set_availability(now=T0, status="available", next_available=T0 + timedelta(days=1), weekly_schedule=week)
    assert p.availability == "available" and list(p.weekly_schedule) == ["monday", "saturday"]
    p.set_availability(now=T0, status="busy")  # the weekly schedule stays when not sent
    assert p.weekly_schedule == week
    p.set_commission_rate(now=T0, rate=Decimal("7.5"), by=ADMIN)
    p.set_commission_rate(now=T0, rate=Decimal("7.50"), by=ADMIN)  # unchanged: nothing recorded
    names = [type(e).__name__ for e in p.collect_events()]
    assert names.count("CommissionRateChanged") == 1 and p.commission_rate == Decimal("7.50")


def test_events_round_trip_through_the_stores_transcoder() -> None:
    p = verified()
    p.set_availability(
        now=T0,
        status="available",
        next_available=T0 + timedelta(hours=3),
        weekly_schedule={"friday": ["10:00", "12:00"]},
    )
    p.set_commission_rate(now=T0, rate=Decimal("6.25"), by=ADMIN)
    _review(p)
    app = LiveCommerceStore()
    for e in p.collect_events():
        back = app.mapper.to_domain_event(app.mapper.to_stored_event(e))
        assert back.__dict__ == e.__dict__


PROFILE_COMMANDS = st.lists(
    st.tuples(
        st.sampled_from(["verify", "reject", "resubmit", "suspend", "reinstate", "available", "commission", "review"]),
        st.integers(min_value=0, max_value=7),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(PROFILE_COMMANDS)
def test_any_command_sequence_keeps_the_rules_and_replays_to_the_same_state(cmds) -> None:  # type: ignore[no-untyped-def]
    p = applied()
    now = T0
    for name, n in cmds:
        now += timedelta(minutes=1)
        before = p.version
        try:
            match name:
                case "verify":
                    p.verify(now=now, by=ADMIN)
                case "reject":
                    p.reject(now=now, by=ADMIN, reason="no")
                case "resubmit":
                    p.resubmit(now=now, application=SPEC_APPLICATION)
                case "suspend":
                    p.suspend(now=now, by=ADMIN, reason="x")
                case "reinstate":
                    p.reinstate(now=now, by=ADMIN)
                case "available":
                    p.set_availability(now=now, status=("available", "busy", "offline")[n % 3])
                case "commission":
                    p.set_commission_rate(now=now, rate=Decimal(n * 3), by=ADMIN)
                case _:
                    p.review(
                        now=now, viewer_id=str(uuid.UUID(int=100 + n % 3)), stream_id=f"s{n % 2}", rating=n % 5 + 1
                    )
        except DomainError:
            assert p.version == before  # refused: nothing recorded
        assert p.rating_count == len(p.reviewed) <= 6
        assert p.rating_count == 0 or Decimal(1) <= p.rating <= Decimal(5)
        assert p.is_active or p.verification_status == "verified"  # only verified hosts are suspended
    events = p.collect_events()
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.__dict__ == p.__dict__


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), max_size=20))
def test_following_is_idempotent_and_ends_where_the_last_command_says(commands: list[bool]) -> None:
    host = str(host_profile_id(USER))
    pair = HostFollow.start(now=T0, host_id=host, host_user_id=USER, follower_id=VIEWER)
    changes = 1
    for follow in commands:
        changes += pair.follow(now=T0) if follow else pair.unfollow(now=T0)
    assert pair.following == (commands[-1] if commands else True)
    assert pair.id == follow_id(host, VIEWER) and len(pair.collect_events()) == changes


def test_hosts_do_not_follow_themselves() -> None:
    with pytest.raises(CannotFollowSelf):
        HostFollow.start(now=T0, host_id=str(host_profile_id(USER)), host_user_id=USER, follower_id=USER)


def test_moderators_are_assigned_with_permissions_and_revoked() -> None:
    m = StreamModerators.open(now=T0, stream_id="s1")
    assert m.id == moderators_id("s1")
    assert m.assign(now=T0, moderator_id=VIEWER)
    assert not m.assign(now=T0, moderator_id=VIEWER)  # the same again: nothing recorded
    assert m.may(VIEWER, "feature_products") and not m.may(VIEWER, "end_stream")
    assert m.assign(now=T0, moderator_id=VIEWER, permissions=["end_stream"])
    assert m.may(VIEWER, "end_stream") and not m.may(VIEWER, "feature_products")
    with pytest.raises(InvalidModeratorPermissions):
        m.assign(now=T0, moderator_id=ADMIN, permissions=["ban_everyone"])
    assert m.revoke(now=T0, moderator_id=VIEWER) and not m.revoke(now=T0, moderator_id=VIEWER)
    assert not m.may(VIEWER, "end_stream") and len(m.collect_events()) == 4
