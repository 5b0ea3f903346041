"""The engagement optimizer's advice to a show's host (ADR 0025): GET /streams/:id/suggestions.

For the show's host, its vendor, its assigned moderators and admins (the same people whose sockets receive
``engagement_suggestion``); anyone else signed in gets 403. Newest first; each with the figures behind it.
"""

from __future__ import annotations

from uuid import UUID

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.access import is_show_owner
from interfaces.http.auth import actor_of, requires
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from projections.engagement_queries import suggestions
from projections.stream_moderators_pg import moderators_of

bp = Blueprint("engagement", url_prefix="/api/v1/live-commerce")


@bp.get("/streams/<stream_id:uuid>/suggestions")
@requires("analytics.read")
@api(errors=(403, 404))
async def show_suggestions(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    sid, actor = str(stream_id), actor_of(request)
    row = await c.read_db.fetchone(
        "SELECT host_id::text AS host_id, vendor_id::text AS vendor_id FROM live_streams WHERE id = %s", (sid,)
    )
    if row is None:
        return error_response(404, "stream_not_found", {"stream_id": sid})
    staff = is_show_owner(actor, host_id=row["host_id"], vendor_id=row["vendor_id"]) or actor.user_id in {
        str(m["moderator_id"]) for m in await moderators_of(c.read_db, sid)
    }
    if not staff:
        return error_response(
            403,
            "not_permitted",
            {
                "reason": "a show's suggestions are for its host, vendor, moderators and admins",
                "action": "engagement.read",
            },
        )
    found = await suggestions(c.read_db, sid)
    return json({"stream_id": sid, "suggestions": found, "count": len(found)})
