"""Sign-in for the HTTP API: JWT bearer tokens (``infra.tokens``) → an ``Actor`` with roles.

``@requires("stream.start")`` on a handler: no or bad token → 401 (with ``WWW-Authenticate: Bearer``), a
role that may never take the action → 403, both before the handler runs, so nothing is written. Ownership
(this host's stream, this vendor's sale) is checked by the application inside the command
(``application.access``).

Token claims: ``sub`` (the user id, a UUID: it lands in UUID columns of read models), ``roles`` (any of
viewer, host, vendor, moderator, admin; every signed-in user is at least a viewer), ``vendor_id`` (a UUID: the
vendor a host or vendor account acts for; a vendor account without it is its own vendor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from uuid import UUID

from sanic import Request
from sanic.response import HTTPResponse

from application.access import ROLES, Actor, require_role
from domain.errors import DomainError, InvalidCredentials, NotAuthenticated
from infra.tokens import InvalidToken, TokenVerifier
from interfaces.http.contract import declare_error, moved, secured
from interfaces.http.errors import error_response

Handler = Callable[..., Awaitable[HTTPResponse]]


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _verifier(request: Request) -> TokenVerifier:
    tokens: TokenVerifier | None = request.app.ctx.container.tokens
    if tokens is None:
        raise RuntimeError("sign-in used before the server started")
    return tokens


def authenticate(request: Request) -> Actor:
    known: Actor | None = getattr(request.ctx, "actor", None)
    if known is not None:  # already checked for this request (auth.requires, contract.api)
        return known
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if not header:
        raise NotAuthenticated("sign in: send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials("the Authorization header must be: Bearer <token>")
    try:
        identity = _verifier(request).verify(token.strip())
    except InvalidToken as exc:
        raise InvalidCredentials("the token is invalid or expired", reason=str(exc)) from None
    if not _is_uuid(identity.user_id):
        raise InvalidCredentials("the token's subject must be a user id (UUID)")
    if identity.vendor_id is not None and not _is_uuid(identity.vendor_id):
        raise InvalidCredentials("the token's vendor_id must be a UUID")
    roles = frozenset(r for r in identity.roles if r in ROLES) | {"viewer"}
    vendor = identity.vendor_id or (identity.user_id if "vendor" in roles else None)
    return Actor(
        user_id=str(UUID(identity.user_id)),
        roles=roles,
        vendor_id=str(UUID(vendor)) if vendor else None,
        name=identity.name,
    )


def refusal(exc: DomainError) -> HTTPResponse:
    response = error_response(exc.http_status, exc.code, {"reason": exc.message, **exc.details})
    if isinstance(exc, NotAuthenticated):
        error = "invalid_token" if isinstance(exc, InvalidCredentials) else None
        response.headers["WWW-Authenticate"] = 'Bearer realm="livecommerce"' + (f', error="{error}"' if error else "")
    return response


def requires(action: str) -> Callable[[Handler], Handler]:
    """Sign-in and role check for a handler; the actor is on ``request.ctx.actor``."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                actor = authenticate(request)
                require_role(actor, action)
            except DomainError as exc:
                return refusal(exc)
            request.ctx.actor = actor
            return await handler(request, *args, **kwargs)

        moved(handler, guarded)
        secured(guarded)
        declare_error(guarded, 401)
        declare_error(guarded, 403)
        return guarded

    return decorate


def actor_of(request: Request) -> Actor:
    return request.ctx.actor  # type: ignore[no-any-return]
