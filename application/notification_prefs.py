"""A person's notification preferences: which channels, in which language, where to (addresses), and quiet
hours in Dhaka time; and the rule that holds a message during them.

Preferences are a person's settings, not business state: they are not events of an aggregate but one row per
user, read by the notifications process when it addresses a message (``infra.notification_prefs_pg``). A user
without preferences gets the process's default channels, in Bangla and English as before (issue 20 part 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from application.notifications import DHAKA, Texts

CHANNELS = ("push", "web_push", "sms", "email")
LANGUAGES = ("bn", "en")
# A buyer's own order (shipped, delivered, a refund) goes out at any hour; reminders, "live now" and
# flash-sale alerts wait for the end of the quiet hours.
URGENT_KINDS = frozenset({"order_update"})


@dataclass(frozen=True)
class WebPushSubscription:
    """What the browser's ``PushManager.subscribe()`` gave the web app (``subscription.toJSON()``)."""

    endpoint: str
    p256dh: str  # the browser's ECDH public key, base64url
    auth: str  # the 16-byte auth secret, base64url

    def as_info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class Preferences:
    user_id: str
    language: str = "bn"
    channels: tuple[str, ...] = ("push",)
    quiet_start: time | None = None  # Dhaka wall-clock time; a window may span midnight (22:00-07:00)
    quiet_end: time | None = None
    email: str | None = None
    msisdn: str | None = None  # 8801XXXXXXXXX
    fcm_tokens: tuple[str, ...] = ()
    web_push: tuple[WebPushSubscription, ...] = ()
    updated_at: datetime | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "language": self.language,
            "channels": list(self.channels),
            "quiet_hours": None
            if self.quiet_start is None or self.quiet_end is None
            else {
                "start": self.quiet_start.strftime("%H:%M"),
                "end": self.quiet_end.strftime("%H:%M"),
                "time_zone": "Asia/Dhaka",
            },
            "email": self.email,
            "msisdn": self.msisdn,
            "fcm_tokens": list(self.fcm_tokens),
            "web_push_subscriptions": [s.as_info() for s in self.web_push],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Preferences:
        quiet = d.get("quiet_hours") or None
        return cls(
            user_id=str(d["user_id"]),
            language=d.get("language", "bn"),
            channels=tuple(d.get("channels") or ("push",)),
            quiet_start=time.fromisoformat(quiet["start"]) if quiet else None,
            quiet_end=time.fromisoformat(quiet["end"]) if quiet else None,
            email=d.get("email"),
            msisdn=d.get("msisdn"),
            fcm_tokens=tuple(d.get("fcm_tokens") or ()),
            web_push=tuple(
                WebPushSubscription(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"])
                for s in d.get("web_push_subscriptions") or ()
            ),
        )

    def texts_in_language(self, texts: Texts) -> tuple[str, str]:
        """(title, body) in the person's language."""
        return (texts.title_bn, texts.body_bn) if self.language == "bn" else (texts.title, texts.body)


def quiet_until(prefs: Preferences | None, kind: str, now: datetime) -> datetime | None:
    """When a message of ``kind`` may go out if ``now`` is inside the person's quiet hours (Dhaka time);
    None when it may go now."""
    if prefs is None or prefs.quiet_start is None or prefs.quiet_end is None or kind in URGENT_KINDS:
        return None
    start, end = prefs.quiet_start, prefs.quiet_end
    if start == end:
        return None
    local = now.astimezone(DHAKA)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_at = datetime.combine(local.date(), end, tzinfo=DHAKA)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


class PreferencesStore(Protocol):
    async def get(self, user_id: str) -> Preferences | None: ...

    async def put(self, prefs: Preferences, now: datetime) -> Preferences: ...


class NotificationPreferencesService:
    """What the HTTP API calls: a person reads and replaces their own preferences."""

    def __init__(self, store: PreferencesStore, clock: Any) -> None:
        self.store = store
        self.clock = clock

    async def get(self, user_id: str) -> Preferences:
        return await self.store.get(user_id) or Preferences(user_id=user_id)

    async def put(self, prefs: Preferences) -> Preferences:
        return await self.store.put(prefs, self.clock())


# ---- delivery receipts: what goes back into the log ------------------------------------------------------
RECEIPT_ACCEPTED = "Notification.DeliveryAccepted"
RECEIPT_FAILED = "Notification.DeliveryFailed"
RECEIPT_HELD = "Notification.DeliveryHeld"
