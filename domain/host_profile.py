"""HostProfile: a user who presents live shows, from application through verification to hosting.

One profile per user: its id is derived from the user id (``host_profile_id``), so the start of a stream can
load its host's profile from the stream's ``host_id`` alone, and applying twice finds the first application.
Ratings are folded (sum and count), with the (viewer, stream) pairs kept so nobody reviews a show twice.
Followers are not here: each follow is its own small aggregate (``domain.host_follow``), so a popular host's
profile stays small however many people follow them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.host_errors import (
    AlreadyReviewed,
    HostNotPending,
    HostNotRejected,
    HostNotSuspended,
    HostNotVerified,
    HostSuspended,
    InvalidAvailability,
    InvalidCommissionRate,
    InvalidHostProfile,
    InvalidRating,
    ReviewNotAllowed,
)

EXPERIENCE_LEVELS = ("beginner", "intermediate", "expert", "celebrity")
AVAILABILITY = ("available", "busy", "offline")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_COMMISSION = Decimal("5.00")
MAX_LIST = 20
_NS = uuid.UUID("2c6b1e0a-7f4d-4a8e-9b3c-5d1e2f3a4b5c")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LANG = re.compile(r"^[a-z]{2,3}$")


def host_profile_id(user_id: str) -> UUID:
    """The profile's id for a user: stable, so it can be found from a stream's ``host_id``."""
    return uuid.uuid5(_NS, f"host:{user_id}")


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidHostProfile(f"{name} must not be empty", field=name)
        return None
    if len(value) > limit:
        raise InvalidHostProfile(f"{name} is longer than {limit} characters", field=name)
    return value.strip()


def _strings(values: list[str] | None, name: str, limit: int = 500) -> list[str]:
    values = list(values or [])
    if len(values) > MAX_LIST:
        raise InvalidHostProfile(f"{name} holds at most {MAX_LIST} entries", field=name)
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or not v.strip() or len(v) > limit:
            raise InvalidHostProfile(f"{name} has an empty or too long entry", field=name)
        if v.strip() not in out:
            out.append(v.strip())
    return out


def check_application(a: dict[str, Any]) -> dict[str, Any]:
    """The application's fields, cleaned; raises ``InvalidHostProfile`` naming the first bad field."""
    languages = _strings(a.get("languages"), "languages", 3)
    if not languages or not all(_LANG.match(x) for x in languages):
        raise InvalidHostProfile("languages must list language codes such as bn and en", field="languages")
    level = a.get("experience_level") or "beginner"
    if level not in EXPERIENCE_LEVELS:
        raise InvalidHostProfile(
            f"experience_level must be one of {', '.join(EXPERIENCE_LEVELS)}", field="experience_level"
        )
    return {
        "vendor_id": a.get("vendor_id"),
        "host_name": _text(a.get("host_name"), "host_name", 255, required=True),
        "bio": _text(a.get("bio"), "bio", 5_000),
        "bio_bn": _text(a.get("bio_bn"), "bio_bn", 5_000),
        "profile_image_url": _text(a.get("profile_image_url"), "profile_image_url", 500),
        "specializations": _strings(a.get("specializations"), "specializations", 100),
        "languages": languages,
        "experience_level": level,
        "portfolio_links": _strings(a.get("portfolio_links"), "portfolio_links"),
        "sample_videos": _strings(a.get("sample_videos"), "sample_videos"),
    }


def check_commission(rate: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(rate))
    except InvalidOperation:
        raise InvalidCommissionRate("commission_rate must be a number") from None
    if not value.is_finite() or not (0 <= value <= 100) or value != value.quantize(Decimal("0.01")):
        raise InvalidCommissionRate("commission_rate is a percentage within 0..100 with at most 2 decimals")
    return value.quantize(Decimal("0.01"))


def check_schedule(schedule: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """``{"monday": ["19:00", "21:00"], ...}``: weekdays, one window each, start before end (Dhaka time)."""
    out: dict[str, list[str]] = {}
    for day, window in (schedule or {}).items():
        if day not in WEEKDAYS:
            raise InvalidAvailability(f"{day!r} is not a weekday name", field="weekly_schedule")
        if (
            not isinstance(window, list)
            or len(window) != 2
            or not all(isinstance(t, str) and _HHMM.match(t) for t in window)
            or window[0] >= window[1]
        ):
            raise InvalidAvailability(
                f"{day}: give [start, end] as HH:MM with start before end", field="weekly_schedule"
            )
        out[day] = list(window)
    return {d: out[d] for d in WEEKDAYS if d in out}


class HostProfile(Aggregate):
    """States: pending → verified | rejected (→ pending on resubmission); verified: active ⇄ suspended."""

    class Event(Aggregate.Event):
        pass

    class ApplicationSubmitted(Event, Aggregate.Created):
        user_id: str
        vendor_id: str | None
        host_name: str
        bio: str | None
        bio_bn: str | None
        profile_image_url: str | None
        specializations: list[str]
        languages: list[str]
        experience_level: str
        portfolio_links: list[str]
        sample_videos: list[str]
        commission_rate: Decimal

    def __init__(
        self,
        user_id: str,
        vendor_id: str | None,
        host_name: str,
        bio: str | None,
        bio_bn: str | None,
        profile_image_url: str | None,
        specializations: list[str],
        languages: list[str],
        experience_level: str,
        portfolio_links: list[str],
        sample_videos: list[str],
        commission_rate: Decimal,
    ) -> None:
        self.user_id = user_id
        self.commission_rate = commission_rate
        self.vendor_id = vendor_id
        self.host_name = host_name
        self.bio = bio
        self.bio_bn = bio_bn
        self.profile_image_url = profile_image_url
        self.specializations = list(specializations)
        self.languages = list(languages)
        self.experience_level = experience_level
        self.portfolio_links = list(portfolio_links)
        self.sample_videos = list(sample_videos)
        self.verification_status = "pending"
        self.rejection_reason: str | None = None
        self.verified_at: datetime | None = None
        self.is_active = True
        self.suspension_reason: str | None = None
        self.availability = "offline"
        self.next_available: datetime | None = None
        self.weekly_schedule: dict[str, list[str]] = {}
        self.rating_sum = 0
        self.rating_count = 0
        self.reviewed: set[str] = set()  # "viewer:stream" pairs

    def _set_application(self, **fields: Any) -> None:
        """A resubmission replaces the application's fields (the names of ``check_application``)."""
        for name, value in fields.items():
            setattr(self, name, list(value) if isinstance(value, list) else value)

    # ---- queries -------------------------------------------------------------------------------------
    @property
    def rating(self) -> Decimal:
        if not self.rating_count:
            return Decimal("0.00")
        return (Decimal(self.rating_sum) / self.rating_count).quantize(Decimal("0.01"))

    def check_can_host(self) -> None:
        """What starting a show asks of its host: verified, and not suspended."""
        if self.verification_status != "verified":
            raise HostNotVerified(f"the host is {self.verification_status}", status=self.verification_status)
        if not self.is_active:
            raise HostSuspended("the host is suspended", reason=self.suspension_reason)

    # ---- application and verification ------------------------------------------------------------------
    @classmethod
    def submit(
        cls,
        *,
        id: UUID,
        now: datetime,
        user_id: str,  # noqa: A002 - the library's name
        application: dict[str, Any],
    ) -> HostProfile:
        fields = check_application(application)
        return cls._create(
            cls.ApplicationSubmitted,
            id=id,
            timestamp=now,
            user_id=user_id,
            commission_rate=DEFAULT_COMMISSION,
            **fields,
        )

    class ApplicationResubmitted(Event):
        vendor_id: str | None
        host_name: str
        bio: str | None
        bio_bn: str | None
        profile_image_url: str | None
        specializations: list[str]
        languages: list[str]
        experience_level: str
        portfolio_links: list[str]
        sample_videos: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate._set_application(
                **{
                    k: getattr(self, k)
                    for k in (
                        "vendor_id",
                        "host_name",
                        "bio",
                        "bio_bn",
                        "profile_image_url",
                        "specializations",
                        "languages",
                        "experience_level",
                        "portfolio_links",
                        "sample_videos",
                    )
                }
            )
            aggregate.verification_status = "pending"
            aggregate.rejection_reason = None

    def resubmit(self, *, now: datetime, application: dict[str, Any]) -> None:
        if self.verification_status != "rejected":
            raise HostNotRejected(f"the application is {self.verification_status}", status=self.verification_status)
        self.trigger_event(self.ApplicationResubmitted, timestamp=now, **check_application(application))

    class Verified(Event):
        by: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.verification_status = "verified"
            aggregate.verified_at = self.timestamp

    def _require_pending(self) -> None:
        if self.verification_status != "pending":
            raise HostNotPending(f"the application is {self.verification_status}", status=self.verification_status)

    def verify(self, *, now: datetime, by: str) -> None:
        self._require_pending()
        self.trigger_event(self.Verified, timestamp=now, by=by)

    class Rejected(Event):
        by: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.verification_status = "rejected"
            aggregate.rejection_reason = self.reason

    def reject(self, *, now: datetime, by: str, reason: str) -> None:
        reason = _text(reason, "reason", 1_000, required=True) or ""
        self._require_pending()
        self.trigger_event(self.Rejected, timestamp=now, by=by, reason=reason)

    # ---- suspension ----------------------------------------------------------------------------------
    class Suspended(Event):
        by: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.is_active = False
            aggregate.suspension_reason = self.reason

    def suspend(self, *, now: datetime, by: str, reason: str) -> None:
        reason = _text(reason, "reason", 1_000, required=True) or ""
        if self.verification_status != "verified":
            raise HostNotVerified(f"the host is {self.verification_status}", status=self.verification_status)
        if not self.is_active:
            raise HostSuspended("the host is already suspended", reason=self.suspension_reason)
        self.trigger_event(self.Suspended, timestamp=now, by=by, reason=reason)

    class Reinstated(Event):
        by: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.is_active = True
            aggregate.suspension_reason = None

    def reinstate(self, *, now: datetime, by: str) -> None:
        if self.is_active:
            raise HostNotSuspended("the host is not suspended")
        self.trigger_event(self.Reinstated, timestamp=now, by=by)

    # ---- availability and terms ----------------------------------------------------------------------
    class AvailabilityChanged(Event):
        status: str
        next_available: datetime | None
        weekly_schedule: dict[str, list[str]]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.availability = self.status
            aggregate.next_available = self.next_available
            aggregate.weekly_schedule = {k: list(v) for k, v in self.weekly_schedule.items()}

    def set_availability(
        self,
        *,
        now: datetime,
        status: str,
        next_available: datetime | None = None,
        weekly_schedule: dict[str, list[str]] | None = None,
    ) -> None:
        if status not in AVAILABILITY:
            raise InvalidAvailability(f"status must be one of {', '.join(AVAILABILITY)}", field="status")
        if next_available is not None and next_available <= now:
            raise InvalidAvailability("next_available must be in the future", field="next_available")
        schedule = check_schedule(weekly_schedule) if weekly_schedule is not None else self.weekly_schedule
        if self.verification_status == "rejected":
            raise HostNotVerified("a rejected host has no availability", status=self.verification_status)
        self.trigger_event(
            self.AvailabilityChanged,
            timestamp=now,
            status=status,
            next_available=next_available,
            weekly_schedule=schedule,
        )

    class CommissionRateChanged(Event):
        rate: Decimal
        by: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.commission_rate = self.rate

    def set_commission_rate(self, *, now: datetime, rate: Decimal, by: str) -> None:
        value = check_commission(rate)
        if value != self.commission_rate:
            self.trigger_event(self.CommissionRateChanged, timestamp=now, rate=value, by=by)

    # ---- reviews -------------------------------------------------------------------------------------
    class Reviewed(Event):
        viewer_id: str
        stream_id: str
        rating: int
        comment: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostProfile)
            aggregate.rating_sum += self.rating
            aggregate.rating_count += 1
            aggregate.reviewed.add(f"{self.viewer_id}:{self.stream_id}")

    def review(self, *, now: datetime, viewer_id: str, stream_id: str, rating: int, comment: str | None = None) -> None:
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidRating("rating is a whole number from 1 to 5", field="rating")
        comment = _text(comment, "comment", 2_000)
        if viewer_id == self.user_id:
            raise ReviewNotAllowed("hosts do not review themselves")
        if f"{viewer_id}:{stream_id}" in self.reviewed:
            raise AlreadyReviewed("you have already reviewed this stream", stream_id=stream_id)
        self.trigger_event(
            self.Reviewed, timestamp=now, viewer_id=viewer_id, stream_id=stream_id, rating=rating, comment=comment
        )
