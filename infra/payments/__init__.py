"""Payment gateways (bKash, Nagad, Rocket; cards and EMI on cards through SSLCommerz): the ports, one adapter
per provider, and a local sandbox.

Build them once in the composition root, sharing one ``httpx.AsyncClient`` opened in before_server_start
and closed in after_server_stop::

    http = httpx.AsyncClient()
    gateways = gateways_from_settings(settings, http)   # {"bkash", "nagad", "rocket", "card", "emi"}
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.payments.bkash import BkashGateway
from infra.payments.nagad import NagadGateway
from infra.payments.rocket import RocketGateway
from infra.payments.sslcommerz import SslCommerzGateway
from infra.settings import Settings

Gateway = BkashGateway | NagadGateway | RocketGateway | SslCommerzGateway


def gateways_from_settings(settings: Settings, http: httpx.AsyncClient, **options: Any) -> dict[str, Gateway]:
    """One adapter per online payment method (``card`` and ``emi`` share SSLCommerz); ``options``: timeout,
    retries."""
    cards = SslCommerzGateway.from_settings(settings, http, **options)
    return {
        "bkash": BkashGateway.from_settings(settings, http, **options),
        "nagad": NagadGateway.from_settings(settings, http, **options),
        "rocket": RocketGateway.from_settings(settings, http, **options),
        "card": cards,
        "emi": cards,
    }
