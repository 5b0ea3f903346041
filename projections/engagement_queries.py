"""Reads of the engagement read model (``engagement_pg``): the sentiment section of a show's analytics, its
suggestions, and what the advisor needs (its minutes, top question, prepared flash sale, shows on air)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from application.engagement import Minute
from projections.analytics_queries import Reader

TOP_COMPLAINTS = 5


def _iso(t: datetime) -> str:
    return t.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


async def minutes(db: Reader, stream_id: str, since: datetime | None = None) -> list[Minute]:
    rows = await db.fetch(
        "SELECT minute, joins, leaves, messages, positive, neutral, negative, reactions, intents, orders, score_sum"
        " FROM engagement_minutes WHERE stream_id = %s AND (%s::timestamp IS NULL OR minute >= %s)"
        " ORDER BY minute",
        (stream_id, since, since),
    )
    return [
        Minute(
            r["minute"].replace(tzinfo=UTC),
            0,
            *(
                int(r[k])
                for k in (
                    "joins",
                    "leaves",
                    "messages",
                    "positive",
                    "neutral",
                    "negative",
                    "reactions",
                    "intents",
                    "orders",
                )
            ),
            float(r["score_sum"]),
        )
        for r in rows
    ]


async def viewers_before(db: Reader, stream_id: str, before: datetime) -> int:
    row = (
        await db.fetch(
            "SELECT COALESCE(sum(joins - leaves), 0) AS n FROM engagement_minutes WHERE stream_id = %s AND minute < %s",
            (stream_id, before),
        )
    )[0]
    return max(0, int(row["n"]))


async def top_complaints(db: Reader, stream_id: str, limit: int = TOP_COMPLAINTS) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT key, example, count FROM engagement_themes WHERE stream_id = %s"
        " AND kind = 'complaint' ORDER BY count DESC, last_at DESC, key LIMIT %s",
        (stream_id, limit),
    )
    return [{"theme": r["key"], "count": int(r["count"]), "example": r["example"]} for r in rows]


async def top_question(db: Reader, stream_id: str) -> tuple[str, str, int] | None:
    rows = await db.fetch(
        "SELECT key, example, count FROM engagement_themes WHERE stream_id = %s"
        " AND kind = 'question' ORDER BY count DESC, last_at DESC, key LIMIT 1",
        (stream_id,),
    )
    return (rows[0]["key"], rows[0]["example"], int(rows[0]["count"])) if rows else None


async def prepared_sale(db: Reader, stream_id: str) -> dict[str, Any] | None:
    rows = await db.fetch(
        "SELECT sale_id::text AS sale_id, product_id, sale_name FROM engagement_sales"
        " WHERE stream_id = %s AND status = 'scheduled' ORDER BY start_time, sale_id LIMIT 1",
        (stream_id,),
    )
    return dict(rows[0]) if rows else None


async def shows_on_air(db: Reader, since: datetime) -> list[str]:
    """Shows with minutes since ``since`` that have not ended."""
    rows = await db.fetch(
        "SELECT DISTINCT m.stream_id::text AS sid FROM engagement_minutes m WHERE m.minute >= %s"
        " AND NOT EXISTS (SELECT 1 FROM engagement_shows s WHERE s.stream_id = m.stream_id)",
        (since.replace(tzinfo=None),),
    )
    return [r["sid"] for r in rows]


def overall(rows: list[Minute]) -> dict[str, Any]:
    n = sum(m.messages for m in rows)
    share = {
        k: round(sum(getattr(m, k) for m in rows) / n, 3) if n else 0.0 for k in ("positive", "neutral", "negative")
    }
    return {"messages": n, "score": round(sum(m.score_sum for m in rows) / n, 3) if n else 0.0, **share}


async def sentiment_section(db: Reader, stream_id: str) -> dict[str, Any]:
    """``chat_sentiment`` overall, ``sentiment_timeline`` per minute with chat, ``top_complaints``."""
    rows = await minutes(db, stream_id)
    return {
        "chat_sentiment": overall(rows),
        "sentiment_timeline": [
            {
                "timestamp": _iso(m.minute.replace(tzinfo=None)),
                "messages": m.messages,
                "positive": m.positive,
                "neutral": m.neutral,
                "negative": m.negative,
                "score": m.score,
            }
            for m in rows
            if m.messages
        ],
        "top_complaints": await top_complaints(db, stream_id),
    }


async def suggestions(db: Reader, stream_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT suggestion_id::text AS suggestion_id, kind, minute, message, message_bn, evidence, action, made_at,"
        " position FROM engagement_suggestions WHERE stream_id = %s ORDER BY made_at DESC, suggestion_id LIMIT %s",
        (stream_id, limit),
    )
    return [{**r, "minute": _iso(r["minute"]), "made_at": _iso(r["made_at"])} for r in rows]
