"""Fulfilment and returns: the rules the Order aggregate applies after payment (issue 13, journey 8).

A paid order is ``confirmed``; its selling vendor then moves it ``packed → shipped → delivered``, one step at a
time (a step out of order is refused, the same step again changes nothing). A cash-on-delivery order enters
fulfilment at placement (it is paid at the door), so it is ``confirmed`` while still unpaid.

Within the return window after delivery (7 days by default; the clock is the server's, passed in) the buyer
may ask to return some of the units; the vendor accepts or refuses, and an accepted return is refunded through
the refund path. The units asked for (pending or accepted) never exceed the units bought, and the refund of a
return is its lines' share of what the buyer paid (the order's discount spread over its lines).

Pure functions over plain values, so the aggregate's verb methods stay short and the rules are tested alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from domain.commerce_errors import PAISA, InvalidCommerceValue, require_quantity
from domain.errors import DomainError, NotFound

STEPS = ("confirmed", "packed", "shipped", "delivered")
RETURN_WINDOW = timedelta(days=7)


class FulfilmentOutOfOrder(DomainError):
    """The step is not the next one (``confirmed → packed → shipped → delivered``)."""

    code = "fulfilment_out_of_order"


class OrderNotFulfillable(DomainError):
    """Unpaid (and not cash on delivery), cancelled or fully refunded: nothing to send."""

    code = "order_not_fulfillable"


class ShippingDetailsRequired(InvalidCommerceValue):
    code = "shipping_details_required"


class ReturnNotAllowed(DomainError):
    """Returns open once the order is delivered."""

    code = "return_not_allowed"


class ReturnWindowClosed(DomainError):
    code = "return_window_closed"


class InvalidReturnItems(InvalidCommerceValue):
    code = "invalid_return_items"


class ReturnExceedsOrder(DomainError):
    code = "return_exceeds_order"


class ReturnNotFound(NotFound):
    code = "return_not_found"


class ReturnAlreadyDecided(DomainError):
    code = "return_already_decided"


def check_step(current: str | None, wanted: str, courier: str | None, tracking_id: str | None) -> None:
    """Refuse anything but the next step; shipping names the courier and the parcel's tracking id."""
    if wanted not in STEPS[1:]:
        raise InvalidCommerceValue(f"status must be one of {STEPS[1:]}", status=wanted)
    if current is None:
        raise OrderNotFulfillable("only a paid (or cash-on-delivery) order is fulfilled")
    if STEPS.index(wanted) != STEPS.index(current) + 1:
        expected = STEPS[STEPS.index(current) + 1] if current != STEPS[-1] else None
        raise FulfilmentOutOfOrder(f"a {current} order cannot be {wanted} next", current=current, expected=expected)
    if wanted == "shipped" and not (courier and tracking_id):
        raise ShippingDetailsRequired("shipping needs the courier and the tracking id")


def check_window(delivered_at: datetime | None, now: datetime, window: timedelta) -> None:
    if delivered_at is None:
        raise ReturnNotAllowed("a return can be asked for once the order is delivered")
    closes = delivered_at + window
    if now >= closes:
        raise ReturnWindowClosed(
            "the return window has closed", delivered_at=delivered_at.isoformat(), closed_at=closes.isoformat()
        )


def returnable_units(lines: Sequence[Mapping[str, Any]], returns: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Units of each product still returnable: bought minus those in returns pending or accepted."""
    left: dict[str, int] = {}
    for line in lines:
        left[str(line["product_id"])] = left.get(str(line["product_id"]), 0) + int(line["quantity"])
    for r in returns.values():
        if r["status"] != "refused":
            for item in r["items"]:
                left[item["product_id"]] -= int(item["quantity"])
    return left


def return_items(
    items: Sequence[Mapping[str, Any]], lines: Sequence[Mapping[str, Any]], returns: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The items as ``[{product_id, quantity}]`` merged per product, each a product of the order, never more
    units than are still returnable."""
    if not items:
        raise InvalidReturnItems("name at least one item to return")
    merged: dict[str, int] = {}
    for item in items:
        pid = str(item.get("product_id") or "")
        merged[pid] = merged.get(pid, 0) + require_quantity(item.get("quantity"))
    left = returnable_units(lines, returns)
    unknown = sorted(p for p in merged if p not in left)
    if unknown:
        raise InvalidReturnItems("these products are not in the order", product_ids=unknown)
    over = {p: left[p] for p, q in merged.items() if q > left[p]}
    if over:
        raise ReturnExceedsOrder("more units than are left to return", left=over)
    return [{"product_id": p, "quantity": q} for p, q in sorted(merged.items())]


def refund_of(
    items: Sequence[Mapping[str, Any]],
    lines: Sequence[Mapping[str, Any]],
    *,
    subtotal: Decimal,
    total: Decimal,
    refundable: Decimal,
) -> Decimal:
    """What the returned units cost the buyer: their lines' value times ``total / subtotal`` (the discount
    shared pro rata), rounded down to the paisa, never more than is left to refund."""
    price = {str(line["product_id"]): Decimal(str(line["unit_price"])) for line in lines}
    value = sum((price[i["product_id"]] * int(i["quantity"]) for i in items), Decimal("0.00"))
    share = value if subtotal == total or subtotal == 0 else value * total / subtotal
    return min(share.quantize(PAISA, rounding=ROUND_DOWN), refundable)
