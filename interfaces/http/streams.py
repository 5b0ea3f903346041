"""Stream management endpoints (spec §4.1). Commands go to the StreamService; queries read projections only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.streams import ProductTerms, ScheduleStream
from infra.bootstrap import Container
from interfaces.http import presenters
from interfaces.http.errors import error_response
from interfaces.http.schemas import (
    CancelStreamBody,
    CreateStreamBody,
    EndStreamBody,
    FeatureProductBody,
    ListStreamsQuery,
    StreamProductIn,
    StreamQuery,
)
from projections import stream_queries as q
from projections.stream_status_redis import TRENDING, status_key

bp = Blueprint("streams", url_prefix="/api/v1/live-commerce")


def _c(request: Request) -> Container:
    return request.app.ctx.container  # type: ignore[no-any-return]


def _body(request: Request) -> Any:
    return request.json if request.body else {}


def _query(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in request.args.items()}


def _terms(p: StreamProductIn) -> ProductTerms:
    return ProductTerms(str(p.product_id), p.special_price, p.limited_quantity, p.discount_percentage,
                        p.display_order, p.presentation_notes)


@bp.post("/streams")
async def create_stream(request: Request) -> HTTPResponse:
    body = CreateStreamBody.model_validate(_body(request))
    c = _c(request)
    cmd = ScheduleStream(
        vendor_id=str(body.vendor_id or c.settings.default_vendor_id),
        host_id=str(body.host_id) if body.host_id else None,
        **body.model_dump(include={"title", "title_bn", "description", "description_bn", "stream_type",
                                   "category", "scheduled_start_time", "is_public", "language", "max_viewers",
                                   "is_recorded", "tags", "thumbnail_url", "cover_image_url",
                                   "stream_settings"}),
        products=[_terms(p) for p in body.products],
    )
    assert c.streams is not None
    res = await c.streams.schedule(cmd)
    return json({"id": str(res.id), "version": res.version, "status": "scheduled"}, status=201)


@bp.get("/streams")
async def list_streams(request: Request) -> HTTPResponse:
    query = ListStreamsQuery.model_validate(_query(request))
    c = _c(request)
    assert c.read_db is not None
    rows, total = await q.list_streams(c.read_db, status=query.status, category=query.category,
                                       page=query.page, limit=query.limit)
    trending_ids = await c.redis.zrevrange(TRENDING, 0, c.settings.trending_limit - 1)
    trending = await q.streams_by_ids(c.read_db, trending_ids)
    featured = await q.featured_streams(c.read_db, c.settings.featured_limit)
    all_ids = list({str(r["id"]) for r in rows + trending + featured})
    products = await q.products_of(c.read_db, all_ids)

    def shape(r: dict[str, Any]) -> dict[str, Any]:
        return presenters.stream_summary(r, products.get(str(r["id"]), []))

    return json({
        "streams": [shape(r) for r in rows],
        "total_count": total,
        "page": query.page,
        "limit": query.limit,
        "trending_streams": [shape(r) for r in trending],
        "featured_streams": [shape(r) for r in featured],
    })


@bp.get("/streams/<stream_id:uuid>")
async def get_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    query = StreamQuery.model_validate(_query(request))
    c = _c(request)
    assert c.read_db is not None and c.versions is not None
    sid = str(stream_id)
    row = await _row_at_least(c, sid, query.min_version)
    if row is None:
        return error_response(404, "stream_not_found", {"stream_id": sid})
    if query.min_version is not None and row["aggregate_version"] < query.min_version:
        return error_response(409, "read_model_behind", {"min_version": query.min_version,
                                                         "version": row["aggregate_version"]})
    products = row.pop("products")
    async with c.redis.pipeline(transaction=False) as pipe:
        status, metrics = await pipe.hgetall(status_key(sid)).hgetall(f"STREAM_METRICS:{sid}").execute()
    return json(presenters.stream_detail(row, products, status, metrics))


async def _row_at_least(c: Container, sid: str, version: int | None) -> dict[str, Any] | None:
    """Read-your-writes: the row, waiting briefly (woken by the projection's NOTIFY) for ``version``."""
    assert c.read_db is not None and c.versions is not None
    if version is None:
        return await q.get_stream(c.read_db, sid)
    fut = c.versions.register(sid, version)
    row = await q.get_stream(c.read_db, sid)
    if row is not None and row["aggregate_version"] >= version:
        c.versions.unregister(sid, fut)
        return row
    newer = await c.versions.wait_registered(sid, fut, c.settings.read_your_writes_timeout_s)
    return newer if newer is not None else row


@bp.post("/streams/<stream_id:uuid>/start")
async def start_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.start(stream_id)
    return json({"stream_key": res.stream_key, "rtmp_url": res.rtmp_url, "stream_url": res.stream_url,
                 "chat_room_id": res.chat_room_id, "id": str(res.id), "version": res.version})


@bp.post("/streams/<stream_id:uuid>/end")
async def end_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    body = EndStreamBody.model_validate(_body(request))
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.end(stream_id, summary=body.summary,
                              auto_generate_highlights=body.auto_generate_highlights)
    return json({"id": str(res.id), "version": res.version, "status": "ended"})


@bp.post("/streams/<stream_id:uuid>/cancel")
async def cancel_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    body = CancelStreamBody.model_validate(_body(request))
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.cancel(stream_id, reason=body.reason)
    return json({"id": str(res.id), "version": res.version, "status": "cancelled"})


@bp.post("/streams/<stream_id:uuid>/products")
async def add_product(request: Request, stream_id: UUID) -> HTTPResponse:
    body = StreamProductIn.model_validate(_body(request))
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.add_product(stream_id, _terms(body))
    return json({"id": str(res.id), "version": res.version}, status=201)


@bp.post("/streams/<stream_id:uuid>/feature")
async def feature_product(request: Request, stream_id: UUID) -> HTTPResponse:
    body = FeatureProductBody.model_validate(_body(request))
    c = _c(request)
    assert c.streams is not None
    res = await c.streams.feature_product(stream_id, str(body.product_id))
    return json({"id": str(res.id), "version": res.version, "featured_product_id": str(body.product_id)})
