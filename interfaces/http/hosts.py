"""Host management endpoints (spec §4.4) and the admin's verification queue.

Commands go to the HostService (every write signed in, roles per ``application.access``); queries read the
hosts read model, ``live_streams``, sales, and Redis ``HOST_STATUS``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.hosts import HostApplication, HostStream
from infra.version_waiter import HOSTS
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso
from interfaces.http.read_your_writes import visible
from interfaces.http.schemas import Body, Language, StreamType, Text
from projections import host_queries as hq
from projections.hosts_pg import host_status_key

bp = Blueprint("hosts", url_prefix="/api/v1/live-commerce")

Short = Annotated[str, Field(min_length=1, max_length=100)]
Link = Annotated[str, Field(min_length=1, max_length=500)]
Hhmm = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
LangCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ApplyBody(Body):
    host_name: Annotated[str, Field(min_length=1, max_length=255)]
    bio: Annotated[Text, Field(max_length=5_000)] | None = None
    bio_bn: Annotated[Text, Field(max_length=5_000)] | None = None
    profile_image_url: Link | None = None
    specializations: Annotated[list[Short], Field(max_length=20)] = []
    languages: Annotated[list[LangCode], Field(min_length=1, max_length=10)]
    experience_level: Literal["beginner", "intermediate", "expert", "celebrity"] = "beginner"
    portfolio_links: Annotated[list[Link], Field(max_length=20)] = []
    sample_videos: Annotated[list[Link], Field(max_length=20)] = []


class ScheduleStreamBody(Body):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    scheduled_start_time: AwareDatetime
    estimated_duration: Annotated[int, Field(ge=5, le=12 * 60)] = 60
    products_to_feature: Annotated[list[UUID], Field(max_length=100)] = []
    stream_type: StreamType = "product_demo"
    title_bn: Annotated[str, Field(max_length=255)] | None = None
    description: Annotated[Text, Field(max_length=10_000)] | None = None
    description_bn: Annotated[Text, Field(max_length=10_000)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    language: Language = "bn"
    is_public: bool = True
    host_id: UUID | None = None  # admins only: schedule for this host profile


class AvailabilityBody(Body):
    status: Literal["available", "busy", "offline"]
    next_available: AwareDatetime | None = None
    weekly_schedule: dict[Weekday, Annotated[list[Hhmm], Field(min_length=2, max_length=2)]] | None = None
    host_id: UUID | None = None  # admins only


class ReasonBody(Body):
    reason: Annotated[Text, Field(min_length=1, max_length=1_000)]


class CommissionBody(Body):
    commission_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class ReviewBody(Body):
    stream_id: UUID
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: Annotated[Text, Field(max_length=2_000)] | None = None


class ApplicationsQuery(Body):
    status: Literal["pending", "verified", "rejected"] | None = "pending"
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class DashboardQuery(Body):
    host_id: UUID | None = None  # admins only


def _reply(res: Any, http_status: int = 200, **extra: Any) -> HTTPResponse:
    return json({"id": str(res.id), "version": res.version, **extra}, status=http_status)


def _host(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "user_id": str(r["user_id"]),
        "vendor_id": str(r["vendor_id"]) if r["vendor_id"] else None,
        "host_name": r["host_name"],
        "bio": r["bio"],
        "bio_bn": r["bio_bn"],
        "profile_image_url": r["profile_image_url"],
        "specializations": r["specializations"] or [],
        "languages": r["languages"] or [],
        "experience_level": r["experience_level"],
        "rating": float(r["rating"] or 0),
        "rating_count": r["rating_count"],
        "verification_status": r["verification_status"],
        "is_active": r["is_active"],
        "commission_rate": float(r["commission_rate"] or 0),
        "portfolio_links": r["portfolio_links"] or [],
        "sample_videos": r["sample_videos"] or [],
        "followers_count": int(r["followers_count"] or 0),
        "availability": {
            "status": r["availability_status"],
            "next_available": iso(r["next_available"]),
            "weekly_schedule": r["weekly_schedule"] or {},
        },
        "rejection_reason": r["rejection_reason"],
        "suspension_reason": r["suspension_reason"],
        "verified_at": iso(r["verified_at"]),
        "created_at": iso(r["created_at"]),
        "version": r["aggregate_version"],
    }


# ---- the host's own -----------------------------------------------------------------------------------
@bp.post("/hosts/apply")
@requires("host.apply")
@api(body=ApplyBody, status=201)
async def apply(request: Request, body: ApplyBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    res = await c.hosts.apply(actor_of(request), HostApplication(**body.model_dump()))
    return _reply(res, 201, verification_status="pending")


@bp.get("/hosts/dashboard")
@requires("host.dashboard")
@api(query=DashboardQuery, errors=(404,))
async def dashboard(request: Request, query: DashboardQuery) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None and c.read_db is not None
    hid = c.hosts.own_profile_id(actor_of(request), "host.dashboard", query.host_id)
    row = await hq.host_by_id(c.read_db, str(hid))
    if row is None:
        return error_response(404, "host_not_found", {"host_id": str(hid)})
    figures = await hq.dashboard(c.read_db, row, datetime.now(UTC))
    status = await c.redis.hgetall(host_status_key(str(hid)))
    figures["upcoming_streams"] = [
        {
            "id": str(s["id"]),
            "title": s["title"],
            "title_bn": s["title_bn"],
            "stream_type": s["stream_type"],
            "category": s["category"],
            "scheduled_start_time": iso(s["scheduled_start_time"]),
            "estimated_duration": (s["stream_settings"] or {}).get("estimated_duration_minutes"),
        }
        for s in figures["upcoming_streams"]
    ]
    for p in figures["pending_approvals"]:
        p["submitted_at"] = iso(p["submitted_at"])
    return json({"host_info": {**_host(row), "status": status or None}, **figures})


@bp.post("/hosts/schedule-stream")
@requires("host.schedule_stream")
@api(body=ScheduleStreamBody, status=201)
async def schedule_stream(request: Request, body: ScheduleStreamBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    cmd = HostStream(
        **body.model_dump(exclude={"host_id", "products_to_feature"}),
        products_to_feature=[str(p) for p in body.products_to_feature],
    )
    res = await c.hosts.schedule_stream(actor_of(request), cmd, body.host_id)
    return _reply(res, 201, status="scheduled", scheduled_start_time=iso(body.scheduled_start_time))


@bp.put("/hosts/availability")
@requires("host.availability")
@api(body=AvailabilityBody)
async def availability(request: Request, body: AvailabilityBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    week = None
    if body.weekly_schedule is not None:
        week = {str(day): list(window) for day, window in body.weekly_schedule.items()}
    res = await c.hosts.set_availability(
        actor_of(request),
        status=body.status,
        next_available=body.next_available,
        weekly_schedule=week,
        host_id=body.host_id,
    )
    return _reply(res, availability=body.status)


# ---- admins -------------------------------------------------------------------------------------------
@bp.get("/hosts/applications")
@requires("host.applications")
@api(query=ApplicationsQuery)
async def list_applications(request: Request, query: ApplicationsQuery) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    rows, total = await hq.applications(c.read_db, status=query.status, page=query.page, limit=query.limit)
    return json(
        {"applications": [_host(r) for r in rows], "total_count": total, "page": query.page, "limit": query.limit}
    )


@bp.post("/hosts/<host_id:uuid>/verify")
@requires("host.verify")
@api()
async def verify(request: Request, host_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    return _reply(await c.hosts.verify(actor_of(request), host_id), verification_status="verified")


@bp.post("/hosts/<host_id:uuid>/reject")
@requires("host.reject")
@api(body=ReasonBody)
async def reject(request: Request, host_id: UUID, body: ReasonBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    res = await c.hosts.reject(actor_of(request), host_id, body.reason)
    return _reply(res, verification_status="rejected")


@bp.post("/hosts/<host_id:uuid>/suspend")
@requires("host.suspend")
@api(body=ReasonBody)
async def suspend(request: Request, host_id: UUID, body: ReasonBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    return _reply(await c.hosts.suspend(actor_of(request), host_id, body.reason), is_active=False)


@bp.post("/hosts/<host_id:uuid>/reinstate")
@requires("host.reinstate")
@api()
async def reinstate(request: Request, host_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    return _reply(await c.hosts.reinstate(actor_of(request), host_id), is_active=True)


@bp.put("/hosts/<host_id:uuid>/commission")
@requires("host.commission")
@api(body=CommissionBody)
async def commission(request: Request, host_id: UUID, body: CommissionBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    res = await c.hosts.set_commission_rate(actor_of(request), host_id, body.commission_rate)
    return _reply(res, commission_rate=float(body.commission_rate))


# ---- viewers ------------------------------------------------------------------------------------------
@bp.get("/hosts/applications/<host_id:uuid>")
@requires("host.apply")
@api(min_version=True, errors=(404,))
async def get_application(request: Request, host_id: UUID) -> HTTPResponse:
    """One application with its review status, for the applicant and admins; ``min_version`` (from
    ``POST /hosts/apply`` or a review) waits for it to show."""
    c = _c(request)
    hid = str(host_id)
    row = await visible(request, HOSTS, hid, lambda: hq.host_by_id(c.read_db, hid), "host_not_found", {"host_id": hid})
    if isinstance(row, HTTPResponse):
        return row
    actor = actor_of(request)
    if not actor.is_admin and str(row["user_id"]) != actor.user_id:
        return error_response(404, "host_not_found", {"host_id": hid})
    return json(_host(row))


@bp.get("/hosts/<host_id:uuid>")
@api(min_version=True, errors=(404,))
async def get_host(request: Request, host_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None
    hid = str(host_id)
    row = await visible(request, HOSTS, hid, lambda: hq.host_by_id(c.read_db, hid), "host_not_found", {"host_id": hid})
    if isinstance(row, HTTPResponse):
        return row
    if row["verification_status"] != "verified":
        return error_response(404, "host_not_found", {"host_id": str(host_id)})
    public = {
        k: v for k, v in _host(row).items() if k not in ("rejection_reason", "suspension_reason", "commission_rate")
    }
    return json({**public, "status": await c.redis.hgetall(host_status_key(str(host_id))) or None})


async def _follow(request: Request, host_id: UUID, following: bool) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    res = await c.hosts.follow(actor_of(request), host_id, following=following)
    return json({"host_id": str(res.host_id), "following": res.following, "changed": res.changed})


@bp.post("/hosts/<host_id:uuid>/follow")
@requires("host.follow")
@api()
async def follow(request: Request, host_id: UUID) -> HTTPResponse:
    return await _follow(request, host_id, True)


@bp.post("/hosts/<host_id:uuid>/unfollow")
@requires("host.follow")
@api()
async def unfollow(request: Request, host_id: UUID) -> HTTPResponse:
    return await _follow(request, host_id, False)


@bp.post("/hosts/<host_id:uuid>/reviews")
@requires("host.review")
@api(body=ReviewBody, status=201)
async def review(request: Request, host_id: UUID, body: ReviewBody) -> HTTPResponse:
    c = _c(request)
    assert c.hosts is not None
    res = await c.hosts.review(
        actor_of(request), host_id, stream_id=body.stream_id, rating=body.rating, comment=body.comment
    )
    return _reply(res, 201, rating=body.rating)
