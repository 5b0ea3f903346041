"""The stream follows its video: media events become commands on the LiveStream aggregate.

- the first published segment of a scheduled show starts it (the host went live from the encoder);
- an interrupted ingest marks the live show's video interrupted; a resumed ingest clears it;
- a live show whose media events stop for ``silence_s`` (the media process died: it cannot say so) is marked
  interrupted by ``sweep_silent``, and its next segment clears it again.
Every decision is idempotent (the aggregate ignores what already holds), so redelivered events change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from application.envelope import Envelope
from application.streams import StreamService
from domain.errors import StreamNotFound
from domain.live_stream import LiveStream


class MediaPolicy:
    def __init__(
        self, writer: BatchWriter, streams: StreamService, *, clock: Callable[[], datetime], silence_s: float = 15.0
    ) -> None:
        self._writer = writer
        self._streams = streams
        self._clock = clock
        self._silence = silence_s
        self._last_seen: dict[UUID, datetime] = {}  # stream -> when its last media event was handled

    async def sweep_silent(self) -> list[UUID]:
        """Streams gone quiet for ``silence_s``: their video is marked interrupted (once)."""
        now, quiet = self._clock(), []
        for sid, seen in list(self._last_seen.items()):
            if (now - seen).total_seconds() >= self._silence:
                del self._last_seen[sid]
                if await self._mark(sid, interrupted=True, reason="no_media_events"):
                    quiet.append(sid)
        return quiet

    async def handle(self, e: Envelope) -> str | None:
        """→ what changed ("started", "interrupted", "resumed") or None."""
        if not e.stream_id or not e.type.startswith("media."):
            return None
        sid = UUID(e.stream_id)
        if e.type in ("media.ingest_stopped", "media.ingest_failed", "media.recording_ready"):
            self._last_seen.pop(sid, None)  # a show that ended cleanly is not "silent"
            return None
        self._last_seen[sid] = self._clock()
        if e.type == "media.segment_published":
            return await self._start_if_scheduled(sid) or await self._mark(sid, interrupted=False, reason="")
        if e.type == "media.ingest_interrupted":
            return await self._mark(sid, interrupted=True, reason=str(e.payload.get("reason") or "no_input"))
        if e.type == "media.ingest_started" and e.payload.get("resumed"):
            return await self._mark(sid, interrupted=False, reason="")
        return None

    async def _start_if_scheduled(self, sid: UUID) -> str | None:
        def status(uow: UnitOfWork) -> str:
            return str(uow.get(sid).status)

        if await self._writer.submit(status, not_found=_missing) != "scheduled":
            return None
        await self._streams.start(sid)
        return "started"

    async def _mark(self, sid: UUID, *, interrupted: bool, reason: str) -> str | None:
        now = self._clock()

        def decide(uow: UnitOfWork) -> str | None:
            stream: LiveStream = uow.get(sid)
            if interrupted:
                return "interrupted" if stream.video_interrupted_by(now=now, reason=reason) else None
            return "resumed" if stream.video_resumed(now=now) else None

        return await self._writer.submit(decide, not_found=_missing)


def _missing(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))
