"""Stream management endpoints (spec §4.1). Commands go to the StreamService; queries read projections only.

Every write needs a bearer token (``interfaces.http.auth``): hosts and vendors act on their own streams,
assigned moderators may feature products and end the show, admins on any; only admins feature a show among all
shows. Reads are open, except a private show (``is_public: false``), which only its invited see (host, vendor,
assigned moderators, admins: ``application.access.may_view_stream``), and revenue, which only the show's host,
vendor and admins see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.access import Actor, check_show_staff, may_view_stream, sees_revenue, stream_owners
from application.streams import ProductTerms, ScheduleStream
from domain.errors import DomainError
from infra.bootstrap import Container
from infra.version_waiter import STREAMS
from interfaces.http import presenters
from interfaces.http.auth import actor_of, authenticate, refusal, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.schemas import (
    Body,
    CancelStreamBody,
    CreateStreamBody,
    EndStreamBody,
    FeatureProductBody,
    ListStreamsQuery,
    StreamProductIn,
    StreamQuery,
)
from projections import host_queries as hq
from projections import stream_queries as q
from projections.analytics_queries import Figures, show_figures
from projections.stream_metrics_redis import metrics_key
from projections.stream_moderators_pg import moderators_of
from projections.stream_status_redis import TRENDING

bp = Blueprint("streams", url_prefix="/api/v1/live-commerce")


def _terms(p: StreamProductIn) -> ProductTerms:
    return ProductTerms(
        str(p.product_id),
        p.special_price,
        p.limited_quantity,
        p.discount_percentage,
        p.display_order,
        p.presentation_notes,
    )


class AssignModeratorBody(Body):
    moderator_id: UUID
    permissions: Annotated[list[str], Field(min_length=1, max_length=3)] | None = None


@bp.post("/streams")
@requires("stream.create")
@api(body=CreateStreamBody, status=201)
async def create_stream(request: Request, body: CreateStreamBody) -> HTTPResponse:
    """A host's stream is theirs (vendor from the token's vendor claim); a vendor's has no host; only an admin
    may name ``vendor_id`` / ``host_id`` in the body."""
    c = _c(request)
    vendor_id, host_id = stream_owners(
        actor_of(request),
        vendor_id=str(body.vendor_id) if body.vendor_id else None,
        host_id=str(body.host_id) if body.host_id else None,
        default_vendor_id=c.settings.default_vendor_id,
    )
    cmd = ScheduleStream(
        vendor_id=vendor_id,
        host_id=host_id,
        **body.model_dump(
            include={
                "title",
                "title_bn",
                "description",
                "description_bn",
                "stream_type",
                "category",
                "scheduled_start_time",
                "is_public",
                "language",
                "max_viewers",
                "is_recorded",
                "tags",
                "thumbnail_url",
                "cover_image_url",
                "stream_settings",
            }
        ),
        products=[_terms(p) for p in body.products],
    )
    assert c.streams is not None
    res = await c.streams.schedule(cmd)
    return json({"id": str(res.id), "version": res.version, "status": "scheduled"}, status=201)


@bp.get("/streams")
@api(query=ListStreamsQuery)
async def list_streams(request: Request, query: ListStreamsQuery) -> HTTPResponse:
    """Public shows only, in ``streams``, ``trending_streams`` and ``featured_streams``; ``current_viewers``
    from presence (Redis ``STREAM_METRICS``)."""
    c = _c(request)
    assert c.read_db is not None
    rows, total = await q.list_streams(
        c.read_db, status=query.status, category=query.category, page=query.page, limit=query.limit
    )
    trending = await _trending(c)
    featured = await q.featured_streams(c.read_db, c.settings.featured_limit)
    all_ids = list({str(r["id"]) for r in rows + trending + featured})
    products = await q.products_of(c.read_db, all_ids)
    viewers = await _current_viewers(c, all_ids)

    hosts = await hq.hosts_by_user(
        c.read_db, list({str(r["host_id"]) for r in rows + trending + featured if r["host_id"]})
    )

    def shape(r: dict[str, Any]) -> dict[str, Any]:
        sid = str(r["id"])
        return _with_host(presenters.stream_summary(r, products.get(sid, []), viewers.get(sid, 0)), r, hosts)

    return json(
        {
            "streams": [shape(r) for r in rows],
            "total_count": total,
            "page": query.page,
            "limit": query.limit,
            "trending_streams": [shape(r) for r in trending],
            "featured_streams": [shape(r) for r in featured],
        }
    )


async def _trending(c: Container) -> list[dict[str, Any]]:
    """The top of ``TRENDING_STREAMS``, private shows left out (they are in the set, never shown)."""
    assert c.read_db is not None
    limit, out, start = c.settings.trending_limit, [], 0
    while len(out) < limit and start < 10 * limit:
        ids = await c.redis.zrevrange(TRENDING, start, start + 2 * limit - 1)
        if not ids:
            break
        out += await q.streams_by_ids(c.read_db, ids, public_only=True)
        start += 2 * limit
    return out[:limit]


async def _current_viewers(c: Container, stream_ids: list[str]) -> dict[str, int]:
    if not stream_ids:
        return {}
    async with c.redis.pipeline(transaction=False) as pipe:
        for sid in stream_ids:
            pipe.hget(metrics_key(sid), "current_viewers")
        counts = await pipe.execute()
    return {sid: int(n or 0) for sid, n in zip(stream_ids, counts, strict=True)}


def optional_actor(request: Request) -> Actor | None:
    """The signed-in caller of an open read, or None without a token (a bad token is refused: 401)."""
    if not request.headers.get("authorization"):
        return None
    return authenticate(request)


async def visible_stream(
    c: Container, request: Request, row: dict[str, Any] | None, sid: str
) -> tuple[Actor | None, HTTPResponse | None]:
    """(caller, refusal): a private show is ``404 stream_not_found`` for anyone not invited, so its
    existence is not given away."""
    try:
        actor = optional_actor(request)
    except DomainError as exc:
        return None, refusal(exc)
    if row is None:
        return actor, error_response(404, "stream_not_found", {"stream_id": sid})
    if row["is_public"]:
        return actor, None
    mods = [m["moderator_id"] for m in await moderators_of(c.read_db, sid)] if actor is not None else []
    if may_view_stream(actor, is_public=False, host_id=row["host_id"], vendor_id=row["vendor_id"], moderator_ids=mods):
        return actor, None
    return actor, error_response(404, "stream_not_found", {"stream_id": sid})


@bp.get("/streams/<stream_id:uuid>")
@api(query=StreamQuery, errors=(401, 409))
async def get_stream(request: Request, stream_id: UUID, query: StreamQuery) -> HTTPResponse:
    c = _c(request)
    assert c.read_db is not None and c.versions is not None
    sid = str(stream_id)
    row = await _row_at_least(c, sid, query.min_version)
    actor, refused = await visible_stream(c, request, row, sid)
    if refused is not None:
        return refused
    assert row is not None
    if query.min_version is not None and row["aggregate_version"] < query.min_version:
        return error_response(
            409, "read_model_behind", {"min_version": query.min_version, "version": row["aggregate_version"]}
        )
    products = row.pop("products")
    profile = row.pop("host_profile", None)
    metrics = await c.redis.hgetall(metrics_key(sid))
    figures = await _figures(request, sid)
    sales = presenters.sales_stats(
        figures.as_dict(), with_revenue=sees_revenue(actor, host_id=row["host_id"], vendor_id=row["vendor_id"])
    )
    hosts = {str(row["host_id"]): profile} if profile and row["host_id"] else {}
    return json(_with_host(presenters.stream_detail(row, products, metrics, sales), row, hosts))


class ShortLived:
    """A show's sales figures kept for ``ttl`` seconds in this process, one query for all who ask meanwhile: a
    big show's page polled by thousands costs the database a few queries a second (the figures' query grows
    with the show's audience, ADR 0015), and what they show is at most ``ttl`` behind the orders."""

    def __init__(self, ttl: float = 0.25, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._items: dict[str, tuple[float, asyncio.Future[Figures]]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Figures]]) -> Figures:
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return await asyncio.shield(hit[1])
        fut: asyncio.Future[Figures] = asyncio.get_running_loop().create_future()
        if len(self._items) >= self.size:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
        self._items[key] = (now + self.ttl, fut)
        try:
            fut.set_result(await load())
        except BaseException as exc:
            self._items.pop(key, None)
            fut.set_exception(exc)
            fut.exception()  # retrieved: only the waiters (if any) raise it
            raise
        return fut.result()


async def _figures(request: Request, sid: str) -> Figures:
    c = _c(request)
    cache = getattr(request.app.ctx, "show_figures", None)
    if cache is None:
        cache = request.app.ctx.show_figures = ShortLived()

    async def load() -> Figures:
        return (await show_figures(c.read_db, [sid])).get(sid, Figures())

    return await cache.get(sid, load)  # type: ignore[no-any-return]


def _with_host(shaped: dict[str, Any], row: dict[str, Any], hosts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The spec's ``host: {name, profile_image_url}`` from the host's profile, with the ids that own the
    stream (``host_id`` is the host's user id; ``vendor_id`` the vendor it sells for)."""
    profile = hosts.get(str(row["host_id"])) if row["host_id"] else None
    shaped["host"] = {
        **shaped["host"],
        "host_id": str(row["host_id"]) if row["host_id"] else None,
        "vendor_id": str(row["vendor_id"]),
        "profile_id": str(profile["id"]) if profile else None,
        "name": profile["host_name"] if profile else shaped["host"].get("name"),
        "profile_image_url": profile["profile_image_url"] if profile else None,
        "rating": float(profile["rating"] or 0) if profile else None,
    }
    return shaped


async def _row_at_least(c: Container, sid: str, version: int | None) -> dict[str, Any] | None:
    """Read-your-writes: the row, waiting briefly (woken by the projection's NOTIFY) for ``version``."""
    assert c.read_db is not None and c.versions is not None
    return await c.versions.at_least(
        STREAMS, sid, version, lambda: q.get_stream(c.read_db, sid), c.settings.read_your_writes_timeout_s
    )


@bp.post("/streams/<stream_id:uuid>/start")
@requires("stream.start")
@api()
async def start_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.start(stream_id, actor=actor_of(request))
    return json(
        {
            "stream_key": res.stream_key,
            "rtmp_url": res.rtmp_url,
            "stream_url": res.stream_url,
            "chat_room_id": res.chat_room_id,
            "id": str(res.id),
            "version": res.version,
        }
    )


@bp.post("/streams/<stream_id:uuid>/end")
@requires("stream.end")
@api(body=EndStreamBody)
async def end_stream(request: Request, stream_id: UUID, body: EndStreamBody) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.end(
        stream_id, summary=body.summary, auto_generate_highlights=body.auto_generate_highlights, actor=actor_of(request)
    )
    return json({"id": str(res.id), "version": res.version, "status": "ended"})


@bp.post("/streams/<stream_id:uuid>/cancel")
@requires("stream.cancel")
@api(body=CancelStreamBody)
async def cancel_stream(request: Request, stream_id: UUID, body: CancelStreamBody) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.cancel(stream_id, reason=body.reason, actor=actor_of(request))
    return json({"id": str(res.id), "version": res.version, "status": "cancelled"})


@bp.post("/streams/<stream_id:uuid>/products")
@requires("stream.add_product")
@api(body=StreamProductIn, status=201)
async def add_product(request: Request, stream_id: UUID, body: StreamProductIn) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.add_product(stream_id, _terms(body), actor=actor_of(request))
    return json({"id": str(res.id), "version": res.version}, status=201)


@bp.post("/streams/<stream_id:uuid>/feature")
@requires("stream.feature")
@api(body=FeatureProductBody)
async def feature(request: Request, stream_id: UUID, body: FeatureProductBody) -> HTTPResponse:
    """``{product_id}``: feature a product in the live show (host, vendor, moderators with
    ``feature_products``, admins). No body: feature the show among all shows (admins; ``featured_streams``)."""
    c = _c(request)
    assert c.streams is not None
    if body.product_id is None:
        res = await c.streams.set_featured(stream_id, True, actor=actor_of(request))
        return json({"id": str(res.id), "version": res.version, "is_featured": True})
    res = await c.streams.feature_product(stream_id, str(body.product_id), actor=actor_of(request))
    return json({"id": str(res.id), "version": res.version, "featured_product_id": str(body.product_id)})


@bp.delete("/streams/<stream_id:uuid>/feature")
@requires("stream.feature_stream")
@api()
async def unfeature(request: Request, stream_id: UUID) -> HTTPResponse:
    """Take the show off the featured ones (admins)."""
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.set_featured(stream_id, False, actor=actor_of(request))
    return json({"id": str(res.id), "version": res.version, "is_featured": False})


@bp.post("/streams/<stream_id:uuid>/moderators")
@requires("stream.moderators")
@api(body=AssignModeratorBody, status=201)
async def assign_moderator(request: Request, stream_id: UUID, body: AssignModeratorBody) -> HTTPResponse:
    """Assign (or change the permissions of) a moderator: ``moderate_chat``, ``feature_products``,
    ``end_stream``; the default is the first two."""
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.assign_moderator(stream_id, str(body.moderator_id), body.permissions, actor=actor_of(request))
    return json(
        {"stream_id": str(stream_id), "moderator_id": str(body.moderator_id), "version": res.version}, status=201
    )


@bp.delete("/streams/<stream_id:uuid>/moderators/<moderator_id:uuid>")
@requires("stream.moderators")
@api()
async def revoke_moderator(request: Request, stream_id: UUID, moderator_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.revoke_moderator(stream_id, str(moderator_id), actor=actor_of(request))
    return json({"stream_id": str(stream_id), "moderator_id": str(moderator_id), "version": res.version})


@bp.get("/streams/<stream_id:uuid>/moderators")
@api(signed_in=True, errors=(403, 404))
async def list_moderators(request: Request, stream_id: UUID) -> HTTPResponse:
    """The show's moderators, for its staff only (host, vendor, its moderators, admins)."""
    try:
        actor = authenticate(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    assert c.read_db is not None
    stream = await q.get_stream(c.read_db, str(stream_id))
    if stream is None:
        return error_response(404, "stream_not_found", {"stream_id": str(stream_id)})
    rows = await moderators_of(c.read_db, str(stream_id))
    try:
        check_show_staff(
            actor,
            host_id=str(stream["host_id"]) if stream["host_id"] else None,
            vendor_id=str(stream["vendor_id"]) if stream["vendor_id"] else None,
            moderator_ids=[str(r["moderator_id"]) for r in rows],
        )
    except DomainError as exc:
        return refusal(exc)
    return json(
        {
            "stream_id": str(stream_id),
            "moderators": [
                {
                    "moderator_id": r["moderator_id"],
                    "permissions": r["permissions"],
                    "assigned_at": presenters.iso(r["assigned_at"]),
                }
                for r in rows
            ],
        }
    )
