"""The engagement optimizer's arithmetic: a show's minutes from its log, and the next move to suggest to the host.

Why minutes of event time: a decision must be explainable and replayable, so it is a function of the minutes
the log recorded (viewers, chat, reactions, purchase intents, orders, chat sentiment), not of when a consumer
happened to read them. The live advisor (``infra.engagement_advisor``) closes a minute once the clock is past
it, the benchmark closes the minutes of generated shows one after another, both with ``advise``.

The rules (thresholds in ``Rules``, measured by ``bench/engagement.py``):
- run a poll when engagement dips: interactions per viewer in the minute at most ``dip_ratio`` of the mean of
  the previous ``window`` minutes, while viewers are still there;
- start the prepared flash sale when purchase intents peak: at least ``min_intents`` in the minute, at least
  ``peak_ratio`` times the previous minutes' mean and two standard deviations above it;
- answer the top repeated question once ``question_min`` messages asked it.
How often the same kind may come again is the aggregate's rule (``domain.show_engagement``).
Pure (numpy and the standard library): no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from application import interactions as it
from application import sentiment
from application.chat_themes import complaint_theme, question_key
from application.envelope import Envelope

_NS = uuid.UUID("9b1f3c5e-2d4a-4e6f-8a0b-7c9d1e2f3a4b")
COUNTERS = ("joins", "leaves", "messages", "positive", "neutral", "negative", "reactions", "intents", "orders")


@dataclass(frozen=True)
class Rules:
    window: int = 5  # previous minutes a minute is compared with
    dip_ratio: float = 0.5
    min_base: float = 0.5  # interactions per viewer a minute below which there is nothing to dip from
    peak_ratio: float = 3.0
    min_intents: int = 3
    question_min: int = 3


@dataclass
class Minute:
    """One minute of one show: counts, the sum of its messages' sentiment scores, viewers at its end."""

    minute: datetime
    viewers: int = 0
    joins: int = 0
    leaves: int = 0
    messages: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    reactions: int = 0
    intents: int = 0
    orders: int = 0
    score_sum: float = 0.0

    @property
    def interactions(self) -> int:
        return self.messages + self.reactions + self.intents

    @property
    def per_viewer(self) -> float:
        return self.interactions / max(self.viewers, 1)

    @property
    def score(self) -> float:
        return round(self.score_sum / self.messages, 3) if self.messages else 0.0

    def shares(self) -> dict[str, float]:
        n = self.messages
        return {k: round(getattr(self, k) / n, 3) if n else 0.0 for k in ("positive", "neutral", "negative")}


@dataclass(frozen=True)
class Facts:
    """What one envelope adds to its show's minute (counters, score) and to its chat themes."""

    counters: dict[str, int] = field(default_factory=dict)
    score: float = 0.0
    complaint: tuple[str, str] | None = None  # (theme, message)
    question: tuple[str, str] | None = None  # (key, message)


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def facts(e: Envelope) -> Facts | None:
    """None for an envelope the optimizer does not count."""
    d = e.payload
    match e.type:
        case it.PRESENCE_JOINED:
            return Facts({"joins": 1})
        case it.PRESENCE_LEFT:
            return Facts({"leaves": 1})
        case it.REACTION_ADDED:
            return Facts({"reactions": 1})
        case it.PURCHASE_INTENT:
            return Facts({"intents": 1})
        case "Order.Placed":
            return Facts({"orders": 1})
        case it.CHAT_SENT:
            text = str(d.get("message") or "")
            s = sentiment.score(text)
            lab = "positive" if s > sentiment.THRESHOLD else "negative" if s < -sentiment.THRESHOLD else "neutral"
            theme = complaint_theme(text, s)
            key = question_key(text)
            return Facts({"messages": 1, lab: 1}, s, (theme, text) if theme else None, (key, text) if key else None)
    return None


def series(rows: Sequence[Minute], until: datetime, *, viewers_before: int = 0, length: int = 6) -> list[Minute]:
    """The ``length`` minutes ending at ``until`` (rows may skip quiet minutes), viewers carried forward."""
    by = {r.minute: r for r in rows}
    out, viewers = [], viewers_before
    start = until - timedelta(minutes=length - 1)
    for r in sorted(rows, key=lambda r: r.minute):
        if r.minute < start:
            viewers += r.joins - r.leaves
    for i in range(length):
        m = start + timedelta(minutes=i)
        r = by.get(m) or Minute(m)
        viewers = max(0, viewers + r.joins - r.leaves)
        out.append(replace(r, viewers=viewers))
    return out


@dataclass(frozen=True)
class Suggestion:
    suggestion_id: str
    kind: str
    minute: datetime
    message: str
    message_bn: str
    evidence: dict[str, Any]
    action: dict[str, Any]


def suggestion_id(stream_id: str, kind: str, key: str) -> str:
    return str(uuid.uuid5(_NS, f"{stream_id}:{kind}:{key}"))


def advise(
    stream_id: str,
    minutes: Sequence[Minute],
    *,
    prepared_sale: Mapping[str, Any] | None = None,
    question: tuple[str, str, int] | None = None,
    rules: Rules | None = None,
) -> list[Suggestion]:
    """Suggestions at the last of ``minutes`` (consecutive, oldest first, from ``series``)."""
    rules = rules or Rules()
    out: list[Suggestion] = []
    if not minutes:
        return out
    now, prev = minutes[-1], minutes[-1 - rules.window : -1]
    at = now.minute.isoformat()
    if prev:
        rates = np.array([m.per_viewer for m in prev if m.viewers > 0] or [0.0])
        base = float(rates.mean())
        if now.viewers > 0 and base >= rules.min_base and now.per_viewer <= rules.dip_ratio * base:
            out.append(
                Suggestion(
                    suggestion_id(stream_id, "run_poll", at),
                    "run_poll",
                    now.minute,
                    f"Engagement fell to {now.per_viewer:.1f} interactions per viewer a minute from {base:.1f}:"
                    " run a poll to bring the chat back",
                    f"দর্শকদের সাড়া কমেছে (প্রতি মিনিটে দর্শকপ্রতি {base:.1f} থেকে {now.per_viewer:.1f}):"
                    " চ্যাট জমাতে একটি পোল চালান",
                    {
                        "per_viewer": round(now.per_viewer, 2),
                        "baseline_per_viewer": round(base, 2),
                        "viewers": now.viewers,
                        "interactions": now.interactions,
                        "window_minutes": len(prev),
                    },
                    {},
                )
            )
        intents = np.array([m.intents for m in prev], dtype=float)
        mean, std = float(intents.mean()), float(intents.std())
        if (
            prepared_sale is not None
            and now.intents >= rules.min_intents
            and now.intents >= rules.peak_ratio * mean
            and now.intents >= mean + 2 * std
        ):
            out.append(
                Suggestion(
                    suggestion_id(stream_id, "start_flash_sale", at),
                    "start_flash_sale",
                    now.minute,
                    f"{now.intents} purchase intents this minute against {mean:.1f} a minute before:"
                    f' start the prepared flash sale "{prepared_sale.get("sale_name", "")}" now',
                    f"এই মিনিটে {now.intents}টি কেনার আগ্রহ, আগে মিনিটে {mean:.1f}: প্রস্তুত ফ্ল্যাশ সেল"
                    f' "{prepared_sale.get("sale_name", "")}" এখনই শুরু করুন',
                    {
                        "intents": now.intents,
                        "baseline_intents": round(mean, 2),
                        "std_intents": round(std, 2),
                        "viewers": now.viewers,
                    },
                    {"sale_id": str(prepared_sale["sale_id"]), "product_id": prepared_sale.get("product_id")},
                )
            )
    if question is not None and question[2] >= rules.question_min:
        key, text, asked = question
        out.append(
            Suggestion(
                suggestion_id(stream_id, "answer_question", key),
                "answer_question",
                now.minute,
                f'{asked} messages asked "{text}": answer it on air',
                f'{asked}টি বার্তায় জানতে চাওয়া হয়েছে "{text}": লাইভে উত্তর দিন',
                {"asked": asked, "question_key": key},
                {"question": text},
            )
        )
    return out
