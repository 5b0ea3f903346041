"""``leaderboard_update`` (issue 14 part 5): each show's boards (gifts, quiz, buyers) pushed to the room's viewers,
coalesced like the viewer counts (ADR 0012): once per ``fanout_max_fps`` tick this process reads the top ten of
every board of the rooms it serves (two Redis round trips for all of them) and sends a board to its own viewers
only when its top ten differ from what it last sent them; an empty board is never sent. However many gifts land
in a tick, a viewer gets at most one frame per board per tick.

Payload: ``{"stream_id", "board", "entries": [{"rank", "user_id", "name", "score"}]}`` (top ten, best first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from interfaces.realtime.room_ticker import room_of
from projections.leaderboard_queries import TOP, read_boards
from projections.leaderboards_redis import BOARDS, show_key

log = logging.getLogger(__name__)


class LeaderboardRoom:
    def __init__(self, redis: Any, sio: Any, namespace: str, rooms: Callable[[], list[str]], fps: float) -> None:
        self._r = redis
        self._sio = sio
        self._ns = namespace
        self._rooms = rooms  # the shows this process has viewers in
        self._period = 1.0 / max(fps, 0.1)
        self._sent: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (stream, board) → entries last sent
        self.frames = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.tick()
            except Exception:  # Redis hiccup: skip a frame, never kill the loop
                log.exception("leaderboard tick failed")
            await asyncio.sleep(max(0.0, self._period - (time.monotonic() - started)))

    async def tick(self) -> None:
        served = sorted(set(self._rooms()))
        for gone in [k for k in self._sent if k[0] not in served]:
            del self._sent[gone]  # a room this process no longer serves: start afresh if viewers come back
        if not served:
            return
        pairs = [(sid, board) for sid in served for board in BOARDS]
        tops = await read_boards(self._r, [(show_key(sid, board), board == "buyers") for sid, board in pairs], TOP)
        for (sid, board), entries in zip(pairs, tops, strict=True):
            if not entries or self._sent.get((sid, board)) == entries:
                continue
            self._sent[(sid, board)] = entries
            self.frames += 1
            await self._sio.emit(
                "leaderboard_update",
                {"stream_id": sid, "board": board, "entries": entries},
                room=room_of(sid),
                namespace=self._ns,
                ignore_queue=True,
            )
