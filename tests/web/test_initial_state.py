"""The watch page carries its first screen in its HTML (ADR 0026, performance): the block holds exactly what
``GET /streams/:id`` and ``GET /streams/:id/deals`` answer and the strings of both languages, escaped so that no
text (``</script>``, ``<!--``, NUL, a lone surrogate, U+2028) can break out of it; the page uses it without asking,
and asks as before when it is missing (a private show: only the browser holds the token)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from interfaces.web.assets import STATIC_ROOT
from interfaces.web.initial_state import html_safe
from tests.conftest import Environments
from tests.support import Proc, auth, free_port, token, wait_until
from tests.web.browser import MOBILE, Browser

P = "/api/v1/live-commerce"
HOSTILE = "</script><script>alert(1)</script><!-- & </SCRIPT > \u2028\u2029 ৳ শাড়ি"
BLOCK = re.compile(rb'<script type="application/json" id="lc-initial">(.*?)</script>', re.S)


def test_the_block_is_safe_for_html_and_keeps_the_value() -> None:
    value = {"title": HOSTILE, "nul": "a\x00b", "lone": "\ud800x\udfff", "emoji": "🛍️", "amp": "&amp;<b>"}
    # ASCII-escaped JSON (a lone surrogate can only travel as a \u escape). Not sanic's json(): its encoder is
    # whatever the last Sanic app created in this process set on the response class.
    raw = json.dumps(value).encode()
    safe = html_safe(raw)
    assert json.loads(safe) == value
    lowered = safe.lower()
    assert b"</" not in lowered and b"<!--" not in lowered and b"<" not in safe and b"\x00" not in safe
    # What the API's own encoder gives (ensure_ascii=False, interfaces/http/app.py): UTF-8, U+2028/2029 raw.
    utf8 = json.dumps({"t": HOSTILE}, ensure_ascii=False).encode()
    assert "\u2028".encode() in utf8 and "\u2028".encode() not in html_safe(utf8)
    assert json.loads(html_safe(utf8)) == {"t": HOSTILE}


@pytest.fixture(scope="module")
def api(environments: Environments, log_dir: Path) -> Iterator[tuple[Settings, str]]:
    env = environments.new().model_copy(update={"http_port": free_port()})
    only = [a for n in ("live_streams", "hosts", "flash_sales") for a in ("--only", n)]
    procs = [
        Proc(env, "relay", log_dir=log_dir),
        Proc(env, "project", *only, log_dir=log_dir),
        Proc(env, "api", log_dir=log_dir),
    ]
    base = f"http://127.0.0.1:{env.http_port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="API health")
        yield env, base
    finally:
        for p in procs:
            p.stop()


def block(html: bytes) -> dict[str, Any]:
    found = BLOCK.findall(html)
    assert len(found) == 1, html[-2000:]
    return json.loads(found[0])  # type: ignore[no-any-return]


def test_the_watch_page_carries_its_first_screen(api: tuple[Settings, str], chromium: Callable[..., Browser]) -> None:
    env, base = api
    admin = httpx.Client(base_url=base + P, headers=auth(env), timeout=20)
    product = str(uuid.uuid4())
    sid = admin.post(
        "/streams",
        json={
            "title": HOSTILE,
            "title_bn": "রাতের </script> শো",
            "stream_type": "flash_sale",
            "products": [{"product_id": product, "special_price": 1500, "limited_quantity": 9}],
        },
    ).json()["id"]
    assert admin.post(f"/streams/{sid}/start").status_code == 200
    sale = admin.post(
        "/flash-sales",
        json={
            "stream_id": sid,
            "product_id": product,
            "flash_price": 999,
            "available_quantity": 5,
            "duration_minutes": 30,
        },
    )
    assert sale.status_code == 201, sale.text
    wait_until(
        lambda: (
            httpx.get(f"{base}{P}/streams/{sid}").json().get("status") == "live"
            and httpx.get(f"{base}{P}/streams/{sid}/deals").json()["active_deals"]
        ),
        timeout=30,
        what="the live show and its sale in the read model",
    )

    page = httpx.get(f"{base}/watch/{sid}", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert "script-src 'self'" in page.headers["content-security-policy"]  # the block is data, not script
    data = block(page.content)
    assert data["stream_id"] == sid and data["generated_at"].endswith("Z")
    stream = httpx.get(f"{base}{P}/streams/{sid}").json()
    volatile = ("current_viewers", "sales_stats", "live")
    assert {k: v for k, v in data["stream"].items() if k not in volatile} == {
        k: v for k, v in stream.items() if k not in volatile
    }
    assert data["stream"]["title"] == HOSTILE
    assert data["deals"] == httpx.get(f"{base}{P}/streams/{sid}/deals").json()
    assert data["deals"]["active_deals"][0]["live_price"] == 999.0
    assert data["products"] == {product: None}  # GET /catalog/products/:id answers 404: not in the catalogue
    for lang in ("en", "bn"):
        assert data["messages"][lang] == json.loads((STATIC_ROOT / "i18n" / f"{lang}.json").read_text("utf-8"))
    # A private show answers 404 to an anonymous caller: no data for it in the page (the browser asks).
    private = admin.post(
        "/streams", json={"title": "Members only", "stream_type": "flash_sale", "is_public": False}
    ).json()["id"]
    wait_until(lambda: admin.get(f"/streams/{private}").status_code == 200, timeout=30, what="the private show")
    hidden = block(httpx.get(f"{base}/watch/{private}").content)
    assert hidden["stream"] is None and hidden["deals"] is not None

    # In Chromium: the page shows the hostile title as text and the sale, without asking for the show, its deals
    # or the strings; the private show's page asks with the signed-in host's token and shows it.
    b = chromium(*MOBILE)
    b.open(f"{base}/watch/{sid}", token=token(env, "viewer"), lang="bn")
    b.wait(lambda: b.js("document.body.dataset.ready") == "true", "the page to be usable", 60)
    assert b.js("document.getElementById('show-title').textContent") == "রাতের </script> শো"
    assert b.js("document.querySelectorAll('script:not([type=\"application/json\"]):not([type=module])').length") == 0
    assert "৳৯৯৯" in b.text("#flash-sales")
    asked = b.js("performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname)")
    assert f"{P}/streams/{sid}" not in asked and f"{P}/streams/{sid}/deals" not in asked, asked
    assert not [a for a in asked if a.startswith(("/static/i18n/", f"{P}/catalog/products/"))], asked
    b.open(f"{base}/watch/{private}", token=token(env, "admin"), lang="en")
    b.wait(lambda: b.js("document.body.dataset.ready") == "true", "the private page to be usable", 60)
    assert b.js("document.getElementById('show-title').textContent") == "Members only"
    asked = b.js("performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname)")
    assert f"{P}/streams/{private}" in asked, asked
