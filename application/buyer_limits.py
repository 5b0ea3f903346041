"""The per-buyer caps of a checkout, decided in the write model (``domain.buyer_ledger``): open cash-on-delivery
orders and a discount code's uses per buyer. The counts come from the buyer's ledger and the Order aggregates it
names, read in the checkout's own unit of work, never from the orders read model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from application.batch_writer import UnitOfWork
from domain.buyer_ledger import BuyerLedger
from domain.order import Order

_NS = uuid.UUID("8e3b1f6a-2d4c-4a9e-b7f0-5c6d1e2a3b49")
NOT_COUNTED = ("cancelled", "payment_failed")  # a discount use comes back with an order that came to nothing


def ledger_id_for(buyer_id: str) -> UUID:
    return uuid.uuid5(_NS, f"ledger:{buyer_id}")


def ledger_of(uow: UnitOfWork, buyer_id: str, now: datetime) -> BuyerLedger:
    ledger: BuyerLedger | None = uow.find(ledger_id_for(buyer_id))
    if ledger is None:
        ledger = BuyerLedger.open(id=ledger_id_for(buyer_id), now=now, buyer_id=buyer_id)
        uow.add(ledger)
    return ledger


def _order(uow: UnitOfWork, order_id: str) -> Order | None:
    found: Order | None = uow.find(UUID(order_id))
    return found


def open_cod_orders(uow: UnitOfWork, ledger: BuyerLedger, now: datetime) -> int:
    """The buyer's COD orders still waiting for their cash; those that no longer wait are forgotten."""
    open_: list[Any] = []
    closed: list[Any] = []
    for order_id in ledger.cod_orders:
        order = _order(uow, order_id)
        (open_ if order is not None and order.status == "pending_payment" else closed).append(order_id)
    ledger.forget_cod_orders(order_ids=closed, now=now)
    return len(open_)


def discount_uses(uow: UnitOfWork, ledger: BuyerLedger, stream_id: str, code: str) -> int:
    """Orders of this buyer that used this show's code and did not come to nothing."""
    used = ledger.code_uses.get(BuyerLedger.code_key(stream_id, code), [])
    return sum(1 for order_id in used if (o := _order(uow, order_id)) is None or o.status not in NOT_COUNTED)
