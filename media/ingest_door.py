"""The ingest front door: one public RTMP URL for every show; the stream key says which show a publish is.

``livecommerce ingest`` listens once on ``rtmp_base_url``. For each publisher it plays the server side of RTMP
up to ``publish`` (``rtmp_server.py``), looks the key up (``StreamKeys``: scheduled or live shows only), and
only then routes the connection to that show's media worker — a ``livecommerce media --from-ingest``
subprocess, started on the show's first publish — as framed FLV over a private localhost port
(``ingest_relay.py``). The worker does everything it does for its own RTMP gate (ladder, segments, quality,
recording, reconnect grace, events); the door only refuses (``media.ingest_refused``) and routes.

Refused, with the connection closed after an RTMP ``onStatus`` error: a wrong/ended/unknown key
(``unknown_stream_key``), a second publisher for a show that has one (``busy``), no ``publish`` in time
(``no_publish_in_time``), ``play`` (``play_not_allowed``), broken RTMP (``protocol_error``), a worker that
would not start (``ingest_not_ready``). A host whose connection dropped and who comes back within the
worker's grace period reaches the same worker, so the show simply continues.

The door is public, so what a stranger can take is bounded (ADR 0019): ``max_connections`` at once and
``max_per_ip`` from one address (more are closed at once, before any RTMP, and counted in ``refused_caps``);
the handshake within ``handshake_timeout_s`` and ``publish`` within ``publish_timeout_s`` of connecting (both
refused as ``no_publish_in_time``); a publisher
silent for ``read_timeout_s`` is dropped; each connection's partly received messages bounded
(``RtmpServerConnection``); at most ``lookup_concurrency`` stream-key look-ups in flight, the rest wait their
turn (so a flood of publishes cannot open a database connection each).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from media.events import INGEST_REFUSED, EventSink, media_event
from media.ingest import RtmpListen, StreamKeys
from media.ingest_relay import FRAME_DATA, FRAME_END
from media.rtmp_chunks import RtmpProtocolError
from media.rtmp_gate import key_hint
from media.rtmp_server import FLV_HEADER, PlayNotAllowed, RtmpServerConnection, flv_tags

log = logging.getLogger(__name__)

PORT_LINE = "ingest-port "  # what a worker prints on stdout once its private port listens
_MEDIA = {8, 9, 18, 22}


def default_worker_command(stream_id: str) -> list[str]:
    return [sys.executable, "-m", "interfaces.cli", "media", "--stream", stream_id, "--from-ingest"]


@dataclass(eq=False)
class ShowWorker:
    stream_id: str
    token: str
    proc: asyncio.subprocess.Process
    port: asyncio.Future[int]
    done: asyncio.Event = field(default_factory=asyncio.Event)
    output: asyncio.Task[None] | None = None


class IngestDoor:
    def __init__(
        self,
        *,
        listen: RtmpListen,
        keys: StreamKeys,
        sink: EventSink,
        worker_command: Callable[[str], Sequence[str]] = default_worker_command,
        env: dict[str, str] | None = None,
        publish_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        worker_start_s: float = 30.0,
        worker_finish_s: float = 60.0,
        handshake_timeout_s: float = 5.0,
        max_connections: int = 200,
        max_per_ip: int = 8,
        max_chunk_streams: int = 64,
        max_buffered: int = 32 * 1024 * 1024,
        lookup_concurrency: int = 8,
    ) -> None:
        self.listen, self._keys, self._sink = listen, keys, sink
        self._worker_command, self._env = worker_command, env
        self.publish_timeout_s, self.read_timeout_s = publish_timeout_s, read_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        self.worker_start_s, self.worker_finish_s = worker_start_s, worker_finish_s
        self.max_connections, self.max_per_ip = max_connections, max_per_ip
        self._max_chunk_streams, self._max_buffered = max_chunk_streams, max_buffered
        self._lookups = asyncio.Semaphore(max(1, lookup_concurrency))
        self._per_ip: Counter[str] = Counter()
        self.refused_caps = 0
        self._cap_logged = 0.0
        self.port = listen.port
        self.workers: dict[str, ShowWorker] = {}  # stream id → its running worker
        self.publishing: set[str] = set()  # stream ids with a publisher connected through this door
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[RtmpServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.listen.host, self.listen.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ingest listening on rtmp://%s:%d/%s", self.listen.host, self.port, self.listen.app)

    async def close(self) -> None:
        """Stop accepting; let every worker finish its show (recording and all) and exit."""
        if self._server is not None:
            self._server.close()
        for c in list(self._conns):
            c.close()  # publishers still connected: their handlers see the end and tell their workers
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
        for w in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                w.proc.send_signal(signal.SIGTERM)
        for w in list(self.workers.values()):
            try:
                await asyncio.wait_for(w.done.wait(), self.worker_finish_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def serve(self, stop: asyncio.Event) -> None:
        await self.start()
        print(f"ingest ready on rtmp://{self.listen.host}:{self.port}/{self.listen.app}", flush=True)
        try:
            await stop.wait()
        finally:
            await self.close()

    # -- one publisher -------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "?"
        remote = f"{peer[0]}:{peer[1]}" if peer else "?"
        if len(self._conns) >= self.max_connections or self._per_ip[ip] >= self.max_per_ip:
            self._refuse_cap(writer, ip)
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = RtmpServerConnection(
            reader, writer, max_chunk_streams=self._max_chunk_streams, max_buffered=self._max_buffered
        )
        self._conns.add(conn)
        self._per_ip[ip] += 1
        try:
            await self._publisher(conn, remote)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("ingest connection from %s failed", remote)
        finally:
            conn.close()
            self._conns.discard(conn)
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
            if task is not None:
                self._tasks.discard(task)

    def _refuse_cap(self, writer: asyncio.StreamWriter, ip: str) -> None:
        """Over a cap: closed before any RTMP (no event: a flood must not become a flood of events)."""
        self.refused_caps += 1
        writer.transport.abort()
        now = time.monotonic()
        if now - self._cap_logged >= 1.0:
            self._cap_logged = now
            log.warning(
                "ingest: connection from %s refused (%d open, %d from it; caps %d and %d per address);"
                " %d refused so far",
                ip,
                len(self._conns),
                self._per_ip[ip],
                self.max_connections,
                self.max_per_ip,
                self.refused_caps,
            )

    async def _publisher(self, conn: RtmpServerConnection, remote: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout_s  # from the connection to its publish
        try:
            await asyncio.wait_for(conn.handshake(), min(self.handshake_timeout_s, self.publish_timeout_s))
            pub = await asyncio.wait_for(conn.accept_publish(handshake=False), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return await self._refuse(conn, "", "no_publish_in_time", remote, "", None)
        except PlayNotAllowed:
            return await self._refuse(conn, "", "play_not_allowed", remote, "", None)
        except RtmpProtocolError as exc:
            log.info("rtmp protocol error from %s: %s", remote, exc)
            return await self._refuse(conn, "", "protocol_error", remote, "", None)
        hint = key_hint(pub.key)
        try:
            async with self._lookups:
                stream_id = await self._keys.lookup(pub.key) if pub.key else None
        except Exception:
            log.exception("stream key lookup failed")
            return await self._refuse(conn, "", "ingest_not_ready", remote, hint, pub.stream_id)
        if stream_id is None:
            return await self._refuse(conn, "", "unknown_stream_key", remote, hint, pub.stream_id)
        if stream_id in self.publishing:
            return await self._refuse(conn, stream_id, "busy", remote, hint, pub.stream_id)
        self.publishing.add(stream_id)
        try:
            backend = await self._connect_worker(stream_id, remote, hint)
            if isinstance(backend, str):
                return await self._refuse(conn, stream_id, backend, remote, hint, pub.stream_id)
            b_reader, b_writer = backend
            try:
                conn.media_allowed = True
                await conn.status(pub.stream_id, "status", "NetStream.Publish.Start", "Start publishing")
                log.info("publisher %s → show %s", remote, stream_id)
                await self._relay(conn, b_reader, b_writer)
            finally:
                b_writer.close()  # also when the publisher left while its worker was starting
        finally:
            self.publishing.discard(stream_id)

    async def _relay(
        self, conn: RtmpServerConnection, b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter
    ) -> None:
        """Publisher's media → FLV frames to the worker, until either side goes away."""

        async def worker_gone() -> None:
            with contextlib.suppress(ConnectionError):
                await b_reader.read()
            conn.close()  # the worker ended (or crashed): the host's app reconnects to a fresh one

        watch = asyncio.create_task(worker_gone())
        clean = False
        try:
            b_writer.write(_frame(FRAME_DATA, FLV_HEADER))
            while True:
                try:
                    msg = await asyncio.wait_for(conn.read_message(), self.read_timeout_s)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, RtmpProtocolError):
                    break
                if clean:
                    continue  # after the unpublish: read to the end so the host's app closes without a reset
                if msg.type in _MEDIA:
                    data = flv_tags(msg)
                    if data:
                        b_writer.write(_frame(FRAME_DATA, data))
                        await b_writer.drain()
                elif conn.command_name(msg) in ("FCUnpublish", "deleteStream"):
                    clean = True
                    b_writer.write(_frame(FRAME_END, b""))
                    await b_writer.drain()
        except ConnectionError:
            pass
        finally:
            watch.cancel()
            b_writer.close()

    async def _refuse(
        self, conn: RtmpServerConnection, stream_id: str, reason: str, remote: str, hint: str, msid: int | None
    ) -> None:
        log.warning("refused RTMP publisher %s (%s) for %s: %s", remote, hint or "-", stream_id or "?", reason)
        if msid is not None:
            with contextlib.suppress(Exception):
                await conn.status(msid, "error", "NetStream.Publish.BadName", reason)
        conn.close()
        envelope = media_event(
            INGEST_REFUSED, stream_id, {"reason": reason, "remote": remote, "key_hint": hint}, datetime.now(UTC)
        )
        try:
            await self._sink.publish(envelope)
        except Exception:
            log.exception("publishing %s failed", INGEST_REFUSED)

    # -- workers -------------------------------------------------------------------------------------
    async def _connect_worker(
        self, stream_id: str, remote: str, hint: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
        """A relay connection the show's worker accepted, or the refusal reason."""
        for _ in range(3):
            w = self.workers.get(stream_id)
            if w is None or w.done.is_set():
                w = await self._spawn(stream_id)
            try:
                port = await asyncio.wait_for(asyncio.shield(w.port), self.worker_start_s)
                r, wr = await asyncio.open_connection("127.0.0.1", port)
            except (TimeoutError, OSError, RuntimeError) as exc:
                log.warning("worker for %s not reachable: %r", stream_id, exc)
                await self._wait_done(w)
                continue
            hello = {"token": w.token, "remote": remote, "key_hint": hint}
            wr.write(json.dumps(hello).encode() + b"\n")
            try:
                await wr.drain()
                answer = (await asyncio.wait_for(r.readline(), 5.0)).decode().strip()
            except (TimeoutError, ConnectionError):
                answer = "NO no_answer"
            if answer == "OK":
                return r, wr
            wr.close()
            log.info("worker for %s said %r", stream_id, answer)
            if answer == "NO busy":
                return "busy"
            await self._wait_done(w)  # "closing": it is finishing the show; a new worker takes the new one
        return "ingest_not_ready"

    async def _wait_done(self, w: ShowWorker) -> None:
        try:
            await asyncio.wait_for(w.done.wait(), self.worker_finish_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                w.proc.kill()
            await w.done.wait()

    async def _spawn(self, stream_id: str) -> ShowWorker:
        token = secrets.token_urlsafe(24)
        proc = await asyncio.create_subprocess_exec(
            *self._worker_command(stream_id),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self._env if self._env is not None else os.environ.copy(),
        )
        assert proc.stdin is not None
        proc.stdin.write(token.encode() + b"\n")  # never on the command line, where `ps` would show it
        with contextlib.suppress(ConnectionError):
            await proc.stdin.drain()
        proc.stdin.close()
        w = ShowWorker(stream_id, token, proc, asyncio.get_running_loop().create_future())
        w.output = asyncio.create_task(self._follow(w), name=f"ingest-worker-{stream_id}")
        self.workers[stream_id] = w
        log.info("started media worker for %s (pid %d)", stream_id, proc.pid)
        return w

    async def _follow(self, w: ShowWorker) -> None:
        assert w.proc.stdout is not None
        try:
            async for raw in w.proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                if line.startswith(PORT_LINE) and not w.port.done():
                    w.port.set_result(int(line[len(PORT_LINE) :]))
                else:
                    print(f"[{w.stream_id}] {line}", flush=True)
        finally:
            code = await w.proc.wait()
            if not w.port.done():
                w.port.set_exception(RuntimeError(f"worker exited with {code} before listening"))
                w.port.exception()  # retrieved: nobody may be waiting
            log.info("media worker for %s exited with %s", w.stream_id, code)
            if self.workers.get(w.stream_id) is w:
                del self.workers[w.stream_id]
            w.done.set()


def _frame(kind: bytes, data: bytes) -> bytes:
    return kind + len(data).to_bytes(4, "big") + data
