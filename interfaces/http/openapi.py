"""The OpenAPI document and Swagger UI, from the framework (ADR 0029).

sanic-ext builds the document from the app's router (every route, its path parameters typed as the route types
them) and from what each handler declared with ``interfaces.http.contract.api`` (the request body and query
models that validate it, the status it answers, the headers it needs, the errors that can happen) and with
``auth.requires`` (401/403). It is served at ``GET /docs/openapi.json`` (OpenAPI 3.0.3). ``GET /docs`` is Swagger
UI, its files served by the project from the ``swagger-ui-bundle`` package (no CDN).

Only the OpenAPI extension of sanic-ext runs: no CORS, injection, health, logging, templating or automatic
HEAD/OPTIONS routes. The web app's pages, ``/hls`` files and ``/docs`` itself are not part of the API document.
"""

from __future__ import annotations

import inspect
import re
from functools import wraps
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, html, raw
from sanic_ext import Extend
from sanic_ext.extensions.openapi import openapi as oas
from sanic_ext.extensions.openapi.builders import OperationStore
from sanic_ext.extensions.openapi.extension import OpenAPIExtension
from swagger_ui_bundle import swagger_ui_path

from interfaces.http.contract import ALWAYS, declare_error
from interfaces.http.errors import error_response

DOCUMENT = "/docs/openapi.json"

CONFIG: dict[str, Any] = {
    "oas_url_prefix": "/docs",
    "oas_uri_to_json": "/openapi.json",
    "oas_ui_redoc": False,  # both would load their scripts from a CDN: Swagger UI is served below instead
    "oas_ui_swagger": False,
    "oas_autodoc": False,  # it cuts the summary at the docstring's first line break: complete_operations does it
    "cors": False,
    "http_auto_head": False,
    "http_auto_options": False,
    "http_all_methods": False,
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Live Commerce API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "__DOCUMENT__", dom_id: "#swagger-ui", deepLinking: true,
                                 presets: [SwaggerUIBundle.presets.apis]});
  </script>
</body>
</html>
""".replace("__DOCUMENT__", DOCUMENT)

bp = Blueprint("docs", url_prefix="/docs")
# The three files the page loads, by name (no path from the request ever reaches the file system).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_assets: dict[str, bytes] = {}


@bp.get("/assets/<name:str>")
async def asset(request: Request, name: str) -> HTTPResponse:
    """Swagger UI's files from the ``swagger-ui-bundle`` package, cached a day."""
    if name not in ASSETS:
        return error_response(404, "route_not_found")
    if name not in _assets:
        _assets[name] = (swagger_ui_path / name).read_bytes()
    return raw(_assets[name], content_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})


@bp.get("")
async def swagger_ui(request: Request) -> HTTPResponse:
    """Swagger UI over ``/docs/openapi.json``."""
    return html(PAGE)


class OpenAPIOnly(OpenAPIExtension):
    """sanic-ext's OpenAPI extension; its start-up line names our Swagger UI (its own UIs are off)."""

    name = "openapidocs"

    def label(self) -> str:
        return "/docs"


def once(handler: Any) -> Any:
    """The document is fixed once the server has started: serialised by sanic-ext at the first request, then
    the same bytes (per process)."""
    kept: list[bytes] = []

    @wraps(handler)
    async def document(request: Request) -> HTTPResponse:
        if not kept:
            kept.append((await handler(request)).body)
        return raw(kept[0], content_type="application/json")

    return document


def install(app: Sanic, *, exclude: list[Blueprint] = ()) -> None:  # type: ignore[assignment]
    """Only sanic-ext's OpenAPI extension; the document describes the API, not the web app's pages."""
    app.config.API_TITLE = "Live Commerce Service"
    app.config.API_VERSION = "1.0.0"
    app.config.API_DESCRIPTION = (
        "Errors answer `{error: {code, message, message_bn, details}}`; codes are stable "
        "(docs/api.md). Write commands answer the aggregate's `version`; GETs take "
        "`min_version` to read their own write."
    )
    Extend(app, built_in_extensions=False, extensions=[OpenAPIOnly], config=dict(CONFIG))
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    for route in app.router.routes:  # sanic-ext serialises the whole document per request (~0.2 s of CPU)
        if route.path == DOCUMENT.lstrip("/"):
            route.handler = once(route.handler)
    for blueprint in exclude:
        oas.exclude(bp=blueprint)
    for route in app.router.routes:
        if route.path.startswith(("socket.io", "hls")):
            oas.exclude()(route.handler)
    app.blueprint(bp)

    @app.before_server_start(priority=-999)  # before sanic-ext builds the document (-1000)
    def complete(app: Sanic) -> None:
        complete_operations(app)


def complete_operations(app: Sanic) -> None:
    """What every route shares, from the route itself: a malformed id in its path (400), an id nobody has
    (404: in the path, or named by a command's body), a refusal of the domain to a command (409; 403 when the
    signed-in actor may not), the query-string rule (422) and the rate limits (429)."""
    store = OperationStore()
    for route in app.router.routes:
        if route.path.startswith(("socket.io", "hls", "docs")) or route.handler not in store:
            continue
        operation = store[route.handler]
        if operation._exclude:
            continue
        doc = inspect.getdoc(getattr(route.handler, "__wrapped__", route.handler)) or ""
        if doc and not getattr(operation, "summary", None):
            text = " ".join(doc.split())
            first = re.split(r"(?<=[.:;])\s", text, maxsplit=1)[0]
            operation.describe(summary=first[:160], description=text if text != first else None)
        if not any(str(code).startswith("2") for code in operation.responses):  # a route without @api(...)
            operation.response(200, {"application/json": {"schema": {}}}, "OK")
        codes = set(ALWAYS)
        if "<" in route.path:
            codes.add(404)
        if set(route.methods) - {"GET", "HEAD", "OPTIONS"}:
            codes |= {404, 409}  # a command names other things (a host, a product) that may not exist
            if operation.security:
                codes.add(403)
        for code in sorted(codes - set(operation.responses)):
            declare_error(route.handler, code)
