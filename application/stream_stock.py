"""Where a stream product's stock lives and how holds are named (``domain.stream_stock``).

The stock aggregate's id derives from (stream, product), so every process finds the same one without a look-up,
and two processes opening it at once conflict on the same id (the batch writer re-runs the loser on the one
that was saved). It is opened on the first hold with the product's ``limited_quantity`` from the LiveStream.
Holds are named after what keeps the units: a buyer's live cart, or an order waiting for its payment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from application.batch_writer import UnitOfWork
from domain.errors import ProductNotInStream
from domain.live_stream import LiveStream
from domain.stream_stock import StreamStock

_NS = uuid.UUID("4c1d8e2a-9b7f-4e3c-a6d5-2f8e1b0c7a94")


def stock_id_for(stream_id: Any, product_id: Any) -> UUID:
    return uuid.uuid5(_NS, f"stock:{stream_id}:{product_id}")


def cart_hold(cart_id: Any) -> str:
    return f"cart:{cart_id}"


def order_hold(order_id: Any) -> str:
    return f"order:{order_id}"


def stock_for(uow: UnitOfWork, stream: LiveStream, product_id: str, now: datetime) -> StreamStock:
    """The product's stock in this stream, opened on first use with the stream's ``limited_quantity``."""
    stock: StreamStock | None = uow.find(stock_id_for(stream.id, product_id))
    if stock is not None:
        return stock
    product = stream.products.get(product_id)
    if product is None:
        raise ProductNotInStream("product is not in this stream", product_id=product_id)
    stock = StreamStock.open(
        id=stock_id_for(stream.id, product_id),
        now=now,
        stream_id=str(stream.id),
        product_id=product_id,
        quantity=product.get("limited_quantity"),
    )
    uow.add(stock)
    return stock
