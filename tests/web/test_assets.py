"""The web blueprint alone (no stack): files sent compressed with validators and cache headers, the vendored
libraries at their pinned versions with their licences, the messages in both languages, and development
sign-in refused under production settings."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from typing import Any

import httpx
from sanic import Sanic

from infra.settings import DEV_JWT_SECRET, Settings
from infra.tokens import TokenVerifier
from interfaces.http import errors
from interfaces.web import bp
from interfaces.web.assets import STATIC_ROOT
from tests.support import free_port

VENDORED = {
    "hls.js-1.7.4/hls.light.min.mjs": None,
    "socket.io-client-4.8.4/socket.io.esm.min.js": "Socket.IO v4.8.4",
    "noto-sans-bengali-5.3.0/noto-sans-bengali-bengali-400-normal.woff2": None,
}


class _Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def _serve(settings: Settings, requests: Any) -> dict[str, Any]:
    """Run the blueprint in a Sanic app on a free port in a child process (Sanic's global signal handling must not
    meet the other in-process servers of this test worker, e.g. the payment sandbox); ``requests(client)`` runs
    against it there and its result comes back."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_serve_here, args=(settings, requests, results))
    child.start()
    try:
        out: dict[str, Any] = results.get(timeout=120)
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    return out


def _serve_here(settings: Settings, requests: Any, results: Any) -> None:
    port = free_port()
    app = Sanic(f"web_{port}")
    app.config.TOUCHUP = False  # a second app served in one process: Sanic's source rewrite fails the second time
    app.ctx.container = _Container(settings)
    errors.install(app)
    app.blueprint(bp)
    out: dict[str, Any] = {}

    @app.after_server_start
    async def go(app: Sanic) -> None:
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                out.update(await requests(c))
        finally:
            app.stop()

    app.run(port=port, single_process=True, motd=False, access_log=False, register_sys_signals=False)
    results.put(out)


def test_files_compressed_cached_and_vendored() -> None:
    async def requests(c: httpx.AsyncClient) -> dict[str, Any]:
        got = {
            p: await c.get(p, headers={"Accept-Encoding": "gzip"})
            for p in (
                "/",
                "/watch/5e2fe2df-4844-466b-aa51-80a3c8cdba60",
                "/signin",
                "/static/common/core.js",
                "/static/vendor/hls.js-1.7.4/hls.light.min.mjs",
                "/static/nope.js",
            )
        }
        etag = got["/static/common/core.js"].headers["etag"]
        again = await c.get("/static/common/core.js", headers={"If-None-Match": etag})
        return {"got": got, "again": again, "bad": await c.get("/watch/not-a-uuid")}

    out = _serve(Settings(allow_dev_jwt_secret=True), requests)
    got = out["got"]
    home, core_js, hls = got["/"], got["/static/common/core.js"], got["/static/vendor/hls.js-1.7.4/hls.light.min.mjs"]
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["content-encoding"] == "gzip" and home.headers["cache-control"] == "no-cache"
    assert "/static/viewer/home.js" in home.text
    assert got["/watch/5e2fe2df-4844-466b-aa51-80a3c8cdba60"].status_code == 200
    assert got["/signin"].status_code == 200 and "dev-form" in got["/signin"].text
    raw = (STATIC_ROOT / "common/core.js").read_bytes()
    assert core_js.headers["content-encoding"] == "gzip" and core_js.content == raw  # httpx un-gzips it
    assert int(core_js.headers.get("content-length", len(gzip.compress(raw)))) < len(raw)
    assert core_js.headers["content-type"].startswith("text/javascript")
    assert out["again"].status_code == 304 and out["again"].content == b""
    assert hls.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert got["/static/nope.js"].status_code == 404 and got["/static/nope.js"].json()["error"]["code"] == "not_found"
    assert out["bad"].status_code == 400
    for rel, marker in VENDORED.items():
        path = STATIC_ROOT / "vendor" / rel
        assert path.stat().st_size > 10_000 and (path.parent / "LICENSE").stat().st_size > 500
        if marker:
            assert marker in path.read_text(encoding="utf-8")[:200]
    en = json.loads((STATIC_ROOT / "i18n/en.json").read_text(encoding="utf-8"))
    bn = json.loads((STATIC_ROOT / "i18n/bn.json").read_text(encoding="utf-8"))
    assert set(en) == set(bn) and all(bn.values())


def test_dev_tokens_only_where_allowed() -> None:
    async def requests(c: httpx.AsyncClient) -> dict[str, Any]:
        return {
            "options": await c.get("/signin/options"),
            "token": await c.post("/signin/dev-token", json={"role": "host", "name": "Rina"}),
            "bad": await c.post("/signin/dev-token", json={"role": "king"}),
        }

    dev = Settings(allow_dev_jwt_secret=True, jwt_secret=DEV_JWT_SECRET)
    out = _serve(dev, requests)
    assert out["options"].json() == {"dev_tokens": True}
    answer = out["token"].json()
    assert out["token"].status_code == 201 and answer["roles"] == ["viewer", "host"]
    who = TokenVerifier(dev).verify(answer["token"])
    assert who.user_id == answer["user_id"] and who.name == "Rina" and who.roles == {"viewer", "host"}
    assert out["bad"].status_code == 422
    production = Settings(allow_dev_jwt_secret=False, jwt_secret="x" * 48)
    out = _serve(production, requests)
    assert out["options"].json() == {"dev_tokens": False}
    assert out["token"].status_code == 403 and out["token"].json()["error"]["code"] == "dev_sign_in_disabled"
    assert "token" not in out["token"].json()


def test_every_viewer_string_in_both_languages() -> None:
    """Every key the viewer pages use (``t('…')``, ``data-i18n…``) is in en.json and bn.json; keys built from a
    prefix (``t('quiz.' + status)``) are checked by their prefix having entries."""
    import re

    used_re = re.compile(r"""\bt\(\s*["']([\w.]+)["']|data-i18n(?:-label|-placeholder)?="([\w.]+)\"""")
    used: set[str] = set()
    for f in [
        *(STATIC_ROOT / "viewer").glob("*.js"),
        *(STATIC_ROOT / "viewer").glob("*.html"),
        *(STATIC_ROOT / "common").glob("*.js"),
    ]:
        code = "\n".join(
            ln for ln in f.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith(("//", "/*", "*"))
        )  # not the comments' examples
        used |= {a or b for a, b in used_re.findall(code)}
    assert {"poll.votes", "gift.received", "quiz.answered", "replay.highlights", "board.empty"} <= used
    for lang in ("en", "bn"):
        messages = json.loads((STATIC_ROOT / f"i18n/{lang}.json").read_text(encoding="utf-8"))
        missing = sorted(
            k
            for k in used
            if (k not in messages if not k.endswith(".") else not any(m.startswith(k) for m in messages))
        )
        assert not missing, (lang, missing)
