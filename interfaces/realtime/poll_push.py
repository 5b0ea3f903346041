"""Live polls in the room (issue 14): ``poll_vote`` from viewers, ``poll_started`` / ``poll_ended`` from the log,
``poll_results_update`` coalesced like the viewer counts, and the open polls of a late joiner's ``stream_state``.

``poll_vote`` is a command on the poll (``PollService.vote``: one vote per viewer, decided from the event store);
its ack is ``{ok, poll_id, option_id}``. The tally each accepted vote leaves in ``POLL_TALLY`` is read by
``PollRoom.tick`` a few times a second (``fanout_max_fps``) for the open polls of the rooms this process serves,
and sent to its own viewers only when the poll's version moved: latest tally wins, one frame per poll per tick,
however many votes arrived in between.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from pydantic import Field, StrictStr

from application.envelope import Envelope
from domain.errors import DomainError
from interfaces.realtime.context import Conn, Refused, Services
from interfaces.realtime.room_ticker import room_of
from interfaces.realtime.schemas import SCHEMAS, Payload, Uuid
from projections.polls_redis import open_polls_key

log = logging.getLogger(__name__)


class PollVote(Payload):
    poll_id: Uuid
    option_id: StrictStr = Field(min_length=1, max_length=16)


SCHEMAS["poll_vote"] = PollVote


async def poll_vote(svc: Services, sid: str, conn: Conn, p: PollVote) -> dict[str, Any]:
    if not conn.identity.can_write:
        raise Refused("auth_required")
    room: PollRoom = svc.polls
    try:
        out = await room.service().vote(UUID(p.poll_id), conn.identity.user_id, p.option_id)
    except DomainError as exc:
        raise Refused(exc.code, **exc.details) from None
    return {
        "ok": True,
        "poll_id": p.poll_id,
        "option_id": p.option_id,
        "changed": out["changed"],
        "total_votes": out["total_votes"],
    }


class PollRoom:
    def __init__(
        self,
        redis: Any,
        sio: Any,
        namespace: str,
        tallies: Any,
        rooms: Callable[[], list[str]],
        service: Callable[[], Any],
        fps: float,
    ) -> None:
        self._r = redis
        self._sio = sio
        self._ns = namespace
        self._tallies = tallies
        self._rooms = rooms  # the shows this process has viewers in
        self.service = service
        self._period = 1.0 / max(fps, 0.1)
        self.open: dict[str, dict[str, dict[str, Any]]] = {}  # stream → poll id → poll (as pushed)
        self._known: dict[str, float] = {}  # stream → when its open polls were read from Redis
        self._sent: dict[str, int] = {}  # poll → version last sent
        self.frames = 0

    # ---- from the log (DomainPusher) ---------------------------------------------------------------------
    def pushed(self, e: Envelope) -> tuple[str, str, dict[str, Any]] | None:
        sid, pid, d = str(e.stream_id), str(e.aggregate_id), e.payload
        if e.type == "Poll.Opened":
            poll = {
                "poll_id": pid,
                "question": d["question"],
                "question_bn": d.get("question_bn"),
                "options": d["options"],
                "allow_change": d["allow_change"],
                "closes_at": d["closes_at"],
                "status": "open",
            }
            self.open.setdefault(sid, {})[pid] = poll
            return sid, "poll_started", poll
        if e.type == "Poll.Closed":
            self.open.get(sid, {}).pop(pid, None)
            self._sent.pop(pid, None)
            return (
                sid,
                "poll_ended",
                {
                    "poll_id": pid,
                    "status": "closed",
                    "reason": d["reason"],
                    "options": d["results"],
                    "total_votes": d["total_votes"],
                },
            )
        return None

    # ---- a late joiner ----------------------------------------------------------------------------------
    async def open_polls(self, stream_id: str) -> list[dict[str, Any]]:
        """The show's open polls with their current results (for ``stream_state``)."""
        if time.monotonic() - self._known.get(stream_id, -1e9) > 5.0:  # learnt before this process started
            raw = await self._r.hgetall(open_polls_key(stream_id))
            known = self.open.setdefault(stream_id, {})
            for pid, doc in raw.items():
                known.setdefault(pid, {k: v for k, v in json.loads(doc).items() if k != "stream_id"})
            self._known[stream_id] = time.monotonic()
        polls = list(self.open.get(stream_id, {}).values())
        tallies = await self._tallies.read([p["poll_id"] for p in polls])
        return [{**p, **(tallies.get(p["poll_id"], (0, {"options": [], "total_votes": 0}))[1])} for p in polls]

    # ---- coalesced results ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:
                log.exception("poll tick failed")
            await asyncio.sleep(max(0.0, self._period - (time.monotonic() - started)))

    async def tick(self) -> None:
        served = set(self._rooms())
        polls = [(sid, pid) for sid, ps in self.open.items() if sid in served for pid in ps]
        if not polls:
            return
        tallies = await self._tallies.read([pid for _, pid in polls])
        for sid, pid in polls:
            got = tallies.get(pid)
            if got is None or self._sent.get(pid, -1) >= got[0]:
                continue
            self._sent[pid] = got[0]
            self.frames += 1
            await self._sio.emit(
                "poll_results_update",
                {"stream_id": sid, "poll_id": pid, **got[1]},
                room=room_of(sid),
                namespace=self._ns,
                ignore_queue=True,
            )
