"""The checkout's ``PaymentSessions`` port over the provider gateways (bKash, Nagad, Rocket).

A callback is a claim: a claimed success is captured/verified with ``execute``, anything else is read back with
``query``, and only the provider's answer reaches the Payment aggregate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from infra.payments import Gateway


class GatewaySessions:
    def __init__(self, gateways: dict[str, Gateway], callback_base: str) -> None:
        self._gateways = gateways
        self._callback_base = callback_base.rstrip("/")

    def _gateway(self, method: str) -> Gateway:
        gateway = self._gateways.get(method)
        if gateway is None:
            raise ValueError(f"no gateway for payment method {method!r}")
        return gateway

    def callback_url(self, payment_id: UUID, method: str) -> str:
        return f"{self._callback_base}/api/v1/live-commerce/payments/{payment_id}/callback/{method}"

    async def open(self, method: str, payment_id: UUID, amount: Decimal, payer: str) -> tuple[str, str]:
        created = await self._gateway(method).create(
            payment_id=str(payment_id), amount=amount, payer_reference=payer,
            callback_url=self.callback_url(payment_id, method), idempotency_key=str(payment_id))
        return created.provider_payment_id, created.redirect_url

    async def confirm(self, method: str, params: dict[str, Any]) -> tuple[str, str, Decimal | None, str | None]:
        gateway = self._gateway(method)
        hint = gateway.read_callback(params)
        if hint.status == "completed":
            result = await gateway.execute(hint.provider_payment_id)
        else:
            result = await gateway.query(hint.provider_payment_id)
        return result.provider_payment_id, result.status, result.amount, result.reason

    async def status(self, method: str, provider_payment_id: str) -> tuple[str, str, Decimal | None, str | None]:
        """The provider's current view of a session (for payments nobody called back about)."""
        result = await self._gateway(method).query(provider_payment_id)
        return result.provider_payment_id, result.status, result.amount, result.reason
