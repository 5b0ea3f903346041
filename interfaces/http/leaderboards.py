"""Leaderboards (issue 14 part 5): a show's top gifters, quiz scorers and buyers; a host's top fans (all time or
this calendar month, Dhaka time); the week's top gifters across all shows. Read from the ``leaderboards``
projection's Redis sorted sets (``projections.leaderboards_redis``); names are display names."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.bootstrap import utc_now
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.errors import error_response
from interfaces.http.schemas import Body
from projections import leaderboards_redis as lb
from projections.leaderboard_queries import read_boards

bp = Blueprint("leaderboards", url_prefix="/api/v1/live-commerce")


class BoardQuery(Body):
    board: str = "gifts"
    limit: Annotated[int, Field(ge=1, le=100)] = 10


class HostBoardQuery(Body):
    period: Literal["all", "month"] = "all"
    limit: Annotated[int, Field(ge=1, le=100)] = 10


class WeeklyQuery(Body):
    limit: Annotated[int, Field(ge=1, le=100)] = 10


def _now(request: Request) -> datetime:
    return utc_now()  # the test clock's offset included, as every process's


@bp.get("/streams/<stream_id:uuid>/leaderboard")
@api(query=BoardQuery)
async def show_board(request: Request, stream_id: UUID, query: BoardQuery) -> HTTPResponse:
    if query.board not in lb.BOARDS:
        return error_response(422, "invalid_leaderboard", {"board": query.board[:40], "boards": list(lb.BOARDS)})
    sid = str(stream_id)
    [entries] = await read_boards(
        _c(request).redis, [(lb.show_key(sid, query.board), query.board == "buyers")], query.limit
    )
    return json({"stream_id": sid, "board": query.board, "entries": entries})


@bp.get("/hosts/<host_id:uuid>/leaderboard")
@api(query=HostBoardQuery)
async def host_board(request: Request, host_id: UUID, query: HostBoardQuery) -> HTTPResponse:
    period = "all" if query.period == "all" else f"month:{lb.month_of(_now(request))}"
    [entries] = await read_boards(_c(request).redis, [(lb.host_key(str(host_id), period), False)], query.limit)
    out = {"host_id": str(host_id), "board": "fans", "period": query.period, "entries": entries}
    if query.period == "month":
        out["month"] = lb.month_of(_now(request))
    return json(out)


@bp.get("/leaderboards/weekly")
@api(query=WeeklyQuery)
async def weekly_board(request: Request, query: WeeklyQuery) -> HTTPResponse:
    week = lb.week_of(_now(request))
    [entries] = await read_boards(_c(request).redis, [(lb.weekly_key(week), False)], query.limit)
    return json({"board": "weekly", "week": week, "entries": entries})
