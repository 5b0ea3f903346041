"""Mobile push through Firebase Cloud Messaging's HTTP v1 API.

A service account's key signs a JWT (RS256, scope ``firebase.messaging``), exchanged at the key's ``token_uri``
for an OAuth2 access token (cached until shortly before it expires); each message is then
``POST {base}/v1/projects/{project}/messages:send`` with ``Authorization: Bearer <token>``. Both URLs are
settings, so the dev stack and the tests point them at the local sandbox (``infra.notify_sandbox``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from application.notifications import DeliveryRefused

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class FcmError(RuntimeError):
    pass


class FcmTokenRefused(DeliveryRefused):
    """404 UNREGISTERED or 400 INVALID_ARGUMENT: the app was uninstalled or the token is not one."""


class FcmSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        project_id: str,
        service_account: dict[str, Any],
        base_url: str = "https://fcm.googleapis.com",
        token_url: str | None = None,
    ) -> None:
        self.http = http
        self.project_id = project_id
        self.account = service_account
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or service_account.get("token_uri") or "https://oauth2.googleapis.com/token"
        self._token: str | None = None
        self._expires = 0.0

    @classmethod
    def from_file(cls, http: httpx.AsyncClient, path: Path, **kw: Any) -> FcmSender:
        return cls(http, service_account=json.loads(path.read_text(encoding="utf-8")), **kw)

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.account["client_email"],
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": self.account["private_key_id"]} if self.account.get("private_key_id") else None
        return jwt.encode(claims, self.account["private_key"], algorithm="RS256", headers=headers)

    async def access_token(self) -> str:
        if self._token is None or time.monotonic() > self._expires - 60:
            r = await self.http.post(self.token_url, data={"grant_type": GRANT, "assertion": self._assertion()})
            if r.status_code != 200:
                raise FcmError(f"FCM token endpoint answered {r.status_code}: {r.text[:200]}")
            body = r.json()
            self._token, self._expires = body["access_token"], time.monotonic() + float(body.get("expires_in", 3600))
        return self._token

    async def send(self, token: str, title: str, body: str, data: dict[str, str], collapse_key: str) -> str:
        """The message's name (``projects/{p}/messages/{id}``) as FCM accepted it."""
        message = {
            "message": {
                "token": token,
                "notification": {"title": title, "body": body},
                "data": data,
                "android": {"collapse_key": collapse_key[:64], "priority": "high"},
                "apns": {"headers": {"apns-collapse-id": collapse_key[:64]}},
            }
        }
        url = f"{self.base_url}/v1/projects/{self.project_id}/messages:send"
        for attempt in (1, 2):
            r = await self.http.post(
                url, json=message, headers={"Authorization": f"Bearer {await self.access_token()}"}
            )
            if r.status_code == 401 and attempt == 1:  # the token was revoked or expired early: get another
                self._token = None
                continue
            if r.status_code == 404 or (r.status_code == 400 and "INVALID_ARGUMENT" in r.text):
                raise FcmTokenRefused(f"FCM refused the token ({r.status_code}): {r.text[:200]}")
            if r.status_code != 200:
                raise FcmError(f"FCM answered {r.status_code}: {r.text[:200]}")
            return str(r.json()["name"])
        raise FcmError("FCM refused two fresh access tokens")
