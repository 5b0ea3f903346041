"""What the notifications process manager says, and when: reminders, "stream starting", flash-sale alerts, and
a buyer's own order (fulfilment steps, return decisions).

Pure functions and the notifier port; the worker that reads the log and keeps jobs in PostgreSQL is
``infra.notifications``. Every text comes in English and Bangla, with times in Dhaka time (Asia/Dhaka, UTC+6)
and taka amounts grouped the South Asian way (৳1,20,000). Job ids are derived from what they are about (the
stream and the lead time, the sale), so an event seen twice plans the same job, never a second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

DHAKA = ZoneInfo("Asia/Dhaka")
REMINDER_LEADS = {"24h": timedelta(hours=24), "15m": timedelta(minutes=15)}
_NS = uuid.UUID("5f2e8c1a-0b9d-4e7f-a6c3-2d1b0e9f8a7c")
_BN_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
_BN_MONTHS = ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট", "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর")
_BN_DAYS = ("সোমবার", "মঙ্গলবার", "বুধবার", "বৃহস্পতিবার", "শুক্রবার", "শনিবার", "রবিবার")


def job_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_NS, ":".join(str(p) for p in parts))


def reminders_for(stream_id: str, start: datetime, seen_at: datetime) -> list[tuple[uuid.UUID, str, datetime]]:
    """(job id, lead, due time) of the reminders still ahead when the schedule was seen: a stream scheduled 20
    minutes ahead gets the 15-minute reminder only."""
    out = []
    for lead, delta in REMINDER_LEADS.items():
        due = start - delta
        if due > seen_at:
            out.append((job_id(stream_id, "reminder", lead), lead, due))
    return out


# ---- formatting -------------------------------------------------------------------------------------------
def bn_digits(text: str) -> str:
    return text.translate(_BN_DIGITS)


def _day_part_bn(hour: int) -> str:
    if 4 <= hour < 6:
        return "ভোর"
    if 6 <= hour < 12:
        return "সকাল"
    if 12 <= hour < 15:
        return "দুপুর"
    if 15 <= hour < 18:
        return "বিকাল"
    if 18 <= hour < 20:
        return "সন্ধ্যা"
    return "রাত"


def when_en(at: datetime) -> str:
    """``7:00 PM, Sunday 17 March (Dhaka time)``."""
    local = at.astimezone(DHAKA)
    hour = local.hour % 12 or 12
    return (
        f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}, {local.strftime('%A')} "
        f"{local.day} {local.strftime('%B')} (Dhaka time)"
    )


def when_bn(at: datetime) -> str:
    """``রবিবার, ১৭ মার্চ, সন্ধ্যা ৭:০০টায় (ঢাকা সময়)``."""
    local = at.astimezone(DHAKA)
    hour = local.hour % 12 or 12
    clock = bn_digits(f"{hour}:{local.minute:02d}")
    return (
        f"{_BN_DAYS[local.weekday()]}, {bn_digits(str(local.day))} {_BN_MONTHS[local.month - 1]}, "
        f"{_day_part_bn(local.hour)} {clock}টায় (ঢাকা সময়)"
    )


def taka(amount: Decimal | str | float, bangla: bool = False) -> str:
    """৳1,20,000 (lakh grouping); paisa only when there are any."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    whole, paisa = divmod(value, 1)
    digits = str(int(whole))
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    text = ",".join([*groups, tail]) + (f".{int(paisa * 100):02d}" if paisa else "")
    return "৳" + (bn_digits(text) if bangla else text)


# ---- messages ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Texts:
    title: str
    body: str
    title_bn: str
    body_bn: str


def reminder_texts(host: str | None, title: str, title_bn: str | None, start: datetime, lead: str) -> Texts:
    host_en, host_bn = host or "A host you follow", host or "আপনার ফলো করা হোস্ট"
    soon_en = "tomorrow" if lead == "24h" else "in 15 minutes"
    soon_bn = "আগামীকাল" if lead == "24h" else "১৫ মিনিট পর"
    return Texts(
        title=f"{host_en} goes live {soon_en}",
        body=f"“{title}” starts at {when_en(start)}.",
        title_bn=f"{host_bn} {soon_bn} লাইভে আসছেন",
        body_bn=f"“{title_bn or title}” শুরু হবে {when_bn(start)}।",
    )


def starting_texts(host: str | None, title: str, title_bn: str | None) -> Texts:
    host_en, host_bn = host or "A host you follow", host or "আপনার ফলো করা হোস্ট"
    return Texts(
        title=f"{host_en} is live now",
        body=f"“{title}” has started. Join now!",
        title_bn=f"{host_bn} এখন লাইভে",
        body_bn=f"“{title_bn or title}” শুরু হয়েছে। এখনই যোগ দিন!",
    )


def flash_sale_texts(
    sale_name: str, flash_price: Decimal | str, original_price: Decimal | str, end_time: datetime
) -> Texts:
    off = Decimal(0)
    if Decimal(str(original_price)) > 0:
        off = (1 - Decimal(str(flash_price)) / Decimal(str(original_price))) * 100
    pct = int(off.to_integral_value())
    return Texts(
        title=f"Flash sale: {sale_name} for {taka(flash_price)}",
        body=f"{pct}% off until {when_en(end_time)}. Limited stock!",
        title_bn=f"ফ্ল্যাশ সেল: {sale_name} মাত্র {taka(flash_price, bangla=True)}",
        body_bn=f"{bn_digits(str(pct))}% ছাড়, চলবে {when_bn(end_time)} পর্যন্ত। স্টক সীমিত!",
    )


_STEP_EN = {"packed": "is packed", "shipped": "is on its way", "delivered": "was delivered"}
_STEP_BN = {"packed": "প্যাক করা হয়েছে", "shipped": "পাঠানো হয়েছে", "delivered": "পৌঁছে গেছে"}


def order_update_texts(payload: dict[str, Any]) -> Texts:
    """The buyer's own order: a fulfilment step (``status``) or a return decision (``return_accepted``)."""
    ref = str(payload["order_id"])[:8].upper()
    if "return_accepted" not in payload:
        step = payload["status"]
        body_en, body_bn = f"Order {ref} {_STEP_EN[step]}.", f"অর্ডার {ref} {_STEP_BN[step]}।"
        if step == "shipped":
            body_en += f" Courier: {payload.get('courier')}, tracking number {payload.get('tracking_id')}."
            body_bn += f" কুরিয়ার: {payload.get('courier')}, ট্র্যাকিং নম্বর {payload.get('tracking_id')}।"
        if step == "delivered":
            body_en += " Not right? You can ask for a return within 7 days."
            body_bn += " সমস্যা থাকলে ৭ দিনের মধ্যে ফেরতের অনুরোধ করতে পারেন।"
        return Texts(
            title=f"Your order {_STEP_EN[step]}", body=body_en, title_bn=f"আপনার অর্ডার {_STEP_BN[step]}", body_bn=body_bn
        )
    if payload["return_accepted"]:
        amount = Decimal(str(payload.get("amount") or 0))
        return Texts(
            title="Your return was accepted",
            body=f"{taka(amount)} of order {ref} is being refunded.",
            title_bn="আপনার ফেরতের অনুরোধ গৃহীত হয়েছে",
            body_bn=f"অর্ডার {ref}-এর {taka(amount, bangla=True)} ফেরত দেওয়া হচ্ছে।",
        )
    note = payload.get("note")
    return Texts(
        title="Your return was not accepted",
        body=f"The seller declined the return of order {ref}." + (f" “{note}”" if note else ""),
        title_bn="আপনার ফেরতের অনুরোধ গৃহীত হয়নি",
        body_bn=f"বিক্রেতা অর্ডার {ref}-এর ফেরতের অনুরোধ গ্রহণ করেননি।" + (f" “{note}”" if note else ""),
    )


# ---- the notifier port ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient on one channel. ``delivery_id`` is stable across retries: providers that
    take an idempotency key (web-push topics, SMS gateways' client reference) get it, so a retry after a crash
    between sending and recording shows once on the phone."""

    delivery_id: str
    notification_id: str
    kind: str  # stream_reminder, stream_starting, flash_sale_alert, order_update
    channel: str  # push, sms, email
    recipient_id: str
    stream_id: str
    texts: Texts
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """A provider's answer to one send: which provider accepted it, and its id for the message."""

    provider: str
    provider_message_id: str | None = None


class DeliveryRefused(Exception):
    """The provider will never take this delivery (no address, an unregistered device token, a web-push
    subscription that is gone): it fails at once instead of being retried."""


class Notifier(Protocol):
    """Delivers one message (mobile or web push, SMS, e-mail); raises on failure so the worker retries later.
    May return the provider's receipt, which the worker records in the log."""

    async def send(self, message: OutgoingMessage) -> Receipt | None: ...
