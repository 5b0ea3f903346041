"""The watch page's first screen inside its HTML (ADR 0026, performance): one round trip less on a phone.

``GET /watch/:id`` answers the page's HTML with the show's opening data in a ``<script type="application/json">``
block: exactly the bytes the documented routes answer an anonymous caller (``GET /streams/:id``,
``GET /streams/:id/deals``, and ``GET /catalog/products/:id`` for the show's first 30 products, by calling their
handlers) plus the shared strings of both languages (``static/i18n/{en,bn}.json``). The page uses them instead of
asking, and asks as before when the block is missing, names another show, is older than a minute, or a route did
not answer 200 (a private show: it needs the viewer's token, which only the browser holds).

The block's text is JSON made safe for HTML: ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026``
(they occur only inside JSON strings, so the value is unchanged), so no text can close the element (``</script>``)
or open a comment (``<!--``); NUL, other controls and lone surrogates are already ``\\u`` escapes in the routes'
JSON, and U+2028/U+2029 are escaped too.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

from sanic import Request
from sanic.response import HTTPResponse

from interfaces.web.assets import CSP, Assets

log = logging.getLogger(__name__)

Handler = Callable[[Request, UUID], Awaitable[HTTPResponse]]
_SAFE = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)
MARK = b"</body>"


def html_safe(json_bytes: bytes) -> bytes:
    """JSON text that may sit inside a ``<script type="application/json">`` element (same value)."""
    for raw, escaped in _SAFE:
        json_bytes = json_bytes.replace(raw, escaped)
    return json_bytes


async def _answer(handler: Handler, request: Request, stream_id: UUID) -> bytes:
    """The route's answer to this (anonymous) request, or ``null`` when it is not a 200 (the page then asks)."""
    try:
        response = await handler(request, stream_id)
    except Exception:  # noqa: BLE001 - e.g. the page's own query is not the route's: the page asks instead
        log.debug("no initial answer from %s", getattr(handler, "__name__", handler), exc_info=True)
        return b"null"
    body = response.body
    return body if response.status == 200 and body else b"null"


def _product_ids(stream_answer: bytes) -> list[UUID]:
    """The show's products in the answer's order, the first 30 (the page names those at once)."""
    try:
        products = (json.loads(stream_answer) or {}).get("featured_products") or []
        return [UUID(str(p["product_id"])) for p in products[:30]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return []


async def watch_page(
    request: Request, assets: Assets, stream_id: UUID, stream: Handler, deals: Handler, product: Handler
) -> HTTPResponse | None:
    shell = assets.get("viewer/watch.html")
    if shell is None:
        return None
    en, bn = assets.get("i18n/en.json"), assets.get("i18n/bn.json")
    at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()
    shown, offers = await asyncio.gather(_answer(stream, request, stream_id), _answer(deals, request, stream_id))
    ids = _product_ids(shown)
    answers = await asyncio.gather(*(_answer(product, request, pid) for pid in ids))
    products = b",".join(b'"%s":%s' % (str(pid).encode(), a) for pid, a in zip(ids, answers, strict=True))
    data = b"".join(
        (
            b'{"stream_id":"',
            str(stream_id).encode(),
            b'","generated_at":"',
            at,
            b'","stream":',
            shown,
            b',"deals":',
            offers,
            b',"products":{',
            products,
            b'},"messages":{"en":',
            en.body if en else b"null",
            b',"bn":',
            bn.body if bn else b"null",
            b"}}",
        )
    )
    block = b'<script type="application/json" id="lc-initial">' + html_safe(data) + b"</script>\n"
    body = shell.body.replace(MARK, block + MARK, 1)
    headers = {
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "same-origin",
    }
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return HTTPResponse(body=body, status=200, headers=headers, content_type="text/html; charset=utf-8")
