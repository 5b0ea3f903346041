"""``GET /docs/openapi.json``: the OpenAPI 3.1 document, built from the same pydantic models the handlers use."""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

from pydantic import BaseModel
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from interfaces.http import schemas as s

bp = Blueprint("openapi")

P = "/api/v1/live-commerce"
ID = [{"name": "stream_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}]
ROUTES: list[tuple[str, str, str, type[BaseModel] | None, list[dict[str, Any]], dict[str, str]]] = [
    ("post", f"{P}/streams", "Create (schedule) a live stream", s.CreateStreamBody, [],
     {"201": "Created: {id, version, status}", "422": "Invalid fields"}),
    ("get", f"{P}/streams", "List streams with filters, trending and featured", s.ListStreamsQuery, [],
     {"200": "{streams, total_count, trending_streams, featured_streams}"}),
    ("get", f"{P}/streams/{{stream_id}}", "Stream details (min_version waits for your own write)",
     s.StreamQuery, ID, {"200": "Stream details", "404": "Unknown stream"}),
    ("post", f"{P}/streams/{{stream_id}}/start", "Start a scheduled stream", None, ID,
     {"200": "{stream_key, rtmp_url, stream_url, chat_room_id, id, version}", "409": "Broken rule"}),
    ("post", f"{P}/streams/{{stream_id}}/end", "End a live stream", s.EndStreamBody, ID,
     {"200": "{id, version, status}", "409": "Broken rule"}),
    ("post", f"{P}/streams/{{stream_id}}/cancel", "Cancel a scheduled stream", s.CancelStreamBody, ID,
     {"200": "{id, version, status}", "409": "Broken rule"}),
    ("post", f"{P}/streams/{{stream_id}}/products", "Add a product to a stream", s.StreamProductIn, ID,
     {"201": "{id, version}", "409": "Broken rule"}),
    ("post", f"{P}/streams/{{stream_id}}/feature",
     "Feature a product in a live stream ({product_id}), or the stream among all streams (no body; admins)",
     s.FeatureProductBody, ID, {"200": "{id, version, featured_product_id} or {id, version, is_featured}",
                                "403": "Not permitted", "409": "Broken rule"}),
    ("delete", f"{P}/streams/{{stream_id}}/feature", "Take the stream off the featured streams (admins)", None,
     ID, {"200": "{id, version, is_featured: false}", "403": "Not permitted", "404": "Unknown stream"}),
    ("get", "/health", "Dependencies answering, the log flowing?", None, [],
     {"200": "All answer; lags and dead letters under log", "503": "A server not answering, or the log stuck"}),
]

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "message_bn": {"type": "string"},
        "details": {"type": "object"}}}},
}


MIN_VERSION = {"name": "min_version", "in": "query", "required": False,
               "schema": {"type": "integer", "minimum": 0},
               "description": "the version a command answered with: wait for it (409 read_model_behind if not yet)"}
_PARAM = re.compile(r"<(\w+)(?::[^>]+)?>")


def _routes_from_router(app: Sanic, known: set[tuple[str, str]]) -> list[tuple[str, str, str, Any, list[Any]]]:
    """Every other registered route: summary from the handler's docstring, body model from the handler's
    ``SomeBody.model_validate`` call, path parameters from the route."""
    out = []
    for r in app.router.routes:
        path = "/" + _PARAM.sub(r"{\1}", r.path).lstrip("/")
        for method in sorted(m.lower() for m in r.methods if m not in ("HEAD", "OPTIONS")):
            if (method, path) in known or path.startswith(("/hls", "/docs")):
                continue
            handler = r.handler
            doc = (inspect.getdoc(handler) or handler.__name__.replace("_", " ")).splitlines()[0]
            model = None
            source = ""
            try:
                source = inspect.getsource(handler)
                found = re.search(r"(\w+)\.model_validate", source)
                model = getattr(sys.modules[handler.__module__], found.group(1)) if found else None
            except (OSError, TypeError):
                model = None
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in _PARAM.findall(r.path)]
            if "visible(" in source:  # interfaces.http.read_your_writes: waits for the command's version
                params.append(MIN_VERSION)
            out.append((method, path, doc, model, params))
    return out


def document(app: Sanic | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {"Error": ERROR}
    routes = list(ROUTES)
    if app is not None:
        known = {(m, p) for m, p, *_ in ROUTES}
        routes += [(m, p, d, model, params, {"200": "OK", "401": "Sign in", "403": "Not permitted",
                                             "409": "Broken rule", "422": "Invalid fields"})
                   for m, p, d, model, params in _routes_from_router(app, known)]
    for method, path, summary, model, params, responses in routes:
        op: dict[str, Any] = {"summary": summary, "parameters": list(params), "responses": {}}
        if model is not None:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
            if method == "get":
                named = {p["name"] for p in op["parameters"]}
                op["parameters"] += [
                    {"name": k, "in": "query", "required": False, "schema": v}
                    for k, v in schema.get("properties", {}).items() if k not in named
                ]
            else:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
        for code, desc in responses.items():
            content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            op["responses"][code] = {"description": desc, **({"content": content} if code >= "400" else {})}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Live Commerce Service", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
    }


@bp.get("/docs/openapi.json")
async def openapi(request: Request) -> HTTPResponse:
    return json(document(request.app))
