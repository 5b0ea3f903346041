"""Reading the leaderboards (``projections.leaderboards_redis``) in the shape clients get:
``[{"rank", "user_id", "name", "score"}]``, best first. Coins and quiz points are integers; a buyers board's
score is taka (the set holds paisa). ``redis`` is an asyncio Redis client with ``decode_responses``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.leaderboards_redis import names_key

TOP = 10  # what ``leaderboard_update`` carries


def fallback_name(user_id: str) -> str:
    """The name a gift shows for a sender without one in their token (interfaces.http.coins)."""
    return f"user-{user_id[:6]}"


def entries(ranked: Sequence[tuple[str, float]], names: Sequence[str | None], taka: bool) -> list[dict[str, Any]]:
    return [
        {
            "rank": i + 1,
            "user_id": uid,
            "name": name or fallback_name(uid),
            "score": round(score / 100, 2) if taka else int(score),
        }
        for i, ((uid, score), name) in enumerate(zip(ranked, names, strict=True))
    ]


async def read_boards(redis: Any, boards: Sequence[tuple[str, bool]], limit: int) -> list[list[dict[str, Any]]]:
    """``boards``: (sorted set key, scores in paisa?) → each board's top ``limit`` entries, in two round trips."""
    async with redis.pipeline(transaction=False) as pipe:
        for key, _ in boards:
            pipe.zrevrange(key, 0, limit - 1, withscores=True)
        tops = await pipe.execute()
    users = sorted({uid for top in tops for uid, _ in top})
    got = await redis.hmget(names_key(), users) if users else []
    names = dict(zip(users, got, strict=True))
    return [entries(top, [names.get(uid) for uid, _ in top], taka) for top, (_, taka) in zip(tops, boards, strict=True)]
