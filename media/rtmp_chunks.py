"""RTMP's client-to-server chunk stream: the one parser, for the ingest door and the single-show gate.

RTMP multiplexes messages into chunks (1-3 byte basic header, 0/3/7/11 byte message header, optional
extended timestamp) whose size the client may change at any time; commands are AMF0 lists such as
``["publish", txn, null, "<stream key>", "live"]``. ``ChunkParser`` is fed bytes as they arrive and hands back
whole messages, one at a time; chunk payloads are taken as they arrive, so it never waits for a whole chunk.
The door's server (``rtmp_server.py``) keeps every message (it turns media into FLV); the gate
(``rtmp_gate.py``) forwards the bytes untouched and only needs the commands, so its ``ChunkSniffer`` keeps
commands and control messages and drops media payloads unread.

What a client can make it hold is bounded (ADR 0019): at most ``max_chunk_streams`` chunk streams, a command
(and any kept message before ``publish``) at most 64 KB, any kept message at most ``max_message``, and at most
``max_buffered`` bytes of messages received in parts across the chunk streams; past that it raises
``RtmpProtocolError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HANDSHAKE_BYTES = 1 + 1536 + 1536  # C0, C1, C2 from the client
COMMAND_TYPES = frozenset({17, 20})  # AMF3 / AMF0 command messages
MEDIA_TYPES = frozenset({8, 9, 18, 22})  # audio, video, AMF0 data, aggregate
MAX_COMMAND = 64 * 1024
MAX_MESSAGE = 16 * 1024 * 1024  # a 4K keyframe is well under this
MAX_CHUNK_STREAMS = 64  # publishers use a handful (control, commands, audio, video, data)
MAX_BUFFERED = 16 * 1024 * 1024 + 64
_SET_CHUNK_SIZE, _ABORT = 1, 2


class RtmpProtocolError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Message:
    type: int
    timestamp: int
    stream_id: int
    payload: bytes
    end: int = 0  # absolute offset in the client's byte stream just after the message's last byte


@dataclass(frozen=True, slots=True)
class Command:
    end: int  # absolute offset in the client's byte stream just after the message's last byte
    name: str
    args: tuple[object, ...]


@dataclass(slots=True)
class _Stream:
    type: int = 0
    length: int = 0
    stream_id: int = 0
    timestamp: int = 0
    ts_field: int = 0  # the last timestamp (fmt 0) or delta (fmt 1/2) field, as FFmpeg reads fmt 3
    extended: bool = False
    remaining: int = 0
    keep: bool = False
    held: int = 0  # bytes of a message in parts, counted against ``max_buffered``
    payload: bytearray = field(default_factory=bytearray)


class ChunkParser:
    """Push parser: ``feed`` bytes, then ``next`` until it answers None. Set chunk size and abort messages are
    applied here and not returned; every other message is, with its payload when kept (else ``b""``)."""

    def __init__(
        self,
        *,
        handshake: int = 0,
        keep_media: bool = True,
        max_chunk_streams: int = MAX_CHUNK_STREAMS,
        max_buffered: int = MAX_BUFFERED,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self.max_chunk_streams, self.max_buffered, self._max_message = max_chunk_streams, max_buffered, max_message
        self._keep_media = keep_media
        self._raw = bytearray()
        self._offset = 0  # absolute offset of _raw[0]
        self._skip = handshake
        self.chunk_size = 128
        self._streams: dict[int, _Stream] = {}
        self._chunk: tuple[int, _Stream, int] | None = None  # the chunk whose payload is arriving: csid, stream, left
        self.buffered = 0  # bytes of messages received in parts, all chunk streams together
        self.media_allowed = False

    @property
    def fed(self) -> int:
        return self._offset + len(self._raw)

    @property
    def chunk_streams(self) -> int:
        return len(self._streams)

    def feed(self, data: bytes) -> None:
        self._raw += data

    def next(self) -> Message | None:
        """The next whole message from the bytes fed so far, or None until more arrive."""
        raw, i, out = self._raw, 0, None
        try:
            while out is None:
                if self._skip:
                    n = min(self._skip, len(raw) - i)
                    i += n
                    self._skip -= n
                    if self._skip:
                        break
                chunk = self._chunk
                if chunk is None:
                    got = self._header(raw, i)
                    if got is None:
                        break
                    i, chunk = got
                csid, st, left = chunk
                n = min(left, len(raw) - i)
                if st.keep:
                    st.payload += raw[i : i + n]
                i += n
                st.remaining -= n
                if left > n:
                    self._chunk = (csid, st, left - n)
                    break
                self._chunk = None
                if not st.remaining:
                    out = self._complete(st, self._offset + i)
        finally:
            self._offset += i
            del raw[:i]
        return out

    def _header(self, raw: bytearray, i: int) -> tuple[int, tuple[int, _Stream, int]] | None:
        """A chunk's headers at ``i``: the offset of its payload and (csid, stream, payload bytes), or None (and
        nothing changed) until they are all here."""
        end = len(raw)
        if i >= end:
            return None
        fmt, csid = raw[i] >> 6, raw[i] & 0x3F
        i += 1
        if csid in (0, 1):
            extra = 1 if csid == 0 else 2
            if i + extra > end:
                return None
            csid = 64 + raw[i] + (256 * raw[i + 1] if extra == 2 else 0)
            i += extra
        size = (11, 7, 3, 0)[fmt]
        if i + size > end:
            return None
        st = self._streams.get(csid)
        if st is None:
            if fmt != 0:
                raise RtmpProtocolError(f"chunk stream {csid} starts without a full header")
            if len(self._streams) >= self.max_chunk_streams:
                raise RtmpProtocolError(f"more than {self.max_chunk_streams} chunk streams")
            st = _Stream()
        h = raw[i : i + size]
        i += size
        ts = int.from_bytes(h[0:3], "big") if fmt < 3 else 0
        extended = ts == 0xFFFFFF if fmt < 3 else st.extended
        if extended:
            if i + 4 > end:
                return None
            if fmt < 3:
                ts = int.from_bytes(raw[i : i + 4], "big")
            i += 4
        # The headers are all here: commit.
        self._streams[csid] = st
        new_message = st.remaining == 0
        if fmt < 3:
            st.extended = extended
            if fmt < 2:
                st.length, st.type = int.from_bytes(h[3:6], "big"), h[6]
            if fmt == 0:
                st.stream_id = int.from_bytes(h[7:11], "little")
                st.timestamp = st.ts_field = ts
            else:
                st.ts_field = ts
                st.timestamp = (st.timestamp + ts) & 0xFFFFFFFF
        elif new_message:
            st.timestamp = (st.timestamp + st.ts_field) & 0xFFFFFFFF
        if new_message:
            media = st.type in MEDIA_TYPES
            st.keep = self._keep_media or not media and st.type in (*COMMAND_TYPES, _SET_CHUNK_SIZE, _ABORT)
            if st.keep:
                limit = MAX_COMMAND if (st.type in COMMAND_TYPES or not self.media_allowed) else self._max_message
                if st.length > limit:
                    raise RtmpProtocolError(f"oversized message ({st.length} bytes, type {st.type})")
            if media and not self.media_allowed:
                raise RtmpProtocolError("media before an accepted publish")
            st.remaining, st.payload, st.held = st.length, bytearray(), 0
        n = min(self.chunk_size, st.remaining)
        if st.keep and (st.remaining < st.length or n < st.remaining):  # a message in parts: held until complete
            if self.buffered + n > self.max_buffered:
                raise RtmpProtocolError(f"more than {self.max_buffered} bytes of partial messages")
            self.buffered += n
            st.held += n
        return i, (csid, st, n)

    def _complete(self, st: _Stream, end: int) -> Message | None:
        payload, st.payload = bytes(st.payload), bytearray()
        self.buffered -= st.held
        st.held = 0
        if st.type == _SET_CHUNK_SIZE and len(payload) >= 4:
            self.chunk_size = max(1, int.from_bytes(payload[:4], "big") & 0x7FFFFFFF)
            return None
        if st.type == _ABORT and len(payload) >= 4:  # drop a partly received message
            other = self._streams.get(int.from_bytes(payload[:4], "big"))
            if other is not None:
                self.buffered -= other.held
                other.remaining, other.payload, other.held = 0, bytearray(), 0
            return None
        if not st.keep:
            return Message(st.type, st.timestamp, st.stream_id, b"", end)
        return Message(st.type, st.timestamp, st.stream_id, payload, end)


class ChunkSniffer:
    """The gate's view: every command in the bytes fed (media is skipped, never held)."""

    def __init__(self, *, max_chunk_streams: int = MAX_CHUNK_STREAMS, max_buffered: int = MAX_BUFFERED) -> None:
        self.parser = ChunkParser(
            handshake=HANDSHAKE_BYTES, keep_media=False, max_chunk_streams=max_chunk_streams, max_buffered=max_buffered
        )

    @property
    def fed(self) -> int:
        return self.parser.fed

    @property
    def media_allowed(self) -> bool:
        return self.parser.media_allowed

    @media_allowed.setter
    def media_allowed(self, value: bool) -> None:
        self.parser.media_allowed = value

    def feed(self, data: bytes) -> list[Command]:
        self.parser.feed(data)
        out = []
        while (msg := self.parser.next()) is not None:
            if msg.type not in COMMAND_TYPES:
                continue
            values = amf0_values(msg.payload[1:] if msg.type == 17 else msg.payload)  # AMF3: a marker, then AMF0
            if values and isinstance(values[0], str):
                out.append(Command(end=msg.end, name=values[0], args=tuple(values[1:])))
        return out


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
        return struct.unpack(">d", d[i : i + 8])[0], i + 8
    if marker == 0x01:
        return bool(d[i]), i + 1
    if marker == 0x02:
        n = int.from_bytes(d[i : i + 2], "big")
        return d[i + 2 : i + 2 + n].decode(), i + 2 + n
    if marker == 0x0C:
        n = int.from_bytes(d[i : i + 4], "big")
        return d[i + 4 : i + 4 + n].decode(), i + 4 + n
    if marker in (0x05, 0x06):
        return None, i
    if marker in (0x03, 0x08):
        i += 4 if marker == 0x08 else 0
        obj: dict[str, object] = {}
        while True:
            n = int.from_bytes(d[i : i + 2], "big")
            if n == 0 and d[i + 2] == 0x09:
                return obj, i + 3
            key = d[i + 2 : i + 2 + n].decode()
            obj[key], i = _amf0(d, i + 2 + n, depth + 1)
    if marker == 0x0A:
        n, i = int.from_bytes(d[i : i + 4], "big"), i + 4
        items = []
        for _ in range(n):
            item, i = _amf0(d, i, depth + 1)
            items.append(item)
        return items, i
    if marker == 0x0B:
        return struct.unpack(">d", d[i : i + 8])[0], i + 10
    raise ValueError(f"unsupported AMF0 marker {marker:#x}")
