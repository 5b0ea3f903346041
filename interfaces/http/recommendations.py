"""Recommendations (issue 17, parts 2 and 3; ADR 0024): products for a viewer in a show, shows for a viewer.

``GET /streams/:id/recommendations`` (signed in): the show's products in the order this viewer is likeliest
to want them, products from the catalogue for them, and what buyers of the show's products also bought.
``GET /streams/recommended``: live and upcoming public shows for the signed-in viewer, each with its score and
the reasons that carried it; without a token, or for a viewer with no history, the trending order.
Both read the ``recommendations`` read model only (``projections.recommendation_queries``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from domain.errors import DomainError
from infra.bootstrap import utc_now
from interfaces.http import presenters
from interfaces.http.auth import actor_of, refusal, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.schemas import Body
from interfaces.http.streams import _current_viewers, _with_host, optional_actor, visible_stream
from projections import host_queries as hq
from projections import recommendation_queries as rq
from projections import stream_queries as q

bp = Blueprint("recommendations", url_prefix="/api/v1/live-commerce")


class RecommendationsQuery(Body):
    limit: Annotated[int, Field(ge=1, le=50)] = rq.K


@bp.get("/streams/<stream_id:uuid>/recommendations")
@requires("recommendations.read")
@api(query=RecommendationsQuery, errors=(401,))
async def product_recommendations(request: Request, stream_id: UUID, query: RecommendationsQuery) -> HTTPResponse:
    c = _c(request)
    sid = str(stream_id)
    rows = await q.streams_by_ids(c.read_db, [sid])
    _, refused = await visible_stream(c, request, rows[0] if rows else None, sid)
    if refused is not None:
        return refused
    user = actor_of(request).user_id
    answer = await rq.product_recommendations(c.read_db, sid, user, query.limit)
    return json({**answer, "viewer_id": user})


@bp.get("/streams/recommended")
@api(query=RecommendationsQuery, errors=(401,))
async def recommended_streams(request: Request, query: RecommendationsQuery) -> HTTPResponse:
    c = _c(request)
    try:
        actor = optional_actor(request)
    except DomainError as exc:
        return refusal(exc)
    picks, cold = await rq.stream_recommendations(c.read_db, actor.user_id if actor else None, utc_now(), query.limit)
    ids = [p.stream_id for p in picks]
    rows = {str(r["id"]): r for r in await q.streams_by_ids(c.read_db, ids, public_only=True)}
    products = await q.products_of(c.read_db, list(rows))
    viewers = await _current_viewers(c, list(rows))
    hosts = await hq.hosts_by_user(c.read_db, list({str(r["host_id"]) for r in rows.values() if r["host_id"]}))
    out: list[dict[str, Any]] = []
    for p in picks:
        r = rows.get(p.stream_id)
        if r is None:  # the listing's read model is behind this one for a moment
            continue
        shaped = _with_host(
            presenters.stream_summary(r, products.get(p.stream_id, []), viewers.get(p.stream_id, 0)), r, hosts
        )
        out.append({**shaped, "score": p.score, "reasons": p.reasons})
    return json({"streams": out, "cold_start": cold, "viewer_id": actor.user_id if actor else None})
