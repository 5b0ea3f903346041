"""The HTTP edge's guards before any handler runs (issue 19, ADR 0018): query strings and the
Idempotency-Key header obey the storable-text rule, and rate limits per user and per IP.

Which requests are limited: every write (POST, PUT, PATCH, DELETE) and the expensive reads below (queries
that join or aggregate, wait for a version, or open connections). Socket.IO traffic has its own limits
(``interfaces.realtime.limits``); HLS files are static.

Who is counted: every request by its client IP (``http_proxies_count`` trusted proxies: the address they
forwarded), and a signed-in caller by their user id too, so one account cannot spread its load over many
addresses and one busy carrier IP does not share a small budget. Admins (the operators, and the payment
process's token) are not limited per user. A refusal is ``429 rate_limited`` with ``Retry-After``; nothing
ran.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from application.input_rules import printable, text_problem
from infra.rate_limits import Check, RateLimiter, parse
from infra.settings import Settings
from infra.tokens import InvalidToken
from interfaces.http.errors import error_response

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Route names (blueprint.handler) of the reads that cost more than a keyed lookup.
EXPENSIVE_READS = frozenset(
    {
        "streams.list_streams",  # joins, trending, featured, hosts
        "streams.get_stream",  # counted only with ?min_version (it holds a waiter up to 2 s)
        "analytics.show_analytics",
        "analytics.host_analytics",  # aggregates over a show or a period
        "hosts.dashboard",
        "hosts.list_applications",
        "media.stream_health",  # MongoDB sort
        "health.health",  # opens a Kafka admin connection
        "openapi.spec",  # sanic-ext serialises the document (the first request of each process)
    }
)
UNLIMITED_PREFIXES = ("/socket.io", "/hls")


class HttpLimits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.user = {"write": parse(settings.rate_limit_user_writes), "read": parse(settings.rate_limit_user_reads)}
        self.ip = {"write": parse(settings.rate_limit_ip_writes), "read": parse(settings.rate_limit_ip_reads)}
        self._redis_url = settings.redis_url
        self._prefix = f"LIMITS:{settings.topic_prefix}"
        self.limiter: RateLimiter | None = None

    async def open(self) -> None:
        if self.enabled:
            self.limiter = RateLimiter.redis(self._redis_url, self._prefix)

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()

    async def check(self, request: Request) -> HTTPResponse | None:
        """None to go on; else the answer (422 for a bad query string or key, 429 when over a limit)."""
        if (refused := _refuse_query(request)) is not None:
            return refused
        if self.limiter is None or request.path.startswith(UNLIMITED_PREFIXES):
            return None
        kind = _kind(request)
        if kind is None:
            return None
        checks = [Check(self.ip[kind], ("http", kind, "ip", _client_ip(request)))]
        user = _signed_in_user(request)
        if user is not None:
            checks.append(Check(self.user[kind], ("http", kind, "user", user)))
        refused = await self.limiter.refusal(checks)
        if refused is None:
            return None
        wait = int(refused.retry_after)
        response = error_response(429, "rate_limited", {"retry_after": wait, "scope": refused.check.key[2]})
        response.headers["Retry-After"] = str(wait)
        return response


def _kind(request: Request) -> str | None:
    if request.method in WRITES:
        return "write"
    route = request.route
    name = route.name.split(".", 1)[-1] if route is not None else ""
    if name not in EXPENSIVE_READS:
        return None
    if name == "streams.get_stream" and "min_version" not in request.args:
        return None
    return "read"


def _client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


def _signed_in_user(request: Request) -> str | None:
    """The verified token's user, or None (anonymous, a bad token: the handler answers those; admins)."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    tokens = request.app.ctx.container.tokens
    if tokens is None:
        return None
    try:
        identity = tokens.verify(token.strip())
    except InvalidToken:
        return None
    return None if "admin" in identity.roles else identity.user_id


def _refuse_query(request: Request) -> HTTPResponse | None:
    """Query strings and the Idempotency-Key header obey the same text rule as bodies (one line, no control
    characters), whatever the handler does with them later."""
    fields = []
    if request.query_string:
        for key, values in request.args.items():
            for text in (key, *values):
                if (p := text_problem(text, multiline=False)) is not None:
                    fields.append({"field": f"query.{printable(key, 60)}", "message": p.message, "type": p.code})
                    break
    key = request.headers.get("idempotency-key")
    if key is not None and (len(key) > 200 or not key.isprintable() or not key.isascii()):
        fields.append(
            {
                "field": "header.Idempotency-Key",
                "message": "at most 200 printable ASCII characters",
                "type": "invalid_idempotency_key",
            }
        )
    return error_response(422, "validation_failed", {"fields": fields}) if fields else None


def install(app: Sanic, settings: Settings) -> None:
    limits = HttpLimits(settings)
    app.ctx.http_limits = limits

    @app.before_server_start
    async def open_limits(app: Sanic) -> None:
        await limits.open()

    @app.after_server_stop
    async def close_limits(app: Sanic) -> None:
        await limits.close()

    @app.on_request
    async def guard(request: Request) -> HTTPResponse | None:
        return await limits.check(request)
