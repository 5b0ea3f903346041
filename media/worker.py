"""``run_media_worker``: one live show's media plane, from ingest to recording, as one coroutine.

The CPU work (decode, the ladder, muxing) runs in a dedicated thread; the event loop keeps the RTMP gate
and the event sink going. Events from every thread are funnelled through one queue and published by one
task, so the sink sees them in the order they happened, and a slow or failing sink never stalls encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from application.envelope import Envelope
from infra.settings import Settings
from media.errors import IngestFailed
from media.events import INGEST_FAILED, INGEST_REFUSED, EventSink, media_event
from media.forwarding import Destination, ForwardHub, ForwardOptions
from media.highlights import Highlight, LogSource, collect_events, make_highlights, wants_highlights
from media.ingest import FileSource, RtmpListen, RtmpSource, StreamKeys
from media.ingest_relay import RelayListen, RelaySource
from media.options import InputSource, MediaOptions
from media.transcode import Transcoder

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerResult:
    reason: str  # end_of_input | unpublished | publisher_lost | input_error | ingest_failed | stopped
    out_dir: Path
    recording: dict[str, Any] | None  # the media.recording_ready payload
    events_dropped: int = 0
    highlights: tuple[Highlight, ...] = ()


class _EventPump:
    """Thread-safe ``emit``; one task publishes in order, retrying a failing sink a few times."""

    def __init__(
        self, sink: EventSink, stream_id: str, clock: Callable[[], datetime], *, backoff_s: float = 0.2
    ) -> None:
        self._sink, self._stream_id, self._clock, self._backoff_s = sink, stream_id, clock, backoff_s
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Envelope | None] = asyncio.Queue()
        self.dropped = 0

    def emit(self, type_: str, payload: dict[str, Any]) -> None:
        envelope = media_event(type_, self._stream_id, payload, self._clock())
        self._loop.call_soon_threadsafe(self._queue.put_nowait, envelope)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def run(self) -> None:
        healthy = True
        while (envelope := await self._queue.get()) is not None:
            # Retry while the sink was fine; once it has failed, one try per event until it recovers, so a
            # broker that stays down cannot make the end of the show wait for every event's retries.
            for attempt in range(4 if healthy else 1):
                try:
                    await self._sink.publish(envelope)
                    healthy = True
                    break
                except Exception:  # the sink's trouble must not stop the show
                    log.exception("publishing %s failed (attempt %d)", envelope.type, attempt + 1)
                    await asyncio.sleep(self._backoff_s * 2**attempt)
            else:
                self.dropped += 1
                healthy = False


async def run_media_worker(
    settings: Settings,
    stream_id: str,
    source: str | os.PathLike[str] | RtmpListen | RelayListen,
    sink: EventSink,
    keys: StreamKeys | None = None,
    *,
    options: MediaOptions | None = None,
    pace: bool = False,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
    forward_to: Sequence[str | Destination] = (),
    highlights: bool | Literal["auto"] = False,
    log_events: LogSource | None = None,
    listening: Callable[[int], None] | None = None,
) -> WorkerResult:
    """Run one show's media plane until its input ends (or ``stop`` is set); return what was recorded.

    ``source`` is a file path/URL, an ``RtmpListen`` to accept a publish whose key ``keys`` maps to
    ``stream_id``, or a ``RelayListen``: publishes relayed by the ingest front door, which checked the key
    (``listening(port)`` is told the private port it should connect to). ``pace=True`` plays a file out at
    real-time speed (a pre-recorded show going live).
    ``ready`` is set once the worker accepts input (for RTMP: the gate is listening). Raises the named
    ``IngestFailed`` subclass after publishing ``media.ingest_failed`` when the input is unusable.

    ``forward_to``: RTMP destinations (``rtmp://host/app/key``, or ``name=URL``) that get the show too
    (``media.forwarding``). ``highlights``: after the recording, cut highlights (``media.highlights``) from
    ``log_events`` (the show's envelopes, or a function called then that returns them); ``"auto"`` does so
    only when the log has the show's ``LiveStream.Ended`` with ``auto_generate_highlights``.
    """
    opt = options or MediaOptions()
    out_dir = Path(settings.media_root) / stream_id
    out_dir.mkdir(parents=True, exist_ok=True)
    url_base = f"{settings.playback_base_url.rstrip('/')}/{stream_id}"
    pump = _EventPump(sink, stream_id, clock)
    pump_task = asyncio.create_task(pump.run(), name=f"media-events-{stream_id}")
    hub = ForwardHub(forward_to, out_dir=out_dir, emit=pump.emit, options=opt.forward) if forward_to else None

    def emit(type_: str, payload: dict[str, Any]) -> None:
        pump.emit(type_, payload)
        if hub is not None:
            hub.observe(type_, payload)  # the top rendition's finished segments go to the forwarders

    stop_flag = threading.Event()
    watcher = asyncio.create_task(_watch(stop, stop_flag)) if stop is not None else None
    rtmp: RtmpSource | RelaySource | None = None
    src: InputSource
    if isinstance(source, RelayListen):
        rtmp = RelaySource(
            source,
            stream_id=stream_id,
            publish_timeout_s=opt.publish_timeout_s,
            reconnect_grace_s=opt.reconnect_grace_s,
            read_timeout_s=opt.read_timeout_s,
        )
        await rtmp.start()
        src = rtmp
        if listening is not None:
            listening(rtmp.port)
    elif isinstance(source, RtmpListen):
        if keys is None:
            raise ValueError("RTMP ingest needs a StreamKeys port to check stream keys")
        rtmp = RtmpSource(
            source,
            stream_id=stream_id,
            keys=keys,
            publish_timeout_s=opt.publish_timeout_s,
            reconnect_grace_s=opt.reconnect_grace_s,
            read_timeout_s=opt.read_timeout_s,
            on_refused=lambda reason, remote, hint: pump.emit(
                INGEST_REFUSED, {"reason": reason, "remote": remote, "key_hint": hint}
            ),
        )
        await rtmp.start()
        src = rtmp
    else:
        src = FileSource(source, pace=pace)
    # A live show's later worker (its host came back after the grace period, or the worker was restarted)
    # continues the show's numbering and recording instead of writing over them.
    transcoder = Transcoder(
        stream_id=stream_id,
        out_dir=out_dir,
        url_base=url_base,
        source=src,
        emit=emit,
        options=opt,
        stop=stop_flag,
        clock=clock,
        append=rtmp is not None,
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"media-{stream_id[:8]}")
    if hub is not None:
        hub.start()
    if ready is not None:
        ready.set()
    clips: list[Highlight] = []
    try:
        future = asyncio.get_running_loop().run_in_executor(executor, transcoder.run)
        try:
            summary = await asyncio.shield(future)
        except asyncio.CancelledError:
            stop_flag.set()  # let the thread close the playlists and write the recording, then go
            with contextlib.suppress(Exception):
                await future
            raise
        except IngestFailed as exc:
            pump.emit(INGEST_FAILED, {"error": exc.code, "message": str(exc), "source": src.kind})
            raise
        except Exception as exc:  # our own bug: still say so on the log before the caller sees it
            log.exception("media worker for %s failed", stream_id)
            pump.emit(INGEST_FAILED, {"error": "internal_error", "message": repr(exc), "source": src.kind})
            raise
        if hub is not None:
            await _finish_forwarding(hub, opt.forward, stop_now=False)
        if highlights and summary["recording"] is not None:
            clips = await _highlights(settings, stream_id, opt, highlights, log_events, pump.emit)
    finally:
        executor.shutdown(wait=False)
        if hub is not None:
            await _finish_forwarding(hub, opt.forward, stop_now=True)  # no-op when they are done
        if watcher is not None:
            watcher.cancel()
        if rtmp is not None:
            await rtmp.close()
        pump.close()
        await pump_task  # every event is out (or given up on) before the caller hears we are done
    return WorkerResult(summary["reason"], out_dir, summary["recording"], pump.dropped, tuple(clips))


async def _finish_forwarding(hub: ForwardHub, opt: ForwardOptions, *, stop_now: bool) -> None:
    """Let the forwarders send the end of the show (``drain_s`` at most), else stop them; before the event
    pump closes, so their last events are published."""
    if stop_now:
        hub.stop()
    else:
        hub.end()
        if await asyncio.to_thread(hub.join, opt.drain_s):
            return
        hub.stop()
    if not await asyncio.to_thread(hub.join, opt.io_timeout_s + 1.0):
        log.warning(
            "forwarders still busy at the end of the show: %s",
            [f.destination.name for f in hub.forwarders if f.is_alive()],
        )


async def _highlights(
    settings: Settings,
    stream_id: str,
    opt: MediaOptions,
    mode: bool | str,
    log_events: LogSource | None,
    emit: Callable[[str, dict[str, Any]], None],
) -> list[Highlight]:
    """Highlights at the end of the show; their trouble is logged, it does not fail the worker."""
    try:
        events = log_events() if callable(log_events) else log_events
        if inspect.isawaitable(events):
            events = await events
        envelopes = await collect_events(events or ())
        if mode == "auto" and not wants_highlights(envelopes, stream_id):
            return []
        return await make_highlights(
            settings,
            stream_id,
            envelopes,
            max_clips=opt.highlight_clips,
            clip_seconds=opt.highlight_seconds,
            rules=opt.highlight_rules,
            emit=emit,
        )
    except Exception:
        log.exception("highlights for %s failed", stream_id)
        return []


async def _watch(stop: asyncio.Event, flag: threading.Event) -> None:
    await stop.wait()
    flag.set()
