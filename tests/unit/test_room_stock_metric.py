"""The room's stock gauge (``livecommerce_stock_available``) follows what the room is told, and an item
without a stock limit (``available: null``) is no figure at all rather than an error in the pusher."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from interfaces.realtime.pusher import _stock_metric


def gauge(kind: str, ident: str) -> float | None:
    return REGISTRY.get_sample_value("livecommerce_stock_available", {"kind": kind, "id": ident})


def test_stock_gauge_set_on_update_skipped_without_a_limit_and_removed_when_the_sale_ends() -> None:
    product, sale = str(uuid.uuid4()), str(uuid.uuid4())
    _stock_metric("stock_update", {"product_id": product, "available": None})
    assert gauge("stream_product", product) is None
    _stock_metric("stock_update", {"product_id": product, "available": 7})
    assert gauge("stream_product", product) == 7.0
    _stock_metric("flash_sale_started", {"sale_id": sale, "product_id": product, "available": 50})
    _stock_metric("stock_update", {"sale_id": sale, "product_id": product, "available": 49})
    assert gauge("flash_sale", sale) == 49.0
    _stock_metric("flash_sale_ended", {"sale_id": sale, "product_id": product, "available": 0})
    assert gauge("flash_sale", sale) is None
