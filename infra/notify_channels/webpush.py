"""Web push for the web app: the payload encrypted for the browser's subscription (RFC 8291, ``aes128gcm``,
through ``pywebpush``) and the request signed with our VAPID key (RFC 8292, ``py_vapid``), then
``POST``-ed to the subscription's endpoint. A push service answers 201 Created (``Location`` names the
message); 404/410 mean the subscription is gone.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pywebpush import WebPusher

from application.notifications import DeliveryRefused


class WebPushError(RuntimeError):
    pass


class SubscriptionGone(DeliveryRefused):
    """404/410: the browser unsubscribed or the subscription expired."""


class WebPushSender:
    def __init__(self, http: httpx.AsyncClient, *, vapid_private_key: str, subject: str, ttl: int = 3600) -> None:
        self.http = http
        key = vapid_private_key.strip()
        self.vapid = Vapid02.from_pem(key.encode()) if key.startswith("-----") else Vapid02.from_string(key)
        self.subject = subject
        self.ttl = ttl

    async def send(self, subscription: dict[str, Any], payload: dict[str, Any], topic: str) -> str:
        body = json.dumps(payload, ensure_ascii=False).encode()
        encoded = WebPusher(subscription).encode(body, content_encoding="aes128gcm")
        endpoint = subscription["endpoint"]
        parts = urlsplit(endpoint)
        auth = self.vapid.sign({"aud": f"{parts.scheme}://{parts.netloc}", "sub": self.subject})
        headers = {
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl),
            "Urgency": "normal",
            "Topic": topic[:32],
            "Authorization": auth["Authorization"],
        }
        r = await self.http.post(endpoint, content=encoded["body"], headers=headers)
        if r.status_code in (404, 410):
            raise SubscriptionGone(f"subscription gone ({r.status_code})")
        if r.status_code not in (200, 201, 202):
            raise WebPushError(f"push service answered {r.status_code}: {r.text[:200]}")
        return r.headers.get("Location", "")
