"""Nagad Online Payment (checkout API v-0.2.0): initialize → complete → buyer pays → callback → verify.

``create`` is initialize (the merchant proves who it is and gets a paymentReferenceId and a challenge) plus
complete (the amount, answering the challenge; Nagad returns the page to send the buyer to). Nagad captures
when the buyer confirms, so there is nothing to execute: ``execute`` and ``query`` both call verify, which
is a GET and safe to repeat. Refunds go through purchase-cancel keyed by our ``referenceNo``; the sandbox
de-duplicates on it, but the adapter never re-sends one whose answer was lost (the application puts it in
manual review instead: a refund is sent at most once). Nagad publishes no refund reference, so that
endpoint's shape (and the de-duplication) must be confirmed with Nagad's merchant spec before going live.

Sealing: Nagad wants ``sensitiveData`` RSA-encrypted with Nagad's public key and ``signature`` made with the
merchant's private key. Settings has no key fields yet, so this adapter speaks the sandbox's unencrypted
seal (base64 JSON plus a SHA-256 digest) through ``seal``/``unseal`` below — the one place to swap for the
RSA pair before going live (docs/payments.md, "What is left").
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

from infra.payments.ports import (
    CallbackHint,
    CreatedPayment,
    GatewayRejected,
    GatewayResult,
    GatewayUnavailable,
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

DHAKA = timezone(timedelta(hours=6))  # Nagad's timestamps are Bangladesh time, which has no DST
BDT_CODE = "050"  # ISO 4217 numeric
STATUSES: dict[str, Status] = {
    "Success": "completed",
    "Ready": "processing",
    "OrderInitiated": "processing",
    "InProgress": "processing",
    "Aborted": "failed",
    "Cancelled": "failed",
    "Failed": "failed",
    "Expired": "failed",
}


def seal(payload: Mapping[str, Any]) -> tuple[str, str]:
    data = base64.b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    return data, base64.b64encode(hashlib.sha256(data.encode()).digest()).decode()


def unseal(data: str, signature: str) -> dict[str, Any]:
    """The payload, or ValueError when the digest does not match (tampered or mis-sealed)."""
    if base64.b64encode(hashlib.sha256(data.encode()).digest()).decode() != signature:
        raise ValueError("signature does not match sensitiveData")
    payload = json.loads(base64.b64decode(data))
    if not isinstance(payload, dict):
        raise ValueError("sensitiveData is not an object")
    return payload


class NagadGateway:
    provider = "nagad"

    def __init__(
        self,
        *,
        base_url: str,
        merchant_id: str,
        http: httpx.AsyncClient,
        timeout: float = 30.0,
        retries: int = 2,
        client_ip: str = "127.0.0.1",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._transport = Transport(self.provider, http, base_url, timeout=timeout, retries=retries)
        self._merchant_id = merchant_id
        self._now = now
        self._headers = {
            "X-KM-Api-Version": "v-0.2.0",
            "X-KM-IP-V4": client_ip,  # the buyer's address; Nagad requires one
            "X-KM-Client-Type": "PC_WEB",
            "Accept": "application/json",
        }

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient, **options: Any) -> NagadGateway:
        return cls(base_url=settings.nagad_base_url, merchant_id=settings.nagad_merchant_id, http=http, **options)

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
        require_bdt(currency)
        order_id = str(payment_id).replace("-", "")  # Nagad order ids: alphanumeric, unique per merchant
        stamp = self._now().astimezone(DHAKA).strftime("%Y%m%d%H%M%S")
        sealed, signature = seal(
            {
                "merchantId": self._merchant_id,
                "datetime": stamp,
                "orderId": order_id,
                "challenge": secrets.token_hex(20),
            }
        )
        init = await self._post(
            f"/api/dfs/check-out/initialize/{self._merchant_id}/{order_id}",
            {"dateTime": stamp, "sensitiveData": sealed, "signature": signature},
            "initialize",
            idempotent=False,
        )
        opened = self._open(init)
        reference, challenge = opened["paymentReferenceId"], opened["challenge"]
        sealed, signature = seal(
            {
                "merchantId": self._merchant_id,
                "orderId": order_id,
                "currencyCode": BDT_CODE,
                "amount": money(amount),
                "challenge": challenge,
            }
        )
        done = await self._post(
            f"/api/dfs/check-out/complete/{reference}",
            {
                "sensitiveData": sealed,
                "signature": signature,
                "merchantCallbackURL": callback_url,
                "additionalMerchantInfo": {"payerReference": payer_reference, "paymentId": str(payment_id)},
            },
            "complete",
            idempotent=False,
        )
        if done.get("status") != "Success" or not done.get("callBackUrl"):
            raise GatewayRejected(self.provider, f"complete refused: {_message(done)}", raw=done)
        return CreatedPayment(provider_payment_id=reference, redirect_url=done["callBackUrl"])

    async def execute(self, provider_payment_id: str) -> GatewayResult:
        return await self.query(provider_payment_id)  # Nagad captured when the buyer confirmed

    async def query(self, provider_payment_id: str) -> GatewayResult:
        response = await self._transport.request(
            "GET", f"/api/dfs/verify/payment/{provider_payment_id}", headers=self._headers, idempotent=True
        )
        data = self._answer(response, "verify")
        return result_from(
            data,
            STATUSES,
            payment_id=provider_payment_id,
            status_field="status",
            id_field="paymentRefId",
            transaction_field="issuerPaymentRefNo",
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
        sealed, signature = seal(
            {
                "merchantId": self._merchant_id,
                "paymentRefId": provider_payment_id,
                "issuerPaymentRefNo": transaction_id,
                "cancelAmount": money(amount),
                "referenceNo": idempotency_key,
                "referenceMessage": reason[:255],
            }
        )
        # Sent once: not repeated by the transport after it may have arrived (a lost answer goes to review).
        data = self._open(
            await self._post(
                "/api/dfs/purchase/cancel",
                {"sensitiveData": sealed, "signature": signature},
                "refund",
                idempotent=False,
            )
        )
        return RefundResult(
            refund_id=str(data["cancelTrxId"]),
            amount=parse_money(data.get("cancelAmount")) or Decimal(money(amount)),
            status="completed" if data.get("status") == "Success" else "processing",
            raw=data,
        )

    async def find_refund(
        self, *, provider_payment_id: str, transaction_id: str, idempotency_key: str
    ) -> RefundResult | None:
        """Nagad de-duplicates refunds by our ``referenceNo``: re-sending the refund is the lookup (None)."""
        return None

    def read_callback(self, params: Mapping[str, Any]) -> CallbackHint:
        reference, status = params.get("payment_ref_id"), params.get("status")
        if not reference or not status:
            raise InvalidCallback(self.provider, f"callback needs payment_ref_id and status, got {dict(params)}")
        return CallbackHint(str(reference), STATUSES.get(str(status), "processing"), dict(params))

    # ---- plumbing ------------------------------------------------------------------------------------
    async def _post(self, path: str, body: dict[str, Any], what: str, *, idempotent: bool) -> dict[str, Any]:
        response = await self._transport.request("POST", path, json=body, headers=self._headers, idempotent=idempotent)
        return self._answer(response, what)

    def _answer(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = body_of(self.provider, response)
        if response.status_code >= 400:
            raise GatewayRejected(
                self.provider,
                f"{what} refused: {_message(data)}",
                code=str(data.get("reason") or response.status_code),
                raw=data,
            )
        return data

    def _open(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return unseal(str(data["sensitiveData"]), str(data["signature"]))
        except (KeyError, ValueError) as exc:
            raise GatewayUnavailable(
                self.provider, f"unreadable sealed answer ({exc})", outcome_unknown=True, raw=data
            ) from exc


def _message(data: Mapping[str, Any]) -> str:
    return str(data.get("message") or data.get("reason") or "no message")
