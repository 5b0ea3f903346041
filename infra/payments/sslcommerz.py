"""SSLCommerz hosted checkout (API v4) for cards, and EMI on cards: init session → buyer pays on the
gateway page → IPN (POST form) to our callback → we validate with the validation API; refunds.

* ``create`` = ``POST /gwprocess/v4/api.php`` (form: ``store_id``, ``store_passwd``, ``total_amount``,
  ``currency``, ``tran_id`` = our payment id, ``success_url``/``fail_url``/``cancel_url``/``ipn_url``, customer
  and product fields; EMI: ``emi_option=1``, ``emi_max_inst_option``, ``emi_selected_inst``) → ``status``
  ``SUCCESS``, ``sessionkey``, ``GatewayPageURL``. Not re-sent after a timeout (a second call opens a second
  session; the first one is harmless, the buyer never sees it).
* The IPN (and the browser's success/fail/cancel POST) carries ``tran_id``, ``val_id``, ``status``
  (``VALID``/``FAILED``/``CANCELLED``/``UNATTEMPTED``/``EXPIRED``), ``amount``, ``bank_tran_id``: a claim.
* ``query``/``execute`` = transaction query by ``tran_id`` (``GET /validator/api/merchantTransIDvalidationAPI.php``)
  → the session's attempts; a ``VALID``/``VALIDATED`` one is then checked with the validation API
  (``GET /validator/api/validationserverAPI.php?val_id=…``), which SSLCommerz requires before delivering, and
  its amount and ``tran_id`` must be ours. Both are reads: re-sent freely.
* ``refund`` = ``GET /validator/api/merchantTransIDvalidationAPI.php?bank_tran_id&refund_amount&refund_remarks
  &refe_id`` (``refe_id`` = our refund id) → ``refund_ref_id``, ``status`` ``success``/``processing``/``failed``.
  Not re-sent after a timeout. ``find_refund`` looks for our ``refe_id`` in the transaction query's
  ``refunds`` (the sandbox lists them there; SSLCommerz documents refund status only by ``refund_ref_id``,
  so confirm the lookup by ``refe_id`` with SSLCommerz before going live).

The aggregate's ``provider_txn_id`` is our ``tran_id`` (every IPN carries it); the money transaction id that
refunds need is ``bank_tran_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
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

STATUSES: dict[str, Status] = {
    "VALID": "completed",
    "VALIDATED": "completed",
    "PENDING": "processing",
    "FAILED": "failed",
    "CANCELLED": "failed",
    "UNATTEMPTED": "failed",
    "EXPIRED": "failed",
}
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"
VALIDATE = "/validator/api/validationserverAPI.php"


class SslCommerzGateway:
    provider = "sslcommerz"

    def __init__(
        self,
        *,
        base_url: str,
        store_id: str,
        store_password: str,
        http: httpx.AsyncClient,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        self._transport = Transport(self.provider, http, base_url, timeout=timeout, retries=retries)
        self._store_id = store_id
        self._password = store_password

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient, **options: Any) -> SslCommerzGateway:
        return cls(
            base_url=settings.sslcommerz_base_url,
            store_id=settings.sslcommerz_store_id,
            store_password=settings.sslcommerz_store_password,
            http=http,
            **options,
        )

    @property
    def _auth(self) -> dict[str, str]:
        return {"store_id": self._store_id, "store_passwd": self._password, "format": "json"}

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
        emi_months: int | None = None,
    ) -> CreatedPayment:
        form = {
            "store_id": self._store_id,
            "store_passwd": self._password,
            "total_amount": money(amount),
            "currency": require_bdt(currency),
            "tran_id": str(payment_id),
            "success_url": callback_url,
            "fail_url": callback_url,
            "cancel_url": callback_url,
            "ipn_url": callback_url,
            "cus_name": "Live commerce buyer",
            "cus_email": "buyer@example.com",
            "cus_add1": "Dhaka",
            "cus_city": "Dhaka",
            "cus_country": "Bangladesh",
            "cus_phone": payer_reference,
            "shipping_method": "NO",
            "num_of_item": "1",
            "product_name": "Live stream order",
            "product_category": "general",
            "product_profile": "general",
            "value_a": payer_reference,
            "emi_option": "1" if emi_months else "0",
        }
        if emi_months:
            form |= {
                "emi_max_inst_option": str(emi_months),
                "emi_selected_inst": str(emi_months),
                "emi_allow_only": "1",
            }
        response = await self._transport.request("POST", "/gwprocess/v4/api.php", data=form, idempotent=False)
        data = body_of(self.provider, response)
        if str(data.get("status")).upper() != "SUCCESS" or not data.get("GatewayPageURL"):
            reason = str(data.get("failedreason") or "no reason")
            error = GatewayAuthFailed if "store" in reason.lower() else GatewayRejected
            raise error(self.provider, f"session refused: {reason}", raw=data)
        return CreatedPayment(provider_payment_id=str(payment_id), redirect_url=str(data["GatewayPageURL"]))

    async def execute(self, provider_payment_id: str) -> GatewayResult:
        return await self.query(provider_payment_id)  # the card is charged on the gateway page

    async def query(self, provider_payment_id: str) -> GatewayResult:
        data = await self._get(QUERY, {"tran_id": provider_payment_id}, "transaction query")
        elements = [e for e in data.get("element") or [] if isinstance(e, dict)]
        if not elements:
            raise GatewayRejected(self.provider, f"no transaction {provider_payment_id}", code="NOT_FOUND", raw=data)
        valid = [e for e in elements if STATUSES.get(str(e.get("status"))) == "completed"]
        if valid:
            return await self._validate(provider_payment_id, str(valid[0].get("val_id")))
        return result_from(
            elements[-1],
            STATUSES,
            payment_id=provider_payment_id,
            status_field="status",
            id_field=None,
            transaction_field=None,
            reference_field="tran_id",
            reason_field="error",
        )

    async def _validate(self, tran_id: str, val_id: str) -> GatewayResult:
        data = await self._get(VALIDATE, {"val_id": val_id}, "validation")
        if str(data.get("tran_id")) != tran_id:  # a val_id of another transaction: never ours to complete
            return GatewayResult("processing", tran_id, None, None, data, reference=str(data.get("tran_id")))
        return result_from(
            data,
            STATUSES,
            payment_id=tran_id,
            status_field="status",
            id_field=None,
            transaction_field="bank_tran_id",
            reference_field="tran_id",
        )

    # ---- refunds -------------------------------------------------------------------------------------
    async def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str, idempotency_key: str
    ) -> RefundResult:
        params = {
            "bank_tran_id": transaction_id,
            "refund_amount": money(amount),
            "refund_remarks": reason[:255],
            "refe_id": idempotency_key[:50],
        }
        data = await self._get(QUERY, params, "refund", idempotent=False)
        status = str(data.get("status") or "").lower()
        if status not in ("success", "processing") or not data.get("refund_ref_id"):
            raise GatewayRejected(
                self.provider, f"refund refused: {data.get('errorReason') or status}", code=status or None, raw=data
            )
        return RefundResult(
            str(data["refund_ref_id"]),
            Decimal(money(amount)),
            "completed" if status == "success" else "processing",
            data,
        )

    async def find_refund(
        self, *, provider_payment_id: str, transaction_id: str, idempotency_key: str
    ) -> RefundResult | None:
        data = await self._get(QUERY, {"tran_id": provider_payment_id}, "transaction query")
        for element in data.get("element") or []:
            for entry in (element.get("refunds") or []) if isinstance(element, dict) else []:
                if isinstance(entry, dict) and entry.get("refe_id") == idempotency_key[:50]:
                    done = str(entry.get("status")).lower() in ("refunded", "success")
                    return RefundResult(
                        str(entry.get("refund_ref_id")),
                        parse_money(entry.get("refund_amount")) or Decimal("0.00"),
                        "completed" if done else "processing",
                        entry,
                    )
        return None

    def read_callback(self, params: Mapping[str, Any]) -> CallbackHint:
        tran_id, status = params.get("tran_id"), params.get("status")
        if not tran_id or not status:
            raise InvalidCallback(self.provider, f"IPN needs tran_id and status, got {dict(params)}")
        return CallbackHint(str(tran_id), STATUSES.get(str(status), "processing"), dict(params))

    async def _get(self, path: str, params: dict[str, str], what: str, *, idempotent: bool = True) -> dict[str, Any]:
        response = await self._transport.request(
            "GET", path, params={**params, **self._auth}, headers={"Accept": "application/json"}, idempotent=idempotent
        )
        data = body_of(self.provider, response)
        if response.status_code == 401 or data.get("APIConnect") in ("INVALID_REQUEST", "INACTIVE"):
            raise GatewayAuthFailed(self.provider, f"{what}: store credentials refused", raw=data)
        if response.status_code >= 400 or data.get("APIConnect") not in (None, "DONE"):
            raise GatewayRejected(
                self.provider,
                f"{what} refused: {data.get('APIConnect') or response.status_code}",
                code=str(data.get("APIConnect") or response.status_code),
                raw=data,
            )
        return data
