"""The one error mapper: domain errors, validation errors and HTTP errors → status + stable code + en/bn text.

Body shape: ``{"error": {"code", "message", "message_bn", "details"}}``; validation errors add
``details.fields: [{"field", "message", "type"}]``.
"""

from __future__ import annotations

import json as json_module
import logging
import re
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError
from sanic import Request, Sanic
from sanic.exceptions import BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge, RequestTimeout, SanicException
from sanic.response import HTTPResponse, json

from application.input_rules import printable
from domain.errors import DomainError
from interfaces.http.messages import message
from interfaces.http.presenters import json_default, money

log = logging.getLogger(__name__)


def container(request: Request) -> Any:
    """The composition root's objects for this request (``infra.bootstrap.Container``)."""
    return request.app.ctx.container


# Amounts in refusals' details: numbers of taka like every other amount (ADR 0015), whatever the rule sent.
MONEY_DETAILS = frozenset({"current_price", "minimum", "min_total", "flash_price", "discount", "left", "order_total"})


def _money_details(details: dict[str, Any]) -> dict[str, Any]:
    out = dict(details)
    for k in MONEY_DETAILS & out.keys():
        try:
            out[k] = money(out[k])
        except (ArithmeticError, ValueError, TypeError):
            pass
    return out


def error_response(status: int, code: str, details: dict[str, Any] | None = None) -> HTTPResponse:
    if details and not MONEY_DETAILS.isdisjoint(details):
        details = _money_details(details)
    key = _cache_key(status, code, details)
    body = _bodies.get(key) if key is not None else None
    if body is None:
        en, bn = message(code)
        # backslashreplace: a lone surrogate echoed from a hostile request becomes its JSON escape, not a 500
        body = json_module.dumps(
            {"error": {"code": code, "message": en, "message_bn": bn, "details": details or {}}},
            ensure_ascii=False,
            default=json_default,
        ).encode("utf-8", "backslashreplace")
        if key is not None and len(_bodies) < 4096:
            _bodies[key] = body
    return HTTPResponse(body, status=status, content_type="application/json")


# Refusals repeat (a sold-out sale refuses thousands of buyers a second with the same words): their encoded
# bodies are kept, keyed by everything that goes into them, when that is a few plain values.
_bodies: dict[tuple[Any, ...], bytes] = {}


async def idempotent_replay(store: Any, scope: str, key: str, rhash: str) -> HTTPResponse | None:
    """What an ``Idempotency-Key`` already answered: the stored reply for the same request, 422
    ``idempotency_key_reused`` for a different one, None if the key is new."""
    stored = await store.get(scope, key)
    if stored is None:
        return None
    if stored.request_hash != rhash:
        return error_response(422, "idempotency_key_reused")
    return json(stored.response, status=stored.status)


def _cache_key(status: int, code: str, details: dict[str, Any] | None) -> tuple[Any, ...] | None:
    if not details:
        return (status, code)
    if len(details) > 4 or not all(type(v) in (str, int, bool, float) or v is None for v in details.values()):
        return None
    return (status, code, *sorted((k, type(v).__name__, v) for k, v in details.items()))


_UUID = re.compile(r"^[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$")


def malformed_id(app: Sanic, path: str) -> tuple[str, str] | None:
    """(parameter, value) when ``path`` is one of our routes but for an id that is not a UUID, so the client
    hears "that id is malformed" (``400 invalid_id``) instead of "no such endpoint"."""
    got = [unquote(s) for s in path.strip("/").split("/")]
    for route in app.router.routes:
        if len(route.parts) != len(got):
            continue
        bad = None
        for part, seg in zip(route.parts, got, strict=True):
            if part.startswith("<") and part.endswith(">"):
                name, _, kind = part[1:-1].partition(":")
                if kind == "uuid" and not _UUID.match(seg) and bad is None:
                    bad = (name, seg)
            elif part != seg:
                break
        else:
            if bad is not None:
                return bad
    return None


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Field errors; a whole-document rule (``schemas.Body``) names the offending place in its context."""
    fields = []
    for err in exc.errors(include_url=False, include_input=False)[:20]:
        field = ".".join(str(p) for p in err["loc"]) or str((err.get("ctx") or {}).get("path") or "") or "body"
        fields.append({"field": printable(field), "message": printable(err["msg"], 300), "type": err["type"]})
    return {"fields": fields}


def install(app: Sanic) -> None:
    @app.exception(DomainError)
    async def on_domain(_: Request, exc: DomainError) -> HTTPResponse:
        return error_response(exc.http_status, exc.code, {"reason": exc.message, **exc.details})

    @app.exception(ValidationError)
    async def on_validation(_: Request, exc: ValidationError) -> HTTPResponse:
        return error_response(422, "validation_failed", validation_details(exc))

    @app.exception(NotFound)
    async def on_not_found(request: Request, exc: NotFound) -> HTTPResponse:
        if request.path.startswith("/hls/"):  # a file the show's media worker has not written (yet)
            from interfaces.http.media import hls_missing

            return await hls_missing(request)
        malformed = malformed_id(request.app, request.path)
        if malformed is not None:
            name, value = malformed
            return error_response(400, "invalid_id", {"parameter": name, "value": value[:64], "expected": "uuid"})
        return error_response(404, "route_not_found")

    @app.exception(MethodNotAllowed)
    async def on_method(_: Request, exc: MethodNotAllowed) -> HTTPResponse:
        return error_response(405, "method_not_allowed")

    @app.exception(BadRequest)
    async def on_bad_request(_: Request, exc: BadRequest) -> HTTPResponse:
        return error_response(400, "invalid_json", {"reason": printable(str(exc), 300)})

    @app.exception(PayloadTooLarge)
    async def on_too_large(request: Request, exc: PayloadTooLarge) -> HTTPResponse:
        return error_response(413, "payload_too_large", {"limit_bytes": request.app.config.REQUEST_MAX_SIZE})

    @app.exception(RequestTimeout)
    async def on_timeout(_: Request, exc: RequestTimeout) -> HTTPResponse:
        return error_response(408, "request_timeout")

    @app.exception(SanicException)
    async def on_sanic(_: Request, exc: SanicException) -> HTTPResponse:
        return error_response(exc.status_code, "http_error", {"reason": printable(str(exc), 300)})

    @app.exception(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> HTTPResponse:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error")
