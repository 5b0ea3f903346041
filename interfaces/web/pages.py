"""Routes of the web app: its pages, its static files and development sign-in (ADR 0026).

``GET /`` (live and upcoming shows), ``GET /watch/:stream_id`` (one show), ``GET /signin``, and every file
under ``static/`` at ``/static/…``. ``page(request, "viewer/home.html")`` answers with one HTML shell; other
blueprints of the web app (the studio, the admin console) use it for their own pages.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import Field
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from infra.tokens import issue_token
from interfaces.http.errors import container, error_response
from interfaces.http.schemas import Body
from interfaces.web.assets import Assets
from interfaces.web.initial_state import watch_page

bp = Blueprint("web")

DEV_TOKEN_TTL_S = 12 * 3600
Role = Literal["viewer", "host", "vendor", "moderator", "admin"]


def assets(request: Request) -> Assets:
    return request.app.ctx.web_assets  # type: ignore[no-any-return]


@bp.before_server_start
async def load_assets(app: Sanic) -> None:
    app.ctx.web_assets = Assets()


def page(request: Request, name: str) -> HTTPResponse:
    """One of the app's HTML shells (``static/<name>``)."""
    response = assets(request).response(request, name)
    if response is None:
        return error_response(404, "route_not_found", {"path": request.path})
    return response


@bp.get("/")
async def home(request: Request) -> HTTPResponse:
    return page(request, "viewer/home.html")


@bp.get("/watch/<stream_id:uuid>")
async def watch(request: Request, stream_id: uuid.UUID) -> HTTPResponse:
    """The watch page with the show's opening data inside (``initial_state``): no round trip for it on 3G."""
    from interfaces.http.catalog import get_product
    from interfaces.http.flash_sales import deals
    from interfaces.http.streams import get_stream

    response = await watch_page(request, assets(request), stream_id, get_stream, deals, get_product)
    return response if response is not None else page(request, "viewer/watch.html")


@bp.get("/signin")
async def signin(request: Request) -> HTTPResponse:
    return page(request, "signin/signin.html")


@bp.get("/static/<path:path>")
async def static_file(request: Request, path: str) -> HTTPResponse:
    response = assets(request).response(request, path)
    if response is None:
        return error_response(404, "not_found", {"path": request.path})
    return response


def dev_sign_in_allowed(request: Request) -> bool:
    """Dev tokens only where the deployment runs on the development secret on purpose (the dev stack sets
    ``allow_dev_jwt_secret``; production settings never do) and signs with a shared secret we hold."""
    settings = container(request).settings
    return bool(settings.allow_dev_jwt_secret) and settings.jwt_algorithm.startswith("HS")


@bp.get("/signin/options")
async def signin_options(request: Request) -> HTTPResponse:
    return json({"dev_tokens": dev_sign_in_allowed(request)}, headers={"Cache-Control": "no-store"})


class DevTokenBody(Body):
    role: Role = "viewer"
    user_id: uuid.UUID | None = None
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    vendor_id: uuid.UUID | None = None


@bp.post("/signin/dev-token")
async def dev_token(request: Request) -> HTTPResponse:
    if not dev_sign_in_allowed(request):
        return error_response(403, "dev_sign_in_disabled")
    body = DevTokenBody.model_validate(request.json if request.body else {})
    user_id = str(body.user_id or uuid.uuid4())
    roles = ["viewer"] if body.role == "viewer" else ["viewer", body.role]
    vendor = str(body.vendor_id) if body.vendor_id else None
    token = issue_token(
        container(request).settings, user_id, roles, name=body.name, ttl=DEV_TOKEN_TTL_S, vendor_id=vendor
    )
    return json(
        {
            "token": token,
            "user_id": user_id,
            "roles": roles,
            "name": body.name,
            "vendor_id": vendor,
            "expires_at": int(time.time()) + DEV_TOKEN_TTL_S,
        },
        status=201,
        headers={"Cache-Control": "no-store"},
    )
