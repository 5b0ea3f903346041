"""The web app's files, read once and kept compressed in memory, served with validators and cache headers.

Viewers are mostly on phones on 3G/4G, so every byte counts twice: text files (HTML, JS, CSS, JSON, SVG) are
gzipped once when the process starts (level 9; a few hundred KB in all) and sent compressed to any client that
accepts gzip. Every file has a strong ETag (a hash of its bytes), so a repeat visit costs one ``304`` per file.

Cache lifetimes: files under ``vendor/`` carry their package version in their path
(``vendor/hls.js-1.7.4/…``) and never change at a given URL, so they are cached for a year, ``immutable``; the
app's own modules and pages are revalidated on every load (``no-cache`` + ETag), so a deploy is seen at once
without a build step that renames files.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from sanic import Request
from sanic.response import HTTPResponse

STATIC_ROOT = Path(__file__).resolve().parent / "static"
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map"})
TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".html": "text/html",
    ".css": "text/css",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Pages may load only the app's own files, and talk only to their own origin (API, Socket.IO, HLS); hls.js
# makes its workers and media sources from blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "media-src 'self' blob: https: http:; connect-src 'self' ws: wss: https: http:; worker-src 'self' blob:; "
    "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    cache_control: str


class Assets:
    """Every file under ``static/``, by its path relative to it (``common/api.js``)."""

    def __init__(self, root: Path = STATIC_ROOT) -> None:
        self.root = root
        self._files: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                rel = path.relative_to(root).as_posix()
                self._files[rel] = _load(path, rel)

    def get(self, rel: str) -> Asset | None:
        return self._files.get(rel)

    def names(self) -> list[str]:
        return list(self._files)

    def response(self, request: Request, rel: str) -> HTTPResponse | None:
        """The file for this request (``304`` when the client holds it), or None when there is no such file."""
        asset = self._files.get(rel)
        if asset is None:
            return None
        headers = {
            "ETag": asset.etag,
            "Cache-Control": asset.cache_control,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if asset.content_type.startswith("text/html"):
            headers["Content-Security-Policy"] = CSP
            headers["Referrer-Policy"] = "same-origin"
        if _matches(request.headers.get("if-none-match"), asset.etag):
            return HTTPResponse(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return HTTPResponse(body=body, status=200, headers=headers, content_type=asset.content_type)


def _load(path: Path, rel: str) -> Asset:
    body = path.read_bytes()
    suffix = path.suffix.lower()
    content_type = TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in {"application/json", "image/svg+xml"}:
        content_type += "; charset=utf-8"
    gzipped = None
    if suffix in COMPRESSIBLE or path.name in {"LICENSE"}:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache = IMMUTABLE if rel.startswith("vendor/") else REVALIDATE
    return Asset(body, gzipped, content_type, etag, cache)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in (tag.strip().removeprefix("W/") for tag in header.split(","))
