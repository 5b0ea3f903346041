"""The OpenAPI document comes from the framework and tells the truth (issue 20 part 3, ADR 0029).

A real API process serves ``/docs/openapi.json`` (sanic-ext, from the router and the handlers' ``@api``
declarations): openapi-spec-validator accepts it, every route of the app's router is in it, the bodies are the
pydantic models that validate them, and what it declares is what the running API does (201, the required
``Idempotency-Key``, 401 before 422, the error shape). ``/docs`` is Swagger UI, its files served by the API
itself, and real Chromium draws every operation of the document from it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sanic import Sanic

from interfaces.http.flash_sales import PurchaseBody
from interfaces.http.schemas import CreateStreamBody
from tests.conftest import Environments
from tests.hostile.stack import Edges, P
from tests.support import Proc, free_port
from tests.web.browser import (
    DESKTOP,
    Browser,
    chromium,  # noqa: F401  (the fixture)
)

NOT_API = ("socket.io", "hls", "docs")  # the realtime gateway, media files, the docs themselves


@pytest.fixture(scope="module")
def api(environments: Environments, log_dir: Path) -> Iterator[Edges]:
    env = environments.new().model_copy(update={"http_port": free_port(), "http_proxies_count": 1})
    proc = Proc(env, "api", log_dir=log_dir, name="docs-api")
    try:
        proc.wait_for_output("realtime pusher ready", timeout=120)
        yield Edges(env, [proc])
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def document(api: Edges) -> dict[str, Any]:
    r = httpx.get(f"{api.url}/docs/openapi.json", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return dict(r.json())


def api_routes(api: Edges) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route the app registers, except the web app's pages (its blueprints)."""
    from interfaces.http.app import create_app

    app = create_app(api.env, name=f"docs_{uuid.uuid4().hex[:8]}")
    try:
        out = set()
        for r in app.router.routes:
            blueprint = r.name.split(".")[1] if r.name.count(".") >= 2 else ""
            if r.path.lstrip("/").startswith(NOT_API) or blueprint in ("web", "web_studio"):
                continue
            path = "/" + re.sub(r"<(\w+)(?::[^>]+)?>", r"{\1}", r.path).lstrip("/")
            out |= {(m.lower(), path) for m in r.methods if m not in ("HEAD", "OPTIONS")}
    finally:
        Sanic.unregister_app(app)  # type: ignore[attr-defined]
    return out


def test_the_document_is_valid_openapi_and_lists_every_route(api: Edges, document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(document)  # raises on any error
    assert document["openapi"].startswith("3.0")
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    routes = api_routes(api)
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations no route has"
    assert len(documented) >= 90, len(documented)
    for method, path in documented:
        op = document["paths"][path][method]
        codes = set(op["responses"])
        assert "default" not in codes, (method, path)  # each answer is named
        assert any(c.startswith("2") for c in codes), (method, path)
        assert {"400", "422", "429"} <= codes, (method, path, codes)
        for code in codes - {"200", "201"}:
            assert op["responses"][code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (method, path, code)
        for name in re.findall(r"{(\w+)}", path):
            [param] = [p for p in op["parameters"] if p["name"] == name and p["in"] == "path"]
            assert param["required"] is True
            if name.endswith("_id") and name not in ("gift_id",):
                assert param["schema"] == {"type": "string", "format": "uuid"}, (path, param)
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["required"]) == {"code", "message", "message_bn", "details"}
    print(f"\noperations: {len(documented)}; components: {len(document['components']['schemas'])}")


def test_the_document_says_what_the_handlers_do(document: dict[str, Any]) -> None:
    paths = document["paths"]
    create = paths[f"{P}/streams"]["post"]
    assert set(create["responses"]) >= {"201", "401", "403", "409", "413", "422"} and "200" not in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateStreamBody"
    }
    schema = document["components"]["schemas"]["CreateStreamBody"]
    model = CreateStreamBody.model_json_schema()
    assert set(schema["properties"]) == set(model["properties"]) and schema["required"] == model["required"]
    assert schema["additionalProperties"] is False  # the model forbids unknown fields; so does the document
    assert create["security"] == [{"bearer": []}]

    purchase = paths[f"{P}/flash-sales/{{sale_id}}/purchase"]["post"]
    [key] = [p for p in purchase["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["required"] is True and key["schema"]["maxLength"] == 200
    assert set(document["components"]["schemas"]["PurchaseBody"]["properties"]) == set(
        PurchaseBody.model_json_schema()["properties"]
    )
    assert "201" in purchase["responses"]

    show = paths[f"{P}/streams/{{stream_id}}"]["get"]
    [mv] = [p for p in show["parameters"] if p["name"] == "min_version"]
    assert mv["in"] == "query" and mv["required"] is False and mv["schema"]["type"] == "integer"
    assert {"404", "409"} <= set(show["responses"])
    listing = paths[f"{P}/streams"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"status", "category", "page", "limit"}
    assert "security" not in listing  # an open read
    assert (
        sum(
            1
            for ops in paths.values()
            for op in ops.values()
            if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        )
        >= 8
    )


def test_the_api_does_what_the_document_says(api: Edges, document: dict[str, Any]) -> None:
    sale = str(uuid.uuid4())
    with api.client("viewer") as buyer, api.client(None) as anonymous:
        # the header the document requires: without it, 400 and the reason, before the body is looked at
        r = buyer.post(f"/flash-sales/{sale}/purchase", json={"quantity": "many"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
        r = buyer.post(f"/flash-sales/{sale}/purchase", json={"quantity": "many"}, headers={"Idempotency-Key": "k1"})
        assert r.status_code == 422
        assert {f["field"]: f["type"] for f in r.json()["error"]["details"]["fields"]} == {"quantity": "int_parsing"}
        # a signed-in route hears who you are before it judges the body
        r = anonymous.post("/cart/add", json={"quantity": -1})
        assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_required", r.text
        r = buyer.post("/cart/add", json={"quantity": -1})
        assert r.status_code == 422 and r.json()["error"]["message_bn"]
        # the query model validates the query string (documented as its parameters)
        r = anonymous.get("/streams", params={"limit": "1000"})
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "limit"
        r = anonymous.get("/streams", params={"limit": "2"})
        assert r.status_code == 200 and r.json()["limit"] == 2


def test_docs_is_swagger_ui_served_by_the_api(
    api: Edges,
    document: dict[str, Any],
    chromium: Callable[..., Browser],  # noqa: F811
) -> None:
    page = httpx.get(f"{api.url}/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text)
    assert len(assets) == 3 and "/docs/openapi.json" in page.text and "//" not in "".join(assets)
    for asset in assets:
        r = httpx.get(f"{api.url}{asset}", timeout=30)
        assert r.status_code == 200 and len(r.content) > (100_000 if asset.endswith(("js", "css")) else 0), asset
    operations = sum(len(ops) for ops in document["paths"].values())
    b = chromium(*DESKTOP)
    started = time.monotonic()
    b.driver.get(f"{api.url}/docs")
    b.wait(lambda: len(b.finds(".opblock")) == operations, f"{operations} operations drawn", timeout=90)
    drawn = time.monotonic() - started
    assert "Live Commerce Service" in b.text(".info .title")
    paths = {e.text.replace("\u200b", "") for e in b.finds(".opblock-summary-path")}
    assert f"{P}/streams/{{stream_id}}" in paths and "/health" in paths
    assert "SEVERE" not in b.console(), b.console()
    print(f"\nSwagger UI drew {operations} operations in {drawn:.1f} s")
