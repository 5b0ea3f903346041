"""Leaderboards (issue 14 part 5) in Redis sorted sets, from the domain log.

Keys (``prefix`` is empty for the live read model; a rebuild check replays into fresh prefixed keys):

- ``LB:show:{stream}:gifts``   coins each viewer gifted in the show (``CoinWallet.GiftSent.coins``)
- ``LB:show:{stream}:quiz``    quiz points each viewer scored in the show's quizzes (``Quiz.Ended.scores``)
- ``LB:show:{stream}:buyers``  paisa each buyer paid in the show: ``Order.Placed.total`` counted at
  ``Order.Paid``, less every ``Order.Refunded.amount``; a buyer whose paid total falls to zero leaves the board
- ``LB:host:{host profile}:all`` and ``LB:host:{host profile}:month:{YYYY-MM}``  a host's top fans: coins
  gifted to the host's shows, all time and per calendar month in Dhaka time (UTC+6, no daylight saving)
- ``LB:weekly:{YYYY-Www}``      coins gifted in all shows in the ISO week, Dhaka time
- ``LB:names`` (hash) user id → display name, from the gifts' ``from_name`` and the quizzes' ``display_name``
- ``LB:order:{order}`` (hash) an order in a show: buyer, show, total in paisa (what ``Order.Paid`` adds)

Scores are integers (coins, points, paisa), so any replay order sums to the same numbers: a rebuild from the
store (global order) and the live consumer (per-partition order) give identical sets (``digest``).

Every event passes a version guard under ``PROJ:leaderboards:{aggregate}``: a redelivered event changes nothing.
``!ORDER`` ops are resolved by the adapter's script from ``LB:order:{order}`` (see infra.redis_leaderboards).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from application.envelope import Envelope
from domain.host_profile import host_profile_id
from projections.ports import GuardedRedis

DHAKA = timezone(timedelta(hours=6), "Asia/Dhaka")
BOARDS = ("gifts", "quiz", "buyers")
TYPES = ("CoinWallet.GiftSent", "Quiz.Ended", "Order.Placed", "Order.Paid", "Order.Refunded")


def show_key(stream_id: str, board: str, prefix: str = "") -> str:
    return f"{prefix}LB:show:{stream_id}:{board}"


def host_key(host_profile: str, period: str, prefix: str = "") -> str:
    """``period``: ``all`` or ``month:{YYYY-MM}``."""
    return f"{prefix}LB:host:{host_profile}:{period}"


def weekly_key(week: str, prefix: str = "") -> str:
    return f"{prefix}LB:weekly:{week}"


def names_key(prefix: str = "") -> str:
    return f"{prefix}LB:names"


def order_key(order_id: str, prefix: str = "") -> str:
    return f"{prefix}LB:order:{order_id}"


def month_of(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(DHAKA).strftime("%Y-%m")


def week_of(at: datetime) -> str:
    year, week, _ = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(DHAKA).isocalendar()
    return f"{year}-W{week:02d}"


def paisa(amount: Any) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())


def host_of(host_id: str) -> str:
    """The id ``GET /hosts/:id`` uses for the show's host (its profile id, derived from the user id)."""
    return str(host_profile_id(host_id))


def ops_for(e: Envelope, prefix: str = "") -> list[list[Any]]:
    d = e.payload
    sid = str(d.get("stream_id") or e.stream_id or "")
    if e.type == "CoinWallet.GiftSent":
        user, coins, host = d["sender_id"], int(d["coins"]), host_of(str(d["host_id"]))
        return [
            ["ZINCRBY", show_key(sid, "gifts", prefix), coins, user],
            ["ZINCRBY", host_key(host, "all", prefix), coins, user],
            ["ZINCRBY", host_key(host, f"month:{month_of(e.occurred_at)}", prefix), coins, user],
            ["ZINCRBY", weekly_key(week_of(e.occurred_at), prefix), coins, user],
            ["HSET", names_key(prefix), user, d["from_name"]],
        ]
    if e.type == "Quiz.Ended" and sid:
        ops: list[list[Any]] = []
        for s in d.get("scores") or []:
            if int(s["score"]) > 0:
                ops.append(["ZINCRBY", show_key(sid, "quiz", prefix), int(s["score"]), s["user_id"]])
            if s.get("display_name"):
                ops.append(["HSET", names_key(prefix), s["user_id"], s["display_name"]])
        return ops
    oid = str(e.aggregate_id)
    if e.type == "Order.Placed" and sid:
        return [
            ["HSET", order_key(oid, prefix), "buyer", str(d["buyer_id"]), "stream", sid, "paisa", paisa(d["total"])]
        ]
    if e.type == "Order.Paid":
        return [["!ORDER", order_key(oid, prefix), f"{prefix}LB:show:", "", 1]]
    if e.type == "Order.Refunded":
        return [["!ORDER", order_key(oid, prefix), f"{prefix}LB:show:", paisa(d["amount"]), -1]]
    return []


class LeaderboardsRedis:
    name = "leaderboards"
    topics = ("domain",)

    def __init__(self, redis: GuardedRedis, prefix: str = "") -> None:
        self._redis = redis
        self.prefix = prefix

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for e in envelopes:
            if e.type not in TYPES or e.aggregate_version is None:
                continue
            ops = ops_for(e, self.prefix)
            if ops and await self._redis.apply_if_newer(
                f"{self.prefix}PROJ:leaderboards:{e.aggregate_id}", e.aggregate_version, ops
            ):
                applied += 1
        return applied

    async def reset(self) -> None:
        await self._redis.delete_matching([f"{self.prefix}LB:*", f"{self.prefix}PROJ:leaderboards:*"])


async def digest(redis: Any, prefix: str = "") -> tuple[str, int]:
    """A hash of every leaderboard sorted set under ``prefix`` (key without the prefix, members and scores in
    order) and how many sets there are: two read models with the same digest hold the same boards."""
    h = hashlib.sha256()
    keys = sorted(
        [
            k
            async for k in redis.scan_iter(match=f"{prefix}LB:*", count=1000)
            if ":order:" not in k and not k.endswith("LB:names")
        ]
    )
    for k in keys:
        h.update(k[len(prefix) :].encode())
        for member, score in await redis.zrange(k, 0, -1, withscores=True):
            h.update(f"|{member}={score!r}".encode())
        h.update(b"\n")
    return h.hexdigest(), len(keys)
