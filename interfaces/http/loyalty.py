"""Loyalty points (issue 14 part 4): ``GET /loyalty`` — the signed-in viewer's balance, tier and history.

Read from the account's own events (the points ledger), not a read model: points are money-like and a viewer
looking at their balance right after a checkout or a quiz must see it (ADR 0021).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from interfaces.http.checkout import _buyer
from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso, money

bp = Blueprint("loyalty", url_prefix="/api/v1/live-commerce")


@bp.get("/loyalty")
@api(signed_in=True)
async def show(request: Request) -> HTTPResponse:
    user = _buyer(request)
    if isinstance(user, HTTPResponse):
        return user
    c = _c(request)
    assert c.loyalty is not None
    v = await c.loyalty.view(user)
    return json(
        {
            "user_id": v.user_id,
            "balance": v.balance,
            "tier": v.tier,
            "lifetime_points": v.lifetime,
            "point_value": money(v.point_value),
            "balance_value": money(v.point_value * v.balance),
            "next_expiry": iso(v.next_expiry),
            "history": v.history,
            "version": v.version,
        }
    )
