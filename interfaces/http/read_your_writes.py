"""``?min_version=N`` on every GET of something a command creates or changes: one helper for all of them.

A command answers with the aggregate's new version. A GET that names it waits (``infra.version_waiter``, up to
``read_your_writes_timeout_s``) until the read model shows that version; if it still does not, the answer is
``409 read_model_behind`` (retry shortly) — also for an id the read model has not seen yet, which without the
version would have been a misleading ``404``. Without ``min_version`` the read model answers as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from infra.version_waiter import ReadModel
from interfaces.http.errors import container, error_response

Row = dict[str, Any]


def min_version_of(request: Request) -> int | None | HTTPResponse:
    """The request's ``min_version`` (a whole number ≥ 0), None when absent, or the 422 answer."""
    raw = request.args.get("min_version")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        return error_response(
            422,
            "validation_failed",
            {
                "fields": [
                    {"field": "min_version", "message": "must be a whole number of at least 0", "type": "int_parsing"}
                ]
            },
        )
    return int(raw)


async def visible(
    request: Request,
    model: ReadModel,
    key: str,
    read: Callable[[], Awaitable[Row | None]],
    not_found: str,
    details: dict[str, Any],
) -> Row | HTTPResponse:
    """The row of ``key`` in ``model`` at the request's ``min_version`` or later, else the error answer."""
    version = min_version_of(request)
    if isinstance(version, HTTPResponse):
        return version
    c = container(request)
    row = await c.versions.at_least(model, key, version, read, c.settings.read_your_writes_timeout_s)
    if version is not None and (row is None or row[model.version_column] < version):
        return error_response(
            409,
            "read_model_behind",
            {**details, "min_version": version, "version": row[model.version_column] if row else None},
        )
    if row is None:
        return error_response(404, not_found, details)
    return row
