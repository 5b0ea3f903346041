"""Pages of the host studio (``GET /studio``) and the admin console (``GET /admin``), issue 15 parts 2 and 3.

Both are static shells from ``static/studio/`` and ``static/admin/`` served by the web app's ``page()``
(ADR 0026); what they show comes from the documented HTTP API and the ``/live-stream`` Socket.IO namespace,
called from the browser with the user's bearer token, so the server needs no page logic of its own (ADR 0027).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from interfaces.web.pages import page

bp = Blueprint("web_studio")


@bp.get("/studio")
async def studio(request: Request) -> HTTPResponse:
    """The host studio: profile, shows, the live control room, the dashboard"""
    return page(request, "studio/index.html")


@bp.get("/admin")
async def admin(request: Request) -> HTTPResponse:
    """The admin console: host applications, featured shows, refunds, every live show's health"""
    return page(request, "admin/index.html")
