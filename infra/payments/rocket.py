"""Rocket (Dutch-Bangla Bank mobile banking): create → buyer pays → callback → verify; refund.

Rocket publishes no merchant API reference: this is the shape agreed for the sandbox (docs/payments.md) and
must be checked against the merchant contract before going live. It is deliberately plain JSON: create and
refund carry our ``requestId``, which the provider de-duplicates, so create may be re-sent after a timeout;
a refund is not (sent at most once: a lost answer goes to manual review); verify only reads. Rocket captures
when the buyer confirms, so ``execute`` is verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from infra.payments.ports import (
    CallbackHint,
    CreatedPayment,
    GatewayRejected,
    GatewayResult,
    InvalidCallback,
    RefundResult,
    Status,
    money,
    parse_money,
    require_bdt,
    result_from,
)
from infra.payments.transport import Transport, body_of
from infra.settings import Settings

STATUSES: dict[str, Status] = {
    "SUCCESS": "completed",
    "INITIATED": "processing",
    "PENDING": "processing",
    "FAILED": "failed",
    "CANCELLED": "failed",
    "EXPIRED": "failed",
}


class RocketGateway:
    provider = "rocket"

    def __init__(
        self,
        *,
        base_url: str,
        merchant_id: str,
        http: httpx.AsyncClient,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        self._transport = Transport(self.provider, http, base_url, timeout=timeout, retries=retries)
        self._merchant_id = merchant_id

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient, **options: Any) -> RocketGateway:
        return cls(base_url=settings.rocket_base_url, merchant_id=settings.rocket_merchant_id, http=http, **options)

    async def create(
        self,
        *,
        payment_id: str,
        amount: Decimal,
        payer_reference: str,
        callback_url: str,
        idempotency_key: str,
        currency: str = "BDT",
    ) -> CreatedPayment:
        data = await self._post(
            "/payment/create",
            {
                "orderId": str(payment_id),
                "amount": money(amount),
                "currency": require_bdt(currency),
                "payerReference": payer_reference,
                "callbackUrl": callback_url,
                "requestId": idempotency_key,
            },
            "create",
        )
        return CreatedPayment(provider_payment_id=data["paymentId"], redirect_url=data["redirectUrl"])

    async def execute(self, provider_payment_id: str) -> GatewayResult:
        return await self.query(provider_payment_id)  # Rocket captured when the buyer confirmed

    async def query(self, provider_payment_id: str) -> GatewayResult:
        data = await self._post("/payment/verify", {"paymentId": provider_payment_id}, "verify")
        return result_from(
            data,
            STATUSES,
            payment_id=provider_payment_id,
            status_field="status",
            id_field="paymentId",
            transaction_field="transactionId",
            reference_field="orderId",
            reason_field="message",
        )

    async def refund(
        self,
        *,
        provider_payment_id: str,
        transaction_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
    ) -> RefundResult:
        data = await self._post(
            "/payment/refund",
            {
                "paymentId": provider_payment_id,
                "transactionId": transaction_id,
                "amount": money(amount),
                "reason": reason[:255],
                "requestId": idempotency_key,
            },
            "refund",
            idempotent=False,
        )
        return RefundResult(
            refund_id=str(data["refundId"]),
            amount=parse_money(data.get("amount")) or Decimal(money(amount)),
            status="completed" if data.get("status") == "SUCCESS" else "processing",
            raw=data,
        )

    async def find_refund(
        self, *, provider_payment_id: str, transaction_id: str, idempotency_key: str
    ) -> RefundResult | None:
        """Rocket de-duplicates refunds by our ``requestId``: re-sending the refund is the lookup (None)."""
        return None

    def read_callback(self, params: Mapping[str, Any]) -> CallbackHint:
        payment_id, status = params.get("paymentId"), params.get("status")
        if not payment_id or not status:
            raise InvalidCallback(self.provider, f"callback needs paymentId and status, got {dict(params)}")
        return CallbackHint(str(payment_id), STATUSES.get(str(status), "processing"), dict(params))

    async def _post(self, path: str, body: dict[str, Any], what: str, *, idempotent: bool = True) -> dict[str, Any]:
        # Verify reads and create carries requestId: both re-sent freely. A refund is sent once.
        response = await self._transport.request(
            "POST",
            path,
            json={"merchantId": self._merchant_id, **body},
            headers={"X-Merchant-Id": self._merchant_id, "Accept": "application/json"},
            idempotent=idempotent,
        )
        data = body_of(self.provider, response)
        if response.status_code >= 400:
            raise GatewayRejected(
                self.provider,
                f"{what} refused: {data.get('message') or 'no message'}",
                code=str(data.get("code") or response.status_code),
                raw=data,
            )
        return data
