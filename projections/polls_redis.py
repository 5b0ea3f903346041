"""Redis ``STREAM_POLLS:{stream_id}`` (a show's polls, oldest first) and ``STREAM_OPEN_POLLS:{stream_id}`` (the
open ones, poll id → the poll as a late joiner's ``stream_state`` shows it), from Poll events.

Votes change neither (their counts live with the aggregate and in ``POLL_TALLY``); every event still passes the
version guard under ``PROJ:polls:{poll_id}``, so a redelivered event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from projections.ports import GuardedRedis


def polls_key(stream_id: str) -> str:
    return f"STREAM_POLLS:{stream_id}"


def open_polls_key(stream_id: str) -> str:
    return f"STREAM_OPEN_POLLS:{stream_id}"


def ops_for(e: Envelope) -> list[list[Any]]:
    sid, pid, d = str(e.stream_id or e.payload.get("stream_id")), str(e.aggregate_id), e.payload
    if e.type == "Poll.Opened":
        poll = {
            "poll_id": pid,
            "stream_id": sid,
            "question": d["question"],
            "question_bn": d.get("question_bn"),
            "options": d["options"],
            "allow_change": d["allow_change"],
            "closes_at": d["closes_at"],
            "status": "open",
        }
        return [
            ["ZADD", polls_key(sid), "NX", e.occurred_at.timestamp(), pid],
            ["HSET", open_polls_key(sid), pid, json.dumps(poll, ensure_ascii=False)],
        ]
    if e.type == "Poll.Closed":
        return [["HDEL", open_polls_key(sid), pid]]
    return []


class PollsRedis:
    name = "polls"
    topics = ("domain",)

    def __init__(self, redis: GuardedRedis) -> None:
        self._redis = redis

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        for e in envelopes:
            if not e.type.startswith("Poll.") or e.aggregate_version is None:
                continue
            ops = ops_for(e)
            if ops and await self._redis.apply_if_newer(f"PROJ:polls:{e.aggregate_id}", e.aggregate_version, ops):
                applied += 1
        return applied

    async def reset(self) -> None:
        await self._redis.delete_matching(["STREAM_POLLS:*", "STREAM_OPEN_POLLS:*", "PROJ:polls:*"])
