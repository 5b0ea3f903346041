"""Just enough of RTMP's client-to-server chunk stream to read a publisher's commands (never its media).

RTMP multiplexes messages into chunks (1-3 byte basic header, 0/3/7/11 byte message header, optional
extended timestamp) whose size the client may change at any time; commands are AMF0 lists such as
``["publish", txn, null, "<stream key>", "live"]``. The gate (``rtmp_gate.py``) uses this to see the key.

What a client can make it hold is bounded (ADR 0019): at most ``max_chunk_streams`` chunk streams, a command at
most 64 KB, and at most ``max_buffered`` bytes waiting for a chunk to complete; past that it raises
``RtmpProtocolError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HANDSHAKE_BYTES = 1 + 1536 + 1536  # C0, C1, C2 from the client
_COMMAND_TYPES = {17, 20}  # AMF3 / AMF0 command messages
_MEDIA_TYPES = {8, 9, 18, 22}  # audio, video, data, aggregate
_MAX_COMMAND = 64 * 1024
MAX_CHUNK_STREAMS = 64
MAX_BUFFERED = 16 * 1024 * 1024 + 64  # one chunk of the largest message a 3-byte length can state, and header


class RtmpProtocolError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Command:
    end: int  # absolute offset in the client's byte stream just after the message's last byte
    name: str
    args: tuple[object, ...]


@dataclass(slots=True)
class _ChunkStream:
    length: int = 0
    type: int = 0
    remaining: int = 0
    extended: bool = False
    payload: bytearray | None = None


class ChunkSniffer:
    """Parses the client-to-server half of RTMP just enough to see its commands (not its media)."""

    def __init__(self, *, max_chunk_streams: int = MAX_CHUNK_STREAMS, max_buffered: int = MAX_BUFFERED) -> None:
        self._max_streams, self._max_buffered = max_chunk_streams, max_buffered
        self._buf = bytearray()
        self._offset = 0  # absolute offset of _buf[0]
        self._handshake = HANDSHAKE_BYTES
        self._chunk_size = 128
        self._streams: dict[int, _ChunkStream] = {}
        self.media_allowed = False

    @property
    def fed(self) -> int:
        return self._offset + len(self._buf)

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        buf, i, out = self._buf, 0, []
        while True:
            if self._handshake:
                n = min(self._handshake, len(buf) - i)
                i += n
                self._handshake -= n
                if self._handshake:
                    break
            parsed = self._chunk(buf, i)
            if parsed is None:
                break
            i, command = parsed
            if command is not None:
                out.append(command)
        self._offset += i
        del buf[:i]
        if len(buf) > self._max_buffered:
            raise RtmpProtocolError(f"more than {self._max_buffered} bytes waiting for one chunk")
        return out

    def _chunk(self, buf: bytearray, i: int) -> tuple[int, Command | None] | None:
        """One chunk at ``i``; None (and nothing changed) until the whole chunk has arrived."""
        end = len(buf)
        if i >= end:
            return None
        fmt, csid = buf[i] >> 6, buf[i] & 0x3F
        i += 1
        if csid in (0, 1):
            extra = 1 if csid == 0 else 2
            if i + extra > end:
                return None
            csid = 64 + buf[i] + (256 * buf[i + 1] if extra == 2 else 0)
            i += extra
        header = (11, 7, 3, 0)[fmt]
        if i + header > end:
            return None
        st = self._streams.get(csid)
        if st is None:
            if fmt != 0:
                raise RtmpProtocolError(f"chunk stream {csid} starts without a full header")
            if len(self._streams) >= self._max_streams:
                raise RtmpProtocolError(f"more than {self._max_streams} chunk streams")
            st = _ChunkStream()
        extended = st.extended
        length, mtype = st.length, st.type
        if fmt < 3:
            extended = int.from_bytes(buf[i:i + 3], "big") == 0xFFFFFF
        if fmt < 2:
            length, mtype = int.from_bytes(buf[i + 3:i + 6], "big"), buf[i + 6]
        i += header + (4 if extended else 0)
        remaining = st.remaining or length
        n = min(self._chunk_size, remaining)
        if i + n > end:
            return None
        # The whole chunk is here: commit.
        self._streams[csid] = st
        st.extended = extended
        if st.remaining == 0:  # a new message on this chunk stream
            st.length, st.type, st.remaining = length, mtype, length
            if mtype in _MEDIA_TYPES and not self.media_allowed:
                raise RtmpProtocolError("media before an accepted publish")
            if mtype in _COMMAND_TYPES or mtype == 1:
                if length > _MAX_COMMAND:
                    raise RtmpProtocolError("oversized command message")
                st.payload = bytearray()
            else:
                st.payload = None
        if st.payload is not None:
            st.payload += buf[i:i + n]
        i += n
        st.remaining -= n
        if st.remaining or st.payload is None:
            return i, None
        payload, st.payload = bytes(st.payload), None
        if st.type == 1 and len(payload) >= 4:
            self._chunk_size = max(1, int.from_bytes(payload[:4], "big") & 0x7FFFFFFF)
            return i, None
        if st.type == 17:  # AMF3 command: a zero marker byte, then AMF0
            payload = payload[1:]
        values = amf0_values(payload)
        if not values or not isinstance(values[0], str):
            return i, None
        return i, Command(end=self._offset + i, name=values[0], args=tuple(values[1:]))


def amf0_values(data: bytes, limit: int = 8) -> list[object]:
    values: list[object] = []
    i = 0
    try:
        while i < len(data) and len(values) < limit:
            value, i = _amf0(data, i, 0)
            values.append(value)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise RtmpProtocolError(f"bad AMF0: {exc}") from exc
    return values


def _amf0(d: bytes, i: int, depth: int) -> tuple[object, int]:
    if depth > 8:
        raise ValueError("AMF0 nested too deep")
    marker, i = d[i], i + 1
    if marker == 0x00:
        return struct.unpack(">d", d[i:i + 8])[0], i + 8
    if marker == 0x01:
        return bool(d[i]), i + 1
    if marker == 0x02:
        n = int.from_bytes(d[i:i + 2], "big")
        return d[i + 2:i + 2 + n].decode(), i + 2 + n
    if marker == 0x0C:
        n = int.from_bytes(d[i:i + 4], "big")
        return d[i + 4:i + 4 + n].decode(), i + 4 + n
    if marker in (0x05, 0x06):
        return None, i
    if marker in (0x03, 0x08):
        i += 4 if marker == 0x08 else 0
        obj: dict[str, object] = {}
        while True:
            n = int.from_bytes(d[i:i + 2], "big")
            if n == 0 and d[i + 2] == 0x09:
                return obj, i + 3
            key = d[i + 2:i + 2 + n].decode()
            obj[key], i = _amf0(d, i + 2 + n, depth + 1)
    if marker == 0x0A:
        n, i = int.from_bytes(d[i:i + 4], "big"), i + 4
        items = []
        for _ in range(n):
            item, i = _amf0(d, i, depth + 1)
            items.append(item)
        return items, i
    if marker == 0x0B:
        return struct.unpack(">d", d[i:i + 8])[0], i + 10
    raise ValueError(f"unsupported AMF0 marker {marker:#x}")
