"""Multi-platform broadcasting: the show, as we encode it, forwarded to other RTMP services (Facebook Live,
YouTube ...) configured per stream.

What is forwarded is the top rendition of our own ladder, remuxed from its finished MPEG-TS segments into
FLV with PyAV (no second encode): H.264 with an IDR every 2 s (what those platforms ask for) and AAC, with
parameters that never change, so a host whose phone reconnects does not break the platforms' sessions.
Reading finished segment files (announced by ``media.segment_published``) instead of taking packets off
the encoders keeps forwarding out of the transcoder's way: a slow or dead destination can never hold up
encoding or the HLS output; it only costs up to one segment (2 s) of extra latency, which is small next to
the platforms' own.

Each destination has its own thread and its own story on the event log: ``forward_started`` (again, with
``resumed``, after each reconnect), ``forward_retrying`` with a growing back-off when the connection drops or
is refused, then ``forward_stopped`` at the end of the show, or ``forward_failed`` when it gave up. A
destination that fell behind (a stall, a reconnect) skips to the newest segment, so its viewers stay live;
timestamps stay continuous within a connection and start at 0 on each new one. URLs in events and logs are
redacted: the stream key is a secret of the host's platform account.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import av

from media.events import (
    FORWARD_FAILED,
    FORWARD_RETRYING,
    FORWARD_STARTED,
    FORWARD_STOPPED,
    INGEST_STARTED,
    SEGMENT_PUBLISHED,
)
from media.rtmp_gate import key_hint

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], None]
_SCHEMES = frozenset({"rtmp", "rtmps"})
_KNOWN = (
    ("facebook", "facebook"),
    ("fbcdn", "facebook"),
    ("youtube", "youtube"),
    ("twitch", "twitch"),
    ("tiktok", "tiktok"),
    ("instagram", "instagram"),
)


def redact_url(url: str) -> str:
    """``rtmp://host[:port]/app/<key 1a2b3c4d5e>``: no stream key, no credentials, no query string."""
    u = urlparse(url)
    host = u.hostname or ""
    if u.port:
        host = f"{host}:{u.port}"
    parts = [p for p in u.path.split("/") if p]
    if u.query:  # e.g. Facebook's "?s_bl=1&s_sc=...&s_sw=0&s_vt=api-s&a=...": treat it as part of the key
        parts = parts or [""]
        parts[-1] = f"{parts[-1]}?{u.query}"
    if len(parts) >= 2:
        path = "/".join(parts[:-1]) + f"/<key {key_hint(parts[-1])}>"
    elif parts:
        path = f"<key {key_hint(parts[0])}>"
    else:
        path = ""
    return f"{u.scheme}://{host}/{path}"


def destination_name(url: str) -> str:
    host = (urlparse(url).hostname or "").lower()
    for needle, name in _KNOWN:
        if needle in host:
            return name
    return host or "rtmp"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to forward: ``name`` for dashboards and events, ``url`` = ``rtmp(s)://host/app/stream-key``."""

    name: str
    url: str

    def __post_init__(self) -> None:
        if urlparse(self.url).scheme.lower() not in _SCHEMES:
            raise ValueError(f"forward destination {self.name!r}: only rtmp:// and rtmps:// are supported")

    @classmethod
    def parse(cls, spec: str | Destination) -> Destination:
        """A Destination, a URL, or ``name=URL``."""
        if isinstance(spec, Destination):
            return spec
        name, sep, url = spec.partition("=")
        if sep and "://" not in name:
            return cls(name.strip(), url.strip())
        return cls(destination_name(spec), spec)

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:  # never the key in a traceback or a log line
        return f"Destination({self.name!r}, {self.redacted!r})"


def parse_destinations(specs: Iterable[str | Destination]) -> list[Destination]:
    """Parse and give each destination a distinct name (``youtube``, ``youtube-2`` ...)."""
    out: list[Destination] = []
    seen: dict[str, int] = {}
    for spec in specs:
        d = Destination.parse(spec)
        seen[d.name] = seen.get(d.name, 0) + 1
        if seen[d.name] > 1:
            d = Destination(f"{d.name}-{seen[d.name]}", d.url)
        out.append(d)
    return out


@dataclass(frozen=True, slots=True)
class ForwardOptions:
    retry_initial_s: float = 1.0  # first back-off after a failure; doubles on each failure in a row
    retry_max_s: float = 15.0
    max_attempts: int | None = 40  # failures in a row before giving up (None: retry until the show ends)
    max_behind_s: float = 6.0  # further behind the newest segment than this: skip ahead to it
    lead_s: float = 0.5  # send up to this far ahead of real time (a file played faster is held back)
    open_timeout_s: float = 10.0
    io_timeout_s: float = 10.0  # a destination that accepts nothing for this long counts as dropped
    drain_s: float = 10.0  # at the end of the show: how long to wait for a destination to catch up


@dataclass(frozen=True, slots=True)
class _Published:
    sequence: int
    path: Path
    duration: float
    at: float  # time.monotonic() when it was published


class ForwardHub:
    """Watches the worker's events for the top rendition's segments; one ``Forwarder`` per destination."""

    def __init__(
        self,
        destinations: Sequence[str | Destination],
        *,
        out_dir: Path,
        emit: Emit,
        options: ForwardOptions = ForwardOptions(),
    ) -> None:
        self.destinations = parse_destinations(destinations)
        self.out_dir, self.emit, self.options = out_dir, emit, options
        self.rendition: str | None = None
        self.segments: list[_Published] = []
        self.ended = False
        self.stopping = threading.Event()
        self.changed = threading.Condition()
        self.forwarders = [Forwarder(self, d) for d in self.destinations]

    # --- fed by the worker -----------------------------------------------------------------------------
    def observe(self, type_: str, payload: dict[str, Any]) -> None:
        """Called with every media event, from any thread."""
        if type_ == INGEST_STARTED and self.rendition is None:
            video = [r for r in payload.get("renditions", []) if r.get("width")]
            if video:  # the ladder's first rung is its largest
                self.rendition = str(video[0]["name"])
        elif type_ == SEGMENT_PUBLISHED and payload.get("rendition") == self.rendition:
            with self.changed:
                self.segments.append(
                    _Published(
                        int(payload["sequence"]),
                        self.out_dir / payload["uri"],
                        float(payload["duration_s"]),
                        time.monotonic(),
                    )
                )
                self.changed.notify_all()

    def start(self) -> None:
        for f in self.forwarders:
            f.start()

    def end(self) -> None:
        """The show is over: every segment is published; forwarders send what is left, then close."""
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def stop(self) -> None:
        """Stop now, wherever each forwarder is."""
        self.stopping.set()
        self.end()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every forwarder; True when all of them are done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for f in self.forwarders:
            f.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(f.is_alive() for f in self.forwarders)

    # --- used by the forwarders ------------------------------------------------------------------------
    def wait_for(self, index: int) -> _Published | None:
        """The show's ``index``-th segment (0-based, publish order), or None once there will be none."""
        with self.changed:
            while len(self.segments) <= index:
                if self.ended or self.stopping.is_set():
                    return None
                self.changed.wait(0.5)
            return self.segments[index]

    def newest(self) -> int:
        with self.changed:
            return len(self.segments) - 1

    def seconds_after(self, index: int) -> float:
        with self.changed:
            return sum(s.duration for s in self.segments[index + 1 :])


class _Dropped(Exception):
    """The destination's connection failed (refused, reset, timed out); ``fatal``: retrying cannot help."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


# This FFmpeg cannot speak to the destination at all (e.g. rtmps:// without TLS): no point retrying.
_FATAL = (av.error.ProtocolNotFoundError, av.error.MuxerNotFoundError)


class Forwarder(threading.Thread):
    """One destination: connect, send segments as they come, reconnect with back-off when dropped."""

    def __init__(self, hub: ForwardHub, destination: Destination) -> None:
        super().__init__(name=f"forward-{destination.name}", daemon=True)
        self.hub, self.destination = hub, destination
        self.sessions = 0
        self.seconds = 0.0  # media seconds delivered
        self.bytes = 0
        self.skipped_s = 0.0
        self.connected = False
        self.next_index = 0  # the first segment not yet wholly sent
        self.seconds_since_connect = 0.0

    def _emit(self, type_: str, **payload: Any) -> None:
        self.hub.emit(type_, {"destination": self.destination.name, "url": self.destination.redacted, **payload})

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # our own bug: this destination ends, the show goes on
            log.exception("forwarding to %s failed", self.destination.name)
            error = _describe(exc, self.destination)
            self._emit(FORWARD_FAILED, error=f"internal_error: {error}", attempts=0)

    def _run(self) -> None:
        hub, opt = self.hub, self.hub.options
        failures, index = 0, 0
        last_error = ""
        while True:
            seg = hub.wait_for(index)
            if seg is None or hub.stopping.is_set():
                break
            newest = hub.newest()
            if newest > index and (failures or hub.seconds_after(index - 1) > opt.max_behind_s):
                # Reconnecting (or starting late): go live at the newest segment rather than replay what
                # the platform's viewers missed, which would keep them that far behind for the whole show.
                self.skipped_s += hub.seconds_after(index - 1) - hub.seconds_after(newest - 1)
                index = newest
                continue
            try:
                index = self._session(index)
                break  # the show ended (or we were stopped) with the connection healthy
            except _Dropped as exc:
                last_error = str(exc)
                if self.seconds_since_connect > 0:  # it had worked: this is a new run of failures
                    failures = 0
                failures += 1
                index = max(index, self.next_index)
                if exc.fatal or (opt.max_attempts is not None and failures >= opt.max_attempts):
                    self._emit(FORWARD_FAILED, error=last_error, attempts=failures)
                    return
                delay = min(opt.retry_max_s, opt.retry_initial_s * 2 ** (failures - 1))
                self._emit(FORWARD_RETRYING, error=last_error, attempt=failures, delay_s=round(delay, 3))
                log.warning(
                    "forward to %s (%s) dropped: %s; retrying in %.1f s",
                    self.destination.name,
                    self.destination.redacted,
                    last_error,
                    delay,
                )
                if hub.stopping.wait(delay) or hub.ended:  # the show ended while this one was down
                    break
        self._emit(
            FORWARD_STOPPED,
            reason="stopped" if hub.stopping.is_set() else "show_ended",
            connected=self.connected,
            sessions=self.sessions,
            seconds=round(self.seconds, 3),
            bytes=self.bytes,
            skipped_s=round(self.skipped_s, 3),
            last_error=last_error or None,
        )

    # --- one connection --------------------------------------------------------------------------------
    def _session(self, index: int) -> int:
        """Connect and send from segment ``index`` on; returns at the end of the show, raises _Dropped."""
        hub, opt, dest = self.hub, self.hub.options, self.destination
        self.next_index, self.seconds_since_connect, self.connected = index, 0.0, False
        try:
            out = av.open(dest.url, "w", format="flv", timeout=(opt.open_timeout_s, opt.io_timeout_s))
        except (av.error.FFmpegError, OSError) as exc:
            raise _Dropped(_describe(exc, dest), fatal=isinstance(exc, _FATAL)) from None
        try:
            streams: dict[int, Any] = {}
            shift = 0.0  # output time = input time - shift: 0 at the start, continuous within the session
            wall0 = 0.0
            while True:
                seg = hub.wait_for(index)
                if seg is None or hub.stopping.is_set():
                    self._close(out)
                    return index
                newest = hub.newest()
                if streams and newest > index and hub.seconds_after(index - 1) > opt.max_behind_s:
                    skipped = hub.seconds_after(index - 1) - hub.seconds_after(newest - 1)
                    self.skipped_s += skipped
                    shift += skipped
                    index = newest
                    continue
                with av.open(str(seg.path)) as c:
                    if not streams:  # the codec parameters (SPS/PPS, AAC config) come from our encoders
                        streams = {
                            s.index: out.add_stream_from_template(s) for s in c.streams if s.type in ("video", "audio")
                        }
                    packets = [
                        (p.stream.index, p)
                        for p in c.demux()
                        if p.dts is not None and p.pts is not None and p.stream.index in streams
                    ]
                if not packets:
                    index = self.next_index = index + 1
                    continue
                if not self.connected:
                    try:  # PyAV connects here, not in av.open: only now is the destination known to be there
                        out.start_encoding()
                    except (av.error.FFmpegError, OSError) as exc:
                        raise _Dropped(_describe(exc, dest), fatal=isinstance(exc, _FATAL)) from None
                    shift = min(dts_seconds(p) for _, p in packets)
                    # Real time runs from when this segment was published: a reconnect that starts on a
                    # segment published a moment ago sends it at once instead of adding that much delay.
                    wall0 = seg.at
                    self.sessions += 1
                    self.connected = True
                    self._emit(
                        FORWARD_STARTED,
                        rendition=hub.rendition,
                        session=self.sessions,
                        resumed=self.sessions > 1,
                        from_sequence=seg.sequence,
                    )
                for stream_index, p in packets:
                    ahead = dts_seconds(p) - shift - (time.monotonic() - wall0) - opt.lead_s
                    if ahead > 0 and hub.stopping.wait(ahead):  # a file played out faster than real time
                        self._close(out)
                        return index
                    shift_packet(p, shift)
                    size = p.size
                    p.stream = streams[stream_index]
                    try:
                        out.mux(p)
                    except (av.error.FFmpegError, OSError) as exc:
                        raise _Dropped(_describe(exc, dest)) from None
                    self.bytes += size
                self.seconds += seg.duration
                self.seconds_since_connect += seg.duration
                index = self.next_index = index + 1
        except BaseException:
            self.connected = False
            with contextlib.suppress(Exception):
                out.close()
            raise

    def _close(self, out: Any) -> None:
        try:
            out.close()  # the FLV trailer; the platform sees the stream end cleanly
        except (av.error.FFmpegError, OSError) as exc:
            log.info("closing forward to %s: %s", self.destination.name, _describe(exc, self.destination))


def dts_seconds(p: av.Packet) -> float:
    assert p.dts is not None and p.time_base is not None
    return float(p.dts * p.time_base)


def shift_packet(p: av.Packet, seconds: float) -> None:
    """Move a demuxed packet ``seconds`` earlier (remuxing to a container that should start at 0)."""
    assert p.pts is not None and p.dts is not None and p.time_base is not None
    ticks = int(round(seconds / p.time_base))
    p.pts, p.dts = p.pts - ticks, p.dts - ticks


def _describe(exc: BaseException, dest: Destination) -> str:
    """An error message without the stream key (FFmpeg's messages include the URL)."""
    return str(exc).replace(dest.url, dest.redacted)
