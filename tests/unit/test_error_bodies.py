"""Refusal bodies are cached by everything that goes into them, so a cached body is never someone else's."""

from __future__ import annotations

import json

from interfaces.http.errors import error_response


def body(status: int, code: str, details: dict[str, object] | None = None) -> dict[str, object]:
    r = error_response(status, code, details)
    assert r.status == status and r.content_type == "application/json"
    return json.loads(r.body)["error"]


def test_each_distinct_refusal_gets_its_own_body_every_time() -> None:
    for _ in range(2):  # the second round is served from the cache
        assert body(409, "flash_sale_sold_out", {"waitlist_open": False})["details"] == {"waitlist_open": False}
        assert body(409, "flash_sale_sold_out", {"waitlist_open": 0})["details"] == {"waitlist_open": 0}
        assert body(409, "flash_sale_sold_out", {"waitlist_open": True})["details"] == {"waitlist_open": True}
        assert body(422, "flash_sale_sold_out")["details"] == {}
        nested = body(422, "validation_failed", {"fields": [{"field": "quantity"}]})
        assert nested["details"] == {"fields": [{"field": "quantity"}]}
        bn = body(409, "flash_sale_sold_out", {"reason": "no units left"})
        assert bn["code"] == "flash_sale_sold_out" and bn["message"] and bn["message_bn"] != bn["message"]
