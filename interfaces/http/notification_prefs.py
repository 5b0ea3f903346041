"""``GET/PUT /me/notification-preferences`` (issue 20 part 7): the signed-in person's channels, language,
addresses and quiet hours (Dhaka time). ``PUT`` replaces the whole document; bad input is 422
``validation_failed`` with the field and an English + Bangla message, like every other body.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from application.notification_prefs import Preferences, WebPushSubscription
from interfaces.http.checkout import _buyer
from interfaces.http.contract import api
from interfaces.http.errors import container as _c

bp = Blueprint("notification_prefs", url_prefix="/api/v1/live-commerce")
Channel = Literal["push", "web_push", "sms", "email"]
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_B64URL = r"^[A-Za-z0-9_-]+={0,2}$"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Bangladeshi mobile numbers: 01XXXXXXXXX, +8801XXXXXXXXX, 8801XXXXXXXXX (ASCII digits only)
_MSISDN = re.compile(r"^(?:\+?88)?(01[3-9][0-9]{8})$")


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(pattern=_HHMM, description="Dhaka time, HH:MM")
    end: str = Field(pattern=_HHMM, description="Dhaka time, HH:MM; before start: the window spans midnight")


class WebPushKeys(BaseModel):
    p256dh: str = Field(min_length=80, max_length=100, pattern=_B64URL)
    auth: str = Field(min_length=16, max_length=30, pattern=_B64URL)


class WebPushSubscriptionBody(BaseModel):
    endpoint: str = Field(max_length=1024, pattern=r"^https?://[^\s]+$")
    keys: WebPushKeys


class NotificationPreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Literal["bn", "en"] = "bn"
    channels: list[Channel] = Field(max_length=4)  # required: PUT replaces the whole document
    quiet_hours: QuietHours | None = None
    email: str | None = Field(default=None, max_length=254)
    msisdn: str | None = Field(default=None, max_length=16)
    fcm_tokens: list[str] = Field(default_factory=list, max_length=10)
    web_push_subscriptions: list[WebPushSubscriptionBody] = Field(default_factory=list, max_length=10)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError("not an e-mail address")
        return v

    @field_validator("msisdn")
    @classmethod
    def _msisdn(cls, v: str | None) -> str | None:
        if v is None:
            return None
        m = _MSISDN.match(v.replace(" ", "").replace("-", ""))
        if m is None:
            raise ValueError("not a Bangladeshi mobile number (01XXXXXXXXX)")
        return "88" + m.group(1)

    @field_validator("fcm_tokens")
    @classmethod
    def _tokens(cls, v: list[str]) -> list[str]:
        if any(not t or len(t) > 4096 or not t.isprintable() or " " in t for t in v):
            raise ValueError("FCM registration tokens are non-empty printable strings without spaces")
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _addresses(self) -> NotificationPreferencesBody:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        needs = {
            "push": self.fcm_tokens,
            "web_push": self.web_push_subscriptions,
            "sms": self.msisdn,
            "email": self.email,
        }
        missing = [c for c in self.channels if not needs[c]]
        if missing:
            raise ValueError(f"channels without an address: {', '.join(missing)}")
        return self

    def to_preferences(self, user_id: str) -> Preferences:
        q = self.quiet_hours
        return Preferences(
            user_id=user_id,
            language=self.language,
            channels=tuple(self.channels),
            quiet_start=time.fromisoformat(q.start) if q else None,
            quiet_end=time.fromisoformat(q.end) if q else None,
            email=self.email,
            msisdn=self.msisdn,
            fcm_tokens=tuple(self.fcm_tokens),
            web_push=tuple(
                WebPushSubscription(s.endpoint, s.keys.p256dh, s.keys.auth) for s in self.web_push_subscriptions
            ),
        )


@bp.get("/me/notification-preferences")
@api(signed_in=True)
async def show(request: Request) -> HTTPResponse:
    user = _buyer(request)
    if isinstance(user, HTTPResponse):
        return user
    return json((await _c(request).notification_prefs.get(user)).to_json())


@bp.put("/me/notification-preferences")
@api(body=NotificationPreferencesBody, signed_in=True)
async def replace(request: Request, body: NotificationPreferencesBody) -> HTTPResponse:
    user = _buyer(request)
    if isinstance(user, HTTPResponse):
        return user
    saved = await _c(request).notification_prefs.put(body.to_preferences(user))
    return json(saved.to_json())
