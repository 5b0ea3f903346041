"""A show's worker behind the ingest front door: publishes arrive as FLV over a private localhost port.

The front door (``ingest_door.py``) has already terminated RTMP and checked the stream key; it connects
here, proves with the per-worker token it gave the worker at spawn that it is the front door, says who
publishes (remote address, key hint), and then sends framed FLV:

    {"token": "...", "remote": "1.2.3.4:5678", "key_hint": "ab12..."}\\n     door → worker
    OK\\n  |  NO <reason>\\n                                                 worker → door
    b"D" + u32 length + FLV bytes                                            door → worker, repeated
    b"E" + u32 0                                                             the host unpublished cleanly

A connection that ends without ``E`` is a dropped publisher: the worker waits ``reconnect_grace_s`` for the
next one, exactly as with its own RTMP gate. One publisher at a time; a second is answered ``NO busy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass

import av

from media.errors import SourceUnavailable
from media.ingest import Opened, describe

log = logging.getLogger(__name__)

FRAME_DATA, FRAME_END = b"D", b"E"
_MAX_FRAME = 32 * 1024 * 1024
_HIGH_WATER = 8 * 1024 * 1024  # buffered FLV bytes the decoder has not read yet: push back on the door


@dataclass(frozen=True, slots=True)
class RelayListen:
    """Take this show's publishes from the ingest front door (``livecommerce ingest``)."""

    token: str
    host: str = "127.0.0.1"
    port: int = 0


class BytePipe:
    """Bytes from the event loop to PyAV's reading thread (a file-like object with ``read``)."""

    def __init__(self, read_timeout_s: float, stop: threading.Event | None = None) -> None:
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._closed = False
        self.read_timeout_s = read_timeout_s
        self.stop = stop

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, data: bytes) -> None:
        with self._cond:
            if not self._closed:
                self._buf += data
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def read(self, n: int = -1) -> bytes:
        deadline = time.monotonic() + self.read_timeout_s
        with self._cond:
            while not self._buf and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0 or (self.stop is not None and self.stop.is_set()):
                    self._closed = True  # silent too long (or a stop): this publisher counts as gone
                    break
                self._cond.wait(min(0.25, left))
            if not self._buf:
                return b""
            n = len(self._buf) if n is None or n < 0 else n
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out


@dataclass(slots=True)
class RelaySession:
    remote: str
    key_hint: str
    pipe: BytePipe
    clean_end: bool = False
    ended: bool = False


class RelaySource:
    """The worker's ``InputSource`` for publishes relayed by the front door (kind ``rtmp``)."""

    kind = "rtmp"

    def __init__(
        self,
        listen: RelayListen,
        *,
        stream_id: str,
        publish_timeout_s: float | None = None,
        reconnect_grace_s: float = 10.0,
        read_timeout_s: float = 10.0,
        handshake_timeout_s: float = 5.0,
    ) -> None:
        self.listen, self.stream_id = listen, stream_id
        self.publish_timeout_s, self.reconnect_grace_s = publish_timeout_s, reconnect_grace_s
        self.read_timeout_s, self.handshake_timeout_s = read_timeout_s, handshake_timeout_s
        self.port = listen.port
        self.session: RelaySession | None = None  # the publisher being (or last) decoded
        self._arrivals: queue.Queue[RelaySession] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False  # the transcoder stopped waiting for publishers: refuse new ones
        self._current: RelaySession | None = None  # the connected publisher, decoded or queued
        self._server: asyncio.base_events.Server | None = None
        self._stop: threading.Event | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.listen.host, self.listen.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._current is not None:
            self._current.pipe.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: RelaySession | None = None
        try:
            try:
                line = await asyncio.wait_for(reader.readline(), self.handshake_timeout_s)
                hello = json.loads(line)
                token = str(hello["token"])
            except (TimeoutError, ValueError, KeyError, TypeError, ConnectionError):
                return
            if not hmac.compare_digest(token.encode(), self.listen.token.encode()):
                log.warning("relay connection with a wrong token refused")
                writer.write(b"NO bad_token\n")
                return
            with self._lock:
                if self._closed:
                    reason = "closing"
                elif self._current is not None and not self._current.ended and not self._current.pipe.closed:
                    reason = "busy"
                else:
                    reason = ""
                    session = RelaySession(
                        str(hello.get("remote") or "?"),
                        str(hello.get("key_hint") or ""),
                        BytePipe(self.read_timeout_s, self._stop),
                    )
                    self._current = session
                    self._arrivals.put(session)
            if session is None:
                writer.write(f"NO {reason}\n".encode())
                return
            writer.write(b"OK\n")
            await writer.drain()
            await self._pump(reader, session)
        except ConnectionError:
            pass
        finally:
            if session is not None:
                session.ended = True
                session.pipe.close()
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, s: RelaySession) -> None:
        while not s.pipe.closed:
            try:
                head = await reader.readexactly(5)
            except asyncio.IncompleteReadError:
                return  # the door closed the connection without an E frame: a dropped publisher
            kind, n = head[:1], int.from_bytes(head[1:], "big")
            if n > _MAX_FRAME:
                log.warning("relay frame of %d bytes refused", n)
                return
            data = await reader.readexactly(n) if n else b""
            if kind == FRAME_END:
                s.clean_end = True
                return
            if kind == FRAME_DATA:
                s.pipe.write(data)
                while s.pipe.buffered > _HIGH_WATER and not s.pipe.closed:
                    await asyncio.sleep(0.02)  # the decoder is behind: stop reading, TCP pushes back

    def next_input(self, first: bool, stop: threading.Event) -> Opened | None:
        """Block until a relayed publisher's stream is open; None when the wait is over."""
        self._stop = stop
        wait = self.publish_timeout_s if first else self.reconnect_grace_s
        deadline = None if wait is None else time.monotonic() + wait
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                with self._lock:
                    if self._arrivals.empty():
                        self._closed = True  # from now on a publisher gets "closing": the door starts anew
                        if first:
                            raise SourceUnavailable(f"no accepted RTMP publish within {wait:.0f} s")
                        return None
            try:
                s = self._arrivals.get(timeout=0.25 if left is None else max(0.01, min(0.25, left)))
            except queue.Empty:
                continue
            s.pipe.stop = stop
            try:
                container = av.open(s.pipe, format="flv", options={"analyzeduration": "1000000"})
            except av.error.FFmpegError as exc:
                log.info("relayed publisher %s gave no readable FLV: %s", s.remote, exc)
                s.pipe.close()
                continue
            self.session = s
            try:
                info = describe(container, self.kind, f"rtmp://<ingest>/<key {s.key_hint}>", remote=s.remote)
            except Exception:
                container.close()
                s.pipe.close()
                raise
            return Opened(container, info, live=True)
        with self._lock:
            self._closed = True
        return None

    def ended_cleanly(self) -> bool:
        s = self.session
        return bool(s and s.clean_end)
