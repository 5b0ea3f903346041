"""The RTMP front door: checks a publisher's stream key before any of its video reaches FFmpeg.

FFmpeg's RTMP listen mode accepts *any* stream name (it only logs "Unexpected stream"), and PyAV cannot see
the name either. So publishers connect here; the gate relays bytes both ways to FFmpeg's listener on a
private port, reads the client's RTMP chunk stream on the way, holds the ``publish`` command until
``lookup(key)`` says which show the key opens, and cuts the connection if it is not ours. It also notices a
clean ``FCUnpublish``/``deleteStream``, which is how we tell "the host ended the show" from "the phone lost
its connection" — FFmpeg reports both as the same I/O error.

What strangers can take is bounded (ADR 0019): at most ``max_connections`` connections at once (the publisher
and those waiting their turn) and ``max_per_ip`` from one address — more are closed at once; ``publish``
within ``publish_timeout_s``; the sniffer's buffers (``ChunkSniffer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from media.rtmp_chunks import ChunkSniffer, RtmpProtocolError

log = logging.getLogger(__name__)


def key_hint(key: str) -> str:
    """Enough to correlate attempts in logs and events without ever publishing the secret itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass(slots=True)
class Session:
    remote: str
    key_hint: str = ""
    authorized: bool = False
    clean_end: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


RefusedCallback = Callable[[str, str, str], None]  # (reason, remote, key_hint)


class RtmpGate:
    """Accepts publishers on ``host:port`` for one show, relaying accepted ones to ``backend_port``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        stream_id: str,
        backend_port: int,
        lookup: Callable[[str], Awaitable[str | None]],
        on_refused: RefusedCallback,
        publish_timeout_s: float = 10.0,
        backend_wait_s: float = 5.0,
        max_connections: int = 8,
        max_per_ip: int = 4,
    ) -> None:
        self.host, self.port, self.stream_id = host, port, stream_id
        self.max_connections, self.max_per_ip = max_connections, max_per_ip
        self._open: Counter[str] = Counter()  # connections per address
        self.refused_caps = 0
        self.backend_port = backend_port
        self._lookup, self._on_refused = lookup, on_refused
        self.publish_timeout_s, self.backend_wait_s = publish_timeout_s, backend_wait_s
        self._one_at_a_time = asyncio.Lock()  # FFmpeg's listener takes exactly one connection
        self._server: asyncio.base_events.Server | None = None
        self.session: Session | None = None  # the publisher FFmpeg is (or was last) reading from

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "?"
        remote = f"{peer[0]}:{peer[1]}" if peer else "?"
        if sum(self._open.values()) >= self.max_connections or self._open[ip] >= self.max_per_ip:
            self.refused_caps += 1
            writer.transport.abort()  # before any RTMP, and without an event: a flood is not news
            return
        self._open[ip] += 1
        try:
            try:
                await asyncio.wait_for(self._one_at_a_time.acquire(), self.publish_timeout_s)
            except TimeoutError:
                self._refuse("busy", remote, "", writer)
                return
            try:
                await self._relay(reader, writer, Session(remote))
            finally:
                self._one_at_a_time.release()
        finally:
            self._open[ip] -= 1
            if self._open[ip] <= 0:
                del self._open[ip]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Session) -> None:
        backend = await self._connect_backend()
        if backend is None:
            self._refuse("ingest_not_ready", s.remote, "", writer)
            return
        b_reader, b_writer = backend
        down = asyncio.create_task(_pump(b_reader, writer))
        try:
            reason = await self._pump_client(reader, b_writer, s)
            if reason:
                self._refuse(reason, s.remote, s.key_hint, writer)
        finally:
            down.cancel()
            for w in (b_writer, writer):
                w.close()
            s.ended.set()

    async def _pump_client(self, reader: asyncio.StreamReader, out: asyncio.StreamWriter, s: Session) -> str | None:
        """Relay client bytes; the refusal reason, or None when the publisher simply went away."""
        sniffer = ChunkSniffer()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout_s
        while True:
            timeout = None if s.authorized else max(0.0, deadline - loop.time())
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout)
            except TimeoutError:
                return "no_publish_in_time"
            except ConnectionError:
                return None
            if not data:
                return None
            base = sniffer.fed
            try:
                commands = sniffer.feed(data)
            except RtmpProtocolError as exc:
                log.info("rtmp protocol error from %s: %s", s.remote, exc)
                return "protocol_error"
            pos = 0
            for cmd in commands:
                if cmd.name == "play":
                    return "play_not_allowed"
                if cmd.name == "publish" and not s.authorized:
                    # Forward all but the publish message's last byte: FFmpeg cannot act on it yet.
                    held = cmd.end - base - 1
                    out.write(data[pos:held])
                    pos = held
                    key = str(cmd.args[2] if len(cmd.args) > 2 else "").split("?", 1)[0]
                    s.key_hint = key_hint(key)
                    stream_id = await self._lookup(key) if key else None
                    if stream_id is None:
                        return "unknown_stream_key"
                    if stream_id != self.stream_id:
                        return "key_for_another_stream"
                    s.authorized = sniffer.media_allowed = True
                    self.session = s
                elif cmd.name in ("FCUnpublish", "deleteStream") and s.authorized:
                    s.clean_end = True
            out.write(data[pos:])
            try:
                await out.drain()
            except ConnectionError:
                return None

    async def _connect_backend(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """FFmpeg re-opens its listener after each publisher; wait a moment for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.backend_wait_s
        while True:
            try:
                return await asyncio.open_connection("127.0.0.1", self.backend_port)
            except OSError:
                if loop.time() > deadline:
                    return None
                await asyncio.sleep(0.05)

    def _refuse(self, reason: str, remote: str, hint: str, writer: asyncio.StreamWriter) -> None:
        log.warning("refused RTMP publisher %s for stream %s: %s", remote, self.stream_id, reason)
        writer.close()
        self._on_refused(reason, remote, hint)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
