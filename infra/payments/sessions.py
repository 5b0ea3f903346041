"""The checkout's ``PaymentSessions`` and the refunds' ``RefundGateways`` ports over the provider gateways
(bKash, Nagad, Rocket; SSLCommerz for ``card`` and ``emi``).

A callback is a claim: a claimed success is captured/verified with ``execute``, anything else is read back with
``query``, and only the provider's answer reaches the Payment aggregate. A refund needs the money transaction id
(bKash trxID, Nagad issuerPaymentRefNo, Rocket transactionId, SSLCommerz bank_tran_id), which the aggregate does
not keep: it is read from the provider with ``query`` first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from application.checkout import ProviderAnswer
from application.refunds import ProviderRefund, RefundRefused
from infra.payments import Gateway
from infra.payments.ports import GatewayAuthFailed, GatewayRejected, GatewayResult, RefundResult
from infra.payments.sslcommerz import SslCommerzGateway


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

    def top_up_callback_url(self, wallet_id: UUID, top_up_id: UUID, method: str) -> str:
        return f"{self._callback_base}/api/v1/live-commerce/wallets/{wallet_id}/top-ups/{top_up_id}/callback/{method}"

    async def open(
        self,
        method: str,
        payment_id: UUID,
        amount: Decimal,
        payer: str,
        emi_months: int | None = None,
        *,
        callback_url: str | None = None,
    ) -> tuple[str, str]:
        """``callback_url``: where the provider calls back, when not an order's payment (a coin top-up)."""
        gateway = self._gateway(method)
        common: dict[str, Any] = {
            "payment_id": str(payment_id),
            "amount": amount,
            "payer_reference": payer,
            "callback_url": callback_url or self.callback_url(payment_id, method),
            "idempotency_key": str(payment_id),
        }
        if isinstance(gateway, SslCommerzGateway):
            created = await gateway.create(**common, emi_months=emi_months if method == "emi" else None)
        else:
            created = await gateway.create(**common)
        return created.provider_payment_id, created.redirect_url

    async def confirm(self, method: str, params: dict[str, Any]) -> ProviderAnswer:
        gateway = self._gateway(method)
        hint = gateway.read_callback(params)
        if hint.status == "completed":
            result = await gateway.execute(hint.provider_payment_id)
        else:
            result = await gateway.query(hint.provider_payment_id)
        return _answer(result)

    async def status(self, method: str, provider_payment_id: str) -> ProviderAnswer:
        """The provider's current view of a session (for payments nobody called back about)."""
        return _answer(await self._gateway(method).query(provider_payment_id))

    # ---- refunds (application.refunds.RefundGateways) ------------------------------------------------
    async def _transaction_id(self, gateway: Gateway, provider_payment_id: str) -> str:
        result = await gateway.query(provider_payment_id)
        if result.status != "completed" or not result.transaction_id:
            raise RefundRefused(
                f"the provider has no captured transaction for {provider_payment_id} (status {result.status})"
            )
        return result.transaction_id

    async def find_refund(self, method: str, provider_payment_id: str, refund_id: str) -> ProviderRefund | None:
        gateway = self._gateway(method)
        trx = await self._transaction_id(gateway, provider_payment_id)
        found = await gateway.find_refund(
            provider_payment_id=provider_payment_id, transaction_id=trx, idempotency_key=refund_id
        )
        return _ours(found) if found is not None else None

    async def refund(
        self, method: str, provider_payment_id: str, amount: Decimal, reason: str, refund_id: str
    ) -> ProviderRefund:
        gateway = self._gateway(method)
        trx = await self._transaction_id(gateway, provider_payment_id)
        try:
            done = await gateway.refund(
                provider_payment_id=provider_payment_id,
                transaction_id=trx,
                amount=amount,
                reason=reason,
                idempotency_key=refund_id,
            )
        except GatewayAuthFailed:
            raise  # configuration: not the refund's fault; it stays requested
        except GatewayRejected as exc:
            code = f" [{exc.code}]" if exc.code else ""
            raise RefundRefused(f"{exc.provider} refused: {exc.message}{code}") from exc
        return _ours(done)


def _answer(result: GatewayResult) -> ProviderAnswer:
    return ProviderAnswer(result.provider_payment_id, result.status, result.amount, result.reason, result.reference)


def _ours(result: RefundResult) -> ProviderRefund:
    return ProviderRefund(result.refund_id, result.status)
