"""``GET /hosts/:host_id/streams``: one host's shows, newest first, with cursor paging (issue 15, the studio's
"my shows").

``:host_id`` is the host's profile id, as in every ``/hosts/:id`` route. The host themselves and admins see every
show (private, scheduled, cancelled); anyone else sees the public ones of a verified host (an unverified one is
``404 host_not_found``, as ``GET /hosts/:id``). Read from the read model (``live_streams``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from domain.errors import DomainError
from interfaces.http import presenters
from interfaces.http.auth import refusal
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.schemas import Body, StreamStatus
from interfaces.http.streams import _current_viewers, _with_host, optional_actor
from projections import host_queries as hq
from projections import stream_queries as q
from projections.host_stream_queries import BadCursor, decode_cursor, encode_cursor, host_streams

bp = Blueprint("host_streams", url_prefix="/api/v1/live-commerce")


class HostStreamsQuery(Body):
    status: StreamStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, Field(min_length=1, max_length=200)] | None = None


@bp.get("/hosts/<host_id:uuid>/streams")
@api(query=HostStreamsQuery, errors=(401, 404, 422))
async def list_host_streams(request: Request, host_id: UUID, query: HostStreamsQuery) -> HTTPResponse:
    """One host's shows, newest first (``cursor`` from ``next_cursor``); private ones for the host and admins."""
    try:
        after = decode_cursor(query.cursor) if query.cursor is not None else None
    except BadCursor:
        return error_response(422, "invalid_cursor", {"cursor": query.cursor})
    try:
        actor = optional_actor(request)
    except DomainError as exc:
        return refusal(exc)
    c = _c(request)
    assert c.read_db is not None
    hid = str(host_id)
    host = await hq.host_by_id(c.read_db, hid)
    own = host is not None and actor is not None and (actor.is_admin or actor.user_id == str(host["user_id"]))
    if host is None or not (own or host["verification_status"] == "verified"):
        return error_response(404, "host_not_found", {"host_id": hid})
    rows, more = await host_streams(
        c.read_db,
        host_user_id=str(host["user_id"]),
        status=query.status,
        limit=query.limit,
        after=after,
        public_only=not own,
    )
    ids = [str(r["id"]) for r in rows]
    products = await q.products_of(c.read_db, ids)
    viewers = await _current_viewers(c, ids)
    profiles = {str(host["user_id"]): host}

    def shape(r: dict[str, Any]) -> dict[str, Any]:
        sid = str(r["id"])
        out = _with_host(presenters.stream_summary(r, products.get(sid, []), viewers.get(sid, 0)), r, profiles)
        out["is_public"] = bool(r["is_public"])
        out["created_at"] = presenters.iso(r["created_at"])
        out["ended_at"] = presenters.iso(r["end_time"])
        return out

    return json(
        {
            "host_id": hid,
            "streams": [shape(r) for r in rows],
            "limit": query.limit,
            "next_cursor": encode_cursor(rows[-1]) if more else None,
        }
    )
