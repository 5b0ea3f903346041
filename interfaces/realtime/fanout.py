"""Room emits across API processes (Redis pub/sub) with a cheap local fan-out and a slow-client guard.

python-socketio's stock manager encodes a room emit once but then starts one asyncio task per recipient, and
each recipient's engine.io writer then encodes the packet again, frames it as a websocket message (UTF-8 and
header, per socket), takes a lock and awaits the write. With thousands of viewers that per-socket work is the
gateway's cost. Here a room emit is encoded once into the **finished websocket frame** and written straight to
each viewer's transport (``transport.write``: no task, no lock, no re-encoding), when that is safe:

- the socket is an upgraded websocket (long-polling clients take the stock path);
- its engine.io writer is parked on an empty queue (``queue.empty()`` and a pending getter): everything queued
  before has been written, so writing now keeps the order of frames. Otherwise the frame goes on the socket's
  engine.io queue like before, and order still holds because the queue is FIFO and the next direct write waits
  until the writer is parked again;
- the transport is not paused by flow control (the kernel buffer is full: a slow client).

A viewer on a bad 2G link reads slower than the show talks. Their engine.io queue is capped
(``client_queue_limit`` frames) and so is their transport buffer (the same number of average frames): frames
beyond that are dropped for that viewer only, so one slow phone never holds memory or delays the room.
See docs/adr/0011 (fan-out section) for the measurements.
"""

from __future__ import annotations

import struct
from typing import Any

import socketio
from engineio import async_socket
from engineio import packet as eio_packet
from socketio import packet

AVG_FRAME_BYTES = 512  # a chat frame is ~300 B: the transport-buffer cap is client_queue_limit of these


def ws_text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented websocket text frame (server → client, RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65_536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def capture_websockets() -> None:
    """Let the fan-out find each engine.io socket's websocket (engine.io keeps it only in a local variable)."""
    original = async_socket.AsyncSocket._websocket_handler
    if getattr(original, "_captures_ws", False):
        return

    async def handler(self: Any, ws: Any) -> Any:
        self._direct_ws = ws
        try:
            return await original(self, ws)
        finally:
            self._direct_ws = None

    handler._captures_ws = True  # type: ignore[attr-defined]
    async_socket.AsyncSocket._websocket_handler = handler


def direct_transport(sock: Any) -> Any | None:
    """The socket's transport if a frame may be written to it right now without breaking order, else None."""
    ws = getattr(sock, "_direct_ws", None)
    if ws is None or not sock.upgraded or sock.upgrading:
        return None
    q = sock.queue
    if not q.empty():
        return None
    getters = getattr(q, "_getters", None)
    if not getters or all(g.done() for g in getters):
        return None  # the writer holds packets it has not written yet
    try:
        impl = ws._sock
        io = impl.io_proto
        if impl.conn_mutex.locked() or not io._can_write.is_set():
            return None
        transport = io.transport
    except AttributeError:  # another server than Sanic: the stock path
        return None
    if transport is None or transport.is_closing():
        return None
    return transport


class _LocalFanout(socketio.AsyncManager):
    queue_limit: int = 200
    dropped: int = 0
    delivered: int = 0
    direct: int = 0

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback)
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        if isinstance(encoded, list):  # binary attachments: rare, let the stock path handle them
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame: bytes | None = None
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        sockets = self.server.eio.sockets
        limit = self.queue_limit
        byte_limit = limit * AVG_FRAME_BYTES
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            sock = sockets.get(eio_sid)
            if sock is None or sock.closed:
                continue
            transport = direct_transport(sock)
            if transport is not None:
                if transport.get_write_buffer_size() > byte_limit:
                    self.dropped += 1
                    continue
                if frame is None:
                    frame = ws_text_frame(pkt.encode().encode())
                transport.write(frame)
                self.direct += 1
                self.delivered += 1
                continue
            if sock.queue.qsize() >= limit:
                self.dropped += 1
                continue
            sock.queue.put_nowait(pkt)
            self.delivered += 1


class FanoutManager(socketio.AsyncRedisManager, _LocalFanout):  # type: ignore[misc]
    """AsyncRedisManager whose local delivery (for this process's emits and for those arriving from other
    processes through Redis) is the one above. MRO: Redis → PubSub → _LocalFanout → AsyncManager."""

    def __init__(self, url: str, channel: str, queue_limit: int) -> None:
        super().__init__(url=url, channel=channel)
        self.queue_limit = queue_limit
        capture_websockets()
