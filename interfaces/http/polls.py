"""Live polls (spec §6.2, issue 14): open, vote, close, read.

Reads come from the event store (``PollService.get``): a vote's answer and the next GET agree, with no read
model to wait for; the list of a show's polls is the ``polls`` projection's ``STREAM_POLLS`` index.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.polls import OpenPoll
from interfaces.http.auth import actor_of, requires
from interfaces.http.checkout import _buyer
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.schemas import Body
from projections.polls_redis import polls_key

bp = Blueprint("polls", url_prefix="/api/v1/live-commerce")

OptionText = Annotated[str, Field(min_length=1, max_length=120)]


class OptionIn(Body):
    text: OptionText
    text_bn: Annotated[str, Field(max_length=120)] | None = None


class OpenPollBody(Body):
    question: Annotated[str, Field(min_length=1, max_length=300)]
    question_bn: Annotated[str, Field(max_length=300)] | None = None
    options: Annotated[list[OptionIn], Field(min_length=2, max_length=6)]
    duration_seconds: Annotated[int, Field(ge=5, le=24 * 3600)] = 60
    allow_change: bool = False


class VoteBody(Body):
    option_id: Annotated[str, Field(min_length=1, max_length=16)]


@bp.post("/streams/<stream_id:uuid>/polls")
@requires("poll.run")
@api(body=OpenPollBody, status=201)
async def open_poll(request: Request, stream_id: UUID, body: OpenPollBody) -> HTTPResponse:
    c = _c(request)
    view = await c.polls.open(
        OpenPoll(
            stream_id=stream_id,
            question=body.question,
            question_bn=body.question_bn,
            options=[{"text": o.text, "text_bn": o.text_bn} for o in body.options],
            duration_seconds=body.duration_seconds,
            allow_change=body.allow_change,
        ),
        actor_of(request),
    )
    return json(view, status=201)


@bp.post("/polls/<poll_id:uuid>/votes")
@api(body=VoteBody, status=201, signed_in=True)
async def vote(request: Request, poll_id: UUID, body: VoteBody) -> HTTPResponse:
    voter = _buyer(request)
    if isinstance(voter, HTTPResponse):
        return voter
    out: dict[str, Any] = await _c(request).polls.vote(poll_id, voter, body.option_id)
    return json({"ok": True, **out}, status=201 if out["changed"] else 200)


@bp.post("/polls/<poll_id:uuid>/close")
@requires("poll.run")
@api()
async def close(request: Request, poll_id: UUID) -> HTTPResponse:
    return json(await _c(request).polls.close(poll_id, actor_of(request)))


@bp.get("/polls/<poll_id:uuid>")
@api()
async def show(request: Request, poll_id: UUID) -> HTTPResponse:
    return json(await _c(request).polls.get(poll_id))


@bp.get("/streams/<stream_id:uuid>/polls")
@api()
async def of_stream(request: Request, stream_id: UUID) -> HTTPResponse:
    c = _c(request)
    ids = await c.redis.zrange(polls_key(str(stream_id)), 0, 99)
    polls = await c.polls.many([UUID(i) for i in ids])
    return json({"stream_id": str(stream_id), "polls": polls})
