"""Room emits across API processes (Redis pub/sub), written once per viewer per window, and a slow-client guard.

What a viewer costs the gateway is per write, not per event: python-socketio's stock path hands every room
emit to each viewer's engine.io queue, whose writer task wakes up, re-frames the packet as a websocket message,
takes a lock and awaits the transport (measured at 1,000 viewers: ~100 µs of server CPU per frame per viewer,
half of it in that path). At 50 chat messages, 500 likes and 4 count updates a second, that is the whole CPU
long before 5,000 viewers.

So a show's emits are collected for a short window and each viewer gets **one write per window**: the
websocket frames of every event of the window (each an ordinary socket.io event, in emission order), encoded
once for everyone and concatenated, handed to the viewer's transport in one ``write()``. The window grows with
the show (``len(audience) / fanout_writes_per_s``, at most ``fanout_max_window_ms``): a small show is written
at once (next loop turn), 5,000 viewers in a process are written every 125 ms, 10,000 every 250 ms, so the
writes a second stay within the budget whatever the size of the show. No event is merged or dropped for a
viewer who keeps up: the spec's client still gets one ``new_message`` per message.

Audiences: a show's viewers in this process take one of two chat rooms (``room_ticker.chat_room_of`` for the
spec's one-by-one ``new_message``, ``chat_batch_room_of`` for ``new_messages`` batches). Each is an
``Audience`` with its own pending frames and window; an emit to the show's room goes to both, chat to one.
For ``chat_batch`` viewers the messages of at least ``chat_batch_window_ms`` are sealed into one
``new_messages`` frame, before any later event (so a ``message_deleted`` never arrives before the message it
deletes). Counters (``viewer_count_update``, ``hot_products_update``: latest value; ``reaction_burst``: counts
summed, also those of other processes) are one frame each per window, at its end.

A direct write must not overtake frames already handed to engine.io (``stream_state`` at join, an ``error``,
a ping): it is made only when the socket's engine.io writer is parked on an empty queue (a pending getter, no
lock held) and the transport is not paused; otherwise the window's packets go on the engine.io queue as
before, which keeps the order. Long-polling clients always take the queue.

A viewer who joins while a window is open gets only the frames emitted after they joined (they were given
the state as of their join in ``stream_state``).

A viewer on a bad 2G link reads slower than the show talks. Their transport buffer is capped at
``client_queue_limit`` average frames and their engine.io queue at ``client_queue_limit`` packets: beyond
that the window is dropped for that viewer only, so one slow phone never holds memory or delays the room.
See docs/adr/0012-fan-out-one-write-per-window.md for the measurements and what was tried before.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.sanic import WebSocket as SanicWebSocket
from socketio import packet

from interfaces.realtime.room_ticker import BATCH_SUFFIX, CHAT_SUFFIX

AVG_FRAME_BYTES = 512  # a chat frame is ~300 B: the transport-buffer cap is client_queue_limit of these
SHOW_ROOM = re.compile(r"^stream:([^:]+)(:chat(?:-batch)?)?$")
# Counters: one frame per window each, with the latest value (reaction counts summed).
COALESCED = frozenset({"viewer_count_update", "reaction_burst", "hot_products_update"})
NOW_S = 0.002  # a window shorter than this is flushed on the loop's next turn


def ws_text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented websocket text frame (server → client, RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65_536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class CapturingWebSocket(SanicWebSocket):  # type: ignore[misc]
    """engine.io's Sanic websocket, remembered on its engine.io socket (engine.io keeps it only in a local
    variable) so the fan-out can reach the transport.

    It also caps the kernel's send buffer for the connection (``send_buffer_bytes``): Linux grows it up to
    ``tcp_wmem``'s maximum (4 MB here) for a peer that stops reading, which would hide a stalled phone from the
    slow-client guard until megabytes had piled up for it, per viewer. A viewer's events are a few KB a second;
    128 KB is seconds of them even on a long, fast path."""

    send_buffer_bytes = 128 * 1024

    async def __call__(self, environ: Any) -> Any:
        request = environ.get("sanic.request")
        raw = request.transport.get_extra_info("socket") if request is not None else None
        if raw is not None and self.send_buffer_bytes:
            try:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
            except OSError:  # not a TCP socket (a test transport): nothing to cap
                pass
        sock = getattr(self.handler, "__self__", None)
        if sock is not None:
            sock.direct_ws, sock.direct_parts = self, None
        try:
            return await super().__call__(environ)
        finally:
            if sock is not None:
                sock.direct_ws = sock.direct_parts = None


def direct_transport(sock: Any) -> Any | None:
    """The socket's transport if a frame may be written to it now without overtaking queued ones, else None.

    Called once per viewer per window, so it reads the asyncio objects' own fields (``Queue._queue``,
    ``Queue._getters``, ``Lock._locked``, ``Event._value``: unchanged from CPython 3.8 to 3.13) from a tuple
    made at the socket's first window. ``tests/realtime/test_fanout_direct.py`` fails if they stop working."""
    parts = sock.__dict__.get("direct_parts")
    if parts is None:
        ws = sock.__dict__.get("direct_ws")
        impl = getattr(ws, "_sock", None)
        io = getattr(impl, "io_proto", None)
        if io is None or not hasattr(sock.queue, "_getters"):  # not (yet) a Sanic websocket: the queue
            return None
        parts = sock.direct_parts = (sock.queue._queue, sock.queue._getters, impl.conn_mutex, io)
    queued, getters, mutex, io = parts
    if queued or not getters or getters[0].done() or mutex._locked or not io._can_write._value or sock.upgrading:
        return None  # packets queued, or the writer holds some it has not written yet, or flow control
    transport = io.transport
    if transport is None or transport.is_closing():
        return None
    return transport


class Audience:
    """The viewers of one show in this process who take the same frames (one of the show's chat rooms)."""

    __slots__ = ("room", "batch", "frames", "messages", "latest", "stream_id", "due", "late", "last_flush")

    def __init__(self, room: str, batch: bool, stream_id: str) -> None:
        self.room, self.batch, self.stream_id = room, batch, stream_id
        self.frames: list[tuple[eio_packet.Packet, bytes]] = []
        self.messages: list[Any] = []  # chat for the next new_messages frame (batch audiences)
        self.latest: dict[str, dict[str, Any]] = {}  # COALESCED event → its value for this window
        self.due = False  # a flush is scheduled
        self.late: dict[str, int] = {}  # sid who joined during the window → index of its first frame
        self.last_flush = float("-inf")  # loop time the last window was written


def _frame(server: Any, namespace: str, event: str, args: list[Any]) -> tuple[eio_packet.Packet, bytes] | None:
    encoded = server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
    if isinstance(encoded, list):  # binary attachments: the stock path
        return None
    pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
    return pkt, ws_text_frame(pkt.encode().encode())


class _LocalFanout(socketio.AsyncManager):
    queue_limit: int = 200
    batch_window_s: float = 0.1
    writes_per_s: float = 40_000.0
    max_window_s: float = 0.25
    dropped: int = 0
    delivered: int = 0
    writes: int = 0
    flush_s: float = 0.0  # time spent writing windows (for the logs and the bench)
    flush_max_s: float = 0.0
    on_window: Any = None  # called with the number of viewers of each window written (the metrics' hook)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audiences: dict[tuple[str, str], Audience] = {}

    # ---- entry ----------------------------------------------------------------------------------------------
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        show = SHOW_ROOM.match(room) if isinstance(room, str) and skip_sid is None else None
        if show is not None and show.group(2) is None and event in COALESCED and isinstance(data, dict):
            stream_id = show.group(1)
            for chat in (CHAT_SUFFIX, CHAT_SUFFIX + BATCH_SUFFIX):
                self._add_latest(namespace, f"stream:{stream_id}{chat}", stream_id, event, data)
            return
        framed = _frame(self.server, namespace, event, args)
        if framed is None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid)
            return
        if show is None:  # a socket's own room, several rooms, a skip: as it comes
            self._deliver_now(namespace, room, framed[0], skip_sid if isinstance(skip_sid, list) else [skip_sid])
            return
        stream_id, suffix = show.group(1), show.group(2)
        one_room, batch_room = f"stream:{stream_id}{CHAT_SUFFIX}", f"stream:{stream_id}{CHAT_SUFFIX}{BATCH_SUFFIX}"
        if suffix is None:  # the whole show
            self._add(namespace, one_room, stream_id, framed, event)
            self._add(namespace, batch_room, stream_id, framed, event)
        elif suffix == CHAT_SUFFIX:
            self._add(namespace, one_room, stream_id, framed, event)
            if event == "new_message":
                self._add_message(namespace, batch_room, stream_id, args[0] if args else None)
        else:
            self._add(namespace, batch_room, stream_id, framed, event)

    def _audience(self, namespace: str, room: str, stream_id: str) -> Audience | None:
        key = (namespace, room)
        aud = self._audiences.get(key)
        if not self.rooms[namespace].get(room):  # nobody in this process takes these frames
            if aud is not None and not aud.due:  # the show's last viewer here left: forget it
                del self._audiences[key]
            return None
        if aud is None:
            aud = self._audiences[key] = Audience(room, room.endswith(BATCH_SUFFIX), stream_id)
        return aud

    def _add(
        self, namespace: str, room: str, stream_id: str, framed: tuple[eio_packet.Packet, bytes], event: str
    ) -> None:
        aud = self._audience(namespace, room, stream_id)
        if aud is None:
            return
        if aud.messages:
            self._seal(namespace, aud)
        aud.frames.append(framed)
        self._schedule(namespace, aud)

    def _add_latest(self, namespace: str, room: str, stream_id: str, event: str, data: dict[str, Any]) -> None:
        """A counter: one frame per window with its latest value (reaction counts of the window summed)."""
        aud = self._audience(namespace, room, stream_id)
        if aud is None:
            return
        before = aud.latest.get(event)
        if event == "reaction_burst" and before is not None:
            counts = dict(before.get("counts") or {})
            for k, n in (data.get("counts") or {}).items():
                counts[k] = counts.get(k, 0) + n
            data = {**data, "counts": counts}
        aud.latest[event] = data
        self._schedule(namespace, aud)

    def _add_message(self, namespace: str, room: str, stream_id: str, message: Any) -> None:
        aud = self._audience(namespace, room, stream_id)
        if aud is None:
            return
        aud.messages.append(message)
        self._schedule(namespace, aud)

    def _seal(self, namespace: str, aud: Audience) -> None:
        messages, aud.messages = aud.messages, []
        framed = _frame(self.server, namespace, "new_messages", [{"stream_id": aud.stream_id, "messages": messages}])
        if framed is not None:
            aud.frames.append(framed)

    # ---- the window -------------------------------------------------------------------------------------------
    def window_s(self, aud: Audience, members: int) -> float:
        w = min(self.max_window_s, members / self.writes_per_s)
        return max(w, self.batch_window_s) if aud.batch else w

    def _schedule(self, namespace: str, aud: Audience) -> None:
        if aud.due:
            return
        aud.due = True
        members = len(self.rooms[namespace].get(aud.room) or ())
        loop = asyncio.get_running_loop()
        # One window after the last write began (not after this event): a quiet show's first event goes out
        # at once, a busy show's are written every window, and the writing time is not added to the wait.
        delay = aud.last_flush + self.window_s(aud, members) - loop.time()
        if delay < NOW_S:
            loop.call_soon(self._flush, namespace, aud)
        else:
            loop.call_later(delay, self._flush, namespace, aud)

    def basic_enter_room(self, sid: str, namespace: str, room: str, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        aud = self._audiences.get((namespace, room))
        if aud is not None and (aud.frames or aud.messages):  # joined mid-window: only what comes next
            if aud.messages:
                self._seal(namespace, aud)
            aud.late[sid] = len(aud.frames)

    def _flush(self, namespace: str, aud: Audience) -> None:
        aud.due = False
        aud.last_flush = asyncio.get_running_loop().time()
        if aud.messages:
            self._seal(namespace, aud)
        latest, aud.latest = aud.latest, {}
        for event, data in latest.items():  # after the window's other frames: they are current values
            framed = _frame(self.server, namespace, event, [data])
            if framed is not None:
                aud.frames.append(framed)
        frames, aud.frames = aud.frames, []
        late, aud.late = aud.late, {}
        members = self.rooms.get(namespace, {}).get(aud.room)
        if not members:
            if self._audiences.get((namespace, aud.room)) is aud:
                del self._audiences[(namespace, aud.room)]
            return
        if not frames:
            return
        blob = b"".join(f for _, f in frames)
        t0 = time.perf_counter()
        self._write_all(members, frames, blob, late)
        took = time.perf_counter() - t0
        self.flush_s += took
        self.flush_max_s = max(self.flush_max_s, took)

    def _write_all(
        self, members: Any, frames: list[tuple[eio_packet.Packet, bytes]], blob: bytes, late: dict[str, int]
    ) -> None:
        """One ``write()`` of ``blob`` per viewer (a websocket whose writer is parked); the others (joined
        mid-window, writer busy, long-polling) one by one in ``_write_one``."""
        sockets = self.server.eio.sockets
        byte_limit = self.queue_limit * AVG_FRAME_BYTES
        n = len(frames)
        writes = dropped = 0
        rest: list[tuple[str, Any]] = []
        for sid, eio_sid in getattr(members, "_fwdm", members).items():
            sock = sockets.get(eio_sid)
            transport = direct_transport(sock) if sock is not None and not (late and sid in late) else None
            if transport is None:
                rest.append((sid, eio_sid))
            elif transport.get_write_buffer_size() > byte_limit:
                dropped += 1
            else:
                transport.write(blob)
                writes += 1
        self.writes += writes
        self.delivered += writes * n
        self.dropped += dropped * n
        if self.on_window is not None:
            self.on_window(writes + dropped + len(rest))
        for sid, eio_sid in rest:
            self._write_one(sockets.get(eio_sid), frames, late.get(sid, 0) if late else 0, byte_limit)

    def _write_one(self, sock: Any, frames: list[tuple[eio_packet.Packet, bytes]], start: int, byte_limit: int) -> None:
        """A viewer who joined during the window, or whose engine.io writer is busy, or on long-polling."""
        n = len(frames) - start
        if sock is None or sock.closed or n <= 0:
            return
        transport = direct_transport(sock)
        if transport is not None:
            if transport.get_write_buffer_size() > byte_limit:
                self.dropped += n
                return
            transport.write(b"".join(f for _, f in frames[start:]))
            self.writes += 1
            self.delivered += n
            return
        if sock.queue.qsize() + n > self.queue_limit:
            self.dropped += n
            return
        for pkt, _ in frames[start:]:
            sock.queue.put_nowait(pkt)
        self.delivered += n

    def _deliver_now(self, namespace: str, room: Any, pkt: eio_packet.Packet, skip: list[Any]) -> None:
        sockets = self.server.eio.sockets
        limit = self.queue_limit
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            sock = sockets.get(eio_sid)
            if sock is None or sock.closed:
                continue
            if sock.queue.qsize() >= limit:
                self.dropped += 1
                continue
            sock.queue.put_nowait(pkt)
            self.delivered += 1


class FanoutManager(socketio.AsyncRedisManager, _LocalFanout):  # type: ignore[misc]
    """AsyncRedisManager whose local delivery (for this process's emits and for those arriving from other
    processes through Redis) is the one above. MRO: Redis → PubSub → _LocalFanout → AsyncManager."""

    def __init__(
        self,
        url: str,
        channel: str,
        queue_limit: int,
        batch_window_s: float = 0.1,
        writes_per_s: float = 40_000.0,
        max_window_s: float = 0.25,
    ) -> None:
        super().__init__(url=url, channel=channel)
        self.queue_limit = queue_limit
        self.batch_window_s = batch_window_s
        self.writes_per_s = writes_per_s
        self.max_window_s = max_window_s

    def initialize(self) -> None:
        super().initialize()
        eio = self.server.eio
        eio._async = {**eio._async, "websocket": CapturingWebSocket}  # this server only, not the module's
