"""Host use cases (spec §4.4): apply, verify / reject, suspend / reinstate, availability, commission,
schedule a stream, follow / unfollow, review.

Every write goes through the batch writer, like the stream commands; each answers with the profile (or follow)
id and the aggregate's new version. Who may do what is ``application.access``; the rules are the aggregates'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import Actor, get_optional, refuse, require_role
from application.batch_writer import BatchWriter, UnitOfWork
from application.streams import CommandResult, ProductTerms, ScheduleStream, StreamService
from domain.errors import StreamNotFound
from domain.host_errors import HostAlreadyApplied, HostNotFound, ReviewNotAllowed, StreamTimeInPast
from domain.host_follow import HostFollow, follow_id
from domain.host_profile import HostProfile, host_profile_id
from domain.live_stream import LiveStream


@dataclass(frozen=True)
class HostApplication:
    host_name: str
    languages: list[str]
    bio: str | None = None
    bio_bn: str | None = None
    profile_image_url: str | None = None
    specializations: list[str] = field(default_factory=list)
    experience_level: str = "beginner"
    portfolio_links: list[str] = field(default_factory=list)
    sample_videos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HostStream:
    """``POST /hosts/schedule-stream``: a show the host will present, with the products to feature."""

    title: str
    scheduled_start_time: datetime
    stream_type: str = "product_demo"
    estimated_duration: int = 60  # minutes
    products_to_feature: list[str] = field(default_factory=list)
    title_bn: str | None = None
    description: str | None = None
    description_bn: str | None = None
    category: str | None = None
    language: str = "bn"
    is_public: bool = True


@dataclass(frozen=True)
class FollowResult:
    host_id: UUID
    following: bool
    changed: bool
    version: int


def _host_not_found(aggregate_id: UUID) -> Exception:
    return HostNotFound("host not found", host_id=str(aggregate_id))


class HostService:
    def __init__(
        self, writer: BatchWriter, streams: StreamService, *, clock: Callable[[], datetime], default_vendor_id: str
    ) -> None:
        self._writer = writer
        self._streams = streams
        self._clock = clock
        self._default_vendor = default_vendor_id

    # ---- application and verification ------------------------------------------------------------------
    async def apply(self, actor: Actor, application: HostApplication) -> CommandResult:
        """Apply (or, after a rejection, apply again) to host. One profile per user."""
        require_role(actor, "host.apply")
        now = self._clock()
        pid = host_profile_id(actor.user_id)
        fields: dict[str, Any] = {**application.__dict__, "vendor_id": actor.vendor_id}

        def decide(uow: UnitOfWork) -> CommandResult:
            existing: HostProfile | None = get_optional(uow, pid)
            if existing is None:
                profile = HostProfile.submit(id=pid, now=now, user_id=actor.user_id, application=fields)
                uow.add(profile)
                return CommandResult(profile.id, profile.version)
            if existing.verification_status != "rejected":
                raise HostAlreadyApplied(
                    "you have already applied", host_id=str(pid), status=existing.verification_status
                )
            existing.resubmit(now=now, application=fields)
            return CommandResult(existing.id, existing.version)

        return await self._writer.submit(decide, not_found=_host_not_found)

    async def _on_profile(self, host_id: UUID, change: Callable[[HostProfile], None]) -> CommandResult:
        def decide(uow: UnitOfWork) -> CommandResult:
            profile: HostProfile = uow.get(host_id)
            change(profile)
            return CommandResult(profile.id, profile.version)

        return await self._writer.submit(decide, not_found=_host_not_found)

    async def verify(self, actor: Actor, host_id: UUID) -> CommandResult:
        require_role(actor, "host.verify")
        now = self._clock()
        return await self._on_profile(host_id, lambda p: p.verify(now=now, by=actor.user_id))

    async def reject(self, actor: Actor, host_id: UUID, reason: str) -> CommandResult:
        require_role(actor, "host.reject")
        now = self._clock()
        return await self._on_profile(host_id, lambda p: p.reject(now=now, by=actor.user_id, reason=reason))

    async def suspend(self, actor: Actor, host_id: UUID, reason: str) -> CommandResult:
        require_role(actor, "host.suspend")
        now = self._clock()
        return await self._on_profile(host_id, lambda p: p.suspend(now=now, by=actor.user_id, reason=reason))

    async def reinstate(self, actor: Actor, host_id: UUID) -> CommandResult:
        require_role(actor, "host.reinstate")
        now = self._clock()
        return await self._on_profile(host_id, lambda p: p.reinstate(now=now, by=actor.user_id))

    async def set_commission_rate(self, actor: Actor, host_id: UUID, rate: Decimal) -> CommandResult:
        require_role(actor, "host.commission")
        now = self._clock()
        return await self._on_profile(host_id, lambda p: p.set_commission_rate(now=now, rate=rate, by=actor.user_id))

    # ---- the host's own profile ----------------------------------------------------------------------
    def own_profile_id(self, actor: Actor, action: str, host_id: UUID | None = None) -> UUID:
        """The host's own profile; an admin may name any."""
        require_role(actor, action)
        if host_id is not None and actor.is_admin:
            return host_id
        if host_id is not None and host_id != host_profile_id(actor.user_id):
            raise refuse(action, "this host profile is not yours")
        return host_profile_id(actor.user_id)

    async def set_availability(
        self,
        actor: Actor,
        *,
        status: str,
        next_available: datetime | None,
        weekly_schedule: dict[str, list[str]] | None,
        host_id: UUID | None = None,
    ) -> CommandResult:
        pid = self.own_profile_id(actor, "host.availability", host_id)
        now = self._clock()
        return await self._on_profile(
            pid,
            lambda p: p.set_availability(
                now=now, status=status, next_available=next_available, weekly_schedule=weekly_schedule
            ),
        )

    async def schedule_stream(self, actor: Actor, cmd: HostStream, host_id: UUID | None = None) -> CommandResult:
        """A stream hosted by the caller (an admin may name the host). The host must have a profile that is
        not rejected; it must be verified and active by the time the stream starts."""
        pid = self.own_profile_id(actor, "host.schedule_stream", host_id)
        now = self._clock()
        if cmd.scheduled_start_time <= now:
            raise StreamTimeInPast("scheduled_start_time must be in the future", field="scheduled_start_time")

        def check(uow: UnitOfWork) -> HostProfile:
            profile: HostProfile = uow.get(pid)
            if profile.verification_status == "rejected":
                raise refuse("host.schedule_stream", "a rejected host cannot schedule streams")
            return profile

        profile = await self._writer.submit(check, not_found=_host_not_found)
        vendor = profile.vendor_id or actor.vendor_id or self._default_vendor
        return await self._streams.schedule(
            ScheduleStream(
                vendor_id=vendor,
                host_id=profile.user_id,
                title=cmd.title,
                stream_type=cmd.stream_type,
                title_bn=cmd.title_bn,
                description=cmd.description,
                description_bn=cmd.description_bn,
                category=cmd.category,
                scheduled_start_time=cmd.scheduled_start_time,
                is_public=cmd.is_public,
                language=cmd.language,
                stream_settings={"estimated_duration_minutes": cmd.estimated_duration},
                products=[ProductTerms(p) for p in cmd.products_to_feature],
            )
        )

    # ---- viewers: follow and review ------------------------------------------------------------------
    async def follow(self, actor: Actor, host_id: UUID, *, following: bool = True) -> FollowResult:
        require_role(actor, "host.follow")
        now = self._clock()
        fid = follow_id(str(host_id), actor.user_id)

        def decide(uow: UnitOfWork) -> FollowResult:
            profile: HostProfile = uow.get(host_id)
            pair: HostFollow | None = get_optional(uow, fid)
            if pair is None:
                if not following:
                    return FollowResult(host_id, False, False, 0)
                pair = HostFollow.start(
                    now=now, host_id=str(host_id), host_user_id=profile.user_id, follower_id=actor.user_id
                )
                uow.add(pair)
                return FollowResult(host_id, True, True, pair.version)
            changed = pair.follow(now=now) if following else pair.unfollow(now=now)
            return FollowResult(host_id, pair.following, changed, pair.version)

        return await self._writer.submit(decide, not_found=_host_not_found)

    async def review(
        self, actor: Actor, host_id: UUID, *, stream_id: UUID, rating: int, comment: str | None
    ) -> CommandResult:
        """A viewer rates the host for a show the host presented (live or ended)."""
        require_role(actor, "host.review")
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            profile: HostProfile = uow.get(host_id)
            stream: LiveStream | None = get_optional(uow, stream_id)
            if stream is None or not isinstance(stream, LiveStream):
                raise StreamNotFound("stream not found", stream_id=str(stream_id))
            if stream.host_id != profile.user_id or stream.status not in ("live", "ended"):
                raise ReviewNotAllowed("only a show this host has presented can be reviewed", stream_id=str(stream_id))
            profile.review(now=now, viewer_id=actor.user_id, stream_id=str(stream_id), rating=rating, comment=comment)
            return CommandResult(profile.id, profile.version)

        return await self._writer.submit(decide, not_found=_host_not_found)
