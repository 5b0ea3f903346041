"""What the generated OpenAPI document costs (ADR 0029): building the app with and without sanic-ext's OpenAPI
extension (the baseline: the same app, ``openapi.install`` skipped), building the document at start-up and
serialising it per ``GET /docs/openapi.json``. No servers needed.

    .venv/bin/python -m bench.openapi_document [rounds]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from sanic import Sanic
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from infra.settings import Settings
from interfaces.http import app as app_module
from interfaces.http import openapi


def build(with_docs: bool) -> tuple[float, Sanic]:
    original = openapi.install
    if not with_docs:
        app_module.openapi.install = lambda app, **_: None  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        app = app_module.create_app(Settings(), name=f"bench_{uuid.uuid4().hex[:8]}")
        return time.perf_counter() - started, app
    finally:
        app_module.openapi.install = original  # type: ignore[method-assign]


def document(app: Sanic) -> tuple[float, float, dict[str, Any]]:
    app.finalize()
    openapi.complete_operations(app)
    listener = app.blueprints["openapi"]._future_listeners[0].listener
    started = time.perf_counter()
    listener(app)  # sanic-ext's build_spec, as at before_server_start
    built = time.perf_counter() - started
    started = time.perf_counter()
    doc = SpecificationBuilder().build(app).serialize()
    return built, time.perf_counter() - started, doc


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    build(True)  # imports and first-time class set-up out of the figures
    base, docs, spec, serial = [], [], [], []
    doc: dict[str, Any] = {}
    for _ in range(rounds):
        t, app = build(False)
        base.append(t)
        Sanic.unregister_app(app)  # type: ignore[attr-defined]
        t, app = build(True)
        docs.append(t)
        spec_t, ser_t, doc = document(app)
        spec.append(spec_t)
        serial.append(ser_t)
        Sanic.unregister_app(app)  # type: ignore[attr-defined]
    imports = [
        float(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import time, sanic; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for m in ("sanic_ext", "swagger_ui_bundle", "json")
    ]
    print(
        f"import sanic_ext after sanic: {imports[0] * 1000:.0f} ms; swagger_ui_bundle {imports[1] * 1000:.0f} ms; "
        f"json (baseline) {imports[2] * 1000:.0f} ms"
    )
    ops = sum(len(v) for v in doc["paths"].values())
    print(f"create_app without the OpenAPI extension (baseline): median {statistics.median(base) * 1000:.0f} ms")
    print(f"create_app with it:                                  median {statistics.median(docs) * 1000:.0f} ms")
    print(f"document built at start-up (sanic-ext build_spec): median {statistics.median(spec) * 1000:.0f} ms")
    print(
        f"GET /docs/openapi.json serialisation: median {statistics.median(serial) * 1000:.0f} ms; "
        f"{len(doc['paths'])} paths, {ops} operations, {len(doc['components']['schemas'])} schemas"
    )


if __name__ == "__main__":
    main()
