"""The real notification channels behind the ``Notifier`` port (issue 20 part 7): mobile push (FCM HTTP v1),
web push (VAPID), SMS (a Bangladeshi gateway's HTTP API) and e-mail (SMTP).

``ChannelNotifier`` looks up the recipient's preferences for the address and the language, and sends through
the channel the delivery names. A recipient without preferences, or a channel not configured in this process,
goes to the fallback (the development file outbox), as before. Credentials come from settings (the
environment or ``LIVECOMMERCE_<NAME>_FILE``), never from the repository.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from application import notifications as n
from application.notification_prefs import Preferences, PreferencesStore
from infra.notify_channels.email import SmtpSender
from infra.notify_channels.fcm import FcmSender
from infra.notify_channels.sms import SmsSender
from infra.notify_channels.webpush import WebPushSender
from infra.settings import Settings


class NoAddress(n.DeliveryRefused):
    """The person turned a channel on but left no address for it (no token, no subscription)."""


def topic_of(delivery_id: str) -> str:
    """A web-push ``Topic`` (≤ 32 URL-safe characters): a resent delivery replaces the first on the device."""
    return base64.urlsafe_b64encode(hashlib.sha256(delivery_id.encode()).digest()[:24]).decode()


class ChannelNotifier:
    def __init__(
        self,
        prefs: PreferencesStore,
        fallback: n.Notifier | None,
        *,
        fcm: FcmSender | None = None,
        web_push: WebPushSender | None = None,
        sms: SmsSender | None = None,
        email: SmtpSender | None = None,
    ) -> None:
        self.prefs, self.fallback = prefs, fallback
        self.fcm, self.web_push, self.sms, self.email = fcm, web_push, sms, email

    async def send(self, message: n.OutgoingMessage) -> n.Receipt | None:
        p = await self.prefs.get(message.recipient_id)
        configured = {"push": self.fcm, "web_push": self.web_push, "sms": self.sms, "email": self.email}
        if p is None or configured.get(message.channel) is None:
            if self.fallback is None:
                raise NoAddress(f"no {message.channel} channel for {message.recipient_id}")
            return await self.fallback.send(message) or n.Receipt("outbox")
        title, body = p.texts_in_language(message.texts)
        data = {k: str(v) for k, v in message.data.items()} | {
            "kind": message.kind,
            "stream_id": message.stream_id,
            "notification_id": message.notification_id,
        }
        return await getattr(self, f"_{message.channel}")(p, message, title, body, data)

    async def _push(
        self, p: Preferences, m: n.OutgoingMessage, title: str, body: str, data: dict[str, str]
    ) -> n.Receipt:
        assert self.fcm is not None
        if not p.fcm_tokens:
            raise NoAddress("no FCM registration token")
        names = [await self.fcm.send(t, title, body, data, collapse_key=m.notification_id) for t in p.fcm_tokens]
        return n.Receipt("fcm", " ".join(names))

    async def _web_push(
        self, p: Preferences, m: n.OutgoingMessage, title: str, body: str, data: dict[str, str]
    ) -> n.Receipt:
        assert self.web_push is not None
        if not p.web_push:
            raise NoAddress("no web-push subscription")
        payload: dict[str, Any] = {"title": title, "body": body, "data": data, "lang": p.language}
        ids = [await self.web_push.send(s.as_info(), payload, topic_of(m.delivery_id)) for s in p.web_push]
        return n.Receipt("web_push", " ".join(ids))

    async def _sms(
        self, p: Preferences, m: n.OutgoingMessage, title: str, body: str, data: dict[str, str]
    ) -> n.Receipt:
        assert self.sms is not None
        if not p.msisdn:
            raise NoAddress("no mobile number")
        return n.Receipt("sms", await self.sms.send(p.msisdn, f"{title}\n{body}", m.delivery_id))

    async def _email(
        self, p: Preferences, m: n.OutgoingMessage, title: str, body: str, data: dict[str, str]
    ) -> n.Receipt:
        assert self.email is not None
        if not p.email:
            raise NoAddress("no e-mail address")
        return n.Receipt("smtp", await self.email.send(p.email, title, body, m.delivery_id))


def build_channels(
    settings: Settings, http: httpx.AsyncClient, prefs: PreferencesStore, fallback: n.Notifier | None
) -> ChannelNotifier:
    """The channels this process has settings for; the others fall back (the dev outbox)."""
    s = settings
    fcm = web = sms = mail = None
    if s.fcm_project_id and s.fcm_service_account_file:
        fcm = FcmSender.from_file(
            http,
            s.fcm_service_account_file,
            project_id=s.fcm_project_id,
            base_url=s.fcm_base_url,
            token_url=s.fcm_token_url,
        )
    if s.vapid_private_key:
        web = WebPushSender(http, vapid_private_key=s.vapid_private_key, subject=s.vapid_subject)
    if s.sms_base_url and s.sms_api_key:
        sms = SmsSender(http, base_url=s.sms_base_url, api_key=s.sms_api_key, sender_id=s.sms_sender_id)
    if s.smtp_host:
        mail = SmtpSender(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_from,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
        )
    return ChannelNotifier(prefs, fallback, fcm=fcm, web_push=web, sms=sms, email=mail)
