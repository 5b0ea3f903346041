"""bKash Tokenized Checkout (API v1.2.0-beta): grant/refresh token → create → buyer pays → execute → status.

bKash answers most refusals with HTTP 200 and ``statusCode`` other than ``"0000"`` (older deployments:
``errorCode``); an expired or revoked id_token gets HTTP 401, which means nothing was done, so the call is
sent once more with a fresh token. The id_token lives about an hour: it is refreshed a little before it
expires (with the refresh_token, falling back to a new grant), under a lock so concurrent calls share one.

``create`` is never re-sent once it may have reached bKash (it has no idempotency key: a second call opens a
second payment). ``execute`` is: bKash refuses a repeated execute (2062 / 2117), and the adapter then reads
the payment's status, so executing twice returns the first outcome and the same trxID. ``refund`` is never
re-sent after a timeout: check the refunds with bKash first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from infra.payments.ports import (
    CallbackHint,
    CreatedPayment,
    GatewayAuthFailed,
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

OK = "0000"
STATUSES: dict[str, Status] = {
    "Completed": "completed",
    "Initiated": "processing",
    "Inprogress": "processing",
    "Authorized": "processing",
    "Pending Authorized": "processing",
    "Failed": "failed",
    "Cancelled": "failed",
    "Expired": "failed",
    "Declined": "failed",
}
CALLBACK_STATUSES: dict[str, Status] = {"success": "completed", "failure": "failed", "cancel": "failed"}


class BkashGateway:
    provider = "bkash"

    def __init__(
        self,
        *,
        base_url: str,
        app_key: str,
        app_secret: str,
        username: str,
        password: str,
        http: httpx.AsyncClient,
        timeout: float = 30.0,
        retries: int = 2,
        token_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = Transport(self.provider, http, base_url, timeout=timeout, retries=retries)
        self._app_key = app_key
        self._app_secret = app_secret
        self._username = username
        self._password = password
        self._margin = token_margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self._id_token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient, **options: Any) -> BkashGateway:
        return cls(
            base_url=settings.bkash_base_url,
            app_key=settings.bkash_app_key,
            app_secret=settings.bkash_app_secret,
            username=settings.bkash_username,
            password=settings.bkash_password,
            http=http,
            **options,
        )

    # ---- checkout ------------------------------------------------------------------------------------
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
        # No idempotency key in bKash's create: idempotency_key is not sent; see the module docstring.
        body = {
            "mode": "0011",
            "payerReference": payer_reference,
            "callbackURL": callback_url,
            "amount": money(amount),
            "currency": require_bdt(currency),
            "intent": "sale",
            "merchantInvoiceNumber": str(payment_id),
        }
        data = self._ok(await self._call("/tokenized/checkout/create", body, idempotent=False), "create", "paymentID")
        return CreatedPayment(provider_payment_id=data["paymentID"], redirect_url=data["bkashURL"])

    async def execute(self, provider_payment_id: str) -> GatewayResult:
        data = await self._call("/tokenized/checkout/execute", {"paymentID": provider_payment_id}, idempotent=True)
        if _code(data) in (OK, None) and data.get("trxID"):
            return self._result(provider_payment_id, data)
        # Declined, already executed, or not yet authorised by the buyer: the status says which.
        result = await self.query(provider_payment_id)
        reason = None if result.status == "completed" else _message(data)
        return GatewayResult(
            result.status,
            result.provider_payment_id,
            result.transaction_id,
            result.amount,
            data,
            reason,
            result.reference,
        )

    async def query(self, provider_payment_id: str) -> GatewayResult:
        data = await self._call(
            "/tokenized/checkout/payment/status", {"paymentID": provider_payment_id}, idempotent=True
        )
        return self._result(provider_payment_id, self._ok(data, "status", "transactionStatus"))

    async def refund(
        self,
        *,
        provider_payment_id: str,
        transaction_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
    ) -> RefundResult:
        body = {
            "paymentID": provider_payment_id,
            "trxID": transaction_id,
            "amount": money(amount),
            "reason": reason[:255],
            "sku": idempotency_key[:255],  # bKash requires one; our refund id makes it traceable
        }
        data = await self._call("/tokenized/checkout/payment/refund", body, idempotent=False)
        data = self._ok(data, "refund", "refundTrxID")
        return RefundResult(
            refund_id=data["refundTrxID"],
            amount=parse_money(data.get("amount")) or Decimal(money(amount)),
            status="completed" if data.get("transactionStatus") == "Completed" else "processing",
            raw=data,
        )

    async def find_refund(
        self, *, provider_payment_id: str, transaction_id: str, idempotency_key: str
    ) -> RefundResult | None:
        """bKash refund status: the refund call with only paymentID and trxID. Our refund id went in ``sku``;
        an answer listing refunds (``refunds``, the sandbox) is searched for it, a single refund is matched on
        its ``sku``. A refund without our sku is not ours: None."""
        data = await self._call(
            "/tokenized/checkout/payment/refund",
            {"paymentID": provider_payment_id, "trxID": transaction_id},
            idempotent=True,
        )
        if _code(data) not in (OK, None):
            return None  # e.g. 2071 "no refund": nothing was refunded yet
        entries = data.get("refunds") if isinstance(data.get("refunds"), list) else [data]
        for entry in entries:
            if isinstance(entry, dict) and entry.get("sku") == idempotency_key[:255] and entry.get("refundTrxID"):
                return RefundResult(
                    refund_id=str(entry["refundTrxID"]),
                    amount=parse_money(entry.get("amount")) or Decimal("0.00"),
                    status="completed" if entry.get("transactionStatus") == "Completed" else "processing",
                    raw=entry,
                )
        return None

    def read_callback(self, params: Mapping[str, Any]) -> CallbackHint:
        payment_id, status = params.get("paymentID"), params.get("status")
        if not payment_id or status not in CALLBACK_STATUSES:
            raise InvalidCallback(self.provider, f"callback needs paymentID and status, got {dict(params)}")
        return CallbackHint(str(payment_id), CALLBACK_STATUSES[str(status)], dict(params))

    # ---- tokens --------------------------------------------------------------------------------------
    async def _token(self, stale: str | None = None) -> str:
        async with self._lock:
            if stale is not None and self._id_token == stale:
                self._expires_at = 0.0  # bKash says it expired: believe bKash, not our clock
            if self._id_token is None or self._clock() >= self._expires_at - self._margin:
                if self._refresh_token is None or not await self._renew("refresh"):
                    await self._renew("grant")
            assert self._id_token is not None
            return self._id_token

    async def _renew(self, how: str) -> bool:
        body = {"app_key": self._app_key, "app_secret": self._app_secret}
        if how == "refresh":
            body["refresh_token"] = self._refresh_token or ""
        headers = {"username": self._username, "password": self._password, "Accept": "application/json"}
        response = await self._transport.request(
            "POST", f"/tokenized/checkout/token/{how}", json=body, headers=headers, idempotent=True
        )
        data = body_of(self.provider, response)
        if response.status_code != 200 or _code(data) not in (OK, None) or not data.get("id_token"):
            if how == "refresh":
                self._refresh_token = None
                return False
            raise GatewayAuthFailed(self.provider, f"token grant refused: {_message(data)}", code=_code(data), raw=data)
        self._id_token = data["id_token"]
        self._refresh_token = data.get("refresh_token") or self._refresh_token
        self._expires_at = self._clock() + float(data.get("expires_in") or 3600)
        return True

    async def _call(self, path: str, body: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        token = await self._token()
        for attempt in range(2):
            headers = {"Authorization": token, "X-APP-Key": self._app_key, "Accept": "application/json"}
            response = await self._transport.request("POST", path, json=body, headers=headers, idempotent=idempotent)
            if response.status_code != 401:
                return body_of(self.provider, response)
            if attempt == 0:  # a 401 did nothing: safe to send once more, even a create
                token = await self._token(stale=token)
        raise GatewayAuthFailed(
            self.provider, f"{path}: token refused after renewal", raw=body_of(self.provider, response)
        )

    # ---- answers -------------------------------------------------------------------------------------
    def _ok(self, data: dict[str, Any], what: str, key: str) -> dict[str, Any]:
        """Success: ``statusCode`` 0000 (or none, as some bKash answers have) and ``key`` present."""
        if _code(data) not in (OK, None) or not data.get(key):
            raise GatewayRejected(self.provider, f"{what} refused: {_message(data)}", code=_code(data), raw=data)
        return data

    def _result(self, provider_payment_id: str, data: dict[str, Any]) -> GatewayResult:
        return result_from(
            data,
            STATUSES,
            payment_id=provider_payment_id,
            status_field="transactionStatus",
            id_field="paymentID",
            transaction_field="trxID",
            reference_field="merchantInvoiceNumber",
        )


def _code(data: Mapping[str, Any]) -> str | None:
    code = data.get("statusCode", data.get("errorCode"))
    return None if code is None else str(code)


def _message(data: Mapping[str, Any]) -> str:
    return str(data.get("statusMessage") or data.get("errorMessage") or data.get("message") or "no message")
