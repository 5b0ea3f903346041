"""One provider's HTTP calls: a timeout on every call, retries only when they cannot charge anyone twice.

A request that never reached the provider (connection refused, connect timeout, no free connection) is sent
again whatever it was. A request that may have reached it (read timeout, dropped connection, 5xx) is sent
again only when the caller marked it idempotent (token grant, status, execute, requests carrying a provider
idempotency key); otherwise the caller gets ``GatewayTimeout`` / ``GatewayUnavailable(outcome_unknown=True)``
and must query before trying again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from infra.payments.ports import GatewayTimeout, GatewayUnavailable

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
RETRYABLE_STATUS = (502, 503, 504)


class Transport:
    def __init__(
        self,
        provider: str,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.05,
    ) -> None:
        self.provider = provider
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        what = f"{method} {path}"
        attempts = 1 + self.retries
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self.http.request(
                    method,
                    self.base_url + path,
                    json=json,
                    headers=headers,
                    timeout=self.timeout,
                    data=data,
                    params=params,
                )
            except NOT_SENT as exc:
                if last:
                    raise GatewayUnavailable(self.provider, f"{what}: cannot connect ({exc!r})") from exc
            except httpx.TimeoutException as exc:
                if last or not idempotent:
                    raise GatewayTimeout(
                        self.provider,
                        f"{what}: no answer within {self.timeout:g}s after {attempt + 1} attempt(s); "
                        "the outcome is unknown, query the payment before retrying",
                    ) from exc
            except httpx.TransportError as exc:
                if last or not idempotent:
                    raise GatewayUnavailable(
                        self.provider, f"{what}: connection lost ({exc!r})", outcome_unknown=True
                    ) from exc
            else:
                if response.status_code < 500:
                    return response
                if last or not idempotent or response.status_code not in RETRYABLE_STATUS:
                    raise GatewayUnavailable(
                        self.provider,
                        f"{what}: answered HTTP {response.status_code}",
                        outcome_unknown=True,
                        code=str(response.status_code),
                    )
            await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt always returns or raises


def body_of(provider: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON object the provider answered with; anything else is the provider misbehaving."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise GatewayUnavailable(
            provider, f"answered HTTP {response.status_code} without a JSON object", outcome_unknown=True
        )
    return data
